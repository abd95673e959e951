/* events_test.c - Lambda event translation on recorded events (tests/data/lambda)
 * and the response shapes for HTTP API 2.0 and REST API 1.0. No store needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "config.h"
#include "emf.h"
#include "events.h"
#include "log.h"
#include "http.h"
#include "util.h"

#define MAX_EVENT_FILE_BYTES	(1024 * 1024)

/* Reads tests/data/lambda/<name> into a string (caller frees); fails the test when absent. */
static char *
read_event(const char *name, size_t *len)
{
	const char *top = config_env("top_srcdir");
	char *path = xasprintf("%s/tests/data/lambda/%s", top ? top : ".", name);
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		fail_msg("cannot open %s (is top_srcdir set?)", path);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < MAX_EVENT_FILE_BYTES)
		buf_append(&b, chunk, n);
	fclose(f);
	free(path);
	*len = b.len;
	return buf_steal(&b);
}

/* Translates a recorded event; asserts the outcome rc. */
static void
translate_file(const char *name, struct request *req, enum events_format *format,
    int want_rc, char **cause)
{
	size_t len;
	char *text = read_event(name, &len);
	int rc;

	request_init(req);
	*cause = NULL;
	rc = events_to_request(text, len, req, format, cause);
	if (rc != want_rc)
		fail_msg("%s: rc %d, want %d (%s)", name, rc, want_rc, *cause ? *cause : "");
	free(text);
}

/* Translates an inline event string. */
static int
translate_text(const char *text, struct request *req, enum events_format *format, char **cause)
{
	request_init(req);
	*cause = NULL;
	return events_to_request(text, strlen(text), req, format, cause);
}

static void
test_v2_health(void **state)
{
	struct request req;
	enum events_format format = EVENTS_FORMAT_V1;
	char *cause;

	(void)state;
	translate_file("v2_get_health.json", &req, &format, 0, &cause);
	assert_int_equal(format, EVENTS_FORMAT_V2);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.path, "/api/health");
	assert_int_equal(req.nquery, 0);
	assert_string_equal(request_header(&req, "host"), "abc123def4.execute-api.us-east-1.amazonaws.com");
	assert_string_equal(request_header(&req, "user-agent"), "curl/8.5.0");
	assert_string_equal(req.remote_addr, "203.0.113.7");
	assert_null(req.body);
	assert_false(req.body_too_large);
	request_reset(&req);
}

static void
test_v2_query_cookies(void **state)
{
	struct request req;
	enum events_format format;
	char *cause;

	(void)state;
	translate_file("v2_get_deliverables.json", &req, &format, 0, &cause);
	assert_int_equal(format, EVENTS_FORMAT_V2);
	assert_string_equal(req.path, "/api/deliverables");
	assert_string_equal(req.raw_query, "month=2");
	assert_string_equal(request_query(&req, "month"), "2");
	assert_int_equal(req.nquery, 1);
	assert_false(req.query_bad);
	assert_string_equal(request_header(&req, "cookie"), "session=abc123; theme=dark");
	assert_string_equal(request_header(&req, "accept"), "application/json, text/plain, */*");
	assert_string_equal(request_header(&req, "authorization"), "Bearer @CLIENT_TOKEN@");
	assert_string_equal(request_header(&req, "x-request-id"), "lambda-test-deliverables-1");
	assert_string_equal(req.remote_addr, "198.51.100.23");
	request_reset(&req);
}

static void
test_v2_post_json(void **state)
{
	struct request req;
	enum events_format format;
	char *cause;
	json_object *body;

	(void)state;
	translate_file("v2_post_update.json", &req, &format, 0, &cause);
	assert_string_equal(req.method, "POST");
	assert_string_equal(request_header(&req, "content-type"), "application/json");
	assert_non_null(req.body);
	assert_int_equal(req.body_len, strlen(req.body));
	body = json_tokener_parse(req.body);
	assert_non_null(body);
	assert_string_equal(json_object_get_string(json_object_object_get(body, "type")), "milestone");
	assert_int_equal(json_object_get_int(json_object_object_get(body, "deliverable_id")), 6);
	json_object_put(body);
	request_reset(&req);
}

