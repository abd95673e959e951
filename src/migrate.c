/* migrate.c - SPEC §9: the legacy PostgreSQL data into the DynamoDB tables.
 * The mapping (pure), the source (libpq, when built with it) and the run. */
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "config.h"
#include "ddb.h"
#include "log.h"
#include "migrate.h"
#include "schema.h"
#include "user.h"
#include "util.h"

#define MIGRATE_ID_HEX_MAX	0xffffffffLL	/* legacy ids that fit 8 hex digits */
#define MIGRATE_INT_MAX		2147483647L	/* PostgreSQL's INTEGER */
#define MIGRATE_ERROR_CHARS	200		/* of a PostgreSQL message quoted in a cause */

static const char *const deliverable_statuses[] = {
	"NOT_STARTED", "IN_PROGRESS", "COMPLETED", "BLOCKED", NULL
};
/* The new model's types: the legacy four, and digest (SPEC §4). */
static const char *const update_types[] = {
	"progress", "milestone", "blocker", "announcement", "digest", NULL
};

/* --- numbers, times, ids ------------------------------------------------ */

/* Exact decimal normalisation; see migrate.h. */
char *
migrate_decimal(const char *text, const char **why)
{
	const char *p = text;
	char digits[MIGRATE_DECIMAL_DIGITS + 1];
	size_t ndigits = 0, trailing_zeros = 0;
	long point = 0, exponent = 0;	/* point: digits before the decimal point */
	bool negative = false, seen_digit = false, seen_point = false, leading = true;
	struct buf out = BUF_INIT;

	if (text == NULL || *text == '\0') {
		*why = "not a number";
		return NULL;
	}
	if (*p == '-' || *p == '+')
		negative = *p++ == '-';
	for (; *p != '\0'; p++) {
		if (*p == '.' && !seen_point) {
			seen_point = true;
			continue;
		}
		if (!isdigit((unsigned char)*p))
			break;
		seen_digit = true;
		if (leading && *p == '0') {
			if (seen_point)
				point--;
			continue;
		}
		leading = false;
		if (!seen_point)
			point++;
		if (*p == '0') {
			trailing_zeros++;
			continue;
		}
		/* A non-zero digit: the zeros before it are significant. */
		if (ndigits + trailing_zeros + 1 > MIGRATE_DECIMAL_DIGITS) {
			*why = "more than 38 significant digits";
			return NULL;
		}
		memset(digits + ndigits, '0', trailing_zeros);
		ndigits += trailing_zeros;
		trailing_zeros = 0;
		digits[ndigits++] = *p;
	}
	if (!seen_digit) {
		*why = "not a finite number";
		return NULL;
	}
	if (*p == 'e' || *p == 'E') {
		long e;
		char *end;

		p++;
		if (!isdigit((unsigned char)*p) && !((*p == '-' || *p == '+') && isdigit((unsigned char)p[1]))) {
			*why = "not a number";
			return NULL;
		}
		e = strtol(p, &end, 10);
		if (e > 100000 || e < -100000) {
			*why = "magnitude beyond what DynamoDB holds";
			return NULL;
		}
		exponent = e;
		p = end;
	}
	if (*p != '\0') {
		*why = "not a number";
		return NULL;
	}
	if (ndigits == 0)
		return xstrdup("0");
	point += exponent;
	/* The most significant digit is 10^(point - 1). */
	if (point - 1 > MIGRATE_EXPONENT_MAX) {
		*why = "magnitude above 10^125, more than DynamoDB holds";
		return NULL;
	}
	if (point - 1 < MIGRATE_EXPONENT_MIN) {
		*why = "magnitude below 10^-130, less than DynamoDB holds";
		return NULL;
	}
	if (negative)
		buf_puts(&out, "-");
	if (point <= 0) {
		buf_puts(&out, "0.");
		for (long i = 0; i < -point; i++)
			buf_puts(&out, "0");
		buf_append(&out, digits, ndigits);
	} else if ((size_t)point >= ndigits) {
		buf_append(&out, digits, ndigits);
		for (size_t i = ndigits; i < (size_t)point; i++)
			buf_puts(&out, "0");
	} else {
		buf_append(&out, digits, (size_t)point);
		buf_puts(&out, ".");
		buf_append(&out, digits + point, ndigits - (size_t)point);
	}
	return buf_steal(&out);
}

/* True when s[0..n) are digits. */
static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* True when s starts with "YYYY-MM-DD" with a plausible month and day. */
static bool
date_prefix(const char *s)
{
	int month, day;

	if (strnlen(s, 10) != 10 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) ||
	    s[7] != '-' || !all_digits(s + 8, 2))
		return false;
	month = (s[5] - '0') * 10 + (s[6] - '0');
	day = (s[8] - '0') * 10 + (s[9] - '0');
	return month >= 1 && month <= 12 && day >= 1 && day <= 31 && strncmp(s, "0000", 4) != 0;
}

/* True for exactly "YYYY-MM-DD". */
static bool
is_date(const char *s)
{
	return strlen(s) == 10 && date_prefix(s);
}

/* timestamptz text in UTC to RFC 3339 to the second. */
int
migrate_time(const char *text, char out[static MIGRATE_TIME_LEN])
{
	const char *p;

	if (text == NULL || strlen(text) < 19)
		return -1;
	if (!date_prefix(text) || (text[10] != ' ' && text[10] != 'T') ||
	    !all_digits(text + 11, 2) || text[13] != ':' || !all_digits(text + 14, 2) ||
	    text[16] != ':' || !all_digits(text + 17, 2))
		return -1;
	if (text[11] > '2' || (text[11] == '2' && text[12] > '3') || text[14] > '5' || text[17] > '5')
		return -1;
	p = text + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (strcmp(p, "+00") != 0 && strcmp(p, "+00:00") != 0 && strcmp(p, "Z") != 0)
		return -1;
	memcpy(out, text, 10);
	out[10] = 'T';
	memcpy(out + 11, text + 11, 8);
	out[19] = 'Z';
	out[20] = '\0';
	return 0;
}

/* YYYYMMDDTHHMMSSZ-<8 hex of the legacy id>. */
int
migrate_update_id(const char *created_at, long long legacy_id, char out[static MIGRATE_UPDATE_ID_LEN])
{
	if (created_at == NULL || strlen(created_at) != MIGRATE_TIME_LEN - 1 ||
	    legacy_id < 0 || legacy_id > MIGRATE_ID_HEX_MAX)
		return -1;
	snprintf(out, MIGRATE_UPDATE_ID_LEN, "%.4s%.2s%.2sT%.2s%.2s%.2sZ-%08llx",
	    created_at, created_at + 5, created_at + 8, created_at + 11, created_at + 14,
	    created_at + 17, legacy_id);
	return 0;
}

/* --- item content: canonical form, hash, equality ------------------------- */

/* Compares two C strings for qsort. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void canonical_value(struct buf *b, json_object *av);

/* Appends "len:bytes". */
static void
canonical_bytes(struct buf *b, const char *s)
{
	size_t len = strlen(s);

	buf_printf(b, "%zu:", len);
	buf_append(b, s, len);
}

/* A number in its exact normal form (the raw text when it does not parse). */
static void
canonical_number(struct buf *b, const char *s)
{
	const char *why;
	char *n = migrate_decimal(s, &why);

	canonical_bytes(b, n != NULL ? n : s);
	free(n);
}

/* Appends a set of strings or numbers, sorted (numbers normalised first). */
static void
canonical_set(struct buf *b, json_object *members, bool numbers)
{
	size_t n = json_object_is_type(members, json_type_array) ? json_object_array_length(members) : 0;
	char **v = xcalloc(n + 1, sizeof *v);
	const char *why;

	for (size_t i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(members, i));

		v[i] = numbers ? migrate_decimal(s, &why) : NULL;
		if (v[i] == NULL)
			v[i] = xstrdup(s != NULL ? s : "");
	}
	qsort(v, n, sizeof *v, cmp_str);
	buf_printf(b, "[%zu", n);
	for (size_t i = 0; i < n; i++) {
		canonical_bytes(b, v[i]);
		free(v[i]);
	}
	buf_puts(b, "]");
	free(v);
}

