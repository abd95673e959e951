#!/usr/bin/env bats
# The error model (SPEC §5 Errors and conventions), health, X-Request-Id and
# CORS (allowed and refused origins, preflight, headers on errors too).

load helpers

setup_file() { routes_stack_start; }
teardown_file() { routes_stack_stop; }

ORIGIN=http://localhost:3000

# ---- health ----

@test "GET /api/health without a token is 200 {status ok, dynamodb ok, version}" {
	api none GET /api/health
	expect_status 200
	expect_json '[.status,.dynamodb]' '["ok","ok"]'
	expect_true '.version | type == "string" and length > 0'
	expect_header Content-Type '^application/json; ?charset=utf-8$'
	expect_header X-Request-Id '.'
	# A bad token does not matter on the one open route.
	api not.a.token GET /api/health
	expect_status 200
	expect_json '.status' '"ok"'
}

# ---- 400 invalid_json ----

@test "unparsable JSON is 400 invalid_json" {
	api admin POST /api/deliverables '{bad'
	expect_error 400 invalid_json
	api team PATCH /api/metrics/1 '{"current_value": 1,'
	expect_error 400 invalid_json
	api admin POST /api/deliverables '{"name":"x","month":1} trailing'
	expect_error 400 invalid_json
	api admin GET /api/deliverables
	expect_json '.count' 12
}

@test "an empty body on POST or PATCH is 400 invalid_json" {
	api admin POST /api/deliverables ''
	expect_error 400 invalid_json
	api team POST /api/updates ''
	expect_error 400 invalid_json
	api team PATCH /api/deliverables/1 ''
	expect_error 400 invalid_json
}

@test "a body that is not UTF-8 is 400 and changes nothing" {
	printf '{"name":"Caf\xe9","month":1,"id":77}' >"$BATS_TEST_TMPDIR/latin1.json"
	api admin POST /api/deliverables "@$BATS_TEST_TMPDIR/latin1.json"
	expect_status 400
	expect_true '.error.code == "invalid_json" or .error.code == "validation_error"'
	api admin GET /api/deliverables/77
	expect_error 404 not_found
}

# ---- 400 validation_error ----

@test "wrong type is 400 validation_error naming the field" {
	api admin POST /api/deliverables '{"name":"x","month":"2"}'
	expect_error 400 validation_error month
	api team PATCH /api/deliverables/1 '{"completion_percentage":"50"}'
	expect_error 400 validation_error completion_percentage
	api team PATCH /api/deliverables/1 '{"name":5}'
	expect_error 400 validation_error name
	api team PATCH /api/deliverables/1 '{"month":1.5}'
	expect_error 400 validation_error month
}

@test "out of range is 400 validation_error naming the field" {
	api admin POST /api/deliverables '{"name":"x","month":0}'
	expect_error 400 validation_error month
	api team PATCH /api/deliverables/1 '{"completion_percentage":101}'
	expect_error 400 validation_error completion_percentage
	api team PATCH /api/deliverables/1 '{"completion_percentage":-1}'
	expect_error 400 validation_error completion_percentage
	api team PATCH /api/deliverables/1 '{"due_date":"2026-13-45"}'
	expect_error 400 validation_error due_date
}

@test "unknown enum value is 400 validation_error naming the field" {
	api admin POST /api/deliverables '{"name":"x","month":2,"status":"DONE"}'
	expect_error 400 validation_error status
	api team PATCH /api/deliverables/1 '{"status":"completed"}'
	expect_error 400 validation_error status
}

@test "unknown field is 400 validation_error naming the field" {
	api admin POST /api/deliverables '{"name":"x","month":2,"colour":"red"}'
	expect_error 400 validation_error colour
	api team PATCH /api/deliverables/1 '{"owner":"x","priority":1}'
	expect_error 400 validation_error priority
	api client GET /api/deliverables/1
	expect_json '[.owner,.version]' '["ML team",1]'
}

@test "{} and a null value in a PATCH are 400 validation_error" {
	api team PATCH /api/deliverables/1 '{}'
	expect_error 400 validation_error
	api team PATCH /api/deliverables/1 '{"owner":null}'
	expect_error 400 validation_error owner
	api team PATCH /api/metrics/1 '{"current_value":null}'
	expect_error 400 validation_error current_value
	api client GET /api/deliverables/1
	expect_json '[.owner,.version]' '["ML team",1]'
}

@test "ids that are not positive integers are 400 validation_error (abc, 0, -1, 1.5)" {
	local id
	for id in abc 0 -1 1.5; do
		api client GET "/api/deliverables/$id"
		expect_error 400 validation_error id || fail "GET /api/deliverables/$id" || return 1
		api client GET "/api/metrics/$id"
		expect_error 400 validation_error id || fail "GET /api/metrics/$id" || return 1
	done
	api team PATCH /api/deliverables/abc '{"owner":"x"}'
	expect_error 400 validation_error id
	api admin DELETE /api/metrics/0
	expect_error 400 validation_error id
}

