#!/bin/sh
# bench/hunt.sh — "tansa hunt" with every SigmaHQ Windows rule over the
# shared EVTX samples, beside libevtx's evtxexport parsing the same files
# in the same run.
#
# Usage: TANSA_SHARED_DATA=/work/shared/data [BEFORE=REV] bench/hunt.sh [workers]
#
# BEFORE names a git revision whose tansa is measured in the same run
# (before/after figures side by side). Needs /usr/bin/time (GNU time, for
# peak RSS) and evtxexport (libevtx-utils, installed with apt-get when
# missing and this runs as root). Prints, per run: wall time,
# CPU time (user+sys), peak RSS, MB/s of EVTX per wall second and per
# CPU second ("per core": what one core would do alone).
set -eu

data=${TANSA_SHARED_DATA:?set TANSA_SHARED_DATA to the shared test data}
workers=${1:-$(nproc)}
rules=$data/sigma/rules/windows
evtx=$data/evtx
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cd "$(dirname "$0")/.."
if ! command -v evtxexport >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q libevtx-utils >/dev/null
	else
		echo "evtxexport is missing: apt-get install libevtx-utils" >&2
		exit 1
	fi
fi
go build -o "$out/tansa" ./cmd/tansa
if [ -n "${BEFORE:-}" ]; then
	git worktree add -q --detach "$out/before-src" "$BEFORE"
	(cd "$out/before-src" && go build -o "$out/tansa-before" ./cmd/tansa)
	git worktree remove --force "$out/before-src"
fi

find "$evtx" -name '*.evtx' -type f | sort >"$out/files"
bytes=$(xargs -d '\n' stat -c %s <"$out/files" | awk '{s+=$1} END {print s}')
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GB", $2/1e6}' /proc/meminfo)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
echo "input:   $(wc -l <"$out/files") EVTX files, $(awk -v b="$bytes" 'BEGIN {printf "%.1f MB", b/1e6}') under $evtx"
echo "rules:   $rules"
echo

# measure NAME CMD... runs CMD under GNU time and prints one line.
measure() {
	name=$1
	shift
	/usr/bin/time -v -o "$out/time" "$@" >/dev/null 2>"$out/stderr" || { cat "$out/stderr" "$out/time"; exit 1; }
	awk -v name="$name" -v bytes="$bytes" -F': ' '
		/User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {rss=$2}
		/Elapsed \(wall clock\)/ {n=split($2, p, ":"); w=0; for (i=1; i<=n; i++) w=w*60+p[i]}
		END {cpu=u+s; printf "%-34s wall %7.2f s  cpu %7.2f s  peak RSS %6.0f MB  %6.2f MB/s wall  %6.2f MB/s per core\n",
			name, w, cpu, rss/1024, bytes/1e6/w, bytes/1e6/cpu}' "$out/time"
}

measure "tansa hunt (workers $workers)" "$out/tansa" hunt --rules "$rules" --workers "$workers" "$evtx"
grep -E 'rules:|input:|matches:|elapsed:' "$out/stderr" | sed 's/^/    /'
measure "tansa hunt (workers 1)" "$out/tansa" hunt --rules "$rules" --workers 1 "$evtx"
if [ -n "${BEFORE:-}" ]; then
	measure "tansa hunt $BEFORE (workers 1)" "$out/tansa-before" hunt --rules "$rules" --workers 1 "$evtx"
	grep -E 'matches:' "$out/stderr" | sed 's/^/    /'
fi
# The fixed cost of parsing and compiling the rules, over one tiny file,
# and the cost of decoding alone, with one rule.
first=$(head -n 1 "$out/files")
printf 'title: t\nlogsource: {product: windows}\ndetection: {s: {EventID: -1}, condition: s}\n' >"$out/one.yml"
measure "  rules load only (1 small file)" "$out/tansa" hunt --rules "$rules" --workers 1 "$first"
measure "  decode only (1 rule, workers 1)" "$out/tansa" hunt --rules "$out/one.yml" --workers 1 "$evtx"
# evtxexport reads one file per process and fails on a few damaged samples;
# its failures do not stop the run (peak RSS is its largest process).
measure "evtxexport (text, 1 core)" sh -c 'xargs -d "\n" -n 1 evtxexport <"$0"; exit 0' "$out/files"
measure "evtxexport -f xml (1 core)" sh -c 'xargs -d "\n" -n 1 evtxexport -f xml <"$0"; exit 0' "$out/files"
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
