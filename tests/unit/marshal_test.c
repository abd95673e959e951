/* marshal_test.c - plain JSON <-> DynamoDB AttributeValues: every type, exact
 * numbers both ways, nesting, and input that must be refused. */
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

/* Parses text that the test itself wrote; fails the test when it is not JSON. */
static json_object *
parse(const char *text)
{
	enum json_tokener_error	 jerr = json_tokener_success;
	json_object		*obj = json_tokener_parse_verbose(text, &jerr);

	if (jerr != json_tokener_success)
		fail_msg("test JSON does not parse: %s", text);
	return obj;	/* NULL for "null" */
}

/* Serialises obj without spaces (borrowed from obj). */
static const char *
text_of(json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Asserts that marshalling the plain JSON text gives exactly the wire text. */
static void
expect_marshal(const char *plain_text, const char *av_text)
{
	json_object	*plain = parse(plain_text), *av;
	const char	*cause = NULL;

	av = ddb_marshal_value(plain, &cause);
	assert_non_null(av);
	assert_string_equal(text_of(av), av_text);
	json_object_put(av);
	json_object_put(plain);
}

/* Asserts that unmarshalling the wire text gives exactly the plain text. */
static void
expect_unmarshal(const char *av_text, const char *plain_text)
{
	json_object	*av = parse(av_text), *plain;
	const char	*cause = NULL;

	plain = ddb_unmarshal_value(av, &cause);
	if (cause != NULL)
		fail_msg("unmarshal of %s failed: %s", av_text, cause);
	assert_string_equal(text_of(plain), plain_text);
	json_object_put(plain);
	json_object_put(av);
}

/* Asserts that unmarshalling the wire text is refused with a cause. */
static void
expect_unmarshal_fails(const char *av_text)
{
	json_object	*av = parse(av_text);
	const char	*cause = NULL;

	assert_null(ddb_unmarshal_value(av, &cause));
	assert_non_null(cause);
	json_object_put(av);
}

static void
test_scalars(void **state)
{
	(void)state;
	expect_marshal("\"hello\"", "{\"S\":\"hello\"}");
	expect_marshal("\"\"", "{\"S\":\"\"}");
	expect_marshal("\"caf\\u00e9 \\\"q\\\"\"", "{\"S\":\"caf\xc3\xa9 \\\"q\\\"\"}");
	expect_marshal("true", "{\"BOOL\":true}");
	expect_marshal("false", "{\"BOOL\":false}");
	expect_marshal("null", "{\"NULL\":true}");
	expect_marshal("42", "{\"N\":\"42\"}");
	expect_marshal("-7", "{\"N\":\"-7\"}");

	expect_unmarshal("{\"S\":\"hello\"}", "\"hello\"");
	expect_unmarshal("{\"BOOL\":true}", "true");
	expect_unmarshal("{\"BOOL\":false}", "false");
	expect_unmarshal("{\"NULL\":true}", "null");
	expect_unmarshal("{\"L\":[{\"NULL\":true},{\"S\":\"x\"}]}", "[null,\"x\"]");
	expect_unmarshal("{\"N\":\"42\"}", "42");
}

static void
test_exact_numbers(void **state)
{
	static const char *const numbers[] = {
		"6.4", "4.1", "12.5", "0.1", "1e5", "1E+5", "-0", "-0.0", "0",
		"9223372036854775807", "-9223372036854775808",
		"12345678901234567890123456789012345678", "3.14159265358979323846264338327950288",
		"0.000001", "1.10", "100",
	};
	char		 av_text[256], plain_text[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(numbers); i++) {
		snprintf(av_text, sizeof av_text, "{\"N\":\"%s\"}", numbers[i]);
		snprintf(plain_text, sizeof plain_text, "%s", numbers[i]);
		/* DynamoDB -> plain keeps the text... */
		expect_unmarshal(av_text, plain_text);
	}
	/* ...and plain (as parsed from a request body) -> DynamoDB keeps it too.
	 * Integers past int64 are clamped by json-c's parser, so those are
	 * checked through ddb_json_number below instead. */
	expect_marshal("6.4", "{\"N\":\"6.4\"}");
	expect_marshal("4.1", "{\"N\":\"4.1\"}");
	expect_marshal("12.5", "{\"N\":\"12.5\"}");
	expect_marshal("0.1", "{\"N\":\"0.1\"}");
	expect_marshal("1e5", "{\"N\":\"1e5\"}");
	expect_marshal("-0.0", "{\"N\":\"-0.0\"}");
	expect_marshal("9223372036854775807", "{\"N\":\"9223372036854775807\"}");
	expect_marshal("18446744073709551615", "{\"N\":\"18446744073709551615\"}");
}

static void
test_number_round_trip(void **state)
{
	static const char *const numbers[] = {
		"4.1", "6.4", "12345678901234567890123456789012345678", "-0", "2.50",
	};
	json_object	*num, *av, *back;
	const char	*cause = NULL;
	size_t		 i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(numbers); i++) {
		num = ddb_json_number(numbers[i]);
		assert_non_null(num);
		assert_string_equal(text_of(num), numbers[i]);
		av = ddb_marshal_value(num, &cause);
		assert_non_null(av);
		back = ddb_unmarshal_value(av, &cause);
		assert_non_null(back);
		assert_string_equal(text_of(back), numbers[i]);
		json_object_put(back);
		json_object_put(av);
		json_object_put(num);
	}
	/* Integers that fit come back as json-c ints, so handlers can read them. */
	num = ddb_json_number("1234");
	assert_true(json_object_is_type(num, json_type_int));
	assert_int_equal(json_object_get_int64(num), 1234);
	json_object_put(num);
	num = ddb_json_number("4.1");
	assert_true(json_object_is_type(num, json_type_double));
	assert_true(json_object_get_double(num) == 4.1);
	json_object_put(num);
	/* Not numbers. */
	assert_null(ddb_json_number(""));
	assert_null(ddb_json_number("abc"));
	assert_null(ddb_json_number("1.2.3"));
	assert_null(ddb_json_number("NaN"));
	assert_null(ddb_json_number("Infinity"));
	assert_null(ddb_json_number("1e999"));
	assert_null(ddb_json_number(".5"));
}