@test "bad query values are 400 validation_error naming the parameter" {
	api client GET '/api/deliverables?month=x'
	expect_error 400 validation_error month
	api client GET '/api/deliverables?month=0'
	expect_error 400 validation_error month
	api client GET '/api/deliverables?status=bogus'
	expect_error 400 validation_error status
	api client GET '/api/updates?limit=0'
	expect_error 400 validation_error limit
	api client GET '/api/updates?limit=101'
	expect_error 400 validation_error limit
	api client GET '/api/updates?limit=ten'
	expect_error 400 validation_error limit
	api client GET '/api/updates?limit=100'
	expect_status 200
	api client GET '/api/updates?limit=1'
	expect_status 200
	expect_json '.items | length' 1
}

# ---- 404 / 405 ----

@test "unknown items are 404 not_found" {
	api client GET /api/deliverables/12345
	expect_error 404 not_found
	api client GET /api/metrics/12345
	expect_error 404 not_found
	api admin DELETE /api/metrics/12345
	expect_error 404 not_found
	api team PATCH /api/metrics/12345 '{"current_value":1}'
	expect_error 404 not_found
	api admin GET /api/metrics/12345
	expect_error 404 not_found
}

@test "unknown routes are 404 either way, outside /api too" {
	api none GET /api/unknown
	expect_error 404 not_found
	api admin GET /api/unknown
	expect_error 404 not_found
	api admin POST /api/unknown '{}'
	expect_error 404 not_found
	api none GET /nothing-here
	expect_status 404
}

@test "405 method_not_allowed carries Allow" {
	api admin POST /api/dashboard '{}'
	expect_error 405 method_not_allowed
	expect_header Allow 'GET'
	api none POST /api/health '{}'
	expect_error 405 method_not_allowed
	expect_header Allow 'GET'
	api admin PUT /api/metrics/1 '{"name":"x"}'
	expect_error 405 method_not_allowed
	expect_header Allow 'PATCH'
	api admin DELETE /api/users/me
	expect_error 405 method_not_allowed
	expect_header Allow 'GET'
}

# ---- 413 / 415 ----

@test "a body over 64 KiB (and under 1 MB) is 413 payload_too_large; nothing is created" {
	local pad
	pad=$(head -c 70000 /dev/zero | tr '\0' 'a')
	printf '{"id":78,"name":"big","month":1,"description":"%s"}' "$pad" >"$BATS_TEST_TMPDIR/big.json"
	api admin POST /api/deliverables "@$BATS_TEST_TMPDIR/big.json"
	expect_error 413 payload_too_large
	api admin GET /api/deliverables/78
	expect_error 404 not_found
}

