#!/bin/sh
# The ssh backend against real sshd servers on 127.0.0.2 (h1) and
# 127.0.0.3 (h2), started here (lib.sh):
#   - 500 tasks over both hosts while h2 is killed midway: every task
#     done, the right total, no ssh process or control folder left;
#   - a host that goes silent (its sshd stopped) is noticed by keep-alives
#     and its tasks go to the other host;
#   - a host that cannot be reached at start is named and the run goes on;
#   - Ctrl-C while a host that never answers is being connected to stops
#     the run at once; control folders of killed runs are removed;
#   - hodos killed: the workers on the hosts stop their tasks;
#   - an unknown host key is refused unless the workflow opts out;
#   - no host reachable: exit 1 naming each host's error;
#   - functions of a plugin run on the hosts, with the same results as
#     the processes backend.
#
#   - a host that shares no files (a worker --root): input files and
#     plugins are sent, output files come back;
#   - hodos serve reached through tunnels, with the token and without;
#   - a program that registers its own function serves as the worker
#     (hd_worker_main), its tasks running in its sessions on the hosts.
#
# Usage: sh run.sh HODOS_BIN SRCDIR PLUGIN_DIR SELFWORKER_BIN HANG_PLUGIN
# Exits 77 (skipped) when sshd is not installed.

set -u
if [ "$#" -ne 5 ]; then
  echo "usage: sh run.sh HODOS_BIN SRCDIR PLUGIN_DIR SELFWORKER_BIN" \
    "HANG_PLUGIN" >&2
  exit 2
