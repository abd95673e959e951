#!/usr/bin/env python3
"""A local stand-in for the ECS container credentials endpoint and EC2 IMDSv2.

Binds 127.0.0.1 on a free port, prints "PORT <n>" on stdout, and exits when
its stdin closes (so it never outlives the test that started it).

  PUT  /latest/api/token                                  IMDSv2 session token
       (needs X-aws-ec2-metadata-token-ttl-seconds)
  GET  /latest/meta-data/iam/security-credentials/        role name   } need a valid
  GET  /latest/meta-data/iam/security-credentials/<role>  credentials } X-aws-ec2-metadata-token
  GET  /container/creds                                   container credentials
       (needs Authorization equal to --container-token)
  GET  /_stats                                            counters as JSON
  POST /_control  {"expires_in": s, "fail": bool, "reset": bool}

Access key ids count the fetches: ASIAIMDS0001, ASIAIMDS0002, ASIACONT0001...
"""
import argparse
import datetime
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

ROLE = "portal-test-role"
ROLE_PATH = "/latest/meta-data/iam/security-credentials/"
MAX_TTL = 21600

state_lock = threading.Lock()
state = {}


def reset_state(container_token):
    with state_lock:
        state.clear()
        state.update(container_token=container_token, tokens=set(), expires_in=3600,
                     fail=False, token_puts=0, role_lists=0, imds_fetches=0,
                     container_fetches=0, rejected=0, failed=0, next_token=0)


def credentials(prefix, n, expires_in):
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
    return {
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": "ASIA%s%04d" % (prefix, n),
        "SecretAccessKey": "%s-secret-%d" % (prefix.lower(), n),
        "Token": "%s-session-token-%d" % (prefix.lower(), n),
        "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, status, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status, obj):
        self.send(status, json.dumps(obj), "application/json")

    def reject(self, status, why):
        with state_lock:
            state["rejected"] += 1
        self.send(status, why)

    def fail(self):
        with state_lock:
            state["failed"] += 1
        self.send(500, "injected failure")

    def do_PUT(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path != "/latest/api/token":
            return self.send(404, "not found")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TTL:
            return self.reject(400, "missing or bad X-aws-ec2-metadata-token-ttl-seconds")
        with state_lock:
            state["token_puts"] += 1
            state["next_token"] += 1
            token = "imds-token-%d" % state["next_token"]
            state["tokens"].add(token)
        self.send(200, token)

    def do_GET(self):
        if self.path == "/_stats":
            with state_lock:
                stats = {k: v for k, v in state.items() if isinstance(v, (int, bool))}
            return self.send_json(200, stats)
        if self.path.startswith(ROLE_PATH):
            with state_lock:
                ok = self.headers.get("X-aws-ec2-metadata-token") in state["tokens"]
                fail = state["fail"]
            if not ok:
                return self.reject(401, "IMDSv2 token required")
            if fail:
                return self.fail()
            role = self.path[len(ROLE_PATH):]
            if role == "":
                with state_lock:
                    state["role_lists"] += 1
                return self.send(200, ROLE)
            if role != ROLE:
                return self.send(404, "no such role")
            with state_lock:
                state["imds_fetches"] += 1
                body = credentials("IMDS", state["imds_fetches"], state["expires_in"])
            return self.send_json(200, body)
        if self.path == "/container/creds":
            with state_lock:
                ok = self.headers.get("Authorization") == state["container_token"]
                fail = state["fail"]
            if not ok:
                return self.reject(401, "bad Authorization")
            if fail:
                return self.fail()
            with state_lock:
                state["container_fetches"] += 1
                body = credentials("CONT", state["container_fetches"], state["expires_in"])
            return self.send_json(200, body)
        self.send(404, "not found")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/_control":
            return self.send(404, "not found")
        if body.get("reset"):
            reset_state(state["container_token"])
        with state_lock:
            if "expires_in" in body:
                state["expires_in"] = int(body["expires_in"])
            if "fail" in body:
                state["fail"] = bool(body["fail"])
        self.send_json(200, {"ok": True})


def exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--container-token", default="container-secret-token")
    args = ap.parse_args()
    reset_state(args.container_token)
    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
