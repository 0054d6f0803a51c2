#!/bin/sh
# The JSON Schema of workflow files is a valid schema, accepts every
# example and refuses check.py's built-in invalid documents.
# Usage: run.sh [SRCDIR]; exits 77 (skipped) without python3, jsonschema
# or PyYAML.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-$here/../..}
if ! command -v python3 >/dev/null 2>&1; then
  echo "schema: python3 is not installed; skipped"
  exit 77
fi
if ! python3 -c 'import jsonschema, yaml' >/dev/null 2>&1; then
  echo "schema: python3-jsonschema or python3-yaml is not installed; skipped"
  exit 77
fi
exec python3 "$here/check.py" "$src/schemas/hodos-workflow.schema.json" \
  "$src/examples"
