package io.kvstore.client.cluster;

import io.kvstore.client.GetResult;
import io.kvstore.client.KeyChain;
import io.kvstore.client.KvStoreClient;
import io.kvstore.client.KvStoreClientBuilder;
import io.kvstore.client.KvStoreException;
import io.kvstore.client.LookupResult;
import io.kvstore.client.PutResult;
import io.kvstore.client.protocol.ErrorCode;
import io.kvstore.client.protocol.FrameDescriptor;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Many daemons as one store: the token-level API of {@link KvStoreClient} over a cluster, with
 * pages placed by rendezvous hashing over the live members ({@code spec/5-cluster-placement.md}).
 *
 * <p>Block {@code i} of a prompt goes with its placement run ({@code i / K}) to the member whose
 * weight for the run's first key is highest. A lookup or fetch groups the prompt's blocks by member
 * and sends one request per member touched, all at once; the answers combine into the leading run
 * (the first block some member lacks ends it).
 *
 * <p><b>Faults cost only misses.</b> A request to a member that fails (connection lost, timeout,
 * shutting down) takes that member out of routing at once and its blocks count as misses (or, with
 * {@code replicas > 1}, are asked of the next member in rank order); no error reaches the caller,
 * and a page is only ever what a member returned after its CRC check. A member that is down is
 * probed every probe interval and routed to again when it answers. Members leave and join through
 * the {@link Membership}; only the runs of a member that leaves or joins move.
 *
 * <p>Each member has its own {@link KvStoreClient} (its own connections and I/O threads). Futures
 * complete on those I/O threads; never call a blocking method from a continuation. Thread-safe.
 */
