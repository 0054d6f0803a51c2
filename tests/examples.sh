#!/bin/sh
# Every example workflow is valid, runs, and prints what it should.
#
# Usage: sh examples.sh HODOS_BIN REPO_DIR PLUGIN_DIR
#
# Copies REPO_DIR/examples to a temporary folder so that the source tree
# stays clean. For each examples/*.yaml and examples/plugin/plugin.yaml of
# the copy, runs `hodos validate`, which must exit 0 and call the file
# valid, then `hodos run --quiet --store TMP/store` from an empty folder,
# which must exit 0 and print each expected line on standard output (the
# results of the final tasks). Both run with HODOS_PLUGIN_PATH=PLUGIN_DIR,
# the folder of libhodos_wordcount.so, and NO_COLOR=1. Afterwards the empty
# folder must still be empty and the copy may only have gained files under
# out/: an example writes where it says, nowhere else. An example with no
# expected line below fails, so that each new one gets a check.
# Exits 1 when something failed, 2 on a usage error.

set -u

if [ "$#" -ne 3 ]; then
  echo "usage: sh examples.sh HODOS_BIN REPO_DIR PLUGIN_DIR" >&2
  exit 2
fi
hodos=$1
src=$2
plugins=$3
case $hodos in /*) ;; *) hodos=$(pwd)/$hodos ;; esac
case $plugins in /*) ;; *) plugins=$(pwd)/$plugins ;; esac
if [ ! -x "$hodos" ] || [ -d "$hodos" ]; then
  echo "examples.sh: $hodos is not an executable file" >&2
  exit 2
fi
if [ ! -d "$src/examples" ]; then
  echo "examples.sh: $src/examples: no such folder" >&2
  exit 2
fi
if [ ! -f "$plugins/libhodos_wordcount.so" ]; then
  echo "examples.sh: $plugins/libhodos_wordcount.so: no such file" >&2
  exit 2
fi

# expected FILE: the lines FILE's run must print, one per line; fails for
# an example that has none.
expected() {
  case $1 in
  quickstart.yaml)
    echo '34'
    ;;
  sweep.yaml)
    echo '   lines    bytes          gzip -1          gzip -6          gzip -9'
    ;;
  mapreduce.yaml)
    echo '50 the'
    echo '8 river'
    ;;
  pipeline.yaml)
    echo 'rows: 20000 generated, 19189 kept, 811 dropped'
    echo 'check: the chunk totals agree with clean.csv'
    ;;
  plugin/plugin.yaml)
    echo 'words: 300'
    echo 'river    8'
    ;;
  *)
    return 1
    ;;
  esac
}

tmp=
# shellcheck disable=SC2317 # cleanup runs from traps
cleanup() {
  if [ -n "$tmp" ]; then
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'cleanup; trap - EXIT; exit 129' HUP
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hodos-examples.XXXXXX") || {
  echo "examples.sh: cannot make a temporary folder" >&2
  exit 1
}
mkdir "$tmp/cwd" "$tmp/store" || exit 1
cp -R "$src/examples" "$tmp/examples" || exit 1
ex=$tmp/examples
out=$tmp/stdout
err=$tmp/stderr

# What the copy holds before any run: files and links, one per line.
listing() {
  (cd "$ex" && find . \( -type f -o -type l \) -print | LC_ALL=C sort)
}
listing >"$tmp/before" || exit 1

passed=0
failed=0
failed_names=

fail() {
  echo "FAIL  $1: $2"
  for f in "$out" "$err"; do
    if [ -s "$f" ]; then
      echo "  ${f##*/}:"
      sed 's/^/  | /' "$f"
    fi
  done
  failed=$((failed + 1))
  failed_names="$failed_names
  $1"
}

# check NAME: validate and run examples/NAME.
check() {
  name=$1
  if ! expected "$name" >"$tmp/expected"; then
    : >"$out"
    : >"$err"
    fail "$name" "no expected output is listed for it in examples.sh"
    return
  fi
  (cd "$tmp/cwd" && NO_COLOR=1 HODOS_PLUGIN_PATH=$plugins \
    "$hodos" validate "$ex/$name") >"$out" 2>"$err"
  status=$?
  if [ "$status" -ne 0 ]; then
    fail "$name" "hodos validate exited with status $status"
    return
  fi
  if ! head -n 1 "$out" | grep -q ': valid$'; then
    fail "$name" "hodos validate did not call it valid"
    return
  fi
  (cd "$tmp/cwd" && NO_COLOR=1 HODOS_PLUGIN_PATH=$plugins \
    "$hodos" run --quiet --store "$tmp/store" "$ex/$name") >"$out" 2>"$err"
  status=$?
  if [ "$status" -ne 0 ]; then
    fail "$name" "hodos run exited with status $status"
    return
  fi
  while IFS= read -r line; do
    if ! grep -qxF -- "$line" "$out"; then
      fail "$name" "standard output lacks the line '$line'"
      return
    fi
  done <"$tmp/expected"
  echo "ok    $name"
  passed=$((passed + 1))
}

for f in "$ex"/*.yaml "$ex/plugin/plugin.yaml"; do
  [ -f "$f" ] || continue
  check "${f#"$ex"/}"
done

# Nothing written where hodos was started, nothing outside out/.
stray() {
  echo "FAIL  $1"
  sed 's/^/  | /' "$2"
  failed=$((failed + 1))
  failed_names="$failed_names
  $1"
}
ls -A "$tmp/cwd" >"$tmp/stray"
if [ -s "$tmp/stray" ]; then
  stray "files written in the folder hodos ran in" "$tmp/stray"
fi
listing >"$tmp/after" || exit 1
LC_ALL=C comm -13 "$tmp/before" "$tmp/after" | grep -v '^\./out/' \
  >"$tmp/stray"
if [ -s "$tmp/stray" ]; then
  stray "files written in examples/ outside out/" "$tmp/stray"
fi

echo "examples: $passed passed, $failed failed"
if [ "$failed" -gt 0 ]; then
  echo "examples: failed:$failed_names"
  exit 1
fi
exit 0
