#!/usr/bin/env python3
"""Checks the bootstrap's stderr: log lines and CloudWatch EMF lines.

usage: check_logs.py LOG --schema EMF_SCHEMA [--lambda-json] [--min-level LEVEL]
                     [--emf-out FILE]

Every line must be one JSON object. Lines with "_aws" are embedded metric
format documents: each is validated against EMF_SCHEMA (JSON Schema, written
from the EMF specification) and against what a schema cannot say: every
dimension of a DimensionSet and every metric Name is a member of the root
node, dimension values are strings of 1-1024 characters, metric values are
numbers (or arrays of at most 100 numbers); and ours: namespace
TurboTechPortal, dimensions [["route"]], the four metrics with their units,
no "level". They are written to --emf-out, one per line.

Other lines are log lines. With --lambda-json they must be in Lambda's JSON
shape: "timestamp" (RFC 3339 with milliseconds, UTC), "level" (DEBUG, INFO,
WARN or ERROR), "message" (a string) as the first three members, then
"requestId" when the line belongs to an invocation (the "invocation" and
"request" lines always do), and none of the project's own "time"/"msg"/
"aws_request_id". --min-level: no line below that level.
Problems go to stderr; exit status 1 when there is any.
"""
import argparse
import json
import re
import sys

try:
    import jsonschema
except ImportError:  # Debian: python3-jsonschema (scripts/lib/common.sh installs it)
    jsonschema = None

LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
METRICS = [{"Name": "Requests", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"},
           {"Name": "DynamoDBCalls", "Unit": "Count"}, {"Name": "Errors5xx", "Unit": "Count"}]


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_emf(doc, validator, problems, where):
    if validator is not None:
        for e in validator.iter_errors(doc):
            problems.append("%s: EMF schema: %s at %s" % (where, e.message, "/".join(map(str, e.path))))
    for d in doc.get("_aws", {}).get("CloudWatchMetrics", []):
        for dims in d.get("Dimensions", []):
            for name in dims:
                v = doc.get(name)
                if not isinstance(v, str) or not 1 <= len(v) <= 1024:
                    problems.append("%s: dimension %r is not a string member of 1-1024 characters" % (where, name))
        for m in d.get("Metrics", []):
            v = doc.get(m.get("Name"))
            if not (is_number(v) or (isinstance(v, list) and 0 < len(v) <= 100 and all(map(is_number, v)))):
                problems.append("%s: metric %r has no numeric member" % (where, m.get("Name")))
        if d.get("Namespace") != "TurboTechPortal":
            problems.append("%s: namespace %r" % (where, d.get("Namespace")))
        if d.get("Dimensions") != [["route"]]:
            problems.append("%s: dimensions %r" % (where, d.get("Dimensions")))
        if d.get("Metrics") != METRICS:
            problems.append("%s: metrics %r" % (where, d.get("Metrics")))
    if "level" in doc:
        problems.append("%s: an EMF line carries a level" % where)
    route = doc.get("route", "")
    if not (route == "unmatched" or route.startswith("/api")):
        problems.append("%s: route %r is neither a pattern nor unmatched" % (where, route))


def check_log(doc, args, problems, where):
    if args.lambda_json:
        keys = list(doc)
        if keys[:3] != ["timestamp", "level", "message"]:
            problems.append("%s: members start %r, not timestamp, level, message" % (where, keys[:3]))
        if not TIMESTAMP.match(str(doc.get("timestamp"))):
            problems.append("%s: timestamp %r" % (where, doc.get("timestamp")))
        if doc.get("level") not in LEVELS:
            problems.append("%s: level %r" % (where, doc.get("level")))
        if not isinstance(doc.get("message"), str):
            problems.append("%s: message is not a string" % where)
        if "requestId" in doc and keys[3:4] != ["requestId"]:
            problems.append("%s: requestId is not the fourth member" % where)
        if doc.get("message") in ("invocation", "request") and not doc.get("requestId"):
            problems.append("%s: an invocation's line without requestId" % where)
        for k in ("time", "msg", "aws_request_id"):
            if k in doc:
                problems.append("%s: the project's own member %r in a Lambda JSON line" % (where, k))
        level = doc.get("level")
    else:
        level = str(doc.get("level", "")).upper()
    if args.min_level and level in LEVELS and LEVELS.index(level) < LEVELS.index(args.min_level):
        problems.append("%s: level %s is under %s" % (where, level, args.min_level))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--schema", required=True)
    ap.add_argument("--lambda-json", action="store_true")
    ap.add_argument("--min-level", choices=LEVELS)
    ap.add_argument("--emf-out")
    args = ap.parse_args()
    problems = []
    validator = None
    if jsonschema is None:
        problems.append("python3 has no jsonschema module (Debian package python3-jsonschema)")
    else:
        with open(args.schema) as f:
            schema = json.load(f)
        jsonschema.Draft7Validator.check_schema(schema)
        validator = jsonschema.Draft7Validator(schema)
    emf = []
    with open(args.log, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            where = "line %d" % n
            try:
                doc = json.loads(line)
            except ValueError:
                problems.append("%s: not JSON: %s" % (where, line[:200].rstrip()))
                continue
            if not isinstance(doc, dict):
                problems.append("%s: not a JSON object" % where)
            elif "_aws" in doc:
                check_emf(doc, validator, problems, where)
                emf.append(doc)
            else:
                check_log(doc, args, problems, where)
    if args.emf_out:
        with open(args.emf_out, "w") as f:
            for doc in emf:
                f.write(json.dumps(doc) + "\n")
    for p in problems[:40]:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
