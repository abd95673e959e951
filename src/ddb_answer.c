/* ddb_answer.c - reads a store answer and unmarshals its items in one pass.
 *
 * json-c would build the answer as a tree with an object (and its hash
 * table) for every AttributeValue wrapper, which ddb_unmarshal_item then
 * copies into a second tree. This reader walks the text once: the values of
 * the members "Item", "Attributes" and "Items" become plain items as they
 * are read (the rules of ddb_unmarshal_value); every other member (Count,
 * LastEvaluatedKey, ConsumedCapacity, ...) becomes an ordinary json-c value
 * in the wire format. The text must be one RFC 8259 object.
 *
 * Copies are kept for what needs them: a string without escapes is made
 * straight from the source text (only one with escapes is decoded into a
 * buffer first), a member name the answers repeat (answer_names) is added
 * as a constant key, and a canonical integer N is read without strtoll. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddb.h"
#include "json_check.h"
#include "json_write.h"
#include "util.h"

#define ANSWER_DEPTH_MAX	128	/* JSON nesting, as the json-c reader's limit */
#define ANSWER_AV_DEPTH_MAX	32	/* AttributeValue nesting, as ddb_unmarshal_value */
#define ANSWER_KEY_INLINE	64
#define ANSWER_NUMBER_INLINE	64	/* an N text copied to the stack to be terminated */
#define ANSWER_NAME_BITS	7
#define ANSWER_NAME_SLOTS	(1 << ANSWER_NAME_BITS)	/* the hash of constant names */

struct reader {
	const char	*p, *end;
	const char	*why;		/* the first failure */
	bool		 unmarshal;	/* the failure is a value the item form cannot hold */
	struct buf	 text;		/* the last string with escapes read, decoded */
};

/* A string as read: in the source text when it has no escape (not
 * terminated), else decoded in r->text (terminated; it may hold NULs). As a
 * C string (what json-c makes of a member name) it ends at its first NUL:
 * clen is that length. */
struct str {
	const char	*p;
	size_t		 len;
	size_t		 clen;
	bool		 terminated;
};

/* A member name ready for json-c: a constant name (added without a copy),
 * or a copy (inline when short, else on the heap). */
struct key {
	const char	*name;
	int		 constant;	/* index in answer_names, or -1 */
	char		*heap;
	char		 inline_name[ANSWER_KEY_INLINE];
};

/* The names the store's answers repeat: the attributes of our tables
 * (SPEC §4), the AttributeValue tags and the members of an answer. A member
 * name found here is added to its object as a constant key: no copy. */
static const char *const answer_names[] = {
	/* deliverables */
	"id", "name", "description", "month", "status", "completion_percentage", "due_date",
	"owner", "updated_at", "version",
	/* metrics */
	"unit", "baseline_value", "current_value", "target_value", "higher_is_better",
	"history", "value", "at",
	/* updates */
	"title", "body", "type", "deliverable_id", "author", "email", "created_at",
	"read_by", "feed",
	/* users */
	"role", "last_seen_at",
	/* idempotency */
	"key", "request_hash", "response", "expires_at", "in_progress_until", "headers",
	/* AttributeValue tags */
	"S", "N", "BOOL", "NULL", "M", "L", "SS", "NS", "B", "BS",
	/* answers */
	"Items", "Item", "Attributes", "Count", "ScannedCount", "LastEvaluatedKey",
	"ConsumedCapacity", "TableName", "CapacityUnits",
};
_Static_assert(ARRAY_LEN(answer_names) <= 64, "one bit per name in an object's mask");
_Static_assert(ARRAY_LEN(answer_names) * 2 <= ANSWER_NAME_SLOTS, "a sparse hash");

static signed char answer_name_slots[ANSWER_NAME_SLOTS];	/* index + 1, 0 for free */
static size_t answer_name_lens[ARRAY_LEN(answer_names)];
static pthread_once_t answer_names_once = PTHREAD_ONCE_INIT;

/* A hash of a name from its length and three of its bytes (the first, the
 * middle and the last), multiplicative: cheap, and few collisions among
 * answer_names (each is settled by comparing the names). */
static uint32_t
name_hash(const char *s, size_t len)
{
	uint32_t v;

	if (len == 0)
		return 0;
	v = (uint32_t)len ^ (uint32_t)(unsigned char)s[0] << 8 ^
	    (uint32_t)(unsigned char)s[len - 1] << 16 ^ (uint32_t)(unsigned char)s[len / 2] << 24;
	return (v * 0x85EBCA77u) >> (32 - ANSWER_NAME_BITS);
}

