#!/usr/bin/env bats
# Deliverables through nginx and the FastCGI workers: the list, its headers.
# The rest of the deliverables behaviour (filters, ETag, create / patch /
# delete with roles, optimistic concurrency) is data in tests/cases/routes.cases.

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
