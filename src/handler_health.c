/* handler_health.c - GET /api/health: liveness plus a store check. */
#include <stdatomic.h>

#include "app.h"
#include "config.h"
#include "ddb.h"
#include "handlers.h"
#include "log.h"

#ifndef PORTAL_VERSION
#define PORTAL_VERSION "0.0.0"
#endif
/* A healthy store answer is reused this long by every thread of the process,
 * so that load balancers polling /api/health do not load the store. */
#define HEALTH_CACHE_MS	1000

static _Atomic int64_t healthy_until_ms;

/* One DescribeTable proves the endpoint, the credentials and the table. */
static int
store_check(struct request *req, struct ddb_error *err)
{
	json_object *description = NULL;
	int64_t now = mono_ms();
	int rc;

	if (now < healthy_until_ms)
		return 0;
	rc = ddb_describe_table(req->app->ddb, req->app->cfg->table_deliverables, &description, err);
	json_object_put(description);
	if (rc == 0)
		healthy_until_ms = now + HEALTH_CACHE_MS;
	return rc;
}

void
handle_health(struct request *req, struct response *res)
{
	json_object *root = json_object_new_object();
	struct ddb_error err;
	bool ok = store_check(req, &err) == 0;

	json_object_object_add(root, "status", json_object_new_string(ok ? "ok" : "degraded"));
	json_object_object_add(root, "version", json_object_new_string(PORTAL_VERSION));
	json_object_object_add(root, "dynamodb", json_object_new_string(ok ? "ok" : "unavailable"));
	if (!ok) {
		log_warn("health: store check failed", LOG_S("code", err.code), LOG_S("detail", err.message));
		response_set_header(res, "Retry-After", "1");
	}
	response_json(res, ok ? 200 : 503, root);
}
