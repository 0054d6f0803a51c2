#!/bin/sh
# bench/processes: the processes backend beside its peers, REPEATS rounds
# (default 5), every measurement of a round taken in turn, then one table
# of medians with ratios and goals.
#
#   sh bench/processes/run.sh BUILD_DIR [REPEATS]
#
# BUILD_DIR is a Release build that has cli/hodos and bench/bench_processes;
# this script builds nothing. Environment:
#   SECTIONS    which parts to run (default "tiny chain big shell")
#   TASKS       tiny tasks (default 100000)
#   HOPS        chain length and ping-pong round trips (default 10000)
#   BIG         tasks of the large results (default 200)
#   BIG_BYTES   bytes of each large result (default 1048576)
#   SHELL_JOBS  shell jobs of `true` (default 5000)
#   PYTHON      the Python of the Python peers (default /usr/bin/python3,
#               Debian's)
# A peer that is missing shows as "not installed"; a measurement that fails
# shows as "fail" and makes the exit status 1.
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"

bench_args "$@"
sections=${SECTIONS:-tiny chain big shell}
tasks=${TASKS:-100000}
hops=${HOPS:-10000}
big=${BIG:-200}
big_bytes=${BIG_BYTES:-1048576}
shell_jobs=${SHELL_JOBS:-5000}
python=${PYTHON:-/usr/bin/python3}

here=$(cd "$(dirname "$0")" && pwd)
bp=$build/bench/bench_processes
hodos=$build/cli/hodos
for f in "$bp" "$hodos"; do
	if [ ! -x "$f" ]; then
		echo "$0: $f not found; build with:" >&2
		echo "  cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release" \
			"&& cmake --build $build -j2" >&2
		exit 2
	fi
done
has() {
	case " $sections " in *" $1 "*) return 0 ;; esac
	return 1
}

# A measurement that hangs must not hang the table.
limit=
have timeout && limit="timeout 900"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-processes.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
status=0

# The files of the shell jobs: a workflow of SHELL_JOBS independent tasks
# (run through /bin/sh, as every `run:` is; a second one with `argv:`, run
# without a shell), the same jobs as a Makefile of phony targets, and one
# argument per job for xargs and parallel.
if has shell; then
	awk -v n="$shell_jobs" 'BEGIN {
		print "name: true-" n
		print "tasks:"
		for (i = 0; i < n; i++)
			printf "  - name: t%d\n    run: \"true\"\n", i
	}' >"$tmp/true.yaml"
	awk -v n="$shell_jobs" 'BEGIN {
		print "name: true-argv-" n
		print "tasks:"
		for (i = 0; i < n; i++)
			printf "  - name: t%d\n    argv: [\"true\"]\n", i
	}' >"$tmp/argv.yaml"
	awk -v n="$shell_jobs" 'BEGIN {
		printf ".PHONY: all"
		for (i = 0; i < n; i++) printf " t%d", i
		printf "\nall:"
		for (i = 0; i < n; i++) printf " t%d", i
		print ""
		for (i = 0; i < n; i++) printf "t%d:\n\ttrue\n", i
	}' >"$tmp/Makefile"
	seq "$shell_jobs" >"$tmp/args"
fi

# hodos_jobs KEY BACKEND FILE: the CLI on a workflow, with a fresh store
# each time (the store is removed outside the clock).
hodos_jobs() {
	measure "$1" "$bp" time "$hodos" run -b "$2" -j 2 -q --store \
		"$tmp/store" "$3"
	rm -rf "$tmp/store"
}

r=0
while [ "$r" -lt "$repeats" ]; do
	if has tiny; then
		measure tiny "$bp" tiny "$tasks" 2
		measure tiny_threads "$bp" tiny "$tasks" 2 threads
		if have "$python"; then
			measure pool "$python" "$here/peers.py" pool "$tasks" 2
			measure executor "$python" "$here/peers.py" executor \
				"$tasks" 2
		fi
	fi
	if has chain; then
		measure chain "$bp" chain "$hops" 2
		measure pingpong "$bp" pingpong "$hops"
		measure pingpong8 "$bp" pingpong "$hops" 8
	fi
	if has big; then
		measure big "$bp" big "$big" "$big_bytes" 2
	fi
	if has shell; then
		hodos_jobs sh_procs processes "$tmp/true.yaml"
		hodos_jobs sh_threads threads "$tmp/true.yaml"
		hodos_jobs sh_argv processes "$tmp/argv.yaml"
		measure sh_xargs "$bp" time xargs -P2 -n1 -a "$tmp/args" true
		measure sh_make "$bp" time make -j2 -s -f "$tmp/Makefile"
		if have parallel; then
			# shellcheck disable=SC2046
			measure sh_parallel "$bp" time parallel --will-cite -j2 \
				true ::: $(cat "$tmp/args")
		fi
	fi
	r=$((r + 1))
	[ -t 2 ] && printf '.' >&2
done
[ -t 2 ] && printf '\n' >&2




# met VALUE OP GOAL: "met" or "not met" (or "-").
met() {
	num "$1" || {
		echo -
		return
	}
	awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN {
		ok = op == "<=" ? v <= g : v >= g
		print ok ? "met" : "not met"
	}'
}

