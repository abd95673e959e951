#!/usr/bin/env bats
# shellcheck disable=SC2034 # HDRS, BODY, HTTP_STATUS are read by the helpers
# Idempotency-Key on POST (issue 10, SPEC §5): done once, replayed with
# Idempotent-Replayed: true, 422 for another body, 409 while the first runs,
# a key whose first request failed with 5xx may be retried, keys are per
# user, bad keys are 400 naming the header. Everything is read back. The
# store is reached through tests/lib/faultproxy.py to slow or fail a request.

load helpers

setup_file() {
	routes_fault_stack_start
}

teardown_file() {
	routes_fault_stack_stop
}

teardown() {
	fault_clear
}

# A key no other test uses.
new_key() {
	printf 'key-%s-%s' "$BATS_TEST_NUMBER" "$RANDOM$RANDOM"
}

# post_deliverable_keyed KEY NAME: the admin's POST /api/deliverables (month 5) under that key.
post_deliverable_keyed() {
	api admin POST /api/deliverables "{\"name\":\"$2\",\"month\":5}" -H "Idempotency-Key: $1"
}

# post_update_keyed KEY TITLE: the team's POST /api/updates of that title under that key.
post_update_keyed() {
	api team POST /api/updates "{\"title\":\"$2\",\"body\":\"b\",\"type\":\"progress\"}" \
		-H "Idempotency-Key: $1"
}

# update_first_attempt_503 RULES KEY TITLE: under those fault rules the keyed
# POST answers 503 (the rules are cleared after).
update_first_attempt_503() {
	fault "$1"
	post_update_keyed "$2" "$3"
	fault_clear
	expect_error 503 unavailable
}

# updates_titled TITLE: the ids of the updates with that title, one a line.
updates_titled() {
	api team GET '/api/updates?limit=100'
	jq -r --arg t "$1" '.items[] | select(.title == $t) | .id' <<<"$BODY"
}

# count_deliverables NAME: how many deliverables carry that name.
count_deliverables() {
	api admin GET /api/deliverables
	jq --arg n "$1" '[.items[] | select(.name == $n)] | length' <<<"$BODY"
}

@test "the idempotency table exists with the key schema of SPEC §4" {
	run "$STACK_BUILDDIR/portalctl/portalctl" tables describe --json idempotency
	[ "$status" -eq 0 ] || fail "describe failed: $output"
	jq -e '.KeySchema == [{"AttributeName":"key","KeyType":"HASH"}]' <<<"$output" >/dev/null ||
		fail "unexpected key schema: $output"
}

@test "a repeated POST with the same key is done once and replayed with Idempotent-Replayed" {
	local key name=idem-$RANDOM$RANDOM first_body location
	key=$(new_key)
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_status 201
	expect_no_header Idempotent-Replayed
	first_body=$BODY
	location=$(hdr Location)
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_status 201
	expect_header Idempotent-Replayed '^true$'
	expect_header Location "^${location}\$"
	[ "$BODY" = "$first_body" ] || fail "replayed body differs: $BODY vs $first_body"
	[ "$(count_deliverables "$name")" = 1 ] || fail "the POST was applied more than once"
}

@test "without a key two identical POSTs create two items" {
	local name=nokey-$RANDOM$RANDOM
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}"
	expect_status 201
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}"
	expect_status 201
	expect_no_header Idempotent-Replayed
	[ "$(count_deliverables "$name")" = 2 ]
}

@test "the same key with another body is 422 idempotency_key_reused and changes nothing" {
	local key name=reuse-$RANDOM$RANDOM
	key=$(new_key)
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_status 201
	api admin POST /api/deliverables "{\"name\":\"$name-other\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_error 422 idempotency_key_reused
	[ "$(count_deliverables "$name-other")" = 0 ] || fail "the second body was applied"
	[ "$(count_deliverables "$name")" = 1 ]
}

@test "keys are per user: another user's same key runs its own request" {
	local key
	key=$(new_key)
	api team POST /api/updates '{"title":"per-user","body":"b","type":"progress"}' -H "Idempotency-Key: $key"
	expect_status 201
	local first
	first=$(jb .id)
	api admin POST /api/updates '{"title":"per-user","body":"b","type":"progress"}' -H "Idempotency-Key: $key"
	expect_status 201
	expect_no_header Idempotent-Replayed
	[ "$(jb .id)" != "$first" ] || fail "another user got the first user's response"
}

