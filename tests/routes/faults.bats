#!/usr/bin/env bats
# shellcheck disable=SC2034 # HDRS, BODY, HTTP_STATUS are read by the helpers
# Store faults (issue 10, SPEC §5 "Time budget, retries and writes that must
# not happen twice"): the real stack talks to dynalite through
# tests/lib/faultproxy.py, which hangs, answers late (after the store applied
# the write), throttles or fails on demand. Every outcome is read back.

load helpers

# The request budget of this stack (PORTAL_REQUEST_TIMEOUT_MS).
BUDGET_MS=5000
# What the answer may take beyond the budget (curl, nginx, a loaded machine).
MARGIN_MS=700

setup_file() {
	export PORTAL_REQUEST_TIMEOUT_MS=$BUDGET_MS
	routes_fault_stack_start
}

teardown_file() {
	routes_fault_stack_stop
}

teardown() {
	fault_clear
}

# calls_log: the proxy's log of store calls (JSON array).
calls_log() {
	curl -sf "$FAULT_URL/_log"
}

now_ms() {
	date +%s%3N
}

# timed_api ARGS...: api, and ELAPSED_MS / T0_MS for it.
timed_api() {
	T0_MS=$(now_ms)
	api "$@"
	ELAPSED_MS=$(($(now_ms) - T0_MS))
}

# A metric to write to; prints its id.
new_metric() {
	api admin POST /api/metrics "{\"name\":\"$1\",\"unit\":\"%\",\"baseline_value\":0,\"target_value\":100}"
	expect_status 201 || return 1
	jb .id
}

@test "hung store: 503 + Retry-After within the budget, and no store call starts after the deadline" {
	api admin GET /api/users/me
	expect_status 200
	fault '[{"action":"hang"}]'
	timed_api admin GET /api/deliverables/1
	expect_error 503 unavailable
	expect_header Retry-After '^[0-9]+$'
	[ "$ELAPSED_MS" -le $((BUDGET_MS + MARGIN_MS)) ] ||
		fail "answered after ${ELAPSED_MS} ms; budget ${BUDGET_MS} ms"
	[ "$ELAPSED_MS" -ge $((BUDGET_MS - 1500)) ] ||
		fail "gave up after ${ELAPSED_MS} ms, well before the budget: no retries?"
	# Let anything late show up, then check when the calls started.
	sleep 1.5
	local log late n
	log=$(calls_log)
	n=$(jq length <<<"$log")
	[ "$n" -ge 1 ] || fail "the proxy saw no store call"
	late=$(jq --argjson limit $((T0_MS + BUDGET_MS)) '[.[] | select(.start_ms > $limit)] | length' <<<"$log")
	[ "$late" = 0 ] || fail "$late store calls started after the deadline: $log"
}

@test "hung store on a write: PATCH answers 503 within the budget" {
	local id
	id=$(new_metric hung-write)
	fault '[{"action":"hang","ops":["UpdateItem"]}]'
	timed_api team PATCH "/api/metrics/$id" '{"current_value":5}'
	expect_error 503 unavailable
	expect_header Retry-After '^[0-9]+$'
	[ "$ELAPSED_MS" -le $((BUDGET_MS + MARGIN_MS)) ] ||
		fail "answered after ${ELAPSED_MS} ms; budget ${BUDGET_MS} ms"
	# A hung write was never forwarded: nothing changed.
	fault_clear
	api admin GET "/api/metrics/$id"
	expect_json .version 1
	expect_json '.history | length' 1
}

@test "a store that always throttles: 503 + Retry-After within the budget" {
	fault '[{"action":"throttle"}]'
	timed_api admin GET /api/metrics
	expect_error 503 unavailable
	expect_header Retry-After '^[0-9]+$'
	[ "$ELAPSED_MS" -le $((BUDGET_MS + MARGIN_MS)) ] ||
		fail "answered after ${ELAPSED_MS} ms"
}

