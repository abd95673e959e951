/* docs_test.c - the API docs routes through the router, in process: no token,
 * the embedded bytes, ETag and If-None-Match (exact, weak, lists, *, junk),
 * HEAD, content types, the page's CSP, and names that are not served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app.h"
#include "auth.h"
#include "config.h"
#include "docs_assets.h"
#include "router.h"

static struct config cfg;
static struct app *app;

static int
setup(void **state)
{
	char *cause = NULL;

	(void)state;
	unsetenv("AUTH0_DOMAIN");
	setenv("AUTH_JWKS_URL", "file:///nonexistent/jwks.json", 1);
	setenv("AUTH_ISSUER", "https://issuer.local/", 1);
	setenv("AUTH0_AUDIENCE", "aud", 1);
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	setenv("CORS_ALLOW_ORIGINS", "https://app.example.com", 1);
	setenv("LOG_LEVEL", "error", 1);
	if (config_load(&cfg, CONFIG_NEED_AUTH, &cause) == -1)
		return -1;
	app = app_new(&cfg, auth_new(&cfg));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	auth_free(app->auth);
	app_free(app);
	config_free(&cfg);
	return 0;
}

/* Routes one request with an optional If-None-Match header. */
static void
docs_route(const char *method, const char *path, const char *if_none_match, struct response *res)
{
	struct request req;

	request_init(&req);
	response_init(res);
	req.app = app;
	request_set_method(&req, method);
	request_set_path(&req, path);
	if (if_none_match != NULL)
		request_add_header(&req, "If-None-Match", if_none_match);
	router_handle(&req, res);
	request_reset(&req);
}

/* The embedded file called name (the test fails when it is missing). */
static const struct docs_asset *
asset(const char *name)
{
	for (size_t i = 0; i < docs_assets_count; i++)
		if (strcmp(docs_assets[i].name, name) == 0)
			return &docs_assets[i];
	fail_msg("no embedded %s", name);
	return NULL;
}

static void
test_openapi_json(void **state)
{
	const struct docs_asset *a = asset("openapi.json");
	struct response res;
	json_object *doc;

	(void)state;
	docs_route("GET", "/api/openapi.json", NULL, &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(response_header(&res, "Content-Type"), "application/json; charset=utf-8");
	assert_string_equal(response_header(&res, "ETag"), a->etag);
	assert_string_equal(response_header(&res, "Cache-Control"), "public, max-age=300");
	assert_int_equal(res.body.len, a->len);
	assert_memory_equal(res.body.data, a->data, a->len);
	doc = json_tokener_parse(res.body.data);
	assert_non_null(doc);
	assert_string_equal(json_object_get_string(json_object_object_get(doc, "openapi")), "3.0.3");
	assert_non_null(json_object_object_get(json_object_object_get(doc, "paths"), "/api/docs"));
	json_object_put(doc);
	response_reset(&res);

	/* HEAD: the headers, no body. */
	docs_route("HEAD", "/api/openapi.json", NULL, &res);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.body.len, 0);
	assert_string_equal(response_header(&res, "ETag"), a->etag);
	response_reset(&res);

	docs_route("POST", "/api/openapi.json", NULL, &res);
	assert_int_equal(res.status, 405);
	assert_string_equal(response_header(&res, "Allow"), "GET, OPTIONS");
	response_reset(&res);
}

/* If-None-Match values, as data: the header, and whether it names the tag. */
static void
test_if_none_match(void **state)
{
	const struct docs_asset *a = asset("openapi.json");
	char weak[80], listed[160], prefix[80], unterminated[80], bare[80];
	const struct {
		const char	*header;
		int		 status;
	} cases[] = {
		{ a->etag, 304 },
		{ weak, 304 },
		{ listed, 304 },
		{ "*", 304 },
		{ " *", 304 },
		{ "\"0123\"", 200 },
		{ prefix, 200 },
		{ unterminated, 200 },
		{ bare, 200 },
		{ "", 200 },
		{ ", ,,  ,", 200 },
		{ "W/", 200 },
		{ "\"", 200 },
	};
	struct response res;

	(void)state;
	snprintf(weak, sizeof weak, "W/%s", a->etag);
	snprintf(listed, sizeof listed, "\"a\", W/\"b\",%s , \"c\"", a->etag);
	snprintf(prefix, sizeof prefix, "%.*s\"", (int)strlen(a->etag) - 2, a->etag);
	snprintf(unterminated, sizeof unterminated, "%.*s", (int)strlen(a->etag) - 1, a->etag);
	snprintf(bare, sizeof bare, "%.*s", (int)strlen(a->etag) - 2, a->etag + 1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		docs_route("GET", "/api/openapi.json", cases[i].header, &res);
		if (res.status != cases[i].status)
			fail_msg("If-None-Match: [%s]: %d, not %d", cases[i].header, res.status, cases[i].status);
		if (res.status == 304) {
			assert_int_equal(res.body.len, 0);
			assert_string_equal(response_header(&res, "ETag"), a->etag);
			assert_non_null(response_header(&res, "Cache-Control"));
		} else {
			assert_int_equal(res.body.len, a->len);
		}
		response_reset(&res);
	}
}

static void
test_docs_page_and_files(void **state)
{
	struct response res;
	const char *csp;

	(void)state;
	docs_route("GET", "/api/docs", NULL, &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(response_header(&res, "Content-Type"), "text/html; charset=utf-8");
	csp = response_header(&res, "Content-Security-Policy");
	assert_non_null(csp);
	assert_non_null(strstr(csp, "default-src 'none'"));
	assert_non_null(strstr(res.body.data, "docs/swagger-ui-bundle.js?v="));
	assert_null(strstr(res.body.data, "{{asset:"));
	response_reset(&res);

	docs_route("GET", "/api/docs", asset("index.html")->etag, &res);
	assert_int_equal(res.status, 304);
	response_reset(&res);

	docs_route("GET", "/api/docs/docs.js", NULL, &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(response_header(&res, "Content-Type"), "text/javascript; charset=utf-8");
	assert_string_equal(response_header(&res, "Cache-Control"), "public, max-age=86400");
	response_reset(&res);
	docs_route("GET", "/api/docs/swagger-ui.css", NULL, &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(response_header(&res, "Content-Type"), "text/css; charset=utf-8");
	assert_int_equal(res.body.len, asset("swagger-ui.css")->len);
	response_reset(&res);

	/* The page and the contract have their own URLs; other names are 404. */
	const char *not_served[] = {
		"/api/docs/index.html", "/api/docs/openapi.json", "/api/docs/nope.js",
		"/api/docs/%2e%2e%2fopenapi.yaml", "/api/docs/..", "/api/docs/DOCS.JS",
	};
	for (size_t i = 0; i < sizeof not_served / sizeof not_served[0]; i++) {
		docs_route("GET", not_served[i], NULL, &res);
		if (res.status != 404 && res.status != 400)
			fail_msg("%s: %d", not_served[i], res.status);
		assert_non_null(strstr(res.body.data, "\"error\""));
		response_reset(&res);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_openapi_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_if_none_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docs_page_and_files, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
