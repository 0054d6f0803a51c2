#!/bin/sh
# Install hodos into a temporary prefix, check what lands there, then build
# and run programs against it: through pkg-config, and through
# find_package(hodos) in CMake (hodos::hodos and hodos::hodos_static).
#
# Usage: sh run.sh BUILD_DIR THIS_DIR CC "SAN_FLAGS"
#
# BUILD_DIR is a built hodos tree, THIS_DIR this folder (tests/install,
# holding consumer.c and cmake-consumer/), CC the C compiler, SAN_FLAGS
# the sanitizer flags of the build (split on blanks; may be empty).
# Exits 0 when all is well, 1 with a message on the first failure, 2 on a
# usage error. The temporary folder is removed in every case.

set -u

if [ "$#" -ne 4 ]; then
  echo "usage: sh run.sh BUILD_DIR THIS_DIR CC \"SAN_FLAGS\"" >&2
  exit 2
fi
build=$1
this=$2
cc=$3
san=$4
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
case $this in /*) ;; *) this=$(pwd)/$this ;; esac
srcdir=$(cd "$this/../.." && pwd -P) || exit 2
for f in "$build/cmake_install.cmake" "$this/consumer.c" \
  "$this/cmake-consumer/CMakeLists.txt" "$srcdir/include/hodos/hodos.h"; do
  if [ ! -f "$f" ]; then
    echo "install: $f: no such file" >&2
    exit 2
  fi
done
for tool in cmake pkg-config readelf nm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install: $tool not found" >&2
    exit 2
  fi
done

# pkg-config's output is split on blanks, so the prefix must hold none.
base=${TMPDIR:-/tmp}
case $base in *[[:space:]]*) base=/tmp ;; esac
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
tmp=$(mktemp -d "$base/hodos-install.XXXXXX") || {
  echo "install: cannot make a temporary folder" >&2
  exit 1
}
prefix=$tmp/prefix
log=$tmp/log

fail() {
  echo "install: FAIL: $*" >&2
  exit 1
}

# show_log: the output of the last step, for a failure message.
show_log() {
  if [ -s "$log" ]; then
    sed 's/^/  | /' "$log" >&2
  fi
}

step() {
  echo "install: $*"
}

version=$(sed -n 's/^#define HD_VERSION_STRING "\(.*\)"$/\1/p' \
  "$srcdir/include/hodos/version.h")
major=${version%%.*}
[ -n "$version" ] || fail "no HD_VERSION_STRING in include/hodos/version.h"

# ---- install ----

step "cmake --install into $prefix"
if ! cmake --install "$build" --prefix "$prefix" >"$log" 2>&1; then
  show_log
  fail "cmake --install $build failed"
fi

# ---- what landed where ----

for h in "$srcdir"/include/hodos/*.h; do
  name=${h##*/}
  [ -f "$prefix/include/hodos/$name" ] ||
    fail "include/hodos/$name was not installed"
  cmp -s "$h" "$prefix/include/hodos/$name" ||
    fail "include/hodos/$name differs from the source"
done
for h in "$prefix"/include/hodos/*; do
  [ -f "$srcdir/include/hodos/${h##*/}" ] ||
    fail "include/hodos/${h##*/} was installed, but is not a public header"
done

# The library folder: lib, lib64 or lib/<multiarch>, wherever hodos.pc is.
[ -f "$prefix/share/man/man1/hodos.1" ] || fail "no share/man/man1/hodos.1"
[ -f "$prefix/share/bash-completion/completions/hodos" ] ||
  fail "no share/bash-completion/completions/hodos"
