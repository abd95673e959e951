/* handler_updates.c - /api/updates routes (SPEC §5): the feed, posts, read
 * receipts. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "user.h"
#include "config.h"
#include "handlers.h"
#include "model_deliverables.h"
#include "model_updates.h"


static const char *const create_fields[] = {
	"title", "body", "type", "deliverable_id", NULL
};

/* The caller's id (borrowed), or NULL. */
static const char *
caller_id(const struct request *req)
{
	return req->user != NULL ? req->user->id : NULL;
}

/* The {id} path parameter as a valid update id; 400 and -1 otherwise. */
static int
param_update_id_or_reply(struct request *req, struct response *res, const char **out)
{
	const char *s = req->nparams > 0 ? req->params[0] : NULL;

	if (!updates_id_valid(s)) {
		response_error(res, 400, "validation_error",
		    "id: must be 1-%d characters of A-Z a-z 0-9 _ . : -", UPDATES_ID_MAX);
		return -1;
	}
	*out = s;
	return 0;
}

/* Reads limit and cursor from the query; 400 naming the parameter otherwise.
 * *start_key is the decoded cursor or NULL (caller owns). */
static int
list_query_or_reply(struct request *req, struct response *res, long *limit, json_object **start_key)
{
	const char *limit_s = request_query(req, "limit"), *cursor = request_query(req, "cursor");

	*limit = UPDATES_LIMIT_DEFAULT;
	*start_key = NULL;
	static const char *const params[] = { "limit", "cursor", NULL };

	if (query_known_or_reply(req, res, params) == -1)
		return -1;
	if (limit_s != NULL && (!isdigit((unsigned char)limit_s[0]) ||
	    parse_long(limit_s, 1, UPDATES_LIMIT_MAX, limit) == -1)) {
		response_error(res, 400, "validation_error", "limit: must be an integer between 1 and %d",
		    UPDATES_LIMIT_MAX);
		return -1;
	}
	if (cursor != NULL && updates_cursor_decode(cursor, start_key) == -1) {
		response_error(res, 400, "validation_error", "cursor: invalid");
		return -1;
	}
	return 0;
}

/* GET /api/updates?limit=&cursor= */
void
handle_updates_list(struct request *req, struct response *res)
{
	json_object *start_key, *items, *next_key, *views, *root;
	struct ddb_error err;
	long limit;

	if (list_query_or_reply(req, res, &limit, &start_key) == -1)
		return;
	if (updates_list(req->app->ddb, req->app->cfg, limit, start_key, &items, &next_key, &err) != MODEL_OK) {
		json_object_put(start_key);
		reply_store_error(res, &err);
		return;
	}
	views = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(items); i++)
		json_object_array_add(views, updates_item_view(json_object_array_get_idx(items, i), caller_id(req)));
	root = json_object_new_object();
	json_object_object_add(root, "items", views);
	if (next_key != NULL) {
		char *cursor = updates_cursor_encode(next_key);

		json_object_object_add(root, "next_cursor", json_object_new_string(cursor));
		free(cursor);
	} else {
		json_object_object_add(root, "next_cursor", NULL);
	}
	response_json(res, 200, root);
	json_object_put(items);
	json_object_put(next_key);
	json_object_put(start_key);
}

/* GET /api/updates/{id} */
void
handle_updates_get(struct request *req, struct response *res)
{
	struct ddb_error err;
	json_object *item;
	const char *id;

	if (param_update_id_or_reply(req, res, &id) == -1)
		return;
	switch (updates_get(req->app->ddb, req->app->cfg, id, &item, &err)) {
	case MODEL_OK:
		set_etag(res, item);
		response_json(res, 200, updates_item_view(item, caller_id(req)));
		json_object_put(item);
		break;
	case MODEL_NOT_FOUND:
		response_error(res, 404, "not_found", "update %s not found", id);
		break;
	default:
		reply_store_error(res, &err);
	}
}

/* The embedded author {id, name, email} of the caller, without null members. */
static json_object *
author_of(const struct user *user)
{
	json_object *author = json_object_new_object();

	json_object_object_add(author, "id", json_object_new_string(user->id));
	if (user->name != NULL)
		json_object_object_add(author, "name", json_object_new_string(user->name));
	if (user->email != NULL)
		json_object_object_add(author, "email", json_object_new_string(user->email));
	return author;
}

/* Validates a new update's fields into item; a deliverable_id must name an
 * existing deliverable. Answers and returns -1 on a bad field or store failure. */
