#!/usr/bin/env bats
# Updates (SPEC §5): the feed newest first with opaque cursors, paging to the
# end, one update, create / delete with roles, read receipts per user.

load helpers

setup_file() { routes_stack_start; }
teardown_file() { routes_stack_stop; }

# Percent-encodes $1 for a query string.
uri() {
	jq -rn --arg v "$1" '$v | @uri'
}

# An id in the format of update ids that no update has.
MISSING_ID=20991231T235959Z-0badc0de

@test "GET /api/updates: the 3 seeded updates newest first, read and read_count, no read_by" {
	api client GET /api/updates
	expect_status 200
	expect_json '.items | length' 3
	expect_json '.next_cursor' null
	expect_json '[.items[].created_at]' '["2026-02-18T14:10:00Z","2026-02-12T09:30:00Z","2026-01-30T17:00:00Z"]'
	expect_json '[.items[].title]' \
		'["Symbol recognition at 60%","Integration API blocked on vendor access","Drawing parsing prototype complete"]'
	expect_json '[.items[] | [.read, .read_count]]' '[[false,0],[false,0],[false,0]]'
	expect_json '[.items[] | has("read_by")] | any' false
	expect_json '.items[0] | [.type, .deliverable_id, .author.id, .author.name, .author.email]' \
		'["progress",5,"auth0|seed-team","Delivery Engineer","engineer@turbotech.example"]'
	expect_json '.items[2].author.id' '"auth0|seed-admin"'
}

@test "feed paging: 25 new updates, limit=10 to the end, every id once, newest first, 28 in all" {
	local i created=() id
	for ((i = 1; i <= 25; i++)); do
		api team POST /api/updates "{\"title\":\"Paging update $i\",\"body\":\"Body $i\",\"type\":\"progress\"}"
		expect_status 201
		id=$(jb .id)
		expect_header Location "^(https?://[^/]+)?/api/updates/${id}\$"
		created+=("$id")
	done

	local cursor="" pages=0 seen=() sizes=() q
	while :; do
		q='/api/updates?limit=10'
		[ -z "$cursor" ] || q+="&cursor=$(uri "$cursor")"
		api client GET "$q"
		expect_status 200
		sizes+=("$(jb '.items | length')")
		mapfile -t -O "${#seen[@]}" seen < <(jb '.items[].id')
		jq -r '.items[].created_at' <<<"$BODY" >>"$BATS_TEST_TMPDIR/times"
		cursor=$(jb '.next_cursor // empty')
		pages=$((pages + 1))
		[ -n "$cursor" ] || break
		[ "$pages" -lt 10 ] || fail "more than 10 pages; cursor does not advance" || return 1
	done
	[ "${sizes[*]}" = "10 10 8" ] || fail "page sizes: ${sizes[*]} (expected 10 10 8)"
	[ "${#seen[@]}" -eq 28 ] || fail "saw ${#seen[@]} items, expected 28"
	local dups
	dups=$(printf '%s\n' "${seen[@]}" | sort | uniq -d)
	[ -z "$dups" ] || fail "ids seen twice: $dups"
	for id in "${created[@]}"; do
		printf '%s\n' "${seen[@]}" | grep -qxF "$id" || fail "created update $id never listed"
	done
	# Newest first across pages: created_at never increases.
	sort -r -c "$BATS_TEST_TMPDIR/times" 2>/dev/null || fail "created_at not newest first: $(tr '\n' ' ' <"$BATS_TEST_TMPDIR/times")"
	# The three seeded updates (oldest) come last.
	[ "$(tail -n 1 "$BATS_TEST_TMPDIR/times")" = "2026-01-30T17:00:00Z" ] || fail "the oldest update is not last"
}

@test "GET /api/updates without limit answers 20 and a cursor" {
	api client GET /api/updates
	expect_status 200
	expect_json '.items | length' 20
	expect_true '.next_cursor | type == "string" and length > 0'
	api client GET '/api/updates?limit=100'
	expect_json '[(.items | length), .next_cursor]' '[28,null]'
}

@test "a forged or corrupt cursor is 400, not a crash" {
	api client GET '/api/updates?cursor=abc'
	expect_error 400 validation_error cursor
	local garbage
	garbage=$(printf '{"feed":' | b64url)
	api client GET "/api/updates?cursor=$(uri "$garbage")"
	expect_error 400 validation_error cursor
	garbage=$(printf 'not json at all' | base64 -w0)
	api client GET "/api/updates?cursor=$(uri "$garbage")"
	expect_error 400 validation_error cursor
	garbage=$(printf '{"id":{"S":"x"},"created_at":{"N":"1"}}' | b64url)
	api client GET "/api/updates?cursor=$(uri "$garbage")"
	expect_error 400 validation_error cursor
	# The service still answers.
	api client GET '/api/updates?limit=1'
	expect_status 200
}

