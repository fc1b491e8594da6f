#!/usr/bin/env bash
# Live detection's CPU on the collection benchmark's ingest (issue #4:
# "with all rules enabled, detection adds ≤ 30 % CPU to the ingest
# benchmark of the collection issue").
#
#   bench/livedetect.sh     # N=100000 ROUNDS=3 CONNS=1 ATTACKS=50
#   KEEP=1 keeps the work directory
#
# One tansa server (127.0.0.1:18110) with two tenants, each with its own
# TCP syslog listener and ingest token:
#   off (127.0.0.1:15524): a rule policy that runs no rule, so live
#       detection has nothing to run for it (as with no rules imported);
#   on  (127.0.0.1:15525): every rule enabled, whatever its level and
#       status (PUT /api/v1/rules/settings, as the console's Rules page does).
# The whole SigmaHQ rules/ tree of $TANSA_SHARED_DATA/sigma is imported
# with `tansa rules import` as the global set sigmahq.
# Then ROUNDS times, off then on: step 1 of bench/collection.sh (N mixed
# FortiGate/CEF/sshd lines over TCP syslog, CONNS connections) and step 2
# (N FortiGate lines over HEC /raw, batches of 500, 4 senders), the same
# lines for both tenants; the server's CPU (utime+stime from
# /proc/PID/stat) over each, per stored event, and the detector's matches.
# Last, N/10 lines with one in ATTACKS a line SigmaHQ rules match
# (bench/loglines.Attack: FortiGate configuration changes, sshd errors,
# a kernel message) go to the on tenant, and its alerts are listed by rule.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-1}
ATTACKS=${ATTACKS:-50}
SIGMA=${TANSA_SHARED_DATA:-/work/shared/data}/sigma/rules
WORK=$(mktemp -d /tmp/tansa-livedetect.XXXXXX)
DATA=$WORK/data
PORT=18110
URL=http://127.0.0.1:$PORT
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
stamp() { echo "== $(date -u +%H:%M:%S) $* | $(uptime | sed 's/.*load/load/')"; }
TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
metric() { curl -s $URL/metrics | awk -v m="$1" '$1 ~ "^"m {s += $2} END {printf "%d", s}'; }

stamp "build"
go build -o "$WORK/tansa" ./cmd/tansa
go build -o "$WORK/syslogload" ./bench/syslogload
T=$WORK/tansa
go version; nproc; grep -m1 'model name' /proc/cpuinfo
echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo ' (with uncommitted changes)')"

OFF=$($T tenant create --data "$DATA" --name "Detection off")
ON=$($T tenant create --data "$DATA" --name "Detection on")
cat >"$WORK/tansa.yaml" <<EOF
syslog:
  - {protocol: tcp, listen: "127.0.0.1:15524", tenant: "$OFF"}
  - {protocol: tcp, listen: "127.0.0.1:15525", tenant: "$ON"}
EOF
declare -A TOKEN SYSLOG
TOKEN[off]=$($T token create --data "$DATA" --role ingest --tenant "$OFF" --name bench-off)
TOKEN[on]=$($T token create --data "$DATA" --role ingest --tenant "$ON" --name bench-on)
SYSLOG[off]=127.0.0.1:15524 SYSLOG[on]=127.0.0.1:15525
ADMIN=$($T token create --data "$DATA" --role provider-admin --name bench-admin)
TANSA_ADMIN_PASSWORD=bench-password-123 $T serve --data "$DATA" --listen 127.0.0.1:$PORT --config "$WORK/tansa.yaml" >"$WORK/serve.log" 2>&1 &
TPID=$!
pids+=("$TPID")
for _ in $(seq 500); do curl -fs $URL/healthz >/dev/null && break; sleep 0.02; done
echo "tansa pid $TPID; tenants off $OFF, on $ON"

