. "$CASEDIR/../check-lib.sh"
need_rundir
has_content logs/bad.stderr "something went wrong"
is_absent results/bad
is_absent results/dep
has_content results/other "other"
has_content results/later "OTHER"
