/* handlers.h - one handler per route (handler_*.c), and the helpers they share
 * (handler_util.c). Handlers fill the response; they never see the transport
 * and never build DynamoDB requests (that is the models' job). */
#ifndef PORTAL_HANDLERS_H
#define PORTAL_HANDLERS_H

#include <stdbool.h>

#include <json-c/json.h>

#include "http.h"
#include "model.h"

struct config;
struct ddb;
struct ddb_error;

void handle_health(struct request *req, struct response *res);

void handle_deliverables_list(struct request *req, struct response *res);
void handle_deliverables_get(struct request *req, struct response *res);
void handle_deliverables_create(struct request *req, struct response *res);
void handle_deliverables_update(struct request *req, struct response *res);
void handle_deliverables_delete(struct request *req, struct response *res);

void handle_metrics_list(struct request *req, struct response *res);
void handle_metrics_get(struct request *req, struct response *res);
void handle_metrics_create(struct request *req, struct response *res);
void handle_metrics_update(struct request *req, struct response *res);
void handle_metrics_delete(struct request *req, struct response *res);

void handle_updates_list(struct request *req, struct response *res);
void handle_updates_get(struct request *req, struct response *res);
void handle_updates_create(struct request *req, struct response *res);
void handle_updates_read(struct request *req, struct response *res);
void handle_updates_delete(struct request *req, struct response *res);

void handle_users_me(struct request *req, struct response *res);
void handle_users_list(struct request *req, struct response *res);
void handle_users_update(struct request *req, struct response *res);

void handle_dashboard(struct request *req, struct response *res);
void handle_digest(struct request *req, struct response *res);
void handle_digest_publish(struct request *req, struct response *res);

/* API docs (handler_docs.c): embedded files with ETag and If-None-Match. */
void handle_openapi_json(struct request *req, struct response *res);
void handle_docs_page(struct request *req, struct response *res);
void handle_docs_asset(struct request *req, struct response *res);

/* Answers a store failure: 503 unavailable + Retry-After when the store is
 * down or throttling, else 500 internal (details only in the log). */
void reply_store_error(struct response *res, const struct ddb_error *err);
/* Answers a model outcome other than MODEL_OK: 404 "<what> <id> not found",
 * 409 version conflict, or the store error. */
void reply_model_error(struct response *res, enum model_rc rc, const struct ddb_error *err,
    const char *what, long id);
/* How one resource plugs into handle_versioned_patch. */
struct patch_ops {
	const char		*what;		/* "deliverable", for messages */
	const char *const	*fields;	/* the updatable fields, NULL-terminated */
	/* Validates body's fields into changes; answers 400 and returns -1 on a bad one. */
	int			(*validate)(struct response *res, json_object *body, json_object *changes);
	enum model_rc		(*update)(struct ddb *ddb, const struct config *cfg, long id,
				    json_object *changes, long expected_version,
				    json_object **updated, struct ddb_error *err);
	/* The answer's body from the updated item (borrowed); NULL: the item itself. */
	json_object		*(*view)(json_object *item);
};
/* PATCH of a versioned item by numeric id: version from the body or If-Match,
 * known fields, no {} or null, validation, the update, 200 with ETag. */
void handle_versioned_patch(struct request *req, struct response *res, const struct patch_ops *ops);
/* DELETE of an item by numeric id, conditional on If-Match when sent: 204,
 * or 404 / 409 / the store's error. */
void handle_numeric_delete(struct request *req, struct response *res, const char *what,
    enum model_rc (*remove)(struct ddb *ddb, const struct config *cfg, long id,
    long expected_version, struct ddb_error *err));
/* Parses path parameter idx as a positive integer id; 400 and -1 otherwise. */
int param_id_or_reply(struct request *req, struct response *res, size_t idx, long *out);
/* The expected version from the body's "version" (removed from the body; body
 * may be NULL) or If-Match ("N" or N, compared strongly: a weak W/"N" never
 * matches and is 409; "*" matches any existing item); *out = -1 when neither.
 * 400 and -1 on a bad value. */
int expected_version_or_reply(struct request *req, struct response *res, json_object *body, long *out);
/* Creates under an Idempotency-Key: what an earlier attempt of this request
 * wrote with an unknown outcome (borrowed; the create reclaims its id), or
 * NULL. */
json_object *create_earlier(struct request *req);
/* Notes the item a create tried to write once it has an id (a reference;
 * item is not changed afterwards), so that a 5xx after a write of unknown
 * outcome keeps it under the key for the retry. */
void create_note(struct request *req, json_object *item);
/* Answers a create in a table keyed by a numeric id (rc: the model's), after
 * create_note: 201 with Location (collection/id), ETag and view(item) (a new
 * object; view NULL: item itself), 409 naming what when the id exists, the
 * store error otherwise. Consumes item. */
void reply_created_num(struct request *req, struct response *res, enum model_rc rc,
    json_object *item, const char *collection, const char *what,
    json_object *(*view)(json_object *), const struct ddb_error *err);
/* Sets ETag: "N" from the item's version. */
void set_etag(struct response *res, json_object *item);

/* Field validation: each answers 400 validation_error naming the field and
 * returns -1 on a bad value. They read from a plain JSON object. */
int field_string_or_reply(struct response *res, json_object *obj, const char *field,
    size_t max_len, bool required, const char **out);
int field_int_or_reply(struct response *res, json_object *obj, const char *field,
    long min, long max, bool required, long *out, bool *present);
int field_number_or_reply(struct response *res, json_object *obj, const char *field,
    bool required, json_object **out);
int field_enum_or_reply(struct response *res, json_object *obj, const char *field,
    const char *const *allowed, bool required, const char **out);
int field_date_or_reply(struct response *res, json_object *obj, const char *field,
    bool required, const char **out);
/* value (not NULL) is one of allowed (NULL-terminated); else 400
 * "name: must be one of A, B, C" and -1. */
int value_one_of_or_reply(struct response *res, const char *name, const char *value,
    const char *const *allowed);
/* Every query parameter is one of allowed (NULL-terminated; { NULL } takes
 * none); else 400 "<name>: unknown query parameter" and -1. */
int query_known_or_reply(struct request *req, struct response *res, const char *const *allowed);
/* Rejects any key not in allowed (NULL-terminated); 400 naming the key. */
int fields_known_or_reply(struct response *res, json_object *obj, const char *const *allowed);
/* Rejects {} (naming the updatable fields, NULL-terminated) and null values
 * (PATCH bodies). */
int patch_body_or_reply(struct response *res, json_object *obj, const char *const *fields);

#endif
