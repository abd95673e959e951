/* handler_util.c - helpers every handler shares: error mapping, ids,
 * versions, field validation, rounding. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "ddb.h"
#include "handlers.h"
#include "log.h"


/* 503 for an unavailable store, 400 for a value the store refused, 500 otherwise. */
void
reply_store_error(struct response *res, const struct ddb_error *err)
{
	/* Handlers validate every field first: a ValidationException left over
	 * is still the request's data (a value or an item the store cannot
	 * hold), never the server's fault. */
	if (strcmp(err->code, "ValidationException") == 0) {
		log_warn("store refused the request's data", LOG_S("code", err->code),
		    LOG_S("detail", err->message), LOG_I("http_status", err->http_status));
		response_error(res, 400, "validation_error", "body: the data store cannot hold a value of this request");
		return;
	}
	if (ddb_error_is_unavailable(err)) {
		log_warn("store unavailable", LOG_S("code", err->code), LOG_S("detail", err->message),
		    LOG_I("http_status", err->http_status), LOG_I("attempts", err->attempts));
		response_error(res, 503, "unavailable", "the data store is unavailable; retry shortly");
		response_set_header(res, "Retry-After", HTTP_RETRY_AFTER_STORE_S);
		return;
	}
	log_error("store error", LOG_S("code", err->code), LOG_S("detail", err->message),
	    LOG_I("http_status", err->http_status));
	response_error(res, 500, "internal", "internal error");
}

/* 404, 409 or the store's error for a failed model call. */
void
reply_model_error(struct response *res, enum model_rc rc, const struct ddb_error *err,
    const char *what, long id)
{
	switch (rc) {
	case MODEL_NOT_FOUND:
		response_error(res, 404, "not_found", "%s %ld not found", what, id);
		break;
	case MODEL_CONFLICT:
		response_error(res, 409, "conflict", "%s %ld has changed (version mismatch)", what, id);
		break;
	case MODEL_FORBIDDEN:
		response_error(res, 403, "forbidden", "%s %ld may not be changed by you", what, id);
		break;
	default:
		reply_store_error(res, err);
	}
}

/* The shared PATCH flow of deliverables and metrics. */
void
handle_versioned_patch(struct request *req, struct response *res, const struct patch_ops *ops)
{
	json_object *changes, *updated;
	struct ddb_error err;
	enum model_rc rc;
	long id, version;

	if (param_id_or_reply(req, res, 0, &id) == -1 ||
	    expected_version_or_reply(req, res, req->json, &version) == -1 ||
	    fields_known_or_reply(res, req->json, ops->fields) == -1 ||
	    patch_body_or_reply(res, req->json, ops->fields) == -1)
		return;
	changes = json_object_new_object();
	if (ops->validate(res, req->json, changes) == -1) {
		json_object_put(changes);
		return;
	}
	rc = ops->update(req->app->ddb, req->app->cfg, id, changes, version, &updated, &err);
	if (rc == MODEL_OK) {
		set_etag(res, updated);
		if (ops->view != NULL) {
			response_json(res, 200, ops->view(updated));
			json_object_put(updated);
		} else
			response_json(res, 200, updated);
	} else
		reply_model_error(res, rc, &err, ops->what, id);
	json_object_put(changes);
}

/* The shared DELETE flow of deliverables and metrics. */
void
handle_numeric_delete(struct request *req, struct response *res, const char *what,
    enum model_rc (*remove)(struct ddb *ddb, const struct config *cfg, long id,
    long expected_version, struct ddb_error *err))
{
	struct ddb_error err;
	enum model_rc rc;
	long id, version;

	if (param_id_or_reply(req, res, 0, &id) == -1 ||
	    expected_version_or_reply(req, res, NULL, &version) == -1)
		return;
	if ((rc = remove(req->app->ddb, req->app->cfg, id, version, &err)) == MODEL_OK)
		response_empty(res, 204);
	else
		reply_model_error(res, rc, &err, what, id);
}

/* Positive integer id from a path parameter. */
int
param_id_or_reply(struct request *req, struct response *res, size_t idx, long *out)
{
	const char *s = idx < req->nparams ? req->params[idx] : NULL, *why;

	if (parse_id(s, out, &why) == -1) {
		response_error(res, 400, "validation_error", "id: %s", why);
		return -1;
	}
	return 0;
}

