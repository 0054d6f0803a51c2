#!/bin/sh
# The cache of hodos run (STORE/cache): unchanged tasks are not run again,
# a change reruns exactly the tasks downstream of it, a run killed at any
# moment is resumed to the same results, a damaged record is noticed and
# made again, a store serves one run at a time, and only its owner reads
# it; a resume takes only the last run's records, clean needs a journal,
# and a result a full disk cannot keep says so. Usage: cache.sh HODOS
# CACHE_SEED=N replays the random kill delays of step 3; CACHE_ROUNDS=N
# plays N rounds of it instead of 20.
set -eu
hodos=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hodos-cache.XXXXXX")
# Every workflow file lives in $tmp and the commands of steps 3 and 5 name
# it too, so that the command line of every hodos process, worker and task
# of this script holds $marker.
marker=${tmp##*/}
bg=""
killer=""

# The pids of processes of this script that are still alive (workers and
# tasks), one per line.
leftovers() {
  pgrep -f "$marker" 2>/dev/null || true
}
cleanup() {
  status=$?
  if [ -n "$killer" ]; then
    kill -TERM "$killer" 2>/dev/null || true
  fi
  for p in $bg $(leftovers); do
    kill -KILL "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

step=""
t_step=0
# begin LABEL: a step starts; passed: it ended well.
begin() {
  step=$1
  t_step=$(now_ms)
}
passed() {
  echo "cache: step $step: ok ($(($(now_ms) - t_step)) ms)${1:+; $1}"
}
fail() {
  echo "cache: step $step: $*"
  exit 1
}
# show FILE: a file, indented (its first and last 15 lines when longer),
# after a failure.
show() {
  echo "--- $1:"
  awk '{ l[NR] = $0 }
    END {
      for (i = 1; i <= NR; i++)
        if (NR <= 30 || i <= 15 || i > NR - 15)
          print "  | " l[i]
        else if (i == 16)
          print "  | ..."
    }' "$1"
}
# hd ARGS...: run hodos; its exit status in $st.
hd() {
  st=0
  "$hodos" "$@" || st=$?
}
now_ms() {
  echo $(($(date +%s%N) / 1000000))
}
# started ERR: the tasks that started (-v), sorted.
started() {
  sed -n 's/^hodos: start //p' "$1" | LC_ALL=C sort
}
count() {
  n=$(grep -c -e "$1" "$2" || true)
  echo "$n"
}
# no_leftovers WHAT [SECONDS]: wait up to SECONDS (3) for the processes of
# this script's runs to end; fail if some do not.
no_leftovers() {
  i=0
  while [ -n "$(leftovers)" ]; do
    i=$((i + 1))
    if [ $i -gt $((${2:-3} * 10)) ]; then
      echo "cache: step $step: processes outlived their run ($1):"
      for p in $(leftovers); do
        ps -o pid=,ppid=,args= -p "$p" || true
      done
      exit 1
    fi
    sleep 0.1
  done
}
# same_results DIR_A DIR_B: the same result files, byte for byte.
same_results() {
  (cd "$1" && ls -A) > "$tmp/ls.a"
  (cd "$2" && ls -A) > "$tmp/ls.b"
  if ! cmp -s "$tmp/ls.a" "$tmp/ls.b"; then
    echo "cache: step $step: not the same result files in $1 and $2:"
    diff "$tmp/ls.a" "$tmp/ls.b" | head -20
    return 1
  fi
  bad=0
  while IFS= read -r f; do
    if ! cmp -s "$1/$f" "$2/$f"; then
      echo "cache: step $step: results/$f differs from the reference"
      bad=1
    fi
  done < "$tmp/ls.a"
  return $bad
}

# A DAG of LAYERS x WIDTH shell tasks 'tL_I': each task of a layer after
# the task of the previous layer in its column, and most also after another
# one. Each prints a number made of its param v and the numbers of its
# input, with builtins only (a process costs much under the sanitizers).
# The dependencies also go to DEPS as "TASK PARENT..." lines, in file
# order. With MARK: the command names MARK, one task in 10 sleeps 10 to
# 30 ms, and one in 7 has cache: false.
gen() {
  awk -v L="$1" -v W="$2" -v deps="$3" -v M="${4:-}" 'BEGIN {
    print "tasks:"
    for (l = 0; l < L; l++) for (i = 0; i < W; i++) {
      n = "t" l "_" i
      printf "  - name: %s\n    params:\n      v: %d\n", n, 1000 + l * W + i
      line = n
      if (l > 0) {
        a = "t" (l - 1) "_" i
        b = "t" (l - 1) "_" ((i * 3 + l + 1) % W)
        if (b != a && (i + l) % 3 != 0) {
          printf "    after: [%s, %s]\n", a, b
          line = line " " a " " b
        } else {
          printf "    after: %s\n", a
          line = line " " a
        }
      }
      print line > deps
      pre = ""
      if (M != "") {
        if ((l * W + i) % 7 == 3)
          print "    cache: false"
        pre = "true " M "; "
        if ((l * W + i) % 10 == 1)
          pre = pre sprintf("sleep 0.0%d; ", 1 + (l + i) % 3)
      }
      printf "    run: %ss={v}; while read -r a b; do" \
        " s=$(((s * 31 + a) %% 1000003)); done; echo $s %s\n", pre, n
    }
  }'
}

# ---- 1: a second run of 100 tasks starts none ----
begin "1 (second run all cached)"
gen 10 10 "$tmp/deps1" > "$tmp/wf1.yaml"
s1=$tmp/s1
hd run -v --store "$s1" "$tmp/wf1.yaml" > "$tmp/out1" 2> "$tmp/err1"
if [ "$st" -ne 0 ]; then
  show "$tmp/err1"
  fail "the first run exited with status $st"
fi
if [ "$(started "$tmp/err1" | wc -l)" -ne 100 ] || [ ! -s "$tmp/out1" ]; then
  show "$tmp/err1"
  fail "the first run, on a new store, did not start its 100 tasks"
fi
run1=$(readlink "$s1/runs/last")
hd run -v --store "$s1" "$tmp/wf1.yaml" > "$tmp/out1b" 2> "$tmp/err1b"
if [ "$st" -ne 0 ]; then
  show "$tmp/err1b"
  fail "the second run exited with status $st"
fi
if [ -n "$(started "$tmp/err1b")" ]; then
  show "$tmp/err1b"
  fail "the second run started $(started "$tmp/err1b" | wc -l) tasks, not 0"
fi
if [ "$(count '^hodos: \[[0-9]*/100\] cached t' "$tmp/err1b")" -ne 100 ] ||
  ! grep -q '^hodos: 100 tasks: 100 done (100 cached), 0 failed' \
    "$tmp/err1b"; then
  show "$tmp/err1b"
  fail "the second run did not report its 100 tasks cached"
fi
if ! cmp -s "$tmp/out1" "$tmp/out1b"; then
  diff "$tmp/out1" "$tmp/out1b" | head -20
  fail "the second run printed other results"
fi
same_results "$s1/runs/$run1/results" "$s1/runs/last/results" ||
  fail "the cached run wrote other result files"
# Step 4 damages a copy of this store, which holds these 100 results only.
cp -R "$s1" "$tmp/s4"
passed

# ---- 2: a changed param reruns its task and what depends on it ----
begin "2 (a changed param)"
target=t3_4
sed "s/^      v: 1034\$/      v: 1099034/" "$tmp/wf1.yaml" > "$tmp/wf2.yaml"
if [ "$(diff "$tmp/wf1.yaml" "$tmp/wf2.yaml" | grep -c '^>')" -ne 1 ]; then
  fail "the script did not change exactly one line of the workflow"
fi
# The target and, in file order (a topological order), every task after
# one of the set.
awk -v t="$target" '
  $1 == t { set[t] = 1 }
  { for (j = 2; j <= NF; j++) if ($j in set) set[$1] = 1 }
  END { for (n in set) print n }' "$tmp/deps1" |
  LC_ALL=C sort > "$tmp/expected2"
nexp=$(wc -l < "$tmp/expected2")
if [ "$nexp" -lt 5 ] || [ "$nexp" -ge 90 ]; then
  fail "the script's dependents of $target are $nexp tasks, a poor test"
fi
hd run -v --store "$s1" "$tmp/wf2.yaml" > "$tmp/out2" 2> "$tmp/err2"
if [ "$st" -ne 0 ]; then
  show "$tmp/err2"
  fail "the run exited with status $st"
fi
started "$tmp/err2" > "$tmp/started2"
if ! cmp -s "$tmp/expected2" "$tmp/started2"; then
  echo "cache: step $step: tasks started (>) against those expected (<):"
  diff "$tmp/expected2" "$tmp/started2" | grep '^[<>]'
  fail "not exactly $target and its $((nexp - 1)) dependents ran again"
fi
if ! grep -q "^hodos: 100 tasks: 100 done ($((100 - nexp)) cached)" \
  "$tmp/err2"; then
  show "$tmp/err2"
  fail "the summary does not count $((100 - nexp)) tasks cached"
fi
if cmp -s "$tmp/out1" "$tmp/out2"; then
  fail "the final results did not change with the param"
fi
# Back to the first version: its results are still kept.
hd run -v --store "$s1" "$tmp/wf1.yaml" > "$tmp/out2b" 2> "$tmp/err2b"
if [ "$st" -ne 0 ] || [ -n "$(started "$tmp/err2b")" ] ||
  ! cmp -s "$tmp/out1" "$tmp/out2b"; then
  show "$tmp/err2b"
  fail "back to the first param, the run (status $st) was not all cached" \
    "with the first results"
fi
passed "$target and its $((nexp - 1)) dependents ran again"

# ---- 3: killed and resumed, 20 times ----
begin "3 (kill and resume)"
big=$tmp/big.yaml
gen 20 10 "$tmp/deps3" "$marker" > "$big"
t0=$(now_ms)
hd run --store "$tmp/ref" "$big" > "$tmp/ref.out" 2> "$tmp/ref.err"
span=$(($(now_ms) - t0))
nref=$(find "$tmp/ref/runs/last/results" -type f | wc -l)
if [ "$st" -ne 0 ] || [ "$nref" -ne 200 ]; then
  show "$tmp/ref.err"
  fail "the reference run exited with status $st or lacks results"
fi
no_leftovers "reference run"
seed=${CACHE_SEED:-$(($(od -An -N4 -tu4 /dev/urandom) % 2147483646 + 1))}
# Per round: the delay before killing the first run, how many resumed runs
# are killed too (0 to 2), and their delays, in seconds. The first run is
# killed within the reference run's time, the resumed ones within half
# of it (they have less left to do).
rounds=${CACHE_ROUNDS:-20}
awk -v seed="$seed" -v span="$span" -v rounds="$rounds" 'BEGIN {
  srand(seed)
  for (r = 1; r <= rounds; r++) {
    d0 = rand() * span / 1000
    k = int(rand() * 3)
    d1 = rand() * span / 2000
    d2 = rand() * span / 2000
    printf "%d %.3f %d %.3f %.3f\n", r, d0, k, d1, d2
  }
}' > "$tmp/plan3"
# killed_run DELAY LOG ARGS...: run hodos, SIGKILL it (it alone) after
# DELAY seconds unless it ended before; it must be killed or have ended
# well (exit 0).
killed_run() {
  delay=$1
  log=$2
  shift 2
  "$hodos" run "$@" > /dev/null 2> "$log" &
  bg=$!
  (
    sleep "$delay" &
    s=$!
    trap 'kill "$s" 2> /dev/null; exit 0' TERM
    if wait "$s"; then kill -KILL "$bg" 2> /dev/null || true; fi
  ) > /dev/null 2>&1 &
  killer=$!
  kst=0
  wait "$bg" 2> /dev/null || kst=$?
  kill -TERM "$killer" 2> /dev/null || true
  wait "$killer" 2> /dev/null || true
  killer=""
  bg=""
  statuses="$statuses $kst"
  if [ "$kst" -ne 137 ] && [ "$kst" -ne 0 ]; then
    show "$log"
    fail "seed $seed, round $round (delays $delays): a run killed after" \
      "$delay s exited with status $kst"
  fi
}
store=$tmp/s3
while read -r round d0 k d1 d2; do
  rm -rf "$store"
  statuses=""
  delays="$d0"
  [ "$k" -ge 1 ] && delays="$delays $d1"
  [ "$k" -ge 2 ] && delays="$delays $d2"
  killed_run "$d0" "$tmp/err3.0" --store "$store" "$big"
  if [ "$k" -ge 1 ]; then
    killed_run "$d1" "$tmp/err3.1" --resume --store "$store" "$big"
  fi
  if [ "$k" -ge 2 ]; then
    killed_run "$d2" "$tmp/err3.2" --resume --store "$store" "$big"
  fi
  hd run --resume --store "$store" "$big" > "$tmp/out3" 2> "$tmp/err3"
  why=""
  if [ "$st" -ne 0 ]; then
    why="the final --resume exited with status $st"
  elif ! cmp -s "$tmp/ref.out" "$tmp/out3"; then
    diff "$tmp/ref.out" "$tmp/out3" | head -10
    why="the final stdout differs from the reference"
  elif ! same_results "$tmp/ref/runs/last/results" "$store/runs/last/results"
  then
    why="the final results differ from the reference"
  fi
  if [ -n "$why" ]; then
    show "$tmp/err3"
    fail "seed $seed, round $round: killed after $delays s (exit statuses" \
      "$statuses; reference run $span ms): $why"
  fi
  no_leftovers "seed $seed, round $round, killed after $delays s"
