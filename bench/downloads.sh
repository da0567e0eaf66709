#!/usr/bin/env bash
# Export downloads: mimamori serving an export zip vs nginx (Debian package) serving the same
# file from the same machine, side by side in one run, with wrk (loopback only, bounded).
#   bash bench/downloads.sh [SECONDS=10] [CONNECTIONS=64] [RUNS=3]
# BENCH_BINARY=path/to/mimamori runs that binary instead of building target/release/mimamori
# (to compare two builds under the same conditions).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-64}
runs=${3:-3}
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null
fi
if [ -n "${BENCH_BINARY:-}" ]; then
    bin=$BENCH_BINARY
else
    cargo build --release -q -p mimamori
    bin=target/release/mimamori
fi
work=$(mktemp -d)
server=""
cleanup() {
    if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
if curl -s -o /dev/null http://127.0.0.1:18282/ || curl -s -o /dev/null http://127.0.0.1:18283/; then
    echo "ports 18282/18283 are in use; stop what listens there first" >&2
    exit 1
fi
export DATABASE_URL="sqlite://$work/mimamori.db"
export MIMAMORI_KEY_SERVER__EXPORT__DIRECTORY="$work/exports"
export MIMAMORI_KEY_SERVER__EXPORT__MIN_WINDOW_AGE_SECONDS=0
export MIMAMORI_LOG__LEVEL=warn
"$bin" export run >/dev/null
file=$(cd "$work/exports" && ls 440/*.zip | head -1)
size=$(stat -c %s "$work/exports/$file")
chmod -R a+rX "$work"  # nginx workers run unprivileged
MIMAMORI_KEY_SERVER__EXPORT__ENABLED=false "$bin" serve --listen 127.0.0.1:18282 2>/dev/null &
server=$!
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
    etag on;
    server {
        listen 127.0.0.1:18283;
        root $work/exports;
        location / { add_header Cache-Control "public, max-age=31536000, immutable"; }
    }
}
NGINX
nginx -c "$work/nginx.conf"
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18282/readyz >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:18282/v1/exports/$file" -o /dev/null
curl -sf "http://127.0.0.1:18283/$file" -o /dev/null
# CPU time (user + system, in clock ticks) of the processes given, from /proc.
ticks() { for pid in "$@"; do awk '{ print $14 + $15 }' "/proc/$pid/stat"; done | awk '{ s += $1 } END { print s }'; }
hz=$(getconf CLK_TCK)
nginx_pids=$(pgrep -P "$(cat "$work/nginx.pid")" | tr '\n' ' ')
# One wrk run: prints "requests/s CPU-microseconds-per-request" for the server's processes.
measure() {
    local url=$1; shift
    local before after out
    before=$(ticks "$@")
    out=$(wrk -t1 -c"$connections" -d"${duration}s" "$url")
    after=$(ticks "$@")
    echo "$out" | awk -v b="$before" -v a="$after" -v hz="$hz" '
        /requests in/ { requests = $1 }
        /Requests\/sec/ { rps = $2 }
        END { printf "%s %.1f", rps, (a - b) / hz * 1e6 / requests }'
}
for run in $(seq 1 "$runs"); do
    read -r ours ours_cpu <<<"$(measure "http://127.0.0.1:18282/v1/exports/$file" "$server")"
    # shellcheck disable=SC2086
    read -r theirs theirs_cpu <<<"$(measure "http://127.0.0.1:18283/$file" $nginx_pids)"
    ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
    echo "{\"run\":$run,\"file_bytes\":$size,\"mimamori_rps\":$ours,\"nginx_rps\":$theirs,\"ratio\":$ratio,\"mimamori_cpu_us_per_request\":$ours_cpu,\"nginx_cpu_us_per_request\":$theirs_cpu}"
done
nginx -c "$work/nginx.conf" -s stop
