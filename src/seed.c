/* seed.c - SPEC §8: builds items from data/seed-data.json and puts them idempotently. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ddb.h"
#include "log.h"
#include "schema.h"
#include "seed.h"
#include "user.h"
#include "util.h"

#define SEED_READ_CHUNK		65536
#define SEED_PERCENT_MAX	100
#define FNV32_OFFSET		2166136261u
#define FNV32_PRIME		16777619u

static const char *const deliverable_statuses[] = {
	"NOT_STARTED", "IN_PROGRESS", "COMPLETED", "BLOCKED", NULL
};
static const char *const update_types[] = {
	"progress", "milestone", "blocker", "announcement", NULL
};

/* Attributes that the running service changes and seeding does not compare. */
static const char *const volatile_attributes[SCHEMA_COUNT][4] = {
	[SCHEMA_DELIVERABLES] = { "updated_at", "version", NULL },
	[SCHEMA_METRICS] = { "updated_at", "version", "history", NULL },
	[SCHEMA_UPDATES] = { "read_by", "version", NULL },
	[SCHEMA_USERS] = { "created_at", "last_seen_at", NULL },
};

/* Where a check is: the section and index of the entry, for messages. */
struct where {
	const char	*section;
	size_t		 index;
};

/* Sets *cause to "section[index]: field: problem". Always returns -1. */
static int __attribute__((format(printf, 4, 5)))
fail(char **cause, const struct where *w, const char *field, const char *fmt, ...)
{
	va_list ap;
	char *what;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	*cause = xasprintf("%s[%zu]: %s: %s", w->section, w->index, field, what);
	free(what);
	return -1;
}

/* Finds field in entry; -1 with *cause when required and absent or null. */
static int
field_get(json_object *entry, const char *field, bool required, const struct where *w,
    json_object **out, char **cause)
{
	*out = NULL;
	if (!json_object_object_get_ex(entry, field, out) || *out == NULL) {
		*out = NULL;
		if (required)
			return fail(cause, w, field, "missing");
	}
	return 0;
}

/* A string field (optional ones may be absent: *out NULL). */
static int
field_string(json_object *entry, const char *field, bool required, const struct where *w,
    json_object **out, char **cause)
{
	if (field_get(entry, field, required, w, out, cause) == -1)
		return -1;
	if (*out != NULL && !json_object_is_type(*out, json_type_string))
		return fail(cause, w, field, "must be a string");
	return 0;
}

/* A string field whose value is one of allowed (NULL-terminated). */
static int
field_enum(json_object *entry, const char *field, const char *const *allowed,
    const struct where *w, json_object **out, char **cause)
{
	if (field_string(entry, field, true, w, out, cause) == -1)
		return -1;
	for (size_t i = 0; allowed[i] != NULL; i++) {
		if (strcmp(json_object_get_string(*out), allowed[i]) == 0)
			return 0;
	}
	return fail(cause, w, field, "unknown value \"%s\"", json_object_get_string(*out));
}

/* A number field (integer or decimal) within [min, max]. */
static int
field_number(json_object *entry, const char *field, bool required, double min, double max,
    const struct where *w, json_object **out, char **cause)
{
	double v;

	if (field_get(entry, field, required, w, out, cause) == -1)
		return -1;
	if (*out == NULL)
		return 0;
	if (!json_object_is_type(*out, json_type_int) &&
	    !json_object_is_type(*out, json_type_double))
		return fail(cause, w, field, "must be a number");
	v = json_object_get_double(*out);
	if (v < min || v > max)
		return fail(cause, w, field, "out of range");
	return 0;
}

/* A positive integer field (ids, months). */
static int
field_positive_int(json_object *entry, const char *field, bool required,
    const struct where *w, json_object **out, char **cause)
{
	if (field_get(entry, field, required, w, out, cause) == -1)
		return -1;
	if (*out == NULL)
		return 0;
	if (!json_object_is_type(*out, json_type_int) || json_object_get_int64(*out) < 1)
		return fail(cause, w, field, "must be a positive integer");
	return 0;
}