done < "$tmp/plan3"
# A resumed run that finished: a further --resume reuses every result, of
# tasks with cache: false too.
hd run -v --resume --store "$store" "$big" > "$tmp/out3" 2> "$tmp/err3"
if [ "$st" -ne 0 ] || [ -n "$(started "$tmp/err3")" ] ||
  ! grep -q '^hodos: 200 tasks: 200 done (200 cached)' "$tmp/err3" ||
  ! cmp -s "$tmp/ref.out" "$tmp/out3"; then
  show "$tmp/err3"
  fail "a --resume after a finished run (status $st) ran tasks again"
fi
passed "$rounds rounds, seed $seed, reference run $span ms"

# ---- 4: a damaged record is made again ----
begin "4 (a flipped byte in the pack)"
pack=$tmp/s4/cache/pack
size=$(stat -c %s "$pack")
mid=$((size / 2))
# Walk the records (a 48-byte header, the payload size at offset 24) to the
# one that holds the middle byte, and flip a byte of its payload.
off=0
flip=""
while [ "$off" -lt "$size" ]; do
  # shellcheck disable=SC2046 # four numbers, one per byte
  set -- $(od -An -tu1 -j $((off + 24)) -N 4 "$pack")
  len=$(($1 + $2 * 256 + $3 * 65536 + $4 * 16777216))
  end=$((off + 48 + len))
  if [ "$mid" -lt "$end" ]; then
    flip=$mid
    [ "$mid" -lt $((off + 48)) ] && flip=$((end - 1))
    break
  fi
  off=$end
