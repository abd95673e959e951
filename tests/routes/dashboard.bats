#!/usr/bin/env bats
# The dashboard through the real stack: unread counts per caller, the latest
# 5 updates; the digest route (its LLM is a closed local port here: the answer
# must fall back to the built-in summary, never to an error). The figures
# against the seed and after writes, and the digest's window, are data in
# tests/cases/routes.cases.

load helpers

setup_file() {
	DIGEST_API_URL="http://127.0.0.1:$(free_port)/v1"
	DIGEST_API_KEY=routes-test-key
	DIGEST_MODEL=routes-test-model
	export DIGEST_API_URL DIGEST_API_KEY DIGEST_MODEL
	routes_stack_start
}
teardown_file() { routes_stack_stop; }

@test "unread_updates is per caller" {
	api client GET /api/updates
	local id
	id=$(jb '.items[0].id')
	api client POST "/api/updates/$id/read"
	expect_status 200
	api client GET /api/dashboard
	expect_json '.unread_updates' 2
	expect_json '[.recent_updates[] | .read]' '[true,false,false]'
	api admin GET /api/dashboard
	expect_json '.unread_updates' 3
	expect_json '[.recent_updates[0] | .read, .read_count]' '[false,1]'
}

@test "recent_updates holds at most 5, newest first" {
	local i last
	for ((i = 1; i <= 4; i++)); do
		api team POST /api/updates "{\"title\":\"Dashboard update $i\",\"body\":\"b\",\"type\":\"progress\"}"
		expect_status 201
		last=$(jb .id)
		sleep 1.05 # distinct created_at seconds: the order is then unambiguous
	done
	api client GET /api/dashboard
	expect_status 200
	expect_json '.recent_updates | length' 5
	expect_json '.recent_updates[0].id' "\"$last\""
	expect_json '[.recent_updates[].title]' \
		'["Dashboard update 4","Dashboard update 3","Dashboard update 2","Dashboard update 1","Symbol recognition at 60%"]'
	expect_json '.unread_updates' 6
	api admin GET /api/dashboard
	expect_json '.unread_updates' 7
}

@test "GET /api/digest: 200, a markdown digest, period of 7 days ending now; LLM down -> builtin" {
	local now
	now=$(date +%s)
	api client GET /api/digest
	expect_status 200
	expect_json '.source' '"builtin"'
	expect_true '.digest | type == "string" and length > 20'
	expect_true '(.period.to | fromdateiso8601) - (.period.from | fromdateiso8601) == 7 * 86400'
	expect_true "((.period.to | fromdateiso8601) - $now | fabs) < 120"
	expect_true '.generated_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$")'
}