static void
test_v2_post_base64(void **state)
{
	struct request req;
	enum events_format format;
	char *cause;
	json_object *body;

	(void)state;
	translate_file("v2_post_base64.json", &req, &format, 0, &cause);
	assert_string_equal(req.method, "POST");
	assert_non_null(req.body);
	assert_true(utf8_valid(req.body, req.body_len));
	assert_non_null(strstr(req.body, "caf\xc3\xa9"));
	body = json_tokener_parse(req.body);
	assert_non_null(body);
	assert_string_equal(json_object_get_string(json_object_object_get(body, "title")),
	    "Base64 \xe2\x9c\x93 update");
	json_object_put(body);
	request_reset(&req);
}

static void
test_v1_rest(void **state)
{
	struct request req;
	enum events_format format = EVENTS_FORMAT_V2;
	char *cause;

	(void)state;
	translate_file("v1_get_deliverables.json", &req, &format, 0, &cause);
	assert_int_equal(format, EVENTS_FORMAT_V1);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.path, "/api/deliverables");
	assert_string_equal(request_query(&req, "month"), "1");
	assert_string_equal(request_query(&req, "status"), "COMPLETED");
	assert_int_equal(req.nquery, 2);
	/* multiValueHeaders wins over headers: no value is doubled. */
	assert_string_equal(request_header(&req, "authorization"), "Bearer @CLIENT_TOKEN@");
	assert_string_equal(request_header(&req, "accept"), "application/json");
	assert_string_equal(req.remote_addr, "192.0.2.44");
	assert_null(req.body);
	request_reset(&req);
}

static void
test_function_url(void **state)
{
	struct request req;
	enum events_format format;
	char *cause;

	(void)state;
	translate_file("furl_get_me.json", &req, &format, 0, &cause);
	assert_int_equal(format, EVENTS_FORMAT_V2);
	assert_string_equal(req.path, "/api/users/me");
	assert_string_equal(req.remote_addr, "203.0.113.99");
	assert_string_equal(request_header(&req, "authorization"), "Bearer @TEAM_TOKEN@");
	request_reset(&req);
}

static void
test_v2_named_stage(void **state)
{
	struct request req;
	enum events_format format;
	char *cause;

	(void)state;
	translate_file("v2_get_health_stage.json", &req, &format, 0, &cause);
	assert_string_equal(req.path, "/api/health");
	request_reset(&req);
}

static void
test_not_understood(void **state)
{
	struct request req;
	enum events_format format;
	char *cause;

	(void)state;
	translate_file("malformed_truncated.json", &req, &format, -1, &cause);
	assert_non_null(strstr(cause, "not valid JSON"));
	free(cause);
	request_reset(&req);

	translate_file("not_http_s3.json", &req, &format, -1, &cause);
	assert_non_null(strstr(cause, "not an API Gateway"));
	free(cause);
	request_reset(&req);
}

