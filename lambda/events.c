/* events.c - API Gateway (HTTP API 2.0, REST API 1.0) and Function URL events
 * to and from struct request / struct response. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "events.h"
#include "http.h"
#include "util.h"

/* True when a JSON string holds a NUL (C strings would cut it short). */
static bool
has_nul(json_object *s)
{
	return strlen(json_object_get_string(s)) != (size_t)json_object_get_string_len(s);
}

/* Member key of obj when it is a string (borrowed), else NULL. */
static const char *
get_string(json_object *obj, const char *key)
{
	json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Member key of obj when it is an object (borrowed), else NULL. */
static json_object *
get_object(json_object *obj, const char *key)
{
	json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/* True when member key of obj exists and is neither null nor of type want. */
static bool
wrong_type(json_object *obj, const char *key, json_type want)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return false;
	return !json_object_is_type(v, want);
}

/* Parses the whole text as one JSON object; NULL with *cause otherwise. */
static json_object *
parse_event(const char *text, size_t len, char **cause)
{
	struct json_tokener *tok;
	json_object *root;
	size_t end;

	if (len > INT32_MAX) {
		cause_set(cause, "event is too large");
		return NULL;
	}
	tok = json_tokener_new();
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (root == NULL) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		if (jerr == json_tokener_continue)
			cause_set(cause, "event is not valid JSON: unexpected end of input");
		else
			cause_set(cause, "event is not valid JSON: %s", json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && strchr(" \t\r\n", text[end]) != NULL && text[end] != '\0')
		end++;
	if (end != len) {
		json_object_put(root);
		cause_set(cause, "event is not valid JSON: data after the object");
		return NULL;
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		cause_set(cause, "event is not a JSON object");
		return NULL;
	}
	return root;
}

/* Checks and sets the method: letters only, bounded. */
static int
set_method(struct request *req, const char *method, char **cause)
{
	size_t n;

	if (method == NULL || *method == '\0')
		return cause_set(cause, "event has no HTTP method");
	n = strlen(method);
	if (n > EVENTS_MAX_METHOD_BYTES)
		return cause_set(cause, "event's HTTP method is too long");
	for (size_t i = 0; i < n; i++)
		if (!((method[i] >= 'A' && method[i] <= 'Z') || (method[i] >= 'a' && method[i] <= 'z')))
			return cause_set(cause, "event's HTTP method is not a token");
	request_set_method(req, method);
	return 0;
}

/* Checks and sets the path: absolute, bounded, no control characters. */
static int
set_path(struct request *req, const char *path, char **cause)
{
	size_t n;

	if (path == NULL || *path == '\0')
		return cause_set(cause, "event has no path");
	if (*path != '/')
		return cause_set(cause, "event's path does not start with '/'");
	n = strlen(path);
	if (n > EVENTS_MAX_PATH_BYTES)
		return cause_set(cause, "event's path is too long");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return cause_set(cause, "event's path holds a control character");
	request_set_path(req, path);
	return 0;
}

/* Sets the raw query string after a length check. */
static int
set_query(struct request *req, const char *raw, char **cause)
{
	if (raw == NULL)
		return 0;
	if (strlen(raw) > EVENTS_MAX_QUERY_BYTES)
		return cause_set(cause, "event's query string is too long");
	request_set_query(req, raw);
	return 0;
}

/* Decodes (when base64) and stores the body; oversize bodies only flag it. */
static int
set_body(struct request *req, json_object *root, char **cause)
{
	json_object *body, *b64;
	const char *text;
	size_t len, outlen;
	unsigned char *raw;

	if (!json_object_object_get_ex(root, "body", &body) || body == NULL)
		return 0;
	if (!json_object_is_type(body, json_type_string))
		return cause_set(cause, "event's body is not a string");
	if (wrong_type(root, "isBase64Encoded", json_type_boolean))
		return cause_set(cause, "event's isBase64Encoded is not a boolean");
	text = json_object_get_string(body);
	len = (size_t)json_object_get_string_len(body);
	if (!json_object_object_get_ex(root, "isBase64Encoded", &b64) || b64 == NULL ||
	    !json_object_get_boolean(b64)) {
		request_set_body(req, text, len);
		return 0;
	}
	if (len > EVENTS_MAX_BASE64_BYTES) {
		req->body_too_large = true;
		return 0;
	}
	raw = base64_decode(text, len, &outlen);
	if (raw == NULL)
		return cause_set(cause, "event's body is marked base64 but is not valid base64");
	request_set_body(req, (const char *)raw, outlen);
	free(raw);
	return 0;
}

/* Adds every member of a {name: "value"} object as a header. */
static int
add_headers(struct request *req, json_object *headers, const char *skip, char **cause)
{
	if (headers == NULL)
		return 0;
	json_object_object_foreach(headers, name, value) {
		if (value == NULL)
			continue;
		if (!json_object_is_type(value, json_type_string))
			return cause_set(cause, "event's header \"%.64s\" is not a string", name);
		if ((skip != NULL && ascii_casecmp(name, skip) == 0) || has_nul(value))
			continue;	/* a value with a NUL is no header value */
		request_add_header(req, name, json_object_get_string(value));
	}
	return 0;
}

/* Adds every value of a {name: ["v1", "v2"]} object as a header. */
static int
add_multi_headers(struct request *req, json_object *headers, char **cause)
{
	json_object_object_foreach(headers, name, values) {
		if (values == NULL)
			continue;
		if (!json_object_is_type(values, json_type_array))
			return cause_set(cause, "event's multiValueHeaders \"%.64s\" is not a list", name);
		for (size_t i = 0; i < json_object_array_length(values); i++) {
			json_object *v = json_object_array_get_idx(values, i);

			if (!json_object_is_type(v, json_type_string))
				return cause_set(cause, "event's header \"%.64s\" is not a string", name);
			if (!has_nul(v))
				request_add_header(req, name, json_object_get_string(v));
		}
	}
	return 0;
}

/* Appends name=value to a raw query, both percent-encoded; a NUL in the
 * value is kept as %00, which the query parser then refuses naming it. */
static void
query_append(struct buf *q, const char *name, json_object *value)
{
	const char *v = json_object_get_string(value), *end = v + json_object_get_string_len(value);
	char *n = percent_encode(name, true), *part;

	if (q->len > 0)
		buf_append(q, "&", 1);
	buf_printf(q, "%s=", n);
	for (;;) {
		part = percent_encode(v, true);
		buf_puts(q, part);
		free(part);
		v += strlen(v);
		if (v >= end)
			break;
		buf_puts(q, "%00");
		v++;
	}
	free(n);
}

/* Rebuilds a raw query from REST API 1.0's decoded parameter objects. */
static int
v1_query(struct request *req, json_object *root, char **cause)
{
	json_object *multi = get_object(root, "multiValueQueryStringParameters");
	json_object *single = get_object(root, "queryStringParameters");
	struct buf q = BUF_INIT;
	int rc;

	if (multi != NULL) {
		json_object_object_foreach(multi, name, values) {
			if (values == NULL)
				continue;
			if (!json_object_is_type(values, json_type_array)) {
				buf_free(&q);
				return cause_set(cause, "event's multiValueQueryStringParameters \"%.64s\" is not a list", name);
			}
			for (size_t i = 0; i < json_object_array_length(values); i++) {
				json_object *v = json_object_array_get_idx(values, i);

				if (!json_object_is_type(v, json_type_string)) {
					buf_free(&q);
					return cause_set(cause, "event's query parameter \"%.64s\" is not a string", name);
				}
				query_append(&q, name, v);
			}
		}
	} else if (single != NULL) {
		json_object_object_foreach(single, name, value) {
			if (value == NULL)
				continue;
			if (!json_object_is_type(value, json_type_string)) {
				buf_free(&q);
				return cause_set(cause, "event's query parameter \"%.64s\" is not a string", name);
			}
			query_append(&q, name, value);
		}
	}
	rc = set_query(req, q.len > 0 ? q.data : "", cause);
	buf_free(&q);
	return rc;
}

/* Stores the caller's address when the event carries one. */
static void
set_remote(struct request *req, const char *ip)
{
	if (ip == NULL || *ip == '\0')
		return;
	free(req->remote_addr);
	req->remote_addr = xstrdup(ip);
}

/* HTTP API payload 2.0 and Function URL events. */
static int
from_v2(json_object *root, struct request *req, char **cause)
{
	json_object *ctx = get_object(root, "requestContext");
	json_object *http = get_object(ctx, "http");
	json_object *cookies;
	const char *path, *stage;
	size_t stage_len;
	char *stripped = NULL;
	int rc;

	if (http == NULL)
		return cause_set(cause, "event (version 2.0) has no requestContext.http");
	if (set_method(req, get_string(http, "method"), cause) == -1)
		return -1;
	path = get_string(root, "rawPath");
	if (path == NULL)
		path = get_string(http, "path");
	/* A named stage (not $default) prefixes rawPath: the routes do not know it. */
	stage = get_string(ctx, "stage");
	if (path != NULL && stage != NULL && *stage != '\0' && strcmp(stage, "$default") != 0) {
		stage_len = strlen(stage);
		if (path[0] == '/' && strncmp(path + 1, stage, stage_len) == 0 &&
		    (path[1 + stage_len] == '/' || path[1 + stage_len] == '\0')) {
			stripped = xstrdup(path[1 + stage_len] == '\0' ? "/" : path + 1 + stage_len);
			path = stripped;
		}
	}
	rc = set_path(req, path, cause);
	free(stripped);
	if (rc == -1)
		return -1;
	if (wrong_type(root, "rawQueryString", json_type_string))
		return cause_set(cause, "event's rawQueryString is not a string");
	if (set_query(req, get_string(root, "rawQueryString"), cause) == -1)
		return -1;
	if (wrong_type(root, "headers", json_type_object))
		return cause_set(cause, "event's headers is not an object");
	if (wrong_type(root, "cookies", json_type_array))
		return cause_set(cause, "event's cookies is not a list");
	cookies = NULL;
	json_object_object_get_ex(root, "cookies", &cookies);
	/* cookies[] is authoritative: a cookie header beside it is ignored. */
	if (add_headers(req, get_object(root, "headers"), cookies != NULL ? "cookie" : NULL, cause) == -1)
		return -1;
	if (cookies != NULL && json_object_array_length(cookies) > 0) {
		struct buf c = BUF_INIT;

		for (size_t i = 0; i < json_object_array_length(cookies); i++) {
			json_object *v = json_object_array_get_idx(cookies, i);

			if (!json_object_is_type(v, json_type_string)) {
				buf_free(&c);
				return cause_set(cause, "event's cookies hold a value that is not a string");
			}
			if (c.len > 0)
				buf_puts(&c, "; ");
			buf_puts(&c, json_object_get_string(v));
		}
		request_add_header(req, "cookie", c.data);
		buf_free(&c);
	}
	set_remote(req, get_string(http, "sourceIp"));
	return set_body(req, root, cause);
}

/* REST API payload 1.0 events. */
static int
from_v1(json_object *root, struct request *req, char **cause)
{
	json_object *ctx = get_object(root, "requestContext");
	json_object *multi;

	if (set_method(req, get_string(root, "httpMethod"), cause) == -1)
		return -1;
	if (wrong_type(root, "path", json_type_string))
		return cause_set(cause, "event's path is not a string");
	if (set_path(req, get_string(root, "path"), cause) == -1)
		return -1;
	if (wrong_type(root, "multiValueQueryStringParameters", json_type_object) ||
	    wrong_type(root, "queryStringParameters", json_type_object))
		return cause_set(cause, "event's query string parameters are not an object");
	if (v1_query(req, root, cause) == -1)
		return -1;
	if (wrong_type(root, "multiValueHeaders", json_type_object) ||
	    wrong_type(root, "headers", json_type_object))
		return cause_set(cause, "event's headers are not an object");
	multi = get_object(root, "multiValueHeaders");
	if (multi != NULL) {
		if (add_multi_headers(req, multi, cause) == -1)
			return -1;
	} else if (add_headers(req, get_object(root, "headers"), NULL, cause) == -1)
		return -1;
	set_remote(req, get_string(get_object(ctx, "identity"), "sourceIp"));
	return set_body(req, root, cause);
}

/* Translates an event into req; see events.h. */
int
events_to_request(const char *event, size_t len, struct request *req,
    enum events_format *format, char **cause)
{
	json_object *root;
	const char *version;
	int rc;

	*cause = NULL;
	if (event == NULL || len == 0)
		return cause_set(cause, "event is empty");
	if ((root = parse_event(event, len, cause)) == NULL)
		return -1;
	version = get_string(root, "version");
	if (version != NULL && strcmp(version, "2.0") == 0) {
		*format = EVENTS_FORMAT_V2;
		rc = from_v2(root, req, cause);
	} else if (json_object_object_get_ex(root, "httpMethod", NULL)) {
		*format = EVENTS_FORMAT_V1;
		rc = from_v1(root, req, cause);
	} else
		rc = cause_set(cause, "event is not an API Gateway or Function URL HTTP event "
		    "(neither \"version\": \"2.0\" nor \"httpMethod\") nor an EventBridge "
		    "scheduled event (\"source\": \"aws.events\", \"detail-type\": \"Scheduled Event\")");
	json_object_put(root);
	return rc;
}

/* "source": "aws.events" and "detail-type": "Scheduled Event", detail.days optional. */
int
events_scheduled(const char *event, size_t len, long def_days, long max_days,
    long *days, char **cause)
{
	json_object *root, *detail, *v;
	const char *source, *type;
	char *ignored = NULL;
	int rc = 1;

	*cause = NULL;
	*days = def_days;
	if (event == NULL || len == 0 || (root = parse_event(event, len, &ignored)) == NULL) {
		free(ignored);
		return 0;
	}
	source = get_string(root, "source");
	type = get_string(root, "detail-type");
	if (source == NULL || type == NULL || strcmp(source, "aws.events") != 0 ||
	    strcmp(type, "Scheduled Event") != 0) {
		json_object_put(root);
		return 0;
	}
	detail = get_object(root, "detail");
	if (detail != NULL && json_object_object_get_ex(detail, "days", &v)) {
		int64_t n;

		if (!json_object_is_type(v, json_type_int) || (n = json_object_get_int64(v)) < 1 ||
		    n > max_days)
			rc = cause_set(cause, "scheduled event: detail.days must be an integer from 1 to %ld", max_days);
		else
			*days = (long)n;
	}
	json_object_put(root);
	return rc;
}

/* True for a Set-Cookie header name. */
static bool
is_set_cookie(const char *name)
{
	return ascii_casecmp(name, "set-cookie") == 0;
}

/* Number of headers in res named like res->headers[i] (case-insensitive). */
static size_t
header_count(const struct response *res, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < res->nheaders; i++)
		if (ascii_casecmp(res->headers[i].name, name) == 0)
			n++;
	return n;
}

