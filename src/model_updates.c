/* model_updates.c - the updates table: the feed through FeedIndex with an
 * opaque cursor, atomic read receipts, time-ordered ids. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "model_updates.h"
#include "schema.h"
#include "util.h"

#define CURSOR_JSON_DEPTH	2	/* an object of strings */
#define CURSOR_KEYS		3	/* id, feed, created_at */
#define RFC3339_LEN		20	/* "2026-11-24T15:04:05Z" */

const char *const updates_types[] = {
	"progress", "milestone", "blocker", "announcement", "digest", NULL
};

/* {"id":{"S":"<id>"}} */
static json_object *
string_key(const char *id)
{
	json_object *key = json_object_new_object();

	json_object_object_add(key, "id", ddb_av_s(id));
	return key;
}

/* The plain feed key {id, feed, created_at} of a plain item; NULL when it has none. */
static json_object *
feed_key_of(json_object *item)
{
	const char *id = model_string(item, "id"), *created = model_string(item, "created_at");
	const char *feed = model_string(item, "feed");
	json_object *key;

	if (id == NULL || created == NULL)
		return NULL;
	key = json_object_new_object();
	json_object_object_add(key, "id", json_object_new_string(id));
	json_object_object_add(key, "feed", json_object_new_string(feed ? feed : SCHEMA_FEED_ALL));
	json_object_object_add(key, "created_at", json_object_new_string(created));
	return key;
}

/* Sets or replaces ExclusiveStartKey (raw, consumed) in a Query request. */
static void
set_start_key(json_object *req, json_object *raw_key)
{
	json_object_object_del(req, "ExclusiveStartKey");
	json_object_object_add(req, "ExclusiveStartKey", raw_key);
}

/* Queries FeedIndex newest first for limit + 1 items (over several pages
 * when the store returns short ones) so the last page is known as such. */
enum model_rc
updates_list(struct ddb *ddb, const struct config *cfg, long limit, json_object *start_key,
    json_object **items, json_object **next_key, struct ddb_error *err)
{
	json_object *req = json_object_new_object(), *names = json_object_new_object();
	json_object *values = json_object_new_object(), *got = json_object_new_array();
	json_object *last_key = NULL;
	const char *why;
	size_t want = (size_t)limit + 1;
	enum model_rc result = MODEL_OK;

	*items = NULL;
	*next_key = NULL;
	json_object_object_add(req, "TableName", json_object_new_string(cfg->table_updates));
	json_object_object_add(req, "IndexName", json_object_new_string(SCHEMA_FEED_INDEX));
	json_object_object_add(req, "KeyConditionExpression", json_object_new_string("#feed = :feed"));
	json_object_object_add(names, "#feed", json_object_new_string("feed"));
	json_object_object_add(values, ":feed", ddb_av_s(SCHEMA_FEED_ALL));
	json_object_object_add(req, "ExpressionAttributeNames", json_object_get(names));
	json_object_object_add(req, "ExpressionAttributeValues", json_object_get(values));
	json_object_object_add(req, "ScanIndexForward", json_object_new_boolean(0));
	if (start_key != NULL) {
		json_object *raw = ddb_marshal_item(start_key, &why);
		if (raw == NULL) {
			ddb_error_set(err, 0, "MarshalError", "%s", why);
			result = MODEL_ERROR;
			goto out;
		}
		set_start_key(req, raw);
	}
	for (int round = 0; round < UPDATES_QUERY_ROUNDS_MAX; round++) {
		json_object *page = NULL;
		size_t have = json_object_array_length(got);

		json_object_object_del(req, "Limit");
		json_object_object_add(req, "Limit", json_object_new_int64((int64_t)(want - have)));
		json_object_put(last_key);
		last_key = NULL;
		if (ddb_query_page_plain(ddb, req, &page, &last_key, err) == -1) {
			result = MODEL_ERROR;
			goto out;
		}
		for (size_t i = 0; i < json_object_array_length(page); i++) {
			json_object *item = json_object_array_get_idx(page, i);

			model_hide_internal(item);
			json_object_array_add(got, json_object_get(item));
		}
		json_object_put(page);
		if (last_key == NULL || json_object_array_length(got) >= want)
			break;
		set_start_key(req, json_object_get(last_key));
	}
	if (json_object_array_length(got) > (size_t)limit) {
		/* More remain: continue after the last item returned. */
		json_object_array_del_idx(got, (size_t)limit, json_object_array_length(got) - (size_t)limit);
		*next_key = feed_key_of(json_object_array_get_idx(got, (size_t)limit - 1));
	} else if (last_key != NULL) {
		/* The round cap was reached with more to read. */
		size_t n = json_object_array_length(got);

		if (n > 0)
			*next_key = feed_key_of(json_object_array_get_idx(got, n - 1));
		else
			*next_key = ddb_unmarshal_item(last_key, &why);
	}
	*items = json_object_get(got);
out:
	json_object_put(last_key);
	json_object_put(got);
	json_object_put(req);
	json_object_put(names);
	json_object_put(values);
	return result;
}

