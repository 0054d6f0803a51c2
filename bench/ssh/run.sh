#!/bin/sh
# bench/ssh: the ssh backend beside the processes backend, on two real
# sshd servers on this machine (tests/ssh/lib.sh: h1 = 127.0.0.2 and
# h2 = 127.0.0.3), REPEATS rounds (default 5), every measurement of a
# round taken in turn, then one table of medians with ratios.
#
#   sh bench/ssh/run.sh BUILD_DIR [REPEATS]
#
# BUILD_DIR is a Release build that has cli/hodos and bench/bench_ssh
# (and examples/libhodos_wordcount.so for the function tasks of the CLI);
# this script builds nothing. It needs root (sshd), sshd, ssh and
# ssh-keygen; zstd is optional. Environment:
#   SECTIONS    which parts to run (default "api fn shell data")
#   API_TASKS   function tasks through the C API (default 100000)
#   FN_TASKS    function tasks through the CLI (default 20000)
#   TASKS       shell tasks of `true` (default 2000)
#   PARTS       tasks of the data part (default 20)
#   PART_BYTES  bytes of each of their results (default 5000000)
# Every run has 4 slots: 4 workers of the processes backend, or
# h1:2,h2:2 over ssh; each `hodos run` has a fresh store (removed outside
# the clock). A measurement that fails or gives a wrong result shows as
# "fail" and makes the exit status 1.
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"

bench_args "$@"
sections=${SECTIONS:-api fn shell data}
api_tasks=${API_TASKS:-100000}
fn_tasks=${FN_TASKS:-20000}
tasks=${TASKS:-2000}
parts=${PARTS:-20}
part_bytes=${PART_BYTES:-5000000}

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || usage
bs=$build/bench/bench_ssh
hodos=$build/cli/hodos
plugin=$build/examples/libhodos_wordcount.so
for f in "$bs" "$hodos"; do
	if [ ! -x "$f" ]; then
		echo "$0: $f not found; build with:" >&2
		echo "  cmake -S . -B $1 -DCMAKE_BUILD_TYPE=Release" \
			"&& cmake --build $1 -j2" >&2
		exit 2
	fi
done
for c in /usr/sbin/sshd ssh ssh-keygen; do
	have "$c" || {
		echo "$0: $c is not installed" >&2
		exit 2
	}
done
has() {
	case " $sections " in *" $1 "*) return 0 ;; esac
	return 1
}

# A measurement that hangs must not hang the table.
limit=
have timeout && limit="timeout 600"

# A short path: the sshd folder's ControlPath sockets must fit in 108
# bytes (see tests/ssh/lib.sh).
tmp=$(mktemp -d /tmp/hb-ssh.XXXXXX) || exit 1
mkdir "$tmp/d" || exit 1
# shellcheck source=tests/ssh/lib.sh
. "$here/../../tests/ssh/lib.sh"
trap 'sshd_stop "$tmp/d"; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
sshd_start "$tmp/d" || exit 1
status=0
hosts=h1:2,h2:2
worker="$hodos worker --stdio"

# The same servers through a ProxyCommand that counts the bytes of each
# TCP connection (one line per master connection in tcp.n).
{
	printf 'Host *\n  ProxyCommand %s relay %s %%h %%p\n\n' "$bs" \
		"$tmp/tcp.n"
	cat "$SSH_CONFIG"
} >"$tmp/d/ssh_config_count"

# fail KEY WHY: mark KEY failed (its median shows "fail").
fail() {
	echo fail >>"$tmp/$1"
	status=1
	echo "$0: $1: $2" >&2
}

# wait_lines FILE N: wait up to about 10 s for FILE to have N lines (the
# counters write theirs as their connection or session ends, which can be
# just after hodos has exited).
wait_lines() {
	i=0
	while [ "$(wc -l 2>/dev/null <"$1" || echo 0)" -lt "$2" ]; do
		i=$((i + 1))
		[ "$i" -gt 100 ] && return 1
		sleep 0.1
	done
	return 0
}

