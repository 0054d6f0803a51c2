#!/bin/sh
# End-to-end cases for `hodos run`.
#
# Usage: sh run-cases.sh HODOS_BIN CASES_DIR [CASE...]
#
# Each case is a folder CASES_DIR/NAME/ holding
#   workflow.yaml     the workflow to run
#   args              optional: extra arguments for `hodos run`, one line,
#                     split on blanks (no quoting)
#   expected_status   the exit status
#   expected_stdout   the standard output, byte for byte
#   expected_stderr   the standard error after normalising: durations
#                     "(12 ms)" -> "(N ms)", "in 0.03 s" -> "in N s", the run
#                     folder -> RUNDIR, the store -> STORE, the case folder
#                     -> CASEDIR
#   check.sh          optional: run with sh after hodos, in the case's work
#                     folder, with RUNDIR (empty when no run folder was made),
#                     STORE, CASEDIR and HODOS in the environment; it fails
#                     the case by exiting non-zero
#   xfail             optional: the case shows a known bug; its first line
#                     says which. A failing xfail case is reported but does
#                     not fail the run; a passing one does, so that the
#                     marker is removed once the bug is fixed.
#
# Each case runs `hodos run --store WORK/store [args] CASEDIR/workflow.yaml`
# in a fresh work folder, with NO_COLOR=1 and standard input from
# /dev/null. Naming cases on the command line runs only those.
#
# Environment: HD_E2E_TIMEOUT (seconds per case, default 120, used when
# timeout(1) exists); HD_E2E_UPDATE=1 rewrites the expected_* files of
# the cases without an xfail file from what hodos does now (read them
# before committing: the messages are the product).
#
# Prints a unified diff for each mismatch and a summary line; exits 1 when
# a case failed or no case ran, 2 on a usage error.

set -u

if [ "$#" -lt 2 ]; then
  echo "usage: sh run-cases.sh HODOS_BIN CASES_DIR [CASE...]" >&2
  exit 2
fi
hodos=$1
cases=$2
shift 2

