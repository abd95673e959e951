/* model.c - operations shared by the tables keyed by a numeric id. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "config.h"
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

/* The attributes model_unmarshal leaves out. */
static const char *const internal_attrs[] = { MODEL_ATTR_MIGRATED_HASH };

/* Unmarshals an item and drops the internal attributes. */
json_object *
model_unmarshal(json_object *raw, const char **why)
{
	json_object *item = ddb_unmarshal_item(raw, why);

	for (size_t i = 0; item != NULL && i < ARRAY_LEN(internal_attrs); i++)
		json_object_object_del(item, internal_attrs[i]);
	return item;
}

/* Drops the internal attributes of a plain item. */
void
model_hide_internal(json_object *item)
{
	for (size_t i = 0; item != NULL && i < ARRAY_LEN(internal_attrs); i++)
		json_object_object_del(item, internal_attrs[i]);
}

/* The items the API shows, from plain items read in one pass. */
json_object *
model_items_shown(json_object *plain_items)
{
	size_t n = plain_items != NULL ? json_object_array_length(plain_items) : 0;
	json_object *out = json_object_new_array_ext(n > 0 ? (int)n : 1);

	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(plain_items, i);

		if (item == NULL || model_is_reserved(item))
			continue;
		model_hide_internal(item);
		json_object_array_add(out, json_object_get(item));
	}
	return out;
}

/* GetItem by key, strongly consistent, unmarshalled as it is read. */
enum model_rc
model_get_key(struct ddb *ddb, const char *table, json_object *key, json_object **item,
    struct ddb_error *err)
{
	*item = NULL;
	if (ddb_get_item_plain(ddb, table, key, true, item, err) == -1)
		return MODEL_ERROR;
	if (*item == NULL)
		return MODEL_NOT_FOUND;
	model_hide_internal(*item);
	return MODEL_OK;
}

/* GetItem by numeric id, unmarshalled. */
enum model_rc
model_get_num(struct ddb *ddb, const char *table, long id, json_object **item,
    struct ddb_error *err)
{
	json_object *key = num_key(id);
	enum model_rc rc = model_get_key(ddb, table, key, item, err);

	json_object_put(key);
	return rc;
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
	rc = ddb_scan_all_plain(ddb, req, &raw, err);
	json_object_put(req);
	if (rc == -1) {
		free(key);
		return MODEL_ERROR;
	}
	*items = model_items_shown(raw);
	json_object_put(raw);
	model_sort_by(*items, "id");
	cache_put(key, token, *items);
	free(key);
	return MODEL_OK;
}

/* True for the reserved counter item: a numeric id 0, plain or raw. */
bool
model_is_reserved(json_object *item)
{
	json_object *id, *n;

	if (item == NULL || !json_object_object_get_ex(item, "id", &id) || id == NULL)
		return false;
	if (json_object_is_type(id, json_type_object))
		return json_object_object_get_ex(id, "N", &n) &&
		    strcmp(json_object_get_string(n), "0") == 0;
	return json_object_is_type(id, json_type_int) && json_object_get_int64(id) == MODEL_COUNTER_ID;
}

/* Fills err as a time-out: the store is answered 503 (ddb_error_is_unavailable). */
void
model_unavailable(struct ddb_error *err, const char *why)
{
	ddb_error_set(err, 0, "TimeoutError", "%s", why);
}

/* Full jitter: random in [0, min(cap, base * 2^(round-1))]. */
void
model_race_pause(int round)
{
	int64_t cap = (int64_t)MODEL_RACE_BASE_MS << (round < 8 ? round : 8);

	if (cap > MODEL_RACE_MAX_MS)
		cap = MODEL_RACE_MAX_MS;
	sleep_ms((int64_t)random_below((uint64_t)cap + 1));
}

/* Equal numbers: an integer and a decimal of the same value are equal (the
 * store may give back 100 for 1e2). */
static bool
same_number(json_object *a, json_object *b)
{
	if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int))
		return json_object_get_int64(a) == json_object_get_int64(b);
	return json_object_get_double(a) == json_object_get_double(b);
}