/* Appends the members of a map sorted by name, skipping skip (may be NULL). */
static void
canonical_map(struct buf *b, json_object *map, const char *skip)
{
	size_t n = 0, i = 0;
	const char **names;

	if (!json_object_is_type(map, json_type_object)) {
		buf_puts(b, "?");
		return;
	}
	n = (size_t)json_object_object_length(map);
	names = xcalloc(n + 1, sizeof *names);
	json_object_object_foreach(map, name, value) {
		(void)value;
		if (skip == NULL || strcmp(name, skip) != 0)
			names[i++] = name;
	}
	qsort(names, i, sizeof *names, cmp_str);
	buf_printf(b, "{%zu", i);
	for (size_t k = 0; k < i; k++) {
		json_object *v = NULL;

		json_object_object_get_ex(map, names[k], &v);
		canonical_bytes(b, names[k]);
		canonical_value(b, v);
	}
	buf_puts(b, "}");
	free(names);
}

/* Appends one AttributeValue in canonical form. */
static void
canonical_value(struct buf *b, json_object *av)
{
	if (!json_object_is_type(av, json_type_object) || json_object_object_length(av) != 1) {
		buf_puts(b, "?");
		canonical_bytes(b, av != NULL ? json_object_to_json_string(av) : "null");
		return;
	}
	json_object_object_foreach(av, type, v) {
		buf_puts(b, type);
		if (strcmp(type, "S") == 0) {
			canonical_bytes(b, json_object_get_string(v));
		} else if (strcmp(type, "N") == 0) {
			canonical_number(b, json_object_get_string(v));
		} else if (strcmp(type, "BOOL") == 0) {
			buf_puts(b, json_object_get_boolean(v) ? "1" : "0");
		} else if (strcmp(type, "NULL") == 0) {
			buf_puts(b, "!");
		} else if (strcmp(type, "SS") == 0 || strcmp(type, "BS") == 0) {
			canonical_set(b, v, false);
		} else if (strcmp(type, "NS") == 0) {
			canonical_set(b, v, true);
		} else if (strcmp(type, "M") == 0) {
			canonical_map(b, v, NULL);
		} else if (strcmp(type, "L") == 0) {
			size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;

			buf_printf(b, "[%zu", n);
			for (size_t i = 0; i < n; i++)
				canonical_value(b, json_object_array_get_idx(v, i));
			buf_puts(b, "]");
		} else {
			canonical_bytes(b, json_object_to_json_string(v));
		}
	}
}

/* The canonical form of an item without MIGRATE_HASH_ATTR; caller frees. */
static char *
canonical_item(json_object *item)
{
	struct buf b = BUF_INIT;

	canonical_map(&b, item, MIGRATE_HASH_ATTR);
	return buf_steal(&b);
}

/* SHA-256 of the canonical form, first MIGRATE_HASH_HEX hex digits. */
void
migrate_item_hash(json_object *item, char out[static MIGRATE_HASH_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	char *canon = canonical_item(item);

	if (EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL) != 1)
		abort();
	free(canon);
	hex_encode(md, mdlen, hex);
	memcpy(out, hex, MIGRATE_HASH_HEX);
	out[MIGRATE_HASH_HEX] = '\0';
}

/* Same content, numbers as decimals, sets as sets, the hash ignored. */
bool
migrate_item_equal(json_object *a, json_object *b)
{
	char *ca = canonical_item(a), *cb = canonical_item(b);
	bool same = strcmp(ca, cb) == 0;

	free(ca);
	free(cb);
	return same;
}

/* The S of attribute name, or NULL. */
static const char *
item_s(json_object *item, const char *name)
{
	json_object *av, *s;

	if (item == NULL || !json_object_object_get_ex(item, name, &av) ||
	    !json_object_object_get_ex(av, "S", &s))
		return NULL;
	return json_object_get_string(s);
}

/* See migrate.h. */
enum migrate_action
migrate_decide(json_object *mapped, json_object *stored, bool force)
{
	char hash[MIGRATE_HASH_HEX + 1];
	const char *mark;

	if (stored == NULL)
		return MIGRATE_PUT;
	if (migrate_item_equal(mapped, stored))
		return MIGRATE_UNCHANGED;
	mark = item_s(stored, MIGRATE_HASH_ATTR);
	if (mark != NULL) {
		migrate_item_hash(stored, hash);
		if (strcmp(hash, mark) == 0)
			return MIGRATE_PUT;
	}
	return force ? MIGRATE_FORCED : MIGRATE_KEPT;
}

/* --- the mapping ------------------------------------------------------------ */

/* A mapping under way: the item, and the first refusal. */
struct mapping {
	json_object	*item;
	char		*cause;
};

/* Records the first refusal ("field: problem"). Always returns -1. */
static int __attribute__((format(printf, 3, 4)))
refuse(struct mapping *m, const char *field, const char *fmt, ...)
{
	va_list ap;
	char *what;

	if (m->cause != NULL)
		return -1;
	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	m->cause = xasprintf("%s: %s", field, what);
	free(what);
	return -1;
}

/* A required or optional string (S); NULL leaves it out (required: refused). */
static int
add_string(struct mapping *m, json_object *into, const char *name, const char *value, bool required)
{
	if (value == NULL)
		return required ? refuse(m, name, "missing") : 0;
	if (!utf8_valid(value, strlen(value)))
		return refuse(m, name, "not valid UTF-8");
	json_object_object_add(into, name, ddb_av_s(value));
	return 0;
}

/* A string from an enumeration. */
static int
add_enum(struct mapping *m, const char *name, const char *value, const char *const *allowed)
{
	struct buf list = BUF_INIT;

	if (value == NULL)
		return refuse(m, name, "missing");
	for (const char *const *a = allowed; *a != NULL; a++)
		if (strcmp(*a, value) == 0)
			return add_string(m, m->item, name, value, true);
	for (const char *const *a = allowed; *a != NULL; a++)
		buf_printf(&list, "%s%s", a == allowed ? "" : ", ", *a);
	refuse(m, name, "'%.64s' is not one of %s", value, list.data);
	buf_free(&list);
	return -1;
}

/* A number (N) in its exact normal form. */
static int
add_number(struct mapping *m, json_object *into, const char *name, const char *value, bool required)
{
	const char *why;
	char *n;

	if (value == NULL)
		return required ? refuse(m, name, "missing") : 0;
	if ((n = migrate_decimal(value, &why)) == NULL)
		return refuse(m, name, "%.64s%s: %s", value, strlen(value) > 64 ? "..." : "", why);
	json_object_object_add(into, name, ddb_av_n(n));
	free(n);
	return 0;
}

/* A time as RFC 3339 to the second (S). */
static int
add_time(struct mapping *m, json_object *into, const char *name, const char *value, bool required)
{
	char t[MIGRATE_TIME_LEN];

	if (value == NULL)
		return required ? refuse(m, name, "missing") : 0;
	if (migrate_time(value, t) == -1)
		return refuse(m, name, "'%.40s' is not a time the new model can hold", value);
	json_object_object_add(into, name, ddb_av_s(t));
	return 0;
}

/* The legacy integer id as N. */
static int
add_id(struct mapping *m, const char *value)
{
	long v;

	if (value == NULL || parse_long(value, 1, MIGRATE_INT_MAX, &v) == -1)
		return refuse(m, "id", "'%.20s' is not a positive integer", value ? value : "NULL");
	json_object_object_add(m->item, "id", ddb_av_n(value));
	return 0;
}

/* A rough DynamoDB size of an AttributeValue (names and values in bytes). */
static size_t
av_size(json_object *av)
{
	size_t size = 0;

	if (!json_object_is_type(av, json_type_object))
		return 0;
	json_object_object_foreach(av, type, v) {
		if (strcmp(type, "S") == 0 || strcmp(type, "N") == 0) {
			size += (size_t)json_object_get_string_len(v);
		} else if (strcmp(type, "SS") == 0 || strcmp(type, "NS") == 0) {
			for (size_t i = 0; i < json_object_array_length(v); i++)
				size += (size_t)json_object_get_string_len(json_object_array_get_idx(v, i));
		} else if (strcmp(type, "L") == 0) {
			size += 3;
			for (size_t i = 0; i < json_object_array_length(v); i++)
				size += 1 + av_size(json_object_array_get_idx(v, i));
		} else if (strcmp(type, "M") == 0) {
			size += 3;
			json_object_object_foreach(v, name, member)
				size += 1 + strlen(name) + av_size(member);
		} else {
			size += 1;
		}
	}
	return size;
}

