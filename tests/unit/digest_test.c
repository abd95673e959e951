/* digest_test.c - the digest's pure parts: the period data and built-in
 * markdown for the seed data, days validation, the cache key, and the
 * fallback when the LLM cannot be reached. */
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
#include "digest.h"
#include "util.h"

#define SEED_FILE "tests/data/digest/seed-period.json"

struct fixture {
	json_object	*seed;
	time_t		 now;
	long		 days;
};

/* The path of a test data file under top_srcdir (or the working directory). */
static char *
data_path(const char *rel)
{
	const char *top = getenv("top_srcdir");

	return xasprintf("%s/%s", top != NULL && *top ? top : ".", rel);
}

/* A member of the seed file (borrowed). */
static json_object *
seed_get(struct fixture *f, const char *field)
{
	json_object *v = NULL;

	assert_true(json_object_object_get_ex(f->seed, field, &v));
	return v;
}

/* Loads the seed-period file. */
static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	char *path = data_path(SEED_FILE);
	json_object *v;

	f->seed = json_object_from_file(path);
	free(path);
	if (f->seed == NULL)
		return -1;
	if (!json_object_object_get_ex(f->seed, "now", &v) ||
	    time_parse_rfc3339(json_object_get_string(v), &f->now) == -1)
		return -1;
	json_object_object_get_ex(f->seed, "days", &v);
	f->days = json_object_get_int(v);
	*state = f;
	return 0;
}

/* Frees the fixture. */
static int
teardown(void **state)
{
	struct fixture *f = *state;

	json_object_put(f->seed);
	free(f);
	digest_cache_clear();
	return 0;
}

/* Period data of the seed at now for days. */
static json_object *
seed_data(struct fixture *f, time_t now, long days)
{
	return digest_period_data(seed_get(f, "deliverables"), seed_get(f, "metrics"),
	    seed_get(f, "updates"), now, days);
}

/* The text between two headings of the markdown (a copy), "" when absent. */
static char *
section(const char *md, const char *heading, const char *next)
{
	const char *a = strstr(md, heading), *b;

	if (a == NULL)
		return xstrdup("");
	b = next != NULL ? strstr(a, next) : NULL;
	return b != NULL ? xstrndup(a, (size_t)(b - a)) : xstrdup(a);
}

/* The period data: counts, overall progress, the blocked reason, updates in the period. */
static void
test_period_data(void **state)
{
	struct fixture *f = *state;
	json_object *data = seed_data(f, f->now, f->days), *dl, *counts, *blocked, *updates, *metrics, *m;

	assert_string_equal(json_object_get_string(json_object_object_get(data, "today")), "2026-02-20");
	/* (3 * 100 + 80 + 60 + 40 + 25) / 12 = 42.08 */
	assert_string_equal(json_object_to_json_string(json_object_object_get(data, "overall_progress")), "42.1");
	dl = json_object_object_get(data, "deliverables");
	counts = json_object_object_get(dl, "counts");
	assert_int_equal(json_object_get_int(json_object_object_get(dl, "total")), 12);
	assert_int_equal(json_object_get_int(json_object_object_get(counts, "completed")), 3);
	assert_int_equal(json_object_get_int(json_object_object_get(counts, "in_progress")), 3);
	assert_int_equal(json_object_get_int(json_object_object_get(counts, "blocked")), 1);
	assert_int_equal(json_object_get_int(json_object_object_get(counts, "not_started")), 5);
	blocked = json_object_object_get(dl, "blocked");
	assert_int_equal(json_object_array_length(blocked), 1);
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(blocked, 0), "name")),
	    "Integration API Design");
	/* The blocker update is older than the period: the reason still comes from it. */
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(blocked, 0), "reason")),
	    "Waiting for sandbox credentials from the estimating software vendor.");
	/* Due within 14 days of 2026-02-20, open: ids 5, 6, 7, 8 (due 02-20 and 02-27). */
	assert_int_equal(json_object_array_length(json_object_object_get(dl, "due_soon")), 4);
	assert_int_equal(json_object_array_length(json_object_object_get(dl, "overdue")), 1);
	updates = json_object_object_get(data, "updates");
	assert_int_equal(json_object_array_length(updates), 1);
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(updates, 0), "title")),
	    "Symbol recognition at 60%");
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(updates, 0), "author")),
	    "Delivery Engineer");
	/* No email reaches the prompt. */
	assert_null(strstr(json_object_to_json_string(data), "@"));
	metrics = json_object_object_get(data, "metrics");
	assert_int_equal(json_object_array_length(metrics), 4);
	m = json_object_array_get_idx(metrics, 0);
	assert_int_equal(json_object_get_int(json_object_object_get(m, "period_start")), 83);
	assert_int_equal(json_object_get_int(json_object_object_get(m, "current")), 87);
	assert_string_equal(json_object_to_json_string(json_object_object_get(m, "progress")), "77.1");
	m = json_object_array_get_idx(metrics, 3);
	assert_string_equal(json_object_to_json_string(json_object_object_get(m, "period_start")), "6.9");
	json_object_put(data);
}