static bool same_value(json_object *a, json_object *b);

/* Equal objects: the same members, each of the same value, in any order. */
static bool
same_members(json_object *a, json_object *b)
{
	if (json_object_object_length(a) != json_object_object_length(b))
		return false;
	json_object_object_foreach(a, name, value) {
		json_object *other;

		if (!json_object_object_get_ex(b, name, &other) || !same_value(value, other))
			return false;
	}
	return true;
}

/* Equal values: json-c's comparison, numbers by value whatever their type,
 * containers member by member, or the same JSON text. */
static bool
same_value(json_object *a, json_object *b)
{
	bool num_a, num_b;

	if (json_object_equal(a, b))
		return true;
	if (a == NULL || b == NULL)
		return false;
	num_a = json_object_is_type(a, json_type_int) || json_object_is_type(a, json_type_double);
	num_b = json_object_is_type(b, json_type_int) || json_object_is_type(b, json_type_double);
	if (num_a && num_b)
		return same_number(a, b);
	if (json_object_is_type(a, json_type_object) && json_object_is_type(b, json_type_object))
		return same_members(a, b);
	if (json_object_is_type(a, json_type_array) && json_object_is_type(b, json_type_array)) {
		size_t n = json_object_array_length(a);

		if (n != json_object_array_length(b))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!same_value(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
				return false;
		return true;
	}
	return strcmp(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
	    json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN)) == 0;
}

/* One PutItem of av with attribute_not_exists(id). */
static int
put_if_absent(struct ddb *ddb, const char *table, json_object *av, struct ddb_error *err)
{
	json_object *extra = json_object_new_object();
	int rc;

	json_object_object_add(extra, "ConditionExpression",
	    json_object_new_string("attribute_not_exists(id)"));
	rc = ddb_put_item(ddb, table, av, extra, NULL, err);
	json_object_put(extra);
	return rc;
}

/* Whose is the item stored under the id a create wrote (written, plain)?
 * MODEL_OK when it carries every field of written (a later reader may have
 * added to it, as read receipts do), MODEL_CONFLICT when it is another
 * writer's item, MODEL_ERROR (unavailable, outcome unknown) when it has moved
 * on to a later version since its create and cannot be told apart. */
static enum model_rc
stored_is_written(json_object *stored, json_object *written, const char *table,
    struct ddb_error *err)
{
	bool carries = true;

	json_object_object_foreach(written, field, value)
		if (!same_value(json_object_object_get(stored, field), value))
			carries = false;
	if (carries)
		return MODEL_OK;
	if (model_int(stored, "version", 0) > model_int(written, "version", 0)) {
		log_warn("a created id holds an item changed since; whose create it was cannot be told",
		    LOG_S("table", table));
		model_unavailable(err, "the outcome of a create is unknown");
		err->outcome_unknown = true;
		return MODEL_ERROR;
	}
	log_warn("a created id holds another writer's item", LOG_S("table", table));
	return MODEL_CONFLICT;
}

/* The stored item under the id of item (plain or AttributeValue map). */
static enum model_rc
get_same_id(struct ddb *ddb, const char *table, json_object *item, json_object **stored,
    struct ddb_error *err)
{
	json_object *key = json_object_new_object(), *id = json_object_object_get(item, "id"), *av;
	const char *why;
	enum model_rc rc;

	*stored = NULL;
	av = json_object_is_type(id, json_type_object) ? json_object_get(id) : ddb_marshal_value(id, &why);
	if (av == NULL) {
		json_object_put(key);
		ddb_error_set(err, 0, "MarshalError", "%s: %s", "id", why);
		return MODEL_ERROR;
	}
	json_object_object_add(key, "id", av);
	rc = model_get_key(ddb, table, key, stored, err);
	json_object_put(key);
	return rc;
}

/* Conditional put; after an unknown outcome, the same put again, and an
 * existing item is ours only when it holds what we put. */
