/* ddb_marshal.c - plain JSON (json-c) <-> DynamoDB AttributeValues.
 *
 * Numbers keep their exact decimal text both ways: json-c keeps the source
 * text of doubles it parsed (json_object_new_double_s), so "6.4" read from a
 * request body is sent as N "6.4", and N "4.1" read from DynamoDB is written
 * back as 4.1, never 4.0999...
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb.h"
#include "util.h"

/* Longest number text accepted: DynamoDB's smallest magnitude written out
 * with all 38 digits ("0.", 129 zeros, 38 digits) and a sign fits. */
#define DDB_NUMBER_TEXT_MAX	256
/* DynamoDB's number range (SPEC §5). */
#define DDB_NUMBER_DIGITS_MAX	38
#define DDB_NUMBER_EXP_MIN	(-130)	/* 1E-130 */
#define DDB_NUMBER_EXP_MAX	125	/* 9.99...E+125 */
/* Exponents written with more digits than this are out of range anyway. */
#define DDB_EXPONENT_DIGITS_MAX	9
/* Deepest nesting of M/L handled (DynamoDB itself stops at 32). */
#define DDB_MARSHAL_DEPTH_MAX	32
/* Room for a double printed with %.17g. */
#define DDB_DOUBLE_TEXT_MAX	32

/* True when s is a number in JSON's grammar: -?int(.frac)?([eE][+-]?digits)?. */
static bool
number_text_valid(const char *s)
{
	const char	*p = s;

	if (s == NULL || *s == '\0' || strlen(s) > DDB_NUMBER_TEXT_MAX)
		return false;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p))
			p++;
	} else
		return false;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

/* True when the valid number text s has neither fraction nor exponent. */
static bool
number_text_is_integer(const char *s)
{
	return strpbrk(s, ".eE") == NULL;
}

/* True when the number text (already valid JSON grammar) is in DynamoDB's
 * range: digits and exponent are read from the text, never through a double. */
bool
ddb_number_text_in_range(const char *s)
{
	const char	*p = s;
	long long	 exp10 = 0, point_shift = 0, first = -1, last = -1, n = 0;
	bool		 in_fraction = false;

	if (!number_text_valid(s))
		return false;
	if (*p == '-')
		p++;
	/* Index every digit of mantissa; remember the first and last non-zero ones. */
	for (; *p != '\0' && *p != 'e' && *p != 'E'; p++) {
		if (*p == '.') {
			in_fraction = true;
			continue;
		}
		if (in_fraction)
			point_shift++;
		if (*p != '0') {
			if (first < 0)
				first = n;
			last = n;
		}
		n++;
	}
	if (first < 0)
		return true;	/* zero, however it is written */
	if (last - first + 1 > DDB_NUMBER_DIGITS_MAX)
		return false;
	if (*p == 'e' || *p == 'E') {
		bool negative = false;
		int ndigits = 0;

		p++;
		if (*p == '+' || *p == '-')
			negative = *p++ == '-';
		while (*p == '0')
			p++;
		for (; *p != '\0'; p++) {
			if (++ndigits > DDB_EXPONENT_DIGITS_MAX)
				return false;
			exp10 = exp10 * 10 + (*p - '0');
		}
		if (negative)
			exp10 = -exp10;
	}
	/* The value is 0.d... scaled: its leading digit sits at 10^e. */
	exp10 += (n - 1 - first) - point_shift;
	return exp10 >= DDB_NUMBER_EXP_MIN && exp10 <= DDB_NUMBER_EXP_MAX;
}

