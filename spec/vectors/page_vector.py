#!/usr/bin/env python3
"""Independent reference encoder for the page test vector of spec/2-page-format.md.

Standard library only: CRC32C (Castagnoli) is written out here because Python's zlib only has the
IEEE CRC-32, which is a different polynomial. Run `python3 spec/vectors/page_vector.py`.
"""
import struct

MAGIC = b"KVPG"
VERSION = 1
HEADER_LENGTH = 64


def _table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1  # reflected Castagnoli polynomial
        table.append(c)
    return table


_TABLE = _table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the standard check value of CRC-32C


def key_halves(key16):
    """A key's 16 bytes (spec chapter 1) as the (hi, lo) u64 pair: big-endian halves."""
    return struct.unpack(">QQ", key16)


def page(key16, parent16, namespace_id, token_count, payload):
    key_hi, key_lo = key_halves(key16)
    parent_hi, parent_lo = key_halves(parent16)
    head = MAGIC + struct.pack("<HHQQQQQII", VERSION, 0, key_hi, key_lo, parent_hi, parent_lo,
                               namespace_id, token_count, len(payload))
    head += struct.pack("<I", crc32c(payload))
    head += struct.pack("<I", crc32c(head))  # header CRC covers bytes 0..59
    assert len(head) == HEADER_LENGTH
    return head + payload


def main():
    # Vector V1 of chapter 1: namespace id ef338f2466a75aae, key[0] (parent: the root).
    key0 = bytes.fromhex("032b8157dbb5e3a81b8d542b4870a0d5")
    p = page(key0, bytes(16), 0xEF338F2466A75AAE, 16, b"KV bytes, 16 B.!")
    print("page length:", len(p))
    print("payload CRC32C: %08x" % crc32c(p[64:]))
    print("header CRC32C: %08x" % crc32c(p[:60]))
    for i in range(0, len(p), 16):
        print("%04x  %s" % (i, p[i:i + 16].hex(" ")))
    print("hex:", p.hex())


if __name__ == "__main__":
    main()
