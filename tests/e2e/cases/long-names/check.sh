. "$CASEDIR/../check-lib.sh"
need_rundir
n=0
for f in "$RUNDIR"/results/*; do
  name=${f##*/}
  len=$(printf '%s' "$name" | wc -c)
  [ "$len" -le 200 ] || fail "result file name of $len bytes: $name"
  case $name in *%~????????????????) ;; *) fail "not shortened: $name" ;; esac
  n=$((n + 1))
done
[ "$n" = 3 ] || fail "results holds $n files, not 3"
grep -lx ONE "$RUNDIR"/results/aaaa* >/dev/null || fail "no result ONE"
grep -lx one "$RUNDIR"/results/aaaa* >/dev/null || fail "no result one"
grep -lx 301 "$RUNDIR"/results/sweep* >/dev/null || fail "no result 301"
grep -lx err-one "$RUNDIR"/logs/aaaa* >/dev/null || fail "no log err-one"
# hodos logs finds a task by its name.
"$HODOS" logs --stderr "$RUNDIR" "$(printf 'a%.0s' $(seq 250))-first" 2>&1 |
  grep -qx err-one || fail "hodos logs does not find the task's log"
