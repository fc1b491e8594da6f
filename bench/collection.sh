#!/usr/bin/env bash
# Collection benchmarks (issue #3), side by side with rsyslogd and evtxexport.
#
#   apt-get install -y rsyslog libevtx-utils
#   bench/collection.sh            # N=300000 LOAD_SECS=300; PERF=1 profiles step 2
#   KEEP=1 keeps the work directory
#
# One tansa server (127.0.0.1:18100, syslog TCP on 127.0.0.1:15514) and one
# private rsyslogd (imptcp on 127.0.0.1:15515 → omfile), both stopped on exit:
#   1. TCP syslog, N mixed lines (FortiGate/CEF/sshd), tansa then rsyslogd,
#      the same stream (same -offset), wall time until all are stored;
#   2. HEC /raw in batches of 500 from 4 senders, N FortiGate lines; the
#      growth of events.db after a WAL checkpoint / N is the bytes per event;
#   3. tansa ingest of $TANSA_SHARED_DATA/evtx against evtxexport of the
#      same files, and evtxinfo's record counts;
#   4. more HEC load for LOAD_SECS, then observable and free-text search
#      latency with bench/loadgen.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-300000}
LOAD_SECS=${LOAD_SECS:-300}
EVTX=${TANSA_SHARED_DATA:-/work/shared/data}/evtx
# REUSE=DIR continues in the kept work directory of an earlier run
# (KEEP=1) from step FROM (default 3), over the events it stored.
if [ -n "${REUSE:-}" ]; then
	WORK=$REUSE FROM=${FROM:-3} KEEP=1
else
	WORK=$(mktemp -d /tmp/tansa-collection.XXXXXX)
fi
FROM=${FROM:-1}
DATA=$WORK/data
PORT=18100
URL=http://127.0.0.1:$PORT
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
stamp() { echo "== $(date -u +%H:%M:%S) $* | $(uptime | sed 's/.*load/load/')"; }
# cpu PID prints the user+system CPU seconds the process has used so far
# (getrusage's figures, as /proc/PID/stat keeps them).
TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
# measured CMD... runs a load command and prints the server's CPU seconds
# over it and per stored event (N events).
measured() {
	local c0 c1
	c0=$(cpu "$TPID")
	"$@"
	c1=$(cpu "$TPID")
	echo "server CPU: $(echo "$c1 - $c0" | bc) s for $N events: $(echo "scale=2; ($c1 - $c0) * 1000000 / $N" | bc) µs per event"
}

stamp "build"
go build -o "$WORK/tansa" ./cmd/tansa
go build -o "$WORK/syslogload" ./bench/syslogload
go build -o "$WORK/loadgen" ./bench/loadgen
T=$WORK/tansa
go version; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | sed -n 2p
rsyslogd -v | head -1; evtxexport -V 2>&1 | head -1 || true

TENANT=$($T tenant create --data "$DATA" --name "Bench $FROM")
cat >"$WORK/tansa.yaml" <<EOF
syslog:
  - {protocol: tcp, listen: "127.0.0.1:15514", tenant: "$TENANT"}
EOF
INGEST=$($T token create --data "$DATA" --role ingest --tenant "$TENANT" --name bench)
READER=$($T token create --data "$DATA" --role provider-analyst --name bench-reader)
TANSA_ADMIN_PASSWORD=bench-password-123 $T serve --data "$DATA" --listen 127.0.0.1:$PORT --config "$WORK/tansa.yaml" >"$WORK/serve.log" 2>&1 &
TPID=$!
pids+=("$TPID")
for _ in $(seq 500); do curl -fs $URL/healthz >/dev/null && break; sleep 0.02; done
echo "tansa pid $TPID, tenant $TENANT"

mkdir -p "$WORK/rsyslog"
cat >"$WORK/rsyslog.conf" <<EOF
global(workDirectory="$WORK/rsyslog")
module(load="imptcp")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="bench") { action(type="omfile" file="$WORK/rsyslog.out" template="raw") }
input(type="imptcp" address="127.0.0.1" port="15515" ruleset="bench")
EOF
rsyslogd -n -f "$WORK/rsyslog.conf" -i "$WORK/rsyslog.pid" >"$WORK/rsyslog.log" 2>&1 &
pids+=("$!")
sleep 1

