/* events.h - Lambda HTTP events to and from the library's request and response:
 * API Gateway HTTP API payload 2.0 and Function URL events ("version": "2.0"),
 * and API Gateway REST API payload 1.0 ("httpMethod"); and EventBridge
 * scheduled events ("source": "aws.events", "detail-type": "Scheduled Event"). */
#ifndef PORTAL_LAMBDA_EVENTS_H
#define PORTAL_LAMBDA_EVENTS_H

#include <stddef.h>

#include "http.h"

#define EVENTS_MAX_METHOD_BYTES	16
#define EVENTS_MAX_PATH_BYTES	8192
#define EVENTS_MAX_QUERY_BYTES	16384
/* Base64 text longer than this cannot decode to MAX_BODY_BYTES or less. */
#define EVENTS_MAX_BASE64_BYTES	((MAX_BODY_BYTES + 2) / 3 * 4 + 4)

/* Which response shape the event's source expects. */
enum events_format {
	EVENTS_FORMAT_V1 = 1,	/* REST API payload 1.0 */
	EVENTS_FORMAT_V2 = 2,	/* HTTP API payload 2.0, Function URL */
};

/* Translates the event (len bytes of JSON) into req, which must be freshly
 * initialised (request_init); sets *format. 0, or -1 with *cause naming what is
 * wrong with the event (the caller frees it; req is then left for request_reset). */
int events_to_request(const char *event, size_t len, struct request *req,
    enum events_format *format, char **cause);

/* The response as the event's source expects it, as JSON text the caller frees;
 * *len is its length. Bodies that are not UTF-8 go base64-encoded. */
char *events_from_response(const struct response *res, enum events_format format, size_t *len);

/* Recognises an EventBridge scheduled event. 1 when it is one, with *days
 * from its "detail" ({"days": N}, N in 1..max_days) or def_days when the
 * detail has none; 0 when the event is something else (or not JSON: then
 * events_to_request names the problem); -1 with *cause (caller frees) for a
 * scheduled event whose detail is wrong. */
int events_scheduled(const char *event, size_t len, long def_days, long max_days,
    long *days, char **cause);

/* Name of a format for logs ("2.0" or "1.0"). */
const char *events_format_name(enum events_format format);

#endif
