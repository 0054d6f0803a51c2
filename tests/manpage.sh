#!/bin/sh
# The manual page renders with man -l without a warning, and names every
# command of 'hodos --help' and every option of each command's help.
#
# Usage: sh manpage.sh SRCDIR HODOS_BIN
set -u
src=$1
hodos=$2
command -v man >/dev/null 2>&1 || {
  echo "manpage: man is missing (scripts/setup installs man-db); skipped" >&2
  exit 77
}
work=$(mktemp -d /tmp/hodos-man.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
MANWIDTH=80 man --warnings -l "$src/docs/hodos.1" >"$work/page.txt" \
  2>"$work/warn.txt"
status=$?
if [ "$status" != 0 ] || [ -s "$work/warn.txt" ]; then
  echo "manpage: man -l exited with $status:" >&2
  cat "$work/warn.txt" >&2
  fail=1
fi
grep -q "^NAME" "$work/page.txt" || {
  echo "manpage: the rendered page has no NAME section" >&2
  fail=1
}
# man renders hyphens and quotes its own way; compare plain ASCII.
tr -d '\010' <"$work/page.txt" | sed 's/‐/-/g; s/−/-/g' >"$work/plain.txt"
commands=$("$hodos" --help | sed -n '/^Commands:/,/^$/p' |
  awk 'NR > 1 && /^  [a-z]/ { print $1 }')
[ -n "$commands" ] || {
  echo "manpage: no commands in 'hodos --help'" >&2
  exit 1
}
for c in $commands; do
  grep -Eq "hodos +$c( |$)" "$work/plain.txt" || {
    echo "manpage: command '$c' is not in the synopsis" >&2
    fail=1
  }
  for opt in $("$hodos" help "$c" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "$opt" "$work/plain.txt" || {
      echo "manpage: option $opt of 'hodos $c' is not in the page" >&2
      fail=1
    }
  done
done
[ "$fail" = 0 ] && echo "manpage: ok"
exit "$fail"
