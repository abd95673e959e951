#!/usr/bin/env bats
# The API docs (SPEC §10, issue 15): GET /api/openapi.json (openapi.yaml
# converted at build time, ETag + If-None-Match + caching, no token), GET
# /api/docs (the Swagger UI page, nothing remote) and its files, served by
# nginx from apidocs/ and by the function with the same bytes. The browser
# side (rendering, try-it-out, CORS) is in tests/browser.

load helpers

setup_file() { routes_stack_start; }
teardown_file() { routes_stack_stop; }

ORIGIN=http://localhost:3000

# The names of the files the docs page loads (docs/NAME?v=HASH).
page_assets() {
	grep -oE '(src|href)="docs/[A-Za-z0-9_.-]+\?v=[0-9a-f]+"' <<<"$1" |
		sed -E 's/^(src|href)="docs\/([^?]+)\?.*/\2/'
}

# Serves one request with the worker binary as a plain CGI program (no nginx):
# writes the body to $2 and prints the status line and headers.
cgi_get() {
	GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET PATH_INFO=$1 QUERY_STRING= \
		"$STACK_BUILDDIR/cgi-bin/portal-fcgi" </dev/null >"$2.raw" 2>/dev/null || return 1
	python3 -c '
import sys
raw = open(sys.argv[1], "rb").read()
head, _, body = raw.partition(b"\r\n\r\n")
open(sys.argv[2], "wb").write(body)
sys.stdout.write(head.decode())' "$2.raw" "$2"
}

@test "GET /api/openapi.json without a token is openapi.yaml converted to JSON" {
	api none GET /api/openapi.json
	expect_status 200
	expect_header Content-Type '^application/json; ?charset=utf-8$'
	expect_header X-Request-Id '.'
	python3 "$ROOT/src/docs/embed.py" --yaml-to-json "$ROOT/openapi.yaml" >"$BATS_TEST_TMPDIR/want.json"
	# Equal as JSON values, and byte for byte (the build's conversion).
	jq -S . "$BATS_TEST_TMPDIR/want.json" >"$BATS_TEST_TMPDIR/want.sorted"
	jq -S . <<<"$BODY" >"$BATS_TEST_TMPDIR/got.sorted"
	diff -q "$BATS_TEST_TMPDIR/want.sorted" "$BATS_TEST_TMPDIR/got.sorted" ||
		fail "the served contract is not openapi.yaml converted"
	[ "$BODY" = "$(cat "$BATS_TEST_TMPDIR/want.json")" ] || fail "the served bytes differ from the conversion"
	expect_json '.openapi' '"3.0.3"'
	expect_true '.paths["/api/openapi.json"].get and .paths["/api/docs"].get and .paths["/api/digest/publish"].post'
	expect_json '.paths["/api/digest/publish"].post["x-min-role"]' '"team"'
	expect_json '.components.securitySchemes.bearerAuth.scheme' '"bearer"'
	# A bad token is ignored on an open route.
	api not.a.token GET /api/openapi.json
	expect_status 200
}

@test "openapi.json has a strong ETag and public caching; If-None-Match gives 304" {
	api none GET /api/openapi.json
	expect_status 200
	expect_header ETag '^"[0-9a-f]{32}"$'
	expect_header Cache-Control '^public, max-age=[0-9]+$'
	local etag
	etag=$(hdr ETag)
	api none GET /api/openapi.json - -H "If-None-Match: $etag"
	expect_status 304
	[ -z "$BODY" ] || fail "304 with a body: $(_seen)"
	expect_header ETag "^$etag\$"
	expect_header Cache-Control '^public, max-age='
	expect_header X-Request-Id '.'
	# Weak comparison, lists and * (RFC 9110 If-None-Match).
	api none GET /api/openapi.json - -H "If-None-Match: \"x\", W/$etag"
	expect_status 304
	api none GET /api/openapi.json - -H 'If-None-Match: *'
	expect_status 304
	# Another tag gets the document.
	api none GET /api/openapi.json - -H 'If-None-Match: "0123"'
	expect_status 200
	expect_json '.openapi' '"3.0.3"'
	# HEAD: the same headers, no body.
	api none HEAD /api/openapi.json - -I
	expect_status 200
	expect_header ETag "^$etag\$"
}

@test "openapi.json answers CORS for an allowed origin and POST is 405" {
	api none GET /api/openapi.json - -H "Origin: $ORIGIN"
	expect_status 200
	expect_header Access-Control-Allow-Origin "^$ORIGIN\$"
	expect_header Access-Control-Expose-Headers 'ETag'
	api none POST /api/openapi.json
	expect_error 405 method_not_allowed
	expect_header Allow 'GET'
}