/* Version from the body or If-Match. */
int
expected_version_or_reply(struct request *req, struct response *res, json_object *body, long *out)
{
	const char *h = request_header(req, "if-match");
	json_object *v;

	*out = -1;
	if (body != NULL && json_object_object_get_ex(body, "version", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1) {
			response_error(res, 400, "validation_error", "version: must be a positive integer");
			return -1;
		}
		*out = (long)json_object_get_int64(v);
		json_object_object_del(body, "version");
	}
	if (h != NULL) {
		char tmp[32];
		size_t len = strlen(h);
		long hv;

		while (len > 0 && (*h == ' ' || *h == '\t')) {
			h++;
			len--;
		}
		while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
			len--;
		if (len == 1 && h[0] == '*')
			return 0;	/* any existing item: the store's condition on existence */
		if (len >= 2 && h[0] == 'W' && h[1] == '/') {
			/* RFC 9110 §13.1.1: If-Match compares strongly; a weak tag never matches. */
			response_error(res, 409, "conflict", "If-Match: a weak entity tag never matches");
			return -1;
		}
		if (len >= 2 && h[0] == '"' && h[len - 1] == '"') {
			h++;
			len -= 2;
		}
		if (len == 0 || len >= sizeof tmp) {
			response_error(res, 400, "validation_error", "If-Match: must be a version like \"3\"");
			return -1;
		}
		memcpy(tmp, h, len);
		tmp[len] = '\0';
		if (!isdigit((unsigned char)tmp[0]) || parse_long(tmp, 1, ID_MAX, &hv) == -1) {
			response_error(res, 400, "validation_error", "If-Match: must be a version like \"3\"");
			return -1;
		}
		if (*out != -1 && *out != hv) {
			response_error(res, 409, "conflict", "version in the body and If-Match differ");
			return -1;
		}
		*out = hv;
	}
	return 0;
}

/* ETag from "version". */
void
set_etag(struct response *res, json_object *item)
{
	json_object *v;
	char etag[40];

	if (json_object_object_get_ex(item, "version", &v)) {
		snprintf(etag, sizeof etag, "\"%lld\"", (long long)json_object_get_int64(v));
		response_set_header(res, "ETag", etag);
	}
}

/* Looks a field up; *present false when absent. */
static json_object *
field_get(json_object *obj, const char *field, bool *present)
{
	json_object *v = NULL;

	*present = json_object_object_get_ex(obj, field, &v);
	return v;
}

/* A string field, trimmed length 1..max_len, valid UTF-8. */
int
field_string_or_reply(struct response *res, json_object *obj, const char *field,
    size_t max_len, bool required, const char **out)
{
	bool present;
	json_object *v = field_get(obj, field, &present);
	const char *s;
	size_t len;

	*out = NULL;
	if (!present) {
		if (required) {
			response_error(res, 400, "validation_error", "%s: is required", field);
			return -1;
		}
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		response_error(res, 400, "validation_error", "%s: must be a string", field);
		return -1;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0 || strspn(s, " \t\r\n") == len) {
		response_error(res, 400, "validation_error", "%s: must not be empty", field);
		return -1;
	}
	if (len > max_len) {
		response_error(res, 400, "validation_error", "%s: must be at most %zu characters", field, max_len);
		return -1;
	}
	if (strlen(s) != len) {
		response_error(res, 400, "validation_error", "%s: must not contain NUL characters", field);
		return -1;
	}
	*out = s;
	return 0;
}

/* An integer field within [min, max]. Doubles with no fraction (5.0) are refused too. */
int
field_int_or_reply(struct response *res, json_object *obj, const char *field,
    long min, long max, bool required, long *out, bool *present_out)
{
	bool present;
	json_object *v = field_get(obj, field, &present);
	int64_t n;

	if (present_out != NULL)
		*present_out = present;
	if (!present) {
		if (required) {
			response_error(res, 400, "validation_error", "%s: is required", field);
			return -1;
		}
		return 0;
	}
	if (!json_object_is_type(v, json_type_int)) {
		/* An integer too long for 64 bits arrives as a double keeping its text. */
		const char *text = json_object_is_type(v, json_type_double) ? json_object_get_userdata(v) : NULL;
		if (text != NULL && text[strspn(text, "-0123456789")] == '\0') {
			response_error(res, 400, "validation_error", "%s: must be between %ld and %ld", field, min, max);
			return -1;
		}
		response_error(res, 400, "validation_error", "%s: must be an integer", field);
		return -1;
	}
	errno = 0;
	n = json_object_get_int64(v);
	if (n < min || n > max || errno == ERANGE) {
		response_error(res, 400, "validation_error", "%s: must be between %ld and %ld", field, min, max);
		return -1;
	}
	*out = (long)n;
	return 0;
}

/* A finite number field; *out borrowed from obj (keeps its exact text). */
int
field_number_or_reply(struct response *res, json_object *obj, const char *field,
    bool required, json_object **out)
{
	bool present;
	json_object *v = field_get(obj, field, &present);

	*out = NULL;
	if (!present) {
		if (required) {
			response_error(res, 400, "validation_error", "%s: is required", field);
			return -1;
		}
		return 0;
	}
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
		response_error(res, 400, "validation_error", "%s: must be a number", field);
		return -1;
	}
	/* Judged by the exact text (bodies keep it, see json_check_parse). */
	if (!ddb_json_number_in_range(v)) {
		response_error(res, 400, "validation_error",
		    "%s: must be 0 or a number from 1E-130 to 9.9999999999999999999999999999999999999E+125 "
		    "in magnitude, with at most 38 significant digits", field);
		return -1;
	}
	*out = v;
	return 0;
}