enum model_rc
model_put_new(struct ddb *ddb, const char *table, json_object *item, struct ddb_error *err)
{
	json_object *av, *stored = NULL;
	const char *why;
	enum model_rc result = MODEL_OK;
	int round;

	av = ddb_marshal_item(item, &why);
	if (av == NULL) {
		ddb_error_set(err, 0, "MarshalError", "%s: %s", "item", why);
		return MODEL_ERROR;
	}
	if (put_if_absent(ddb, table, av, err) == 0)
		goto out;
	for (round = 0; err->outcome_unknown && round < MODEL_WRITE_ROUNDS; round++) {
		log_warn("create outcome unknown; sending it again under its condition",
		    LOG_S("table", table), LOG_S("code", err->code));
		if (put_if_absent(ddb, table, av, err) == 0)
			goto out;	/* the first attempt had not been applied */
		if (!ddb_error_is_condition_failed(err))
			continue;	/* unknown again, or a final error */
		/* The id exists: our own first attempt, or another writer's. */
		result = get_same_id(ddb, table, av, &stored, err);
		if (result == MODEL_NOT_FOUND)
			continue;	/* gone again meanwhile: put once more */
		if (result == MODEL_OK)
			result = stored_is_written(stored, item, table, err);
		json_object_put(stored);
		goto out;
	}
	result = ddb_error_is_condition_failed(err) ? MODEL_CONFLICT : MODEL_ERROR;
out:
	json_object_put(av);
	return result;
}

/* Copies every member of from into to (shared references). */
static void
copy_members(json_object *to, json_object *from)
{
	json_object_object_foreach(from, name, value)
		json_object_object_add(to, name, json_object_get(value));
}

/* A create of what an earlier attempt of this request wrote, under its id:
 * ours when absent, or when the id holds what that attempt wrote. */
enum model_rc
model_put_reclaimed(struct ddb *ddb, const char *table, json_object *item,
    json_object *earlier, struct ddb_error *err)
{
	json_object *again, *stored = NULL;
	enum model_rc rc;

	if (json_object_object_get(earlier, "id") == NULL) {
		ddb_error_set(err, 0, "MarshalError", "%s: %s", "id", "the earlier attempt's item has none");
		return MODEL_ERROR;
	}
	/* Every attempt writes the very item the first one wrote, so that the
	 * next one knows it whichever of them was applied. */
	again = json_object_new_object();
	copy_members(again, earlier);
	rc = model_put_new(ddb, table, again, err);
	if (rc == MODEL_CONFLICT) {
		rc = get_same_id(ddb, table, again, &stored, err);
		if (rc == MODEL_NOT_FOUND)
			rc = MODEL_CONFLICT;	/* taken, then deleted: cannot be told */
		else if (rc == MODEL_OK)
			rc = stored_is_written(stored, earlier, table, err);
		if (rc == MODEL_OK)
			copy_members(again, stored);	/* applied before: answer with what it stored */
		json_object_put(stored);
	}
	if (rc != MODEL_CONFLICT)
		copy_members(item, again);
	json_object_put(again);
	return rc;
}

/* A create under the caller's id, the id an earlier attempt drew, or a fresh one. */
enum model_rc
model_create(struct ddb *ddb, const char *table, json_object *item, json_object *earlier,
    struct ddb_error *err)
{
	bool named = model_int(item, "id", 0) > 0;
	enum model_rc rc;

	if (earlier != NULL) {
		rc = model_put_reclaimed(ddb, table, item, earlier, err);
		if (rc != MODEL_CONFLICT || named)
			return rc;
		/* Another writer took the id that attempt drew: it wrote nothing. */
		json_object_object_del(item, "id");
	}
	return named ? model_put_new(ddb, table, item, err) :
	    model_create_next(ddb, table, item, err);
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
	json_object_object_add(req, "ConsistentRead", json_object_new_boolean(true));
	rc = ddb_scan_all(ddb, req, &raw, err);
	json_object_put(req);
	if (rc == -1)
		return MODEL_ERROR;
	for (size_t i = 0; i < json_object_array_length(raw); i++) {
		json_object *id, *n;
		long v;

		if (json_object_object_get_ex(json_object_array_get_idx(raw, i), "id", &id) &&
		    json_object_object_get_ex(id, "N", &n) &&
		    parse_long(json_object_get_string(n), 0, ID_MAX, &v) == 0 && v > *out)
			*out = v;
	}
	json_object_put(raw);
	return MODEL_OK;
}