/* Writes the shortest %g form of d that reads back as d into out. */
static void
double_shortest(double d, char out[DDB_DOUBLE_TEXT_MAX])
{
	int	 precision;

	for (precision = 15; precision <= 17; precision++) {
		snprintf(out, DDB_DOUBLE_TEXT_MAX, "%.*g", precision, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

/* A json-c number that serialises as exactly decimal_text; NULL when the text
 * is not a finite JSON number. */
json_object *
ddb_json_number(const char *decimal_text)
{
	int64_t	 i;
	double	 d;
	char	*end;

	if (!number_text_valid(decimal_text))
		return NULL;
	if (number_text_is_integer(decimal_text) && strcmp(decimal_text, "-0") != 0) {
		errno = 0;
		i = strtoll(decimal_text, &end, 10);
		if (errno == 0 && *end == '\0')
			return json_object_new_int64(i);
	}
	errno = 0;
	d = strtod(decimal_text, &end);
	if (*end != '\0' || !isfinite(d))
		return NULL;
	return json_object_new_double_s(d, decimal_text);
}

/* Writes the exact decimal text of a json-c int or double into out; -1 with
 * *why for NaN, infinities and texts that are not numbers. */
static int
number_text_of(json_object *num, char *out, size_t outlen, const char **why)
{
	const char	*text;
	double		 d;
	char		 shortest[DDB_DOUBLE_TEXT_MAX];

	if (json_object_is_type(num, json_type_int)) {
		text = json_object_to_json_string_ext(num, JSON_C_TO_STRING_PLAIN);
		snprintf(out, outlen, "%s", text);
		return 0;
	}
	d = json_object_get_double(num);
	if (!isfinite(d)) {
		*why = "number is not finite (NaN or Infinity)";
		return -1;
	}
	/* A double parsed from JSON (or made with new_double_s) carries its text. */
	text = json_object_get_userdata(num);
	if (text != NULL) {
		if (!number_text_valid(text) || !isfinite(strtod(text, NULL))) {
			*why = "number text is not a finite decimal";
			return -1;
		}
		if (strlen(text) >= outlen) {
			*why = "number text too long";
			return -1;
		}
		snprintf(out, outlen, "%s", text);
		return 0;
	}
	double_shortest(d, shortest);
	snprintf(out, outlen, "%s", shortest);
	return 0;
}

/* True when num's exact text is a number DynamoDB holds. */
bool
ddb_json_number_in_range(json_object *num)
{
	char		 text[DDB_NUMBER_TEXT_MAX + 1];
	const char	*why;

	if (!json_object_is_type(num, json_type_int) && !json_object_is_type(num, json_type_double))
		return false;
	return number_text_of(num, text, sizeof text, &why) == 0 && ddb_number_text_in_range(text);
}

/* An AttributeValue {tag: value}; takes the reference to value. */
static json_object *
av_wrap(const char *tag, json_object *value)
{
	json_object	*av = json_object_new_object();

	json_object_object_add(av, tag, value);
	return av;
}

/* {"S": s}; a new object the caller owns. */
json_object *
ddb_av_s(const char *s)
{
	return av_wrap("S", json_object_new_string(s));
}

/* {"N": decimal_text}; a new object the caller owns. */
json_object *
ddb_av_n(const char *decimal_text)
{
	return av_wrap("N", json_object_new_string(decimal_text));
}

/* {"N": "<n>"}; a new object the caller owns. */
json_object *
ddb_av_n_int(int64_t n)
{
	char	 text[32];

	snprintf(text, sizeof text, "%" PRId64, n);
	return ddb_av_n(text);
}

static json_object *marshal_value(json_object *plain, int depth, const char **why);

/* Marshals every member of a plain object into a new map of AttributeValues. */
static json_object *
marshal_members(json_object *plain, int depth, const char **why)
{
	json_object	*map = json_object_new_object(), *av;

	json_object_object_foreach(plain, key, value) {
		if ((av = marshal_value(value, depth + 1, why)) == NULL) {
			json_object_put(map);
			return NULL;
		}
		json_object_object_add(map, key, av);
	}
	return map;
}

/* Marshals one plain JSON value at nesting depth into a new AttributeValue. */
static json_object *
marshal_value(json_object *plain, int depth, const char **why)
{
	json_object	*list, *av, *members;
	char		 text[DDB_NUMBER_TEXT_MAX + 1];
	size_t		 i, n;

	if (depth > DDB_MARSHAL_DEPTH_MAX) {
		*why = "value nested too deeply";
		return NULL;
	}
	switch (json_object_get_type(plain)) {
	case json_type_null:
		return av_wrap("NULL", json_object_new_boolean(1));
	case json_type_boolean:
		return av_wrap("BOOL", json_object_new_boolean(json_object_get_boolean(plain)));
	case json_type_int:
	case json_type_double:
		if (number_text_of(plain, text, sizeof text, why) == -1)
			return NULL;
		if (!ddb_number_text_in_range(text)) {
			*why = "number outside DynamoDB's range (38 digits, 1E-130 to 9.99E+125)";
			return NULL;
		}
		return ddb_av_n(text);
	case json_type_string:
		return av_wrap("S", json_object_new_string_len(json_object_get_string(plain),
		    json_object_get_string_len(plain)));
	case json_type_object:
		if ((members = marshal_members(plain, depth, why)) == NULL)
			return NULL;
		return av_wrap("M", members);
	case json_type_array:
		list = json_object_new_array();
		n = json_object_array_length(plain);
		for (i = 0; i < n; i++) {
			av = marshal_value(json_object_array_get_idx(plain, i), depth + 1, why);
			if (av == NULL) {
				json_object_put(list);
				return NULL;
			}
			json_object_array_add(list, av);
		}
		return av_wrap("L", list);
	}
	*why = "unsupported JSON type";
	return NULL;
}

/* Marshals a plain JSON value into a new AttributeValue; NULL with *why. */
json_object *
ddb_marshal_value(json_object *plain, const char **why)
{
	const char	*ignored;

	if (why == NULL)
		why = &ignored;
	return marshal_value(plain, 0, why);
}

/* Marshals a plain JSON object into a new item (a map of AttributeValues). */
json_object *
ddb_marshal_item(json_object *plain_object, const char **why)
{
	const char	*ignored;

	if (why == NULL)
		why = &ignored;
	if (!json_object_is_type(plain_object, json_type_object)) {
		*why = "an item must be a JSON object";
		return NULL;
	}
	return marshal_members(plain_object, 0, why);
}

/* Unmarshals a SS or NS array into a new plain array (numbers when numeric). */
static json_object *
unmarshal_set(json_object *set, bool numeric, const char **why)
{
	json_object	*out, *member, *value;
	size_t		 i, n;

	if (!json_object_is_type(set, json_type_array)) {
		*why = "a set must be an array";
		return NULL;
	}
	out = json_object_new_array();
	n = json_object_array_length(set);
	for (i = 0; i < n; i++) {
		member = json_object_array_get_idx(set, i);
		if (!json_object_is_type(member, json_type_string)) {
			*why = "a set member must be a string";
			goto fail;
		}
		if (numeric) {
			if ((value = ddb_json_number(json_object_get_string(member))) == NULL) {
				*why = "malformed number in NS";
				goto fail;
			}
		} else
			value = json_object_get(member);
		json_object_array_add(out, value);
	}
	return out;
fail:
	json_object_put(out);
	return NULL;
}

static int unmarshal_value(json_object *av, int depth, json_object **out, const char **why);

/* Unmarshals every AttributeValue of a map into a new plain object. */
static json_object *
unmarshal_members(json_object *map, int depth, const char **why)
{
	json_object	*out, *value;

	if (!json_object_is_type(map, json_type_object)) {
		*why = "a map must be a JSON object";
		return NULL;
	}
	out = json_object_new_object();
	json_object_object_foreach(map, key, av) {
		if (unmarshal_value(av, depth + 1, &value, why) == -1) {
			json_object_put(out);
			return NULL;
		}
		json_object_object_add(out, key, value);
	}
	return out;
}

/* Unmarshals a list of AttributeValues into a new plain array. */
static json_object *
unmarshal_list(json_object *list, int depth, const char **why)
{
	json_object	*out, *value;
	size_t		 i, n;

	if (!json_object_is_type(list, json_type_array)) {
		*why = "a list must be a JSON array";
		return NULL;
	}
	out = json_object_new_array();
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		if (unmarshal_value(json_object_array_get_idx(list, i), depth + 1, &value,
		    why) == -1) {
			json_object_put(out);
			return NULL;
		}
		json_object_array_add(out, value);
	}
	return out;
}

/* Unmarshals one AttributeValue at nesting depth into *out (json-c's NULL for
 * a JSON null); 0, or -1 with *why. */
static int
unmarshal_value(json_object *av, int depth, json_object **out, const char **why)
{
	json_object	*payload = NULL;
	const char	*tag = NULL;

	*out = NULL;
	if (depth > DDB_MARSHAL_DEPTH_MAX) {
		*why = "value nested too deeply";
		return -1;
	}
	if (!json_object_is_type(av, json_type_object) || json_object_object_length(av) != 1) {
		*why = "an AttributeValue must be an object with one type tag";
		return -1;
	}
	json_object_object_foreach(av, key, v) {
		tag = key;
		payload = v;
	}
	if (strcmp(tag, "S") == 0) {
		if (!json_object_is_type(payload, json_type_string))
			goto malformed;
		*out = json_object_get(payload);
	} else if (strcmp(tag, "N") == 0) {
		if (!json_object_is_type(payload, json_type_string))
			goto malformed;
		if ((*out = ddb_json_number(json_object_get_string(payload))) == NULL) {
			*why = "malformed number in N";
			return -1;
		}
	} else if (strcmp(tag, "BOOL") == 0) {
		if (!json_object_is_type(payload, json_type_boolean))
			goto malformed;
		*out = json_object_new_boolean(json_object_get_boolean(payload));
	} else if (strcmp(tag, "NULL") == 0) {
		if (!json_object_is_type(payload, json_type_boolean))
			goto malformed;
		*out = NULL;	/* json-c's null */
	} else if (strcmp(tag, "M") == 0) {
		if ((*out = unmarshal_members(payload, depth, why)) == NULL)
			return -1;
	} else if (strcmp(tag, "L") == 0) {
		if ((*out = unmarshal_list(payload, depth, why)) == NULL)
			return -1;
	} else if (strcmp(tag, "SS") == 0 || strcmp(tag, "NS") == 0) {
		if ((*out = unmarshal_set(payload, tag[0] == 'N', why)) == NULL)
			return -1;
	} else if (strcmp(tag, "B") == 0 || strcmp(tag, "BS") == 0) {
		*why = "binary attributes are not supported";
		return -1;
	} else {
		*why = "unknown AttributeValue type tag";
		return -1;
	}
	return 0;
malformed:
	*why = "malformed AttributeValue";
	return -1;
}

/* Unmarshals one AttributeValue into a new plain JSON value. json-c's null is
 * the NULL pointer, so {"NULL":true} gives NULL with *why NULL; a failure
 * gives NULL with *why set. */
json_object *
ddb_unmarshal_value(json_object *attribute_value, const char **why)
{
	json_object	*out;
	const char	*ignored;

	if (why == NULL)
		why = &ignored;
	*why = NULL;
	if (unmarshal_value(attribute_value, 0, &out, why) == -1)
		return NULL;
	return out;
}

/* Unmarshals an item (a map of AttributeValues) into a new plain object. */
json_object *
ddb_unmarshal_item(json_object *item, const char **why)
{
	const char	*ignored;

	if (why == NULL)
		why = &ignored;
	*why = NULL;
	return unmarshal_members(item, 0, why);
}
