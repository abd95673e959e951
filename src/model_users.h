/* model_users.h - the users table (SPEC §4): id (S, the token's sub), email,
 * name, role, created_at, last_seen_at. The table is the source of roles. */
#ifndef PORTAL_MODEL_USERS_H
#define PORTAL_MODEL_USERS_H

#include <stdbool.h>

#include <json-c/json.h>

#include "model.h"
#include "user.h"

struct config;
struct ddb;
struct ddb_error;

/* last_seen_at is rewritten at most this often per user and process. */
#define USERS_LAST_SEEN_RESOLUTION_S	300

/* The users model answers like every model (enum model_rc, model.h):
 * MODEL_OK, MODEL_ERROR with err filled, MODEL_NOT_FOUND where said. */

/* Reads one user (consistent read). MODEL_OK with *out (caller frees with
 * user_free) or *out NULL when absent; MODEL_ERROR with err filled. */
enum model_rc users_get(struct ddb *ddb, const struct config *cfg, const char *id, struct user **out,
    struct ddb_error *err);

/* Creates the user unless one exists (conditional put, attribute_not_exists).
 * email and name may be NULL. On 0, *out is the user as stored: the new one,
 * or the existing one when another request created it first (*created says
 * which; created may be NULL). MODEL_ERROR with err filled. */
enum model_rc users_provision(struct ddb *ddb, const struct config *cfg, const char *id,
    const char *email, const char *name, enum role role, struct user **out, bool *created,
    struct ddb_error *err);

/* Sets last_seen_at to now (only when the user exists). MODEL_OK, or
 * MODEL_ERROR with err. */
enum model_rc users_touch(struct ddb *ddb, const struct config *cfg, const char *id, struct ddb_error *err);

/* All users as a JSON array of users_to_json objects, sorted by id (caller
 * owns *items_sorted_by_id). MODEL_OK, or MODEL_ERROR with err filled. */
enum model_rc users_list(struct ddb *ddb, const struct config *cfg, json_object **items_sorted_by_id,
    struct ddb_error *err);

/* Registers fn, called with a user's id after users_set_role changed that
 * user's role in this process: the role cache above (roles.c) passes its
 * forget down this way. One hook per process; NULL clears it. */
void users_on_role_change(void (*fn)(const char *user_id));

/* Changes a user's role (conditional on attribute_exists(id)) and calls the
 * users_on_role_change hook. *updated_item (may be NULL) receives the user as a
 * users_to_json object (caller owns). An absent user is MODEL_NOT_FOUND
 * (err says condition failed); MODEL_ERROR with err filled. */
enum model_rc users_set_role(struct ddb *ddb, const struct config *cfg, const char *id, enum role role,
    json_object **updated_item, struct ddb_error *err);

/* The public JSON of a user: {id, email, name, role, created_at, last_seen_at}
 * with null for absent strings. Returns a new object (caller owns). */
json_object *users_to_json(const struct user *user);

/* Converts a plain (unmarshalled) users item; NULL when it has no id. Caller
 * frees with user_free. An unknown role reads as ROLE_NONE. */
struct user *users_from_plain(json_object *plain);

#endif
