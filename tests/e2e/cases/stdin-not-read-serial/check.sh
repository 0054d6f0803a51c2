. "$CASEDIR/../check-lib.sh"
need_rundir
has_size results/big 4194304
has_size results/ignore 0
has_content results/peek "xxxxx"
