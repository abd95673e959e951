/* core_test.c - unit tests of util, config, http and the router's paths
 * that need no store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "app.h"
#include "auth.h"
#include "config.h"
#include "ddb.h"
#include "handlers.h"
#include "http.h"
#include "json_check.h"
#include "router.h"
#include "util.h"

static void
test_base64url(void **state)
{
	const unsigned char raw[] = { 0xfb, 0xff, 0x00, 'a' };
	size_t n;
	char *enc = base64url_encode(raw, sizeof raw);
	unsigned char *dec;

	(void)state;
	assert_string_equal(enc, "-_8AYQ");
	dec = base64url_decode(enc, strlen(enc), &n);
	assert_non_null(dec);
	assert_int_equal(n, sizeof raw);
	assert_memory_equal(dec, raw, sizeof raw);
	free(dec);
	free(enc);
	assert_null(base64url_decode("ab+c", 4, &n));	/* std alphabet refused */
	assert_null(base64url_decode("abc=", 4, &n));	/* padding refused */
	assert_null(base64url_decode("a", 1, &n));	/* impossible length */
	assert_null(base64url_decode("YR", 2, &n));	/* non-zero leftover bits */
}

static void
test_base64_std(void **state)
{
	size_t n;
	char *enc = base64_encode((const unsigned char *)"hello", 5);
	unsigned char *dec;

	(void)state;
	assert_string_equal(enc, "aGVsbG8=");
	dec = base64_decode(enc, strlen(enc), &n);
	assert_non_null(dec);
	assert_int_equal(n, 5);
	assert_memory_equal(dec, "hello", 5);
	free(dec);
	free(enc);
}