@test "throttled twice, then served: the retries inside the budget succeed" {
	api admin GET /api/users/me
	fault '[{"action":"throttle","ops":["Scan"],"times":2}]'
	api admin GET /api/metrics
	expect_status 200
	[ "$(calls_log | jq '[.[] | select(.op == "Scan")] | length')" -ge 3 ] ||
		fail "expected the Scan to be retried: $(calls_log)"
}

@test "a metric PATCH answered late is applied once: one history point, version + 1" {
	local id
	id=$(new_metric late-patch)
	# The store applies the first UpdateItem; its answer comes after the attempt's time-out.
	fault '[{"action":"delay","ops":["UpdateItem"],"times":1,"delay_ms":4500}]'
	api team PATCH "/api/metrics/$id" '{"current_value":42}'
	fault_clear
	# The retry found its own first attempt applied: a success.
	expect_status 200
	expect_json .version 2
	api admin GET "/api/metrics/$id"
	expect_json .version 2
	expect_json '[.history[].value]' '[0,42]'
	expect_json .current_value 42
}

@test "a metric PATCH whose store answer is a 200 cut short is applied once" {
	local id
	id=$(new_metric cut-patch)
	# The store applies the UpdateItem; its 200 ends half-way (no length, closed).
	fault '[{"action":"cut200","ops":["UpdateItem"],"times":1}]'
	api team PATCH "/api/metrics/$id" '{"current_value":43}'
	fault_clear
	expect_status 200
	expect_json .version 2
	api admin GET "/api/metrics/$id"
	expect_json .version 2
	expect_json '[.history[].value]' '[0,43]'
	expect_json .current_value 43
}

@test "a PATCH whose store answer is a 500 after applying is applied once" {
	api admin POST /api/deliverables '{"name":"apply500","month":3}'
	expect_status 201
	local id
	id=$(jb .id)
	fault '[{"action":"apply500","ops":["UpdateItem"],"times":1}]'
	api team PATCH "/api/deliverables/$id" '{"completion_percentage":40}'
	fault_clear
	expect_status 200
	expect_json .version 2
	api admin GET "/api/deliverables/$id"
	expect_json .version 2
	expect_json .completion_percentage 40
}

