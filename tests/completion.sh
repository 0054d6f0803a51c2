#!/bin/sh
# The bash completion of hodos: commands, options, backends, workflow
# files. Usage: sh completion.sh SRCDIR. Exits 77 without bash.
set -u
command -v bash >/dev/null 2>&1 || exit 77
src=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/hodos-completion.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
touch wf.yaml other.yml notes.txt
mkdir sub
bash -c '
  shopt -s extglob
  . "$1/cli/hodos.bash"
  fail=0
  check() { # WANT WORDS...
    want=$1; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    _hodos
    got=$(printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " ")
    if [ "$got" != "$want" ]; then
      echo "completion: ${*}: got [$got], want [$want]" >&2
      fail=1
    fi
  }
  check "run " hodos ru
  check "serial ssh " hodos run -b s
  check "--dry-run " hodos run --dr
  check "other.yml sub wf.yaml " hodos run ""
  check "--stderr --stdout " hodos logs --std
  check "worker " hodos help wor
  check "--html " hodos report --ht
  mkdir -p .hodos/runs/20261202-101010-7 .hodos/runs/20261202-111111-8
  check "20261202-101010-7 20261202-111111-8 " hodos report 2026
  exit $fail
' sh "$src" || exit 1
echo "completion: ok"