@test "a 4xx first answer is replayed too and nothing is created" {
	local key
	key=$(new_key)
	api admin POST /api/deliverables '{"month":5}' -H "Idempotency-Key: $key"
	expect_error 400 validation_error name
	api admin POST /api/deliverables '{"month":5}' -H "Idempotency-Key: $key"
	expect_error 400 validation_error name
	expect_header Idempotent-Replayed '^true$'
}

@test "a bad Idempotency-Key is 400 validation_error naming the header, nothing created" {
	local name=badkey-$RANDOM long
	long=$(printf 'k%.0s' $(seq 1 256))
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $long"
	expect_error 400 validation_error Idempotency-Key
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "$(printf 'Idempotency-Key: caf\xc3\xa9')"
	expect_error 400 validation_error Idempotency-Key
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "$(printf 'Idempotency-Key: a\tb')"
	expect_error 400 validation_error Idempotency-Key
	[ "$(count_deliverables "$name")" = 0 ]
	# 255 characters is fine.
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: ${long:1}"
	expect_status 201
}

@test "a repeat while the first request is still running is 409 conflict" {
	local key name=running-$RANDOM$RANDOM
	key=$(new_key)
	# The first request's create is slow (the store answers it 2 s late).
	fault '[{"action":"delay","ops":["PutItem"],"skip":1,"times":1,"delay_ms":2000}]'
	mkdir -p "$BATS_TEST_TMPDIR/first"
	(
		BATS_TEST_TMPDIR=$BATS_TEST_TMPDIR/first
		api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
		printf '%s' "$HTTP_STATUS" >"$BATS_TEST_TMPDIR/status"
	) &
	local first=$!
	sleep 0.7
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_error 409 conflict Idempotency-Key
	wait "$first"
	[ "$(cat "$BATS_TEST_TMPDIR/first/status")" = 201 ] || fail "first: $(cat "$BATS_TEST_TMPDIR/first/status")"
	# Once it is done, the repeat is a replay.
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_status 201
	expect_header Idempotent-Replayed '^true$'
	[ "$(count_deliverables "$name")" = 1 ]
}

@test "a key whose first request failed with 5xx may be retried, and then runs once" {
	local key name=retry5xx-$RANDOM$RANDOM
	key=$(new_key)
	# Every create attempt of the first request fails with a 500 before reaching the store.
	fault '[{"action":"error500","ops":["PutItem"],"skip":1}]'
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_error 503 unavailable
	fault_clear
	[ "$(count_deliverables "$name")" = 0 ]
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_status 201
	expect_no_header Idempotent-Replayed
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_status 201
	expect_header Idempotent-Replayed '^true$'
	[ "$(count_deliverables "$name")" = 1 ]
}

@test "a keyed POST that answered 503 after its write was applied is not done twice on retry" {
	local key title=late-$RANDOM$RANDOM n
	key=$(new_key)
	# The key's claim goes through; the update's own PutItem is applied by the
	# store but answered after the request's budget: the outcome is unknown.
	update_first_attempt_503 '[{"action":"delay","ops":["PutItem"],"skip":1,"delay_ms":6000}]' "$key" "$title"
	sleep 2	# the late write has landed
	post_update_keyed "$key" "$title"
	expect_status 201
	n=$(updates_titled "$title" | grep -c .)
	[ "$n" = 1 ] || fail "$n updates titled $title, not 1"
	post_update_keyed "$key" "$title"
	expect_status 201
	expect_header Idempotent-Replayed '^true$'
}

@test "the query is part of the request: the same key on another ?days is 422" {
	local key
	key=$(new_key)
	api team POST '/api/digest/publish?days=3' - -H "Idempotency-Key: $key"
	[ "$HTTP_STATUS" = 201 ] || [ "$HTTP_STATUS" = 200 ] || fail "publish: $HTTP_STATUS $BODY"
	api team POST '/api/digest/publish?days=30' - -H "Idempotency-Key: $key"
	expect_error 422 idempotency_key_reused
	expect_no_header Idempotent-Replayed
}

