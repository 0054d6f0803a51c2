# Throwaway OpenSSH servers on loopback for tests. Source this file from a
# POSIX sh script; it defines functions and runs nothing by itself.
#
#   dir=$(mktemp -d /tmp/hs.XXXXXX)
#   . tests/ssh/lib.sh
#   trap 'sshd_stop "$dir"; rm -rf "$dir"' EXIT
#   sshd_start "$dir" || exit 1
#   ssh -F "$SSH_CONFIG" h1 echo ok        # or: $HODOS_SSH_COMMAND h2 ...
#   sshd_kill_host 2                        # host h2 goes down, sessions drop
#   sshd_restart_host 2                     # h2 comes back on the same port
#   sshd_stop "$dir"
#
# sshd_start DIR
#   DIR must be an existing, empty directory with a short absolute path
#   without spaces, such as one made by `mktemp -d /tmp/hs.XXXXXX`: tests
#   put ssh ControlPath sockets in it, and a Unix socket path must fit in
#   108 bytes including the 40-character %C hash and the 17-character
#   suffix ssh adds while it creates the socket. Longer paths are refused.
#   Starts two sshd listeners as root on the same random TCP port:
#     h1 = 127.0.0.2, h2 = 127.0.0.3
#   each with its own host key, config, pid file and log in DIR. Returns 0
#   once `ssh h1 true` and `ssh h2 true` both work, else prints the logs
#   and returns 1. Sets and exports:
#     SSHD_DIR           DIR (absolute)
#     SSHD_PORT          the port both listeners use
#     SSH_CONFIG         DIR/ssh_config: hosts h1 and h2, key auth as root,
#                        host keys checked against DIR/known_hosts
#     HODOS_SSH_COMMAND  "ssh -F DIR/ssh_config"
# sshd_kill_host N       N is 1 or 2. SIGKILLs that listener and every
#                        process below it (sessions and their commands), so
#                        open connections drop and new ones are refused.
# sshd_restart_host N    starts listener N again with its old config.
# sshd_stop DIR          kills both listeners and everything below them.
#
# Remote commands run as root through root's login shell, but bash skips
# ~/.bashrc (sessions start at SHLVL=1, see _sshd_write_conf); set
# SSHD_USER_RC=1 before sshd_start to have it read as on a real host.
#
# Files in DIR: client_key(.pub), authorized_keys, hostN_key(.pub),
# sshdN.conf, sshdN.pid, sshdN.log, ssh_config, known_hosts, probe.err.
# Nothing is written outside DIR except /run/sshd, the empty directory
# sshd needs for privilege separation. Needs /usr/sbin/sshd, ssh,
# ssh-keygen, ps, awk, od and a sleep that takes fractions (GNU).

# _sshd_tree PID: print PID and all its descendants, one per line.
_sshd_tree() {
  ps -A -o pid= -o ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      in_tree[root] = 1
      do {
        grew = 0
        for (p in parent)
          if (!(p in in_tree) && (parent[p] in in_tree)) {
            in_tree[p] = 1
            grew = 1
          }
      } while (grew)
      for (p in in_tree) print p
    }'
}

# _sshd_alive PID: true while PID exists and is not a zombie.
_sshd_alive() {
  [ -r "/proc/$1/stat" ] || return 1
  _sshd_state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [ -n "$_sshd_state" ] && [ "$_sshd_state" != Z ]
}

