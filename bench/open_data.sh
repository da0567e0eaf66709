#!/usr/bin/env bash
# The public open-data CSV: mimamori serving /open/data/new_cases.csv vs nginx serving the
# same bytes from a file on the same machine, side by side in one run, with wrk (loopback
# only, bounded). The database has the 47 prefectures, so the file has 120 days × 48 areas.
#   bash bench/open_data.sh [SECONDS=10] [CONNECTIONS=64] [RUNS=3]
# BENCH_BINARY=path/to/mimamori runs that binary instead of building target/release/mimamori.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib/side_by_side.sh
source bench/lib/side_by_side.sh
side_by_side_setup "$@"
export DATABASE_URL="sqlite://$work/mimamori.db"
export MIMAMORI_LOG__LEVEL=warn
export MIMAMORI_KEY_SERVER__EXPORT__ENABLED=false
"$bin" admin init >/dev/null 2>&1
for n in $(seq -w 1 47); do
    "$bin" admin create-organization --kind prefecture --name "Prefecture $n" >/dev/null
done
"$bin" serve --listen 127.0.0.1:18282 2>/dev/null &
server=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18282/readyz >/dev/null && break; sleep 0.1; done
mkdir -p "$work/public"
curl -sf http://127.0.0.1:18282/open/data/new_cases.csv -o "$work/public/new_cases.csv"
size=$(stat -c %s "$work/public/new_cases.csv")
side_by_side_nginx 18283 "$work/public" "public, max-age=300"
curl -sf http://127.0.0.1:18283/new_cases.csv -o /dev/null
side_by_side_runs "$runs" http://127.0.0.1:18282/open/data/new_cases.csv "$server" \
    http://127.0.0.1:18283/new_cases.csv "$size"
side_by_side_stop_nginx
