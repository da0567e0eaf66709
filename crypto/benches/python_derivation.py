#!/usr/bin/env python3
"""The same derivation as crypto/examples/derive_throughput.rs, in Python with the
`cryptography` package: for each of N random TEKs, RPIK = HKDF-SHA256(TEK, NULL, "EN-RPIK", 16)
and the 144 RPIs of its day with AES-128-ECB (one call over the 144 PaddedData blocks).

Prints one JSON line like the Rust example (median of seven passes). Checks itself on the published EN v1.2 vector
first (shared/data/gaen-test-vectors.json).

    python3 crypto/benches/python_derivation.py [N] [SEED]
"""

import json
import os
import random
import struct
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

START = 2_650_464


def padded_day(start: int) -> bytes:
    return b"".join(b"EN-RPI" + b"\x00" * 6 + struct.pack("<I", start + i) for i in range(144))


def rpis_for_day(tek: bytes, blocks: bytes) -> bytes:
    rpik = HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=b"EN-RPIK").derive(tek)
    encryptor = Cipher(algorithms.AES(rpik), modes.ECB()).encryptor()
    return encryptor.update(blocks) + encryptor.finalize()


def self_check() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "..", "shared", "data", "gaen-test-vectors.json")
    with open(path, encoding="utf-8") as f:
        vector = json.load(f)["crypto_test_vector_v1_2"]
    start = vector["en_interval_number_of_generated_key"]
    out = rpis_for_day(bytes.fromhex(vector["tek_hex"]), padded_day(start))
    for entry in vector["intervals"]:
        i = entry["i"]
        assert out[16 * i : 16 * i + 16].hex() == entry["rpi_hex"], f"interval {i}"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    self_check()
    rng = random.Random(seed)
    teks = [rng.randbytes(16) for _ in range(n)]
    blocks = padded_day(START)
    checksum = 0
    runs = []
    for _ in range(7):  # seven timed passes, median reported (as the Rust example does)
        started = time.perf_counter()
        for tek in teks:
            checksum ^= rpis_for_day(tek, blocks)[-16]
        runs.append(time.perf_counter() - started)
    seconds = sorted(runs)[len(runs) // 2]
    print(json.dumps({"impl": "python-cryptography", "keys": n, "seconds": round(seconds, 6),
                      "us_per_key": round(seconds * 1e6 / n, 3), "checksum": checksum}))


if __name__ == "__main__":
    main()
