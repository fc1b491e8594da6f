#!/usr/bin/env bash
# foundation.sh measures issue #2's numbers on this machine, in one run:
# time to ready (empty and 1M-audit data directories), idle RSS, binary size,
# and list-API and console-page latency under load from wrk and bench/loadgen
# at 1, 8 and 32 connections, next to a static file from the standard
# library's http.FileServer (bench/staticpeer) as the machine's floor; then
# the Go benchmarks of the store calls (bench/store_test.go).
#
# Usage: bench/foundation.sh            (from the repository root or anywhere)
# Environment: TANSA_BENCH_DIR (work directory, default /tmp/tansa-benchdata;
# the seeded data directory in it is reused when present), DUR (per URL and
# connection count, default 5s, at most 20s), CONNS (default "1 8 32").
# Needs wrk (apt-get install -y wrk). Every server listens on 127.0.0.1 and
# is stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
W=${TANSA_BENCH_DIR:-/tmp/tansa-benchdata}
DUR=${DUR:-5s}
CONNS=${CONNS:-1 8 32}
PW=bench-password-1
SEEDED=$W/seeded-1m
API=127.0.0.1:18091
STATIC=127.0.0.1:18092
READY=127.0.0.1:18090
mkdir -p "$W"
W=$(cd "$W" && pwd)
OUT=$W/results
rm -rf "$OUT" && mkdir -p "$OUT"

pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT INT TERM

say() { printf '\n### %s\n\n' "$*"; }
# rss prints the process's resident set and, from its /metrics, how much of
# it the Go heap holds in use and idle (not yet returned to the OS).
rss() { # pid address
	awk '/^VmRSS|^VmHWM/ {printf "%s %d MB  ", $1, $2/1024}' "/proc/$1/status"
	curl -fs "http://$2/metrics" | awk '/^go_memstats_(heap_inuse|heap_idle|heap_released|sys)_bytes / {
		sub(/^go_memstats_/, "", $1); sub(/_bytes$/, "", $1); printf "%s %.1f MB  ", $1, $2/1048576}'
	echo
}
wait_ready() { # address [path]
	for _ in $(seq 1000); do
		curl -fs -o /dev/null "http://$1${2:-/healthz}" && return 0
		sleep 0.01
	done
	echo "not ready: $1" >&2
	return 1
}

say "Machine"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "nproc: $(nproc)"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MB"}')"
echo "go: $(go version)"
echo "kernel: $(uname -r)"
echo "load at start: $(uptime)"
echo "commit: $(git rev-parse --short HEAD); uncommitted files in the build: $(git status --short -- cmd internal | wc -l)"

say "Build"
go build -o "$W/tansa" ./cmd/tansa
go build -ldflags "-s -w" -o "$W/tansa-stripped" ./cmd/tansa
for p in seed loadgen readytime staticpeer; do
	go build -o "$W/$p" "./bench/$p"
done
ls -l "$W/tansa" "$W/tansa-stripped" | awk '{printf "%s %d bytes (%.1f MB)\n", $NF, $5, $5/1048576}'

say "Seed"
if [[ -f $SEEDED/tansa.db ]]; then
	echo "reusing $SEEDED (seed log below)"
	cat "$W/seed.log" 2>/dev/null || true
else
	rm -rf "$SEEDED"
	"$W/seed" -data "$SEEDED" -tenants 50 -users 100000 -tokens 100000 -audit 1000000 -password "$PW" | tee "$W/seed.log"
fi
ls -l "$SEEDED"

say "Time to ready"
mkdir -p "$W/fresh"
echo "(a) empty data directory, a new one for each start:"
"$W/readytime" -bin "$W/tansa" -data "$W/fresh" -fresh -n 5 -listen "$READY"
rm -rf "$W/fresh"
echo "(b) 100k users, 100k tokens, 1M audit entries:"
"$W/readytime" -bin "$W/tansa" -data "$SEEDED" -n 5 -listen "$READY"

say "Idle RSS"
rm -rf "$W/empty"
TANSA_ADMIN_PASSWORD=$PW "$W/tansa" serve --data "$W/empty" --listen "$READY" >"$OUT/empty.log" 2>&1 &
pid=$!
pids+=("$pid")
wait_ready "$READY"
sleep 5
echo "empty data directory, 5 s idle: $(rss "$pid" "$READY")"
kill "$pid" && wait "$pid" || true

