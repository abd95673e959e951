/* http.c - the transport-independent request and response. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "json_write.h"

/* Zeroes a request. */
void
request_init(struct request *req)
{
	memset(req, 0, sizeof *req);
}

/* Frees a name/value array. */
static void
kv_free(struct kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
	}
}

/* Frees everything the request owns and zeroes it. */
void
request_reset(struct request *req)
{
	if (req == NULL)
		return;
	while (req->ndefers > 0) {
		struct request_defer_entry *d = &req->defers[--req->ndefers];

		d->fn(d->arg);
	}
	free(req->defers);
	free(req->method);
	free(req->path);
	free(req->raw_query);
	free(req->query_bad_param);
	kv_free(req->query, req->nquery);
	kv_free(req->headers, req->nheaders);
	free(req->body);
	free(req->remote_addr);
	free(req->trace_id);
	json_object_put(req->create_item);
	json_object_put(req->idempotent_item);
	for (size_t i = 0; i < req->nparams; i++)
		free(req->params[i]);
	if (req->json != NULL)
		json_object_put(req->json);
	request_init(req);
}

/* Registers fn(arg) to run at request_reset, in reverse order. */
void
request_defer(struct request *req, void (*fn)(void *), void *arg)
{
	if (req->ndefers == req->defers_cap) {
		req->defers_cap = req->defers_cap != 0 ? req->defers_cap * 2 : 4;
		req->defers = xrealloc(req->defers, req->defers_cap * sizeof(*req->defers));
	}
	req->defers[req->ndefers].fn = fn;
	req->defers[req->ndefers].arg = arg;
	req->ndefers++;
}

