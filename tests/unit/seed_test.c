/* seed_test.c - table definitions and seed building without a store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "config.h"
#include "schema.h"
#include "seed.h"
#include "util.h"

#define TEST_NOW	1795000000	/* 2026-11-18T...Z: a fixed "now" */

/* Parses the JSON text of a test case; fails the test on bad JSON. */
static json_object *
parse(const char *text)
{
	json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	return o;
}

/* Builds text as seed data and returns the error; NULL when it succeeded. */
static char *
build_error(const char *text)
{
	json_object *data = parse(text), *items[SCHEMA_COUNT];
	struct seed_error err;
	int rc = seed_build(data, TEST_NOW, items, &err);
	char *cause = err.cause;	/* the caller frees it */

	json_object_put(data);
	if (rc == 0) {
		for (int t = 0; t < SCHEMA_COUNT; t++)
			json_object_put(items[t]);
		assert_null(cause);
		return NULL;
	}
	assert_non_null(cause);
	for (int t = 0; t < SCHEMA_COUNT; t++)
		assert_null(items[t]);
	return cause;
}

/* The deliverables request has the MonthIndex GSI and both key definitions. */
static void
test_schema_deliverables(void **state)
{
	json_object *req = schema_create_request(SCHEMA_DELIVERABLES, "x-deliverables");
	const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);

	(void)state;
	assert_non_null(strstr(text, "\"TableName\":\"x-deliverables\""));
	assert_non_null(strstr(text, "\"BillingMode\":\"PAY_PER_REQUEST\""));
	assert_non_null(strstr(text, "\"IndexName\":\"MonthIndex\""));
	assert_non_null(strstr(text, "{\"AttributeName\":\"month\",\"AttributeType\":\"N\"}"));
	assert_non_null(strstr(text, "\"ProjectionType\":\"ALL\""));
	/* "id" is defined once although it keys the table and the index. */
	assert_int_equal(json_object_array_length(json_object_object_get(req, "AttributeDefinitions")), 2);
	json_object_put(req);
}

/* The updates request keys on a string id and has FeedIndex; users and metrics have no index. */
static void
test_schema_others(void **state)
{
	json_object *req = schema_updates("x-updates");
	const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	enum schema_table t;

	(void)state;
	assert_non_null(strstr(text, "{\"AttributeName\":\"id\",\"AttributeType\":\"S\"}"));
	assert_non_null(strstr(text, "\"IndexName\":\"FeedIndex\""));
	assert_non_null(strstr(text, "{\"AttributeName\":\"created_at\",\"KeyType\":\"RANGE\"}"));
	json_object_put(req);
	req = schema_users("x-users");
	assert_false(json_object_object_get_ex(req, "GlobalSecondaryIndexes", NULL));
	json_object_put(req);
	req = schema_metrics("x-metrics");
	assert_string_equal(json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(json_object_object_get(req, "AttributeDefinitions"), 0),
	    "AttributeType")), "N");
	json_object_put(req);

	assert_int_equal(schema_parse("metrics", &t), 0);
	assert_int_equal(t, SCHEMA_METRICS);
	assert_int_equal(schema_parse("Metrics", &t), -1);
	assert_string_equal(schema_short_name(SCHEMA_UPDATES), "updates");
	assert_string_equal(schema_key_type(SCHEMA_USERS), "S");
}

/* Update ids are fixed width, sort by time and do not depend on anything but their inputs. */
static void
test_update_id(void **state)
{
	char a[SEED_UPDATE_ID_LEN], b[SEED_UPDATE_ID_LEN], c[SEED_UPDATE_ID_LEN];
	time_t t;

	(void)state;
	assert_int_equal(time_parse_rfc3339("2026-01-30T17:00:00Z", &t), 0);
	seed_update_id(t, "Drawing parsing prototype complete", a);
	seed_update_id(t, "Drawing parsing prototype complete", b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), SEED_UPDATE_ID_LEN - 1);
	assert_memory_equal(a, "20260130T170000Z-", 17);
	seed_update_id(t, "Another title", c);
	assert_string_not_equal(a, c);
	seed_update_id(t + 1, "A", c);
	assert_true(strcmp(a, c) < 0);
}

