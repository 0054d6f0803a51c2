#!/usr/bin/env python3
"""Checks the JSON Schema of hodos workflow files.

Usage: check.py SCHEMA DIR...

The schema must be a valid draft-07 schema; every *.yaml file under each DIR
(recursively) must validate against it; a built-in set of documents the
language accepts must validate, and a built-in set it refuses must not, so
that the schema can grow neither too strict nor too permissive unnoticed.
Prints one line per file and per built-in document; exits 1 on any failure.
"""
import datetime
import json
import os
import re
import sys

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

# Documents the language accepts.
VALID = {
    "every field of a main file": """
name: all
description: every key
backend: threads
jobs: 4
plugins: [lib/libfns.so]
env: {LANG: C, LEVEL: 3, DEBUG: false}
workdir: work
hosts:
  - node1
  - alice@node2:2222
  - {host: node3, user: bob, port: 22, slots: 8, hodos: /opt/hodos/bin/hodos}
include: [more.yaml]
defaults:
  retries: 2
  retry_delay: 1m30s
  timeout: 0
  cpus: 1
  mem: 512M
  priority: -1
  cache: true
  allow_failure: False
  env: {TMPDIR: /tmp}
  workdir: "{k}"
  cost: 0.5
tasks:
  - name: align
    description: one per sample
    run: align {sample} {sample:raw} > {outputs.0}
    params: {ref: hg38, k: 2, fast: true, ratio: 0.5}
    map: {sample: [a, b], lane: [1, 2]}
    inputs: "data/{sample}.fq"
    outputs: ["{sample}.bam"]
    env: {REF: "{ref}"}
    workdir: "runs/{sample}"
    retries: 0
    retry_delay: 500ms
    timeout: 1.5
    cpus: 2
    mem: 1073741824
    priority: 10
    cost: 3
    cache: TRUE
    allow_failure: true
  - name: sort
    argv: [sort, -k, 2, "{after.align}"]
    product: {sample: [a, b], k: [1, 2.5, true]}
    after: align
    stdin: align
    timeout: 2h
    mem: 1.5GiB
  - name: total
    fn: sum
    after: [sort, align]
    stdin: sort
    inputs: []
  - name: 7
    run: 42
""",
    "an included file": """
name: part
defaults: {timeout: 10m}
env: {A: b}
plugins: libmore.so
include: deeper.yaml
tasks:
  - name: fetch data/v1
    run: echo raw
""",
    "an included file without tasks": "include: [a.yaml, b.yaml]\n",
}

# Documents the language refuses.
INVALID = {
    "a task with both run and fn": "tasks: [{name: a, run: x, fn: f}]",
    "a task with run and argv": "tasks: [{name: a, run: x, argv: [x]}]",
    "a task with none of run, argv, fn": "tasks: [{name: a}]",
    "a task without name": "tasks: [{run: echo}]",
    "an empty task name": "tasks: [{name: '', run: echo}]",
    "a task name with [": "tasks: [{name: 'a[1]', run: echo}]",
    "a task name with a comma": "tasks: [{name: 'a,b', run: echo}]",
    "a task name with a newline": 'tasks: [{name: "a\\n", run: echo}]',
    "a null run": "tasks: [{name: a, run: }]",
    "an empty run": "tasks: [{name: a, run: ''}]",
    "an empty argv": "tasks: [{name: a, argv: []}]",
    "argv as a string": "tasks: [{name: a, argv: ls}]",
    "an unknown top-level key": "taks: []",
    "an unknown task key": "tasks: [{name: a, run: x, rum: y}]",
    "an unknown defaults key": "defaults: {name: x}",
    "a workflow that is a list": "- name: a\n  run: x\n",
    "an empty document": "",
    "retries: -1": "tasks: [{name: a, run: x, retries: -1}]",
    "retries: 1.5": "tasks: [{name: a, run: x, retries: 1.5}]",
    "retries: 3x": "tasks: [{name: a, run: x, retries: 3x}]",
    "timeout: 10x": "tasks: [{name: a, run: x, timeout: 10x}]",
    "timeout: -1": "tasks: [{name: a, run: x, timeout: -1}]",
    "timeout: -5s": "tasks: [{name: a, run: x, timeout: -5s}]",
    "timeout: 1h 30m": "tasks: [{name: a, run: x, timeout: 1h 30m}]",
    "timeout: 30m1h": "tasks: [{name: a, run: x, timeout: 30m1h}]",
    "timeout: 1m1m": "tasks: [{name: a, run: x, timeout: 1m1m}]",
    "timeout: .5s": "tasks: [{name: a, run: x, timeout: .5s}]",
    "timeout: 1.s": "tasks: [{name: a, run: x, timeout: 1.s}]",
    "timeout: s": "tasks: [{name: a, run: x, timeout: s}]",
    "timeout ending in a newline": 'tasks: [{name: a, run: x, timeout: "10s\\n"}]',
    "retry_delay: true": "tasks: [{name: a, run: x, retry_delay: true}]",
    "mem: 4X": "tasks: [{name: a, run: x, mem: 4X}]",
    "mem: -1": "tasks: [{name: a, run: x, mem: -1}]",
    "mem: 1.5": "tasks: [{name: a, run: x, mem: 1.5}]",
    "mem: 1.5B": "tasks: [{name: a, run: x, mem: 1.5B}]",
    "mem: 4g": "tasks: [{name: a, run: x, mem: 4g}]",
    "cpus: 0": "tasks: [{name: a, run: x, cpus: 0}]",
    "priority: 1.5": "tasks: [{name: a, run: x, priority: 1.5}]",
    "cost: 0": "tasks: [{name: a, run: x, cost: 0}]",
    "cost: -2": "tasks: [{name: a, run: x, cost: -2}]",
    "cache as a string": "tasks: [{name: a, run: x, cache: 'true'}]",
    "allow_failure: 1": "tasks: [{name: a, run: x, allow_failure: 1}]",
    "map with product": "tasks: [{name: a, run: x, map: {k: [1]}, product: {j: [2]}}]",
    "map of a scalar": "tasks: [{name: a, run: x, map: {k: 1}}]",
    "map with an empty list": "tasks: [{name: a, run: x, map: {k: []}}]",
    "map key with a dash": "tasks: [{name: a, run: x, map: {a-b: [1]}}]",
    "a param key starting with a digit": "tasks: [{name: a, run: x, params: {1k: 2}}]",
    "a null param": "tasks: [{name: a, run: x, params: {k: }}]",
    "a list param": "tasks: [{name: a, run: x, params: {k: [1]}}]",
    "an env name with a dash": "env: {MY-VAR: 1}",
    "a task env value that is a mapping": "tasks: [{name: a, run: x, env: {A: {b: c}}}]",
    "env on an fn task": "tasks: [{name: a, fn: f, env: {A: b}}]",
    "workdir on an fn task": "tasks: [{name: a, fn: f, workdir: w}]",
    "after as a mapping": "tasks: [{name: a, run: x, after: {x: 1}}]",
    "after listing a list": "tasks: [{name: a, run: x, after: [[b]]}]",
    "after listing null": "tasks: [{name: a, run: x, after: [b, ~]}]",
    "stdin as a list": "tasks: [{name: a, run: x, stdin: [b]}]",
    "inputs as a mapping": "tasks: [{name: a, run: x, inputs: {f: g}}]",
    "outputs listing null": "tasks: [{name: a, run: x, outputs: [~]}]",
    "jobs: 0": "jobs: 0",
    "an unknown backend": "backend: thread",
    "plugins as a mapping": "plugins: {a: b}",
    "include listing a list": "include: [[a.yaml]]",
    "tasks as a mapping": "tasks: {name: a, run: x}",
    "a host port of 70000": "hosts: [{host: h, port: 70000}]",
    "a host string with port 0": "hosts: ['h:0']",
    "a host string with two @": "hosts: ['a@b@c']",
    "a host mapping without host": "hosts: [{user: u}]",
    "a host mapping with an unknown key": "hosts: [{host: h, cores: 2}]",
    "host slots: 0": "hosts: [{host: h, slots: 0}]",
}