done
if [ -z "$flip" ] ||
  [ "$(od -An -c -j "$off" -N 4 "$pack" | tr -d ' ')" != HDR1 ]; then
  fail "no record found at the middle of the pack ($size bytes)"
fi
byte=$(od -An -tu1 -j "$flip" -N 1 "$pack" | tr -d ' ')
# shellcheck disable=SC2059
printf "\\$(printf %o $((byte ^ 255)))" |
  dd of="$pack" bs=1 seek="$flip" count=1 conv=notrunc 2> /dev/null
if [ "$(od -An -tu1 -j "$flip" -N 1 "$pack")" -ne $((byte ^ 255)) ]; then
  fail "the script could not flip byte $flip of the pack"
fi
hd run -v --store "$tmp/s4" "$tmp/wf1.yaml" > "$tmp/out4" 2> "$tmp/err4"
warning="its stored result is damaged (checksum mismatch); it runs again"
damaged=$(sed -n "s/^hodos: warning: task '\\(.*\\)': $warning\$/\\1/p" \
  "$tmp/err4")
if [ "$st" -ne 0 ] || [ -z "$damaged" ]; then
  show "$tmp/err4"
  fail "byte $flip of $size flipped (record at $off): status $st, and no" \
    "warning of a damaged result"
fi
# The damaged task runs again; its result is the same, so its dependents
# are not run.
if [ "$(started "$tmp/err4")" != "$damaged" ]; then
  show "$tmp/err4"
  fail "the task with a damaged result is '$damaged', but the tasks" \
    "started are: $(started "$tmp/err4" | tr '\n' ' ')"
