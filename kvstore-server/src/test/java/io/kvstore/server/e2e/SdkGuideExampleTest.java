package io.kvstore.server.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvstore.client.KeyChain;
import io.kvstore.client.KvStoreClient;
import io.kvstore.common.Namespace;
import io.kvstore.common.PageFormat;
import io.kvstore.core.store.TieredStore;
import io.kvstore.server.net.KvStoreNetworkServer;
import io.kvstore.server.net.NetFixtures;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The example of docs/sdk.md against a real daemon on loopback, kept compiling and correct. */
class SdkGuideExampleTest {

  @TempDir Path dir;

  @Test
  void shouldRunTheSdkGuideExample() throws Exception {
    try (TieredStore store = NetFixtures.smallStore(dir).build();
        KvStoreNetworkServer server =
            new KvStoreNetworkServer(NetFixtures.config().build(), store, NetFixtures.metrics())) {
      server.start();
      int port = server.port();
      int[] promptTokens = new int[16 * 5 + 7];
      Arrays.setAll(promptTokens, i -> 1000 + i);
      int blockKvBytes = 4096;

      // --- docs/sdk.md
      Namespace ns = Namespace.builder()
          .modelId("meta-llama/Llama-3.1-8B-Instruct").dtype("bfloat16")
          .numLayers(32).numKvHeads(8).headDim(128).blockSize(16)
          .build();
      try (KvStoreClient kv = KvStoreClient.builder()
          .address("127.0.0.1", port)
          .keyChain(KeyChain.of(ns))            // keys per spec/1, namespace id for the handshake
          .requestTimeout(Duration.ofSeconds(5))
          .build()) {
        int cachedTokens = kv.lookupTokens(promptTokens);       // 0 the first time

        ByteBuffer[] kv0 = new ByteBuffer[promptTokens.length / 16];
        for (int b = 0; b < kv0.length; b++) {
          kv0[b] = ByteBuffer.allocateDirect(blockKvBytes);      // the engine's KV bytes of block b
        }
        int stored = kv.store(promptTokens, 0, kv0);             // blocks stored

        ByteBuffer[] dsts = new ByteBuffer[kv0.length];
        for (int b = 0; b < dsts.length; b++) {
          dsts[b] = ByteBuffer.allocateDirect(PageFormat.HEADER_LENGTH + blockKvBytes);
        }
        int fetchedTokens = kv.fetch(promptTokens, dsts);        // whole pages, header first
        ByteBuffer block0 = dsts[0].slice(PageFormat.HEADER_LENGTH, blockKvBytes);
        // --- end of the guide's example

        assertEquals(0, cachedTokens);
        assertEquals(5, stored);
        assertEquals(80, fetchedTokens);
        assertEquals(80, kv.lookupTokens(promptTokens));
        assertEquals(kv0[0].clear(), block0);
      }
    }
  }
}
