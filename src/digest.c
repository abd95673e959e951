/* digest.c - the AI digest's public API (digest.h): the period's data from
 * the stored items, and the generation that picks the cache, the LLM or the
 * built-in digest. The parts: digest_markdown.c (the built-in digest),
 * digest_llm.c (the chat-completions call), digest_cache.c (the cache). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "digest.h"
#include "digest_int.h"
#include "log.h"
#include "model.h"
#include "model_metrics.h"
#include "util.h"

#define DATE_LEN		11	/* "YYYY-MM-DD" + NUL */
#define DIGEST_REASON_MAX	256
#define DIGEST_UPDATES_MAX	50	/* updates of the period sent (newest) */
#define DIGEST_BODY_MAX		1000	/* bytes of an update body sent */

#define DIGEST_CACHE_TTL_MS	(10 * 60 * 1000)	/* an LLM answer */
#define DIGEST_FALLBACK_TTL_MS	(60 * 1000)		/* a fallback after a failed LLM call */

/* ---- period data ---- */

/* Formats t's UTC date as YYYY-MM-DD. */
static void
utc_date(time_t t, char out[static DATE_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, DATE_LEN, "%Y-%m-%d", &tm);
}

/* Copies field from src to dst when present (shares the value). */
static void
copy_field(json_object *dst, json_object *src, const char *field)
{
	json_object *v;

	if (json_object_object_get_ex(src, field, &v) && v != NULL)
		json_object_object_add(dst, field, json_object_get(v));
}

/* True when a plain item's string field equals s. */
bool
digest_field_is(json_object *item, const char *field, const char *s)
{
	const char *v = model_string(item, field);

	return v != NULL && strcmp(v, s) == 0;
}

/* The text of the most recent blocker update (updates newest first) naming
 * deliverable id: its body, or its title when the body is empty; NULL when none. */
static json_object *
blocker_reason(json_object *updates, long id)
{
	size_t n = json_object_array_length(updates);

	for (size_t i = 0; i < n; i++) {
		json_object *u = json_object_array_get_idx(updates, i), *v;

		if (!digest_field_is(u, "type", "blocker") || model_int(u, "deliverable_id", -1) != id)
			continue;
		if (json_object_object_get_ex(u, "body", &v) && json_object_is_type(v, json_type_string) &&
		    json_object_get_string_len(v) > 0)
			return json_object_get(v);
		if (json_object_object_get_ex(u, "title", &v) && json_object_is_type(v, json_type_string))
			return json_object_get(v);
	}
	return NULL;
}

/* The digest's view of a deliverable: a new object sharing d's members. */
static json_object *
deliverable_view(json_object *d)
{
	static const char *const fields[] = { "id", "name", "month", "status",
	    "completion_percentage", "due_date", "owner" };
	json_object *v = json_object_new_object();

	for (size_t i = 0; i < ARRAY_LEN(fields); i++)
		copy_field(v, d, fields[i]);
	return v;
}

/* The name of deliverable id (borrowed), or NULL. */
static const char *
deliverable_name(json_object *deliverables, long id)
{
	for (size_t i = 0; i < json_object_array_length(deliverables); i++) {
		json_object *d = json_object_array_get_idx(deliverables, i);

		if (model_int(d, "id", -1) == id)
			return model_string(d, "name");
	}
	return NULL;
}

/* Orders deliverable views by due_date (missing last), then id. */
static int
cmp_due(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	const char *dx = model_string(x, "due_date"), *dy = model_string(y, "due_date");
	int c;

	if (dx == NULL || dy == NULL)
		c = (dx == NULL) - (dy == NULL);
	else
		c = strcmp(dx, dy);
	if (c != 0)
		return c;
	return (model_int(x, "id", 0) > model_int(y, "id", 0)) - (model_int(x, "id", 0) < model_int(y, "id", 0));
}