/* A rough DynamoDB size of an item. */
static size_t
item_size(json_object *item)
{
	size_t size = 0;

	json_object_object_foreach(item, name, value)
		size += strlen(name) + av_size(value);
	return size;
}

/* Adds version 1 and the hash; checks the size. The item, or NULL with *cause. */
static json_object *
finish(struct mapping *m, char **cause)
{
	char hash[MIGRATE_HASH_HEX + 1];
	size_t size = 0;

	if (m->cause == NULL) {
		json_object_object_add(m->item, "version", ddb_av_n_int(1));
		size = item_size(m->item);
		if (size > MIGRATE_ITEM_MAX_BYTES)
			refuse(m, "item", "%zu bytes, above DynamoDB's limit of %d", size,
			    MIGRATE_ITEM_MAX_BYTES);
	}
	if (m->cause != NULL) {
		json_object_put(m->item);
		*cause = m->cause;
		return NULL;
	}
	migrate_item_hash(m->item, hash);
	json_object_object_add(m->item, MIGRATE_HASH_ATTR, ddb_av_s(hash));
	*cause = NULL;
	return m->item;
}

/* users: id = auth0_id, last_seen_at = last_login_at. */
json_object *
migrate_map_user(const struct migrate_user_row *r, char **cause)
{
	struct mapping m = { json_object_new_object(), NULL };

	if (r->auth0_id == NULL || *r->auth0_id == '\0')
		refuse(&m, "auth0_id", "empty");
	else
		add_string(&m, m.item, "id", r->auth0_id, true);
	add_string(&m, m.item, "email", r->email, false);
	add_string(&m, m.item, "name", r->name, false);
	add_enum(&m, "role", r->role, user_role_names);
	add_time(&m, m.item, "created_at", r->created_at, true);
	add_time(&m, m.item, "last_seen_at", r->last_login_at, false);
	return finish(&m, cause);
}

/* deliverables: the integer id kept; month >= 1; percentage 0..100. */
json_object *
migrate_map_deliverable(const struct migrate_deliverable_row *r, char **cause)
{
	struct mapping m = { json_object_new_object(), NULL };
	long month;

	add_id(&m, r->id);
	add_string(&m, m.item, "name", r->name, true);
	add_string(&m, m.item, "description", r->description, false);
	if (r->month == NULL || parse_long(r->month, LONG_MIN, LONG_MAX, &month) == -1)
		refuse(&m, "month", "'%.20s' is not an integer", r->month ? r->month : "NULL");
	else if (month < 1)
		refuse(&m, "month", "%ld is below 1", month);
	else
		json_object_object_add(m.item, "month", ddb_av_n(r->month));
	add_enum(&m, "status", r->status, deliverable_statuses);
	if (add_number(&m, m.item, "completion_percentage", r->completion_percentage, true) == 0) {
		json_object *av = json_object_object_get(m.item, "completion_percentage");
		const char *p = json_object_get_string(json_object_object_get(av, "N"));
		size_t int_len = strcspn(p, ".");

		/* Normal form: no sign for zero, no leading zeros. */
		if (p[0] == '-' || int_len > 3 || (int_len == 3 && (strncmp(p, "100", 3) > 0 ||
		    (strncmp(p, "100", 3) == 0 && p[3] == '.'))))
			refuse(&m, "completion_percentage", "%s is outside 0..%d", p, MIGRATE_PERCENT_MAX);
	}
	if (r->due_date != NULL && !is_date(r->due_date))
		refuse(&m, "due_date", "'%.40s' is not a date YYYY-MM-DD", r->due_date);
	else
		add_string(&m, m.item, "due_date", r->due_date, false);
	add_string(&m, m.item, "owner", r->owner, false);
	add_time(&m, m.item, "updated_at", r->updated_at, false);
	return finish(&m, cause);
}

/* metrics: numbers exact; history oldest first. */
json_object *
migrate_map_metric(const struct migrate_metric_row *r, const struct migrate_history_row *history,
    size_t nhistory, char **cause)
{
	struct mapping m = { json_object_new_object(), NULL };
	json_object *list = json_object_new_array(), *l;

	add_id(&m, r->id);
	add_string(&m, m.item, "name", r->name, true);
	add_string(&m, m.item, "description", r->description, false);
	add_string(&m, m.item, "unit", r->unit, true);
	add_number(&m, m.item, "baseline_value", r->baseline_value, true);
	add_number(&m, m.item, "current_value", r->current_value, true);
	add_number(&m, m.item, "target_value", r->target_value, true);
	if (r->higher_is_better == NULL) {
		refuse(&m, "higher_is_better", "missing");
	} else {
		json_object *b = json_object_new_object();

		json_object_object_add(b, "BOOL", json_object_new_boolean(
		    strcmp(r->higher_is_better, "t") == 0 || strcmp(r->higher_is_better, "true") == 0));
		json_object_object_add(m.item, "higher_is_better", b);
	}
	for (size_t i = 0; i < nhistory; i++) {
		struct mapping p = { json_object_new_object(), NULL };
		json_object *point = p.item, *pav;

		add_number(&p, point, "value", history[i].value, true);
		add_time(&p, point, "at", history[i].recorded_at, true);
		if (p.cause != NULL) {
			refuse(&m, "history", "%s", p.cause);
			free(p.cause);
		}
		pav = json_object_new_object();
		json_object_object_add(pav, "M", point);
		json_object_array_add(list, pav);
	}
	l = json_object_new_object();
	json_object_object_add(l, "L", list);
	json_object_object_add(m.item, "history", l);
	add_time(&m, m.item, "updated_at", r->updated_at, false);
	return finish(&m, cause);
}

/* updates: a time-ordered id; the author embedded (NULL when deleted);
 * read_by the set of readers. */
json_object *
migrate_map_update(const struct migrate_update_row *r, const char *const *read_by,
    size_t nread_by, char **cause)
{
	struct mapping m = { json_object_new_object(), NULL };
	char created[MIGRATE_TIME_LEN], id[MIGRATE_UPDATE_ID_LEN];
	long long legacy;
	char *end;

	if (r->id == NULL || (legacy = strtoll(r->id, &end, 10), *end != '\0') || *r->id == '\0' ||
	    r->created_at == NULL || migrate_time(r->created_at, created) == -1 ||
	    migrate_update_id(created, legacy, id) == -1) {
		if (r->created_at == NULL || migrate_time(r->created_at, created) == -1)
			refuse(&m, "created_at", "'%.40s' is not a time the new model can hold",
			    r->created_at ? r->created_at : "NULL");
		else
			refuse(&m, "id", "'%.20s' does not fit 8 hex digits", r->id ? r->id : "NULL");
	} else {
		json_object_object_add(m.item, "id", ddb_av_s(id));
		json_object_object_add(m.item, "created_at", ddb_av_s(created));
	}
	add_string(&m, m.item, "title", r->title, true);
	add_string(&m, m.item, "body", r->body, true);
	add_enum(&m, "type", r->type, update_types);
	if (r->deliverable_id != NULL)
		add_number(&m, m.item, "deliverable_id", r->deliverable_id, false);
	if (r->author_auth0_id == NULL) {
		json_object *null = json_object_new_object();

		json_object_object_add(null, "NULL", json_object_new_boolean(1));
		json_object_object_add(m.item, "author", null);
	} else {
		json_object *author = json_object_new_object(), *mav = json_object_new_object();

		add_string(&m, author, "id", r->author_auth0_id, true);
		add_string(&m, author, "name", r->author_name, false);
		add_string(&m, author, "email", r->author_email, false);
		json_object_object_add(mav, "M", author);
		json_object_object_add(m.item, "author", mav);
	}
	json_object_object_add(m.item, "feed", ddb_av_s(SCHEMA_FEED_ALL));
	if (nread_by > 0) {
		const char **sorted = xcalloc(nread_by, sizeof *sorted);
		json_object *set = json_object_new_array(), *ss = json_object_new_object();

		memcpy(sorted, read_by, nread_by * sizeof *sorted);
		qsort(sorted, nread_by, sizeof *sorted, cmp_str);
		for (size_t i = 0; i < nread_by; i++) {
			if (!utf8_valid(sorted[i], strlen(sorted[i])))
				refuse(&m, "read_by", "a user id is not valid UTF-8");
			if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0)
				json_object_array_add(set, json_object_new_string(sorted[i]));
		}
		free(sorted);
		json_object_object_add(ss, "SS", set);
		json_object_object_add(m.item, "read_by", ss);
	}
	return finish(&m, cause);
}