# sum FILE COLUMN: the sum of a column of FILE.
sum() { awk -v c="$2" '{ s += $c } END { printf "%.0f\n", s }' "$1"; }

# list N: the YAML list [0, 1, ..., N-1].
list() {
	awk -v n="$1" 'BEGIN {
		printf "["
		for (i = 0; i < n; i++) printf "%s%d", i ? ", " : "", i
		print "]"
	}'
}

# The workflows. One task of `true`, for the fixed cost of a run; TASKS
# tasks of `true` (through /bin/sh, as every `run:` is); FN_TASKS calls of
# the example plugin's wc_total with no input (it returns 0, no process
# is started); PARTS tasks each printing PART_BYTES bytes of log-like
# lines, each read by a `wc -c` task after it.
printf 'name: one\ntasks:\n  - name: t\n    run: "true"\n' >"$tmp/one.yaml"
{
	printf 'name: tiny\ntasks:\n  - name: t\n    map:\n      i: '
	list "$tasks"
	printf '    run: "true"\n'
} >"$tmp/tiny.yaml"
{
	printf 'name: tiny-fn\nplugins: [%s]\ntasks:\n' "$plugin"
	printf '  - name: t\n    map:\n      i: '
	list "$fn_tasks"
	printf '    fn: wc_total\n'
} >"$tmp/fn.yaml"
{
	printf 'name: data\ntasks:\n  - name: make\n    map:\n      part: '
	list "$parts"
	cat <<EOF
    run: >-
      awk -v s={part} -v n=$part_bytes 'BEGIN {{ srand(s);
      while (b < n) {{
      l = sprintf("2026-12-02T06:%02d:%02d.%03dZ host-%d worker[%d] INFO
      task %d: read %d records in %d us, status=ok", int(i / 6000) % 60,
      int(i / 100) % 60, i % 1000, s, int(rand() * 64), i,
      int(rand() * 100000), int(rand() * 1000000));
      if (b + length(l) + 1 > n) l = substr(l, 1, n - b - 1);
      print l; b += length(l) + 1; i++ }} }}'
  - name: count
    map:
      part: $(list "$parts")
    after: make
    run: wc -c
EOF
} >"$tmp/data.yaml"
seq "$tasks" >"$tmp/args"

# run_procs KEY FILE and run_ssh KEY FILE: the CLI on a workflow.
run_procs() {
	measure "$1" "$bs" time "$hodos" run -b processes -j 4 -q --store \
		"$tmp/store" "$2"
}
run_ssh() {
	measure "$1" "$bs" time "$hodos" run --hosts "$hosts" --worker \
		"$worker" -q --store "$tmp/store" "$2"
}

# check_data KEY: the `wc -c` tasks of the last run must have counted
# PART_BYTES each.
check_data() {
	n=$(cat "$tmp/store/runs/last/results/count"* 2>/dev/null |
		awk -v b="$part_bytes" '$1 == b { n++ } END { print n + 0 }')
	[ "$n" = "$parts" ] || fail "$1" "$n of $parts counts are right"
}

fn_ok=0
[ -f "$plugin" ] && fn_ok=1

