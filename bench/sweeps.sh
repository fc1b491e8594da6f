#!/usr/bin/env bash
# sweeps.sh measures issue #6's numbers on this machine, in one run:
#   1. a full sweep of this Linux host with `tansa scan --local --out`
#      (wall, CPU, peak RSS, result size) at the default low priority and
#      CPU cap, with --normal-priority, and with --max-cpu 20 and 100;
#   2. YARA: the YARA-enabled build with signature-base's rules over the
#      files a sweep scans, side by side with Debian's yara over the same
#      file list with the same rules and externals;
#   3. the server ingesting N sealed synthetic results (bench/sweepload)
#      over HTTP with 50 tenants' scanner tokens, with its CPU time, then
#      the fleet views' latency with those endpoints stored.
#
# Usage: bench/sweeps.sh [scan|yara|server|all]   (default all)
# Environment: TANSA_BENCH_DIR (default /tmp/tansa-sweepbench), N (20000),
# RESWEEP (200), CONC (8), VIEWS_N (30), TANSA_SHARED_DATA
# (/work/shared/data). Needs /usr/bin/time and, for part 2, yara
# (apt-get install -y yara) and gcc. The server listens on 127.0.0.1 and
# is stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
W=${TANSA_BENCH_DIR:-/tmp/tansa-sweepbench}
N=${N:-20000}
RESWEEP=${RESWEEP:-200}
CONC=${CONC:-8}
VIEWS_N=${VIEWS_N:-30}
SHARED=${TANSA_SHARED_DATA:-/work/shared/data}
ADDR=127.0.0.1:18191
PW=bench-password-1
WHAT=${1:-all}
mkdir -p "$W"
W=$(cd "$W" && pwd)

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
say() { printf '\n### %s\n\n' "$*"; }
# timed runs a command under /usr/bin/time -v and prints wall, CPU and
# peak RSS on one line.
timed() { # label command…
	local label=$1
	shift
	/usr/bin/time -v -o "$W/time.txt" "$@" >"$W/stdout.txt" 2>"$W/stderr.txt" || true
	awk -v l="$label" -F': ' '/Elapsed/ {w=$2} /User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {r=$2}
		END {printf "| %s | %s | %.2f s (user %.2f + sys %.2f) | %.1f MB |\n", l, w, u+s, u, s, r/1024}' "$W/time.txt"
}

# waits runs a sweep with --verbose and splits its wall time into CPU
# time (getrusage, from /usr/bin/time), the pauses the --max-cpu throttle
# took (the sweep's own report) and the rest: waiting for a CPU (the
# machine's load; nice 10) or for the disk (the idle I/O class).
waits() { # label command…
	local label=$1
	shift
	/usr/bin/time -f "%e %U %S" -o "$W/time.txt" "$@" --verbose >/dev/null 2>"$W/stderr.txt" || true
	local paused
	paused=$(sed -n 's/.*swept in .*, of which \([0-9.]*\)\(m\?s\) paused.*/\1 \2/p' "$W/stderr.txt" | awk '{print ($2 == "ms") ? $1/1000 : $1}')
	awk -v l="$label" -v p="${paused:-0}" '{printf "| %s | %.2f s | %.2f s | %.2f s | %.2f s |\n", l, $1, $2+$3, p, $1-$2-$3-p}' "$W/time.txt"
}

say "Machine"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "nproc: $(nproc); cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1); memory: $(free -m | awk '/^Mem:/ {print $2 " MB"}')"
echo "go: $(go version); kernel: $(uname -r)"
echo "commit: $(git rev-parse --short HEAD)"
echo "load at start: $(uptime)"

say "Build"
go build -o "$W/tansa" ./cmd/tansa
go build -o "$W/sweepload" ./bench/sweepload
if [[ $WHAT == all || $WHAT == yara ]]; then
	CGO_ENABLED=1 go build -tags yara -o "$W/tansa-yara" ./cmd/tansa
fi
# The binaries are run as copies: a file just written by Go's linker
# showed 10–20 MB more of its pages resident in the process that runs it
# than a copy of the same file (measured side by side, 06:10 UTC), and an
# endpoint runs a binary that was copied or downloaded to it.
for b in "$W"/tansa "$W"/tansa-yara; do
	[[ -f $b ]] && cp "$b" "$b.copy" && mv "$b.copy" "$b"
done
ls -l "$W"/tansa* | awk '{printf "%s %.1f MB\n", $NF, $5/1048576}'