/* Sets the counter to at least floor (creating it when absent). A failed
 * condition means someone set it higher already: fine. */
static enum model_rc
counter_raise(struct ddb *ddb, const char *table, long floor, struct ddb_error *err)
{
	json_object *key = num_key(MODEL_COUNTER_ID), *extra = json_object_new_object();
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	int rc;

	json_object_object_add(names, "#next", json_object_new_string(MODEL_COUNTER_ATTR));
	json_object_object_add(values, ":floor", ddb_av_n_int(floor));
	json_object_object_add(extra, "UpdateExpression", json_object_new_string("SET #next = :floor"));
	json_object_object_add(extra, "ConditionExpression",
	    json_object_new_string("attribute_not_exists(#next) OR #next < :floor"));
	json_object_object_add(extra, "ExpressionAttributeNames", names);
	json_object_object_add(extra, "ExpressionAttributeValues", values);
	/* Raising to a floor is idempotent: an unknown outcome is simply sent again. */
	for (int round = 0; round < MODEL_CREATE_ATTEMPTS; round++) {
		rc = ddb_update_item(ddb, table, key, extra, NULL, err);
		if (rc == 0 || ddb_error_is_condition_failed(err) || !err->outcome_unknown)
			break;
	}
	json_object_put(key);
	json_object_put(extra);
	if (rc == -1 && !ddb_error_is_condition_failed(err))
		return MODEL_ERROR;
	return MODEL_OK;
}

/* The next id from the counter: ADD 1, only once the counter exists (it
 * starts at the table's largest id). An ADD whose outcome is unknown is
 * sent again: at worst an id is skipped, never handed out twice. */
static enum model_rc
counter_next(struct ddb *ddb, const char *table, long *id, struct ddb_error *err)
{
	json_object *key = num_key(MODEL_COUNTER_ID), *extra = json_object_new_object();
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	json_object *attrs = NULL, *next, *n;
	enum model_rc result = MODEL_ERROR;
	long floor;

	json_object_object_add(names, "#next", json_object_new_string(MODEL_COUNTER_ATTR));
	json_object_object_add(values, ":one", ddb_av_n_int(1));
	json_object_object_add(extra, "UpdateExpression", json_object_new_string("ADD #next :one"));
	json_object_object_add(extra, "ConditionExpression", json_object_new_string("attribute_exists(#next)"));
	json_object_object_add(extra, "ExpressionAttributeNames", names);
	json_object_object_add(extra, "ExpressionAttributeValues", values);
	json_object_object_add(extra, "ReturnValues", json_object_new_string("UPDATED_NEW"));
	for (int round = 0; round < MODEL_WRITE_ROUNDS; round++) {
		if (ddb_update_item(ddb, table, key, extra, &attrs, err) == 0) {
			if (json_object_object_get_ex(attrs, MODEL_COUNTER_ATTR, &next) &&
			    json_object_object_get_ex(next, "N", &n) &&
			    parse_long(json_object_get_string(n), 1, ID_MAX, id) == 0)
				result = MODEL_OK;
			else
				ddb_error_set(err, 0, "InvalidResponse", "%s: %s", MODEL_COUNTER_ATTR, "not a number");
			break;
		}
		if (err->outcome_unknown)
			continue;
		if (!ddb_error_is_condition_failed(err))
			break;
		/* No counter yet: start it at the largest id in the table. */
		if (max_id(ddb, table, &floor, err) != MODEL_OK ||
		    counter_raise(ddb, table, floor, err) != MODEL_OK)
			break;
	}
	json_object_put(attrs);
	json_object_put(key);
	json_object_put(extra);
	return result;
}

/* A fresh id from the counter; a taken one (an explicit id, an import)
 * lifts the counter past the largest id and draws again. */
