package io.kvstore.client.protocol;

/**
 * The opcodes of {@code spec/3-wire-protocol.md} §3.2.
 *
 * <p>Bit 7 marks a response (daemon to client); bit 6 on a response marks a partial response (more
 * frames for the same request follow). The final response to request {@code x} is {@code x | 0x80},
 * so a reply can be matched to its request with a mask.
 */
public final class Opcode {

  /** Bit set on every response opcode. */
  public static final int RESPONSE_BIT = 0x80;
  /** Bit set on a partial response: the request is not finished. */
  public static final int PARTIAL_BIT = 0x40;

  public static final int HELLO = 0x01;
  public static final int PING = 0x02;
  public static final int LOOKUP = 0x03;
  public static final int GET = 0x04;
  public static final int PUT = 0x05;
  public static final int PREFETCH = 0x06;
  public static final int DELETE = 0x07;
  public static final int STATS = 0x08;
  /** Shared memory: ask for a region (spec/4 §4.1). */
  public static final int SHM_OPEN = 0x09;
  /** Shared memory: echo the region's nonce to attach it (spec/4 §4.1). */
  public static final int SHM_ATTACH = 0x0A;
  /** Shared memory: give GET leases back (spec/4 §4.3). */
  public static final int SHM_RELEASE = 0x0B;

  public static final int HELLO_OK = HELLO | RESPONSE_BIT;
  public static final int PONG = PING | RESPONSE_BIT;
  public static final int LOOKUP_OK = LOOKUP | RESPONSE_BIT;
  public static final int GET_DONE = GET | RESPONSE_BIT;
  public static final int GET_PAGE = GET | RESPONSE_BIT | PARTIAL_BIT;
  public static final int PUT_OK = PUT | RESPONSE_BIT;
  public static final int PREFETCH_OK = PREFETCH | RESPONSE_BIT;
  public static final int DELETE_OK = DELETE | RESPONSE_BIT;
  public static final int STATS_OK = STATS | RESPONSE_BIT;
  public static final int SHM_OPEN_OK = SHM_OPEN | RESPONSE_BIT;
  public static final int SHM_ATTACH_OK = SHM_ATTACH | RESPONSE_BIT;
  public static final int SHM_RELEASE_OK = SHM_RELEASE | RESPONSE_BIT;
  public static final int ERROR = 0xFF;

  /** GET flag: stop at the first miss (spec §3.4.1). */
  public static final int FLAG_GET_PREFIX = 0x01;
  /** GET flag: answer found pages through the connection's shared region (spec/4 §4.3). */
  public static final int FLAG_GET_SHM = 0x02;
  /** GET_PAGE flag: the body is a region descriptor, not the page (spec/4 §4.3). */
  public static final int FLAG_GET_PAGE_SHM = 0x01;
  /** PUT flag: the body holds region descriptors, not pages (spec/4 §4.4). */
  public static final int FLAG_PUT_SHM = 0x01;
  /**
   * SHM_RELEASE flag: answer only if a descriptor is refused (ERROR); no SHM_RELEASE_OK (spec/4
   * §4.3), so a release can travel in front of the next request without a round trip.
   */
  public static final int FLAG_SHM_RELEASE_QUIET = 0x01;

  private Opcode() {}

  /** Whether {@code opcode} is a request a daemon accepts. */
  public static boolean isRequest(int opcode) {
    return opcode >= HELLO && opcode <= SHM_RELEASE;
  }

  /** Whether {@code opcode} is a response a client accepts. */
  public static boolean isResponse(int opcode) {
    switch (opcode) {
      case HELLO_OK:
      case PONG:
      case LOOKUP_OK:
      case GET_DONE:
      case GET_PAGE:
      case PUT_OK:
      case PREFETCH_OK:
      case DELETE_OK:
      case STATS_OK:
      case SHM_OPEN_OK:
      case SHM_ATTACH_OK:
      case SHM_RELEASE_OK:
      case ERROR:
        return true;
      default:
        return false;
    }
  }

  /** Whether a response with this opcode ends its request (it is not a partial response). */
  public static boolean isFinal(int opcode) {
    return (opcode & PARTIAL_BIT) == 0 || opcode == ERROR;
  }

  /** The flag bits defined for {@code opcode}; any other bit set is MALFORMED_FRAME. */
  public static int definedFlags(int opcode) {
    switch (opcode) {
      case GET:
        return FLAG_GET_PREFIX | FLAG_GET_SHM;
      case GET_PAGE:
        return FLAG_GET_PAGE_SHM;
      case PUT:
        return FLAG_PUT_SHM;
      case SHM_RELEASE:
        return FLAG_SHM_RELEASE_QUIET;
      default:
        return 0;
    }
  }

  /** The opcode's name as in the spec, or {@code 0x..} for an unknown one. */
  public static String name(int opcode) {
    switch (opcode) {
      case HELLO:
        return "HELLO";
      case PING:
        return "PING";
      case LOOKUP:
        return "LOOKUP";
      case GET:
        return "GET";
      case PUT:
        return "PUT";
      case PREFETCH:
        return "PREFETCH";
      case DELETE:
        return "DELETE";
      case STATS:
        return "STATS";
      case HELLO_OK:
        return "HELLO_OK";
      case PONG:
        return "PONG";
      case LOOKUP_OK:
        return "LOOKUP_OK";
      case GET_DONE:
        return "GET_DONE";
      case GET_PAGE:
        return "GET_PAGE";
      case PUT_OK:
        return "PUT_OK";
      case PREFETCH_OK:
        return "PREFETCH_OK";
      case DELETE_OK:
        return "DELETE_OK";
      case STATS_OK:
        return "STATS_OK";
      case SHM_OPEN:
        return "SHM_OPEN";
      case SHM_ATTACH:
        return "SHM_ATTACH";
      case SHM_RELEASE:
        return "SHM_RELEASE";
      case SHM_OPEN_OK:
        return "SHM_OPEN_OK";
      case SHM_ATTACH_OK:
        return "SHM_ATTACH_OK";
      case SHM_RELEASE_OK:
        return "SHM_RELEASE_OK";
      case ERROR:
        return "ERROR";
      default:
        return String.format("0x%02X", opcode & 0xFF);
    }
  }
}