/* Adds value (shared, may be NULL: then nothing) to item under name. */
static void
put_shared(json_object *item, const char *name, json_object *value)
{
	if (value != NULL)
		json_object_object_add(item, name, json_object_get(value));
}

/* Marshals a plain item and appends it to array; -1 with *cause. */
static int
append_marshalled(json_object *array, json_object *plain, const struct where *w, char **cause)
{
	const char *why = NULL;
	json_object *item = ddb_marshal_item(plain, &why);

	json_object_put(plain);
	if (item == NULL)
		return fail(cause, w, "item", "%s", why != NULL ? why : "cannot be stored");
	json_object_array_add(array, item);
	return 0;
}

/* Returns the array section of data (borrowed), NULL when absent, or NULL
 * with *cause when present but not an array. */
static json_object *
section_get(json_object *data, const char *section, char **cause)
{
	json_object *a;

	if (!json_object_object_get_ex(data, section, &a) || a == NULL)
		return NULL;
	if (!json_object_is_type(a, json_type_array)) {
		*cause = xasprintf("%s: must be an array", section);
		return NULL;
	}
	return a;
}

/* Fails when id (a string or a number's text) was seen in this section. */
static int
check_unique(json_object *seen, json_object *id, const struct where *w, char **cause)
{
	const char *text = json_object_get_string(id);

	if (json_object_object_get_ex(seen, text, NULL))
		return fail(cause, w, "id", "duplicate id %s", text);
	json_object_object_add(seen, text, NULL);
	return 0;
}

/* Builds one deliverable item. */
static int
build_deliverable(json_object *e, const char *now, const struct where *w, json_object *out,
    json_object *seen, char **cause)
{
	json_object *id, *name, *desc, *month, *status, *pct, *due, *owner, *plain;

	if (field_positive_int(e, "id", true, w, &id, cause) == -1 ||
	    check_unique(seen, id, w, cause) == -1 ||
	    field_string(e, "name", true, w, &name, cause) == -1 ||
	    field_string(e, "description", false, w, &desc, cause) == -1 ||
	    field_positive_int(e, "month", true, w, &month, cause) == -1 ||
	    field_enum(e, "status", deliverable_statuses, w, &status, cause) == -1 ||
	    field_number(e, "completion_percentage", true, 0, SEED_PERCENT_MAX, w, &pct, cause) == -1 ||
	    field_string(e, "due_date", false, w, &due, cause) == -1 ||
	    field_string(e, "owner", false, w, &owner, cause) == -1)
		return -1;
	if (due != NULL) {
		char stamp[64];
		time_t t;

		snprintf(stamp, sizeof stamp, "%sT00:00:00Z", json_object_get_string(due));
		if (json_object_get_string_len(due) != 10 || time_parse_rfc3339(stamp, &t) == -1)
			return fail(cause, w, "due_date", "must be YYYY-MM-DD");
	}

	plain = json_object_new_object();
	put_shared(plain, "id", id);
	put_shared(plain, "name", name);
	put_shared(plain, "description", desc);
	put_shared(plain, "month", month);
	put_shared(plain, "status", status);
	put_shared(plain, "completion_percentage", pct);
	put_shared(plain, "due_date", due);
	put_shared(plain, "owner", owner);
	json_object_object_add(plain, "updated_at", json_object_new_string(now));
	json_object_object_add(plain, "version", json_object_new_int(1));
	return append_marshalled(out, plain, w, cause);
}

