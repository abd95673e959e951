/* metrics_test.c - the pure logic of the metrics and updates resources:
 * the progress formula and its rounding, the capped history, the API views,
 * update ids, and the feed cursor (round trip, and every forged or corrupt
 * shape rejected). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "model_metrics.h"
#include "model_updates.h"
#include "util.h"

#define EPS 1e-9

/* Parses a JSON literal of the test (aborts the test on a typo). */
static json_object *
parse(const char *text)
{
	json_object *obj = json_tokener_parse(text);

	assert_non_null(obj);
	return obj;
}

/* Progress of a metric given as JSON text. */
static double
progress_of(const char *text)
{
	json_object *m = parse(text);
	double p = metrics_progress(m);

	json_object_put(m);
	return p;
}

/* The serialised "progress" of the list view of a metric given as JSON text. */
static void
assert_view_progress_text(const char *metric, const char *expected)
{
	json_object *m = parse(metric), *view = metrics_item_view(m, false), *p;

	assert_true(json_object_object_get_ex(view, "progress", &p));
	assert_string_equal(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN), expected);
	json_object_put(view);
	json_object_put(m);
}

/* The four seeded metrics give the figures of the brief. */
static void
test_progress_seed(void **state)
{
	(void)state;
	assert_float_equal(progress_of("{\"baseline_value\":60,\"current_value\":87,\"target_value\":95,"
	    "\"higher_is_better\":true}"), 77.1, EPS);
	assert_float_equal(progress_of("{\"baseline_value\":0,\"current_value\":35,\"target_value\":50,"
	    "\"higher_is_better\":true}"), 70, EPS);
	assert_float_equal(progress_of("{\"baseline_value\":0,\"current_value\":48,\"target_value\":200,"
	    "\"higher_is_better\":true}"), 24, EPS);
	assert_float_equal(progress_of("{\"baseline_value\":12.5,\"current_value\":6.4,\"target_value\":3,"
	    "\"higher_is_better\":false}"), 64.2, EPS);
	assert_view_progress_text("{\"baseline_value\":60,\"current_value\":87,\"target_value\":95}", "77.1");
	assert_view_progress_text("{\"baseline_value\":12.5,\"current_value\":6.4,\"target_value\":3,"
	    "\"higher_is_better\":false}", "64.2");
	assert_view_progress_text("{\"baseline_value\":0,\"current_value\":35,\"target_value\":50}", "70");
	assert_view_progress_text("{\"baseline_value\":0,\"current_value\":48,\"target_value\":200}", "24");
}

/* Past the target is 100, behind the baseline 0, in both directions. */
static void
test_progress_clamped(void **state)
{
	(void)state;
	assert_float_equal(progress_of("{\"baseline_value\":60,\"current_value\":99,\"target_value\":95}"), 100, EPS);
	assert_float_equal(progress_of("{\"baseline_value\":60,\"current_value\":50,\"target_value\":95}"), 0, EPS);
	assert_float_equal(progress_of("{\"baseline_value\":12.5,\"current_value\":1,\"target_value\":3,"
	    "\"higher_is_better\":false}"), 100, EPS);
	assert_float_equal(progress_of("{\"baseline_value\":12.5,\"current_value\":20,\"target_value\":3,"
	    "\"higher_is_better\":false}"), 0, EPS);
	/* No current value: it is the baseline. */
	assert_float_equal(progress_of("{\"baseline_value\":5,\"target_value\":10}"), 0, EPS);
	assert_view_progress_text("{\"baseline_value\":60,\"current_value\":50,\"target_value\":95}", "0");
}

/* Target equal to baseline: 100 once reached, in the metric's direction. */
static void
test_progress_target_equals_baseline(void **state)
{
	(void)state;
	assert_float_equal(progress_of("{\"baseline_value\":5,\"current_value\":5,\"target_value\":5}"), 100, EPS);
	assert_float_equal(progress_of("{\"baseline_value\":5,\"current_value\":6,\"target_value\":5}"), 100, EPS);
	assert_float_equal(progress_of("{\"baseline_value\":5,\"current_value\":4.9,\"target_value\":5}"), 0, EPS);
	assert_float_equal(progress_of("{\"baseline_value\":5,\"current_value\":4,\"target_value\":5,"
	    "\"higher_is_better\":false}"), 100, EPS);
	assert_float_equal(progress_of("{\"baseline_value\":5,\"current_value\":5,\"target_value\":5,"
	    "\"higher_is_better\":false}"), 100, EPS);
	assert_float_equal(progress_of("{\"baseline_value\":5,\"current_value\":5.1,\"target_value\":5,"
	    "\"higher_is_better\":false}"), 0, EPS);
}