static int
validate_create_or_reply(struct request *req, struct response *res, json_object *item)
{
	const char *title, *body, *type;
	struct ddb_error err;
	json_object *deliverable;
	bool has_deliverable;
	long deliverable_id;

	if (fields_known_or_reply(res, req->json, create_fields) == -1 ||
	    field_string_or_reply(res, req->json, "title", UPDATES_TITLE_MAX, true, &title) == -1 ||
	    field_string_or_reply(res, req->json, "body", UPDATES_BODY_MAX, true, &body) == -1 ||
	    field_enum_or_reply(res, req->json, "type", updates_types, true, &type) == -1 ||
	    field_int_or_reply(res, req->json, "deliverable_id", 1, ID_MAX, false,
	    &deliverable_id, &has_deliverable) == -1)
		return -1;
	if (has_deliverable) {
		switch (deliverables_get(req->app->ddb, req->app->cfg, deliverable_id, &deliverable, &err)) {
		case MODEL_OK:
			json_object_put(deliverable);
			break;
		case MODEL_NOT_FOUND:
			response_error(res, 400, "validation_error", "deliverable_id: no such deliverable");
			return -1;
		default:
			reply_store_error(res, &err);
			return -1;
		}
		json_object_object_add(item, "deliverable_id", json_object_new_int64(deliverable_id));
	}
	json_object_object_add(item, "title", json_object_new_string(title));
	json_object_object_add(item, "body", json_object_new_string(body));
	json_object_object_add(item, "type", json_object_new_string(type));
	return 0;
}

/* POST /api/updates (team) */
void
handle_updates_create(struct request *req, struct response *res)
{
	json_object *item = json_object_new_object();
	struct ddb_error err;
	char *location;
	enum model_rc rc;

	if (req->user == NULL || req->user->id == NULL) {
		response_error(res, 401, "unauthorized", "authentication required");
		goto out;
	}
	if (validate_create_or_reply(req, res, item) == -1)
		goto out;
	json_object_object_add(item, "author", author_of(req->user));
	rc = updates_create(req->app->ddb, req->app->cfg, item, create_earlier(req), &err);
	create_note(req, item);
	switch (rc) {
	case MODEL_OK:
		location = xasprintf("/api/updates/%s", model_string(item, "id"));
		response_set_header(res, "Location", location);
		free(location);
		response_json(res, 201, updates_item_view(item, caller_id(req)));
		break;
	case MODEL_CONFLICT:
		response_error(res, 409, "conflict", "could not allocate a unique update id; retry");
		break;
	default:
		reply_store_error(res, &err);
	}
out:
	json_object_put(item);
}

/* POST /api/updates/{id}/read: any body is ignored. */
void
handle_updates_read(struct request *req, struct response *res)
{
	struct ddb_error err;
	json_object *root;
	const char *id;
	long count;

	if (param_update_id_or_reply(req, res, &id) == -1)
		return;
	if (caller_id(req) == NULL) {
		response_error(res, 401, "unauthorized", "authentication required");
		return;
	}
	switch (updates_mark_read(req->app->ddb, req->app->cfg, id, caller_id(req), &count, &err)) {
	case MODEL_OK:
		root = json_object_new_object();
		json_object_object_add(root, "read", json_object_new_boolean(1));
		json_object_object_add(root, "read_count", json_object_new_int64(count));
		response_json(res, 200, root);
		break;
	case MODEL_NOT_FOUND:
		response_error(res, 404, "not_found", "update %s not found", id);
		break;
	default:
		reply_store_error(res, &err);
	}
}

/* DELETE /api/updates/{id}: the author or an admin. */
void
handle_updates_delete(struct request *req, struct response *res)
{
	struct ddb_error err;
	json_object *item, *author;
	const char *id, *author_id = NULL;
	long version;
	bool admin;

	if (param_update_id_or_reply(req, res, &id) == -1 ||
	    expected_version_or_reply(req, res, NULL, &version) == -1)
		return;
	if (caller_id(req) == NULL) {
		response_error(res, 401, "unauthorized", "authentication required");
		return;
	}
	admin = req->user->role >= ROLE_ADMIN;
	switch (updates_get(req->app->ddb, req->app->cfg, id, &item, &err)) {
	case MODEL_OK:
		break;
	case MODEL_NOT_FOUND:
		response_error(res, 404, "not_found", "update %s not found", id);
		return;
	default:
		reply_store_error(res, &err);
		return;
	}
	if (json_object_object_get_ex(item, "author", &author))
		author_id = model_string(author, "id");
	if (!admin && (author_id == NULL || strcmp(author_id, caller_id(req)) != 0)) {
		json_object_put(item);
		response_error(res, 403, "forbidden", "only the author or an admin may delete this update");
		return;
	}
	json_object_put(item);
	/* A non-admin's delete stays conditional on authorship. */
	switch (updates_delete(req->app->ddb, req->app->cfg, id, admin ? NULL : caller_id(req),
	    version, &err)) {
	case MODEL_OK:
		response_empty(res, 204);
		break;
	case MODEL_NOT_FOUND:
		response_error(res, 404, "not_found", "update %s not found", id);
		break;
	case MODEL_CONFLICT:
		response_error(res, 409, "conflict", "update %s has changed (version mismatch)", id);
		break;
	case MODEL_FORBIDDEN:
		response_error(res, 403, "forbidden", "only the author or an admin may delete this update");
		break;
	default:
		reply_store_error(res, &err);
	}
}
