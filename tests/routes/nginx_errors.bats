#!/usr/bin/env bats
# The answers nginx gives itself (SPEC §5 Errors): malformed requests,
# oversized headers and URIs, bad chunked bodies, bad escapes, TRACE and
# CONNECT, a missing Host, 404 outside /api/, 413, 501, 505, and 503 when
# the workers are gone. Each is {"error":{"code","message"}} with the JSON
# content type, an X-Request-Id (the caller's sane one, else nginx's
# $request_id, which the workers use too) and, where nginx has read the
# Origin header, the CORS headers of an allowed origin. Raw requests go
# through raw_http (bytes on a socket) or curl --path-as-is.

load helpers

ORIGIN=http://localhost:3000

setup_file() {
	# A short client_body_timeout for the time-out test (the default is 60 s).
	STACK_NGINX_EXTRA="client_body_timeout 2s;" routes_stack_start
}
teardown_file() { routes_stack_stop; }

# expect_nginx_error STATUS CODE: the JSON error shape, no-store and a
# request id; with ID, exactly that id, else one of nginx's (32 hex digits).
expect_nginx_error() {
	local id=${3:-}
	[ -n "$id" ] || id='[0-9a-f]{32}'
	expect_error "$1" "$2" || return 1
	expect_header Content-Type '^application/json; charset=utf-8$' || return 1
	expect_header Cache-Control '^no-store$' || return 1
	expect_header X-Request-Id "^${id}\$" || return 1
	[[ $BODY != *"<html"* ]] || fail "an HTML body: $BODY"
}

# expect_cors: the headers an allowed origin gets (SPEC §5 CORS).
expect_cors() {
	expect_header Access-Control-Allow-Origin "^${ORIGIN}\$" || return 1
	expect_header Vary '(^|[ ,])Origin($|[ ,])' || return 1
	expect_header Access-Control-Expose-Headers '^X-Request-Id, Location, ETag$'
}

@test "a bad escape in the path is 400 bad_request as JSON with nginx's request id" {
	api none GET '/api/deliverables/%zz' - --path-as-is
	expect_nginx_error 400 bad_request
	api none GET '/api/%' - --path-as-is
	expect_nginx_error 400 bad_request
	raw_http 'GET /api/health%%00x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	expect_nginx_error 400 bad_request
}

@test "a malformed chunked body is 400 bad_request with the caller's id and CORS; nothing is created" {
	raw_http 'POST /api/updates HTTP/1.1\r\nHost: x\r\nOrigin: %s\r\nX-Request-Id: chunk-1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{"title":"t","body":"b","type":"general"}\r\n0\r\n\r\n' \
		"$ORIGIN" "$TEAM"
	expect_nginx_error 400 bad_request chunk-1
	expect_cors
	api team GET '/api/updates?limit=100'
	expect_status 200
	expect_true '[.items[] | select(.title == "t" and .body == "b")] | length == 0'
}

@test "a request line over the header buffers is 414 uri_too_long" {
	api none GET "/api/deliverables?month=$(printf '1%.0s' {1..9000})"
	expect_nginx_error 414 uri_too_long
}

@test "an oversized header is 431 header_too_large with CORS for an allowed origin" {
	api none GET /api/health - -H "Origin: $ORIGIN" -H "X-Padding: $(printf 'a%.0s' {1..9000})"
	expect_nginx_error 431 header_too_large
	expect_cors
	# Many headers over the buffers in total, each one small.
	local args=() i
	for i in $(seq 1 40); do args+=(-H "X-Pad-$i: $(printf 'b%.0s' {1..900})"); done
	api none GET /api/health - "${args[@]}"
	expect_nginx_error 431 header_too_large
}

@test "TRACE and CONNECT are 405 method_not_allowed with the route's Allow" {
	api none TRACE /api/deliverables/3 - -H "Origin: $ORIGIN"
	expect_nginx_error 405 method_not_allowed
	expect_header Allow '^GET, PATCH, DELETE, OPTIONS$'
	expect_cors
	api none CONNECT /api/health
	expect_nginx_error 405 method_not_allowed
	expect_header Allow '^GET, OPTIONS$'
	# CONNECT in its own (authority) form does not parse as a request here.
	raw_http 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n'
	[ "$HTTP_STATUS" = 400 ] || [ "$HTTP_STATUS" = 405 ] || fail "CONNECT authority form: $(_seen)" || return 1
	expect_nginx_error "$HTTP_STATUS" "$([ "$HTTP_STATUS" = 400 ] && echo bad_request || echo method_not_allowed)"
	# An unknown path is 404, whatever the method (as the workers answer).
	api none TRACE /api/nothing
	expect_nginx_error 404 not_found
}

