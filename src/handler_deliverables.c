/* handler_deliverables.c - /api/deliverables routes (SPEC §5). */
#include <string.h>

#include "app.h"
#include "config.h"
#include "handlers.h"
#include "model_deliverables.h"

#define NAME_MAX_LEN		200
#define DESCRIPTION_MAX_LEN	5000
#define OWNER_MAX_LEN		200
#define MONTH_MAX		120

static const char *const create_fields[] = {
	"id", "name", "description", "month", "status", "completion_percentage", "due_date",
	"owner", NULL
};
static const char *const update_fields[] = {
	"name", "description", "month", "status", "completion_percentage", "due_date",
	"owner", NULL
};

/* Validates the fields of a create or a patch and copies them into out. */
static int
validate_fields_or_reply(struct response *res, json_object *body, bool creating, json_object *out)
{
	const char *name, *description, *status, *due_date, *owner;
	long month, id;
	bool has_month, has_id;
	json_object *pct;

	if (field_string_or_reply(res, body, "name", NAME_MAX_LEN, creating, &name) == -1 ||
	    field_string_or_reply(res, body, "description", DESCRIPTION_MAX_LEN, false, &description) == -1 ||
	    field_int_or_reply(res, body, "month", 1, MONTH_MAX, creating, &month, &has_month) == -1 ||
	    field_enum_or_reply(res, body, "status", deliverable_statuses, false, &status) == -1 ||
	    field_number_or_reply(res, body, "completion_percentage", false, &pct) == -1 ||
	    field_date_or_reply(res, body, "due_date", false, &due_date) == -1 ||
	    field_string_or_reply(res, body, "owner", OWNER_MAX_LEN, false, &owner) == -1)
		return -1;
	if (creating) {
		if (field_int_or_reply(res, body, "id", 1, ID_MAX, false, &id, &has_id) == -1)
			return -1;
		if (has_id)
			json_object_object_add(out, "id", json_object_new_int64(id));
	}
	if (pct != NULL) {
		double v = json_object_get_double(pct);
		if (v < 0 || v > 100) {
			response_error(res, 400, "validation_error", "completion_percentage: must be between 0 and 100");
			return -1;
		}
		json_object_object_add(out, "completion_percentage", json_object_get(pct));
	}
	if (name != NULL)
		json_object_object_add(out, "name", json_object_new_string(name));
	if (description != NULL)
		json_object_object_add(out, "description", json_object_new_string(description));
	if (has_month)
		json_object_object_add(out, "month", json_object_new_int64(month));
	if (status != NULL)
		json_object_object_add(out, "status", json_object_new_string(status));
	if (due_date != NULL)
		json_object_object_add(out, "due_date", json_object_new_string(due_date));
	if (owner != NULL)
		json_object_object_add(out, "owner", json_object_new_string(owner));
	/* Completing without a percentage means 100 %. */
	if (status != NULL && strcmp(status, "COMPLETED") == 0 && pct == NULL)
		json_object_object_add(out, "completion_percentage", json_object_new_int64(100));
	return 0;
}

static const char *const list_params[] = { "month", "status", NULL };

/* GET /api/deliverables?month=&status= */
void
handle_deliverables_list(struct request *req, struct response *res)
{
	const char *month_s = request_query(req, "month"), *status = request_query(req, "status");
	struct ddb_error err;
	json_object *items, *root;
	long month = 0;

	if (query_known_or_reply(req, res, list_params) == -1)
		return;
	if (month_s != NULL && parse_long(month_s, 1, MONTH_MAX, &month) == -1) {
		response_error(res, 400, "validation_error", "month: must be an integer between 1 and %d", MONTH_MAX);
		return;
	}
	if (status != NULL && value_one_of_or_reply(res, "status", status, deliverable_statuses) == -1)
		return;
	if (deliverables_list(req->app->ddb, req->app->cfg, month, status, &items, &err) != MODEL_OK) {
		reply_store_error(res, &err);
		return;
	}
	root = json_object_new_object();
	json_object_object_add(root, "count", json_object_new_int64((int64_t)json_object_array_length(items)));
	json_object_object_add(root, "items", items);
	response_json(res, 200, root);
}

/* GET /api/deliverables/{id} */
void
handle_deliverables_get(struct request *req, struct response *res)
{
	struct ddb_error err;
	enum model_rc rc;
	json_object *item;
	long id;

	if (param_id_or_reply(req, res, 0, &id) == -1)
		return;
	switch ((rc = deliverables_get(req->app->ddb, req->app->cfg, id, &item, &err))) {
	case MODEL_OK:
		set_etag(res, item);
		response_json(res, 200, item);
		break;
	default:
		reply_model_error(res, rc, &err, "deliverable", id);
	}
}

/* POST /api/deliverables (admin) */
void
handle_deliverables_create(struct request *req, struct response *res)
{
	json_object *item = json_object_new_object();
	struct ddb_error err;
	enum model_rc rc;

	if (fields_known_or_reply(res, req->json, create_fields) == -1 ||
	    validate_fields_or_reply(res, req->json, true, item) == -1) {
		json_object_put(item);
		return;
	}
	if (!json_object_object_get_ex(item, "status", NULL))
		json_object_object_add(item, "status", json_object_new_string("NOT_STARTED"));
	if (!json_object_object_get_ex(item, "completion_percentage", NULL))
		json_object_object_add(item, "completion_percentage", json_object_new_int64(0));
	rc = deliverables_create(req->app->ddb, req->app->cfg, item, create_earlier(req), &err);
	reply_created_num(req, res, rc, item, "/api/deliverables", "deliverable", NULL, &err);
}

/* Validation of a PATCH body's fields. */
static int
validate_patch_or_reply(struct response *res, json_object *body, json_object *changes)
{
	return validate_fields_or_reply(res, body, false, changes);
}

/* PATCH /api/deliverables/{id} (team) */
void
handle_deliverables_update(struct request *req, struct response *res)
{
	static const struct patch_ops ops = {
		.what = "deliverable",
		.fields = update_fields,
		.validate = validate_patch_or_reply,
		.update = deliverables_update,
		.view = NULL,
	};

	handle_versioned_patch(req, res, &ops);
}

/* DELETE /api/deliverables/{id} (admin) */
void
handle_deliverables_delete(struct request *req, struct response *res)
{
	handle_numeric_delete(req, res, "deliverable", deliverables_delete);
}