/* One decimal, halves away from zero, binary noise notwithstanding. */
static void
test_progress_rounding(void **state)
{
	(void)state;
	/* 0.05 % -> 0.1 */
	assert_float_equal(progress_of("{\"baseline_value\":0,\"current_value\":0.5,\"target_value\":1000}"), 0.1, EPS);
	/* 0.25 % -> 0.3 */
	assert_float_equal(progress_of("{\"baseline_value\":0,\"current_value\":1,\"target_value\":400}"), 0.3, EPS);
	/* 0.24 % -> 0.2 */
	assert_float_equal(progress_of("{\"baseline_value\":0,\"current_value\":0.96,\"target_value\":400}"), 0.2, EPS);
	/* 10 - 9.995 is 0.00499999... in binary: still a half, so 0.1. */
	assert_float_equal(progress_of("{\"baseline_value\":10,\"current_value\":9.995,\"target_value\":0,"
	    "\"higher_is_better\":false}"), 0.1, EPS);
	/* 2/3 -> 66.7 */
	assert_view_progress_text("{\"baseline_value\":0,\"current_value\":2,\"target_value\":3}", "66.7");
	assert_view_progress_text("{\"baseline_value\":0,\"current_value\":1,\"target_value\":400}", "0.3");
}

/* The list view leaves history out, the item view keeps it; numbers keep their text. */
static void
test_metrics_view(void **state)
{
	json_object *m = parse("{\"id\":4,\"name\":\"Err\",\"unit\":\"%\",\"baseline_value\":12.5,"
	    "\"current_value\":4.1,\"target_value\":3.0,\"higher_is_better\":false,\"version\":2,"
	    "\"history\":[{\"value\":6.4,\"at\":\"2026-01-01T00:00:00Z\"},{\"value\":4.1,\"at\":\"2026-01-02T00:00:00Z\"}]}");
	json_object *list = metrics_item_view(m, false), *one = metrics_item_view(m, true), *h;
	const char *text;

	(void)state;
	assert_false(json_object_object_get_ex(list, "history", NULL));
	assert_true(json_object_object_get_ex(list, "progress", NULL));
	assert_int_equal(json_object_object_length(list), json_object_object_length(m));
	assert_true(json_object_object_get_ex(one, "history", &h));
	assert_int_equal(json_object_array_length(h), 2);
	text = json_object_to_json_string_ext(one, JSON_C_TO_STRING_PLAIN);
	assert_non_null(strstr(text, "\"current_value\":4.1,"));
	assert_non_null(strstr(text, "\"target_value\":3.0,"));
	assert_non_null(strstr(text, "\"progress\":88.4"));
	/* The plain item is untouched. */
	assert_false(json_object_object_get_ex(m, "progress", NULL));
	json_object_put(list);
	json_object_put(one);
	json_object_put(m);
}

/* A history of value i at index i, n entries. */
static json_object *
history_of(int n)
{
	json_object *h = json_object_new_array();

	for (int i = 0; i < n; i++) {
		json_object *p = json_object_new_object();

		json_object_object_add(p, "value", json_object_new_int(i));
		json_object_object_add(p, "at", json_object_new_string("2026-01-01T00:00:00Z"));
		json_object_array_add(h, p);
	}
	return h;
}

/* The value of history entry i. */
static int
history_value(json_object *h, size_t i)
{
	json_object *v;

	assert_true(json_object_object_get_ex(json_object_array_get_idx(h, i), "value", &v));
	return json_object_get_int(v);
}