/* Builds one metric item, its history holding the current value. */
static int
build_metric(json_object *e, const char *now, const struct where *w, json_object *out,
    json_object *seen, char **cause)
{
	json_object *id, *name, *desc, *unit, *base, *cur, *target, *hib, *plain;
	json_object *history, *point;

	if (field_positive_int(e, "id", true, w, &id, cause) == -1 ||
	    check_unique(seen, id, w, cause) == -1 ||
	    field_string(e, "name", true, w, &name, cause) == -1 ||
	    field_string(e, "description", false, w, &desc, cause) == -1 ||
	    field_string(e, "unit", true, w, &unit, cause) == -1 ||
	    field_number(e, "baseline_value", true, -1e300, 1e300, w, &base, cause) == -1 ||
	    field_number(e, "target_value", true, -1e300, 1e300, w, &target, cause) == -1 ||
	    field_number(e, "current_value", false, -1e300, 1e300, w, &cur, cause) == -1 ||
	    field_get(e, "higher_is_better", false, w, &hib, cause) == -1)
		return -1;
	if (hib != NULL && !json_object_is_type(hib, json_type_boolean))
		return fail(cause, w, "higher_is_better", "must be true or false");
	if (cur == NULL)
		cur = base;

	plain = json_object_new_object();
	put_shared(plain, "id", id);
	put_shared(plain, "name", name);
	put_shared(plain, "description", desc);
	put_shared(plain, "unit", unit);
	put_shared(plain, "baseline_value", base);
	put_shared(plain, "current_value", cur);
	put_shared(plain, "target_value", target);
	json_object_object_add(plain, "higher_is_better",
	    json_object_new_boolean(hib == NULL || json_object_get_boolean(hib)));
	history = json_object_new_array();
	point = json_object_new_object();
	put_shared(point, "value", cur);
	json_object_object_add(point, "at", json_object_new_string(now));
	json_object_array_add(history, point);
	json_object_object_add(plain, "history", history);
	json_object_object_add(plain, "updated_at", json_object_new_string(now));
	json_object_object_add(plain, "version", json_object_new_int(1));
	return append_marshalled(out, plain, w, cause);
}

/* Builds one user item; remembers its {id, name, email} in authors. */
static int
build_user(json_object *e, const char *now, const struct where *w, json_object *out,
    json_object *authors, char **cause)
{
	json_object *id, *email, *name, *role, *plain, *author;

	if (field_string(e, "id", true, w, &id, cause) == -1)
		return -1;
	if (json_object_get_string_len(id) == 0)
		return fail(cause, w, "id", "must not be empty");
	if (check_unique(authors, id, w, cause) == -1 ||
	    field_string(e, "email", true, w, &email, cause) == -1 ||
	    field_string(e, "name", true, w, &name, cause) == -1 ||
	    field_enum(e, "role", user_role_names, w, &role, cause) == -1)
		return -1;

	author = json_object_new_object();
	put_shared(author, "id", id);
	put_shared(author, "name", name);
	put_shared(author, "email", email);
	json_object_object_add(authors, json_object_get_string(id), author);

	plain = json_object_new_object();
	put_shared(plain, "id", id);
	put_shared(plain, "email", email);
	put_shared(plain, "name", name);
	put_shared(plain, "role", role);
	json_object_object_add(plain, "created_at", json_object_new_string(now));
	return append_marshalled(out, plain, w, cause);
}

/* Builds one update item: deterministic id, embedded author, feed "all". */
static int
build_update(json_object *e, const struct where *w, json_object *out, json_object *authors,
    json_object *seen, char **cause)
{
	json_object *title, *body, *type, *deliverable, *author_id, *author, *created, *plain;
	char id[SEED_UPDATE_ID_LEN], stamp[21];
	time_t t;

	if (field_string(e, "title", true, w, &title, cause) == -1 ||
	    field_string(e, "body", true, w, &body, cause) == -1 ||
	    field_enum(e, "type", update_types, w, &type, cause) == -1 ||
	    field_positive_int(e, "deliverable_id", false, w, &deliverable, cause) == -1 ||
	    field_string(e, "author_id", true, w, &author_id, cause) == -1 ||
	    field_string(e, "created_at", true, w, &created, cause) == -1)
		return -1;
	if (!json_object_object_get_ex(authors, json_object_get_string(author_id), &author) ||
	    author == NULL)
		return fail(cause, w, "author_id", "no user \"%s\" in users",
		    json_object_get_string(author_id));
	if (time_parse_rfc3339(json_object_get_string(created), &t) == -1)
		return fail(cause, w, "created_at", "must be RFC 3339 UTC");
	/* The stored created_at is canonical so FeedIndex sorts by time. */
	time_rfc3339(t, stamp);
	seed_update_id(t, json_object_get_string(title), id);
	{
		json_object *idobj = json_object_new_string(id);
		int dup = check_unique(seen, idobj, w, cause);

		json_object_put(idobj);
		if (dup == -1)
			return -1;
	}

	plain = json_object_new_object();
	json_object_object_add(plain, "id", json_object_new_string(id));
	put_shared(plain, "title", title);
	put_shared(plain, "body", body);
	put_shared(plain, "type", type);
	put_shared(plain, "deliverable_id", deliverable);
	put_shared(plain, "author", author);
	json_object_object_add(plain, "created_at", json_object_new_string(stamp));
	json_object_object_add(plain, "feed", json_object_new_string(SCHEMA_FEED_ALL));
	json_object_object_add(plain, "version", json_object_new_int(1));
	return append_marshalled(out, plain, w, cause);
}

