/* http.h - the request/response model, independent of FastCGI or Lambda. */
#ifndef PORTAL_HTTP_H
#define PORTAL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util.h"

#define MAX_BODY_BYTES		(64 * 1024)
#define MAX_HEADERS		64
#define MAX_QUERY_PARAMS	32
#define MAX_PATH_PARAMS		4
#define REQUEST_ID_MAX		64
/* Seconds a client waits before retrying after the store answered 503. */
#define HTTP_RETRY_AFTER_STORE_S	"1"

struct user;
struct app;

/* A cleanup registered on a request (like lwan's coro_defer): fn(arg) runs
 * when the request is reset, the last registered first. */
struct request_defer_entry {
	void	(*fn)(void *);
	void	*arg;
};

struct request {
	char		*method;		/* "GET", ... */
	char		*path;			/* as received, without the query; the
						 * router decodes segment by segment */
	char		*raw_query;		/* as received, without '?' */
	struct kv	 query[MAX_QUERY_PARAMS];	/* percent-decoded */
	size_t		 nquery;
	bool		 query_bad;		/* a bad escape, %00, bad UTF-8 or too many params */
	char		*query_bad_param;	/* the first bad parameter's name; NULL for too many */
	struct kv	 headers[MAX_HEADERS];	/* names lower-cased */
	size_t		 nheaders;
	char		*body;			/* NUL-terminated copy, may be NULL */
	size_t		 body_len;
	bool		 body_too_large;	/* the entry saw more than MAX_BODY_BYTES */
	char		*remote_addr;
	char		*trace_id;		/* X-Ray trace id (Lambda), may be NULL */

	/* Filled by the router. */
	char		 request_id[REQUEST_ID_MAX + 1];
	char		*params[MAX_PATH_PARAMS];	/* {id} segments, decoded */
	size_t		 nparams;
	struct user	*user;			/* the authenticated caller; the
						 * layer that sets it registers its
						 * free with request_defer */
	json_object	*json;			/* parsed body when the route takes one */
	struct app	*app;			/* per-thread context (store handle, config) */
	int64_t		 started_ms;
	int64_t		 deadline_ms;		/* 0 = none (Lambda sets one) */
	unsigned	 ddb_calls_at_start;
	/* Idempotency-Key and creates (owned references): the item a create of
	 * this request tried to write (with its id), and the item an earlier
	 * attempt under the same key wrote with an unknown outcome, whose id a
	 * create must reclaim. */
	json_object	*create_item;
	json_object	*idempotent_item;
	const char	*route_pattern;		/* the matched route's pattern, like
						 * "/api/metrics/{id}" (static); NULL
						 * when no route matched the path */

	struct request_defer_entry *defers;	/* owned; run by request_reset */
	size_t		 ndefers;
	size_t		 defers_cap;
};

struct response {
	int		 status;
	struct kv	 headers[MAX_HEADERS];
	size_t		 nheaders;
	struct buf	 body;
};

/* Lifecycle: init zeroes; reset runs the defer list (last registered first),
 * then frees everything the request owns. NULL-safe. */
void request_init(struct request *req);
void request_reset(struct request *req);
/* Registers fn(arg) to run when the request is reset: whatever a layer above
 * http attaches to the request (the caller's user, ...) is released this way,
 * so http never needs to know its type. */
void request_defer(struct request *req, void (*fn)(void *), void *arg);
void request_set_method(struct request *req, const char *method);
/* Sets the path (raw, not decoded) and splits off a query when path has '?'. */
void request_set_path(struct request *req, const char *raw_path);
/* Parses a raw query string into decoded params. */
void request_set_query(struct request *req, const char *raw_query);
/* Adds a header; the name is lower-cased; a repeated name is joined with ", ". */
void request_add_header(struct request *req, const char *name, const char *value);
/* Copies the body (len bytes). Bodies over MAX_BODY_BYTES only set body_too_large. */
void request_set_body(struct request *req, const char *body, size_t len);
/* Borrowed header value by lower-case name, or NULL. */
const char *request_header(const struct request *req, const char *name);
/* Borrowed query value, or NULL. */
const char *request_query(const struct request *req, const char *name);

void response_init(struct response *res);
void response_reset(struct response *res);
/* Replaces (or adds) a header. */
void response_set_header(struct response *res, const char *name, const char *value);
const char *response_header(const struct response *res, const char *name);
/* Sets status and a JSON body; consumes obj (json_object_put). */
void response_json(struct response *res, int status, json_object *obj);
/* Sets status and the SPEC error body {"error":{"code","message"}}. */
void response_error(struct response *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Empty body with status (e.g. 204). */
void response_empty(struct response *res, int status);
/* Standard reason phrase. */
const char *http_reason(int status);

#endif
