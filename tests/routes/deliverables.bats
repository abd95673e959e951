#!/usr/bin/env bats
# Deliverables (SPEC §5): list, filters and order, one item with ETag,
# create / patch / delete with roles, optimistic concurrency.

load helpers

setup_file() { routes_stack_start; }
teardown_file() { routes_stack_stop; }

@test "GET /api/deliverables lists the 12 seeded items sorted by month then id" {
	api client GET /api/deliverables
	expect_status 200
	expect_header Content-Type '^application/json; ?charset=utf-8$'
	expect_json '.count' 12
	expect_json '[.items[].id]' '[1,2,3,4,5,6,7,8,9,10,11,12]'
	expect_json '[.items[].month]' '[1,1,1,1,2,2,2,2,3,3,3,3]'
	expect_json '.items[4] | [.id,.name,.month,.status,.completion_percentage,.due_date,.owner,.version]' \
		'[5,"Symbol Recognition Model",2,"IN_PROGRESS",60,"2026-02-27","ML team",1]'
	expect_true '.items | all(has("description") and has("updated_at"))'
}

@test "GET /api/deliverables?month=2 uses the month: ids 5-8" {
	api client GET '/api/deliverables?month=2'
	expect_status 200
	expect_json '.count' 4
	expect_json '[.items[].id]' '[5,6,7,8]'
	expect_true 'all(.items[]; .month == 2)'
}

@test "GET /api/deliverables?status=BLOCKED is item 8" {
	api team GET '/api/deliverables?status=BLOCKED'
	expect_status 200
	expect_json '.count' 1
	expect_json '[.items[].id]' '[8]'
	expect_json '.items[0].status' '"BLOCKED"'
}

@test "GET /api/deliverables?month=2&status=IN_PROGRESS combines both filters" {
	api admin GET '/api/deliverables?month=2&status=IN_PROGRESS'
	expect_status 200
	expect_json '.count' 2
	expect_json '[.items[].id]' '[5,6]'
	api admin GET '/api/deliverables?status=NOT_STARTED&month=3'
	expect_status 200
	expect_json '[.items[].id]' '[9,10,11,12]'
}

@test "a filter that matches nothing is an empty list, not an error" {
	api client GET '/api/deliverables?month=1&status=BLOCKED'
	expect_status 200
	expect_json '[.count, .items]' '[0,[]]'
	api client GET '/api/deliverables?month=7'
	expect_status 200
	expect_json '.count' 0
	expect_json '.items' '[]'
}

@test "GET /api/deliverables/5 answers the item with ETag \"1\"" {
	api client GET /api/deliverables/5
	expect_status 200
	expect_header ETag '^"1"$'
	expect_json '[.id,.name,.description,.month,.status,.completion_percentage,.due_date,.owner,.version]' \
		'[5,"Symbol Recognition Model","Detect doors, windows, fixtures and electrical symbols.",2,"IN_PROGRESS",60,"2026-02-27","ML team",1]'
	expect_true '.updated_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")'
}

@test "GET /api/deliverables/999 is 404 not_found" {
	api client GET /api/deliverables/999
	expect_error 404 not_found
}

@test "POST /api/deliverables (admin) takes the next free id: 201, Location, defaults" {
	api admin POST /api/deliverables '{"name":"Change Order Tracking","month":3}'
	expect_status 201
	expect_header Location '^(https?://[^/]+)?/api/deliverables/13$'
	expect_json '[.id,.name,.month,.status,.completion_percentage,.version]' \
		'[13,"Change Order Tracking",3,"NOT_STARTED",0,1]'
	api client GET /api/deliverables/13
	expect_status 200
	expect_json '[.id,.name,.month,.status,.completion_percentage]' '[13,"Change Order Tracking",3,"NOT_STARTED",0]'
}

@test "POST /api/deliverables with a given id stores every field" {
	api admin POST /api/deliverables \
		'{"id":40,"name":"Vendor Sandbox","description":"Sandbox access.","month":2,"status":"IN_PROGRESS","completion_percentage":10,"due_date":"2026-02-28","owner":"Platform"}'
	expect_status 201
	expect_header Location '^(https?://[^/]+)?/api/deliverables/40$'
	api team GET /api/deliverables/40
	expect_status 200
	expect_json '[.id,.name,.description,.month,.status,.completion_percentage,.due_date,.owner,.version]' \
		'[40,"Vendor Sandbox","Sandbox access.",2,"IN_PROGRESS",10,"2026-02-28","Platform",1]'
}

@test "POST /api/deliverables with an existing id is 409 and changes nothing" {
	api admin POST /api/deliverables '{"id":1,"name":"Overwritten","month":3}'
	expect_error 409 conflict
	api client GET /api/deliverables/1
	expect_status 200
	expect_json '[.name,.month,.status,.version]' '["Drawing Parsing Prototype",1,"COMPLETED",1]'
}

@test "POST /api/deliverables without name or month is 400 naming the field" {
	api admin POST /api/deliverables '{"month":2}'
	expect_error 400 validation_error name
	api admin POST /api/deliverables '{"name":"No month"}'
	expect_error 400 validation_error month
}