case $hodos in /*) ;; *) hodos=$(pwd)/$hodos ;; esac
case $cases in /*) ;; *) cases=$(pwd)/$cases ;; esac
if [ ! -x "$hodos" ] || [ -d "$hodos" ]; then
  echo "run-cases.sh: $hodos is not an executable file" >&2
  exit 2
fi
if [ ! -d "$cases" ]; then
  echo "run-cases.sh: $cases is not a folder" >&2
  exit 2
fi
cases=$(cd "$cases" && pwd -P) || exit 2

timeout_s=${HD_E2E_TIMEOUT:-120}
update=${HD_E2E_UPDATE:-0}
use_timeout=0
if command -v timeout >/dev/null 2>&1; then
  use_timeout=1
fi

tmp=
child=
# shellcheck disable=SC2317 # cleanup and on_signal run from traps
cleanup() {
  if [ -n "$child" ]; then
    # hodos (or timeout(1), which passes it on) stops its tasks on SIGTERM.
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
    child=
  fi
  if [ -n "$tmp" ]; then
    rm -rf "$tmp"
  fi
}
# shellcheck disable=SC2317
on_signal() {
  cleanup
  trap - EXIT
  exit $((128 + $1))
}
trap cleanup EXIT
trap 'on_signal 1' HUP
trap 'on_signal 2' INT
trap 'on_signal 15' TERM
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hodos-e2e.XXXXXX") || {
  echo "run-cases.sh: cannot make a temporary folder" >&2
  exit 1
}

# Replace the literal strings $HD_N_RUNDIR, $HD_N_STORE, $HD_N_WORK and
# $HD_N_CASEDIR (passed through the environment, so that no character in a
# path is special) with their names, and durations with N.
normalise() {
  awk '
    function repl(s, from, to,   out, i) {
      if (from == "")
        return s
      out = ""
      while ((i = index(s, from)) > 0) {
        out = out substr(s, 1, i - 1) to
        s = substr(s, i + length(from))
      }
      return out s
    }
    {
      line = $0
      line = repl(line, ENVIRON["HD_N_RUNDIR"], "RUNDIR")
      line = repl(line, ENVIRON["HD_N_STORE"], "STORE")
      line = repl(line, ENVIRON["HD_N_WORK"], "WORKDIR")
      line = repl(line, ENVIRON["HD_N_CASEDIR"], "CASEDIR")
      gsub(/\([0-9]+ ms\)/, "(N ms)", line)
      gsub(/ in [0-9]+\.[0-9]+ s/, " in N s", line)
      print line
    }' "$1"
}

# The one run folder under STORE/runs (not the "last" link), or nothing.
find_run_dir() {
  found=
  for rd in "$1"/runs/*; do
    [ "$rd" = "$1/runs/last" ] && continue
    [ -d "$rd" ] || continue
    if [ -n "$found" ]; then
      echo "run-cases.sh: more than one run folder in $1/runs" >&2
      break
    fi
    found=$rd
  done
  printf '%s' "$found"
}

passed=0
failed=0
xfailed=0
failed_names=
xfail_names=

# Compare an expected file with an actual one; print a diff on mismatch.
same() {
  # $1 what, $2 expected, $3 actual
  if [ ! -f "$2" ]; then
    echo "  missing $(basename "$2")"
    return 1
  fi
  if cmp -s "$2" "$3"; then
    return 0
  fi
  echo "  $1 differs (--- expected, +++ actual):"
  diff -u "$2" "$3" | sed 's/^/  /'
  return 1
}

run_case() {
  name=$1
  dir=$cases/$name
  work=$tmp/$name
  store=$work/store
  rm -rf "$work"
  mkdir -p "$work" || return 1

  args=
  if [ -f "$dir/args" ]; then
    IFS= read -r args <"$dir/args" || [ -n "$args" ]
  fi

  # Word-split args on purpose, without globbing. hodos runs in the
  # background so that a signal to this script can stop it (timeout(1)
  # puts it in a process group of its own, out of reach of Ctrl-C).
  set -f
  if [ "$use_timeout" = 1 ]; then
    set -- timeout -k 10 "$timeout_s" "$hodos"
  else
    set -- "$hodos"
  fi
  # shellcheck disable=SC2086
  (cd "$work" && NO_COLOR=1 exec "$@" run --store "$store" $args \
    "$dir/workflow.yaml") <"/dev/null" >"$work/stdout" 2>"$work/stderr" &
  child=$!
  set +f
  wait "$child"
  status=$?
  child=

  rundir=$(find_run_dir "$store")
  HD_N_RUNDIR=$rundir HD_N_STORE=$store HD_N_WORK=$work HD_N_CASEDIR=$dir \
    normalise "$work/stderr" >"$work/stderr.norm"
  printf '%s\n' "$status" >"$work/status"

  if [ "$update" = 1 ] && [ -f "$dir/xfail" ]; then
    echo "note: $name has an xfail file; its expected_* files are kept"
  elif [ "$update" = 1 ]; then
    cp "$work/status" "$dir/expected_status" &&
      cp "$work/stdout" "$dir/expected_stdout" &&
      cp "$work/stderr.norm" "$dir/expected_stderr" || return 1
  fi

  ok=0
  report=$work/report
  : >"$report"
  if [ "$use_timeout" = 1 ] && { [ "$status" = 124 ] || [ "$status" = 137 ]; }
  then
    echo "  hodos did not finish within ${timeout_s} s (status $status)" \
      >>"$report"
  fi
  same "exit status" "$dir/expected_status" "$work/status" >>"$report" || ok=1
  same "stdout" "$dir/expected_stdout" "$work/stdout" >>"$report" || ok=1
  same "stderr" "$dir/expected_stderr" "$work/stderr.norm" >>"$report" ||
    ok=1
  if [ -f "$dir/check.sh" ]; then
    if ! (cd "$work" && RUNDIR=$rundir STORE=$store CASEDIR=$dir \
      HODOS=$hodos exec sh "$dir/check.sh") \
      <"/dev/null" >"$work/check.out" 2>&1; then
      echo "  check.sh failed:" >>"$report"
      sed 's/^/  | /' "$work/check.out" >>"$report"
      ok=1
    fi
  fi

  if [ -f "$dir/xfail" ]; then
    reason=$(sed -n 1p "$dir/xfail")
    if [ "$ok" = 0 ]; then
      echo "XPASS $name: passes now; remove its xfail file ($reason)"
      failed=$((failed + 1))
      failed_names="$failed_names $name"
    else
      echo "XFAIL $name: $reason"
      cat "$report"
      xfailed=$((xfailed + 1))
      xfail_names="$xfail_names $name"
    fi
  elif [ "$ok" = 0 ]; then
    echo "PASS  $name"
    passed=$((passed + 1))
  else
    echo "FAIL  $name"
    cat "$report"
    failed=$((failed + 1))
    failed_names="$failed_names $name"
  fi
  rm -rf "$work"
}

if [ "$#" -gt 0 ]; then
  for name in "$@"; do
    if [ ! -f "$cases/$name/workflow.yaml" ]; then
      echo "run-cases.sh: no case named '$name' in $cases" >&2
      exit 2
    fi
  done
  for name in "$@"; do
    run_case "$name"
  done
else
  for d in "$cases"/*/; do
    [ -f "${d}workflow.yaml" ] || continue
    d=${d%/}
    run_case "${d##*/}"
  done
fi

echo "e2e: $passed passed, $failed failed"
if [ "$xfailed" -gt 0 ]; then
  echo "e2e: $xfailed known failures (xfail):$xfail_names"
fi
if [ "$failed" -gt 0 ]; then
  echo "e2e: failed:$failed_names"
  exit 1
fi
if [ $((passed + xfailed)) -eq 0 ]; then
  echo "e2e: no case ran (looked in $cases)" >&2
  exit 1
fi
exit 0
