#!/usr/bin/env bash
# Side by side: RPI derivation (HKDF-SHA256 RPIK + 144 AES-128 RPIs per key) for the same
# number of keys, in Rust (this crate, one thread) and in Python with `cryptography`.
# Prints both JSON lines and the per-key speed ratio.
#
#   crypto/benches/compare-python.sh [N=20000]
#
# Needs python3 with `cryptography` (pip install cryptography).
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-20000}"
cargo build --release -q -p mimamori-crypto --example derive_throughput
TARGET="${CARGO_TARGET_DIR:-target}"
rust_json="$("$TARGET/release/examples/derive_throughput" "$N")"
rust_all_json="$("$TARGET/release/examples/derive_throughput" "$N" 1 --all-cores)"
python_json="$(python3 crypto/benches/python_derivation.py "$N")"
echo "$rust_json"
echo "$rust_all_json"
echo "$python_json"
python3 - "$rust_json" "$rust_all_json" "$python_json" <<'PY'
import json, sys
rust, rust_all, py = (json.loads(a) for a in sys.argv[1:4])
print(json.dumps({"keys": rust["keys"],
                  "python_us_per_key": py["us_per_key"],
                  "rust_1_thread_us_per_key": rust["us_per_key"],
                  "ratio_1_thread": round(py["us_per_key"] / rust["us_per_key"], 1),
                  "rust_all_cores_us_per_key": rust_all["us_per_key"],
                  "ratio_all_cores": round(py["us_per_key"] / rust_all["us_per_key"], 1)}))
PY