fi
hodos=$1
src=$2
plugins=$3
selfworker=$4
hang=$5
for v in hodos src plugins selfworker hang; do
  eval "p=\$$v"
  # shellcheck disable=SC2154 # p is set by the eval
  case $p in /*) ;; *) eval "$v=\$(pwd)/\$p" ;; esac
done
# shellcheck source=tests/ssh/lib.sh
. "$src/tests/ssh/lib.sh"
ssh_test_begin sshtest
worker="$hodos worker --stdio"
failures=0
fail() {
  echo "FAIL  $case: $*" >&2
  failures=$((failures + 1))
}
pass() { echo "PASS  $case"; }
pass_if_ok() { [ "$failures" = "$1" ] && pass; }

# A workflow of N tasks gen[i=1..N], each printing i * K after 10 ms, and
# a task total that adds them up.
map_workflow() {
  echo "tasks:"
  echo "  - name: gen"
  echo "    map:"
  printf "      i: ["
  i=1
  while [ "$i" -le "$1" ]; do
    printf "%s%d" "$([ "$i" -gt 1 ] && echo ', ')" "$i"
    i=$((i + 1))
  done
  echo "]"
  echo "    run: sleep 0.01; expr {i} \\* $2"
  echo "  - name: total"
  echo "    after: gen"
  echo "    run: awk '{ s += \$1 } END { print s }'"
}

# The control folders of hodos's ssh backend made since this test began
# (other runs on the machine may have theirs).
ctl_dirs() { ls -d "/tmp/hodos-ssh-$1."* 2>/dev/null; }
# ssh clients started by hodos for this test: their command line names a
# control socket and this test's ssh configuration.
ssh_left() { pgrep -f -- "-F $SSH_CONFIG .*-S /tmp/hodos-ssh-" 2>/dev/null; }

# ---- 500 tasks, h2 killed midway ----
case=two-hosts-one-killed
mkdir -p "$work/a" && cd "$work/a" || exit 1
map_workflow 500 3 >wf.yaml
"$hodos" run --store st --hosts h1:2,h2:2 --worker "$worker" wf.yaml \
  >out.txt 2>err.txt &
pid=$!
# Kill h2 once a fifth of the tasks are done.
n=0
tries=0
while [ "$tries" -lt 600 ]; do
  n=$(ls st/runs/last/results 2>/dev/null | wc -l)
  [ "$n" -ge 100 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
  tries=$((tries + 1))
done
killed_at=$n
sshd_kill_host 2
wait "$pid"
status=$?
[ "$status" = 0 ] || fail "exit status $status, not 0: $(tail -5 err.txt)"
[ "$(cat out.txt)" = 375750 ] || fail "total is '$(cat out.txt)', not 375750"
done_n=$(ls st/runs/last/results | grep -c '^gen')
[ "$done_n" = 500 ] || fail "$done_n results of gen, not 500"
grep -q "500 tasks\|501 tasks: 501 done" err.txt ||
  fail "the summary is not 501 done: $(tail -3 err.txt)"
[ "$killed_at" -lt 500 ] || fail "h2 was killed only after the run ($killed_at done)"
grep -q "host h2 is lost: .*; its tasks go to the other hosts" err.txt ||
  fail "nothing says h2 was lost: $(tail -3 err.txt)"
# The report of the run draws a track per host and slot.
"$hodos" report -s st --html report.html >/dev/null 2>rep.err ||
  fail "hodos report: $(cat rep.err)"
grep -Eq ">h1 · [0-9]+<" report.html && grep -Eq ">h2 · [0-9]+<" report.html ||
  fail "the report has no track per host and slot"
sleep 0.3
[ -z "$(ssh_left)" ] || fail "ssh processes left: $(ssh_left)"
[ -z "$(ctl_dirs "$pid")" ] ||
  fail "a control folder was left: $(ctl_dirs "$pid")"
[ "$failures" = 0 ] && pass
grep -E "h2|back in line" err.txt | head -5
sshd_restart_host 2 || exit 1

# The largest host lost: a task asking for more slots than any host has
# takes the largest of those left, instead of waiting for the lost one.
case=largest-host-lost
f0=$failures
cat >huge.yaml <<'EOF'
tasks:
  - name: first
    run: sleep 2; echo first
  - name: huge
    cpus: 4
    run: echo huge
    after: first
EOF
timeout 60 "$hodos" run -q --no-cache --store st13 --hosts h2:4,h1:1 \
  --worker "$worker" huge.yaml >out.txt 2>err.txt &
pid=$!
sleep 1
sshd_kill_host 2
wait "$pid"
status=$?
[ "$status" = 0 ] || fail "exit status $status, not 0: $(tail -3 err.txt)"
[ "$(cat out.txt)" = huge ] || fail "output '$(cat out.txt)'"
sshd_restart_host 2 || exit 1
pass_if_ok "$f0"

# A host whose worker cannot start (no hodos at that path) is named, even
# when the other host runs every task before it would be given up.
case=host-without-worker-is-named
f0=$failures
cat >nohodos.yaml <<EOF
backend: ssh
hosts:
  - {host: h1, slots: 2, hodos: $hodos}
  - {host: h2, slots: 2, hodos: /opt/nowhere/hodos}
tasks:
  - name: t
    map: {i: [1, 2, 3]}
    run: echo {i}
EOF
for try in 1 2 3; do
  "$hodos" run -q --no-cache --store st14 nohodos.yaml >out.txt 2>err.txt ||
    fail "exit status $?: $(cat err.txt)"
  grep -q "host h2" err.txt || fail "try $try: h2 is not named: $(cat err.txt)"
done
pass_if_ok "$f0"

# A SIGTERM to a host's worker (the host shutting down) puts its task
# back in line instead of failing it.
case=host-worker-sigterm-requeues
f0=$failures
rm -f "$work/a/term.mark"
cat >term.yaml <<EOF
tasks:
  - name: long
    run: 'if [ -e $work/a/term.mark ]; then echo again; else : >$work/a/term.mark; sleep 27.75; fi'
EOF
"$hodos" run -q --no-cache --store st15 --hosts h1:1 --worker "$worker" \
  term.yaml >out.txt 2>err.txt &
pid=$!
n=0
while ! pgrep -f '^sleep 27.75$' >/dev/null && [ "$n" -lt 150 ]; do
  sleep 0.1
  n=$((n + 1))
done
wpid=$(pgrep -f "^$hodos worker --stdio" | head -1)
[ -n "$wpid" ] && kill -TERM $wpid
wait "$pid"
status=$?
[ "$status" = 0 ] || fail "exit status $status, not 0: $(cat err.txt)"
[ "$(cat out.txt)" = again ] || fail "output '$(cat out.txt)'"
grep -q "goes back in line: its worker on h1 was sent SIGTERM" err.txt ||
  fail "no word of the task going back: $(cat err.txt)"
pgrep -f '^sleep 27.75$' >/dev/null && fail "the stopped attempt still runs"
pass_if_ok "$f0"

# ---- a host that goes silent ----
case=silent-host
f0=$failures
cd "$work/a" || exit 1
map_workflow 200 2 >silent.yaml
start=$(date +%s)
HODOS_SSH_KEEPALIVE=1 "$hodos" run --store st6 --hosts h1:2,h2:2 \
  --worker "$worker" silent.yaml >out.txt 2>err.txt &
pid=$!
tries=0
while [ "$tries" -lt 600 ]; do
  [ "$(ls st6/runs/last/results 2>/dev/null | wc -l)" -ge 40 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
  tries=$((tries + 1))
done
sshd_freeze_host 2
wait "$pid"
status=$?
took=$(($(date +%s) - start))
[ "$status" = 0 ] || fail "exit status $status: $(tail -3 err.txt)"
[ "$(cat out.txt)" = 40200 ] || fail "total is '$(cat out.txt)', not 40200"
grep -q "goes back in line: the session on h2 ended" err.txt ||
  fail "no task of h2 went back in line: $(tail -3 err.txt)"
# Three missed keep-alives of a second, and the rest of the work on h1.
[ "$took" -le 20 ] || fail "the silent host took ${took} s to notice"
sshd_kill_host 2
sshd_restart_host 2 || exit 1
pass_if_ok "$f0"

# ---- a host that cannot be reached at start ----
case=unreachable-host-at-start
f0=$failures
cd "$work/a" || exit 1
cat >small.yaml <<'EOF'
tasks:
  - name: a
    run: echo a
  - name: b
    after: a
    run: cat; echo b
EOF
"$hodos" run -q --store st2 --hosts h1,nowhere.invalid --worker "$worker" \
  small.yaml >out.txt 2>err.txt
status=$?
[ "$status" = 0 ] || fail "exit status $status, not 0: $(cat err.txt)"
[ "$(cat out.txt)" = "a
b" ] || fail "output '$(cat out.txt)'"
grep -q "host nowhere.invalid cannot be reached: .*; the run goes on without it" err.txt ||
  fail "the unreachable host is not named: $(cat err.txt)"
[ "$failures" = "$f0" ] && pass

# ---- Ctrl-C while a host is still being connected to ----
# A host that takes the connection but never speaks holds ssh up to its
# ConnectTimeout (60 s here); hodos must stop at once (it waited for ssh).
case=interrupt-while-connecting
f0=$failures
python3 -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
held = []
s.settimeout(1)
end = time.time() + 90
while time.time() < end:
    try:
        held.append(s.accept())
    except OSError:
        pass
' >mute.port </dev/null &
mute=$!
n=0
while [ ! -s mute.port ] && [ "$n" -lt 100 ]; do
  sleep 0.1
  n=$((n + 1))
done
cat >mute.yaml <<EOF
hosts:
  - host: 127.0.0.1
    port: $(cat mute.port)
    slots: 1
tasks:
  - name: a
    run: echo a
EOF
HODOS_SSH_COMMAND="$HODOS_SSH_COMMAND -o ConnectTimeout=60" \
  "$hodos" run -q --store st9 -b ssh --worker "$worker" mute.yaml \
  >/dev/null 2>err.txt &
pid=$!
sleep 1
kill -INT "$pid"
n=0
while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 150 ]; do
  sleep 0.1
  n=$((n + 1))
done
if kill -0 "$pid" 2>/dev/null; then
  fail "hodos still connecting 15 s after Ctrl-C"
  kill -KILL "$pid"
fi
wait "$pid"
status=$?
[ "$status" = 130 ] || fail "exit status $status, not 130: $(cat err.txt)"
kill "$mute" 2>/dev/null
wait "$mute" 2>/dev/null
[ "$failures" = "$f0" ] && pass

# ---- control folders of runs killed by SIGKILL are removed ----
case=stale-control-folders
f0=$failures
sh -c 'exit 0' &
dead=$!
wait "$dead"
mkdir -p "/tmp/hodos-ssh-$dead.stale1" "/tmp/hodos-ssh-$$.alive1"
: >"/tmp/hodos-ssh-$dead.stale1/master-0.err"
"$hodos" run -q --store st10 --hosts h1 --worker "$worker" small.yaml \
  >/dev/null 2>err.txt || fail "the run failed: $(cat err.txt)"
[ ! -e "/tmp/hodos-ssh-$dead.stale1" ] ||
  fail "the folder of a process that is gone is still there"
[ -d "/tmp/hodos-ssh-$$.alive1" ] ||
  fail "the folder of a live process was removed"
rm -rf "/tmp/hodos-ssh-$dead.stale1" "/tmp/hodos-ssh-$$.alive1"
[ "$failures" = "$f0" ] && pass

# ---- a worker whose session ends stops its task ----
# hodos killed (SIGKILL) while both slots of h1 run a long shell task:
# its ssh clients end, and each worker on h1, its input closed, stops its
# task instead of running it to the end (they ran 27 s more).
case=worker-ends-with-its-session
f0=$failures
cat >long.yaml <<'EOF'
tasks:
  - name: l1
    run: sleep 27.25
  - name: l2
    run: sleep 27.25
EOF
"$hodos" run -q --store st11 --hosts h1:2 --worker "$worker" long.yaml \
  >/dev/null 2>&1 &
pid=$!
n=0
while [ "$(pgrep -c -f '^sleep 27.25$')" -lt 2 ] && [ "$n" -lt 150 ]; do
  sleep 0.1
  n=$((n + 1))
done
[ "$n" -lt 150 ] || fail "the tasks did not start"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
n=0
while pgrep -f '^sleep 27.25$' >/dev/null && [ "$n" -lt 100 ]; do
  sleep 0.1
  n=$((n + 1))
done
if pgrep -f '^sleep 27.25$' >/dev/null; then
  fail "the tasks outlived their sessions by 10 s"
  pkill -f '^sleep 27.25$'
fi
# The killed run's master connection would wait a minute for its sessions.
pkill -f -- "-S /tmp/hodos-ssh-$pid\\." 2>/dev/null
rm -rf "/tmp/hodos-ssh-$pid".*
[ "$failures" = "$f0" ] && pass

# A task on a host inherits no descriptor of its worker's: one that
# wrote into the worker's frames broke the session, and one held open
# kept a killed worker's session alive.
case=task-inherits-no-descriptor
f0=$failures
cat >fds.yaml <<'EOF'
tasks:
  - name: fds
    run: ls /proc/$$/fd; true
EOF
"$hodos" run -q --no-cache --store st12 --hosts h1 --worker "$worker" \
  fds.yaml >out.txt 2>err.txt || fail "exit status $?: $(cat err.txt)"
[ "$(tr '\n' ' ' <out.txt)" = "0 1 2 " ] ||
  fail "the task's descriptors: $(cat out.txt)"
pass_if_ok "$f0"

# ---- {after.TASK} files and stderr logs ----
case=after-files-and-logs
f0=$failures
cat >after.yaml <<'EOF'
tasks:
  - name: a
    run: echo hello; echo oops >&2
  - name: b
    after: a
    run: tr a-z A-Z < {after.a}
EOF
"$hodos" run -q --store st4 --hosts h1,h2 --worker "$worker" after.yaml \
  >out.txt 2>err.txt
status=$?
[ "$status" = 0 ] || fail "exit status $status: $(cat err.txt)"
[ "$(cat out.txt)" = HELLO ] || fail "output '$(cat out.txt)', not HELLO"
grep -q oops st4/runs/last/logs/a.stderr 2>/dev/null ||
  fail "no stderr log of a in the run folder"
[ "$failures" = "$f0" ] && pass

# ---- hosts without slots get their CPU count ----
case=slots-learned
f0=$failures
cat >naps.yaml <<'EOF'
tasks:
  - name: nap
    map:
      i: [1, 2, 3, 4, 5, 6, 7, 8]
    run: sleep 0.3
EOF
"$hodos" run -v --no-cache --store st7 --hosts h1,h2 --worker "$worker" \
  --events naps.jsonl naps.yaml >/dev/null 2>err.txt
status=$?
[ "$status" = 0 ] || fail "exit status $status: $(cat err.txt)"
cpus=$(getconf _NPROCESSORS_ONLN)
grep -q "host h1: $cpus slots (its CPUs)" err.txt ||
  fail "h1's slots were not learned: $(grep -i slot err.txt)"
# Every slot of both hosts ran a task.
used=$(grep '"event":"done"' naps.jsonl | sed 's/.*"worker":\([0-9]*\).*/\1/' |
  sort -u | wc -l)
