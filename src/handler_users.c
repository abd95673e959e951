/* handler_users.c - /api/users routes (SPEC §5). */
#include <string.h>

#include "app.h"
#include "ddb.h"
#include "handlers.h"
#include "model_users.h"
#include "user.h"

#define USER_ID_MAX_LEN	256

static const char *const update_fields[] = { "role", NULL };

/* GET /api/users/me */
void
handle_users_me(struct request *req, struct response *res)
{
	struct ddb_error err;
	struct user *stored = NULL;

	/* The stored profile (with created_at); the cached one when the read fails over. */
	if (users_get(req->app->ddb, req->app->cfg, req->user->id, &stored, &err) != MODEL_OK) {
		reply_store_error(res, &err);
		return;
	}
	response_json(res, 200, users_to_json(stored != NULL ? stored : req->user));
	user_free(stored);
}

/* GET /api/users (admin) */
void
handle_users_list(struct request *req, struct response *res)
{
	struct ddb_error err;
	json_object *items, *root;

	if (users_list(req->app->ddb, req->app->cfg, &items, &err) != MODEL_OK) {
		reply_store_error(res, &err);
		return;
	}
	root = json_object_new_object();
	json_object_object_add(root, "items", items);
	response_json(res, 200, root);
}

/* PATCH /api/users/{id} {role} (admin) */
void
handle_users_update(struct request *req, struct response *res)
{
	const char *id = req->params[0], *role;
	struct ddb_error err;
	json_object *updated = NULL;

	if (strlen(id) > USER_ID_MAX_LEN) {
		response_error(res, 400, "validation_error", "id: must be at most %d characters", USER_ID_MAX_LEN);
		return;
	}
	if (fields_known_or_reply(res, req->json, update_fields) == -1 ||
	    patch_body_or_reply(res, req->json, update_fields) == -1 ||
	    field_enum_or_reply(res, req->json, "role", user_role_names, true, &role) == -1)
		return;
	switch (users_set_role(req->app->ddb, req->app->cfg, id, user_role_parse(role), &updated, &err)) {
	case MODEL_OK:
		break;
	case MODEL_NOT_FOUND:
		response_error(res, 404, "not_found", "user %s not found", id);
		return;
	default:
		reply_store_error(res, &err);
		return;
	}
	response_json(res, 200, updated);
}