@test "team and client cannot create deliverables (403) and nothing is created" {
	api team POST /api/deliverables '{"id":41,"name":"By team","month":1}'
	expect_error 403 forbidden
	api client POST /api/deliverables '{"id":41,"name":"By client","month":1}'
	expect_error 403 forbidden
	api admin GET /api/deliverables/41
	expect_error 404 not_found
}

@test "PATCH /api/deliverables/6 (team) with the current version: 200, version+1" {
	api team PATCH /api/deliverables/6 '{"name":"Quantity Takeoff Engine v2","owner":"ML team","version":1}'
	expect_status 200
	expect_json '[.id,.name,.owner,.version]' '[6,"Quantity Takeoff Engine v2","ML team",2]'
	# Untouched fields stay.
	expect_json '[.month,.status,.completion_percentage,.due_date,.description]' \
		'[2,"IN_PROGRESS",40,"2026-02-27","Turn parsed drawings into quantities per cost code."]'
	api client GET /api/deliverables/6
	expect_status 200
	expect_header ETag '^"2"$'
	expect_json '[.name,.owner,.version]' '["Quantity Takeoff Engine v2","ML team",2]'
}

@test "PATCH with a stale version is 409 conflict and the item is unchanged" {
	api team PATCH /api/deliverables/6 '{"name":"Stale write","version":1}'
	expect_error 409 conflict
	api client GET /api/deliverables/6
	expect_status 200
	expect_json '[.name,.version]' '["Quantity Takeoff Engine v2",2]'
}

@test "If-Match: a stale \"N\" is 409; current N and \"N\" both succeed" {
	api team PATCH /api/deliverables/6 '{"completion_percentage":45}' -H 'If-Match: "1"'
	expect_error 409 conflict
	api client GET /api/deliverables/6
	expect_json '[.completion_percentage,.version]' '[40,2]'

	api team PATCH /api/deliverables/6 '{"completion_percentage":45}' -H 'If-Match: 2'
	expect_status 200
	expect_json '[.completion_percentage,.version]' '[45,3]'

	api team PATCH /api/deliverables/6 '{"completion_percentage":50}' -H 'If-Match: "3"'
	expect_status 200
	expect_json '[.completion_percentage,.version]' '[50,4]'
	api client GET /api/deliverables/6
	expect_header ETag '^"4"$'
}

@test "PATCH status COMPLETED without a percentage sets completion_percentage 100" {
	api team PATCH /api/deliverables/7 '{"status":"COMPLETED"}'
	expect_status 200
	expect_json '[.status,.completion_percentage,.version]' '["COMPLETED",100,2]'
	api client GET /api/deliverables/7
	expect_json '[.status,.completion_percentage]' '["COMPLETED",100]'
}

@test "PATCH with one invalid field is 400 and the valid ones are not applied" {
	api team PATCH /api/deliverables/9 '{"name":"Changed","month":0}'
	expect_error 400 validation_error month
	api team PATCH /api/deliverables/9 '{"name":"Changed","completion_percentage":101}'
	expect_error 400 validation_error completion_percentage
	api client GET /api/deliverables/9
	expect_json '[.name,.month,.completion_percentage,.version]' '["Pilot Deployment",3,0,1]'
}

@test "client cannot PATCH a deliverable (403) and it is unchanged" {
	api client PATCH /api/deliverables/10 '{"owner":"Client"}'
	expect_error 403 forbidden
	api client GET /api/deliverables/10
	expect_json '[.owner,.version]' '["ML team",1]'
}

@test "PATCH of a missing deliverable is 404 and creates nothing" {
	api team PATCH /api/deliverables/999 '{"name":"Ghost"}'
	expect_error 404 not_found
	api admin GET /api/deliverables/999
	expect_error 404 not_found
}

@test "moving item 1 to month 3 re-sorts the list by month then id" {
	api team PATCH /api/deliverables/1 '{"month":3}'
	expect_status 200
	expect_json '.month' 3
	api client GET '/api/deliverables?month=3'
	expect_status 200
	expect_json '[.items[].id]' '[1,9,10,11,12,13]'
	api client GET '/api/deliverables?month=1'
	expect_json '[.items[].id]' '[2,3,4]'
	api client GET /api/deliverables
	expect_status 200
	expect_json '[.items[].id]' '[2,3,4,5,6,7,8,40,1,9,10,11,12,13]'
	expect_json '.count' 14
}

@test "team and client cannot DELETE a deliverable (403)" {
	api team DELETE /api/deliverables/12
	expect_error 403 forbidden
	api client DELETE /api/deliverables/12
	expect_error 403 forbidden
	api client GET /api/deliverables/12
	expect_status 200
}

@test "DELETE /api/deliverables/13 (admin) is 204; then 404" {
	api admin DELETE /api/deliverables/13
	expect_status 204
	[ -z "$BODY" ] || fail "204 with a body: $BODY"
	api client GET /api/deliverables/13
	expect_error 404 not_found
	api admin DELETE /api/deliverables/13
	expect_error 404 not_found
}

@test "wrong method on a known path is 405 with Allow" {
	api admin PUT /api/deliverables/1 '{"name":"x"}'
	expect_error 405 method_not_allowed
	expect_header Allow 'GET'
	expect_header Allow 'PATCH'
	expect_header Allow 'DELETE'
	api admin DELETE /api/deliverables
	expect_error 405 method_not_allowed
	expect_header Allow 'GET'
	expect_header Allow 'POST'
}
