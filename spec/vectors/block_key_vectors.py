#!/usr/bin/env python3
"""Independent reference implementation of spec/1-block-key.md (standard library only).

Prints the test vectors that the spec lists and that BlockKeyVectorsTest asserts, so the spec can be
checked from a language other than Java: run `python3 spec/vectors/block_key_vectors.py` and compare
with the tables in chapter 1. This file follows the spec text, not the Java code.
"""
import hashlib
import re
import struct

NS_TAG = b"KVNS"
BLOCK_TAG = b"KVBK"
NS_VERSION = 1
BLOCK_VERSION = 1
ROOT_PARENT = bytes(16)

MAX_MODEL_ID_BYTES = 1024
MAX_DTYPE_BYTES = 32
MAX_TENANT_BYTES = 1024
MAX_BLOCK_SIZE = 1 << 20
MAX_EXTRA_BYTES = 65535
DTYPE_RE = re.compile(r"^[a-z0-9_]+$")
U31_MAX = (1 << 31) - 1
U32_MAX = (1 << 32) - 1


def u32(v):
    return struct.pack("<I", v)


def string(s, name, lo, hi):
    b = s.encode("utf-8", errors="strict")  # strict: lone surrogates are rejected, never replaced
    if not lo <= len(b) <= hi:
        raise ValueError(f"{name} must be {lo}..{hi} UTF-8 bytes, got {len(b)}")
    return u32(len(b)) + b


def positive(v, name, hi=U31_MAX):
    if not 1 <= v <= hi:
        raise ValueError(f"{name} must be in 1..{hi}, got {v}")
    return u32(v)


def namespace_encoding(model_id, dtype, num_layers, num_kv_heads, head_dim, block_size,
                       tp_rank=0, tp_world_size=1, tenant=""):
    if not DTYPE_RE.match(dtype):
        raise ValueError(f"dtype must match [a-z0-9_]+, got {dtype!r}")
    if not 0 <= tp_rank < tp_world_size:
        raise ValueError(f"tp_rank must be in 0..tp_world_size-1, got {tp_rank}")
    return (NS_TAG + u32(NS_VERSION)
            + string(model_id, "model_id", 1, MAX_MODEL_ID_BYTES)
            + string(dtype, "dtype", 1, MAX_DTYPE_BYTES)
            + positive(num_layers, "num_layers")
            + positive(num_kv_heads, "num_kv_heads")
            + positive(head_dim, "head_dim")
            + positive(block_size, "block_size", MAX_BLOCK_SIZE)
            + u32(tp_rank)
            + positive(tp_world_size, "tp_world_size")
            + string(tenant, "tenant", 0, MAX_TENANT_BYTES))


def block_key(ns_digest, parent, block_tokens, extra=b""):
    for t in block_tokens:
        if not 0 <= t <= U32_MAX:
            raise ValueError(f"token id must be in 0..2^32-1, got {t}")
    if len(extra) > MAX_EXTRA_BYTES:
        raise ValueError(f"extra must be at most {MAX_EXTRA_BYTES} bytes")
    h = hashlib.sha256()
    h.update(BLOCK_TAG + u32(BLOCK_VERSION) + ns_digest + parent)
    h.update(u32(len(block_tokens)) + b"".join(u32(t) for t in block_tokens))
    h.update(u32(len(extra)) + extra)
    return h.digest()[:16]


def chain(ns_digest, block_size, tokens, extras=None, parent=ROOT_PARENT):
    keys = []
    for i in range(len(tokens) // block_size):  # full blocks only
        extra = (extras or {}).get(i, b"")
        parent = block_key(ns_digest, parent, tokens[i * block_size:(i + 1) * block_size], extra)
        keys.append(parent)
    return keys


LLAMA = dict(model_id="meta-llama/Llama-3.1-8B-Instruct", dtype="bfloat16", num_layers=32,
             num_kv_heads=8, head_dim=128, block_size=16)

VECTORS = [
    ("V1 two full blocks and a partial one (no key for the partial block)",
     LLAMA, list(range(37)), None),
    ("V2 same tokens as V1, tenant 'acme'",
     dict(LLAMA, tenant="acme"), list(range(37)), None),
    ("V3 same tokens as V1, tensor-parallel rank 1 of 2",
     dict(LLAMA, tp_rank=1, tp_world_size=2), list(range(37)), None),
    ("V4 block size 4, extreme token ids, extra bytes 'lora:7' on block 1",
     dict(model_id="tiny", dtype="float16", num_layers=1, num_kv_heads=1, head_dim=64,
          block_size=4),
     [0, 1, 4294967295, 2147483648, 7, 7, 7, 7, 65535, 65536, 3, 2], {1: b"lora:7"}),
    ("V5 non-ASCII model id and tenant, block size 1",
     dict(model_id="modèle/テスト-7B", dtype="fp8_e4m3", num_layers=2, num_kv_heads=2,
          head_dim=32, block_size=1, tenant="équipe"),
     [42, 42, 42], None),
    ("V6 fewer tokens than one block: no keys",
     LLAMA, list(range(15)), None),
]


def main():
    for title, ns, tokens, extras in VECTORS:
        enc = namespace_encoding(**ns)
        digest = hashlib.sha256(enc).digest()
        print(f"## {title}")
        print("namespace:", ", ".join(f"{k}={v!r}" for k, v in ns.items()))
        print("tokens:", tokens)
        if extras:
            print("extras:", {k: v.decode() for k, v in extras.items()})
        print("namespace encoding:", enc.hex())
        print("namespace digest:", digest.hex())
        print("namespace id:", digest[:8].hex())
        for i, key in enumerate(chain(digest, ns["block_size"], tokens, extras)):
            print(f"key[{i}]:", key.hex())
        print()


if __name__ == "__main__":
    main()
