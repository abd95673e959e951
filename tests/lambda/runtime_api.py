#!/usr/bin/env python3
"""A local stand-in for the AWS Lambda Runtime API (2018-06-01), for tests.

Serves the given event files, one per GET /2018-06-01/runtime/invocation/next,
in order; records each POST .../invocation/{id}/response, .../invocation/{id}/error
and .../runtime/init/error (body and headers) into the output directory; logs a
timeline (nanosecond timestamps) of every call. When the queue is empty, /next
blocks until this process is stopped, like the real API between invocations.

usage: runtime_api.py --out DIR --port-file FILE [--subst NAME=VALUE]... EVENT...

Files written in DIR:
  timeline.log             "<what> <time_ns> <request id or ->" per line
  <id>.response            the response body, <id>.response.headers its headers (JSON)
  <id>.error, <id>.error.headers
  init.error, init.error.headers
Request ids are "<nn>-<event file stem>" (nn counts from 01).
"""
import argparse
import json
import os
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
DEADLINE_MS = 30000
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:turbotech-portal-test"
MAX_POST_BYTES = 6 * 1024 * 1024 + 1024


class State:
    """The event queue, the ids handed out, and the output files."""

    def __init__(self, out, events, substs):
        self.out = out
        self.events = list(events)
        self.substs = substs
        self.next_index = 0
        self.open_ids = set()
        self.lock = threading.Lock()
        self.forever = threading.Event()

    def log(self, what, rid="-"):
        line = "%s %d %s\n" % (what, time.time_ns(), rid)
        with self.lock:
            with open(os.path.join(self.out, "timeline.log"), "a") as f:
                f.write(line)

    def take(self):
        """The next (request id, event bytes), or None when the queue is empty."""
        with self.lock:
            if self.next_index >= len(self.events):
                return None
            path = self.events[self.next_index]
            self.next_index += 1
            index = self.next_index
        with open(path, "rb") as f:
            body = f.read()
        for name, value in self.substs:
            body = body.replace(name.encode(), value.encode())
        stem = os.path.splitext(os.path.basename(path))[0]
        rid = "%02d-%s" % (index, re.sub(r"[^A-Za-z0-9_-]", "_", stem))
        with self.lock:
            self.open_ids.add(rid)
        return rid, body

    def close(self, rid):
        """True when rid was handed out and not answered yet."""
        with self.lock:
            if rid not in self.open_ids:
                return False
            self.open_ids.discard(rid)
            return True

    def record(self, name, body, headers):
        with open(os.path.join(self.out, name), "wb") as f:
            f.write(body)
        with open(os.path.join(self.out, name + ".headers"), "w") as f:
            json.dump({k.lower(): v for k, v in headers.items()}, f, indent=1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "RuntimeApiStandIn/1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        state = self.server.state
        if self.path != PREFIX + "/invocation/next":
            self.reply(404, {"errorMessage": "not found", "errorType": "NotFound"})
            return
        state.log("next_request")
        item = state.take()
        if item is None:
            state.forever.wait()
            return
        rid, event = item
        trace = "Root=1-%08x-%s;Parent=%s;Sampled=1" % (
            int(time.time()), secrets.token_hex(12), secrets.token_hex(8))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(event)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + DEADLINE_MS))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
        self.send_header("Lambda-Runtime-Trace-Id", trace)
        self.end_headers()
        self.wfile.write(event)
        self.wfile.flush()
        state.log("next_sent", rid)

    def do_POST(self):
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_POST_BYTES:
            self.reply(413, {"errorMessage": "payload too large", "errorType": "RequestEntityTooLarge"})
            return
        body = self.rfile.read(length) if length else b""
        if self.path == PREFIX + "/init/error":
            state.log("init_error")
            state.record("init.error", body, self.headers)
            self.reply(202, {"status": "OK"})
            return
        m = re.fullmatch(re.escape(PREFIX) + r"/invocation/([^/]+)/(response|error)", self.path)
        if m is None:
            self.reply(404, {"errorMessage": "not found", "errorType": "NotFound"})
            return
        rid, kind = m.group(1), m.group(2)
        if not state.close(rid):
            self.reply(400, {"errorMessage": "unknown or answered request id", "errorType": "InvalidRequestID"})
            return
        state.log(kind, rid)
        state.record("%s.%s" % (rid, kind), body, self.headers)
        self.reply(202, {"status": "OK"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--subst", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("events", nargs="*")
    args = ap.parse_args()
    substs = []
    for s in args.subst:
        name, sep, value = s.partition("=")
        if not sep:
            ap.error("--subst needs NAME=VALUE")
        substs.append((name, value))
    os.makedirs(args.out, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args.out, args.events, substs)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
