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
	dynalite_start 3>&- || return 1
	FAULT_DYNALITE_PID=$DYNALITE_PID
	FAULT_UPSTREAM=$AWS_ENDPOINT_URL_DYNAMODB
	FAULT_PORT=$(free_port) || return 1
	FAULT_LOG=$(mktemp "${TMPDIR:-/tmp}/faultproxy-log.XXXXXX")
	python3 "$ROUTES_ROOT/tests/lib/faultproxy.py" --listen "$FAULT_PORT" \
		--upstream "$FAULT_UPSTREAM" >"$FAULT_LOG" 2>&1 3>&- &
	FAULT_PID=$!
	FAULT_URL=http://127.0.0.1:$FAULT_PORT
	export FAULT_PID FAULT_URL FAULT_LOG FAULT_DYNALITE_PID
	stack_wait_http "$FAULT_URL/_log" 10 || { cat "$FAULT_LOG" >&2; return 1; }
	export AWS_ENDPOINT_URL_DYNAMODB=$FAULT_URL
	export PORTAL_REQUEST_TIMEOUT_MS=$BUDGET_MS
	routes_stack_start
}

teardown_file() {
	curl -s -X DELETE "$FAULT_URL/_fault" >/dev/null 2>&1
	routes_stack_stop
	[ -n "${FAULT_PID:-}" ] && kill "$FAULT_PID" 2>/dev/null
	DYNALITE_PID=${FAULT_DYNALITE_PID:-} dynalite_stop
	rm -f "$FAULT_LOG"
	return 0
}

teardown() {
	curl -s -X DELETE "$FAULT_URL/_fault" >/dev/null
}

# fault JSON_RULES: replaces the proxy's rules (an array) and forgets its log.
fault() {
	curl -sf -X PUT --data-binary "{\"rules\":$1}" "$FAULT_URL/_fault" >/dev/null &&
		curl -sf -X DELETE "$FAULT_URL/_log" >/dev/null
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
	curl -s -X DELETE "$FAULT_URL/_fault" >/dev/null
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
	curl -s -X DELETE "$FAULT_URL/_fault" >/dev/null
	# The retry found its own first attempt applied: a success.
	expect_status 200
	expect_json .version 2
	api admin GET "/api/metrics/$id"
	expect_json .version 2
	expect_json '[.history[].value]' '[0,42]'
	expect_json .current_value 42
}

@test "a PATCH whose store answer is a 500 after applying is applied once" {
	api admin POST /api/deliverables '{"name":"apply500","month":3}'
	expect_status 201
	local id
	id=$(jb .id)
	fault '[{"action":"apply500","ops":["UpdateItem"],"times":1}]'
	api team PATCH "/api/deliverables/$id" '{"completion_percentage":40}'
	curl -s -X DELETE "$FAULT_URL/_fault" >/dev/null
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
	curl -s -X DELETE "$FAULT_URL/_fault" >/dev/null
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
	curl -s -X DELETE "$FAULT_URL/_fault" >/dev/null
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
	curl -s -X DELETE "$FAULT_URL/_fault" >/dev/null
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
	curl -s -X DELETE "$FAULT_URL/_fault" >/dev/null
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
