# Shared by the benchmarks that serve a file from mimamori and the same file from nginx on the
# same machine, side by side (bench/downloads.sh, bench/open_data.sh; bench/replicas.sh takes
# its tools). Source it, then call side_by_side_setup "$@". Loopback only, bounded by wrk.

# The common start of a side-by-side benchmark: arguments [SECONDS=10] [CONNECTIONS=64]
# [RUNS=3] into `duration`, `connections`, `runs`; the tools; the binary in `bin`
# (BENCH_BINARY, else a release build); a temporary `work` directory and the `server` pid,
# both cleaned up on exit; refuses to start when the benchmark's ports are taken.
#   side_by_side_setup "$@"
side_by_side_setup() {
    duration=${1:-10}
    connections=${2:-64}
    runs=${3:-3}
    side_by_side_tools
    if [ -n "${BENCH_BINARY:-}" ]; then
        bin=$BENCH_BINARY
    else
        cargo build --release -q -p mimamori
        bin=target/release/mimamori
    fi
    work=$(mktemp -d)
    server=""
    trap side_by_side_cleanup EXIT
    if curl -s -o /dev/null http://127.0.0.1:18282/ || curl -s -o /dev/null http://127.0.0.1:18283/; then
        echo "ports 18282/18283 are in use; stop what listens there first" >&2
        exit 1
    fi
}

# Stops nginx and the server, removes `work` (the EXIT trap of side_by_side_setup).
side_by_side_cleanup() {
    side_by_side_stop_nginx
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}

# Installs nginx and wrk through apt-get when missing.
side_by_side_tools() {
    if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null
    fi
}

# Starts nginx on 127.0.0.1:PORT serving ROOT with CACHE_CONTROL, pid in $work/nginx.pid.
#   side_by_side_nginx PORT ROOT CACHE_CONTROL
side_by_side_nginx() {
    local port=$1 root=$2 cache_control=$3
    chmod -R a+rX "$work"  # nginx workers run unprivileged
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
        listen 127.0.0.1:$port;
        root $root;
        location / { add_header Cache-Control "$cache_control"; }
    }
}
NGINX
    nginx -c "$work/nginx.conf"
    hz=$(getconf CLK_TCK)
}

# Stops the nginx started by side_by_side_nginx (safe to call twice).
side_by_side_stop_nginx() {
    local pid
    pid=$(cat "$work/nginx.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
}

# CPU time (user + system, in clock ticks) of the processes given, from /proc.
ticks() { for pid in "$@"; do awk '{ print $14 + $15 }' "/proc/$pid/stat"; done | awk '{ s += $1 } END { print s }'; }

# One wrk run: prints "requests/s CPU-microseconds-per-request" for the server's processes.
#   measure URL PID...
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

# RUNS pairs of runs, ours then nginx's, one JSON line each.
#   side_by_side_runs RUNS OUR_URL OUR_PID NGINX_URL FILE_BYTES
side_by_side_runs() {
    local runs=$1 ours_url=$2 ours_pid=$3 theirs_url=$4 size=$5
    local run ours ours_cpu theirs theirs_cpu ratio
    nginx_pids=$(pgrep -P "$(cat "$work/nginx.pid")" | tr '\n' ' ')
    for run in $(seq 1 "$runs"); do
        read -r ours ours_cpu <<<"$(measure "$ours_url" "$ours_pid")"
        # shellcheck disable=SC2086
        read -r theirs theirs_cpu <<<"$(measure "$theirs_url" $nginx_pids)"
        ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
        echo "{\"run\":$run,\"file_bytes\":$size,\"mimamori_rps\":$ours,\"nginx_rps\":$theirs,\"ratio\":$ratio,\"mimamori_cpu_us_per_request\":$ours_cpu,\"nginx_cpu_us_per_request\":$theirs_cpu}"
    done
}
