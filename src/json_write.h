/* json_write.h - the JSON text of a json-c tree, written into a buffer.
 *
 * The text is byte for byte what json_object_to_json_string_ext(obj,
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) gives: no white
 * space, members in json-c's iteration order, strings escaped as json-c
 * escapes them (\" \\ \b \f \n \r \t, every other byte below 0x20 as \u00xx
 * in lower-case hex, nothing else), integers in decimal. A double, and any
 * value that carries userdata (json_object_new_double_s, a serializer set
 * with json_object_set_serializer and its userdata), is handed to json-c for
 * that one value. A serializer set without userdata cannot be seen through
 * json-c's interface and is not honoured: the product sets none.
 *
 * Unlike json-c it writes into the caller's buffer (no printbuf kept on the
 * tree) and copies each run of plain bytes of a string at once. */
#ifndef PORTAL_JSON_WRITE_H
#define PORTAL_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "util.h"

/* Appends the JSON text of obj (NULL writes null) to out; obj is borrowed.
 * out stays NUL-terminated. */
void json_write_value(struct buf *out, json_object *obj);
/* Appends len bytes of s as a JSON string (quotes included), escaped as
 * above; s may hold NULs. */
void json_write_string(struct buf *out, const char *s, size_t len);

/* The number of bytes from s (of len) before the first that a JSON string
 * cannot hold as it is: '"', '\\' or one below 0x20 (len when none). What
 * the writer copies as it is, and what a reader takes as it is. Eight bytes
 * at a time with the "has a byte less than n" and "has a zero byte" tests
 * (exact for the first such byte of a word), then byte by byte. */
static inline size_t
json_write_plain_len(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t w, quote, backslash;

	while (end - p >= 8) {
		memcpy(&w, p, 8);
		quote = w ^ (ones * '"');
		backslash = w ^ (ones * '\\');
		if ((((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) |
		    ((backslash - ones) & ~backslash)) & highs)
			break;
		p += 8;
	}
	while (p < end && *p >= 0x20 && *p != '"' && *p != '\\')
		p++;
	return (size_t)(p - (const unsigned char *)s);
}

#endif
