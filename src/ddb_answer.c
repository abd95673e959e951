/* ddb_answer.c - reads a store answer and unmarshals its items in one pass.
 *
 * json-c would build the answer as a tree with an object (and its hash
 * table) for every AttributeValue wrapper, which ddb_unmarshal_item then
 * copies into a second tree. This reader walks the text once: the values of
 * the members "Item", "Attributes" and "Items" become plain items as they
 * are read (the rules of ddb_unmarshal_value); every other member (Count,
 * LastEvaluatedKey, ConsumedCapacity, ...) becomes an ordinary json-c value
 * in the wire format. The text must be one RFC 8259 object. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddb.h"
#include "json_check.h"
#include "util.h"

#define ANSWER_DEPTH_MAX	128	/* JSON nesting, as the json-c reader's limit */
#define ANSWER_AV_DEPTH_MAX	32	/* AttributeValue nesting, as ddb_unmarshal_value */
#define ANSWER_KEY_INLINE	64

struct reader {
	const char	*p, *end;
	const char	*why;		/* the first failure */
	bool		 unmarshal;	/* the failure is a value the item form cannot hold */
	struct buf	 text;		/* the last string read, decoded */
};

static int read_value(struct reader *r, int depth, json_object **out);
static int read_av(struct reader *r, int depth, int av_depth, json_object **out);

/* Records a syntax failure; returns -1. */
static int
bad(struct reader *r, const char *why)
{
	if (r->why == NULL)
		r->why = why;
	return -1;
}

/* Records a value the plain form cannot hold; returns -1. */
static int
bad_value(struct reader *r, const char *why)
{
	if (r->why == NULL) {
		r->why = why;
		r->unmarshal = true;
	}
	return -1;
}

/* At the start of a value of the wrong type: bad_value, or a syntax failure
 * when what stands there cannot start any JSON value. */
static int
bad_type(struct reader *r, const char *why)
{
	if (r->p >= r->end || *r->p == '\0' || strchr("{[\"-0123456789tfn", *r->p) == NULL)
		return bad(r, "malformed JSON");
	return bad_value(r, why);
}

static void
skip_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* Consumes c (after white space); -1 when it is not next. */
static int
expect(struct reader *r, char c)
{
	skip_ws(r);
	if (r->p >= r->end || *r->p != c)
		return bad(r, "malformed JSON");
	r->p++;
	return 0;
}

/* True (and consumed) when c is next after white space. */
static bool
accept(struct reader *r, char c)
{
	skip_ws(r);
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return true;
	}
	return false;
}

/* One \uXXXX escape at r->p (after the backslash and 'u'), with its low
 * surrogate when it is a high one; a lone surrogate becomes U+FFFD. */
static int
read_unicode_escape(struct reader *r)
{
	long cp = json_hex4(r->p, r->end), lo;

	if (cp < 0)
		return bad(r, "malformed \\u escape");
	r->p += 4;
	if (cp >= 0xD800 && cp <= 0xDBFF && r->end - r->p >= 6 && r->p[0] == '\\' &&
	    r->p[1] == 'u' && (lo = json_hex4(r->p + 2, r->end)) >= 0xDC00 && lo <= 0xDFFF) {
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		r->p += 6;
	} else if (cp >= 0xD800 && cp <= 0xDFFF)
		cp = 0xFFFD;
	json_put_utf8(&r->text, (uint32_t)cp);
	return 0;
}

/* A string (after white space) decoded into r->text (NUL-terminated; it may
 * hold NULs of its own: r->text.len is its length). */
