/* digest_markdown.c - the built-in digest: deterministic markdown from the
 * period data (digest_builtin). */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "digest_int.h"
#include "model.h"
#include "util.h"

#define NUMBER_TEXT_MAX		48

/* Formats a number without binary noise: integers plainly, else up to 6 decimals. */
static void
fmt_number(double v, char out[static NUMBER_TEXT_MAX])
{
	size_t len;

	if (fabs(v) < 1e-9)
		v = 0;
	if (fabs(v) < 1e15 && v == trunc(v)) {
		snprintf(out, NUMBER_TEXT_MAX, "%.0f", v);
		return;
	}
	snprintf(out, NUMBER_TEXT_MAX, "%.6f", v);
	len = strlen(out);
	while (len > 0 && out[len - 1] == '0')
		out[--len] = '\0';
	if (len > 0 && out[len - 1] == '.')
		out[--len] = '\0';
}

/* Appends user text on one line: control characters and runs of blanks
 * become one space, markdown punctuation is escaped, and it is cut (on a
 * UTF-8 boundary) after max bytes. */
static void
md_text(struct buf *b, const char *s, size_t max)
{
	size_t used = 0;
	bool space = false, any = false;

	if (s == NULL)
		return;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = any;
			continue;
		}
		if (used >= max && (c & 0xc0) != 0x80) {
			buf_puts(b, "…");
			return;
		}
		if (space) {
			buf_puts(b, " ");
			space = false;
		}
		if (strchr("\\`*_[]<>", c) != NULL)
			buf_puts(b, "\\");
		buf_append(b, s, 1);
		used++;
		any = true;
	}
}

/* Appends a metric value with its unit ("87%", "12 hours"; a "count" is a bare number). */
static void
md_value(struct buf *b, json_object *v, const char *unit)
{
	char num[NUMBER_TEXT_MAX];

	fmt_number(v != NULL ? json_object_get_double(v) : 0, num);
	buf_puts(b, num);
	if (unit == NULL || *unit == '\0' || strcmp(unit, "count") == 0)
		return;
	if (strcmp(unit, "%") != 0)
		buf_puts(b, " ");
	md_text(b, unit, DIGEST_TEXT_MAX);
}

/* Appends a percentage figure with one decimal at most ("77.1%"). */
static void
md_percent(struct buf *b, double v)
{
	char num[NUMBER_TEXT_MAX];

	fmt_number(round1(v), num);
	buf_printf(b, "%s%%", num);
}

/* An array member of a data object (borrowed; an empty array when absent is not made). */
static json_object *
data_array(json_object *obj, const char *field)
{
	json_object *v;

	if (obj != NULL && json_object_object_get_ex(obj, field, &v) && json_object_is_type(v, json_type_array))
		return v;
	return NULL;
}

/* Number of elements of a possibly missing array. */
static size_t
array_len(json_object *a)
{
	return a != NULL ? json_object_array_length(a) : 0;
}

/* True when the plain deliverable d is in the array (same id). */
static bool
in_list(json_object *list, json_object *d)
{
	long id = model_int(d, "id", -1);

	for (size_t i = 0; i < array_len(list); i++)
		if (model_int(json_object_array_get_idx(list, i), "id", -2) == id)
			return true;
	return false;
}

/* The headline. */
static void
md_headline(struct buf *b, json_object *data, json_object *dl)
{
	json_object *counts = NULL;
	long days = model_int(data, "days", DIGEST_DAYS_DEFAULT);
	long nupd = model_int(data, "updates_total", 0);

	json_object_object_get_ex(dl, "counts", &counts);
	if (days == 1)
		buf_puts(b, "# Project digest: the last day\n\n");
	else
		buf_printf(b, "# Project digest: the last %ld days\n\n", days);
	buf_puts(b, "**Overall progress: ");
	md_percent(b, model_double(data, "overall_progress", 0));
	buf_printf(b, "** across %ld deliverables: %ld completed, %ld in progress, %ld blocked, %ld not started. ",
	    model_int(dl, "total", 0), model_int(counts, "completed", 0), model_int(counts, "in_progress", 0),
	    model_int(counts, "blocked", 0), model_int(counts, "not_started", 0));
	if (nupd == 1)
		buf_puts(b, "1 update was posted in the period.\n");
	else
		buf_printf(b, "%ld updates were posted in the period.\n", nupd);
}

/* "## Completed". */
static void
md_completed(struct buf *b, json_object *dl)
{
	json_object *list = data_array(dl, "completed");

	buf_puts(b, "\n## Completed\n\n");
	if (array_len(list) == 0)
		buf_puts(b, "- Nothing is completed yet.\n");
	for (size_t i = 0; i < array_len(list); i++) {
		json_object *d = json_object_array_get_idx(list, i);

		buf_puts(b, "- ");
		md_text(b, model_string(d, "name"), DIGEST_TEXT_MAX);
		buf_printf(b, " (month %ld)\n", model_int(d, "month", 0));
	}
}