/* --- the source (libpq) ------------------------------------------------------ */

/* The tables and columns the mapping reads. */
static const char *const legacy_columns[][10] = {
	{ "users", "id", "auth0_id", "email", "name", "role", "created_at", "last_login_at", NULL },
	{ "deliverables", "id", "name", "description", "month", "status", "completion_percentage",
	    "due_date", "owner", "updated_at" },
	{ "metrics", "id", "name", "description", "unit", "baseline_value", "current_value",
	    "target_value", "higher_is_better", "updated_at" },
	{ "metric_history", "id", "metric_id", "value", "recorded_at", NULL },
	{ "updates", "id", "title", "body", "type", "deliverable_id", "author_id", "created_at", NULL },
	{ "update_acknowledgements", "update_id", "user_id", NULL },
	{ "alembic_version", "version_num", NULL },
};

#ifdef HAVE_LIBPQ

#define MIGRATE_CONNECT_TIMEOUT_S	"10"
#define MIGRATE_APPLICATION_NAME	"portalctl-migrate"

struct migrate_source {
	PGconn	*conn;
};

/* A server-side cursor read a page at a time. */
struct cursor {
	PGconn		*conn;
	const char	*name;
	PGresult	*res;
	int		 row;		/* current row in res; -1 before the first */
	int		 nrows;
	bool		 open;
	bool		 end;
};

/* The message of a libpq failure as one line (newlines and tabs folded); caller frees. */
static char *
pg_message(const char *msg)
{
	struct buf b = BUF_INIT;
	bool space = false;

	for (const char *p = msg != NULL ? msg : ""; *p != '\0' && b.len < MIGRATE_ERROR_CHARS; p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r') {
			space = true;
			continue;
		}
		if (space && b.len > 0)
			buf_puts(&b, " ");
		space = false;
		buf_append(&b, p, 1);
	}
	if (b.len == 0)
		buf_puts(&b, "unknown error");
	return buf_steal(&b);
}

/* Runs a command that returns no rows; -1 with *cause. */
static int
pg_command(PGconn *conn, const char *sql, char **cause)
{
	PGresult *res = PQexec(conn, sql);
	char *msg;

	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		PQclear(res);
		return 0;
	}
	msg = pg_message(PQerrorMessage(conn));
	*cause = xasprintf("PostgreSQL: %s", msg);
	free(msg);
	PQclear(res);
	return -1;
}

/* Runs a query; the result or NULL with *cause. */
static PGresult *
pg_query(PGconn *conn, const char *sql, char **cause)
{
	PGresult *res = PQexec(conn, sql);
	char *msg;

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	msg = pg_message(PQerrorMessage(conn));
	*cause = xasprintf("PostgreSQL: %s", msg);
	free(msg);
	PQclear(res);
	return NULL;
}

/* DECLAREs a cursor over sql. */
static int
cursor_open(struct cursor *c, PGconn *conn, const char *name, const char *sql, char **cause)
{
	char *declare = xasprintf("DECLARE %s NO SCROLL CURSOR FOR %s", name, sql);
	int rc = pg_command(conn, declare, cause);

	free(declare);
	memset(c, 0, sizeof *c);
	c->conn = conn;
	c->name = name;
	c->row = -1;
	c->open = rc == 0;
	return rc;
}

/* Moves to the next row, fetching a page when needed: 1 on a row, 0 at the end, -1. */
static int
cursor_next(struct cursor *c, char **cause)
{
	char *fetch;

	if (c->end)
		return 0;
	if (c->res != NULL && c->row + 1 < c->nrows) {
		c->row++;
		return 1;
	}
	PQclear(c->res);
	fetch = xasprintf("FETCH FORWARD %d FROM %s", MIGRATE_FETCH_ROWS, c->name);
	c->res = pg_query(c->conn, fetch, cause);
	free(fetch);
	if (c->res == NULL)
		return -1;
	c->nrows = PQntuples(c->res);
	c->row = 0;
	if (c->nrows == 0) {
		c->end = true;
		return 0;
	}
	return 1;
}

/* Column col of the current row, NULL for SQL NULL; borrowed until the next move. */
static const char *
cursor_get(const struct cursor *c, int col)
{
	if (c->res == NULL || c->row < 0 || c->row >= c->nrows || PQgetisnull(c->res, c->row, col))
		return NULL;
	return PQgetvalue(c->res, c->row, col);
}

/* CLOSEs the cursor (errors ignored: the transaction ends anyway). */
static void
cursor_close(struct cursor *c)
{
	char *close_sql, *cause = NULL;

	PQclear(c->res);
	c->res = NULL;
	if (!c->open)
		return;
	close_sql = xasprintf("CLOSE %s", c->name);
	pg_command(c->conn, close_sql, &cause);
	free(close_sql);
	free(cause);
	c->open = false;
}

/* The parent id of the current child row; LLONG_MAX at the end. */
static long long
child_parent(const struct cursor *c, bool have)
{
	const char *v = have ? cursor_get(c, 0) : NULL;

	return v != NULL ? strtoll(v, NULL, 10) : LLONG_MAX;
}

/* Checks that every table and column the mapping reads exists; -1 naming them. */
static int
check_columns(PGconn *conn, char **cause)
{
	PGresult *res = pg_query(conn,
	    "SELECT table_name::text, column_name::text FROM information_schema.columns "
	    "WHERE table_schema = ANY (current_schemas(false))", cause);
	struct buf missing = BUF_INIT;

	if (res == NULL)
		return -1;
	for (size_t t = 0; t < ARRAY_LEN(legacy_columns); t++) {
		const char *table = legacy_columns[t][0];
		bool table_seen = false;

		for (int r = 0; r < PQntuples(res) && !table_seen; r++)
			table_seen = strcmp(PQgetvalue(res, r, 0), table) == 0;
		if (!table_seen) {
			buf_printf(&missing, "%stable %s", missing.len ? ", " : "", table);
			continue;
		}
		for (size_t c = 1; c < ARRAY_LEN(legacy_columns[t]) && legacy_columns[t][c]; c++) {
			bool seen = false;

			for (int r = 0; r < PQntuples(res) && !seen; r++)
				seen = strcmp(PQgetvalue(res, r, 0), table) == 0 &&
				    strcmp(PQgetvalue(res, r, 1), legacy_columns[t][c]) == 0;
			if (!seen)
				buf_printf(&missing, "%scolumn %s.%s", missing.len ? ", " : "", table,
				    legacy_columns[t][c]);
		}
	}
	PQclear(res);
	if (missing.len == 0)
		return 0;
	*cause = xasprintf("the legacy database lacks %s (not the legacy schema this tool reads)", missing.data);
	buf_free(&missing);
	return -1;
}

/* Checks alembic_version against the known revisions. */
static int
check_revision(PGconn *conn, bool force, char **warning, char **cause)
{
	static const char *const known[] = MIGRATE_ALEMBIC_KNOWN;
	PGresult *res = pg_query(conn, "SELECT version_num::text FROM alembic_version ORDER BY 1", cause);
	struct buf seen = BUF_INIT, list = BUF_INIT;
	bool ok = false;
	char *what;

	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		buf_printf(&seen, "%s'%.32s'", r ? ", " : "", PQgetvalue(res, r, 0));
		for (const char *const *k = known; *k != NULL; k++)
			ok = ok || (PQntuples(res) == 1 && strcmp(*k, PQgetvalue(res, r, 0)) == 0);
	}
	PQclear(res);
	for (const char *const *k = known; *k != NULL; k++)
		buf_printf(&list, "%s%s", k == known ? "" : ", ", *k);
	if (ok) {
		buf_free(&seen);
		buf_free(&list);
		return 0;
	}
	what = xasprintf("alembic_version is %s, not the known revision (%s)",
	    seen.len ? seen.data : "empty", list.data);
	buf_free(&seen);
	buf_free(&list);
	if (force) {
		*warning = xasprintf("%s; going on because of --force", what);
		free(what);
		return 0;
	}
	*cause = xasprintf("%s; if its schema is the one this tool reads, use --force", what);
	free(what);
	return -1;
}