/* Upper-cases and stores the method. */
void
request_set_method(struct request *req, const char *method)
{
	free(req->method);
	req->method = xstrdup(method ? method : "GET");
	for (char *p = req->method; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

/* Stores the path and, when present, parses the query after '?'. */
void
request_set_path(struct request *req, const char *raw_path)
{
	const char *q;

	if (raw_path == NULL || *raw_path == '\0')
		raw_path = "/";
	free(req->path);
	q = strchr(raw_path, '?');
	if (q != NULL) {
		req->path = xstrndup(raw_path, (size_t)(q - raw_path));
		request_set_query(req, q + 1);
	} else
		req->path = xstrdup(raw_path);
}

/* Decodes one part of a query in place; false for a bad escape, %00 or bad UTF-8. */
static bool
query_part_ok(char *part)
{
	return percent_decode_text(part, true) == 0 && utf8_valid(part, strlen(part));
}

/* The name to report for a bad "name=value" pair: decoded when it decodes
 * cleanly, else as written. The caller frees it. */
static char *
query_bad_name(const char *pair, const char *eq)
{
	char *name = eq ? xstrndup(pair, (size_t)(eq - pair)) : xstrdup(pair);
	char *raw = xstrdup(name);

	if (query_part_ok(name) && name[0] != '\0') {
		free(raw);
		return name;
	}
	free(name);
	if (raw[0] == '\0' || !utf8_valid(raw, strlen(raw))) {
		free(raw);
		return xstrdup("query");
	}
	return raw;
}

/* Parses "a=1&b=2" into decoded parameters. */
void
request_set_query(struct request *req, const char *raw_query)
{
	char *copy, *save = NULL;

	kv_free(req->query, req->nquery);
	req->nquery = 0;
	req->query_bad = false;
	free(req->query_bad_param);
	req->query_bad_param = NULL;
	free(req->raw_query);
	req->raw_query = xstrdup(raw_query ? raw_query : "");
	copy = xstrdup(req->raw_query);
	for (char *tok = strtok_r(copy, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');
		char *name, *value;

		if (req->nquery == MAX_QUERY_PARAMS) {
			req->query_bad = true;
			break;
		}
		name = eq ? xstrndup(tok, (size_t)(eq - tok)) : xstrdup(tok);
		value = xstrdup(eq ? eq + 1 : "");
		if (!query_part_ok(name) || !query_part_ok(value)) {
			if (!req->query_bad)
				req->query_bad_param = query_bad_name(tok, eq);
			req->query_bad = true;
		}
		req->query[req->nquery].name = name;
		req->query[req->nquery].value = value;
		req->nquery++;
	}
	free(copy);
}

/* Adds a header with a lower-cased name; repeats are joined with ", ". */
void
request_add_header(struct request *req, const char *name, const char *value)
{
	char *lname = xstrdup(name);

	for (char *p = lname; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (size_t i = 0; i < req->nheaders; i++) {
		if (strcmp(req->headers[i].name, lname) == 0) {
			char *joined = xasprintf("%s, %s", req->headers[i].value, value);
			free(req->headers[i].value);
			req->headers[i].value = joined;
			free(lname);
			return;
		}
	}
	if (req->nheaders == MAX_HEADERS) {
		free(lname);
		return;
	}
	req->headers[req->nheaders].name = lname;
	req->headers[req->nheaders].value = xstrdup(value ? value : "");
	req->nheaders++;
}

/* Copies the body unless it is over the limit. */
void
request_set_body(struct request *req, const char *body, size_t len)
{
	free(req->body);
	req->body = NULL;
	req->body_len = 0;
	if (len > MAX_BODY_BYTES) {
		req->body_too_large = true;
		return;
	}
	req->body = xmalloc(len + 1);
	if (len > 0)
		memcpy(req->body, body, len);
	req->body[len] = '\0';
	req->body_len = len;
}

/* Header by lower-case name. */
const char *
request_header(const struct request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

/* First query value by name. */
const char *
request_query(const struct request *req, const char *name)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (strcmp(req->query[i].name, name) == 0)
			return req->query[i].value;
	return NULL;
}

/* Zeroes a response (status 200). */
void
response_init(struct response *res)
{
	memset(res, 0, sizeof *res);
	res->status = 200;
}

/* Frees everything the response owns. */
void
response_reset(struct response *res)
{
	if (res == NULL)
		return;
	kv_free(res->headers, res->nheaders);
	buf_free(&res->body);
	response_init(res);
}

/* Sets a header, replacing one of the same name (case-insensitive). */
void
response_set_header(struct response *res, const char *name, const char *value)
{
	for (size_t i = 0; i < res->nheaders; i++) {
		if (ascii_casecmp(res->headers[i].name, name) == 0) {
			free(res->headers[i].value);
			res->headers[i].value = xstrdup(value);
			return;
		}
	}
	if (res->nheaders == MAX_HEADERS)
		return;
	res->headers[res->nheaders].name = xstrdup(name);
	res->headers[res->nheaders].value = xstrdup(value);
	res->nheaders++;
}

/* Header value by name, or NULL. */
const char *
response_header(const struct response *res, const char *name)
{
	for (size_t i = 0; i < res->nheaders; i++)
		if (ascii_casecmp(res->headers[i].name, name) == 0)
			return res->headers[i].value;
	return NULL;
}

/* JSON body; consumes obj. */
void
response_json(struct response *res, int status, json_object *obj)
{
	res->status = status;
	buf_reset(&res->body);
	json_write_value(&res->body, obj);	/* json-c's PLAIN | NOSLASHESCAPE text */
	json_object_put(obj);
	response_set_header(res, "Content-Type", "application/json; charset=utf-8");
}

/* The SPEC error body. */
void
response_error(struct response *res, int status, const char *code, const char *fmt, ...)
{
	json_object *err = json_object_new_object(), *root = json_object_new_object();
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(msg));
	json_object_object_add(root, "error", err);
	free(msg);
	response_json(res, status, root);
}

/* No body. */
void
response_empty(struct response *res, int status)
{
	res->status = status;
	buf_reset(&res->body);
}

/* Reason phrases for the statuses we send. */
const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}