/* The deliverables part of the period data. */
static json_object *
deliverables_data(json_object *deliverables, json_object *updates, const char *today,
    const char *soon, double *overall)
{
	json_object *root = json_object_new_object(), *counts = json_object_new_object();
	json_object *completed = json_object_new_array(), *in_progress = json_object_new_array();
	json_object *blocked = json_object_new_array(), *due_soon = json_object_new_array();
	json_object *overdue = json_object_new_array(), *open = json_object_new_array();
	json_object *due_next = json_object_new_array();
	size_t n = json_object_array_length(deliverables);
	long n_completed = 0, n_progress = 0, n_blocked = 0, n_not_started = 0;
	double total = 0;

	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(deliverables, i);
		const char *due = model_string(d, "due_date");

		total += model_double(d, "completion_percentage", 0);
		if (digest_field_is(d, "status", "COMPLETED")) {
			n_completed++;
			json_object_array_add(completed, deliverable_view(d));
			continue;
		}
		if (digest_field_is(d, "status", "IN_PROGRESS")) {
			n_progress++;
			json_object_array_add(in_progress, deliverable_view(d));
		} else if (digest_field_is(d, "status", "BLOCKED")) {
			json_object *v = deliverable_view(d), *reason = blocker_reason(updates, model_int(d, "id", -1));

			n_blocked++;
			json_object_object_add(v, "reason", reason);
			json_object_array_add(blocked, v);
		} else
			n_not_started++;
		if (due != NULL && strcmp(due, today) < 0)
			json_object_array_add(overdue, deliverable_view(d));
		else if (due != NULL && strcmp(due, soon) <= 0)
			json_object_array_add(due_soon, deliverable_view(d));
		json_object_array_add(open, json_object_get(d));
	}
	json_object_array_sort(open, cmp_due);
	for (size_t i = 0; i < json_object_array_length(open) && i < DIGEST_DUE_NEXT_MAX; i++)
		json_object_array_add(due_next, deliverable_view(json_object_array_get_idx(open, i)));
	json_object_put(open);

	json_object_object_add(counts, "completed", json_object_new_int64(n_completed));
	json_object_object_add(counts, "in_progress", json_object_new_int64(n_progress));
	json_object_object_add(counts, "blocked", json_object_new_int64(n_blocked));
	json_object_object_add(counts, "not_started", json_object_new_int64(n_not_started));
	json_object_object_add(root, "total", json_object_new_int64((int64_t)n));
	json_object_object_add(root, "counts", counts);
	json_object_object_add(root, "completed", completed);
	json_object_object_add(root, "in_progress", in_progress);
	json_object_object_add(root, "blocked", blocked);
	json_object_object_add(root, "due_soon", due_soon);
	json_object_object_add(root, "overdue", overdue);
	json_object_object_add(root, "due_next", due_next);
	*overall = n ? total / (double)n : 0;
	return root;
}

/* The value a metric had at the start of the period: the last history entry
 * at or before from; else the earliest one (the metric began in the period);
 * else its current value. Borrowed. */
static json_object *
metric_start_value(json_object *m, time_t from)
{
	json_object *history, *found = NULL, *v;
	size_t n;

	if (!json_object_object_get_ex(m, "history", &history) ||
	    !json_object_is_type(history, json_type_array) || (n = json_object_array_length(history)) == 0) {
		json_object_object_get_ex(m, "current_value", &v);
		return v;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(history, i);
		time_t at;

		if (time_parse_rfc3339(model_string(e, "at"), &at) == 0 && at <= from &&
		    json_object_object_get_ex(e, "value", &v))
			found = v;
	}
	if (found == NULL)
		json_object_object_get_ex(json_object_array_get_idx(history, 0), "value", &found);
	return found;
}

/* The metrics part of the period data. */
static json_object *
metrics_data(json_object *metrics, time_t from)
{
	json_object *out = json_object_new_array();

	for (size_t i = 0; i < json_object_array_length(metrics); i++) {
		json_object *m = json_object_array_get_idx(metrics, i), *v = json_object_new_object(), *x;
		json_object *start = metric_start_value(m, from);

		copy_field(v, m, "id");
		copy_field(v, m, "name");
		copy_field(v, m, "unit");
		if (json_object_object_get_ex(m, "baseline_value", &x))
			json_object_object_add(v, "baseline", json_object_get(x));
		if (json_object_object_get_ex(m, "current_value", &x))
			json_object_object_add(v, "current", json_object_get(x));
		if (json_object_object_get_ex(m, "target_value", &x))
			json_object_object_add(v, "target", json_object_get(x));
		json_object_object_add(v, "progress", json_round1(metrics_progress(m)));
		json_object_object_add(v, "higher_is_better",
		    json_object_new_boolean(!json_object_object_get_ex(m, "higher_is_better", &x) ||
		    x == NULL || json_object_get_boolean(x)));
		json_object_object_add(v, "period_start", json_object_get(start));
		json_object_array_add(out, v);
	}
	return out;
}

/* A string of at most max bytes (cut on a UTF-8 boundary, marked with an
 * ellipsis): s itself when short enough (a reference is taken), else a new one. */
static json_object *
truncated_string(json_object *s, size_t max)
{
	const char *text = json_object_get_string(s);
	size_t len = (size_t)json_object_get_string_len(s), cut = max;
	char *tmp;
	json_object *out;

	if (len <= max)
		return json_object_get(s);
	while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
		cut--;
	tmp = xasprintf("%.*s…", (int)cut, text);
	out = json_object_new_string(tmp);
	free(tmp);
	return out;
}

/* The updates created in [from, to], newest first: at most DIGEST_UPDATES_MAX,
 * bodies cut at DIGEST_BODY_MAX bytes; *total counts them all. */