/* GetItem by string id (strongly consistent: read receipts show at once). */
enum model_rc
updates_get(struct ddb *ddb, const struct config *cfg, const char *id, json_object **item,
    struct ddb_error *err)
{
	json_object *key = string_key(id);
	enum model_rc rc = model_get_key(ddb, cfg->table_updates, key, item, err);

	json_object_put(key);
	return rc;
}

/* Conditional put under a new id; a taken id (next to impossible) draws another. */
enum model_rc
updates_create(struct ddb *ddb, const struct config *cfg, json_object *item,
    json_object *earlier, struct ddb_error *err)
{
	time_t now = time(NULL);
	char stamp[21];
	enum model_rc rc = MODEL_CONFLICT;

	time_rfc3339(now, stamp);
	json_object_object_add(item, "created_at", json_object_new_string(stamp));
	json_object_object_add(item, "feed", json_object_new_string(SCHEMA_FEED_ALL));
	json_object_object_add(item, "version", json_object_new_int(1));
	if (earlier != NULL) {
		/* The id an earlier attempt of this request drew (Idempotency-Key),
		 * unless another writer holds it: then that attempt wrote nothing. */
		rc = model_put_reclaimed(ddb, cfg->table_updates, item, earlier, err);
		if (rc != MODEL_CONFLICT)
			return rc;
	}
	for (int attempt = 0; attempt < MODEL_CREATE_ATTEMPTS && rc == MODEL_CONFLICT; attempt++) {
		char id[UPDATES_ID_LEN];

		updates_new_id(now, id);
		json_object_object_add(item, "id", json_object_new_string(id));
		rc = model_put_new(ddb, cfg->table_updates, item, err);
	}
	return rc;
}

/* Conditional put under the caller's id: nothing is written when it exists. */
enum model_rc
updates_create_with_id(struct ddb *ddb, const struct config *cfg, const char *id,
    json_object *item, struct ddb_error *err)
{
	char stamp[21];

	time_rfc3339(time(NULL), stamp);
	json_object_object_add(item, "id", json_object_new_string(id));
	json_object_object_add(item, "created_at", json_object_new_string(stamp));
	json_object_object_add(item, "feed", json_object_new_string(SCHEMA_FEED_ALL));
	json_object_object_add(item, "version", json_object_new_int(1));
	return model_put_new(ddb, cfg->table_updates, item, err);
}

/* UpdateItem ADD read_by :me, conditional on existence, returning the set. */
enum model_rc
updates_mark_read(struct ddb *ddb, const struct config *cfg, const char *id,
    const char *user_id, long *read_count, struct ddb_error *err)
{
	json_object *key = string_key(id), *extra = json_object_new_object();
	json_object *values = json_object_new_object(), *names = json_object_new_object();
	json_object *me = json_object_new_object(), *set = json_object_new_array();
	json_object *attrs = NULL, *read_by, *members;
	enum model_rc result = MODEL_OK;

	*read_count = 0;
	json_object_array_add(set, json_object_new_string(user_id));
	json_object_object_add(me, "SS", set);
	json_object_object_add(values, ":me", me);
	json_object_object_add(names, "#read_by", json_object_new_string("read_by"));
	json_object_object_add(extra, "UpdateExpression", json_object_new_string("ADD #read_by :me"));
	json_object_object_add(extra, "ConditionExpression", json_object_new_string("attribute_exists(id)"));
	json_object_object_add(extra, "ExpressionAttributeNames", json_object_get(names));
	json_object_object_add(extra, "ExpressionAttributeValues", json_object_get(values));
	json_object_object_add(extra, "ReturnValues", json_object_new_string("UPDATED_NEW"));
	if (ddb_update_item(ddb, cfg->table_updates, key, extra, &attrs, err) == -1) {
		result = ddb_error_is_condition_failed(err) ? MODEL_NOT_FOUND : MODEL_ERROR;
		goto out;
	}
	if (attrs != NULL && json_object_object_get_ex(attrs, "read_by", &read_by) &&
	    json_object_object_get_ex(read_by, "SS", &members) &&
	    json_object_is_type(members, json_type_array))
		*read_count = (long)json_object_array_length(members);
out:
	json_object_put(attrs);
	json_object_put(key);
	json_object_put(extra);
	json_object_put(names);
	json_object_put(values);
	return result;
}