# JSON Schema patterns are ECMA 262 regular expressions, where a final $
# matches only at the very end; Python's $ also matches before a final
# newline.
def ecma_pattern(validator, pattern, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    rx = pattern
    if rx.endswith("$") and not rx.endswith("\\$"):
        rx = rx[:-1] + "\\Z"
    if not re.search(rx, instance):
        yield ValidationError("%r does not match %r" % (instance, pattern))


def jsonable(value):
    """The loaded YAML as JSON data: mapping keys are strings, dates text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def json_path(error):
    path = "$"
    for part in error.absolute_path:
        if isinstance(part, int):
            path += "[%d]" % part
        else:
            path += "." + str(part)
    return path


def message(error):
    custom = None
    if isinstance(error.schema, dict):
        if error.validator == "pattern":
            custom = error.schema.get("patternErrorMessage")
        elif error.validator in ("not", "oneOf"):
            custom = error.schema.get("errorMessage")
    if custom:
        return "%r: %s" % (error.instance, custom)
    return error.message


def describe(error):
    msg = message(error)
    if error.context:
        # Of the alternatives of a oneOf, skip those of another type
        # altogether: the closest one says what is wrong.
        near = [e for e in error.context
                if e.validator != "type" or e.relative_path]
        inner = best_match(near or error.context)
        msg += " (%s: %s)" % (json_path(inner), message(inner))
    return "%s: %s" % (json_path(error), msg)


def errors_of(validator, doc):
    errs = sorted(validator.iter_errors(jsonable(doc)),
                  key=lambda e: [str(p) for p in e.absolute_path])
    return [describe(e) for e in errs]


def yaml_files(top):
    found = []
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(".yaml"):
                found.append(os.path.join(root, f))
    return found


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: check.py SCHEMA DIR...\n")
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    base = jsonschema.validators.validator_for(schema)
    try:
        base.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        print("FAIL %s: not a valid schema: %s" % (argv[1], e.message))
        return 1
    Validator = jsonschema.validators.extend(base, {"pattern": ecma_pattern})
    validator = Validator(schema)
    print("ok   %s is a valid %s schema" % (argv[1], schema.get("$schema")))

    passed = failed = 0
    for top in argv[2:]:
        files = yaml_files(top) if os.path.isdir(top) else []
        if not files:
            print("FAIL %s: no *.yaml file found" % top)
            failed += 1
        for path in files:
            try:
                with open(path, encoding="utf-8") as f:
                    doc = yaml.safe_load(f)
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
                print("FAIL %s: cannot load: %s" % (path, e))
                failed += 1
                continue
            errs = errors_of(validator, doc)
            if errs:
                failed += 1
                for e in errs:
                    print("FAIL %s: %s" % (path, e))
            else:
                passed += 1
                print("ok   %s" % path)

    for label, text in VALID.items():
        errs = errors_of(validator, yaml.safe_load(text))
        if errs:
            failed += 1
            for e in errs:
                print("FAIL built-in valid document (%s) is rejected: %s"
                      % (label, e))
        else:
            passed += 1
            print("ok   accepts %s" % label)

    for label, text in INVALID.items():
        if not errors_of(validator, yaml.safe_load(text)):
            failed += 1
            print("FAIL built-in invalid document (%s) is accepted: %s"
                  % (label, text.strip()))
        else:
            passed += 1
            print("ok   rejects %s" % label)

    print("schema: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
