. "$CASEDIR/../check-lib.sh"
# An invalid workflow makes no run folder.
no_rundir
