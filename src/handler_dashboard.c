/* handler_dashboard.c - GET /api/dashboard: every figure from three reads
 * issued in parallel (deliverables, metrics, the updates feed). */
#include <string.h>

#include "app.h"
#include "user.h"
#include "config.h"
#include "handlers.h"
#include "model_dashboard.h"
#include "model_metrics.h"
#include "model_updates.h"

#define RECENT_UPDATES	5

/* {"NOT_STARTED":n,...} with every status present, plus per-month figures. */
static json_object *
deliverables_summary(json_object *deliverables, double *overall)
{
	static const char *const statuses[] = { "NOT_STARTED", "IN_PROGRESS", "COMPLETED", "BLOCKED" };
	json_object *root = json_object_new_object(), *by_status = json_object_new_object();
	json_object *by_month = json_object_new_array();
	size_t n = json_object_array_length(deliverables);
	long counts[4] = { 0 };
	double total_pct = 0;

	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(deliverables, i);
		const char *status = model_string(d, "status");

		total_pct += model_double(d, "completion_percentage", 0);
		for (size_t k = 0; k < 4; k++)
			if (status != NULL && strcmp(status, statuses[k]) == 0)
				counts[k]++;
	}
	/* Items arrive sorted by month: one pass groups them. */
	for (size_t i = 0; i < n;) {
		long month = model_int(json_object_array_get_idx(deliverables, i), "month", 0);
		long total = 0, completed = 0;
		double pct = 0;
		json_object *entry = json_object_new_object();

		for (; i < n && model_int(json_object_array_get_idx(deliverables, i), "month", 0) == month; i++) {
			json_object *d = json_object_array_get_idx(deliverables, i);
			const char *status = model_string(d, "status");

			total++;
			pct += model_double(d, "completion_percentage", 0);
			if (status != NULL && strcmp(status, "COMPLETED") == 0)
				completed++;
		}
		json_object_object_add(entry, "month", json_object_new_int64(month));
		json_object_object_add(entry, "total", json_object_new_int64(total));
		json_object_object_add(entry, "completed", json_object_new_int64(completed));
		json_object_object_add(entry, "progress", json_round1(total ? pct / (double)total : 0));
		json_object_array_add(by_month, entry);
	}
	for (size_t k = 0; k < 4; k++)
		json_object_object_add(by_status, statuses[k], json_object_new_int64(counts[k]));
	json_object_object_add(root, "total", json_object_new_int64((int64_t)n));
	json_object_object_add(root, "by_status", by_status);
	json_object_object_add(root, "by_month", by_month);
	*overall = n ? total_pct / (double)n : 0;
	return root;
}

void
handle_dashboard(struct request *req, struct response *res)
{
	struct dashboard_data data;
	struct ddb_error err;
	json_object *root, *metrics, *recent, *summary;
	const char *me = req->user->id;
	char when[21];
	double overall;
	size_t n;

	if (dashboard_load(req->app->ddb, req->app->cfg, &data, &err) != MODEL_OK) {
		reply_store_error(res, &err);
		return;
	}
	root = json_object_new_object();
	summary = deliverables_summary(data.deliverables, &overall);
	json_object_object_add(root, "overall_progress", json_round1(overall));
	json_object_object_add(root, "deliverables", summary);
	metrics = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(data.metrics); i++)
		json_object_array_add(metrics, metrics_item_view(json_object_array_get_idx(data.metrics, i), false));
	json_object_object_add(root, "metrics", metrics);
	recent = json_object_new_array();
	n = json_object_array_length(data.updates);
	for (size_t i = 0; i < n && i < RECENT_UPDATES; i++)
		json_object_array_add(recent, updates_item_view(json_object_array_get_idx(data.updates, i), me));
	json_object_object_add(root, "recent_updates", recent);
	json_object_object_add(root, "unread_updates",
	    json_object_new_int64((int64_t)updates_count_unread(data.updates, me)));
	time_rfc3339(time(NULL), when);
	json_object_object_add(root, "generated_at", json_object_new_string(when));
	dashboard_data_free(&data);
	response_json(res, 200, root);
}