bool
migrate_have_libpq(void)
{
	return true;
}

/* Connects, opens the snapshot, checks the schema. */
int
migrate_source_open(const char *uri, bool force, struct migrate_source **out,
    char **warning, char **cause)
{
	const char *keywords[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *values[] = { MIGRATE_CONNECT_TIMEOUT_S, MIGRATE_APPLICATION_NAME, uri, NULL };
	struct migrate_source *src;
	char *msg;

	*out = NULL;
	*warning = NULL;
	*cause = NULL;
	if (config_env("PGCONNECT_TIMEOUT") != NULL)
		values[0] = config_env("PGCONNECT_TIMEOUT");
	src = xcalloc(1, sizeof *src);
	/* expand_dbname: the URI's own parameters override the ones before it. */
	src->conn = PQconnectdbParams(keywords, values, 1);
	if (src->conn == NULL || PQstatus(src->conn) != CONNECTION_OK) {
		msg = pg_message(src->conn != NULL ? PQerrorMessage(src->conn) : "out of memory");
		*cause = xasprintf("cannot connect to PostgreSQL: %s", msg);
		free(msg);
		goto fail;
	}
	if (PQsetClientEncoding(src->conn, "UTF8") != 0) {
		*cause = xstrdup("PostgreSQL: cannot set the client encoding to UTF8");
		goto fail;
	}
	/* Text forms the mapping reads: ISO dates, UTC times. */
	if (pg_command(src->conn, "SET TimeZone = 'UTC'", cause) == -1 ||
	    pg_command(src->conn, "SET DateStyle = 'ISO, YMD'", cause) == -1 ||
	    /* The snapshot stays open, idle between pages, while the store is written. */
	    pg_command(src->conn, "SET statement_timeout = 0", cause) == -1 ||
	    pg_command(src->conn, "SET idle_in_transaction_session_timeout = 0", cause) == -1 ||
	    pg_command(src->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", cause) == -1 ||
	    check_columns(src->conn, cause) == -1 ||
	    check_revision(src->conn, force, warning, cause) == -1)
		goto fail;
	*out = src;
	return 0;
fail:
	free(*warning);
	*warning = NULL;
	migrate_source_close(src);
	return -1;
}

void
migrate_source_close(struct migrate_source *src)
{
	if (src == NULL)
		return;
	if (src->conn != NULL) {
		PGresult *res;

		if (PQtransactionStatus(src->conn) != PQTRANS_IDLE) {
			res = PQexec(src->conn, "ROLLBACK");
			PQclear(res);
		}
		PQfinish(src->conn);
	}
	free(src);
}

/* users, in id order. */
static int
scan_users(struct migrate_source *src, migrate_row_fn fn, void *ctx, char **cause)
{
	struct cursor c;
	int rc = 0, stop = 0;

	if (cursor_open(&c, src->conn, "migrate_users",
	    "SELECT id, auth0_id, email, name, role, created_at, last_login_at "
	    "FROM users ORDER BY id", cause) == -1)
		return -1;
	while (stop == 0 && (rc = cursor_next(&c, cause)) == 1) {
		struct migrate_user_row r = {
			cursor_get(&c, 0), cursor_get(&c, 1), cursor_get(&c, 2), cursor_get(&c, 3),
			cursor_get(&c, 4), cursor_get(&c, 5), cursor_get(&c, 6),
		};
		char *reason = NULL;
		json_object *item = migrate_map_user(&r, &reason);

		stop = fn(ctx, SCHEMA_USERS, r.id, item, reason);
		json_object_put(item);
		free(reason);
	}
	cursor_close(&c);
	return stop != 0 ? -1 : rc;
}

/* deliverables, in id order. */
static int
scan_deliverables(struct migrate_source *src, migrate_row_fn fn, void *ctx, char **cause)
{
	struct cursor c;
	int rc = 0, stop = 0;

	if (cursor_open(&c, src->conn, "migrate_deliverables",
	    "SELECT id, name, description, month, status::text, completion_percentage, due_date, "
	    "owner, updated_at FROM deliverables ORDER BY id", cause) == -1)
		return -1;
	while (stop == 0 && (rc = cursor_next(&c, cause)) == 1) {
		struct migrate_deliverable_row r = {
			cursor_get(&c, 0), cursor_get(&c, 1), cursor_get(&c, 2), cursor_get(&c, 3),
			cursor_get(&c, 4), cursor_get(&c, 5), cursor_get(&c, 6), cursor_get(&c, 7),
			cursor_get(&c, 8),
		};
		char *reason = NULL;
		json_object *item = migrate_map_deliverable(&r, &reason);

		stop = fn(ctx, SCHEMA_DELIVERABLES, r.id, item, reason);
		json_object_put(item);
		free(reason);
	}
	cursor_close(&c);
	return stop != 0 ? -1 : rc;
}

/* The newest MIGRATE_HISTORY_MAX points of one metric, in a ring. */
struct history_ring {
	char		*value[MIGRATE_HISTORY_MAX];
	char		*at[MIGRATE_HISTORY_MAX];
	size_t		 count;		/* points seen */
};

/* Forgets every point. */
static void
ring_reset(struct history_ring *h)
{
	for (size_t i = 0; i < MIGRATE_HISTORY_MAX; i++) {
		free(h->value[i]);
		free(h->at[i]);
		h->value[i] = h->at[i] = NULL;
	}
	h->count = 0;
}

/* metrics merged with metric_history (both ordered by metric id). */
static int
scan_metrics(struct migrate_source *src, migrate_row_fn fn, void *ctx, char **cause)
{
	struct cursor m, h;
	struct history_ring ring;
	struct migrate_history_row points[MIGRATE_HISTORY_MAX];
	int rc = 0, hrc = 0, stop = 0;

	memset(&ring, 0, sizeof ring);
	if (cursor_open(&m, src->conn, "migrate_metrics",
	    "SELECT id, name, description, unit, baseline_value, current_value, target_value, "
	    "higher_is_better, updated_at FROM metrics ORDER BY id", cause) == -1)
		return -1;
	if (cursor_open(&h, src->conn, "migrate_metric_history",
	    "SELECT metric_id, value, recorded_at FROM metric_history "
	    "ORDER BY metric_id, recorded_at, id", cause) == -1) {
		cursor_close(&m);
		return -1;
	}
	hrc = cursor_next(&h, cause);
	while (stop == 0 && hrc >= 0 && (rc = cursor_next(&m, cause)) == 1) {
		struct migrate_metric_row r = {
			cursor_get(&m, 0), cursor_get(&m, 1), cursor_get(&m, 2), cursor_get(&m, 3),
			cursor_get(&m, 4), cursor_get(&m, 5), cursor_get(&m, 6), cursor_get(&m, 7),
			cursor_get(&m, 8),
		};
		long long id = strtoll(r.id, NULL, 10);
		size_t n, first;
		char *reason = NULL;
		json_object *item;

		/* Children of this metric (and none before it: the foreign key). */
		while (hrc == 1 && child_parent(&h, true) < id)
			hrc = cursor_next(&h, cause);
		while (hrc == 1 && child_parent(&h, true) == id) {
			size_t slot = ring.count % MIGRATE_HISTORY_MAX;

			free(ring.value[slot]);
			free(ring.at[slot]);
			ring.value[slot] = cursor_get(&h, 1) ? xstrdup(cursor_get(&h, 1)) : NULL;
			ring.at[slot] = cursor_get(&h, 2) ? xstrdup(cursor_get(&h, 2)) : NULL;
			ring.count++;
			hrc = cursor_next(&h, cause);
		}
		if (hrc < 0)
			break;
		n = ring.count < MIGRATE_HISTORY_MAX ? ring.count : MIGRATE_HISTORY_MAX;
		first = ring.count < MIGRATE_HISTORY_MAX ? 0 : ring.count % MIGRATE_HISTORY_MAX;
		for (size_t i = 0; i < n; i++) {
			points[i].value = ring.value[(first + i) % MIGRATE_HISTORY_MAX];
			points[i].recorded_at = ring.at[(first + i) % MIGRATE_HISTORY_MAX];
		}
		item = migrate_map_metric(&r, points, n, &reason);
		stop = fn(ctx, SCHEMA_METRICS, r.id, item, reason);
		json_object_put(item);
		free(reason);
		ring_reset(&ring);
	}
	ring_reset(&ring);
	cursor_close(&h);
	cursor_close(&m);
	if (hrc < 0)
		return -1;
	return stop != 0 ? -1 : rc;
}

/* updates (with their authors) merged with their acknowledgements. */
static int
scan_updates(struct migrate_source *src, migrate_row_fn fn, void *ctx, char **cause)
{
	struct cursor u, a;
	char **readers = NULL;
	size_t nreaders = 0, cap = 0;
	int rc = 0, arc = 0, stop = 0;

	if (cursor_open(&u, src->conn, "migrate_updates",
	    "SELECT u.id, u.title, u.body, u.type, u.deliverable_id, u.created_at, "
	    "a.auth0_id, a.name, a.email FROM updates u LEFT JOIN users a ON a.id = u.author_id "
	    "ORDER BY u.id", cause) == -1)
		return -1;
	if (cursor_open(&a, src->conn, "migrate_acknowledgements",
	    "SELECT k.update_id, s.auth0_id FROM update_acknowledgements k "
	    "JOIN users s ON s.id = k.user_id ORDER BY k.update_id", cause) == -1) {
		cursor_close(&u);
		return -1;
	}
	arc = cursor_next(&a, cause);
	while (stop == 0 && arc >= 0 && (rc = cursor_next(&u, cause)) == 1) {
		struct migrate_update_row r = {
			cursor_get(&u, 0), cursor_get(&u, 1), cursor_get(&u, 2), cursor_get(&u, 3),
			cursor_get(&u, 4), cursor_get(&u, 5), cursor_get(&u, 6), cursor_get(&u, 7),
			cursor_get(&u, 8),
		};
		long long id = strtoll(r.id, NULL, 10);
		char *reason = NULL;
		json_object *item;

		while (arc == 1 && child_parent(&a, true) < id)
			arc = cursor_next(&a, cause);
		while (arc == 1 && child_parent(&a, true) == id) {
			if (nreaders == cap) {
				cap = cap ? 2 * cap : 64;
				readers = xrealloc(readers, cap * sizeof *readers);
			}
			readers[nreaders++] = xstrdup(cursor_get(&a, 1) ? cursor_get(&a, 1) : "");
			arc = cursor_next(&a, cause);
		}
		if (arc < 0)
			break;
		item = migrate_map_update(&r, (const char *const *)readers, nreaders, &reason);
		stop = fn(ctx, SCHEMA_UPDATES, r.id, item, reason);
		json_object_put(item);
		free(reason);
		for (size_t i = 0; i < nreaders; i++)
			free(readers[i]);
		nreaders = 0;
	}
	free(readers);
	cursor_close(&a);
	cursor_close(&u);
	if (arc < 0)
		return -1;
	return stop != 0 ? -1 : rc;
}

int
migrate_source_scan(struct migrate_source *src, enum schema_table table,
    migrate_row_fn fn, void *ctx, char **cause)
{
	*cause = NULL;
	switch (table) {
	case SCHEMA_USERS:
		return scan_users(src, fn, ctx, cause);
	case SCHEMA_DELIVERABLES:
		return scan_deliverables(src, fn, ctx, cause);
	case SCHEMA_METRICS:
		return scan_metrics(src, fn, ctx, cause);
	case SCHEMA_UPDATES:
		return scan_updates(src, fn, ctx, cause);
	default:
		*cause = xstrdup("no such table");
		return -1;
	}
}

#else /* !HAVE_LIBPQ */

#define MIGRATE_NO_LIBPQ "this portalctl was built without PostgreSQL support: " \
	"install the Debian package libpq-dev, then run ./configure && make again"

bool
migrate_have_libpq(void)
{
	return false;
}

int
migrate_source_open(const char *uri, bool force, struct migrate_source **out,
    char **warning, char **cause)
{
	(void)legacy_columns;
	*out = NULL;
	*warning = NULL;
	*cause = xstrdup(MIGRATE_NO_LIBPQ);
	return -1;
}

void
migrate_source_close(struct migrate_source *src)
{
	(void)src;
}

int
migrate_source_scan(struct migrate_source *src, enum schema_table table,
    migrate_row_fn fn, void *ctx, char **cause)
{
	*cause = xstrdup(MIGRATE_NO_LIBPQ);
	return -1;
}

#endif /* HAVE_LIBPQ */

/* --- the run ----------------------------------------------------------------- */

/* The writer threads: take batches of puts from a short queue and write
 * them, each with its own DynamoDB handle. */
struct writer {
	pthread_t		 threads[MIGRATE_WRITERS];
	struct ddb		*ddb[MIGRATE_WRITERS];
	size_t			 nthreads;
	pthread_mutex_t		 lock;
	pthread_cond_t		 changed;
	struct {
		enum schema_table	 table;
		const char		*table_name;	/* borrowed from the configuration */
		json_object		*puts;
	}			 queue[MIGRATE_WRITE_QUEUE];
	size_t			 head, count;
	unsigned		 busy;		/* batches being written */
	unsigned		 next_handle;	/* handed to the next thread that starts */
	bool			 closing;
	bool			 failed;
	struct ddb_error	 err;
	char			*cause;
	unsigned long		 written[SCHEMA_COUNT];	/* items the store confirmed */
};

/* The thread: writes queued batches until closed (or a write failed). */
static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct ddb *ddb;

	pthread_mutex_lock(&w->lock);
	ddb = w->ddb[w->next_handle++];
	for (;;) {
		enum schema_table table;
		const char *name;
		json_object *puts;
		struct ddb_error err;
		int rc;

		while (w->count == 0 && !w->closing)
			pthread_cond_wait(&w->changed, &w->lock);
		if (w->count == 0 || w->failed)
			break;
		table = w->queue[w->head].table;
		name = w->queue[w->head].table_name;
		puts = w->queue[w->head].puts;
		w->head = (w->head + 1) % MIGRATE_WRITE_QUEUE;
		w->count--;
		w->busy++;
		pthread_cond_broadcast(&w->changed);
		pthread_mutex_unlock(&w->lock);

		rc = ddb_batch_write(ddb, name, puts, NULL, &err);

		pthread_mutex_lock(&w->lock);
		w->busy--;
		if (rc == 0) {
			w->written[table] += json_object_array_length(puts);
		} else if (!w->failed) {
			w->failed = true;
			w->err = err;
			w->cause = xasprintf("%s: writing: %s: %s", name, err.code, err.message);
		}
		json_object_put(puts);
		pthread_cond_broadcast(&w->changed);
	}
	/* Whatever is still queued after a failure is dropped. */
	while (w->count > 0) {
		json_object_put(w->queue[w->head].puts);
		w->head = (w->head + 1) % MIGRATE_WRITE_QUEUE;
		w->count--;
	}
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Starts the writer threads, a handle each; -1 with *cause. */
static int
writer_start(struct writer *w, const struct config *cfg, char **cause)
{
	memset(w, 0, sizeof *w);
	/* Handles before threads: ddb_new initialises libcurl once. */
	for (size_t i = 0; i < MIGRATE_WRITERS; i++) {
		if ((w->ddb[i] = ddb_new(cfg)) == NULL) {
			*cause = xasprintf("cannot create a DynamoDB client for %s", cfg->endpoint);
			for (size_t j = 0; j < i; j++)
				ddb_free(w->ddb[j]);
			return -1;
		}
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->changed, NULL);
	for (; w->nthreads < MIGRATE_WRITERS; w->nthreads++) {
		if (pthread_create(&w->threads[w->nthreads], NULL, writer_main, w) != 0)
			break;
	}
	if (w->nthreads == 0) {
		*cause = xstrdup("cannot start a writer thread");
		pthread_cond_destroy(&w->changed);
		pthread_mutex_destroy(&w->lock);
		for (size_t i = 0; i < MIGRATE_WRITERS; i++)
			ddb_free(w->ddb[i]);
		return -1;
	}
	return 0;
}

/* Queues puts (taken) for table, waiting while the queue is full; -1 when
 * the writer failed (puts released). */
static int
writer_submit(struct writer *w, enum schema_table table, const char *table_name, json_object *puts)
{
	size_t slot;

	pthread_mutex_lock(&w->lock);
	while (w->count == MIGRATE_WRITE_QUEUE && !w->failed)
		pthread_cond_wait(&w->changed, &w->lock);
	if (w->failed) {
		pthread_mutex_unlock(&w->lock);
		json_object_put(puts);
		return -1;
	}
	slot = (w->head + w->count) % MIGRATE_WRITE_QUEUE;
	w->queue[slot].table = table;
	w->queue[slot].table_name = table_name;
	w->queue[slot].puts = puts;
	w->count++;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* Waits until every queued batch is written; -1 when the writer failed. */
static int
writer_drain(struct writer *w)
{
	bool failed;

	pthread_mutex_lock(&w->lock);
	while ((w->count > 0 || w->busy) && !w->failed)
		pthread_cond_wait(&w->changed, &w->lock);
	failed = w->failed;
	pthread_mutex_unlock(&w->lock);
	return failed ? -1 : 0;
}

/* Stops the threads (after the queued batches, unless a write failed) and
 * frees the writer. */
static void
writer_stop(struct writer *w)
{
	if (w->nthreads == 0)
		return;
	pthread_mutex_lock(&w->lock);
	w->closing = true;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	w->nthreads = 0;
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->lock);
	for (size_t i = 0; i < MIGRATE_WRITERS; i++) {
		ddb_free(w->ddb[i]);
		w->ddb[i] = NULL;
	}
	free(w->cause);
	w->cause = NULL;
}

/* Which pass over the snapshot. */
enum pass {
	PASS_CHECK,	/* map only: count refusals (--strict) */
	PASS_WRITE,	/* compare with the stored items, write */
	PASS_VERIFY,	/* compare with the stored items, count differences */
};

static const char *const pass_names[] = { "check", "write", "verify" };

/* State of one pass over one table. */
struct run {
	struct migrate_source		*src;
	struct ddb			*ddb;
	const struct config		*cfg;
	const struct migrate_options	*opt;
	const struct migrate_hooks	*hooks;
	struct migrate_report		*report;
	enum pass			 pass;
	bool				 report_refusals;
	enum schema_table		 table;
	const char			*table_name;
	json_object			*pending;	/* mapped items not yet compared */
	size_t				 pending_bytes;	/* their rough DynamoDB size */
	struct writer			*writer;	/* NULL in a dry run */
	struct ddb_error		*err;
	char				*cause;		/* the failure that stopped the scan */
	int64_t				 last_progress_ms;
	int64_t				 pass_start_ms;
};

/* The lookup key of an item ("N:12", "S:auth0|x"), normalised; caller frees. */
static char *
key_string(json_object *item)
{
	json_object *av, *v;
	const char *why;
	char *n, *out;

	if (!json_object_object_get_ex(item, SCHEMA_KEY, &av))
		return xstrdup("?");
	if (json_object_object_get_ex(av, "S", &v))
		return xasprintf("S:%s", json_object_get_string(v));
	if (json_object_object_get_ex(av, "N", &v)) {
		n = migrate_decimal(json_object_get_string(v), &why);
		out = xasprintf("N:%s", n != NULL ? n : json_object_get_string(v));
		free(n);
		return out;
	}
	return xstrdup("?");
}

/* The key as people read it: the id's value; caller frees. */
static char *
key_display(json_object *item)
{
	char *k = key_string(item), *out = xstrdup(k[0] != '\0' && k[1] == ':' ? k + 2 : k);

	free(k);
	return out;
}

/* Calls the progress hook when it is due (or when forced). */
static void
progress(struct run *r, bool force)
{
	int64_t now = mono_ms();

	if (r->hooks == NULL || r->hooks->progress == NULL)
		return;
	/* A short pass shows nothing; a long one a line at its end too. */
	if (now - r->pass_start_ms < MIGRATE_PROGRESS_MS ||
	    (!force && now - r->last_progress_ms < MIGRATE_PROGRESS_MS))
		return;
	r->last_progress_ms = now;
	r->hooks->progress(r->hooks->ctx, pass_names[r->pass], r->table, r->report);
}

/* Reads back the stored items of the first n pending keys: a new object
 * from key string to item, or NULL with r->err and r->cause. */
static json_object *
read_back(struct run *r, size_t n)
{
	json_object *keys = json_object_new_array(), *items = NULL, *index;

	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(r->pending, i), *key, *id;

		key = json_object_new_object();
		json_object_object_get_ex(item, SCHEMA_KEY, &id);
		json_object_object_add(key, SCHEMA_KEY, json_object_get(id));
		json_object_array_add(keys, key);
	}
	if (ddb_batch_get(r->ddb, r->table_name, keys, &items, r->err) == -1) {
		json_object_put(keys);
		r->cause = xasprintf("%s: reading back: %s: %s", r->table_name, r->err->code,
		    r->err->message);
		return NULL;
	}
	json_object_put(keys);
	index = json_object_new_object();
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		json_object *item = json_object_array_get_idx(items, i);
		char *k = key_string(item);

		json_object_object_add(index, k, json_object_get(item));
		free(k);
	}
	json_object_put(items);
	return index;
}

