#!/usr/bin/env bats
# shellcheck disable=SC2034 # HDRS, BODY, HTTP_STATUS are read by the helpers
# Contention and versions (issue 10, SPEC §5): creates without an id and
# PATCHes without a version never answer 409; DELETE honours If-Match; a
# weak If-Match never matches; If-Match: * matches any existing item.

load helpers

setup_file() { routes_stack_start; }
teardown_file() { routes_stack_stop; }

# parallel N P METHOD PATH BODY_TEMPLATE: N requests, P at a time, as admin;
# {} in the body is replaced by the request's number. Prints one
# "status body" line per request into $BATS_TEST_TMPDIR/par.
parallel() {
	local n=$1 p=$2 method=$3 path=$4 body=$5
	mkdir -p "$BATS_TEST_TMPDIR/par.d"
	seq 1 "$n" | xargs -P "$p" -I{} sh -c '
		curl -sS --max-time 30 -o "$0/{}.body" -w "%{http_code}" -X "$1" \
			-H "Authorization: Bearer $2" -H "Content-Type: application/json" \
			--data-binary "$(printf "%s" "$3" | sed "s/@N@/{}/g")" "$4" >"$0/{}.status" 2>/dev/null
	' "$BATS_TEST_TMPDIR/par.d" "$method" "$ADMIN" "$body" "$STACK_URL$path"
}