/* The project's seed file builds into 12, 4, 3 and 3 items with the derived fields. */
static void
test_build_seed_file(void **state)
{
	const char *srcdir = config_env("top_srcdir");
	char *path = xasprintf("%s/data/seed-data.json", srcdir != NULL ? srcdir : ".");
	json_object *data = json_object_from_file(path), *items[SCHEMA_COUNT], *m, *u;
	struct seed_error err;
	const char *text;

	(void)state;
	assert_non_null(data);
	assert_int_equal(seed_build(data, TEST_NOW, items, &err), 0);
	assert_int_equal(json_object_array_length(items[SCHEMA_DELIVERABLES]), 12);
	assert_int_equal(json_object_array_length(items[SCHEMA_METRICS]), 4);
	assert_int_equal(json_object_array_length(items[SCHEMA_UPDATES]), 3);
	assert_int_equal(json_object_array_length(items[SCHEMA_USERS]), 3);

	m = json_object_array_get_idx(items[SCHEMA_METRICS], 3);
	text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
	assert_non_null(strstr(text, "\"current_value\":{\"N\":\"6.4\"}"));
	assert_non_null(strstr(text, "\"baseline_value\":{\"N\":\"12.5\"}"));
	assert_non_null(strstr(text, "\"higher_is_better\":{\"BOOL\":false}"));
	assert_non_null(strstr(text, "\"history\":{\"L\":[{\"M\":{\"value\":{\"N\":\"6.4\"},\"at\":{\"S\":\"2026-11-18T"));
	assert_non_null(strstr(text, "\"version\":{\"N\":\"1\"}"));

	u = json_object_array_get_idx(items[SCHEMA_UPDATES], 1);
	text = json_object_to_json_string_ext(u, JSON_C_TO_STRING_PLAIN);
	assert_non_null(strstr(text, "\"id\":{\"S\":\"20260212T093000Z-"));
	assert_non_null(strstr(text, "\"author\":{\"M\":{\"id\":{\"S\":\"auth0|seed-team\"},\"name\":{\"S\":\"Delivery Engineer\"}"));
	assert_non_null(strstr(text, "\"feed\":{\"S\":\"all\"}"));
	assert_null(strstr(text, "author_id"));
	assert_null(strstr(text, "read_by"));

	for (int t = 0; t < SCHEMA_COUNT; t++)
		json_object_put(items[t]);
	json_object_put(data);
	free(path);
}

/* Bad seed data is refused with a message naming the entry and the field. */
static void
test_build_errors(void **state)
{
	static const struct {
		const char *json;
		const char *message;
	} cases[] = {
		{ "[]", "seed data must be a JSON object" },
		{ "{\"deliverables\":{}}", "deliverables: must be an array" },
		{ "{\"deliverables\":[{\"id\":1,\"month\":1,\"name\":\"a\",\"status\":\"DONE\",\"completion_percentage\":1}]}",
		  "deliverables[0]: status: unknown value \"DONE\"" },
		{ "{\"deliverables\":[{\"id\":0,\"month\":1,\"name\":\"a\",\"status\":\"BLOCKED\",\"completion_percentage\":1}]}",
		  "deliverables[0]: id: must be a positive integer" },
		{ "{\"deliverables\":[{\"id\":1,\"month\":1,\"name\":\"a\",\"status\":\"BLOCKED\",\"completion_percentage\":101}]}",
		  "deliverables[0]: completion_percentage: out of range" },
		{ "{\"deliverables\":[{\"id\":1,\"month\":1,\"name\":\"a\",\"status\":\"BLOCKED\",\"completion_percentage\":1,\"due_date\":\"2026-13-01\"}]}",
		  "deliverables[0]: due_date: must be YYYY-MM-DD" },
		{ "{\"metrics\":[{\"id\":1,\"name\":\"m\",\"unit\":\"%\",\"baseline_value\":\"0\",\"target_value\":1}]}",
		  "metrics[0]: baseline_value: must be a number" },
		{ "{\"metrics\":[{\"id\":1,\"name\":\"m\",\"unit\":\"%\",\"baseline_value\":0,\"target_value\":1},"
		  "{\"id\":1,\"name\":\"n\",\"unit\":\"%\",\"baseline_value\":0,\"target_value\":1}]}",
		  "metrics[1]: id: duplicate id 1" },
		{ "{\"users\":[{\"id\":\"u\",\"email\":\"e\",\"name\":\"n\",\"role\":\"root\"}]}",
		  "users[0]: role: unknown value \"root\"" },
		{ "{\"updates\":[{\"title\":\"t\",\"body\":\"b\",\"type\":\"progress\",\"author_id\":\"ghost\",\"created_at\":\"2026-01-01T00:00:00Z\"}]}",
		  "updates[0]: author_id: no user \"ghost\" in users" },
		{ "{\"users\":[{\"id\":\"u\",\"email\":\"e\",\"name\":\"n\",\"role\":\"team\"}],"
		  "\"updates\":[{\"title\":\"t\",\"body\":\"b\",\"type\":\"progress\",\"author_id\":\"u\",\"created_at\":\"yesterday\"}]}",
		  "updates[0]: created_at: must be RFC 3339 UTC" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *cause = build_error(cases[i].json);

		if (cause == NULL)
			fail_msg("case %zu was accepted", i);
		assert_string_equal(cause, cases[i].message);
		free(cause);
	}
	assert_null(build_error("{}"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_deliverables),
		cmocka_unit_test(test_schema_others),
		cmocka_unit_test(test_update_id),
		cmocka_unit_test(test_build_seed_file),
		cmocka_unit_test(test_build_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