static void
test_percent(void **state)
{
	char s1[] = "auth0%7Cabc", s2[] = "a+b%20c", s3[] = "bad%zz", s4[] = "bad%4";
	char *enc;

	(void)state;
	assert_int_equal(percent_decode(s1, false), 0);
	assert_string_equal(s1, "auth0|abc");
	assert_int_equal(percent_decode(s2, true), 0);
	assert_string_equal(s2, "a b c");
	assert_int_equal(percent_decode(s3, false), -1);
	assert_int_equal(percent_decode(s4, false), -1);
	enc = percent_encode("a b/c~", false);
	assert_string_equal(enc, "a%20b/c~");
	free(enc);
	enc = percent_encode("a/b", true);
	assert_string_equal(enc, "a%2Fb");
	free(enc);
}

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid("plain", 5));
	assert_true(utf8_valid("\xc3\xa9t\xc3\xa9", 6));
	assert_true(utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_false(utf8_valid("\xc3", 1));		/* truncated */
	assert_false(utf8_valid("\xc0\xaf", 2));	/* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(utf8_valid("\xff", 1));
}

static void
test_time(void **state)
{
	char out[21];
	time_t t;

	(void)state;
	time_rfc3339(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	assert_int_equal(time_parse_rfc3339("2026-11-24T15:04:05Z", &t), 0);
	time_rfc3339(t, out);
	assert_string_equal(out, "2026-11-24T15:04:05Z");
	assert_int_equal(time_parse_rfc3339("2026-11-24T15:04:05.123Z", &t), 0);
	assert_int_equal(time_parse_rfc3339("2026-11-24 15:04:05", &t), -1);
	assert_int_equal(time_parse_rfc3339("2026-11-24T15:04:05+02:00", &t), -1);
}

static void
test_parse_long(void **state)
{
	long v;

	(void)state;
	assert_int_equal(parse_long("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_long("0", 1, 100, &v), -1);
	assert_int_equal(parse_long("101", 1, 100, &v), -1);
	assert_int_equal(parse_long("4x", 1, 100, &v), -1);
	assert_int_equal(parse_long("", 1, 100, &v), -1);
	assert_int_equal(parse_long(" 4", 1, 100, &v), -1);
}

static void
test_buf(void **state)
{
	struct buf b = BUF_INIT;
	char *s;

	(void)state;
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.data));
	assert_memory_equal(b.data, "0,1,2,", 6);
	s = buf_steal(&b);
	assert_null(b.data);
	free(s);
	buf_free(&b);
	s = xconcat("a", "", "bc", "/", "d", (char *)NULL);
	assert_string_equal(s, "abc/d");
	free(s);
	s = xconcat("", (char *)NULL);
	assert_string_equal(s, "");
	free(s);
}

static void
test_round1(void **state)
{
	json_object *o;

	(void)state;
	assert_true(round1(42.083333) == 42.1);
	assert_true(round1(0.05) == 0.1);
	assert_true(round1(-0.05) == -0.1);
	assert_true(round1(77.142857) == 77.1);
	assert_true(round1(64.210526) == 64.2);
	o = json_round1(100.0);
	assert_string_equal(json_object_to_json_string(o), "100");
	json_object_put(o);
	o = json_round1(42.0833);
	assert_string_equal(json_object_to_json_string(o), "42.1");
	json_object_put(o);
}

/* Sets a clean environment for config tests. */
static void
config_env_reset(void)
{
	const char *vars[] = { "PORTAL_ENV", "PORTAL_TABLE_PREFIX", "AWS_REGION", "AWS_DEFAULT_REGION",
	    "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AUTH0_DOMAIN", "AUTH0_AUDIENCE",
	    "AUTH_JWKS_URL", "AUTH_ISSUER", "PORTAL_ADMINS", "CORS_ALLOW_ORIGINS", "DIGEST_API_URL",
	    "DIGEST_API_KEY", "DIGEST_MODEL", "LOG_LEVEL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY" };
	for (size_t i = 0; i < ARRAY_LEN(vars); i++)
		unsetenv(vars[i]);
}

static void
test_config_defaults(void **state)
{
	struct config cfg;
	char *cause = NULL;

	(void)state;
	config_env_reset();
	setenv("AUTH0_DOMAIN", "tenant.us.auth0.com", 1);
	setenv("AUTH0_AUDIENCE", "https://api.example", 1);
	assert_int_equal(config_load(&cfg, CONFIG_NEED_AUTH, &cause), 0);
	assert_string_equal(cfg.env, "dev");
	assert_string_equal(cfg.table_deliverables, "turbotech-dev-deliverables");
	assert_string_equal(cfg.table_users, "turbotech-dev-users");
	assert_string_equal(cfg.region, "us-east-1");
	assert_string_equal(cfg.endpoint, "https://dynamodb.us-east-1.amazonaws.com");
	assert_string_equal(cfg.issuer, "https://tenant.us.auth0.com/");
	assert_string_equal(cfg.jwks_url, "https://tenant.us.auth0.com/.well-known/jwks.json");
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_null(cfg.digest_api_url);
	config_free(&cfg);
}

static void
test_config_overrides(void **state)
{
	struct config cfg;
	char *cause = NULL;

	(void)state;
	config_env_reset();
	setenv("PORTAL_ENV", "prod", 1);
	setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8000/", 1);
	setenv("AUTH_JWKS_URL", "file:///tmp/jwks.json", 1);
	setenv("AUTH_ISSUER", "https://issuer.local/", 1);
	setenv("AUTH0_AUDIENCE", "aud", 1);
	setenv("PORTAL_ADMINS", " auth0|a , Lead@Example.com ,", 1);
	setenv("CORS_ALLOW_ORIGINS", "https://app.example.com,http://localhost:3000", 1);
	setenv("LOG_LEVEL", "warn", 1);
	assert_int_equal(config_load(&cfg, CONFIG_NEED_AUTH, &cause), 0);
	assert_string_equal(cfg.table_metrics, "turbotech-prod-metrics");
	assert_string_equal(cfg.region, "eu-west-1");
	assert_string_equal(cfg.endpoint, "http://127.0.0.1:8000");
	assert_true(config_is_admin(&cfg, "auth0|a", NULL));
	assert_true(config_is_admin(&cfg, "x", "lead@example.com"));
	assert_false(config_is_admin(&cfg, "auth0|b", "other@example.com"));
	assert_true(config_cors_allowed(&cfg, "https://app.example.com"));
	assert_false(config_cors_allowed(&cfg, "https://evil.example.com"));
	assert_false(config_cors_allowed(&cfg, NULL));
	assert_int_equal(cfg.log_level, LOG_WARN);
	config_free(&cfg);
	setenv("PORTAL_TABLE_PREFIX", "test-", 1);
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9000", 1);
	assert_int_equal(config_load(&cfg, CONFIG_NEED_AUTH, &cause), 0);
	assert_string_equal(cfg.table_updates, "test-updates");
	assert_string_equal(cfg.endpoint, "http://127.0.0.1:9000");
	config_free(&cfg);
	config_env_reset();
	log_set_level(LOG_INFO);
}

/* Expects config_load to fail with a cause that names var. */
static void
expect_config_error(const char *var)
{
	struct config cfg;
	char *cause = NULL;

	assert_int_equal(config_load(&cfg, CONFIG_NEED_AUTH, &cause), -1);
	assert_non_null(cause);
	if (strstr(cause, var) == NULL)
		fail_msg("cause \"%s\" does not name %s", cause, var);
	free(cause);
	config_free(&cfg);
}

static void
test_config_errors(void **state)
{
	(void)state;
	config_env_reset();
	expect_config_error("AUTH0_DOMAIN");
	setenv("AUTH0_DOMAIN", "tenant.auth0.com", 1);
	expect_config_error("AUTH0_AUDIENCE");
	setenv("AUTH0_AUDIENCE", "aud", 1);
	setenv("LOG_LEVEL", "loud", 1);
	expect_config_error("LOG_LEVEL");
	unsetenv("LOG_LEVEL");
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "localhost:8000", 1);
	expect_config_error("AWS_ENDPOINT_URL_DYNAMODB");
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:0", 1);
	expect_config_error("AWS_ENDPOINT_URL_DYNAMODB");
	unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
	setenv("PORTAL_ENV", "prod", 1);
	setenv("CORS_ALLOW_ORIGINS", "*", 1);
	expect_config_error("CORS_ALLOW_ORIGINS");
	unsetenv("CORS_ALLOW_ORIGINS");
	setenv("PORTAL_ENV", "bad env", 1);
	expect_config_error("PORTAL_ENV");
	unsetenv("PORTAL_ENV");
	setenv("DIGEST_API_URL", "https://api.example/v1", 1);
	expect_config_error("DIGEST_API_KEY");
	setenv("DIGEST_API_KEY", "k", 1);
	expect_config_error("DIGEST_MODEL");
	unsetenv("DIGEST_API_URL");
	unsetenv("DIGEST_API_KEY");
	setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
	expect_config_error("AWS_SECRET_ACCESS_KEY");
	config_env_reset();
	log_set_level(LOG_INFO);
}