# statuses: the count of each status of the last parallel run, "201 50" lines.
statuses() {
	awk '{print}' "$BATS_TEST_TMPDIR"/par.d/*.status | sort | uniq -c | awk '{print $2, $1}' | paste -sd ' '
}

@test "50 concurrent creates without id: 50 x 201 with 50 distinct ids, all readable" {
	parallel 50 50 POST /api/deliverables '{"name":"conc-@N@","month":7}'
	[ "$(statuses)" = "201 50" ] || fail "statuses: $(statuses)"
	local ids
	ids=$(cat "$BATS_TEST_TMPDIR"/par.d/*.body | jq -s '[.[].id] | unique | length')
	[ "$ids" = 50 ] || fail "expected 50 distinct ids, got $ids"
	api admin GET '/api/deliverables?month=7'
	expect_status 200
	[ "$(jb '[.items[] | select(.name | startswith("conc-"))] | length')" = 50 ] ||
		fail "expected 50 items read back: $BODY"
	# The reserved counter item never shows in a list or the dashboard.
	api admin GET /api/deliverables
	expect_true '[.items[].id] | all(. > 0)'
	expect_true '.count == (.items | length)'
}

@test "50 concurrent metric creates without id: 50 x 201, distinct ids" {
	parallel 50 50 POST /api/metrics '{"name":"m-@N@","unit":"u","baseline_value":0,"target_value":10}'
	[ "$(statuses)" = "201 50" ] || fail "statuses: $(statuses)"
	[ "$(cat "$BATS_TEST_TMPDIR"/par.d/*.body | jq -s '[.[].id] | unique | length')" = 50 ] ||
		fail "ids not distinct"
	api admin GET /api/metrics
	expect_true '[.items[].id] | all(. > 0)'
}

@test "a create with an explicit id above the counter: later creates skip it" {
	api admin POST /api/deliverables '{"name":"first","month":8}'
	expect_status 201
	local next=$(($(jb .id) + 1))
	api admin POST /api/deliverables "{\"id\":$next,\"name\":\"explicit\",\"month\":8}"
	expect_status 201
	api admin POST /api/deliverables '{"name":"after","month":8}'
	expect_status 201
	[ "$(jb .id)" -gt "$next" ] || fail "expected an id above $next: $BODY"
	api admin GET "/api/deliverables/$next"
	expect_json .name '"explicit"'
}

@test "200 concurrent metric PATCHes without version: no 409, history exact" {
	api admin POST /api/metrics '{"name":"hot","unit":"u","baseline_value":0,"target_value":1000}'
	expect_status 201
	local id
	id=$(jb .id)
	parallel 200 40 PATCH "/api/metrics/$id" '{"current_value":@N@}'
	[ "$(statuses)" = "200 200" ] || fail "statuses: $(statuses)"
	api admin GET "/api/metrics/$id"
	expect_status 200
	expect_json .version 201
	expect_json '.history | length' 100
	# The last 100 points: distinct, and exactly the 100 answers with the highest versions.
	expect_true '[.history[].value] | unique | length == 100'
	local want got
	want=$(cat "$BATS_TEST_TMPDIR"/par.d/*.body | jq -s -c '[.[] | {v: .version, c: .current_value}] | sort_by(.v) | .[-100:] | map(.c)')
	got=$(jq -c '[.history[].value]' <<<"$BODY")
	[ "$want" = "$got" ] || fail "history $got, expected $want"
	# Every answer saw a distinct version: each PATCH applied exactly once.
	[ "$(cat "$BATS_TEST_TMPDIR"/par.d/*.body | jq -s '[.[].version] | unique | length')" = 200 ] ||
		fail "versions of the answers are not distinct"
}

@test "DELETE with a stale If-Match is 409 and deletes nothing (deliverables)" {
	api admin POST /api/deliverables '{"name":"del-ifmatch","month":2}'
	local id
	id=$(jb .id)
	api team PATCH "/api/deliverables/$id" '{"completion_percentage":10}'
	expect_json .version 2
	api admin DELETE "/api/deliverables/$id" - -H 'If-Match: "1"'
	expect_error 409 conflict
	api admin GET "/api/deliverables/$id"
	expect_status 200
	api admin DELETE "/api/deliverables/$id" - -H 'If-Match: "2"'
	expect_status 204
	api admin GET "/api/deliverables/$id"
	expect_status 404
}

@test "DELETE with a stale If-Match is 409 and deletes nothing (metrics)" {
	api admin POST /api/metrics '{"name":"del-m","unit":"u","baseline_value":0,"target_value":1}'
	local id
	id=$(jb .id)
	api team PATCH "/api/metrics/$id" '{"current_value":1}'
	api admin DELETE "/api/metrics/$id" - -H 'If-Match: 1'
	expect_error 409 conflict
	api admin GET "/api/metrics/$id"
	expect_status 200
	api admin DELETE "/api/metrics/$id" - -H 'If-Match: 2'
	expect_status 204
}

@test "DELETE with a stale If-Match is 409 and deletes nothing (updates)" {
	api team POST /api/updates '{"title":"t","body":"b","type":"progress"}'
	expect_status 201
	local id
	id=$(jb .id)
	api team DELETE "/api/updates/$id" - -H 'If-Match: "7"'
	expect_error 409 conflict
	api team GET "/api/updates/$id"
	expect_status 200
	api team DELETE "/api/updates/$id" - -H 'If-Match: "1"'
	expect_status 204
	api team GET "/api/updates/$id"
	expect_status 404
}

@test "If-Match: W/\"N\" never matches (strong comparison): 409, nothing changed" {
	api admin POST /api/deliverables '{"name":"weak","month":2}'
	local id
	id=$(jb .id)
	api team PATCH "/api/deliverables/$id" '{"completion_percentage":10}' -H 'If-Match: W/"1"'
	expect_error 409 conflict
	api admin DELETE "/api/deliverables/$id" - -H 'If-Match: W/"1"'
	expect_error 409 conflict
	api admin GET "/api/deliverables/$id"
	expect_status 200
	expect_json .version 1
	expect_json .completion_percentage 0
}

@test "If-Match: * matches any existing item, and an absent one is 404" {
	api admin POST /api/deliverables '{"name":"star","month":2}'
	local id
	id=$(jb .id)
	api team PATCH "/api/deliverables/$id" '{"completion_percentage":20}' -H 'If-Match: *'
	expect_status 200
	expect_json .version 2
	api admin DELETE "/api/deliverables/$id" - -H 'If-Match: *'
	expect_status 204
	api admin DELETE "/api/deliverables/$id" - -H 'If-Match: *'
	expect_status 404
}
