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
		/* names the reader keeps as constants: duplicates, escaped spellings, a NUL */
		"{\"Item\":{\"id\":{\"N\":\"1\"},\"name\":{\"S\":\"a\"},\"id\":{\"N\":\"2\"}}}",
		"{\"Item\":{\"i\\u0064\":{\"N\":\"1\"},\"id\":{\"N\":\"2\"},\"\\u0069d\":{\"S\":\"3\"}}}",
		"{\"Item\":{\"id\":{\"N\":\"1\"},\"id\\u0000x\":{\"N\":\"2\"},\"x\\u0000\":{\"S\":\"y\"}}}",
		"{\"Item\":{\"i\":{\"N\":\"1\"},\"ids\":{\"N\":\"2\"},\"Id\":{\"N\":\"3\"},\"\":{\"S\":\"\"}}}",
		"{\"Count\":1,\"Count\":2,\"Items\":[],\"Items\":[{\"id\":{\"N\":\"5\"}}],\"Count\":3}",
		"{\"Item\":{\"a\":{\"S\":\"x\"}},\"Item\":{\"b\":{\"N\":\"1\"}}}",
		"{\"It\\u0065m\":{\"a\":{\"S\":\"x\"}},\"Item\\u0000\":{\"b\":{\"S\":\"y\"}}}",
		"{\"Item\":{\"m\":{\"M\":{\"status\":{\"S\":\"a\"},\"status\":{\"S\":\"b\"},"
		    "\"x\":{\"S\":\"c\"},\"x\":{\"S\":\"d\"}}}}}",
		/* tags spelled with escapes, or cut at a NUL as json-c cuts a name */
		"{\"Item\":{\"a\":{\"\\u0053\":\"x\"},\"b\":{\"\\u004e\":\"7\"},"
		    "\"c\":{\"S\\u0000z\":\"y\"},\"d\":{\"BO\\u004fL\":true}}}",
		/* strings: escapes at the start, the middle, the end, alone; plain runs */
		"{\"Item\":{\"a\":{\"S\":\"\\nab\"},\"b\":{\"S\":\"ab\\tcd\"},\"c\":{\"S\":\"ab\\\\\"},"
		    "\"d\":{\"S\":\"\\\"\"},\"e\":{\"S\":\"\"},\"f\":{\"SS\":[\"\",\"\\u00e9\",\"plain\"]}}}",
		/* member names at and over the inline limit (63, 64, 65 bytes), with escapes */
		"{\"Item\":{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":{\"S\":\"63\"},"
		    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":{\"S\":\"64\"},"
		    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":{\"S\":\"65\"},"
		    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\u00e9\":{\"S\":\"e\"},"
		    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":{\"S\":\"dup\"}}}",
		/* numbers: the int64 fast path's edges, and what falls back */
		"{\"Item\":{\"a\":{\"N\":\"999999999999999999\"},\"b\":{\"N\":\"-999999999999999999\"},"
		    "\"c\":{\"N\":\"1000000000000000000\"},\"d\":{\"N\":\"-9223372036854775809\"},"
		    "\"e\":{\"N\":\"\\u0031\\u0032\"},\"f\":{\"N\":\"1\\u00002\"},\"g\":{\"N\":\"0\"},"
		    "\"h\":{\"N\":\"-5\"},\"i\":{\"NS\":[\"0\",\"-1\",\"1.5\",\"\\u0034\"]},"
		    "\"j\":{\"N\":\"1.00000000000000000000000000000000000000000000000000000000000000000000001\"},"
		    "\"k\":{\"N\":\"12345678901234567890123456789012345678901234567890123456789012345\"}}}",
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
		"{\"Item\":{\"x\":{\"N\":\"00\"}}}",
		"{\"Item\":{\"x\":{\"N\":\"01\"}}}",
		"{\"Item\":{\"x\":{\"N\":\"-\"}}}",
		"{\"Item\":{\"x\":{\"N\":\"\"}}}",
		"{\"Item\":{\"x\":{\"N\":\"1x\"}}}",
		"{\"Item\":{\"x\":{\"NS\":[\"1\",\"\"]}}}",
		"{\"Item\":{\"x\":{\"SS\\u0000\":[1]}}}",
		"{\"Item\":{\"x\":{\"BOOLEAN\":true}}}",
		"{\"Item\":{\"x\":{\"s\":\"lower\"}}}",
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

/* One member name for the random answers: constant names, their escaped
 * spellings, near misses, long names and names with escapes. */
static void
random_name(unsigned *seed, struct buf *b)
{
	static const char *const names[] = { "id", "name", "status", "version", "S", "N", "M",
		"Count", "Items", "i\\u0064", "st\\u0061tus", "idx", "i", "Name", "a",
		"k\\u00e9y", "tab\\there", "\\u0000", "id\\u0000", "",
		"a-long-name-of-sixty-three-bytes-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"a-long-name-of-sixty-four-bytes-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"a-long-name-with-an-escape-\\u00e9-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };

	buf_puts(b, "\"");
	buf_puts(b, names[rand_r(seed) % ARRAY_LEN(names)]);
	buf_puts(b, "\":");
}

/* One string payload for the random answers, with or without escapes: any
 * text, or (numeric) the text of a number. A value the plain form refuses is
 * left out: with a duplicate name json-c would drop it before unmarshalling. */
static void
random_text(unsigned *seed, struct buf *b, bool numeric)
{
	static const char *const texts[] = { "", "plain", "\\n", "a\\\"b", "end\\\\",
		"\\u00e9t\\u00e9", "\\ud83d\\ude00", "x\\u0000y", "\\/", "caf\xc3\xa9" };
	static const char *const numbers[] = { "12", "-3", "0", "1.5", "\\u0031", "1\\u0000x",
		"999999999999999999", "-1000000000000000000", "1E+3", "-0" };

	buf_puts(b, "\"");
	buf_puts(b, numeric ? numbers[rand_r(seed) % ARRAY_LEN(numbers)] :
	    texts[rand_r(seed) % ARRAY_LEN(texts)]);
	buf_puts(b, "\"");
}

/* A random AttributeValue of depth at most d. */
static void
random_av(unsigned *seed, struct buf *b, int d)
{
	bool numeric;
	int n;

	switch (rand_r(seed) % (d > 0 ? 8 : 5)) {
	case 0:
		buf_puts(b, "{\"S\":");
		random_text(seed, b, false);
		break;
	case 1:
		buf_puts(b, "{\"N\":");
		random_text(seed, b, true);
		break;
	case 2:
		buf_puts(b, rand_r(seed) % 2 ? "{\"BOOL\":true" : "{\"NULL\":true");
		break;
	case 3:
		numeric = rand_r(seed) % 2;
		buf_puts(b, numeric ? "{\"NS\":[" : "{\"SS\":[");
		n = rand_r(seed) % 3;
		for (int i = 0; i < n; i++) {
			if (i > 0)
				buf_puts(b, ",");
			random_text(seed, b, numeric);
		}
		buf_puts(b, "]");
		break;
	case 4:
		buf_puts(b, "{\"\\u0053\":");
		random_text(seed, b, false);
		break;
	case 5:
		buf_puts(b, "{\"L\":[");
		n = rand_r(seed) % 3;
		for (int i = 0; i < n; i++) {
			if (i > 0)
				buf_puts(b, ",");
			random_av(seed, b, d - 1);
		}
		buf_puts(b, "]");
		break;
	default:
		buf_puts(b, "{\"M\":{");
		n = rand_r(seed) % 4;
		for (int i = 0; i < n; i++) {
			if (i > 0)
				buf_puts(b, ",");
			random_name(seed, b);
			random_av(seed, b, d - 1);
		}
		buf_puts(b, "}");
		break;
	}
	buf_puts(b, "}");
}

/* Random answer texts with duplicate and escaped names and escaped strings,
 * read both ways. */
static void
test_random_names(void **state)
{
	unsigned seed = 777;

	(void)state;
	for (int round = 0; round < 400; round++) {
		struct buf b = BUF_INIT;
		int n = rand_r(&seed) % 4;

		buf_puts(&b, "{\"Items\":[");
		for (int i = 0; i < n; i++) {
			int attrs = rand_r(&seed) % 8;

			buf_puts(&b, i > 0 ? ",{" : "{");
			for (int k = 0; k < attrs; k++) {
				if (k > 0)
					buf_puts(&b, ",");
				random_name(&seed, &b);
				random_av(&seed, &b, 3);
			}
			buf_puts(&b, "}");
		}
		buf_printf(&b, "],\"Count\":%d", n);
		if (rand_r(&seed) % 2)
			buf_puts(&b, ",\"Count\":-1,\"C\\u006funt\":2");
		if (rand_r(&seed) % 2)
			buf_puts(&b, ",\"LastEvaluatedKey\":{\"id\":{\"N\":\"1\"},\"id\":{\"S\":\"x\\ty\"}}");
		buf_puts(&b, "}");
		expect_same(b.data);
		buf_free(&b);
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
		cmocka_unit_test(test_random_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