@test "POST /api/updates/{id}/read takes a key too" {
	api team POST /api/updates '{"title":"r","body":"b","type":"progress"}'
	local id key
	id=$(jb .id)
	key=$(new_key)
	api client POST "/api/updates/$id/read" - -H "Idempotency-Key: $key"
	expect_status 200
	expect_json .read_count 1
	api client POST "/api/updates/$id/read" - -H "Idempotency-Key: $key"
	expect_status 200
	expect_header Idempotent-Replayed '^true$'
	expect_json .read_count 1
}

@test "a keyed retry after a 503 does not answer with another writer's item at the id the first attempt drew" {
	local key name=drawn-$RANDOM$RANDOM other=explicit-$RANDOM$RANDOM drawn id
	key=$(new_key)
	# The next create draws the id after this one from the counter.
	api admin POST /api/deliverables "{\"name\":\"$name-probe\",\"month\":5}"
	expect_status 201
	drawn=$(($(jb .id) + 1))
	# The first attempt draws $drawn; its PutItem fails with a 500 (the
	# outcome is unknown to the worker, but nothing is stored).
	fault '[{"action":"error500","ops":["PutItem"],"skip":1}]'
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_error 503 unavailable
	fault_clear
	# Meanwhile another writer creates an item under that id.
	api admin POST /api/deliverables "{\"id\":$drawn,\"name\":\"$other\",\"month\":6}"
	expect_status 201
	# The retry creates its own item, under another id.
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_status 201
	expect_no_header Idempotent-Replayed
	expect_json .name "\"$name\""
	id=$(jb .id)
	[ "$id" != "$drawn" ] || fail "the retry answered with the item at $drawn"
	expect_header Location "^/api/deliverables/$id\$"
	api admin GET "/api/deliverables/$drawn"
	expect_json .name "\"$other\""
	expect_json .month 6
	api admin GET "/api/deliverables/$id"
	expect_json .name "\"$name\""
	[ "$(count_deliverables "$name")" = 1 ] || fail "the keyed POST was applied $(count_deliverables "$name") times"
	# A further repeat replays that answer.
	api admin POST /api/deliverables "{\"name\":\"$name\",\"month\":5}" -H "Idempotency-Key: $key"
	expect_status 201
	expect_header Idempotent-Replayed '^true$'
	expect_json .id "$id"
}

@test "a keyed retry whose first attempt's create was applied answers with that item, even when read since" {
	local key title=applied-$RANDOM$RANDOM id
	key=$(new_key)
	# The update's PutItem is applied by the store and answered with a 500.
	update_first_attempt_503 '[{"action":"apply500","ops":["PutItem"],"skip":1}]' "$key" "$title"
	id=$(updates_titled "$title")
	[ -n "$id" ] || fail "the first attempt's update is not stored"
	# Someone reads it before the retry: the stored item gains a receipt.
	api client POST "/api/updates/$id/read"
	expect_status 200
	post_update_keyed "$key" "$title"
	expect_status 201
	expect_json .id "\"$id\""
	[ "$(updates_titled "$title")" = "$id" ] || fail "the keyed POST was applied twice"
}

@test "a key retried after two 503s creates one item, though the first attempt's write was the one applied" {
	local key name=twice-$RANDOM$RANDOM id
	key=$(new_key)
	# The first attempt's create is applied by the store, and answered with a 500.
	fault '[{"action":"apply500","ops":["PutItem"],"skip":1}]'
	post_deliverable_keyed "$key" "$name"
	expect_error 503 unavailable
	sleep 1.1	# the next attempt stamps another second
	# The second attempt's writes fail before reaching the store.
	fault '[{"action":"error500","ops":["PutItem"],"skip":1}]'
	post_deliverable_keyed "$key" "$name"
	expect_error 503 unavailable
	fault_clear
	post_deliverable_keyed "$key" "$name"
	expect_status 201
	id=$(jb .id)
	[ "$(count_deliverables "$name")" = 1 ] || fail "$(count_deliverables "$name") deliverables named $name"
	api admin GET "/api/deliverables/$id"
	expect_json .name "\"$name\""
}
