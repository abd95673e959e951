/* migrate_test.c - the pure part of SPEC §9's mapping: legacy rows (as
 * PostgreSQL's text) to items, numbers, times, ids, the idempotence decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "ddb.h"
#include "migrate.h"
#include "util.h"

/* The item as compact JSON without the hash (for comparisons); caller frees. */
static char *
item_text(json_object *item)
{
	json_object *copy = NULL;
	char *out;

	json_object_deep_copy(item, &copy, NULL);
	json_object_object_del(copy, MIGRATE_HASH_ATTR);
	out = xstrdup(json_object_to_json_string_ext(copy, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(copy);
	return out;
}

/* Asserts the item's JSON (hash removed) equals expected, then frees it. */
static void
assert_item(json_object *item, const char *expected)
{
	char *text;
	json_object *want = json_tokener_parse(expected);

	assert_non_null(item);
	assert_non_null(want);
	text = item_text(item);
	if (!migrate_item_equal(item, want))
		fail_msg("item %s\nwanted %s", text, expected);
	free(text);
	json_object_put(want);
	json_object_put(item);
}

static void
test_decimal(void **state)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "80.00", "80" }, { "0", "0" }, { "-0.00", "0" }, { "007.50", "7.5" },
		{ "0.000100", "0.0001" }, { "-12.5", "-12.5" }, { "100", "100" },
		{ "12345678901234567890.123456", "12345678901234567890.123456" },
		{ "1E+3", "1000" }, { "1.5e-3", "0.0015" }, { "+4.1", "4.1" },
		{ "99999999999999999999999999999999999999", "99999999999999999999999999999999999999" },
		{ "1000000000000000000000000000000000000000000", "1000000000000000000000000000000000000000000" },
	};
	static const char *const bad[] = {
		"NaN", "Infinity", "-Infinity", "", "1.2.3", "abc", "1e", "--1",
		"999999999999999999999999999999999999999",	/* 39 digits */
		"1.00000000000000000000000000000000000001",	/* 39 significant */
		"1e126", "1e-131",
	};
	const char *cause;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		char *n = migrate_decimal(ok[i].in, &cause);

		if (n == NULL)
			fail_msg("%s refused: %s", ok[i].in, cause);
		assert_string_equal(n, ok[i].out);
		free(n);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		char *n = migrate_decimal(bad[i], &cause);

		if (n != NULL)
			fail_msg("%s accepted as %s", bad[i], n);
		assert_non_null(cause);
	}
}

static void
test_time_and_id(void **state)
{
	char t[MIGRATE_TIME_LEN], id[MIGRATE_UPDATE_ID_LEN];

	(void)state;
	assert_int_equal(migrate_time("2026-01-30 17:00:00+00", t), 0);
	assert_string_equal(t, "2026-01-30T17:00:00Z");
	assert_int_equal(migrate_time("2026-01-30 17:00:59.999999+00", t), 0);
	assert_string_equal(t, "2026-01-30T17:00:59Z");	/* kept to the second */
	assert_int_equal(migrate_time("infinity", t), -1);
	assert_int_equal(migrate_time("0044-03-15 12:00:00+00 BC", t), -1);
	assert_int_equal(migrate_time("2026-01-30 17:00:00+01", t), -1);
	assert_int_equal(migrate_time("10000-01-01 00:00:00+00", t), -1);

	assert_int_equal(migrate_update_id("2026-01-30T17:00:05Z", 42, id), 0);
	assert_string_equal(id, "20260130T170005Z-0000002a");
	assert_int_equal(migrate_update_id("2026-01-30T17:00:05Z", 0xffffffffLL, id), 0);
	assert_string_equal(id, "20260130T170005Z-ffffffff");
	assert_int_equal(migrate_update_id("2026-01-30T17:00:05Z", 0x100000000LL, id), -1);
	assert_int_equal(migrate_update_id("2026-01-30T17:00:05Z", -1, id), -1);
	/* Ids sort by time first, as the service's own. */
	{
		char a[MIGRATE_UPDATE_ID_LEN], b[MIGRATE_UPDATE_ID_LEN];

		migrate_update_id("2026-01-30T17:00:05Z", 9999, a);
		migrate_update_id("2026-01-30T17:00:06Z", 1, b);
		assert_true(strcmp(a, b) < 0);
	}
}

