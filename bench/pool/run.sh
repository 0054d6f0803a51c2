#!/bin/sh
# bench/pool: the per-item cost of hd_pool_map, imap and uimap on threads
# and processes beside Python's multiprocessing.Pool(2) map, imap and
# imap_unordered, REPEATS rounds (default 5), every measurement of a round
# taken in turn, then one table of medians with ratios and goals.
#
#   sh bench/pool/run.sh BUILD_DIR [REPEATS]
#
# BUILD_DIR is a Release build that has bench/bench_pool; this script
# builds nothing. Environment:
#   SIZES      numbers of items (default "1000 10000 100000 1000000")
#   BACKENDS   hodos backends (default "threads processes")
#   CALLS      calls (default "map imap uimap"; Python's imap_unordered
#              stands beside uimap)
#   ONE_MAX    chunks of one item (hodos chunk_size 1, Python's imap and
#              imap_unordered with their default chunksize=1) are measured
#              only up to this many items (default 100000): at 10^6 they
#              take tens of seconds per call
#   PYTHON     the Python of the peer (default /usr/bin/python3, Debian's)
# A peer that is missing shows as "not installed"; a measurement that fails
# shows as "fail" and makes the exit status 1.
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"

bench_args "$@"
sizes=${SIZES:-1000 10000 100000 1000000}
backends=${BACKENDS:-threads processes}
calls=${CALLS:-map imap uimap}
one_max=${ONE_MAX:-100000}
python=${PYTHON:-/usr/bin/python3}

here=$(cd "$(dirname "$0")" && pwd)
bp=$build/bench/bench_pool
if [ ! -x "$bp" ]; then
	echo "$0: $bp not found; build with:" >&2
	echo "  cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release" \
		"&& cmake --build $build --target bench_pool -j2" >&2
	exit 2
fi
pycall() { if [ "$1" = uimap ]; then echo imap_unordered; else echo "$1"; fi; }

# A measurement that hangs must not hang the table.
limit=
have timeout && limit="timeout 600"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-pool.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
status=0
started=$(date +%s)

r=0
while [ "$r" -lt "$repeats" ]; do
	for n in $sizes; do
		for c in $calls; do
			for b in $backends; do
				measure "h_${b}_${c}_${n}_auto" "$bp" "$b" "$c" "$n"
				if [ "$n" -le "$one_max" ]; then
					measure "h_${b}_${c}_${n}_1" "$bp" "$b" "$c" "$n" 1
				fi
			done
			have "$python" || continue
			pc=$(pycall "$c")
			if [ "$c" = map ] || [ "$n" -le "$one_max" ]; then
				measure "py_${c}_${n}_def" "$python" "$here/peers.py" \
					"$pc" "$n"
			fi
			if [ "$c" != map ]; then
				measure "py_${c}_${n}_auto" "$python" "$here/peers.py" \
					"$pc" "$n" auto
			fi
		done
	done
	r=$((r + 1))
	[ -t 2 ] && printf '.' >&2
done
[ -t 2 ] && printf '\n' >&2
elapsed=$(($(date +%s) - started))




# le A B: whether the number A is at most the number B.
le() { num "$1" && num "$2" && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

fmt() {
	if num "$1"; then
		awk -v v="$1" 'BEGIN {
			printf (v < 1 ? "%.3f" : v < 100 ? "%.2f" : "%.0f"), v
		}'
	else
		printf '%s' "$1"
	fi
}

row() {
	printf '%-9s %-5s %8s  %9s %9s  %9s %9s  %6s  %s\n' "$@"
}

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
echo "bench/pool: $(nproc 2>/dev/null || echo '?') CPUs (${cpu:-unknown})," \
	"medians of $repeats runs, $(date -u '+%Y-%m-%d %H:%M UTC'), load" \
	"$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null), ${elapsed} s"
echo "pools of 2 nodes; us per item of one call over N items of inc(x) = x + 1"
echo

def_chunk=
for f in "$tmp"/h_*_auto; do
	[ -f "$f" ] && def_chunk=$(awk '{ print $3; exit }' "$f") && break
done
if [ -n "$def_chunk" ] && [ "$def_chunk" != 0 ]; then
	echo "NOTE: hd_pool_opts_init() gives chunk_size $def_chunk, not 0" \
		"(automatic): the auto column is chunks of $def_chunk"
	echo
fi

row "" "" "" "hodos" "hodos" "Python" "Python" "" ""
row backend call N "auto" "chunk 1" "default" "map's" "ratio" "goals"
row --------- ----- -------- --------- --------- --------- --------- ------ \
	-----------------------------
for b in $backends; do
	for c in $calls; do
		for n in $sizes; do
			ha=$(median "h_${b}_${c}_${n}_auto")
			h1=$(median "h_${b}_${c}_${n}_1")
			pd=$(median "py_${c}_${n}_def")
			if [ "$c" = map ]; then
				pm=$pd
			else
				pm=$(median "py_${c}_${n}_auto")
			fi
			if ! have "$python"; then
				pd="not installed"
				pm=$pd
			fi
			ratio=$(calc %.2f 'a / b' "$ha" "$pm")
			# The goals: below Python's per-item cost (the same
			# chunking: map's automatic chunks); processes map <= 0.3
			# and threads map <= 0.05 us per item; an iterator within
			# 2x of the map of the same backend and size.
			miss=
			if ! num "$ha"; then
				goal=-
			else
				le "$ha" "$pm" || miss="$miss, > Python"
				if [ "$c" = map ]; then
					lim=0.3
					[ "$b" = threads ] && lim=0.05
					le "$ha" "$lim" || miss="$miss, > $lim"
				else
					hm=$(median "h_${b}_map_${n}_auto")
					x=$(calc %.2f 'a / b' "$ha" "$hm")
					le "$x" 2 || miss="$miss, ${x}x map"
				fi
				if [ -z "$miss" ]; then
					goal=met
				else
					goal="not met: ${miss#, }"
				fi
				num "$pm" || goal="$goal (no Python)"
			fi
			[ "$c" = map ] && pm="="
			row "$b" "$c" "$n" "$(fmt "$ha")" "$(fmt "$h1")" \
				"$(fmt "$pd")" "$(fmt "$pm")" "$ratio" "$goal"
		done
	done
done
echo
echo "auto: the pool's default chunks (hd_pool_opts_init); chunk 1:" \
	"chunk_size 1. Python default: Pool(2).map's automatic chunks," \
	"imap's and imap_unordered's chunksize=1; Python map's: imap and" \
	"imap_unordered with the chunksize map would choose, ceil(N / 8)." \
	"ratio: hodos auto / Python with map's chunks. \"-\": not measured" \
	"(chunks of one only up to N = $one_max). Goals: processes map <= 0.3," \
	"threads map <= 0.05 us/item; an iterator <= 2x map; every call below" \
	"Python's." | fold -s -w 78
exit "$status"