static void
test_request_parsing(void **state)
{
	struct request req;

	(void)state;
	request_init(&req);
	request_set_method(&req, "get");
	request_set_path(&req, "/api/deliverables?month=2&status=IN%5FPROGRESS&q=a+b");
	request_add_header(&req, "X-Request-Id", "abc");
	request_add_header(&req, "Accept", "a");
	request_add_header(&req, "accept", "b");
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.path, "/api/deliverables");
	assert_string_equal(request_query(&req, "month"), "2");
	assert_string_equal(request_query(&req, "status"), "IN_PROGRESS");
	assert_string_equal(request_query(&req, "q"), "a b");
	assert_null(request_query(&req, "missing"));
	assert_string_equal(request_header(&req, "x-request-id"), "abc");
	assert_string_equal(request_header(&req, "accept"), "a, b");
	assert_false(req.query_bad);
	request_set_query(&req, "a=%zz");
	assert_true(req.query_bad);
	request_reset(&req);
	request_init(&req);
	char *big = xmalloc(MAX_BODY_BYTES + 2);
	memset(big, 'x', MAX_BODY_BYTES + 1);
	request_set_body(&req, big, MAX_BODY_BYTES + 1);
	assert_true(req.body_too_large);
	assert_null(req.body);
	free(big);
	request_reset(&req);
}

static void
test_response_error(void **state)
{
	struct response res;

	(void)state;
	response_init(&res);
	response_error(&res, 404, "not_found", "deliverable %d not found", 99);
	assert_int_equal(res.status, 404);
	assert_string_equal(res.body.data,
	    "{\"error\":{\"code\":\"not_found\",\"message\":\"deliverable 99 not found\"}}");
	assert_string_equal(response_header(&res, "content-type"), "application/json; charset=utf-8");
	response_set_header(&res, "X-A", "1");
	response_set_header(&res, "x-a", "2");
	assert_string_equal(response_header(&res, "X-A"), "2");
	response_reset(&res);
}

/* Runs one request through the router with an app that has a store handle
 * pointing nowhere (these paths never reach the store). */
static struct config router_cfg;
static struct app *router_app;

static int
router_setup(void **state)
{
	char *cause = NULL;

	(void)state;
	config_env_reset();
	setenv("AUTH_JWKS_URL", "file:///nonexistent/jwks.json", 1);
	setenv("AUTH_ISSUER", "https://issuer.local/", 1);
	setenv("AUTH0_AUDIENCE", "aud", 1);
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	setenv("CORS_ALLOW_ORIGINS", "https://app.example.com", 1);
	setenv("LOG_LEVEL", "error", 1);
	if (config_load(&router_cfg, CONFIG_NEED_AUTH, &cause) == -1)
		return -1;
	router_app = app_new(&router_cfg, auth_new(&router_cfg));
	return 0;
}

static int
router_teardown(void **state)
{
	(void)state;
	auth_free(router_app->auth);
	app_free(router_app);
	config_free(&router_cfg);
	config_env_reset();
	return 0;
}

static void
route(const char *method, const char *path, const char *origin, struct response *res)
{
	struct request req;

	request_init(&req);
	response_init(res);
	req.app = router_app;
	request_set_method(&req, method);
	request_set_path(&req, path);
	if (origin != NULL)
		request_add_header(&req, "Origin", origin);
	router_handle(&req, res);
	request_reset(&req);
}

