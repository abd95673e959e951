/* idempotency.c - Idempotency-Key on POST: claim a record before the
 * handler, save or drop it after (see idempotency.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "user.h"
#include "config.h"
#include "ddb.h"
#include "handlers.h"
#include "idempotency.h"
#include "log.h"
#include "schema.h"
#include "sigv4.h"
#include "util.h"

#define STATUS_IN_PROGRESS	"in_progress"
#define STATUS_DONE		"done"
#define STATUS_UNKNOWN		"unknown"	/* a 5xx after a create whose write may have applied */
#define ATTR_ITEM		"item"		/* with STATUS_UNKNOWN: what that create wrote */

/* The response headers a replay repeats. */
static const char *const replayed_headers[] = { "Content-Type", "Location", "ETag", NULL };

/* 1..IDEMPOTENCY_KEY_MAX bytes, each printable ASCII. */
bool
idempotency_key_valid(const char *key, size_t len)
{
	if (key == NULL || len == 0 || len > IDEMPOTENCY_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
			return false;
	return true;
}

/* SHA-256 hex of method \n path \n body. */
void
idempotency_request_hash(const char *method, const char *path, const char *body,
    size_t body_len, char out[65])
{
	struct buf b = BUF_INIT;

	buf_puts(&b, method != NULL ? method : "");
	buf_puts(&b, "\n");
	buf_puts(&b, path != NULL ? path : "");
	buf_puts(&b, "\n");
	if (body != NULL && body_len > 0)
		buf_append(&b, body, body_len);
	sigv4_sha256_hex(b.data != NULL ? b.data : "", b.len, out);
	buf_free(&b);
}

/* "<len>:<user>:<key>". */
char *
idempotency_record_key(const char *user_id, const char *key)
{
	return xasprintf("%zu:%s:%s", strlen(user_id), user_id, key);
}

/* {"key": {"S": key}} */
static json_object *
record_key(const char *key)
{
	json_object *k = json_object_new_object();

	json_object_object_add(k, SCHEMA_IDEMPOTENCY_KEY, ddb_av_s(key));
	return k;
}

/* Until when a record "in_progress" holds: the request's deadline, or the
 * longest budget when it has none (AttributeValue N, ms). */
static json_object *
in_progress_until(const struct request *req, int64_t now)
{
	return ddb_av_n_int(req->deadline_ms != 0 ? req->deadline_ms : now + REQUEST_TIMEOUT_MAX_MS);
}

/* PutItem of a new in-progress record unless a live one exists (absent,
 * expired, or in progress past its request's deadline). */
static int
claim(struct request *req, struct idempotency *st, struct ddb_error *err)
{
	json_object *item = json_object_new_object(), *extra = json_object_new_object();
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	int64_t now = now_ms();
	int rc;

	json_object_object_add(item, SCHEMA_IDEMPOTENCY_KEY, ddb_av_s(st->key));
	json_object_object_add(item, "request_hash", ddb_av_s(st->hash));
	json_object_object_add(item, "status", ddb_av_s(STATUS_IN_PROGRESS));
	json_object_object_add(item, "owner", ddb_av_s(st->token));
	json_object_object_add(item, SCHEMA_IDEMPOTENCY_TTL, ddb_av_n_int(now / 1000 + IDEMPOTENCY_TTL_S));
	json_object_object_add(item, "in_progress_until", in_progress_until(req, now));
	json_object_object_add(names, "#k", json_object_new_string(SCHEMA_IDEMPOTENCY_KEY));
	json_object_object_add(names, "#exp", json_object_new_string(SCHEMA_IDEMPOTENCY_TTL));
	json_object_object_add(names, "#st", json_object_new_string("status"));
	json_object_object_add(names, "#until", json_object_new_string("in_progress_until"));
	json_object_object_add(values, ":now", ddb_av_n_int(now / 1000));
	json_object_object_add(values, ":now_ms", ddb_av_n_int(now));
	json_object_object_add(values, ":in_progress", ddb_av_s(STATUS_IN_PROGRESS));
	json_object_object_add(extra, "ConditionExpression", json_object_new_string(
	    "attribute_not_exists(#k) OR #exp < :now OR (#st = :in_progress AND #until < :now_ms)"));
	json_object_object_add(extra, "ExpressionAttributeNames", names);
	json_object_object_add(extra, "ExpressionAttributeValues", values);
	rc = ddb_put_item(req->app->ddb, req->app->cfg->table_idempotency, item, extra, NULL, err);
	json_object_put(item);
	json_object_put(extra);
	return rc;
}

/* A string attribute of a raw item (borrowed), or "". */
static const char *
raw_s(json_object *item, const char *name)
{
	json_object *av, *s;

	if (!json_object_object_get_ex(item, name, &av) || !json_object_object_get_ex(av, "S", &s))
		return "";
	return json_object_get_string(s);
}

/* Answers with the saved response of a done record (raw item). */
static void
replay(struct response *res, json_object *raw)
{
	json_object *av, *saved, *v, *headers;
	const char *why;

	if (!json_object_object_get_ex(raw, "response", &av) ||
	    (saved = ddb_unmarshal_value(av, &why)) == NULL) {
		response_error(res, 500, "internal", "internal error");
		return;
	}
	res->status = json_object_object_get_ex(saved, "status", &v) ? json_object_get_int(v) : 200;
	buf_reset(&res->body);
	if (json_object_object_get_ex(saved, "body", &v) && json_object_is_type(v, json_type_string))
		buf_append(&res->body, json_object_get_string(v), (size_t)json_object_get_string_len(v));
	if (json_object_object_get_ex(saved, "headers", &headers)) {
		json_object_object_foreach(headers, name, value)
			if (json_object_is_type(value, json_type_string))
				response_set_header(res, name, json_object_get_string(value));
	}
	response_set_header(res, "Idempotent-Replayed", "true");
	json_object_put(saved);
}

/* Takes over a record left "unknown" by an earlier attempt (raw, borrowed)
 * under our token; the retry then reclaims the id of the item that attempt
 * wrote (req->idempotent_item). 0 when taken, -1 with err (a condition
 * failure: someone else took it first). */
static int
take_over(struct request *req, struct idempotency *st, json_object *raw, struct ddb_error *err)
{
	json_object *key = record_key(st->key), *extra = json_object_new_object();
	json_object *names = json_object_new_object(), *values = json_object_new_object();
	json_object *written;
	int64_t now = now_ms();
	const char *why;
	int rc;

	json_object_object_add(names, "#st", json_object_new_string("status"));
	json_object_object_add(names, "#owner", json_object_new_string("owner"));
	json_object_object_add(names, "#until", json_object_new_string("in_progress_until"));
	json_object_object_add(values, ":unknown", ddb_av_s(STATUS_UNKNOWN));
	json_object_object_add(values, ":old", ddb_av_s(raw_s(raw, "owner")));
	json_object_object_add(values, ":me", ddb_av_s(st->token));
	json_object_object_add(values, ":in_progress", ddb_av_s(STATUS_IN_PROGRESS));
	json_object_object_add(values, ":until", in_progress_until(req, now));
	json_object_object_add(extra, "UpdateExpression", json_object_new_string(
	    "SET #st = :in_progress, #owner = :me, #until = :until"));
	json_object_object_add(extra, "ConditionExpression", json_object_new_string(
	    "#st = :unknown AND #owner = :old"));
	json_object_object_add(extra, "ExpressionAttributeNames", names);
	json_object_object_add(extra, "ExpressionAttributeValues", values);
	rc = ddb_update_item(req->app->ddb, req->app->cfg->table_idempotency, key, extra, NULL, err);
	json_object_put(key);
	json_object_put(extra);
	if (rc == 0 && json_object_object_get_ex(raw, ATTR_ITEM, &written)) {
		json_object_put(req->idempotent_item);
		req->idempotent_item = ddb_unmarshal_value(written, &why);
	}
	return rc;
}

/* Claims the key, or answers from the existing record. */
int
idempotency_begin_or_reply(struct request *req, struct response *res, struct idempotency *st)
{
	const char *key = request_header(req, IDEMPOTENCY_HEADER);
	unsigned char raw_token[IDEMPOTENCY_TOKEN_BYTES];
	struct ddb_error err;
	json_object *k, *raw = NULL;
	char *target;

	memset(st, 0, sizeof *st);
	if (key == NULL)
		return 0;
	if (!idempotency_key_valid(key, strlen(key))) {
		response_error(res, 400, "validation_error",
		    "Idempotency-Key: must be 1 to %d printable ASCII characters", IDEMPOTENCY_KEY_MAX);
		return -1;
	}
	if (req->user == NULL || req->user->id == NULL) {
		response_error(res, 401, "unauthorized", "authentication required");
		return -1;
	}
	st->key = idempotency_record_key(req->user->id, key);
	/* The query is part of the request (POST /api/digest/publish?days=N). */
	target = req->raw_query != NULL && *req->raw_query != '\0' ?
	    xasprintf("%s?%s", req->path, req->raw_query) : xstrdup(req->path);
	idempotency_request_hash(req->method, target, req->body, req->body_len, st->hash);
	free(target);
	random_bytes(raw_token, sizeof raw_token);
	hex_encode(raw_token, sizeof raw_token, st->token);

	for (int round = 0; round < IDEMPOTENCY_ROUNDS; round++) {
		if (claim(req, st, &err) == 0)
			goto claimed;
		if (err.outcome_unknown)
			continue;	/* the same claim again: finding our token tells */
		if (!ddb_error_is_condition_failed(&err))
			goto store_error;
		k = record_key(st->key);
		if (ddb_get_item(req->app->ddb, req->app->cfg->table_idempotency, k, true, &raw, &err) == -1) {
			json_object_put(k);
			goto store_error;
		}
		json_object_put(k);
		if (raw == NULL)
			continue;	/* expired and removed meanwhile */
		if (strcmp(raw_s(raw, "owner"), st->token) == 0) {
			json_object_put(raw);
			goto claimed;	/* our own earlier claim had been applied */
		}
		if (strcmp(raw_s(raw, "request_hash"), st->hash) == 0 &&
		    strcmp(raw_s(raw, "status"), STATUS_UNKNOWN) == 0) {
			int taken = take_over(req, st, raw, &err);

			json_object_put(raw);
			raw = NULL;
			if (taken == 0)
				goto claimed;
			if (!ddb_error_is_condition_failed(&err) && !err.outcome_unknown)
				goto store_error;
			continue;	/* taken by another retry, or unknown: look again */
		}
		if (strcmp(raw_s(raw, "request_hash"), st->hash) != 0)
			response_error(res, 422, "idempotency_key_reused",
			    "Idempotency-Key: this key was used with another request");
		else if (strcmp(raw_s(raw, "status"), STATUS_DONE) == 0)
			replay(res, raw);
		else
			response_error(res, 409, "conflict",
			    "Idempotency-Key: a request with this key is still in progress");
		json_object_put(raw);
		free(st->key);
		st->key = NULL;
		return -1;
	}
	model_unavailable(&err, "the idempotency key could not be claimed");
store_error:
	free(st->key);
	st->key = NULL;
	reply_store_error(res, &err);
	return -1;
claimed:
	st->active = true;
	/* Keep store time back for saving the response. */
	st->store_deadline = ddb_deadline(req->app->ddb);
	if (st->store_deadline != 0)
		ddb_set_deadline(req->app->ddb, st->store_deadline - IDEMPOTENCY_RESERVE_MS);
	return 0;
}

/* The saved form of res: {status, body, headers}, as an AttributeValue. */
static json_object *
saved_response(const struct response *res)
{
	json_object *plain = json_object_new_object(), *headers = json_object_new_object(), *av;
	const char *why;

	json_object_object_add(plain, "status", json_object_new_int(res->status));
	if (res->body.len > 0)
		json_object_object_add(plain, "body",
		    json_object_new_string_len(res->body.data, (int)res->body.len));
	for (const char *const *h = replayed_headers; *h != NULL; h++) {
		const char *v = response_header(res, *h);

		if (v != NULL)
			json_object_object_add(headers, *h, json_object_new_string(v));
	}
	json_object_object_add(plain, "headers", headers);
	av = ddb_marshal_value(plain, &why);
	json_object_put(plain);
	return av;
}

/* Saves the response (done) or drops the record (5xx); only our own record. */
void
idempotency_finish(struct request *req, const struct response *res, struct idempotency *st)
{
	json_object *key, *extra, *names, *values, *saved = NULL, *written = NULL;
	const char *why;
	struct ddb_error err;
	bool drop, unknown;
	int rc = -1;

	if (st == NULL || !st->active) {
		if (st != NULL)
			free(st->key);
		return;
	}
	ddb_set_deadline(req->app->ddb, st->store_deadline);
	drop = res->status >= 500;
	/* A 5xx after a create drew an id: its write may have been applied, so
	 * the record stays, "unknown", with what it wrote for the retry to
	 * reclaim (an item that cannot be marshalled was never sent). */
	unknown = drop && req->create_item != NULL &&
	    (written = ddb_marshal_value(req->create_item, &why)) != NULL;
	if (unknown)
		drop = false;
	key = record_key(st->key);
	extra = json_object_new_object();
	names = json_object_new_object();
	values = json_object_new_object();
	json_object_object_add(names, "#owner", json_object_new_string("owner"));
	json_object_object_add(values, ":owner", ddb_av_s(st->token));
	json_object_object_add(extra, "ConditionExpression", json_object_new_string("#owner = :owner"));
	if (unknown) {
		json_object_object_add(names, "#st", json_object_new_string("status"));
		json_object_object_add(names, "#item", json_object_new_string(ATTR_ITEM));
		json_object_object_add(values, ":unknown", ddb_av_s(STATUS_UNKNOWN));
		json_object_object_add(values, ":item", written);
		json_object_object_add(extra, "UpdateExpression",
		    json_object_new_string("SET #st = :unknown, #item = :item"));
	} else if (!drop) {
		if ((saved = saved_response(res)) == NULL) {
			drop = true;
		} else {
			json_object_object_add(names, "#st", json_object_new_string("status"));
			json_object_object_add(names, "#resp", json_object_new_string("response"));
			json_object_object_add(values, ":done", ddb_av_s(STATUS_DONE));
			json_object_object_add(values, ":resp", saved);
			json_object_object_add(extra, "UpdateExpression",
			    json_object_new_string("SET #st = :done, #resp = :resp"));
		}
	}
	json_object_object_add(extra, "ExpressionAttributeNames", names);
	json_object_object_add(extra, "ExpressionAttributeValues", values);
	/* Both writes are idempotent under the owner condition: an unknown
	 * outcome is simply sent again. */
	for (int round = 0; round < IDEMPOTENCY_ROUNDS; round++) {
		rc = drop ?
		    ddb_delete_item(req->app->ddb, req->app->cfg->table_idempotency, key, extra, NULL, &err) :
		    ddb_update_item(req->app->ddb, req->app->cfg->table_idempotency, key, extra, NULL, &err);
		if (rc == 0 || !err.outcome_unknown)
			break;
	}
	if (rc == -1)
		log_warn("idempotency record not saved", LOG_S("code", err.code),
		    LOG_S("detail", err.message), LOG_B("drop", drop));
	json_object_put(key);
	json_object_put(extra);
	free(st->key);
	st->key = NULL;
	st->active = false;
}
