#!/usr/bin/env bash
# Checks the operator files and fires one alert for real:
#   1. promtool check rules deploy/prometheus/alerts.yml;
#   2. starts `mimamori serve` (SQLite in a temp dir), exercises a few routes so labelled series
#      exist, scrapes /metrics and checks that every metric the dashboard
#      (deploy/grafana/mimamori.json) and the rules name is really exposed (or is `up`);
#   3. starts a real Prometheus scraping that server every second with a copy of the rules,
#      waits until every rule evaluates without error and no alert fires while the server is
#      healthy, then stops the server and waits until MimamoriDown is firing.
# Needs the debug binary (`cargo test --workspace` or `cargo build -p mimamori` builds it).
# Installs Debian's `prometheus` package (Apache-2.0) when promtool or prometheus is missing.
# Bounded: every wait has a deadline; about 30 s once built and installed.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { echo "==> [observability $(( $(date +%s) - started ))s] $*"; }
fail() { echo "observability: FAILED: $*" >&2; exit 1; }

binary="${CARGO_TARGET_DIR:-target}/debug/mimamori"
[ -x "$binary" ] || fail "$binary is missing: run cargo build -p mimamori (or cargo test --workspace) first"

if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    step "installing Debian's prometheus package"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    # --no-install-recommends: the server and promtool only, not the node exporter.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    # The package starts a system service on :9090 where an init system runs; we start our own.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
        $SUDO systemctl stop prometheus || true
    fi
fi
prometheus --version 2>&1 | head -1

work=$(mktemp -d)
server_pid=""
prometheus_pid=""
# stop PID: SIGTERM, then SIGKILL after 10 s; reaps it (a zombie would still answer kill -0).
stop() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    ( sleep 10; kill -KILL "$pid" 2>/dev/null ) &
    local watchdog=$!
    wait "$pid" 2>/dev/null || true
    kill "$watchdog" 2>/dev/null || true
    wait "$watchdog" 2>/dev/null || true
}
cleanup() {
    status=$?
    for pid in $server_pid $prometheus_pid; do stop "$pid"; done
    if [ "$status" != 0 ]; then
        echo "--- mimamori log (last 40 lines)"; tail -n 40 "$work/mimamori.log" 2>/dev/null || true
        echo "--- prometheus log (last 40 lines)"; tail -n 40 "$work/prometheus.log" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
# wait_for SECONDS DESCRIPTION COMMAND...: runs COMMAND every 0.5 s until it succeeds.
wait_for() {
    local seconds=$1 what=$2; shift 2
    local deadline=$(( $(date +%s) + seconds ))
    until "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${seconds}s waiting for $what"
        sleep 0.5
    done
}
http() { curl -sS --max-time 5 "$@"; }

step "promtool check rules"
promtool check rules deploy/prometheus/alerts.yml

step "mimamori serve on a temp SQLite database"
port=$(free_port)
base="http://127.0.0.1:$port"
env -u DATABASE_URL \
    MIMAMORI_LISTEN="127.0.0.1:$port" \
    MIMAMORI_DATA_DIR="$work/data" \
    MIMAMORI_LOG__FORMAT=json \
    MIMAMORI_HTTP__WORKERS=2 \
    MIMAMORI_HTTP__SHUTDOWN_TIMEOUT_SECONDS=5 \
    MIMAMORI_KEY_SERVER__EXPORT__DIRECTORY="$work/data/exports" \
    MIMAMORI_KEY_SERVER__EXPORT__POLL_SECONDS=1 \
    "$binary" serve >"$work/mimamori.log" 2>&1 &
server_pid=$!
ready() { kill -0 "$server_pid" 2>/dev/null || fail "mimamori serve exited"; [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/readyz")" = 200 ]; }
wait_for 60 "mimamori /readyz" ready
# The export worker's first run sets mimamori_export_last_success_timestamp_seconds.
exported() { http "$base/metrics" | grep -Eq '^mimamori_export_last_success_timestamp_seconds [1-9]'; }
wait_for 30 "the first export run" exported

step "exercising routes so that labelled series exist"
http -o /dev/null "$base/healthz"
http -o /dev/null "$base/no-such-route"
http -o /dev/null "$base/v1/exports/index.txt"
http -o /dev/null "$base/c19r/440/list.json"
# A publish with a certificate no issuer signed: rejected (keys counted as rejected).
http -o /dev/null -X POST -H 'content-type: application/json' "$base/v1/publish" \
    --data '{"temporaryExposureKeys":[{"key":"AAAAAAAAAAAAAAAAAAAAAA==","rollingStartNumber":2700000,"rollingPeriod":144}],"healthAuthorityID":"","verificationPayload":"not.a.jwt","hmacKey":"AAAA"}'
# A COCOA event log without consent: counted as no_consent.
http -o /dev/null -X PUT -H 'content-type: application/json' "$base/api/v1/event_log" \
    --data '{"idempotencyKey":"0f6e1c2a-6b1d-4a53-9c55-3d2f6f0b9a10","platform":"android","appPackageName":"jp.go.mhlw.cocoa","deviceVerificationPayload":"x","eventLogs":[{"hasConsent":false,"epoch":0,"type":"ExposureNotification","subtype":"ExposureNotified","content":"{}"}]}'
# 31 COCOA uploads with unknown processing numbers from one client: 30 failures (406), then
# the per-client limit answers 429 (verification failures and rate-limited series).
body_for() {
    python3 - "$1" <<'PY'
import base64, json, sys, time
now = int(time.time())
today = now // 600 - (now // 600) % 144
keys = [{"keyData": base64.b64encode(bytes([d]) * 16).decode(), "rollingStartNumber": today - d * 144,
         "rollingPeriod": 144, "reportType": 1} for d in range(1, 4)]
onset = time.strftime("%Y-%m-%dT00:00:00.000+09:00", time.gmtime(now + 9 * 3600 - 2 * 86400))
print(json.dumps({"hasSymptom": True, "onsetOfSymptomOrTestDate": onset, "keys": keys, "regions": ["440"],
                  "platform": "android", "deviceVerificationPayload": "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl",
                  "appPackageName": "jp.go.mhlw.cocoa", "verificationPayload": sys.argv[1],
                  "idempotency_key": "5b1f0c8e-7d2a-4c1b-9e3f-0000%08d" % int(sys.argv[1]) }))
PY
}
statuses=""
for attempt in $(seq 1 31); do
    statuses+=" $(http -o /dev/null -w '%{http_code}' -X PUT -H 'content-type: application/json' \
        "$base/api/v3/diagnosis" --data "$(body_for $(( 10000000 + attempt )))")"
done
echo "COCOA guesses answered:$statuses"
case "$statuses" in *429*) ;; *) fail "31 wrong processing numbers were never rate-limited" ;; esac