static void
test_map_deliverable(void **state)
{
	struct migrate_deliverable_row full = {
		"7", "Portal – phase 1 ✓", "Ünïcode \"quoted\"", "2", "IN_PROGRESS", "80.00",
		"2026-03-31", "Ops team", "2026-02-01 09:30:15.25+00",
	};
	struct migrate_deliverable_row nulls = {
		"8", "Bare", NULL, "1", "NOT_STARTED", "0.00", NULL, NULL, NULL,
	};
	char *cause = NULL;
	json_object *item;

	(void)state;
	item = migrate_map_deliverable(&full, &cause);
	assert_null(cause);
	/* The hash is there, and is the hash of the rest. */
	{
		char hash[MIGRATE_HASH_HEX + 1];
		json_object *h = json_object_object_get(json_object_object_get(item, MIGRATE_HASH_ATTR), "S");

		migrate_item_hash(item, hash);
		assert_string_equal(json_object_get_string(h), hash);
	}
	assert_item(item,
	    "{\"id\":{\"N\":\"7\"},\"name\":{\"S\":\"Portal – phase 1 ✓\"},"
	    "\"description\":{\"S\":\"Ünïcode \\\"quoted\\\"\"},\"month\":{\"N\":\"2\"},"
	    "\"status\":{\"S\":\"IN_PROGRESS\"},\"completion_percentage\":{\"N\":\"80\"},"
	    "\"due_date\":{\"S\":\"2026-03-31\"},\"owner\":{\"S\":\"Ops team\"},"
	    "\"updated_at\":{\"S\":\"2026-02-01T09:30:15Z\"},\"version\":{\"N\":\"1\"}}");
	/* NULL columns leave their attributes out. */
	item = migrate_map_deliverable(&nulls, &cause);
	assert_null(cause);
	assert_item(item,
	    "{\"id\":{\"N\":\"8\"},\"name\":{\"S\":\"Bare\"},\"month\":{\"N\":\"1\"},"
	    "\"status\":{\"S\":\"NOT_STARTED\"},\"completion_percentage\":{\"N\":\"0\"},"
	    "\"version\":{\"N\":\"1\"}}");
}