@test "GET /api/docs without a token is the Swagger UI page, with nothing remote" {
	api none GET /api/docs
	expect_status 200
	expect_header Content-Type '^text/html; ?charset=utf-8$'
	expect_header ETag '^"[0-9a-f]{32}"$'
	expect_header Cache-Control '^public, max-age='
	expect_header Content-Security-Policy "default-src 'none'"
	expect_header Content-Security-Policy "script-src 'self';"
	expect_header Content-Security-Policy "connect-src 'self';"
	local page=$BODY assets
	assets=$(page_assets "$page" | sort | tr '\n' ' ')
	[ "$assets" = "docs.js swagger-ui-bundle.js swagger-ui.css " ] || fail "the page loads: $assets"
	# No absolute or protocol-relative URL anywhere in the page.
	! grep -Eiq '(https?:)?//[a-z0-9]' <<<"$page" || fail "a remote URL in the page: $(grep -Eio '(https?:)?//[^"]*' <<<"$page")"
	local etag
	etag=$(hdr ETag)
	api none GET /api/docs - -H "If-None-Match: $etag"
	expect_status 304
}

@test "the page's style sheet and script load nothing remote (no url(), @import or fetch of another origin)" {
	local css=$ROOT/apidocs/swagger-ui.css js=$ROOT/apidocs/docs.js
	[ -s "$css" ] && [ -s "$js" ] || fail "apidocs/ is not built"
	# Every url(...) of the CSS is a data: URI; no @import at all.
	local urls
	urls=$(grep -oE 'url\([^)]{0,12}' "$css" | grep -vE "^url\(['\"]?data:" || true)
	[ -z "$urls" ] || fail "non-data url() in swagger-ui.css: $urls"
	! grep -q '@import' "$css" || fail "@import in swagger-ui.css"
	# No font files, no remote font faces.
	! grep -qi '@font-face' "$css" || fail "@font-face in swagger-ui.css"
	! grep -Eq 'https?://' "$js" || fail "a URL in docs.js: $(grep -Eo 'https?://[^ ]*' "$js")"
	grep -q 'validatorUrl: null' "$js" || fail "the validator badge (a remote image) is not turned off"
}

@test "nginx serves the page's files from apidocs/ with types, ETag and caching; the workers never see them" {
	api none GET /api/docs
	local page=$BODY name before after
	before=$(grep -c '/api/docs/' "$STACK_DIR/logs/portal.log" || true)
	for name in $(page_assets "$page"); do
		api none GET "/api/docs/$name" --compressed
		expect_status 200
		case $name in
		*.js) expect_header Content-Type '^text/javascript; charset=utf-8$' ;;
		*.css) expect_header Content-Type '^text/css; charset=utf-8$' ;;
		esac
		expect_header ETag '.'
		expect_header Cache-Control '^public, max-age=86400$'
		expect_header X-Request-Id '.'
		cmp -s "$(_routes_tmp)/body" "$ROOT/apidocs/$name" || fail "$name differs from apidocs/$name"
	done
	after=$(grep -c '/api/docs/' "$STACK_DIR/logs/portal.log" || true)
	[ "$before" = "$after" ] || fail "the workers served a docs file: $(grep '/api/docs/' "$STACK_DIR/logs/portal.log" | tail -3)"
	# Like every other answer: the caller's sane request id, CORS for an allowed origin.
	api none GET /api/docs/docs.js - -H 'X-Request-Id: docs-asset-1' -H "Origin: $ORIGIN"
	expect_status 200
	expect_header X-Request-Id '^docs-asset-1$'
	expect_header Access-Control-Allow-Origin "^$ORIGIN\$"
}

@test "the function serves the same page files itself (as on Lambda), with types, ETag and 304" {
	local name head
	for name in docs.js swagger-ui-bundle.js swagger-ui.css; do
		head=$(cgi_get "/api/docs/$name" "$BATS_TEST_TMPDIR/$name") || fail "CGI run failed"
		[[ $head == "Status: 200"* ]] || fail "$name: $head"
		case $name in
		*.js) [[ $head == *$'Content-Type: text/javascript; charset=utf-8\r'* ]] || fail "$name: $head" ;;
		*.css) [[ $head == *$'Content-Type: text/css; charset=utf-8\r'* ]] || fail "$name: $head" ;;
		esac
		[[ $head == *$'Cache-Control: public, max-age=86400\r'* ]] || fail "$name: $head"
		cmp -s "$BATS_TEST_TMPDIR/$name" "$ROOT/apidocs/$name" || fail "the function's $name differs from nginx's"
	done
	# Through nginx: a file the page does not name goes to the workers: JSON 404.
	api none GET /api/docs/nope.js
	expect_error 404 not_found
	api none GET /api/docs/index.html
	expect_error 404 not_found
	api none GET /api/docs/openapi.json
	expect_error 404 not_found
	api none GET '/api/docs/..%2f..%2fetc%2fpasswd'
	expect_status 404
	! grep -q 'root:' <<<"$BODY" || fail "path traversal: $(_seen)"
}
