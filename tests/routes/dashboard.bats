#!/usr/bin/env bats
# The dashboard (SPEC §5): every figure against the seed, unread counts per
# caller, the latest 5 updates, and figures following writes; the digest
# route (its LLM is a closed local port here: the answer must fall back to
# the built-in summary, never to an error).

load helpers

setup_file() {
	DIGEST_API_URL="http://127.0.0.1:$(free_port)/v1"
	DIGEST_API_KEY=routes-test-key
	DIGEST_MODEL=routes-test-model
	export DIGEST_API_URL DIGEST_API_KEY DIGEST_MODEL
	routes_stack_start
}
teardown_file() { routes_stack_stop; }

@test "dashboard figures for the seed: overall 42.1, by_status, by_month" {
	api client GET /api/dashboard
	expect_status 200
	expect_json '.overall_progress' '42.1'
	expect_raw '"overall_progress": ?42\.1[,}]'
	expect_json '.deliverables.total' 12
	expect_json '.deliverables.by_status | [.COMPLETED,.IN_PROGRESS,.NOT_STARTED,.BLOCKED]' '[3,3,5,1]'
	expect_json '.deliverables.by_status | keys' '["BLOCKED","COMPLETED","IN_PROGRESS","NOT_STARTED"]'
	expect_json '[.deliverables.by_month[] | [.month,.total,.completed,.progress]]' '[[1,4,3,95],[2,4,0,31.3],[3,4,0,0]]'
	expect_raw '"progress": ?31\.3[,}]'
	expect_true '.generated_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$")'
}

@test "dashboard metrics carry progress (77.1, 70, 24, 64.2) in id order" {
	api team GET /api/dashboard
	expect_status 200
	expect_json '[.metrics[] | [.id,.progress]]' '[[1,77.1],[2,70],[3,24],[4,64.2]]'
	expect_json '.metrics[3] | [.name,.baseline_value,.current_value,.target_value]' '["Takeoff Error Rate",12.5,6.4,3]'
}

@test "dashboard recent_updates are the seeded 3 newest first; unread_updates 3" {
	api admin GET /api/dashboard
	expect_status 200
	expect_json '[.recent_updates[].created_at]' '["2026-02-18T14:10:00Z","2026-02-12T09:30:00Z","2026-01-30T17:00:00Z"]'
	expect_json '[.recent_updates[] | has("read_by")] | any' false
	expect_json '[.recent_updates[] | .read]' '[false,false,false]'
	expect_json '.unread_updates' 3
}

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

@test "dashboard figures follow writes (deliverable completed, metric changed)" {
	api team PATCH /api/deliverables/9 '{"status":"COMPLETED"}'
	expect_status 200
	api team PATCH /api/metrics/4 '{"current_value":4.1}'
	expect_status 200
	api client GET /api/dashboard
	expect_status 200
	# (505 + 100) / 12 = 50.416...
	expect_json '.overall_progress' '50.4'
	expect_json '.deliverables.by_status | [.COMPLETED,.IN_PROGRESS,.NOT_STARTED,.BLOCKED]' '[4,3,4,1]'
	expect_json '[.deliverables.by_month[] | [.month,.total,.completed,.progress]]' '[[1,4,3,95],[2,4,0,31.3],[3,4,1,25]]'
	expect_json '[.metrics[] | select(.id == 4) | .progress]' '[88.4]'
	expect_raw '"current_value": ?4\.1[,}]'
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

@test "GET /api/digest?days=90 and days=1 set the window" {
	api team GET '/api/digest?days=90'
	expect_status 200
	expect_true '(.period.to | fromdateiso8601) - (.period.from | fromdateiso8601) == 90 * 86400'
	api team GET '/api/digest?days=1'
	expect_status 200
	expect_true '(.period.to | fromdateiso8601) - (.period.from | fromdateiso8601) == 86400'
}

@test "GET /api/digest with days out of 1-90 or not a number is 400 naming days" {
	local d
	for d in 0 91 x -1; do
		api client GET "/api/digest?days=$d"
		expect_error 400 validation_error days || fail "days=$d" || return 1
	done
}