/* Appending keeps the newest last and at most METRICS_HISTORY_MAX entries. */
static void
test_history_append(void **state)
{
	json_object *value = parse("4.1"), *h, *full, *appended, *at;

	(void)state;
	h = metrics_history_append(NULL, value, "2026-02-01T10:00:00Z");
	assert_int_equal(json_object_array_length(h), 1);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(h, 0), "at", &at));
	assert_string_equal(json_object_get_string(at), "2026-02-01T10:00:00Z");
	assert_string_equal(json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN),
	    "[{\"value\":4.1,\"at\":\"2026-02-01T10:00:00Z\"}]");
	json_object_put(h);

	h = history_of(5);
	appended = metrics_history_append(h, value, "2026-02-01T10:00:00Z");
	assert_int_equal(json_object_array_length(appended), 6);
	assert_int_equal(json_object_array_length(h), 5);	/* the input is not changed */
	assert_int_equal(history_value(appended, 0), 0);
	json_object_put(appended);
	json_object_put(h);

	full = history_of(METRICS_HISTORY_MAX);
	appended = metrics_history_append(full, value, "2026-02-01T10:00:00Z");
	assert_int_equal(json_object_array_length(appended), METRICS_HISTORY_MAX);
	assert_int_equal(history_value(appended, 0), 1);	/* the oldest is gone */
	assert_int_equal(history_value(appended, METRICS_HISTORY_MAX - 2), METRICS_HISTORY_MAX - 1);
	assert_string_equal(json_object_to_json_string_ext(json_object_array_get_idx(appended,
	    METRICS_HISTORY_MAX - 1), JSON_C_TO_STRING_PLAIN), "{\"value\":4.1,\"at\":\"2026-02-01T10:00:00Z\"}");
	json_object_put(appended);
	json_object_put(full);

	/* Over-full (older data): trimmed to the cap. */
	full = history_of(METRICS_HISTORY_MAX + 7);
	appended = metrics_history_append(full, value, "2026-02-01T10:00:00Z");
	assert_int_equal(json_object_array_length(appended), METRICS_HISTORY_MAX);
	assert_int_equal(history_value(appended, 0), 8);
	json_object_put(appended);
	json_object_put(full);
	json_object_put(value);
}