want=$((2 * cpus > 8 ? 8 : 2 * cpus))
[ "$used" = "$want" ] || fail "$used workers ran tasks, not $want"
[ "$failures" = "$f0" ] && pass

# ---- a task of 2 cpus takes 2 slots of one host ----
case=cpus-per-host
f0=$failures
cat >cpus.yaml <<'EOF'
tasks:
  - name: big
    cpus: 2
    priority: 10
    run: sleep 0.6
  - name: small
    map:
      i: [1, 2, 3, 4]
    run: sleep 0.3
EOF
"$hodos" run -q --no-cache --store st8 --hosts h1:1,h2:2 --worker "$worker" \
  --events cpus.jsonl cpus.yaml >/dev/null 2>err.txt
status=$?
[ "$status" = 0 ] || fail "exit status $status: $(cat err.txt)"
python3 - cpus.jsonl <<'PY' 2>py.err || fail "$(cat py.err)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
big = [e for e in ev if e["task"] == "big" and e["event"] in ("started", "done")]
if [e.get("host") for e in big] != ["h2", "h2"]:
    sys.exit("big ran on %r, not on h2 (the only host with 2 slots)" %
             [e.get("host") for e in big])
t0, t1 = big[0]["time"], big[1]["time"]
for e in ev:
    if e["task"] != "big" and e["event"] == "started" and \
            e.get("host") == "h2" and t0 <= e["time"] < t1:
        sys.exit("%s started on h2 while big held both its slots" % e["task"])
