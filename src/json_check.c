/* json_check.c - RFC 8259 strictness in one place (see json_check.h).
 *
 * A recursive-descent scanner whose depth is bounded by max_depth. Member
 * names are decoded (escapes resolved) into one buffer while their object is
 * open; when the object closes its names are sorted and compared, so a
 * duplicate is found whatever way it was spelt ("a" and "\u0061"). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"
#include "util.h"

/* A decoded member name inside scanner.names. */
struct name_ref {
	size_t	off;
	size_t	len;
};

struct scanner {
	const unsigned char		*start;
	const unsigned char		*p;
	const unsigned char		*end;
	int				 depth;
	int				 max_depth;
	struct json_check_result	*r;
	struct buf			 names;		/* decoded names of the open objects */
	struct name_ref			*refs;
	size_t				 nrefs;
	size_t				 refs_cap;
	struct json_check_span		 top_member;	/* raw name of the current top-level member */
};

static int scan_value(struct scanner *s);

/* Records the first error and returns -1. */
static int
scan_fail(struct scanner *s, enum json_check_status status)
{
	if (s->r->status == JSON_CHECK_OK) {
		s->r->status = status;
		s->r->offset = (size_t)(s->p - s->start);
	}
	return -1;
}

/* Skips RFC 8259 whitespace: space, tab, line feed, carriage return. */
static void
skip_ws(struct scanner *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* The value of one hex digit, or -1. */
static int
hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of the four hex digits at p (before end); -1 when they are not. */
long
json_hex4(const char *p, const char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit((unsigned char)p[i]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* Reads the four hex digits after "\u"; -1 when they are not four hex digits. */
static long
read_hex4(struct scanner *s)
{
	long v = json_hex4((const char *)s->p, (const char *)s->end);

	if (v >= 0)
		s->p += 4;
	return v;
}

/* Appends code point cp to out as UTF-8. */
void
json_put_utf8(struct buf *out, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(out, b, n);
}

/* Scans a string at s->p (the opening quote). Decodes it into out when out is
 * not NULL; *nul says whether it holds U+0000. */
static int
scan_string(struct scanner *s, struct buf *out, bool *nul)
{
	*nul = false;
	s->p++;
	for (;;) {
		const unsigned char *run = s->p;

		while (s->p < s->end && *s->p != '"' && *s->p != '\\' && *s->p >= 0x20)
			s->p++;
		if (out != NULL && s->p > run)
			buf_append(out, run, (size_t)(s->p - run));
		if (s->p == s->end)
			return scan_fail(s, JSON_CHECK_SYNTAX);
		if (*s->p == '"') {
			s->p++;
			return 0;
		}
		if (*s->p < 0x20)
			return scan_fail(s, JSON_CHECK_CONTROL_CHAR);
		/* A backslash. */
		if (++s->p == s->end)
			return scan_fail(s, JSON_CHECK_SYNTAX);
		static const char escapes[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
		const char *simple = *s->p != '\0' ? strchr(escapes, *s->p) : NULL;
		if (simple != NULL) {
			if (out != NULL)
				buf_append(out, &decoded[simple - escapes], 1);
			s->p++;
			continue;
		}
		if (*s->p != 'u')
			return scan_fail(s, JSON_CHECK_BAD_ESCAPE);
		s->p++;
		long cp = read_hex4(s);
		if (cp < 0)
			return scan_fail(s, JSON_CHECK_BAD_ESCAPE);
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return scan_fail(s, JSON_CHECK_BAD_ESCAPE);	/* a low surrogate first */
		if (cp >= 0xd800 && cp <= 0xdbff) {
			long lo;

			if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
				return scan_fail(s, JSON_CHECK_BAD_ESCAPE);
			s->p += 2;
			if ((lo = read_hex4(s)) < 0xdc00 || lo > 0xdfff)
				return scan_fail(s, JSON_CHECK_BAD_ESCAPE);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (cp == 0)
			*nul = true;
		if (out != NULL)
			json_put_utf8(out, (uint32_t)cp);
	}
}

/* Notes the first U+0000, under the current top-level member. */
static void
note_nul(struct scanner *s)
{
	if (s->r->has_nul)
		return;
	s->r->has_nul = true;
	s->r->nul_field = s->top_member;
}

/* The length of the number token at p: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?;
 * 0 when none starts there. */
size_t
json_number_len(const char *text, const char *end)
{
	const char *p = text;

	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (p < end && *p == '.') {
		if (++p == end || *p < '0' || *p > '9')
			return 0;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || *p < '0' || *p > '9')
			return 0;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	return (size_t)(p - text);
}

/* Scans a number token. */
static int
scan_number(struct scanner *s)
{
	const unsigned char *begin = s->p;
	struct json_check_result *r = s->r;
	size_t n = json_number_len((const char *)s->p, (const char *)s->end);

	if (n == 0)
		return scan_fail(s, JSON_CHECK_SYNTAX);
	s->p += n;
	if (r->nnumbers == r->numbers_cap) {
		r->numbers_cap = r->numbers_cap ? r->numbers_cap * 2 : 16;
		r->numbers = xrealloc(r->numbers, r->numbers_cap * sizeof *r->numbers);
	}
	r->numbers[r->nnumbers].off = (size_t)(begin - s->start);
	r->numbers[r->nnumbers].len = (size_t)(s->p - begin);
	r->nnumbers++;
	return 0;
}

/* Scans the literal word (true, false, null). */
static int
scan_literal(struct scanner *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return scan_fail(s, JSON_CHECK_SYNTAX);
	s->p += n;
	return 0;
}

/* A decoded name while its object's names are compared. */
struct name_view {
	const char	*p;
	size_t		 len;
};

/* qsort order of two decoded names: bytes, then length. */
static int
name_cmp(const void *a, const void *b)
{
	const struct name_view *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* True when two of the names refs[first..nrefs) are equal. */
static bool
names_have_duplicate(struct scanner *s, size_t first)
{
	size_t n = s->nrefs - first;
	struct name_view *sorted;
	bool dup = false;

	if (n < 2)
		return false;
	sorted = xmalloc(n * sizeof *sorted);
	for (size_t i = 0; i < n; i++) {
		sorted[i].p = s->names.data + s->refs[first + i].off;
		sorted[i].len = s->refs[first + i].len;
	}
	qsort(sorted, n, sizeof *sorted, name_cmp);
	for (size_t i = 1; i < n && !dup; i++)
		dup = name_cmp(&sorted[i - 1], &sorted[i]) == 0;
	free(sorted);
	return dup;
}

/* Scans an object at s->p ('{'). */
static int
scan_object(struct scanner *s)
{
	size_t first = s->nrefs, names_mark = s->names.len;
	const unsigned char *open = s->p;
	bool nul;

	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		const unsigned char *name_start;
		size_t off = s->names.len;

		if (s->p == s->end || *s->p != '"')
			return scan_fail(s, JSON_CHECK_SYNTAX);
		name_start = s->p;
		if (scan_string(s, &s->names, &nul) == -1)
			return -1;
		if (s->depth == 1) {
			s->top_member.off = (size_t)(name_start + 1 - s->start);
			s->top_member.len = (size_t)(s->p - name_start - 2);
		}
		if (nul) {
			note_nul(s);
			s->r->nul_in_name = true;
		}
		if (s->nrefs == s->refs_cap) {
			s->refs_cap = s->refs_cap ? s->refs_cap * 2 : 16;
			s->refs = xrealloc(s->refs, s->refs_cap * sizeof *s->refs);
		}
		s->refs[s->nrefs].off = off;
		s->refs[s->nrefs].len = s->names.len - off;
		s->nrefs++;
		skip_ws(s);
		if (s->p == s->end || *s->p != ':')
			return scan_fail(s, JSON_CHECK_SYNTAX);
		s->p++;
		skip_ws(s);
		if (scan_value(s) == -1)
			return -1;
		skip_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			skip_ws(s);
			continue;
		}
		if (s->p < s->end && *s->p == '}')
			break;
		return scan_fail(s, JSON_CHECK_SYNTAX);
	}
	if (names_have_duplicate(s, first)) {
		s->p = open;
		return scan_fail(s, JSON_CHECK_DUPLICATE_KEY);
	}
	s->p++;
	s->nrefs = first;
	s->names.len = names_mark;
	return 0;
}

/* Scans an array at s->p ('['). */
static int
scan_array(struct scanner *s)
{
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return 0;
	}
	for (;;) {
		if (scan_value(s) == -1)
			return -1;
		skip_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			skip_ws(s);
			continue;
		}
		if (s->p < s->end && *s->p == ']') {
			s->p++;
			return 0;
		}
		return scan_fail(s, JSON_CHECK_SYNTAX);
	}
}

/* Scans one value at s->p (whitespace already skipped). */
static int
scan_value(struct scanner *s)
{
	bool nul;
	int rc;

	if (s->p == s->end)
		return scan_fail(s, JSON_CHECK_SYNTAX);
	switch (*s->p) {
	case '{':
	case '[':
		if (s->depth == s->max_depth)
			return scan_fail(s, JSON_CHECK_TOO_DEEP);
		s->depth++;
		rc = *s->p == '{' ? scan_object(s) : scan_array(s);
		s->depth--;
		return rc;
	case '"':
		if (scan_string(s, NULL, &nul) == -1)
			return -1;
		if (nul)
			note_nul(s);
		return 0;
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	default:
		return scan_number(s);
	}
}

/* The kind of value the byte c starts. */
static enum json_check_kind
kind_of(unsigned char c)
{
	switch (c) {
	case '{': return JSON_CHECK_KIND_OBJECT;
	case '[': return JSON_CHECK_KIND_ARRAY;
	case '"': return JSON_CHECK_KIND_STRING;
	case 't': case 'f': return JSON_CHECK_KIND_BOOL;
	case 'n': return JSON_CHECK_KIND_NULL;
	default: return JSON_CHECK_KIND_NUMBER;
	}
}

/* Scans text as exactly one JSON text. */
int
json_check_scan(const char *text, size_t len, int max_depth, struct json_check_result *r)
{
	struct scanner s = {
		.start = (const unsigned char *)text,
		.p = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.max_depth = max_depth > 0 ? max_depth : JSON_CHECK_MAX_DEPTH,
		.r = r,
		.names = BUF_INIT,
	};
	int rc = -1;

	memset(r, 0, sizeof *r);
	buf_append(&s.names, "", 0);	/* names.data is never NULL */
	if (!utf8_valid(text, len)) {
		r->status = JSON_CHECK_NOT_UTF8;
		goto out;
	}
	skip_ws(&s);
	if (s.p == s.end) {
		scan_fail(&s, JSON_CHECK_EMPTY);
		goto out;
	}
	r->top = kind_of(*s.p);
	if (scan_value(&s) == -1)
		goto out;
	skip_ws(&s);
	if (s.p != s.end) {
		scan_fail(&s, JSON_CHECK_TRAILING);
		goto out;
	}
	rc = 0;
out:
	buf_free(&s.names);
	free(s.refs);
	return rc;
}

/* Frees the number list. */
void
json_check_result_free(struct json_check_result *r)
{
	if (r == NULL)
		return;
	free(r->numbers);
	r->numbers = NULL;
	r->nnumbers = r->numbers_cap = 0;
}

/* A phrase for each status. */
const char *
json_check_status_text(enum json_check_status status)
{
	switch (status) {
	case JSON_CHECK_OK: return "valid";
	case JSON_CHECK_EMPTY: return "empty";
	case JSON_CHECK_NOT_UTF8: return "not valid UTF-8";
	case JSON_CHECK_SYNTAX: return "not valid JSON";
	case JSON_CHECK_CONTROL_CHAR: return "a raw control character inside a string";
	case JSON_CHECK_BAD_ESCAPE: return "a bad escape sequence";
	case JSON_CHECK_DUPLICATE_KEY: return "a duplicate member name";
	case JSON_CHECK_TOO_DEEP: return "nested too deeply";
	case JSON_CHECK_TRAILING: return "text after the JSON value";
	}
	return "not valid JSON";
}

/* The walk that gives numbers their exact text: numbers in document order. */
struct number_walk {
	const char			*text;
	const struct json_check_result	*r;
	size_t				 next;
	bool				 mismatch;
};

/* True when the integer text fits int64 (json-c then holds it exactly). */
static bool
fits_int64(const char *text, size_t len)
{
	char tmp[32], *end;

	if (len >= sizeof tmp)
		return false;
	memcpy(tmp, text, len);
	tmp[len] = '\0';
	errno = 0;
	(void)strtoimax(tmp, &end, 10);
	return errno == 0 && *end == '\0';
}

/* A number json-c could not hold, replaced by one that prints its text; NULL
 * when v is fine as it is. */
static json_object *
exact_number(struct number_walk *w, json_object *v)
{
	const struct json_check_span *span;
	char *copy;
	json_object *out;

	if (w->next == w->r->nnumbers) {
		w->mismatch = true;
		return NULL;
	}
	span = &w->r->numbers[w->next++];
	if (json_object_is_type(v, json_type_double))
		return NULL;	/* json-c keeps the text of doubles */
	if (fits_int64(w->text + span->off, span->len))
		return NULL;
	copy = xstrndup(w->text + span->off, span->len);
	out = json_object_new_double_s(strtod(copy, NULL), copy);
	free(copy);
	return out;
}

/* Visits v and its children in document order. */
static void
walk_numbers(struct number_walk *w, json_object *v, int depth)
{
	json_object *fixed;

	if (depth > JSON_CHECK_MAX_DEPTH + 1 || w->mismatch)
		return;
	switch (json_object_get_type(v)) {
	case json_type_object:
		json_object_object_foreach(v, key, val) {
			if (json_object_is_type(val, json_type_int) || json_object_is_type(val, json_type_double)) {
				if ((fixed = exact_number(w, val)) != NULL)
					json_object_object_add(v, key, fixed);
			} else
				walk_numbers(w, val, depth + 1);
		}
		break;
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *el = json_object_array_get_idx(v, i);

			if (json_object_is_type(el, json_type_int) || json_object_is_type(el, json_type_double)) {
				if ((fixed = exact_number(w, el)) != NULL)
					json_object_array_put_idx(v, i, fixed);
			} else
				walk_numbers(w, el, depth + 1);
		}
		break;
	default:
		break;
	}
}

/* Scan, parse, exact numbers. */
json_object *
json_check_parse(const char *text, size_t len, int max_depth, struct json_check_result *r)
{
	struct number_walk w = { .text = text, .r = r };
	json_tokener *tok;
	json_object *obj, *fixed;

	if (max_depth <= 0)
		max_depth = JSON_CHECK_MAX_DEPTH;
	if (json_check_scan(text, len, max_depth, r) == -1)
		return NULL;
	if ((tok = json_tokener_new_ex(max_depth + 1)) == NULL) {
		r->status = JSON_CHECK_TOO_DEEP;
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* The terminating NUL ends a top-level number for json-c. */
	obj = json_tokener_parse_ex(tok, text, (int)len + 1);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    (obj == NULL && r->top != JSON_CHECK_KIND_NULL)) {
		json_object_put(obj);
		json_tokener_free(tok);
		r->status = JSON_CHECK_SYNTAX;	/* the scanner and json-c disagree */
		return NULL;
	}
	json_tokener_free(tok);
	if (r->has_nul || r->nnumbers == 0)
		return obj;
	if (json_object_is_type(obj, json_type_int) || json_object_is_type(obj, json_type_double)) {
		if ((fixed = exact_number(&w, obj)) != NULL) {
			json_object_put(obj);
			obj = fixed;
		}
	} else
		walk_numbers(&w, obj, 0);
	if (w.mismatch || w.next != r->nnumbers) {
		json_object_put(obj);
		r->status = JSON_CHECK_SYNTAX;
		return NULL;
	}
	return obj;
}