dbsize() { stat -c %s "$DATA/events.db"; }
checkpoint() { sqlite3 "$DATA/events.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null; }

if [ "$FROM" -le 2 ]; then
for conns in ${CONNS:-1 4}; do
	stamp "1. TCP syslog -> tansa, N=$N conns=$conns"
	measured "$WORK/syslogload" -addr 127.0.0.1:15514 -n "$N" -conns $conns -offset $((conns * N)) -metrics $URL/metrics
	stamp "1. TCP syslog -> rsyslogd, N=$N conns=$conns (same lines)"
	r0=$(cpu "$(cat "$WORK/rsyslog.pid")")
	"$WORK/syslogload" -addr 127.0.0.1:15515 -n "$N" -conns $conns -offset $((conns * N)) -file "$WORK/rsyslog.out"
	echo "rsyslogd CPU: $(echo "$(cpu "$(cat "$WORK/rsyslog.pid")") - $r0" | bc) s"
done
checkpoint
stamp "after syslog: events.db $(dbsize) B for $((2 * N)) mixed events"

checkpoint
before=$(dbsize)
stamp "2. HEC /raw batch 500, 4 senders, N=$N FortiGate lines"
if [ -n "${PERF:-}" ] && command -v perf >/dev/null; then
	perf record -F 499 -g -p "$TPID" -o "$WORK/perf.data" -- sleep 20 >/dev/null 2>&1 &
	perfpid=$!
fi
measured "$WORK/syslogload" -hec $URL -token "$INGEST" -n "$N" -conns 4 -batch 500 -fw -offset $((10 * N)) -metrics $URL/metrics
if [ -n "${perfpid:-}" ]; then
	wait "$perfpid" || true
	perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,sym --percent-limit 1.5 -g none 2>/dev/null | grep -v '^$' | head -60 || true
	perf report -i "$WORK/perf.data" --stdio --children --sort sym --percent-limit 5 -g none 2>/dev/null | grep -v '^$' | head -60 || true
fi
checkpoint
after=$(dbsize)
echo "storage: events.db $before -> $after B after checkpoint: $(((after - before) / N)) B per FortiGate event"
ls -l "$DATA"
fi

[ -z "${STOP:-}" ] || [ "$STOP" -gt 2 ] || exit 0
if [ "$FROM" -le 3 ]; then
stamp "3. EVTX: evtxinfo counts, evtxexport time, tansa ingest"
find "$EVTX" -name '*.evtx' -print0 | sort -z >"$WORK/evtx.list"
total=0
while IFS= read -r -d '' f; do
	c=$(evtxinfo "$f" 2>/dev/null | awk -F': *' '/^\tNumber of records/ {print $2; exit}' || true)
	total=$((total + ${c:-0}))
done <"$WORK/evtx.list"
echo "evtxinfo: $(tr -cd '\0' <"$WORK/evtx.list" | wc -c) files, $total records"
/usr/bin/time -f "evtxexport (text, one file at a time): %e s wall, %U s user, %S s sys" \
	xargs -0 -n1 sh -c 'evtxexport "$0" >/dev/null 2>&1 || true' <"$WORK/evtx.list"
/usr/bin/time -f "evtxexport -f xml: %e s wall, %U s user, %S s sys" \
	xargs -0 -n1 sh -c 'evtxexport -f xml "$0" >/dev/null 2>&1 || true' <"$WORK/evtx.list"
exported=$(xargs -0 -n1 sh -c 'evtxexport "$0" 2>/dev/null || true' <"$WORK/evtx.list" | grep -c '^Event number' || true)
echo "evtxexport: $exported records printed"
base=$(curl -s $URL/metrics | awk '/^tansa_events_stored_total/ {s += $2} END {printf "%d", s}')
c0=$(cpu "$TPID")
start=$(date +%s.%N)
/usr/bin/time -f "tansa ingest client: %e s wall, %U s user, %S s sys" \
	xargs -0 "$T" ingest --server $URL --token "$INGEST" --parallel 4 --state "$WORK/ingest-state.json" <"$WORK/evtx.list" >"$WORK/ingest.out" 2>&1 || true
sent=$(date +%s.%N)
tail -3 "$WORK/ingest.out"
for _ in $(seq 3000); do
	now=$(curl -s $URL/metrics | awk '/^tansa_events_stored_total/ {s += $2} END {printf "%d", s}')
	[ $((now - base)) -ge "$total" ] && break
	sleep 0.1
done
end=$(date +%s.%N)
echo "server CPU for the import: $(echo "$(cpu "$TPID") - $c0" | bc) s"
echo "tansa ingest: $((now - base)) of $total stored; sent in $(echo "$sent - $start" | bc) s, stored in $(echo "$end - $start" | bc) s: $(echo "($now - $base) / ($end - $start)" | bc) records/s"

fi

[ -z "${STOP:-}" ] || [ "$STOP" -gt 3 ] || exit 0
total() { curl -s -H "Authorization: Bearer $READER" "$URL/api/v1/events?limit=0" | sed 's/.*"total":\([0-9]*\).*/\1/'; }
if [ "$FROM" -le 4 ]; then
stamp "4. more load for ${LOAD_SECS}s (HEC, mixed lines)"
loaded=$(total)
# In chunks of 50 000 that are each waited for until stored, so the bus's
# backlog stays bounded and the loaded count is what the store took.
end_load=$(($(date +%s) + LOAD_SECS))
chunk=0
while [ "$(date +%s)" -lt "$end_load" ]; do
	"$WORK/syslogload" -hec $URL -token "$INGEST" -n 50000 -conns 4 -batch 500 -offset $((20 * N + chunk * 50000)) -metrics $URL/metrics | tail -1
	chunk=$((chunk + 1))
done
stored_now() { curl -s $URL/metrics | awk '/^tansa_events_stored_total/ {s += $2} END {printf "%d", s}'; }
last=-1
for _ in $(seq 600); do # until the stored count stops growing for 3 s
	now=$(stored_now)
	[ "$now" = "$last" ] && break
	last=$now
	sleep 3
done
sleep 2
stamp "stored events: $(total) (loaded $(($(total) - loaded)) in ${LOAD_SECS}s + drain)"
checkpoint
ls -l "$DATA"
fi
total_events=$(total)

stamp "5. search latency over $total_events events"
since=$(date -u -d '30 days ago' +%Y-%m-%dT%H:%M:%SZ)
for c in 1 4; do
	"$WORK/loadgen" -c $c -d 10s -grace 10s -H "Authorization: Bearer $READER" \
		"$URL/api/v1/events?limit=0&observable=203.0.113.5&since=$since" \
		"$URL/api/v1/events?limit=50&observable=203.0.113.5&since=$since" \
		"$URL/api/v1/events?limit=50&q=admin123" \
		"$URL/api/v1/events?limit=0&q=admin123" \
		"$URL/api/v1/events?limit=50&q=deny" \
		"$URL/api/v1/events?limit=50&q=%22Failed%20password%22"
done
for q in "observable=203.0.113.5&since=$since" "q=admin123" "q=deny" "q=%22Failed%20password%22"; do
	echo "$q: $(curl -s -H "Authorization: Bearer $READER" "$URL/api/v1/events?limit=0&$q")"
done
stamp "done"