static int
read_string(struct reader *r)
{
	const char *run;

	if (expect(r, '"') == -1)
		return -1;
	buf_reset(&r->text);
	for (;;) {
		run = r->p;
		while (r->p < r->end && *r->p != '"' && *r->p != '\\' && (unsigned char)*r->p >= 0x20)
			r->p++;
		buf_append(&r->text, run, (size_t)(r->p - run));
		if (r->p >= r->end || (unsigned char)*r->p < 0x20)
			return bad(r, "malformed JSON string");
		if (*r->p++ == '"')
			break;
		if (r->p >= r->end)
			return bad(r, "malformed JSON string");
		switch (*r->p++) {
		case '"':	buf_append(&r->text, "\"", 1); break;
		case '\\':	buf_append(&r->text, "\\", 1); break;
		case '/':	buf_append(&r->text, "/", 1); break;
		case 'b':	buf_append(&r->text, "\b", 1); break;
		case 'f':	buf_append(&r->text, "\f", 1); break;
		case 'n':	buf_append(&r->text, "\n", 1); break;
		case 'r':	buf_append(&r->text, "\r", 1); break;
		case 't':	buf_append(&r->text, "\t", 1); break;
		case 'u':
			if (read_unicode_escape(r) == -1)
				return -1;
			break;
		default:
			return bad(r, "malformed JSON escape");
		}
	}
	buf_append(&r->text, "", 0);	/* a terminated, possibly empty, buffer */
	return 0;
}

/* A member name into key (inline when short, else a heap copy in *heap). */
static int
read_key(struct reader *r, char inline_key[ANSWER_KEY_INLINE], char **heap, const char **key)
{
	*heap = NULL;
	if (read_string(r) == -1 || expect(r, ':') == -1)
		return -1;
	if (r->text.len < ANSWER_KEY_INLINE) {
		memcpy(inline_key, r->text.data, r->text.len + 1);
		*key = inline_key;
	} else
		*key = *heap = xstrdup(r->text.data);
	return 0;
}

/* A JSON number's text (RFC 8259 grammar), NUL-terminated in r->text. */
static int
read_number_text(struct reader *r)
{
	size_t n = json_number_len(r->p, r->end);

	if (n == 0)
		return bad(r, "malformed JSON number");
	buf_reset(&r->text);
	buf_append(&r->text, r->p, n);
	r->p += n;
	return 0;
}

/* A literal word (true, false, null). */
static int
read_word(struct reader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return bad(r, "malformed JSON literal");
	r->p += n;
	return 0;
}

/* An object's members into out, each value read by one of the readers. */
static int
read_object(struct reader *r, int depth, int av_depth, bool av, json_object **out)
{
	char inline_key[ANSWER_KEY_INLINE], *heap;
	const char *key;
	json_object *value;
	int rc;

	if (depth > ANSWER_DEPTH_MAX)
		return bad(r, "JSON nested too deeply");
	if (expect(r, '{') == -1)
		return -1;
	*out = json_object_new_object();
	if (accept(r, '}'))
		return 0;
	do {
		if (read_key(r, inline_key, &heap, &key) == -1)
			goto fail;
		rc = av ? read_av(r, depth + 1, av_depth + 1, &value) : read_value(r, depth + 1, &value);
		if (rc == 0)
			json_object_object_add(*out, key, value);
		free(heap);
		if (rc == -1)
			goto fail;
	} while (accept(r, ','));
	if (expect(r, '}') == 0)
		return 0;
fail:
	json_object_put(*out);
	*out = NULL;
	return -1;
}

/* An array's elements into out: plain values, AttributeValues or strings of a set. */
enum element { ELEMENT_JSON, ELEMENT_AV, ELEMENT_AV_MAP, ELEMENT_SET_S, ELEMENT_SET_N };

