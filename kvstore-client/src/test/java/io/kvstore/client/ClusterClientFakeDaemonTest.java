package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.client.cluster.ClusterClient;
import io.kvstore.client.cluster.ClusterStats;
import io.kvstore.client.cluster.Placement;
import io.kvstore.client.protocol.Opcode;
import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The cluster client against three protocol doubles ({@link FakeDaemon}): placement by runs, one
 * request per member touched, and a lost member costing only misses. The same paths against real
 * forked daemons and etcd are in kvstore-server's ClusterE2ETest.
 */
class ClusterClientFakeDaemonTest {

  private static final long NAMESPACE = 0x5eed;
  private static final int TOKENS_PER_BLOCK = 4;
  private static final int BLOCKS = 40;
  private static final int K = 2;
  private static final int PAYLOAD = 100;

  private final List<FakeDaemon> daemons = new ArrayList<>();
  private final java.util.Set<FakeDaemon> killed = new java.util.HashSet<>();
  private final TestKeyChain chain = new TestKeyChain(NAMESPACE, TOKENS_PER_BLOCK);

  @AfterEach
  void stopDaemons() {
    for (FakeDaemon d : daemons) {
      if (!killed.contains(d)) {
        d.close();
      }
    }
  }

  /** Stops a member the way a SIGKILL looks from the client: its connections drop. */
  private void kill(int i) {
    FakeDaemon d = daemons.get(i);
    killed.add(d);
    d.close();
  }

  private ClusterClient cluster(int replicas) throws Exception {
    return cluster(replicas, java.time.Duration.ofSeconds(5));
  }

  private ClusterClient cluster(int replicas, java.time.Duration requestTimeout) throws Exception {
    StringBuilder uri = new StringBuilder("static://");
    for (int i = 0; i < 3; i++) {
      FakeDaemon d = new FakeDaemon();
      daemons.add(d);
      uri.append(i == 0 ? "" : ",").append("127.0.0.1:").append(d.port());
    }
    return ClusterClient.builder()
        .cluster(uri.toString())
        .keyChain(chain)
        .blocksPerRun(K)
        .replicas(replicas)
        .probeInterval(java.time.Duration.ofMillis(100))
        .memberClient(b -> b.connections(1).maxRetries(0).requestTimeout(requestTimeout))
        .build();
  }

  private static int[] tokens(int prompt) {
    SplittableRandom r = new SplittableRandom(prompt);
    int[] t = new int[BLOCKS * TOKENS_PER_BLOCK];
    for (int i = 0; i < t.length; i++) {
      t[i] = r.nextInt(50_000);
    }
    return t;
  }

