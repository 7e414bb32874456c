package io.kvstore.client.cluster;

import java.nio.charset.StandardCharsets;

/**
 * The value a daemon registers under {@code /kvstore/NAME/members/ID} (spec §5.2): UTF-8 lines of
 * {@code key=value}, so any language reads it without a JSON library:
 *
 * <pre>
 * address=10.0.0.7:7421
 * capacity.bytes=68719476736
 * zone=rack-3
 * protocol.version=1
 * </pre>
 *
 * Unknown keys are ignored (a later daemon may add some); {@code address} is required.
 */
public final class MemberRecord {

  private MemberRecord() {}

  /** The record of a member. */
  public static byte[] encode(Member m) {
    String text = "address=" + m.id() + "\n"
        + "capacity.bytes=" + m.capacityBytes() + "\n"
        + "zone=" + m.zone() + "\n"
        + "protocol.version=" + m.protocolVersion() + "\n";
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Reads a record.
   *
   * @throws IllegalArgumentException if it has no valid address or a field is malformed
   */
  public static Member decode(byte[] value) {
    String address = null;
    long capacity = 0;
    String zone = "";
    int version = Member.PROTOCOL_VERSION;
    for (String line : new String(value, StandardCharsets.UTF_8).split("\n")) {
      int eq = line.indexOf('=');
      if (eq <= 0) {
        continue;
      }
      String k = line.substring(0, eq).strip();
      String v = line.substring(eq + 1).strip();
      try {
        switch (k) {
          case "address" -> address = v;
          case "capacity.bytes" -> capacity = Long.parseLong(v);
          case "zone" -> zone = v;
          case "protocol.version" -> version = Integer.parseInt(v);
          default -> { } // a field of a later version
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("member record field " + k + " is not a number: " + v, e);
      }
    }
    if (address == null) {
      throw new IllegalArgumentException("member record has no address");
    }
    Member a = Member.parseAddress(address);
    return new Member(a.id(), a.host(), a.port(), capacity, zone, version);
  }
}
