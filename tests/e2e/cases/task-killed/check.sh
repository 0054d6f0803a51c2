. "$CASEDIR/../check-lib.sh"
need_rundir
has_content logs/victim.stderr "about to die"
is_absent results/victim
is_absent results/after-victim
