#!/usr/bin/env python3
"""logstats.py - DynamoDB requests per HTTP request from a slice of the
workers' JSON access log (the "request" lines' ddb_calls), for scripts/bench.

usage: logstats.py LOG START_BYTE END_BYTE
Prints one JSON object: requests, ddb_calls, per_request (mean), max,
histogram {calls: count}, and by_route {"METHOD path": {requests, per_request, max}}
with ids in paths folded to {id}.
"""
import json
import re
import sys

ID_SEGMENT = re.compile(r"^/api/(updates|metrics|deliverables|users)/[^/]+")


def route_of(method, path):
    """The route pattern of a path (ids folded), with the method."""
    return method + " " + ID_SEGMENT.sub(lambda m: "/api/" + m.group(1) + "/{id}", path)


def main():
    log, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(log, "rb") as f:
        f.seek(start)
        data = f.read(max(0, end - start))
    total = calls = top = 0
    hist, routes = {}, {}
    for line in data.splitlines():
        if b'"msg":"request"' not in line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        n = rec.get("ddb_calls")
        if not isinstance(n, int):
            continue
        total += 1
        calls += n
        top = max(top, n)
        hist[n] = hist.get(n, 0) + 1
        r = routes.setdefault(route_of(rec.get("method", "?"), rec.get("path", "?")),
                              {"requests": 0, "ddb_calls": 0, "max": 0})
        r["requests"] += 1
        r["ddb_calls"] += n
        r["max"] = max(r["max"], n)
    for r in routes.values():
        r["per_request"] = round(r["ddb_calls"] / r["requests"], 4)
    out = {
        "requests": total,
        "ddb_calls": calls,
        "per_request": round(calls / total, 4) if total else None,
        "max": top,
        "histogram": {str(k): v for k, v in sorted(hist.items())},
        "by_route": routes,
    }
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
