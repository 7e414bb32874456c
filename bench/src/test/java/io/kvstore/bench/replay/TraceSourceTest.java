package io.kvstore.bench.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kvstore.bench.trace.Trace;
import io.kvstore.bench.trace.TraceBuilder;
import io.kvstore.common.BlockHasher;
import io.kvstore.common.BlockKey;
import io.kvstore.common.Namespace;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class TraceSourceTest {

  private static final Namespace NS = Namespace.builder().modelId("test").dtype("bfloat16")
      .numLayers(1).numKvHeads(1).headDim(8).blockSize(4).build();

  private static Trace trace() {
    TraceBuilder b = new TraceBuilder();
    b.beginRequest(1_000, 10, 1);
    b.addBlock(7);
    b.addBlock(8);
    b.addBlock(9);
    b.beginRequest(3_500, 6, 1);
    b.addBlock(7);
    b.addBlock(11);
    return b.build("t.jsonl", "test", 4);
  }

  @Test
  void shouldGiveEqualPrefixesEqualChainedKeys() {
    TraceSource s = new TraceSource(trace(), NS, 0);
    assertEquals(2, s.size());
    Request a = s.next();
    Request b = s.next();
    assertNull(s.next());
    assertEquals(3, a.blocks());
    assertEquals(0, a.arrivalMicros());
    assertEquals(2_500, b.arrivalMicros());
    assertArrayEquals(Arrays.copyOf(a.keys(), 2), Arrays.copyOf(b.keys(), 2), "shared block 7");
    assertNotEquals(a.keys()[2], b.keys()[2]);
    // Block 8's key is the spec's chain: block 7's key as parent, tokens derived from id 8.
    int[] tokens = new int[8];
    for (int j = 0; j < 4; j++) {
      tokens[j] = SyntheticTokens.token(7, j);
      tokens[4 + j] = SyntheticTokens.token(8, j);
    }
    BlockKey[] keys = BlockHasher.keys(NS, tokens);
    assertArrayEquals(new long[] {keys[0].hi(), keys[0].lo(), keys[1].hi(), keys[1].lo()},
        Arrays.copyOf(a.keys(), 4));
  }

  @Test
  void shouldCountTokensPerBlock() {
    Request a = new TraceSource(trace(), NS, 1).next();
    assertEquals(4, a.tokensInBlock(0));
    assertEquals(2, a.tokensInBlock(2), "10 tokens: the last block holds 2");
    assertEquals(8, a.tokensInFirst(2));
    assertEquals(10, a.tokensInFirst(3));
  }

  @Test
  void shouldTakeOnlyTheFirstRequestsAskedFor() {
    TraceSource s = new TraceSource(trace(), NS, 1);
    assertEquals(1, s.size());
    s.next();
    assertNull(s.next());
  }

  @Test
  void shouldRefuseANamespaceOfAnotherBlockSize() {
    Namespace other = NS.toBuilder().blockSize(16).build();
    assertThrows(IllegalArgumentException.class, () -> new TraceSource(trace(), other, 0));
  }
}
