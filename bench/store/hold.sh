#!/bin/sh
# bench/store/hold.sh: the peak memory of a run whose results wait, with
# and without --mem-limit. 60 tasks print 15 MB of numbered lines each; a
# barrier task runs after all of them (reading only the first, through
# stdin), and one task per result runs after it, so that every result is
# held until the barrier ends. Prints the wall time and the maximum
# resident set of `hodos run` for each setting, and hodos's own summary
# of what it compressed or spilled.
#
#   sh bench/store/hold.sh BUILD_DIR [REPEATS]
#
# Needs GNU time (/usr/bin/time). Environment: TASKS (default 60), LINES
# (lines per result, default 1500000), LIMITS (default "none 64M").
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"
bench_args "$@"
hodos=$build/cli/hodos
[ -x "$hodos" ] || {
	echo "$0: no $hodos" >&2
	exit 2
}
[ -x /usr/bin/time ] || {
	echo "$0: GNU time (/usr/bin/time) is missing" >&2
	exit 2
}
n=${TASKS:-60}
lines=${LINES:-1500000}
tmp=$(mktemp -d /tmp/hodos-hold.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
{
	echo "tasks:"
	i=1
	while [ "$i" -le "$n" ]; do
		echo "  - name: gen$i"
		echo "    run: seq 1 $lines | sed s/^/$i-/"
		i=$((i + 1))
	done
	echo "  - name: barrier"
	printf "    after: ["
	i=1
	while [ "$i" -le "$n" ]; do
		printf "%sgen%d" "$([ "$i" -gt 1 ] && echo ', ')" "$i"
		i=$((i + 1))
	done
	echo "]"
	echo "    stdin: gen1"
	echo "    run: cat > /dev/null"
	i=1
	while [ "$i" -le "$n" ]; do
		echo "  - name: use$i"
		echo "    after: [gen$i, barrier]"
		echo "    run: wc -c"
		i=$((i + 1))
	done
} >"$tmp/wf.yaml"
r=1
while [ "$r" -le "$repeats" ]; do
	for lim in ${LIMITS:-none 64M}; do
		rm -rf "$tmp/st"
		if [ "$lim" = none ]; then
			set --
		else
			set -- --mem-limit "$lim" # spilled past twice that, the default
		fi
		/usr/bin/time -f "$lim: %e s, max RSS %M KB" "$hodos" run --no-cache \
			--store "$tmp/st" "$@" "$tmp/wf.yaml" 2>&1 >/dev/null |
			grep -E '^(none|[0-9]+[KMG]?):|past the memory limit'
	done
	r=$((r + 1))
done
