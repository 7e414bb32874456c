package io.kvstore.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvstore.common.BlockHasher;
import io.kvstore.common.BlockKey;
import io.kvstore.common.Namespace;
import io.kvstore.common.PageFormat;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded example of README.md, kept compiling and correct (only sizes are smaller here). */
class ReadmeExampleTest {

  @TempDir Path dir;

  @Test
  void shouldRunTheReadmeExample() {
    int[] promptTokens = new int[512 * 3 + 100];
    Arrays.setAll(promptTokens, i -> (i * 31) % 32000);
    ByteBuffer kvPayload = ByteBuffer.allocateDirect(64 * 1024);

    Namespace ns = Namespace.builder()
        .modelId("meta-llama/Llama-3.1-8B-Instruct").dtype("bfloat16")
        .numLayers(32).numKvHeads(8).headDim(128).blockSize(512)
        .build();
    BlockKey[] keys = BlockHasher.keys(ns, promptTokens);        // one key per full block

    try (TieredStore store = TieredStore.builder()
            .dataDir(dir).dramBytes(64L << 20).ssdBytes(256L << 20).build()) {
      store.put(keys[0], BlockKey.ROOT_PARENT, ns.id(), 512, kvPayload);  // builds the page header

      long[] chain = new long[2 * keys.length];                  // hi, lo pairs
      for (int i = 0; i < keys.length; i++) { chain[2 * i] = keys[i].hi(); chain[2 * i + 1] = keys[i].lo(); }
      int cached = store.lookupPrefix(chain, keys.length, null); // leading blocks present

      ByteBuffer dst = ByteBuffer.allocateDirect(store.maxPageBytes());
      int n = store.get(keys[0], dst);                           // exact bytes put, or -1
      ByteBuffer payload = dst.flip().position(PageFormat.HEADER_LENGTH).slice();

      assertEquals(3, keys.length);
      assertEquals(1, cached);
      assertEquals(PageFormat.pageLength(64 * 1024), n);
      assertEquals(kvPayload.clear(), payload);
    }
  }
}
