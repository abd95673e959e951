/* model.h - what the per-table models share: result codes and the
 * operations on items keyed by a numeric id (deliverables, metrics).
 * Items cross this boundary as plain JSON (json-c objects). */
#ifndef PORTAL_MODEL_H
#define PORTAL_MODEL_H

#include <stdbool.h>

#include <json-c/json.h>

#include "ddb.h"
#include "util.h"

enum model_rc {
	MODEL_OK = 0,
	MODEL_ERROR = -1,	/* store failure: see err */
	MODEL_NOT_FOUND = 1,
	MODEL_CONFLICT = 2,	/* version mismatch or id exists */
};

#define MODEL_CREATE_ATTEMPTS	5

/* One item by numeric id; *item (plain, caller owns) or MODEL_NOT_FOUND. */
enum model_rc model_get_num(struct ddb *ddb, const char *table, long id,
    json_object **item, struct ddb_error *err);
/* Every item of a table (Scan to the end), plain, sorted by numeric id. */
enum model_rc model_scan_sorted(struct ddb *ddb, const char *table,
    json_object **items, struct ddb_error *err);
/* Puts a new item (plain, with "id") unless one with that id exists. */
enum model_rc model_create_num(struct ddb *ddb, const char *table, json_object *item,
    struct ddb_error *err);
/* Puts a new item under the next free id (max id + 1, retried on a race); sets "id". */
enum model_rc model_create_next(struct ddb *ddb, const char *table, json_object *item,
    struct ddb_error *err);
/* Sets the fields of changes (plain) on item id, bumps version and
 * updated_at, conditional on existence and, when expected_version >= 0, on
 * the version. *updated is the new item (plain). */
enum model_rc model_update_num(struct ddb *ddb, const char *table, long id,
    json_object *changes, long expected_version, json_object **updated,
    struct ddb_error *err);
/* Deletes item id; MODEL_NOT_FOUND when absent. */
enum model_rc model_delete_num(struct ddb *ddb, const char *table, long id,
    struct ddb_error *err);
/* Sorts a json array of plain items by an integer field, then by "id". */
void model_sort_by(json_object *items, const char *field);
/* Appends "#f0 = :v0, #f1 = :v1, " for every field of changes (plain) to
 * expr, filling names and values. -1 with err when a value cannot be
 * marshalled. */
int model_set_clauses(json_object *changes, struct buf *expr, json_object *names,
    json_object *values, struct ddb_error *err);
/* Builds the UpdateExpression (SET changes, version + 1, updated_at = now)
 * and ConditionExpression (exists, and version = expected_version when >= 0)
 * of a versioned update into expr and cond. -1 with err on a bad value. */
int model_versioned_update(json_object *changes, long expected_version, const char *now,
    struct buf *expr, struct buf *cond, json_object *names, json_object *values,
    struct ddb_error *err);
/* Fills err for a (un)marshalling failure of field. */
void model_marshal_error(struct ddb_error *err, const char *code, const char *field,
    const char *cause);
/* Current UTC time as RFC 3339, as a new json string. */
json_object *model_now(void);
/* An integer field of a plain item, or def. */
long model_int(json_object *item, const char *field, long def);
/* A numeric field as double (plain item), or def. */
double model_double(json_object *item, const char *field, double def);
/* A string field (borrowed) or NULL. */
const char *model_string(json_object *item, const char *field);

#endif