/* "## Blocked", each with the reason from its latest blocker update. */
static void
md_blocked(struct buf *b, json_object *dl)
{
	json_object *list = data_array(dl, "blocked");

	buf_puts(b, "\n## Blocked\n\n");
	if (array_len(list) == 0)
		buf_puts(b, "- Nothing is blocked.\n");
	for (size_t i = 0; i < array_len(list); i++) {
		json_object *d = json_object_array_get_idx(list, i);
		const char *reason = model_string(d, "reason");

		buf_puts(b, "- **");
		md_text(b, model_string(d, "name"), DIGEST_TEXT_MAX);
		buf_puts(b, "** (");
		md_percent(b, model_double(d, "completion_percentage", 0));
		buf_puts(b, " complete");
		if (model_string(d, "due_date") != NULL)
			buf_printf(b, ", due %s", model_string(d, "due_date"));
		buf_puts(b, "): ");
		if (reason != NULL)
			md_text(b, reason, DIGEST_TEXT_MAX);
		else
			buf_puts(b, "no blocker update explains it yet.");
		buf_puts(b, "\n");
	}
}

/* "## Metrics": current against target, progress, movement in the period. */
static void
md_metrics(struct buf *b, json_object *data)
{
	json_object *list = data_array(data, "metrics");

	buf_puts(b, "\n## Metrics\n\n");
	if (array_len(list) == 0)
		buf_puts(b, "- No metrics are tracked yet.\n");
	for (size_t i = 0; i < array_len(list); i++) {
		json_object *m = json_object_array_get_idx(list, i), *cur = NULL, *target = NULL;
		json_object *base = NULL, *start = NULL;
		const char *unit = model_string(m, "unit");
		char num[NUMBER_TEXT_MAX];
		double delta;

		json_object_object_get_ex(m, "current", &cur);
		json_object_object_get_ex(m, "target", &target);
		json_object_object_get_ex(m, "baseline", &base);
		json_object_object_get_ex(m, "period_start", &start);
		buf_puts(b, "- **");
		md_text(b, model_string(m, "name"), DIGEST_TEXT_MAX);
		buf_puts(b, "**: ");
		md_value(b, cur, unit);
		buf_puts(b, " against a target of ");
		md_value(b, target, unit);
		buf_puts(b, " (baseline ");
		md_value(b, base, unit);
		buf_puts(b, "), ");
		md_percent(b, model_double(m, "progress", 0));
		buf_puts(b, " of the way; ");
		delta = (cur != NULL ? json_object_get_double(cur) : 0) -
		    (start != NULL ? json_object_get_double(start) : 0);
		if (start == NULL || fabs(delta) < 1e-9)
			buf_puts(b, "no change in the period.\n");
		else {
			fmt_number(fabs(delta), num);
			buf_printf(b, "%s %s from ", delta > 0 ? "up" : "down", num);
			md_value(b, start, unit);
			buf_puts(b, " in the period.\n");
		}
	}
}

/* "## Updates this period" (titles), or a line saying there were none. */
static void
md_updates(struct buf *b, json_object *data)
{
	json_object *list = data_array(data, "updates");
	long days = model_int(data, "days", DIGEST_DAYS_DEFAULT);

	buf_puts(b, "\n## Updates this period\n\n");
	if (array_len(list) == 0) {
		if (days == 1)
			buf_puts(b, "No updates were posted in the last day.\n");
		else
			buf_printf(b, "No updates were posted in the last %ld days.\n", days);
		return;
	}
	for (size_t i = 0; i < array_len(list); i++) {
		json_object *u = json_object_array_get_idx(list, i);
		const char *at = model_string(u, "created_at"), *type = model_string(u, "type");

		buf_printf(b, "- %.10s: ", at != NULL ? at : "");
		md_text(b, model_string(u, "title"), DIGEST_TEXT_MAX);
		if (type != NULL || model_string(u, "deliverable") != NULL) {
			buf_puts(b, " (");
			md_text(b, type, DIGEST_TEXT_MAX);
			if (model_string(u, "deliverable") != NULL) {
				buf_puts(b, type != NULL ? ", " : "");
				md_text(b, model_string(u, "deliverable"), DIGEST_TEXT_MAX);
			}
			buf_puts(b, ")");
		}
		buf_puts(b, "\n");
	}
}

/* "## Due next": the next open deliverables by due date. */
static void
md_due_next(struct buf *b, json_object *dl)
{
	json_object *list = data_array(dl, "due_next"), *overdue = data_array(dl, "overdue");
	json_object *soon = data_array(dl, "due_soon");

	buf_puts(b, "\n## Due next\n\n");
	if (array_len(list) == 0)
		buf_puts(b, "- Nothing is left to deliver.\n");
	for (size_t i = 0; i < array_len(list); i++) {
		json_object *d = json_object_array_get_idx(list, i);
		const char *due = model_string(d, "due_date");

		buf_puts(b, "- ");
		md_text(b, model_string(d, "name"), DIGEST_TEXT_MAX);
		if (due != NULL)
			buf_printf(b, ": due %s", due);
		else
			buf_puts(b, ": no due date");
		if (in_list(overdue, d))
			buf_puts(b, " (overdue)");
		else if (in_list(soon, d))
			buf_puts(b, " (due soon)");
		buf_puts(b, ", ");
		md_percent(b, model_double(d, "completion_percentage", 0));
		buf_puts(b, " complete");
		if (digest_field_is(d, "status", "BLOCKED"))
			buf_puts(b, ", blocked");
		buf_puts(b, "\n");
	}
}

/* The built-in markdown digest. */
char *
digest_builtin(json_object *data)
{
	struct buf b = BUF_INIT;
	json_object *dl = NULL;

	json_object_object_get_ex(data, "deliverables", &dl);
	md_headline(&b, data, dl);
	md_completed(&b, dl);
	md_blocked(&b, dl);
	md_metrics(&b, data);
	md_updates(&b, data);
	md_due_next(&b, dl);
	return buf_steal(&b);
}