/* A string field that must be one of allowed. */
int
field_enum_or_reply(struct response *res, json_object *obj, const char *field,
    const char *const *allowed, bool required, const char **out)
{
	if (field_string_or_reply(res, obj, field, 64, required, out) == -1)
		return -1;
	if (*out == NULL)
		return 0;
	if (value_one_of_or_reply(res, field, *out, allowed) == -1) {
		*out = NULL;
		return -1;
	}
	return 0;
}

/* value (not NULL) is one of allowed; else 400 "name: must be one of A, B". */
int
value_one_of_or_reply(struct response *res, const char *name, const char *value,
    const char *const *allowed)
{
	struct buf list = BUF_INIT;
	const char *why;

	if (parse_one_of(value, allowed, &why) == 0)
		return 0;
	buf_join(&list, allowed);
	response_error(res, 400, "validation_error", "%s: must be one of %s", name, list.data);
	buf_free(&list);
	return -1;
}

/* Every query parameter is one of allowed (NULL-terminated, may be empty);
 * else 400 naming the first unknown one. */
int
query_known_or_reply(struct request *req, struct response *res, const char *const *allowed)
{
	const char *why;

	for (size_t i = 0; i < req->nquery; i++) {
		if (parse_one_of(req->query[i].name, allowed, &why) == -1) {
			response_error(res, 400, "validation_error", "%s: unknown query parameter",
			    req->query[i].name);
			return -1;
		}
	}
	return 0;
}

/* A calendar date YYYY-MM-DD that exists. */
int
field_date_or_reply(struct response *res, json_object *obj, const char *field,
    bool required, const char **out)
{
	static const int days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;
	char tail;

	if (field_string_or_reply(res, obj, field, 10, required, out) == -1)
		return -1;
	if (*out == NULL)
		return 0;
	if (strlen(*out) != 10 || (*out)[4] != '-' || (*out)[7] != '-' ||
	    sscanf(*out, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
	    !isdigit((unsigned char)(*out)[0]) || !isdigit((unsigned char)(*out)[5]) ||
	    !isdigit((unsigned char)(*out)[8]) ||
	    m < 1 || m > 12 || d < 1 || d > days[m - 1] ||
	    (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))) {
		response_error(res, 400, "validation_error", "%s: must be a date YYYY-MM-DD", field);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Unknown keys are refused. */
int
fields_known_or_reply(struct response *res, json_object *obj, const char *const *allowed)
{
	json_object_object_foreach(obj, key, val) {
		const char *const *a;

		(void)val;
		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL) {
			response_error(res, 400, "validation_error", "%s: unknown field", key);
			return -1;
		}
	}
	return 0;
}

/* PATCH bodies: not empty (the answer names the fields), no nulls. */
int
patch_body_or_reply(struct response *res, json_object *obj, const char *const *fields)
{
	if (json_object_object_length(obj) == 0) {
		struct buf list = BUF_INIT;

		for (const char *const *f = fields; f != NULL && *f != NULL; f++)
			buf_printf(&list, "%s%s", list.len ? ", " : "", *f);
		response_error(res, 400, "validation_error", "body: nothing to update; give at least one of: %s",
		    list.data != NULL ? list.data : "");
		buf_free(&list);
		return -1;
	}
	json_object_object_foreach(obj, key, val) {
		if (val == NULL) {
			response_error(res, 400, "validation_error", "%s: must not be null", key);
			return -1;
		}
	}
	return 0;
}

/* What an earlier attempt under the same Idempotency-Key wrote (borrowed). */
json_object *
create_earlier(struct request *req)
{
	return req->idempotent_item;
}

/* Keeps a reference to the item the create tried to write, once it has an id. */
void
create_note(struct request *req, json_object *item)
{
	if (!json_object_object_get_ex(item, "id", NULL))
		return;
	json_object_put(req->create_item);
	req->create_item = json_object_get(item);
}

/* 201 with Location, ETag and the view; 409; or the store error. */
void
reply_created_num(struct request *req, struct response *res, enum model_rc rc, json_object *item,
    const char *collection, const char *what, json_object *(*view)(json_object *),
    const struct ddb_error *err)
{
	char *location;

	create_note(req, item);
	switch (rc) {
	case MODEL_OK:
		location = xasprintf("%s/%ld", collection, model_int(item, "id", 0));
		response_set_header(res, "Location", location);
		free(location);
		set_etag(res, item);
		response_json(res, 201, view != NULL ? view(item) : json_object_get(item));
		break;
	case MODEL_CONFLICT:
		response_error(res, 409, "conflict", "%s %ld already exists", what, model_int(item, "id", 0));
		break;
	default:
		reply_store_error(res, err);
	}
	json_object_put(item);
}
