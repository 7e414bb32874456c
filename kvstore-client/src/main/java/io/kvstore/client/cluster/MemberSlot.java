package io.kvstore.client.cluster;

import io.kvstore.client.KvStoreClient;
import java.util.concurrent.atomic.LongAdder;

/**
 * A member as the cluster client tracks it: its SDK client (null until the first connect
 * succeeds), whether it is routed to, and its counters. The maintenance thread connects and probes;
 * request completions mark it down.
 */
final class MemberSlot {

  final Member member;
  volatile KvStoreClient client;
  volatile boolean up;
  volatile long nextAttemptNanos;
  volatile boolean warnedUnreachable;
  final LongAdder requests = new LongAdder();
  final LongAdder failures = new LongAdder();

  MemberSlot(Member member) {
    this.member = member;
  }
}
