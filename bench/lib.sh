# shellcheck shell=sh
# shellcheck disable=SC2154 # tmp and limit are the sourcing script's
# Shared by the benchmarks' run.sh scripts (sourced): their arguments,
# running a measurement, checking for commands, medians of the measurements kept in $tmp, and arithmetic on
# cells that may hold "-" (not measured) or "fail".

# usage, bench_args "$@": the arguments BUILD_DIR [REPEATS] of every
# run.sh, into build and repeats (default 5); a usage message and exit
# status 2 otherwise.
usage() {
	echo "usage: $0 BUILD_DIR [REPEATS]" >&2
	exit 2
}

# shellcheck disable=SC2034 # build and repeats are for the sourcing script
bench_args() {
	if [ $# -lt 1 ] || [ $# -gt 2 ]; then
		usage
	fi
	build=$1
	repeats=${2:-5}
	case $repeats in
	'' | *[!0-9]*) usage ;;
	esac
	[ "$repeats" -ge 1 ] || usage
}

# measure KEY COMMAND...: append the command's one line of output to
# $tmp/KEY, or "fail" (and set status to 1); the command runs under
# $limit (a timeout, or empty) with no input.
# shellcheck disable=SC2034 # status is the sourcing script's
measure() {
	key=$1
	shift
	if ! line=$($limit "$@" </dev/null); then
		line=fail
		status=1
		echo "$0: $key failed" >&2
	fi
	echo "$line" >>"$tmp/$key"
}

# have CMD: whether the command is installed.
have() { command -v "$1" >/dev/null 2>&1; }

# num VALUE: whether VALUE is a number.
num() { case $1 in '' | - | fail | *[!0-9.e+-]*) return 1 ;; esac }

# median KEY [COLUMN]: the median of a column (default 1) of the lines in
# $tmp/KEY, "fail" when a run failed, "-" when the key was not measured.
median() {
	[ -f "$tmp/$1" ] || {
		echo -
		return
	}
	if grep -q fail "$tmp/$1"; then
		echo fail
		return
	fi
	awk -v c="${2:-1}" '{ print $c }' "$tmp/$1" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "fail"; exit }
			if (NR % 2) m = v[(NR + 1) / 2]
			else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.12g\n", m
		}'
}

# calc FORMAT EXPR A [B]: EXPR of a and b (awk) printed with FORMAT, "-"
# when one is not a number (or "fail" when one failed).
calc() {
	for v in "$3" "${4:-0}"; do
		num "$v" || {
			[ "$v" = fail ] && echo fail || echo -
			return
		}
	done
	awk -v a="$3" -v b="${4:-0}" "BEGIN { printf \"$1\\n\", $2 }"
}