step "every metric the dashboard and the rules name is exposed"
http "$base/metrics" >"$work/metrics.txt"
python3 - "$work/metrics.txt" deploy/grafana/mimamori.json deploy/prometheus/alerts.yml <<'PY'
import json, re, sys
metrics_path, dashboard_path, rules_path = sys.argv[1:]
exposed = {"up"}
for line in open(metrics_path):
    if line and not line.startswith("#") and line.strip():
        exposed.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan"}

def metric_names(expr):
    """Metric names of a PromQL expression: identifiers outside strings, label matchers,
    ranges and grouping clauses that are not functions, keywords or numbers."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)              # string literals
    e = re.sub(r"\{[^}]*\}", "", e)                          # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                         # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\{?\w+\}?", "", e)                        # Grafana variables
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        word, rest = m.group(0), e[m.end():].lstrip()
        if word.lower() in KEYWORDS or rest.startswith("("):
            continue
        if re.fullmatch(r"\d.*", word):
            continue
        names.add(word)
    return names

dashboard = json.load(open(dashboard_path))
assert dashboard.get("schemaVersion", 0) >= 36, "schemaVersion"
variables = {v["name"]: v for v in dashboard["templating"]["list"]}
assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
exprs = []
def walk(node, where):
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            exprs.append((where, node["expr"]))
        if node.get("datasource") and isinstance(node["datasource"], dict) and "uid" in node["datasource"]:
            assert node["datasource"]["uid"] == "${datasource}", f"{where}: datasource {node['datasource']}"
        for key, value in node.items():
            walk(value, node.get("title", where) if isinstance(node.get("title"), str) else where)
    elif isinstance(node, list):
        for item in node:
            walk(item, where)
walk(dashboard, "dashboard")
# label_values(METRIC, label) in the templating variables.
for v in dashboard["templating"]["list"]:
    q = v.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    for m in re.finditer(r"label_values\((\w+)", q or ""):
        exprs.append((f"variable {v['name']}", m.group(1)))
rules = [(f"rule {m.group(1)}", m.group(2)) for m in re.finditer(
    r"- alert: (\w+)\n\s+(?:#.*\n\s+)*expr: (\|\n(?:\s{10,}.*\n)+|.*\n)", open(rules_path).read())]
assert len(rules) >= 8, f"parsed {len(rules)} rules"
missing, used = [], set()
for where, expr in exprs + rules:
    names = metric_names(expr)
    assert names, f"{where}: no metric in {expr!r}"
    used |= names
    missing += [(where, n) for n in sorted(names - exposed)]
print(f"dashboard: {len(dashboard['panels'])} panels, {len(exprs)} queries; rules: {len(rules)}; "
      f"{len(used)} metric names, all exposed: {', '.join(sorted(used))}")
if missing:
    sys.exit("not exposed by the server: " + "; ".join(f"{w}: {n}" for w, n in missing))
PY

step "Prometheus scraping it every second, with the rules (for: 0s)"
prom_port=$(free_port)
prom="http://127.0.0.1:$prom_port"
# The production rules wait `for:` 2-10 minutes before firing; the test copy fires at once, so
# the test is bounded. Expressions and everything else are unchanged.
sed -E 's/^([[:space:]]*for:).*/\1 0s/' deploy/prometheus/alerts.yml >"$work/alerts.yml"
cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $work/alerts.yml
scrape_configs:
  - job_name: mimamori
    static_configs:
      - targets: ["127.0.0.1:$port"]
YML
promtool check config "$work/prometheus.yml" >/dev/null
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!

# alerts_json: Prometheus' /api/v1/alerts.
alerts_json() { http "$prom/api/v1/alerts"; }
scraped_up() {
    kill -0 "$prometheus_pid" 2>/dev/null || fail "prometheus exited"
    http -G "$prom/api/v1/query" --data-urlencode 'query=up{job="mimamori"} == 1' 2>/dev/null \
        | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["data"]["result"] else 1)' 2>/dev/null
}
wait_for 30 "Prometheus to scrape mimamori (up == 1)" scraped_up
# Every rule evaluated at least once and without error, and none fires while all is well.
healthy() {
    http "$prom/api/v1/rules" >"$work/rules.json" 2>/dev/null && alerts_json >"$work/alerts.json" 2>/dev/null || return 1
    python3 - "$work/rules.json" "$work/alerts.json" <<'PY'
import json, sys
rules = [r for g in json.load(open(sys.argv[1]))["data"]["groups"] for r in g["rules"]]
bad = [(r["name"], r.get("lastError")) for r in rules if r.get("health") != "ok"]
firing = [a["labels"]["alertname"] for a in json.load(open(sys.argv[2]))["data"]["alerts"]]
if bad or firing or len(rules) < 8:
    print(f"  not yet: {len(rules)} rules, unhealthy {bad}, active {firing}", file=sys.stderr)
    sys.exit(1)
print(f"  {len(rules)} rules evaluated, all healthy; no alert active")
PY
}
wait_for 30 "all rules healthy and no alert active" healthy

step "stopping mimamori serve: MimamoriDown must fire"
stop "$server_pid"
stopped_at=$(date +%s)
firing() {
    alerts_json >"$work/alerts.json" 2>/dev/null || return 1
    python3 - "$work/alerts.json" "127.0.0.1:$port" <<'PY'
import json, sys
alerts = json.load(open(sys.argv[1]))["data"]["alerts"]
for a in alerts:
    if a["labels"].get("alertname") == "MimamoriDown" and a["state"] == "firing" \
            and a["labels"].get("instance") == sys.argv[2]:
        print(json.dumps(a, indent=2))
        sys.exit(0)
sys.exit(1)
PY
}
wait_for 60 "MimamoriDown to fire" firing
step "MimamoriDown fired $(( $(date +%s) - stopped_at ))s after the server stopped"
echo "observability: 3 passed, 0 failed"
