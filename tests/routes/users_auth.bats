#!/usr/bin/env bats
# Users and auth through the real stack: a promotion reaching every worker
# within the role cache lifetime. Profiles, provisioning, PORTAL_ADMINS, role
# validation and 401 for every kind of bad token are data in
# tests/cases/routes.cases.

load helpers

setup_file() {
	routes_stack_start || return 1
	PROMOTED=$(dev_token --sub 'auth0|routes-promoted' --email promoted@routes.example --name 'Promoted User')
	export PROMOTED
}
teardown_file() { routes_stack_stop; }

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
