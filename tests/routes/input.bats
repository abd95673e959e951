#!/usr/bin/env bats
# Input is strict (SPEC §5): bodies that are not exactly one RFC 8259 text,
# bodies that are not objects, U+0000 in bodies, queries, paths and token
# claims, numbers beyond json-c's integers or DynamoDB's range, ids that are
# not written canonically, and settings that cannot work. Every refused write
# is read back: nothing changed.

load helpers

setup_file() { routes_stack_start; }
teardown_file() { routes_stack_stop; }

# remember PATH: keeps the admin's view of PATH to compare with later.
remember() {
	api admin GET "$1"
	expect_status 200 || return 1
	SNAP_PATH=$1
	SNAP_BODY=$BODY
}

# unchanged: the remembered path still answers the same body.
unchanged() {
	local before=$SNAP_BODY
	api admin GET "$SNAP_PATH"
	expect_status 200 || return 1
	[ "$BODY" = "$before" ] || fail "$SNAP_PATH changed: before $before; after $BODY"
}

# refused WHO METHOD PATH BODY STATUS CODE [WORD]: the request is answered
# with that error, and the remembered path has not changed.
refused() {
	api "$1" "$2" "$3" "$4"
	expect_error "$5" "$6" "${7:-}" || fail "for body: $4" || return 1
	unchanged || fail "after body: $4"
}

# expect_decimal FIELD DECIMAL: the first FIELD of the raw body is exactly
# that decimal (the store may write 1E+2 as 100: same value, no rounding).
expect_decimal() {
	local text
	text=$(grep -oE "\"$1\": ?-?[0-9][0-9.eE+-]*" <<<"$BODY" | head -n 1 | sed 's/^[^:]*: *//')
	[ -n "$text" ] || fail "no number $1 in $(_seen)" || return 1
	python3 -c 'import decimal, sys; sys.exit(decimal.Decimal(sys.argv[1]) != decimal.Decimal(sys.argv[2]))' \
		"$text" "$2" || fail "$1 is $text, not exactly $2"
}

# mint_raw HEADER_JSON PAYLOAD_JSON: an RS256 token signed by the dev key
# over exactly these header and payload texts.
mint_raw() {
	local input sig
	input="$(printf '%s' "$1" | b64url).$(printf '%s' "$2" | b64url)"
	sig=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$DEV_ISSUER_DIR/dev-key.pem" -binary | b64url)
	printf '%s.%s\n' "$input" "$sig"
}

# Good header and payload texts; the cases below change one member each.
# SUB, ISS, AUD, ALG, KID, TYP may be overridden (JSON string contents).
good_header() {
	printf '{"alg":"%s","typ":"%s","kid":"%s"}' "${ALG:-RS256}" "${TYP:-JWT}" "${KID:-$(cat "$DEV_ISSUER_DIR/kid")}"
}
good_payload() {
	local now
	now=$(date +%s)
	printf '{"iss":"%s","aud":"%s","sub":"%s","iat":%d,"exp":%d}' \
		"${ISS:-$AUTH_ISSUER}" "${AUD:-$AUTH0_AUDIENCE}" "${SUB:-auth0|seed-admin}" "$now" "$((now + 600))"
}

@test "a control token signed like the cases below is accepted as the admin" {
	api "$(mint_raw "$(good_header)" "$(good_payload)")" GET /api/users
	expect_status 200
}

