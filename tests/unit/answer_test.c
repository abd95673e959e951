/* answer_test.c - the one-pass reader of store answers (ddb_answer_parse)
 * against the two-pass way it replaces (json-c's reader, then
 * ddb_unmarshal_item): the same plain items for every answer, the same
 * refusals, and random items of every type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ddb.h"
#include "util.h"

/* Serialises obj without spaces (a new string). */
static char *
text_of(json_object *obj)
{
	return xstrdup(json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* The two-pass reading: json-c's tree, then each item member unmarshalled.
 * NULL when either step refuses; *unmarshal tells which. */
static json_object *
two_pass(const char *text, bool *unmarshal)
{
	struct json_tokener *tok = json_tokener_new_ex(128);	/* as the store client's reader */
	json_object *answer = json_tokener_parse_ex(tok, text, (int)strlen(text)), *items, *plain;
	const char *why;
	bool whole = json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) == strlen(text);

	json_tokener_free(tok);
	*unmarshal = false;
	if (!whole || !json_object_is_type(answer, json_type_object)) {
		json_object_put(answer);
		return NULL;
	}
	json_object_object_foreach(answer, key, value) {
		if (strcmp(key, "Item") == 0 || strcmp(key, "Attributes") == 0) {
			if ((plain = ddb_unmarshal_item(value, &why)) == NULL)
				goto refused;
			json_object_object_add(answer, key, plain);
		} else if (strcmp(key, "Items") == 0 && json_object_is_type(value, json_type_array)) {
			items = json_object_new_array();
			for (size_t i = 0; i < json_object_array_length(value); i++) {
				if ((plain = ddb_unmarshal_item(json_object_array_get_idx(value, i),
				    &why)) == NULL) {
					json_object_put(items);
					goto refused;
				}
				json_object_array_add(items, plain);
			}
			json_object_object_add(answer, key, items);
		}
	}
	return answer;
refused:
	*unmarshal = true;
	json_object_put(answer);
	return NULL;
}

/* Asserts that both readings agree on text: the same answer, or both refuse
 * for the same kind of reason. */
static void
expect_same(const char *text)
{
	bool um1, um2;
	const char *why = NULL;
	json_object *one = ddb_answer_parse(text, strlen(text), &why, &um1);
	json_object *two = two_pass(text, &um2);
	char *a, *b;

	if (two == NULL) {
		if (one != NULL)
			fail_msg("accepted what json-c refuses: %s", text);
		assert_non_null(why);
		if (um1 != um2)
			fail_msg("refused as %s, expected %s: %s (%s)", um1 ? "item" : "syntax",
			    um2 ? "item" : "syntax", text, why);
		return;
	}
	if (one == NULL)
		fail_msg("refused (%s) what the two-pass reading takes: %s", why, text);
	a = text_of(one);
	b = text_of(two);
	if (strcmp(a, b) != 0)
		fail_msg("one pass: %s\ntwo passes: %s\ninput: %s", a, b, text);
	free(a);
	free(b);
	json_object_put(one);
	json_object_put(two);
}

/* Answers the store gives, every AttributeValue type and escape. */
static void
test_answers(void **state)
{
	static const char *const answers[] = {
		"{}",
		"{\"Item\":{\"id\":{\"N\":\"7\"},\"title\":{\"S\":\"Take-off\"}}}",
		"{\"Items\":[],\"Count\":0,\"ScannedCount\":0}",
		"{\"Items\":[{\"id\":{\"N\":\"1\"}},{\"id\":{\"N\":\"2\"},\"t\":{\"S\":\"x\"}}],"
		    "\"Count\":2,\"ScannedCount\":5,\"LastEvaluatedKey\":{\"id\":{\"N\":\"2\"}}}",
		"{\"Attributes\":{\"version\":{\"N\":\"3\"}},\"ConsumedCapacity\":"
		    "{\"TableName\":\"t\",\"CapacityUnits\":1.5}}",
		" {\n \"Item\" : { \"a\" : { \"S\" : \"\" } } } \n",
		"{\"Item\":{\"n\":{\"N\":\"-12.50\"},\"e\":{\"N\":\"1E+125\"},\"s\":{\"N\":\"-1e-130\"},"
		    "\"big\":{\"N\":\"123456789012345678901234567890123456789\"},"
		    "\"i\":{\"N\":\"-9223372036854775808\"},\"over\":{\"N\":\"9223372036854775808\"},"
		    "\"z\":{\"N\":\"0\"},\"mz\":{\"N\":\"-0\"}}}",
		"{\"Item\":{\"t\":{\"BOOL\":true},\"f\":{\"BOOL\":false},\"n\":{\"NULL\":true}}}",
		"{\"Item\":{\"m\":{\"M\":{\"a\":{\"L\":[{\"S\":\"x\"},{\"N\":\"1\"},{\"M\":{}},"
		    "{\"L\":[]},{\"NULL\":true}]}}}}}",
		"{\"Item\":{\"ss\":{\"SS\":[\"a\",\"b\"]},\"ns\":{\"NS\":[\"1\",\"2.5\",\"-3E2\"]}}}",
		"{\"Item\":{\"u\":{\"S\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t\"}}}",
		"{\"Item\":{\"nul\":{\"S\":\"a\\u0000b\"},\"lone\":{\"S\":\"\\ud800x\"}}}",
		"{\"Item\":{\"raw\":{\"S\":\"\xc3\xa9\xe2\x82\xac\"}}}",
		"{\"Item\":{\"k\\u00e9y\":{\"S\":\"v\"},"
		    "\"a-very-long-attribute-name-that-is-longer-than-sixty-four-bytes-for-sure\":"
		    "{\"S\":\"v\"}}}",
		"{\"Item\":{\"d\":{\"S\":\"1\"},\"d\":{\"S\":\"2\"}}}",
		"{\"Other\":[1,-2.5e3,\"s\",true,false,null,{\"x\":[]}]}",
		/* refused as items */
		"{\"Item\":{\"b\":{\"B\":\"AAE=\"}}}",
		"{\"Item\":{\"b\":{\"BS\":[\"AAE=\"]}}}",
		"{\"Item\":{\"x\":{\"Q\":\"1\"}}}",
		"{\"Item\":{\"x\":{\"S\":\"1\",\"N\":\"1\"}}}",
		"{\"Item\":{\"x\":{}}}",
		"{\"Item\":{\"x\":\"plain\"}}",
		"{\"Item\":{\"x\":{\"S\":1}}}",
		"{\"Item\":{\"x\":{\"N\":\"abc\"}}}",
		"{\"Item\":{\"x\":{\"N\":\"1e400\"}}}",
		"{\"Item\":{\"x\":{\"BOOL\":\"yes\"}}}",
		"{\"Item\":{\"x\":{\"M\":[]}}}",
		"{\"Item\":{\"x\":{\"L\":{}}}}",
		"{\"Item\":{\"x\":{\"SS\":[1]}}}",
		"{\"Item\":{\"x\":{\"NS\":[\"z\"]}}}",
		"{\"Items\":[{\"id\":{\"N\":\"1\"}},{\"id\":{\"B\":\"AA==\"}}]}",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(answers); i++)
		expect_same(answers[i]);
}

/* Text that is not one RFC 8259 object is refused as such (json-c's
 * lenient reader took some of it). */
static void
test_not_json(void **state)
{
	static const char *const texts[] = {
		"", " ", "{", "[]", "\"s\"", "{\"Item\":{}} x", "{\"Items\":[{}],}", "{\"a\":01}",
		"{\"a\":1.}", "{\"a\":-}", "{\"a\":NaN}", "{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}",
		"{\"a\":\"\\u12\"}", "{\"a\":tru}", "{\"Item\":{\"a\":{\"S\":\"x\"}",
		"{\"a\" 1}", "{'a':1}", "{\"Item\":{\"a\":{\"S\":\"x\"},}}",
		"{\"Items\":[{\"a\":{\"S\":\"x\"}}", "{\"a\":[1,]}", "{\"a\":1}{}",
		"{\"Item\":{\"a\":{\"S\":\"x\"}}", "{\"Item\":{\"a\":{\"S\" \"x\"}}}",
		"{\"Items\":[{\"a\":{\"L\":[{\"S\":\"x\"},]}}]}", "{\"a\":1e}", "{\"a\":.5}",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
		const char *why = NULL;
		bool unmarshal = true;
		json_object *one = ddb_answer_parse(texts[i], strlen(texts[i]), &why, &unmarshal);

		if (one != NULL)
			fail_msg("accepted: %s", texts[i]);
		assert_non_null(why);
		assert_false(unmarshal);
	}
	/* The length counts, not a NUL. */
	{
		const char *why;
		bool unmarshal;

		assert_null(ddb_answer_parse("{}\0{}", 5, &why, &unmarshal));
		assert_null(ddb_answer_parse("{\"a\":1}", 6, &why, &unmarshal));
		assert_null(ddb_answer_parse(NULL, 0, &why, &unmarshal));
	}
}

/* Nesting: at the AttributeValue limit both agree; one deeper both refuse. */
static void
test_depth(void **state)
{
	(void)state;
	for (int levels = 28; levels <= 36; levels++) {
		struct buf b = { 0 };

		buf_puts(&b, "{\"Item\":{\"a\":");
		for (int i = 0; i < levels; i++)
			buf_puts(&b, "{\"M\":{\"a\":");
		buf_puts(&b, "{\"S\":\"x\"}");
		for (int i = 0; i < levels; i++)
			buf_puts(&b, "}}");
		buf_puts(&b, "}}");
		expect_same(b.data);
		buf_free(&b);
	}
}

/* A random plain value of depth at most d. */
static json_object *
random_plain(unsigned *seed, int d)
{
	static const char *const strings[] = { "", "a", "caf\xc3\xa9", "tab\there", "q\"uote",
		"back\\slash", "\xf0\x9f\x98\x80", "slash/" };
	static const char *const numbers[] = { "0", "1", "-1", "42.5", "-0.125", "1E+10",
		"9999999999999999", "123456789012345678901234567890", "1.0E-5" };
	json_object *v;
	int kind = rand_r(seed) % (d > 0 ? 7 : 5), n;

	switch (kind) {
	case 0:
		return json_object_new_string(strings[rand_r(seed) % ARRAY_LEN(strings)]);
	case 1:
		return ddb_json_number(numbers[rand_r(seed) % ARRAY_LEN(numbers)]);
	case 2:
		return json_object_new_boolean(rand_r(seed) % 2);
	case 3:
		return NULL;
	case 4:
		return json_object_new_int64(rand_r(seed) - RAND_MAX / 2);
	case 5:
		v = json_object_new_array();
		n = rand_r(seed) % 4;
		for (int i = 0; i < n; i++)
			json_object_array_add(v, random_plain(seed, d - 1));
		return v;
	default:
		v = json_object_new_object();
		n = rand_r(seed) % 4;
		for (int i = 0; i < n; i++) {
			char key[16];

			snprintf(key, sizeof key, "k%d", rand_r(seed) % 10);
			json_object_object_add(v, key, random_plain(seed, d - 1));
		}
		return v;
	}
}

/* Random items, marshalled and written as a Query answer, read both ways. */
static void
test_random_items(void **state)
{
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 300; round++) {
		json_object *answer = json_object_new_object(), *items = json_object_new_array();
		int n = rand_r(&seed) % 5;

		for (int i = 0; i < n; i++) {
			json_object *plain = json_object_new_object(), *av;
			const char *why;
			int attrs = 1 + rand_r(&seed) % 6;

			json_object_object_add(plain, "id", json_object_new_int64(i + 1));
			for (int k = 0; k < attrs; k++) {
				char key[16];

				snprintf(key, sizeof key, "a%d", k);
				json_object_object_add(plain, key, random_plain(&seed, 3));
			}
			av = ddb_marshal_item(plain, &why);
			json_object_put(plain);
			if (av != NULL)
				json_object_array_add(items, av);
		}
		json_object_object_add(answer, "Items", items);
		json_object_object_add(answer, "Count", json_object_new_int64(n));
		expect_same(json_object_to_json_string_ext(answer, JSON_C_TO_STRING_PRETTY));
		expect_same(json_object_to_json_string_ext(answer, JSON_C_TO_STRING_PLAIN));
		json_object_put(answer);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_random_items),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
