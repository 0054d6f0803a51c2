. "$CASEDIR/../check-lib.sh"
need_rundir
has_size results/big 1048576
has_content results/ignore "ignored"
has_content results/peek "xxxxx"
is_empty logs/ignore.stderr
is_empty logs/peek.stderr