/* The built-in digest of the seed names the blocked deliverable and why,
 * every metric with its movement, and what was completed. */
static void
test_builtin_seed(void **state)
{
	struct fixture *f = *state;
	json_object *data = seed_data(f, f->now, f->days), *metrics = seed_get(f, "metrics");
	char *md = digest_builtin(data), *again = digest_builtin(data);
	char *completed = section(md, "## Completed", "## Blocked");
	char *blocked = section(md, "## Blocked", "## Metrics");
	char *metrics_md = section(md, "## Metrics", "## Updates this period");
	char *updates = section(md, "## Updates this period", "## Due next");
	char *due = section(md, "## Due next", NULL);

	assert_string_equal(md, again);	/* deterministic */
	assert_non_null(strstr(md, "# Project digest: the last 7 days"));
	assert_non_null(strstr(md, "**Overall progress: 42.1%** across 12 deliverables: 3 completed, "
	    "3 in progress, 1 blocked, 5 not started."));
	assert_non_null(strstr(completed, "- Drawing Parsing Prototype (month 1)"));
	assert_non_null(strstr(completed, "- Estimator Profile Analysis (month 1)"));
	assert_non_null(strstr(completed, "- Drawing Data Pipeline (month 1)"));
	assert_null(strstr(completed, "Baseline Accuracy Report"));
	assert_non_null(strstr(blocked, "**Integration API Design** (25% complete, due 2026-02-20): "
	    "Waiting for sandbox credentials from the estimating software vendor."));
	for (size_t i = 0; i < json_object_array_length(metrics); i++) {
		const char *name = json_object_get_string(json_object_object_get(json_object_array_get_idx(metrics, i), "name"));
		assert_non_null(strstr(metrics_md, name));
	}
	assert_non_null(strstr(metrics_md, "**Drawing Parsing Accuracy**: 87% against a target of 95% "
	    "(baseline 60%), 77.1% of the way; up 4 from 83% in the period."));
	assert_non_null(strstr(metrics_md, "**Time Reduction**: 35% against a target of 50% (baseline 0%), "
	    "70% of the way; no change in the period."));
	assert_non_null(strstr(metrics_md, "**Estimates Processed**: 48 against a target of 200 "
	    "(baseline 0), 24% of the way; up 8 from 40 in the period."));
	assert_non_null(strstr(metrics_md, "**Takeoff Error Rate**: 6.4% against a target of 3% "
	    "(baseline 12.5%), 64.2% of the way; down 0.5 from 6.9% in the period."));
	assert_non_null(strstr(updates, "- 2026-02-18: Symbol recognition at 60% (progress, Symbol Recognition Model)"));
	assert_null(strstr(updates, "vendor access"));	/* posted before the period */
	assert_non_null(strstr(due, "- Baseline Accuracy Report: due 2026-02-06 (overdue), 80% complete\n"));
	assert_non_null(strstr(due, "- Integration API Design: due 2026-02-20 (due soon), 25% complete, blocked\n"));
	assert_null(strstr(due, "Pilot Deployment"));	/* only the next five */

	free(completed);
	free(blocked);
	free(metrics_md);
	free(updates);
	free(due);
	free(again);
	free(md);
	json_object_put(data);
}

/* A period with no updates says so. */
static void
test_builtin_no_updates(void **state)
{
	struct fixture *f = *state;
	json_object *data = seed_data(f, f->now, 1);
	char *md = digest_builtin(data);

	assert_non_null(strstr(md, "# Project digest: the last day"));
	assert_non_null(strstr(md, "No updates were posted in the last day."));
	assert_non_null(strstr(md, "0 updates were posted in the period."));
	free(md);
	json_object_put(data);
}

