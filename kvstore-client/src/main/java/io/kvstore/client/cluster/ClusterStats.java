package io.kvstore.client.cluster;

import java.util.Map;

/**
 * A snapshot of a {@link ClusterClient}'s view and counters (docs/cluster.md, "Metrics").
 *
 * @param members members in the membership (registered in etcd, or listed)
 * @param liveMembers members routed to now (connected and answering)
 * @param membershipStale whether the membership source could not be read at its last attempt
 *     (etcd unreachable: the last membership is in use)
 * @param membershipStaleEvents times the source became unreadable
 * @param failovers times a member was taken out of routing after a connection loss or timeout
 * @param placementChanges times the set of routed members changed
 * @param perMember counters per member id
 */
public record ClusterStats(int members, int liveMembers, boolean membershipStale,
    long membershipStaleEvents, long failovers, long placementChanges, Map<String, MemberStats> perMember) {

  /** Copies the map. */
  public ClusterStats {
    perMember = Map.copyOf(perMember);
  }

  /**
   * Counters of one member.
   *
   * @param up whether it is routed to
   * @param requests requests sent to it
   * @param failures requests to it that failed (each turned into misses or unstored pages)
   */
  public record MemberStats(boolean up, long requests, long failures) {}
}
