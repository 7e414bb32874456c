package io.kvstore.common;

import static io.kvstore.common.BlockKeyVectorsTest.llama;
import static io.kvstore.common.BlockKeyVectorsTest.range;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BlockHasherTest {

  private final Namespace ns = llama().build();

  @Test
  void shouldChangeKeysFromTheChangedBlockOnButNotBefore() {
    int[] tokens = range(16 * 6);
    BlockKey[] base = BlockHasher.keys(ns, tokens);
    for (int block = 0; block < 6; block++) {
      int[] changed = tokens.clone();
      changed[block * 16 + 7] += 1;
      BlockKey[] keys = BlockHasher.keys(ns, changed);
      for (int i = 0; i < 6; i++) {
        if (i < block) {
          assertEquals(base[i], keys[i], "block " + i + " precedes the change at " + block);
        } else {
          assertNotEquals(base[i], keys[i], "block " + i + " follows the change at " + block);
        }
      }
    }
  }

  @Test
  void shouldGiveNoKeyToAPartialBlock() {
    BlockKey[] full = BlockHasher.keys(ns, range(32));
    for (int n = 32; n < 48; n++) {
      BlockKey[] keys = BlockHasher.keys(ns, range(n));
      assertArrayEquals(full, keys, n + " tokens");
    }
    assertEquals(3, BlockHasher.keys(ns, range(48)).length);
    assertEquals(2, BlockHasher.fullBlocks(ns, 47));
  }

  @Test
  void shouldContinueAChainFromAGivenParent() {
    int[] tokens = range(16 * 5 + 9);
    BlockKey[] whole = BlockHasher.keys(ns, tokens);
    for (int k = 1; k < 5; k++) {
      int[] rest = Arrays.copyOfRange(tokens, 16 * k, tokens.length);
      BlockKey[] tail = BlockHasher.keys(ns, whole[k - 1], rest, null);
      assertArrayEquals(Arrays.copyOfRange(whole, k, whole.length), tail, "continued at " + k);
      assertEquals(whole[k], BlockHasher.key(ns, whole[k - 1], tokens, 16 * k, null));
    }
  }

  @Test
  void shouldWriteHiLoPairsAtTheGivenOffsetsWithoutTouchingTheRest() {
    int[] tokens = range(100);
    BlockKey[] expected = BlockHasher.keys(ns, BlockKey.ROOT_PARENT,
        Arrays.copyOfRange(tokens, 10, 60), null);
    long[] out = new long[2 + 2 * expected.length + 2];
    Arrays.fill(out, 0x5A5AL);
    int written = BlockHasher.keys(ns, 0, 0, tokens, 10, 50, null, out, 2);
    assertEquals(expected.length, written);
    for (int i = 0; i < written; i++) {
      assertEquals(expected[i], new BlockKey(out[2 + 2 * i], out[3 + 2 * i]));
    }
    assertEquals(0x5A5AL, out[0]);
    assertEquals(0x5A5AL, out[1]);
    assertEquals(0x5A5AL, out[out.length - 1]);
  }

  @Test
  void shouldHashIntAndLongTokenFormsAlike() {
    int[] ints = range(40);
    long[] longs = Arrays.stream(ints).asLongStream().toArray();
    assertArrayEquals(
        BlockHasher.keys(ns, ints), BlockHasher.keys(ns, BlockKey.ROOT_PARENT, longs, null));
  }

  @Test
  void shouldTreatNullAndEmptyExtraAlikeAndNonEmptyExtraAsDifferent() {
    int[] tokens = range(32);
    BlockKey[] none = BlockHasher.keys(ns, tokens);
    assertArrayEquals(none, BlockHasher.keys(ns, BlockKey.ROOT_PARENT, tokens, new byte[2][]));
    assertArrayEquals(
        none, BlockHasher.keys(ns, BlockKey.ROOT_PARENT, tokens, new byte[][] {{}, {}}));
    BlockKey[] withExtra =
        BlockHasher.keys(ns, BlockKey.ROOT_PARENT, tokens, new byte[][] {null, {1}});
    assertEquals(none[0], withExtra[0]);
    assertNotEquals(none[1], withExtra[1]);
  }

  @Test
  void shouldHashBlocksLargerThanTheScratchBuffer() {
    // 2000 tokens = 8000 bytes: fed to the digest in several chunks; a token in the last chunk
    // and one at a chunk boundary must both matter.
    Namespace big = llama().blockSize(2000).build();
    int[] tokens = range(4000);
    BlockKey[] base = BlockHasher.keys(big, tokens);
    assertEquals(2, base.length);
    for (int index : new int[] {0, 1008, 1009, 1999}) {
      int[] changed = tokens.clone();
      changed[index] = 0x7FFF_FFFF;
      BlockKey[] keys = BlockHasher.keys(big, changed);
      assertNotEquals(base[0], keys[0], "token " + index);
    }
  }

  @Test
  void shouldRejectNegativeAndOutOfRangeTokenIds() {
    int[] tokens = range(32);
    tokens[17] = -1;
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BlockHasher.keys(ns, tokens));
    assertTrue(e.getMessage().contains("index 17") && e.getMessage().contains("negative"),
        e.getMessage());
    long[] longs = new long[16];
    longs[3] = 1L << 32;
    e = assertThrows(IllegalArgumentException.class,
        () -> BlockHasher.keys(ns, BlockKey.ROOT_PARENT, longs, null));
    assertTrue(e.getMessage().contains("0..2^32-1"), e.getMessage());
    longs[3] = -5;
    assertThrows(IllegalArgumentException.class,
        () -> BlockHasher.keys(ns, BlockKey.ROOT_PARENT, longs, null));
  }

  @Test
  void shouldIgnoreABadTokenInThePartialTail() {
    // The partial block is not hashed, so its content cannot be wrong for the keys.
    int[] tokens = range(20);
    tokens[19] = -1;
    assertEquals(1, BlockHasher.keys(ns, tokens).length);
  }

  @Test
  void shouldRejectBadRangesExtrasAndOutputsWithoutWriting() {
    int[] tokens = range(64);
    long[] out = new long[8];
    assertThrows(IllegalArgumentException.class,
        () -> BlockHasher.keys(ns, 0, 0, tokens, 60, 16, null, out, 0));
    assertThrows(IllegalArgumentException.class,
        () -> BlockHasher.keys(ns, 0, 0, tokens, -1, 16, null, out, 0));
    assertThrows(IllegalArgumentException.class,
        () -> BlockHasher.keys(ns, 0, 0, tokens, 0, 64, null, new long[7], 0));
    assertThrows(IllegalArgumentException.class,
        () -> BlockHasher.keys(ns, 0, 0, tokens, 0, 64, new byte[3][], out, 0));
    byte[][] tooBig = {new byte[BlockHasher.MAX_EXTRA_BYTES + 1]};
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> BlockHasher.keys(ns, 0, 0, tokens, 0, 16, tooBig, out, 0));
    assertTrue(e.getMessage().contains("65535"), e.getMessage());
    assertArrayEquals(new long[8], out, "a failed call writes nothing");
    assertThrows(IllegalArgumentException.class,
        () -> BlockHasher.key(ns, BlockKey.ROOT_PARENT, tokens, 50, null));
  }

  @Test
  void shouldGiveEachThreadTheSameKeys() throws Exception {
    int[] tokens = range(16 * 64);
    BlockKey[] expected = BlockHasher.keys(ns, tokens);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<BlockKey[]>> results = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        results.add(pool.submit(() -> BlockHasher.keys(ns, tokens)));
      }
      for (Future<BlockKey[]> f : results) {
        assertArrayEquals(expected, f.get(30, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void shouldGiveDistinctKeysAcrossManyBlocks() {
    BlockKey[] keys = BlockHasher.keys(ns, new int[16 * 10_000]); // all-zero tokens
    Set<BlockKey> seen = new HashSet<>(Arrays.asList(keys));
    assertEquals(keys.length, seen.size(), "identical blocks still differ by their parents");
  }

  @Test
  void shouldComputeTheSameKeysInAFreshJvm() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>();
    command.add(java);
    String flags = System.getProperty("kvstore.jvm.flags", "").trim();
    if (!flags.isEmpty()) {
      command.addAll(Arrays.asList(flags.split("\\s+")));
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(KeyPrinter.class.getName());
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    List<String> lines = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        lines.add(line);
      }
    } finally {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
    assertEquals(0, process.exitValue(), "child output: " + lines);
    assertEquals(Arrays.asList(KeyPrinter.lines()), lines);
    assertEquals(6, lines.size(), "digest and 5 keys: " + lines);
  }
}
