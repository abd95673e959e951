/* handler_health.c - GET /api/health: liveness plus a store check. */
#include "app.h"
#include "config.h"
#include "handlers.h"
#include "log.h"
#include "model.h"

#ifndef PORTAL_VERSION
#define PORTAL_VERSION "0.0.0"
#endif
/* GET /api/health */
void
handle_health(struct request *req, struct response *res)
{
	json_object *root = json_object_new_object();
	struct ddb_error err;
	bool ok = model_store_check(req->app->ddb, req->app->cfg, &err) == 0;

	json_object_object_add(root, "status", json_object_new_string(ok ? "ok" : "degraded"));
	json_object_object_add(root, "version", json_object_new_string(PORTAL_VERSION));
	json_object_object_add(root, "dynamodb", json_object_new_string(ok ? "ok" : "unavailable"));
	if (!ok) {
		log_warn("health: store check failed", LOG_S("code", err.code), LOG_S("detail", err.message));
		response_set_header(res, "Retry-After", HTTP_RETRY_AFTER_STORE_S);
	}
	response_json(res, ok ? 200 : 503, root);
}