  private static ByteBuffer payload(int prompt, int block) {
    byte[] b = new byte[PAYLOAD];
    new SplittableRandom(prompt * 1000L + block).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  private static ByteBuffer[] payloads(int prompt) {
    ByteBuffer[] p = new ByteBuffer[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
      p[i] = payload(prompt, i);
    }
    return p;
  }

  private static ByteBuffer[] destinations() {
    ByteBuffer[] d = new ByteBuffer[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
      d[i] = ByteBuffer.allocate(PageFormat.HEADER_LENGTH + PAYLOAD);
    }
    return d;
  }

  private static void assertPagesMatch(int prompt, ByteBuffer[] dsts, int blocks) {
    for (int i = 0; i < blocks; i++) {
      byte[] got = new byte[PAYLOAD];
      dsts[i].duplicate().position(PageFormat.HEADER_LENGTH).get(got);
      assertArrayEquals(payload(prompt, i).array(), got, "prompt " + prompt + " block " + i);
    }
  }

  @Test
  void shouldSpreadPromptsOverMembersAndAskEachMemberOncePerLookup() throws Exception {
    try (ClusterClient client = cluster(1)) {
      for (int p = 0; p < 20; p++) {
        assertEquals(BLOCKS, client.store(tokens(p), 0, payloads(p)));
      }
      int total = 0;
      for (FakeDaemon d : daemons) {
        assertTrue(d.pages.size() > 0, "a member got no page");
        total += d.pages.size();
      }
      assertEquals(20 * BLOCKS, total, "each page on exactly one member");
      for (int p = 0; p < 20; p++) {
        int[] before = lookupsPerDaemon();
        assertEquals(BLOCKS * TOKENS_PER_BLOCK, client.lookupTokens(tokens(p)));
        int[] after = lookupsPerDaemon();
        for (int i = 0; i < 3; i++) {
          assertTrue(after[i] - before[i] <= 1, "member " + i + " asked " + (after[i] - before[i]) + " times");
        }
        ByteBuffer[] dsts = destinations();
        assertEquals(BLOCKS * TOKENS_PER_BLOCK, client.fetch(tokens(p), dsts));
        assertPagesMatch(p, dsts, BLOCKS);
      }
      ClusterStats stats = client.stats();
      assertEquals(3, stats.members());
      assertEquals(3, stats.liveMembers());
      assertEquals(0, stats.failovers());
    }
  }

  @Test
  void shouldTurnALostMembersPagesIntoMissesWithoutErrors() throws Exception {
    try (ClusterClient client = cluster(1)) {
      for (int p = 0; p < 20; p++) {
        client.store(tokens(p), 0, payloads(p));
      }
      Placement before = client.placement();
      String lost = "127.0.0.1:" + daemons.get(0).port();
      kill(0);
      int lostPrompts = 0;
      for (int p = 0; p < 20; p++) {
        int expected = leadingBlocksWithout(before, lost, tokens(p)) * TOKENS_PER_BLOCK;
        lostPrompts += expected < BLOCKS * TOKENS_PER_BLOCK ? 1 : 0;
        assertEquals(expected, client.lookupTokens(tokens(p)), "prompt " + p);
        ByteBuffer[] dsts = destinations();
        assertEquals(expected, client.fetch(tokens(p), dsts), "prompt " + p);
        assertPagesMatch(p, dsts, expected / TOKENS_PER_BLOCK);
      }
      assertTrue(lostPrompts > 0, "the lost member held no leading run; the test proves nothing");
      ClusterStats stats = client.stats();
      assertEquals(1, stats.failovers());
      assertEquals(2, stats.liveMembers());
      assertEquals(2, client.placement().size());
      // new stores go to the survivors and are found again
      assertEquals(BLOCKS, client.store(tokens(99), 0, payloads(99)));
      assertEquals(BLOCKS * TOKENS_PER_BLOCK, client.lookupTokens(tokens(99)));
    }
  }

  @Test
  void shouldReadFromTheReplicaWhenAMemberIsLostWithTwoReplicas() throws Exception {
    try (ClusterClient client = cluster(2)) {
      for (int p = 0; p < 20; p++) {
        assertEquals(BLOCKS, client.store(tokens(p), 0, payloads(p)));
      }
      int total = 0;
      for (FakeDaemon d : daemons) {
        total += d.pages.size();
      }
      assertEquals(2 * 20 * BLOCKS, total, "each page on two members");
      kill(1);
      for (int p = 0; p < 20; p++) {
        ByteBuffer[] dsts = destinations();
        assertEquals(BLOCKS * TOKENS_PER_BLOCK, client.fetch(tokens(p), dsts), "prompt " + p);
        assertPagesMatch(p, dsts, BLOCKS);
        assertEquals(BLOCKS * TOKENS_PER_BLOCK, client.lookupTokens(tokens(p)));
      }
      assertEquals(1, client.stats().failovers());
    }
  }

  @Test
  void shouldAnswerMissesWhenNoMemberIsReachable() throws Exception {
    ClusterClient client = cluster(1);
    try {
      client.store(tokens(1), 0, payloads(1));
      for (int i = 0; i < 3; i++) {
        kill(i);
      }
      assertEquals(0, client.lookupTokens(tokens(1)));
      assertEquals(0, client.fetch(tokens(1), destinations()));
      assertEquals(0, client.store(tokens(2), 0, payloads(2)));
      assertEquals(0, client.stats().liveMembers());
    } finally {
      client.close();
    }
  }

  @Test
  void shouldFetchAChainInBatchesAndPlaceUnchainedPagesOneByOne() throws Exception {
    try (ClusterClient client = cluster(1)) {
      int[] t = tokens(5);
      long[] keys = new long[2 * BLOCKS];
      chain.keys(t, BLOCKS, keys);
      assertEquals(BLOCKS, client.store(t, 0, payloads(5)));
      // batches of 7 that do not line up with the runs of 2
      for (int first = 0; first < BLOCKS; first += 7) {
        int n = Math.min(7, BLOCKS - first);
        ByteBuffer[] dsts = new ByteBuffer[n];
        for (int i = 0; i < n; i++) {
          dsts[i] = ByteBuffer.allocate(PageFormat.HEADER_LENGTH + PAYLOAD);
        }
        assertEquals(n, client.fetchChainAsync(keys, first, n, dsts).get());
        for (int i = 0; i < n; i++) {
          byte[] got = new byte[PAYLOAD];
          dsts[i].duplicate().position(PageFormat.HEADER_LENGTH).get(got);
          assertArrayEquals(payload(5, first + i).array(), got, "block " + (first + i));
        }
      }
      // whole pages of independent keys: put one by one by their own key, got back the same way
      ByteBuffer[] pages = new ByteBuffer[30];
      long[] own = new long[60];
      for (int i = 0; i < 30; i++) {
        own[2 * i] = 0x1000 + i;
        own[2 * i + 1] = 0x2000 + i;
        pages[i] = ByteBuffer.allocate(PageFormat.HEADER_LENGTH + PAYLOAD).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        ByteBuffer payload = payload(7, i);
        pages[i].position(PageFormat.HEADER_LENGTH);
        pages[i].put(payload.duplicate());
        PageFormat.writeHeader(pages[i], 0, own[2 * i], own[2 * i + 1], 0, 0, NAMESPACE, TOKENS_PER_BLOCK,
            PAYLOAD, PageFormat.crc32c(payload, 0, PAYLOAD));
        pages[i].flip();
      }
      assertEquals(30, client.putEachAsync(pages).get());
      int holding = 0;
      for (FakeDaemon d : daemons) {
        holding += d.pages.keySet().stream().anyMatch(k -> k.hi() >= 0x1000 && k.hi() < 0x1000 + 30) ? 1 : 0;
      }
      assertEquals(3, holding, "30 independent pages, placed one by one, should reach all three members");
      ByteBuffer[] dsts = new ByteBuffer[30];
      for (int i = 0; i < 30; i++) {
        dsts[i] = ByteBuffer.allocate(PageFormat.HEADER_LENGTH + PAYLOAD);
      }
      assertEquals(30, client.getEachAsync(own, dsts).get());
      for (int i = 0; i < 30; i++) {
        byte[] got = new byte[PAYLOAD];
        dsts[i].duplicate().position(PageFormat.HEADER_LENGTH).get(got);
        assertArrayEquals(payload(7, i).array(), got, "page " + i);
      }
    }
  }

  @Test
  void shouldTurnAnErrorAnswerOrACorruptPageIntoMissesAndKeepTheMember() throws Exception {
    try (ClusterClient client = cluster(1)) {
      int[] t = tokens(3);
      assertEquals(BLOCKS, client.store(t, 0, payloads(3)));
      FakeDaemon owner = ownerOfBlock(client, t, 0);
      owner.errors.put(Opcode.LOOKUP, io.kvstore.client.protocol.ErrorCode.OVERLOADED);
      assertEquals(0, client.lookupTokens(t), "block 0's member failed: the run is empty, no error");
      assertEquals(BLOCKS * TOKENS_PER_BLOCK, client.lookupTokens(t), "the error was one answer");
      ClusterStats stats = client.stats();
      assertEquals(0, stats.failovers(), "an OVERLOADED answer does not take the member out");
      assertEquals(3, stats.liveMembers());
      assertEquals(1, stats.perMember().values().stream().mapToLong(ClusterStats.MemberStats::failures).sum());

      // a page whose bytes were damaged on the way is a miss, never other bytes
      long[] keys = new long[2 * BLOCKS];
      chain.keys(t, BLOCKS, keys);
      FakeDaemon holder = ownerOfBlock(client, t, 9);
      holder.corruptOnce.add(new io.kvstore.common.BlockKey(keys[18], keys[19]));
      ByteBuffer[] dsts = destinations();
      assertEquals(9 * TOKENS_PER_BLOCK, client.fetch(t, dsts));
      assertPagesMatch(3, dsts, 9);
    }
  }

  @Test
  void shouldStopRoutingToASilentMemberAndRouteAgainWhenItAnswers() throws Exception {
    try (ClusterClient client = cluster(1, java.time.Duration.ofSeconds(1))) {
      int[] t = tokens(4);
      assertEquals(BLOCKS, client.store(t, 0, payloads(4)));
      FakeDaemon owner = ownerOfBlock(client, t, 0);
      owner.faults.put(Opcode.LOOKUP, FakeDaemon.Fault.SILENT);
      assertEquals(0, client.lookupTokens(t), "a member that does not answer costs misses");
      assertEquals(1, client.stats().failovers());
      // the fault was one request: the next probe (every 100 ms) finds it answering
      long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
      while (client.stats().liveMembers() < 3 && System.nanoTime() < until) {
        Thread.sleep(20);
      }
      assertEquals(3, client.stats().liveMembers(), "the member answered a probe and is routed to again");
      // With a 1 s request timeout a loaded host can time out a lookup again (the member then goes
      // out and comes back once more): what must hold is that lookups through it succeed again.
      int found = client.lookupTokens(t);
      while (found != BLOCKS * TOKENS_PER_BLOCK && System.nanoTime() < until) {
        Thread.sleep(50);
        found = client.lookupTokens(t);
      }
      assertEquals(BLOCKS * TOKENS_PER_BLOCK, found, "stats: " + client.stats());
    }
  }

  @Test
  void shouldRefuseABlockingCallMadeOnAMembersIoThread() throws Exception {
    try (ClusterClient client = cluster(1)) {
      int[] t = tokens(5);
      assertEquals(BLOCKS, client.store(t, 0, payloads(5)));
      for (FakeDaemon d : daemons) {
        d.responseDelayMs = 200; // the lookup completes later, on a member client's I/O thread
      }
      String seen = client.lookupTokensAsync(t).thenApply(n -> {
        try {
          return "blocking call returned " + client.lookupTokens(t);
        } catch (IllegalStateException e) {
          return e.getMessage();
        }
      }).get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertEquals("blocking cluster call on a kvstore I/O thread would deadlock; use the async form",
          seen);
      for (FakeDaemon d : daemons) {
        d.responseDelayMs = 0;
      }
      assertEquals(BLOCKS * TOKENS_PER_BLOCK, client.lookupTokens(t), "the client still serves");
    }
  }

  private FakeDaemon ownerOfBlock(ClusterClient client, int[] tokens, int block) {
    long[] keys = new long[2 * BLOCKS];
    chain.keys(tokens, BLOCKS, keys);
    Placement p = client.placement();
    String id = p.member(p.runOwners(keys, BLOCKS)[block / K]).id();
    for (FakeDaemon d : daemons) {
      if (id.equals("127.0.0.1:" + d.port())) {
        return d;
      }
    }
    throw new AssertionError("no daemon " + id);
  }

  private int[] lookupsPerDaemon() {
    int[] n = new int[daemons.size()];
    for (int i = 0; i < n.length; i++) {
      n[i] = daemons.get(i).received(Opcode.LOOKUP);
    }
    return n;
  }

  /** Leading blocks whose run's owner (in the placement before the loss) is not the lost member. */
  private int leadingBlocksWithout(Placement p, String lost, int[] tokens) {
    long[] keys = new long[2 * BLOCKS];
    chain.keys(tokens, BLOCKS, keys);
    int[] owners = p.runOwners(keys, BLOCKS);
    for (int r = 0; r < owners.length; r++) {
      if (p.member(owners[r]).id().equals(lost)) {
        return r * K;
      }
    }
    return BLOCKS;
  }
}