static void
test_refusals(void **state)
{
	static const struct {
		struct migrate_deliverable_row row;
		const char *cause;
	} cases[] = {
		{ { "1", "x", NULL, "0", "IN_PROGRESS", "5", NULL, NULL, NULL }, "month: 0 is below 1" },
		{ { "1", "x", NULL, "-3", "IN_PROGRESS", "5", NULL, NULL, NULL }, "month: -3 is below 1" },
		{ { "1", "x", NULL, "1", "DONE", "5", NULL, NULL, NULL },
		  "status: 'DONE' is not one of NOT_STARTED, IN_PROGRESS, COMPLETED, BLOCKED" },
		{ { "1", "x", NULL, "1", "BLOCKED", "100.01", NULL, NULL, NULL },
		  "completion_percentage: 100.01 is outside 0..100" },
		{ { "1", "x", NULL, "1", "BLOCKED", "-0.50", NULL, NULL, NULL },
		  "completion_percentage: -0.5 is outside 0..100" },
		{ { "1", "x", NULL, "1", "BLOCKED", "250", NULL, NULL, NULL },
		  "completion_percentage: 250 is outside 0..100" },
		{ { "1", "x", NULL, "1", "BLOCKED", "5", "infinity", NULL, NULL },
		  "due_date: 'infinity' is not a date YYYY-MM-DD" },
	};
	struct migrate_deliverable_row edge = { "1", "x", NULL, "1", "COMPLETED", "100.00", NULL, NULL, NULL };
	struct migrate_metric_row metric = {
		"3", "m", NULL, "%", "1", "1e200", "2", "t", NULL,
	};
	struct migrate_update_row update = {
		"5", "t", "b", "gossip", NULL, "2026-01-01 00:00:00+00", NULL, NULL, NULL,
	};
	struct migrate_user_row user = { "9", "auth0|u", NULL, NULL, "superuser", "2026-01-01 00:00:00+00", NULL };
	char *cause = NULL;
	json_object *item;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		item = migrate_map_deliverable(&cases[i].row, &cause);
		if (item != NULL)
			fail_msg("case %zu accepted", i);
		assert_non_null(cause);
		assert_string_equal(cause, cases[i].cause);
		free(cause);
	}
	item = migrate_map_deliverable(&edge, &cause);
	assert_non_null(item);	/* 100 is inside */
	json_object_put(item);

	assert_null(migrate_map_metric(&metric, NULL, 0, &cause));
	assert_string_equal(cause, "current_value: 1e200: magnitude above 10^125, more than DynamoDB holds");
	free(cause);
	metric.current_value = "1234567890123456789012345678901234567890";	/* 40 digits */
	assert_null(migrate_map_metric(&metric, NULL, 0, &cause));
	assert_string_equal(cause, "current_value: 1234567890123456789012345678901234567890: more than 38 significant digits");
	free(cause);

	assert_null(migrate_map_update(&update, NULL, 0, &cause));
	assert_string_equal(cause, "type: 'gossip' is not one of progress, milestone, blocker, announcement, digest");
	free(cause);

	assert_null(migrate_map_user(&user, &cause));
	assert_string_equal(cause, "role: 'superuser' is not one of admin, team, client");
	free(cause);
}

static void
test_map_metric_history(void **state)
{
	struct migrate_metric_row row = {
		"4", "Uptime", NULL, "%", "98.000000", "12345678901234567890.123456", "99.9", "f",
		"2026-02-01 00:00:00+00",
	};
	struct migrate_history_row points[] = {
		{ "1.50", "2026-01-01 00:00:00+00" }, { "2", "2026-01-02 00:00:00.9+00" },
	};
	char *cause = NULL;

	(void)state;
	assert_item(migrate_map_metric(&row, points, 2, &cause),
	    "{\"id\":{\"N\":\"4\"},\"name\":{\"S\":\"Uptime\"},\"unit\":{\"S\":\"%\"},"
	    "\"baseline_value\":{\"N\":\"98\"},\"current_value\":{\"N\":\"12345678901234567890.123456\"},"
	    "\"target_value\":{\"N\":\"99.9\"},\"higher_is_better\":{\"BOOL\":false},"
	    "\"history\":{\"L\":[{\"M\":{\"value\":{\"N\":\"1.5\"},\"at\":{\"S\":\"2026-01-01T00:00:00Z\"}}},"
	    "{\"M\":{\"value\":{\"N\":\"2\"},\"at\":{\"S\":\"2026-01-02T00:00:00Z\"}}}]},"
	    "\"updated_at\":{\"S\":\"2026-02-01T00:00:00Z\"},\"version\":{\"N\":\"1\"}}");
	assert_null(cause);
	/* No history rows: an empty list. */
	row.higher_is_better = "t";
	assert_item(migrate_map_metric(&row, NULL, 0, &cause),
	    "{\"id\":{\"N\":\"4\"},\"name\":{\"S\":\"Uptime\"},\"unit\":{\"S\":\"%\"},"
	    "\"baseline_value\":{\"N\":\"98\"},\"current_value\":{\"N\":\"12345678901234567890.123456\"},"
	    "\"target_value\":{\"N\":\"99.9\"},\"higher_is_better\":{\"BOOL\":true},"
	    "\"history\":{\"L\":[]},\"updated_at\":{\"S\":\"2026-02-01T00:00:00Z\"},\"version\":{\"N\":\"1\"}}");
}

