/* model_updates.h - the updates table (SPEC §4): team posts with per-user
 * read receipts, read newest first through FeedIndex. Items cross this
 * boundary as plain JSON (json-c objects). */
#ifndef PORTAL_MODEL_UPDATES_H
#define PORTAL_MODEL_UPDATES_H

#include <stdbool.h>
#include <time.h>

#include "model.h"

struct config;

#define UPDATES_LIMIT_DEFAULT	20
#define UPDATES_LIMIT_MAX	100
#define UPDATES_CURSOR_MAX	1024	/* characters of an encoded cursor */
#define UPDATES_ID_MAX		64	/* characters of an id */
#define UPDATES_ID_LEN		26	/* a new id "20260130T170000Z-1a2b3c4d" + NUL */
#define UPDATES_TITLE_MAX	200
#define UPDATES_BODY_MAX	10000
#define UPDATES_QUERY_ROUNDS_MAX 16	/* Query pages read for one feed page */

extern const char *const updates_types[];	/* NULL-terminated */

/* One page of the feed, newest first: at most limit plain items (*items, a
 * new array), starting after start_key (a plain key {id, feed, created_at}
 * from updates_cursor_decode, borrowed; NULL for the first page). *next_key
 * is the plain key to continue from, or NULL when nothing is left (caller
 * owns both). */
enum model_rc updates_list(struct ddb *ddb, const struct config *cfg, long limit,
    json_object *start_key, json_object **items, json_object **next_key, struct ddb_error *err);
/* One update, plain (caller owns *item), or MODEL_NOT_FOUND. */
enum model_rc updates_get(struct ddb *ddb, const struct config *cfg, const char *id,
    json_object **item, struct ddb_error *err);
/* item: validated plain fields (title, body, type, deliverable_id?, author).
 * Sets a new time-ordered id, created_at (now) and feed, and stores it
 * unless the id exists (a new id is drawn then). item stays the caller's.
 * earlier (may be NULL): what an earlier attempt of this request
 * (Idempotency-Key) wrote with an unknown outcome; its id is reclaimed first
 * (model_put_reclaimed), and a new id drawn when another writer holds it. */
enum model_rc updates_create(struct ddb *ddb, const struct config *cfg, json_object *item,
    json_object *earlier, struct ddb_error *err);
/* Like updates_create under the given id (valid, time-ordered: see
 * digest_publish_id), with one conditional put: MODEL_CONFLICT, and nothing
 * written, when an update with that id exists. item stays the caller's. */
enum model_rc updates_create_with_id(struct ddb *ddb, const struct config *cfg, const char *id,
    json_object *item, struct ddb_error *err);
/* Adds user_id to read_by atomically, only when the update exists;
 * *read_count is the size of read_by afterwards. MODEL_NOT_FOUND when absent. */
enum model_rc updates_mark_read(struct ddb *ddb, const struct config *cfg, const char *id,
    const char *user_id, long *read_count, struct ddb_error *err);
/* Deletes an update; when author_id is not NULL only if it is the author's
 * (MODEL_FORBIDDEN when it exists with another author); when
 * expected_version >= 0 only at that version (MODEL_CONFLICT otherwise).
 * MODEL_NOT_FOUND when absent. */
enum model_rc updates_delete(struct ddb *ddb, const struct config *cfg, const char *id,
    const char *author_id, long expected_version, struct ddb_error *err);

/* True for an id of 1..UPDATES_ID_MAX characters of [A-Za-z0-9_.:-]. */
bool updates_id_valid(const char *id);
/* A new id: the UTC time of t as YYYYMMDDTHHMMSSZ, '-', 8 random hex digits
 * (the shape of the seeded ids, so ids sort by time). */
void updates_new_id(time_t t, char out[static UPDATES_ID_LEN]);
/* The opaque cursor for a plain key {id, feed, created_at} (borrowed):
 * base64url of compact JSON. Caller frees. */
char *updates_cursor_encode(json_object *key);
/* Decodes a cursor strictly into a new plain key {id, feed, created_at};
 * -1 on anything forged or corrupt. */
int updates_cursor_decode(const char *cursor, json_object **key);

/* The API shape of a plain update (borrowed) for the caller user_id (may be
 * NULL): id, title, body, type, deliverable_id (when set), author,
 * created_at, read, read_count; never read_by or feed. A new object (caller
 * owns) sharing members with plain. */
json_object *updates_item_view(json_object *plain, const char *user_id);
/* The plain updates (an array, borrowed) user_id has not read. */
long updates_count_unread(json_object *plain_items, const char *user_id);

#endif
