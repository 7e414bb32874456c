#!/usr/bin/env python3
"""Independent reference for the rendezvous placement of spec/5-cluster-placement.md.

Standard library only. Prints the test vectors of chapter 5; `KvStore`'s PlacementVectorsTest
checks the Java SDK against the same numbers. Run `python3 spec/vectors/placement_vectors.py`.
"""
import hashlib
import struct

M64 = (1 << 64) - 1


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & M64
    return h


def mix64(z: int) -> int:
    """SplitMix64 finalizer."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def member_seed(member_id: str) -> int:
    return fnv1a64(member_id.encode("utf-8"))


def key_halves(key16: bytes):
    """A block key's 16 bytes (spec chapter 1) as (hi, lo): big-endian halves."""
    return struct.unpack(">QQ", key16)


def weight(key16: bytes, member_id: str) -> int:
    hi, lo = key_halves(key16)
    return mix64(hi ^ mix64(lo ^ member_seed(member_id)))


def rank(key16: bytes, member_ids):
    """Members by weight, highest first; equal weights: smaller UTF-8 id first."""
    return sorted(member_ids, key=lambda m: (-weight(key16, m), m.encode("utf-8")))


def run_key(chain, block: int, k: int) -> bytes:
    return chain[(block // k) * k]


def vector_chain(n: int):
    """Stand-in block keys for the vectors: SHA-256("kvstore placement vector <i>")[:16]."""
    return [hashlib.sha256(("kvstore placement vector %d" % i).encode()).digest()[:16] for i in range(n)]


if __name__ == "__main__":
    members = ["10.0.0.1:7421", "10.0.0.2:7421", "10.0.0.3:7421"]
    print("## member seeds")
    for m in members:
        print("%-16s %016x" % (m, member_seed(m)))
    print("## mix64")
    for z in (0, 1, 0x0123456789ABCDEF):
        print("mix64(%016x) = %016x" % (z, mix64(z)))
    key = bytes.fromhex("00112233445566778899aabbccddeeff")
    print("## weights of key %s" % key.hex())
    for m in members:
        print("%-16s %016x" % (m, weight(key, m)))
    print("rank:", rank(key, members))
    chain = vector_chain(24)
    k = 4
    print("## chain of 24 blocks, K = %d, members %s" % (k, members))
    for r in range(len(chain) // k):
        rk = run_key(chain, r * k, k)
        print("run %d (blocks %2d-%2d) key %s -> %s" % (r, r * k, r * k + k - 1, rk.hex(), " > ".join(rank(rk, members))))
    four = members + ["10.0.0.4:7421"]
    print("## the same runs with %s joined" % four[3])
    for r in range(len(chain) // k):
        rk = run_key(chain, r * k, k)
        print("run %d -> %s" % (r, rank(rk, four)[0]))
