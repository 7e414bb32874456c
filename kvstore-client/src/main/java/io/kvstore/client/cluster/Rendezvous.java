package io.kvstore.client.cluster;

import java.nio.charset.StandardCharsets;

/**
 * The hash functions of rendezvous placement, byte for byte as {@code spec/5-cluster-placement.md}
 * defines them, so that an SDK in another language places every page on the same member.
 *
 * <p>Rendezvous (highest random weight) hashing, Thaler &amp; Ravishankar, "A Name-Based Mapping
 * Scheme for Rendezvous", 1996: every member gets a weight for a placement key and the key goes to
 * the member with the highest weight. A member that leaves moves only its own keys; a member that
 * joins takes about 1/N of every other member's keys, and no other key moves.
 *
 * <p>The weight mixes the 128-bit run key with a 64-bit seed of the member id using the SplitMix64
 * finalizer (Steele, Lea &amp; Flood, "Fast Splittable Pseudorandom Number Generators", 2014); the
 * member seed is 64-bit FNV-1a of the id's UTF-8 bytes. Both are a few multiplications: a long
 * prompt's placement costs nanoseconds per run.
 */
public final class Rendezvous {

  /** FNV-1a 64-bit offset basis. */
  static final long FNV_OFFSET = 0xcbf29ce484222325L;
  /** FNV-1a 64-bit prime. */
  static final long FNV_PRIME = 0x100000001b3L;

  private Rendezvous() {}

  /** The member seed: 64-bit FNV-1a of the member id's UTF-8 bytes (spec §5.3). */
  public static long memberSeed(String memberId) {
    return fnv1a64(memberId.getBytes(StandardCharsets.UTF_8));
  }

  /** 64-bit FNV-1a over bytes (each byte taken unsigned). */
  public static long fnv1a64(byte[] bytes) {
    long h = FNV_OFFSET;
    for (byte b : bytes) {
      h ^= b & 0xff;
      h *= FNV_PRIME;
    }
    return h;
  }

  /** The SplitMix64 finalizer: a bijective 64-bit mix. */
  public static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /**
   * The weight of a member for a run key (spec §5.3): {@code mix64(hi ^ mix64(lo ^ seed))}, compared
   * as an unsigned 64-bit integer; the highest weight wins.
   *
   * @param keyHi high 64 bits of the run key (the key of the run's first block)
   * @param keyLo low 64 bits of the run key
   * @param memberSeed the member's {@link #memberSeed}
   */
  public static long weight(long keyHi, long keyLo, long memberSeed) {
    return mix64(keyHi ^ mix64(keyLo ^ memberSeed));
  }
}
