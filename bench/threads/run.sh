#!/bin/sh
# bench/threads: run hodos (threads backend), OpenMP tasks and oneTBB's
# flow graph on the same workloads with 1 and 2 threads, REPEATS times each
# (default 5), and print one table of medians.
#
#   bench/threads/run.sh BUILD_DIR [REPEATS]
#
# Environment: WORKLOADS (default "chain fanout tree layered grid"),
# THREADS (default "1 2"), CHECK=1 to first run every program once in its
# --check mode (it counts the tasks that ran and checks their order) and
# compare the hashes of the DAG the three built. A peer that was not built
# shows as "-"; a run that fails shows as "fail" and makes the exit status
# 1.
set -u

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"

bench_args "$@"
workloads=${WORKLOADS:-chain fanout tree layered grid}
threads=${THREADS:-1 2}

bin=$build/bench
hodos=$bin/bench_threads_hodos
omp=$bin/bench_threads_omp
tbb=$bin/bench_threads_tbb
if [ ! -x "$hodos" ]; then
	echo "$0: $hodos not found; build with:" >&2
	echo "  cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release" \
		"-DHODOS_TESTS=OFF && cmake --build $build" >&2
	exit 2
fi
systems="hodos hodos-nt"
[ -x "$omp" ] && systems="$systems omp"
[ -x "$tbb" ] && systems="$systems tbb"

# A run that hangs must not hang the whole table.
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 300"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-threads.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
status=0

program() {
	case $1 in
	hodos) echo "$hodos" ;;
	hodos-nt) echo "$hodos" ;;
	omp) echo "$omp" ;;
	tbb) echo "$tbb" ;;
	esac
}

if [ "${CHECK:-0}" = 1 ]; then
	for w in $workloads; do
		hashes=
		for s in $systems; do
			if ! line=$($limit "$(program "$s")" "$w" 2 --check); then
				echo "$0: $s $w: the check failed" >&2
				status=1
			fi
			echo "$s: $line" >&2
			hashes="$hashes $(echo "$line" | awk '{ print $8 }')"
		done
		if [ "$(echo "$hashes" | tr ' ' '\n' | sed '/^$/d' | sort -u |
			wc -l)" -ne 1 ]; then
			echo "$0: $w: the programs built different DAGs" >&2
			status=1
		fi
	done
	[ "$status" -eq 0 ] || exit 1
fi

# cell KEY COLUMN: the median of a column of $tmp/KEY, to one decimal
# ("-" or "fail" as they are).
cell() { calc '%.1f' a "$(median "$1" "$2")"; }

# ratio HODOS PEER...: hodos's time over the best peer's, or "-".
ratio() {
	echo "$*" | awk '{
		best = ""
		for (i = 2; i <= NF; i++)
			if ($i ~ /^[0-9.]+$/ && (best == "" || $i + 0 < best + 0))
				best = $i
		if ($1 !~ /^[0-9.]+$/ || best == "" || best + 0 == 0) print "-"
		else printf "%.2f\n", $1 / best
	}'
}

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
echo "bench/threads: $(nproc 2>/dev/null || echo '?') CPUs (${cpu:-unknown})," \
	"medians of $repeats runs, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "exec = running the DAG; build = making it (OpenMP builds while it runs:"
echo "its exec includes the making). ratio = hodos exec / best peer exec."
echo "no times = hodos without reading tasks' start and end times"
echo "(hd_run_opts.no_task_times), which the peers do not record."
echo
printf '%-8s %3s | %9s %9s %9s | %6s | %9s %6s | %9s %9s\n' workload thr \
	hodos OpenMP TBB ratio hodos ratio hodos TBB
printf '%-8s %3s | %9s %9s %9s | %6s | %9s %6s | %9s %9s\n' "" "" \
	"exec" "exec" "exec" "" "no times" "" "build" "build"
printf '%-8s %3s | %29s | %6s | %16s | %19s\n' "" "" "ns/task" "" "ns/task" "ns/task"
echo "-------------+-------------------------------+--------+------------------+---------------------"

for w in $workloads; do
	for t in $threads; do
		r=0
		while [ "$r" -lt "$repeats" ]; do
			for s in $systems; do
				out=$tmp/$s.$w.$t
				extra=
				[ "$s" = hodos-nt ] && extra=--no-times
				# shellcheck disable=SC2086 # extra: one word or none
				if ! line=$($limit "$(program "$s")" "$w" "$t" $extra); then
					line=fail
					status=1
				fi
				echo "$line" >>"$out"
			done
			r=$((r + 1))
			[ -t 2 ] && printf . >&2
		done
		[ -t 2 ] && printf '\r' >&2
		he=$(cell "hodos.$w.$t" 2)
		hb=$(cell "hodos.$w.$t" 1)
		ne=$(cell "hodos-nt.$w.$t" 2)
		oe=$(cell "omp.$w.$t" 2)
		te=$(cell "tbb.$w.$t" 2)
		tb=$(cell "tbb.$w.$t" 1)
		printf '%-8s %3s | %9s %9s %9s | %6s | %9s %6s | %9s %9s\n' "$w" "$t" \
			"$he" "$oe" "$te" "$(ratio "$he" "$oe" "$te")" \
			"$ne" "$(ratio "$ne" "$oe" "$te")" "$hb" "$tb"
	done
done
exit "$status"