@test "nginx's Allow for TRACE is the workers' Allow on every route of the table" {
	local pattern path worker n=0
	while read -r pattern; do
		path=${pattern//\{id\}/1}
		api none PUT "$path"
		expect_status 405 || fail "PUT $path" || return 1
		worker=$(hdr Allow) || fail "PUT $path: no Allow" || return 1
		api none TRACE "$path"
		expect_nginx_error 405 method_not_allowed || fail "TRACE $path" || return 1
		expect_header Allow "^${worker}\$" || fail "TRACE $path: nginx and the workers disagree" || return 1
		n=$((n + 1))
	done < <(grep -o '\.pattern = "[^"]*"' "$ROOT/src/router.c" | cut -d'"' -f2 | sort -u)
	[ "$n" -ge 10 ] || fail "read only $n route patterns from src/router.c"
}

@test "an HTTP/1.1 request without Host, or with two, is 400 bad_request as JSON" {
	raw_http 'GET /api/health HTTP/1.1\r\nX-Request-Id: nohost-1\r\nConnection: close\r\n\r\n'
	expect_nginx_error 400 bad_request nohost-1
	raw_http 'GET /api/health HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n'
	expect_nginx_error 400 bad_request
	raw_http 'GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
	expect_nginx_error 400 bad_request
}

@test "a caller's sane X-Request-Id is kept on nginx's errors; an insane one is replaced" {
	api none GET /nothing - -H 'X-Request-Id: abc.DEF_1-2:3'
	expect_nginx_error 404 not_found 'abc\.DEF_1-2:3'
	api none TRACE /api/health - -H 'X-Request-Id: trace-9'
	expect_nginx_error 405 method_not_allowed trace-9
	api none GET /nothing - -H 'X-Request-Id: has space'
	expect_nginx_error 404 not_found
	api none GET /nothing - -H "X-Request-Id: $(printf 'x%.0s' {1..65})"
	expect_nginx_error 404 not_found
}

@test "404 outside /api/ is JSON (whatever the extension) with CORS; other origins get none" {
	local p
	for p in /nothing /index.html /favicon.ico /api /_turbotech/error /_turbotech/method_not_allowed; do
		api none GET "$p" - -H "Origin: $ORIGIN"
		expect_nginx_error 404 not_found || fail "GET $p" || return 1
		expect_cors || fail "GET $p" || return 1
	done
	api none GET /index.html - -H 'Origin: https://evil.example.com'
	expect_nginx_error 404 not_found
	expect_no_header Access-Control-Allow-Origin
	expect_no_header Access-Control-Expose-Headers
}

@test "a body over nginx's limit (1 MB) is 413 payload_too_large with CORS; nothing is created" {
	head -c 1100000 /dev/zero | tr '\0' ' ' >"$BATS_TEST_TMPDIR/huge.json"
	api admin POST /api/deliverables "@$BATS_TEST_TMPDIR/huge.json" -H "Origin: $ORIGIN"
	expect_nginx_error 413 payload_too_large
	expect_cors
	api admin GET /api/deliverables
	expect_json .count 12
}

@test "an unknown Transfer-Encoding is 501 and HTTP/2.0 on this port is 505, both JSON" {
	raw_http 'POST /api/updates HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n'
	expect_nginx_error 501 not_implemented
	raw_http 'GET /api/health HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n'
	expect_nginx_error 505 http_version_not_supported
}

@test "the workers use nginx's request id: response, nginx's access log and the worker's log agree" {
	local id
	api none GET /api/health
	expect_status 200
	id=$(hdr X-Request-Id)
	[[ $id =~ ^[0-9a-f]{32}$ ]] || fail "not an nginx id: $id" || return 1
	grep -q "rid=$id\$" "$STACK_DIR/logs/nginx-access.log" ||
		fail "nginx's access log has no rid=$id: $(tail -3 "$STACK_DIR/logs/nginx-access.log")" || return 1
	grep -q "\"request_id\":\"$id\"" "$STACK_DIR/logs/portal.log" ||
		fail "the worker's log has no request_id $id" || return 1
	# A caller's sane id is the one everywhere.
	api none GET /api/health - -H 'X-Request-Id: caller-77'
	expect_header X-Request-Id '^caller-77$'
	grep -q 'rid=caller-77$' "$STACK_DIR/logs/nginx-access.log" || fail "access log lacks caller-77"
}

@test "a client that stops sending gets its connection closed, never an HTML page" {
	# nginx answers a client time-out (408) by closing the connection; the
	# stack of this file waits 2 s (client_body_timeout below).
	raw_http 'POST /api/updates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ti'
	if [ "$HTTP_STATUS" != 000 ]; then
		expect_nginx_error 408 request_timeout
	fi
	[[ $BODY != *"<html"* ]] || fail "HTML: $BODY"
}

@test "nginx waits for a worker longer than the longest request budget (29 s) plus a 5 s margin" {
	# SPEC §3: PORTAL_REQUEST_TIMEOUT_MS is at most 29000; the worker answers
	# 503 itself when the budget ends, so nginx must not give up first.
	local d v
	for d in fastcgi_read_timeout fastcgi_send_timeout; do
		v=$(sed -n "s/^[[:space:]]*$d[[:space:]]\{1,\}\([0-9]\{1,\}\)s;.*/\1/p" "$STACK_DIR/nginx/site.conf")
		[ -n "$v" ] || fail "$d is not set in seconds in the site" || return 1
		[ "$v" -ge 34 ] || fail "$d is ${v}s; it must be at least 34s" || return 1
	done
}

# Last: it stops the workers.
@test "the workers gone: 503 unavailable as JSON with Retry-After, X-Request-Id and CORS" {
	local pid
	pid=$(cat "$STACK_DIR/run/portal-fcgi.pid")
	kill -TERM "$pid"
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$STACK_SOCKET"
	api none GET /api/health - -H "Origin: $ORIGIN" -H 'X-Request-Id: gone-1'
	expect_nginx_error 503 unavailable gone-1
	expect_header Retry-After '^[0-9]+$'
	expect_cors
}