@test "GET /api/updates/{id} answers one update" {
	api client GET '/api/updates?limit=1'
	local id
	id=$(jb '.items[0].id')
	api client GET "/api/updates/$id"
	expect_status 200
	expect_json '[.id, .read, .read_count, has("read_by")]' "[\"$id\",false,0,false]"
	expect_json '[.type, .author.id]' '["progress","auth0|seed-team"]'
	expect_true '.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")'
	# Every item carries a version; GET of one sends it as the ETag.
	expect_json '.version' 1
	expect_header ETag '^"1"$'
}

@test "GET /api/updates/{missing} is 404" {
	api client GET "/api/updates/$MISSING_ID"
	expect_error 404 not_found
}

@test "POST /api/updates stores deliverable_id and embeds the author" {
	api team POST /api/updates '{"title":"Takeoff engine demo","body":"Demo on Friday.","type":"milestone","deliverable_id":6}'
	expect_status 201
	local id
	id=$(jb .id)
	api client GET "/api/updates/$id"
	expect_status 200
	expect_json '[.title,.body,.type,.deliverable_id,.author.id,.author.email]' \
		'["Takeoff engine demo","Demo on Friday.","milestone",6,"auth0|seed-team","engineer@turbotech.example"]'
}

@test "POST /api/updates validation names the field" {
	api team POST /api/updates '{"body":"b","type":"progress"}'
	expect_error 400 validation_error title
	api team POST /api/updates '{"title":"t","body":"b","type":"news"}'
	expect_error 400 validation_error type
	api team POST /api/updates '{"title":"t","body":"b","type":"progress","deliverable_id":"five"}'
	expect_error 400 validation_error deliverable_id
	api team POST /api/updates '{"title":"t","body":"b","type":"progress","author":{"id":"x"}}'
	expect_error 400 validation_error author
}

@test "client cannot post an update (403) and nothing is created" {
	api client POST /api/updates '{"title":"From client","body":"b","type":"announcement"}'
	expect_error 403 forbidden
	api client GET '/api/updates?limit=100'
	expect_true '[.items[].title] | index("From client") | not'
}

@test "read receipts: idempotent per user, counted across users, read only for the reader" {
	api client GET '/api/updates?limit=100'
	local id
	id=$(jb '[.items[] | select(.title == "Symbol recognition at 60%")][0].id')
	[ -n "$id" ] && [ "$id" != null ] || fail "seeded update not found"

	api client POST "/api/updates/$id/read"
	expect_status 200
	expect_json '[.read, .read_count]' '[true,1]'
	api client POST "/api/updates/$id/read"
	expect_status 200
	expect_json '[.read, .read_count]' '[true,1]'
	api team POST "/api/updates/$id/read"
	expect_status 200
	expect_json '[.read, .read_count]' '[true,2]'

	api client GET "/api/updates/$id"
	expect_json '[.read, .read_count]' '[true,2]'
	api team GET "/api/updates/$id"
	expect_json '[.read, .read_count]' '[true,2]'
	api admin GET "/api/updates/$id"
	expect_json '[.read, .read_count]' '[false,2]'
	api admin GET '/api/updates?limit=100'
	expect_json "[.items[] | select(.id == \"$id\") | [.read, .read_count]]" '[[false,2]]'
	api client GET '/api/updates?limit=100'
	expect_json "[.items[] | select(.id == \"$id\") | [.read, .read_count]]" '[[true,2]]'
}

@test "read on a missing update is 404 and creates no item" {
	api client POST "/api/updates/$MISSING_ID/read"
	expect_error 404 not_found
	api client GET "/api/updates/$MISSING_ID"
	expect_error 404 not_found
	api client GET '/api/updates?limit=100'
	expect_true "[.items[].id] | index(\"$MISSING_ID\") | not"
}

@test "DELETE of someone else's update by team is 403; by client is 403" {
	api client GET '/api/updates?limit=100'
	local id
	id=$(jb '[.items[] | select(.author.id == "auth0|seed-admin")][0].id')
	[ -n "$id" ] && [ "$id" != null ] || fail "the admin's seeded update is missing"
	api team DELETE "/api/updates/$id"
	expect_error 403 forbidden
	api client DELETE "/api/updates/$id"
	expect_error 403 forbidden
	api client GET "/api/updates/$id"
	expect_status 200
}

@test "DELETE by the author is 204 and the update is gone; admin may delete any" {
	api team POST /api/updates '{"title":"Short-lived","body":"b","type":"announcement"}'
	expect_status 201
	local id
	id=$(jb .id)
	api team DELETE "/api/updates/$id"
	expect_status 204
	api client GET "/api/updates/$id"
	expect_error 404 not_found

	api team POST /api/updates '{"title":"Removed by admin","body":"b","type":"announcement"}'
	expect_status 201
	id=$(jb .id)
	api admin DELETE "/api/updates/$id"
	expect_status 204
	api client GET "/api/updates/$id"
	expect_error 404 not_found
}
