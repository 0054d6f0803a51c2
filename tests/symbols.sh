#!/bin/sh
# Only hd_ names leave the shared library.
#
# Usage: sh symbols.sh LIBPATH
#
# Lists the dynamic symbols LIBPATH defines (nm -D --defined-only) and
# fails, naming them, when any does not start with hd_ (or starts with
# hd__, the prefix of internal names shared between files), or when there is
# no hd_ symbol at all (a library built without its exports, or a file
# that is not the library). Version nodes of a version script (absolute
# symbols named in .gnu.version_d) are not functions or data, and are
# allowed.

set -u

if [ "$#" -ne 1 ]; then
  echo "usage: sh symbols.sh LIBPATH" >&2
  exit 2
fi
lib=$1
if [ ! -f "$lib" ]; then
  echo "symbols.sh: $lib: no such file" >&2
  exit 2
fi
if ! command -v nm >/dev/null 2>&1; then
  echo "symbols.sh: nm not found (install binutils)" >&2
  exit 2
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
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hodos-symbols.XXXXXX") || exit 1

if ! nm -D --defined-only "$lib" >"$tmp/nm" 2>"$tmp/nm.err"; then
  echo "symbols.sh: nm -D --defined-only failed on $lib:" >&2
  cat "$tmp/nm.err" >&2
  exit 1
fi

# Version definitions (readelf -V), which nm lists as absolute symbols.
: >"$tmp/verdefs"
if command -v readelf >/dev/null 2>&1; then
  LC_ALL=C readelf -V --wide "$lib" 2>/dev/null | awk '
    /^Version definition section/ { on = 1; next }
    /^Version (needs|symbols) section/ { on = 0 }
    on && /Name: / {
      for (i = 1; i < NF; i++)
        if ($i == "Name:") print $(i + 1)
    }' >"$tmp/verdefs"
fi

# nm prints "VALUE TYPE NAME" (VALUE absent for some types); newer nm adds
# "@VERSION" or "@@VERSION" to versioned names.
awk -v verdefs="$tmp/verdefs" '
  BEGIN { while ((getline v < verdefs) > 0) vd[v] = 1 }
  NF >= 2 {
    name = $NF
    type = $(NF - 1)
    sub(/@.*/, "", name)
    if (type == "A" && (name in vd))
      next
    if (name ~ /^hd_/ && name !~ /^hd__/)
      good++
    else
      print type " " name > "/dev/stderr"
  }
  END { print good + 0 }' "$tmp/nm" 2>"$tmp/bad" >"$tmp/good"

good=$(cat "$tmp/good")
nbad=$(wc -l <"$tmp/bad" | tr -d ' ')
status=0
if [ "$nbad" -gt 0 ]; then
  echo "symbols.sh: $lib exports $nbad symbols that are not public hd_ names:"
  sort "$tmp/bad" | sed 's/^/  /'
  status=1
fi
if [ "$good" -eq 0 ]; then
  echo "symbols.sh: $lib exports no hd_ symbol"
  status=1
fi
if [ "$status" -eq 0 ]; then
  echo "symbols: $good hd_ symbols exported, and nothing else"
fi
exit "$status"
