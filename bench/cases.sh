#!/usr/bin/env bash
# cases.sh measures issue #7's case numbers on this machine, in one run: the
# case list (API and console) and the case page (API and console) with 100k
# cases and 1M linked alerts stored, served by the tansa binary, at 1 and 4
# connections with bench/loadgen, and the server's CPU time per request
# (utime+stime from /proc/PID/stat around each URL's run).
#
# The peer, TheHive, cannot run here (a JVM with Elasticsearch/Cassandra,
# far beyond this 2-CPU machine's share); its figure is the one its users
# report: 10 s page loads at 8k cases (docs/benchmarks.md says where).
#
# Usage: bench/cases.sh
# Environment: TANSA_BENCH_DIR (work directory, default /tmp/tansa-casebench;
# the seeded data directory in it is reused when present), CASES (100000),
# DUR (per URL, default 5s), CONNS (default "1 4").
set -euo pipefail
cd "$(dirname "$0")/.."
W=${TANSA_BENCH_DIR:-/tmp/tansa-casebench}
CASES=${CASES:-100000}
DUR=${DUR:-5s}
CONNS=${CONNS:-1 4}
PW=bench-password-1
API=127.0.0.1:18095
mkdir -p "$W"
W=$(cd "$W" && pwd)
SEEDED=$W/cases-$CASES
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
say() { printf '\n### %s\n\n' "$*"; }
wait_ready() {
	for _ in $(seq 3000); do
		curl -fs -o /dev/null "http://$1/healthz" && return 0
		sleep 0.01
	done
	echo "not ready: $1" >&2
	return 1
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

say "Machine"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "nproc: $(nproc); cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1); memory: $(free -m | awk '/^Mem:/ {print $2 " MB"}')"
echo "go: $(go version)"
echo "load at start: $(uptime)"
echo "commit: $(git rev-parse --short HEAD); uncommitted files: $(git status --short -- cmd internal bench | wc -l)"

say "Build"
go build -o "$W/tansa" ./cmd/tansa
go build -o "$W/loadgen" ./bench/loadgen
go build -o "$W/caseseed" ./bench/caseseed

say "Seed"
if [[ -f $SEEDED/tansa.db ]]; then
	echo "reusing $SEEDED"
	cat "$W/seed-$CASES.log" 2>/dev/null || true
else
	rm -rf "$SEEDED"
	/usr/bin/time -v "$W/caseseed" -data "$SEEDED" -cases "$CASES" 2>"$W/seed-time.log" | tee "$W/seed-$CASES.log"
	grep -E 'Elapsed|Maximum resident' "$W/seed-time.log"
fi
ls -l "$SEEDED"

TANSA_ADMIN_PASSWORD=$PW "$W/tansa" serve --data "$SEEDED" --listen "$API" >"$W/serve.log" 2>&1 &
SERVER=$!
pids+=("$SERVER")
wait_ready "$API"

say "Credentials and objects"
TOKEN=$("$W/tansa" token create --data "$SEEDED" --role provider-admin --name "bench-$(date +%s)")
COOKIE=$(curl -fs -o /dev/null -D - -d "username=admin&password=$PW" "http://$API/login" |
	sed -n 's/^Set-Cookie: \(tansa_session=[^;]*\).*/\1/ip' | head -1)
[[ -n $COOKIE ]] || { echo "login failed" >&2; exit 1; }
first() { curl -fs -H "Authorization: Bearer $TOKEN" "http://$API$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
TENANT=$(first "/api/v1/tenants?limit=1" id)
OPEN=$(first "/api/v1/cases?limit=1&state=open&tenant=$TENANT" id)
CLOSED=$(first "/api/v1/cases?limit=1&state=closed&sort=created" id)
ALERT=$(curl -fs -H "Authorization: Bearer $TOKEN" "http://$API/api/v1/cases/$CLOSED" | grep -o '"alert_ids":\["[^"]*"' | cut -d'"' -f4)
echo "tenant $TENANT; open case $OPEN; oldest closed case $CLOSED; one of its alerts $ALERT"
curl -fs -H "Authorization: Bearer $TOKEN" "http://$API/api/v1/cases?limit=0" | grep -o '"total":[0-9]*'
curl -fs -H "Authorization: Bearer $TOKEN" "http://$API/api/v1/cases?limit=0&tenant=$TENANT" | grep -o '"total":[0-9]*'
echo "alerts stored (internal/alert's list, all tenants): $(curl -fs -H "Authorization: Bearer $TOKEN" "http://$API/api/v1/alerts?limit=0" | grep -o '"total":[0-9]*')"
echo "alert $ALERT through the alert API: $(curl -fs -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://$API/api/v1/alerts/$ALERT")"

api_urls=(
	"/api/v1/cases?limit=50"
	"/api/v1/cases?limit=50&state=open"
	"/api/v1/cases?limit=50&tenant=$TENANT"
	"/api/v1/cases?limit=50&tenant=$TENANT&state=open&severity=high"
	"/api/v1/cases?limit=50&breached=true&state=open"
	"/api/v1/cases?limit=50&sort=-severity"
	"/api/v1/cases?limit=50&q=%E7%B5%8C%E7%90%86"
	"/api/v1/cases?limit=50&alert=$ALERT"
	"/api/v1/cases?limit=50&offset=50000"
	"/api/v1/cases/$OPEN"
	"/api/v1/cases/$CLOSED"
	"/api/v1/case-tracker?limit=50&tenant=$TENANT"
)
page_urls=(
	"/cases"
	"/cases?tenant=$TENANT&state=open&severity=high"
	"/cases/$OPEN"
	"/cases/$OPEN?tab=tasks"
	"/cases/$CLOSED?tab=timeline"
	"/tracker?tenant=$TENANT"
)

say "Latency and CPU per request"
echo "| URL | c | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | statuses / errors | server CPU ms/req |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"
measure() { # conns header url
	local before after row n
	before=$(ticks "$SERVER")
	row=$("$W/loadgen" -header=false -warmup 2 -c "$1" -d "$DUR" -H "$2" "http://$API$3")
	after=$(ticks "$SERVER")
	n=$(echo "$row" | awk -F'|' '{gsub(/ /, "", $4); print $4}')
	echo "$row" | sed "s#http://$API##" | awk -v t=$((after - before)) -v n="$n" -v hz="$(getconf CLK_TCK)" '{ printf "%s %.2f |\n", $0, (n > 0 ? t * 1000 / hz / n : 0) }'
}
for c in $CONNS; do
	for u in "${api_urls[@]}"; do measure "$c" "Authorization: Bearer $TOKEN" "$u"; done
	for u in "${page_urls[@]}"; do measure "$c" "Cookie: $COOKIE" "$u"; done
done

say "Tracker CSV export (every tenant, all rows)"
echo "tracker total: $(curl -fs -H "Authorization: Bearer $TOKEN" "http://$API/api/v1/case-tracker?limit=0" | grep -o '"total":[0-9]*')"
before=$(ticks "$SERVER")
curl -fs -o "$W/tracker.csv" -w 'HTTP %{http_code}, %{size_download} bytes in %{time_total} s\n' -H "Authorization: Bearer $TOKEN" "http://$API/api/v1/case-tracker?format=csv"
after=$(ticks "$SERVER")
echo "CSV rows (without the header): $(($(wc -l <"$W/tracker.csv") - 1)); server CPU: $(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f s", t / hz }')"

say "Done"
echo "load at end: $(uptime)"
