#!/bin/sh
# Pools on the ssh backend against real sshd servers on 127.0.0.2 (h1) and
# 127.0.0.3 (h2), started here (lib.sh). POOL_BIN (tests/ssh/pool.c) is a
# program that serves as its own worker on the hosts; it makes ssh pools
# over both and checks map over two lists, a chunked map with a failing
# item, imap's order, uimap's completeness, amap with a timeout, pipe and
# apipe, terminate, and a map during which h2 is killed (it runs the kill
# command given here): every item done with its right result. After it,
# no ssh process of the test and no worker of the program may be left.
#
# Usage: sh pool.sh POOL_BIN SRCDIR
# Exits 77 (skipped) when sshd is not installed.

set -u
if [ "$#" -ne 2 ]; then
  echo "usage: sh pool.sh POOL_BIN SRCDIR" >&2
  exit 2
fi
bin=$1
src=$2
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
case $src in /*) ;; *) src=$(pwd)/$src ;; esac
# shellcheck source=tests/ssh/lib.sh
. "$src/tests/ssh/lib.sh"
ssh_test_begin sshpool

failures=0
fail() {
  echo "FAIL  $*" >&2
  failures=$((failures + 1))
}

cd "$work" || exit 1
start=$(date +%s)
"$bin" ". '$src/tests/ssh/lib.sh' && sshd_kill_host 2" >out.txt 2>err.txt
status=$?
took=$(($(date +%s) - start))
cat out.txt
sed 's/^/  | /' err.txt
[ "$status" = 0 ] || fail "the pool program exited with status $status"
[ "$(tail -1 out.txt)" = ok ] || fail "the pool program did not say ok"
grep -q "host h2 is lost" err.txt ||
  fail "nothing says h2 was lost"
echo "ssh pool: ${took} s"

# Nothing of the test is left: no ssh client naming its configuration,
# and no worker of the program on the hosts.
sleep 0.3
left=$(pgrep -af -- "-F $SSH_CONFIG" 2>/dev/null)
[ -z "$left" ] || fail "ssh processes left: $left"
left=$(pgrep -af -- "$bin --hodos-worker" 2>/dev/null)
[ -z "$left" ] || fail "workers left on the hosts: $left"

if [ "$failures" -gt 0 ]; then
  echo "ssh pool: $failures failure(s)" >&2
  exit 1
fi
echo "ssh pool: all passed"
