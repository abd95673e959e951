#!/usr/bin/env python3
"""llm_standin.py - a local stand-in for an OpenAI-compatible chat-completions
endpoint, for tests/digest/digest.sh.

Listens on 127.0.0.1 (a free port the kernel picks, written to --port-file),
answers POST .../chat/completions, and appends every request it receives as
one JSON line to --log: {"method", "path", "authorization", "content_type",
"body"} (body parsed when it is JSON, else the raw text).

Its behaviour is read from --control (one word) at each request:
  ok        200 with choices[0].message.content (the default)
  500       500 with an error body
  slow      sleeps --slow-seconds, then answers as ok (past the caller's timeout)
  badjson   200 with a body that is not JSON
  empty     200 with an empty content string
  rotated   expects another key than --key, so the caller's key gets 401
Any request whose Authorization is not "Bearer <key>" gets 401.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "## Project digest (stand-in)\n\nWritten by the stand-in for model %s."


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def mode(self):
        try:
            with open(self.server.opts.control, encoding="utf-8") as f:
                return f.read().strip() or "ok"
        except OSError:
            return "ok"

    def record(self, body):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        entry = {
            "method": self.command,
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "content_type": self.headers.get("Content-Type"),
            "body": parsed,
        }
        with self.server.lock, open(self.server.opts.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        return parsed

    def send(self, status, payload):
        # JSON answers end with a newline, as real servers' often do.
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode() + b"\n"
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up (the slow case)

    def do_GET(self):
        self.send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        parsed = self.record(body)
        if not self.path.endswith("/chat/completions"):
            self.send(404, {"error": {"message": "not found"}})
            return
        mode = self.mode()
        key = self.server.opts.key + ("-rotated" if mode == "rotated" else "")
        if self.headers.get("Authorization") != "Bearer " + key:
            self.send(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
            return
        model = parsed.get("model") if isinstance(parsed, dict) else None
        if mode == "500":
            self.send(500, {"error": {"message": "internal error", "type": "server_error"}})
            return
        if mode == "badjson":
            self.send(200, b'{"choices": [ {"message": {"content": "trunc')
            return
        if mode == "slow":
            time.sleep(self.server.opts.slow_seconds)
        content = "" if mode == "empty" else ANSWER % model
        self.send(200, {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}],
        })


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--control", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--slow-seconds", type=float, default=12.0)
    opts = p.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.opts = opts
    server.lock = threading.Lock()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, opts.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
