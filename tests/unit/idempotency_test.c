/* idempotency_test.c - the pure parts of issue 10's store work: the
 * Idempotency-Key check, the request hash and record key, the idempotency
 * table's schema and TTL request, the reserved counter item, and If-Match
 * parsing (strong comparison, "*"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "handlers.h"
#include "http.h"
#include "idempotency.h"
#include "model.h"
#include "schema.h"
#include "util.h"

static void
test_key_valid(void **state)
{
	char long_key[IDEMPOTENCY_KEY_MAX + 2];

	(void)state;
	assert_true(idempotency_key_valid("a", 1));
	assert_true(idempotency_key_valid("order 42 / retry ~!", 19));
	assert_false(idempotency_key_valid("", 0));
	assert_false(idempotency_key_valid(NULL, 0));
	assert_false(idempotency_key_valid("a\tb", 3));
	assert_false(idempotency_key_valid("caf\xc3\xa9", 5));
	assert_false(idempotency_key_valid("a\0b", 3));
	assert_false(idempotency_key_valid("a\x7f", 2));
	memset(long_key, 'k', sizeof long_key);
	assert_true(idempotency_key_valid(long_key, IDEMPOTENCY_KEY_MAX));
	assert_false(idempotency_key_valid(long_key, IDEMPOTENCY_KEY_MAX + 1));
}

static void
test_request_hash(void **state)
{
	char a[65], b[65];
	const char *body = "{\"name\":\"a\"}";

	(void)state;
	idempotency_request_hash("POST", "/api/deliverables", body, strlen(body), a);
	assert_string_equal(a, "a25e77f9a1a069b96db6eea8c10422bc6b27c15407ec3b02371f498bee4aa265");
	/* Another body, path or method is another hash. */
	idempotency_request_hash("POST", "/api/deliverables", "{\"name\":\"b\"}", 12, b);
	assert_string_not_equal(a, b);
	idempotency_request_hash("POST", "/api/metrics", body, strlen(body), b);
	assert_string_not_equal(a, b);
	/* No body hashes too. */
	idempotency_request_hash("POST", "/api/updates/x/read", NULL, 0, b);
	assert_int_equal(strlen(b), 64);
}

static void
test_record_key(void **state)
{
	char *x = idempotency_record_key("a:b", "c"), *y = idempotency_record_key("a", "b:c");

	(void)state;
	assert_string_equal(x, "3:a:b:c");
	assert_string_equal(y, "1:a:b:c");
	assert_string_not_equal(x, y);
	free(x);
	free(y);
}

static void
test_schema(void **state)
{
	json_object *req = schema_create_request(SCHEMA_IDEMPOTENCY, "p-idempotency"), *ttl;

	(void)state;
	assert_string_equal(json_object_to_json_string_ext(json_object_object_get(req, "KeySchema"),
	    JSON_C_TO_STRING_PLAIN), "[{\"AttributeName\":\"key\",\"KeyType\":\"HASH\"}]");
	assert_string_equal(json_object_get_string(json_object_object_get(req, "BillingMode")),
	    "PAY_PER_REQUEST");
	json_object_put(req);
	ttl = schema_ttl_request(SCHEMA_IDEMPOTENCY, "p-idempotency");
	assert_non_null(ttl);
	assert_string_equal(json_object_to_json_string_ext(json_object_object_get(ttl,
	    "TimeToLiveSpecification"), JSON_C_TO_STRING_PLAIN),
	    "{\"Enabled\":true,\"AttributeName\":\"expires_at\"}");
	json_object_put(ttl);
	assert_null(schema_ttl_request(SCHEMA_DELIVERABLES, "p-deliverables"));
	assert_string_equal(schema_short_name(SCHEMA_IDEMPOTENCY), "idempotency");
}

static void
test_reserved(void **state)
{
	json_object *plain0 = json_tokener_parse("{\"id\":0,\"next_id\":7}");
	json_object *raw0 = json_tokener_parse("{\"id\":{\"N\":\"0\"}}");
	json_object *plain1 = json_tokener_parse("{\"id\":1}");
	json_object *raw_s = json_tokener_parse("{\"id\":{\"S\":\"0\"}}");

	(void)state;
	assert_true(model_is_reserved(plain0));
	assert_true(model_is_reserved(raw0));
	assert_false(model_is_reserved(plain1));
	assert_false(model_is_reserved(raw_s));
	assert_false(model_is_reserved(NULL));
	json_object_put(plain0);
	json_object_put(raw0);
	json_object_put(plain1);
	json_object_put(raw_s);
}

/* expected_version_or_reply on an If-Match value: the status it answered
 * (0: none) and the version. */
static int
if_match(const char *value, long *version)
{
	struct request req;
	struct response res;
	int status;

	request_init(&req);
	response_init(&res);
	if (value != NULL)
		request_add_header(&req, "If-Match", value);
	res.status = 0;
	if (expected_version_or_reply(&req, &res, NULL, version) == 0)
		assert_int_equal(res.status, 0);
	status = res.status;
	request_reset(&req);
	response_reset(&res);
	return status;
}

static void
test_if_match(void **state)
{
	long v;

	(void)state;
	assert_int_equal(if_match(NULL, &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(if_match("\"3\"", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(if_match("3", &v), 0);
	assert_int_equal(v, 3);
	/* RFC 9110: If-Match compares strongly; a weak tag never matches. */
	assert_int_equal(if_match("W/\"3\"", &v), 409);
	/* "*": any existing item, no version condition. */
	assert_int_equal(if_match("*", &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(if_match("\"x\"", &v), 400);
	assert_int_equal(if_match("\"\"", &v), 400);
	assert_int_equal(if_match("0", &v), 400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_valid),
		cmocka_unit_test(test_request_hash),
		cmocka_unit_test(test_record_key),
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_reserved),
		cmocka_unit_test(test_if_match),
	};

	return cmocka_run_group_tests_name("idempotency", tests, NULL, NULL);
}