enum model_rc
model_create_next(struct ddb *ddb, const char *table, json_object *item,
    struct ddb_error *err)
{
	for (int attempt = 0; attempt < MODEL_CREATE_ATTEMPTS; attempt++) {
		long id, top;
		enum model_rc rc;

		if (counter_next(ddb, table, &id, err) != MODEL_OK)
			return MODEL_ERROR;
		json_object_object_add(item, "id", json_object_new_int64(id));
		rc = model_put_new(ddb, table, item, err);
		if (rc != MODEL_CONFLICT)
			return rc;
		log_warn("counter id taken; lifting the counter", LOG_S("table", table), LOG_I("id", id));
		if (max_id(ddb, table, &top, err) != MODEL_OK ||
		    counter_raise(ddb, table, top, err) != MODEL_OK)
			return MODEL_ERROR;
	}
	model_unavailable(err, "no free id after several draws");
	return MODEL_ERROR;
}

/* One UpdateItem: SET every field of set, version = v + 1 and updated_at,
 * conditional on the item existing at version v (v 0: no version yet).
 * MODEL_CONFLICT when the condition failed; *updated the new item. */
static enum model_rc
versioned_set(struct ddb *ddb, const char *table, long id, json_object *set, long v,
    const char *now, json_object **updated, struct ddb_error *err)
{
	json_object *extra = json_object_new_object(), *names = json_object_new_object();
	json_object *values = json_object_new_object(), *key = num_key(id), *attrs = NULL;
	struct buf expr = BUF_INIT;
	const char *why;
	enum model_rc result = MODEL_OK;

	*updated = NULL;
	buf_puts(&expr, "SET ");
	if (model_set_clauses(set, &expr, names, values, err) == -1) {
		result = MODEL_ERROR;
		goto out;
	}
	buf_puts(&expr, "#version = :next, #updated_at = :now");
	json_object_object_add(names, "#version", json_object_new_string("version"));
	json_object_object_add(names, "#updated_at", json_object_new_string("updated_at"));
	json_object_object_add(values, ":next", ddb_av_n_int(v + 1));
	json_object_object_add(values, ":now", ddb_av_s(now));
	if (v > 0) {
		json_object_object_add(values, ":read", ddb_av_n_int(v));
		json_object_object_add(extra, "ConditionExpression",
		    json_object_new_string("attribute_exists(id) AND #version = :read"));
	} else {
		json_object_object_add(extra, "ConditionExpression",
		    json_object_new_string("attribute_exists(id) AND attribute_not_exists(#version)"));
	}
	json_object_object_add(extra, "UpdateExpression", json_object_new_string(expr.data));
	json_object_object_add(extra, "ExpressionAttributeNames", json_object_get(names));
	json_object_object_add(extra, "ExpressionAttributeValues", json_object_get(values));
	json_object_object_add(extra, "ReturnValues", json_object_new_string("ALL_NEW"));
	if (ddb_update_item(ddb, table, key, extra, &attrs, err) == -1) {
		result = ddb_error_is_condition_failed(err) ? MODEL_CONFLICT : MODEL_ERROR;
		goto out;
	}
	if ((*updated = model_unmarshal(attrs, &why)) == NULL) {
		ddb_error_set(err, 0, "UnmarshalError", "%s: %s", "item", why);
		result = MODEL_ERROR;
	}
out:
	json_object_put(attrs);
	json_object_put(key);
	json_object_put(extra);
	json_object_put(names);
	json_object_put(values);
	buf_free(&expr);
	return result;
}

/* True when item carries what versioned_set(set, v, now) writes. */
static bool
carries_write(json_object *item, json_object *set, long v, const char *now)
{
	const char *at = model_string(item, "updated_at");

	if (model_int(item, "version", 0) != v + 1 || at == NULL || strcmp(at, now) != 0)
		return false;
	json_object_object_foreach(set, field, value)
		if (!same_value(json_object_object_get(item, field), value))
			return false;
	return true;
}

/* versioned_set, and after an unknown outcome the same write again: a
 * failed condition then means our first attempt applied (the item carries
 * our write at v + 1) or another writer won (MODEL_CONFLICT). */