@test "a body of exactly 64 KiB is not refused as too large" {
	local head='{"id":79,"name":"edge","month":1,"description":"' tail='"}' n pad
	n=$((65536 - ${#head} - ${#tail}))
	pad=$(head -c "$n" /dev/zero | tr '\0' 'a')
	printf '%s%s%s' "$head" "$pad" "$tail" >"$BATS_TEST_TMPDIR/edge.json"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/edge.json")" -eq 65536 ]
	api admin POST /api/deliverables "@$BATS_TEST_TMPDIR/edge.json"
	[ "$HTTP_STATUS" != 413 ] || fail "65536 bytes refused: $(_seen)"
	[[ $HTTP_STATUS == 201 || $HTTP_STATUS == 400 ]] || fail "unexpected $(_seen)"
}

@test "a body that is not JSON is 415 unsupported_media_type" {
	api admin POST /api/deliverables - -H 'Content-Type: text/plain' --data-binary '{"name":"x","month":1}'
	expect_error 415 unsupported_media_type
	api admin POST /api/deliverables - --data-binary 'name=x&month=1'
	expect_error 415 unsupported_media_type
	api admin GET /api/deliverables
	expect_json '.count' 12
}

@test "application/json; charset=utf-8 is accepted as JSON" {
	api team PATCH /api/deliverables/2 - -H 'Content-Type: application/json; charset=utf-8' --data-binary '{"owner":"Product team"}'
	expect_status 200
	expect_json '.owner' '"Product team"'
}

# ---- X-Request-Id ----

@test "X-Request-Id: a sane caller id is echoed" {
	api client GET /api/deliverables/1 - -H 'X-Request-Id: routes-test.42_abc:1'
	expect_status 200
	expect_header X-Request-Id '^routes-test\.42_abc:1$'
}

@test "X-Request-Id: generated when absent or insane, and unique" {
	local a b long
	api client GET /api/metrics
	a=$(hdr X-Request-Id) || fail "no X-Request-Id"
	[[ $a =~ ^[A-Za-z0-9._:-]{8,64}$ ]] || fail "generated id looks odd: $a"
	api client GET /api/metrics
	b=$(hdr X-Request-Id)
	[ "$a" != "$b" ] || fail "two requests got the same id $a"

	api client GET /api/metrics - -H 'X-Request-Id: has spaces <and> "quotes"'
	a=$(hdr X-Request-Id) || fail "no X-Request-Id"
	[[ $a =~ ^[A-Za-z0-9._:-]{8,64}$ ]] || fail "insane id not replaced: '$a'"
	long=$(head -c 200 /dev/zero | tr '\0' 'x')
	api client GET /api/metrics - -H "X-Request-Id: $long"
	a=$(hdr X-Request-Id) || fail "no X-Request-Id"
	[ "$a" != "$long" ] || fail "a 200-character id was echoed"
	[ "${#a}" -le 64 ] && [ "${#a}" -ge 8 ] || fail "generated id length ${#a}"
}

@test "X-Request-Id is on error responses too (401, 404, 400, 405)" {
	api none GET /api/deliverables - -H 'X-Request-Id: err-401'
	expect_status 401
	expect_header X-Request-Id '^err-401$'
	api none GET /api/nope - -H 'X-Request-Id: err-404'
	expect_status 404
	expect_header X-Request-Id '^err-404$'
	api admin GET /api/deliverables/abc - -H 'X-Request-Id: err-400'
	expect_status 400
	expect_header X-Request-Id '^err-400$'
	api admin PUT /api/deliverables/1 - -H 'X-Request-Id: err-405'
	expect_status 405
	expect_header X-Request-Id '^err-405$'
}

# ---- CORS ----

@test "CORS: an allowed origin gets Allow-Origin, Vary: Origin and Expose-Headers" {
	api client GET /api/deliverables - -H "Origin: $ORIGIN"
	expect_status 200
	expect_header Access-Control-Allow-Origin "^${ORIGIN}\$"
	expect_header Vary '(^|[ ,])Origin($|[ ,])'
	expect_header Access-Control-Expose-Headers 'X-Request-Id'
	expect_header Access-Control-Expose-Headers 'Location'
	expect_header Access-Control-Expose-Headers 'ETag'
}

@test "CORS headers are on error responses too (401, 404, 400, 403)" {
	api none GET /api/deliverables - -H "Origin: $ORIGIN"
	expect_status 401
	expect_header Access-Control-Allow-Origin "^${ORIGIN}\$"
	expect_header Access-Control-Expose-Headers 'X-Request-Id'
	expect_header Vary 'Origin'
	api client GET /api/nothing - -H "Origin: $ORIGIN"
	expect_status 404
	expect_header Access-Control-Allow-Origin "^${ORIGIN}\$"
	api client GET /api/deliverables/abc - -H "Origin: $ORIGIN"
	expect_status 400
	expect_header Access-Control-Allow-Origin "^${ORIGIN}\$"
	api client DELETE /api/deliverables/1 - -H "Origin: $ORIGIN"
	expect_status 403
	expect_header Access-Control-Allow-Origin "^${ORIGIN}\$"
	expect_header Access-Control-Expose-Headers 'Location'
}

@test "CORS: other origins get no CORS headers" {
	local o
	for o in http://evil.example http://localhost:3001 'http://localhost:3000.evil.example' null; do
		api client GET /api/deliverables - -H "Origin: $o"
		expect_status 200
		expect_no_header Access-Control-Allow-Origin || fail "origin $o" || return 1
		expect_no_header Access-Control-Expose-Headers || fail "origin $o" || return 1
		expect_no_header Access-Control-Allow-Credentials || fail "origin $o" || return 1
	done
	api none GET /api/deliverables - -H 'Origin: http://evil.example'
	expect_status 401
	expect_no_header Access-Control-Allow-Origin
}

@test "CORS preflight: OPTIONS is 204 with methods and headers, no token needed" {
	api none OPTIONS /api/deliverables/1 - -H "Origin: $ORIGIN" \
		-H 'Access-Control-Request-Method: PATCH' \
		-H 'Access-Control-Request-Headers: authorization, content-type, if-match'
	expect_status 204
	expect_header Access-Control-Allow-Origin "^${ORIGIN}\$"
	expect_header Access-Control-Allow-Methods 'PATCH'
	expect_header Access-Control-Allow-Methods 'GET'
	expect_header Access-Control-Allow-Methods 'DELETE'
	local h want
	h=$(hdr Access-Control-Allow-Headers) || fail "no Access-Control-Allow-Headers" || return 1
	h=$(tr '[:upper:]' '[:lower:]' <<<"$h")
	for want in authorization content-type if-match x-request-id idempotency-key; do
		[[ ",${h// /}," == *",$want,"* ]] || fail "Allow-Headers '$h' lacks $want" || return 1
	done
	api none OPTIONS /api/deliverables - -H "Origin: $ORIGIN" -H 'Access-Control-Request-Method: POST'
	expect_status 204
	expect_header Access-Control-Allow-Methods 'POST'
}

@test "CORS preflight from another origin gets no CORS headers" {
	api none OPTIONS /api/deliverables/1 - -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: PATCH'
	expect_no_header Access-Control-Allow-Origin
	expect_no_header Access-Control-Allow-Methods
	expect_no_header Access-Control-Allow-Headers
}
