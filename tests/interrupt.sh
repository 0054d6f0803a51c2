#!/bin/sh
# Ctrl-C: hodos run stops its running tasks, keeps what finished, exits
# 130 and leaves no process behind. Usage: interrupt.sh HODOS [HANG]
# (HANG: a plugin whose function 'hang' never returns).
set -eu
hodos=$1
hang=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
marker="hodos-interrupt-$$"
# Wait for the run $pid, which must exit with status 130 (what: the case).
wait_130() {
  status=0
  wait "$pid" || status=$?
  if [ "$status" -ne 130 ]; then
    echo "interrupt: exit status $status, not 130 ($1)"
    cat "$tmp/err"
    exit 1
  fi
}
cat > "$tmp/wf.yaml" <<EOF2
tasks:
  - name: first
    run: echo done-first
  - name: slow
    run: sleep 30 && echo $marker
    after: first
  - name: never
    run: echo never
    after: slow
EOF2
for backend in serial threads; do
  "$hodos" run -b "$backend" --store "$tmp/store" "$tmp/wf.yaml" \
    > "$tmp/out" 2> "$tmp/err" &
  pid=$!
  # Wait until the slow task runs, then interrupt as a terminal would.
  i=0
  while ! pgrep -f "$marker" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
      echo "interrupt: the slow task never started ($backend)"
      cat "$tmp/err"
      kill "$pid" 2>/dev/null || true
      exit 1
    fi
    sleep 0.1
  done
  kill -INT "$pid"
  wait_130 "$backend"
  if pgrep -f "$marker" >/dev/null 2>&1; then
    echo "interrupt: the task's process outlived the run ($backend)"
    pkill -f "$marker" || true
    exit 1
  fi
  if [ "$(cat "$tmp/store/runs/last/results/first")" != done-first ]; then
    echo "interrupt: the finished result was not kept ($backend)"
    exit 1
  fi
  if ! grep -q "interrupted" "$tmp/err"; then
    echo "interrupt: no word of the interruption on stderr ($backend)"
    cat "$tmp/err"
    exit 1
  fi
  if [ -e "$tmp/store/runs/last/results/never" ]; then
    echo "interrupt: a task after the interruption ran ($backend)"
    exit 1
  fi
  # The command to go on names the store the run used.
  if ! grep -q "to go on from here: hodos run --resume --store $tmp/store $tmp/wf.yaml\$" "$tmp/err"; then
    echo "interrupt: the resume hint does not name the store ($backend)"
    cat "$tmp/err"
    exit 1
  fi
done

# processes: a first Ctrl-C lets the running task finish and starts no
# other; a second stops what runs. Neither leaves a worker or a task's
# process behind.
cat > "$tmp/soft.yaml" <<EOF2
tasks:
  - name: first
    run: echo done-first
  - name: slow
    run: sleep 1.5 && echo $marker-soft
    after: first
  - name: never
    run: echo never
    after: slow
EOF2
wait_for() {
  i=0
  while ! pgrep -f "$1" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
      echo "interrupt: the slow task never started (processes)"
      cat "$tmp/err"
      return 1
    fi
    sleep 0.1
  done
}
left() {
  pgrep -f "$1" >/dev/null 2>&1
}
rm -rf "$tmp/store"
"$hodos" run -b processes --store "$tmp/store" "$tmp/soft.yaml" \
  > "$tmp/out" 2> "$tmp/err" &
pid=$!
wait_for "$marker-soft" || { kill "$pid"; exit 1; }
kill -INT "$pid"
wait_130 "processes, once"
if [ "$(cat "$tmp/store/runs/last/results/slow")" != "$marker-soft" ]; then
  echo "interrupt: the running task did not finish after one Ctrl-C"
  cat "$tmp/err"
  exit 1
fi
if [ -e "$tmp/store/runs/last/results/never" ]; then
  echo "interrupt: a task started after one Ctrl-C (processes)"
  exit 1
fi
if ! grep -q "press Ctrl-C again" "$tmp/err"; then
  echo "interrupt: no word of how to stop running tasks"
  cat "$tmp/err"
  exit 1
fi
if left "$tmp/soft.yaml" || left "$marker-soft"; then
  echo "interrupt: a worker or a task outlived the run (processes, once)"
  pkill -f "$tmp/soft.yaml" || true
  exit 1
fi

rm -rf "$tmp/store"
"$hodos" run -b processes --store "$tmp/store" "$tmp/wf.yaml" \
  > "$tmp/out" 2> "$tmp/err" &
pid=$!
wait_for "$marker" || { kill "$pid"; exit 1; }
kill -INT "$pid"
sleep 0.3
kill -INT "$pid"
wait_130 "processes, twice"
sleep 0.2
if left "$tmp/wf.yaml" || left "$marker"; then
  echo "interrupt: a worker or a task outlived the run (processes, twice)"
  ps -ef | grep -e "$marker" -e "$tmp/wf.yaml" | grep -v grep
  pkill -f "$tmp/wf.yaml" || true
  pkill -f "$marker" || true
  exit 1
fi
if [ "$(cat "$tmp/store/runs/last/results/first")" != done-first ]; then
  echo "interrupt: the finished result was not kept (processes, twice)"
  exit 1
fi
# processes, twice, with a task that ignores SIGTERM: its worker, still
# busy two seconds later, is killed, and the task's process group with
# it (nothing else would stop a group in a session of its own).
d="40.$$" # a sleep that names this test, for pgrep
cat > "$tmp/stubborn.yaml" <<EOF2
tasks:
  - name: stubborn
    run: trap '' TERM INT; echo ready > $tmp/ready; sleep $d & wait; sleep $d
