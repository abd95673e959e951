/* idempotency.h - the Idempotency-Key of SPEC §5 on every POST, the design of
 * AWS Lambda Powertools' idempotency utility: before the handler runs, a
 * record {key, request_hash, status "in_progress", owner} is written to the
 * idempotency table unless a live one exists; after it, the response is
 * saved in the record (status "done") to be replayed, or the record is
 * deleted when the response was a 5xx (so the key may be retried). A 5xx
 * after a create drew an id (its write may have been applied) keeps the
 * record as "unknown" with that id: the retry takes the record over and
 * creates under the same id, finding the earlier item if it was written.
 * The request hash covers method, path, query and body. Records
 * expire after IDEMPOTENCY_TTL_S (the table's TTL attribute expires_at; an
 * expired record is overwritten even before the TTL removes it).
 *
 * Store operations used on the idempotency table: PutItem, GetItem,
 * UpdateItem, DeleteItem. */
#ifndef PORTAL_IDEMPOTENCY_H
#define PORTAL_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define IDEMPOTENCY_HEADER	"idempotency-key"	/* request header, lower-case */
#define IDEMPOTENCY_KEY_MAX	255			/* characters of a key */
#define IDEMPOTENCY_TTL_S	(24 * 60 * 60)		/* a key lives 24 h */
#define IDEMPOTENCY_RESERVE_MS	300	/* store time kept back from the handler to save the response */
#define IDEMPOTENCY_ROUNDS	4	/* claims tried before answering 503 */
#define IDEMPOTENCY_TOKEN_BYTES	16

/* The state of one POST between begin and finish. */
struct idempotency {
	bool	 active;		/* this request holds the record: finish must run */
	char	*key;			/* the record's key: user id and the caller's key */
	char	 hash[65];		/* SHA-256 (hex) of method, path and body */
	char	 token[2 * IDEMPOTENCY_TOKEN_BYTES + 1];	/* owner of the record */
	int64_t	 store_deadline;	/* the store deadline to restore for finish */
};

/* True for a usable key: 1..IDEMPOTENCY_KEY_MAX printable ASCII characters
 * (0x20-0x7e), len bytes (a NUL inside is refused). */
bool idempotency_key_valid(const char *key, size_t len);
/* The request hash: SHA-256 in hex of method, '\n', path, '\n', body. */
void idempotency_request_hash(const char *method, const char *path, const char *body,
    size_t body_len, char out[65]);
/* The record key of a user's key: "<length of user id>:<user id>:<key>"
 * (unambiguous whatever either holds). Caller frees. */
char *idempotency_record_key(const char *user_id, const char *key);

/* Before a POST handler (after auth and body checks). Without the header:
 * 0, inactive. With a bad key: 400 validation_error naming the header. When
 * a record of this key exists: its response replayed with
 * Idempotent-Replayed: true, 422 idempotency_key_reused (another request
 * hash), or 409 conflict (still in progress); a store failure: 503. Each of
 * those answers and returns -1. Otherwise 0 with st active: run the handler,
 * then idempotency_finish. */
int idempotency_begin_or_reply(struct request *req, struct response *res,
    struct idempotency *st);
/* After the handler: saves res in the record, or deletes the record when
 * res is a 5xx. Never changes res. Releases what st holds; NULL-safe on an
 * inactive st. */
void idempotency_finish(struct request *req, const struct response *res,
    struct idempotency *st);

#endif
