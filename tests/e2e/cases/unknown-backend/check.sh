. "$CASEDIR/../check-lib.sh"
no_rundir