static json_object *
updates_data(json_object *updates, json_object *deliverables, time_t from, time_t to, long *total)
{
	json_object *out = json_object_new_array();

	*total = 0;
	for (size_t i = 0; i < json_object_array_length(updates); i++) {
		json_object *u = json_object_array_get_idx(updates, i), *v, *author, *body;
		long did = model_int(u, "deliverable_id", -1);
		const char *dname;
		time_t at;

		if (time_parse_rfc3339(model_string(u, "created_at"), &at) == -1 || at < from || at > to)
			continue;
		if ((*total)++ >= DIGEST_UPDATES_MAX)
			continue;
		v = json_object_new_object();
		copy_field(v, u, "title");
		copy_field(v, u, "type");
		if (json_object_object_get_ex(u, "body", &body) && json_object_is_type(body, json_type_string))
			json_object_object_add(v, "body", truncated_string(body, DIGEST_BODY_MAX));
		copy_field(v, u, "created_at");
		if (did > 0) {
			json_object_object_add(v, "deliverable_id", json_object_new_int64(did));
			if ((dname = deliverable_name(deliverables, did)) != NULL)
				json_object_object_add(v, "deliverable", json_object_new_string(dname));
		}
		/* The author's name only: emails stay out of the prompt. */
		if (json_object_object_get_ex(u, "author", &author) && model_string(author, "name") != NULL)
			json_object_object_add(v, "author", json_object_new_string(model_string(author, "name")));
		json_object_array_add(out, v);
	}
	return out;
}

/* Strict days parameter. */
int
digest_parse_days(const char *s, long *days)
{
	if (s == NULL) {
		*days = DIGEST_DAYS_DEFAULT;
		return 0;
	}
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	return parse_long(s, DIGEST_DAYS_MIN, DIGEST_DAYS_MAX, days);
}

/* Builds the period data (see digest.h). */
json_object *
digest_period_data(json_object *deliverables, json_object *metrics, json_object *updates,
    time_t now, long days)
{
	json_object *root = json_object_new_object();
	time_t from = now - (time_t)days * DIGEST_DAY_SECONDS;
	char today[DATE_LEN], soon[DATE_LEN];
	double overall;
	json_object *dl, *recent;
	long total_updates;

	utc_date(now, today);
	utc_date(now + (time_t)DIGEST_DUE_SOON_DAYS * DIGEST_DAY_SECONDS, soon);
	dl = deliverables_data(deliverables, updates, today, soon, &overall);
	json_object_object_add(root, "days", json_object_new_int64(days));
	json_object_object_add(root, "today", json_object_new_string(today));
	json_object_object_add(root, "overall_progress", json_round1(overall));
	json_object_object_add(root, "deliverables", dl);
	json_object_object_add(root, "metrics", metrics_data(metrics, from));
	recent = updates_data(updates, deliverables, from, now, &total_updates);
	json_object_object_add(root, "updates_total", json_object_new_int64(total_updates));
	json_object_object_add(root, "updates", recent);
	return root;
}

/* ---- generation ---- */

/* The digest of the period data: cache, LLM, or built-in. */
void
digest_generate(const struct config *cfg, json_object *data, int64_t deadline_ms,
    struct digest_result *out)
{
	char key[DIGEST_KEY_HEX_LEN], why[DIGEST_REASON_MAX] = "";
	int64_t started;
	long http_status;
	int curl_code;
	char *md;

	memset(out, 0, sizeof *out);
	if (cfg->digest_api_url == NULL || cfg->digest_api_key == NULL || cfg->digest_model == NULL) {
		/* The built-in digest is cheap: no need to cache it. */
		out->markdown = digest_builtin(data);
		out->source = DIGEST_SOURCE_BUILTIN;
		out->generated_at = time(NULL);
		return;
	}
	digest_cache_key(cfg, data, key);
	if (digest_cache_lookup(key, out)) {
		log_debug("digest: from the cache", LOG_S("source", out->source));
		return;
	}
	started = mono_ms();
	md = digest_llm_call(cfg, json_object_to_json_string_ext(data, DIGEST_JSON_FLAGS), deadline_ms,
	    why, sizeof why, &http_status, &curl_code);
	out->generated_at = time(NULL);
	if (md != NULL) {
		out->markdown = md;
		out->source = DIGEST_SOURCE_LLM;
		log_info("digest: written by the LLM", LOG_S("model", cfg->digest_model),
		    LOG_I("elapsed_ms", mono_ms() - started));
		digest_cache_store(key, out, DIGEST_CACHE_TTL_MS);
		return;
	}
	log_warn("digest: LLM call failed; answering the built-in digest", LOG_S("reason", why),
	    LOG_I("http_status", http_status), LOG_I("curl_code", curl_code),
	    LOG_S("model", cfg->digest_model), LOG_I("elapsed_ms", mono_ms() - started));
	out->markdown = digest_builtin(data);
	out->source = DIGEST_SOURCE_BUILTIN;
	/* Cache the fallback briefly so a failing or slow LLM is not called again
	 * on every dashboard refresh (each failed call can cost up to the whole
	 * timeout); after DIGEST_FALLBACK_TTL_MS the LLM gets another try. */
	digest_cache_store(key, out, DIGEST_FALLBACK_TTL_MS);
}

/* Frees a result's markdown. */
void
digest_result_free(struct digest_result *r)
{
	if (r == NULL)
		return;
	free(r->markdown);
	r->markdown = NULL;
}