static int
read_element(struct reader *r, enum element kind, int depth, int av_depth, json_object **out)
{
	*out = NULL;
	switch (kind) {
	case ELEMENT_JSON:
		return read_value(r, depth, out);
	case ELEMENT_AV:
		return read_av(r, depth, av_depth + 1, out);
	case ELEMENT_AV_MAP:
		return read_object(r, depth, av_depth, true, out);
	case ELEMENT_SET_S:
	case ELEMENT_SET_N:
		skip_ws(r);
		if (r->p >= r->end || *r->p != '"')
			return r->p < r->end ? bad_type(r, "a set member must be a string") :
			    bad(r, "malformed JSON");
		if (read_string(r) == -1)
			return -1;
		if (kind == ELEMENT_SET_S)
			*out = json_object_new_string_len(r->text.data, (int)r->text.len);
		else if ((*out = ddb_json_number(r->text.data)) == NULL)
			return bad_value(r, "malformed number in NS");
		return 0;
	}
	return bad(r, "malformed JSON");
}

static int
read_array(struct reader *r, enum element kind, int depth, int av_depth, json_object **out)
{
	json_object *value;

	if (depth > ANSWER_DEPTH_MAX)
		return bad(r, "JSON nested too deeply");
	if (expect(r, '[') == -1)
		return -1;
	*out = json_object_new_array();
	if (accept(r, ']'))
		return 0;
	do {
		if (read_element(r, kind, depth + 1, av_depth, &value) == -1)
			goto fail;
		json_object_array_add(*out, value);
	} while (accept(r, ','));
	if (expect(r, ']') == 0)
		return 0;
fail:
	json_object_put(*out);
	*out = NULL;
	return -1;
}

/* Any JSON value as json-c (json-c's NULL for null). */
static int
read_value(struct reader *r, int depth, json_object **out)
{
	int64_t i;
	char *end;

	*out = NULL;
	skip_ws(r);
	if (r->p >= r->end)
		return bad(r, "malformed JSON");
	switch (*r->p) {
	case '{':
		return read_object(r, depth, 0, false, out);
	case '[':
		return read_array(r, ELEMENT_JSON, depth, 0, out);
	case '"':
		if (read_string(r) == -1)
			return -1;
		*out = json_object_new_string_len(r->text.data, (int)r->text.len);
		return 0;
	case 't':
		if (read_word(r, "true") == -1)
			return -1;
		*out = json_object_new_boolean(1);
		return 0;
	case 'f':
		if (read_word(r, "false") == -1)
			return -1;
		*out = json_object_new_boolean(0);
		return 0;
	case 'n':
		return read_word(r, "null");
	default:
		if (read_number_text(r) == -1)
			return -1;
		errno = 0;
		i = strtoll(r->text.data, &end, 10);
		if (*end == '\0' && errno == 0)
			*out = json_object_new_int64(i);
		else
			*out = json_object_new_double_s(strtod(r->text.data, NULL), r->text.data);
		return 0;
	}
}

/* The payload of an AttributeValue whose tag is r->text. */
static int
read_av_payload(struct reader *r, int depth, int av_depth, json_object **out)
{
	const char *tag = r->text.data;
	bool b;

	*out = NULL;
	skip_ws(r);
	if (r->p >= r->end)
		return bad(r, "malformed JSON");
	if (strcmp(tag, "S") == 0 || strcmp(tag, "N") == 0) {
		bool numeric = tag[0] == 'N';

		if (*r->p != '"')
			return bad_type(r, "malformed AttributeValue");
		if (read_string(r) == -1)
			return -1;
		if (!numeric)
			*out = json_object_new_string_len(r->text.data, (int)r->text.len);
		else if ((*out = ddb_json_number(r->text.data)) == NULL)
			return bad_value(r, "malformed number in N");
		return 0;
	}
	if (strcmp(tag, "BOOL") == 0 || strcmp(tag, "NULL") == 0) {
		bool is_null = tag[0] == 'N';

		if (*r->p != 't' && *r->p != 'f')
			return bad_type(r, "malformed AttributeValue");
		b = *r->p == 't';
		if (read_word(r, b ? "true" : "false") == -1)
			return -1;
		if (!is_null)
			*out = json_object_new_boolean(b);
		return 0;
	}
	if (strcmp(tag, "M") == 0)
		return *r->p != '{' ? bad_type(r, "a map must be a JSON object") :
		    read_object(r, depth, av_depth, true, out);
	if (strcmp(tag, "L") == 0)
		return *r->p != '[' ? bad_type(r, "a list must be a JSON array") :
		    read_array(r, ELEMENT_AV, depth, av_depth, out);
	if (strcmp(tag, "SS") == 0 || strcmp(tag, "NS") == 0)
		return *r->p != '[' ? bad_type(r, "a set must be an array") :
		    read_array(r, tag[0] == 'N' ? ELEMENT_SET_N : ELEMENT_SET_S, depth, av_depth, out);
	if (strcmp(tag, "B") == 0 || strcmp(tag, "BS") == 0)
		return bad_value(r, "binary attributes are not supported");
	return bad_value(r, "unknown AttributeValue type tag");
}