/* Takes over the writer's failure: the cause, the error, and the counts of
 * what was confirmed written. */
static void
writer_failure(struct run *r)
{
	struct writer *w = r->writer;

	pthread_mutex_lock(&w->lock);
	free(r->cause);
	r->cause = xstrdup(w->cause != NULL ? w->cause : "the writer failed");
	*r->err = w->err;
	for (int t = 0; t < SCHEMA_COUNT; t++)
		r->report->t[t].written = w->written[t];
	pthread_mutex_unlock(&w->lock);
}

/* A copy of item for the writer thread: json-c's reference counts are not
 * atomic, so the writer never shares an object with this thread. */
static json_object *
writer_copy(json_object *item)
{
	json_object *copy = NULL;

	if (json_object_deep_copy(item, &copy, NULL) != 0) {
		log_error("out of memory copying an item for the writer");
		abort();
	}
	return copy;
}

/* Compares the pending items with the stored ones and writes (write pass)
 * or counts the differences (verify pass). */
static int
flush(struct run *r, bool last)
{
	struct migrate_counts *c = &r->report->t[r->table];
	json_object *stored, *puts, *rest;
	size_t n = json_object_array_length(r->pending), total = n;
	int rc = 0;

	if (n == 0)
		return 0;
	/* Whole write batches, the rest kept for the next group (unless last). */
	if (!last && n > DDB_BATCH_WRITE_MAX)
		n -= n % DDB_BATCH_WRITE_MAX;
	if ((stored = read_back(r, n)) == NULL)
		return -1;
	puts = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(r->pending, i), *old = NULL;
		char *k = key_string(item), *shown;

		json_object_object_get_ex(stored, k, &old);
		free(k);
		if (r->pass == PASS_VERIFY) {
			const char *what = old == NULL ? "missing" :
			    !migrate_item_equal(item, old) ? "differs from the source" : NULL;

			if (what == NULL) {
				c->verified++;
				continue;
			}
			if (old == NULL)
				c->missing++;
			else
				c->different++;
			r->report->differences++;
			if (r->hooks != NULL && r->hooks->difference != NULL) {
				shown = key_display(item);
				r->hooks->difference(r->hooks->ctx, r->table, shown, what);
				free(shown);
			}
			continue;
		}
		switch (migrate_decide(item, old, r->opt->force)) {
		case MIGRATE_UNCHANGED:
			c->unchanged++;
			break;
		case MIGRATE_KEPT:
		case MIGRATE_FORCED:
			if (r->opt->force) {
				c->forced++;
				c->written++;
				json_object_array_add(puts, writer_copy(item));
			} else {
				c->kept++;
				c->skipped++;
			}
			if (r->hooks != NULL && r->hooks->kept != NULL) {
				shown = key_display(item);
				r->hooks->kept(r->hooks->ctx, r->table, shown, r->opt->force);
				free(shown);
			}
			break;
		case MIGRATE_PUT:
			c->written++;
			json_object_array_add(puts, writer_copy(item));
			break;
		}
	}
	if (r->pass == PASS_WRITE && r->writer != NULL && json_object_array_length(puts) > 0) {
		rc = writer_submit(r->writer, r->table, r->table_name, puts);
		puts = NULL;
		if (rc == -1)
			writer_failure(r);
	}
	json_object_put(puts);
	json_object_put(stored);
	rest = json_object_new_array();
	r->pending_bytes = 0;
	for (size_t i = n; i < total; i++) {
		json_object *item = json_object_array_get_idx(r->pending, i);

		json_object_array_add(rest, json_object_get(item));
		r->pending_bytes += item_size(item);
	}
	json_object_put(r->pending);
	r->pending = rest;
	return rc;
}

