package io.kvstore.client.cluster;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Where the pages of a prompt go: an immutable rendezvous placement over a set of members, with
 * the run rule of {@code spec/5-cluster-placement.md}.
 *
 * <p>A chain's blocks are placed in runs of {@code blocksPerRun} consecutive blocks: block
 * {@code i} belongs to run {@code i / blocksPerRun}, and the whole run goes where its first
 * block's key goes. A prompt of {@code n} blocks thus touches at most {@code ceil(n / K)} members,
 * and at most the member count, so a lookup or fetch costs one request per member touched.
 *
 * <p>Thread-safe (immutable); a new one is made whenever the live member set changes.
 */
public final class Placement {

  private final int blocksPerRun;
  /** Members in ascending order of their id's UTF-8 bytes (the tie-break order of spec §5.3). */
  private final Member[] members;
  private final long[] seeds;
  private final byte[][] idBytes;

  /**
   * A placement over {@code members}.
   *
   * @param members the live members (any order; ids must be distinct)
   * @param blocksPerRun K, blocks per placement run (at least 1)
   */
  public Placement(Collection<Member> members, int blocksPerRun) {
    if (blocksPerRun < 1) {
      throw new IllegalArgumentException("blocksPerRun must be >= 1, got " + blocksPerRun);
    }
    this.blocksPerRun = blocksPerRun;
    Member[] sorted = members.toArray(new Member[0]);
    Arrays.sort(sorted, (a, b) -> Arrays.compareUnsigned(
        a.id().getBytes(StandardCharsets.UTF_8), b.id().getBytes(StandardCharsets.UTF_8)));
    for (int i = 1; i < sorted.length; i++) {
      if (sorted[i].id().equals(sorted[i - 1].id())) {
        throw new IllegalArgumentException("member id " + sorted[i].id() + " appears twice");
      }
    }
    this.members = sorted;
    this.seeds = new long[sorted.length];
    this.idBytes = new byte[sorted.length][];
    for (int i = 0; i < sorted.length; i++) {
      idBytes[i] = sorted[i].id().getBytes(StandardCharsets.UTF_8);
      seeds[i] = Rendezvous.fnv1a64(idBytes[i]);
    }
  }

  /** K: blocks per placement run. */
  public int blocksPerRun() {
    return blocksPerRun;
  }

  /** Number of members placed over. */
  public int size() {
    return members.length;
  }

  /** Whether there is no member (everything is a miss). */
  public boolean isEmpty() {
    return members.length == 0;
  }

  /** Member {@code index} in id order. */
  public Member member(int index) {
    return members[index];
  }

  /** The members in id order. */
  public List<Member> members() {
    return List.of(members);
  }

  /** The run block {@code block} belongs to: {@code block / K}. */
  public int runOf(int block) {
    return block / blocksPerRun;
  }

  /**
   * The index of the member a run key goes to, or -1 when there are no members.
   *
   * @param keyHi high 64 bits of the run's first key
   * @param keyLo low 64 bits of the run's first key
   */
  public int owner(long keyHi, long keyLo) {
    int best = -1;
    long bestWeight = 0;
    for (int i = 0; i < members.length; i++) {
      long w = Rendezvous.weight(keyHi, keyLo, seeds[i]);
      // Members are in id order, so on a tie the first (smallest id) stays: spec §5.3.
      if (best < 0 || Long.compareUnsigned(w, bestWeight) > 0) {
        best = i;
        bestWeight = w;
      }
    }
    return best;
  }

  /**
   * Member indices for a run key, highest weight first: {@code out[0]} is the owner, {@code out[1]}
   * the first replica, ... Fills {@code min(out.length, size())} entries and returns that count.
   */
  public int rank(long keyHi, long keyLo, int[] out) {
    int n = Math.min(out.length, members.length);
    long[] weights = new long[n];
    int filled = 0;
    for (int i = 0; i < members.length; i++) {
      long w = Rendezvous.weight(keyHi, keyLo, seeds[i]);
      // insertion into the top-n, strictly greater moves ahead (ties keep id order)
      int pos = filled;
      while (pos > 0 && Long.compareUnsigned(w, weights[pos - 1]) > 0) {
        pos--;
      }
      if (pos >= n) {
        continue;
      }
      int last = Math.min(filled, n - 1);
      for (int j = last; j > pos; j--) {
        weights[j] = weights[j - 1];
        out[j] = out[j - 1];
      }
      weights[pos] = w;
      out[pos] = i;
      if (filled < n) {
        filled++;
      }
    }
    return n;
  }

  /**
   * The owner of every run of the first {@code blocks} blocks of a chain.
   *
   * @param chainKeys the chain's keys as (hi, lo) pairs, block 0 first
   * @param blocks number of blocks
   * @return member index per run ({@code ceil(blocks / K)} entries), -1 when there are no members
   */
  public int[] runOwners(long[] chainKeys, int blocks) {
    int runs = (blocks + blocksPerRun - 1) / blocksPerRun;
    int[] owners = new int[runs];
    for (int r = 0; r < runs; r++) {
      int first = r * blocksPerRun;
      owners[r] = owner(chainKeys[2 * first], chainKeys[2 * first + 1]);
    }
    return owners;
  }

  /** The ids of the members, in id order (for logs). */
  List<String> ids() {
    List<String> ids = new ArrayList<>(members.length);
    for (Member m : members) {
      ids.add(m.id());
    }
    return ids;
  }
}
