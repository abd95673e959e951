/* json_check.h - what counts as one JSON text (RFC 8259), decided here once.
 *
 * json_check_scan is a pure scanner over raw bytes (no allocation besides the
 * result's number list, no global state): it refuses everything json-c lets
 * through in its "strict" mode (raw control characters in strings, NaN and
 * Infinity, comments, trailing commas, duplicate member names, text after the
 * value, lone surrogates) and reports what the caller needs next: the kind of
 * the top-level value, whether some string holds U+0000 (and under which
 * top-level member), and where every number token is.
 *
 * json_check_parse runs the scanner, then json-c, then gives every integer
 * json-c cannot hold (beyond 64 bits) its exact text, the way json-c already
 * keeps the text of the doubles it parses: numbers serialise as sent. */
#ifndef PORTAL_JSON_CHECK_H
#define PORTAL_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util.h"

/* Containers nested deeper than this are refused. */
#define JSON_CHECK_MAX_DEPTH	32

enum json_check_status {
	JSON_CHECK_OK = 0,
	JSON_CHECK_EMPTY,		/* nothing but whitespace */
	JSON_CHECK_NOT_UTF8,		/* RFC 8259 §8.1: UTF-8 only */
	JSON_CHECK_SYNTAX,		/* the grammar refuses it (NaN, comments, ',}' ...) */
	JSON_CHECK_CONTROL_CHAR,	/* a raw U+0000..U+001F inside a string */
	JSON_CHECK_BAD_ESCAPE,		/* an unknown escape or a lone surrogate */
	JSON_CHECK_DUPLICATE_KEY,	/* one object names a member twice */
	JSON_CHECK_TOO_DEEP,
	JSON_CHECK_TRAILING,		/* text after the value */
};

enum json_check_kind {
	JSON_CHECK_KIND_OBJECT = 0,
	JSON_CHECK_KIND_ARRAY,
	JSON_CHECK_KIND_STRING,
	JSON_CHECK_KIND_NUMBER,
	JSON_CHECK_KIND_BOOL,
	JSON_CHECK_KIND_NULL,
};

/* A stretch of the scanned text. */
struct json_check_span {
	size_t	off;
	size_t	len;
};

struct json_check_result {
	enum json_check_status	 status;
	size_t			 offset;	/* byte where the error was found */
	enum json_check_kind	 top;		/* the top-level value's kind (when OK) */
	bool			 has_nul;	/* some string or member name holds \u0000 */
	bool			 nul_in_name;	/* some member name holds \u0000 */
	/* The raw text (escapes as written, no quotes) of the top-level member
	 * name under which the first \u0000 was found; len 0 when the top-level
	 * value is not an object. */
	struct json_check_span	 nul_field;
	struct json_check_span	*numbers;	/* every number token in document order; owned */
	size_t			 nnumbers;
	size_t			 numbers_cap;
};

/* Scans len bytes of text (no terminator needed) as exactly one JSON text.
 * 0 when it is one; -1 with r->status and r->offset otherwise. r is always
 * filled; release it with json_check_result_free. max_depth <= 0 means
 * JSON_CHECK_MAX_DEPTH. */
int json_check_scan(const char *text, size_t len, int max_depth, struct json_check_result *r);
/* Releases the number list of r; NULL-safe. */
void json_check_result_free(struct json_check_result *r);
/* A short English phrase for a status ("duplicate member name"); static. */
const char *json_check_status_text(enum json_check_status status);

/* Pieces of the grammar, for other readers of JSON text: the length of the
 * number token at text (0 when none starts there), the value of four hex
 * digits (-1 when they are not), a code point appended as UTF-8. */
size_t json_number_len(const char *text, const char *end);
long json_hex4(const char *p, const char *end);
void json_put_utf8(struct buf *out, uint32_t cp);

/* json_check_scan, then json-c; a new object (caller puts it) or NULL with
 * r->status set. text[len] must be '\0'. Integers beyond 64 bits become
 * doubles that serialise as their exact text (so do json-c's own doubles).
 * When r->has_nul, member names are cut at the NUL by json-c: callers must
 * refuse such a text before reading it. */
json_object *json_check_parse(const char *text, size_t len, int max_depth,
    struct json_check_result *r);

#endif