r=0
while [ "$r" -lt "$repeats" ]; do
	measure ssh_true "$bs" time ssh -F "$SSH_CONFIG" h1 true
	run_procs start_procs "$tmp/one.yaml"
	rm -rf "$tmp/store"
	run_ssh start_ssh "$tmp/one.yaml"
	rm -rf "$tmp/store"
	if has api; then
		measure api_procs "$bs" tiny "$api_tasks" processes
		measure api_ssh "$bs" tiny "$api_tasks" ssh "$hosts"
	fi
	if has fn && [ "$fn_ok" = 1 ]; then
		run_procs fn_procs "$tmp/fn.yaml"
		rm -rf "$tmp/store"
		run_ssh fn_ssh "$tmp/fn.yaml"
		rm -rf "$tmp/store"
	fi
	if has shell; then
		run_procs sh_procs "$tmp/tiny.yaml"
		rm -rf "$tmp/store"
		run_ssh sh_ssh "$tmp/tiny.yaml"
		rm -rf "$tmp/store"
		measure sh_xargs "$bs" time xargs -P 4 -n 1 -a "$tmp/args" \
			sh -c true
	fi
	if has data; then
		run_procs data_procs "$tmp/data.yaml"
		check_data data_procs
		rm -rf "$tmp/store"
		run_ssh data_ssh "$tmp/data.yaml"
		check_data data_ssh
		rm -rf "$tmp/store"
		# Again with both counters: the ProxyCommand for the TCP bytes
		# of each host's connection, and the worker command wrapped
		# for the bytes of each session's standard input and output.
		rm -f "$tmp/tcp.n" "$tmp/pipe.n"
		measure data_count env \
			HODOS_SSH_COMMAND="ssh -F $tmp/d/ssh_config_count" \
			"$bs" time "$hodos" run --hosts "$hosts" --worker \
			"$bs pipe $tmp/pipe.n $worker" -q --store "$tmp/store" \
			"$tmp/data.yaml"
		check_data data_count
		if wait_lines "$tmp/tcp.n" 2 && wait_lines "$tmp/pipe.n" 4; then
			# Columns: raw result bytes, protocol down (to the
			# workers) and up, TCP down and up.
			raw=$(cat "$tmp/store/runs/last/results/make"* | wc -c)
			echo "$raw $(sum "$tmp/pipe.n" 1) $(sum "$tmp/pipe.n" 2)" \
				"$(sum "$tmp/tcp.n" 1) $(sum "$tmp/tcp.n" 2)" \
				>>"$tmp/bytes"
		else
			fail bytes "the counters did not all report"
		fi
		if [ "$r" = 0 ] && have zstd; then
			for f in "$tmp/store/runs/last/results/make"*; do
				zstd -q -1 -c <"$f" | wc -c
			done | awk '{ s += $1 } END { print s }' >"$tmp/zstd"
		fi
		rm -rf "$tmp/store"
	fi
	r=$((r + 1))
	[ -t 2 ] && printf '.' >&2
done
[ -t 2 ] && printf '\n' >&2

row() { printf '%-50s %10s  %-8s %s\n' "$1" "$2" "${3:-}" "${4:-}"; }
fmt() {
	if num "$1"; then
		awk -v v="$1" 'BEGIN { printf (v < 10 ? "%.2f" : "%.1f"), v }'
	else
		printf '%s' "$1"
	fi
}
# per MS N: microseconds per task of a run of N tasks.
per() { calc %.1f 'a * 1000 / b' "$1" "$2"; }
# marginal MS START_MS N: microseconds per task beyond the fixed cost of a
# run (the median of the one-task run).
marginal() {
	calc %.1f 'a * 1000 / b' "$(calc %.3f 'a - b' "$1" "$2")" \
		"$(($3 - 1))"
}
mb() { calc %.2f 'a / 1e6' "$1"; }

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
echo "bench/ssh: $(nproc 2>/dev/null || echo '?') CPUs (${cpu:-unknown})," \
	"medians of $repeats runs, $(date -u '+%Y-%m-%d %H:%M UTC'), load" \
	"$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "4 slots each: -b processes -j 4, or --hosts $hosts (sshd on" \
	"127.0.0.2 and 127.0.0.3)"
echo

sp=$(median start_procs)
ss=$(median start_ssh)
echo "1. fixed cost of a run of one task"
row "hodos run -b processes -j 4 (\`true\`)" "$(fmt "$sp")" ms
row "hodos run --hosts $hosts (\`true\`)" "$(fmt "$ss")" ms
if has api; then
	row "hd_plan_run, processes (a function)" \
		"$(fmt "$(median api_procs 1)")" ms
	row "hd_plan_run, ssh (a function)" "$(fmt "$(median api_ssh 1)")" ms
fi
row "  one ssh connection: ssh h1 true" "$(fmt "$(median ssh_true)")" ms
echo