/* Builds the items of every table from parsed seed data. */
static int
build_items(json_object *data, time_t now, json_object *items[SCHEMA_COUNT], char **cause)
{
	static const char *const sections[SCHEMA_COUNT] = {
		[SCHEMA_DELIVERABLES] = "deliverables", [SCHEMA_METRICS] = "metrics",
		[SCHEMA_UPDATES] = "updates", [SCHEMA_USERS] = "users",
	};
	/* Users first: updates embed their authors. */
	static const enum schema_table order[SCHEMA_COUNT] = {
		SCHEMA_USERS, SCHEMA_DELIVERABLES, SCHEMA_METRICS, SCHEMA_UPDATES
	};
	json_object *authors = json_object_new_object();
	char nowtext[21];
	int rc = -1;

	*cause = NULL;
	for (int t = 0; t < SCHEMA_COUNT; t++)
		items[t] = json_object_new_array();
	if (!json_object_is_type(data, json_type_object)) {
		*cause = xstrdup("seed data must be a JSON object");
		goto out;
	}
	time_rfc3339(now, nowtext);

	for (size_t o = 0; o < SCHEMA_COUNT; o++) {
		enum schema_table t = order[o];
		json_object *section = section_get(data, sections[t], cause);
		json_object *seen = json_object_new_object();
		size_t n = section != NULL ? json_object_array_length(section) : 0;
		int failed = *cause != NULL;

		for (size_t i = 0; i < n && !failed; i++) {
			json_object *e = json_object_array_get_idx(section, i);
			struct where w = { sections[t], i };

			if (!json_object_is_type(e, json_type_object)) {
				*cause = xasprintf("%s[%zu]: must be an object", sections[t], i);
				failed = 1;
				break;
			}
			switch (t) {
			case SCHEMA_DELIVERABLES:
				failed = build_deliverable(e, nowtext, &w, items[t], seen, cause) == -1;
				break;
			case SCHEMA_METRICS:
				failed = build_metric(e, nowtext, &w, items[t], seen, cause) == -1;
				break;
			case SCHEMA_UPDATES:
				failed = build_update(e, &w, items[t], authors, seen, cause) == -1;
				break;
			case SCHEMA_USERS:
			case SCHEMA_COUNT:
				failed = build_user(e, nowtext, &w, items[t], authors, cause) == -1;
				break;
			}
		}
		json_object_put(seen);
		if (failed)
			goto out;
	}
	rc = 0;
out:
	json_object_put(authors);
	if (rc == -1) {
		for (int t = 0; t < SCHEMA_COUNT; t++) {
			json_object_put(items[t]);
			items[t] = NULL;
		}
	}
	return rc;
}

/* True when name is one of the table's volatile attributes. */
static bool
is_volatile(enum schema_table t, const char *name)
{
	for (size_t i = 0; volatile_attributes[t][i] != NULL; i++) {
		if (strcmp(volatile_attributes[t][i], name) == 0)
			return true;
	}
	return false;
}

