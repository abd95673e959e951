/* emf.c - the CloudWatch embedded metric format document of an invocation. */
#include <json-c/json.h>

#include "emf.h"
#include "util.h"

/* A metric definition {"Name","Unit"}. */
static json_object *
metric(const char *name, const char *unit)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "Name", json_object_new_string(name));
	json_object_object_add(m, "Unit", json_object_new_string(unit));
	return m;
}

/* Builds the document with json-c (every string escaped). */
char *
emf_document(const struct emf_invocation *inv)
{
	json_object *root = json_object_new_object(), *aws = json_object_new_object();
	json_object *directive = json_object_new_object(), *directives = json_object_new_array();
	json_object *dimensions = json_object_new_array(), *set = json_object_new_array();
	json_object *metrics = json_object_new_array();
	char *text;

	json_object_array_add(set, json_object_new_string(EMF_DIMENSION_ROUTE));
	json_object_array_add(dimensions, set);
	json_object_array_add(metrics, metric("Requests", "Count"));
	json_object_array_add(metrics, metric("Latency", "Milliseconds"));
	json_object_array_add(metrics, metric("DynamoDBCalls", "Count"));
	json_object_array_add(metrics, metric("Errors5xx", "Count"));
	json_object_object_add(directive, "Namespace", json_object_new_string(EMF_NAMESPACE));
	json_object_object_add(directive, "Dimensions", dimensions);
	json_object_object_add(directive, "Metrics", metrics);
	json_object_array_add(directives, directive);
	json_object_object_add(aws, "Timestamp", json_object_new_int64(inv->timestamp_ms));
	json_object_object_add(aws, "CloudWatchMetrics", directives);
	json_object_object_add(root, "_aws", aws);

	json_object_object_add(root, EMF_DIMENSION_ROUTE,
	    json_object_new_string(inv->route != NULL ? inv->route : EMF_ROUTE_UNMATCHED));
	json_object_object_add(root, "Requests", json_object_new_int(1));
	json_object_object_add(root, "Latency", json_object_new_int64(inv->latency_ms < 0 ? 0 : inv->latency_ms));
	json_object_object_add(root, "DynamoDBCalls", json_object_new_int64((int64_t)inv->ddb_calls));
	json_object_object_add(root, "Errors5xx", json_object_new_int(inv->status >= 500 ? 1 : 0));
	json_object_object_add(root, "status", json_object_new_int(inv->status));
	if (inv->request_id != NULL && inv->request_id[0] != '\0')
		json_object_object_add(root, "requestId", json_object_new_string(inv->request_id));
	if (inv->trace_id != NULL && inv->trace_id[0] != '\0')
		json_object_object_add(root, "traceId", json_object_new_string(inv->trace_id));
	text = xstrdup(json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return text;
}
