#!/usr/bin/env bats
# Metrics (SPEC §5): progress figures, exact numbers, history, versions,
# create / delete with roles.

load helpers

setup_file() { routes_stack_start; }
teardown_file() { routes_stack_stop; }

@test "GET /api/metrics lists the 4 seeded metrics by id with progress" {
	api client GET /api/metrics
	expect_status 200
	expect_json '[.items[].id]' '[1,2,3,4]'
	expect_json '[.items[].progress]' '[77.1,70,24,64.2]'
	expect_raw '"progress": ?77\.1[,}]'
	expect_raw '"progress": ?64\.2[,}]'
	expect_json '[.items[].higher_is_better]' '[true,true,true,false]'
	expect_json '.items[3] | [.name,.unit,.baseline_value,.current_value,.target_value,.version]' \
		'["Takeoff Error Rate","%",12.5,6.4,3,1]'
}

@test "GET /api/metrics/4 answers one metric with history and ETag" {
	api team GET /api/metrics/4
	expect_status 200
	expect_header ETag '^"1"$'
	expect_json '[.id,.name,.unit]' '[4,"Takeoff Error Rate","%"]'
	expect_raw '"baseline_value": ?12\.5[,}]'
	expect_raw '"current_value": ?6\.4[,}]'
	expect_true '.history | type == "array"'
	expect_json '.progress' '64.2'
}

@test "GET /api/metrics/99 is 404 not_found" {
	api client GET /api/metrics/99
	expect_error 404 not_found
}

@test "PATCH current_value 4.1 on metric 4 reads back exactly 4.1, history +1 newest last" {
	api client GET /api/metrics/4
	local n
	n=$(jb '.history | length')

	api team PATCH /api/metrics/4 '{"current_value":4.1,"version":1}'
	expect_status 200
	expect_raw '"current_value": ?4\.1[,}]'
	expect_json '[.version,.progress]' '[2,88.4]'

	api client GET /api/metrics/4
	expect_status 200
	expect_raw '"current_value": ?4\.1[,}]'
	expect_json '.history | length' "$((n + 1))"
	# The newest entry is last: its value is 4.1 (as spelled) and its time is the latest.
	local last
	last=$(jq -c '.history[-1]' <<<"$BODY")
	grep -Eq '"value": ?4\.1[,}]' <<<"$last" || fail "last history entry is not 4.1: $last"
	expect_true '.history | (.[-1].at) >= (map(.at) | max)'
	expect_true '.history[-1].at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")'
	expect_header ETag '^"2"$'
}

@test "PATCH a metric with a stale version is 409 and nothing changes" {
	api client GET /api/metrics/4
	local n
	n=$(jb '.history | length')
	api team PATCH /api/metrics/4 '{"current_value":9,"version":1}'
	expect_error 409 conflict
	api team PATCH /api/metrics/4 '{"current_value":9}' -H 'If-Match: "1"'
	expect_error 409 conflict
	api client GET /api/metrics/4
	expect_raw '"current_value": ?4\.1[,}]'
	expect_json '[.version, (.history | length)]' "[2,$n]"
}

@test "PATCH target_value updates progress and does not grow history" {
	api client GET /api/metrics/2
	local n
	n=$(jb '.history | length')
	api team PATCH /api/metrics/2 '{"target_value":60}' -H 'If-Match: 1'
	expect_status 200
	expect_json '[.target_value,.current_value,.progress,.version]' '[60,35,58.3,2]'
	api client GET /api/metrics/2
	expect_json '.history | length' "$n"
}

@test "metric progress is clamped to 0-100" {
	api team PATCH /api/metrics/3 '{"current_value":250}'
	expect_status 200
	expect_json '.progress' 100
	api team PATCH /api/metrics/3 '{"current_value":-10}'
	expect_status 200
	expect_json '.progress' 0
	api client GET /api/metrics
	expect_json '[.items[] | select(.id == 3) | .progress]' '[0]'
}

@test "PATCH metric validation: wrong type, not-updatable field, {} are 400" {
	api team PATCH /api/metrics/1 '{"current_value":"high"}'
	expect_error 400 validation_error current_value
	api team PATCH /api/metrics/1 '{"history":[]}'
	expect_error 400 validation_error history
	api team PATCH /api/metrics/1 '{}'
	expect_error 400 validation_error
	api client GET /api/metrics/1
	expect_json '[.current_value,.version]' '[87,1]'
}