static void
test_computed_doubles(void **state)
{
	json_object	*num, *av;
	const char	*cause = NULL;

	(void)state;
	/* A double computed in C (no source text) takes its shortest exact form. */
	num = json_object_new_double(4.1);
	av = ddb_marshal_value(num, &cause);
	assert_non_null(av);
	assert_string_equal(text_of(av), "{\"N\":\"4.1\"}");
	json_object_put(av);
	json_object_put(num);
	num = json_object_new_double(0.1 + 0.2);
	av = ddb_marshal_value(num, &cause);
	assert_non_null(av);
	assert_string_equal(text_of(av), "{\"N\":\"0.30000000000000004\"}");
	json_object_put(av);
	json_object_put(num);
}

static void
test_shorthands(void **state)
{
	json_object	*av;

	(void)state;
	av = ddb_av_s("x");
	assert_string_equal(text_of(av), "{\"S\":\"x\"}");
	json_object_put(av);
	av = ddb_av_n("6.4");
	assert_string_equal(text_of(av), "{\"N\":\"6.4\"}");
	json_object_put(av);
	av = ddb_av_n_int(-9223372036854775807LL - 1);
	assert_string_equal(text_of(av), "{\"N\":\"-9223372036854775808\"}");
	json_object_put(av);
}

static void
test_nested(void **state)
{
	static const char plain_text[] =
	    "{\"id\":7,\"name\":\"Takeoff\",\"done\":false,\"owner\":null,"
	    "\"author\":{\"id\":\"auth0|1\",\"tags\":[\"a\",1.5,{\"deep\":[[true]]}]},"
	    "\"history\":[{\"value\":6.4,\"at\":\"2026-11-24T15:04:05Z\"},{\"value\":4.1,\"at\":\"x\"}],"
	    "\"empty_map\":{},\"empty_list\":[]}";
	static const char av_text[] =
	    "{\"id\":{\"N\":\"7\"},\"name\":{\"S\":\"Takeoff\"},\"done\":{\"BOOL\":false},"
	    "\"owner\":{\"NULL\":true},"
	    "\"author\":{\"M\":{\"id\":{\"S\":\"auth0|1\"},\"tags\":{\"L\":[{\"S\":\"a\"},{\"N\":\"1.5\"},"
	    "{\"M\":{\"deep\":{\"L\":[{\"L\":[{\"BOOL\":true}]}]}}}]}}},"
	    "\"history\":{\"L\":[{\"M\":{\"value\":{\"N\":\"6.4\"},\"at\":{\"S\":\"2026-11-24T15:04:05Z\"}}},"
	    "{\"M\":{\"value\":{\"N\":\"4.1\"},\"at\":{\"S\":\"x\"}}}]},"
	    "\"empty_map\":{\"M\":{}},\"empty_list\":{\"L\":[]}}";
	json_object	*plain = parse(plain_text), *item, *back;
	const char	*cause = NULL;

	(void)state;
	item = ddb_marshal_item(plain, &cause);
	assert_non_null(item);
	assert_string_equal(text_of(item), av_text);
	back = ddb_unmarshal_item(item, &cause);
	assert_non_null(back);
	assert_string_equal(text_of(back), plain_text);
	json_object_put(back);
	json_object_put(item);
	json_object_put(plain);
}