/* The row callback of every pass. */
static int
on_row(void *ctx, enum schema_table table, const char *legacy_id, json_object *item,
    const char *reason)
{
	struct run *r = ctx;
	struct migrate_counts *c = &r->report->t[table];

	if (r->pass != PASS_VERIFY)
		c->read++;
	if (item == NULL) {
		if (r->pass != PASS_VERIFY) {
			c->refused++;
			c->skipped++;
		}
		if (r->report_refusals && r->hooks != NULL && r->hooks->refused != NULL)
			r->hooks->refused(r->hooks->ctx, table, legacy_id ? legacy_id : "NULL", reason);
		progress(r, false);
		return 0;
	}
	if (r->pass == PASS_CHECK) {
		progress(r, false);
		return 0;
	}
	json_object_array_add(r->pending, json_object_get(item));
	/* json-c takes some 40 times the wire size: large items go in smaller groups. */
	r->pending_bytes += item_size(item);
	if ((json_object_array_length(r->pending) >= MIGRATE_GROUP ||
	    r->pending_bytes >= MIGRATE_GROUP_BYTES) && flush(r, false) == -1)
		return -1;
	progress(r, false);
	return 0;
}

/* Counts the items of a table (Scan, Select COUNT, every page). */
static int
count_items(struct run *r, unsigned long *count)
{
	json_object *req = json_object_new_object(), *resp = NULL, *v, *last = NULL;

	*count = 0;
	json_object_object_add(req, "TableName", json_object_new_string(r->table_name));
	json_object_object_add(req, "Select", json_object_new_string("COUNT"));
	if (r->table == SCHEMA_DELIVERABLES || r->table == SCHEMA_METRICS) {
		/* The reserved id counter item (id 0) is no migrated item. */
		json_object *values = json_object_new_object();

		json_object_object_add(values, ":reserved", ddb_av_n_int(0));
		json_object_object_add(req, "FilterExpression", json_object_new_string("id <> :reserved"));
		json_object_object_add(req, "ExpressionAttributeValues", values);
	}
	for (;;) {
		if (ddb_call(r->ddb, "Scan", req, &resp, r->err) == -1) {
			json_object_put(req);
			r->cause = xasprintf("%s: counting: %s: %s", r->table_name, r->err->code,
			    r->err->message);
			return -1;
		}
		if (json_object_object_get_ex(resp, "Count", &v))
			*count += (unsigned long)json_object_get_int64(v);
		last = NULL;
		if (json_object_object_get_ex(resp, "LastEvaluatedKey", &v) && v != NULL)
			last = json_object_get(v);
		json_object_put(resp);
		if (last == NULL)
			break;
		json_object_object_add(req, "ExclusiveStartKey", last);
	}
	json_object_put(req);
	return 0;
}