EOF2
rm -rf "$tmp/store" "$tmp/ready"
"$hodos" run -b processes -j 4 --store "$tmp/store" "$tmp/stubborn.yaml" \
  > "$tmp/out" 2> "$tmp/err" &
pid=$!
i=0
while [ ! -e "$tmp/ready" ] || ! left "sleep $d"; do
  i=$((i + 1))
  if [ $i -gt 100 ]; then
    echo "interrupt: the stubborn task never started"
    cat "$tmp/err"
    kill "$pid"
    exit 1
  fi
  sleep 0.1
done
kill -INT "$pid"
sleep 0.3
kill -INT "$pid"
wait_130 "processes, SIGTERM ignored"
# SIGKILL was sent before hodos exited; give the processes time to go.
i=0
while left "sleep $d" && [ $i -lt 50 ]; do
  i=$((i + 1))
  sleep 0.1
done
if left "sleep $d"; then
  echo "interrupt: a task that ignores SIGTERM outlived the run (processes)"
  pgrep -af "sleep $d"
  pkill -KILL -f "sleep $d" || true
  exit 1
fi
# threads and serial, with a function that never returns (a thread
# cannot be killed): Ctrl-C stops the run anyway, three seconds later,
# naming the task, with the run's record closed and exit status 130.
# processes: SIGTERM to hodos's whole process group (timeout(1), a
# service manager) reaches its workers too: an interrupt that stops the
# running task (SIGTERM and SIGHUP stop running tasks at once), cancelled,
# not failed as stopped from outside hodos.
if command -v setsid >/dev/null 2>&1; then
  cat > "$tmp/group.yaml" <<EOF2
tasks:
  - name: first
    run: echo done-first
  - name: slow
    run: sleep 30 && echo $marker-group
    after: first
  - name: never
    run: echo never
    after: slow
EOF2
  rm -rf "$tmp/store"
  setsid "$hodos" run -b processes --store "$tmp/store" "$tmp/group.yaml" \
    > "$tmp/out" 2> "$tmp/err" &
  pid=$!
  wait_for "$marker-group" || { kill "$pid"; exit 1; }
  kill -TERM "-$pid"
  wait_130 "SIGTERM to the group"
  if ! grep -q "1 done, 0 failed, 0 skipped, 2 cancelled" "$tmp/err"; then
    echo "interrupt: SIGTERM to the group is not an interrupt"
    cat "$tmp/err"
    exit 1
  fi
  # It says what happens: the running task is stopped (it said running
  # tasks would finish, while its worker, which got the signal too,
  # stopped it).
  if ! grep -q "^hodos: stopping running tasks$" "$tmp/err" ||
    grep -q "running tasks finish" "$tmp/err"; then
    echo "interrupt: SIGTERM to the group says the running tasks finish"
    cat "$tmp/err"
    exit 1
  fi
  if left "$marker-group"; then
    echo "interrupt: the task outlived SIGTERM to the group"
    pkill -f "$marker-group" || true
    exit 1
  fi
fi

if [ -n "$hang" ]; then
  cat > "$tmp/hang.yaml" <<EOF2
plugins: $hang
tasks:
  - name: first
    run: echo done-first
  - name: stuck
    fn: hang
    timeout: 1s
    after: first
  - name: never
    run: echo never
    after: stuck
EOF2
  for backend in threads serial; do
    rm -rf "$tmp/store"
    "$hodos" run -b "$backend" --store "$tmp/store" "$tmp/hang.yaml" \
      > "$tmp/out" 2> "$tmp/err" &
    pid=$!
    i=0
    while ! grep -q "done first" "$tmp/err"; do
      i=$((i + 1))
      if [ $i -gt 100 ]; then
        echo "interrupt: the first task never ended ($backend, hang)"
        cat "$tmp/err"
        kill -KILL "$pid"
        exit 1
      fi
      sleep 0.1
    done
    sleep 0.5
    kill -INT "$pid"
    # A watchdog: before the fix, nothing but SIGKILL ended hodos.
    (sleep 15 && kill -KILL "$pid" 2>/dev/null) &
    dog=$!
    status=0
    wait "$pid" || status=$?
    kill "$dog" 2>/dev/null || true
    if [ "$status" -ne 130 ]; then
      echo "interrupt: exit status $status, not 130 ($backend, a function" \
        "that does not return)"
      cat "$tmp/err"
      exit 1
    fi
    if ! grep -q "a function task does not return (stuck): leaving it" \
      "$tmp/err"; then
      echo "interrupt: no word of the function left running ($backend)"
      cat "$tmp/err"
      exit 1
    fi
    if [ "$(cat "$tmp/store/runs/last/results/first")" != done-first ]; then
      echo "interrupt: the finished result was not kept ($backend, hang)"
      exit 1
    fi
    # The run's record is closed: its exit status is in it.
    if ! "$hodos" report --store "$tmp/store" 2>&1 |
      grep -q "exit status 130"; then
      echo "interrupt: the run's record was not closed ($backend, hang)"
      "$hodos" report --store "$tmp/store" 2>&1 | head -5
      exit 1
    fi
  done
fi

echo "interrupt: exit 130, results kept, no process left (serial, threads," \
  "processes once and twice, twice with SIGTERM ignored, SIGTERM to the group, a function that" \
  "does not return)"