/* True when an earlier header has the same name as res->headers[i]. */
static bool
header_seen_before(const struct response *res, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (ascii_casecmp(res->headers[k].name, res->headers[i].name) == 0)
			return true;
	return false;
}

/* All values of a header joined with ", " (caller frees). */
static char *
header_joined(const struct response *res, const char *name)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < res->nheaders; i++) {
		if (ascii_casecmp(res->headers[i].name, name) != 0)
			continue;
		if (b.len > 0)
			buf_puts(&b, ", ");
		buf_puts(&b, res->headers[i].value ? res->headers[i].value : "");
	}
	if (b.data == NULL)
		buf_puts(&b, "");
	return buf_steal(&b);
}

/* Adds body and isBase64Encoded: text when UTF-8, else base64. */
static void
add_body(json_object *out, const struct response *res)
{
	const char *data = res->body.data ? res->body.data : "";
	size_t len = res->body.data ? res->body.len : 0;

	if (utf8_valid(data, len) && memchr(data, '\0', len) == NULL) {
		json_object_object_add(out, "body", json_object_new_string_len(data, (int)len));
		json_object_object_add(out, "isBase64Encoded", json_object_new_boolean(false));
	} else {
		char *b64 = base64_encode((const unsigned char *)data, len);

		json_object_object_add(out, "body", json_object_new_string(b64));
		json_object_object_add(out, "isBase64Encoded", json_object_new_boolean(true));
		free(b64);
	}
}