@test "a POST /api/updates answered late creates exactly one update, answered 201" {
	local title=late-update-$RANDOM$RANDOM
	fault '[{"action":"delay","ops":["PutItem"],"times":1,"delay_ms":4500}]'
	api team POST /api/updates "{\"title\":\"$title\",\"body\":\"b\",\"type\":\"progress\"}"
	fault_clear
	expect_status 201
	expect_header Location '^/api/updates/'
	local id
	id=$(jb .id)
	api team GET /api/updates?limit=100
	expect_status 200
	[ "$(jb "[.items[] | select(.title == \"$title\")] | length")" = 1 ] ||
		fail "expected one update titled $title: $BODY"
	api team GET "/api/updates/$id"
	expect_status 200
	expect_json .title "\"$title\""
}

@test "a POST /api/deliverables (no id) answered 500 after applying creates one item" {
	local name=apply500-create-$RANDOM$RANDOM
	fault '[{"action":"apply500","ops":["PutItem"],"times":1}]'
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":4}"
	fault_clear
	expect_status 201
	api admin GET /api/deliverables
	[ "$(jb "[.items[] | select(.name == \"$name\")] | length")" = 1 ] ||
		fail "expected exactly one deliverable named $name: $BODY"
}

@test "a DELETE answered late deletes and answers 204 (the retry finds it gone)" {
	local id
	id=$(new_metric late-delete)
	fault '[{"action":"delay","ops":["DeleteItem"],"times":1,"delay_ms":4500}]'
	api admin DELETE "/api/metrics/$id"
	fault_clear
	expect_status 204
	api admin GET "/api/metrics/$id"
	expect_status 404
}

@test "PORTAL_REQUEST_TIMEOUT_MS out of range or malformed stops start-up with one line naming it" {
	local v sock
	for v in 999 29001 abc 5000ms -1 1e3; do
		sock=$BATS_TEST_TMPDIR/bad.sock
		run env PORTAL_REQUEST_TIMEOUT_MS="$v" timeout 10 "$STACK_BUILDDIR/cgi-bin/portal-fcgi" --socket "$sock" --processes 1 --threads 1
		[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "PORTAL_REQUEST_TIMEOUT_MS='$v': exit $status: $output"
		[[ $output == *PORTAL_REQUEST_TIMEOUT_MS* ]] || fail "PORTAL_REQUEST_TIMEOUT_MS='$v': $output"
		[ "$(grep -c . <<<"$output")" -eq 1 ] || fail "more than one line: $output"
	done
	run env PORTAL_REQUEST_TIMEOUT_MS=1000 "$STACK_BUILDDIR/portalctl/portalctl" tables describe deliverables
	[ "$status" -eq 0 ] || fail "1000 is in range: $output"
}

@test "a POST with an explicit id answered late: 201 once, and the item is the one sent" {
	local id=$((900000 + RANDOM))
	fault '[{"action":"delay","ops":["PutItem"],"times":1,"delay_ms":4500}]'
	api admin POST /api/metrics "{\"id\":$id,\"name\":\"explicit-late\",\"unit\":\"u\",\"baseline_value\":1.5,\"target_value\":10}"
	fault_clear
	expect_status 201
	expect_json .id "$id"
	api admin GET "/api/metrics/$id"
	expect_status 200
	expect_json .version 1
	expect_json '.history | length' 1
	# Another create of that id is a conflict, as before.
	api admin POST /api/metrics "{\"id\":$id,\"name\":\"other\",\"unit\":\"u\",\"baseline_value\":0,\"target_value\":10}"
	expect_error 409 conflict
}

@test "a create whose put timed out does not claim another writer's item at its drawn id" {
	local name=hung-create-$RANDOM$RANDOM other=taken-$RANDOM$RANDOM drawn id
	api admin POST /api/deliverables "{\"name\":\"$name-probe\",\"month\":2}"
	expect_status 201
	drawn=$(($(jb .id) + 1))
	# The create draws $drawn; its PutItem hangs (never forwarded) until the
	# attempt times out, and is then sent again under its condition.
	fault '[{"action":"hang","ops":["PutItem"],"times":1}]'
	mkdir -p "$BATS_TEST_TMPDIR/first"
	(
		BATS_TEST_TMPDIR=$BATS_TEST_TMPDIR/first
		api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":2}"
		printf '%s' "$HTTP_STATUS" >"$BATS_TEST_TMPDIR/status"
		printf '%s' "$BODY" >"$BATS_TEST_TMPDIR/body"
	) &
	local first=$!
	sleep 1
	# Meanwhile another writer creates an item under that id.
	api admin POST /api/deliverables "{\"id\":$drawn,\"name\":\"$other\",\"month\":3}"
	expect_status 201
	wait "$first"
	fault_clear
	[ "$(cat "$BATS_TEST_TMPDIR/first/status")" = 201 ] ||
		fail "first: $(cat "$BATS_TEST_TMPDIR/first/status") $(cat "$BATS_TEST_TMPDIR/first/body")"
	BODY=$(cat "$BATS_TEST_TMPDIR/first/body")
	expect_json .name "\"$name\""
	id=$(jb .id)
	[ "$id" != "$drawn" ] || fail "the create answered 201 for $drawn, which holds $other"
	api admin GET "/api/deliverables/$id"
	expect_json .name "\"$name\""
	api admin GET "/api/deliverables/$drawn"
	expect_json .name "\"$other\""
	api admin GET /api/deliverables
	[ "$(jb "[.items[] | select(.name == \"$name\")] | length")" = 1 ] ||
		fail "expected exactly one deliverable named $name: $BODY"
}