PY
[ "$failures" = "$f0" ] && pass

# ---- host keys: checked unless the workflow opts out ----
case=host-key-check
f0=$failures
cd "$work/a" || exit 1
for check in true false; do
  cat >keys-$check.yaml <<EOF
backend: ssh
hosts:
  - host: h1
    check_host_key: $check
tasks:
  - name: a
    run: echo a
EOF
  HODOS_SSH_COMMAND="$HODOS_SSH_COMMAND -o UserKnownHostsFile=/dev/null" \
    "$hodos" run -q --no-cache --store st7 --worker "$worker" \
    keys-$check.yaml >out.txt 2>err.txt
  status=$?
  if [ $check = true ]; then
    [ "$status" = 1 ] || fail "an unknown host key was accepted"
    grep -q "Host key verification failed" err.txt ||
      fail "no word of the host key: $(cat err.txt)"
  else
    [ "$status" = 0 ] || fail "check_host_key: false did not connect: $(cat err.txt)"
  fi
done
pass_if_ok "$f0"

# ---- no host reachable ----
case=no-host-reachable
f0=$failures
"$hodos" run -q --store st3 --hosts nowhere.invalid,h1 --worker "$worker" \
  small.yaml >/dev/null 2>&1 # a warm-up that must work
HODOS_SSH_COMMAND="$HODOS_SSH_COMMAND -o ConnectTimeout=2" \
  "$hodos" run -q --store st3 --hosts nowhere.invalid,alsonot.invalid \
  --worker "$worker" small.yaml >out.txt 2>err.txt