pc=$(find "$prefix" -path '*/pkgconfig/hodos.pc' | sed -n 1p)
[ -n "$pc" ] || fail "no pkgconfig/hodos.pc anywhere under the prefix"
libdir=$(dirname "$(dirname "$pc")")
case $libdir in
"$prefix/lib" | "$prefix/lib64" | "$prefix"/lib/*) ;;
*) fail "hodos.pc is in an unexpected folder: ${pc#"$prefix"/}" ;;
esac
step "library folder: ${libdir#"$prefix"/}"

real=$libdir/libhodos.so.$version
if [ ! -f "$real" ] || [ -L "$real" ]; then
  fail "${real#"$prefix"/} is missing (or not a file)"
fi
for link in "libhodos.so.$major" libhodos.so; do
  [ -L "$libdir/$link" ] || fail "${libdir#"$prefix"/}/$link is not a link"
  [ "$(cd "$libdir" && readlink -f "$link")" = "$(readlink -f "$real")" ] ||
    fail "${libdir#"$prefix"/}/$link does not lead to libhodos.so.$version"
done
soname=$(LC_ALL=C readelf -d "$real" |
  sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = "libhodos.so.$major" ] ||
  fail "the SONAME is '$soname', not 'libhodos.so.$major'"
[ -f "$libdir/libhodos.a" ] || fail "${libdir#"$prefix"/}/libhodos.a is missing"
nm "$libdir/libhodos.a" 2>/dev/null | grep -q ' T hd_version$' ||
  fail "libhodos.a does not define hd_version"
[ -x "$prefix/bin/hodos" ] || fail "bin/hodos is missing"
cmakedir=$libdir/cmake/hodos
for f in hodosConfig.cmake hodosConfigVersion.cmake hodosTargets.cmake; do
  [ -f "$cmakedir/$f" ] || fail "${cmakedir#"$prefix"/}/$f is missing"
done

# Installed text files must not point back into the build or source tree.
for f in "$pc" "$cmakedir"/*.cmake; do
  if grep -n -F -e "$build" -e "$srcdir/" "$f" >"$log" 2>&1; then
    show_log
    fail "${f#"$prefix"/} refers to the build or source tree"
  fi
done

# ---- the installed command ----

step "bin/hodos --version"
out=$(LD_LIBRARY_PATH=$libdir "$prefix/bin/hodos" --version 2>"$log") || {
  show_log
  fail "bin/hodos --version failed"
}
[ "$out" = "hodos $version" ] ||
  fail "bin/hodos --version printed '$out', not 'hodos $version'"
# It must have loaded the installed library, not the build tree's.
LD_LIBRARY_PATH=$libdir ldd "$prefix/bin/hodos" >"$log" 2>&1 || true
grep -q "libhodos.so.$major => $libdir/" "$log" || {
  show_log
  fail "bin/hodos does not load ${libdir#"$prefix"/}/libhodos.so.$major"
}
if ! LC_ALL=C readelf -d "$prefix/bin/hodos" | grep -q '(RUNPATH)\|(RPATH)'
then
  step "note: bin/hodos has no RUNPATH: under a prefix the loader does not" \
    "search, it needs LD_LIBRARY_PATH"
fi

# ---- pkg-config ----

export PKG_CONFIG_PATH="$libdir/pkgconfig"
mv=$(pkg-config --modversion hodos 2>"$log") || {
  show_log
  fail "pkg-config cannot find hodos in $PKG_CONFIG_PATH"
}
[ "$mv" = "$version" ] || fail "pkg-config says version $mv, not $version"
# hodos.pc must describe where it was installed, not the prefix the build
# was configured with (else a program builds against another hodos, or
# none).
for v in includedir:"$prefix/include" libdir:"$libdir"; do
  var=${v%%:*}
  want=${v#*:}
  got=$(pkg-config --variable="$var" hodos)
  [ "$(cd "$got" 2>/dev/null && pwd -P)" = "$(cd "$want" && pwd -P)" ] ||
    fail "hodos.pc has $var=$got, not ${want} (is the .pc made at" \
      "configure time from CMAKE_INSTALL_PREFIX, which" \
      "'cmake --install --prefix' does not change?)"
done
flags=$(pkg-config --cflags --libs hodos 2>"$log") || {
  show_log
  fail "pkg-config --cflags --libs hodos failed"
}
# Every Requires.private package must exist. (Linking libhodos.a through
# 'pkg-config --static' is not tried: Debian's igraph.pc lists private
# libraries, such as glpk and arpack, whose -dev packages igraph does not
# pull in. The CMake consumer links libhodos.a instead.)
pkg-config --static --libs hodos >"$log" 2>&1 || {
  show_log
  fail "pkg-config --static --libs hodos failed: a Requires.private" \
    "package is missing"
}

step "build consumer.c with pkg-config: $flags"
# Flags from pkg-config and SAN_FLAGS are lists: split them on purpose.
# shellcheck disable=SC2086
if ! "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$tmp/consumer" \
  "$this/consumer.c" $flags $san >"$log" 2>&1; then
  show_log
  fail "consumer.c does not build with pkg-config's flags"
fi
LD_LIBRARY_PATH=$libdir "$tmp/consumer" >"$log" 2>&1 || {
  show_log
  fail "the pkg-config consumer failed"
}
show_ok=$(cat "$log")
step "  $show_ok"

# ---- CMake: find_package(hodos) ----

step "configure cmake-consumer with CMAKE_PREFIX_PATH=$prefix"
if ! cmake -S "$this/cmake-consumer" -B "$tmp/cmake-build" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  >"$log" 2>&1; then
  show_log
  fail "cmake-consumer does not configure"
fi
found=$(sed -n 's/^hodos_DIR:PATH=//p' "$tmp/cmake-build/CMakeCache.txt")
[ "$(cd "$found" 2>/dev/null && pwd -P)" = "$(cd "$cmakedir" && pwd -P)" ] ||
  fail "find_package(hodos) found '$found', not ${cmakedir#"$prefix"/}"
if ! cmake --build "$tmp/cmake-build" >"$log" 2>&1; then
  show_log
  fail "cmake-consumer does not build"
fi
for t in consumer consumer_static; do
  LD_LIBRARY_PATH=$libdir "$tmp/cmake-build/$t" >"$log" 2>&1 || {
    show_log
    fail "the CMake $t failed"
  }
done
if LC_ALL=C readelf -d "$tmp/cmake-build/consumer_static" |
  grep -q 'libhodos\.so'; then
  fail "consumer_static (hodos::hodos_static) still needs libhodos.so"
fi
step "  $(cat "$log")"

echo "install: all checks passed (hodos $version, libdir" \
  "${libdir#"$prefix"/})"
exit 0