@test "bodies that are not one RFC 8259 text are 400 invalid_json and change nothing" {
	local bodies=(
		$'{"name":"tab\there"}'
		$'{"name":"line\nbreak"}'
		'{"completion_percentage":NaN}'
		'{"completion_percentage":Infinity}'
		'{"completion_percentage":-Infinity}'
		'{"name":"x" /* note */}'
		$'{"name":"x" // note\n}'
		'{"name":"x",}'
		'{"name":"first","name":"second"}'
		'{"name":"first","\u006eame":"second"}'
		'{"name":"x"} trailing'
		'{"name":"x"}{"name":"y"}'
		'{"name":"\ud800"}'
		'{"completion_percentage":01}'
		"{'name':'x'}"
		'   '
	)
	remember /api/deliverables/1
	for b in "${bodies[@]}"; do
		refused team PATCH /api/deliverables/1 "$b" 400 invalid_json || return 1
	done
	remember /api/metrics
	refused admin POST /api/metrics \
		'{"name":"M","unit":"u","baseline_value":1,"target_value":2,"name":"N"}' 400 invalid_json
	refused admin POST /api/metrics \
		'{"name":"M","unit":"u","baseline_value":NaN,"target_value":2}' 400 invalid_json
}

@test "bodies that parse but are not objects are 400 validation_error naming body" {
	remember /api/deliverables/2
	for b in null 42 true false '"x"' '[1]' '[]' '-0.5'; do
		refused team PATCH /api/deliverables/2 "$b" 400 validation_error body || return 1
	done
	remember /api/updates
	for b in null 42 '"x"' '[{"title":"t"}]'; do
		refused team POST /api/updates "$b" 400 validation_error body || return 1
	done
}

@test "a PATCH with nothing to update names the fields it takes" {
	remember /api/users
	refused admin PATCH '/api/users/auth0%7Cseed-client' '{}' 400 validation_error role
	remember /api/deliverables/3
	refused team PATCH /api/deliverables/3 '{}' 400 validation_error completion_percentage
	remember /api/metrics/2
	refused team PATCH /api/metrics/2 '{}' 400 validation_error current_value
}

@test "\\u0000 in any string of a body is 400 validation_error naming the field" {
	remember /api/deliverables/4
	refused team PATCH /api/deliverables/4 '{"name":"Takeoff\u0000 admin"}' 400 validation_error name
	refused team PATCH /api/deliverables/4 '{"owner":"\u0000"}' 400 validation_error owner
	refused team PATCH /api/deliverables/4 '{"na\u0000me":"x"}' 400 validation_error 'na\u0000me'
	refused team PATCH /api/deliverables/4 '{"status":"COMPLETED\u0000x"}' 400 validation_error status
	remember /api/updates
	refused team POST /api/updates \
		'{"title":"t","body":"b","type":"progress","extra":{"deep":["\u0000"]}}' 400 validation_error extra
	refused team POST /api/updates '{"title":"t","body":"b\u0000","type":"progress"}' 400 validation_error body
	remember /api/users
	refused admin PATCH '/api/users/auth0%7Cseed-client' '{"role":"team\u0000"}' 400 validation_error role
}

@test "%00 or a bad escape in a query value is 400 validation_error naming the parameter" {
	api client GET '/api/deliverables?month=1%00'
	expect_error 400 validation_error month
	api client GET '/api/deliverables?month=1%00x&status=COMPLETED'
	expect_error 400 validation_error month
	api client GET '/api/deliverables?status=COMPLETED%00'
	expect_error 400 validation_error status
	api client GET '/api/deliverables?month=%zz'
	expect_error 400 validation_error month
	api client GET '/api/deliverables?month=%C0%AF'
	expect_error 400 validation_error month
	api client GET '/api/updates?limit=5%00'
	expect_error 400 validation_error limit
	api client GET '/api/digest?days=7%00'
	expect_error 400 validation_error days
	# The control: the same queries without the NUL are served.
	api client GET '/api/deliverables?month=1'
	expect_status 200
	expect_json '[.items[].month] | unique' '[1]'
}