static enum model_rc
versioned_set_once(struct ddb *ddb, const char *table, long id, json_object *set, long v,
    const char *now, json_object **updated, struct ddb_error *err)
{
	enum model_rc rc = versioned_set(ddb, table, id, set, v, now, updated, err);

	for (int round = 0; rc == MODEL_ERROR && err->outcome_unknown &&
	    round < MODEL_WRITE_ROUNDS; round++) {
		json_object *current = NULL;
		long seen;

		log_warn("update outcome unknown; sending it again under its condition",
		    LOG_S("table", table), LOG_I("id", id), LOG_I("version", v + 1),
		    LOG_S("code", err->code));
		rc = versioned_set(ddb, table, id, set, v, now, updated, err);
		if (rc != MODEL_CONFLICT)
			continue;
		if ((rc = model_get_num(ddb, table, id, &current, err)) != MODEL_OK)
			return rc;
		seen = model_int(current, "version", 0);
		if (carries_write(current, set, v, now)) {
			*updated = current;
			return MODEL_OK;
		}
		json_object_put(current);
		if (seen <= v + 1)
			return MODEL_CONFLICT;	/* another writer's v + 1: ours did not apply */
		/* Moved on past v + 1: whose step v -> v + 1 was cannot be told. */
		model_unavailable(err, "the outcome of an update is unknown");
		err->outcome_unknown = true;
		return MODEL_ERROR;
	}
	return rc;
}

/* Read-modify-writes of one item by the threads of this process take turns
 * (one of MODEL_ITEM_STRIPES locks, by table and id), so they do not lose
 * races to each other; only other processes and hosts still race, and the
 * version condition settles those. */
static pthread_mutex_t item_stripes[MODEL_ITEM_STRIPES] = {
	[0 ... MODEL_ITEM_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER
};

/* The stripe of (table, id): FNV-1a over both. */
static pthread_mutex_t *
item_stripe(const char *table, long id)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = table; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ (uint64_t)id) * 1099511628211ULL;
	return &item_stripes[h % MODEL_ITEM_STRIPES];
}

/* Takes the stripe lock, waiting no later than the store's deadline. */
static int
item_lock(struct ddb *ddb, pthread_mutex_t *m, struct ddb_error *err)
{
	int64_t deadline = ddb_deadline(ddb);
	struct timespec until;

	if (deadline == 0)
		return pthread_mutex_lock(m) == 0 ? 0 : -1;
	until.tv_sec = (time_t)(deadline / 1000);
	until.tv_nsec = (long)(deadline % 1000) * 1000000L;
	if (pthread_mutex_timedlock(m, &until) != 0) {
		model_unavailable(err, "waited too long for other writes of the same item");
		return -1;
	}
	return 0;
}

static enum model_rc update_num_locked(struct ddb *ddb, const char *table, long id,
    json_object *changes, long expected_version, model_set_fn build, json_object **updated,
    struct ddb_error *err);

/* Read, build, write conditional on the version read, one thread of this
 * process at a time per item. */
enum model_rc
model_update_num(struct ddb *ddb, const char *table, long id, json_object *changes,
    long expected_version, model_set_fn build, json_object **updated, struct ddb_error *err)
{
	pthread_mutex_t *m = item_stripe(table, id);
	enum model_rc rc;

	*updated = NULL;
	if (item_lock(ddb, m, err) == -1)
		return MODEL_ERROR;
	rc = update_num_locked(ddb, table, id, changes, expected_version, build, updated, err);
	pthread_mutex_unlock(m);
	return rc;
}

/* Read, build, write conditional on the version read; lost races retried
 * when the caller set no condition. */
