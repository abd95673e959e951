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
	MODEL_FORBIDDEN = 3,	/* a condition on the owner failed */
};

#define MODEL_CREATE_ATTEMPTS	5	/* ids drawn before a create gives up */
#define MODEL_WRITE_ROUNDS	64	/* bound of a retry loop when no deadline ends it first */
#define MODEL_RACE_BASE_MS	4	/* full-jitter pause after a lost race ... */
#define MODEL_RACE_MAX_MS	64	/* ... capped */
#define MODEL_ITEM_STRIPES	64	/* locks serialising one process's writes of an item */
/* The tables keyed by a numeric id keep their id counter in a reserved item
 * under id 0 (attribute MODEL_COUNTER_ATTR, the last id handed out); lists
 * and scans skip it (model_is_reserved). */
#define MODEL_COUNTER_ID	0
#define MODEL_COUNTER_ATTR	"next_id"

/* Attributes the store keeps for the project's own tools, never shown by
 * the API: the hash portalctl migrate leaves on the items it wrote. */
#define MODEL_ATTR_MIGRATED_HASH	"migrated_hash"

/* An AttributeValue item (borrowed) as a plain item without the internal
 * attributes: a new object (caller owns), or NULL with *why (static). */
json_object *model_unmarshal(json_object *raw, const char **why);
/* Plain items read in one pass (ddb_*_plain; borrowed) as the API shows
 * them: a new array without the reserved counter item and the internal
 * attributes (which are dropped from the items themselves). */
json_object *model_items_shown(json_object *plain_items);
/* The same for one plain item (NULL-safe). */
void model_hide_internal(json_object *item);

/* One item by its key (an AttributeValue map, borrowed), read strongly
 * consistent: *item (plain, caller owns) or MODEL_NOT_FOUND. */
enum model_rc model_get_key(struct ddb *ddb, const char *table, json_object *key,
    json_object **item, struct ddb_error *err);
/* One item by numeric id; *item (plain, caller owns) or MODEL_NOT_FOUND. */
enum model_rc model_get_num(struct ddb *ddb, const char *table, long id,
    json_object **item, struct ddb_error *err);
/* Every item of a table (Scan to the end), plain, sorted by numeric id,
 * without the reserved counter item. */
enum model_rc model_scan_sorted(struct ddb *ddb, const char *table,
    json_object **items, struct ddb_error *err);
/* True for the reserved counter item (plain or raw, numeric id 0). */
bool model_is_reserved(json_object *item);
/* Puts a new item (plain, with "id"; borrowed) unless one with that id
 * exists (MODEL_CONFLICT). A put whose outcome is unknown is sent again under
 * the same condition; when the id then exists, it is this create's item
 * (MODEL_OK) only when the stored item holds every field of item with the
 * same value; an item at version 1 that does not is another writer's
 * (MODEL_CONFLICT); one changed since cannot be told apart (MODEL_ERROR,
 * unavailable, outcome unknown). */
enum model_rc model_put_new(struct ddb *ddb, const char *table, json_object *item,
    struct ddb_error *err);
/* Puts earlier (plain, borrowed; needs "id") again: the item an earlier
 * attempt of the same request (Idempotency-Key) wrote with an unknown
 * outcome, so that every attempt writes the same item. When its id holds
 * what earlier holds (a reader may have added to it), that attempt's write
 * was applied: MODEL_OK with the stored item. Another writer's item there
 * is MODEL_CONFLICT and item is left alone; one changed since its create
 * is MODEL_ERROR as in model_put_new. On any outcome but MODEL_CONFLICT,
 * item becomes what was written (or found). */
enum model_rc model_put_reclaimed(struct ddb *ddb, const char *table, json_object *item,
    json_object *earlier, struct ddb_error *err);
/* A create in a table keyed by a numeric id: under item's "id" when it has
 * one (MODEL_CONFLICT when taken), else under a fresh id (model_create_next).
 * earlier (borrowed, may be NULL) is what an earlier attempt of the same
 * request wrote with an unknown outcome: its id is reclaimed first
 * (model_put_reclaimed); when another writer holds it, a create without an
 * id of its own draws a fresh one. */
enum model_rc model_create(struct ddb *ddb, const char *table, json_object *item,
    json_object *earlier, struct ddb_error *err);
/* Puts a new item under a fresh id from the table's atomic counter (so
 * concurrent creates never collide; an id taken by an explicit create lifts
 * the counter past it); sets "id". Never MODEL_CONFLICT. */
enum model_rc model_create_next(struct ddb *ddb, const char *table, json_object *item,
    struct ddb_error *err);
/* What to SET for changes (borrowed) on the current item (plain, borrowed)
 * at now: a new object (caller owns). */
typedef json_object *(*model_set_fn)(json_object *current, json_object *changes, const char *now);
/* Read-modify-write of item id: reads it (version v), SETs what build
 * returns (changes themselves when build is NULL), version = v + 1 and
 * updated_at, conditional on the version still being v. When
 * expected_version >= 0, v must equal it (MODEL_CONFLICT otherwise); when
 * not, a lost race is read and retried after a jittered pause until the
 * request's deadline (never MODEL_CONFLICT). A write whose outcome is
 * unknown is sent again under the same condition; finding its own result
 * (version v + 1 with its values) is MODEL_OK. *updated is the new item. */
enum model_rc model_update_num(struct ddb *ddb, const char *table, long id,
    json_object *changes, long expected_version, model_set_fn build, json_object **updated,
    struct ddb_error *err);
/* Deletes item id, when expected_version >= 0 only at that version
 * (MODEL_CONFLICT otherwise); MODEL_NOT_FOUND when absent. A delete whose
 * outcome is unknown is sent again; finding the item gone then is MODEL_OK. */
enum model_rc model_delete_num(struct ddb *ddb, const char *table, long id,
    long expected_version, struct ddb_error *err);
/* Sleeps a full-jitter pause before retry round (>= 1) of a lost race. */
void model_race_pause(int round);
/* Fills err as a 503-worthy time-out with message why (a static string). */
void model_unavailable(struct ddb_error *err, const char *why);
/* Sorts a json array of plain items by an integer field, then by "id". */
void model_sort_by(json_object *items, const char *field);
/* Appends "#f0 = :v0, #f1 = :v1, " for every field of changes (plain) to
 * expr, filling names and values. -1 with err when a value cannot be
 * marshalled. */
int model_set_clauses(json_object *changes, struct buf *expr, json_object *names,
    json_object *values, struct ddb_error *err);
/* Current UTC time as RFC 3339, as a new json string. */
json_object *model_now(void);
/* An integer field of a plain item, or def. */
long model_int(json_object *item, const char *field, long def);
/* A numeric field as double (plain item), or def. */
double model_double(json_object *item, const char *field, double def);
/* A string field (borrowed) or NULL. */
const char *model_string(json_object *item, const char *field);

/* A healthy store answer is reused this long by every thread of the process,
 * so that load balancers polling /api/health do not load the store. */
#define MODEL_HEALTH_CACHE_MS	1000

struct config;
/* Checks the store: one DescribeTable of the deliverables table proves the
 * endpoint, the credentials and the table (a success is remembered for
 * MODEL_HEALTH_CACHE_MS). 0, or -1 with err filled. */
int model_store_check(struct ddb *ddb, const struct config *cfg, struct ddb_error *err);

#endif
