package io.kvstore.client.cluster;

import java.util.ArrayList;
import java.util.List;

/** A fixed member list ({@code static://a:7421,b:7421}): never stale, never changes. */
public final class StaticMembership implements Membership {

  private final List<Member> members;

  /** A static list of members. */
  public StaticMembership(List<Member> members) {
    this.members = List.copyOf(members);
    new Placement(this.members, 1); // rejects duplicate ids early
  }

  static StaticMembership of(ClusterUri uri) {
    List<Member> list = new ArrayList<>();
    for (String endpoint : uri.endpoints()) {
      list.add(Member.parseAddress(endpoint));
    }
    return new StaticMembership(list);
  }

  @Override
  public List<Member> members() {
    return members;
  }

  @Override
  public boolean isStale() {
    return false;
  }

  @Override
  public long staleEvents() {
    return 0;
  }

  @Override
  public void onChange(Runnable listener) {
    // a static list never changes
  }

  @Override
  public void close() {
    // nothing to stop
  }
}
