/* users.c - portalctl users list | set-role. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "portalctl.h"
#include "user.h"
#include "util.h"


/* Lists the users, sorted by id. */
static int
cmd_users_list(struct ctl *ctl, struct args *a)
{
	struct ddb_error err;
	json_object *req, *items = NULL;
	size_t n, wid = 2, wrole = 4, wemail = 5;
	int rc;

	if (ctl_open(ctl) == -1)
		return EXIT_FAIL;
	req = json_object_new_object();
	json_object_object_add(req, "TableName", json_object_new_string(ctl->cfg.table_users));
	json_object_object_add(req, "ConsistentRead", json_object_new_boolean(true));
	rc = ddb_scan_all(ctl->ddb, req, &items, &err);
	json_object_put(req);
	if (rc == -1) {
		ctl_store_error(ctl, ctl->cfg.table_users, &err);
		return EXIT_FAIL;
	}
	json_object_array_sort(items, ctl_compare_items);
	n = json_object_array_length(items);

	/* Replace each item by its plain form. */
	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;
		json_object *plain = ddb_unmarshal_item(json_object_array_get_idx(items, i), &why);

		if (plain == NULL) {
			ctl_errorf("%s: unreadable item: %s", ctl->cfg.table_users, why != NULL ? why : "?");
			json_object_put(items);
			return EXIT_FAIL;
		}
		json_object_array_put_idx(items, i, plain);
		if (strlen(ctl_str_member(plain, "id")) > wid)
			wid = strlen(ctl_str_member(plain, "id"));
		if (strlen(ctl_str_member(plain, "role")) > wrole)
			wrole = strlen(ctl_str_member(plain, "role"));
		if (strlen(ctl_str_member(plain, "email")) > wemail)
			wemail = strlen(ctl_str_member(plain, "email"));
	}
	if (!a->json)
		printf("%-*s  %-*s  %-*s  %s\n", (int)wid, "ID", (int)wrole, "ROLE",
		    (int)wemail, "EMAIL", "NAME");
	for (size_t i = 0; i < n; i++) {
		json_object *u = json_object_array_get_idx(items, i);

		if (a->json)
			puts(json_object_to_json_string_ext(u,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			printf("%-*s  %-*s  %-*s  %s\n", (int)wid, ctl_str_member(u, "id"),
			    (int)wrole, ctl_str_member(u, "role"), (int)wemail, ctl_str_member(u, "email"),
			    ctl_str_member(u, "name"));
	}
	json_object_put(items);
	return EXIT_OK;
}

const struct ctl_command cmd_users_list_entry = {
	.group = "users", .name = "list",
	.synopsis = "users list [--json]",
	.summary = "list the users and their roles",
	.help =
	    "Lists every user sorted by id: id, role, email, name.\n"
	    "  --json   one plain JSON object per user and line\n",
	.options = OPT_JSON, .exec = cmd_users_list,
};

/* Sets the role of an existing user. */
static int
cmd_users_set_role(struct ctl *ctl, struct args *a)
{
	const char *id = a->argv[0], *role = a->argv[1];
	json_object *key, *extra, *names, *values, *old = NULL, *v;
	struct ddb_error err;
	int rc;

	if (user_role_parse(role) == ROLE_NONE) {
		struct buf list = BUF_INIT;

		buf_join(&list, user_role_names);
		ctl_errorf("users set-role: unknown role '%s' (one of %s)", role, list.data);
		buf_free(&list);
		return EXIT_USAGE;
	}
	if (ctl_open(ctl) == -1)
		return EXIT_FAIL;

	key = json_object_new_object();
	json_object_object_add(key, SCHEMA_KEY, ddb_av_s(id));
	extra = json_object_new_object();
	names = json_object_new_object();
	values = json_object_new_object();
	json_object_object_add(names, "#role", json_object_new_string("role"));
	json_object_object_add(values, ":role", ddb_av_s(role));
	json_object_object_add(extra, "UpdateExpression", json_object_new_string("SET #role = :role"));
	json_object_object_add(extra, "ConditionExpression",
	    json_object_new_string("attribute_exists(" SCHEMA_KEY ")"));
	json_object_object_add(extra, "ExpressionAttributeNames", names);
	json_object_object_add(extra, "ExpressionAttributeValues", values);
	json_object_object_add(extra, "ReturnValues", json_object_new_string("UPDATED_OLD"));
	rc = ddb_update_item(ctl->ddb, ctl->cfg.table_users, key, extra, &old, &err);
	json_object_put(key);
	json_object_put(extra);
	if (rc == -1) {
		if (ddb_error_is_condition_failed(&err))
			ctl_errorf("no user with id '%s'", id);
		else
			ctl_store_error(ctl, ctl->cfg.table_users, &err);
		return EXIT_FAIL;
	}
	if (old != NULL && json_object_object_get_ex(old, "role", &v))
		printf("%s: role %s (was %s)\n", id, role, ctl_str_member(v, "S"));
	else
		printf("%s: role %s\n", id, role);
	json_object_put(old);
	return EXIT_OK;
}

const struct ctl_command cmd_users_set_role_entry = {
	.group = "users", .name = "set-role",
	.synopsis = "users set-role ID admin|team|client",
	.summary = "change the role of an existing user",
	.help =
	    "Sets the role of the user ID (the token's sub, e.g. auth0|abc). The user\n"
	    "must exist: users are created on their first authenticated request.\n",
	.min_args = 2, .max_args = 2, .exec = cmd_users_set_role,
};
