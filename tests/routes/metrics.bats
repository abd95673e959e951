#!/usr/bin/env bats
# Metrics through the real stack: the history cap after 105 writes and
# concurrent PATCHes across workers. Progress figures, exact numbers, history,
# versions and roles are data in tests/cases/routes.cases.

load helpers

setup_file() { routes_stack_start; }
teardown_file() { routes_stack_stop; }

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