/* One pass over every table. */
static int
run_pass(struct run *r, enum pass pass, bool report_refusals)
{
	r->pass = pass;
	r->report_refusals = report_refusals;
	for (int t = 0; t < SCHEMA_COUNT; t++) {
		struct migrate_counts *c = &r->report->t[t];
		char *cause = NULL;
		int rc;

		r->table = (enum schema_table)t;
		r->pass_start_ms = mono_ms();
		r->table_name = schema_table_name(r->cfg, r->table);
		if (pass != PASS_VERIFY) {
			/* Every pass reads the same snapshot: count it once. */
			c->read = c->refused = c->skipped = 0;
		}
		r->pending = json_object_new_array();
		r->pending_bytes = 0;
		rc = migrate_source_scan(r->src, r->table, on_row, r, &cause);
		if (rc == 0)
			rc = flush(r, true);

		json_object_put(r->pending);
		r->pending = NULL;
		if (rc == -1) {
			if (r->cause == NULL)
				r->cause = cause != NULL ? cause : xstrdup("the scan stopped");
			else
				free(cause);
			return -1;
		}
		if (pass == PASS_VERIFY) {
			unsigned long found;

			if (count_items(r, &c->stored) == -1)
				return -1;
			found = c->verified + c->different;
			if (c->stored > found) {
				r->report->differences += c->stored - found;
				if (r->hooks != NULL && r->hooks->difference != NULL) {
					char *what = xasprintf("%lu item(s) in the table are not from the source",
					    c->stored - found);

					r->hooks->difference(r->hooks->ctx, r->table, NULL, what);
					free(what);
				}
			}
		}
		progress(r, true);
	}
	/* The next table's rows are read while this one's writes finish. */
	if (pass == PASS_WRITE && r->writer != NULL && writer_drain(r->writer) == -1) {
		writer_failure(r);
		return -1;
	}
	return 0;
}

int
migrate_run(struct migrate_source *src, struct ddb *ddb, const struct config *cfg,
    const struct migrate_options *opt, const struct migrate_hooks *hooks,
    struct migrate_report *report, struct ddb_error *err, char **cause)
{
	struct run r;
	struct writer writer;
	unsigned long refused = 0;
	int rc;

	memset(report, 0, sizeof *report);
	memset(err, 0, sizeof *err);
	memset(&r, 0, sizeof r);
	*cause = NULL;
	r.src = src;
	r.ddb = ddb;
	r.cfg = cfg;
	r.opt = opt;
	r.hooks = hooks;
	r.report = report;
	r.err = err;
	r.last_progress_ms = mono_ms();

	if (opt->strict) {
		if (run_pass(&r, PASS_CHECK, true) == -1)
			goto fail;
		for (int t = 0; t < SCHEMA_COUNT; t++)
			refused += report->t[t].refused;
		if (refused > 0) {
			report->stopped_strict = true;
			return 0;
		}
	}
	if (!opt->dry_run) {
		if (writer_start(&writer, cfg, &r.cause) == -1)
			goto fail;
		r.writer = &writer;
	}
	rc = run_pass(&r, PASS_WRITE, !opt->strict);
	if (r.writer != NULL) {
		if (rc == -1 && r.cause == NULL)
			writer_failure(&r);
		writer_stop(&writer);
		r.writer = NULL;
	}
	if (rc == -1)
		goto fail;
	if (opt->verify) {
		report->verified = true;
		if (run_pass(&r, PASS_VERIFY, false) == -1)
			goto fail;
	}
	return 0;
fail:
	*cause = r.cause;
	return -1;
}

/* {"deliverables":{"read":..,"written":..,"skipped":..,"unchanged":..},...} */
json_object *
migrate_report_json(const struct migrate_report *report)
{
	json_object *root = json_object_new_object();

	for (int t = 0; t < SCHEMA_COUNT; t++) {
		const struct migrate_counts *c = &report->t[t];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "read", json_object_new_int64((int64_t)c->read));
		json_object_object_add(o, "written", json_object_new_int64((int64_t)c->written));
		json_object_object_add(o, "skipped", json_object_new_int64((int64_t)c->skipped));
		json_object_object_add(o, "unchanged", json_object_new_int64((int64_t)c->unchanged));
		json_object_object_add(root, schema_short_name((enum schema_table)t), o);
	}
	return root;
}
