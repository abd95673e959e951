/* json_write_test.c - the JSON writer against json-c: byte for byte the text
 * of json_object_to_json_string_ext(PLAIN | NOSLASHESCAPE), on hand-made
 * trees and on random ones. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_write.h"
#include "util.h"

#define FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Asserts that the writer gives json-c's text for obj, alone and appended
 * after other text; puts obj. */
static void
expect_same(json_object *obj)
{
	struct buf out = BUF_INIT, after = BUF_INIT;
	size_t len;
	const char *want = json_object_to_json_string_length(obj, FLAGS, &len);

	json_write_value(&out, obj);
	if (out.len != len || memcmp(out.data, want, len) != 0)
		fail_msg("json_write: %.*s\njson-c:     %s", (int)out.len, out.data, want);
	assert_int_equal(out.data[out.len], '\0');
	buf_puts(&after, "prefix");
	json_write_value(&after, obj);
	assert_int_equal(after.len, 6 + len);
	assert_memory_equal(after.data, "prefix", 6);
	assert_memory_equal(after.data + 6, want, len);
	buf_free(&out);
	buf_free(&after);
	json_object_put(obj);
}

/* Every byte in a string and in a member name, alone and between others. */
static void
test_bytes(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		char s[8] = { 'a', (char)c, 'b', (char)c, (char)c, 'x', '\xc3', '\xa9' };
		json_object *o = json_object_new_object(), *a = json_object_new_array();
		char key[4] = { 'k', (char)c, 'z', '\0' };

		json_object_array_add(a, json_object_new_string_len(s + 1, 1));
		json_object_array_add(a, json_object_new_string_len(s, sizeof s));
		expect_same(a);
		json_object_object_add(o, c == 0 ? "k" : key, json_object_new_string_len(s, 3));
		expect_same(o);
	}
}

/* Strings of every length up to 40 with a byte to escape (or a high byte)
 * at every position: the eight-byte scan's edges. */
static void
test_runs(void **state)
{
	static const char stops[] = { '"', '\\', '\0', '\x01', '\x1f', '\n', '/', '\x7f', '\x80',
		'\xa0', '\xff', ' ', '!', '#', '[', ']', '\\' + 1, '"' - 1 };

	(void)state;
	for (size_t len = 0; len <= 40; len++) {
		for (size_t at = 0; at < len; at++) {
			for (size_t k = 0; k < sizeof stops; k++) {
				char s[41];

				memset(s, 'a' + (int)(len % 26), len);
				s[at] = stops[k];
				expect_same(json_object_new_string_len(s, (int)len));
			}
		}
		{
			char s[41];

			memset(s, 'q', len);
			expect_same(json_object_new_string_len(s, (int)len));
		}
	}
}

/* A long string of nothing but escapes (room made again at each one), and
 * one of nothing but plain bytes. */
static void
test_long_strings(void **state)
{
	size_t n = 100000;
	char *s = xmalloc(n);

	(void)state;
	for (size_t i = 0; i < n; i++)
		s[i] = (char)(i % 32);
	expect_same(json_object_new_string_len(s, (int)n));
	for (size_t i = 0; i < n; i++)
		s[i] = (char)(0x20 + i % 0x60);
	expect_same(json_object_new_string_len(s, (int)n));
	memset(s, '\xe2', n);
	expect_same(json_object_new_string_len(s, (int)n));
	free(s);
}

/* A double printed by its own serializer (a function of this test). */
static int
custom_serializer(json_object *obj, struct printbuf *pb, int level, int flags)
{
	(void)obj;
	(void)level;
	(void)flags;
	return printbuf_memappend(pb, "\"custom\"", 8);
}

