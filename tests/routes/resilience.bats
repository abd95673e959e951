#!/usr/bin/env bats
# shellcheck disable=SC2034 # HDRS, BODY, HTTP_STATUS are read by the helpers
# Resilience (issue 4): a killed worker is replaced and the next requests
# succeed; the store stopped -> /api/health 503 "degraded" and routes 503
# unavailable with Retry-After; back to 200 when the store returns.

load helpers

setup_file() { routes_stack_start; }
teardown_file() { routes_stack_stop; }

# Seconds a killed worker has to be replaced and served again.
REPLACE_S=3

# The worker processes (children of the supervisor), one per line, sorted.
workers() {
	pgrep -P "$(cat "$STACK_DIR/run/portal-fcgi.pid")" | sort -n
}

# Requests GET PATH as WHO until it answers 200, for up to REPLACE_S seconds.
until_ok() {
	local who=$1 path=$2 i
	for ((i = 0; i < REPLACE_S * 10; i++)); do
		api "$who" GET "$path"
		[ "$HTTP_STATUS" = 200 ] && return 0
		sleep 0.1
	done
	fail "no 200 within ${REPLACE_S} s; last: $(_seen)"
}

# Waits up to REPLACE_S seconds for the supervisor to have N workers, none of
# them in the list $2 (the killed ones).
until_replaced() {
	local n=$1 killed=$2 now i p gone
	for ((i = 0; i < REPLACE_S * 10; i++)); do
		now=$(workers)
		gone=1
		for p in $killed; do
			grep -qx "$p" <<<"$now" && gone=0
		done
		if [ "$gone" = 1 ] && [ "$(grep -c . <<<"$now")" -eq "$n" ]; then
			return 0
		fi
		sleep 0.1
	done
	fail "workers not replaced within ${REPLACE_S} s: had $(tr '\n' ' ' <<<"$killed"), now $(tr '\n' ' ' <<<"$now")"
}

# Runs `api WHO METHOD PATH [BODY]` in the background; its answer is read
# back with collect NAME.
in_background() {
	local name=$1
	shift
	mkdir -p "$BATS_TEST_TMPDIR/$name"
	# shellcheck disable=SC2030 # on purpose: this call's own files
	(
		BATS_TEST_TMPDIR=$BATS_TEST_TMPDIR/$name
		api "$@"
		printf '%s' "$HTTP_STATUS" >"$BATS_TEST_TMPDIR/status"
	) &
}

# Loads the answer of a background call into HTTP_STATUS, BODY, HDRS.
collect() {
	# shellcheck disable=SC2031
	local d=$BATS_TEST_TMPDIR/$1
	HTTP_STATUS=$(cat "$d/status" 2>/dev/null || echo 000)
	BODY=$(cat "$d/body" 2>/dev/null)
	HDRS=$d/headers # read by hdr (helpers.bash)
}

@test "the stack runs several workers under one supervisor" {
	local n
	n=$(workers | grep -c .)
	[ "$n" -ge 2 ] || fail "expected at least 2 worker processes, found $n"
	api admin GET /api/deliverables
	expect_status 200
}

@test "kill -9 of one worker: the next requests succeed and the worker is replaced" {
	local before victim after i
	before=$(workers)
	victim=$(head -n 1 <<<"$before")
	kill -9 "$victim"
	until_ok admin /api/deliverables
	expect_json '.count' 12
	until_replaced "$(grep -c . <<<"$before")" "$victim"
	after=$(workers)
	[ -n "$(comm -13 <(sort <<<"$before") <(sort <<<"$after"))" ] || fail "no new worker pid: $after"
	# Every request now succeeds, on whichever worker it lands.
	for ((i = 0; i < 20; i++)); do
		api client GET /api/deliverables/5
		expect_status 200 || return 1
		expect_json '.id' 5 || return 1
	done
}

@test "kill -9 of every worker: all replaced, service back within ${REPLACE_S} s" {
	local before i
	before=$(workers)
	# shellcheck disable=SC2086
	kill -9 $before
	until_ok admin /api/metrics
	expect_json '[.items[].id]' '[1,2,3,4]'
	until_replaced "$(grep -c . <<<"$before")" "$before"
	for ((i = 0; i < 10; i++)); do
		api team GET /api/dashboard
		expect_status 200 || return 1
	done
	kill -0 "$(cat "$STACK_DIR/run/portal-fcgi.pid")" || fail "the supervisor died"
}

@test "store stopped: /api/health 503 degraded; routes 503 unavailable with Retry-After" {
	local newcomer
	# A user no worker has seen: authentication itself needs the store.
	newcomer=$(dev_token --sub 'auth0|routes-outage' --email outage@routes.example)
	api admin GET /api/dashboard
	expect_status 200

	kill -STOP "$DYNALITE_PID"
	sleep 1.1 # health caches a good answer for 1 s
	in_background health none GET /api/health
	in_background list admin GET /api/deliverables
	in_background one client GET /api/metrics/1
	in_background newcomer "$newcomer" GET /api/users/me
	wait

	collect health
	expect_status 503
	expect_json '.status' '"degraded"'
	expect_true '.dynamodb != "ok"'

	local c
	for c in list one newcomer; do
		collect "$c"
		expect_error 503 unavailable || fail "call $c" || return 1
		expect_header Retry-After '^[0-9]+$' || fail "call $c" || return 1
		expect_header X-Request-Id '.' || fail "call $c" || return 1
		# No internals leaked.
		if grep -Eqi "127\.0\.0\.1|$DYNALITE_PORT|curl|dynamo[a-z]*exception|errno" <<<"$BODY"; then
			fail "internals in the 503 body: $BODY"
			return 1
		fi
	done
}

@test "store back: health 200 and routes 200 again" {
	kill -CONT "$DYNALITE_PID"
	local i ok=0
	for ((i = 0; i < 50; i++)); do
		api none GET /api/health
		if [ "$HTTP_STATUS" = 200 ]; then
			ok=1
			break
		fi
		sleep 0.1
	done
	[ "$ok" = 1 ] || fail "health not back within 5 s: $(_seen)" || return 1
	expect_json '[.status,.dynamodb]' '["ok","ok"]'
	api admin GET /api/deliverables
	expect_status 200
	expect_json '.count' 12
	api "$(dev_token --sub 'auth0|routes-outage' --email outage@routes.example)" GET /api/users/me
	expect_status 200
	expect_json '[.id,.role]' '["auth0|routes-outage","client"]'
}
