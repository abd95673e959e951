/* model.c - operations shared by the tables keyed by a numeric id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "log.h"
#include "model.h"
#include "util.h"

/* {"id":{"N":"<id>"}} */
static json_object *
num_key(long id)
{
	json_object *key = json_object_new_object();

	json_object_object_add(key, "id", ddb_av_n_int(id));
	return key;
}

/* GetItem by id, unmarshalled. */
enum model_rc
model_get_num(struct ddb *ddb, const char *table, long id, json_object **item,
    struct ddb_error *err)
{
	json_object *key = num_key(id), *raw = NULL;
	const char *cause;
	int rc;

	*item = NULL;
	rc = ddb_get_item(ddb, table, key, true, &raw, err);
	json_object_put(key);
	if (rc == -1)
		return MODEL_ERROR;
	if (raw == NULL)
		return MODEL_NOT_FOUND;
	*item = ddb_unmarshal_item(raw, &cause);
	json_object_put(raw);
	if (*item == NULL) {
		model_marshal_error(err, "UnmarshalError", "item", cause);
		return MODEL_ERROR;
	}
	return MODEL_OK;
}

/* Compares two items by one integer field (the context), then id. */
static int
compare_items(const void *a, const void *b, void *field)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	long fx = model_int(x, field, 0), fy = model_int(y, field, 0);

	if (fx != fy)
		return fx < fy ? -1 : 1;
	fx = model_int(x, "id", 0);
	fy = model_int(y, "id", 0);
	return fx < fy ? -1 : fx > fy;
}

/* Sorts in place by field, then id. */
void
model_sort_by(json_object *items, const char *field)
{
	size_t n = json_object_array_length(items);
	json_object **tmp;

	if (n < 2)
		return;
	tmp = xcalloc(n, sizeof *tmp);
	for (size_t i = 0; i < n; i++)
		tmp[i] = json_object_get(json_object_array_get_idx(items, i));
	qsort_r(tmp, n, sizeof *tmp, compare_items, (void *)field);
	for (size_t i = 0; i < n; i++)
		json_object_array_put_idx(items, i, tmp[i]);	/* drops the old reference */
	free(tmp);
}

/* Unmarshals every item of a raw array into a new plain array. */
static json_object *
unmarshal_all(json_object *raw, struct ddb_error *err)
{
	json_object *out = json_object_new_array();
	const char *cause;

	for (size_t i = 0; i < json_object_array_length(raw); i++) {
		json_object *item = ddb_unmarshal_item(json_object_array_get_idx(raw, i), &cause);
		if (item == NULL) {
			json_object_put(out);
			model_marshal_error(err, "UnmarshalError", "item", cause);
			return NULL;
		}
		json_object_array_add(out, item);
	}
	return out;
}

/* Scan to the end, sorted by id (served from the cache when it is on and fresh). */
enum model_rc
model_scan_sorted(struct ddb *ddb, const char *table, json_object **items,
    struct ddb_error *err)
{
	json_object *req, *raw = NULL;
	char *key = xasprintf("scan:%s", table);
	uint64_t token;
	int rc;

	*items = cache_get(key, &token);
	if (*items != NULL) {
		free(key);
		return MODEL_OK;
	}
	req = json_object_new_object();
	json_object_object_add(req, "TableName", json_object_new_string(table));
	rc = ddb_scan_all(ddb, req, &raw, err);
	json_object_put(req);
	if (rc == -1) {
		free(key);
		return MODEL_ERROR;
	}
	*items = unmarshal_all(raw, err);
	json_object_put(raw);
	if (*items == NULL) {
		free(key);
		return MODEL_ERROR;
	}
	model_sort_by(*items, "id");
	cache_put(key, token, *items);
	free(key);
	return MODEL_OK;
}

/* Conditional put: attribute_not_exists(id). */
enum model_rc
model_create_num(struct ddb *ddb, const char *table, json_object *item,
    struct ddb_error *err)
{
	json_object *av, *extra;
	const char *cause;
	int rc;