# _sshd_kill_tree PID: kill PID and all its descendants, and wait until
# they are gone.
#
# sshd forks one child per connection (shown as "sshd: root [priv]"), which
# forks the session process ("sshd: root@notty"), which forks the user's
# command. Each of these calls setsid(), so neither process groups nor
# sessions cover a connection, and after setproctitle() their command lines
# no longer name our config, so `pgrep -f DIR` cannot find them. The parent
# links are what ties them to one listener. Killing the listener first would
# reparent its children to init and lose that link, so instead: stop the
# listener (it can no longer accept or fork), then stop every descendant,
# repeating until a pass finds no new process (a stopped process cannot
# fork, so this ends), and only then SIGKILL the whole stopped set.
# Commands that daemonize themselves (double fork) escape; tests should not
# start such commands through these servers.
_sshd_kill_tree() {
  kill -STOP "$1" 2>/dev/null || return 0
  _sshd_prev=
  while :; do
    _sshd_set=$(_sshd_tree "$1" | sort -n)
    for _sshd_p in $_sshd_set; do
      kill -STOP "$_sshd_p" 2>/dev/null || :
    done
    [ "$_sshd_set" = "$_sshd_prev" ] && break
    _sshd_prev=$_sshd_set
  done
  for _sshd_p in $_sshd_set; do
    kill -KILL "$_sshd_p" 2>/dev/null || :
  done
  # Killed processes become zombies until reaped; they hold no sockets.
  _sshd_i=0
  for _sshd_p in $_sshd_set; do
    while _sshd_alive "$_sshd_p"; do
      _sshd_i=$((_sshd_i + 1))
      if [ "$_sshd_i" -gt 100 ]; then
        echo "sshd: process $_sshd_p survived SIGKILL" >&2
        return 1
      fi
      sleep 0.02
    done
  done
  return 0
}

# _sshd_signal_tree PID SIG: send SIG to PID and all its descendants,
# repeating until a pass finds no new process.
_sshd_signal_tree() {
  _sshd_prev=
  while :; do
    _sshd_set=$(_sshd_tree "$1" | sort -n)
    for _sshd_p in $_sshd_set; do
      kill "-$2" "$_sshd_p" 2>/dev/null || :
    done
    [ "$_sshd_set" = "$_sshd_prev" ] && break
    _sshd_prev=$_sshd_set
  done
}

# _sshd_listener N: print the pid of listener N if it is running.
_sshd_listener() {
  _sshd_pf="$SSHD_DIR/sshd$1.pid"
  [ -s "$_sshd_pf" ] || return 1
  _sshd_pid=$(cat "$_sshd_pf" 2>/dev/null) || return 1
  case $_sshd_pid in '' | *[!0-9]*) return 1 ;; esac
  _sshd_alive "$_sshd_pid" || return 1
  # Guard against a stale pid file whose pid now belongs to someone else:
  # the listener keeps its config path in its command line.
  tr '\0' ' ' < "/proc/$_sshd_pid/cmdline" 2>/dev/null \
    | grep -qF "$SSHD_DIR/sshd$1.conf" || return 1
  echo "$_sshd_pid"
}

# _sshd_write_conf N PORT: write DIR/sshdN.conf for 127.0.0.(N+1).
_sshd_write_conf() {
  cat > "$SSHD_DIR/sshd$1.conf" <<EOF
Port $2
AddressFamily inet
ListenAddress 127.0.0.$(($1 + 1))
HostKey $SSHD_DIR/host$1_key
PidFile $SSHD_DIR/sshd$1.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
AuthorizedPrincipalsFile none
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
X11Forwarding no
PermitUserRC no
PermitUserEnvironment no
PrintMotd no
PrintLastLog no
UseDNS no
MaxSessions 64
MaxStartups 64:30:100
LogLevel ERROR
Subsystem sftp internal-sftp
EOF
  # sshd runs every command as `$SHELL -c CMD`, and bash then reads
  # ~/.bashrc when it sees SSH_CLIENT and SHLVL < 2. A heavy rc file (root's
  # here runs `pyenv init`) costs most of a second per command. Starting
  # sessions at SHLVL=1 skips it; SSHD_USER_RC=1 keeps the real behaviour.
  if [ "${SSHD_USER_RC:-0}" != 1 ]; then
    echo "SetEnv SHLVL=1" >> "$SSHD_DIR/sshd$1.conf"
  fi
}

