#!/usr/bin/env python3
"""fault_proxy.py - an HTTP proxy in front of dynalite that kills a process
after it has forwarded N BatchWriteItem requests: a migration interrupted at
a known point, for tests/migrate/migrate.sh.

    fault_proxy.py UPSTREAM_PORT WRITES PID_FILE PORT_FILE

Listens on 127.0.0.1 (a port the kernel picks, written to PORT_FILE), forwards
every request to 127.0.0.1:UPSTREAM_PORT. Once the WRITES-th BatchWriteItem
has been answered, sends SIGKILL to the pid in PID_FILE (waiting for the file
to appear) and answers every later request with a closed connection.
"""
import http.client
import http.server
import os
import signal
import sys
import threading
import time

upstream_port = int(sys.argv[1])
writes_allowed = int(sys.argv[2])
pid_file = sys.argv[3]
port_file = sys.argv[4]
lock = threading.Lock()
state = {"writes": 0, "killed": False}


def kill_client():
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with open(pid_file) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGKILL)
            return
        except (OSError, ValueError):
            time.sleep(0.05)


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        with lock:
            if state["killed"]:
                self.close_connection = True
                return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        target = self.headers.get("X-Amz-Target", "")
        conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request("POST", self.path, body, headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        conn.close()
        if target.endswith(".BatchWriteItem"):
            with lock:
                state["writes"] += 1
                due = state["writes"] >= writes_allowed and not state["killed"]
                if due:
                    state["killed"] = True
            if due:
                kill_client()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
