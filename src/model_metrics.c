/* model_metrics.c - the metrics table: progress, capped history, and updates
 * as a read-modify-write conditional on the version read (no lost update). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "handlers.h"
#include "model_metrics.h"
#include "util.h"

#define PROGRESS_MAX	100.0

/* Every metric, sorted by id. */
enum model_rc
metrics_list(struct ddb *ddb, const struct config *cfg, json_object **items,
    struct ddb_error *err)
{
	return model_scan_sorted(ddb, cfg->table_metrics, items, err);
}

/* One metric by id. */
enum model_rc
metrics_get(struct ddb *ddb, const struct config *cfg, long id, json_object **item,
    struct ddb_error *err)
{
	return model_get_num(ddb, cfg->table_metrics, id, item, err);
}

/* Adds version, updated_at and the first history entry, then stores the item. */
enum model_rc
metrics_create(struct ddb *ddb, const struct config *cfg, json_object *item,
    struct ddb_error *err)
{
	json_object *now = model_now(), *current = NULL;

	if (!json_object_object_get_ex(item, "current_value", &current) || current == NULL)
		json_object_object_get_ex(item, "baseline_value", &current);
	json_object_object_add(item, "history",
	    metrics_history_append(NULL, current, json_object_get_string(now)));
	json_object_object_add(item, "version", json_object_new_int64(1));
	json_object_object_add(item, "updated_at", now);
	if (model_int(item, "id", 0) > 0)
		return model_create_num(ddb, cfg->table_metrics, item, err);
	return model_create_next(ddb, cfg->table_metrics, item, err);
}

/* A copy of history with one entry appended and the oldest dropped past the cap. */
json_object *
metrics_history_append(json_object *history, json_object *value, const char *at)
{
	json_object *out = json_object_new_array(), *point = json_object_new_object();
	size_t len = 0, skip = 0;

	if (history != NULL && json_object_is_type(history, json_type_array))
		len = json_object_array_length(history);
	if (len + 1 > METRICS_HISTORY_MAX)
		skip = len + 1 - METRICS_HISTORY_MAX;
	for (size_t i = skip; i < len; i++)
		json_object_array_add(out, json_object_get(json_object_array_get_idx(history, i)));
	json_object_object_add(point, "value", json_object_get(value));
	json_object_object_add(point, "at", json_object_new_string(at));
	json_object_array_add(out, point);
	return out;
}

/* UpdateItem SET of every field of set, version = read_version + 1 and
 * updated_at, conditional on the item existing with read_version (0: no
 * version attribute). MODEL_CONFLICT when the condition failed. */