static void
test_bad_inline_events(void **state)
{
	static const struct {
		const char *event;
		const char *cause;
	} cases[] = {
		{ "", "empty" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"version\":\"2.0\"} x", "data after" },
		{ "{\"version\":\"2.0\",\"rawPath\":\"/api/health\"}", "requestContext.http" },
		{ "{\"version\":\"2.0\",\"rawPath\":\"/api/health\",\"requestContext\":{\"http\":{}}}", "no HTTP method" },
		{ "{\"version\":\"2.0\",\"requestContext\":{\"http\":{\"method\":\"GET\"}}}", "no path" },
		{ "{\"version\":\"2.0\",\"rawPath\":\"api\",\"requestContext\":{\"http\":{\"method\":\"GET\"}}}", "'/'" },
		{ "{\"version\":\"2.0\",\"rawPath\":\"/a\",\"requestContext\":{\"http\":{\"method\":\"G T\"}}}", "not a token" },
		{ "{\"version\":\"2.0\",\"rawPath\":\"/a\",\"requestContext\":{\"http\":{\"method\":\"GET\"}},\"headers\":{\"a\":1}}", "not a string" },
		{ "{\"version\":\"2.0\",\"rawPath\":\"/a\",\"requestContext\":{\"http\":{\"method\":\"GET\"}},\"headers\":[]}", "headers" },
		{ "{\"version\":\"2.0\",\"rawPath\":\"/a\",\"requestContext\":{\"http\":{\"method\":\"POST\"}},\"body\":\"***\",\"isBase64Encoded\":true}", "base64" },
		{ "{\"version\":\"2.0\",\"rawPath\":\"/a\",\"requestContext\":{\"http\":{\"method\":\"POST\"}},\"body\":7}", "body is not a string" },
		{ "{\"httpMethod\":\"GET\"}", "no path" },
		{ "{\"httpMethod\":\"GET\",\"path\":\"/a\",\"multiValueHeaders\":{\"A\":\"b\"}}", "not a list" },
		{ "{\"httpMethod\":\"GET\",\"path\":\"/a\",\"queryStringParameters\":{\"a\":[1]}}", "not a string" },
	};
	struct request req;
	enum events_format format;
	char *cause;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		if (translate_text(cases[i].event, &req, &format, &cause) != -1)
			fail_msg("case %zu accepted: %s", i, cases[i].event);
		assert_non_null(cause);
		if (strstr(cause, cases[i].cause) == NULL)
			fail_msg("case %zu: cause \"%s\" lacks \"%s\"", i, cause, cases[i].cause);
		free(cause);
		request_reset(&req);
	}
}

static void
test_v1_single_query_encoding(void **state)
{
	const char *event = "{\"httpMethod\":\"get\",\"path\":\"/api/x\","
	    "\"queryStringParameters\":{\"q\":\"a b&c=d+e\",\"e\":\"\\u00e9\"},"
	    "\"headers\":{\"X-One\":\"1\"},\"body\":\"\",\"isBase64Encoded\":false}";
	struct request req;
	enum events_format format;
	char *cause;

	(void)state;
	assert_int_equal(translate_text(event, &req, &format, &cause), 0);
	assert_string_equal(req.method, "GET");
	assert_string_equal(request_query(&req, "q"), "a b&c=d+e");
	assert_string_equal(request_query(&req, "e"), "\xc3\xa9");
	assert_string_equal(request_header(&req, "x-one"), "1");
	assert_non_null(req.body);
	assert_int_equal(req.body_len, 0);
	request_reset(&req);
}

/* A NUL inside an event's strings is never cut off: a query value keeps it
 * (and the query is then refused naming it), a header with one is dropped. */
static void
test_v1_nul_in_strings(void **state)
{
	const char *event = "{\"httpMethod\":\"GET\",\"path\":\"/api/deliverables\","
	    "\"queryStringParameters\":{\"month\":\"1\\u0000x\"},"
	    "\"headers\":{\"Authorization\":\"Bearer abc\\u0000junk\",\"X-One\":\"1\"},"
	    "\"body\":\"\",\"isBase64Encoded\":false}";
	struct request req;
	enum events_format format;
	char *cause;

	(void)state;
	assert_int_equal(translate_text(event, &req, &format, &cause), 0);
	assert_true(req.query_bad);
	assert_non_null(req.query_bad_param);
	assert_string_equal(req.query_bad_param, "month");
	assert_null(request_header(&req, "authorization"));
	assert_string_equal(request_header(&req, "x-one"), "1");
	request_reset(&req);
}

