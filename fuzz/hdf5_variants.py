#!/usr/bin/env python3
"""Structural variants of an HDF5 file in the oldest format, for replaying through fuzz_hdf5.

The fuzzer flips bytes where its coverage leads, and libhdf5's B-tree, symbol table node and
local heap code is not instrumented, so it rarely aims at the addresses and counts libhdf5
follows there. This writes one variant per field: every version 1 B-tree node's first child,
entry count, level, type, siblings and keys; every symbol table node's symbol count and first
entry (name offset, object header address, cache type and scratch pad); every local heap's data
size, free list and data address; the superblock's root entry scratch pad, end of file and K
values; each set to the undefined address, an address past the end, zero, itself or a huge
count. (How the group B-tree and free-list findings of fuzz/README.md were checked.)

  fuzz/hdf5_variants.py FILE.h5 OUTDIR
  for f in OUTDIR/*; do ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=1536 \
    LSAN_OPTIONS=suppressions=scripts/lsan_suppressions.txt build-fuzz/fuzz/fuzz_hdf5 "$f" \
    > /dev/null 2>&1 || echo "finding: $f"; done
"""
import os
import struct
import sys

UNDEF = b"\xff" * 8
FAR = struct.pack("<Q", 1 << 40)


def main():
    src, out = sys.argv[1], sys.argv[2]
    d = bytes(open(src, "rb").read())
    os.makedirs(out, exist_ok=True)
    variants = {}

    def put(name, off, val):
        if off + len(val) <= len(d):
            v = bytearray(d)
            v[off:off + len(val)] = val
            variants[name] = v

    def find_all(sig):
        r, i = [], d.find(sig)
        while i >= 0:
            r.append(i)
            i = d.find(sig, i + 1)
        return r

    for n, t in enumerate(find_all(b"TREE")):  # 8-byte addresses and lengths assumed
        put(f"tree{n}-child0-undef", t + 32, UNDEF)
        put(f"tree{n}-child0-far", t + 32, FAR)
        put(f"tree{n}-child0-self", t + 32, struct.pack("<Q", t))
        put(f"tree{n}-entries-ffff", t + 6, b"\xff\xff")
        put(f"tree{n}-level-5", t + 5, b"\x05")
        put(f"tree{n}-type-1", t + 4, b"\x01")
        put(f"tree{n}-left-0", t + 8, struct.pack("<Q", 0))
        put(f"tree{n}-right-far", t + 16, FAR)
        put(f"tree{n}-key0-far", t + 24, FAR)
        put(f"tree{n}-key1-far", t + 40, FAR)
    for n, s in enumerate(find_all(b"SNOD")):
        e = s + 8
        put(f"snod{n}-symbols-ffff", s + 6, b"\xff\xff")
        put(f"snod{n}-e0-name-far", e, FAR)
        put(f"snod{n}-e0-name-ffff", e, struct.pack("<Q", 0xFFFF))
        put(f"snod{n}-e0-header-undef", e + 8, UNDEF)
        put(f"snod{n}-e0-header-far", e + 8, FAR)
        put(f"snod{n}-e0-cache1", e + 16, struct.pack("<I", 1))
        put(f"snod{n}-e0-cache1-undef", e + 16, struct.pack("<I", 1) + b"\0" * 4 + UNDEF + UNDEF)
        put(f"snod{n}-e0-cache1-far", e + 16, struct.pack("<I", 1) + b"\0" * 4 + FAR + FAR)
        put(f"snod{n}-e0-cache2", e + 16, struct.pack("<I", 2))
    for n, h in enumerate(find_all(b"HEAP")):
        put(f"heap{n}-size-huge", h + 8, FAR)
        put(f"heap{n}-size-0", h + 8, struct.pack("<Q", 0))
        put(f"heap{n}-free-far", h + 16, FAR)
        put(f"heap{n}-free-0", h + 16, struct.pack("<Q", 0))
        put(f"heap{n}-free-8", h + 16, struct.pack("<Q", 8))
        put(f"heap{n}-data-undef", h + 24, UNDEF)
        put(f"heap{n}-data-0", h + 24, struct.pack("<Q", 0))
        put(f"heap{n}-version-1", h + 4, b"\x01")
        size, free, data = struct.unpack_from("<QQQ", d, h + 8)
        if free < size and data + free + 8 <= len(d):
            put(f"heap{n}-free-loop", data + free, struct.pack("<Q", free))
    if len(d) > 96 and d[8] == 0:  # superblock version 0: the root's symbol table entry at 56
        put("sb-root-scratch-undef", 80, UNDEF + UNDEF)
        put("sb-root-scratch-far", 80, FAR + FAR)
        put("sb-root-scratch-0", 80, b"\0" * 16)
        put("sb-root-cache-0", 72, struct.pack("<I", 0))
        put("sb-eof-small", 40, struct.pack("<Q", 200))
        put("sb-eof-far", 40, FAR)
        put("sb-leaf-k-0", 16, b"\0\0")
        put("sb-internal-k-0", 18, b"\0\0")
        put("sb-leaf-k-ffff", 16, b"\xff\xff")
    for name, v in variants.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(v)
    print(f"{len(variants)} variants of {src} in {out}")


if __name__ == "__main__":
    main()
