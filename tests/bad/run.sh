#!/bin/sh
# Bad workflow files: hodos must refuse each one with exactly the expected
# messages, at the expected places, and never crash.
#
# Usage: sh run.sh HODOS_BIN DIR [CASE...]
#
# Each case is DIR/NAME.yaml with DIR/NAME.expected, the exact standard
# error of `hodos validate NAME.yaml` run from inside DIR (so that file
# names in messages are relative): one line per error,
# "hodos: FILE:LINE:COL: message". The exit status must be 2 and the
# standard output empty. DIR/inc/ holds files that cases include; they are
# not cases themselves.
#
# Generated cases, too big or too odd to keep in git, are written by this
# script into a temporary folder, validated from there, and compared with
# DIR/gen/NAME.expected:
#   garbage        the first bytes of an ELF executable
#   deep-unclosed  'tasks: ' and 10,000 '[' that are never closed
#   deep-closed    a param whose value is 10,000 nested lists
#                  (both refused past 1000 levels, where the loader stops)
#   huge-quote     a valid start, then a quoted scalar of 50 MiB that never
#                  ends
#   huge-tasks     50 MiB of tasks, each after the one before, then one
#                  that depends on a task that does not exist
#
# Any sanitizer report (AddressSanitizer, LeakSanitizer,
# UndefinedBehaviorSanitizer) in standard error fails a case by itself.
# Naming cases on the command line runs only those.
#
# Environment: HD_BAD_SKIP (generated cases to leave out, separated by
# blanks); HD_BAD_TIMEOUT (seconds per case, default 120, used when
# timeout(1) exists); HD_BAD_UPDATE=1 rewrites the .expected files from
# what hodos prints now (review them with git diff: the messages are the
# product). A case whose exit status is wrong or that shows a sanitizer
# report still fails, and its .expected file is kept.
#
# Prints a unified diff for each mismatch and a summary line; exits 1 when
# a case failed or no case ran, 2 on a usage error.

set -u

if [ "$#" -lt 2 ]; then
  echo "usage: sh run.sh HODOS_BIN DIR [CASE...]" >&2
  exit 2
fi
hodos=$1
dir=$2
shift 2

