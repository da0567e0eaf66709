#!/usr/bin/env bash
# Bounded schemathesis run against `mimamori serve`, on SQLite and on PostgreSQL.
#
# For each backend it sets a server up as an operator would (`mimamori admin init`, a
# prefecture, a health center, a staff user and a device API key, `keys export generate`),
# starts `mimamori serve` on a free 127.0.0.1 port and runs schemathesis against
# /openapi.json with every check, once per auth profile:
#   none    no credentials
#   staff   Authorization: Bearer <token of a health-center case worker, from POST /api/auth/login>
#   device  X-API-Key: <device API key of that health center>
# Exits non-zero when any run reports a failure (or times out); prints a deduplicated summary
# grouped by (operation, check, status) at the end.
#
# Usage: bash .ci/schemathesis.sh            (from anywhere; paths are relative to the repo)
# Environment (all optional):
#   MIMAMORI_BIN                 binary to test (default target/debug/mimamori; not built here)
#   SCHEMATHESIS_BACKENDS        "sqlite postgres" (default) or one of them
#   SCHEMATHESIS_PROFILES        "none staff device" (default) or a subset
#   SCHEMATHESIS_MAX_EXAMPLES    examples per operation and phase (default 10)
#   SCHEMATHESIS_WORKERS         schemathesis workers (default 2)
#   SCHEMATHESIS_SEED            fixed seed (default: random, printed by schemathesis)
#   SCHEMATHESIS_RUN_TIMEOUT     wall-clock cap of one run in seconds (default 75)
#   SCHEMATHESIS_TOTAL_TIMEOUT   wall-clock cap of all runs together in seconds (default 290)
#   SCHEMATHESIS_REPORT_DIR      where reports go (default target/schemathesis)
#   SCHEMATHESIS_PG_URL          PostgreSQL server (default postgres://postgres@127.0.0.1:5432)
#   SCHEMATHESIS_EXTRA_ARGS      more arguments for `schemathesis run`, word-split
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

SCHEMATHESIS_VERSION=4.32.5
venv="$repo/target/schemathesis-venv"
bin="${MIMAMORI_BIN:-target/debug/mimamori}"
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
# The binary refuses unknown MIMAMORI_* variables, and MIMAMORI_BIN is one.
unset MIMAMORI_BIN
backends="${SCHEMATHESIS_BACKENDS:-sqlite postgres}"
profiles="${SCHEMATHESIS_PROFILES:-none staff device}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-10}"
workers="${SCHEMATHESIS_WORKERS:-2}"
run_timeout="${SCHEMATHESIS_RUN_TIMEOUT:-75}"
total_timeout="${SCHEMATHESIS_TOTAL_TIMEOUT:-290}"
report_root="${SCHEMATHESIS_REPORT_DIR:-$repo/target/schemathesis}"
pg_url="${SCHEMATHESIS_PG_URL:-postgres://postgres@127.0.0.1:5432}"
started=$(date +%s)
step() { echo "==> [$(($(date +%s) - started))s] $*"; }

if ! [ -x "$bin" ]; then
    echo "error: $bin is not an executable; build it (cargo build -p mimamori) or set MIMAMORI_BIN" >&2
    exit 2
fi

# --- schemathesis, pinned -------------------------------------------------------------------
installed=""
if [ -x "$venv/bin/python" ]; then
    installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)
fi
if [ "$installed" != "$SCHEMATHESIS_VERSION" ]; then
    step "installing schemathesis==$SCHEMATHESIS_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
st="$venv/bin/schemathesis"
py="$venv/bin/python"

