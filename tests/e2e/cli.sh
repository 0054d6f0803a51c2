#!/bin/sh
# The hodos command outside `hodos run FILE`: help, version, usage errors.
#
# Usage: sh cli.sh HODOS_BIN [SRCDIR]
#
# With SRCDIR, `hodos --version` must print the version that
# SRCDIR/include/hodos/version.h declares; without it, any X.Y.Z.
# Each check runs hodos with NO_COLOR=1 in a temporary folder and compares
# its exit status, standard output and standard error. A check marked as a
# known bug (xfail) is reported but does not fail the run while it fails;
# once it passes, it fails the run so that the mark is removed.
# Exits 1 when a check failed, 2 on a usage error.

set -u

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
  echo "usage: sh cli.sh HODOS_BIN [SRCDIR]" >&2
  exit 2
fi
hodos=$1
case $hodos in /*) ;; *) hodos=$(pwd)/$hodos ;; esac
if [ ! -x "$hodos" ] || [ -d "$hodos" ]; then
  echo "cli.sh: $hodos is not an executable file" >&2
  exit 2
fi
version_re='[0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*'
version=
if [ "$#" = 2 ]; then
  version=$(sed -n 's/^#define HD_VERSION_STRING "\(.*\)"$/\1/p' \
    "$2/include/hodos/version.h")
  if [ -z "$version" ]; then
    echo "cli.sh: no HD_VERSION_STRING in $2/include/hodos/version.h" >&2
    exit 2
  fi
fi

tmp=
# shellcheck disable=SC2317 # cleanup and on_signal run from traps
cleanup() {
  if [ -n "$tmp" ]; then
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'cleanup; trap - EXIT; exit 129' HUP
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hodos-cli.XXXXXX") || {
  echo "cli.sh: cannot make a temporary folder" >&2
  exit 1
}
out=$tmp/stdout
err=$tmp/stderr
printf 'tasks:\n  - name: a\n    run: echo a\n' >"$tmp/ok.yaml"

passed=0
failed=0
xfailed=0
failed_names=
name=
problems=
xfail=

# start NAME: begin a check.
start() {
  name=$1
  problems=
  xfail=
}

# known_bug REASON: the current check shows a known bug.
known_bug() {
  xfail=$1
}

problem() {
  problems="$problems
  $1"
}

# hd ARGS...: run hodos in the temporary folder.
hd() {
  (cd "$tmp" && NO_COLOR=1 exec "$hodos" "$@") <"/dev/null" >"$out" 2>"$err"
  status=$?
}

status_is() {
  [ "$status" = "$1" ] || problem "exit status $status, expected $1"
}

# same_text WHAT FILE TEXT: FILE holds exactly TEXT and a newline (or is
# empty when TEXT is empty).
same_text() {
  if [ -z "$3" ]; then
    [ ! -s "$2" ] || problem "$1 should be empty; it holds:
$(sed 's/^/    | /' "$2")"
  elif ! printf '%s\n' "$3" | cmp -s - "$2"; then
    problem "$1 differs (--- expected, +++ actual):
$(printf '%s\n' "$3" | diff -u - "$2" | sed 's/^/    /')"
  fi
}

out_is() { same_text stdout "$out" "$1"; }
err_is() { same_text stderr "$err" "$1"; }

# first_line_is WHAT FILE TEXT
first_line_is() {
  first=$(sed -n 1p "$2")
  [ "$first" = "$3" ] || problem "$1 starts with '$first', not '$3'"
}

finish() {
  if [ -n "$xfail" ]; then
    if [ -z "$problems" ]; then
      echo "XPASS $name: passes now; remove its known_bug mark ($xfail)"
      failed=$((failed + 1))
      failed_names="$failed_names $name"
    else
      echo "XFAIL $name: $xfail$problems"
      xfailed=$((xfailed + 1))
    fi
  elif [ -z "$problems" ]; then
    echo "PASS  $name"
    passed=$((passed + 1))
  else
    echo "FAIL  $name$problems"
    failed=$((failed + 1))
    failed_names="$failed_names $name"
  fi
}

usage_line='Usage: hodos [--help] [--version] COMMAND [ARGS]'
run_usage_line='Usage: hodos run [OPTIONS] FILE'

# ---- help ----

start help-long
hd --help
status_is 0
first_line_is stdout "$out" "$usage_line"
grep -q '^  run FILE ' "$out" || problem "--help does not list 'run'"
err_is ''
cp "$out" "$tmp/help.txt"
finish

start help-short
hd -h
status_is 0
cmp -s "$out" "$tmp/help.txt" || problem "-h prints other text than --help"
err_is ''
finish

start help-command
hd help
status_is 0
cmp -s "$out" "$tmp/help.txt" || problem "'help' prints other text than --help"
err_is ''
finish

start no-arguments
hd
status_is 2
out_is ''
# The usage goes to stderr, since it answers a mistake.
cmp -s "$err" "$tmp/help.txt" || problem "stderr is not the --help text"
finish

start help-run
hd help run
status_is 0
first_line_is stdout "$out" "$run_usage_line"
for opt in --store --backend --jobs --keep-going --mem-limit --spill-limit \
  --quiet --verbose --help; do
  grep -q -- "$opt" "$out" || problem "'help run' does not mention $opt"
done
err_is ''
cp "$out" "$tmp/help-run.txt"
finish

start help-every-command-has-an-example
for c in run validate graph status clean logs report worker serve help \
  version; do
  hd help "$c"
  [ "$status" = 0 ] || problem "'help $c' exited with $status"
  grep -qi '^example' "$out" || problem "'help $c' shows no example"
done
finish

start run-help
hd run --help
status_is 0
cmp -s "$out" "$tmp/help-run.txt" ||
  problem "'run --help' prints other text than 'help run'"
err_is ''
finish

start help-unknown-command
hd help nope
status_is 2
out_is ''
err_is "hodos: error: no command named 'nope'; see 'hodos --help'"
finish

# ---- version ----

for v in --version -V version; do
  start "version($v)"
  hd "$v"
  status_is 0
  if [ -n "$version" ]; then
    out_is "hodos $version"
  else
    if ! grep -q "^hodos $version_re\$" "$out" ||
      [ "$(wc -l <"$out")" -ne 1 ]; then
      problem "stdout is not one line 'hodos X.Y.Z': $(cat "$out")"
    fi
  fi
  err_is ''
  finish
done

# ---- usage errors ----

start unknown-command
hd nope
status_is 2
out_is ''
err_is "hodos: error: no command named 'nope'; see 'hodos --help'"
finish

start unknown-option
hd --nope
status_is 2
out_is ''
err_is "hodos: error: unknown option '--nope'; see 'hodos --help'"
finish

start run-no-file
hd run
status_is 2
out_is ''
err_is "hodos: error: no workflow file given; usage: hodos run [OPTIONS] FILE"
finish

start run-two-files
hd run ok.yaml other.yaml
status_is 2
out_is ''
err_is "hodos: error: one workflow file at a time ('other.yaml' is extra)"
finish

start run-unknown-option
hd run -x ok.yaml
status_is 2
out_is ''
err_is "hodos: error: unknown option '-x'; see 'hodos help run'"
finish

start run-unknown-option-in-cluster
hd run -kx ok.yaml
status_is 2
out_is ''
err_is "hodos: error: unknown option '-x'; see 'hodos help run'"
finish

start run-missing-value-short
hd run -s
status_is 2
out_is ''
err_is "hodos: error: option '-s' needs a value; see 'hodos help run'"
finish

start run-missing-value-long
hd run --store
status_is 2
out_is ''
err_is "hodos: error: option '--store' needs a value; see 'hodos help run'"
finish

start run-bad-jobs
hd run -j 0 ok.yaml
status_is 2
out_is ''
err_is "hodos: error: -j/--jobs takes a number from 1 to 1024, not '0'"
finish

start run-bad-mem-limit
hd run --mem-limit 12Q ok.yaml
status_is 2
out_is ''
err_is "hodos: error: --mem-limit takes a size such as 512M or 4G, not '12Q'"
finish

start run-zero-spill-limit
hd run --spill-limit 0 ok.yaml
status_is 2
out_is ''
err_is "hodos: error: --spill-limit takes a size such as 512M or 4G, not '0'"
finish

start run-spill-limit-below-mem-limit
hd run --mem-limit 2G --spill-limit 1G ok.yaml
status_is 2
out_is ''
err_is "hodos: error: --spill-limit (1073741824 bytes) must be at least --mem-limit (2147483648 bytes)"
finish

# Alone, --spill-limit is checked against --mem-limit's default (a
# quarter of the machine's memory), not ignored.
quarter=$(( $(getconf _PHYS_PAGES) / 4 * $(getconf PAGESIZE) ))
start run-spill-limit-below-default-mem-limit
hd run --no-cache --spill-limit 1K ok.yaml
status_is 2
out_is ''
err_is "hodos: error: --spill-limit (1024 bytes) must be at least the memory limit ($quarter bytes: a quarter of the machine's memory, --mem-limit's default); give --mem-limit too"
finish

# A long critical path shows its ends, not one name per task.
start validate-long-critical-path
{
  printf 'tasks:\n  - name: t0\n    run: echo 0\n'
  i=1
  while [ "$i" -lt 40 ]; do
    printf '  - name: t%d\n    run: echo %d\n    after: t%d\n' "$i" "$i" \
      $((i - 1))
    i=$((i + 1))
  done
} >"$tmp/chain.yaml"
hd validate chain.yaml
status_is 0
grep -qx '  critical path: t0 -> t1 -> t2 -> t3 -> t4 -> \.\.\. 30 more \.\.\. -> t35 -> t36 -> t37 -> t38 -> t39 (40 tasks, cost 40)' "$out" ||
  problem "the critical path is not shortened: $(grep 'critical path' "$out" | cut -c1-200)"
err_is ''
finish

start run-missing-file
hd run missing.yaml
status_is 2
out_is ''
err_is "hodos: missing.yaml: cannot read the workflow: No such file or directory"
[ ! -e "$tmp/.hodos" ] || problem "a store was made for a file that does not exist"
finish

# ---- output ----

start run-default-store
hd run -q ok.yaml
status_is 0
out_is 'a'
err_is ''
# hodos logs reads that run.
hd logs --stdout a
status_is 0
out_is 'a'
hd logs a
status_is 0
first_line_is stdout "$out" "==> a: standard output <=="
hd logs nope
status_is 1
err_is "hodos: error: task 'nope' left no output or log in .hodos/runs/last (it did not run, or is not in that run)"
hd logs 1999 a
status_is 2
hd logs
status_is 2
err_is "hodos: error: no task given; usage: hodos logs [RUN] TASK"
# --dry-run runs nothing after that run: a is up to date.
hd run --dry-run ok.yaml
status_is 0
grep -q "up to date" "$out" || problem "--dry-run does not say a is up to date"
printf 'tasks:\n  - name: b\n    run: echo b > made-by-b\n' >"$tmp/dry.yaml"
hd run -n dry.yaml
status_is 1
[ ! -e "$tmp/made-by-b" ] || problem "--dry-run ran a task"
# Without --store, runs go to .hodos beside the workflow file.
[ -d "$tmp/.hodos/runs/last/results" ] || problem "no .hodos/runs/last/results beside the file"
rm -rf "$tmp/.hodos"
finish

start store-empty-name
root_had_runs=0
[ ! -e /runs ] || root_had_runs=1
hd run --store '' ok.yaml
status_is 2
err_is "hodos: error: -s/--store needs a folder, not an empty name"
hd clean -s ''
status_is 2
hd logs -s '' a
status_is 2
hd status --store= ok.yaml
status_is 2
[ "$root_had_runs" = 1 ] || [ ! -e /runs ] || problem "a store was made at /"
finish

start option-value-not-taken
hd run --no-cache=1 ok.yaml
status_is 2
err_is "hodos: error: option '--no-cache' takes no value; see 'hodos help run'"
hd status --quiet=x ok.yaml
status_is 2
err_is "hodos: error: option '--quiet' takes no value; see 'hodos help status'"
hd run -Z ok.yaml
status_is 2
err_is "hodos: error: unknown option '-Z'; see 'hodos help run'"
hd run --nope ok.yaml
status_is 2
err_is "hodos: error: unknown option '--nope'; see 'hodos help run'"
finish

start sizes-either-case
hd run -q --no-cache --mem-limit 64mb ok.yaml
status_is 0
hd run -q --no-cache --mem-limit 1Gb ok.yaml
status_is 0
hd run -q --no-cache --mem-limit 64xb ok.yaml
status_is 2
finish

start closed-standard-files
# Started with stderr (then stdout) closed: the run's own files must not
# take their numbers.
(cd "$tmp" && NO_COLOR=1 exec "$hodos" run -q --no-cache ok.yaml) \
  </dev/null >"$out" 2>&-
status=$?
status_is 0
hd report
status_is 0
grep -q '^1 task: 1 done' "$out" || grep -q '1 done' "$out" ||
  problem "report after a run with stderr closed: $(head -3 "$out")"
(cd "$tmp" && NO_COLOR=1 exec "$hodos" run -q --no-cache ok.yaml) \
  </dev/null >&- 2>"$err"
status=$?
status_is 0
hd report
status_is 0
grep -q '1 done' "$out" ||
  problem "report after a run with stdout closed: $(head -3 "$out")"
rm -rf "$tmp/.hodos"
finish

start double-dash-ends-options
printf 'tasks:\n  - name: -x\n    run: echo dashed\n' >"$tmp/-d.yaml"
hd validate -- -d.yaml
status_is 0
hd run -q -- -d.yaml
status_is 0
out_is 'dashed'
hd logs --stdout -- -x
status_is 0
out_is 'dashed'
hd logs -- last -x
status_is 0
hd report -- last
status_is 0
hd logs --stdout --stderr -- -x
status_is 2
err_is "hodos: error: --stdout and --stderr go one at a time; without either, both are shown"
rm -rf "$tmp/.hodos" "$tmp/-d.yaml"
finish

start dry-run-with-resume-or-no-cache
hd run -n --resume ok.yaml
status_is 2
err_is "hodos: error: -n/--dry-run cannot go with --resume"
hd run -n --no-cache ok.yaml
status_is 2
err_is "hodos: error: -n/--dry-run cannot go with --no-cache"
hd run -n -b bogus ok.yaml
status_is 2
err_is "hodos: error: unknown backend 'bogus'; available: serial, threads, processes, ssh"
finish

start processes-fork-what-the-tasks-can-use
# -j 64 for tasks that use three slots in all (1 + 2 cpus): three
# workers, not 64. The task counts hodos's children.
cat >"$tmp/kids.yaml" <<'EOF'
tasks:
  - name: a
    run: 'ps -o pid= --ppid $(ps -o ppid= -p $PPID) | wc -l'
  - name: b
    cpus: 2
    run: 'true'
EOF
hd run -q --no-cache -j 64 kids.yaml
status_is 0
[ "$(tr -d ' ' <"$out")" = 3 ] || problem "$(cat "$out") workers for 3 slots"
rm -f "$tmp/kids.yaml"
finish

start task-inherits-three-descriptors
# hodos started with a descriptor open (7): its tasks get 0, 1 and 2 only.
# (No pipeline: the shell would hold its pipe while ls looks.)
printf 'tasks:\n  - name: fds\n    run: ls /proc/$$/fd; true\n' \
  >"$tmp/fds.yaml"
for b in processes threads; do
  (cd "$tmp" && NO_COLOR=1 exec "$hodos" run -q --no-cache -b "$b" fds.yaml) \
    </dev/null >"$out" 2>"$err" 7<"$tmp/fds.yaml"
  status=$?
  status_is 0
  [ "$(tr '\n' ' ' <"$out")" = "0 1 2 " ] ||
    problem "$b: the task had $(cat "$out")"
done
rm -f "$tmp/fds.yaml"
finish

start dead-worker-keeps-the-task-stderr
# A task whose worker dies (SIGKILL) still has the end of its standard
# error shown, read from its log file.
printf 'tasks:\n  - name: victim\n    run: echo about to be killed >&2; sleep 0.5; kill -KILL $PPID; sleep 5\n' \
  >"$tmp/victim.yaml"
hd run --no-cache -j 1 victim.yaml
status_is 1
grep -q '^hodos: standard error of victim (end):$' "$err" &&
  grep -q '^  | about to be killed$' "$err" ||
  problem "no stderr shown: $(cat "$err")"
rm -rf "$tmp/victim.yaml" "$tmp/.hodos"
finish

start logs-of-a-cached-task-say-why
hd run -q ok.yaml
hd run -q ok.yaml
hd logs --stderr a
status_is 1
err_is "hodos: error: task 'a' left no standard error in .hodos/runs/last (a task taken from the cache has no log; see 'hodos logs a')"
hd logs --stdout a
status_is 0
out_is 'a'
rm -rf "$tmp/.hodos"
finish

start ssh-options-without-ssh
hd run --hosts a,,b ok.yaml
status_is 2
err_is "hodos: error: --hosts takes [user@]host[:slots],..., not 'a,,b' (an empty item)"
hd run --tunnel 22 ok.yaml
status_is 2
err_is "hodos: error: --tunnel is for the ssh backend (--hosts, or backend: ssh), not 'processes'"
hd run -b threads --worker 'x' ok.yaml
status_is 2
err_is "hodos: error: --worker is for the ssh backend (--hosts, or backend: ssh), not 'threads'"
finish

start output-left-from-before-is-not-produced
# The command names its output ({outputs.0}) but writes nothing there: a
# file of that name from before does not pass for it.
echo old >"$tmp/a.txt"
printf 'tasks:\n  - name: stale\n    outputs: a.txt\n    run: "true {outputs.0}"\n' \
  >"$tmp/stale.yaml"
hd run -q --no-cache stale.yaml
status_is 1
grep -q "failed stale: did not produce its output 'a.txt' (nothing was written where its command names it)" "$err" ||
  problem "$(cat "$err")"
[ "$(cat "$tmp/a.txt")" = old ] || problem "the old file was changed"
# Two outputs, the second never written: the task fails and the first
# is not put in place either (a failed task leaves no output).
printf 'tasks:\n  - name: mk\n    outputs: [out.txt, log.txt]\n    run: echo data > {outputs.0}; true {outputs.1}\n' \
  >"$tmp/two.yaml"
hd run -q --no-cache two.yaml
status_is 1
[ ! -e "$tmp/out.txt" ] || problem "a failed task left out.txt in place"
[ -z "$(ls -A "$tmp" | grep hodos-part)" ] || problem "staged files left"
rm -rf "$tmp/a.txt" "$tmp/stale.yaml" "$tmp/two.yaml" "$tmp/.hodos"
finish

start after-file-from-a-workdir
# A task with a workdir of its own reads {after.TASK}, with the default
# store (.hodos beside the file, a relative path): the path is absolute.
mkdir -p "$tmp/sub"
printf 'tasks:\n  - name: up\n    run: echo UP\n  - name: down\n    after: up\n    workdir: sub\n    run: cat {after.up}\n' \
  >"$tmp/wd.yaml"
hd run -q --no-cache wd.yaml
status_is 0
out_is 'UP'
rm -rf "$tmp/sub" "$tmp/wd.yaml" "$tmp/.hodos"
finish

start runs-last-with-runs-at-once
# Three runs of one store at once: one runs, the others are refused;
# runs/last names the one that ran (refused runs pointed it at their own
# folder, since removed, or removed it).
printf 'tasks:\n  - name: a\n    run: sleep 0.5; echo a\n' >"$tmp/once.yaml"
for k in 1 2 3; do
  rm -rf "$tmp/.hodos"
  for i in 1 2 3; do
    (cd "$tmp" && NO_COLOR=1 "$hodos" run -q once.yaml >/dev/null 2>&1) &
  done
  wait
  last=$(readlink "$tmp/.hodos/runs/last")
  [ -n "$last" ] && [ -d "$tmp/.hodos/runs/$last" ] ||
    problem "round $k: runs/last -> '$last' ($(ls "$tmp/.hodos/runs" | tr '\n' ' '))"
done
rm -rf "$tmp/once.yaml" "$tmp/.hodos"
finish

start runs-of-one-pid-get-their-own-folders
# Run folders are named after the second and the process ID: two runs
# with one ID in one second (PID namespaces, a container's process 1)
# shared a folder, the second's results and logs mixed with the first's.
# Each run, as process 1 of a PID namespace of its own, until two fall in
# one second. Needs root and unshare -p; skipped without them.
if [ "$(id -u)" = 0 ] && unshare -p -f true 2>/dev/null; then
  printf 'tasks:\n  - name: a\n    run: echo a\n' >"$tmp/pid1.yaml"
  for k in 1 2 3 4 5 6; do
    rm -rf "$tmp/.hodos"
    for i in 1 2; do
      (cd "$tmp" && NO_COLOR=1 unshare -p -f "$hodos" run -q pid1.yaml \
        >/dev/null 2>&1)
    done
    dirs=$(ls "$tmp/.hodos/runs" | grep -v '^last$' | tr '\n' ' ')
    case $dirs in
    *-1\ *-1-2\ ) break ;; # the same second: the second run's own folder
    *-1\ *-1\ ) ;;          # two seconds: try again
    *) problem "runs as process 1 made the folders '$dirs'" ;;
    esac
  done
  rm -rf "$tmp/pid1.yaml" "$tmp/.hodos"
fi
finish

start folder-input-is-not-cached-and-says-so
# A folder among a task's inputs cannot be hashed: the task is not cached,
# and the run says why (it ran again at every run, silently); a missing
# input fails its task, which says so, without a warning besides.
mkdir -p "$tmp/fin/indir"
printf 'tasks:\n  - name: t\n    inputs: [indir]\n    run: echo t\n  - name: m\n    inputs: [missing]\n    run: echo m\n' \
  >"$tmp/fin/wf.yaml"
(cd "$tmp/fin" && NO_COLOR=1 "$hodos" run -q wf.yaml >/dev/null 2>"$tmp/fin/err")
grep -q "^hodos: warning: task 't': its result cannot be cached (cannot read its input file 'indir': Is a directory)$" \
  "$tmp/fin/err" || problem "no warning for a folder input: $(cat "$tmp/fin/err")"
grep -q "task 'm'.*cached" "$tmp/fin/err" &&
  problem "a warning for a missing input: $(cat "$tmp/fin/err")"
rm -rf "$tmp/fin"
finish

start events-file-whole-after-a-kill
# --events is written a line at a time: a SIGKILL leaves whole lines up to
# the last event (a block at a time left none, or half a line).
printf 'tasks:\n  - name: a\n    run: echo a\n  - name: b\n    run: sleep 29.5\n' \
  >"$tmp/k.yaml"
(cd "$tmp" && NO_COLOR=1 exec "$hodos" run -q --no-cache -b threads \
  --events ev.jsonl k.yaml) >/dev/null 2>&1 &
pid=$!
n=0
while ! grep -q '"event":"done"' "$tmp/ev.jsonl" 2>/dev/null && [ $n -lt 100 ]; do
  sleep 0.1
  n=$((n + 1))
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null
pkill -f '^sleep 29.5$' 2>/dev/null
grep -q '"event":"done","task":"a"' "$tmp/ev.jsonl" ||
  problem "the done event of a is not in the file: $(cat "$tmp/ev.jsonl")"
[ "$(tail -c 1 "$tmp/ev.jsonl" | od -An -c | tr -d ' ')" = '\n' ] ||
  problem "the file ends inside a line"
rm -rf "$tmp/k.yaml" "$tmp/ev.jsonl" "$tmp/.hodos"
finish

start escaped-child-does-not-hold-the-task
# A child that left the task's session holds its output: the task still
# ends, a few seconds after its command (it waited for the child).
printf "tasks:\n  - name: t\n    run: sh -c 'trap \"\" TERM HUP; exec setsid sleep 28.5' & sleep 0.2; echo done\n" \
  >"$tmp/esc.yaml"
(cd "$tmp" && NO_COLOR=1 exec timeout 20 "$hodos" run -q --no-cache esc.yaml) \
  </dev/null >"$out" 2>"$err"
status=$?
pkill -f '^sleep 28.5$' 2>/dev/null
status_is 0
out_is 'done'
rm -rf "$tmp/esc.yaml" "$tmp/.hodos"
finish

start report-names-no-jobs-for-serial
# The serial backend ignores -j: the report does not name a job count.
hd run -q --no-cache -b serial -j 3 ok.yaml
status_is 0
hd report
status_is 0
grep -q 'backend serial, exit status 0' "$out" ||
  problem "report: $(sed -n 2p "$out")"
hd run -q --no-cache -b threads -j 3 ok.yaml
hd report
grep -q 'backend threads with 3 jobs' "$out" ||
  problem "report: $(sed -n 2p "$out")"
rm -rf "$tmp/.hodos"
finish

start clean-store-not-a-folder
hd clean --store /dev/null
status_is 2
err_is "hodos: error: no store at /dev/null/cache: Not a directory"
finish

if [ -w /dev/full ]; then
  start help-write-error
  (cd "$tmp" && NO_COLOR=1 exec "$hodos" --help) </dev/null >/dev/full 2>"$err"
  status=$?
  [ "$status" != 0 ] || problem "exit status 0 though stdout could not be written"
  [ -s "$err" ] || problem "no message on stderr"
  finish

  start run-write-error
  (cd "$tmp" && NO_COLOR=1 exec "$hodos" run -q --store "$tmp/store" ok.yaml) \
    </dev/null >/dev/full 2>"$err"
  status=$?
  status_is 1
  grep -q '^hodos: error: cannot write the results: ' "$err" ||
    problem "stderr does not say the results could not be written"
  rm -rf "$tmp/store"
  finish
fi

echo "cli: $passed passed, $failed failed"
if [ "$xfailed" -gt 0 ]; then
  echo "cli: $xfailed known failures (xfail)"
fi
if [ "$failed" -gt 0 ]; then
  echo "cli: failed:$failed_names"
  exit 1
fi
exit 0
