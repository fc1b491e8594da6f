#!/usr/bin/env bash
# EVTX import CPU per record (issue #3: ≥ 20,000 records/s per core),
# server and client, for one or more tansa binaries side by side:
#
#   bench/evtximport.sh [BINARY...]   # default: a build of this tree
#   INGEST_ARGS="--batch 500" adds flags to tansa ingest
#
# For each binary: a fresh data directory and server (127.0.0.1:18310),
# then tansa ingest --parallel 4 of every .evtx under
# $TANSA_SHARED_DATA/evtx; the server's CPU (utime+stime from
# /proc/PID/stat) from before the import until every record is stored, and
# the client's (/usr/bin/time), each per record. The parse-only rate of the
# EVTX library is BenchmarkReadEVTX (go test -bench ReadEVTX -cpu 1
# ./internal/normalize/winevt/).
set -euo pipefail
cd "$(dirname "$0")/.."
EVTX=${TANSA_SHARED_DATA:-/work/shared/data}/evtx
WORK=$(mktemp -d /tmp/tansa-evtximport.XXXXXX)
PORT=18310
URL=http://127.0.0.1:$PORT
TPID=
cleanup() {
	[ -z "$TPID" ] || kill "$TPID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
stored() { curl -s $URL/metrics | awk '/^tansa_events_stored_total/ {s += $2} END {printf "%d", s}'; }

bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
	go build -o "$WORK/tansa" ./cmd/tansa
	bins=("$WORK/tansa")
fi
find "$EVTX" -name '*.evtx' -print0 | sort -z >"$WORK/evtx.list"
total=$(xargs -0 -n1 sh -c 'evtxinfo "$0" 2>/dev/null | awk -F": *" "/^\tNumber of records/ {print \$2; exit}"' <"$WORK/evtx.list" | paste -sd+ | bc)
echo "$(tr -cd '\0' <"$WORK/evtx.list" | wc -c) files, $total records (evtxinfo)"
for T in "${bins[@]}"; do
	D=$WORK/data-$RANDOM
	TENANT=$($T tenant create --data "$D" --name E)
	TOK=$($T token create --data "$D" --role ingest --tenant "$TENANT" --name e)
	TANSA_ADMIN_PASSWORD=bench-password-123 $T serve --data "$D" --listen 127.0.0.1:$PORT >"$WORK/serve.log" 2>&1 &
	TPID=$!
	for _ in $(seq 500); do curl -fs $URL/healthz >/dev/null && break; sleep 0.02; done
	sleep 2
	echo "== $T | $(uptime | sed 's/.*load/load/')"
	c0=$(cpu "$TPID")
	start=$(date +%s.%N)
	/usr/bin/time -o "$WORK/client.time" -f "%e %U %S" \
		xargs -0 "$T" ingest --server $URL --token "$TOK" --parallel 4 ${INGEST_ARGS:-} --state "$D/st.json" <"$WORK/evtx.list" >"$WORK/ingest.out" 2>&1 || true
	for _ in $(seq 3000); do
		now=$(stored)
		[ "$now" -ge "$total" ] && break
		sleep 0.1
	done
	end=$(date +%s.%N)
	c1=$(cpu "$TPID")
	read -r wall user sys <"$WORK/client.time"
	tail -1 "$WORK/ingest.out"
	echo "stored $now of $total in $(echo "$end - $start" | bc) s wall | $(uptime | sed 's/.*load/load/')"
	echo "server CPU $(echo "$c1 - $c0" | bc) s: $(echo "($c1 - $c0) * 1000000 / $now" | bc) µs/record, $(echo "$now / ($c1 - $c0)" | bc) records/cpu-s"
	echo "client CPU $(echo "$user + $sys" | bc) s ($user user, $sys sys): $(echo "($user + $sys) * 1000000 / $now" | bc) µs/record, $(echo "$now / ($user + $sys)" | bc) records/cpu-s"
	kill "$TPID"
	wait "$TPID" 2>/dev/null || true
	TPID=
done
