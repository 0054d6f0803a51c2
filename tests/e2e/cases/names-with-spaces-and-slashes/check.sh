. "$CASEDIR/../check-lib.sh"
need_rundir
has_content "results/fetch data%2Fv1" "raw"
has_content "results/clean: 100%25" "RAW"
has_content "results/%2E.%2Fescape" "RAW"
has_content "results/%2Ehidden" "hidden"
is_empty "logs/fetch data%2Fv1.stderr"
is_empty "logs/%2E.%2Fescape.stderr"
# Nothing escaped the run folder, and nothing else was written.
if [ -e "$RUNDIR/escape" ] || [ -e "$RUNDIR/results/fetch data" ]; then
  fail "a task name was used as a path"
fi
n=0
for f in "$RUNDIR"/results/* "$RUNDIR"/results/.*; do
  case ${f##*/} in . | .. | '*' | '.*') continue ;; esac
  n=$((n + 1))
done
[ "$n" = 4 ] || fail "results holds $n files, not 4"