public final class ClusterClient implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(ClusterClient.class.getName());

  private final Membership membership;
  private final boolean ownsMembership;
  private final KeyChain keyChain;
  private final int tokensPerBlock;
  private final long namespaceId;
  private final int blocksPerRun;
  private final int replicas;
  private final long probeIntervalNanos;
  private final ClusterClientBuilder config;
  private final Map<String, MemberSlot> slots = new ConcurrentHashMap<>();
  private final ScheduledExecutorService maintenance;
  private final AtomicLong failovers = new AtomicLong();
  private final AtomicLong placementChanges = new AtomicLong();
  private volatile Routing routing;
  private volatile boolean closed;

  /** The placement over the routed members and their slots, index for index. */
  private record Routing(Placement placement, MemberSlot[] slots) {}

  ClusterClient(ClusterClientBuilder b) {
    this.config = b;
    this.keyChain = b.keyChain;
    this.tokensPerBlock = b.keyChain != null ? b.keyChain.tokensPerBlock() : 0;
    this.namespaceId = b.keyChain != null ? b.keyChain.namespaceId() : b.namespaceId;
    this.blocksPerRun = b.blocksPerRun;
    this.replicas = b.replicas;
    this.probeIntervalNanos = b.probeInterval.toNanos();
    this.routing = new Routing(new Placement(List.of(), blocksPerRun), new MemberSlot[0]);
    if (b.membership != null) {
      this.membership = b.membership;
      this.ownsMembership = false;
    } else {
      this.membership = Membership.open(ClusterUri.parse(b.membershipUri), b.pollInterval);
      this.ownsMembership = true;
    }
    this.maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "kvstore-cluster-maintenance");
      t.setDaemon(true);
      return t;
    });
    try {
      maintenance.submit(this::reconcile).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new KvStoreException(ErrorCode.CLIENT_TIMEOUT, "interrupted while connecting to the cluster");
    } catch (ExecutionException e) {
      close();
      throw new IllegalStateException("could not start the cluster client", e.getCause());
    }
    membership.onChange(() -> {
      if (!closed) {
        maintenance.execute(this::reconcile);
      }
    });
    maintenance.scheduleWithFixedDelay(this::reconcile, probeIntervalNanos, probeIntervalNanos,
        TimeUnit.NANOSECONDS);
  }

  /** A builder with every default set. */
  public static ClusterClientBuilder builder() {
    return new ClusterClientBuilder();
  }

  /** The placement in use now (over the members routed to). */
  public Placement placement() {
    return routing.placement();
  }

  /** Counters and the membership view (docs/cluster.md, "Metrics"). */
  public ClusterStats stats() {
    Map<String, ClusterStats.MemberStats> per = new HashMap<>();
    int live = 0;
    for (MemberSlot s : slots.values()) {
      per.put(s.member.id(), new ClusterStats.MemberStats(s.up, s.requests.sum(), s.failures.sum()));
      live += s.up ? 1 : 0;
    }
    return new ClusterStats(membership.members().size(), live, membership.isStale(),
        membership.staleEvents(), failovers.get(), placementChanges.get(), per);
  }

  // ---------------------------------------------------------------- token level

  /** Number of leading tokens whose blocks are all stored (a multiple of the block size). */
  public CompletableFuture<Integer> lookupTokensAsync(int[] tokens) {
    return lookupChainAsync(chain(tokens, tokens.length / blockSize()))
        .thenApply(run -> run * tokensPerBlock);
  }

  /**
   * Fetches the stored leading blocks of {@code tokens}, block {@code i}'s whole page into
   * {@code dsts[i]} (at most {@code dsts.length} blocks); completes with the number of tokens
   * fetched. Buffers past the leading run may have been written too.
   */
  public CompletableFuture<Integer> fetchAsync(int[] tokens, ByteBuffer[] dsts) {
    int blocks = Math.min(tokens.length / blockSize(), dsts.length);
    return fetchChainAsync(chain(tokens, blocks), dsts).thenApply(run -> run * tokensPerBlock);
  }

  /**
   * Stores blocks {@code [firstBlock, firstBlock + payloads.length)} of {@code tokens} on their
   * members (each run on its top {@code replicas} members); completes with the number of blocks
   * stored on at least one member. A member that fails costs only its blocks.
   */
  public CompletableFuture<Integer> storeAsync(int[] tokens, int firstBlock, ByteBuffer[] payloads) {
    int blocks = firstBlock + payloads.length;
    if (firstBlock < 0 || blocks > tokens.length / blockSize()) {
      throw new IllegalArgumentException("blocks [" + firstBlock + ", " + blocks + ") but the tokens hold "
          + tokens.length / blockSize() + " full blocks");
    }
    return storeChainAsync(chain(tokens, blocks), firstBlock, payloads);
  }

  /** Prefetches the full blocks of {@code tokens}; completes with the number now in memory. */
  public CompletableFuture<Integer> prefetchTokensAsync(int[] tokens, int deadlineMs) {
    long[] chain = chain(tokens, tokens.length / blockSize());
    Routing r = routing;
    int blocks = chain.length / 2;
    if (blocks == 0 || r.placement().isEmpty()) {
      return CompletableFuture.completedFuture(0);
    }
    int[][] groups = group(chain, range(0, blocks), r, Set.of(), blocksPerRun);
    List<CompletableFuture<Integer>> parts = new ArrayList<>();
    for (int m = 0; m < groups.length; m++) {
      if (groups[m] == null) {
        continue;
      }
      MemberSlot slot = r.slots()[m];
      long[] keys = keysOf(chain, groups[m]);
      slot.requests.increment();
      parts.add(safely(() -> slot.client.prefetchAsync(keys, deadlineMs))
          .handle((n, e) -> {
            if (e != null) {
              memberFailed(slot, e);
              return 0;
            }
            return n;
          }));
    }
    return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0]))
        .thenApply(v -> parts.stream().mapToInt(CompletableFuture::join).sum());
  }

  /** Blocking {@link #lookupTokensAsync}. */
  public int lookupTokens(int[] tokens) {
    return blocking(() -> lookupTokensAsync(tokens));
  }

  /** Blocking {@link #fetchAsync}. */
  public int fetch(int[] tokens, ByteBuffer[] dsts) {
    return blocking(() -> fetchAsync(tokens, dsts));
  }

  /** Blocking {@link #storeAsync}. */
  public int store(int[] tokens, int firstBlock, ByteBuffer[] payloads) {
    return blocking(() -> storeAsync(tokens, firstBlock, payloads));
  }

  /** Blocking {@link #prefetchTokensAsync}. */
  public int prefetchTokens(int[] tokens, int deadlineMs) {
    return blocking(() -> prefetchTokensAsync(tokens, deadlineMs));
  }

  // ---------------------------------------------------------------- chain level

  /**
   * LOOKUP of a chain given by its keys ((hi, lo) pairs, block 0 first): completes with the number
   * of leading blocks stored. One request per member touched, in parallel.
   */
  public CompletableFuture<Integer> lookupChainAsync(long[] chainKeys) {
    int blocks = checkChain(chainKeys);
    if (blocks == 0) {
      return CompletableFuture.completedFuture(0);
    }
    return read(false, chainKeys, range(0, blocks), null, 0, blocksPerRun, Set.of(), replicas - 1)
        .thenApply(firstAbsent -> Math.min(firstAbsent, blocks));
  }

  /**
   * GET of the leading stored blocks of a chain into {@code dsts} (block {@code i} into
   * {@code dsts[i]}); completes with the number of leading blocks received.
   */
  public CompletableFuture<Integer> fetchChainAsync(long[] chainKeys, ByteBuffer[] dsts) {
    return fetchChainAsync(chainKeys, 0, Math.min(checkChain(chainKeys), dsts.length), dsts);
  }

  /**
   * GET of blocks {@code [firstBlock, firstBlock + count)} of a chain, block {@code firstBlock + i}
   * into {@code dsts[i]}; completes with the number of leading blocks of that range received. For
   * callers that fetch a long chain in batches.
   */
  public CompletableFuture<Integer> fetchChainAsync(long[] chainKeys, int firstBlock, int count,
      ByteBuffer[] dsts) {
    int blocks = checkChain(chainKeys);
    if (firstBlock < 0 || count < 0 || firstBlock + count > blocks || count > dsts.length) {
      throw new IllegalArgumentException("blocks [" + firstBlock + ", " + (firstBlock + count)
          + ") of a chain of " + blocks + " into " + dsts.length + " buffers");
    }
    if (count == 0) {
      return CompletableFuture.completedFuture(0);
    }
    int end = firstBlock + count;
    return read(true, chainKeys, range(firstBlock, end), dsts, firstBlock, blocksPerRun, Set.of(),
        replicas - 1).thenApply(firstAbsent -> Math.min(firstAbsent, end) - firstBlock);
  }

  /**
   * Stores blocks {@code [firstBlock, firstBlock + payloads.length)} of a chain given by its keys;
   * the SDK writes the page headers. Completes with the number stored on at least one member.
   */
  public CompletableFuture<Integer> storeChainAsync(long[] chainKeys, int firstBlock, ByteBuffer[] payloads) {
    return writeRuns(chainKeys, firstBlock, payloads.length, (slot, from, to) ->
        slot.client.storeChainAsync(chainKeys, from,
            Arrays.copyOfRange(payloads, from - firstBlock, to - firstBlock)));
  }

  /**
   * Stores whole pages (header + payload, as {@code KvStoreClient.putAsync}) that are blocks
   * {@code [firstBlock, firstBlock + pages.length)} of a chain given by its keys; completes with the
   * number stored on at least one member.
   */
  public CompletableFuture<Integer> putChainAsync(long[] chainKeys, int firstBlock, ByteBuffer[] pages) {
    return writeRuns(chainKeys, firstBlock, pages.length, (slot, from, to) ->
        slot.client.putAsync(Arrays.copyOfRange(pages, from - firstBlock, to - firstBlock)));
  }

  // ---------------------------------------------------------------- unchained keys

  /**
   * GET of keys that are not one chain (each placed on its own, as a run of one block): copies
   * key {@code i}'s page into {@code dsts[i]}; completes with the number of leading keys received.
   */
  public CompletableFuture<Integer> getEachAsync(long[] keys, ByteBuffer[] dsts) {
    int count = checkChain(keys);
    if (count > dsts.length) {
      throw new IllegalArgumentException(count + " keys but " + dsts.length + " buffers");
    }
    if (count == 0) {
      return CompletableFuture.completedFuture(0);
    }
    return read(true, keys, range(0, count), dsts, 0, 1, Set.of(), replicas - 1)
        .thenApply(firstAbsent -> Math.min(firstAbsent, count));
  }

  /**
   * Stores whole pages that are not one chain, each placed by its own key (read from its header);
   * completes with the number stored on at least one member.
   */
  public CompletableFuture<Integer> putEachAsync(ByteBuffer[] pages) {
    long[] keys = new long[2 * pages.length];
    for (int i = 0; i < pages.length; i++) {
      ByteBuffer page = pages[i].duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
      if (page.remaining() < io.kvstore.common.PageFormat.HEADER_LENGTH) {
        throw new IllegalArgumentException("page " + i + " is shorter than a page header");
      }
      keys[2 * i] = io.kvstore.common.PageFormat.keyHi(page, page.position());
      keys[2 * i + 1] = io.kvstore.common.PageFormat.keyLo(page, page.position());
    }
    Routing r = routing;
    if (pages.length == 0 || r.placement().isEmpty()) {
      return CompletableFuture.completedFuture(0);
    }
    boolean[] stored = new boolean[pages.length];
    List<CompletableFuture<?>> parts = new ArrayList<>();
    int[] ranked = new int[replicas];
    int size = r.placement().size();
    for (int j = 0; j < Math.min(replicas, size); j++) {
      int[] counts = new int[size];
      int[] owner = new int[pages.length];
      for (int i = 0; i < pages.length; i++) {
        r.placement().rank(keys[2 * i], keys[2 * i + 1], ranked);
        owner[i] = ranked[j];
        counts[owner[i]]++;
      }
      for (int m = 0; m < size; m++) {
        if (counts[m] == 0) {
          continue;
        }
        int[] mine = new int[counts[m]];
        ByteBuffer[] subset = new ByteBuffer[counts[m]];
        for (int i = 0, n = 0; i < pages.length; i++) {
          if (owner[i] == m) {
            mine[n] = i;
            subset[n++] = pages[i];
          }
        }
        MemberSlot slot = r.slots()[m];
        slot.requests.increment();
        parts.add(safely(() -> slot.client.putAsync(subset)).handle((result, e) -> {
          if (e != null) {
            memberFailed(slot, e);
            return null;
          }
          synchronized (stored) {
            for (int i = 0; i < result.pageCount(); i++) {
              if (result.status(i) == ErrorCode.OK) {
                stored[mine[i]] = true;
              }
            }
          }
          return null;
        }));
      }
    }
    return countStored(parts, stored);
  }

  /** Sends blocks {@code [from, to)} of the chain to one member. */
  @FunctionalInterface
  private interface RunWriter {
    CompletableFuture<PutResult> write(MemberSlot slot, int from, int to);
  }

  /**
   * Writes blocks {@code [firstBlock, firstBlock + count)}: each run to its top {@code replicas}
   * members; per replica rank, consecutive runs with the same member go as one request.
   */
  private CompletableFuture<Integer> writeRuns(long[] chainKeys, int firstBlock, int count, RunWriter writer) {
    int end = firstBlock + count;
    if (firstBlock < 0 || 2L * end > chainKeys.length) {
      throw new IllegalArgumentException("blocks [" + firstBlock + ", " + end + ") but the chain has "
          + chainKeys.length / 2 + " keys");
    }
    Routing r = routing;
    if (count == 0 || r.placement().isEmpty()) {
      return CompletableFuture.completedFuture(0);
    }
    int[] ranked = new int[replicas];
    boolean[] stored = new boolean[count];
    List<CompletableFuture<?>> parts = new ArrayList<>();
    int firstRun = firstBlock / blocksPerRun;
    int runs = (end - 1) / blocksPerRun - firstRun + 1;
    int[][] owners = new int[replicas][runs];
    int n = 0;
    for (int q = 0; q < runs; q++) {
      int b = (firstRun + q) * blocksPerRun;
      n = r.placement().rank(chainKeys[2 * b], chainKeys[2 * b + 1], ranked);
      for (int j = 0; j < replicas; j++) {
        owners[j][q] = j < n ? ranked[j] : -1;
      }
    }
    for (int j = 0; j < Math.min(n, replicas); j++) {
      int q = 0;
      while (q < runs) {
        int member = owners[j][q];
        int q2 = q;
        while (q2 + 1 < runs && owners[j][q2 + 1] == member) {
          q2++;
        }
        int from = Math.max(firstBlock, (firstRun + q) * blocksPerRun);
        int to = Math.min(end, (firstRun + q2 + 1) * blocksPerRun);
        MemberSlot slot = r.slots()[member];
        slot.requests.increment();
        parts.add(safely(() -> writer.write(slot, from, to)).handle((result, e) -> {
          if (e != null) {
            memberFailed(slot, e);
            return null;
          }
          synchronized (stored) {
            for (int i = 0; i < result.pageCount(); i++) {
              if (result.status(i) == ErrorCode.OK) {
                stored[from - firstBlock + i] = true;
              }
            }
          }
          return null;
        }));
        q = q2 + 1;
      }
    }
    return countStored(parts, stored);
  }

  private static CompletableFuture<Integer> countStored(List<CompletableFuture<?>> parts, boolean[] stored) {
    return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0])).thenApply(v -> {
      int count = 0;
      synchronized (stored) {
        for (boolean s : stored) {
          count += s ? 1 : 0;
        }
      }
      return count;
    });
  }

  // ---------------------------------------------------------------- scatter / gather

  /**
   * Reads {@code blocks} (ascending) with one LOOKUP or GET per member and completes with the
   * first block found absent ({@link Integer#MAX_VALUE} when all are present). A member's answer
   * "the first r of my blocks are present" means its block {@code r} is absent; the smallest such
   * block over all members ends the leading run, and every block before it belongs to some member
   * whose run covers it. A member that fails answers r = 0 (or, with retries left, its blocks are
   * asked of the next member in rank order).
   */
  private CompletableFuture<Integer> read(boolean get, long[] chain, int[] blocks, ByteBuffer[] dsts,
      int dstOffset, int k, Set<String> excluded, int retriesLeft) {
    Routing r = routing;
    int[][] groups = group(chain, blocks, r, excluded, k);
    if (groups == null) {
      return CompletableFuture.completedFuture(blocks[0]);
    }
    List<CompletableFuture<Integer>> parts = new ArrayList<>();
    for (int m = 0; m < groups.length; m++) {
      int[] mine = groups[m];
      if (mine == null) {
        continue;
      }
      MemberSlot slot = r.slots()[m];
      slot.requests.increment();
      long[] keys = keysOf(chain, mine);
      CompletableFuture<Integer> run;
      if (get) {
        ByteBuffer[] targets = new ByteBuffer[mine.length];
        for (int i = 0; i < mine.length; i++) {
          targets[i] = dsts[mine[i] - dstOffset];
        }
        run = safely(() -> slot.client.getAsync(keys, targets, true)).thenApply(GetResult::leadingRun);
      } else {
        run = safely(() -> slot.client.lookupAsync(keys)).thenApply(LookupResult::runLength);
      }
      parts.add(run.handle((n, e) -> {
        if (e == null) {
          return CompletableFuture.completedFuture(n < mine.length ? mine[n] : Integer.MAX_VALUE);
        }
        if (isCallerError(e)) {
          return CompletableFuture.<Integer>failedFuture(e);
        }
        memberFailed(slot, e);
        if (retriesLeft > 0) {
          Set<String> next = new HashSet<>(excluded);
          next.add(slot.member.id());
          return read(get, chain, mine, dsts, dstOffset, k, next, retriesLeft - 1);
        }
        return CompletableFuture.completedFuture(mine[0]);
      }).thenCompose(f -> f));
    }
    return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0])).thenApply(v -> {
      int first = Integer.MAX_VALUE;
      for (CompletableFuture<Integer> p : parts) {
        first = Math.min(first, p.join());
      }
      return first;
    });
  }

  /**
   * Groups blocks by the member (index in {@code r}) that owns their run, skipping excluded
   * members: {@code groups[m]} lists member {@code m}'s blocks ascending, or is null. Returns null
   * when no member is left.
   */
  private int[][] group(long[] chain, int[] blocks, Routing r, Set<String> excluded, int k) {
    Placement p = r.placement();
    int size = p.size();
    if (size == 0) {
      return null;
    }
    int[] ranked = new int[Math.min(size, excluded.size() + 1)];
    int[] ownerOf = new int[blocks.length];
    int[] counts = new int[size];
    int lastRun = -1;
    int owner = -1;
    for (int i = 0; i < blocks.length; i++) {
      int run = blocks[i] / k;
      if (run != lastRun) {
        lastRun = run;
        int b = run * k;
        int n = p.rank(chain[2 * b], chain[2 * b + 1], ranked);
        owner = -1;
        for (int c = 0; c < n; c++) {
          if (!excluded.contains(p.member(ranked[c]).id())) {
            owner = ranked[c];
            break;
          }
        }
      }
      if (owner < 0) {
        return null;
      }
      ownerOf[i] = owner;
      counts[owner]++;
    }
    int[][] groups = new int[size][];
    int[] fill = new int[size];
    for (int i = 0; i < blocks.length; i++) {
      int m = ownerOf[i];
      if (groups[m] == null) {
        groups[m] = new int[counts[m]];
      }
      groups[m][fill[m]++] = blocks[i];
    }
    return groups;
  }

  private static long[] keysOf(long[] chain, int[] blocks) {
    long[] keys = new long[2 * blocks.length];
    for (int i = 0; i < blocks.length; i++) {
      keys[2 * i] = chain[2 * blocks[i]];
      keys[2 * i + 1] = chain[2 * blocks[i] + 1];
    }
    return keys;
  }

  private static int[] range(int from, int to) {
    int[] all = new int[to - from];
    for (int i = 0; i < all.length; i++) {
      all[i] = from + i;
    }
    return all;
  }

  private int blockSize() {
    if (keyChain == null) {
      throw new IllegalStateException(
          "the token-level API needs a KeyChain: set one with ClusterClientBuilder.keyChain");
    }
    return tokensPerBlock;
  }

  private long[] chain(int[] tokens, int blocks) {
    blockSize();
    long[] keys = new long[2 * blocks];
    if (blocks > 0) {
      keyChain.keys(tokens, blocks, keys);
    }
    return keys;
  }

  private static int checkChain(long[] chainKeys) {
    if ((chainKeys.length & 1) != 0) {
      throw new IllegalArgumentException("keys are (hi, lo) pairs; got an odd length " + chainKeys.length);
    }
    return chainKeys.length / 2;
  }

  /** Runs a member call, turning a synchronous throw into a failed future. */
  private static <T> CompletableFuture<T> safely(java.util.function.Supplier<CompletableFuture<T>> call) {
    try {
      return call.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** A request the caller got wrong (too many keys for the daemon's batch): not a member fault. */
  private static boolean isCallerError(Throwable e) {
    return unwrap(e) instanceof IllegalArgumentException;
  }

  private static Throwable unwrap(Throwable e) {
    Throwable c = e;
    while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  // ---------------------------------------------------------------- member state

  /** A request to a member failed: count it; a lost connection or timeout stops routing to it. */
  private void memberFailed(MemberSlot slot, Throwable error) {
    slot.failures.increment();
    Throwable cause = unwrap(error);
    int code = cause instanceof KvStoreException k ? k.code() : ErrorCode.INTERNAL;
    boolean memberGone = code == ErrorCode.CONNECTION_CLOSED || code == ErrorCode.CLIENT_TIMEOUT
        || code == ErrorCode.SHUTTING_DOWN || code == ErrorCode.TIMEOUT;
    if (memberGone && slot.up) {
      slot.up = false;
      slot.nextAttemptNanos = System.nanoTime() + probeIntervalNanos;
      failovers.incrementAndGet();
      LOG.log(Level.WARNING, "member {0} out of routing after {1}; its pages are misses until it answers",
          slot.member.id(), cause.getMessage());
      rebuildRouting();
    }
  }

  /** Makes the placement over the members that are up; cheap, so it may run on an I/O thread. */
  private synchronized void rebuildRouting() {
    List<MemberSlot> live = new ArrayList<>();
    List<Member> members = new ArrayList<>();
    for (MemberSlot s : slots.values()) {
      if (s.up && s.client != null) {
        live.add(s);
        members.add(s.member);
      }
    }
    Placement p = new Placement(members, blocksPerRun);
    MemberSlot[] aligned = new MemberSlot[p.size()];
    for (int i = 0; i < aligned.length; i++) {
      for (MemberSlot s : live) {
        if (s.member.id().equals(p.member(i).id())) {
          aligned[i] = s;
        }
      }
    }
    if (!p.ids().equals(routing.placement().ids())) {
      placementChanges.incrementAndGet();
      LOG.log(Level.INFO, "routing to {0} member(s): {1}", p.size(), p.ids());
    }
    routing = new Routing(p, aligned);
  }

  /**
   * On the maintenance thread: follow the membership (drop members that left, add those that
   * joined), connect new members and probe the ones that are down.
   */
  private void reconcile() {
    if (closed) {
      return;
    }
    try {
      List<Member> current = membership.members();
      Set<String> ids = new HashSet<>();
      for (Member m : current) {
        if (!m.speaksProtocol()) {
          LOG.log(Level.WARNING, "member {0} speaks protocol version {1} and later, this SDK {2} to"
              + " {3}: not routed to", m.id(), m.protocolVersion(),
              FrameDescriptor.MIN_PROTOCOL_VERSION, FrameDescriptor.PROTOCOL_VERSION);
          continue;
        }
        ids.add(m.id());
        slots.computeIfAbsent(m.id(), id -> new MemberSlot(m));
      }
      List<MemberSlot> left = new ArrayList<>();
      for (MemberSlot s : List.copyOf(slots.values())) {
        if (!ids.contains(s.member.id())) {
          slots.remove(s.member.id());
          s.up = false;
          left.add(s);
          LOG.log(Level.INFO, "member {0} left the cluster", s.member.id());
        }
      }
      if (!left.isEmpty()) {
        rebuildRouting();
        // closed after routing moved on, so no new request picks them
        for (MemberSlot s : left) {
          if (s.client != null) {
            s.client.close();
          }
        }
      }
      for (MemberSlot s : slots.values()) {
        if (!s.up && !closed) {
          probe(s);
        }
      }
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "cluster maintenance failed; retrying next interval", e);
    }
  }

  private void probe(MemberSlot s) {
    long now = System.nanoTime();
    if (now - s.nextAttemptNanos < 0) {
      return;
    }
    s.nextAttemptNanos = now + probeIntervalNanos;
    try {
      if (s.client == null) {
        KvStoreClientBuilder b = KvStoreClient.builder()
            .address(s.member.host(), s.member.port())
            .namespaceId(namespaceId)
            .connectTimeout(ClusterClientBuilder.MEMBER_CONNECT_TIMEOUT_DEFAULT);
        if (keyChain != null) {
          b.keyChain(keyChain);
        }
        config.memberConfig.accept(b);
        s.client = b.build();
      } else {
        s.client.ping();
      }
      if (closed || !slots.containsKey(s.member.id())) {
        return;
      }
      s.up = true;
      s.warnedUnreachable = false;
      LOG.log(Level.INFO, "member {0} answers: routing to it", s.member.id());
      rebuildRouting();
    } catch (RuntimeException e) {
      if (!s.warnedUnreachable) {
        s.warnedUnreachable = true;
        LOG.log(Level.WARNING, "member {0} does not answer ({1}); probing every {2} ms",
            s.member.id(), e.getMessage(), TimeUnit.NANOSECONDS.toMillis(probeIntervalNanos));
      }
    }
  }

  /**
   * Runs an async call and waits for it. Refused, before anything is sent, on a member client's
   * I/O thread (a blocking call made from a callback of an async one): the answer would have to
   * arrive on the very thread that waits for it. KvStoreClient refuses the same for its own calls.
   */
  private <T> T blocking(java.util.function.Supplier<CompletableFuture<T>> call) {
    for (MemberSlot s : slots.values()) {
      KvStoreClient c = s.client;
      if (c != null && c.isIoThread()) {
        throw new IllegalStateException(
            "blocking cluster call on a kvstore I/O thread would deadlock; use the async form");
      }
    }
    return await(call.get());
  }

  private static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (ExecutionException e) {
      Throwable c = unwrap(e);
      if (c instanceof RuntimeException re) {
        throw re;
      }
      throw new KvStoreException(ErrorCode.INTERNAL, String.valueOf(c), c);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KvStoreException(ErrorCode.CLIENT_TIMEOUT, "interrupted while waiting", e);
    }
  }

  /** Stops the maintenance thread, closes every member's client and (if it opened it) the membership. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    maintenance.shutdownNow();
    try {
      maintenance.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (MemberSlot s : slots.values()) {
      s.up = false;
      if (s.client != null) {
        s.client.close();
      }
    }
    slots.clear();
    if (ownsMembership) {
      membership.close();
    }
  }
}