/* A busy period: the data holds the newest DIGEST-capped updates with cut
 * bodies, and the headline counts them all. */
static void
test_many_updates(void **state)
{
	struct fixture *f = *state;
	json_object *updates = json_object_new_array(), *data, *list, *body;
	char *md, *long_body = xmalloc(5001), *title;

	memset(long_body, 'x', 4998);
	memcpy(long_body + 4998, "\xc3\xa9", 3);	/* ends with a 2-byte character */
	for (int i = 0; i < 60; i++) {
		json_object *u = json_object_new_object();
		char at[21];

		time_rfc3339(f->now - 60 - i * 60, at);
		title = xasprintf("Update %d", i);
		json_object_object_add(u, "title", json_object_new_string(title));
		free(title);
		json_object_object_add(u, "body", json_object_new_string(long_body));
		json_object_object_add(u, "type", json_object_new_string("progress"));
		json_object_object_add(u, "created_at", json_object_new_string(at));
		json_object_array_add(updates, u);
	}
	data = digest_period_data(seed_get(f, "deliverables"), seed_get(f, "metrics"), updates, f->now, 7);
	list = json_object_object_get(data, "updates");
	assert_int_equal(json_object_get_int(json_object_object_get(data, "updates_total")), 60);
	assert_int_equal(json_object_array_length(list), 50);
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(list, 0), "title")),
	    "Update 0");
	body = json_object_object_get(json_object_array_get_idx(list, 0), "body");
	assert_true(json_object_get_string_len(body) <= 1000 + 3);
	assert_non_null(strstr(json_object_get_string(body), "x…"));
	md = digest_builtin(data);
	assert_non_null(strstr(md, "60 updates were posted in the period."));
	free(md);
	free(long_body);
	json_object_put(data);
	json_object_put(updates);
}

/* User text cannot add headings, links or HTML to the markdown. */
static void
test_builtin_escapes_user_text(void **state)
{
	struct fixture *f = *state;
	json_object *dl = json_object_get(seed_get(f, "deliverables"));
	json_object *updates = json_object_new_array(), *u = json_object_new_object();
	json_object *data;
	char *md;

	json_object_object_add(json_object_array_get_idx(dl, 7), "name",
	    json_object_new_string("API\n# Injected heading"));
	json_object_object_add(u, "title", json_object_new_string("t"));
	json_object_object_add(u, "body", json_object_new_string("see [here](javascript:x)\r\n<script>"));
	json_object_object_add(u, "type", json_object_new_string("blocker"));
	json_object_object_add(u, "deliverable_id", json_object_new_int(8));
	json_object_object_add(u, "created_at", json_object_new_string("2026-02-19T00:00:00Z"));
	json_object_array_add(updates, u);
	data = digest_period_data(dl, seed_get(f, "metrics"), updates, f->now, 7);
	md = digest_builtin(data);
	assert_null(strstr(md, "\n# Injected"));
	assert_non_null(strstr(md, "API # Injected heading"));
	assert_non_null(strstr(md, "see \\[here\\](javascript:x) \\<script\\>"));
	assert_null(strstr(md, "<script>"));
	free(md);
	json_object_put(data);
	json_object_put(updates);
	/* Restore the shared seed item. */
	json_object_object_add(json_object_array_get_idx(dl, 7), "name",
	    json_object_new_string("Integration API Design"));
	json_object_put(dl);
}

/* days: 1..90, digits only, default 7. */
static void
test_parse_days(void **state)
{
	static const char *const bad[] = { "0", "91", "abc", "7x", "", "+7", "-1", " 7", "7 ", "1e1",
	    "99999999999999999999", NULL };
	long days = 0;

	(void)state;
	assert_int_equal(digest_parse_days(NULL, &days), 0);
	assert_int_equal(days, DIGEST_DAYS_DEFAULT);
	assert_int_equal(digest_parse_days("1", &days), 0);
	assert_int_equal(days, 1);
	assert_int_equal(digest_parse_days("90", &days), 0);
	assert_int_equal(days, 90);
	for (const char *const *s = bad; *s; s++) {
		days = -5;
		assert_int_equal(digest_parse_days(*s, &days), -1);
		assert_int_equal(days, -5);
	}
}