static void
test_router_not_found(void **state)
{
	struct response res;

	(void)state;
	route("GET", "/api/nope", NULL, &res);
	assert_int_equal(res.status, 404);
	assert_non_null(strstr(res.body.data, "\"not_found\""));
	assert_non_null(response_header(&res, "X-Request-Id"));
	response_reset(&res);
	route("GET", "/elsewhere", NULL, &res);
	assert_int_equal(res.status, 404);
	response_reset(&res);
	route("GET", "/api/deliverables/1/extra", NULL, &res);
	assert_int_equal(res.status, 404);
	response_reset(&res);
}

static void
test_router_method_not_allowed(void **state)
{
	struct response res;

	(void)state;
	route("PUT", "/api/deliverables/3", NULL, &res);
	assert_int_equal(res.status, 405);
	assert_string_equal(response_header(&res, "Allow"), "GET, PATCH, DELETE, OPTIONS");
	assert_non_null(strstr(res.body.data, "\"method_not_allowed\""));
	response_reset(&res);
	route("DELETE", "/api/health", NULL, &res);
	assert_int_equal(res.status, 405);
	assert_string_equal(response_header(&res, "Allow"), "GET, OPTIONS");
	response_reset(&res);
}

static void
test_router_cors(void **state)
{
	struct response res;

	(void)state;
	route("OPTIONS", "/api/deliverables", "https://app.example.com", &res);
	assert_int_equal(res.status, 204);
	assert_string_equal(response_header(&res, "Access-Control-Allow-Origin"), "https://app.example.com");
	assert_string_equal(response_header(&res, "Vary"), "Origin");
	assert_non_null(strstr(response_header(&res, "Access-Control-Allow-Headers"), "If-Match"));
	assert_non_null(strstr(response_header(&res, "Access-Control-Allow-Methods"), "POST"));
	response_reset(&res);
	route("OPTIONS", "/api/deliverables", "https://evil.example.com", &res);
	assert_int_equal(res.status, 204);
	assert_null(response_header(&res, "Access-Control-Allow-Origin"));
	assert_null(response_header(&res, "Access-Control-Allow-Methods"));
	response_reset(&res);
	/* Error responses carry CORS headers too. */
	route("GET", "/api/nope", "https://app.example.com", &res);
	assert_int_equal(res.status, 404);
	assert_string_equal(response_header(&res, "Access-Control-Allow-Origin"), "https://app.example.com");
	assert_string_equal(response_header(&res, "Access-Control-Expose-Headers"), "X-Request-Id, Location, ETag");
	response_reset(&res);
}

static void
test_router_request_id(void **state)
{
	struct request req;
	struct response res;

	(void)state;
	request_init(&req);
	response_init(&res);
	req.app = router_app;
	request_set_method(&req, "GET");
	request_set_path(&req, "/api/nope");
	request_add_header(&req, "X-Request-Id", "client-id-123");
	router_handle(&req, &res);
	assert_string_equal(response_header(&res, "X-Request-Id"), "client-id-123");
	request_reset(&req);
	response_reset(&res);

	request_init(&req);
	response_init(&res);
	req.app = router_app;
	request_set_method(&req, "GET");
	request_set_path(&req, "/api/nope");
	request_add_header(&req, "X-Request-Id", "bad id\"<script>");
	router_handle(&req, &res);
	assert_string_not_equal(response_header(&res, "X-Request-Id"), "bad id\"<script>");
	assert_int_equal(strlen(response_header(&res, "X-Request-Id")), 32);
	request_reset(&req);
	response_reset(&res);
}

static void
test_router_auth_required(void **state)
{
	struct response res;

	(void)state;
	/* No token: 401 with a Bearer challenge, before any handler or store call. */
	route("GET", "/api/deliverables", NULL, &res);
	assert_int_equal(res.status, 401);
	assert_non_null(response_header(&res, "WWW-Authenticate"));
	assert_non_null(strstr(response_header(&res, "WWW-Authenticate"), "Bearer"));
	response_reset(&res);
}

/* RFC 8259 cases as data: the text (len 0: strlen), the expected status,
 * and for valid texts the top-level kind, whether a string holds U+0000 and
 * under which top-level member, and how many number tokens there are. */
struct json_case {
	const char		*text;
	size_t			 len;
	enum json_check_status	 status;
	enum json_check_kind	 top;
	const char		*nul_field;	/* NULL: no \u0000 */
	size_t			 nnumbers;
};

#define OK_OBJ	JSON_CHECK_OK, JSON_CHECK_KIND_OBJECT
#define BAD(s)	JSON_CHECK_##s, 0

