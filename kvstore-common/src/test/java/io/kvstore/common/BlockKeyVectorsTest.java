package io.kvstore.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The test vectors of spec/1-block-key.md section 1.6, which spec/vectors/block_key_vectors.py
 * computes independently with Python's hashlib. A failure here means the Java code and the spec
 * disagree: fix the code, not the vector.
 */
class BlockKeyVectorsTest {

  static Namespace.Builder llama() {
    return Namespace.builder()
        .modelId("meta-llama/Llama-3.1-8B-Instruct")
        .dtype("bfloat16")
        .numLayers(32)
        .numKvHeads(8)
        .headDim(128)
        .blockSize(16);
  }

  static int[] range(int n) {
    return IntStream.range(0, n).toArray();
  }

  private static void assertVector(
      Namespace ns, BlockKey[] keys, String digestHex, String idHex, String... keyHex) {
    assertEquals(digestHex, HexFormat.of().formatHex(ns.digest()), "namespace digest");
    assertEquals(idHex, ns.idHex(), "namespace id");
    assertEquals(Long.parseUnsignedLong(idHex, 16), ns.id(), "namespace id as a long");
    assertEquals(
        Arrays.asList(keyHex),
        Arrays.stream(keys).map(BlockKey::toHex).toList(),
        "block keys");
  }

  @Test
  void shouldMatchVectorV1TwoFullBlocksAndAPartialOne() {
    Namespace ns = llama().build();
    assertEquals(
        "4b564e5301000000200000006d6574612d6c6c616d612f4c6c616d612d332e312d38422d496e"
            + "7374727563740800000062666c6f6174313620000000080000008000000010000000000000000100"
            + "000000000000",
        HexFormat.of().formatHex(ns.canonicalEncoding()));
    assertVector(
        ns,
        BlockHasher.keys(ns, range(37)),
        "ef338f2466a75aae6548604f70a4e11c43db592ea610f071035b90b2c56a221a",
        "ef338f2466a75aae",
        "032b8157dbb5e3a81b8d542b4870a0d5",
        "ed8a36939da69ca384392ca82e52025c");
  }

  @Test
  void shouldMatchVectorV2Tenant() {
    Namespace ns = llama().tenant("acme").build();
    assertVector(
        ns,
        BlockHasher.keys(ns, range(37)),
        "b774cb347f02a6d24f85a5dd072bac627c59f9a687d96d44a6e155b2440c1f90",
        "b774cb347f02a6d2",
        "93237ba332914ccde926137a6acdedfb",
        "9f90fae799510af4c75c26a5ca3d15e9");
  }

  @Test
  void shouldMatchVectorV3TensorParallelRank() {
    Namespace ns = llama().tpRank(1).tpWorldSize(2).build();
    assertVector(
        ns,
        BlockHasher.keys(ns, range(37)),
        "34543d53637bca645261ef0f1324f0768a8da246577b34c43fd67d3e47a3ddef",
        "34543d53637bca64",
        "eb7b09c9a7462820d9656fc75eb74b63",
        "b8b368e37d32bfc86dda49acf59ba6c0");
  }

  @Test
  void shouldMatchVectorV4ExtremeTokensAndExtraBytes() {
    Namespace ns =
        Namespace.builder()
            .modelId("tiny")
            .dtype("float16")
            .numLayers(1)
            .numKvHeads(1)
            .headDim(64)
            .blockSize(4)
            .build();
    long[] tokens = {0, 1, 4294967295L, 2147483648L, 7, 7, 7, 7, 65535, 65536, 3, 2};
    byte[][] extras = {null, "lora:7".getBytes(java.nio.charset.StandardCharsets.US_ASCII), null};
    assertVector(
        ns,
        BlockHasher.keys(ns, BlockKey.ROOT_PARENT, tokens, extras),
        "93cdeafaf0e4d824bca9248a23ccb6c43557e527110efd4a14872f2509ddb669",
        "93cdeafaf0e4d824",
        "61413de7a948286b4cf190e4ffa50c47",
        "163dc6b190cd0ca0376711d8f79c883f",
        "5fc5bdc6346ffd2170209c4d7f078ae5");
  }

  @Test
  void shouldMatchVectorV5NonAsciiStrings() {
    Namespace ns =
        Namespace.builder()
            .modelId("modèle/テスト-7B")
            .dtype("fp8_e4m3")
            .numLayers(2)
            .numKvHeads(2)
            .headDim(32)
            .blockSize(1)
            .tenant("équipe")
            .build();
    assertArrayEquals(
        HexFormat.of()
            .parseHex(
                "4b564e5301000000140000006d6f64c3a86c652fe38386e382b9e383882d374208000000667038"
                    + "5f65346d3302000000020000002000000001000000000000000100000007000000c3a97175697065"),
        ns.canonicalEncoding());
    assertVector(
        ns,
        BlockHasher.keys(ns, new int[] {42, 42, 42}),
        "ebc7015549d53ac08f8fe640c900abdde801f4d14ca386699537347c4c94f24d",
        "ebc7015549d53ac0",
        "d664e62233db60377a83f1c19172641b",
        "0a848d4c040272f6753f093f7e2fa0e8",
        "e5c9af41e5d4eb6274471f30e79066b3");
  }

  @Test
  void shouldMatchVectorV6NoKeyWithoutAFullBlock() {
    Namespace ns = llama().build();
    assertEquals(0, BlockHasher.keys(ns, range(15)).length);
  }
}
