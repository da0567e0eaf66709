#!/usr/bin/env bash
# Export downloads: mimamori serving an export zip vs nginx (Debian package) serving the same
# file from the same machine, side by side in one run, with wrk (loopback only, bounded).
#   bash bench/downloads.sh [SECONDS=10] [CONNECTIONS=64] [RUNS=3]
# BENCH_BINARY=path/to/mimamori runs that binary instead of building target/release/mimamori
# (to compare two builds under the same conditions).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib/side_by_side.sh
source bench/lib/side_by_side.sh
side_by_side_setup "$@"
export DATABASE_URL="sqlite://$work/mimamori.db"
export MIMAMORI_KEY_SERVER__EXPORT__DIRECTORY="$work/exports"
export MIMAMORI_KEY_SERVER__EXPORT__MIN_WINDOW_AGE_SECONDS=0
export MIMAMORI_LOG__LEVEL=warn
"$bin" export run >/dev/null
file=$(cd "$work/exports" && ls 440/*.zip | head -1)
size=$(stat -c %s "$work/exports/$file")
MIMAMORI_KEY_SERVER__EXPORT__ENABLED=false "$bin" serve --listen 127.0.0.1:18282 2>/dev/null &
server=$!
side_by_side_nginx 18283 "$work/exports" "public, max-age=31536000, immutable"
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18282/readyz >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:18282/v1/exports/$file" -o /dev/null
curl -sf "http://127.0.0.1:18283/$file" -o /dev/null
side_by_side_runs "$runs" "http://127.0.0.1:18282/v1/exports/$file" "$server" "http://127.0.0.1:18283/$file" "$size"
side_by_side_stop_nginx