fi
if ! cmp -s "$tmp/out1" "$tmp/out4"; then
  fail "the run with a damaged record printed other results"
fi
hd run -v --store "$tmp/s4" "$tmp/wf1.yaml" > "$tmp/out4b" 2> "$tmp/err4b"
if [ "$st" -ne 0 ] || [ -n "$(started "$tmp/err4b")" ] ||
  grep -q warning "$tmp/err4b" || ! cmp -s "$tmp/out1" "$tmp/out4b"; then
  show "$tmp/err4b"
  fail "the run after the repair (status $st) was not all cached"
fi
passed "byte $flip of $size flipped, '$damaged' ran again"

# ---- 5: one run at a time on a store ----
begin "5 (two runs on one store)"
cat > "$tmp/slow.yaml" << EOF
tasks:
  - name: slow
    run: sleep 3; echo $marker-slow
EOF
cat > "$tmp/quick.yaml" << EOF
tasks:
  - name: quick
    run: echo quick
EOF
s5=$tmp/s5
"$hodos" run --store "$s5" "$tmp/slow.yaml" > /dev/null 2> "$tmp/err5a" &
bg=$!
first=$bg
i=0
while ! pgrep -f "$marker-slow" > /dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 200 ]; then
    show "$tmp/err5a"
    fail "the slow task never started"
  fi
  sleep 0.05