	av = ddb_marshal_item(item, &cause);
	if (av == NULL) {
		model_marshal_error(err, "MarshalError", "item", cause);
		return MODEL_ERROR;
	}
	extra = json_object_new_object();
	json_object_object_add(extra, "ConditionExpression",
	    json_object_new_string("attribute_not_exists(id)"));
	rc = ddb_put_item(ddb, table, av, extra, NULL, err);
	json_object_put(extra);
	json_object_put(av);
	if (rc == -1)
		return ddb_error_is_condition_failed(err) ? MODEL_CONFLICT : MODEL_ERROR;
	return MODEL_OK;
}

/* The largest id in the table (0 when empty), from a keys-only scan. */
static enum model_rc
max_id(struct ddb *ddb, const char *table, long *out, struct ddb_error *err)
{
	json_object *req = json_object_new_object(), *raw = NULL;
	int rc;

	*out = 0;
	json_object_object_add(req, "TableName", json_object_new_string(table));
	json_object_object_add(req, "ProjectionExpression", json_object_new_string("id"));
	rc = ddb_scan_all(ddb, req, &raw, err);
	json_object_put(req);
	if (rc == -1)
		return MODEL_ERROR;
	for (size_t i = 0; i < json_object_array_length(raw); i++) {
		json_object *id, *n;
		long v;

		if (json_object_object_get_ex(json_object_array_get_idx(raw, i), "id", &id) &&
		    json_object_object_get_ex(id, "N", &n) &&
		    parse_long(json_object_get_string(n), 0, 999999999999L, &v) == 0 && v > *out)
			*out = v;
	}
	json_object_put(raw);
	return MODEL_OK;
}

/* Next free id: max + 1, retried when another writer takes it first. */
enum model_rc
model_create_next(struct ddb *ddb, const char *table, json_object *item,
    struct ddb_error *err)
{
	for (int attempt = 0; attempt < MODEL_CREATE_ATTEMPTS; attempt++) {
		long id;
		enum model_rc rc;

		if (max_id(ddb, table, &id, err) != MODEL_OK)
			return MODEL_ERROR;
		json_object_object_add(item, "id", json_object_new_int64(id + 1));
		rc = model_create_num(ddb, table, item, err);
		if (rc != MODEL_CONFLICT)
			return rc;
	}
	return MODEL_CONFLICT;
}

/* UpdateItem SET #f = :f ..., version = version + 1, conditional. */
enum model_rc
model_update_num(struct ddb *ddb, const char *table, long id, json_object *changes,
    long expected_version, json_object **updated, struct ddb_error *err)
{
	json_object *extra = json_object_new_object(), *names = json_object_new_object();
	json_object *values = json_object_new_object(), *key, *attrs = NULL, *now = model_now();
	struct buf expr = BUF_INIT, cond = BUF_INIT;
	const char *cause;
	int rc;
	enum model_rc result = MODEL_OK;

	*updated = NULL;
	if (model_versioned_update(changes, expected_version, json_object_get_string(now),
	    &expr, &cond, names, values, err) == -1) {
		result = MODEL_ERROR;
		goto out;
	}
	json_object_object_add(extra, "UpdateExpression", json_object_new_string(expr.data));
	json_object_object_add(extra, "ConditionExpression", json_object_new_string(cond.data));
	json_object_object_add(extra, "ExpressionAttributeNames", json_object_get(names));
	json_object_object_add(extra, "ExpressionAttributeValues", json_object_get(values));
	json_object_object_add(extra, "ReturnValues", json_object_new_string("ALL_NEW"));
	key = num_key(id);
	rc = ddb_update_item(ddb, table, key, extra, &attrs, err);
	json_object_put(key);
	if (rc == -1) {
		json_object *current = NULL;

		if (!ddb_error_is_condition_failed(err)) {
			result = MODEL_ERROR;
			goto out;
		}
		/* The condition failed: absent, or another version. */
		result = model_get_num(ddb, table, id, &current, err);
		json_object_put(current);
		if (result == MODEL_OK)
			result = MODEL_CONFLICT;
		goto out;
	}
	*updated = ddb_unmarshal_item(attrs, &cause);
	if (*updated == NULL) {
		model_marshal_error(err, "UnmarshalError", "item", cause);
		result = MODEL_ERROR;
	}
out:
	json_object_put(attrs);
	json_object_put(extra);
	json_object_put(names);
	json_object_put(values);
	json_object_put(now);
	buf_free(&expr);
	buf_free(&cond);
	return result;
}

