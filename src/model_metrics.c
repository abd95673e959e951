/* model_metrics.c - the metrics table: progress, capped history, and updates
 * as a read-modify-write conditional on the version read (no lost update,
 * no update applied twice). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
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
    json_object *earlier, struct ddb_error *err)
{
	json_object *now = model_now(), *current = NULL;

	if (!json_object_object_get_ex(item, "current_value", &current) || current == NULL)
		json_object_object_get_ex(item, "baseline_value", &current);
	json_object_object_add(item, "history",
	    metrics_history_append(NULL, current, json_object_get_string(now)));
	json_object_object_add(item, "version", json_object_new_int64(1));
	json_object_object_add(item, "updated_at", now);
	return model_create(ddb, cfg->table_metrics, item, earlier, err);
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

/* What a PATCH sets: the changes, and the history with a new current_value
 * appended (oldest dropped past the cap). */
static json_object *
metrics_set(json_object *current, json_object *changes, const char *now)
{
	json_object *set = json_object_new_object(), *value, *history = NULL;

	json_object_object_foreach(changes, field, change)
		json_object_object_add(set, field, json_object_get(change));
	if (json_object_object_get_ex(changes, "current_value", &value) && value != NULL) {
		json_object_object_get_ex(current, "history", &history);
		json_object_object_add(set, "history", metrics_history_append(history, value, now));
	}
	return set;
}

/* Read-modify-write conditional on the version read. */
enum model_rc
metrics_update(struct ddb *ddb, const struct config *cfg, long id, json_object *changes,
    long expected_version, json_object **updated, struct ddb_error *err)
{
	return model_update_num(ddb, cfg->table_metrics, id, changes, expected_version,
	    metrics_set, updated, err);
}

/* Deletes a metric that exists. */
enum model_rc
metrics_delete(struct ddb *ddb, const struct config *cfg, long id, long expected_version,
    struct ddb_error *err)
{
	return model_delete_num(ddb, cfg->table_metrics, id, expected_version, err);
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