status=$?
[ "$status" = 1 ] || fail "exit status $status, not 1"
grep -q "no host can be reached: nowhere.invalid: .*; alsonot.invalid: " err.txt ||
  fail "the hosts' errors are not named: $(cat err.txt)"
[ "$failures" = "$f0" ] && pass

# ---- a plugin's functions on the hosts ----
case=plugin-functions-remote
f0=$failures
rm -rf "$work/ex" && cp -r "$src/examples" "$work/ex" && cd "$work/ex" || exit 1
HODOS_PLUGIN_PATH=$plugins "$hodos" run -q --store st -b processes \
  plugin/plugin.yaml >local.txt 2>err.txt || fail "local run: $(cat err.txt)"
HODOS_PLUGIN_PATH=$plugins "$hodos" run -q --store st --no-cache \
  --hosts h1:2,h2:2 --worker "$worker" plugin/plugin.yaml >remote.txt \
  2>err.txt || fail "remote run: $(cat err.txt)"
[ -s local.txt ] || fail "no output from the local run"
cmp -s local.txt remote.txt || fail "remote output differs: $(diff local.txt remote.txt | head -5)"
[ "$failures" = "$f0" ] && pass

# ---- a host that shares no files: inputs and plugins go, outputs come ----
case=files-travel
f0=$failures
rm -rf "$work/f" && mkdir -p "$work/f/data" "$work/f/lib" && cd "$work/f" || exit 1
cp "$plugins/libhodos_wordcount.so" lib/
seq 1 5000 >data/numbers.txt
printf 'the river the forest\n' >data/words.txt
cat >files.yaml <<'EOF'
plugins: [libhodos_wordcount.so]
tasks:
  - name: sum
    inputs: [data/numbers.txt]
    outputs: [out/sum.txt]
    run: mkdir -p out && awk '{ s += $1 } END { print s }' data/numbers.txt > out/sum.txt
  - name: text
    inputs: [data/words.txt]
    run: cat data/words.txt
  - name: words
    fn: wc_total
    after: text
  - name: report
    after: [sum, words]
    outputs: ["{name}.txt"]
    params:
      name: final
    run: cat > {outputs.0}
