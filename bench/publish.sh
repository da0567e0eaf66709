#!/usr/bin/env bash
# Publish throughput on PostgreSQL with the load generator on the same machine (loopback only,
# bounded in time): 14 keys per request, every request with its own certificate (checked).
#   bash bench/publish.sh [SECONDS=20] [CONCURRENCY=64] [RUNS=3]
# SSLMODE=disable|prefer|require (default prefer: TLS when the server offers it, as in production).
# BENCH_BINARY=path/to/mimamori runs another build of the server (to compare two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
concurrency=${2:-64}
runs=${3:-3}
sslmode=${SSLMODE:-prefer}
server_bin=${BENCH_BINARY:-target/release/mimamori}
bash .ci/postgres.sh >/dev/null
cargo build --release -q -p mimamori -p mimamori-tests --bin mimamori --bin publish_load
work=$(mktemp -d)
port=18181
target/release/publish_load init "$work"
for run in $(seq 1 "$runs"); do
    db="mimamori_bench_$$_$run"
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db"
    DATABASE_URL="postgres://postgres@127.0.0.1/$db?sslmode=$sslmode" MIMAMORI_DATABASE__MAX_CONNECTIONS=32 \
        "$server_bin" --config "$work/mimamori.toml" serve --listen "127.0.0.1:$port" \
        2>"$work/server.log" &
    server=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
        sleep 0.1
    done
    target/release/publish_load run "$work" "http://127.0.0.1:$port" "$duration" "$concurrency"
    stored=$(psql -tA -h 127.0.0.1 -U postgres -d "$db" -c "SELECT COUNT(*) FROM ks_keys")
    echo "{\"run\":$run,\"keys_stored\":$stored}"
    kill "$server"; wait "$server" || true
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE $db WITH (FORCE)"
done
rm -rf "$work"
