#!/bin/sh
# Checks tests/ssh/lib.sh: two loopback sshd hosts start, accept ssh and a
# ControlMaster, one can be killed with its sessions dropping while the
# other keeps working, and stopping leaves no process behind.
# Usage: selfcheck.sh   (as root; exits 0 on success, 1 on failure)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/hs.XXXXXX)
# shellcheck source=tests/ssh/lib.sh
. "$here/lib.sh"

cleanup() {
  sshd_stop "$dir" || :
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
  echo "ssh selfcheck: $*" >&2
  exit 1
}

sshd_start "$dir" || fail "sshd_start failed"
[ -n "$SSHD_PORT" ] || fail "SSHD_PORT is empty"
[ "$SSH_CONFIG" = "$dir/ssh_config" ] || fail "SSH_CONFIG is $SSH_CONFIG"
[ "$HODOS_SSH_COMMAND" = "ssh -F $dir/ssh_config" ] ||
  fail "HODOS_SSH_COMMAND is $HODOS_SSH_COMMAND"

for h in h1 h2; do
  out=$(ssh -F "$SSH_CONFIG" "$h" echo ok) || fail "ssh $h failed"
  [ "$out" = ok ] || fail "ssh $h printed '$out'"
done
# The two hosts are really different servers with their own host keys.
# shellcheck disable=SC2016
[ "$(ssh -F "$SSH_CONFIG" h1 'echo $SSH_CONNECTION' | cut -d' ' -f3)" = \
  127.0.0.2 ] || fail "h1 is not served on 127.0.0.2"
# shellcheck disable=SC2016,SC2086  # remote $var; command line in a var
out=$($HODOS_SSH_COMMAND h2 'echo $SSH_CONNECTION' | cut -d' ' -f3)
[ "$out" = 127.0.0.3 ] || fail "h2 is not served on 127.0.0.3 ($out)"

# Host-key checking is on: an unknown key must be refused.
grep -v 127.0.0.3 "$dir/known_hosts" > "$dir/known_hosts.h1"
if ssh -F "$SSH_CONFIG" -o UserKnownHostsFile="$dir/known_hosts.h1" \
    h2 true 2>/dev/null; then
  fail "h2 accepted without its host key in known_hosts"
fi

# Connection reuse through a ControlMaster.
cm="-o ControlMaster=auto -o ControlPath=$dir/cm-%C -o ControlPersist=10"
# shellcheck disable=SC2086
ssh -F "$SSH_CONFIG" $cm h1 true || fail "first ssh through master failed"
# shellcheck disable=SC2086
ssh -F "$SSH_CONFIG" $cm h1 true || fail "second ssh through master failed"
# shellcheck disable=SC2086
ssh -F "$SSH_CONFIG" $cm -O check h1 2>/dev/null ||
  fail "no ControlMaster running for h1"
ls "$dir"/cm-* > /dev/null 2>&1 || fail "no control socket in $dir"
# Many sessions open at once through the one master (MaxSessions).
pids=
for i in $(seq 1 40); do
  # shellcheck disable=SC2086
  ssh -F "$SSH_CONFIG" $cm h1 "sleep 0.5; echo s$i" > "$dir/par.$i" 2>&1 &
  pids="$pids $!"
done
for p in $pids; do
  wait "$p" || fail "a parallel session through the h1 master failed"
done
for i in $(seq 1 40); do
  [ "$(cat "$dir/par.$i")" = "s$i" ] ||
    fail "parallel session $i printed '$(cat "$dir/par.$i")'"
done

# A session on h2 that is running when h2 is killed must drop at once, and
# its remote command must die with it.
marker="29.$$"
ssh -F "$SSH_CONFIG" h2 "sleep $marker" > /dev/null 2>&1 &
sess=$!
i=0
until pgrep -f "^sleep $marker\$" > /dev/null 2>&1; do
  i=$((i + 1))
  [ $i -le 100 ] || fail "remote sleep never started on h2"
  sleep 0.05
done
sshd_kill_host 2 || fail "sshd_kill_host 2 failed"
i=0
while kill -0 "$sess" 2>/dev/null; do
  i=$((i + 1))
  [ $i -le 40 ] || fail "ssh session to h2 did not drop after the kill"
  sleep 0.05
done
rc=0
wait "$sess" || rc=$?
[ "$rc" -ne 0 ] || fail "dropped h2 session exited 0"
if pgrep -f "^sleep $marker\$" > /dev/null 2>&1; then
  fail "remote command on h2 survived sshd_kill_host"
fi
if ssh -F "$SSH_CONFIG" -o ConnectTimeout=2 h2 true 2>/dev/null; then
  fail "h2 still answers after sshd_kill_host 2"
fi
ssh -F "$SSH_CONFIG" h1 true || fail "h1 broke when h2 was killed"
# shellcheck disable=SC2086
ssh -F "$SSH_CONFIG" $cm h1 true || fail "h1 master broke when h2 was killed"

sshd_restart_host 2 || fail "sshd_restart_host 2 failed"
out=$(ssh -F "$SSH_CONFIG" h2 echo back) || fail "h2 after restart failed"
[ "$out" = back ] || fail "h2 after restart printed '$out'"

# shellcheck disable=SC2086
ssh -F "$SSH_CONFIG" $cm -O exit h1 2>/dev/null || fail "ssh -O exit failed"

sshd_stop "$dir" || fail "sshd_stop failed"
if pgrep -af "$dir" >&2; then
  fail "processes naming $dir remain after sshd_stop"
fi
if ssh -F "$SSH_CONFIG" -o ConnectTimeout=2 h1 true 2>/dev/null; then
  fail "h1 still answers after sshd_stop"
fi
echo "ssh selfcheck: ok (port $SSHD_PORT)"
