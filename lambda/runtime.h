/* runtime.h - a client of the AWS Lambda Runtime API (version 2018-06-01) over
 * one reused libcurl handle: next invocation, response, invocation error,
 * initialisation error. Not thread-safe: one per process. */
#ifndef PORTAL_LAMBDA_RUNTIME_H
#define PORTAL_LAMBDA_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define RUNTIME_API_VERSION		"2018-06-01"
#define RUNTIME_MAX_EVENT_BYTES		(8 * 1024 * 1024)	/* Lambda caps at 6 MB */
#define RUNTIME_MAX_ID_BYTES		128
#define RUNTIME_MAX_HEADER_BYTES	4096
#define RUNTIME_CONNECT_TIMEOUT_MS	2000
#define RUNTIME_POST_TIMEOUT_MS		10000
#define RUNTIME_MAX_ERROR_MESSAGE	1024

/* One invocation as /next hands it over. Strings are owned (runtime_invocation_reset). */
struct runtime_invocation {
	char		 request_id[RUNTIME_MAX_ID_BYTES + 1];	/* "" when missing */
	int64_t		 deadline_ms;		/* ms since the epoch; 0 when missing */
	char		*trace_id;		/* Lambda-Runtime-Trace-Id, may be NULL */
	char		*function_arn;		/* Lambda-Runtime-Invoked-Function-Arn, may be NULL */
	struct buf	 event;			/* the event's JSON text */
	bool		 event_too_large;	/* over RUNTIME_MAX_EVENT_BYTES: event is empty */
};

struct runtime;

/* A client for the API at host:port (AWS_LAMBDA_RUNTIME_API; borrowed). */
struct runtime *runtime_new(const char *api);
void runtime_free(struct runtime *rt);	/* NULL-safe */

/* Zeroes an invocation; reset frees what it owns and zeroes it again. */
void runtime_invocation_init(struct runtime_invocation *inv);
void runtime_invocation_reset(struct runtime_invocation *inv);

/* Waits (no time limit) for the next invocation and fills inv (initialised).
 * 0, or -1 with *cause (caller frees) when the API cannot be reached or
 * answers something that is not an invocation. */
int runtime_next(struct runtime *rt, struct runtime_invocation *inv, char **cause);
/* Posts the invocation's result (len bytes of JSON). 0, or -1 with *cause. */
int runtime_respond(struct runtime *rt, const char *request_id, const char *body,
    size_t len, char **cause);
/* Posts {"errorMessage","errorType"} for a failed invocation. 0, or -1 with *cause. */
int runtime_invocation_error(struct runtime *rt, const char *request_id,
    const char *error_type, const char *message, char **cause);
/* Posts {"errorMessage","errorType"} for a failed start-up. 0, or -1 with *cause. */
int runtime_init_error(struct runtime *rt, const char *error_type, const char *message,
    char **cause);
/* A last-resort report to /runtime/init/error for failures that cannot use
 * the client: libcurl not starting, or a fatal signal during start-up.
 * _prepare resolves api (host:port) once, at start-up; _send then uses only
 * async-signal-safe calls (socket, connect, write, read, close), so a signal
 * handler may call it. error_type and message are plain ASCII without quotes
 * or backslashes. _prepare returns 0 or -1 (api not usable). */
int runtime_crash_report_prepare(const char *api);
void runtime_crash_report_send(const char *error_type, const char *message);

/* HTTP requests made so far (tests). */
unsigned runtime_request_count(const struct runtime *rt);

#endif
