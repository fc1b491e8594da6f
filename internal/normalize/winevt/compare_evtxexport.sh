#!/bin/sh
# Compares the records winevt decodes from every shared EVTX sample with
# Debian's evtxexport (libevtx-utils), file by file, and times both.
#
#   TANSA_SHARED_DATA=/work/shared/data sh internal/normalize/winevt/compare_evtxexport.sh
#
# Needs: apt-get install -y libevtx-utils. Run from the repository root.
set -eu
: "${TANSA_SHARED_DATA:?set TANSA_SHARED_DATA to the shared data directory}"
command -v evtxexport >/dev/null || { echo "evtxexport missing: apt-get install -y libevtx-utils" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

start=$(date +%s.%N)
TANSA_EVTX_COUNTS_OUT="$tmp/tansa.tsv" go test -count=1 -run '^TestReadAllSampleEVTX$' ./internal/normalize/winevt/ >/dev/null
end=$(date +%s.%N)
echo "winevt (incl. go test start-up): $(echo "$end - $start" | bc) s"

start=$(date +%s.%N)
: >"$tmp/libevtx.tsv"
find "$TANSA_SHARED_DATA/evtx" -iname '*.evtx' -print0 | sort -z | while IFS= read -r -d '' f 2>/dev/null || [ -n "${f:-}" ]; do
	n=$(evtxexport "$f" 2>/dev/null | grep -c '^Event number' || true)
	# evtxexport 20181227 stops at the first record of EVTX 3.2 files;
	# evtxinfo still reports how many records the file holds.
	h=$(evtxinfo "$f" 2>/dev/null | awk -F: '/Number of records/ { gsub(/[ \t]/, "", $2); print $2 }')
	printf '%s\t%s\t%s\n' "$n" "${h:-0}" "$f" >>"$tmp/libevtx.tsv"
	f=
done
end=$(date +%s.%N)
echo "evtxexport: $(echo "$end - $start" | bc) s"

awk -F'\t' 'NR==FNR { lib[$3] = $1; info[$3] = $2; next }
	{ t = $1; l = lib[$3]; h = info[$3]; tt += t; lt += l; ht += h; failed += $2
	  if (l == 0 && h > 0) broken++
	  if (t != h) { diff++; printf "differs: winevt %d, evtxinfo %d, evtxexport %d: %s\n", t, h, l, $3 } }
	END { printf "files %d: winevt decoded %d records (%d failed); evtxinfo counts %d; evtxexport exported %d (%d files it could not export); files where winevt and evtxinfo differ: %d\n", FNR, tt, failed, ht, lt, broken, diff }' \
	"$tmp/libevtx.tsv" "$tmp/tansa.tsv"