static void
test_v2_raw_query_encoded(void **state)
{
	const char *event = "{\"version\":\"2.0\",\"rawPath\":\"/api/users/auth0%7Cabc\","
	    "\"rawQueryString\":\"q=a%20b%26c&month=%32&flag\","
	    "\"requestContext\":{\"http\":{\"method\":\"GET\"}}}";
	struct request req;
	enum events_format format;
	char *cause;

	(void)state;
	assert_int_equal(translate_text(event, &req, &format, &cause), 0);
	/* The path stays raw: the router decodes segment by segment. */
	assert_string_equal(req.path, "/api/users/auth0%7Cabc");
	assert_string_equal(req.raw_query, "q=a%20b%26c&month=%32&flag");
	assert_string_equal(request_query(&req, "q"), "a b&c");
	assert_string_equal(request_query(&req, "month"), "2");
	assert_string_equal(request_query(&req, "flag"), "");
	assert_null(req.remote_addr);
	request_reset(&req);
}

static void
test_body_too_large(void **state)
{
	struct buf ev = BUF_INIT;
	struct request req;
	enum events_format format;
	char *cause;

	(void)state;
	/* Plain text one byte over the limit. */
	buf_puts(&ev, "{\"version\":\"2.0\",\"rawPath\":\"/api/updates\",\"requestContext\":{\"http\":{\"method\":\"POST\"}},\"body\":\"");
	for (size_t i = 0; i < MAX_BODY_BYTES + 1; i++)
		buf_append(&ev, "a", 1);
	buf_puts(&ev, "\"}");
	assert_int_equal(translate_text(ev.data, &req, &format, &cause), 0);
	assert_true(req.body_too_large);
	assert_null(req.body);
	request_reset(&req);

	/* Base64 text that decodes to more than the limit. */
	buf_reset(&ev);
	buf_puts(&ev, "{\"version\":\"2.0\",\"rawPath\":\"/api/updates\",\"requestContext\":{\"http\":{\"method\":\"POST\"}},\"isBase64Encoded\":true,\"body\":\"");
	for (size_t i = 0; i < EVENTS_MAX_BASE64_BYTES + 4; i++)
		buf_append(&ev, "A", 1);
	buf_puts(&ev, "\"}");
	assert_int_equal(translate_text(ev.data, &req, &format, &cause), 0);
	assert_true(req.body_too_large);
	request_reset(&req);

	/* Exactly at the limit is fine. */
	buf_reset(&ev);
	buf_puts(&ev, "{\"version\":\"2.0\",\"rawPath\":\"/api/updates\",\"requestContext\":{\"http\":{\"method\":\"POST\"}},\"body\":\"");
	for (size_t i = 0; i < MAX_BODY_BYTES; i++)
		buf_append(&ev, "a", 1);
	buf_puts(&ev, "\"}");
	assert_int_equal(translate_text(ev.data, &req, &format, &cause), 0);
	assert_false(req.body_too_large);
	assert_int_equal(req.body_len, MAX_BODY_BYTES);
	request_reset(&req);
	buf_free(&ev);
}

/* Adds a header without replacing one of the same name (as a transport might). */
static void
add_raw_header(struct response *res, const char *name, const char *value)
{
	res->headers[res->nheaders].name = xstrdup(name);
	res->headers[res->nheaders].value = xstrdup(value);
	res->nheaders++;
}

/* Parses the serialised response; asserts it is a JSON object. */
static json_object *
serialise(const struct response *res, enum events_format format)
{
	size_t len;
	char *text = events_from_response(res, format, &len);
	json_object *o = json_tokener_parse(text);

	assert_int_equal(len, strlen(text));
	assert_non_null(o);
	free(text);
	return o;
}

