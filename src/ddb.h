/* ddb.h - the DynamoDB access module: JSON protocol 1.0 over HTTP(S) with
 * libcurl, SigV4, retries with backoff, pagination, batching.
 *
 * Requests and responses are json-c objects in DynamoDB's wire format
 * (AttributeValues). Use ddb_marshal/ddb_unmarshal to convert plain JSON.
 * One struct ddb per thread: it owns curl handles and is not thread-safe.
 * Credentials are shared by all handles of a process (refreshed under a lock).
 */
#ifndef PORTAL_DDB_H
#define PORTAL_DDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct config;

#define DDB_MAX_ATTEMPTS	4
#define DDB_BACKOFF_BASE_MS	25
#define DDB_BACKOFF_MAX_MS	20000
#define DDB_CONNECT_TIMEOUT_MS	1000
#define DDB_TOTAL_TIMEOUT_MS	3000
#define DDB_MAX_IDLE_CONN_S	4
#define DDB_BATCH_GET_MAX	100
#define DDB_BATCH_WRITE_MAX	25
#define DDB_BATCH_ROUNDS_MAX	8	/* submissions of one batch before unprocessed entries are an error */
#define DDB_PARALLEL_MAX	8	/* connections kept for ddb_call_parallel */
#define DDB_RESPONSE_MAX	(64 * 1024 * 1024)
#define DDB_WAIT_POLL_MS	100

/* Error detail travels with the call. Codes besides DynamoDB's __type:
 * "NetworkError", "TimeoutError" (timeout or deadline; both http_status 0),
 * "CredentialsError", "SigningError", "InvalidResponse" (a 200 without a JSON
 * object), "UnprocessedKeys"/"UnprocessedItems" (a batch still incomplete
 * after DDB_BATCH_ROUNDS_MAX submissions; counts as throttling),
 * "UnknownError"/"InternalServerError" (an error status without __type).
 * retryable tells the kind of error, also after the attempts ran out. */
struct ddb_error {
	int	 http_status;		/* 0 for network errors */
	char	 code[64];		/* short __type: "ConditionalCheckFailedException", "NetworkError" ... */
	char	 message[256];
	bool	 retryable;
	int	 attempts;
	bool	 condition_failed;	/* ConditionalCheckFailed, also as a TransactionCanceled reason */
	bool	 outcome_unknown;	/* a PutItem/UpdateItem/DeleteItem that may have been
					 * applied (sent, then a time-out, a network error or a
					 * 5xx): never retried here, see ddb_call */
};

struct ddb;

/* A handle for one thread. cfg is borrowed and must outlive the handle.
 * Calls curl_global_init once per process (call ddb_new, or curl_global_init,
 * before starting threads). NULL when cfg->endpoint is not a usable URL. */
struct ddb *ddb_new(const struct config *cfg);
void ddb_free(struct ddb *ddb);	/* NULL-safe */
/* Calls made by this handle since it was created (HTTP requests, retries included). */
unsigned ddb_request_count(const struct ddb *ddb);
/* Process-wide total over all handles. */
unsigned long ddb_total_request_count(void);
/* Calls end no later than this wall-clock time (ms since epoch); 0 clears it. */
void ddb_set_deadline(struct ddb *ddb, int64_t deadline_ms);
/* The deadline set by ddb_set_deadline (0: none). */
int64_t ddb_deadline(const struct ddb *ddb);

/* True for errors worth a 503 (store unreachable, throttled, 5xx after retries). */
bool ddb_error_is_unavailable(const struct ddb_error *err);
/* True for ConditionalCheckFailedException (also inside a TransactionCanceled). */
bool ddb_error_is_condition_failed(const struct ddb_error *err);
/* The retry decision of the SDKs' standard mode for this error. */
bool ddb_error_retryable(int http_status, const char *code);
/* Fills all of err (earlier content dropped): status (0 when no store
 * answered), code, the formatted message and the retry decision for them.
 * The one way a layer above the store reports a failure in a ddb_error. */