EOF
HODOS_PLUGIN_PATH=lib "$hodos" run -q --store st --hosts h1,h2 \
  --worker "env XDG_CACHE_HOME=$work/f/cache $hodos worker --stdio --root $work/f/remote" \
  files.yaml >out.txt 2>err.txt
status=$?
[ "$status" = 0 ] || fail "exit status $status: $(cat err.txt)"
[ "$(cat out/sum.txt 2>/dev/null)" = 12502500 ] ||
  fail "out/sum.txt did not come back: '$(cat out/sum.txt 2>/dev/null)'"
[ -f "$work/f/remote/data/numbers.txt" ] || fail "data/numbers.txt was not sent"
cmp -s data/numbers.txt "$work/f/remote/data/numbers.txt" ||
  fail "data/numbers.txt differs on the host"
[ -f final.txt ] || fail "final.txt (a staged output) did not come back"
[ "$(cat final.txt 2>/dev/null)" = 4 ] || fail "final.txt: '$(cat final.txt)', not 4"
ls "$work/f/cache/hodos/plugins/"*libhodos_wordcount.so >/dev/null 2>&1 ||
  fail "the plugin was not sent to the host's cache"
ls -a "$work/f/remote" | grep -q hodos-part && fail "a staged file was left on the host"
pass_if_ok "$f0"