static void
test_response_v2(void **state)
{
	struct response res;
	json_object *o, *h, *cookies;

	(void)state;
	response_init(&res);
	res.status = 201;
	response_set_header(&res, "Content-Type", "application/json; charset=utf-8");
	response_set_header(&res, "Location", "/api/updates/01J");
	add_raw_header(&res, "Vary", "Origin");
	add_raw_header(&res, "Vary", "Accept-Encoding");
	add_raw_header(&res, "Set-Cookie", "a=1; Secure");
	add_raw_header(&res, "Set-Cookie", "b=2; HttpOnly");
	buf_puts(&res.body, "{\"id\":\"01J\",\"title\":\"caf\xc3\xa9\"}");
	o = serialise(&res, EVENTS_FORMAT_V2);
	assert_int_equal(json_object_get_int(json_object_object_get(o, "statusCode")), 201);
	h = json_object_object_get(o, "headers");
	assert_string_equal(json_object_get_string(json_object_object_get(h, "Location")), "/api/updates/01J");
	assert_string_equal(json_object_get_string(json_object_object_get(h, "Vary")), "Origin, Accept-Encoding");
	assert_null(json_object_object_get(h, "Set-Cookie"));
	cookies = json_object_object_get(o, "cookies");
	assert_int_equal(json_object_array_length(cookies), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(cookies, 1)), "b=2; HttpOnly");
	assert_false(json_object_get_boolean(json_object_object_get(o, "isBase64Encoded")));
	assert_string_equal(json_object_get_string(json_object_object_get(o, "body")),
	    "{\"id\":\"01J\",\"title\":\"caf\xc3\xa9\"}");
	json_object_put(o);
	response_reset(&res);
}

static void
test_response_v1(void **state)
{
	struct response res;
	json_object *o, *h, *m;

	(void)state;
	response_init(&res);
	response_empty(&res, 204);
	response_set_header(&res, "X-Request-Id", "r-1");
	add_raw_header(&res, "Set-Cookie", "a=1");
	o = serialise(&res, EVENTS_FORMAT_V1);
	assert_int_equal(json_object_get_int(json_object_object_get(o, "statusCode")), 204);
	h = json_object_object_get(o, "headers");
	assert_string_equal(json_object_get_string(json_object_object_get(h, "X-Request-Id")), "r-1");
	m = json_object_object_get(o, "multiValueHeaders");
	assert_non_null(m);
	assert_int_equal(json_object_array_length(json_object_object_get(m, "Set-Cookie")), 1);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "body")), "");
	assert_null(json_object_object_get(o, "cookies"));
	json_object_put(o);
	response_reset(&res);

	/* No repeated header: no multiValueHeaders at all. */
	response_init(&res);
	response_set_header(&res, "Content-Type", "application/json; charset=utf-8");
	buf_puts(&res.body, "{}");
	o = serialise(&res, EVENTS_FORMAT_V1);
	assert_null(json_object_object_get(o, "multiValueHeaders"));
	assert_int_equal(json_object_get_int(json_object_object_get(o, "statusCode")), 200);
	json_object_put(o);
	response_reset(&res);
}

static void
test_response_binary_body(void **state)
{
	static const unsigned char bin[] = { 0xff, 0x00, 0x01, 0xc3 };
	struct response res;
	json_object *o;
	unsigned char *back;
	size_t n;
	const char *b64;

	(void)state;
	response_init(&res);
	buf_append(&res.body, bin, sizeof bin);
	o = serialise(&res, EVENTS_FORMAT_V2);
	assert_true(json_object_get_boolean(json_object_object_get(o, "isBase64Encoded")));
	b64 = json_object_get_string(json_object_object_get(o, "body"));
	back = base64_decode(b64, strlen(b64), &n);
	assert_non_null(back);
	assert_int_equal(n, sizeof bin);
	assert_memory_equal(back, bin, sizeof bin);
	free(back);
	json_object_put(o);
	response_reset(&res);
}

/* The names used in log lines. */
static void
test_format_names(void **state)
{
	(void)state;
	assert_string_equal(events_format_name(EVENTS_FORMAT_V1), "1.0");
	assert_string_equal(events_format_name(EVENTS_FORMAT_V2), "2.0");
}