void ddb_error_set(struct ddb_error *err, int http_status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Backoff before attempt n+1 (n >= 1): full jitter, base DDB_BACKOFF_BASE_MS * 2^(n-1). */
int64_t ddb_backoff_ms(int attempt);

/* Registers a function called after every write operation (PutItem,
 * UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems) of any handle
 * in this process, whatever its outcome. Set it once at start-up. */
void ddb_set_write_hook(void (*hook)(void));

/* Raw call of one operation ("GetItem", ...) with retries inside the
 * handle's deadline (no attempt starts after it; each attempt's time-out is
 * bounded by what is left). PutItem, UpdateItem and DeleteItem are retried
 * only after errors that prove they were not applied (throttling, a 4xx, no
 * connection): when the outcome is unknown the call fails at once with
 * err->outcome_unknown set, and the caller retries in a form that cannot
 * apply twice (conditional on what the first attempt wrote). request is
 * borrowed; *response is owned by the caller. 0 or -1 with err filled. */
int ddb_call(struct ddb *ddb, const char *op, json_object *request,
    json_object **response, struct ddb_error *err);
/* The same, with the answer read by ddb_answer_parse: its "Item", "Items"
 * and "Attributes" come back as plain items. An item the plain form cannot
 * hold fails the call with the code "UnmarshalError". */
int ddb_call_plain(struct ddb *ddb, const char *op, json_object *request,
    json_object **response, struct ddb_error *err);
/* Reads a store answer (one JSON object) in one pass, without a tree in the
 * wire format: the members "Item", "Attributes" and "Items" come out
 * unmarshalled (as ddb_unmarshal_item gives them), every other member in the
 * wire format. NULL with *why (static) on text that is not one JSON object
 * (*unmarshal false) or on an item the plain form cannot hold (*unmarshal
 * true). */
json_object *ddb_answer_parse(const char *text, size_t len, const char **why, bool *unmarshal);

/* Several independent calls at once (DDB_PARALLEL_MAX at a time, each on its
 * own kept connection, one poll for all of them); each gets its own
 * result. Retryable failures are then retried one by one with backoff, up to
 * DDB_MAX_ATTEMPTS attempts in all. Returns 0 when all succeeded, -1 when any
 * failed (see each rc and err); every non-NULL response is the caller's. */
struct ddb_op {
	const char		*op;
	json_object		*request;	/* borrowed */
	json_object		*response;	/* owned by the caller after the call */
	struct ddb_error	 err;
	int			 rc;
	bool			 plain;		/* items unmarshalled (ddb_call_plain) */
};
int ddb_call_parallel(struct ddb *ddb, struct ddb_op *ops, size_t n);

/* Item operations. key/item are AttributeValue maps (borrowed). extra is an
 * optional object merged into the request (ConditionExpression,
 * ExpressionAttributeNames/Values, ReturnValues, ...; borrowed). */
int ddb_get_item(struct ddb *ddb, const char *table, json_object *key, bool consistent,
    json_object **item /* NULL when absent */, struct ddb_error *err);
/* The same, *item in plain form (read in one pass, see ddb_call_plain). */
int ddb_get_item_plain(struct ddb *ddb, const char *table, json_object *key, bool consistent,
    json_object **item, struct ddb_error *err);
int ddb_put_item(struct ddb *ddb, const char *table, json_object *item,
    json_object *extra, json_object **attributes, struct ddb_error *err);
int ddb_update_item(struct ddb *ddb, const char *table, json_object *key,
    json_object *extra, json_object **attributes, struct ddb_error *err);
int ddb_delete_item(struct ddb *ddb, const char *table, json_object *key,
    json_object *extra, json_object **attributes, struct ddb_error *err);

/* Query/Scan. request is a complete request object (TableName, ...; borrowed).
 * _all follows LastEvaluatedKey to the end and returns a json array of items.
 * _page makes one call; *last_key is the LastEvaluatedKey or NULL at the end. */
int ddb_query_all(struct ddb *ddb, json_object *request, json_object **items, struct ddb_error *err);
int ddb_scan_all(struct ddb *ddb, json_object *request, json_object **items, struct ddb_error *err);
int ddb_query_page(struct ddb *ddb, json_object *request, json_object **items,
    json_object **last_key, struct ddb_error *err);
int ddb_scan_page(struct ddb *ddb, json_object *request, json_object **items,
    json_object **last_key, struct ddb_error *err);
/* The same with plain items, read in one pass (see ddb_call_plain);
 * last_key stays in the wire form, ready for ExclusiveStartKey. */
int ddb_query_all_plain(struct ddb *ddb, json_object *request, json_object **items,
    struct ddb_error *err);
int ddb_scan_all_plain(struct ddb *ddb, json_object *request, json_object **items,
    struct ddb_error *err);
int ddb_query_page_plain(struct ddb *ddb, json_object *request, json_object **items,
    json_object **last_key, struct ddb_error *err);

/* BatchGetItem over any number of keys (split by 100, UnprocessedKeys resubmitted). */
int ddb_batch_get(struct ddb *ddb, const char *table, json_object *keys /* array */,
    json_object **items, struct ddb_error *err);
/* BatchWriteItem: puts (array of items) and deletes (array of keys), either may be NULL. */
int ddb_batch_write(struct ddb *ddb, const char *table, json_object *puts,
    json_object *deletes, struct ddb_error *err);
/* TransactWriteItems: items is the TransactItems array (borrowed). A random
 * ClientRequestToken makes retries idempotent. NOTE: dynalite has no
 * transactions; against it this fails with "UnknownOperationException". */
int ddb_transact_write(struct ddb *ddb, json_object *transact_items, struct ddb_error *err);

int ddb_create_table(struct ddb *ddb, json_object *request, struct ddb_error *err);
/* *description is the Table object; an absent table is -1 with err->code
 * "ResourceNotFoundException". */
int ddb_describe_table(struct ddb *ddb, const char *table, json_object **description, struct ddb_error *err);
int ddb_delete_table(struct ddb *ddb, const char *table, struct ddb_error *err);
/* Waits until the table is ACTIVE (or gone when want_active is false). */
int ddb_wait_table(struct ddb *ddb, const char *table, bool want_active, int timeout_ms, struct ddb_error *err);

/* Marshalling between plain JSON and AttributeValues. Numbers keep their exact
 * decimal text both ways. Return new objects (caller owns) or NULL on input
 * that cannot be represented (with *why, a static string; why may be NULL).
 * ddb_unmarshal_value of {"NULL":true} is json-c's null, the NULL pointer, with
 * *why set to NULL: tell it from a failure by *why. */
json_object *ddb_marshal_value(json_object *plain, const char **why);
json_object *ddb_marshal_item(json_object *plain_object, const char **why);
json_object *ddb_unmarshal_value(json_object *attribute_value, const char **why);
json_object *ddb_unmarshal_item(json_object *item, const char **why);
/* Shorthands for building AttributeValues. */
json_object *ddb_av_s(const char *s);
json_object *ddb_av_n(const char *decimal_text);
json_object *ddb_av_n_int(int64_t n);
/* A json-c number that serialises as exactly this decimal text. */
json_object *ddb_json_number(const char *decimal_text);
/* True when decimal_text (JSON number grammar) is a number DynamoDB holds:
 * at most DDB_NUMBER_DIGITS_MAX significant digits and 0 or a magnitude from
 * 1E-130 to 9.99...E+125 (SPEC §5). */
bool ddb_number_text_in_range(const char *decimal_text);
/* The same for a json-c int or double, judged by its exact text. */
bool ddb_json_number_in_range(json_object *num);

#endif
