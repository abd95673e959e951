/* json_write.c - the JSON text of a json-c tree, as json-c writes it (see
 * json_write.h), straight into a struct buf. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "json_write.h"

#define JSON_WRITE_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define JSON_WRITE_BUF_MIN	256	/* the first allocation, as buf_append's */
#define JSON_WRITE_ESCAPE_MAX	6	/* \u00xx */

/* For each byte: 0 when it is written as it is, else the letter after the
 * backslash ('u' for \u00xx). */
static const char escape_of[256] = {
	[0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
	[0x06] = 'u', [0x07] = 'u', [0x08] = 'b', [0x09] = 't', [0x0a] = 'n', [0x0b] = 'u',
	[0x0c] = 'f', [0x0d] = 'r', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u', [0x11] = 'u',
	[0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u',
	[0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u', [0x1d] = 'u',
	[0x1e] = 'u', [0x1f] = 'u', ['"'] = '"', ['\\'] = '\\',
};

/* The hex digits of \u00xx, in json-c's case. */
static const char hex_digits[] = "0123456789abcdef";

/* Grows out to hold need bytes. */
static __attribute__((noinline)) void
grow(struct buf *out, size_t need)
{
	size_t cap = out->cap != 0 ? out->cap : JSON_WRITE_BUF_MIN;

	while (cap < need)
		cap *= 2;
	out->data = xrealloc(out->data, cap);
	out->cap = cap;
}

/* Makes room for n more bytes and a terminator; returns where they go. */
static inline char *
room(struct buf *out, size_t n)
{
	size_t need = out->len + n + 1;

	if (need > out->cap)
		grow(out, need);
	return out->data + out->len;
}

/* Appends n bytes. */
static inline void
put(struct buf *out, const char *s, size_t n)
{
	memcpy(room(out, n), s, n);
	out->len += n;
	out->data[out->len] = '\0';
}

/* Appends len bytes of s as a JSON string: each run of plain bytes with one
 * copy, room made once for the whole string and again at each escape. */
void
json_write_string(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len, *run;
	char *w = room(out, len + 2);
	char e;

	*w++ = '"';
	for (;;) {
		run = p;
		p += json_write_plain_len((const char *)p, (size_t)(end - p));
		memcpy(w, run, (size_t)(p - run));
		w += p - run;
		if (p == end)
			break;
		/* The escape, the bytes left and the closing quote. */
		out->len = (size_t)(w - out->data);
		w = room(out, JSON_WRITE_ESCAPE_MAX + (size_t)(end - p) + 1);
		e = escape_of[*p];
		*w++ = '\\';
		*w++ = e;
		if (e == 'u') {
			*w++ = '0';
			*w++ = '0';
			*w++ = hex_digits[*p >> 4];
			*w++ = hex_digits[*p & 0xf];
		}
		p++;
	}
	*w++ = '"';
	*w = '\0';
	out->len = (size_t)(w - out->data);
}

/* Appends the decimal digits of u, after a minus sign when negative. */
static void
write_decimal(struct buf *out, uint64_t u, bool negative)
{
	char digits[24], *p = digits + sizeof digits;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (negative)
		*--p = '-';
	put(out, p, (size_t)(digits + sizeof digits - p));
}

/* A json-c int: an int64, or a uint64 above INT64_MAX (json_object_get_int64
 * clamps those to INT64_MAX; json_object_get_uint64 gives them whole). */
static void
write_int(struct buf *out, json_object *obj)
{
	int64_t i = json_object_get_int64(obj);
	uint64_t u;

	if (i == INT64_MAX && (u = json_object_get_uint64(obj)) > (uint64_t)INT64_MAX)
		write_decimal(out, u, false);
	else
		write_decimal(out, i < 0 ? -(uint64_t)i : (uint64_t)i, i < 0);
}

/* One value written by json-c itself. */
static void
write_by_json_c(struct buf *out, json_object *obj)
{
	size_t len;
	const char *text = json_object_to_json_string_length(obj, JSON_WRITE_FLAGS, &len);

	put(out, text, len);
}

/* Members in json-c's order: "name":value, separated by commas. */
static void
write_object(struct buf *out, json_object *obj)
{
	struct json_object_iter it;
	bool first = true;

	put(out, "{", 1);
	json_object_object_foreachC(obj, it) {
		if (!first)
			put(out, ",", 1);
		first = false;
		json_write_string(out, it.key, strlen(it.key));
		put(out, ":", 1);
		json_write_value(out, it.val);
	}
	put(out, "}", 1);
}

/* Elements, separated by commas. */
static void
write_array(struct buf *out, json_object *obj)
{
	size_t n = json_object_array_length(obj);

	put(out, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			put(out, ",", 1);
		json_write_value(out, json_object_array_get_idx(obj, i));
	}
	put(out, "]", 1);
}

void
json_write_value(struct buf *out, json_object *obj)
{
	if (obj == NULL) {
		put(out, "null", 4);
		return;
	}
	if (json_object_get_userdata(obj) != NULL) {
		write_by_json_c(out, obj);
		return;
	}
	switch (json_object_get_type(obj)) {
	case json_type_boolean:
		if (json_object_get_boolean(obj))
			put(out, "true", 4);
		else
			put(out, "false", 5);
		return;
	case json_type_int:
		write_int(out, obj);
		return;
	case json_type_string:
		json_write_string(out, json_object_get_string(obj),
		    (size_t)json_object_get_string_len(obj));
		return;
	case json_type_object:
		write_object(out, obj);
		return;
	case json_type_array:
		write_array(out, obj);
		return;
	case json_type_null:
	case json_type_double:
	default:
		write_by_json_c(out, obj);
		return;
	}
}