/* EventBridge scheduled events are recognised; other events are not theirs. */
static void
test_scheduled_events(void **state)
{
	static const char *const not_scheduled[] = {
		"v2_get_health.json", "v1_get_deliverables.json", "not_http_s3.json",
		"eventbridge_other.json", "malformed_truncated.json",
	};
	char *event, *cause = NULL;
	size_t len;
	long days = 0;

	(void)state;
	event = read_event("scheduled_digest.json", &len);
	assert_int_equal(events_scheduled(event, len, 7, 90, &days, &cause), 1);
	assert_null(cause);
	assert_int_equal(days, 7);
	free(event);
	for (size_t i = 0; i < sizeof not_scheduled / sizeof not_scheduled[0]; i++) {
		event = read_event(not_scheduled[i], &len);
		assert_int_equal(events_scheduled(event, len, 7, 90, &days, &cause), 0);
		assert_null(cause);
		free(event);
	}
}

/* detail.days picks the period; a bad one is an error naming it. */
static void
test_scheduled_detail_days(void **state)
{
	static const char base[] =
	    "{\"source\":\"aws.events\",\"detail-type\":\"Scheduled Event\",\"detail\":%s}";
	static const char *const bad[] = { "{\"days\":0}", "{\"days\":91}", "{\"days\":\"7\"}",
	    "{\"days\":7.5}", "{\"days\":null}" };
	char *event, *cause = NULL;
	long days = 0;

	(void)state;
	event = xasprintf(base, "{\"days\":30}");
	assert_int_equal(events_scheduled(event, strlen(event), 7, 90, &days, &cause), 1);
	assert_int_equal(days, 30);
	free(event);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		event = xasprintf(base, bad[i]);
		assert_int_equal(events_scheduled(event, strlen(event), 7, 90, &days, &cause), -1);
		assert_non_null(strstr(cause, "detail.days"));
		free(cause);
		cause = NULL;
		free(event);
	}
}

