#!/usr/bin/env bats
# POST /api/digest/publish (SPEC §10): the current digest posted to the feed
# as an update of type "digest" by the caller (team); a second publish of the
# same days in the same UTC hour posts nothing and answers 200 with the first.

load helpers

setup_file() { routes_stack_start; }
teardown_file() { routes_stack_stop; }

# The number of digest updates in the feed (read back through the API).
digests_in_feed() {
	api client GET '/api/updates?limit=100'
	[ "$HTTP_STATUS" = 200 ] || { echo "feed: HTTP $HTTP_STATUS" >&2; return 1; }
	jb '[.items[] | select(.type == "digest")] | length'
}

# Waits out the last seconds of a UTC hour, so two publishes share one hour.
same_hour_ahead() {
	local ms
	ms=$(date -u +%M%S)
	if [ "$ms" -ge 5945 ]; then
		sleep $((3600 - 10#${ms:0:2} * 60 - 10#${ms:2:2} + 1))
	fi
}

@test "publish: a client is 403, no token is 401, and nothing is posted" {
	api client POST /api/digest/publish
	expect_error 403 forbidden
	api none POST /api/digest/publish
	expect_error 401 unauthorized
	run digests_in_feed
	[ "$output" = 0 ] || fail "digests in the feed: $output"
}

@test "publish: days must be 1-90, once, and the only parameter; nothing is posted" {
	local q
	for q in 'days=0' 'days=91' 'days=abc' 'days=7&days=7' 'days=' 'days=%2B7' 'days=07x'; do
		api team POST "/api/digest/publish?$q"
		expect_error 400 validation_error days || fail "for ?$q" || return 1
	done
	api team POST '/api/digest/publish?week=1'
	expect_error 400 validation_error week
	run digests_in_feed
	[ "$output" = 0 ] || fail "digests in the feed: $output"
}

@test "publish: 201 with the digest update by the caller, then 200 with the same one within the hour" {
	same_hour_ahead
	local hour id
	hour=$(date -u +%Y%m%dT%H)
	api team POST '/api/digest/publish?days=7'
	expect_status 201
	id=$(jb .id)
	[[ $id == "${hour}0000Z-digest07" ]] || fail "id $id (hour $hour)" || return 1
	expect_header Location "^(https?://[^/]+)?/api/updates/${id}\$"
	expect_json '[.type, .author.id, .read, .read_count]' '["digest","auth0|seed-team",false,0]'
	expect_true '(.title | test("^Digest of the last 7 days")) and (.body | length > 20) and (.created_at | length == 20)'
	local body=$BODY

	api team POST '/api/digest/publish?days=7'
	expect_status 200
	expect_json .id "\"$id\""
	expect_no_header Location
	[ "$(jq -c 'del(.read, .read_count)' <<<"$BODY")" = "$(jq -c 'del(.read, .read_count)' <<<"$body")" ] ||
		fail "second answer differs: $BODY"

	# Another team member (admin) in the same hour: still the first one, still its author.
	api admin POST '/api/digest/publish?days=7'
	expect_status 200
	expect_json '[.id, .author.id]' "[\"$id\",\"auth0|seed-team\"]"

	run digests_in_feed
	[ "$output" = 1 ] || fail "digests in the feed: $output"
	api client GET "/api/updates/$id"
	expect_status 200
	expect_json '[.type, .title]' "[\"digest\",$(jq -c .title <<<"$body")]"
}

@test "publish: another days value is another period: a second digest" {
	same_hour_ahead
	api team POST /api/digest/publish
	expect_status 200
	expect_true '.id | endswith("-digest07")'
	api team POST '/api/digest/publish?days=30'
	expect_status 201
	expect_true '(.id | endswith("-digest30")) and (.title | test("last 30 days"))'
	run digests_in_feed
	[ "$output" = 2 ] || fail "digests in the feed: $output"
}

@test "publish: 6 concurrent publishes of one period post once (one 201, five 200, one id)" {
	same_hour_ahead
	local i codes ids tmp
	tmp=$(_routes_tmp)
	for ((i = 0; i < 6; i++)); do
		curl -sS --max-time "$ROUTES_CURL_MAX_S" -o "$tmp/c$i.body" -w '%{http_code}\n' -X POST \
			-H "Authorization: Bearer $TEAM" "$STACK_URL/api/digest/publish?days=14" >"$tmp/c$i.code" &
	done
	wait
	codes=$(cat "$tmp"/c?.code | sort | uniq -c | awk '{ print $2 "x" $1 }' | tr '\n' ' ')
	[ "$codes" = "200x5 201x1 " ] || fail "statuses: $codes" || return 1
	ids=$(cat "$tmp"/c?.body | jq -r .id | sort -u)
	[[ $ids == *-digest14 ]] && [ "$(wc -l <<<"$ids")" -eq 1 ] || fail "ids: $ids" || return 1
	api client GET '/api/updates?limit=100'
	expect_json '[.items[] | select(.id | endswith("-digest14"))] | length' 1
}

@test "a digest does not summarise earlier digests" {
	api client GET '/api/digest?days=7'
	expect_status 200
	expect_true '.digest | test("Digest of the last") | not'
}

@test "POST /api/updates takes type digest (SPEC §4)" {
	api team POST /api/updates '{"title":"Hand-written digest","body":"b","type":"digest"}'
	expect_status 201
	expect_json .type '"digest"'
	api team POST /api/updates '{"title":"x","body":"b","type":"digests"}'
	expect_error 400 validation_error type
}