# _sshd_launch N: start listener N and wait for its pid file. sshd binds
# before it daemonizes, so a taken port makes this fail at once.
_sshd_launch() {
  rm -f "$SSHD_DIR/sshd$1.pid"
  /usr/sbin/sshd -f "$SSHD_DIR/sshd$1.conf" -E "$SSHD_DIR/sshd$1.log" \
    < /dev/null > /dev/null 2>&1 || return 1
  _sshd_i=0
  while ! _sshd_listener "$1" > /dev/null; do
    _sshd_i=$((_sshd_i + 1))
    [ "$_sshd_i" -gt 100 ] && return 1
    sleep 0.02
  done
  return 0
}

# _sshd_wait_ready N: wait up to about 5 s for `ssh hN true` to work.
_sshd_wait_ready() {
  _sshd_end=$(($(date +%s) + 5))
  while ! ssh -F "$SSH_CONFIG" -o ConnectTimeout=2 "h$1" true \
      < /dev/null > /dev/null 2> "$SSHD_DIR/probe.err"; do
    if [ "$(date +%s)" -ge "$_sshd_end" ]; then
      echo "sshd: h$1 (127.0.0.$(($1 + 1)):$SSHD_PORT) never accepted ssh" >&2
      echo "--- ssh said:" >&2
      cat "$SSHD_DIR/probe.err" >&2
      echo "--- sshd$1.log:" >&2
      cat "$SSHD_DIR/sshd$1.log" >&2 2>/dev/null || :
      return 1
    fi
    sleep 0.1
  done
  return 0
}

sshd_start() {
  if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "sshd_start: usage: sshd_start EXISTING_DIR" >&2
    return 1
  fi
  SSHD_DIR=$(cd "$1" && pwd) || return 1
  case $SSHD_DIR in
    *[!A-Za-z0-9/._-]*)
      echo "sshd_start: $SSHD_DIR: use a path without spaces or quotes" >&2
      return 1 ;;
  esac
  # 108 (sun_path) - 1 (NUL) - 4 ("/cm-") - 40 (%C) - 17 (ssh's suffix)
  if [ ${#SSHD_DIR} -gt 46 ]; then
    echo "sshd_start: $SSHD_DIR: too long for ControlPath sockets;" \
      "use mktemp -d /tmp/hs.XXXXXX" >&2
    return 1
  fi
  mkdir -p /run/sshd || return 1

  rm -f "$SSHD_DIR"/client_key* "$SSHD_DIR"/host[12]_key*
  ssh-keygen -q -t ed25519 -N '' -C '' -f "$SSHD_DIR/client_key" || return 1
  ssh-keygen -q -t ed25519 -N '' -C '' -f "$SSHD_DIR/host1_key" || return 1
  ssh-keygen -q -t ed25519 -N '' -C '' -f "$SSHD_DIR/host2_key" || return 1
  cp "$SSHD_DIR/client_key.pub" "$SSHD_DIR/authorized_keys" || return 1

  # Random port in 20000-60000; both listeners share it since their
  # addresses differ. Retry with another port if either cannot bind.
  _sshd_try=0
  while :; do
    _sshd_try=$((_sshd_try + 1))
    if [ "$_sshd_try" -gt 20 ]; then
      echo "sshd_start: no free port found" >&2
      cat "$SSHD_DIR/sshd1.log" "$SSHD_DIR/sshd2.log" >&2 2>/dev/null || :
      return 1
    fi
    _sshd_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    SSHD_PORT=$((20000 + _sshd_r % 40001))
    _sshd_write_conf 1 "$SSHD_PORT" || return 1
    _sshd_write_conf 2 "$SSHD_PORT" || return 1
    if _sshd_launch 1; then
      _sshd_launch 2 && break
      _sshd_kill_tree "$(_sshd_listener 1)" || :
    fi
  done

  SSH_CONFIG=$SSHD_DIR/ssh_config
  HODOS_SSH_COMMAND="ssh -F $SSH_CONFIG"
  export SSHD_DIR SSHD_PORT SSH_CONFIG HODOS_SSH_COMMAND

  : > "$SSH_CONFIG"
  : > "$SSHD_DIR/known_hosts"
  for _sshd_n in 1 2; do
    _sshd_addr=127.0.0.$((_sshd_n + 1))
    cat >> "$SSH_CONFIG" <<EOF
Host h$_sshd_n
  HostName $_sshd_addr
  Port $SSHD_PORT
  User root
  IdentityFile $SSHD_DIR/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $SSHD_DIR/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  BatchMode yes
  LogLevel ERROR

EOF
    printf '[%s]:%s %s\n' "$_sshd_addr" "$SSHD_PORT" \
      "$(cut -d' ' -f1,2 "$SSHD_DIR/host${_sshd_n}_key.pub")" \
      >> "$SSHD_DIR/known_hosts"
  done

  _sshd_wait_ready 1 && _sshd_wait_ready 2
}

sshd_kill_host() {
  case ${1:-} in
    1 | 2) ;;
    *) echo "sshd_kill_host: usage: sshd_kill_host 1|2" >&2; return 1 ;;
  esac
  _sshd_l=$(_sshd_listener "$1") || return 0
  _sshd_kill_tree "$_sshd_l" || return 1
  rm -f "$SSHD_DIR/sshd$1.pid"
}