done
last=$(readlink "$s5/runs/last")
hd run --store "$s5" "$tmp/quick.yaml" > "$tmp/out5" 2> "$tmp/err5"
if ! kill -0 "$first" 2> /dev/null; then
  fail "the slow run ended before the second was refused (machine too slow?)"
fi
if [ "$st" -ne 1 ] ||
  ! grep -q "in use by another run (process $first)" "$tmp/err5"; then
  show "$tmp/err5"
  fail "the second run on the store exited with status $st, not 1 with" \
    "'in use by another run (process $first)'"
fi
if [ -s "$tmp/out5" ]; then
  fail "the refused run printed results"
fi
if [ "$(readlink "$s5/runs/last")" != "$last" ] ||
  [ "$(find "$s5/runs" -mindepth 1 -maxdepth 1 | wc -l)" -ne 2 ]; then
  ls -l "$s5/runs"
  fail "the refused run left a run folder, or moved runs/last from $last"
fi
kill -KILL "$first"
wait "$first" 2> /dev/null || true
bg=""
"$hodos" run --store "$s5" "$tmp/quick.yaml" > "$tmp/out5" 2> "$tmp/err5" &
bg=$!
third=$bg
st=0
wait "$third" || st=$?
bg=""
if [ "$st" -ne 0 ] || [ "$(cat "$tmp/out5")" != quick ]; then
  show "$tmp/err5"
  fail "a run after the store's holder was killed exited with status $st"
fi
if [ "$(cat "$s5/cache/lock")" != "$third" ]; then
  fail "the lock names process $(cat "$s5/cache/lock"), not $third"
fi
# A worker busy with a task notices that hodos is gone when the task
# ends: the slow task may have up to 3 s left.
no_leftovers "the killed slow run" 6
passed

# ---- 6: the cache is its owner's only ----
begin "6 (permissions)"
(umask 0 && "$hodos" run -q --store "$tmp/s6" "$tmp/quick.yaml" > /dev/null) ||
  fail "a run under umask 0 failed"
for s in "$s1" "$tmp/s6"; do
  mode=$(stat -c %a "$s/cache")
  [ "$mode" = 700 ] || fail "$s/cache has mode $mode, not 700"
  for f in lock pack journal; do
    mode=$(stat -c %a "$s/cache/$f")
    [ "$mode" = 600 ] || fail "$s/cache/$f has mode $mode, not 600"
  done
