/* handler_metrics.c - /api/metrics routes (SPEC §5). */
#include <string.h>

#include "app.h"
#include "config.h"
#include "handlers.h"
#include "model_metrics.h"

#define NAME_MAX_LEN		200
#define DESCRIPTION_MAX_LEN	5000
#define UNIT_MAX_LEN		50

static const char *const create_fields[] = {
	"id", "name", "description", "unit", "baseline_value", "current_value", "target_value",
	"higher_is_better", NULL
};
static const char *const update_fields[] = {
	"name", "description", "unit", "baseline_value", "current_value", "target_value", NULL
};
static const char *const number_fields[] = {
	"baseline_value", "current_value", "target_value", NULL
};

/* Validates the fields of a create or a patch and copies them into out
 * (numbers as the body's own objects, so their text is kept). */
static int
validate_fields_or_reply(struct response *res, json_object *body, bool creating, json_object *out)
{
	const char *name, *description, *unit;
	json_object *number;

	if (field_string_or_reply(res, body, "name", NAME_MAX_LEN, creating, &name) == -1 ||
	    field_string_or_reply(res, body, "description", DESCRIPTION_MAX_LEN, false, &description) == -1 ||
	    field_string_or_reply(res, body, "unit", UNIT_MAX_LEN, creating, &unit) == -1)
		return -1;
	if (name != NULL)
		json_object_object_add(out, "name", json_object_new_string(name));
	if (description != NULL)
		json_object_object_add(out, "description", json_object_new_string(description));
	if (unit != NULL)
		json_object_object_add(out, "unit", json_object_new_string(unit));
	for (const char *const *f = number_fields; *f; f++) {
		bool required = creating && strcmp(*f, "current_value") != 0;

		if (field_number_or_reply(res, body, *f, required, &number) == -1)
			return -1;
		if (number != NULL)
			json_object_object_add(out, *f, json_object_get(number));
	}
	return 0;
}

/* The optional id of a create, first in out; 400 and -1 when bad. */
static int
validate_id_or_reply(struct response *res, json_object *body, json_object *out)
{
	bool has_id;
	long id;

	if (field_int_or_reply(res, body, "id", 1, ID_MAX, false, &id, &has_id) == -1)
		return -1;
	if (has_id)
		json_object_object_add(out, "id", json_object_new_int64(id));
	return 0;
}

/* The create-only higher_is_better (default true), and current_value
 * defaulting to the baseline. */
static int
validate_create_extras_or_reply(struct response *res, json_object *body, json_object *out)
{
	json_object *hib, *current;

	if (json_object_object_get_ex(body, "higher_is_better", &hib)) {
		if (!json_object_is_type(hib, json_type_boolean)) {
			response_error(res, 400, "validation_error", "higher_is_better: must be true or false");
			return -1;
		}
		json_object_object_add(out, "higher_is_better", json_object_new_boolean(json_object_get_boolean(hib)));
	} else {
		json_object_object_add(out, "higher_is_better", json_object_new_boolean(1));
	}
	if (!json_object_object_get_ex(out, "current_value", &current)) {
		json_object_object_get_ex(out, "baseline_value", &current);
		json_object_object_add(out, "current_value", json_object_get(current));
	}
	return 0;
}

/* GET /api/metrics */
void
handle_metrics_list(struct request *req, struct response *res)
{
	struct ddb_error err;
	json_object *items, *views, *root;

	static const char *const no_params[] = { NULL };

	if (query_known_or_reply(req, res, no_params) == -1)
		return;
	if (metrics_list(req->app->ddb, req->app->cfg, &items, &err) != MODEL_OK) {
		reply_store_error(res, &err);
		return;
	}
	views = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(items); i++)
		json_object_array_add(views, metrics_item_view(json_object_array_get_idx(items, i), false));
	root = json_object_new_object();
	json_object_object_add(root, "items", views);
	response_json(res, 200, root);
	json_object_put(items);
}

/* GET /api/metrics/{id} */
void
handle_metrics_get(struct request *req, struct response *res)
{
	struct ddb_error err;
	enum model_rc rc;
	json_object *item;
	long id;

	if (param_id_or_reply(req, res, 0, &id) == -1)
		return;
	switch ((rc = metrics_get(req->app->ddb, req->app->cfg, id, &item, &err))) {
	case MODEL_OK:
		set_etag(res, item);
		response_json(res, 200, metrics_item_view(item, true));
		json_object_put(item);
		break;
	default:
		reply_model_error(res, rc, &err, "metric", id);
	}
}

/* The answer to a create or a PATCH: the metric with its history and progress. */
static json_object *
full_view(json_object *item)
{
	return metrics_item_view(item, true);
}

/* POST /api/metrics (admin) */
void
handle_metrics_create(struct request *req, struct response *res)
{
	json_object *item = json_object_new_object();
	struct ddb_error err;
	enum model_rc rc;

	if (fields_known_or_reply(res, req->json, create_fields) == -1 ||
	    validate_id_or_reply(res, req->json, item) == -1 ||
	    validate_fields_or_reply(res, req->json, true, item) == -1 ||
	    validate_create_extras_or_reply(res, req->json, item) == -1) {
		json_object_put(item);
		return;
	}
	rc = metrics_create(req->app->ddb, req->app->cfg, item, create_earlier(req), &err);
	reply_created_num(req, res, rc, item, "/api/metrics", "metric", full_view, &err);
}

/* Validation of a PATCH body's fields. */
static int
validate_patch_or_reply(struct response *res, json_object *body, json_object *changes)
{
	return validate_fields_or_reply(res, body, false, changes);
}

/* PATCH /api/metrics/{id} (team) */
void
handle_metrics_update(struct request *req, struct response *res)
{
	static const struct patch_ops ops = {
		.what = "metric",
		.fields = update_fields,
		.validate = validate_patch_or_reply,
		.update = metrics_update,
		.view = full_view,
	};

	handle_versioned_patch(req, res, &ops);
}

/* DELETE /api/metrics/{id} (admin) */
void
handle_metrics_delete(struct request *req, struct response *res)
{
	handle_numeric_delete(req, res, "metric", metrics_delete);
}