if [[ $WHAT == all || $WHAT == scan ]]; then
	say "1. Full sweep of this host (tansa scan --local --out)"
	echo "load before: $(uptime)"
	echo "| run | wall | CPU | peak RSS |"
	echo "|---|---:|---:|---:|"
	timed "default (nice 10, idle I/O, --max-cpu 50)" "$W/tansa" scan --local --out "$W/local.json"
	timed "--normal-priority (--max-cpu 50)" "$W/tansa" scan --local --out "$W/local-normal.json" --normal-priority
	timed "--normal-priority --max-cpu 100" "$W/tansa" scan --local --out "$W/local-100.json" --normal-priority --max-cpu 100
	timed "--normal-priority --max-cpu 20" "$W/tansa" scan --local --out "$W/local-20.json" --normal-priority --max-cpu 20
	timed "sealed --out (what is uploaded), --normal-priority" "$W/tansa" scan --out "$W/local.tansa" --normal-priority \
		--recipient age1af5ujxd3p0dj8p898puaxv6raqvcm4867wsqf86mfeac08qlw4rsuap02g
	echo "load after: $(uptime)"
	echo
	ls -l "$W/local.json" "$W/local-normal.json" "$W/local.tansa" | awk '{printf "%s %d bytes (%.0f KB)\n", $NF, $5, $5/1024}'
	python3 - "$W/local-normal.json" <<-'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))
		print("contents:", ", ".join(f"{k} {len(v)}" for k, v in d.items() if isinstance(v, list)))
		print("errors:", [e["message"][:90] for e in d["errors"]])
	EOF
	say "1a. Where the sweep's wall time goes (CPU, throttle pauses, waiting)"
	echo "load before: $(uptime)"
	echo "| run | wall | CPU | paused by the --max-cpu throttle | waiting (for a CPU or the disk) |"
	echo "|---|---:|---:|---:|---:|"
	waits "default (nice 10, idle I/O, --max-cpu 50)" "$W/tansa" scan --local --out "$W/local-w.json"
	waits "--normal-priority (--max-cpu 50)" "$W/tansa" scan --local --out "$W/local-w.json" --normal-priority
	waits "--normal-priority --max-cpu 100" "$W/tansa" scan --local --out "$W/local-w.json" --normal-priority --max-cpu 100
	echo "load after: $(uptime)"
	say "1b. Peer: process listing with ps and hashing every process executable (sha256sum)"
	echo "| run | wall | CPU | peak RSS |"
	echo "|---|---:|---:|---:|"
	timed "ps -eo pid,ppid,user,lstart,args" ps -eo pid,ppid,user,lstart,args
	timed "sha256sum of every /proc/*/exe (readlink, sort -u)" sh -c 'for p in /proc/[0-9]*; do readlink "$p/exe"; done 2>/dev/null | sort -u | xargs -r sha256sum >/dev/null 2>&1'
fi

