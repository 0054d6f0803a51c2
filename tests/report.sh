#!/bin/sh
# hodos report: a run kept its events in its folder; the report reads
# them back as a summary, as the JSON lines and trace 'hodos run' writes,
# and as one self-contained HTML page that headless Chromium renders (the
# screenshot shows the colours of done and failed tasks). A damaged or
# missing events file is a clear error, never a crash.
#
# Usage: sh report.sh HODOS_BIN
set -u
hodos=$1
case $hodos in /*) ;; *) hodos=$(pwd)/$hodos ;; esac
command -v python3 >/dev/null 2>&1 || {
  echo "report: python3 is missing; skipped" >&2
  exit 77
}
chromium=$(command -v chromium || command -v chromium-browser || true)
work=$(mktemp -d /tmp/hodos-report.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fail() {
  echo "report: $*" >&2
  exit 1
}

cat >wf.yaml <<'YAML'
name: report check
tasks:
  - name: prepare
    run: sleep 0.1; echo ready
  - name: align
    after: prepare
    map:
      sample: [a, b, c, d]
    run: sleep 0.1; echo aligned {sample}
  - name: flaky
    retries: 2
    run: if [ -f mark ]; then echo ok; else touch mark; exit 3; fi
  - name: optional
    allow_failure: true
    run: echo "warning <b>&amp;</b>" >&2; exit 4
  - name: broken
    after: align
    run: echo "first line" >&2; echo "the last words" >&2; exit 2
  - name: merge
    after: [align, broken]
    run: cat
YAML
"$hodos" run -q -j2 --store st --events live.jsonl wf.yaml >out.txt \
  2>err.txt
[ $? = 1 ] || fail "the first run did not fail as it should: $(cat err.txt)"
first=$(readlink st/runs/last)
[ -s "st/runs/$first/events" ] || fail "no events file in the run folder"
rm -f mark
"$hodos" run -q -j2 --store st wf.yaml >/dev/null 2>&1

# An output over the run's own events is refused, and the events stay.
for opt in --html --events --trace; do
  cp "st/runs/$first/events" events.before
  "$hodos" report -s st "$first" "$opt" "st/runs/$first/events" \
    >/dev/null 2>err.txt
  [ $? = 2 ] || fail "report $opt over its own events was not refused"
  cmp -s events.before "st/runs/$first/events" ||
    fail "report $opt wrote over the run's events"
done

# The summary of the second run: cache hits.
"$hodos" report -s st >second.txt 2>err.txt || fail "report: $(cat err.txt)"
grep -q "^run .* of wf.yaml (report check)" second.txt ||
  fail "no header in the summary: $(cat second.txt)"
grep -q "^cache hits: 6 tasks: prepare, align\[sample=a\]" second.txt ||
  fail "no cache hits in the summary: $(cat second.txt)"

# The summary of the first run: counts, the slowest tasks, failures with
# the end of their standard error.
"$hodos" report -s st "$first" >first.txt 2>err.txt ||
  fail "report of the first run: $(cat err.txt)"
grep -q "^9 tasks: 6 done, 2 failed (1 allowed), 1 skipped, 0 cancelled$" \
  first.txt || fail "wrong counts: $(cat first.txt)"
grep -q "^  broken: command exited with status 2$" first.txt ||
  fail "no failure of broken: $(cat first.txt)"
grep -q "^    | the last words$" first.txt ||
  fail "no stderr tail of broken: $(cat first.txt)"
grep -q "^slowest tasks:" first.txt || fail "no slowest tasks"
# The run folder can be given as a path too.
"$hodos" report "st/runs/$first" >bypath.txt 2>&1 ||
  fail "report by path: $(cat bypath.txt)"
cmp -s first.txt bypath.txt || fail "the report by path differs"

# A workflow file names the last run of the store beside it.
mkdir sub
printf 'tasks:\n  - name: hello\n    run: echo hi\n' >sub/hello.yaml
"$hodos" run -q sub/hello.yaml >/dev/null 2>err.txt || fail "sub: $(cat err.txt)"
"$hodos" report sub/hello.yaml >sub.txt 2>err.txt ||
  fail "report of a workflow file: $(cat err.txt)"
grep -q "^run .* of sub/hello.yaml$" sub.txt ||
  fail "report of a workflow file: $(cat sub.txt)"
"$hodos" logs --stdout sub/hello.yaml hello >sub.txt 2>err.txt ||
  fail "logs of a workflow file: $(cat err.txt)"
[ "$(cat sub.txt)" = hi ] || fail "logs of a workflow file: $(cat sub.txt)"

# The stored events, replayed, are the events the run wrote live.
"$hodos" report -s st --events replay.jsonl --trace replay.json "$first" \
  >/dev/null 2>err.txt || fail "report --events: $(cat err.txt)"
python3 - live.jsonl replay.jsonl replay.json <<'PY' || exit 1
import json, sys
def load(path):
    out = []
    for line in open(path):
        e = json.loads(line)
        e.pop("time")
        out.append(e)
    return out
live, replay = load(sys.argv[1]), load(sys.argv[2])
if live != replay:
    for a, b in zip(live, replay):
        if a != b:
            print("report: live %r\nreport: replayed %r" % (a, b),
                  file=sys.stderr)
            break
    print("report: %d live events, %d replayed, not the same" %
          (len(live), len(replay)), file=sys.stderr)
    sys.exit(1)
trace = json.load(open(sys.argv[3]))
if len([t for t in trace["traceEvents"] if t["ph"] == "X"]) != 9:
    print("report: the replayed trace has not 9 attempts", file=sys.stderr)
    sys.exit(1)
PY

# The HTML page: self-contained, with every part.
"$hodos" report -s st --html page.html "$first" >/dev/null 2>err.txt ||
  fail "report --html: $(cat err.txt)"
python3 - page.html <<'PY' || exit 1
import sys
from html.parser import HTMLParser
text = open(sys.argv[1], encoding="utf-8").read()
fail = []
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.stack, self.data = set(), [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for k in ("src", "href"):
            if k in a:
                fail.append("a reference out of the page: %s=%s" % (k, a[k]))
        if tag in ("link", "script", "iframe", "img"):
            fail.append("a <%s> element" % tag)
    def handle_data(self, d):
        self.data.append(d)
p = P()
p.feed(text)
for want in ("summary", "timeline", "gantt", "graph", "slowest", "failures",
             "cache", "not-run"):
    if want not in p.ids:
        fail.append("no element with id %s" % want)
body = "".join(p.data)
for want in ("report check", "align[sample=c]", "the last words",
             "warning <b>&amp;</b>", "command exited with status 2",
             "dependency 'broken' failed", "attempt retried"):
    if want not in body:
        fail.append("the page does not say %r" % want)
if "http:" in text or "https:" in text or "url(" in text:
    fail.append("the page refers to the network")
if fail:
    print("report: " + "\nreport: ".join(fail), file=sys.stderr)
    sys.exit(1)
PY

# A graph too big to draw task by task is drawn by groups.
cat >big.yaml <<'YAML'
tasks:
  - name: part
    map:
      i: [RANGE]
    run: echo {i}
  - name: total
    after: part
    run: wc -l
YAML
python3 -c "
import sys
s = open('big.yaml').read().replace('RANGE', ', '.join(str(i) for i in range(600)))
open('big.yaml', 'w').write(s)"
"$hodos" run -q -j2 --store big big.yaml >/dev/null 2>err.txt ||
  fail "big.yaml: $(cat err.txt)"
"$hodos" report -s big --html big.html >/dev/null 2>err.txt ||
  fail "report of big.yaml: $(cat err.txt)"
grep -q "part ×600" big.html || fail "the big graph is not grouped"

# A run killed while it waits keeps the events of what it did: they are
# written once a second even when no event comes.
cat >killed.yaml <<'YAML'
tasks:
  - name: quick
    run: echo done
  - name: slow
    after: quick
    run: sleep 29
YAML
"$hodos" run -q --store killed killed.yaml >/dev/null 2>&1 &
pid=$!
tries=0
until [ -s killed/runs/last/results/quick ] || [ "$tries" -ge 100 ]; do
  sleep 0.1
  tries=$((tries + 1))
done
sleep 2
kill -9 "$pid"
wait "$pid" 2>/dev/null
pkill -f "^sleep 29$" 2>/dev/null
"$hodos" report -s killed >killed.txt 2>killed.err ||
  fail "report of a killed run: $(cat killed.err)"
grep -q "has not finished" killed.err ||
  fail "the report of a killed run does not say so: $(cat killed.err)"
grep -q "^2 tasks: 1 done, 0 failed, 0 skipped, 0 cancelled, 1 not run$" \
  killed.txt || fail "the killed run's quick task is lost: $(cat killed.txt)"

# A damaged events file: a clear message and status 1, no crash.
cp -r "st/runs/$first" cut
size=$(wc -c <cut/events)
head -c $((size - 7)) "st/runs/$first/events" >cut/events
"$hodos" report ./cut >cut.txt 2>cut.err
[ $? = 1 ] || fail "a cut events file gave status $? ($(cat cut.err))"
grep -q "stops short" cut.err || fail "no message for a cut file: $(cat cut.err)"
# Cut anywhere in its list of tasks, the page is refused or drawn as far
# as it goes, never a crash (the last name cut short crashed the graph).
cat >six.yaml <<'YAML'
tasks:
  - name: a
    run: echo a
  - name: b
    run: echo b >&2; exit 3
    allow_failure: true
  - name: c
    run: cat
    after: [a, b]
  - name: d
    run: echo d; exit 1
  - name: e
    run: cat
    after: d
  - name: f
    run: echo f
YAML
"$hodos" run -q -k --store six six.yaml >/dev/null 2>&1
mkdir -p sixcut/results
n=1
while [ "$n" -lt 200 ]; do
  head -c "$n" six/runs/last/events >sixcut/events
  "$hodos" report --html cut.html ./sixcut >/dev/null 2>&1
  st=$?
  [ "$st" -le 2 ] || fail "report --html of events cut at $n: status $st"
  n=$((n + 1))
done
head -c 3000 /dev/urandom >cut/events
"$hodos" report ./cut >/dev/null 2>cut.err
[ $? = 1 ] || fail "a garbage events file gave status $?"
grep -q "cut/events" cut.err || fail "no message for garbage: $(cat cut.err)"
# Its results folder removed by hand, the run is still found by its
# events (it was "no run").
cp "st/runs/$first/events" cut/events
rm -rf cut/results
"$hodos" report ./cut >/dev/null 2>cut.err ||
  fail "a run without its results folder: $(cat cut.err)"
mkdir cut/results
rm cut/events
"$hodos" report ./cut >/dev/null 2>cut.err
[ $? = 1 ] || fail "a missing events file gave status $?"
grep -q "kept no events" cut.err || fail "no message for no file: $(cat cut.err)"
"$hodos" report -s st nosuchrun >/dev/null 2>cut.err
[ $? = 2 ] || fail "no such run gave status $?"

# Headless Chromium renders the page: the timeline and the graph show the
# colours of done (#2e9d4f) and failed (#d62f2f) tasks.
if [ -z "$chromium" ]; then
  echo "report: chromium is missing (scripts/setup installs it); the page" \
    "was not rendered" >&2
  exit 77
fi
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu \
  --hide-scrollbars --user-data-dir="$work/chrome" --window-size=1280,1600 \
  --screenshot="$work/page.png" "file://$work/page.html" \
  >chrome.log 2>&1 || fail "chromium failed: $(tail -5 chrome.log)"
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu \
  --user-data-dir="$work/chrome" --dump-dom "file://$work/page.html" \
  >dom.html 2>chrome.log || fail "chromium --dump-dom failed"
grep -q 'id="gantt"' dom.html || fail "the rendered page has no timeline"
python3 - page.png <<'PY' || exit 1
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    print("report: the screenshot is not a PNG", file=sys.stderr)
    sys.exit(1)
pos, idat, width = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    chunk = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, ctype = struct.unpack(">IIBB", chunk[:10])
    elif kind == b"IDAT":
        idat += chunk
    pos += 12 + n
if depth != 8 or ctype not in (2, 6):
    print("report: unexpected PNG format", file=sys.stderr)
    sys.exit(1)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), width * bpp
prev, rows, i = bytearray(stride), [], 0
for y in range(height):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[x] = (line[x] + pr) & 255
    rows.append(bytes(line))
    prev = line
def count(rgb):
    want = bytes(rgb)
    return sum(r[x:x + 3] == want for r in rows for x in range(0, stride, bpp))
green, red = count((0x2e, 0x9d, 0x4f)), count((0xd6, 0x2f, 0x2f))
if green < 500 or red < 100:
    print("report: the screenshot shows %d done and %d failed pixels" %
          (green, red), file=sys.stderr)
    sys.exit(1)
PY
echo "report: ok"