/* One AttributeValue, {"<tag>": payload}, unmarshalled into *out. */
static int
read_av(struct reader *r, int depth, int av_depth, json_object **out)
{
	*out = NULL;
	if (av_depth > ANSWER_AV_DEPTH_MAX)
		return bad_value(r, "value nested too deeply");
	if (depth > ANSWER_DEPTH_MAX)
		return bad(r, "JSON nested too deeply");
	skip_ws(r);
	if (r->p < r->end && *r->p != '{')
		return bad_type(r, "an AttributeValue must be an object with one type tag");
	if (expect(r, '{') == -1)
		return -1;
	skip_ws(r);
	if (r->p < r->end && *r->p == '}')
		return bad_value(r, "an AttributeValue must be an object with one type tag");
	if (read_string(r) == -1 || expect(r, ':') == -1)
		return -1;
	if (read_av_payload(r, depth + 1, av_depth, out) == -1)
		return -1;
	skip_ws(r);
	if (r->p < r->end && *r->p == ',')
		bad_value(r, "an AttributeValue must be an object with one type tag");
	else if (expect(r, '}') == 0)
		return 0;
	json_object_put(*out);
	*out = NULL;
	return -1;
}

/* The value of a top-level member: items in plain form, the rest as json-c. */
static int
read_member(struct reader *r, const char *key, json_object **out)
{
	*out = NULL;
	skip_ws(r);
	if (r->p < r->end && strcmp(key, "Items") == 0 && *r->p == '[')
		return read_array(r, ELEMENT_AV_MAP, 1, 0, out);
	if (r->p < r->end && (strcmp(key, "Item") == 0 || strcmp(key, "Attributes") == 0) &&
	    *r->p == '{')
		return read_object(r, 1, 0, true, out);
	return read_value(r, 1, out);
}

json_object *
ddb_answer_parse(const char *text, size_t len, const char **why, bool *unmarshal)
{
	struct reader r = { .p = text, .end = text + len };
	char inline_key[ANSWER_KEY_INLINE], *heap;
	const char *key;
	json_object *answer = NULL, *value;
	int rc = -1;

	*unmarshal = false;
	if (text == NULL || expect(&r, '{') == -1)
		goto out;
	answer = json_object_new_object();
	if (!accept(&r, '}')) {
		do {
			rc = -1;
			if (read_key(&r, inline_key, &heap, &key) == -1)
				goto out;
			rc = read_member(&r, key, &value);
			if (rc == 0)
				json_object_object_add(answer, key, value);
			else
				json_object_put(value);
			free(heap);
			if (rc == -1)
				goto out;
		} while (accept(&r, ','));
		rc = -1;
		if (expect(&r, '}') == -1)
			goto out;
	}
	skip_ws(&r);
	rc = r.p == r.end ? 0 : bad(&r, "text after the JSON object");
out:
	buf_free(&r.text);
	if (rc == -1) {
		json_object_put(answer);
		*why = r.why != NULL ? r.why : "malformed JSON";
		*unmarshal = r.unmarshal;
		return NULL;
	}
	return answer;
}