# --- clean-up of everything this script starts ----------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/mimamori-schemathesis.XXXXXX")
server_pid=""
pg_db=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
drop_pg_db() {
    if [ -n "$pg_db" ]; then
        dropdb --if-exists --force --maintenance-db="$pg_url/postgres" "$pg_db" 2>/dev/null \
            || psql "$pg_url/postgres" -qtAc "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null 2>&1 \
            || echo "warning: could not drop database $pg_db" >&2
        pg_db=""
    fi
}
cleanup() {
    stop_server
    drop_pg_db
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# One `mimamori` CLI command; its stderr goes to $work/cli.err and is shown when it fails.
cli() {
    if ! "$bin" "$@" 2>"$work/cli.err"; then
        echo "error: mimamori $1 $2 failed:" >&2
        cat "$work/cli.err" >&2
        return 1
    fi
}

# `name: value` line of the admin CLI's output.
field() { sed -n "s/^$1: //p" <<<"$2" | head -1; }

# POST /api/auth/login with the user's password and current TOTP (RFC 6238, SHA-1, 30 s, 6
# digits, as cases/src/model.rs); prints the bearer token.
login() {
    "$py" - "$1" "$2" "$3" "$4" <<'EOF'
import base64, hashlib, hmac, json, struct, sys, time, urllib.request
base, username, password, secret = sys.argv[1:]
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
tag = hmac.new(key, struct.pack(">q", int(time.time()) // 30), hashlib.sha1).digest()
offset = tag[19] & 0x0F
totp = "%06d" % ((struct.unpack(">I", tag[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)
body = json.dumps({"username": username, "password": password, "totp": totp}).encode()
request = urllib.request.Request(base + "/api/auth/login", data=body,
                                 headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request, timeout=10))["token"])
EOF
}

wait_ready() {
    for _ in $(seq 1 300); do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "error: mimamori serve exited; its log:" >&2
            tail -n 30 "$1" >&2
            return 1
        fi
        if "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/readyz", timeout=2)' "$2" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "error: mimamori serve did not become ready in 60 s" >&2
    return 1
}

failed_runs=()
all_reports=()

run_backend() {
    local backend=$1 dir="$work/$1" database_url
    mkdir -p "$dir"
    case "$backend" in
        sqlite) database_url="sqlite://$dir/mimamori.db" ;;
        postgres)
            bash .ci/postgres.sh
            pg_db="mimamori_schemathesis_$$_$(date +%s)"
            createdb --maintenance-db="$pg_url/postgres" "$pg_db" 2>/dev/null \
                || psql "$pg_url/postgres" -qtAc "CREATE DATABASE \"$pg_db\"" >/dev/null
            database_url="$pg_url/$pg_db"
            ;;
        *) echo "error: unknown backend '$backend' (sqlite or postgres)" >&2; return 2 ;;
    esac

    # Settings as environment variables (server/src/config.rs); nothing is read from ./data.
    # Cheap Argon2 keeps logins fast on 2 cores; the fuzzed login endpoint hashes a lot.
    export DATABASE_URL="$database_url"
    export MIMAMORI_DATA_DIR="$dir/data"
    export MIMAMORI_KEY_SERVER__EXPORT__DIRECTORY="$dir/exports"
    export MIMAMORI_CASES__ARGON2_MEMORY_KIB=64
    export MIMAMORI_CASES__ARGON2_ITERATIONS=1
    export MIMAMORI_LOG__LEVEL=warn
    export MIMAMORI_LOG__FORMAT=json
    export MIMAMORI_HTTP__WORKERS=2

    step "$backend: operator set-up (mimamori admin ...)"
    cli admin init --name Ministry >"$dir/init.txt"
    local out prefecture health_center staff_user staff_password staff_totp device_key
    out=$(cli admin create-organization --kind prefecture --name Tokyo)
    prefecture=$(field organization_id "$out")
    out=$(cli admin create-organization --kind health_center --name Minato --parent "$prefecture")
    health_center=$(field organization_id "$out")
    out=$(cli admin create-user --organization "$health_center" --username hc.staff \
        --role case_worker --role org_admin)
    staff_user=$(field username "$out")
    staff_password=$(field password "$out")
    staff_totp=$(field totp_secret "$out")
    out=$(cli admin create-api-key --organization "$health_center" --kind device --name schemathesis)
    device_key=$(field api_key "$out")
    cli keys export generate >/dev/null
    if [ -z "$health_center" ] || [ -z "$staff_password" ] || [ -z "$device_key" ]; then
        echo "error: $backend: operator set-up printed no ids/secrets" >&2
        return 1
    fi

    local port base
    port=$(free_port)
    base="http://127.0.0.1:$port"
    step "$backend: mimamori serve on $base"
    "$bin" serve --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
    server_pid=$!
    wait_ready "$dir/server.log" "$base"

    local token
    token=$(login "$base" "$staff_user" "$staff_password" "$staff_totp")

    local profile rc remaining cap report_dir
    for profile in $profiles; do
        local -a auth=() filters=()
        case "$profile" in
            none) ;;
            staff)
                auth=(-H "Authorization: Bearer $token")
                # Logout and a password change end the session the rest of the run uses.
                filters=(--exclude-path /api/auth/logout --exclude-path /api/auth/password)
                ;;
            device) auth=(-H "X-API-Key: $device_key") ;;
            *) echo "error: unknown profile '$profile' (none, staff or device)" >&2; return 2 ;;
        esac
        remaining=$((total_timeout - ($(date +%s) - started)))
        cap=$((remaining < run_timeout ? remaining : run_timeout))
        if [ "$cap" -lt 10 ]; then
            echo "error: $backend/$profile: total time budget of ${total_timeout}s spent" >&2
            failed_runs+=("$backend/$profile (not run: time budget spent)")
            continue
        fi
        report_dir="$report_root/$backend-$profile"
        rm -rf "$report_dir"
        mkdir -p "$report_dir"
        step "$backend/$profile: schemathesis (at most ${cap}s)"
        rc=0
        # shellcheck disable=SC2086 # SCHEMATHESIS_EXTRA_ARGS is meant to be word-split
        timeout --kill-after=10 "$cap" "$st" --config-file "$repo/.ci/schemathesis.toml" run "$base/openapi.json" \
            --checks all \
            --max-examples "$max_examples" \
            --workers "$workers" \
            --continue-on-failure \
            --request-timeout 10 \
            --no-color \
            --report junit,ndjson --report-dir "$report_dir" \
            ${SCHEMATHESIS_SEED:+--seed "$SCHEMATHESIS_SEED"} \
            "${auth[@]}" "${filters[@]}" \
            ${SCHEMATHESIS_EXTRA_ARGS:-} \
            >"$report_dir/output.txt" 2>&1 || rc=$?
        grep -E '^(=+ .* in [0-9.]+s =+|  [0-9]+ generated.*|  ❌ ST[0-9]+ .*)$' "$report_dir/output.txt" || true
        all_reports+=("$backend/$profile=$report_dir")
        case "$rc" in
            0) ;;
            124|137) echo "error: $backend/$profile: timed out after ${cap}s" >&2
                     failed_runs+=("$backend/$profile (timed out)") ;;
            *) failed_runs+=("$backend/$profile (exit $rc)") ;;
        esac
    done

    if grep -q '"level":"ERROR"' "$dir/server.log"; then
        echo "--- $backend: server errors (first 10) ---"
        grep '"level":"ERROR"' "$dir/server.log" | head -n 10
    fi
    cp "$dir/server.log" "$report_root/$backend-server.log" 2>/dev/null || true
    stop_server
    drop_pg_db
    unset DATABASE_URL
}