static enum model_rc
update_num_locked(struct ddb *ddb, const char *table, long id, json_object *changes,
    long expected_version, model_set_fn build, json_object **updated, struct ddb_error *err)
{
	for (int round = 0; round < MODEL_WRITE_ROUNDS; round++) {
		json_object *current = NULL, *set, *now;
		enum model_rc rc;
		long v;

		if (round > 0)
			model_race_pause(round);
		if ((rc = model_get_num(ddb, table, id, &current, err)) != MODEL_OK)
			return rc;
		v = model_int(current, "version", 0);
		if (expected_version >= 0 && v != expected_version) {
			json_object_put(current);
			return MODEL_CONFLICT;
		}
		now = model_now();
		set = build != NULL ? build(current, changes, json_object_get_string(now)) :
		    json_object_get(changes);
		json_object_put(current);
		rc = versioned_set_once(ddb, table, id, set, v, json_object_get_string(now),
		    updated, err);
		json_object_put(set);
		json_object_put(now);
		if (rc != MODEL_CONFLICT)
			return rc;
		if (expected_version >= 0) {
			/* Changed (or deleted) between the read and the write. */
			if ((rc = model_get_num(ddb, table, id, &current, err)) == MODEL_OK)
				rc = MODEL_CONFLICT;
			json_object_put(current);
			return rc;
		}
	}
	model_unavailable(err, "too much contention on one item");
	return MODEL_ERROR;
}

/* SET clauses with placeholder names and values. */
int
model_set_clauses(json_object *changes, struct buf *expr, json_object *names,
    json_object *values, struct ddb_error *err)
{
	const char *why = NULL;
	int n = 0;

	json_object_object_foreach(changes, field, value) {
		json_object *av = ddb_marshal_value(value, &why);
		char name[16], val[16];

		if (av == NULL) {
			ddb_error_set(err, 0, "MarshalError", "%s: %s", field, why ? why : "cannot be stored");
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

/* DeleteItem with attribute_exists(id) (and the version when expected). */
enum model_rc
model_delete_num(struct ddb *ddb, const char *table, long id, long expected_version,
    struct ddb_error *err)
{
	json_object *key = num_key(id), *extra = json_object_new_object(), *current = NULL;
	enum model_rc result = MODEL_OK;
	bool unknown = false;
	int rc;

	if (expected_version >= 0) {
		json_object *names = json_object_new_object(), *values = json_object_new_object();

		json_object_object_add(names, "#version", json_object_new_string("version"));
		json_object_object_add(values, ":expected", ddb_av_n_int(expected_version));
		json_object_object_add(extra, "ConditionExpression",
		    json_object_new_string("attribute_exists(id) AND #version = :expected"));
		json_object_object_add(extra, "ExpressionAttributeNames", names);
		json_object_object_add(extra, "ExpressionAttributeValues", values);
	} else
		json_object_object_add(extra, "ConditionExpression",
		    json_object_new_string("attribute_exists(id)"));
	rc = ddb_delete_item(ddb, table, key, extra, NULL, err);
	/* Deleting twice cannot do harm: an unknown outcome is sent again. */
	for (int round = 0; rc == -1 && err->outcome_unknown && round < MODEL_WRITE_ROUNDS; round++) {
		unknown = true;
		rc = ddb_delete_item(ddb, table, key, extra, NULL, err);
	}
	if (rc == 0)
		goto out;
	if (!ddb_error_is_condition_failed(err)) {
		result = MODEL_ERROR;
		goto out;
	}
	/* Absent (gone by our own earlier attempt, or never there), or another version. */
	result = model_get_num(ddb, table, id, &current, err);
	if (result == MODEL_OK)
		result = MODEL_CONFLICT;
	else if (result == MODEL_NOT_FOUND && unknown)
		result = MODEL_OK;
out:
	json_object_put(current);
	json_object_put(key);
	json_object_put(extra);
	return result;
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

static _Atomic int64_t model_healthy_until_ms;

/* One DescribeTable, unless a recent one succeeded. */
int
model_store_check(struct ddb *ddb, const struct config *cfg, struct ddb_error *err)
{
	json_object *description = NULL;
	int64_t now = mono_ms();
	int rc;

	if (now < model_healthy_until_ms)
		return 0;
	rc = ddb_describe_table(ddb, cfg->table_deliverables, &description, err);
	json_object_put(description);
	if (rc == 0)
		model_healthy_until_ms = now + MODEL_HEALTH_CACHE_MS;
	return rc;
}
