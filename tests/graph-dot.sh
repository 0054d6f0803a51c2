#!/bin/sh
# hodos graph's DOT output renders with Graphviz, with task names as
# labels, and its JSON output parses. Usage: graph-dot.sh HODOS SRCDIR
set -eu
hodos=$1
src=$2
if ! command -v dot >/dev/null 2>&1; then
  echo "graph-dot: Graphviz's dot is not installed; skipped"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$hodos" graph "$src/examples/quickstart.yaml" > "$tmp/g.dot"
dot -Tsvg "$tmp/g.dot" > "$tmp/g.svg"
for name in greet shout count; do
  if ! grep -q ">$name<" "$tmp/g.svg"; then
    echo "graph-dot: task '$name' is not a label of the rendered graph"
    exit 1
  fi
done
edges=$(grep -c 'class="edge"' "$tmp/g.svg")
if [ "$edges" -ne 3 ]; then
  echo "graph-dot: expected 3 edges in the rendering, found $edges"
  exit 1
fi
"$hodos" graph --format json -o "$tmp/g.json" "$src/examples/quickstart.yaml"
if command -v python3 >/dev/null 2>&1; then
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [n["name"] for n in d["nodes"]]==["greet","shout","count"], d; assert d["critical_path"]==[0,1,2], d' "$tmp/g.json"
fi
echo "graph-dot: rendered 3 labelled tasks and 3 edges; JSON parses"