/* True when the stored item holds the same seed content as the new one. */
static bool
same_content(enum schema_table t, json_object *stored, json_object *item)
{
	json_object_object_foreach(item, name, value) {
		json_object *old;

		if (is_volatile(t, name))
			continue;
		if (!json_object_object_get_ex(stored, name, &old) || !json_object_equal(old, value))
			return false;
	}
	json_object_object_foreach(stored, sname, svalue) {
		(void)svalue;
		if (!is_volatile(t, sname) && !json_object_object_get_ex(item, sname, NULL))
			return false;
	}
	return true;
}

/* Formats a DynamoDB failure of one table as *cause. Returns -1. */
static int
store_fail(char **cause, const char *table, const struct ddb_error *err)
{
	*cause = xasprintf("%s: %s: %s", table, err->code, err->message);
	return -1;
}

/* Overwrites an item that differs from the seed (force); counts it. */
static int
force_one(struct ddb *ddb, const char *table, enum schema_table t, json_object *item,
    struct seed_result *result, struct ddb_error *err, char **cause)
{
	json_object *key = json_object_new_object();
	json_object *stored = NULL, *copy = NULL, *version;
	int rc;

	json_object_object_add(key, SCHEMA_KEY, json_object_get(json_object_object_get(item, SCHEMA_KEY)));
	rc = ddb_get_item(ddb, table, key, true, &stored, err);
	json_object_put(key);
	if (rc == -1)
		return store_fail(cause, table, err);

	if (stored != NULL && same_content(t, stored, item)) {
		result->skipped[t]++;
		json_object_put(stored);
		return 0;
	}
	/* Bump the version past the stored one so stale ETags do not match. */
	if (stored != NULL && json_object_object_get_ex(item, "version", NULL) &&
	    json_object_object_get_ex(stored, "version", &version)) {
		json_object *n = json_object_object_get(version, "N");
		long v;

		if (n != NULL && parse_long(json_object_get_string(n), 0, INT64_MAX / 2, &v) == 0) {
			if (json_object_deep_copy(item, &copy, NULL) == 0) {
				json_object_object_add(copy, "version", ddb_av_n_int((int64_t)v + 1));
			} else {
				json_object_put(copy);
				copy = NULL;
			}
		}
	}
	json_object_put(stored);
	rc = ddb_put_item(ddb, table, copy != NULL ? copy : item, NULL, NULL, err);
	json_object_put(copy);
	if (rc == -1)
		return store_fail(cause, table, err);
	result->written[t]++;
	return 0;
}

/* Writes built items into the configured tables. */
static int
apply_items(struct ddb *ddb, const struct config *cfg, json_object *items[SCHEMA_COUNT],
    bool force, struct seed_result *result, struct ddb_error *err, char **cause)
{
	json_object *extra = json_object_new_object();
	int rc = -1;

	memset(result, 0, sizeof *result);
	memset(err, 0, sizeof *err);
	*cause = NULL;
	json_object_object_add(extra, "ConditionExpression",
	    json_object_new_string("attribute_not_exists(" SCHEMA_KEY ")"));

	for (int t = 0; t < SCHEMA_COUNT; t++) {
		const char *table = schema_table_name(cfg, (enum schema_table)t);
		size_t n = items[t] != NULL ? json_object_array_length(items[t]) : 0;

		for (size_t i = 0; i < n; i++) {
			json_object *item = json_object_array_get_idx(items[t], i);

			if (force) {
				if (force_one(ddb, table, (enum schema_table)t, item, result, err, cause) == -1)
					goto out;
				continue;
			}
			if (ddb_put_item(ddb, table, item, extra, NULL, err) == 0) {
				result->written[t]++;
			} else if (ddb_error_is_condition_failed(err)) {
				result->skipped[t]++;
				memset(err, 0, sizeof *err);
			} else {
				store_fail(cause, table, err);
				goto out;
			}
		}
		log_info("seeded table", LOG_S("table", table),
		    LOG_I("written", result->written[t]), LOG_I("skipped", result->skipped[t]));
	}
	rc = 0;
out:
	json_object_put(extra);
	return rc;
}