/* The EMF document: the directive, the members it names, the route pattern. */
static void
test_emf_document(void **state)
{
	struct emf_invocation m = { .timestamp_ms = 1796269913541LL, .route = "/api/metrics/{id}",
	    .status = 503, .latency_ms = 12, .ddb_calls = 4, .request_id = "abc", .trace_id = NULL };
	json_object *doc, *aws, *cwm, *dir, *v;
	char *text;

	(void)state;
	text = emf_document(&m);
	assert_null(strchr(text, '\n'));
	doc = json_tokener_parse(text);
	assert_non_null(doc);
	assert_false(json_object_object_get_ex(doc, "level", NULL));
	assert_true(json_object_object_get_ex(doc, "_aws", &aws));
	assert_true(json_object_object_get_ex(aws, "Timestamp", &v));
	assert_int_equal(json_object_get_int64(v), 1796269913541LL);
	assert_true(json_object_object_get_ex(aws, "CloudWatchMetrics", &cwm));
	assert_int_equal(json_object_array_length(cwm), 1);
	dir = json_object_array_get_idx(cwm, 0);
	assert_string_equal(json_object_to_json_string_ext(dir, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "{\"Namespace\":\"TurboTechPortal\",\"Dimensions\":[[\"route\"]],\"Metrics\":["
	    "{\"Name\":\"Requests\",\"Unit\":\"Count\"},{\"Name\":\"Latency\",\"Unit\":\"Milliseconds\"},"
	    "{\"Name\":\"DynamoDBCalls\",\"Unit\":\"Count\"},{\"Name\":\"Errors5xx\",\"Unit\":\"Count\"}]}");
	assert_true(json_object_object_get_ex(doc, "route", &v));
	assert_string_equal(json_object_get_string(v), "/api/metrics/{id}");
	assert_true(json_object_object_get_ex(doc, "Errors5xx", &v));
	assert_int_equal(json_object_get_int(v), 1);
	assert_true(json_object_object_get_ex(doc, "DynamoDBCalls", &v));
	assert_int_equal(json_object_get_int(v), 4);
	assert_false(json_object_object_get_ex(doc, "traceId", NULL));
	json_object_put(doc);
	free(text);

	m.route = NULL;
	m.status = 404;
	text = emf_document(&m);
	doc = json_tokener_parse(text);
	assert_true(json_object_object_get_ex(doc, "route", &v));
	assert_string_equal(json_object_get_string(v), EMF_ROUTE_UNMATCHED);
	assert_true(json_object_object_get_ex(doc, "Errors5xx", &v));
	assert_int_equal(json_object_get_int(v), 0);
	json_object_put(doc);
	free(text);
}

/* Runs log_emit with stderr sent to a temporary file; returns what was written. */
static char *
capture_log(enum log_level level, const char *msg)
{
	FILE *f = tmpfile();
	int saved = dup(2);
	struct buf b = BUF_INIT;
	char chunk[1024];
	size_t n;

	assert_non_null(f);
	dup2(fileno(f), 2);
	log_emit(level, msg, LOG_FIELDS_(LOG_S("k", "v"), LOG_I("n", 3)));
	dup2(saved, 2);
	close(saved);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	if (b.data == NULL)
		buf_puts(&b, "");
	return buf_steal(&b);
}

/* Lambda's JSON shape and the project's, the FATAL threshold. */
static void
test_log_formats(void **state)
{
	char *line;

	(void)state;
	log_set_level(LOG_INFO);
	log_set_invocation("req-1");
	log_set_context("http-1", "Root=1-x");
	log_set_format(LOG_FORMAT_LAMBDA_JSON);
	line = capture_log(LOG_WARN, "careful \"now\"");
	assert_int_equal(strncmp(line, "{\"timestamp\":\"", 14), 0);
	assert_non_null(strstr(line, "Z\",\"level\":\"WARN\",\"message\":\"careful \\\"now\\\"\","
	    "\"requestId\":\"req-1\",\"request_id\":\"http-1\",\"trace_id\":\"Root=1-x\",\"k\":\"v\",\"n\":3}\n"));
	assert_null(strstr(line, "\"msg\""));
	free(line);

	log_set_format(LOG_FORMAT_PORTAL);
	line = capture_log(LOG_INFO, "plain");
	assert_int_equal(strncmp(line, "{\"time\":\"", 9), 0);
	assert_non_null(strstr(line, "\"level\":\"info\",\"msg\":\"plain\",\"request_id\":\"http-1\","
	    "\"aws_request_id\":\"req-1\""));
	free(line);

	log_set_level(LOG_FATAL);
	line = capture_log(LOG_ERROR, "dropped");
	assert_string_equal(line, "");
	free(line);
	log_set_level(LOG_INFO);
	log_set_invocation(NULL);
	log_set_context(NULL, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_health),
		cmocka_unit_test(test_v2_query_cookies),
		cmocka_unit_test(test_v2_post_json),
		cmocka_unit_test(test_v2_post_base64),
		cmocka_unit_test(test_v1_rest),
		cmocka_unit_test(test_function_url),
		cmocka_unit_test(test_v2_named_stage),
		cmocka_unit_test(test_not_understood),
		cmocka_unit_test(test_bad_inline_events),
		cmocka_unit_test(test_v1_single_query_encoding),
		cmocka_unit_test(test_v1_nul_in_strings),
		cmocka_unit_test(test_v2_raw_query_encoded),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_response_v2),
		cmocka_unit_test(test_response_v1),
		cmocka_unit_test(test_response_binary_body),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_scheduled_events),
		cmocka_unit_test(test_scheduled_detail_days),
		cmocka_unit_test(test_emf_document),
		cmocka_unit_test(test_log_formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
