#!/usr/bin/env bash
# The verification benchmark: complete verify → certificate flows per second on PostgreSQL.
#
#   verification/benches/flows.sh            # 20,000 flows, 64 concurrent, at most 30 s
#   FLOWS=40000 CONCURRENCY=128 verification/benches/flows.sh
#
# Creates a fresh database on the PostgreSQL server of TEST_DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/postgres), builds the release binary, sets up an
# organization and API keys with `mimamori admin`, serves on 127.0.0.1:18080, runs the load
# generator (benches/flows.rs) and drops the database again. Loopback only, bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."

admin_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
database=mimamori_bench_$$
port=${BENCH_PORT:-18080}
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/mimamori
workdir=$(mktemp -d)

cargo build --release -p mimamori --quiet
cargo bench -p mimamori-verification --bench flows --no-run --quiet

psql "$admin_url" -q -c "CREATE DATABASE $database"
export DATABASE_URL="${admin_url%/*}/$database"
export MIMAMORI_LOG__LEVEL=warn
export MIMAMORI_DATABASE__MAX_CONNECTIONS=${DB_CONNECTIONS:-32}
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    psql "$admin_url" -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
    rm -rf "$workdir"
}
trap cleanup EXIT

field() { grep "^$1: " | cut -d' ' -f2; }
"$bin" admin init > "$workdir/init.txt" 2>/dev/null
prefecture=$("$bin" admin create-organization --kind prefecture --name Bench 2>/dev/null | field organization_id)
health_center=$("$bin" admin create-organization --kind health_center --name "Bench HC" --parent "$prefecture" 2>/dev/null | field organization_id)
admin_key=$("$bin" admin create-api-key --organization "$health_center" --kind admin --name bench 2>/dev/null | field api_key)
device_key=$("$bin" admin create-api-key --organization "$health_center" --kind device --name bench 2>/dev/null | field api_key)

"$bin" serve --listen "127.0.0.1:$port" 2> "$workdir/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(psql "$admin_url" -tA -c 'show server_version') PostgreSQL"
BASE_URL="http://127.0.0.1:$port" ADMIN_KEY="$admin_key" DEVICE_KEY="$device_key" \
HEALTH_CENTER_ID="$health_center" cargo bench -p mimamori-verification --bench flows --quiet