done
passed

# flip FILE OFFSET: invert the byte at OFFSET of FILE.
flip() {
  b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
  # shellcheck disable=SC2059
  printf "\\$(printf %o $((b ^ 255)))" |
    dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2> /dev/null
}
# record_at PACK N: the offset of the Nth record (from 0) of PACK.
record_at() {
  off=0
  i=0
  while [ "$i" -lt "$2" ]; do
    # shellcheck disable=SC2046 # four numbers, one per byte
    set -- "$1" "$2" $(od -An -tu1 -j $((off + 24)) -N 4 "$1")
    off=$((off + 48 + $3 + $4 * 256 + $5 * 65536 + $6 * 16777216))
    i=$((i + 1))
  done
  echo "$off"
}

# ---- 7: --resume takes the last run's record of a cache: false task ----
begin "7 (resume past a damaged header)"
cat > "$tmp/now.yaml" << EOF
tasks:
  - name: now
    run: date +%s%N
    cache: false
  - name: letters
    run: tr 0-9 a-j
    after: now
EOF
s7=$tmp/s7
for i in 1 2 3; do
  hd run -q -b serial --store "$s7" "$tmp/now.yaml" > "$tmp/out7.$i" 2> /dev/null
  [ "$st" -eq 0 ] || fail "run $i exited with status $st"
done
# Records: now and letters of each run. Damage the key in the header of
# the last run's 'now': the scan passes it over, and finds run 2's.
rec=$(record_at "$s7/cache/pack" 4)
flip "$s7/cache/pack" $((rec + 10))
hd run -v -b serial --resume --store "$s7" "$tmp/now.yaml" > "$tmp/out7" \
  2> "$tmp/err7"
if [ "$st" -ne 0 ] || [ "$(started "$tmp/err7" | tr '\n' ' ')" != \
  "letters now " ] || cmp -s "$tmp/out7" "$tmp/out7.2"; then
  show "$tmp/err7"
  fail "the resumed run (status $st) took another run's result of 'now'"
fi
passed

# ---- 8: clean without a journal drops nothing ----
begin "8 (clean without a journal)"
size=$(stat -c %s "$s7/cache/pack")
for how in missing garbage; do
  rm -f "$s7/cache/journal"
  [ $how = garbage ] && printf '\223garbage\nkey zz\n' > "$s7/cache/journal"
  hd clean --store "$s7" > /dev/null 2> "$tmp/err8"
  if [ "$st" -ne 1 ] ||
    ! grep -q "cannot tell which results the last run used" "$tmp/err8" ||
    [ "$(stat -c %s "$s7/cache/pack")" -ne "$size" ]; then
    show "$tmp/err8"
    fail "clean with the journal $how exited with status $st, or changed" \
      "the pack"
  fi
done
passed

