package io.kvstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kvstore.common.BlockKey;
import io.kvstore.common.Namespace;
import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link KeyChain#of(Namespace)}: the SDK's token API sends pages under exactly the keys of the
 * spec's test vectors (spec/1-block-key.md §1.6, vector V1), chained by parent, in the namespace's
 * id. The expected values are copied from the spec, not computed.
 */
class SpecKeyChainTest {

  /** Vector V1's namespace. */
  private static final Namespace LLAMA = Namespace.builder()
      .modelId("meta-llama/Llama-3.1-8B-Instruct")
      .dtype("bfloat16")
      .numLayers(32)
      .numKvHeads(8)
      .headDim(128)
      .blockSize(16)
      .build();
  private static final long V1_NAMESPACE_ID = Long.parseUnsignedLong("ef338f2466a75aae", 16);
  private static final BlockKey V1_KEY_0 = BlockKey.fromHex("032b8157dbb5e3a81b8d542b4870a0d5");
  private static final BlockKey V1_KEY_1 = BlockKey.fromHex("ed8a36939da69ca384392ca82e52025c");

  private FakeDaemon daemon;
  private KvStoreClient client;

  @BeforeEach
  void start() throws InterruptedException {
    daemon = new FakeDaemon();
    client = KvStoreClient.builder().address("127.0.0.1", daemon.port())
        .keyChain(KeyChain.of(LLAMA)).connections(1).requestTimeout(Duration.ofSeconds(5)).build();
  }

  @AfterEach
  void stop() {
    client.close();
    daemon.close();
  }

  @Test
  void shouldComputeTheSpecKeys() {
    KeyChain chain = KeyChain.of(LLAMA);
    assertEquals(V1_NAMESPACE_ID, chain.namespaceId());
    assertEquals(16, chain.tokensPerBlock());
    long[] keys = new long[4];
    chain.keys(IntStream.range(0, 37).toArray(), 2, keys);
    assertArrayEquals(new long[] {V1_KEY_0.hi(), V1_KEY_0.lo(), V1_KEY_1.hi(), V1_KEY_1.lo()}, keys);
  }

  @Test
  void shouldStorePagesUnderTheSpecKeysThroughTheTokenApi() {
    assertEquals(V1_NAMESPACE_ID, client.namespaceId());
    int[] tokens = IntStream.range(0, 37).toArray(); // two full blocks and a partial one
    ByteBuffer[] payloads = {ByteBuffer.allocateDirect(128), ByteBuffer.allocateDirect(128)};
    assertEquals(2, client.store(tokens, 0, payloads));

    assertEquals(2, daemon.pages.size());
    byte[] first = daemon.pages.get(V1_KEY_0);
    byte[] second = daemon.pages.get(V1_KEY_1);
    assertNotNull(first, "block 0 stored under the spec's key 0: " + daemon.pages.keySet());
    assertNotNull(second, "block 1 stored under the spec's key 1: " + daemon.pages.keySet());
    ByteBuffer h0 = ByteBuffer.wrap(first).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer h1 = ByteBuffer.wrap(second).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(PageFormat.OK, PageFormat.verify(h1, 0, second.length));
    assertEquals(V1_NAMESPACE_ID, PageFormat.namespaceId(h0, 0));
    assertEquals(0L, PageFormat.parentHi(h0, 0), "block 0's parent is the root");
    assertEquals(V1_KEY_0.hi(), PageFormat.parentHi(h1, 0), "block 1's parent is block 0");
    assertEquals(V1_KEY_0.lo(), PageFormat.parentLo(h1, 0));
    assertEquals(16, PageFormat.tokenCount(h1, 0));

    assertEquals(32, client.lookupTokens(tokens));
    assertEquals(2, client.lookup(new BlockKey[] {V1_KEY_0, V1_KEY_1}).runLength());
  }

  @Test
  void shouldRefuseTooFewTokensOrKeySlots() {
    KeyChain chain = KeyChain.of(LLAMA);
    assertThrows(IllegalArgumentException.class, () -> chain.keys(new int[31], 2, new long[4]));
    assertThrows(IllegalArgumentException.class, () -> chain.keys(new int[32], 2, new long[3]));
  }
}
