#!/usr/bin/env bats
# Users and auth (SPEC §5, §6): profiles, provisioning, PORTAL_ADMINS, role
# changes taking effect, and 401 for every kind of bad token.

load helpers

setup_file() {
	export PORTAL_ADMINS="boss@routes.example,auth0|routes-boss-by-id"
	routes_stack_start || return 1
	PROMOTED=$(dev_token --sub 'auth0|routes-promoted' --email promoted@routes.example --name 'Promoted User')
	export PROMOTED
}
teardown_file() { routes_stack_stop; }

# A JWT payload for this stack with exp/nbf/iat offsets; "-" leaves a claim out.
claims() {
	local exp=$1 nbf=${2:-0} iat=${3:-0} now p
	now=$(date +%s)
	p="{\"iss\":\"$AUTH_ISSUER\",\"aud\":\"$AUTH0_AUDIENCE\",\"sub\":\"auth0|seed-client\""
	[ "$exp" = - ] || p+=",\"exp\":$((now + exp))"
	[ "$nbf" = - ] || p+=",\"nbf\":$((now + nbf))"
	[ "$iat" = - ] || p+=",\"iat\":$((now + iat))"
	printf '%s}' "$p"
}

@test "GET /api/users/me answers the caller's profile" {
	api client GET /api/users/me
	expect_status 200
	expect_json '[.id,.email,.name,.role]' '["auth0|seed-client","estimator@client.example","Chief Estimator","client"]'
	api team GET /api/users/me
	expect_json '[.id,.role]' '["auth0|seed-team","team"]'
	api admin GET /api/users/me
	expect_json '[.id,.role]' '["auth0|seed-admin","admin"]'
}

@test "a new user is provisioned as client on first request; admin promotes them (percent-encoded id)" {
	api "$PROMOTED" GET /api/users/me
	expect_status 200
	expect_json '[.id,.email,.role]' '["auth0|routes-promoted","promoted@routes.example","client"]'
	api "$PROMOTED" POST /api/updates '{"title":"Before promotion","body":"b","type":"progress"}'
	expect_error 403 forbidden

	api admin PATCH '/api/users/auth0%7Croutes-promoted' '{"role":"team"}'
	expect_status 200
	date +%s >"$BATS_FILE_TMPDIR/promoted_at"
	expect_json '[.id,.role]' '["auth0|routes-promoted","team"]'
	api admin GET /api/users
	expect_json '[.items[] | select(.id == "auth0|routes-promoted") | .role]' '["team"]'
}

@test "GET /api/users (admin) lists users sorted by id, new users included" {
	api admin GET /api/users
	expect_status 200
	expect_true '[.items[].id] == ([.items[].id] | sort)'
	expect_json '[.items[] | select(.id | startswith("auth0|seed-")) | [.id,.role]]' \
		'[["auth0|seed-admin","admin"],["auth0|seed-client","client"],["auth0|seed-team","team"]]'
	expect_json '[.items[] | select(.id == "auth0|seed-team") | .email]' '["engineer@turbotech.example"]'
}

@test "GET /api/users is admin only (403 for team and client)" {
	api team GET /api/users
	expect_error 403 forbidden
	api client GET /api/users
	expect_error 403 forbidden
}

@test "a user listed in PORTAL_ADMINS (by email or by sub) is provisioned as admin" {
	local t
	t=$(dev_token --sub 'auth0|routes-boss' --email boss@routes.example)
	api "$t" GET /api/users/me
	expect_status 200
	expect_json '[.id,.role]' '["auth0|routes-boss","admin"]'
	api "$t" GET /api/users
	expect_status 200
	t=$(dev_token --sub 'auth0|routes-boss-by-id' --email other@routes.example)
	api "$t" GET /api/users/me
	expect_json '[.id,.role]' '["auth0|routes-boss-by-id","admin"]'
}

@test "a new user reads everything but cannot write" {
	local t
	t=$(dev_token --sub 'auth0|routes-reader' --email reader@routes.example)
	api "$t" GET /api/deliverables
	expect_status 200
	expect_json '.count' 12
	api "$t" GET /api/dashboard
	expect_status 200
	api "$t" PATCH /api/deliverables/2 '{"owner":"Reader"}'
	expect_error 403 forbidden
	api "$t" GET /api/users/me
	expect_json '.role' '"client"'
}

@test "team and client cannot change roles (403) and the role is unchanged" {
	api team PATCH '/api/users/auth0%7Cseed-team' '{"role":"admin"}'
	expect_error 403 forbidden
	api client PATCH '/api/users/auth0%7Cseed-client' '{"role":"admin"}'
	expect_error 403 forbidden
	api admin GET /api/users
	expect_json '[.items[] | select(.id == "auth0|seed-team" or .id == "auth0|seed-client") | .role]' '["client","team"]'
}