static const struct json_case json_cases[] = {
	{ "{}", 0, OK_OBJ, NULL, 0 },
	{ " {\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"x\"}}\r\n", 0, OK_OBJ, NULL, 1 },
	{ "[1,-0,0.5,1e10,1E+2,-1.5e-3,12345678901234567890123]", 0, JSON_CHECK_OK, JSON_CHECK_KIND_ARRAY, NULL, 7 },
	{ "\"x\"", 0, JSON_CHECK_OK, JSON_CHECK_KIND_STRING, NULL, 0 },
	{ "42", 0, JSON_CHECK_OK, JSON_CHECK_KIND_NUMBER, NULL, 1 },
	{ "null", 0, JSON_CHECK_OK, JSON_CHECK_KIND_NULL, NULL, 0 },
	{ " true ", 0, JSON_CHECK_OK, JSON_CHECK_KIND_BOOL, NULL, 0 },
	{ "{\"a\":\"\\u00e9\\ud83d\\ude00 \\/ \\\" \\\\ \\b\\f\\n\\r\\t\",\"b\":\"\x7f\xc3\xa9\"}", 0, OK_OBJ, NULL, 0 },
	{ "[{\"a\":1},{\"a\":1}]", 0, JSON_CHECK_OK, JSON_CHECK_KIND_ARRAY, NULL, 2 },
	{ "{\"a\":{\"a\":{\"a\":1}}}", 0, OK_OBJ, NULL, 1 },
	{ "{\"ab\":1,\"a\":2,\"b\":3,\"\":4}", 0, OK_OBJ, NULL, 4 },
	/* U+0000 is valid JSON: the caller refuses it, naming the member. */
	{ "{\"name\":\"x\\u0000y\"}", 0, OK_OBJ, "name", 0 },
	{ "{\"ok\":\"\",\"a\\u0000b\":1}", 0, OK_OBJ, "a\\u0000b", 1 },
	{ "{\"a\":1,\"deep\":{\"b\":[\"\\u0000\"]}}", 0, OK_OBJ, "deep", 1 },
	{ "[\"\\u0000\"]", 0, JSON_CHECK_OK, JSON_CHECK_KIND_ARRAY, "", 0 },
	/* Not one JSON text. */
	{ "", 0, BAD(EMPTY), NULL, 0 },
	{ " \n\t", 0, BAD(EMPTY), NULL, 0 },
	{ "{\"a\":\"x\ty\"}", 0, BAD(CONTROL_CHAR), NULL, 0 },
	{ "{\"a\":\"x\ny\"}", 0, BAD(CONTROL_CHAR), NULL, 0 },
	{ "{\"a\":\"x\0y\"}", 11, BAD(CONTROL_CHAR), NULL, 0 },
	{ "{\"a\":\"x\x1fy\"}", 0, BAD(CONTROL_CHAR), NULL, 0 },
	{ "NaN", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":NaN}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":Infinity}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":-Infinity}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":1,}", 0, BAD(SYNTAX), NULL, 0 },
	{ "[1,]", 0, BAD(SYNTAX), NULL, 0 },
	{ "[,1]", 0, BAD(SYNTAX), NULL, 0 },
	{ "{,}", 0, BAD(SYNTAX), NULL, 0 },
	{ "/* c */ {}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":1 // c\n}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":1 # c\n}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":1} x", 0, BAD(TRAILING), NULL, 0 },
	{ "{\"a\":1}{}", 0, BAD(TRAILING), NULL, 0 },
	{ "1 2", 0, BAD(TRAILING), NULL, 0 },
	{ "{\"a\":1,\"a\":2}", 0, BAD(DUPLICATE_KEY), NULL, 0 },
	{ "{\"a\":1,\"\\u0061\":2}", 0, BAD(DUPLICATE_KEY), NULL, 0 },
	{ "{\"x\":{\"b\":1,\"c\":1,\"b\":1}}", 0, BAD(DUPLICATE_KEY), NULL, 0 },
	{ "{\"\":1,\"\":2}", 0, BAD(DUPLICATE_KEY), NULL, 0 },
	{ "{\"a\":01}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":.5}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":1.}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":+1}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":0x10}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":1e}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":-}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{'a':1}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{a:1}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\" 1}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":\"x", 0, BAD(SYNTAX), NULL, 0 },
	{ "[1", 0, BAD(SYNTAX), NULL, 0 },
	{ "tru", 0, BAD(SYNTAX), NULL, 0 },
	{ "True", 0, BAD(SYNTAX), NULL, 0 },
	{ "nulll", 0, BAD(TRAILING), NULL, 0 },
	{ "\xef\xbb\xbf{}", 0, BAD(SYNTAX), NULL, 0 },
	{ "{\"a\":\"\\x\"}", 0, BAD(BAD_ESCAPE), NULL, 0 },
	{ "{\"a\":\"\\u12\"}", 0, BAD(BAD_ESCAPE), NULL, 0 },
	{ "{\"a\":\"\\ud800\"}", 0, BAD(BAD_ESCAPE), NULL, 0 },
	{ "{\"a\":\"\\ud800\\u0041\"}", 0, BAD(BAD_ESCAPE), NULL, 0 },
	{ "{\"a\":\"\\udc00\"}", 0, BAD(BAD_ESCAPE), NULL, 0 },
	{ "{\"a\":\"\xff\"}", 0, BAD(NOT_UTF8), NULL, 0 },
	{ "{\"a\":\"\xc0\xaf\"}", 0, BAD(NOT_UTF8), NULL, 0 },
	{ "{\"a\":\"\xed\xa0\x80\"}", 0, BAD(NOT_UTF8), NULL, 0 },
};

