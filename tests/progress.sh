#!/bin/sh
# The progress of hodos run: on a terminal (a tmux pane), a status line
# redrawn in place with a bar, the counts and the tasks running, gone when
# the run ends, with failures printed above it; through a pipe, one plain
# line per finished task and no terminal escapes.
#
# Usage: sh progress.sh HODOS_BIN. Exits 77 (skipped) without tmux.
set -u
hodos=$1
case $hodos in /*) ;; *) hodos=$(pwd)/$hodos ;; esac
command -v tmux >/dev/null 2>&1 || {
  echo "progress: tmux is missing; skipped" >&2
  exit 77
}
work=$(mktemp -d /tmp/hodos-progress.XXXXXX)
session=hodos-progress-$$
export TMUX_TMPDIR="$work"
trap 'tmux kill-session -t "$session" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 1
cat >wf.yaml <<'YAML'
tasks:
  - name: step
    map:
      i: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    run: sleep 0.3; echo {i}
  - name: broken
    allow_failure: true
    run: echo oops >&2; exit 1
  - name: end
    after: step
    run: wc -l
YAML
fail() {
  echo "progress: $*" >&2
  exit 1
}
tmux -f /dev/null new-session -d -s "$session" -x 100 -y 30 \
  "cd '$work' && TERM=xterm NO_COLOR=1 '$hodos' run -j 2 --store st wf.yaml; echo EXIT=\$?; sleep 60"
# Mid-run: the status line.
seen=
tries=0
while [ $tries -lt 100 ]; do
  pane=$(tmux capture-pane -p -t "$session")
  if printf '%s\n' "$pane" |
    grep -Eq '^\[[#.]{20}\] [0-9]+/14  [1-9][0-9]* running  .*step\['; then
    seen=$(printf '%s\n' "$pane" | grep -E '^\[[#.]{20}\]')
    break
  fi
  case $pane in *EXIT=*) break ;; esac
  sleep 0.1
  tries=$((tries + 1))
done
[ -n "$seen" ] || fail "no status line during the run: $pane"
case $seen in *step*) ;; *) fail "the status line names no running task: $seen" ;; esac
# The end: the summary, and no status line left.
tries=0
while [ $tries -lt 200 ]; do
  pane=$(tmux capture-pane -p -t "$session")
  case $pane in *EXIT=*) break ;; esac
  sleep 0.1
  tries=$((tries + 1))
done
printf '%s\n' "$pane" | grep -q '^EXIT=0$' || fail "the run did not end with 0: $pane"
printf '%s\n' "$pane" | grep -q 'hodos: 14 tasks: 13 done, 1 failed (1 allowed)' ||
  fail "no summary: $pane"
printf '%s\n' "$pane" | grep -q 'failed (allowed) broken: command exited with status 1' ||
  fail "the failure was not printed: $pane"
printf '%s\n' "$pane" | grep -Eq '^\[[#.]{20}\]' && fail "a status line was left: $pane"
printf '%s\n' "$pane" | grep -q '^12$' || fail "no result of end: $pane"
# Through a pipe: plain lines.
"$hodos" run -j 2 --store st2 wf.yaml 2>&1 | cat >piped.txt
grep -q '^hodos: \[[0-9]*/14\] done step' piped.txt || fail "no done lines through a pipe"
if grep -q "$(printf '\033')" piped.txt; then
  fail "terminal escapes through a pipe"
fi
echo "progress: ok"