/* SET clauses with placeholder names and values. */
int
model_set_clauses(json_object *changes, struct buf *expr, json_object *names,
    json_object *values, struct ddb_error *err)
{
	const char *cause = NULL;
	int n = 0;

	json_object_object_foreach(changes, field, value) {
		json_object *av = ddb_marshal_value(value, &cause);
		char name[16], val[16];

		if (av == NULL) {
			model_marshal_error(err, "MarshalError", field, cause ? cause : "cannot be stored");
			return -1;
		}
		snprintf(name, sizeof name, "#f%d", n);
		snprintf(val, sizeof val, ":v%d", n);
		json_object_object_add(names, name, json_object_new_string(field));
		json_object_object_add(values, val, av);
		buf_printf(expr, "%s = %s, ", name, val);
		n++;
	}
	return 0;
}

/* The parts every versioned update shares: SET of the changes, the version
 * bump and updated_at; the condition on existence and the expected version. */
int
model_versioned_update(json_object *changes, long expected_version, const char *now,
    struct buf *expr, struct buf *cond, json_object *names, json_object *values,
    struct ddb_error *err)
{
	buf_puts(expr, "SET ");
	if (model_set_clauses(changes, expr, names, values, err) == -1)
		return -1;
	buf_puts(expr, "#version = if_not_exists(#version, :zero) + :one, #updated_at = :now");
	json_object_object_add(names, "#version", json_object_new_string("version"));
	json_object_object_add(names, "#updated_at", json_object_new_string("updated_at"));
	json_object_object_add(values, ":zero", ddb_av_n_int(0));
	json_object_object_add(values, ":one", ddb_av_n_int(1));
	json_object_object_add(values, ":now", ddb_av_s(now));
	buf_puts(cond, "attribute_exists(id)");
	if (expected_version >= 0) {
		buf_puts(cond, " AND #version = :expected");
		json_object_object_add(values, ":expected", ddb_av_n_int(expected_version));
	}
	return 0;
}

/* Fills err for a (un)marshalling failure. */
void
model_marshal_error(struct ddb_error *err, const char *code, const char *field, const char *cause)
{
	memset(err, 0, sizeof *err);
	snprintf(err->code, sizeof err->code, "%s", code);
	snprintf(err->message, sizeof err->message, "%s: %s", field, cause);
}

/* DeleteItem with attribute_exists(id). */
enum model_rc
model_delete_num(struct ddb *ddb, const char *table, long id, struct ddb_error *err)
{
	json_object *key = num_key(id), *extra = json_object_new_object();
	int rc;

	json_object_object_add(extra, "ConditionExpression",
	    json_object_new_string("attribute_exists(id)"));
	rc = ddb_delete_item(ddb, table, key, extra, NULL, err);
	json_object_put(key);
	json_object_put(extra);
	if (rc == -1)
		return ddb_error_is_condition_failed(err) ? MODEL_NOT_FOUND : MODEL_ERROR;
	return MODEL_OK;
}

/* Now as an RFC 3339 string object. */
json_object *
model_now(void)
{
	char when[21];

	time_rfc3339(time(NULL), when);
	return json_object_new_string(when);
}

/* Integer field or def. */
long
model_int(json_object *item, const char *field, long def)
{
	json_object *v;

	if (item == NULL || !json_object_object_get_ex(item, field, &v) || v == NULL)
		return def;
	return (long)json_object_get_int64(v);
}

/* Number field or def. */
double
model_double(json_object *item, const char *field, double def)
{
	json_object *v;

	if (item == NULL || !json_object_object_get_ex(item, field, &v) || v == NULL)
		return def;
	return json_object_get_double(v);
}

/* String field or NULL. */
const char *
model_string(json_object *item, const char *field)
{
	json_object *v;

	if (item == NULL || !json_object_object_get_ex(item, field, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}