static enum model_rc
conditional_set(struct ddb *ddb, const char *table, long id, json_object *set,
    long read_version, const char *now, json_object **updated, struct ddb_error *err)
{
	json_object *extra = json_object_new_object(), *names = json_object_new_object();
	json_object *values = json_object_new_object(), *key = json_object_new_object();
	json_object *attrs = NULL;
	struct buf expr = BUF_INIT;
	const char *cause;
	enum model_rc result = MODEL_OK;

	buf_puts(&expr, "SET ");
	if (model_set_clauses(set, &expr, names, values, err) == -1) {
		result = MODEL_ERROR;
		goto out;
	}
	buf_puts(&expr, "#version = :next, #updated_at = :now");
	json_object_object_add(names, "#version", json_object_new_string("version"));
	json_object_object_add(names, "#updated_at", json_object_new_string("updated_at"));
	json_object_object_add(values, ":next", ddb_av_n_int(read_version + 1));
	json_object_object_add(values, ":now", ddb_av_s(now));
	if (read_version > 0) {
		json_object_object_add(values, ":read", ddb_av_n_int(read_version));
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
	json_object_object_add(key, "id", ddb_av_n_int(id));
	if (ddb_update_item(ddb, table, key, extra, &attrs, err) == -1) {
		result = ddb_error_is_condition_failed(err) ? MODEL_CONFLICT : MODEL_ERROR;
		goto out;
	}
	if ((*updated = ddb_unmarshal_item(attrs, &cause)) == NULL) {
		model_marshal_error(err, "UnmarshalError", "item", cause);
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

/* Full-jitter delay before retrying a lost race (attempt counts from 0). */
static int64_t
retry_delay_ms(int attempt)
{
	int64_t cap = METRICS_RETRY_BASE_MS << (attempt < 6 ? attempt : 6);

	if (cap > METRICS_RETRY_MAX_MS)
		cap = METRICS_RETRY_MAX_MS;
	return (int64_t)random_below((uint64_t)cap + 1);
}
/* Outcome of atomic_update when the history is full and must be trimmed. */
#define MODEL_HISTORY_FULL	((enum model_rc)100)

/* One UpdateItem: SET the changed fields, append a new current_value to the
 * history (list_append), bump version and updated_at; conditional on the
 * item existing, on the expected version when given, and on the history
 * having room. On a failed condition one read tells which: absent,
 * another version, or a full history (MODEL_HISTORY_FULL). */
static enum model_rc
atomic_update(struct ddb *ddb, const char *table, long id, json_object *changes,
    long expected_version, json_object **updated, struct ddb_error *err)
{
	json_object *extra = json_object_new_object(), *names = json_object_new_object();
	json_object *values = json_object_new_object(), *key = json_object_new_object();
	json_object *attrs = NULL, *now = model_now(), *value, *current = NULL;
	struct buf expr = BUF_INIT, cond = BUF_INIT;
	bool appends = json_object_object_get_ex(changes, "current_value", &value) && value != NULL;
	enum model_rc result = MODEL_OK;
	const char *cause = NULL;

	if (model_versioned_update(changes, expected_version, json_object_get_string(now),
	    &expr, &cond, names, values, err) == -1) {
		result = MODEL_ERROR;
		goto out;
	}
	if (appends) {
		json_object *entry = json_object_new_array(), *point = json_object_new_object();
		json_object *av;

		json_object_object_add(point, "value", json_object_get(value));
		json_object_object_add(point, "at", json_object_get(now));
		json_object_array_add(entry, point);
		av = ddb_marshal_value(entry, &cause);
		json_object_put(entry);
		if (av == NULL) {
			model_marshal_error(err, "MarshalError", "history", cause ? cause : "cannot be stored");
			result = MODEL_ERROR;
			goto out;
		}
		buf_puts(&expr, ", #history = list_append(if_not_exists(#history, :empty), :entry)");
		buf_puts(&cond, " AND (attribute_not_exists(#history) OR size(#history) < :cap)");
		json_object_object_add(names, "#history", json_object_new_string("history"));
		json_object_object_add(values, ":entry", av);
		json_object_object_add(values, ":empty", json_object_new_object());
		json_object_object_add(json_object_object_get(values, ":empty"), "L", json_object_new_array());
		json_object_object_add(values, ":cap", ddb_av_n_int(METRICS_HISTORY_MAX));
	}
	json_object_object_add(key, "id", ddb_av_n_int(id));
	json_object_object_add(extra, "UpdateExpression", json_object_new_string(expr.data));
	json_object_object_add(extra, "ConditionExpression", json_object_new_string(cond.data));
	json_object_object_add(extra, "ExpressionAttributeNames", json_object_get(names));
	json_object_object_add(extra, "ExpressionAttributeValues", json_object_get(values));
	json_object_object_add(extra, "ReturnValues", json_object_new_string("ALL_NEW"));
	if (ddb_update_item(ddb, table, key, extra, &attrs, err) == -1) {
		if (!ddb_error_is_condition_failed(err)) {
			result = MODEL_ERROR;
			goto out;
		}
		result = model_get_num(ddb, table, id, &current, err);
		if (result != MODEL_OK)
			goto out;
		if (expected_version >= 0 && model_int(current, "version", 0) != expected_version)
			result = MODEL_CONFLICT;
		else if (appends)
			result = MODEL_HISTORY_FULL;
		else
			result = MODEL_CONFLICT;	/* changed under us between the two calls */
		goto out;
	}
	*updated = ddb_unmarshal_item(attrs, &cause);
	if (*updated == NULL) {
		model_marshal_error(err, "UnmarshalError", "item", cause ? cause : "unreadable");
		result = MODEL_ERROR;
	}
out:
	json_object_put(current);
	json_object_put(attrs);
	json_object_put(extra);
	json_object_put(names);
	json_object_put(values);
	json_object_put(key);
	json_object_put(now);
	buf_free(&expr);
	buf_free(&cond);
	return result;
}


/* One atomic UpdateItem; only a full history needs read, trim and a write
 * conditional on the version read (retried when the caller gave none). */
enum model_rc
metrics_update(struct ddb *ddb, const struct config *cfg, long id, json_object *changes,
    long expected_version, json_object **updated, struct ddb_error *err)
{
	enum model_rc rc;

	*updated = NULL;
	/* The common case is one UpdateItem that cannot lose a race. */
	rc = atomic_update(ddb, cfg->table_metrics, id, changes, expected_version, updated, err);
	if (rc != MODEL_HISTORY_FULL)
		return rc;
	/* A full history: read, drop the oldest point, write on the version read. */
	for (int attempt = 0; attempt < METRICS_UPDATE_ATTEMPTS; attempt++) {
		json_object *current = NULL, *set, *value, *history = NULL, *now;
		long read_version;

		rc = model_get_num(ddb, cfg->table_metrics, id, &current, err);
		if (rc != MODEL_OK)
			return rc;
		read_version = model_int(current, "version", 0);
		if (expected_version >= 0 && read_version != expected_version) {
			json_object_put(current);
			return MODEL_CONFLICT;
		}
		now = model_now();
		set = json_object_new_object();
		json_object_object_foreach(changes, field, change)
			json_object_object_add(set, field, json_object_get(change));
		if (json_object_object_get_ex(changes, "current_value", &value) && value != NULL) {
			json_object_object_get_ex(current, "history", &history);
			json_object_object_add(set, "history",
			    metrics_history_append(history, value, json_object_get_string(now)));
		}
		rc = conditional_set(ddb, cfg->table_metrics, id, set, read_version,
		    json_object_get_string(now), updated, err);
		json_object_put(set);
		json_object_put(now);
		json_object_put(current);
		/* A lost race: the next round re-reads (and reports a mismatch or absence). */
		if (rc != MODEL_CONFLICT)
			return rc;
		if (expected_version < 0 && attempt + 1 < METRICS_UPDATE_ATTEMPTS)
			sleep_ms(retry_delay_ms(attempt));
	}
	return MODEL_CONFLICT;
}

/* Deletes a metric that exists. */
enum model_rc
metrics_delete(struct ddb *ddb, const struct config *cfg, long id, struct ddb_error *err)
{
	return model_delete_num(ddb, cfg->table_metrics, id, err);
}

/* The boolean higher_is_better of a plain metric (default true). */
static bool
higher_is_better(json_object *plain)
{
	json_object *v;

	if (!json_object_object_get_ex(plain, "higher_is_better", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return true;
	return json_object_get_boolean(v);
}

/* The one progress formula for both directions, clamped and rounded. */
double
metrics_progress(json_object *plain)
{
	double baseline = model_double(plain, "baseline_value", 0);
	double current = model_double(plain, "current_value", baseline);
	double target = model_double(plain, "target_value", baseline);
	double p;

	if (target == baseline) {
		bool reached = higher_is_better(plain) ? current >= target : current <= target;
		return reached ? PROGRESS_MAX : 0;
	}
	p = (current - baseline) / (target - baseline) * PROGRESS_MAX;
	if (!isfinite(p) || p < 0)
		p = 0;
	if (p > PROGRESS_MAX)
		p = PROGRESS_MAX;
	return round1(p);
}

/* Shares every member of plain but history (unless asked) and adds progress. */
json_object *
metrics_item_view(json_object *plain, bool with_history)
{
	json_object *view = json_object_new_object();

	json_object_object_foreach(plain, field, value) {
		if (!with_history && strcmp(field, "history") == 0)
			continue;
		json_object_object_add(view, field, json_object_get(value));
	}
	json_object_object_add(view, "progress", json_round1(metrics_progress(plain)));
	return view;
}
