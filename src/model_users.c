/* model_users.c - the users table: read, provision, list, role changes. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "config.h"
#include "ddb.h"
#include "log.h"
#include "model.h"
#include "model_users.h"
#include "util.h"

/* The key {"id":{"S":id}}; caller owns it. */
static json_object *
users_key(const char *id)
{
	json_object *key = json_object_new_object();

	json_object_object_add(key, "id", ddb_av_s(id));
	return key;
}

/* A string member of a plain object duplicated, or NULL. */
static char *
users_plain_str(json_object *plain, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(plain, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return xstrdup(json_object_get_string(v));
}

/* Converts a plain users item into a struct user. */
struct user *
users_from_plain(json_object *plain)
{
	struct user *u;
	char *role;

	if (plain == NULL || !json_object_is_type(plain, json_type_object))
		return NULL;
	u = xcalloc(1, sizeof(*u));
	if ((u->id = users_plain_str(plain, "id")) == NULL) {
		free(u);
		return NULL;
	}
	u->email = users_plain_str(plain, "email");
	u->name = users_plain_str(plain, "name");
	u->created_at = users_plain_str(plain, "created_at");
	u->last_seen_at = users_plain_str(plain, "last_seen_at");
	role = users_plain_str(plain, "role");
	u->role = role != NULL ? user_role_parse(role) : ROLE_NONE;
	free(role);
	return u;
}

/* Converts a wire-format item into a struct user; NULL when unusable. */
static struct user *
users_from_item(json_object *item)
{
	const char *why = NULL;
	json_object *plain;
	struct user *u;

	if ((plain = model_unmarshal(item, &why)) == NULL) {
		log_warn("users: item not readable", LOG_S("why", why != NULL ? why : "?"));
		return NULL;
	}
	u = users_from_plain(plain);
	json_object_put(plain);
	return u;
}

/* Adds a string or null member. */
static void
users_add_str(json_object *obj, const char *name, const char *value)
{
	json_object_object_add(obj, name, value != NULL ? json_object_new_string(value) : NULL);
}

/* The public JSON of a user. */
json_object *
users_to_json(const struct user *user)
{
	json_object *obj = json_object_new_object();

	users_add_str(obj, "id", user->id);
	users_add_str(obj, "email", user->email);
	users_add_str(obj, "name", user->name);
	users_add_str(obj, "role", user->role != ROLE_NONE ? user_role_name(user->role) : NULL);
	users_add_str(obj, "created_at", user->created_at);
	users_add_str(obj, "last_seen_at", user->last_seen_at);
	return obj;
}

/* Reads one user with a consistent read. */
enum model_rc
users_get(struct ddb *ddb, const struct config *cfg, const char *id, struct user **out,
    struct ddb_error *err)
{
	json_object *key = users_key(id), *item = NULL;
	int rc;

	*out = NULL;
	rc = ddb_get_item_plain(ddb, cfg->table_users, key, true, &item, err);
	json_object_put(key);
	if (rc == -1)
		return MODEL_ERROR;
	if (item != NULL) {
		*out = users_from_plain(item);
		json_object_put(item);
		if (*out == NULL) {
			ddb_error_set(err, 0, "InvalidItem", "%s", "users item without a readable id");
			return MODEL_ERROR;
		}
	}
	return MODEL_OK;
}

/* Creates the user unless one exists; *out is the stored user either way. */
enum model_rc
users_provision(struct ddb *ddb, const struct config *cfg, const char *id,
    const char *email, const char *name, enum role role, struct user **out, bool *created,
    struct ddb_error *err)
{
	json_object *item, *extra;
	char now[21];
	int rc;

	*out = NULL;
	if (created != NULL)
		*created = false;
	time_rfc3339(time(NULL), now);
	item = json_object_new_object();
	json_object_object_add(item, "id", ddb_av_s(id));
	if (email != NULL)
		json_object_object_add(item, "email", ddb_av_s(email));
	if (name != NULL)
		json_object_object_add(item, "name", ddb_av_s(name));
	json_object_object_add(item, "role", ddb_av_s(user_role_name(role)));
	json_object_object_add(item, "created_at", ddb_av_s(now));
	json_object_object_add(item, "last_seen_at", ddb_av_s(now));
	extra = json_object_new_object();
	json_object_object_add(extra, "ConditionExpression",
	    json_object_new_string("attribute_not_exists(id)"));
	rc = ddb_put_item(ddb, cfg->table_users, item, extra, NULL, err);
	json_object_put(extra);
	if (rc == 0) {
		*out = users_from_item(item);
		json_object_put(item);
		if (created != NULL)
			*created = true;
		log_info("users: provisioned", LOG_S("user", id), LOG_S("role", user_role_name(role)));
		return MODEL_OK;
	}
	json_object_put(item);
	if (!ddb_error_is_condition_failed(err))
		return MODEL_ERROR;
	/* Another request created the user first: theirs is the one. */
	if (users_get(ddb, cfg, id, out, err) == -1)
		return MODEL_ERROR;
	if (*out == NULL) {
		ddb_error_set(err, 0, "ProvisionRace", "%s", "user vanished while being provisioned");
		return MODEL_ERROR;
	}
	return MODEL_OK;
}

/* Sets last_seen_at to now when the user exists. */
enum model_rc
users_touch(struct ddb *ddb, const struct config *cfg, const char *id, struct ddb_error *err)
{
	json_object *key = users_key(id), *extra, *values;
	char now[21];
	int rc;

	time_rfc3339(time(NULL), now);
	extra = json_object_new_object();
	values = json_object_new_object();
	json_object_object_add(values, ":now", ddb_av_s(now));
	json_object_object_add(extra, "UpdateExpression",
	    json_object_new_string("SET last_seen_at = :now"));
	json_object_object_add(extra, "ConditionExpression",
	    json_object_new_string("attribute_exists(id)"));
	json_object_object_add(extra, "ExpressionAttributeValues", values);
	rc = ddb_update_item(ddb, cfg->table_users, key, extra, NULL, err);
	json_object_put(extra);
	json_object_put(key);
	return rc;
}

/* qsort comparator: users_to_json objects by id. */
static int
users_cmp_id(const void *a, const void *b)
{
	json_object *const *ja = a, *const *jb = b;
	json_object *ia = NULL, *ib = NULL;

	json_object_object_get_ex(*ja, "id", &ia);
	json_object_object_get_ex(*jb, "id", &ib);
	return strcmp(ia != NULL ? json_object_get_string(ia) : "",
	    ib != NULL ? json_object_get_string(ib) : "");
}

/* All users, sorted by id. */
enum model_rc
users_list(struct ddb *ddb, const struct config *cfg, json_object **items_sorted_by_id,
    struct ddb_error *err)
{
	json_object *request, *raw = NULL, *out;
	json_object **sorted;
	size_t n, kept = 0;
	int rc;

	*items_sorted_by_id = NULL;
	request = json_object_new_object();
	json_object_object_add(request, "TableName", json_object_new_string(cfg->table_users));
	rc = ddb_scan_all(ddb, request, &raw, err);
	json_object_put(request);
	if (rc == -1)
		return MODEL_ERROR;
	n = raw != NULL ? json_object_array_length(raw) : 0;
	sorted = xcalloc(n == 0 ? 1 : n, sizeof(*sorted));
	for (size_t i = 0; i < n; i++) {
		struct user *u = users_from_item(json_object_array_get_idx(raw, i));

		if (u == NULL)
			continue;
		sorted[kept++] = users_to_json(u);
		user_free(u);
	}
	json_object_put(raw);
	qsort(sorted, kept, sizeof(*sorted), users_cmp_id);
	out = json_object_new_array();
	for (size_t i = 0; i < kept; i++)
		json_object_array_add(out, sorted[i]);
	free(sorted);
	*items_sorted_by_id = out;
	return MODEL_OK;
}

typedef void (*users_role_change_fn)(const char *user_id);
static _Atomic users_role_change_fn users_role_change_hook;

/* Sets (or clears, NULL) the role-change hook. */
void
users_on_role_change(void (*fn)(const char *user_id))
{
	atomic_store(&users_role_change_hook, fn);
}

/* Changes a user's role when the user exists. */
enum model_rc
users_set_role(struct ddb *ddb, const struct config *cfg, const char *id, enum role role,
    json_object **updated_item, struct ddb_error *err)
{
	json_object *key, *extra, *names, *values, *attrs = NULL;
	void (*hook)(const char *);
	struct user *u;
	int rc;

	if (updated_item != NULL)
		*updated_item = NULL;
	if (role == ROLE_NONE) {
		struct buf list = BUF_INIT;

		buf_join(&list, user_role_names);
		ddb_error_set(err, 0, "ValidationException", "role must be one of %s", list.data);
		buf_free(&list);
		return MODEL_ERROR;
	}
	key = users_key(id);
	extra = json_object_new_object();
	names = json_object_new_object();
	values = json_object_new_object();
	json_object_object_add(names, "#role", json_object_new_string("role"));
	json_object_object_add(values, ":role", ddb_av_s(user_role_name(role)));
	json_object_object_add(extra, "UpdateExpression", json_object_new_string("SET #role = :role"));
	json_object_object_add(extra, "ConditionExpression",
	    json_object_new_string("attribute_exists(id)"));
	json_object_object_add(extra, "ExpressionAttributeNames", names);
	json_object_object_add(extra, "ExpressionAttributeValues", values);
	json_object_object_add(extra, "ReturnValues", json_object_new_string("ALL_NEW"));
	rc = ddb_update_item(ddb, cfg->table_users, key, extra, &attrs, err);
	json_object_put(extra);
	json_object_put(key);
	if (rc == -1)
		return ddb_error_is_condition_failed(err) ? MODEL_NOT_FOUND : MODEL_ERROR;
	hook = atomic_load(&users_role_change_hook);
	if (hook != NULL)
		hook(id);
	log_info("users: role changed", LOG_S("user", id), LOG_S("role", user_role_name(role)));
	if (updated_item != NULL) {
		u = attrs != NULL ? users_from_item(attrs) : NULL;
		if (u == NULL) {
			json_object_put(attrs);
			ddb_error_set(err, 0, "InvalidItem", "%s", "update returned no readable item");
			return MODEL_ERROR;
		}
		*updated_item = users_to_json(u);
		user_free(u);
	}
	json_object_put(attrs);
	return MODEL_OK;
}