/* Every case of json_cases through json_check_scan. */
static void
test_json_check_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(json_cases); i++) {
		const struct json_case *c = &json_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		struct json_check_result r;
		int rc = json_check_scan(c->text, len, 0, &r);

		if (r.status != c->status || (rc == 0) != (c->status == JSON_CHECK_OK))
			fail_msg("case %zu (%s): status %d (%s), expected %d", i, c->text, (int)r.status,
			    json_check_status_text(r.status), (int)c->status);
		if (c->status == JSON_CHECK_OK) {
			if (r.top != c->top || r.nnumbers != c->nnumbers || r.has_nul != (c->nul_field != NULL))
				fail_msg("case %zu (%s): top %d numbers %zu nul %d", i, c->text, (int)r.top,
				    r.nnumbers, r.has_nul);
			if (c->nul_field != NULL && (r.nul_field.len != strlen(c->nul_field) ||
			    memcmp(c->text + r.nul_field.off, c->nul_field, r.nul_field.len) != 0))
				fail_msg("case %zu (%s): nul field is \"%.*s\"", i, c->text,
				    (int)r.nul_field.len, c->text + r.nul_field.off);
		}
		json_check_result_free(&r);
	}
}

/* Nesting: JSON_CHECK_MAX_DEPTH containers pass, one more does not. */
static void
test_json_check_depth(void **state)
{
	char text[2 * (JSON_CHECK_MAX_DEPTH + 1) + 1];
	struct json_check_result r;

	(void)state;
	for (int depth = JSON_CHECK_MAX_DEPTH; depth <= JSON_CHECK_MAX_DEPTH + 1; depth++) {
		memset(text, '[', (size_t)depth);
		memset(text + depth, ']', (size_t)depth);
		text[2 * depth] = '\0';
		assert_int_equal(json_check_scan(text, strlen(text), 0, &r),
		    depth <= JSON_CHECK_MAX_DEPTH ? 0 : -1);
		if (depth > JSON_CHECK_MAX_DEPTH)
			assert_int_equal(r.status, JSON_CHECK_TOO_DEEP);
		json_check_result_free(&r);
	}
}

/* json_check_parse keeps every number's text, also beyond 64 bits. */
static void
test_json_check_parse_numbers(void **state)
{
	static const char *const texts[] = {
		"{\"b\":12345678901234567890,\"t\":0.000001,\"big\":123456789012345678901234567890,"
		    "\"neg\":-99999999999999999999,\"l\":[1e400,7,1.50,-9223372036854775808],"
		    "\"o\":{\"x\":18446744073709551616}}",
		"123456789012345678901234567890",
		"[1E-130,9.9999999999999999999999999999999999999E+125]",
	};
	struct json_check_result r;
	json_object *obj;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
		obj = json_check_parse(texts[i], strlen(texts[i]), 0, &r);
		assert_non_null(obj);
		assert_string_equal(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN), texts[i]);
		json_object_put(obj);
		json_check_result_free(&r);
	}
	obj = json_check_parse("null", 4, 0, &r);
	assert_null(obj);
	assert_int_equal(r.status, JSON_CHECK_OK);
	assert_int_equal(r.top, JSON_CHECK_KIND_NULL);
	json_check_result_free(&r);
	obj = json_check_parse("{\"a\":1,\"a\":2}", 13, 0, &r);
	assert_null(obj);
	assert_int_equal(r.status, JSON_CHECK_DUPLICATE_KEY);
	json_check_result_free(&r);
}

/* Query values: a bad escape, %00 or bad UTF-8 names the parameter. */
static void
test_query_strict(void **state)
{
	static const struct { const char *query; const char *bad; } cases[] = {
		{ "month=1", NULL },
		{ "month=1%00", "month" },
		{ "month=1%00x&status=X", "month" },
		{ "status=A&month=%zz", "month" },
		{ "month=%ff", "month" },
		{ "mo%6Eth=%", "month" },
		{ "%00=1", "%00" },
		{ "a=%C3%A9", NULL },
	};
	struct request req;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		request_init(&req);
		request_set_query(&req, cases[i].query);
		if (cases[i].bad == NULL) {
			if (req.query_bad)
				fail_msg("%s: refused", cases[i].query);
		} else if (!req.query_bad || req.query_bad_param == NULL ||
		    strcmp(req.query_bad_param, cases[i].bad) != 0)
			fail_msg("%s: bad %d param %s, expected %s", cases[i].query, req.query_bad,
			    req.query_bad_param ? req.query_bad_param : "(null)", cases[i].bad);
		request_reset(&req);
	}
}