@test "a NUL in sub, iss, aud, alg, kid or typ of a validly signed token is 401" {
	local kid
	kid=$(cat "$DEV_ISSUER_DIR/kid")
	api "$(mint_raw "$(good_header)" "$(SUB='auth0|seed-admin\u0000x' good_payload)")" GET /api/users
	expect_error 401 unauthorized
	api "$(mint_raw "$(good_header)" "$(ISS="$AUTH_ISSUER\\u0000x" good_payload)")" GET /api/users/me
	expect_error 401 unauthorized
	api "$(mint_raw "$(good_header)" "$(AUD="$AUTH0_AUDIENCE\\u0000x" good_payload)")" GET /api/users/me
	expect_error 401 unauthorized
	api "$(mint_raw "$(ALG='RS256\u0000x' good_header)" "$(good_payload)")" GET /api/users/me
	expect_error 401 unauthorized
	api "$(mint_raw "$(KID="$kid\\u0000x" good_header)" "$(good_payload)")" GET /api/users/me
	expect_error 401 unauthorized
	api "$(mint_raw "$(TYP='JWT\u0000x' good_header)" "$(good_payload)")" GET /api/users/me
	expect_error 401 unauthorized
	# aud as an array holding the audience with a NUL appended.
	local now
	now=$(date +%s)
	api "$(mint_raw "$(good_header)" "{\"iss\":\"$AUTH_ISSUER\",\"aud\":[\"$AUTH0_AUDIENCE\\u0000x\"],\"sub\":\"auth0|seed-client\",\"exp\":$((now + 600))}")" \
		GET /api/users/me
	expect_error 401 unauthorized
	# Nobody was provisioned under the cut-short or the full id.
	api admin GET /api/users
	expect_status 200
	expect_true '[.items[].id | select(test("x$") and startswith("auth0|seed-admin"))] | length == 0'
}

@test "numbers keep their exact decimal text from the body to the store and back" {
	api admin POST /api/metrics \
		'{"name":"Exact","unit":"u","baseline_value":12345678901234567890,"target_value":0.000001,"current_value":-9.9999999999999999999999999999999999999E+125}'
	expect_status 201
	expect_raw '"baseline_value": ?12345678901234567890[,}]'
	expect_raw '"target_value": ?0\.000001[,}]'
	local id
	id=$(jb .id)
	api client GET "/api/metrics/$id"
	expect_status 200
	expect_raw '"baseline_value": ?12345678901234567890[,}]'
	expect_raw '"target_value": ?0\.000001[,}]'
	expect_decimal current_value -9.9999999999999999999999999999999999999E+125
	api team PATCH "/api/metrics/$id" '{"current_value":123456789012345678901234567890.5,"target_value":1E-130}'
	expect_status 200
	api client GET "/api/metrics/$id"
	expect_raw '"current_value": ?123456789012345678901234567890\.5[,}]'
	expect_decimal target_value 1E-130
	expect_raw '"value": ?123456789012345678901234567890\.5[,}]'
}

@test "numbers outside DynamoDB's range are 400 validation_error naming the field, never 500" {
	remember /api/metrics
	local base='"name":"Out","unit":"u"'
	refused admin POST /api/metrics "{$base,\"baseline_value\":1e-200,\"target_value\":1}" \
		400 validation_error baseline_value
	refused admin POST /api/metrics "{$base,\"baseline_value\":1,\"target_value\":123456789012345678901234567890123456789012345}" \
		400 validation_error target_value
	refused admin POST /api/metrics "{$base,\"baseline_value\":1E+126,\"target_value\":1}" \
		400 validation_error baseline_value
	refused admin POST /api/metrics "{$base,\"baseline_value\":1e400,\"target_value\":1}" \
		400 validation_error baseline_value
	remember /api/metrics/3
	refused team PATCH /api/metrics/3 '{"current_value":1e-131}' 400 validation_error current_value
	refused team PATCH /api/metrics/3 '{"current_value":1234567890123456789012345678901234567.89}' \
		400 validation_error current_value
	remember /api/deliverables/5
	refused team PATCH /api/deliverables/5 '{"completion_percentage":1e-200}' 400 validation_error completion_percentage
	refused team PATCH /api/deliverables/5 '{"month":12345678901234567890}' 400 validation_error month
	refused team PATCH /api/deliverables/5 '{"month":99999999999999999999999}' 400 validation_error month
}