/* Numbers, literals, empty containers, NULL members and elements. */
static void
test_values(void **state)
{
	static const double doubles[] = { 0.0, -0.0, 1.0, 0.1, -2.5, 1e300, 1e-300, 3.0e10,
		123456789.125, 5e-324, 1.7976931348623157e308 };
	json_object *o, *a;

	(void)state;
	expect_same(NULL);
	expect_same(json_object_new_object());
	expect_same(json_object_new_array());
	expect_same(json_object_new_string(""));
	expect_same(json_object_new_boolean(1));
	expect_same(json_object_new_boolean(0));
	expect_same(json_object_new_boolean(7));
	expect_same(json_object_new_int64(INT64_MIN));
	expect_same(json_object_new_int64(INT64_MAX));
	expect_same(json_object_new_int64(0));
	expect_same(json_object_new_int64(-1));
	expect_same(json_object_new_int(INT32_MIN));
	expect_same(json_object_new_uint64(UINT64_MAX));
	expect_same(json_object_new_uint64((uint64_t)INT64_MAX + 1));
	expect_same(json_object_new_uint64((uint64_t)INT64_MAX));
	for (size_t i = 0; i < ARRAY_LEN(doubles); i++)
		expect_same(json_object_new_double(doubles[i]));
	expect_same(json_object_new_double(NAN));
	expect_same(json_object_new_double(INFINITY));
	expect_same(json_object_new_double(-INFINITY));
	expect_same(json_object_new_double_s(4.1, "4.1"));
	expect_same(json_object_new_double_s(1e125, "1E+125"));
	expect_same(json_object_new_double_s(0.5, "0.50"));
	expect_same(json_tokener_parse("[1.50,-0.0,2e3,12345678901234567890123,true,null,\"\\/\"]"));
	o = json_object_new_object();
	json_object_object_add(o, "null", NULL);
	json_object_object_add(o, "", json_object_new_object());
	json_object_object_add(o, "a/b", json_object_new_array());
	a = json_object_new_array();
	json_object_array_add(a, NULL);
	json_object_array_add(a, json_object_new_double_s(6.4, "6.4"));
	json_object_array_put_idx(a, 4, json_object_new_int(3));	/* NULLs in between */
	json_object_object_add(o, "list", a);
	expect_same(o);
	/* Values with a serializer of their own, with userdata. */
	o = json_object_new_double(1.5);
	json_object_set_serializer(o, custom_serializer, o, NULL);
	a = json_object_new_array();
	json_object_array_add(a, o);
	o = json_object_new_int(5);
	json_object_set_serializer(o, json_object_userdata_to_json_string, xstrdup("0x5"),
	    json_object_free_userdata);
	json_object_array_add(a, o);
	expect_same(a);
}

/* Nesting far deeper than any reader allows, both kinds alternating. */
static void
test_deep(void **state)
{
	json_object *top = json_object_new_array(), *cur = top;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		json_object *next = i % 2 ? json_object_new_array() : json_object_new_object();

		if (json_object_is_type(cur, json_type_array))
			json_object_array_add(cur, next);
		else
			json_object_object_add(cur, "k\n", next);
		cur = next;
	}
	expect_same(top);
}

/* A random string of n bytes from an alphabet rich in what gets escaped. */
static json_object *
random_string(unsigned *seed)
{
	static const char alphabet[] = "abc \"\\/\n\t\x01\x1f\x7f\xc3\xa9\xe2\x82\xac{}[]:,0";
	char s[64];
	int n = rand_r(seed) % 40;

	for (int i = 0; i < n; i++)
		s[i] = alphabet[rand_r(seed) % (int)(sizeof alphabet)];	/* with the NUL */
	return json_object_new_string_len(s, n);
}

/* A random tree of depth at most d. */
static json_object *
random_tree(unsigned *seed, int d)
{
	json_object *v;
	int n;

	switch (rand_r(seed) % (d > 0 ? 10 : 8)) {
	case 0:
		return random_string(seed);
	case 1:
		return json_object_new_int64((int64_t)(((uint64_t)rand_r(seed) << 33) ^
		    (uint64_t)rand_r(seed) ^ ((uint64_t)(rand_r(seed) % 2) << 63)));
	case 2:
		return json_object_new_double((double)rand_r(seed) / (rand_r(seed) + 1));
	case 3:
		return json_object_new_double_s(1.25, rand_r(seed) % 2 ? "1.25" : "125E-2");
	case 4:
		return json_object_new_boolean(rand_r(seed) % 2);
	case 5:
		return NULL;
	case 6:
		return json_object_new_uint64(UINT64_MAX - (uint64_t)rand_r(seed));
	case 7:
		return random_string(seed);
	case 8:
		v = json_object_new_array();
		n = rand_r(seed) % 5;
		for (int i = 0; i < n; i++)
			json_object_array_add(v, random_tree(seed, d - 1));
		return v;
	default:
		v = json_object_new_object();
		n = rand_r(seed) % 5;
		for (int i = 0; i < n; i++) {
			json_object *name = random_string(seed);

			json_object_object_add(v, json_object_get_string(name), random_tree(seed, d - 1));
			json_object_put(name);
		}
		return v;
	}
}

static void
test_random_trees(void **state)
{
	unsigned seed = 4242;

	(void)state;
	for (int i = 0; i < 500; i++)
		expect_same(random_tree(&seed, 5));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_long_strings),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_deep),
		cmocka_unit_test(test_random_trees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