/* A value the store refuses (ValidationException) is the request's fault:
 * 400 validation_error, never 500; other store errors keep their mapping. */
static void
test_store_validation_error(void **state)
{
	struct ddb_error err;
	struct response res;

	(void)state;
	memset(&err, 0, sizeof err);
	err.http_status = 400;
	snprintf(err.code, sizeof err.code, "ValidationException");
	snprintf(err.message, sizeof err.message, "Number overflow");
	response_init(&res);
	reply_store_error(&res, &err);
	assert_int_equal(res.status, 400);
	assert_non_null(strstr(res.body.data, "\"validation_error\""));
	assert_null(strstr(res.body.data, "overflow"));	/* no internals */
	response_reset(&res);
	snprintf(err.code, sizeof err.code, "ResourceNotFoundException");
	response_init(&res);
	reply_store_error(&res, &err);
	assert_int_equal(res.status, 500);
	response_reset(&res);
}

/* percent_decode_text refuses %00 where percent_decode would cut the text. */
static void
test_percent_decode_text(void **state)
{
	char a[] = "auth0%7Cabc", b[] = "auth0%7Cabc%00x", c[] = "%0", d[] = "a%000";

	(void)state;
	assert_int_equal(percent_decode_text(a, false), 0);
	assert_string_equal(a, "auth0|abc");
	assert_int_equal(percent_decode_text(b, false), -1);
	assert_int_equal(percent_decode_text(c, false), -1);
	assert_int_equal(percent_decode_text(d, false), -1);
}

/* ---- one URL per resource; the entry point's request id (nginx) ---- */

/* Empty segments, a trailing slash, a missing leading slash: no route (404). */
static void
test_router_one_url_per_resource(void **state)
{
	static const char *const aliases[] = {
		"/api//health", "//api/health", "/api/health/", "/api", "/api/", "/",
		"api/health", "/api/deliverables/", "/api//deliverables",
		"/api/deliverables//3", "/api/deliverables/3/", "/api/./health",
		"/api/updates/1//read", "/api/users/me/",
	};
	struct response res;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(aliases); i++) {
		route("GET", aliases[i], NULL, &res);
		if (res.status != 404)
			fail_msg("GET %s: %d, not 404", aliases[i], res.status);
		assert_non_null(strstr(res.body.data, "\"not_found\""));
		response_reset(&res);
		route("OPTIONS", aliases[i], NULL, &res);
		if (res.status != 404)
			fail_msg("OPTIONS %s: %d, not 404", aliases[i], res.status);
		response_reset(&res);
	}
	/* The canonical spellings still route (401: auth runs, no token). */
	route("GET", "/api/deliverables", NULL, &res);
	assert_int_equal(res.status, 401);
	response_reset(&res);
	route("GET", "/api/deliverables/3", NULL, &res);
	assert_int_equal(res.status, 401);
	response_reset(&res);
	route("PUT", "/api/updates/1/read", NULL, &res);
	assert_int_equal(res.status, 405);
	response_reset(&res);
}

/* Runs GET /api/nope with a preset id (as portal-fcgi sets nginx's) and an
 * optional X-Request-Id; returns the response's id (caller frees). */
static char *
routed_request_id(const char *preset, const char *header)
{
	struct request req;
	struct response res;
	char *id;

	request_init(&req);
	response_init(&res);
	req.app = router_app;
	request_set_method(&req, "GET");
	request_set_path(&req, "/api/nope");
	if (preset != NULL)
		memcpy(req.request_id, preset, strlen(preset) + 1);	/* callers pass <= 64 chars */
	if (header != NULL)
		request_add_header(&req, "X-Request-Id", header);
	router_handle(&req, &res);
	id = xstrdup(response_header(&res, "X-Request-Id"));
	request_reset(&req);
	response_reset(&res);
	return id;
}

/* The caller's sane id wins; else the entry point's (nginx's); else a new one. */
static void
test_router_request_id_from_entry(void **state)
{
	char *id;

	(void)state;
	id = routed_request_id("0123456789abcdef0123456789abcdef", NULL);
	assert_string_equal(id, "0123456789abcdef0123456789abcdef");
	free(id);
	id = routed_request_id("0123456789abcdef0123456789abcdef", "caller-1");
	assert_string_equal(id, "caller-1");
	free(id);
	id = routed_request_id("0123456789abcdef0123456789abcdef", "bad id");
	assert_string_equal(id, "0123456789abcdef0123456789abcdef");
	free(id);
	id = routed_request_id("not sane!", NULL);
	assert_string_not_equal(id, "not sane!");
	assert_int_equal(strlen(id), 32);
	free(id);
}

/* ---- end of the one-URL / request-id block ---- */

/* The pure parsers: parse_id takes canonical ids only, parse_one_of a
 * listed value; cause_set replaces a heap cause. */
