package io.kvstore.bench.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvstore.bench.replay.Request;
import io.kvstore.common.BlockHasher;
import io.kvstore.common.BlockKey;
import io.kvstore.common.Namespace;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SyntheticWorkloadTest {

  private static final Namespace NS = Namespace.builder().modelId("test").dtype("bfloat16")
      .numLayers(1).numKvHeads(1).headDim(8).blockSize(16).build();

  @Test
  void shouldSampleEachDistributionWithinItsRange() {
    SplittableRandom r = new SplittableRandom(1);
    LengthDistribution fixed = LengthDistribution.parse("fixed:100");
    LengthDistribution uniform = LengthDistribution.parse("uniform:10-20");
    LengthDistribution lognormal = LengthDistribution.parse("lognormal:1000,0.5");
    int[] logs = new int[20_001];
    for (int i = 0; i < logs.length; i++) {
      assertEquals(100, fixed.sample(r));
      int u = uniform.sample(r);
      assertTrue(u >= 10 && u <= 20, "uniform " + u);
      logs[i] = lognormal.sample(r);
    }
    Arrays.sort(logs);
    assertEquals(1000, logs[logs.length / 2], 30, "the median of lognormal:1000,0.5");
    // exp(0.5 * 1.2816) = 1.898: the 90th percentile.
    assertEquals(1898, logs[logs.length * 9 / 10], 60);
  }

  @Test
  void shouldExplainABadDistribution() {
    for (String bad : new String[] {"8192", "fixed:0", "uniform:5-1", "uniform:5", "lognormal:100",
        "lognormal:100,-1", "normal:1,2", "fixed:x"}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> LengthDistribution.parse(bad), bad);
      assertTrue(e.getMessage().contains(bad.substring(bad.indexOf(':') + 1))
          || e.getMessage().contains("fixed:N"), e.getMessage());
    }
  }

  @Test
  void shouldShareTheConfiguredPrefixWithChainedKeys() {
    SyntheticWorkload w = new SyntheticWorkload(NS, LengthDistribution.parse("fixed:160"), 0.5, 3,
        1.0, 0, 200, 7);
    Map<Long, Set<Long>> firstKeysByPrefix = new HashMap<>();
    Set<Long> allKeys = new HashSet<>();
    long blocks = 0;
    for (Request r = w.next(); r != null; r = w.next()) {
      assertEquals(10, r.blocks());
      assertEquals(160, r.inputLength());
      // Keys are the spec's chain over the request's own blocks.
      long[] k = r.keys();
      for (int i = 1; i < r.blocks(); i++) {
        assertTrue(k[2 * i] != k[2 * i - 2] || k[2 * i + 1] != k[2 * i - 1]);
      }
      firstKeysByPrefix.computeIfAbsent(k[0], x -> new HashSet<>()).add(k[8]); // block 4: shared
      for (int i = 0; i < r.blocks(); i++) {
        allKeys.add(k[2 * i] ^ (k[2 * i + 1] * 31));
      }
      blocks += r.blocks();
    }
    assertNull(w.next());
    assertEquals(3, firstKeysByPrefix.size(), "three shared prefixes");
    firstKeysByPrefix.values().forEach(v -> assertEquals(1, v.size(), "a prefix's 5 blocks are fixed"));
    // 5 shared blocks per prefix, 5 own blocks per request.
    assertEquals(3 * 5 + 200 * 5, allKeys.size());
    assertEquals(2000, blocks);
  }

  @Test
  void shouldMatchTheSpecKeyOfSyntheticTokens() {
    SyntheticWorkload w = new SyntheticWorkload(NS, LengthDistribution.parse("fixed:16"), 1.0, 1,
        0, 0, 1, 1);
    Request r = w.next();
    int[] tokens = new int[16];
    // The single shared block: prefix 0, block 0.
    for (int j = 0; j < 16; j++) {
      tokens[j] = io.kvstore.bench.replay.SyntheticTokens.token(0x5052_4546_0000_0000L, j);
    }
    BlockKey k = BlockHasher.keys(NS, tokens)[0];
    assertArrayEquals(new long[] {k.hi(), k.lo()}, r.keys());
  }

  @Test
  void shouldFavourThePopularPrefixesAndPaceArrivals() {
    SyntheticWorkload w = new SyntheticWorkload(NS, LengthDistribution.parse("fixed:32"), 1.0, 100,
        1.0, 1000, 5000, 3);
    int[] counts = new int[100];
    for (int i = 0; i < 20_000; i++) {
      counts[w.drawPrefix()]++;
    }
    // Zipf(1) over 100: P(0) = 1/H(100) = 0.193, P(1) half of that.
    assertEquals(0.193, counts[0] / 20_000.0, 0.02);
    assertEquals(0.5, counts[1] / (double) counts[0], 0.1);
    long last = 0;
    Request r = null;
    for (int i = 0; i < 5000; i++) {
      r = w.next();
      assertTrue(r.arrivalMicros() >= last);
      last = r.arrivalMicros();
    }
    // 5000 arrivals at 1000/s take about 5 s.
    assertEquals(5_000_000, r.arrivalMicros(), 300_000);
  }

  @Test
  void shouldBeDeterministicForASeed() {
    SyntheticWorkload a = new SyntheticWorkload(NS, LengthDistribution.parse("lognormal:100,1"),
        0.3, 5, 1, 0, 50, 9);
    SyntheticWorkload b = new SyntheticWorkload(NS, LengthDistribution.parse("lognormal:100,1"),
        0.3, 5, 1, 0, 50, 9);
    for (int i = 0; i < 50; i++) {
      Request x = a.next();
      Request y = b.next();
      assertEquals(x.inputLength(), y.inputLength());
      assertArrayEquals(x.keys(), y.keys());
    }
  }

  @Test
  void shouldRefuseBadParameters() {
    LengthDistribution d = LengthDistribution.parse("fixed:16");
    assertThrows(IllegalArgumentException.class, () -> new SyntheticWorkload(NS, d, 1.5, 1, 1, 0, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new SyntheticWorkload(NS, d, 0.5, 0, 1, 0, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new SyntheticWorkload(NS, d, 0.5, 1, -1, 0, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new SyntheticWorkload(NS, d, 0.5, 1, 1, -2, 1, 1));
  }
}