/* Reads a whole file (at most SEED_MAX_BYTES) into a new string; NULL with *cause. */
static char *
read_file(const char *path, char **cause)
{
	struct buf b = BUF_INIT;
	char chunk[SEED_READ_CHUNK];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (b.len + n > SEED_MAX_BYTES) {
			*cause = xasprintf("%s: larger than %d bytes", path, SEED_MAX_BYTES);
			goto fail;
		}
		buf_append(&b, chunk, n);
	}
	if (ferror(f)) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	fclose(f);
	buf_append(&b, "", 0);
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b);
fail:
	fclose(f);
	buf_free(&b);
	return NULL;
}

/* Reads path, builds and applies it. */
static int
load_file(struct ddb *ddb, const struct config *cfg, const char *path, bool force,
    time_t now, struct seed_result *result, struct ddb_error *err, char **cause)
{
	json_object *items[SCHEMA_COUNT] = { NULL };
	json_object *data;
	json_tokener *tok;
	enum json_tokener_error jerr;
	char *text, *why = NULL;
	int rc = -1;

	memset(result, 0, sizeof *result);
	memset(err, 0, sizeof *err);
	*cause = NULL;
	if ((text = read_file(path, cause)) == NULL)
		return -1;
	tok = json_tokener_new();
	data = json_tokener_parse_ex(tok, text, (int)strlen(text));
	jerr = json_tokener_get_error(tok);
	if (data != NULL && jerr == json_tokener_success) {
		/* Nothing but white space may follow the value. */
		for (const char *p = text + json_tokener_get_parse_end(tok); *p != '\0'; p++) {
			if (!isspace((unsigned char)*p)) {
				jerr = json_tokener_error_parse_unexpected;
				break;
			}
		}
	}
	if (data == NULL || jerr != json_tokener_success) {
		*cause = xasprintf("%s: invalid JSON near byte %zu: %s", path,
		    json_tokener_get_parse_end(tok),
		    jerr == json_tokener_continue ? "unexpected end of file" : json_tokener_error_desc(jerr));
		json_object_put(data);
		goto out;
	}
	if (build_items(data, now, items, &why) == -1) {
		*cause = xasprintf("%s: %s", path, why);
		free(why);
		goto out_put;
	}
	rc = apply_items(ddb, cfg, items, force, result, err, cause);
	for (int t = 0; t < SCHEMA_COUNT; t++)
		json_object_put(items[t]);
out_put:
	json_object_put(data);
out:
	json_tokener_free(tok);
	free(text);
	return rc;
}

/* Frees the message and clears err; NULL-safe. */
void
seed_error_reset(struct seed_error *err)
{
	if (err == NULL)
		return;
	free(err->cause);
	memset(err, 0, sizeof *err);
}

/* Builds the items of every table; -1 with err->cause. */
int
seed_build(json_object *data, time_t now, json_object *items[SCHEMA_COUNT],
    struct seed_error *err)
{
	memset(err, 0, sizeof *err);
	return build_items(data, now, items, &err->cause);
}

/* Writes built items; -1 with err->cause (and err->store for the store). */
int
seed_apply(struct ddb *ddb, const struct config *cfg, json_object *items[SCHEMA_COUNT],
    bool force, struct seed_result *result, struct seed_error *err)
{
	memset(err, 0, sizeof *err);
	return apply_items(ddb, cfg, items, force, result, &err->store, &err->cause);
}

/* Reads, builds and writes a seed file; -1 with err->cause (and err->store). */
int
seed_file(struct ddb *ddb, const struct config *cfg, const char *path, bool force,
    time_t now, struct seed_result *result, struct seed_error *err)
{
	memset(err, 0, sizeof *err);
	return load_file(ddb, cfg, path, force, now, result, &err->store, &err->cause);
}

/* The deterministic, time-ordered id of a seeded update. */
void
seed_update_id(time_t created_at, const char *title, char out[static SEED_UPDATE_ID_LEN])
{
	uint32_t h = FNV32_OFFSET;
	char stamp[17];
	struct tm tm;

	for (const unsigned char *p = (const unsigned char *)title; *p != '\0'; p++) {
		h ^= *p;
		h *= FNV32_PRIME;
	}
	gmtime_r(&created_at, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, SEED_UPDATE_ID_LEN, "%s-%08x", stamp, (unsigned)h);
}
