#!/bin/sh
# hodos run --events FILE and --trace FILE: every line of the events file
# is a JSON object with the documented fields, each task is queued,
# started and ended, a retry shows between two starts; the trace is JSON
# in the Chrome trace event format with one complete event per attempt on
# named worker tracks. A file that cannot be written is an error before
# anything runs.
#
# Usage: sh events.sh HODOS_BIN
set -u
hodos=$1
case $hodos in /*) ;; *) hodos=$(pwd)/$hodos ;; esac
command -v python3 >/dev/null 2>&1 || {
  echo "events: python3 is missing; skipped" >&2
  exit 77
}
work=$(mktemp -d /tmp/hodos-events.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
cat >wf.yaml <<'YAML'
tasks:
  - name: gen
    map:
      i: [1, 2, 3, 4, 5, 6]
    run: seq 1 {i}
  - name: flaky
    retries: 2
    run: if [ -f mark ]; then echo ok; else touch mark; exit 3; fi
  - name: bad
    allow_failure: true
    run: echo broken >&2; exit 1
  - name: sum
    after: [gen, flaky]
    run: wc -l
YAML
"$hodos" run -q --store st --events ev.jsonl --trace tr.json wf.yaml \
  >out.txt 2>err.txt
status=$?
[ "$status" = 0 ] || {
  echo "events: exit status $status: $(cat err.txt)" >&2
  exit 1
}
python3 - ev.jsonl tr.json <<'PY' || exit 1
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
fail = []
common = {"event", "task", "index", "time", "attempt", "worker", "done",
          "total"}
for e in events:
    if not common <= set(e):
        fail.append("missing fields in %r" % e)
    if e["event"] in ("done", "cached") and "size" not in e:
        fail.append("no size in %r" % e)
    if e["event"] in ("done", "failed") and "elapsed" not in e:
        fail.append("no elapsed in %r" % e)
    if e["event"] in ("failed", "retried") and "message" not in e:
        fail.append("no message in %r" % e)
    if e["total"] != 9:
        fail.append("total %r, not 9" % e["total"])
times = [e["time"] for e in events]
if times != sorted(times):
    fail.append("times go backwards")
by = {}
for e in events:
    by.setdefault(e["task"], []).append(e["event"])
if len(by) != 9:
    fail.append("%d tasks in the events, not 9" % len(by))
for task, seq in by.items():
    if seq[0] != "queued":
        fail.append("%s: first event %s, not queued" % (task, seq[0]))
    if seq[-1] not in ("done", "failed"):
        fail.append("%s: last event %s" % (task, seq[-1]))
if by.get("flaky") != ["queued", "started", "retried", "started", "done"]:
    fail.append("flaky: %r" % by.get("flaky"))
bad = [e for e in events if e["task"] == "bad" and e["event"] == "failed"]
if not bad or bad[0].get("failure_allowed") is not True:
    fail.append("bad: no failed event with failure_allowed: %r" % bad)
sums = [e for e in events if e["task"] == "sum" and e["event"] == "done"]
if not sums or sums[0]["size"] != 3:
    fail.append("sum: size %r, not 3 ('21\\n' padded by wc)" % sums)
trace = json.load(open(sys.argv[2]))
te = trace["traceEvents"]
complete = [t for t in te if t["ph"] == "X"]
# One complete event per attempt that ended: 9 tasks, a failed attempt of
# flaky, and bad's failure.
if len(complete) != 10:
    fail.append("%d complete events in the trace, not 10" % len(complete))
for t in complete:
    if not {"name", "ts", "dur", "pid", "tid"} <= set(t) or t["dur"] < 0:
        fail.append("bad trace event %r" % t)
names = {(t["pid"], t["tid"]) for t in te
         if t["ph"] == "M" and t["name"] == "thread_name"}
for t in complete:
    if (t["pid"], t["tid"]) not in names:
        fail.append("track of %r has no name" % t["name"])
if fail:
    print("events: " + "\nevents: ".join(fail), file=sys.stderr)
    sys.exit(1)
PY
# Tasks that take long are not queued behind a busy worker while another
# could take them: with two slots, no more than two tasks have started
# and not ended at any time (a worker's queue shows as tasks started at
# once).
cat >long.yaml <<'YAML'
tasks:
  - name: nap
    map:
      i: [1, 2, 3, 4, 5, 6]
    run: sleep 0.2
YAML
"$hodos" run -q -j2 --no-cache --store st3 --events long.jsonl long.yaml \
  >/dev/null 2>err.txt || {
  echo "events: long.yaml failed: $(cat err.txt)" >&2
  exit 1
}
python3 - long.jsonl <<'PY' || exit 1
import json, sys
running, most = 0, 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "started":
        running += 1
        most = max(most, running)
    elif e["event"] in ("done", "failed"):
        running -= 1
if most != 2:
    print("events: %d tasks of 0.2 s held at once by 2 workers" % most,
          file=sys.stderr)
    sys.exit(1)
PY
# Nothing runs when a file cannot be written.
rm -rf st2
"$hodos" run -q --store st2 --events /nonexistent/ev.jsonl wf.yaml \
  >/dev/null 2>err.txt
status=$?
[ "$status" = 1 ] || {
  echo "events: an unwritable events file gave status $status" >&2
  exit 1
}
grep -q "cannot write the events to /nonexistent/ev.jsonl" err.txt || {
  echo "events: no message for the unwritable file: $(cat err.txt)" >&2
  exit 1
}
[ ! -e st2 ] || {
  echo "events: a store was made although nothing ran" >&2
  exit 1
}
echo "events: ok"
