package io.kvstore.server.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvstore.client.KeyChain;
import io.kvstore.client.cluster.ClusterClient;
import io.kvstore.client.cluster.ClusterStats;
import io.kvstore.client.cluster.Placement;
import io.kvstore.common.Namespace;
import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 with real parts: a real etcd (Debian's etcd-server, started here on free ports) and
 * three forked daemons registered in it with {@code --cluster etcd://...}; prompts stored and
 * fetched through the SDK's {@link ClusterClient}. Then: SIGKILL one (its share becomes misses, no
 * error; etcd drops it within the lease TTL), restart it (it rejoins), SIGTERM one (deregistered at
 * once, long before its lease would expire), stop etcd (serving continues on the last membership).
 * Slow: four daemon starts, each opening a Chronicle Map index.
 */
@Tag("slow")
class ClusterE2ETest {

  private static final int BLOCK = 16;
  private static final int BLOCKS = 48;
  private static final int PAYLOAD = 2048;
  private static final int PROMPTS = 24;
  private static final int K = 4;
  private static final int TTL_SECONDS = 2;
  private static final KeyChain CHAIN = KeyChain.of(Namespace.builder()
      .modelId("kvstore/cluster-e2e").dtype("bfloat16").numLayers(2).numKvHeads(2).headDim(64)
      .blockSize(BLOCK).build());

  @TempDir Path dir;

  @Test
  void shouldServeAsOneStoreAndTurnEveryFaultIntoMissesOnly() throws Exception {
    assumeTrue(EtcdProcess.binary() != null, EtcdProcess.MISSING);
    List<ForkedMember> members = new ArrayList<>();
    EtcdProcess etcd = new EtcdProcess(dir);
    boolean etcdStopped = false;
    try {
      String base = "etcd://" + etcd.endpoint() + "/e2e";
      for (int i = 0; i < 3; i++) {
        // the third member's lease is long, to show that a graceful stop deregisters at once
        int ttl = i == 2 ? 60 : TTL_SECONDS;
        members.add(new ForkedMember(EtcdProcess.freePort(), dir.resolve("data-" + i),
            base + "?ttl=" + ttl).start());
      }
      for (ForkedMember m : members) {
        m.awaitStarted();
      }
      try (ClusterClient client = ClusterClient.builder()
          .cluster(base)
          .keyChain(CHAIN)
          .blocksPerRun(K)
          .memberClient(b -> b.requestTimeout(Duration.ofSeconds(20)).maxRetries(0).connections(1))
          .build()) {
        await("three members routed", 60, () -> client.stats().liveMembers() == 3, client, members);

        // 1. one store over three daemons
        for (int p = 0; p < PROMPTS; p++) {
          assertEquals(BLOCKS, client.store(tokens(p), 0, payloads(p)), "prompt " + p);
        }
        for (int p = 0; p < PROMPTS; p++) {
          assertEquals(BLOCKS * BLOCK, client.lookupTokens(tokens(p)));
          assertFetched(client, p, BLOCKS);
        }
        for (ClusterStats.MemberStats s : client.stats().perMember().values()) {
          assertTrue(s.requests() > 0, "a member got no request: " + client.stats());
        }

        // 2. SIGKILL member 0: its share becomes misses, nothing else changes, no error
        Placement three = client.placement();
        ForkedMember victim = members.get(0);
        victim.kill();
        long killedAt = System.nanoTime();
        int lostPrompts = 0;
        for (int p = 0; p < PROMPTS; p++) {
          int expected = leadingWithout(three, victim.id(), tokens(p));
          lostPrompts += expected < BLOCKS ? 1 : 0;
          assertEquals(expected * BLOCK, client.lookupTokens(tokens(p)), "prompt " + p);
          assertFetched(client, p, expected);
        }
        assertTrue(lostPrompts > 0, "the killed member held no leading run; the test proves nothing");
        assertEquals(2, client.stats().liveMembers());
        assertTrue(client.stats().failovers() >= 1);
        await("etcd drops the killed member", TTL_SECONDS + 10, () -> client.stats().members() == 2,
            client, members);
        double droppedAfterS = (System.nanoTime() - killedAt) / 1e9;
        System.out.printf("cluster e2e: killed member gone from etcd after %.2f s (lease TTL %d s)%n",
            droppedAfterS, TTL_SECONDS);

        // 3. restart it on the same port and data: it rejoins and takes its share again
        victim.start().awaitStarted();
        await("the restarted member rejoins", 30, () -> client.stats().liveMembers() == 3
            && client.placement().size() == 3, client, members);
        for (int p = 0; p < PROMPTS; p++) {
          int found = client.lookupTokens(tokens(p)) / BLOCK;
          assertTrue(found >= leadingWithout(three, victim.id(), tokens(p)), "prompt " + p);
          assertFetched(client, p, found);
          client.store(tokens(p), found, java.util.Arrays.copyOfRange(payloads(p), found, BLOCKS));
          assertEquals(BLOCKS * BLOCK, client.lookupTokens(tokens(p)), "prompt " + p + " after re-store");
        }

        // 4. SIGTERM member 2 (lease 60 s): it deregisters on the way out
        ForkedMember leaver = members.get(2);
        long stopAt = System.nanoTime();
        leaver.terminate();
        await("the stopped member leaves etcd", 10, () -> client.stats().members() == 2, client, members);
        double leftAfterS = (System.nanoTime() - stopAt) / 1e9;
        assertTrue(leaver.logged("deregistered " + leaver.id() + " from etcd"), leaver.log());
        System.out.printf("cluster e2e: gracefully stopped member gone after %.2f s (lease TTL 60 s)%n",
            leftAfterS);
        for (int p = 0; p < PROMPTS; p++) {
          int found = client.lookupTokens(tokens(p)) / BLOCK;
          assertFetched(client, p, found);
          client.store(tokens(p), found, java.util.Arrays.copyOfRange(payloads(p), found, BLOCKS));
        }

        // 5. stop etcd: the last membership stays in use and says so
        etcd.close();
        etcdStopped = true;
        await("the client notices etcd is gone", 15, () -> client.stats().membershipStale(), client, members);
        for (int p = 0; p < PROMPTS; p++) {
          assertEquals(BLOCKS * BLOCK, client.lookupTokens(tokens(p)), "prompt " + p + " without etcd");
          assertFetched(client, p, BLOCKS);
        }
        ClusterStats stats = client.stats();
        assertEquals(2, stats.members());
        assertEquals(2, stats.liveMembers());
        assertTrue(stats.membershipStaleEvents() >= 1);
        System.out.println("cluster e2e: final stats " + stats);
        for (ForkedMember m : members.subList(0, 2)) {
          assertTrue(m.log().lines().noneMatch(l -> l.contains(" ERROR ")), m.log());
        }
      }
    } finally {
      for (ForkedMember m : members) {
        m.close();
      }
      if (!etcdStopped) {
        etcd.close();
      }
    }
  }

  private static void await(String what, int seconds, BooleanSupplier condition, ClusterClient client,
      List<ForkedMember> members) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > until) {
        StringBuilder logs = new StringBuilder();
        for (ForkedMember m : members) {
          logs.append("\n--- ").append(m.id()).append('\n').append(m.log());
        }
        throw new AssertionError("timed out waiting: " + what + "; " + client.stats() + logs);
      }
      Thread.sleep(50);
    }
  }

  /** Leading blocks whose run's owner, in the placement before the loss, is not {@code lost}. */
  private static int leadingWithout(Placement p, String lost, int[] tokens) {
    long[] keys = new long[2 * BLOCKS];
    CHAIN.keys(tokens, BLOCKS, keys);
    int[] owners = p.runOwners(keys, BLOCKS);
    for (int r = 0; r < owners.length; r++) {
      if (p.member(owners[r]).id().equals(lost)) {
        return r * K;
      }
    }
    return BLOCKS;
  }

  private static void assertFetched(ClusterClient client, int prompt, int expectedBlocks) {
    ByteBuffer[] dsts = new ByteBuffer[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
      dsts[i] = ByteBuffer.allocateDirect(PageFormat.HEADER_LENGTH + PAYLOAD);
    }
    assertEquals(expectedBlocks * BLOCK, client.fetch(tokens(prompt), dsts), "fetch of prompt " + prompt);
    for (int i = 0; i < expectedBlocks; i++) {
      byte[] got = new byte[PAYLOAD];
      dsts[i].duplicate().position(PageFormat.HEADER_LENGTH).get(got);
      assertArrayEquals(payload(prompt, i).array(), got, "prompt " + prompt + " block " + i);
    }
  }

  private static int[] tokens(int prompt) {
    SplittableRandom r = new SplittableRandom(1000 + prompt);
    int[] t = new int[BLOCKS * BLOCK];
    for (int i = 0; i < t.length; i++) {
      t[i] = r.nextInt(128_000);
    }
    return t;
  }

  private static ByteBuffer payload(int prompt, int block) {
    byte[] b = new byte[PAYLOAD];
    new SplittableRandom(prompt * 10_000L + block).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  private static ByteBuffer[] payloads(int prompt) {
    ByteBuffer[] p = new ByteBuffer[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
      p[i] = payload(prompt, i);
    }
    return p;
  }
}
