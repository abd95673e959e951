#!/usr/bin/env python3
"""A local stand-in for AWS Secrets Manager's GetSecretValue, for tests.

Speaks the service's wire protocol: POST / with Content-Type
application/x-amz-json-1.1 and X-Amz-Target: secretsmanager.GetSecretValue,
body {"SecretId": name-or-ARN}; answers {"ARN","Name","SecretString",
"VersionId","VersionStages","CreatedDate"} or {"__type","message"} errors
with the service's status codes. Every request's AWS Signature Version 4 is
CHECKED against the secret access key of its access key id (--key ID=SECRET):
algorithm, credential scope (date, region, "secretsmanager"), signed headers
(host, x-amz-date, x-amz-target, content-type and x-amz-security-token when
sent), X-Amz-Date within 15 minutes, and the signature itself, recomputed
from the canonical request. A bad one is 400 InvalidSignatureException (an
unknown key id 400 UnrecognizedClientException), like the service.

usage: secrets_standin.py --port-file FILE --log FILE --region R
                          --key ID=SECRET [--secret NAME=VALUE]...
                          [--delay-s N] [--fail-first N]
Each request appends one JSON line to --log: {"target","secret_id",
"signature_ok","status","error"}. --fail-first answers the first N requests
503 ServiceUnavailable (retries).
"""
import argparse
import datetime
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICE = "secretsmanager"
TARGET = "secretsmanager.GetSecretValue"
CONTENT_TYPE = "application/x-amz-json-1.1"
ACCOUNT = "123456789012"
MAX_SKEW_S = 15 * 60


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def uri_encode(s, keep_slash):
    safe = "-_.~" + ("/" if keep_slash else "")
    return urllib.parse.quote(s, safe=safe)


def canonical_query(query):
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        k, _, v = part.partition("=")
        pairs.append((uri_encode(urllib.parse.unquote(k), False), uri_encode(urllib.parse.unquote(v), False)))
    return "&".join("%s=%s" % kv for kv in sorted(pairs))


def check_signature(method, raw_path, headers, body, keys, region):
    """None when the request's SigV4 is right, else (status, __type, message)."""
    auth = headers.get("Authorization", "")
    prefix = "AWS4-HMAC-SHA256 "
    if not auth.startswith(prefix):
        return (400, "IncompleteSignatureException", "Authorization header is not AWS4-HMAC-SHA256")
    fields = {}
    for part in auth[len(prefix):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    try:
        key_id, date, sregion, service, terminal = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
    except (KeyError, ValueError):
        return (400, "IncompleteSignatureException", "Authorization lacks Credential, SignedHeaders or Signature")
    if key_id not in keys:
        return (400, "UnrecognizedClientException", "The security token included in the request is invalid.")
    if sregion != region or service != SERVICE or terminal != "aws4_request":
        return (400, "InvalidSignatureException", "Credential should be scoped to %s/%s/aws4_request" % (region, SERVICE))
    amz_date = headers.get("X-Amz-Date", "")
    try:
        t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return (400, "IncompleteSignatureException", "X-Amz-Date is missing or malformed")
    if amz_date[:8] != date:
        return (400, "InvalidSignatureException", "Credential date does not match X-Amz-Date")
    if abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) > MAX_SKEW_S:
        return (400, "InvalidSignatureException", "Signature expired")
    need = {"host", "x-amz-date", "x-amz-target", "content-type"}
    if headers.get("X-Amz-Security-Token") is not None:
        need.add("x-amz-security-token")
    if not need <= set(signed) or signed != sorted(signed):
        return (400, "InvalidSignatureException", "SignedHeaders must be sorted and include %s" % ",".join(sorted(need)))
    path, _, query = raw_path.partition("?")
    canon_headers = ""
    for name in signed:
        values = headers.get_all(name) or []
        if not values:
            return (400, "InvalidSignatureException", "signed header %s is missing" % name)
        canon_headers += "%s:%s\n" % (name, ",".join(" ".join(v.split()) for v in values))
    canonical = "\n".join([method, uri_encode(urllib.parse.unquote(path), True), canonical_query(query),
                           canon_headers, ";".join(signed), sha256_hex(body)])
    scope = "%s/%s/%s/aws4_request" % (date, region, SERVICE)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256_hex(canonical.encode())])
    k = hmac_sha256(("AWS4" + keys[key_id]).encode(), date)
    k = hmac_sha256(k, region)
    k = hmac_sha256(k, SERVICE)
    k = hmac_sha256(k, "aws4_request")
    want = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, signature):
        return (400, "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.")
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj, record):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", os.urandom(8).hex())
        self.end_headers()
        self.wfile.write(body)
        record["status"] = status
        if status != 200:
            record["error"] = obj.get("__type")
        st = self.server.st
        with st["lock"]:
            with open(st["log"], "a") as f:
                f.write(json.dumps(record) + "\n")

    def do_POST(self):
        st = self.server.st
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = {"target": self.headers.get("X-Amz-Target"), "secret_id": None, "signature_ok": False}
        if st["delay_s"]:
            time.sleep(st["delay_s"])
        bad = check_signature("POST", self.path, self.headers, body, st["keys"], st["region"])
        if bad is not None:
            self.answer(bad[0], {"__type": bad[1], "message": bad[2]}, record)
            return
        record["signature_ok"] = True
        if self.headers.get("X-Amz-Target") != TARGET:
            self.answer(400, {"__type": "UnknownOperationException", "message": "unknown operation"}, record)
            return
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != CONTENT_TYPE:
            self.answer(400, {"__type": "SerializationException", "message": "wrong content type"}, record)
            return
        try:
            req = json.loads(body)
            secret_id = req["SecretId"]
            assert isinstance(secret_id, str)
        except (ValueError, KeyError, AssertionError):
            self.answer(400, {"__type": "SerializationException", "message": "SecretId is required"}, record)
            return
        record["secret_id"] = secret_id
        with st["lock"]:
            st["requests"] += 1
            failing = st["requests"] <= st["fail_first"]
        if failing:
            self.answer(503, {"__type": "ServiceUnavailable", "message": "try again"}, record)
            return
        name = secret_id
        if secret_id.startswith("arn:aws:secretsmanager:"):
            name = secret_id.split(":secret:", 1)[-1].rsplit("-", 1)[0]
        if name not in st["secrets"]:
            self.answer(400, {"__type": "ResourceNotFoundException",
                              "message": "Secrets Manager can't find the specified secret."}, record)
            return
        arn = "arn:aws:secretsmanager:%s:%s:secret:%s-AbCdEf" % (st["region"], ACCOUNT, name)
        self.answer(200, {"ARN": arn, "Name": name, "SecretString": st["secrets"][name],
                          "VersionId": "00000000-0000-0000-0000-000000000001",
                          "VersionStages": ["AWSCURRENT"], "CreatedDate": 1764547200.0}, record)


def pairs(values, what, ap):
    out = {}
    for v in values:
        k, sep, val = v.partition("=")
        if not sep:
            ap.error("%s needs NAME=VALUE" % what)
        out[k] = val
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--key", action="append", default=[])
    ap.add_argument("--secret", action="append", default=[])
    ap.add_argument("--delay-s", type=float, default=0)
    ap.add_argument("--fail-first", type=int, default=0)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.st = {"lock": threading.Lock(), "log": args.log, "region": args.region,
                 "keys": pairs(args.key, "--key", ap), "secrets": pairs(args.secret, "--secret", ap),
                 "delay_s": args.delay_s, "fail_first": args.fail_first, "requests": 0}
    open(args.log, "a").close()
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