@test "client cannot PATCH a metric (403)" {
	api client PATCH /api/metrics/1 '{"current_value":90}'
	expect_error 403 forbidden
	api client GET /api/metrics/1
	expect_json '[.current_value,.version]' '[87,1]'
}

@test "POST /api/metrics (admin): 201, Location, current_value defaults to the baseline" {
	api admin POST /api/metrics '{"name":"Bid Turnaround","unit":"days","baseline_value":10,"target_value":4}'
	expect_status 201
	expect_header Location '^(https?://[^/]+)?/api/metrics/5$'
	expect_json '[.id,.name,.unit,.baseline_value,.current_value,.target_value,.higher_is_better,.version]' \
		'[5,"Bid Turnaround","days",10,10,4,true,1]'
	api client GET /api/metrics
	expect_json '[.items[].id]' '[1,2,3,4,5]'
	expect_json '[.items[] | select(.id == 5) | .progress]' '[0]'
}

@test "metric progress rounds halves away from zero (6.25 -> 6.3); target = baseline reached is 100" {
	api admin POST /api/metrics '{"id":20,"name":"Half","unit":"n","baseline_value":0,"target_value":64,"current_value":4}'
	expect_status 201
	api client GET /api/metrics/20
	expect_status 200
	expect_json '.progress' '6.3'
	api admin POST /api/metrics '{"id":21,"name":"Flat","unit":"n","baseline_value":5,"target_value":5,"current_value":5}'
	expect_status 201
	api client GET /api/metrics/21
	expect_json '.progress' 100
}

@test "POST /api/metrics without unit is 400 naming unit" {
	api admin POST /api/metrics '{"name":"No unit","baseline_value":0,"target_value":1}'
	expect_error 400 validation_error unit
}

@test "team cannot create or delete metrics (403)" {
	api team POST /api/metrics '{"id":30,"name":"By team","unit":"n","baseline_value":0,"target_value":1}'
	expect_error 403 forbidden
	api admin GET /api/metrics/30
	expect_error 404 not_found
	api team DELETE /api/metrics/1
	expect_error 403 forbidden
	api client GET /api/metrics/1
	expect_status 200
}

@test "DELETE /api/metrics/5 (admin) is 204, then 404" {
	api admin DELETE /api/metrics/5
	expect_status 204
	api client GET /api/metrics/5
	expect_error 404 not_found
}

@test "history is capped at 100 points, newest last, oldest dropped" {
	local i
	api admin POST /api/metrics '{"id":60,"name":"Cap","unit":"count","baseline_value":0,"target_value":2000}'
	expect_status 201
	for i in $(seq 1 105); do
		api team PATCH /api/metrics/60 "{\"current_value\": $((1000 + i))}"
		expect_status 200 || return 1
	done
	api client GET /api/metrics/60
	expect_status 200
	expect_json '.history | length' 100
	expect_json '.history[-1].value' 1105
	expect_json '.history[-2].value' 1104
	expect_json '.history[0].value' 1006
	expect_json '.current_value' 1105
	expect_json '.version' 106
}

@test "concurrent PATCHes without a version all succeed and each lands in history" {
	local before after pids=() i
	api admin POST /api/metrics '{"id":61,"name":"Race","unit":"count","baseline_value":0,"target_value":500}'
	expect_status 201
	before=$(jb '.version')
	for i in $(seq 1 20); do
		curl -s -o /dev/null -w '%{http_code}\n' -X PATCH -H "Authorization: Bearer $TEAM" \
			-H 'Content-Type: application/json' -d "{\"current_value\": $((200 + i))}" \
			"$STACK_URL/api/metrics/61" >"$BATS_TEST_TMPDIR/c$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	[ "$(cat "$BATS_TEST_TMPDIR"/c* | grep -c '^200$')" -eq 20 ] || fail "not all 200: $(cat "$BATS_TEST_TMPDIR"/c* | tr '\n' ' ')"
	api client GET /api/metrics/61
	after=$(jb '.version')
	[ "$after" -eq $((before + 20)) ] || fail "version $before -> $after, expected +20"
	expect_true '[.history[].value | select(. > 200 and . <= 220)] | length == 20'
}
