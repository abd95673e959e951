#!/usr/bin/env bats
# One URL per resource (SPEC §5 conventions): a trailing slash, an empty
# segment, a dot segment or an encoded letter in a route name is no alias of
# the route: 404 not_found (JSON, X-Request-Id), through nginx and the
# workers alike. Requests go out with curl --path-as-is, as sent.

load helpers

setup_file() { routes_stack_start; }
teardown_file() { routes_stack_stop; }

# expect_alias_404 METHOD PATH [BODY]: 404 not_found with a request id.
expect_alias_404() {
	api admin "$1" "$2" "${3--}" --path-as-is
	expect_error 404 not_found || fail "$1 $2" || return 1
	expect_header X-Request-Id '.' || fail "$1 $2"
}

@test "the canonical paths answer (the control for the aliases below)" {
	api none GET /api/health
	expect_status 200
	api admin GET /api/deliverables
	expect_status 200
	api admin GET /api/deliverables/1
	expect_status 200
	api admin GET /api/users/me
	expect_status 200
}

@test "an empty segment is 404: /api//health, /api//deliverables, /api/deliverables//1" {
	expect_alias_404 GET /api//health
	expect_alias_404 GET /api//deliverables
	expect_alias_404 GET /api/deliverables//1
	expect_alias_404 GET '/api//users/me'
}

@test "a doubled leading slash is 404: //api/health, //api/deliverables" {
	expect_alias_404 GET //api/health
	expect_alias_404 GET //api/deliverables
}

@test "a trailing slash is 404: /api/deliverables/, /api/health/, /api/deliverables/1/" {
	expect_alias_404 GET /api/deliverables/
	expect_alias_404 GET /api/health/
	expect_alias_404 GET /api/deliverables/1/
	expect_alias_404 GET /api/users/me/
	expect_alias_404 GET /api/metrics/
}

@test "/api and /api/ are 404 with a request id" {
	expect_alias_404 GET /api
	expect_alias_404 GET /api/
}

@test "dot segments and encoded route names are no aliases: /api/./health, /api/x/../health, /api/%68ealth" {
	expect_alias_404 GET /api/./health
	expect_alias_404 GET /api/x/../health
	expect_alias_404 GET /api/%68ealth
	expect_alias_404 GET /api/deliverables/./1
}

@test "writes through an alias are 404 and change nothing" {
	expect_alias_404 POST /api/deliverables/ '{"name":"via alias","month":1}'
	expect_alias_404 PATCH /api/deliverables//1 '{"name":"via alias"}'
	expect_alias_404 DELETE /api/deliverables/2/
	expect_alias_404 POST /api/updates/1/read/
	api admin GET /api/deliverables
	expect_status 200
	expect_json .count 12
	expect_true '[.items[] | select(.name == "via alias")] | length == 0'
	api admin GET /api/deliverables/2
	expect_status 200
}
