. "$CASEDIR/../check-lib.sh"
need_rundir
# The log keeps the whole stderr, not only the tail shown.
[ "$(wc -l <"$RUNDIR/logs/noisy.stderr" | tr -d ' ')" = 12 ] ||
  fail "logs/noisy.stderr does not hold the 12 lines"
has_content logs/missing-command.stderr \
  "sh: 1: no-such-command-for-hodos-e2e: not found"
is_empty logs/silent.stderr
