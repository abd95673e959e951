/* model_deliverables.c - the deliverables table. */
#include <string.h>

#include "cache.h"
#include "config.h"
#include "model_deliverables.h"

const char *const deliverable_statuses[] = {
	"NOT_STARTED", "IN_PROGRESS", "COMPLETED", "BLOCKED", NULL
};

/* With the cache on: the whole (cached) table, filtered here. */
static enum model_rc
filter_cached(struct ddb *ddb, const struct config *cfg, long month, const char *status,
    json_object **items, struct ddb_error *err)
{
	json_object *all;

	if (model_scan_sorted(ddb, cfg->table_deliverables, &all, err) != MODEL_OK)
		return MODEL_ERROR;
	*items = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		json_object *d = json_object_array_get_idx(all, i);
		const char *s = model_string(d, "status");

		if ((month > 0 && model_int(d, "month", 0) != month) ||
		    (status != NULL && (s == NULL || strcmp(s, status) != 0)))
			continue;
		json_object_array_add(*items, json_object_get(d));
	}
	json_object_put(all);
	model_sort_by(*items, "month");
	return MODEL_OK;
}

/* Query MonthIndex or Scan, with the status as a filter. */
enum model_rc
deliverables_list(struct ddb *ddb, const struct config *cfg, long month, const char *status,
    json_object **items, struct ddb_error *err)
{
	json_object *req = json_object_new_object(), *values = json_object_new_object();
	json_object *names = json_object_new_object(), *raw = NULL;
	int rc;

	*items = NULL;
	if (cache_enabled()) {
		json_object_put(req);
		json_object_put(values);
		json_object_put(names);
		return filter_cached(ddb, cfg, month, status, items, err);
	}
	json_object_object_add(req, "TableName", json_object_new_string(cfg->table_deliverables));
	if (month > 0) {
		json_object_object_add(req, "IndexName", json_object_new_string("MonthIndex"));
		json_object_object_add(req, "KeyConditionExpression", json_object_new_string("#month = :month"));
		json_object_object_add(names, "#month", json_object_new_string("month"));
		json_object_object_add(values, ":month", ddb_av_n_int(month));
	}
	if (status != NULL) {
		json_object_object_add(req, "FilterExpression", json_object_new_string("#status = :status"));
		json_object_object_add(names, "#status", json_object_new_string("status"));
		json_object_object_add(values, ":status", ddb_av_s(status));
	}
	if (json_object_object_length(names) > 0) {
		json_object_object_add(req, "ExpressionAttributeNames", json_object_get(names));
		json_object_object_add(req, "ExpressionAttributeValues", json_object_get(values));
	}
	rc = month > 0 ? ddb_query_all_plain(ddb, req, &raw, err) :
	    ddb_scan_all_plain(ddb, req, &raw, err);
	json_object_put(req);
	json_object_put(names);
	json_object_put(values);
	if (rc == -1)
		return MODEL_ERROR;
	*items = model_items_shown(raw);
	json_object_put(raw);
	model_sort_by(*items, "month");
	return MODEL_OK;
}

enum model_rc
deliverables_get(struct ddb *ddb, const struct config *cfg, long id, json_object **item,
    struct ddb_error *err)
{
	return model_get_num(ddb, cfg->table_deliverables, id, item, err);
}

/* Fills defaults and stores the new item. */
enum model_rc
deliverables_create(struct ddb *ddb, const struct config *cfg, json_object *item,
    json_object *earlier, struct ddb_error *err)
{
	json_object_object_add(item, "version", json_object_new_int64(1));
	json_object_object_add(item, "updated_at", model_now());
	return model_create(ddb, cfg->table_deliverables, item, earlier, err);
}

enum model_rc
deliverables_update(struct ddb *ddb, const struct config *cfg, long id, json_object *changes,
    long expected_version, json_object **updated, struct ddb_error *err)
{
	return model_update_num(ddb, cfg->table_deliverables, id, changes, expected_version,
	    NULL, updated, err);
}

enum model_rc
deliverables_delete(struct ddb *ddb, const struct config *cfg, long id, long expected_version,
    struct ddb_error *err)
{
	return model_delete_num(ddb, cfg->table_deliverables, id, expected_version, err);
}