# ---- 9: a full disk: the result not kept says why ----
# A 20 MB tmpfs (in a mount namespace of its own, so that nothing is left
# mounted) holds the run folder and the store: a 12 MB result fits in the
# run folder, not again in the pack. Needs root and unshare; skipped
# without them.
begin "9 (a full disk)"
if [ "$(id -u)" = 0 ] && command -v unshare > /dev/null 2>&1 &&
  unshare -m true 2> /dev/null; then
  mkdir -p "$tmp/full"
  printf 'tasks:\n  - name: rnd\n    run: head -c 12000000 /dev/urandom\n  - name: size\n    run: wc -c\n    after: rnd\n' \
    > "$tmp/full.yaml"
  st=0
  # The second run's folder cannot hold the result either: the task after
  # it still gets it (from memory), and the run succeeds.
  unshare -m sh -c 'mount -t tmpfs -o size=20m tmpfs "$1" && cd "$1" &&
    cp "$3" wf.yaml && "$2" run -q -b serial wf.yaml > /dev/null &&
    { "$2" status wf.yaml > "$6" 2>&1; true; } &&
    "$2" run -q -b serial wf.yaml > "$4" 2> "$5"' sh \
    "$tmp/full" "$hodos" "$tmp/full.yaml" "$tmp/out9" "$tmp/err9b" \
    "$tmp/status9" 2> "$tmp/err9" || st=$?
  if [ "$st" -ne 0 ] ||
    ! grep -q "its result cannot be kept: No space left on device" \
      "$tmp/err9"; then
    show "$tmp/err9"
    fail "a full disk (status $st) is not named as such"
  fi
  if [ "$(tr -d ' ' < "$tmp/out9")" != 12000000 ] ||
    ! grep -q "task 'rnd': its result cannot be written under .*: No space left on device; the tasks after it get it from memory" \
      "$tmp/err9b"; then
    show "$tmp/err9b"
    fail "a result the run folder cannot hold is lost to the task after it"
  fi
  grep -q "rnd: no result is kept (the last run did not finish it, or could not keep it)" \
    "$tmp/status9" || {
    show "$tmp/status9"
    fail "status says the task that was not kept did not finish"
  }
  # A stored result whose copy the run folder cannot take is still taken
  # from the store: the task does not run again (it did, its work lost to
  # a full disk).
  printf 'tasks:\n  - name: expensive\n    run: echo ran >> %s; seq 1 100000\n' \
    "$tmp/count9" > "$tmp/full2.yaml"
  rm -f "$tmp/count9"
  unshare -m sh -c 'mount -t tmpfs -o size=4m tmpfs "$1" && cd "$1" &&
    cp "$3" wf.yaml && "$2" run -q -b serial wf.yaml > /dev/null &&
    { dd if=/dev/zero of=filler bs=4k 2> /dev/null; true; } &&
    { "$2" run -b serial wf.yaml > "$4" 2> "$5"; true; }' sh \
    "$tmp/full" "$hodos" "$tmp/full2.yaml" "$tmp/out9c" "$tmp/err9c" \
    2> "$tmp/err9" || true
  if [ "$(wc -l < "$tmp/count9")" -ne 1 ] ||
    ! grep -q "cached expensive" "$tmp/err9c" ||
    ! grep -q "task 'expensive': its stored result cannot be written under .*: No space left on device" \
      "$tmp/err9c"; then
    show "$tmp/err9c"
    fail "a stored result the run folder cannot hold made its task run again" \
      "($(wc -l < "$tmp/count9") runs)"
  fi
  # A standard error log cut short by the full disk says so (it passed for
  # the whole of it in hodos logs and report).
  printf 'tasks:\n  - name: noisy\n    run: seq 1 800000 >&2; exit 1\n' \
    > "$tmp/full3.yaml"
  unshare -m sh -c 'mount -t tmpfs -o size=2m tmpfs "$1" && cd "$1" &&
    cp "$3" wf.yaml && { "$2" run -q wf.yaml > /dev/null 2> "$4"; true; }' \
    sh "$tmp/full" "$hodos" "$tmp/full3.yaml" "$tmp/err9d" 2> "$tmp/err9" ||
    true
  grep -q "task 'noisy': its standard error log is cut short after [0-9]* bytes: No space left on device" \
    "$tmp/err9d" || {
    show "$tmp/err9d"
    fail "a standard error log cut short by a full disk is not said to be"
  }
  passed
else
  passed "skipped: needs root and unshare"
fi

# ---- 10: --resume over a journal that is not one ----
# It says so and starts a new journal, which hodos clean reads again
# (appending to the damaged one kept clean failing).
begin "10 (resume over a damaged journal)"
s10=$tmp/s10
hd run -q -b serial --store "$s10" "$tmp/now.yaml" > /dev/null 2>&1
echo garbage > "$s10/cache/journal"
hd run -q -b serial --resume --store "$s10" "$tmp/now.yaml" > /dev/null \
  2> "$tmp/err10"
if [ "$st" -ne 0 ] ||
  ! grep -q "its journal is not one hodos can read; this run cannot resume" \
    "$tmp/err10" || [ "$(head -c 10 "$s10/cache/journal")" != "run fresh " ]; then
  show "$tmp/err10"
  fail "a resumed run (status $st) over a damaged journal: not said, or kept"
fi
"$hodos" clean --store "$s10" > /dev/null 2> "$tmp/err10" ||
  fail "clean after it: $(cat "$tmp/err10")"
passed
