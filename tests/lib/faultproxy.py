#!/usr/bin/env python3
"""faultproxy.py - an HTTP proxy in front of the store (dynalite) that can
misbehave on demand, for the fault tests (tests/routes/faults.bats).

    faultproxy.py --listen PORT --upstream http://127.0.0.1:DYNALITE_PORT

Every POST is forwarded to the upstream unchanged, unless a rule matches it.
Rules are set through a control endpoint on the same port:

    PUT  /_fault   body: {"rules": [RULE, ...]}   replaces the rules
    DELETE /_fault                               clears rules, releases hung calls
    GET  /_log                                   every call seen, as a JSON array
    DELETE /_log                                 forgets the log

A RULE is {"action": A, "ops": [...], "skip": N, "times": M, "delay_ms": D}:
  action  "hang"     never answers (the call is not forwarded; held until
                     the client goes away, the rules are cleared, or 120 s)
          "delay"    forwards (the store applies it), then answers D ms late
          "throttle" answers 400 ProvisionedThroughputExceededException
          "error500" answers 500 InternalServerError (not forwarded)
          "apply500" forwards (the store applies it), then answers 500
          "cut200"   forwards (the store applies it), then answers 200 with
                     half of the store's answer, without a length, and closes
                     the connection (a body cut short looks complete)
  ops     operation names (the X-Amz-Target suffix); absent = every operation
  skip    matching calls let through before the rule applies (default 0)
  times   how many calls it applies to (default: all)
The first rule that matches a call and still applies decides for it.

A log entry is {"op", "start_ms", "end_ms", "action", "status"} with
wall-clock epoch milliseconds: start_ms is when the call arrived.
"""
import argparse
import http.client
import http.server
import json
import socketserver
import sys
import threading
import time
import urllib.parse

HANG_MAX_S = 120
TARGET_PREFIX = "DynamoDB_20120810."

lock = threading.Lock()
rules = []
calls = []
release = threading.Event()


def now_ms():
    return int(time.time() * 1000)


def pick_rule(op):
    """The action for this call (and counts it against its rule)."""
    with lock:
        for r in rules:
            ops = r.get("ops")
            if ops and op not in ops:
                continue
            r["seen"] = r.get("seen", 0) + 1
            if r["seen"] <= int(r.get("skip", 0)):
                return None
            times = r.get("times")
            if times is not None and r.get("applied", 0) >= int(times):
                continue
            r["applied"] = r.get("applied", 0) + 1
            return r
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body, ctype="application/x-amz-json-1.0", extra=None):
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or []):
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    # Control endpoint.
    def do_GET(self):
        if self.path == "/_log":
            with lock:
                body = json.dumps(calls).encode()
            self._send(200, body, "application/json")
        else:
            self._send(404, b"{}", "application/json")

    def do_PUT(self):
        global rules
        body = self._body()
        if self.path != "/_fault":
            self._send(404, b"{}", "application/json")
            return
        try:
            new = json.loads(body or b"{}").get("rules", [])
        except ValueError:
            self._send(400, b'{"error":"bad json"}', "application/json")
            return
        with lock:
            rules = new
        release.clear()
        self._send(200, b"{}", "application/json")

    def do_DELETE(self):
        global rules
        self._body()
        with lock:
            if self.path == "/_fault":
                rules = []
                release.set()
            elif self.path == "/_log":
                calls.clear()
        self._send(200, b"{}", "application/json")

    # The store.
    def do_POST(self):
        body = self._body()
        target = self.headers.get("X-Amz-Target", "")
        op = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else target
        entry = {"op": op, "start_ms": now_ms(), "end_ms": None, "action": "pass", "status": None}
        with lock:
            calls.append(entry)
        rule = pick_rule(op)
        action = rule["action"] if rule else "pass"
        entry["action"] = action
        if action == "hang":
            deadline = time.time() + HANG_MAX_S
            while time.time() < deadline and not release.is_set():
                release.wait(0.05)
                if self._client_gone():
                    break
            entry["end_ms"] = now_ms()
            self.close_connection = True
            return
        if action == "throttle":
            self._reply(entry, 400, json.dumps({
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput for the table was exceeded."}).encode())
            return
        if action == "error500":
            self._reply(entry, 500, json.dumps({
                "__type": "com.amazon.coral.service#InternalFailure",
                "message": "injected failure"}).encode())
            return
        status, headers, answer = self._forward(body)
        if action == "delay":
            time.sleep(int(rule.get("delay_ms", 10000)) / 1000.0)
        if action == "apply500":
            status, answer = 500, json.dumps({
                "__type": "com.amazon.coral.service#InternalFailure",
                "message": "injected failure after applying"}).encode()
        if action == "cut200":
            entry["status"], entry["end_ms"] = status, now_ms()
            self.close_connection = True
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(answer[:len(answer) // 2])
                self.wfile.flush()
            except OSError:
                pass
            return
        self._reply(entry, status, answer)

    def _client_gone(self):
        """True when the client closed its side (a read returns EOF)."""
        import select
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if r:
                return self.connection.recv(1, 2) == b""  # MSG_PEEK
        except OSError:
            return True
        return False

    def _forward(self, body):
        u = urllib.parse.urlsplit(self.upstream)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "keep-alive", "transfer-encoding")}
        try:
            conn.request("POST", self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.getheaders(), data
        finally:
            conn.close()

    def _reply(self, entry, status, body):
        entry["status"] = status
        entry["end_ms"] = now_ms()
        self._send(status, body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main():
    ap = argparse.ArgumentParser(description="fault-injecting proxy in front of the store")
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    args = ap.parse_args()
    Handler.upstream = args.upstream
    srv = Server(("127.0.0.1", args.listen), Handler)
    print("faultproxy listening on %d -> %s" % (args.listen, args.upstream), file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