/* A cursor decodes to the key it was made from, in the base64url alphabet. */
static void
test_cursor_round_trip(void **state)
{
	json_object *key = parse("{\"id\":\"20260130T170000Z-1a2b3c4d\",\"feed\":\"all\","
	    "\"created_at\":\"2026-01-30T17:00:00Z\"}"), *back = NULL;
	char *cursor = updates_cursor_encode(key);

	(void)state;
	assert_non_null(cursor);
	assert_true(strlen(cursor) <= UPDATES_CURSOR_MAX);
	assert_int_equal(strspn(cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
	    strlen(cursor));
	assert_int_equal(updates_cursor_decode(cursor, &back), 0);
	assert_non_null(back);
	assert_true(json_object_equal(key, back));
	json_object_put(back);
	free(cursor);
	json_object_put(key);
}

/* Decodes the base64url of text; expects the decoder to refuse it. */
static void
assert_json_cursor_rejected(const char *text)
{
	char *cursor = base64url_encode((const unsigned char *)text, strlen(text));
	json_object *key = (json_object *)(uintptr_t)1;

	if (updates_cursor_decode(cursor, &key) != -1)
		fail_msg("cursor of %s was accepted", text);
	assert_null(key);
	free(cursor);
}

/* Every forged or corrupt cursor is refused, not trusted and not a crash. */
static void
test_cursor_rejects(void **state)
{
	static const char *const bad_text[] = {
		"", "=", "not base64!", "eyJ", "eyJpZCI6", "e30=", "e30", "+/+/", "abc def",
		"eyJpZCI6ImEiLCJmZWVkIjoiYWxsIiwiY3JlYXRlZF9hdCI6IjIwMjYtMDEtMzBUMTc6MDA6MDBaIn0=",
	};
	static const char *const bad_json[] = {
		"{}",
		"[]",
		"null",
		"\"all\"",
		"{\"id\":\"a\",\"feed\":\"all\"}",
		"{\"id\":\"a\",\"feed\":\"all\",\"created_at\":\"2026-01-30T17:00:00Z\",\"x\":1}",
		"{\"id\":1,\"feed\":\"all\",\"created_at\":\"2026-01-30T17:00:00Z\"}",
		"{\"id\":\"a\",\"feed\":\"other\",\"created_at\":\"2026-01-30T17:00:00Z\"}",
		"{\"id\":\"a\",\"feed\":\"all\",\"created_at\":\"yesterday\"}",
		"{\"id\":\"a\",\"feed\":\"all\",\"created_at\":\"2026-01-30T17:00:00+02:00\"}",
		"{\"id\":\"a\",\"feed\":\"all\",\"created_at\":\"2026-02-30T17:00:00Z\"}",
		"{\"id\":\"a\",\"feed\":\"all\",\"created_at\":\" 2026-1-30T17:00:00Z\"}",
		"{\"id\":\"a b\",\"feed\":\"all\",\"created_at\":\"2026-01-30T17:00:00Z\"}",
		"{\"id\":\"\",\"feed\":\"all\",\"created_at\":\"2026-01-30T17:00:00Z\"}",
		"{\"id\":\"a\\u0000b\",\"feed\":\"all\",\"created_at\":\"2026-01-30T17:00:00Z\"}",
		"{\"id\":\"a\",\"feed\":\"all\\u0000\",\"created_at\":\"2026-01-30T17:00:00Z\"}",
		"{\"id\":{\"S\":\"a\"},\"feed\":\"all\",\"created_at\":\"2026-01-30T17:00:00Z\"}",
		"{\"id\":\"a\",\"feed\":\"all\",\"created_at\":\"2026-01-30T17:00:00Z\"} trailing",
		"{\"id\":\"a\",\"feed\":\"all\",\"created_at\":\"2026-01-30T17:00:00Z\"",
		"{'id':'a','feed':'all','created_at':'2026-01-30T17:00:00Z'}",
		"{\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"feed\":\"all\","
		    "\"created_at\":\"2026-01-30T17:00:00Z\"}",
	};
	json_object *key;
	char *huge, *cursor;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad_text); i++) {
		key = NULL;
		if (updates_cursor_decode(bad_text[i], &key) != -1)
			fail_msg("cursor \"%s\" was accepted", bad_text[i]);
		assert_null(key);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad_json); i++)
		assert_json_cursor_rejected(bad_json[i]);
	/* Bytes that are not UTF-8, and a NUL inside. */
	{
		static const unsigned char raw[] = { '{', 0xff, 0xfe, '}' };
		static const unsigned char nul[] = { '{', '}', 0 };

		cursor = base64url_encode(raw, sizeof raw);
		key = NULL;
		assert_int_equal(updates_cursor_decode(cursor, &key), -1);
		free(cursor);
		cursor = base64url_encode(nul, sizeof nul);
		assert_int_equal(updates_cursor_decode(cursor, &key), -1);
		free(cursor);
	}
	/* Too long: refused before decoding, even if well formed otherwise. */
	huge = xmalloc(UPDATES_CURSOR_MAX + 2);
	memset(huge, 'A', UPDATES_CURSOR_MAX + 1);
	huge[UPDATES_CURSOR_MAX + 1] = '\0';
	assert_int_equal(updates_cursor_decode(huge, &key), -1);
	free(huge);
	assert_int_equal(updates_cursor_decode(NULL, &key), -1);
	/* A valid cursor with one character changed is refused or decodes to a valid key. */
	{
		json_object *k = parse("{\"id\":\"20260130T170000Z-1a2b3c4d\",\"feed\":\"all\","
		    "\"created_at\":\"2026-01-30T17:00:00Z\"}");
		char *good = updates_cursor_encode(k);
		size_t len = strlen(good);

		for (size_t i = 0; i < len; i++) {
			char saved = good[i];

			good[i] = saved == 'A' ? 'B' : 'A';
			key = NULL;
			if (updates_cursor_decode(good, &key) == 0) {
				assert_true(updates_id_valid(json_object_get_string(json_object_object_get(key, "id"))));
				json_object_put(key);
			}
			good[i] = saved;
		}
		free(good);
		json_object_put(k);
	}
}

