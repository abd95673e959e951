# shellcheck shell=bash disable=SC2034
# helpers.bash - shared by tests/routes/*.bats: starts and stops a private
# stack (dynalite, tables + seed, dev issuer, FastCGI workers, nginx) on free
# ports, calls the API with curl, and asserts on status, headers and bodies.
#
#   load helpers
#   setup_file()    { routes_stack_start; }
#   teardown_file() { routes_stack_stop; }
#   @test "..." { api admin GET /api/deliverables; expect_status 200; expect_json .count 12; }
#
# After `api`, HTTP_STATUS holds the status ("000" when curl failed), BODY
# the raw body, and the headers are read with `hdr NAME`. Assertions print
# what they saw on stderr (bats shows it as TAP comments) and return 1.

if [ -n "${top_srcdir:-}" ]; then
	ROUTES_ROOT=$top_srcdir
else
	ROUTES_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
fi
# shellcheck source=scripts/lib/common.sh
. "$ROUTES_ROOT/scripts/lib/common.sh"
# shellcheck source=scripts/lib/stack.sh
. "$ROUTES_ROOT/scripts/lib/stack.sh"

# Seconds one curl call may take: longer than nginx's fastcgi_read_timeout
# (35 s), itself longer than a request's whole budget (at most 29 s), so a
# slow answer is seen as the server's answer, not as curl giving up.
ROUTES_CURL_MAX_S=40

# Every `api` call is recorded (request and response, one JSON line each) in
# $ROUTES_RECORD_DIR/<test file>.jsonl, for tests/openapi/contract.sh, which
# validates the responses against openapi.yaml. ROUTES_RECORD_DIR= turns it
# off.
ROUTES_RECORD_DIR=${ROUTES_RECORD_DIR-${top_builddir:-$ROUTES_ROOT}/tests/openapi/records}