row() { printf '%-46s %10s  %-8s %s\n' "$1" "$2" "${3:-}" "${4:-}"; }
fmt() {
	if num "$1"; then
		awk -v v="$1" 'BEGIN { printf (v < 10 ? "%.2f" : "%.1f"), v }'
	else
		printf '%s' "$1"
	fi
}
missing() { if have "$1"; then echo "$2"; else echo "not installed"; fi; }

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
echo "bench/processes: $(nproc 2>/dev/null || echo '?') CPUs (${cpu:-unknown})," \
	"medians of $repeats runs, $(date -u '+%Y-%m-%d %H:%M UTC'), load" \
	"$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo

if has tiny; then
	h=$(median tiny 2)
	b=$(median tiny 1)
	p=$(median pool 1)
	e=$(median executor 1)
	[ -f "$tmp/pool" ] || p=$(missing "$python" -)
	[ -f "$tmp/executor" ] || e=$(missing "$python" -)
	best=$(echo "$p $e" | awk '{
		b = ""
		for (i = 1; i <= 2; i++)
			if ($i ~ /^[0-9.]+$/ && (b == "" || $i + 0 < b + 0)) b = $i
		print b == "" ? "-" : b
	}')
	echo "1. $tasks independent function tasks, 2 workers"
	row "hodos processes: hd_plan_run" "$(fmt "$h")" us/task \
		"goal <= 10: $(met "$h" "<=" 10)"
	row "  (graph and plan, not in the above)" "$(fmt "$b")" us/task
	row "hodos threads: hd_plan_run" "$(fmt "$(median tiny_threads 2)")" \
		us/task
	row "Python multiprocessing.Pool(2).apply_async" "$(fmt "$p")" us/task
	row "Python ProcessPoolExecutor(2).submit" "$(fmt "$e")" us/task
	row "ratio hodos / best Python peer" "$(calc %.2f 'a / b' "$h" "$best")" x
	echo
fi

if has chain; then
	c=$(median chain 1)
	pp=$(median pingpong 1)
	ratio=$(calc %.2f 'a / b' "$c" "$pp")
	echo "2. a chain of $hops function tasks, 2 workers"
	row "hodos processes: hd_plan_run" "$(fmt "$c")" us/hop
	row "socketpair ping-pong, 1 byte each way" "$(fmt "$pp")" us/trip
	row "ratio hop / round trip" "$ratio" x \
		"goal <= 1.5: $(met "$ratio" "<=" 1.5)"
	row "socketpair, up to 8 bytes in flight" "$(fmt "$(median pingpong8 1)")" \
		us/msg
	echo
fi

if has big; then
	mp=$(median big 1)
	mt=$(median big 2)
	raw=$(median big 3)
	fr=$(median big 4)
	wire=$(median big 5)
	echo "3. $big tasks each returning $big_bytes bytes of text, 2 workers"
	row "hodos processes: hd_plan_run" "$(fmt "$mp")" MB/s
	row "hodos threads (nothing crosses)" "$(fmt "$mt")" MB/s
	row "result bytes" "$(calc %.2f 'a / 1e6' "$raw")" MB
	row "value frames (zstd level 1)" "$(calc %.2f 'a / 1e6' "$fr")" MB \
		"$(calc %.2f '100 * a / b' "$fr" "$raw") % of the result bytes"
	row "bytes on the sockets, with the framing" "$(calc %.2f 'a / 1e6' \
		"$wire")" MB "$(calc %.2f 'a / b' "$raw" "$wire")x less than raw"
	echo
fi

if has shell; then
	sp=$(median sh_procs 1)
	st=$(median sh_threads 1)
	sa=$(median sh_argv 1)
	sx=$(median sh_xargs 1)
	sm=$(median sh_make 1)
	sg=$(median sh_parallel 1)
	[ -f "$tmp/sh_parallel" ] || sg="not installed"
	per() { calc %.2f 'a / b' "$1" "$shell_jobs"; }
	xr=$(calc %.2f 'a / b' "$sp" "$sx")
	gr=$(calc %.2f 'a / b' "$sg" "$sp")
	echo "4. $shell_jobs jobs of \`true\`, two at a time"
	row "hodos run -b processes -j 2 (run: through sh)" "$(per "$sp")" ms/job
	row "hodos run -b threads -j 2" "$(per "$st")" ms/job
	row "hodos run -b processes -j 2, argv: [true]" "$(per "$sa")" ms/job
	row "xargs -P2 -n1 true" "$(per "$sx")" ms/job
	row "make -j2 (phony targets)" "$(per "$sm")" ms/job
	if num "$sg"; then
		row "parallel -j2 true ::: ..." "$(per "$sg")" ms/job
	else
		row "parallel -j2 true ::: ..." "$sg"
	fi
	row "ratio hodos processes / xargs" "$xr" x \
		"goal <= 1.2: $(met "$xr" "<=" 1.2)"
	row "ratio hodos processes / make" "$(calc %.2f 'a / b' "$sp" "$sm")" x
	row "ratio parallel / hodos processes" "$gr" x \
		"goal >= 3: $(met "$gr" ">=" 3)"
fi
exit "$status"