static void
test_sets(void **state)
{
	(void)state;
	expect_unmarshal("{\"SS\":[\"auth0|a\",\"auth0|b\"]}", "[\"auth0|a\",\"auth0|b\"]");
	expect_unmarshal("{\"NS\":[\"1\",\"4.1\",\"-0.5\"]}", "[1,4.1,-0.5]");
	expect_unmarshal("{\"M\":{\"read_by\":{\"SS\":[\"u1\"]}}}", "{\"read_by\":[\"u1\"]}");
	/* Plain arrays marshal to L, never to a set. */
	expect_marshal("[\"a\",\"b\"]", "{\"L\":[{\"S\":\"a\"},{\"S\":\"b\"}]}");
	expect_unmarshal_fails("{\"SS\":[1]}");
	expect_unmarshal_fails("{\"NS\":[\"x\"]}");
	expect_unmarshal_fails("{\"SS\":\"a\"}");
}

static void
test_bad_attribute_values(void **state)
{
	(void)state;
	expect_unmarshal_fails("{\"X\":\"1\"}");		/* unknown tag */
	expect_unmarshal_fails("{}");				/* no tag */
	expect_unmarshal_fails("{\"S\":\"a\",\"N\":\"1\"}");	/* two tags */
	expect_unmarshal_fails("\"plain\"");			/* not an object */
	expect_unmarshal_fails("{\"S\":1}");
	expect_unmarshal_fails("{\"N\":1}");
	expect_unmarshal_fails("{\"N\":\"NaN\"}");
	expect_unmarshal_fails("{\"N\":\"1e999\"}");
	expect_unmarshal_fails("{\"N\":\"12abc\"}");
	expect_unmarshal_fails("{\"BOOL\":\"true\"}");
	expect_unmarshal_fails("{\"NULL\":\"x\"}");
	expect_unmarshal_fails("{\"M\":[]}");
	expect_unmarshal_fails("{\"L\":{}}");
	expect_unmarshal_fails("{\"B\":\"AAEC\"}");		/* binary is refused */
	expect_unmarshal_fails("{\"M\":{\"a\":{\"L\":[{\"Q\":1}]}}}");	/* bad deep inside */
}

static void
test_bad_plain_values(void **state)
{
	json_object	*plain, *av, *nan, *inf, *arr;
	const char	*cause = NULL;

	(void)state;
	/* json-c's parser accepts NaN and Infinity; DynamoDB numbers cannot be. */
	nan = parse("NaN");
	assert_null(ddb_marshal_value(nan, &cause));
	assert_non_null(cause);
	json_object_put(nan);
	cause = NULL;
	inf = json_object_new_double(1e308 * 10);
	assert_null(ddb_marshal_value(inf, &cause));
	assert_non_null(cause);
	/* Deep inside an item the whole item is refused. */
	arr = json_object_new_array();
	json_object_array_add(arr, inf);
	plain = json_object_new_object();
	json_object_object_add(plain, "values", arr);
	cause = NULL;
	assert_null(ddb_marshal_item(plain, &cause));
	assert_non_null(cause);
	json_object_put(plain);
	/* An item must be an object. */
	plain = parse("[1]");
	cause = NULL;
	assert_null(ddb_marshal_item(plain, &cause));
	assert_non_null(cause);
	json_object_put(plain);
	/* A double whose text was replaced by something that is not a number. */
	plain = json_object_new_double_s(1.0, "one");
	cause = NULL;
	assert_null(ddb_marshal_value(plain, &cause));
	assert_non_null(cause);
	json_object_put(plain);
	/* A NULL cause pointer is allowed. */
	plain = parse("{\"a\":1}");
	av = ddb_marshal_item(plain, NULL);
	assert_non_null(av);
	json_object_put(av);
	json_object_put(plain);
}