# Starts the stack for this file and mints the three seeded users' tokens.
routes_stack_start() {
	STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/routes-stack.XXXXXX") || return 1
	PORT=$(free_port) || return 1
	STACK_PROCESSES=${STACK_PROCESSES:-2}
	STACK_THREADS=${STACK_THREADS:-16}
	export STACK_DIR PORT STACK_PROCESSES STACK_THREADS
	if ! stack_start; then
		echo "routes: stack_start failed; logs in $STACK_DIR/logs:" >&2
		tail -n 20 "$STACK_DIR"/logs/*.log >&2 2>/dev/null
		routes_stack_stop
		return 1
	fi
	if [ -n "$ROUTES_RECORD_DIR" ]; then
		mkdir -p "$ROUTES_RECORD_DIR" || return 1
		ROUTES_RECORD_FILE=$ROUTES_RECORD_DIR/$(basename "${BATS_TEST_FILENAME:-routes}" .bats).jsonl
		: >"$ROUTES_RECORD_FILE"
		export ROUTES_RECORD_FILE
	fi
	ADMIN=$("$ROOT/scripts/dev-token" --role admin) &&
		TEAM=$("$ROOT/scripts/dev-token" --role team) &&
		CLIENT=$("$ROOT/scripts/dev-token" --role client) || return 1
	export ADMIN TEAM CLIENT
}

# Stops what routes_stack_start started (resuming a stopped store first).
routes_stack_stop() {
	[ -n "${DYNALITE_PID:-}" ] && kill -CONT "$DYNALITE_PID" 2>/dev/null
	stack_stop
	[ -n "${STACK_DIR:-}" ] && rm -rf "$STACK_DIR"
	return 0
}

# Starts a private dynalite with tests/lib/faultproxy.py in front of it,
# then the stack (routes_stack_start) talking to the store through the
# proxy. FAULT_URL is the proxy: `fault` and `fault_clear` set its rules.
routes_fault_stack_start() {
	dynalite_start 3>&- || return 1
	FAULT_DYNALITE_PID=$DYNALITE_PID
	FAULT_PORT=$(free_port) || return 1
	FAULT_LOG=$(mktemp "${TMPDIR:-/tmp}/faultproxy-log.XXXXXX")
	python3 "$ROUTES_ROOT/tests/lib/faultproxy.py" --listen "$FAULT_PORT" \
		--upstream "$AWS_ENDPOINT_URL_DYNAMODB" >"$FAULT_LOG" 2>&1 3>&- &
	FAULT_PID=$!
	FAULT_URL=http://127.0.0.1:$FAULT_PORT
	export FAULT_PID FAULT_URL FAULT_LOG FAULT_DYNALITE_PID
	stack_wait_http "$FAULT_URL/_log" 10 || { cat "$FAULT_LOG" >&2; return 1; }
	export AWS_ENDPOINT_URL_DYNAMODB=$FAULT_URL
	routes_stack_start
}

# Stops what routes_fault_stack_start started.
routes_fault_stack_stop() {
	fault_clear 2>/dev/null
	routes_stack_stop
	[ -n "${FAULT_PID:-}" ] && kill "$FAULT_PID" 2>/dev/null
	DYNALITE_PID=${FAULT_DYNALITE_PID:-} dynalite_stop
	rm -f "$FAULT_LOG"
	return 0
}

# fault JSON_RULES: replaces the fault proxy's rules (an array) and forgets its log.
fault() {
	curl -sf -X PUT --data-binary "{\"rules\":$1}" "$FAULT_URL/_fault" >/dev/null &&
		curl -sf -X DELETE "$FAULT_URL/_log" >/dev/null
}

# fault_clear: no rules; calls the proxy holds are released.
fault_clear() {
	curl -s -X DELETE "$FAULT_URL/_fault" >/dev/null
}

# The directory for this test's response files.
_routes_tmp() {
	printf '%s' "${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-/tmp}}"
}

# api WHO METHOD PATH [BODY|-] [curl args...]
# WHO: admin, team, client, none, or a raw token. A BODY other than "-" is
# sent as application/json; "@file" sends a file.
api() {
	local who=$1 method=$2 path=$3 body=${4--} tmp
	shift 3
	[ $# -gt 0 ] && shift
	tmp=$(_routes_tmp)
	HDRS=$tmp/headers
	local args=(-sS --max-time "$ROUTES_CURL_MAX_S" -o "$tmp/body" -D "$HDRS"
		-w '%{http_code}' -X "$method")
	case $who in
	admin) args+=(-H "Authorization: Bearer $ADMIN") ;;
	team) args+=(-H "Authorization: Bearer $TEAM") ;;
	client) args+=(-H "Authorization: Bearer $CLIENT") ;;
	none) ;;
	*) args+=(-H "Authorization: Bearer $who") ;;
	esac
	if [ "$body" != - ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$body")
	fi
	: >"$tmp/body"
	: >"$HDRS"
	HTTP_STATUS=$(curl "${args[@]}" "$@" "$STACK_URL$path" 2>"$tmp/curl.err") || true
	[ -n "$HTTP_STATUS" ] || HTTP_STATUS=000
	BODY=$(cat "$tmp/body")
	[ -n "${ROUTES_RECORD_FILE:-}" ] && _routes_record "$method" "$path" "$body" "$@"
	return 0
}

# Appends the last exchange to ROUTES_RECORD_FILE as one JSON line:
# {"test","method","path","query","request_headers","status","headers","body"}
# (body as text, or null when it is not UTF-8). Request headers are the ones
# given as -H arguments (the token is left out).
_routes_record() {
	local method=$1 path=$2 body=$3 tmp
	shift 3
	tmp=$(_routes_tmp)
	[ "$HTTP_STATUS" != 000 ] || return 0
	python3 - "$method" "$path" "$body" "$tmp/body" "$HDRS" "$HTTP_STATUS" \
		"${BATS_TEST_DESCRIPTION:-}" "$@" >>"$ROUTES_RECORD_FILE" <<'PY' || true
import json, sys
method, path, reqbody, body_file, hdr_file, status, test = sys.argv[1:8]
extra = sys.argv[8:]
req_headers = {}
for i, a in enumerate(extra):
    if a == "-H" and i + 1 < len(extra) and ":" in extra[i + 1]:
        k, v = extra[i + 1].split(":", 1)
        req_headers[k.strip().lower()] = v.strip()
    if a == "-X" and i + 1 < len(extra):
        method = extra[i + 1]
if reqbody != "-":
    req_headers.setdefault("content-type", "application/json")
headers = {}
with open(hdr_file, "rb") as f:
    for line in f.read().decode("latin-1").split("\n"):
        line = line.rstrip("\r")
        if line.startswith("HTTP/"):
            headers = {}
        elif ":" in line:
            k, v = line.split(":", 1)
            k = k.strip().lower()
            headers[k] = headers[k] + ", " + v.strip() if k in headers else v.strip()
with open(body_file, "rb") as f:
    raw = f.read()
if method == "HEAD" or "-I" in extra or "--head" in extra:
    raw = b""  # curl -I writes the headers where the body would go
try:
    text = raw.decode("utf-8")
except UnicodeDecodeError:
    text = None
p, _, q = path.partition("?")
print(json.dumps({"test": test, "method": method.upper(), "path": p, "query": q,
                  "request_headers": req_headers, "status": int(status),
                  "headers": headers, "body": text}))
PY
}

# raw_http FORMAT [ARGS...]: sends printf FORMAT ARGS to the stack's nginx as
# raw bytes on one TCP connection and reads the answer (until the connection closes, the body is
# complete, or 3 s pass); sets HTTP_STATUS ("000": no answer), HDRS and BODY
# like `api`.
raw_http() {
	local tmp
	tmp=$(_routes_tmp)
	HDRS=$tmp/headers
	: >"$HDRS"
	: >"$tmp/body"
	# shellcheck disable=SC2059
	printf -- "$@" >"$tmp/request"
	HTTP_STATUS=$(python3 - "${STACK_URL##*:}" "$HDRS" "$tmp/body" "$tmp/request" \
		"${ROUTES_RECORD_FILE:-}" "${BATS_TEST_DESCRIPTION:-}" <<'PY'
import json, socket, sys, time
port, hdr_file, body_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
record_file, test = sys.argv[5], sys.argv[6]
data = open(sys.argv[4], "rb").read()
s = socket.create_connection(("127.0.0.1", port), timeout=3)
try:
    s.sendall(data)
except OSError:
    pass
got, deadline = b"", time.time() + 3
while time.time() < deadline:
    try:
        chunk = s.recv(65536)
    except (socket.timeout, OSError):
        break
    if not chunk:
        break
    got += chunk
    head, sep, body = got.partition(b"\r\n\r\n")
    if sep:
        cl = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n")
              if l.lower().startswith(b"content-length:")]
        if cl and len(body) >= int(cl[0]):
            break
head, sep, body = got.partition(b"\r\n\r\n")
open(hdr_file, "wb").write(head + sep)
open(body_file, "wb").write(body)
line = head.split(b"\r\n", 1)[0].split()
status = line[1].decode() if len(line) > 1 and got.startswith(b"HTTP/") else "000"
print(status)
if record_file and status != "000":
    # The same record as `api` writes (request headers as sent).
    req_head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    req_line = (req_head[0].split(" ") + ["", ""])[:2]
    p, _, q = req_line[1].partition("?")
    req_headers, headers = {}, {}
    for l in req_head[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            req_headers[k.strip().lower()] = v.strip()
    req_headers.pop("authorization", None)
    for l in head.decode("latin-1").split("\r\n")[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            k = k.strip().lower()
            headers[k] = headers[k] + ", " + v.strip() if k in headers else v.strip()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    with open(record_file, "a") as f:
        f.write(json.dumps({"test": test, "method": req_line[0].upper(), "path": p, "query": q,
                            "request_headers": req_headers, "status": int(status),
                            "headers": headers, "body": text}) + "\n")
PY
) || HTTP_STATUS=000
	BODY=$(cat "$tmp/body")
}

# Prints its arguments on stderr and fails.
fail() {
	printf '%s\n' "$*" >&2
	return 1
}

# What the last response was, for failure messages.
_seen() {
	printf 'HTTP %s: %s' "$HTTP_STATUS" "$(printf '%s' "$BODY" | head -c 800)"
}

# The value of header NAME in the last response (all occurrences joined by
# ", "); fails when absent.
hdr() {
	awk -v n="$1" '
		BEGIN { n = tolower(n) }
		/^HTTP\// { v = ""; f = 0; next }
		{
			sub(/\r$/, "")
			i = index($0, ":")
			if (i > 0 && tolower(substr($0, 1, i - 1)) == n) {
				x = substr($0, i + 1)
				sub(/^[ \t]+/, "", x)
				v = f ? v ", " x : x
				f = 1
			}
		}
		END { if (f) print v; else exit 1 }' "$HDRS"
}

# expect_status CODE: the last response had that status.
expect_status() {
	[ "$HTTP_STATUS" = "$1" ] || fail "expected HTTP $1; got $(_seen)"
}

# expect_json FILTER JSON: jq -c FILTER on the body prints exactly JSON.
expect_json() {
	local got
	got=$(jq -c "$1" <<<"$BODY" 2>&1) || fail "jq '$1' failed on $(_seen): $got" || return 1
	[ "$got" = "$2" ] || fail "$1: expected $2, got $got ($(_seen))"
}

# expect_true FILTER: jq -e FILTER holds on the body.
expect_true() {
	jq -e "$1" <<<"$BODY" >/dev/null 2>&1 || fail "expected ($1) to hold; $(_seen)"
}

# jb FILTER: jq -r FILTER on the body.
jb() {
	jq -r "$1" <<<"$BODY"
}

# expect_raw ERE: the raw body text matches (exact number spelling, say).
expect_raw() {
	grep -Eq -- "$1" <<<"$BODY" || fail "body does not match /$1/: $(_seen)"
}

# expect_header NAME ERE: header NAME is present and matches.
expect_header() {
	local v
	v=$(hdr "$1") || fail "header $1 missing; headers: $(tr -d '\r' <"$HDRS" | tr '\n' '|')" || return 1
	[[ $v =~ $2 ]] || fail "header $1: '$v' does not match /$2/"
}

# expect_no_header NAME: header NAME is absent.
expect_no_header() {
	local v
	if v=$(hdr "$1"); then
		fail "header $1 should be absent, got '$v'"
	fi
}

# expect_error STATUS CODE [WORD]: {"error":{"code":CODE,"message":...}},
# JSON content type, and the message names WORD (a field) when given.
expect_error() {
	local msg
	expect_status "$1" || return 1
	expect_json '.error.code' "\"$2\"" || return 1
	msg=$(jq -r '.error.message | strings' <<<"$BODY" 2>/dev/null)
	[ -n "$msg" ] || fail "error.message missing: $(_seen)" || return 1
	if [ -n "${3:-}" ]; then
		[[ $msg == *"$3"* ]] || fail "error message does not name '$3': $msg" || return 1
	fi
	expect_header Content-Type '^application/json'
}

# b64url: stdin -> unpadded base64url.
b64url() {
	basenc --base64url -w0 | tr -d '='
}

# mint_token PAYLOAD_JSON: an RS256 token over PAYLOAD_JSON signed by the
# development key (the key scripts/dev-token uses), for claims dev-token
# cannot express (expired, no exp).
mint_token() {
	local kid header input sig
	kid=$(cat "$DEV_ISSUER_DIR/kid") || return 1
	header="{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"$kid\"}"
	input="$(printf '%s' "$header" | b64url).$(printf '%s' "$1" | b64url)"
	sig=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$DEV_ISSUER_DIR/dev-key.pem" -binary | b64url)
	printf '%s.%s\n' "$input" "$sig"
}

# dev_token ARGS...: scripts/dev-token with this stack's issuer and audience.
dev_token() {
	"$ROOT/scripts/dev-token" "$@"
}
