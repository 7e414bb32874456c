package io.kvstore.client.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The test vectors of {@code spec/5-cluster-placement.md} §5.6, as printed by the independent
 * reference {@code spec/vectors/placement_vectors.py}.
 */
class PlacementVectorsTest {

  private static final List<String> IDS = List.of("10.0.0.1:7421", "10.0.0.2:7421", "10.0.0.3:7421");

  @Test
  void shouldSeedMembersWithFnv1a64OfTheirIds() {
    assertEquals(0x73f6eb1a65ab6e47L, Rendezvous.memberSeed("10.0.0.1:7421"));
    assertEquals(0xa5e7e28cccd65990L, Rendezvous.memberSeed("10.0.0.2:7421"));
    assertEquals(0xff75c112d4e4c5b1L, Rendezvous.memberSeed("10.0.0.3:7421"));
  }

  @Test
  void shouldMixWithTheSplitMix64Finalizer() {
    assertEquals(0L, Rendezvous.mix64(0));
    assertEquals(0x5692161d100b05e5L, Rendezvous.mix64(1));
    assertEquals(0xb2c058e4ebb5112cL, Rendezvous.mix64(0x0123456789abcdefL));
  }

  @Test
  void shouldWeighAKeyForEachMemberAsTheSpecSays() {
    long hi = 0x0011223344556677L;
    long lo = 0x8899aabbccddeeffL;
    assertEquals(0xa0be786a05f5213aL, Rendezvous.weight(hi, lo, Rendezvous.memberSeed(IDS.get(0))));
    assertEquals(0x1325bf6cf0cb72e3L, Rendezvous.weight(hi, lo, Rendezvous.memberSeed(IDS.get(1))));
    assertEquals(0x42b4899bdea81b41L, Rendezvous.weight(hi, lo, Rendezvous.memberSeed(IDS.get(2))));
    Placement p = placement(IDS, 4);
    assertEquals(List.of("10.0.0.1:7421", "10.0.0.3:7421", "10.0.0.2:7421"), ranked(p, hi, lo));
  }

  @Test
  void shouldPlaceTheVectorChainRunByRun() throws Exception {
    long[] chain = vectorChain(24);
    Placement p = placement(IDS, 4);
    String[][] expected = {
      {"10.0.0.3:7421", "10.0.0.2:7421", "10.0.0.1:7421"},
      {"10.0.0.1:7421", "10.0.0.3:7421", "10.0.0.2:7421"},
      {"10.0.0.3:7421", "10.0.0.2:7421", "10.0.0.1:7421"},
      {"10.0.0.2:7421", "10.0.0.3:7421", "10.0.0.1:7421"},
      {"10.0.0.2:7421", "10.0.0.3:7421", "10.0.0.1:7421"},
      {"10.0.0.1:7421", "10.0.0.3:7421", "10.0.0.2:7421"},
    };
    int[] owners = p.runOwners(chain, 24);
    for (int r = 0; r < 6; r++) {
      int b = r * 4;
      assertEquals(List.of(expected[r]), ranked(p, chain[2 * b], chain[2 * b + 1]), "run " + r);
      assertEquals(expected[r][0], p.member(owners[r]).id(), "owner of run " + r);
    }
    // a fourth member takes runs 3 and 5 and nothing else moves (§5.6, last vector)
    Placement four = placement(List.of(IDS.get(0), IDS.get(1), IDS.get(2), "10.0.0.4:7421"), 4);
    String[] withFour = {"10.0.0.3:7421", "10.0.0.1:7421", "10.0.0.3:7421", "10.0.0.4:7421",
      "10.0.0.2:7421", "10.0.0.4:7421"};
    int[] fourOwners = four.runOwners(chain, 24);
    for (int r = 0; r < 6; r++) {
      assertEquals(withFour[r], four.member(fourOwners[r]).id(), "owner of run " + r + " with four");
    }
  }

  @Test
  void shouldReadTheRunKeyOfAPartialLastRun() throws Exception {
    long[] chain = vectorChain(24);
    Placement p = placement(IDS, 4);
    // 22 blocks: the last run (blocks 20, 21) still goes by block 20's key
    int[] owners = p.runOwners(chain, 22);
    assertEquals(6, owners.length);
    assertEquals("10.0.0.1:7421", p.member(owners[5]).id());
  }

  static Placement placement(List<String> ids, int k) {
    return new Placement(ids.stream().map(Member::parseAddress).toList(), k);
  }

  static List<String> ranked(Placement p, long hi, long lo) {
    int[] out = new int[p.size()];
    int n = p.rank(hi, lo, out);
    return java.util.Arrays.stream(out, 0, n).mapToObj(i -> p.member(i).id()).toList();
  }

  /** SHA-256("kvstore placement vector i")[:16] as (hi, lo) big-endian halves, as the reference does. */
  static long[] vectorChain(int n) throws Exception {
    long[] keys = new long[2 * n];
    for (int i = 0; i < n; i++) {
      byte[] d = MessageDigest.getInstance("SHA-256")
          .digest(("kvstore placement vector " + i).getBytes(StandardCharsets.US_ASCII));
      ByteBuffer b = ByteBuffer.wrap(d);
      keys[2 * i] = b.getLong(0);
      keys[2 * i + 1] = b.getLong(8);
    }
    assertEquals("03a7f7c3e3f52f061d414a0d0cb64890",
        HexFormat.of().formatHex(ByteBuffer.allocate(16).putLong(keys[0]).putLong(keys[1]).array()));
    return keys;
  }
}
