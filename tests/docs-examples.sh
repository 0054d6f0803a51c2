#!/bin/sh
# Every example and every C block in the docs compiles and links; a C
# block followed at once (blank lines aside) by a ```text block is run,
# and prints that text.
#
# Usage: sh docs-examples.sh SRCDIR CC "SAN_FLAGS" LIBPATH
#
# Compiles each SRCDIR/examples/*.c, and each ```c fenced block of
# SRCDIR/README.md and SRCDIR/docs/*.md (each one a whole program, with
# main), with -std=c11 -Wall -Wextra -Wpedantic -Werror and SAN_FLAGS
# (split on blanks), against SRCDIR/include, linked with LIBPATH (the
# shared library) and an rpath to its folder. A block's compiler messages
# point into the markdown file (a #line directive). Prints what failed,
# with the compiler's output; exits 1 when something failed, 2 on a usage
# error. No example and no block at all is a success (the count says 0).

set -u

if [ "$#" -ne 4 ]; then
  echo "usage: sh docs-examples.sh SRCDIR CC \"SAN_FLAGS\" LIBPATH" >&2
  exit 2
fi
src=$1
cc=$2
san=$3
lib=$4
if [ ! -d "$src/include/hodos" ]; then
  echo "docs-examples.sh: $src/include/hodos: no such folder" >&2
  exit 2
fi
if [ ! -f "$lib" ]; then
  echo "docs-examples.sh: $lib: no such library" >&2
  exit 2
fi
case $lib in /*) ;; *) lib=$(pwd)/$lib ;; esac
libdir=$(cd "$(dirname "$lib")" && pwd -P) || exit 2
case $libdir in
*,*)
  # -Wl, splits its argument at commas.
  echo "docs-examples.sh: the library's folder holds a comma: $libdir" >&2
  exit 2
  ;;
esac

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
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hodos-docs.XXXXXX") || exit 1

examples=0
blocks=0
failed=0
failed_names=

# build WHAT SOURCE [EXPECTED]: compile and link one program; with
# EXPECTED, run it in an empty folder and compare what it prints
# (standard output, then standard error) with that file.
build() {
  # SAN_FLAGS is a list of flags: split it on purpose.
  # shellcheck disable=SC2086
  if "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $san \
    -I "$src/include" -o "$tmp/a.out" "$2" "$lib" "-Wl,-rpath,$libdir" \
    >"$tmp/cc.out" 2>&1; then
    if [ -n "${3:-}" ] && ! run_block "$3"; then
      echo "FAIL  $1: its output is not the text after it"
      sed 's/^/  | /' "$tmp/run.diff"
      failed=$((failed + 1))
      failed_names="$failed_names
  $1 (its output)"
    else
      echo "ok    $1"
    fi
  else
    echo "FAIL  $1"
    sed 's/^/  | /' "$tmp/cc.out"
    failed=$((failed + 1))
    failed_names="$failed_names
  $1"
  fi
  rm -f "$tmp/a.out"
}

# run_block EXPECTED: run $tmp/a.out in an empty folder; 0 when it prints
# EXPECTED (its diff is left in $tmp/run.diff).
run_block() {
  rm -rf "$tmp/run" && mkdir "$tmp/run" || return 1
  t=
  if command -v timeout >/dev/null 2>&1; then
    t="timeout 60"
  fi
  # shellcheck disable=SC2086 # t is a command and its argument
  (cd "$tmp/run" && $t "$tmp/a.out" >"$tmp/run.out" 2>"$tmp/run.err" </dev/null)
  cat "$tmp/run.err" >>"$tmp/run.out"
  diff -u "$1" "$tmp/run.out" >"$tmp/run.diff"
}

for f in "$src"/examples/*.c; do
  [ -f "$f" ] || continue
  examples=$((examples + 1))
  build "examples/${f##*/}" "$f"
done

# Split the ```c blocks of markdown file $1 into DIR/N.c (DIR is $2), N
# from 1, each starting with a #line directive that names $3 and the
# block's first line; a ```text block right after block N goes to
# DIR/N.out. A fence may be indented (in a list); the indent is removed
# from the block's lines. Prints a line "N LINE" per block, and writes
# the line of a block never closed to DIR/unclosed.
extract() {
  awk -v out="$2" -v name="$3" '
    function indent_of(s) { match(s, /^[ \t]*/); return RLENGTH }
    intext && /^[ \t]*```[ \t]*$/ { intext = 0; close(text); next }
    intext {
      line = $0
      if (indent_of(line) >= tind)
        line = substr(line, tind + 1)
      print line > text
      next
    }
    after && /^[ \t]*$/ { next }
    after && /^[ \t]*```[ \t]*text[ \t]*$/ {
      intext = 1
      tind = indent_of($0)
      text = out "/" after ".out"
      printf "" > text
      after = 0
      next
    }
    { after = 0 }
    !inblock && /^[ \t]*```[ \t]*[cC][ \t]*$/ {
      inblock = 1
      n++
      ind = indent_of($0)
      file = out "/" n ".c"
      printf "#line %d \"%s\"\n", NR + 1, name > file
      print n, NR + 1
      start = NR
      next
    }
    inblock && /^[ \t]*```[ \t]*$/ {
      inblock = 0
      close(file)
      after = n
      next
    }
    inblock {
      line = $0
      if (indent_of(line) >= ind)
        line = substr(line, ind + 1)
      print line > file
    }
    END {
      if (inblock)
        print start > (out "/unclosed")
    }' "$1"
}

for md in "$src/README.md" "$src"/docs/*.md; do
  [ -f "$md" ] || continue
  rel=${md#"$src"/}
  dir=$tmp/blocks
  rm -rf "$dir"
  mkdir -p "$dir" || exit 1
  extract "$md" "$dir" "$rel" >"$tmp/list"
  if [ -f "$dir/unclosed" ]; then
    echo "FAIL  $rel: the \`\`\`c block at line $(cat "$dir/unclosed") is never closed"
    failed=$((failed + 1))
    failed_names="$failed_names
  $rel (an unclosed block)"
  fi
  while read -r n line; do
    blocks=$((blocks + 1))
    expected=
    if [ -f "$dir/$n.out" ]; then
      expected=$dir/$n.out
    fi
    build "$rel: block $n (line $line)" "$dir/$n.c" "$expected" </dev/null
  done <"$tmp/list"
done

total=$((examples + blocks))
echo "docs-examples: $total programs ($examples in examples/, $blocks" \
  "blocks in the docs), $failed failed"
if [ "$failed" -gt 0 ]; then
  echo "docs-examples: failed:$failed_names"
  exit 1
fi
exit 0
