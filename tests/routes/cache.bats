#!/usr/bin/env bats
# cache.bats - with the read cache on (PORTAL_CACHE_TTL_MS=60000, two worker
# processes), repeated reads are served without the store, and a client that
# writes and then reads, through whichever worker, sees its write at once.

load helpers

setup_file() {
	PORTAL_CACHE_TTL_MS=60000 STACK_PROCESSES=2 STACK_THREADS=4 routes_stack_start
}

teardown_file() {
	routes_stack_stop
}

# The ddb_calls of the last access-log line for a path.
last_ddb_calls() {
	grep '"msg":"request"' "$STACK_DIR/logs/portal.log" | grep "\"path\":\"$1\"" | tail -1 |
		jq -r .ddb_calls
}

@test "a repeated read is served from the cache (no store call)" {
	local i
	for i in 1 2 3 4 5 6; do
		api client GET /api/metrics
		expect_status 200
	done
	[ "$(last_ddb_calls /api/metrics)" = 0 ] || fail "last GET /api/metrics made $(last_ddb_calls /api/metrics) store calls"
}

@test "a write through one worker is seen by the next reads through every worker" {
	local i
	for i in 1 2 3 4 5 6; do api client GET /api/deliverables; done
	api team PATCH /api/deliverables/7 '{"completion_percentage":55}'
	expect_status 200
	for i in $(seq 1 12); do
		api client GET /api/deliverables
		expect_status 200
		expect_true '.items[] | select(.id == 7) | .completion_percentage == 55' || return 1
		api client GET /api/deliverables?month=2
		expect_true '.items[] | select(.id == 7) | .completion_percentage == 55' || return 1
	done
}

@test "the dashboard reflects a new update and a read receipt at once" {
	local i id before
	for i in 1 2 3 4 5 6; do api client GET /api/dashboard; done
	before=$(jb .unread_updates)
	api team POST /api/updates '{"title":"Cache check","body":"b","type":"progress"}'
	expect_status 201
	id=$(jb .id)
	for i in 1 2 3 4 5 6; do
		api client GET /api/dashboard
		expect_json .recent_updates[0].title '"Cache check"' || return 1
		expect_json .unread_updates "$((before + 1))" || return 1
	done
	api client POST "/api/updates/$id/read"
	expect_status 200
	for i in 1 2 3 4 5 6; do
		api client GET /api/dashboard
		expect_json .unread_updates "$before" || return 1
	done
}

@test "a metric PATCH shows in the list and the dashboard at once" {
	local i
	for i in 1 2 3 4; do api client GET /api/metrics; api client GET /api/dashboard; done
	api team PATCH /api/metrics/2 '{"current_value":45}'
	expect_status 200
	for i in 1 2 3 4 5 6; do
		api client GET /api/metrics
		expect_true '.items[] | select(.id == 2) | .current_value == 45' || return 1
		api client GET /api/dashboard
		expect_true '.metrics[] | select(.id == 2) | .current_value == 45' || return 1
	done
}