/* DeleteItem conditional on existence (and on the author when given). */
enum model_rc
updates_delete(struct ddb *ddb, const struct config *cfg, const char *id,
    const char *author_id, long expected_version, struct ddb_error *err)
{
	json_object *key = string_key(id), *extra = json_object_new_object();
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	json_object *current = NULL, *author;
	struct buf cond = BUF_INIT;
	enum model_rc result = MODEL_OK;
	const char *aid;
	bool unknown = false;
	int rc;

	buf_puts(&cond, "attribute_exists(id)");
	if (author_id != NULL) {
		json_object_object_add(names, "#author", json_object_new_string("author"));
		json_object_object_add(names, "#aid", json_object_new_string("id"));
		json_object_object_add(values, ":author", ddb_av_s(author_id));
		buf_puts(&cond, " AND #author.#aid = :author");
	}
	if (expected_version >= 0) {
		json_object_object_add(names, "#version", json_object_new_string("version"));
		json_object_object_add(values, ":expected", ddb_av_n_int(expected_version));
		buf_puts(&cond, " AND #version = :expected");
	}
	json_object_object_add(extra, "ConditionExpression", json_object_new_string(cond.data));
	if (json_object_object_length(names) > 0) {
		json_object_object_add(extra, "ExpressionAttributeNames", json_object_get(names));
		json_object_object_add(extra, "ExpressionAttributeValues", json_object_get(values));
	}
	rc = ddb_delete_item(ddb, cfg->table_updates, key, extra, NULL, err);
	/* Deleting twice cannot do harm: an unknown outcome is sent again. */
	for (int round = 0; rc == -1 && err->outcome_unknown && round < MODEL_WRITE_ROUNDS; round++) {
		unknown = true;
		rc = ddb_delete_item(ddb, cfg->table_updates, key, extra, NULL, err);
	}
	if (rc == 0)
		goto out;
	if (!ddb_error_is_condition_failed(err)) {
		result = MODEL_ERROR;
		goto out;
	}
	/* Absent (maybe by our own earlier attempt), another author's, or another version. */
	result = updates_get(ddb, cfg, id, &current, err);
	if (result == MODEL_NOT_FOUND && unknown) {
		result = MODEL_OK;
		goto out;
	}
	if (result != MODEL_OK)
		goto out;
	aid = json_object_object_get_ex(current, "author", &author) ? model_string(author, "id") : NULL;
	if (author_id != NULL && (aid == NULL || strcmp(aid, author_id) != 0))
		result = MODEL_FORBIDDEN;
	else
		result = MODEL_CONFLICT;
out:
	json_object_put(current);
	json_object_put(key);
	json_object_put(extra);
	json_object_put(names);
	json_object_put(values);
	buf_free(&cond);
	return result;
}

/* 1..UPDATES_ID_MAX characters of [A-Za-z0-9_.:-]. */
bool
updates_id_valid(const char *id)
{
	size_t len;

	if (id == NULL || (len = strlen(id)) == 0 || len > UPDATES_ID_MAX)
		return false;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("_.:-", *p) == NULL)
			return false;
	return true;
}

/* YYYYMMDDTHHMMSSZ-xxxxxxxx with 32 random bits. */
void
updates_new_id(time_t t, char out[static UPDATES_ID_LEN])
{
	unsigned char rnd[4];
	char hex[2 * sizeof rnd + 1], stamp[17];
	struct tm tm;

	random_bytes(rnd, sizeof rnd);
	hex_encode(rnd, sizeof rnd, hex);
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, UPDATES_ID_LEN, "%s-%s", stamp, hex);
}