static void
test_pure_parsers(void **state)
{
	static const char *const allowed[] = { "A", "B", NULL };
	struct buf b = BUF_INIT;
	const char *why = NULL;
	char *cause = NULL;
	long id = 0;

	(void)state;
	assert_int_equal(parse_id("42", &id, &why), 0);
	assert_int_equal(id, 42);
	assert_int_equal(parse_id("999999999999", &id, &why), 0);
	assert_int_equal(id, ID_MAX);
	assert_int_equal(parse_id("1000000000000", &id, &why), -1);
	assert_string_equal(why, "must be a positive integer");
	assert_int_equal(parse_id("042", &id, &why), -1);
	assert_int_equal(parse_id("+4", &id, &why), -1);
	assert_int_equal(parse_id("0", &id, &why), -1);
	assert_int_equal(parse_id("4e2", &id, &why), -1);
	assert_int_equal(parse_id(NULL, &id, &why), -1);
	assert_int_equal(parse_one_of("B", allowed, &why), 0);
	assert_int_equal(parse_one_of("b", allowed, &why), -1);
	assert_int_equal(parse_one_of(NULL, allowed, &why), -1);
	buf_join(&b, allowed);
	assert_string_equal(b.data, "A, B");
	buf_free(&b);
	assert_int_equal(cause_set(&cause, "first %d", 1), -1);
	assert_int_equal(cause_set(&cause, "second %s", "x"), -1);
	assert_string_equal(cause, "second x");
	free(cause);
	assert_int_equal(cause_set(NULL, "ignored"), -1);
}

/* ddb_error_set fills all of err: code, message, the retry decision. */
static void
test_ddb_error_set(void **state)
{
	struct ddb_error err;

	(void)state;
	memset(&err, 0xff, sizeof err);
	ddb_error_set(&err, 0, "InvalidItem", "%s: %s", "field", "bad");
	assert_string_equal(err.code, "InvalidItem");
	assert_string_equal(err.message, "field: bad");
	assert_int_equal(err.http_status, 0);
	assert_false(err.retryable);
	assert_false(err.condition_failed);
	assert_false(err.outcome_unknown);
	assert_int_equal(err.attempts, 0);
	ddb_error_set(&err, 400, "ConditionalCheckFailedException", "x");
	assert_true(ddb_error_is_condition_failed(&err));
	ddb_error_set(&err, 500, "InternalServerError", "x");
	assert_true(err.retryable);
	assert_true(ddb_error_is_unavailable(&err));
}

static int defer_trace[8];
static size_t defer_ntrace;

static void
defer_record(void *arg)
{
	defer_trace[defer_ntrace++] = *(int *)arg;
}

/* request_reset runs the defer list, the last registered first, once. */
static void
test_request_defer_reverse_order(void **state)
{
	static int one = 1, two = 2, three = 3;
	struct request req;

	(void)state;
	defer_ntrace = 0;
	request_init(&req);
	request_defer(&req, defer_record, &one);
	request_defer(&req, defer_record, &two);
	request_defer(&req, defer_record, &three);
	request_defer(&req, free, xstrdup("owned by the request"));
	request_reset(&req);
	assert_int_equal(defer_ntrace, 3);
	assert_int_equal(defer_trace[0], 3);
	assert_int_equal(defer_trace[1], 2);
	assert_int_equal(defer_trace[2], 1);
	request_reset(&req);
	assert_int_equal(defer_ntrace, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64url),
		cmocka_unit_test(test_base64_std),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_round1),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_overrides),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_request_parsing),
		cmocka_unit_test(test_response_error),
		cmocka_unit_test(test_json_check_cases),
		cmocka_unit_test(test_json_check_depth),
		cmocka_unit_test(test_json_check_parse_numbers),
		cmocka_unit_test(test_query_strict),
		cmocka_unit_test(test_store_validation_error),
		cmocka_unit_test(test_percent_decode_text),
		cmocka_unit_test_setup_teardown(test_router_not_found, router_setup, router_teardown),
		cmocka_unit_test_setup_teardown(test_router_method_not_allowed, router_setup, router_teardown),
		cmocka_unit_test_setup_teardown(test_router_cors, router_setup, router_teardown),
		cmocka_unit_test_setup_teardown(test_router_request_id, router_setup, router_teardown),
		cmocka_unit_test_setup_teardown(test_router_auth_required, router_setup, router_teardown),
		cmocka_unit_test_setup_teardown(test_router_one_url_per_resource, router_setup, router_teardown),
		cmocka_unit_test_setup_teardown(test_router_request_id_from_entry, router_setup, router_teardown),
		cmocka_unit_test(test_request_defer_reverse_order),
		cmocka_unit_test(test_pure_parsers),
		cmocka_unit_test(test_ddb_error_set),
	};

	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
