/* model_dashboard.c - parallel reads of the three content tables. */
#include <string.h>

#include "cache.h"
#include "config.h"
#include "model_dashboard.h"

enum { OP_DELIVERABLES, OP_METRICS, OP_UPDATES, OP_COUNT };

#define DASHBOARD_CACHE_KEY	"dashboard"

/* The Items of a plain response (and any further pages) as the API shows them. */
static enum model_rc
collect(struct ddb *ddb, struct ddb_op *op, json_object **out, struct ddb_error *err)
{
	json_object *items = NULL, *last, *raw = NULL;

	*out = NULL;
	if (json_object_object_get_ex(op->response, "LastEvaluatedKey", &last)) {
		/* Larger than one page: read the rest page by page. */
		int rc = strcmp(op->op, "Query") == 0 ?
		    ddb_query_all_plain(ddb, op->request, &raw, err) :
		    ddb_scan_all_plain(ddb, op->request, &raw, err);
		if (rc == -1)
			return MODEL_ERROR;
		items = raw;
	} else if (!json_object_object_get_ex(op->response, "Items", &items) ||
	    !json_object_is_type(items, json_type_array))
		items = NULL;
	*out = model_items_shown(items);
	json_object_put(raw);
	return MODEL_OK;
}

/* A Scan request of a whole table. */
static json_object *
scan_request(const char *table)
{
	json_object *req = json_object_new_object();

	json_object_object_add(req, "TableName", json_object_new_string(table));
	return req;
}

enum model_rc
dashboard_load(struct ddb *ddb, const struct config *cfg, struct dashboard_data *out,
    struct ddb_error *err)
{
	struct ddb_op ops[OP_COUNT];
	json_object *feed, *values, *cached;
	enum model_rc rc = MODEL_OK;
	uint64_t token;

	memset(out, 0, sizeof *out);
	if ((cached = cache_get(DASHBOARD_CACHE_KEY, &token)) != NULL) {
		out->deliverables = json_object_get(json_object_object_get(cached, "deliverables"));
		out->metrics = json_object_get(json_object_object_get(cached, "metrics"));
		out->updates = json_object_get(json_object_object_get(cached, "updates"));
		json_object_put(cached);
		return MODEL_OK;
	}
	memset(ops, 0, sizeof ops);
	ops[OP_DELIVERABLES].op = "Scan";
	ops[OP_DELIVERABLES].request = scan_request(cfg->table_deliverables);
	ops[OP_METRICS].op = "Scan";
	ops[OP_METRICS].request = scan_request(cfg->table_metrics);
	feed = json_object_new_object();
	values = json_object_new_object();
	json_object_object_add(values, ":feed", ddb_av_s("all"));
	json_object_object_add(feed, "TableName", json_object_new_string(cfg->table_updates));
	json_object_object_add(feed, "IndexName", json_object_new_string("FeedIndex"));
	json_object_object_add(feed, "KeyConditionExpression", json_object_new_string("feed = :feed"));
	json_object_object_add(feed, "ExpressionAttributeValues", values);
	json_object_object_add(feed, "ScanIndexForward", json_object_new_boolean(0));
	ops[OP_UPDATES].op = "Query";
	ops[OP_UPDATES].request = feed;
	for (size_t i = 0; i < OP_COUNT; i++)
		ops[i].plain = true;

	if (ddb_call_parallel(ddb, ops, OP_COUNT) == -1) {
		for (size_t i = 0; i < OP_COUNT; i++)
			if (ops[i].rc == -1) {
				*err = ops[i].err;
				break;
			}
		rc = MODEL_ERROR;
		goto out;
	}
	if (collect(ddb, &ops[OP_DELIVERABLES], &out->deliverables, err) != MODEL_OK ||
	    collect(ddb, &ops[OP_METRICS], &out->metrics, err) != MODEL_OK ||
	    collect(ddb, &ops[OP_UPDATES], &out->updates, err) != MODEL_OK) {
		rc = MODEL_ERROR;
		goto out;
	}
	model_sort_by(out->deliverables, "month");
	model_sort_by(out->metrics, "id");
	if (cache_enabled()) {
		cached = json_object_new_object();
		json_object_object_add(cached, "deliverables", json_object_get(out->deliverables));
		json_object_object_add(cached, "metrics", json_object_get(out->metrics));
		json_object_object_add(cached, "updates", json_object_get(out->updates));
		cache_put(DASHBOARD_CACHE_KEY, token, cached);
		json_object_put(cached);
	}
out:
	for (size_t i = 0; i < OP_COUNT; i++) {
		json_object_put(ops[i].request);
		json_object_put(ops[i].response);
	}
	if (rc != MODEL_OK)
		dashboard_data_free(out);
	return rc;
}

void
dashboard_data_free(struct dashboard_data *data)
{
	if (data == NULL)
		return;
	json_object_put(data->deliverables);
	json_object_put(data->metrics);
	json_object_put(data->updates);
	memset(data, 0, sizeof *data);
}