@test "ids written with a leading zero, a sign or an exponent are 400 validation_error" {
	for id in 01 007 +1 -1 1e3 1E3 1.0 0; do
		api client GET "/api/deliverables/$id"
		expect_error 400 validation_error id || fail "id $id" || return 1
		api client GET "/api/metrics/$id"
		expect_error 400 validation_error id || fail "id $id" || return 1
	done
	remember /api/deliverables/1
	refused team PATCH /api/deliverables/01 '{"name":"aliased"}' 400 validation_error id
	refused admin DELETE /api/deliverables/+1 - 400 validation_error id
	api client GET /api/deliverables/1
	expect_status 200
}

# Runs the worker binary as a plain CGI program for one request.
cgi() {
	env -i PATH="$PATH" AUTH_JWKS_URL="$AUTH_JWKS_URL" AUTH_ISSUER="$AUTH_ISSUER" \
		AUTH0_AUDIENCE="$AUTH0_AUDIENCE" AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y \
		GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 "$@" \
		"$STACK_BUILDDIR/cgi-bin/portal-fcgi" </dev/null
}

@test "CGI mode: a 204 carries no Content-Length; a 404 with a body does" {
	local out
	out=$(cgi AWS_ENDPOINT_URL_DYNAMODB="$AWS_ENDPOINT_URL_DYNAMODB" REQUEST_METHOD=OPTIONS \
		REQUEST_URI=/api/deliverables HTTP_ORIGIN=http://localhost:3000 CORS_ALLOW_ORIGINS=http://localhost:3000)
	grep -q '^Status: 204' <<<"$out" || fail "no 204: $out"
	! grep -qi '^Content-Length' <<<"$out" || fail "a 204 with Content-Length: $out"
	out=$(cgi AWS_ENDPOINT_URL_DYNAMODB="$AWS_ENDPOINT_URL_DYNAMODB" REQUEST_METHOD=GET REQUEST_URI=/api/nope)
	grep -q '^Status: 404' <<<"$out" || fail "no 404: $out"
	grep -qi '^Content-Length: [1-9]' <<<"$out" || fail "a 404 without Content-Length: $out"
}

@test "an endpoint that is not a usable URL stops the worker and portalctl at start with one line naming it" {
	local var bad rc err
	for var in AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL; do
		for bad in 'http://[x' 'http://' 'http://exa mple.com' 'ftp://example.com' 'http://:80'; do
			rc=0
			err=$(cgi "$var=$bad" REQUEST_METHOD=GET REQUEST_URI=/api/health 2>&1 >/dev/null) || rc=$?
			[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "worker ($var=$bad): exit $rc" || return 1
			[ "$(wc -l <<<"$err")" -eq 1 ] && [[ $err == *"$var"* ]] ||
				fail "worker ($var=$bad): not one line naming $var: $err" || return 1
			rc=0
			err=$(env -i PATH="$PATH" "$var=$bad" "$STACK_BUILDDIR/portalctl/portalctl" tables describe 2>&1 >/dev/null) || rc=$?
			[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "portalctl ($var=$bad): exit $rc" || return 1
			[ "$(wc -l <<<"$err")" -eq 1 ] && [[ $err == *"$var"* ]] ||
				fail "portalctl ($var=$bad): not one line naming $var: $err" || return 1
		done
	done
	rc=0
	err=$(cgi AWS_ENDPOINT_URL_DYNAMODB="$AWS_ENDPOINT_URL_DYNAMODB" AUTH_JWKS_URL='https://[x/jwks.json' \
		REQUEST_METHOD=GET REQUEST_URI=/api/health 2>&1 >/dev/null) || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && [[ $err == *AUTH_JWKS_URL* ]] ||
		fail "AUTH_JWKS_URL: exit $rc: $err"
}