/* Fills the open-addressing hash of answer_names (once per process). */
static void
answer_names_init(void)
{
	for (size_t i = 0; i < ARRAY_LEN(answer_names); i++) {
		uint32_t h = name_hash(answer_names[i], answer_name_lens[i] = strlen(answer_names[i]));

		while (answer_name_slots[h % ANSWER_NAME_SLOTS] != 0)
			h++;
		answer_name_slots[h % ANSWER_NAME_SLOTS] = (signed char)(i + 1);
	}
}

/* The index in answer_names of the C string s (clen bytes), or -1. */
static int
answer_name_find(const char *s, size_t clen)
{
	uint32_t h = name_hash(s, clen);
	int slot;

	pthread_once(&answer_names_once, answer_names_init);
	while ((slot = answer_name_slots[h % ANSWER_NAME_SLOTS]) != 0) {
		if (answer_name_lens[slot - 1] == clen && memcmp(answer_names[slot - 1], s, clen) == 0)
			return slot - 1;
		h++;
	}
	return -1;
}

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

/* A string (after white space) into *s: a span of the source when it has no
 * escape, else decoded into r->text. */
static int
read_string(struct reader *r, struct str *s)
{
	const char *run;

	if (expect(r, '"') == -1)
		return -1;
	run = r->p;
	r->p += json_write_plain_len(r->p, (size_t)(r->end - r->p));
	if (r->p < r->end && *r->p == '"') {
		s->p = run;
		s->len = s->clen = (size_t)(r->p - run);
		s->terminated = false;
		r->p++;
		return 0;
	}
	buf_reset(&r->text);
	for (;;) {
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
		run = r->p;
		r->p += json_write_plain_len(r->p, (size_t)(r->end - r->p));
	}
	buf_append(&r->text, "", 0);	/* a terminated, possibly empty, buffer */
	s->p = r->text.data;
	s->len = r->text.len;
	s->clen = strlen(r->text.data);
	s->terminated = true;
	return 0;
}

/* A member name and its colon into *k: a constant name when it is one of
 * answer_names, else a copy (release with key_free). */
static int
read_key(struct reader *r, struct key *k)
{
	struct str s;

	k->heap = NULL;
	if (read_string(r, &s) == -1 || expect(r, ':') == -1)
		return -1;
	if ((k->constant = answer_name_find(s.p, s.clen)) >= 0)
		k->name = answer_names[k->constant];
	else if (s.clen < ANSWER_KEY_INLINE) {
		memcpy(k->inline_name, s.p, s.clen);
		k->inline_name[s.clen] = '\0';
		k->name = k->inline_name;
	} else
		k->name = k->heap = xstrndup(s.p, s.clen);
	return 0;
}

/* Adds value under k to obj, as json_object_object_add would (a name seen
 * before in obj: the later value wins, in the first one's place). seen holds
 * a bit per constant name already in obj: a new one skips json-c's lookup. */
static void
key_add(json_object *obj, const struct key *k, json_object *value, uint64_t *seen)
{
	uint64_t bit;

	if (k->constant < 0) {
		json_object_object_add(obj, k->name, value);
		return;
	}
	bit = UINT64_C(1) << k->constant;
	json_object_object_add_ex(obj, k->name, value, JSON_C_OBJECT_ADD_CONSTANT_KEY |
	    ((*seen & bit) == 0 ? JSON_C_OBJECT_ADD_KEY_IS_NEW : 0));
	*seen |= bit;
}

/* A decimal integer of at most 18 digits in canonical form ("0", "-7",
 * "42"; no leading zero, no "-0") into *out: what ddb_json_number makes an
 * int64 of, without its checks. False for every other text. */
static bool
small_integer(const char *s, size_t len, int64_t *out)
{
	size_t i = s[0] == '-' ? 1 : 0;
	int64_t v = 0;

	if (len - i == 0 || len - i > 18 || (s[i] == '0' && (len - i > 1 || i == 1)))
		return false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = s[0] == '-' ? -v : v;
	return true;
}

/* The number of an N or NS text, as ddb_json_number makes it; NULL when it
 * is not a number. */