# section N PROCS_MS SSH_MS PROCS_START_MS SSH_START_MS: the rows of one
# kind of tiny task, N of them.
section() {
	n=$1
	mp=$(marginal "$2" "$4" "$n")
	ms=$(marginal "$3" "$5" "$n")
	row "processes: wall time / tasks" "$(per "$2" "$n")" us/task
	row "ssh: wall time / tasks" "$(per "$3" "$n")" us/task
	row "ratio ssh / processes" "$(calc %.2f 'a / b' "$3" "$2")" x
	row "processes, less the fixed cost" "$mp" us/task
	row "ssh, less the fixed cost" "$ms" us/task
	row "ratio ssh / processes, less the fixed cost" \
		"$(calc %.2f 'a / b' "$ms" "$mp")" x
	row "ssh's extra per task" "$(calc %.1f 'a - b' "$ms" "$mp")" us/task
}

if has api; then
	echo "2. $api_tasks independent function tasks through the C API" \
		"(hd_plan_run, no store)"
	section "$api_tasks" "$(median api_procs 2)" "$(median api_ssh 2)" \
		"$(median api_procs 1)" "$(median api_ssh 1)"
	echo
fi

if has fn; then
	echo "3. $fn_tasks independent function tasks through hodos run" \
		"(wc_total of examples/plugin)"
	if [ "$fn_ok" = 1 ]; then
		section "$fn_tasks" "$(median fn_procs)" "$(median fn_ssh)" \
			"$sp" "$ss"
	else
		row "$plugin" "not built"
	fi
	echo
fi

if has shell; then
	echo "4. $tasks independent tasks of \`true\` through hodos run" \
		"(each run by /bin/sh)"
	section "$tasks" "$(median sh_procs)" "$(median sh_ssh)" "$sp" "$ss"
	row "no hodos: xargs -P 4 -n 1 sh -c true" \
		"$(per "$(median sh_xargs)" "$tasks")" us/task
	echo
fi

if has data; then
	dp=$(median data_procs)
	ds=$(median data_ssh)
	raw=$(median bytes 1)
	pd=$(median bytes 2)
	pu=$(median bytes 3)
	td=$(median bytes 4)
	tu=$(median bytes 5)
	pt=$(calc %.0f 'a + b' "$pd" "$pu")
	tt=$(calc %.0f 'a + b' "$td" "$tu")
	z=-
	[ -f "$tmp/zstd" ] && z=$(cat "$tmp/zstd")
	have zstd || z="not installed"
	echo "5. $parts tasks each printing $part_bytes bytes of log-like" \
		"text, each read by a \`wc -c\` task"
	row "processes: wall time" "$(calc %.2f 'a / 1000' "$dp")" s
	row "ssh: wall time" "$(calc %.2f 'a / 1000' "$ds")" s
	row "ratio ssh / processes" "$(calc %.2f 'a / b' "$ds" "$dp")" x
	row "result bytes (each crosses twice: up, then down)" "$(mb "$raw")" \
		MB
	if num "$z"; then
		row "  zstd -1 of each result, for reference" "$(mb "$z")" MB \
			"$(calc %.2f 'a / b' "$raw" "$z")x less than raw"
	else
		row "  zstd -1 of each result, for reference" "$z"
	fi
	row "hodos protocol up (the results, from the hosts)" "$(mb "$pu")" \
		MB "$(calc %.2f 'a / b' "$raw" "$pu")x less than raw"
	row "hodos protocol down (tasks and their inputs)" "$(mb "$pd")" MB \
		"$(calc %.2f 'a / b' "$raw" "$pd")x less than raw"
	row "TCP bytes of the ssh connections, up" "$(mb "$tu")" MB
	row "TCP bytes of the ssh connections, down" "$(mb "$td")" MB
	x=$(calc %.2f '2 * a / b' "$raw" "$tt")
	row "TCP bytes, both ways" "$(mb "$tt")" MB "${x}x less than 2 x raw"
	row "  ssh's own bytes (TCP less protocol)" \
		"$(calc %.2f '(a - b) / 1e6' "$tt" "$pt")" MB \
		"$(calc %.2f '100 * (a - b) / b' "$tt" "$pt") % of the protocol"
fi
exit "$status"