TANSA_ADMIN_PASSWORD=$PW "$W/tansa" serve --data "$SEEDED" --listen "$API" >"$OUT/serve.log" 2>&1 &
SERVER=$!
pids+=("$SERVER")
wait_ready "$API"
sleep 5
echo "1M-audit data directory, 5 s idle: $(rss "$SERVER" "$API")"

say "Credentials"
TOKEN=$("$W/tansa" token create --data "$SEEDED" --role provider-admin --name "bench-$(date +%s)")
echo "API token: ${TOKEN:0:12}…"
COOKIE=$(curl -fs -o /dev/null -D - -d "username=admin&password=$PW" "http://$API/login" |
	sed -n 's/^Set-Cookie: \(tansa_session=[^;]*\).*/\1/ip' | head -1)
[[ -n $COOKIE ]] || { echo "login failed" >&2; exit 1; }
echo "session cookie: ${COOKIE:0:20}…"

api_urls=(
	"/api/v1/users?limit=50"
	"/api/v1/users?limit=50&q=yamada"
	"/api/v1/users?limit=50&offset=50000"
	"/api/v1/tokens?limit=50"
	"/api/v1/tokens?limit=50&offset=50000"
	"/api/v1/audit?limit=50"
	"/api/v1/audit?limit=50&offset=500000"
	"/api/v1/audit?limit=50&action=user."
	"/api/v1/tenants"
	"/api/v1/tenants?q=tenant%20001"
)
page_urls=()
say "Console pages"
for p in / /admin/users /admin/tokens /admin/audit /admin/tenants; do
	code=$(curl -s -o "$OUT/page.html" -w '%{http_code}' -b "$COOKIE" "http://$API$p")
	if [[ $code == 200 ]]; then
		page_urls+=("$p")
		echo "$p: 200, $(wc -c <"$OUT/page.html") bytes — measured"
	else
		echo "$p: $code — not measured"
	fi
done

# The static peer serves copies of two console pages as they are now, so the
# bytes on the wire match.
mkdir -p "$W/static"
curl -fs -b "$COOKIE" "http://$API/" -o "$W/static/home.html"
curl -fs -b "$COOKIE" "http://$API/admin/users" -o "$W/static/users.html" || cp "$W/static/home.html" "$W/static/users.html"
"$W/staticpeer" -dir "$W/static" -listen "$STATIC" >"$OUT/static.log" 2>&1 &
pids+=("$!")
wait_ready "$STATIC" /home.html
static_urls=(/home.html /users.html)
ls -l "$W/static"

header='| URL | c | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | statuses / errors |
|---|---:|---:|---:|---:|---:|---:|---:|---|'

run_loadgen() { # conns, auth header, base, urls…
	local c=$1 h=$2 base=$3
	shift 3
	local args=()
	for u in "$@"; do args+=("http://$base$u"); done
	"$W/loadgen" -header=false -warmup 1 -c "$c" -d "$DUR" -H "$h" "${args[@]}"
}
run_wrk() { # conns, auth header, base, urls…
	local c=$1 h=$2 base=$3
	shift 3
	local t=$((c < 2 ? 1 : 2))
	for u in "$@"; do
		WRK_LABEL=$u WRK_CONNS=$c wrk -t"$t" -c"$c" -d"$DUR" --timeout 10s --latency -s bench/wrk-report.lua -H "$h" "http://$base$u" |
			grep '^| ' || true
	done
}

for gen in loadgen wrk; do
	say "Latency: $gen"
	echo "$header"
	for c in $CONNS; do
		"run_$gen" "$c" "Authorization: Bearer $TOKEN" "$API" "${api_urls[@]}"
		if ((${#page_urls[@]})); then
			"run_$gen" "$c" "Cookie: $COOKIE" "$API" "${page_urls[@]}"
		fi
		"run_$gen" "$c" "X-Peer: static" "$STATIC" "${static_urls[@]}"
	done
done

say "RSS after the load test"
echo "1M-audit data directory: $(rss "$SERVER" "$API")"
kill "$SERVER" && wait "$SERVER" || true

say "Go benchmarks of the store calls (server stopped)"
echo "load before: $(uptime)"
TANSA_BENCH_DATA=$SEEDED go test ./bench -run '^$' -bench . -benchtime 20x 2>&1 | grep -v '^goos\|^goarch\|^pkg\|^cpu'

say "Done"
echo "load at end: $(uptime)"