stamp "import $SIGMA as the global set sigmahq"
echo "rule files: $(find "$SIGMA" -name '*.yml' | wc -l)"
$T rules import --server $URL --token "$ADMIN" --set sigmahq "$SIGMA" | head -5
put() {
	curl -fsS -X PUT -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
		"$URL/api/v1/rules/settings?tenant=$1" -d "$2" >/dev/null
}
put "$OFF" '{"min_level":"critical","statuses":[]}'
put "$ON" '{"min_level":"informational","statuses":["stable","test","experimental","deprecated","unsupported"]}'
echo "settings: off runs no rule; on runs every rule"

# run MODE STEP: one load step into MODE's tenant; prints the server's CPU
# per event and the detector's counters over it.
round=0
run() {
	local mode=$1 step=$2 c0 c1 m0 m1 e0 e1
	c0=$(cpu "$TPID") m0=$(metric tansa_detect_matches_total) e0=$(metric tansa_detect_events_total)
	case $step in
	syslog) "$WORK/syslogload" -addr "${SYSLOG[$mode]}" -n "$N" -conns "$CONNS" -offset $((round * N)) -metrics $URL/metrics | tail -1 ;;
	hec) "$WORK/syslogload" -hec $URL -token "${TOKEN[$mode]}" -n "$N" -conns 4 -batch 500 -fw -offset $((10 * N + round * N)) -metrics $URL/metrics | tail -1 ;;
	esac
	# Detection runs on a batch after it is stored: wait until it has seen
	# the whole step, or its CPU would be counted in the next step.
	if [ "$mode" = on ]; then
		for _ in $(seq 1200); do
			[ $(($(metric tansa_detect_events_total) - e0)) -ge "$N" ] && break
			sleep 0.1
		done
	fi
	c1=$(cpu "$TPID") m1=$(metric tansa_detect_matches_total) e1=$(metric tansa_detect_events_total)
	printf 'RESULT round=%d step=%s detection=%s cpu_s=%s us_per_event=%s evaluated=%d matches=%d\n' "$round" "$step" "$mode" \
		"$(echo "$c1 - $c0" | bc)" "$(echo "scale=1; ($c1 - $c0) * 1000000 / $N" | bc)" $((e1 - e0)) $((m1 - m0)) | tee -a "$WORK/results"
}
for round in $(seq 1 "$ROUNDS"); do
	for mode in off on; do
		stamp "round $round, detection $mode: 1. TCP syslog, N=$N mixed lines, conns=$CONNS"
		run $mode syslog
		stamp "round $round, detection $mode: 2. HEC /raw, N=$N FortiGate lines"
		run $mode hec
	done
done
stamp "summary (µs of server CPU per event)"
cat "$WORK/results"
for step in syslog hec; do
	for mode in off on; do
		grep "step=$step detection=$mode " "$WORK/results" | sed 's/.*us_per_event=\([0-9.]*\).*/\1/' | sort -n |
			awk -v s=$step -v m=$mode '{v[NR] = $1} END {printf "%s %s: median %.1f µs per event (%d runs, min %.1f, max %.1f)\n", s, m, (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), NR, v[1], v[NR]}'
	done
done

stamp "attack lines: N/10 lines, one in $ATTACKS matched by SigmaHQ rules, to the on tenant"
round=$((ROUNDS + 1))
"$WORK/syslogload" -addr "${SYSLOG[on]}" -n $((N / 10)) -conns 1 -attacks "$ATTACKS" -offset $((30 * N)) -metrics $URL/metrics | tail -1
sleep 1
for t in off on; do
	id=$OFF
	[ $t = on ] && id=$ON
	echo "alerts of tenant $t (rule: alerts, matches merged into them):"
	curl -fsS -H "Authorization: Bearer $ADMIN" "$URL/api/v1/alerts?tenant=$id&limit=500" |
		jq -r '"  \(.total) alerts", (.items | group_by(.rule_title) | map("  \(.[0].level)\t\(.[0].rule_title): \(length) alerts, \(map(.count) | add) matches") | .[])'
done
grep -c 'level=ERROR' "$WORK/serve.log" | sed 's/^/server log errors: /'
stamp "done"
