. "$CASEDIR/../check-lib.sh"
need_rundir
has_content results/greet "hello from hodos"
has_content results/shout "HELLO FROM HODOS"
has_content results/count "34"
is_empty logs/greet.stderr
is_empty logs/shout.stderr
is_empty logs/count.stderr
# STORE/runs/last names the newest run.
[ "$(cd "$STORE/runs/last" && pwd -P)" = "$(cd "$RUNDIR" && pwd -P)" ] ||
  fail "STORE/runs/last does not point to the run folder"