static void
test_map_update(void **state)
{
	struct migrate_update_row row = {
		"42", "Kick-off 🚀", "Body", "milestone", "7", "2026-01-30 17:00:05.7+00",
		"auth0|alice", "Alice", NULL,
	};
	struct migrate_update_row orphan = {
		"43", "Gone", "Body", "blocker", NULL, "2026-01-30 17:00:05+00", NULL, NULL, NULL,
	};
	const char *readers[] = { "auth0|zed", "auth0|bob", "auth0|alice" };
	char *cause = NULL;

	(void)state;
	assert_item(migrate_map_update(&row, readers, 3, &cause),
	    "{\"id\":{\"S\":\"20260130T170005Z-0000002a\"},\"created_at\":{\"S\":\"2026-01-30T17:00:05Z\"},"
	    "\"title\":{\"S\":\"Kick-off 🚀\"},\"body\":{\"S\":\"Body\"},\"type\":{\"S\":\"milestone\"},"
	    "\"deliverable_id\":{\"N\":\"7\"},"
	    "\"author\":{\"M\":{\"id\":{\"S\":\"auth0|alice\"},\"name\":{\"S\":\"Alice\"}}},"
	    "\"feed\":{\"S\":\"all\"},"
	    "\"read_by\":{\"SS\":[\"auth0|alice\",\"auth0|bob\",\"auth0|zed\"]},\"version\":{\"N\":\"1\"}}");
	/* A deleted author: author null; nobody read it: no read_by. */
	assert_item(migrate_map_update(&orphan, NULL, 0, &cause),
	    "{\"id\":{\"S\":\"20260130T170005Z-0000002b\"},\"created_at\":{\"S\":\"2026-01-30T17:00:05Z\"},"
	    "\"title\":{\"S\":\"Gone\"},\"body\":{\"S\":\"Body\"},\"type\":{\"S\":\"blocker\"},"
	    "\"author\":{\"NULL\":true},\"feed\":{\"S\":\"all\"},\"version\":{\"N\":\"1\"}}");
}

static void
test_map_user(void **state)
{
	struct migrate_user_row row = {
		"1", "auth0|alice", "alice@example.com", "Alice Ærø", "admin",
		"2025-06-01 08:00:00+00", "2026-01-30 17:00:00+00",
	};
	struct migrate_user_row empty = { "2", "", NULL, NULL, "team", "2025-06-01 08:00:00+00", NULL };
	char *cause = NULL;

	(void)state;
	assert_item(migrate_map_user(&row, &cause),
	    "{\"id\":{\"S\":\"auth0|alice\"},\"email\":{\"S\":\"alice@example.com\"},"
	    "\"name\":{\"S\":\"Alice Ærø\"},\"role\":{\"S\":\"admin\"},"
	    "\"created_at\":{\"S\":\"2025-06-01T08:00:00Z\"},\"last_seen_at\":{\"S\":\"2026-01-30T17:00:00Z\"},"
	    "\"version\":{\"N\":\"1\"}}");
	assert_null(migrate_map_user(&empty, &cause));
	assert_string_equal(cause, "auth0_id: empty");
	free(cause);
}