@test "PATCH /api/users/{id} validation: unknown role, {}, unknown field are 400; unknown user is 404" {
	api admin PATCH '/api/users/auth0%7Cseed-client' '{"role":"boss"}'
	expect_error 400 validation_error role
	api admin PATCH '/api/users/auth0%7Cseed-client' '{}'
	expect_error 400 validation_error
	api admin PATCH '/api/users/auth0%7Cseed-client' '{"role":"team","email":"x@y.example"}'
	expect_error 400 validation_error email
	api admin GET /api/users
	expect_json '[.items[] | select(.id == "auth0|seed-client") | [.role,.email]]' '[["client","estimator@client.example"]]'
	api admin PATCH '/api/users/auth0%7Cnobody-here' '{"role":"team"}'
	expect_error 404 not_found
}

@test "no token is 401 unauthorized with WWW-Authenticate: Bearer on every protected route" {
	local r
	for r in /api/deliverables /api/deliverables/1 /api/metrics /api/metrics/1 /api/updates \
		/api/users/me /api/users /api/dashboard /api/digest; do
		api none GET "$r"
		expect_error 401 unauthorized || fail "route $r" || return 1
		expect_header WWW-Authenticate '^Bearer' || fail "route $r" || return 1
	done
	api none POST /api/deliverables '{"name":"x","month":1}'
	expect_error 401 unauthorized
	api none PATCH /api/users/auth0%7Cseed-client '{"role":"admin"}'
	expect_error 401 unauthorized
}

@test "a garbage token, an empty bearer and another scheme are 401" {
	api garbage.token.here GET /api/deliverables
	expect_error 401 unauthorized
	expect_header WWW-Authenticate '^Bearer'
	api none GET /api/deliverables - -H 'Authorization: Bearer '
	expect_error 401 unauthorized
	api none GET /api/deliverables - -H 'Authorization: Basic dXNlcjpwYXNz'
	expect_error 401 unauthorized
	expect_header WWW-Authenticate '^Bearer'
}

@test "a token signed by the dev key with good claims is accepted (control for the cases below)" {
	api "$(mint_token "$(claims 300)")" GET /api/users/me
	expect_status 200
	expect_json '.id' '"auth0|seed-client"'
}

@test "an expired token (exp 300 s ago, beyond the 60 s leeway) is 401" {
	api "$(mint_token "$(claims -300 -600 -600)")" GET /api/deliverables
	expect_error 401 unauthorized
	expect_header WWW-Authenticate '^Bearer'
}

@test "a token without exp is 401" {
	api "$(mint_token "$(claims -)")" GET /api/deliverables
	expect_error 401 unauthorized
}

@test "a token not yet valid (nbf, iat 300 s ahead) is 401" {
	api "$(mint_token "$(claims 600 300 0)")" GET /api/deliverables
	expect_error 401 unauthorized
	api "$(mint_token "$(claims 600 0 300)")" GET /api/deliverables
	expect_error 401 unauthorized
}

@test "wrong audience or issuer is 401" {
	api "$(AUTH0_AUDIENCE=https://other.example dev_token --role admin)" GET /api/deliverables
	expect_error 401 unauthorized
	api "$(AUTH_ISSUER=https://evil.example/ dev_token --role admin)" GET /api/deliverables
	expect_error 401 unauthorized
}

@test "alg none and a tampered payload are 401" {
	local none payload tampered
	none="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(claims 300 | b64url)."
	api "$none" GET /api/deliverables
	expect_error 401 unauthorized
	# The client's signature over an admin's claims.
	payload=$(printf '%s' "$(claims 300)" | sed 's/seed-client/seed-admin/' | b64url)
	tampered=$(awk -F. -v p="$payload" '{ print $1 "." p "." $3 }' <<<"$CLIENT")
	api "$tampered" GET /api/users
	expect_error 401 unauthorized
}

@test "unknown /api routes are 404 with or without a token" {
	api none GET /api/nope
	expect_error 404 not_found
	api garbage GET /api/nope
	expect_error 404 not_found
	api admin GET /api/nope
	expect_error 404 not_found
	api admin GET /api/deliverables/1/extra
	expect_error 404 not_found
	api none GET /api/deliverables/1/extra
	expect_error 404 not_found
}

@test "the promotion takes effect on every worker within the role cache lifetime (30 s)" {
	local at now
	at=$(cat "$BATS_FILE_TMPDIR/promoted_at") || fail "the promotion test did not run" || return 1
	now=$(date +%s)
	# Every process has dropped a cached "client" 30 s after the change.
	[ $((at + 31 - now)) -le 0 ] || sleep $((at + 31 - now))
	local i
	for ((i = 1; i <= 4; i++)); do
		api "$PROMOTED" PATCH /api/deliverables/3 "{\"owner\":\"Promoted $i\"}"
		expect_status 200
		expect_json '.owner' "\"Promoted $i\""
	done
	api "$PROMOTED" POST /api/updates '{"title":"After promotion","body":"b","type":"progress"}'
	expect_status 201
	expect_json '.author.id' '"auth0|routes-promoted"'
	api "$PROMOTED" GET /api/users/me
	expect_json '.role' '"team"'
	# team, not admin: still no deliverable creation.
	api "$PROMOTED" POST /api/deliverables '{"name":"x","month":1}'
	expect_error 403 forbidden
}