/* The cache key follows the data and the settings, not the clock. */
static void
test_cache_key(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	char k1[DIGEST_KEY_HEX_LEN], k2[DIGEST_KEY_HEX_LEN], k3[DIGEST_KEY_HEX_LEN];
	json_object *data, *d;

	memset(&cfg, 0, sizeof cfg);
	cfg.digest_api_url = "http://127.0.0.1:9/v1";
	cfg.digest_api_key = "sk-test";
	cfg.digest_model = "model-a";

	data = seed_data(f, f->now, 7);
	digest_cache_key(&cfg, data, k1);
	assert_int_equal(strlen(k1), 64);
	json_object_put(data);
	/* One second, then an hour later: the same data, the same key. */
	data = seed_data(f, f->now + 1, 7);
	digest_cache_key(&cfg, data, k2);
	assert_string_equal(k1, k2);
	json_object_put(data);
	data = seed_data(f, f->now + 3600, 7);
	digest_cache_key(&cfg, data, k2);
	assert_string_equal(k1, k2);
	json_object_put(data);

	/* Another period length. */
	data = seed_data(f, f->now, 8);
	digest_cache_key(&cfg, data, k2);
	assert_string_not_equal(k1, k2);
	json_object_put(data);

	/* Another model. */
	cfg.digest_model = "model-b";
	data = seed_data(f, f->now, 7);
	digest_cache_key(&cfg, data, k2);
	assert_string_not_equal(k1, k2);
	cfg.digest_model = "model-a";
	json_object_put(data);

	/* One item changes: one deliverable's completion. */
	d = json_object_array_get_idx(seed_get(f, "deliverables"), 4);
	json_object_object_add(d, "completion_percentage", json_object_new_int(65));
	data = seed_data(f, f->now, 7);
	digest_cache_key(&cfg, data, k3);
	assert_string_not_equal(k1, k3);
	json_object_put(data);
	json_object_object_add(d, "completion_percentage", json_object_new_int(60));
	data = seed_data(f, f->now, 7);
	digest_cache_key(&cfg, data, k3);
	assert_string_equal(k1, k3);
	json_object_put(data);
}

/* Without DIGEST_* the built-in digest answers. */
static void
test_generate_builtin(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	struct digest_result r;
	json_object *data = seed_data(f, f->now, 7);
	char *expect = digest_builtin(data);

	memset(&cfg, 0, sizeof cfg);
	digest_generate(&cfg, data, 0, &r);
	assert_string_equal(r.source, DIGEST_SOURCE_BUILTIN);
	assert_string_equal(r.markdown, expect);
	assert_true(r.generated_at > 0);
	digest_result_free(&r);
	digest_result_free(NULL);
	free(expect);
	json_object_put(data);
}

/* An unreachable LLM, or a deadline too close, falls back to the built-in digest. */
static void
test_generate_fallback(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	struct digest_result r;
	json_object *data = seed_data(f, f->now, 7);
	char *expect = digest_builtin(data);
	int64_t t0;

	memset(&cfg, 0, sizeof cfg);
	cfg.digest_api_url = "http://127.0.0.1:1/v1";	/* nothing listens on port 1 */
	cfg.digest_api_key = "sk-test";
	cfg.digest_model = "model-a";
	t0 = mono_ms();
	digest_generate(&cfg, data, now_ms() + 300, &r);	/* under the margin: no call */
	assert_true(mono_ms() - t0 < 200);
	assert_string_equal(r.source, DIGEST_SOURCE_BUILTIN);
	assert_string_equal(r.markdown, expect);
	digest_result_free(&r);

	digest_cache_clear();
	digest_generate(&cfg, data, 0, &r);	/* connection refused */
	assert_string_equal(r.source, DIGEST_SOURCE_BUILTIN);
	assert_string_equal(r.markdown, expect);
	digest_result_free(&r);
	free(expect);
	json_object_put(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_period_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_builtin_seed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_builtin_no_updates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_builtin_escapes_user_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_updates, setup, teardown),
		cmocka_unit_test(test_parse_days),
		cmocka_unit_test_setup_teardown(test_cache_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generate_builtin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generate_fallback, setup, teardown),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
