/* emf.h - one CloudWatch embedded metric format (EMF) document per HTTP
 * invocation: CloudWatch Logs turns the log line into metrics, with no agent
 * and no API call. Namespace TurboTechPortal, dimension route (the route
 * pattern, never the raw path), metrics Requests, Latency, DynamoDBCalls,
 * Errors5xx. */
#ifndef PORTAL_LAMBDA_EMF_H
#define PORTAL_LAMBDA_EMF_H

#include <stdint.h>

#define EMF_NAMESPACE		"TurboTechPortal"
#define EMF_DIMENSION_ROUTE	"route"
#define EMF_ROUTE_UNMATCHED	"unmatched"	/* a path no route matches */

/* What one invocation measured. Strings are borrowed. */
struct emf_invocation {
	int64_t		 timestamp_ms;	/* ms since the epoch */
	const char	*route;		/* pattern like "/api/metrics/{id}"; NULL = unmatched */
	int		 status;	/* the HTTP status answered */
	int64_t		 latency_ms;
	unsigned	 ddb_calls;
	const char	*request_id;	/* the Lambda request id, may be NULL */
	const char	*trace_id;	/* the X-Ray trace id, may be NULL */
};

/* The EMF document of one invocation as one line of JSON text without a
 * newline and without a "level" (caller frees):
 * {"_aws":{"Timestamp":ms,"CloudWatchMetrics":[{"Namespace":"TurboTechPortal",
 *  "Dimensions":[["route"]],"Metrics":[{"Name":"Requests","Unit":"Count"},...]}]},
 *  "route":..., "Requests":1, "Latency":ms, "DynamoDBCalls":n, "Errors5xx":0|1,
 *  "status":..., "requestId":..., "traceId":...} */
char *emf_document(const struct emf_invocation *m);

#endif