static void
test_decide(void **state)
{
	struct migrate_deliverable_row row = {
		"7", "Name", NULL, "2", "IN_PROGRESS", "80.00", NULL, NULL, NULL,
	};
	struct migrate_deliverable_row newer = {
		"7", "Name", NULL, "2", "COMPLETED", "100", NULL, NULL, NULL,
	};
	char *cause = NULL;
	json_object *mapped = migrate_map_deliverable(&row, &cause);
	json_object *mapped2 = migrate_map_deliverable(&newer, &cause);
	json_object *stored = NULL, *edited = NULL, *foreign = NULL;

	(void)state;
	assert_int_equal(migrate_decide(mapped, NULL, false), MIGRATE_PUT);
	/* As DynamoDB returns it: numbers in another spelling. */
	json_object_deep_copy(mapped, &stored, NULL);
	json_object_object_add(stored, "completion_percentage", ddb_av_n("80.0"));
	assert_int_equal(migrate_decide(mapped, stored, false), MIGRATE_UNCHANGED);
	/* The source changed since our write, the item did not: replaced. */
	assert_int_equal(migrate_decide(mapped2, stored, false), MIGRATE_PUT);
	/* Edited through the API since: kept, or forced. */
	json_object_deep_copy(stored, &edited, NULL);
	json_object_object_add(edited, "version", ddb_av_n("2"));
	assert_int_equal(migrate_decide(mapped, edited, false), MIGRATE_KEPT);
	assert_int_equal(migrate_decide(mapped, edited, true), MIGRATE_FORCED);
	/* Not ours (no hash), different: kept. */
	json_object_deep_copy(edited, &foreign, NULL);
	json_object_object_del(foreign, MIGRATE_HASH_ATTR);
	assert_int_equal(migrate_decide(mapped, foreign, false), MIGRATE_KEPT);
	/* Sets compare as sets. */
	{
		json_object *a = json_tokener_parse("{\"id\":{\"S\":\"x\"},\"r\":{\"SS\":[\"b\",\"a\"]}}");
		json_object *b = json_tokener_parse("{\"id\":{\"S\":\"x\"},\"r\":{\"SS\":[\"a\",\"b\"]}}");
		json_object *c = json_tokener_parse("{\"id\":{\"S\":\"x\"},\"r\":{\"SS\":[\"a\"]}}");

		assert_true(migrate_item_equal(a, b));
		assert_false(migrate_item_equal(a, c));
		json_object_put(a);
		json_object_put(b);
		json_object_put(c);
	}
	json_object_put(mapped);
	json_object_put(mapped2);
	json_object_put(stored);
	json_object_put(edited);
	json_object_put(foreign);
}

static void
test_report_json(void **state)
{
	struct migrate_report r;
	json_object *j;

	(void)state;
	memset(&r, 0, sizeof r);
	r.t[SCHEMA_DELIVERABLES].read = 3;
	r.t[SCHEMA_DELIVERABLES].written = 2;
	r.t[SCHEMA_DELIVERABLES].skipped = 1;
	j = migrate_report_json(&r);
	assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
	    "{\"deliverables\":{\"read\":3,\"written\":2,\"skipped\":1,\"unchanged\":0},"
	    "\"metrics\":{\"read\":0,\"written\":0,\"skipped\":0,\"unchanged\":0},"
	    "\"updates\":{\"read\":0,\"written\":0,\"skipped\":0,\"unchanged\":0},"
	    "\"users\":{\"read\":0,\"written\":0,\"skipped\":0,\"unchanged\":0}}");
	json_object_put(j);
}

/* The hash migrate leaves on its items never reaches the API's plain items. */
static void
test_hash_not_served(void **state)
{
	json_object *raw = json_tokener_parse("{\"id\":{\"N\":\"3\"},\"name\":{\"S\":\"x\"},"
	    "\"" MIGRATE_HASH_ATTR "\":{\"S\":\"0123abcd\"}}");
	json_object *plain, *v;
	const char *cause = NULL;

	(void)state;
	assert_non_null(raw);
	plain = model_unmarshal(raw, &cause);
	assert_non_null(plain);
	assert_false(json_object_object_get_ex(plain, MIGRATE_HASH_ATTR, NULL));
	assert_true(json_object_object_get_ex(plain, "name", &v));
	assert_string_equal(json_object_get_string(v), "x");
	json_object_put(plain);
	json_object_put(raw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_time_and_id),
		cmocka_unit_test(test_map_deliverable),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_map_metric_history),
		cmocka_unit_test(test_map_update),
		cmocka_unit_test(test_map_user),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_report_json),
		cmocka_unit_test(test_hash_not_served),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
