/* handler_digest.c - GET /api/digest?days=N: a markdown summary of the last
 * N days, written by the LLM when one is configured, else built in; POST
 * /api/digest/publish?days=N: the same digest posted to the feed. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "user.h"
#include "config.h"
#include "digest.h"
#include "digest_publish.h"
#include "handlers.h"
#include "model_dashboard.h"

/* Reads days from the query; 400 naming the parameter otherwise. */
static int
days_or_reply(struct request *req, struct response *res, long *days)
{
	static const char *const params[] = { "days", NULL };

	if (query_known_or_reply(req, res, params) == -1)
		return -1;
	if (req->nquery > 1) {
		response_error(res, 400, "validation_error", "days: given more than once");
		return -1;
	}
	if (digest_parse_days(request_query(req, "days"), days) == -1) {
		response_error(res, 400, "validation_error", "days: must be an integer between %d and %d",
		    DIGEST_DAYS_MIN, DIGEST_DAYS_MAX);
		return -1;
	}
	return 0;
}

/* GET /api/digest */
void
handle_digest(struct request *req, struct response *res)
{
	struct dashboard_data loaded;
	struct digest_result result;
	struct ddb_error err;
	json_object *data, *root, *period, *updates;
	char from[21], to[21], generated[21];
	time_t now;
	long days;

	if (days_or_reply(req, res, &days) == -1)
		return;
	if (dashboard_load(req->app->ddb, req->app->cfg, &loaded, &err) != MODEL_OK) {
		reply_store_error(res, &err);
		return;
	}
	now = time(NULL);
	updates = digest_publish_source_updates(loaded.updates);
	data = digest_period_data(loaded.deliverables, loaded.metrics, updates, now, days);
	json_object_put(updates);
	digest_generate(req->app->cfg, data, req->deadline_ms, &result);

	/* The period is always the current one, even when the text is cached. */
	time_rfc3339(now - (time_t)days * DIGEST_DAY_SECONDS, from);
	time_rfc3339(now, to);
	time_rfc3339(result.generated_at, generated);
	root = json_object_new_object();
	period = json_object_new_object();
	json_object_object_add(period, "from", json_object_new_string(from));
	json_object_object_add(period, "to", json_object_new_string(to));
	json_object_object_add(root, "digest", json_object_new_string(result.markdown));
	json_object_object_add(root, "source", json_object_new_string(result.source));
	json_object_object_add(root, "period", period);
	json_object_object_add(root, "days", json_object_new_int64(days));
	json_object_object_add(root, "generated_at", json_object_new_string(generated));
	digest_result_free(&result);
	json_object_put(data);
	dashboard_data_free(&loaded);
	response_json(res, 200, root);
}

/* POST /api/digest/publish (team): 201 with the update posted, or 200 with
 * the one already posted for these days in this UTC hour. */
void
handle_digest_publish(struct request *req, struct response *res)
{
	struct digest_publish_author author;
	struct ddb_error err;
	json_object *update;
	char *location;
	bool posted;
	long days;

	if (days_or_reply(req, res, &days) == -1)
		return;
	if (req->user == NULL || req->user->id == NULL) {
		response_error(res, 401, "unauthorized", "authentication required");
		return;
	}
	author = (struct digest_publish_author){ .id = req->user->id, .name = req->user->name,
	    .email = req->user->email };
	if (digest_publish_run(req->app->ddb, req->app->cfg, days, &author, time(NULL),
	    req->deadline_ms, &update, &posted, &err) != MODEL_OK) {
		reply_store_error(res, &err);
		return;
	}
	if (posted) {
		location = xasprintf("/api/updates/%s", model_string(update, "id"));
		response_set_header(res, "Location", location);
		free(location);
	}
	response_json(res, posted ? 201 : 200, updates_item_view(update, req->user->id));
	json_object_put(update);
}