/* HTTP API 2.0 / Function URL response: headers joined, Set-Cookie in cookies[]. */
static json_object *
to_v2(const struct response *res)
{
	json_object *out = json_object_new_object();
	json_object *headers = json_object_new_object();
	json_object *cookies = json_object_new_array();

	json_object_object_add(out, "statusCode", json_object_new_int(res->status));
	for (size_t i = 0; i < res->nheaders; i++) {
		const struct kv *h = &res->headers[i];

		if (is_set_cookie(h->name)) {
			json_object_array_add(cookies, json_object_new_string(h->value ? h->value : ""));
			continue;
		}
		if (header_seen_before(res, i))
			continue;
		char *v = header_joined(res, h->name);
		json_object_object_add(headers, h->name, json_object_new_string(v));
		free(v);
	}
	json_object_object_add(out, "headers", headers);
	json_object_object_add(out, "cookies", cookies);
	add_body(out, res);
	return out;
}

/* REST API 1.0 response: single headers, repeated ones in multiValueHeaders. */
static json_object *
to_v1(const struct response *res)
{
	json_object *out = json_object_new_object();
	json_object *headers = json_object_new_object();
	json_object *multi = json_object_new_object();

	json_object_object_add(out, "statusCode", json_object_new_int(res->status));
	for (size_t i = 0; i < res->nheaders; i++) {
		const struct kv *h = &res->headers[i];
		json_object *list;

		if (header_seen_before(res, i))
			continue;
		if (header_count(res, h->name) == 1 && !is_set_cookie(h->name)) {
			json_object_object_add(headers, h->name,
			    json_object_new_string(h->value ? h->value : ""));
			continue;
		}
		list = json_object_new_array();
		for (size_t k = i; k < res->nheaders; k++)
			if (ascii_casecmp(res->headers[k].name, h->name) == 0)
				json_object_array_add(list, json_object_new_string(
				    res->headers[k].value ? res->headers[k].value : ""));
		json_object_object_add(multi, h->name, list);
	}
	json_object_object_add(out, "headers", headers);
	if (json_object_object_length(multi) > 0)
		json_object_object_add(out, "multiValueHeaders", multi);
	else
		json_object_put(multi);
	add_body(out, res);
	return out;
}

/* Serialises the response for the event's source; see events.h. */
char *
events_from_response(const struct response *res, enum events_format format, size_t *len)
{
	json_object *out = format == EVENTS_FORMAT_V1 ? to_v1(res) : to_v2(res);
	size_t n;
	const char *text = json_object_to_json_string_length(out,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	char *copy = xstrndup(text, n);

	json_object_put(out);
	if (len != NULL)
		*len = n;
	return copy;
}

/* "1.0" or "2.0". */
const char *
events_format_name(enum events_format format)
{
	return format == EVENTS_FORMAT_V1 ? "1.0" : "2.0";
}
