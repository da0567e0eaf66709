#!/usr/bin/env bash
# Three replicas on one PostgreSQL behind nginx (Debian), loopback only, bounded in time:
# 1. downloads of an export zip through nginx over the 3 replicas (export storage `database`)
#    vs the same nginx serving the same file from disk, side by side with wrk;
# 2. publish throughput through nginx over the 3 replicas (14 keys per request, each with its
#    own certificate), with the load generator of bench/publish.sh.
#   bash bench/replicas.sh [SECONDS=10] [CONNECTIONS=64] [RUNS=3]
# On one machine every process shares its cores: the numbers say what the proxy hop and the
# shared database cost, not how replicas on their own machines scale.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-64}
runs=${3:-3}
# shellcheck source=bench/lib/side_by_side.sh
source bench/lib/side_by_side.sh
side_by_side_tools
bash .ci/postgres.sh >/dev/null
cargo build --release -q -p mimamori -p mimamori-tests --bin mimamori --bin publish_load
bin=target/release/mimamori
work=$(mktemp -d)
chmod 755 "$work"
db="mimamori_replicas_$$"
pids=()
cleanup() {
    if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
    rm -rf "$work"
}
trap cleanup EXIT
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db"
target/release/publish_load init "$work"
# publish_load writes the config with its certificate issuer; the rest comes from the
# environment.
export DATABASE_URL="postgres://postgres@127.0.0.1/$db?sslmode=disable"
export MIMAMORI_KEY_SERVER__EXPORT__STORAGE=database
export MIMAMORI_KEY_SERVER__EXPORT__MIN_WINDOW_AGE_SECONDS=0
export MIMAMORI_KEY_SERVER__EXPORT__DIRECTORY="$work/exports"
export MIMAMORI_DATABASE__MAX_CONNECTIONS=16
export MIMAMORI_LOG__LEVEL=warn
"$bin" --config "$work/mimamori.toml" export run >"$work/export.json"
file=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["path"])' "$work/export.json")
ports=(18401 18402 18403)
for port in "${ports[@]}"; do
    MIMAMORI_KEY_SERVER__EXPORT__ENABLED=false "$bin" --config "$work/mimamori.toml" serve \
        --listen "127.0.0.1:$port" 2>>"$work/server.log" &
    pids+=($!)
done
for port in "${ports[@]}"; do
    for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
done
# The same bytes on disk for nginx's static side.
mkdir -p "$work/static/$(dirname "$file")"
curl -sf "http://127.0.0.1:${ports[0]}/v1/exports/$file" -o "$work/static/$file"
chmod -R a+rX "$work/static"
size=$(stat -c %s "$work/static/$file")
cat > "$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    upstream mimamori {
        server 127.0.0.1:${ports[0]};
        server 127.0.0.1:${ports[1]};
        server 127.0.0.1:${ports[2]};
        keepalive 64;
    }
    server {
        listen 127.0.0.1:18400;
        location / {
            proxy_pass http://mimamori;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
        }
    }
    server {
        listen 127.0.0.1:18404;
        root $work/static;
        location / { add_header Cache-Control "public, max-age=31536000, immutable"; }
    }
}
NGINX
nginx -c "$work/nginx.conf"
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18400/readyz >/dev/null && break; sleep 0.1; done
cmp <(curl -sf "http://127.0.0.1:18400/v1/exports/$file") "$work/static/$file"
rps() { wrk -t1 -c"$connections" -d"${duration}s" "$1" | awk '/Requests\/sec/ { print $2 }'; }
for run in $(seq 1 "$runs"); do
    through=$(rps "http://127.0.0.1:18400/v1/exports/$file")
    direct=$(rps "http://127.0.0.1:18404/$file")
    ratio=$(awk -v a="$through" -v b="$direct" 'BEGIN { printf "%.2f", a / b }')
    echo "{\"run\":$run,\"file_bytes\":$size,\"through_3_replicas_rps\":$through,\"nginx_direct_rps\":$direct,\"ratio\":$ratio}"
done
for run in $(seq 1 "$runs"); do
    before=$(psql -tA -h 127.0.0.1 -U postgres -d "$db" -c "SELECT COUNT(*) FROM ks_keys")
    target/release/publish_load run "$work" "http://127.0.0.1:18400" "$duration" "$connections"
    after=$(psql -tA -h 127.0.0.1 -U postgres -d "$db" -c "SELECT COUNT(*) FROM ks_keys")
    echo "{\"run\":$run,\"keys_stored\":$((after - before))}"
done
