package io.kvstore.client.cluster;

import io.kvstore.client.protocol.FrameDescriptor;
import java.util.Objects;

/**
 * One daemon of a cluster, as it registers itself (spec §5.2).
 *
 * @param id the member id: its advertised {@code host:port}; placement hashes these UTF-8 bytes
 * @param host host clients connect to
 * @param port the daemon's protocol port
 * @param capacityBytes bytes the daemon can hold (DRAM + SSD tiers), 0 when unknown
 * @param zone failure zone label (rack, availability zone), empty when not set
 * @param protocolVersion the oldest wire protocol version the daemon speaks (it speaks every later
 *     one up to its own newest; HELLO picks, per connection, the newest both sides speak)
 */
public record Member(String id, String host, int port, long capacityBytes, String zone, int protocolVersion) {

  /**
   * The protocol version a member of this build advertises: the oldest it speaks (spec/5 §5.2). A
   * member that advertised its newest would be skipped by SDKs that speak only older versions,
   * although HELLO would have agreed on one.
   */
  public static final int PROTOCOL_VERSION =
      FrameDescriptor.MIN_PROTOCOL_VERSION;

  /** Whether this SDK speaks the member's advertised version (and so can connect to it). */
  public boolean speaksProtocol() {
    return protocolVersion >= FrameDescriptor.MIN_PROTOCOL_VERSION
        && protocolVersion <= FrameDescriptor.PROTOCOL_VERSION;
  }

  /** Checks the fields. */
  public Member {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(zone, "zone");
    if (id.isEmpty() || host.isEmpty()) {
      throw new IllegalArgumentException("member id and host must not be empty");
    }
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("member " + id + ": port " + port + " out of range");
    }
    if (capacityBytes < 0) {
      throw new IllegalArgumentException("member " + id + ": negative capacity");
    }
  }

  /** A member known only by its address (static lists): id {@code host:port}, no capacity or zone. */
  public static Member ofAddress(String host, int port) {
    return new Member(host + ":" + port, host, port, 0, "", PROTOCOL_VERSION);
  }

  /**
   * Parses {@code host:port} (IPv6 in brackets: {@code [::1]:7421}).
   *
   * @throws IllegalArgumentException saying what was expected
   */
  public static Member parseAddress(String address) {
    String a = address.strip();
    int colon = a.lastIndexOf(':');
    if (colon <= 0 || colon == a.length() - 1) {
      throw new IllegalArgumentException("member address '" + address + "' is not host:port");
    }
    String host = a.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(a.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("member address '" + address + "' has no numeric port", e);
    }
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("member address '" + address + "': port out of range");
    }
    return new Member(a, host, port, 0, "", PROTOCOL_VERSION);
  }
}