if [[ $WHAT == all || $WHAT == yara ]]; then
	say "2. YARA with signature-base: tansa (yara tag) vs Debian yara, same rules, same files"
	yara --version | sed 's/^/Debian yara /'
	RULES=$W/rules
	rm -rf "$RULES" && mkdir -p "$RULES"
	defs=(-d filename= -d filepath= -d extension= -d filetype= -d owner=)
	# The files both compile: each alone with yarac and the externals.
	for f in "$SHARED"/yara/signature-base/*.yar; do
		if yarac "${defs[@]}" "$f" /dev/null >/dev/null 2>&1; then
			ln -s "$f" "$RULES/"
		else
			echo "yarac refuses $(basename "$f")"
		fi
	done
	echo "rule files: $(ls "$RULES" | wc -l) of $(ls "$SHARED"/yara/signature-base/*.yar | wc -l)"
	args=()
	for f in "$RULES"/*.yar; do args+=(--yara "$f"); done
	echo "load before: $(uptime)"
	echo "| run | wall | CPU | peak RSS |"
	echo "|---|---:|---:|---:|"
	timed "tansa-yara scan --local (whole sweep + YARA, files ≤ 16 MB), --normal-priority --max-cpu 100" "$W/tansa-yara" scan --local --out "$W/yara.json" --normal-priority --max-cpu 100 "${args[@]}"
	timed "tansa-yara scan --local, the same with --yara-max-mb 100 (every file)" "$W/tansa-yara" scan --local --out "$W/yara-all.json" --normal-priority --max-cpu 100 --yara-max-mb 100 "${args[@]}"
	timed "tansa-yara scan --local (default: nice 10, idle I/O, --max-cpu 50)" "$W/tansa-yara" scan --local --out "$W/yara-default.json" "${args[@]}"
	# The files tansa scanned: process executables and recorded
	# executables, less the scanner itself and the files its errors say
	# were over the size limit; scanlist-all.txt has every one.
	python3 - "$W/yara.json" "$W/scanlist.txt" "$W/scanlist-all.txt" "$W/tansa-yara" <<-'EOF'
		import json, os, sys
		d = json.load(open(sys.argv[1]))
		paths = {p["path"] for p in d["processes"] if p.get("path") and not p.get("deleted")} | {f["path"] for f in d["files"] if f.get("executable")}
		paths -= {os.path.realpath(sys.argv[4])}
		paths = sorted(p for p in paths if os.path.exists(p))
		over = {e["target"] for e in d["errors"] if e["collector"] == "yara" and e["message"].startswith("not scanned")}
		open(sys.argv[3], "w").write("\n".join(paths) + "\n")
		scanned = [p for p in paths if p not in over]
		open(sys.argv[2], "w").write("\n".join(scanned) + "\n")
		ym = [f for f in d["findings"] if f["rule"].startswith("yara.")]
		print(f"tansa: {len(scanned)} files scanned ({len(over)} over 16 MB listed in errors), {len(ym)} YARA matches:", sorted({(f['rule'], f['subject'].get('path')) for f in ym})[:10])
		print("tansa YARA errors:", [e for e in d["errors"] if e["collector"] == "yara"][:5])
	EOF
	ns=()
	for f in "$RULES"/*.yar; do ns+=("$(basename "$f"):$f"); done
	timed "yarac (compile the same files, externals defined)" yarac "${defs[@]}" "${ns[@]}" "$W/compiled.yarc"
	timed "yara -C compiled --scan-list (same files), 1 thread" yara -p 1 "${defs[@]}" -C "$W/compiled.yarc" --scan-list "$W/scanlist.txt"
	echo "yara matches: $(wc -l <"$W/stdout.txt")"; head -5 "$W/stdout.txt"
	timed "yara (compile + scan, same files), 1 thread" yara -p 1 "${defs[@]}" "${ns[@]}" --scan-list "$W/scanlist.txt"
	timed "yara (compile + scan, every file, none left out for size), 1 thread" yara -p 1 "${defs[@]}" "${ns[@]}" --scan-list "$W/scanlist-all.txt"
	echo "load after: $(uptime)"
fi

if [[ $WHAT == all || $WHAT == server ]]; then
	say "3. Server: ingest $N endpoints + $RESWEEP re-sweeps over HTTP, then the fleet views"
	D=$W/data
	# The server's keys are kept between runs so that the sealed results
	# (minutes to make) are made once for them.
	# (A first start makes the data directory; the kept keys replace the
	# new ones before the second.)
	if [[ -d $D/fleet && ! -d $W/fleet-keys ]]; then cp -rp "$D/fleet" "$W/fleet-keys"; fi
	rm -rf "$D"
	serve() {
		TANSA_ADMIN_PASSWORD=$PW "$W/tansa" serve --data "$D" --listen "$ADDR" >>"$W/serve.log" 2>&1 &
		SPID=$!
		pids+=("$SPID")
		for _ in $(seq 3000); do curl -fs -o /dev/null "http://$ADDR/healthz" && break; sleep 0.05; done
	}
	: >"$W/serve.log"
	serve
	if [[ -d $W/fleet-keys ]]; then
		kill "$SPID" && wait "$SPID" || true
		rm -rf "$D/fleet" && cp -rp "$W/fleet-keys" "$D/fleet"
		serve
	fi
	: >"$W/tokens.txt"
	for t in $(seq -w 0 49); do
		id=$("$W/tansa" tenant create --name "Group Company $t" --data "$D")
		"$W/tansa" token create --role scanner --tenant "$id" --name "gpo package" --data "$D" >>"$W/tokens.txt"
	done
	admin=$("$W/tansa" token create --role provider-admin --name bench --data "$D")
	R=$(curl -fs -H "Authorization: Bearer $admin" "http://$ADDR/api/v1/fleet/key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["recipient"])')
	echo "50 tenants, 50 scanner tokens; server key $R"
	if [[ "$(cat "$W/sweeps/recipient" 2>/dev/null)" != "$R $N $RESWEEP" ]]; then
		rm -rf "$W/sweeps"
		"$W/sweepload" gen -dir "$W/sweeps" -n "$N" -resweep "$RESWEEP" -recipient "$R"
		echo "$R $N $RESWEEP" >"$W/sweeps/recipient"
	else
		echo "reusing the $((N + RESWEEP)) sealed results in $W/sweeps, made for this key"
	fi
	echo "load before the upload: $(uptime)"
	awk '/^VmRSS/ {print "server RSS before:", $2/1024, "MB"}' "/proc/$SPID/status"
	"$W/sweepload" send -dir "$W/sweeps" -server "http://$ADDR" -tokens "$W/tokens.txt" -c "$CONC" -pid "$SPID"
	echo "load after the upload: $(uptime)"
	awk '/^VmRSS|^VmHWM/ {print "server", $1, $2/1024, "MB"}' "/proc/$SPID/status"
	du -sh "$D"/tansa.db* | sed 's/^/store: /'
	say "3b. Fleet views with $N endpoints stored (provider admin, console pages and API)"
	echo "load before: $(uptime)"
	"$W/sweepload" views -server "http://$ADDR" -user admin -password "$PW" -n "$VIEWS_N" -pid "$SPID"
	echo "load after: $(uptime)"
fi