/* base64url of {"id":..,"feed":..,"created_at":..}. */
char *
updates_cursor_encode(json_object *key)
{
	json_object *compact = json_object_new_object();
	const char *text;
	char *cursor;

	json_object_object_add(compact, "id", json_object_new_string(model_string(key, "id") ?: ""));
	json_object_object_add(compact, "feed",
	    json_object_new_string(model_string(key, "feed") ?: SCHEMA_FEED_ALL));
	json_object_object_add(compact, "created_at",
	    json_object_new_string(model_string(key, "created_at") ?: ""));
	text = json_object_to_json_string_ext(compact, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	cursor = base64url_encode((const unsigned char *)text, strlen(text));
	json_object_put(compact);
	return cursor;
}

/* A string member of exactly the type string, without NULs; NULL otherwise. */
static const char *
cursor_string(json_object *obj, const char *field)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, field, &v) || !json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return NULL;
	return json_object_get_string(v);
}

/* Canonical RFC 3339 UTC with seconds, as stored: it round-trips. */
static bool
created_at_valid(const char *s)
{
	char canonical[21];
	time_t t;

	if (strlen(s) != RFC3339_LEN || time_parse_rfc3339(s, &t) == -1)
		return false;
	time_rfc3339(t, canonical);
	return strcmp(canonical, s) == 0;
}

/* Strict: base64url, bounded, a JSON object of exactly the three key strings. */
int
updates_cursor_decode(const char *cursor, json_object **key)
{
	json_tokener *tok;
	json_object *obj = NULL;
	unsigned char *raw;
	const char *id, *feed, *created;
	size_t len, rawlen;
	int rc = -1;

	*key = NULL;
	if (cursor == NULL || (len = strlen(cursor)) == 0 || len > UPDATES_CURSOR_MAX)
		return -1;
	if ((raw = base64url_decode(cursor, len, &rawlen)) == NULL)
		return -1;
	if (rawlen == 0 || memchr(raw, '\0', rawlen) != NULL || !utf8_valid((const char *)raw, rawlen))
		goto out;
	tok = json_tokener_new_ex(CURSOR_JSON_DEPTH);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, (const char *)raw, (int)rawlen);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != rawlen) {
		json_tokener_free(tok);
		goto out;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(obj, json_type_object) || json_object_object_length(obj) != CURSOR_KEYS)
		goto out;
	id = cursor_string(obj, "id");
	feed = cursor_string(obj, "feed");
	created = cursor_string(obj, "created_at");
	if (id == NULL || feed == NULL || created == NULL || !updates_id_valid(id) ||
	    strcmp(feed, SCHEMA_FEED_ALL) != 0 || !created_at_valid(created))
		goto out;
	*key = json_object_new_object();
	json_object_object_add(*key, "id", json_object_new_string(id));
	json_object_object_add(*key, "feed", json_object_new_string(feed));
	json_object_object_add(*key, "created_at", json_object_new_string(created));
	rc = 0;
out:
	json_object_put(obj);
	free(raw);
	return rc;
}

/* True when user_id is in the plain item's read_by (an array after unmarshalling). */
static bool
read_by_has(json_object *read_by, const char *user_id)
{
	if (user_id == NULL || read_by == NULL || !json_object_is_type(read_by, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(read_by); i++) {
		json_object *member = json_object_array_get_idx(read_by, i);

		if (json_object_is_type(member, json_type_string) &&
		    strcmp(json_object_get_string(member), user_id) == 0)
			return true;
	}
	return false;
}

/* The API fields of an update, plus read and read_count for the caller. */
json_object *
updates_item_view(json_object *plain, const char *user_id)
{
	static const char *const fields[] = {
		"id", "title", "body", "type", "deliverable_id", "author", "created_at", "version", NULL
	};
	json_object *view = json_object_new_object(), *v, *read_by = NULL;
	long count = 0;

	for (const char *const *f = fields; *f; f++)
		if (json_object_object_get_ex(plain, *f, &v) && v != NULL)
			json_object_object_add(view, *f, json_object_get(v));
	if (json_object_object_get_ex(plain, "read_by", &read_by) &&
	    json_object_is_type(read_by, json_type_array))
		count = (long)json_object_array_length(read_by);
	json_object_object_add(view, "read", json_object_new_boolean(read_by_has(read_by, user_id)));
	json_object_object_add(view, "read_count", json_object_new_int64(count));
	return view;
}

/* Counts the items whose read_by lacks user_id. */
long
updates_count_unread(json_object *plain_items, const char *user_id)
{
	long unread = 0;

	if (plain_items == NULL || !json_object_is_type(plain_items, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(plain_items); i++) {
		json_object *read_by = NULL;

		json_object_object_get_ex(json_object_array_get_idx(plain_items, i), "read_by", &read_by);
		if (!read_by_has(read_by, user_id))
			unread++;
	}
	return unread;
}