/* Ids: the allowed alphabet and length, and new ids shaped like the seed's. */
static void
test_update_ids(void **state)
{
	char a[UPDATES_ID_LEN], b[UPDATES_ID_LEN], long_id[UPDATES_ID_MAX + 2];

	(void)state;
	assert_true(updates_id_valid("20260130T170000Z-1a2b3c4d"));
	assert_true(updates_id_valid("a_b.c:d-E9"));
	assert_false(updates_id_valid(""));
	assert_false(updates_id_valid(NULL));
	assert_false(updates_id_valid("a/b"));
	assert_false(updates_id_valid("a b"));
	assert_false(updates_id_valid("caf\xc3\xa9"));
	memset(long_id, 'x', UPDATES_ID_MAX);
	long_id[UPDATES_ID_MAX] = '\0';
	assert_true(updates_id_valid(long_id));
	long_id[UPDATES_ID_MAX] = 'x';
	long_id[UPDATES_ID_MAX + 1] = '\0';
	assert_false(updates_id_valid(long_id));

	updates_new_id(1769792400, a);	/* 2026-01-30T17:00:00Z */
	assert_int_equal(strlen(a), UPDATES_ID_LEN - 1);
	assert_memory_equal(a, "20260130T170000Z-", 17);
	assert_int_equal(strspn(a + 17, "0123456789abcdef"), 8);
	assert_true(updates_id_valid(a));
	updates_new_id(1769792401, b);
	assert_true(strcmp(a, b) < 0);	/* later ids sort after */
	updates_new_id(1769792400, b);
	assert_string_not_equal(a, b);	/* random part differs */
}

/* The update view: read and read_count for the caller, never read_by or feed. */
static void
test_update_view(void **state)
{
	json_object *item = parse("{\"id\":\"x1\",\"title\":\"T\",\"body\":\"B\",\"type\":\"progress\","
	    "\"deliverable_id\":5,\"author\":{\"id\":\"auth0|a\",\"name\":\"A\"},"
	    "\"created_at\":\"2026-01-30T17:00:00Z\",\"feed\":\"all\",\"read_by\":[\"auth0|a\",\"auth0|b\"]}");
	json_object *bare = parse("{\"id\":\"x2\",\"title\":\"T\",\"body\":\"B\",\"type\":\"blocker\","
	    "\"author\":{\"id\":\"auth0|a\"},\"created_at\":\"2026-01-30T17:00:00Z\",\"feed\":\"all\"}");
	json_object *view, *v;

	(void)state;
	view = updates_item_view(item, "auth0|b");
	assert_false(json_object_object_get_ex(view, "read_by", NULL));
	assert_false(json_object_object_get_ex(view, "feed", NULL));
	assert_true(json_object_object_get_ex(view, "read", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(view, "read_count", &v));
	assert_int_equal(json_object_get_int(v), 2);
	assert_true(json_object_object_get_ex(view, "deliverable_id", &v));
	assert_int_equal(json_object_get_int(v), 5);
	assert_int_equal(json_object_object_length(view), 9);
	json_object_put(view);

	view = updates_item_view(item, "auth0|c");
	assert_true(json_object_object_get_ex(view, "read", &v));
	assert_false(json_object_get_boolean(v));
	json_object_put(view);

	view = updates_item_view(bare, NULL);
	assert_false(json_object_object_get_ex(view, "deliverable_id", NULL));
	assert_true(json_object_object_get_ex(view, "read_count", &v));
	assert_int_equal(json_object_get_int(v), 0);
	assert_true(json_object_object_get_ex(view, "read", &v));
	assert_false(json_object_get_boolean(v));
	json_object_put(view);
	json_object_put(bare);
	json_object_put(item);
}

/* Unread counts per user over plain items. */
static void
test_count_unread(void **state)
{
	json_object *items = parse("[{\"id\":\"a\",\"read_by\":[\"u1\",\"u2\"]},{\"id\":\"b\",\"read_by\":[\"u2\"]},"
	    "{\"id\":\"c\"}]");

	(void)state;
	assert_int_equal(updates_count_unread(items, "u1"), 2);
	assert_int_equal(updates_count_unread(items, "u2"), 1);
	assert_int_equal(updates_count_unread(items, "u3"), 3);
	assert_int_equal(updates_count_unread(NULL, "u1"), 0);
	json_object_put(items);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_progress_seed),
		cmocka_unit_test(test_progress_clamped),
		cmocka_unit_test(test_progress_target_equals_baseline),
		cmocka_unit_test(test_progress_rounding),
		cmocka_unit_test(test_metrics_view),
		cmocka_unit_test(test_history_append),
		cmocka_unit_test(test_cursor_round_trip),
		cmocka_unit_test(test_cursor_rejects),
		cmocka_unit_test(test_update_ids),
		cmocka_unit_test(test_update_view),
		cmocka_unit_test(test_count_unread),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