mkdir -p "$report_root"
for backend in $backends; do
    run_backend "$backend"
done

step "summary: failures grouped by (operation, check, status); one smallest request each"
"$py" - "${all_reports[@]}" <<'EOF' | tee "$report_root/summary.txt"
import base64, glob, json, sys
groups = {}
for item in sys.argv[1:]:
    run, _, directory = item.partition("=")
    for path in glob.glob(directory + "/*.ndjson"):
        for line in open(path, encoding="utf-8", errors="replace"):
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a run cut off by the timeout may end mid-line
            done = event.get("ScenarioFinished")
            if not done:
                continue
            recorder = done.get("recorder", {})
            for case_id, checks in (recorder.get("checks") or {}).items():
                for check in checks:
                    if check.get("status") != "failure":
                        continue
                    failure = (check.get("failure_info") or {}).get("failure") or {}
                    interaction = (recorder.get("interactions") or {}).get(case_id) or {}
                    request = interaction.get("request") or {}
                    response = interaction.get("response") or {}
                    status = response.get("status_code", "-")
                    operation = failure.get("operation") or recorder.get("label", "?")
                    key = (operation, check["name"], status)
                    body = request.get("body")
                    if isinstance(body, dict) and "$base64" in body:
                        body = base64.b64decode(body["$base64"]).decode("utf-8", "replace")
                    content = response.get("content")
                    if isinstance(content, dict) and "$base64" in content:
                        content = base64.b64decode(content["$base64"]).decode("utf-8", "replace")
                    sample = {
                        "request": "%s %s" % (request.get("method"), request.get("uri")),
                        "headers": {k: v for k, v in (request.get("headers") or {}).items()
                                    if k.lower() not in ("user-agent", "accept", "accept-encoding",
                                                         "connection", "content-length")
                                    and not k.lower().startswith("x-schemathesis")},
                        "body": body,
                        "response": content,
                        "message": (failure.get("message") or failure.get("title") or "").strip(),
                        "code": failure.get("code", ""),
                    }
                    size = len(sample["request"]) + len(str(body or ""))
                    group = groups.setdefault(key, {"count": 0, "runs": set(), "best": None})
                    group["count"] += 1
                    group["runs"].add(run)
                    if group["best"] is None or size < group["best"][0]:
                        group["best"] = (size, sample)
def clip(text, limit=300):
    text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"
for (operation, check, status), group in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]))):
    sample = group["best"][1]
    print("%s | %s %s | status %s | %d× in %s" % (operation, sample["code"], check, status,
          group["count"], ", ".join(sorted(group["runs"]))))
    print("    %s" % sample["request"])
    if sample["headers"]:
        print("    headers: %s" % clip(sample["headers"]))
    if sample["body"] not in (None, ""):
        print("    body: %s" % clip(sample["body"]))
    print("    expected: %s" % clip(sample["message"].replace("\n", " ")))
    if sample["response"]:
        print("    got: %s" % clip(sample["response"], 200))
print("%d distinct (operation, check, status) failures" % len(groups))
EOF

step "done"
if [ "${#failed_runs[@]}" -gt 0 ]; then
    echo "schemathesis failed: ${failed_runs[*]} (reports in $report_root)" >&2
    exit 1
fi
echo "schemathesis: no failures"
