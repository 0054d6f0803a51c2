. "$CASEDIR/../check-lib.sh"
need_rundir
# A failed task leaves its stderr, and no result.
has_content logs/bad.stderr "something went wrong"
is_absent results/bad
is_absent results/dep
is_absent results/other