# ---- hodos serve reached through tunnels ----
case=tunnel-to-serve
f0=$failures
cd "$work/a" || exit 1
token=tok-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
sport=$((SSHD_PORT + 7))
HODOS_TOKEN= "$hodos" serve --listen "127.0.0.1:$sport" >/dev/null 2>serve0.err
[ $? = 2 ] || fail "serve without a token did not exit with status 2"
HODOS_TOKEN=$token "$hodos" serve --listen "127.0.0.1:$sport" 2>serve.err &
spid=$!
tries=0
until grep -q "serving on" serve.err 2>/dev/null || [ $tries -ge 50 ]; do
  sleep 0.1
  tries=$((tries + 1))
done
HODOS_TOKEN=$token "$hodos" run -q --no-cache --store st5 --hosts h1:2,h2:2 \
  --tunnel "$sport" small.yaml >out.txt 2>err.txt
status=$?
[ "$status" = 0 ] || fail "exit status $status: $(cat err.txt)"
[ "$(cat out.txt)" = "a
b" ] || fail "output '$(cat out.txt)'"
grep -q refused serve.err && fail "serve refused a connection: $(cat serve.err)"
HODOS_TOKEN=$token "$hodos" run -q --no-cache --store st5 --hosts h1 \
  --tunnel "$sport" fds.yaml >out.txt 2>err.txt
[ "$(tr '\n' ' ' <out.txt)" = "0 1 2 " ] ||
  fail "a task's descriptors on serve: $(cat out.txt) $(cat err.txt)"
pass_if_ok "$f0"

# A function task past its timeout on a serve session: hodos ends the
# session, and the session's process on the host ends too, though the
# function never returns.
case=serve-timeout
f0=$failures
cat >hang.yaml <<EOF
plugins: [$hang]
tasks:
  - name: stuck
    fn: hang
    timeout: 1s
EOF
HODOS_TOKEN=$token "$hodos" run -q --no-cache --store st9 --hosts h1 \
  --tunnel "$sport" hang.yaml >/dev/null 2>err.txt
status=$?
[ "$status" = 1 ] || fail "exit status $status, not 1: $(cat err.txt)"
grep -q "timed out\|timeout" err.txt || fail "no timeout said: $(cat err.txt)"
# serve's children are its sessions: none is left within 8 s.
tries=0
while [ -n "$(pgrep -P "$spid")" ] && [ "$tries" -lt 80 ]; do
  sleep 0.1
  tries=$((tries + 1))
done
[ -z "$(pgrep -P "$spid")" ] ||
  fail "serve's sessions still run 8 s later: $(pgrep -a -P "$spid")"
pass_if_ok "$f0"

case=tunnel-wrong-token
f0=$failures
HODOS_TOKEN=not-$token "$hodos" run -q --no-cache --store st5 --hosts h1 \
  --tunnel "$sport" small.yaml >out.txt 2>err.txt
status=$?
[ "$status" = 1 ] || fail "exit status $status, not 1"
grep -q "host h1 is lost: .*a wrong token" err.txt ||
  fail "the refusal is not explained: $(cat err.txt)"
grep -q "refused a connection from 127.0.0.1: no valid token" serve.err ||
  fail "serve does not say it refused: $(cat serve.err)"
kill -0 "$spid" 2>/dev/null || fail "serve ended"
kill "$spid"
wait "$spid"
[ $? = 0 ] || fail "serve did not end with status 0 on SIGTERM"
pass_if_ok "$f0"

# ---- a program as its own worker ----
case=program-as-worker
f0=$failures
out=$("$selfworker" 2>"$work/err.txt")
[ "$out" = ok ] || fail "selfworker: '$out' $(cat "$work/err.txt")"
[ "$failures" = "$f0" ] && pass

[ -z "$(ssh_left)" ] || {
  case=end
  fail "ssh processes left: $(ssh_left)"
}
if [ "$failures" -gt 0 ]; then
  echo "ssh: $failures failure(s)" >&2
  exit 1
fi
echo "ssh: all passed"
