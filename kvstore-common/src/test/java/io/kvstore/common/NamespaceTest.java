package io.kvstore.common;

import static io.kvstore.common.BlockKeyVectorsTest.llama;
import static io.kvstore.common.BlockKeyVectorsTest.range;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class NamespaceTest {

  @Test
  void shouldGiveDifferentDigestsIdsAndKeysWhenAnySingleFieldDiffers() {
    Map<String, UnaryOperator<Namespace.Builder>> changes = new LinkedHashMap<>();
    changes.put("modelId", b -> b.modelId("meta-llama/Llama-3.1-8B"));
    changes.put("dtype", b -> b.dtype("float16"));
    changes.put("numLayers", b -> b.numLayers(33));
    changes.put("numKvHeads", b -> b.numKvHeads(4));
    changes.put("headDim", b -> b.headDim(64));
    changes.put("blockSize", b -> b.blockSize(8));
    changes.put("tpRank", b -> b.tpRank(1).tpWorldSize(2));
    changes.put("tpWorldSize", b -> b.tpWorldSize(2));
    changes.put("tenant", b -> b.tenant("acme"));
    Namespace base = llama().build();
    int[] tokens = range(64);
    Set<BlockKey> firstKeys = new HashSet<>();
    Set<Long> ids = new HashSet<>();
    firstKeys.add(BlockHasher.keys(base, tokens)[0]);
    ids.add(base.id());
    for (Map.Entry<String, UnaryOperator<Namespace.Builder>> change : changes.entrySet()) {
      Namespace other = change.getValue().apply(llama()).build();
      assertNotEquals(base, other, change.getKey());
      assertTrue(ids.add(other.id()), "namespace id must change with " + change.getKey());
      assertTrue(firstKeys.add(BlockHasher.keys(other, tokens)[0]),
          "key must change with " + change.getKey());
    }
  }

  @Test
  void shouldNotConfuseFieldBoundaries() {
    // Without length prefixes these two would encode the same bytes.
    Namespace a = llama().modelId("ab").tenant("c").build();
    Namespace b = llama().modelId("a").tenant("bc").build();
    assertNotEquals(a.id(), b.id());
  }

  @Test
  void shouldBeEqualAndRoundTripThroughToBuilder() {
    Namespace a = llama().tenant("t").build();
    Namespace b = a.toBuilder().build();
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertArrayEquals(a.digest(), b.digest());
    assertEquals(a.id(), b.id());
  }

  @Test
  void shouldHandOutCopiesOfItsBytes() {
    Namespace ns = llama().build();
    byte[] digest = ns.digest();
    digest[0] ^= 1;
    assertNotEquals(digest[0], ns.digest()[0]);
    byte[] encoding = ns.canonicalEncoding();
    encoding[0] ^= 1;
    assertNotEquals(encoding[0], ns.canonicalEncoding()[0]);
  }

  @Test
  void shouldRejectBadFieldsWithMessagesNamingThem() {
    assertMessage("modelId", llama().modelId(""));
    assertMessage("modelId", llama().modelId(null));
    assertMessage("modelId", llama().modelId("x".repeat(1025)));
    assertMessage("modelId", llama().modelId("bad \uD800 surrogate"));
    assertMessage("dtype", llama().dtype(""));
    assertMessage("dtype", llama().dtype("BF16"));
    assertMessage("dtype", llama().dtype("torch.bfloat16"));
    assertMessage("dtype", llama().dtype(null));
    assertMessage("blockSize", llama().blockSize(0));
    assertMessage("blockSize", llama().blockSize((1 << 20) + 1));
    assertMessage("numLayers", llama().numLayers(-1));
    assertMessage("numKvHeads", llama().numKvHeads(0));
    assertMessage("headDim", llama().headDim(0));
    assertMessage("tpWorldSize", llama().tpWorldSize(0));
    assertMessage("tpRank", llama().tpRank(1));
    assertMessage("tpRank", llama().tpRank(-1));
    assertMessage("tenant", llama().tenant(null));
    assertMessage("tenant", llama().tenant("é".repeat(513)));
    assertMessage("numLayers", Namespace.builder().modelId("m").dtype("float16"));
  }

  @Test
  void shouldAcceptTheBoundaryValues() {
    Namespace ns = llama().modelId("x".repeat(1024)).tenant("é".repeat(512))
        .blockSize(1 << 20).dtype("a".repeat(32)).build();
    assertEquals(1 << 20, ns.blockSize());
  }

  private static void assertMessage(String field, Namespace.Builder builder) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
    assertTrue(e.getMessage().startsWith(field), "message should name " + field + ": "
        + e.getMessage());
  }
}