# sshd_freeze_host N: stop (SIGSTOP) host N's sshd and everything under
# it: its connections stay open but go silent, as a hung host's do.
# sshd_kill_host still works on a frozen host.
sshd_freeze_host() {
  case ${1:-} in
    1 | 2) ;;
    *) echo "sshd_freeze_host: usage: sshd_freeze_host 1|2" >&2; return 1 ;;
  esac
  _sshd_l=$(_sshd_listener "$1") || return 1
  _sshd_signal_tree "$_sshd_l" STOP
}

sshd_restart_host() {
  case ${1:-} in
    1 | 2) ;;
    *) echo "sshd_restart_host: usage: sshd_restart_host 1|2" >&2; return 1 ;;
  esac
  if _sshd_listener "$1" > /dev/null; then
    return 0
  fi
  if ! _sshd_launch "$1"; then
    echo "sshd_restart_host: h$1 could not start again" >&2
    cat "$SSHD_DIR/sshd$1.log" >&2 2>/dev/null || :
    return 1
  fi
  _sshd_wait_ready "$1"
}

sshd_stop() {
  if [ $# -eq 1 ] && [ -d "$1" ]; then
    SSHD_DIR=$(cd "$1" && pwd) || return 1
  fi
  [ -n "${SSHD_DIR:-}" ] || return 0
  _sshd_rc=0
  sshd_kill_host 1 || _sshd_rc=1
  sshd_kill_host 2 || _sshd_rc=1
  return "$_sshd_rc"
}

# ssh_test_begin NAME
#   The start of a test script: exits 77 (skipped) when sshd is not
#   installed; else makes $dir (the servers' folder) and $work (the test's
#   own, /tmp/hodos-NAME.XXXXXX), has both removed and the servers stopped
#   on exit, starts the servers and exports HODOS_SSH_COMMAND.
ssh_test_begin() {
  [ -x /usr/sbin/sshd ] || {
    echo "$1: /usr/sbin/sshd is missing; skipped" >&2
    exit 77
  }
  dir=$(mktemp -d /tmp/hs.XXXXXX)
  work=$(mktemp -d "/tmp/hodos-$1.XXXXXX")
  trap '_ssh_test_end' EXIT
  trap 'exit 1' INT TERM
  sshd_start "$dir" || exit 1
  export HODOS_SSH_COMMAND
}

_ssh_test_end() {
  sshd_stop "$dir"
  rm -rf "$dir" "$work"
}