static json_object *
read_n(struct reader *r, const struct str *s)
{
	char text[ANSWER_NUMBER_INLINE];
	int64_t i;

	if (s->len > 0 && small_integer(s->p, s->len, &i))
		return json_object_new_int64(i);
	if (s->terminated)
		return ddb_json_number(s->p);
	if (s->len < sizeof text) {
		memcpy(text, s->p, s->len);
		text[s->len] = '\0';
		return ddb_json_number(text);
	}
	buf_reset(&r->text);
	buf_append(&r->text, s->p, s->len);
	return ddb_json_number(r->text.data);
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
	struct key key;
	uint64_t seen = 0;
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
		if (read_key(r, &key) == -1)
			goto fail;
		rc = av ? read_av(r, depth + 1, av_depth + 1, &value) : read_value(r, depth + 1, &value);
		if (rc == 0)
			key_add(*out, &key, value, &seen);
		free(key.heap);
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
	struct str s;

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
		if (read_string(r, &s) == -1)
			return -1;
		if (kind == ELEMENT_SET_S)
			*out = json_object_new_string_len(s.p, (int)s.len);
		else if ((*out = read_n(r, &s)) == NULL)
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
	struct str s;
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
		if (read_string(r, &s) == -1)
			return -1;
		*out = json_object_new_string_len(s.p, (int)s.len);
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

/* The AttributeValue tags. */
enum tag { TAG_S, TAG_N, TAG_BOOL, TAG_NULL, TAG_M, TAG_L, TAG_SS, TAG_NS, TAG_B, TAG_BS,
	TAG_UNKNOWN };

/* The tag named by the C string s (clen bytes). */
static enum tag
tag_of(const char *s, size_t clen)
{
	switch (clen) {
	case 1:
		switch (s[0]) {
		case 'S': return TAG_S;
		case 'N': return TAG_N;
		case 'M': return TAG_M;
		case 'L': return TAG_L;
		case 'B': return TAG_B;
		}
		break;
	case 2:
		if (s[1] != 'S')
			break;
		switch (s[0]) {
		case 'S': return TAG_SS;
		case 'N': return TAG_NS;
		case 'B': return TAG_BS;
		}
		break;
	case 4:
		if (memcmp(s, "BOOL", 4) == 0)
			return TAG_BOOL;
		if (memcmp(s, "NULL", 4) == 0)
			return TAG_NULL;
		break;
	}
	return TAG_UNKNOWN;
}

/* The payload of an AttributeValue tagged tag. */
static int
read_av_payload(struct reader *r, enum tag tag, int depth, int av_depth, json_object **out)
{
	struct str s;
	bool b;

	*out = NULL;
	skip_ws(r);
	if (r->p >= r->end)
		return bad(r, "malformed JSON");
	switch (tag) {
	case TAG_S:
	case TAG_N:
		if (*r->p != '"')
			return bad_type(r, "malformed AttributeValue");
		if (read_string(r, &s) == -1)
			return -1;
		if (tag == TAG_S)
			*out = json_object_new_string_len(s.p, (int)s.len);
		else if ((*out = read_n(r, &s)) == NULL)
			return bad_value(r, "malformed number in N");
		return 0;
	case TAG_BOOL:
	case TAG_NULL:
		if (*r->p != 't' && *r->p != 'f')
			return bad_type(r, "malformed AttributeValue");
		b = *r->p == 't';
		if (read_word(r, b ? "true" : "false") == -1)
			return -1;
		if (tag == TAG_BOOL)
			*out = json_object_new_boolean(b);
		return 0;
	case TAG_M:
		return *r->p != '{' ? bad_type(r, "a map must be a JSON object") :
		    read_object(r, depth, av_depth, true, out);
	case TAG_L:
		return *r->p != '[' ? bad_type(r, "a list must be a JSON array") :
		    read_array(r, ELEMENT_AV, depth, av_depth, out);
	case TAG_SS:
	case TAG_NS:
		return *r->p != '[' ? bad_type(r, "a set must be an array") :
		    read_array(r, tag == TAG_NS ? ELEMENT_SET_N : ELEMENT_SET_S, depth, av_depth, out);
	case TAG_B:
	case TAG_BS:
		return bad_value(r, "binary attributes are not supported");
	default:
		return bad_value(r, "unknown AttributeValue type tag");
	}
}

/* One AttributeValue, {"<tag>": payload}, unmarshalled into *out. */
static int
read_av(struct reader *r, int depth, int av_depth, json_object **out)
{
	struct str tag;

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
	if (read_string(r, &tag) == -1 || expect(r, ':') == -1)
		return -1;
	if (read_av_payload(r, tag_of(tag.p, tag.clen), depth + 1, av_depth, out) == -1)
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
	struct key key;
	uint64_t seen = 0;
	json_object *answer = NULL, *value;
	int rc = -1;

	*unmarshal = false;
	if (text == NULL || expect(&r, '{') == -1)
		goto out;
	answer = json_object_new_object();
	if (!accept(&r, '}')) {
		do {
			rc = -1;
			if (read_key(&r, &key) == -1)
				goto out;
			rc = read_member(&r, key.name, &value);
			if (rc == 0)
				key_add(answer, &key, value, &seen);
			else
				json_object_put(value);
			free(key.heap);
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
