. "$CASEDIR/../check-lib.sh"
need_rundir
# seq 1 500000 is 3388895 bytes; it goes through cat unchanged.
has_size results/gen 3388895
has_size results/pass 3388895
cmp -s "$RUNDIR/results/gen" "$RUNDIR/results/pass" ||
  fail "results/pass differs from results/gen"
seq 1 500000 | cmp -s - "$RUNDIR/results/gen" ||
  fail "results/gen is not the output of seq 1 500000"