static void
test_depth_limit(void **state)
{
	json_object	*plain = json_object_new_string("leaf"), *outer, *av;
	const char	*cause = NULL;
	int		 i;

	(void)state;
	for (i = 0; i < 40; i++) {
		outer = json_object_new_array();
		json_object_array_add(outer, plain);
		plain = outer;
	}
	av = ddb_marshal_value(plain, &cause);
	assert_null(av);
	assert_non_null(cause);
	json_object_put(plain);
}

/* DynamoDB's number range (SPEC §5) as data: text -> held or refused. */
static const struct {
	const char	*text;
	bool		 in_range;
} number_range_cases[] = {
	{ "0", true }, { "-0", true }, { "0.000", true }, { "0e999999999999", true },
	{ "12345678901234567890", true }, { "0.000001", true }, { "-4.1", true },
	{ "1e-130", true }, { "1E-130", true }, { "0.1e-129", true }, { "-1e-130", true },
	{ "1e-131", false }, { "0.01e-129", false }, { "1e-200", false },
	{ "9.9999999999999999999999999999999999999E+125", true },
	{ "-9.9999999999999999999999999999999999999E+125", true },
	{ "99999999999999999999999999999999999999e88", true },
	{ "1E+126", false }, { "10E+125", false }, { "1e9999999999", false }, { "1e400", false },
	{ "12345678901234567890123456789012345678", true },
	{ "123456789012345678901234567890123456789", false },
	{ "1234567890123456789012345678901234567800000", true },
	{ "0.00012345678901234567890123456789012345678", true },
	{ "0.000123456789012345678901234567890123456789", false },
	{ "123456789012345678901234567890123456789012345", false },
	{ ".5", false }, { "1.", false }, { "+1", false }, { "01", false }, { "NaN", false },
	{ "", false },
};

static void
test_number_range(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(number_range_cases); i++) {
		const char *text = number_range_cases[i].text;
		bool want = number_range_cases[i].in_range;

		if (ddb_number_text_in_range(text) != want)
			fail_msg("%s: expected %s", text, want ? "in range" : "out of range");
	}
}

/* Numbers outside the range are refused by marshalling, before any store call;
 * inside it they keep their text, beyond 64 bits too. */
static void
test_marshal_number_range(void **state)
{
	json_object	*n;
	const char	*cause = NULL;

	(void)state;
	n = json_object_new_double_s(1e-200, "1e-200");
	assert_false(ddb_json_number_in_range(n));
	assert_null(ddb_marshal_value(n, &cause));
	assert_non_null(cause);
	json_object_put(n);
	n = json_object_new_double_s(1.2345678901234568e+19, "12345678901234567890");
	assert_true(ddb_json_number_in_range(n));
	json_object_put(n);
	expect_marshal("12345678901234567890", "{\"N\":\"12345678901234567890\"}");
	expect_unmarshal("{\"N\":\"123456789012345678901234567890\"}", "123456789012345678901234567890");
	expect_unmarshal("{\"N\":\"0.0000000000000000000000000000000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000000000000000000000000012345678901234567890123456789012345678\"}",
	    "0.0000000000000000000000000000000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000000000000000000000000012345678901234567890123456789012345678");
	n = json_object_new_string("x");
	assert_false(ddb_json_number_in_range(n));
	json_object_put(n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_exact_numbers),
		cmocka_unit_test(test_number_round_trip),
		cmocka_unit_test(test_computed_doubles),
		cmocka_unit_test(test_shorthands),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_bad_attribute_values),
		cmocka_unit_test(test_bad_plain_values),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_number_range),
		cmocka_unit_test(test_marshal_number_range),
	};

	return cmocka_run_group_tests_name("marshal", tests, NULL, NULL);
}