case $hodos in /*) ;; *) hodos=$(pwd)/$hodos ;; esac
if [ ! -x "$hodos" ] || [ -d "$hodos" ]; then
  echo "run.sh: $hodos is not an executable file" >&2
  exit 2
fi
if [ ! -d "$dir" ]; then
  echo "run.sh: $dir is not a folder" >&2
  exit 2
fi
dir=$(cd "$dir" && pwd -P) || exit 2

timeout_s=${HD_BAD_TIMEOUT:-120}
update=${HD_BAD_UPDATE:-0}
use_timeout=0
if command -v timeout >/dev/null 2>&1; then
  use_timeout=1
fi

GENERATED="garbage deep-unclosed deep-closed huge-quote huge-tasks"
# HD_BAD_SKIP: generated cases to leave out (the ThreadSanitizer build is
# too slow for 860,000 tasks and has no threads to check in the loader).
for skip in ${HD_BAD_SKIP:-}; do
  GENERATED=$(printf '%s\n' $GENERATED | grep -vx "$skip" | tr '\n' ' ')
done

tmp=
child=
# shellcheck disable=SC2317 # cleanup and on_signal run from traps
cleanup() {
  if [ -n "$child" ]; then
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
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hodos-bad.XXXXXX") || {
  echo "run.sh: cannot make a temporary folder" >&2
  exit 1
}
mkdir "$tmp/gen" "$tmp/out" || exit 1

# ---- generated cases: the same bytes every time ----
# (The gen_ functions are called by name, from run_generated.)

# 50 MiB.
HUGE=52428800

# shellcheck disable=SC2317
gen_garbage() {
  printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000'
  printf '\003\000\076\000\001\000\000\000\120\020\000\000\000\000\000\000'
}

# shellcheck disable=SC2317
gen_deep_unclosed() {
  awk 'BEGIN {
    printf "tasks: "
    for (i = 0; i < 10000; i++) printf "["
    printf "\n"
  }'
}

# shellcheck disable=SC2317
gen_deep_closed() {
  awk 'BEGIN {
    printf "tasks:\n  - name: a\n    run: echo a\n    params:\n      x: "
    for (i = 0; i < 10000; i++) printf "["
    for (i = 0; i < 10000; i++) printf "]"
    printf "\n"
  }'
}

# shellcheck disable=SC2317
gen_huge_quote() {
  printf 'tasks:\n  - name: a\n    run: "echo '
  head -c "$HUGE" /dev/zero | tr '\000' 'x'
  printf '\n'
}

# 860,000 tasks, each but the first after the one before (61 bytes a
# task): a little over 50 MiB.
# shellcheck disable=SC2317
gen_huge_tasks() {
  awk 'BEGIN {
    print "tasks:"
    printf "  - name: t0000000\n    run: echo 0000000\n"
    for (i = 1; i < 860000; i++)
      printf "  - name: t%07d\n    run: echo %07d\n    after: t%07d\n", \
        i, i, i - 1
    printf "  - name: last\n    run: echo last\n    after: missing\n"
  }'
}

# ---- running one case ----

# Milliseconds since the epoch, or nothing where date(1) cannot say.
now_ms() {
  t=$(date +%s%N 2>/dev/null)
  case $t in
  *[!0-9]* | '') ;;
  *) echo $((t / 1000000)) ;;
  esac
}

passed=0
failed=0
failed_names=

# run_case NAME WORKDIR EXPECTED
run_case() {
  name=$1
  wdir=$2
  expected=$3
  out=$tmp/out/$name
  report=$tmp/out/$name.report
  : >"$report"

  if [ "$use_timeout" = 1 ]; then
    set -- timeout -k 10 "$timeout_s" "$hodos"
  else
    set -- "$hodos"
  fi
  t0=$(now_ms)
  (cd "$wdir" && NO_COLOR=1 exec "$@" validate "$name.yaml") \
    </dev/null >"$out.stdout" 2>"$out.stderr" &
  child=$!
  wait "$child"
  status=$?
  child=
  t1=$(now_ms)
  took=
  if [ -n "$t0" ] && [ -n "$t1" ]; then
    ms=$((t1 - t0))
    took=" ($((ms / 1000)).$((ms % 1000 / 100)) s)"
  fi

  ok=0
  keep=0
  if [ "$use_timeout" = 1 ] && { [ "$status" = 124 ] || [ "$status" = 137 ]; }
  then
    echo "  hodos did not finish within ${timeout_s} s" >>"$report"
    ok=1
    keep=1
  elif [ "$status" != 2 ]; then
    if [ "$status" -gt 128 ]; then
      echo "  exit status $status (killed by signal $((status - 128))), not 2" \
        >>"$report"
    else
      echo "  exit status $status, not 2" >>"$report"
    fi
    ok=1
    keep=1
  fi
  if grep -E -q 'Sanitizer|runtime error:' "$out.stderr"; then
    echo "  sanitizer report:" >>"$report"
    sed 's/^/  | /' "$out.stderr" >>"$report"
    ok=1
    keep=1
  fi
  if [ -s "$out.stdout" ]; then
    echo "  standard output is not empty:" >>"$report"
    head -c 2000 "$out.stdout" | sed 's/^/  | /' >>"$report"
    ok=1
  fi

  if [ "$update" = 1 ] && [ "$keep" = 0 ]; then
    if ! cmp -s "$out.stderr" "$expected" 2>/dev/null; then
      cp "$out.stderr" "$expected" || return 1
      echo "note: rewrote ${expected#"$dir"/}"
    fi
  fi
  if [ ! -f "$expected" ]; then
    echo "  missing ${expected#"$dir"/}" >>"$report"
    ok=1
  elif ! cmp -s "$expected" "$out.stderr"; then
    echo "  stderr differs (--- expected, +++ actual):" >>"$report"
    diff -u -L "${expected#"$dir"/}" -L actual "$expected" "$out.stderr" |
      head -n 200 | sed 's/^/  /' >>"$report"
    ok=1
  fi

  if [ "$ok" = 0 ]; then
    echo "PASS  $name$took"
    passed=$((passed + 1))
  else
    echo "FAIL  $name$took"
    cat "$report"
    failed=$((failed + 1))
    failed_names="$failed_names $name"
  fi
  rm -f "$out.stdout" "$out.stderr" "$report"
}

is_generated() {
  for g in $GENERATED; do
    [ "$g" = "$1" ] && return 0
  done
  return 1
}

run_generated() {
  fn=gen_$(echo "$1" | tr '-' '_')
  if ! "$fn" >"$tmp/gen/$1.yaml"; then
    echo "FAIL  $1"
    echo "  could not write the file"
    failed=$((failed + 1))
    failed_names="$failed_names $1"
    return
  fi
  run_case "$1" "$tmp/gen" "$dir/gen/$1.expected"
  rm -f "$tmp/gen/$1.yaml"
}

run_named() {
  if is_generated "$1"; then
    run_generated "$1"
  else
    run_case "$1" "$dir" "$dir/$1.expected"
  fi
}

if [ "$#" -gt 0 ]; then
  for name in "$@"; do
    if ! is_generated "$name" && [ ! -f "$dir/$name.yaml" ]; then
      echo "run.sh: no case named '$name' in $dir" >&2
      exit 2
    fi
  done
  for name in "$@"; do
    run_named "$name"
  done
else
  for f in "$dir"/*.yaml; do
    [ -f "$f" ] || continue
    f=${f##*/}
    run_case "${f%.yaml}" "$dir" "$dir/${f%.yaml}.expected"
  done
  for g in $GENERATED; do
    run_generated "$g"
  done
fi

echo "bad: $passed passed, $failed failed"
if [ "$failed" -gt 0 ]; then
  echo "bad: failed:$failed_names"
  exit 1
fi
if [ "$passed" -eq 0 ]; then
  echo "bad: no case ran (looked in $dir)" >&2
  exit 1
fi
exit 0
