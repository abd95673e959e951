/* router.c - the static route table and the request pipeline every entry
 * point shares: request id, CORS, routing, auth, body checks, access log. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "ddb.h"
#include "handlers.h"
#include "json_check.h"
#include "idempotency.h"
#include "log.h"
#include "roles.h"
#include "router.h"

#define MAX_SEGMENTS	8
#define ROUTER_ANSWER_MARGIN_MS	100	/* store calls end this long before the deadline */
#define JSON_MAX_DEPTH	32
#define CORS_MAX_AGE	"600"
#define CORS_ALLOW_HEADERS "Authorization, Content-Type, If-Match, X-Request-Id, Idempotency-Key"
#define CORS_EXPOSE_HEADERS "X-Request-Id, Location, ETag"

static const struct route routes[] = {
	{ .method = "GET", .pattern = "/api/health", .handler = handle_health, .min_role = ROLE_NONE },

	{ .method = "GET", .pattern = "/api/deliverables", .handler = handle_deliverables_list, .min_role = ROLE_CLIENT },
	{ .method = "POST", .pattern = "/api/deliverables", .handler = handle_deliverables_create, .min_role = ROLE_ADMIN, .takes_body = true },
	{ .method = "GET", .pattern = "/api/deliverables/{id}", .handler = handle_deliverables_get, .min_role = ROLE_CLIENT },
	{ .method = "PATCH", .pattern = "/api/deliverables/{id}", .handler = handle_deliverables_update, .min_role = ROLE_TEAM, .takes_body = true },
	{ .method = "DELETE", .pattern = "/api/deliverables/{id}", .handler = handle_deliverables_delete, .min_role = ROLE_ADMIN },

	{ .method = "GET", .pattern = "/api/metrics", .handler = handle_metrics_list, .min_role = ROLE_CLIENT },
	{ .method = "POST", .pattern = "/api/metrics", .handler = handle_metrics_create, .min_role = ROLE_ADMIN, .takes_body = true },
	{ .method = "GET", .pattern = "/api/metrics/{id}", .handler = handle_metrics_get, .min_role = ROLE_CLIENT },
	{ .method = "PATCH", .pattern = "/api/metrics/{id}", .handler = handle_metrics_update, .min_role = ROLE_TEAM, .takes_body = true },
	{ .method = "DELETE", .pattern = "/api/metrics/{id}", .handler = handle_metrics_delete, .min_role = ROLE_ADMIN },

	{ .method = "GET", .pattern = "/api/updates", .handler = handle_updates_list, .min_role = ROLE_CLIENT },
	{ .method = "POST", .pattern = "/api/updates", .handler = handle_updates_create, .min_role = ROLE_TEAM, .takes_body = true },
	{ .method = "GET", .pattern = "/api/updates/{id}", .handler = handle_updates_get, .min_role = ROLE_CLIENT },
	{ .method = "DELETE", .pattern = "/api/updates/{id}", .handler = handle_updates_delete, .min_role = ROLE_CLIENT },
	{ .method = "POST", .pattern = "/api/updates/{id}/read", .handler = handle_updates_read, .min_role = ROLE_CLIENT },

	{ .method = "GET", .pattern = "/api/users/me", .handler = handle_users_me, .min_role = ROLE_CLIENT },
	{ .method = "GET", .pattern = "/api/users", .handler = handle_users_list, .min_role = ROLE_ADMIN },
	{ .method = "PATCH", .pattern = "/api/users/{id}", .handler = handle_users_update, .min_role = ROLE_ADMIN, .takes_body = true },

	{ .method = "GET", .pattern = "/api/dashboard", .handler = handle_dashboard, .min_role = ROLE_CLIENT },
	{ .method = "GET", .pattern = "/api/digest", .handler = handle_digest, .min_role = ROLE_CLIENT },
	{ .method = "POST", .pattern = "/api/digest/publish", .handler = handle_digest_publish, .min_role = ROLE_TEAM },

	{ .method = "GET", .pattern = "/api/openapi.json", .handler = handle_openapi_json, .min_role = ROLE_NONE },
	{ .method = "GET", .pattern = "/api/docs", .handler = handle_docs_page, .min_role = ROLE_NONE },
	{ .method = "GET", .pattern = "/api/docs/{asset}", .handler = handle_docs_asset, .min_role = ROLE_NONE },
};

/* The path split into raw (still encoded) segments. */
struct segments {
	char	*copy;
	char	*seg[MAX_SEGMENTS];
	size_t	 n;
	bool	 too_many;
};

/* Splits "/api/a/b" into {"api","a","b"}. A path that does not start with '/'
 * or has an empty segment ("//", a trailing '/', "/") matches no route: one
 * URL per resource (SPEC §5), so it is marked like an over-long one. */
static void
split_path(const char *path, struct segments *s)
{
	char *p, *slash;

	memset(s, 0, sizeof *s);
	s->copy = xstrdup(path);
	if (s->copy[0] != '/')
		goto no_route;
	for (p = s->copy + 1;; p = slash + 1) {
		if ((slash = strchr(p, '/')) != NULL)
			*slash = '\0';
		if (*p == '\0')
			goto no_route;
		if (s->n == MAX_SEGMENTS) {
			s->too_many = true;
			return;
		}
		s->seg[s->n++] = p;
		if (slash == NULL)
			return;
	}
no_route:
	s->n = 0;
	s->too_many = true;
}

/* The route table's patterns split into segments once; NULL marks {param}. */
struct compiled_route {
	const char	*seg[MAX_SEGMENTS];
	size_t		 n;
};

static struct compiled_route compiled[ARRAY_LEN(routes)];
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

/* Splits every pattern (the copies live as long as the process). */
static void
compile_routes(void)
{
	for (size_t r = 0; r < ARRAY_LEN(routes); r++) {
		char *copy = xstrdup(routes[r].pattern), *save = NULL;

		for (char *tok = strtok_r(copy, "/", &save); tok && compiled[r].n < MAX_SEGMENTS;
		    tok = strtok_r(NULL, "/", &save))
			compiled[r].seg[compiled[r].n++] = tok[0] == '{' ? NULL : tok;
	}
}

/* True when route r matches the segments; {x} matches any one segment. */
static bool
route_matches(size_t r, const struct segments *s)
{
	const struct compiled_route *c = &compiled[r];

	if (c->n != s->n)
		return false;
	for (size_t i = 0; i < c->n; i++)
		if (c->seg[i] != NULL && strcmp(c->seg[i], s->seg[i]) != 0)
			return false;
	return true;
}

/* Copies the {x} segments of route r into req->params, decoded; -1 on a bad escape. */
static int
extract_params(struct request *req, size_t r, const struct segments *s)
{
	int rc = 0;

	for (size_t i = 0; i < compiled[r].n; i++) {
		if (compiled[r].seg[i] != NULL || req->nparams == MAX_PATH_PARAMS)
			continue;
		char *value = xstrdup(s->seg[i]);
		if (percent_decode_text(value, false) == -1 || value[0] == '\0' ||
		    !utf8_valid(value, strlen(value)))
			rc = -1;
		req->params[req->nparams++] = value;
	}
	return rc;
}

/* A caller's request id is kept when it is 1-64 safe characters. */
static bool
request_id_sane(const char *id)
{
	size_t len;

	if (id == NULL || (len = strlen(id)) == 0 || len > REQUEST_ID_MAX)
		return false;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.' && *p != ':')
			return false;
	return true;
}

/* Sets req->request_id from the caller's header, else from the one the entry
 * point put there (nginx's $request_id on FastCGI), else a new random one. */
static void
assign_request_id(struct request *req)
{
	const char *given = request_header(req, "x-request-id");
	unsigned char raw[16];

	if (request_id_sane(given)) {
		snprintf(req->request_id, sizeof req->request_id, "%s", given);
		return;
	}
	if (request_id_sane(req->request_id))
		return;
	random_bytes_fast(raw, sizeof raw);
	hex_encode(raw, sizeof raw, req->request_id);
}

/* CORS headers for an allowed origin; nothing for others. */
static bool
add_cors_headers(const struct request *req, struct response *res)
{
	const char *origin = request_header(req, "origin");

	if (!config_cors_allowed(req->app->cfg, origin))
		return false;
	response_set_header(res, "Access-Control-Allow-Origin", origin);
	response_set_header(res, "Vary", "Origin");
	response_set_header(res, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
	return true;
}

/* The methods a path answers, as an Allow value. */
static void
allowed_methods(const struct segments *s, struct buf *allow)
{
	for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
		if (!route_matches(i, s))
			continue;
		if (strstr(allow->data ? allow->data : "", routes[i].method) == NULL) {
			if (allow->len > 0)
				buf_puts(allow, ", ");
			buf_puts(allow, routes[i].method);
		}
	}
	if (allow->len > 0)
		buf_puts(allow, ", OPTIONS");
}

/* True when the Content-Type is JSON (application/json, optionally with parameters). */
static bool
content_type_is_json(const char *ct)
{
	size_t len;

	if (ct == NULL)
		return false;
	while (*ct == ' ')
		ct++;
	len = strcspn(ct, "; ");
	return (len == 16 && strncasecmp(ct, "application/json", 16) == 0);
}

/* Checks and parses the JSON body into req->json; answers and returns -1 on
 * failure. Whether the body is one JSON text is decided by json_check alone
 * (400 invalid_json); a parsed body that is not an object, or that holds
 * \u0000 in any string, is 400 validation_error naming body or the field. */
static int
parse_body_or_reply(struct request *req, struct response *res)
{
	struct json_check_result check;
	json_object *obj;

	if (req->body_len > 0 && !content_type_is_json(request_header(req, "content-type"))) {
		response_error(res, 415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)");
		return -1;
	}
	if (req->body_len == 0) {
		response_error(res, 400, "invalid_json", "a JSON body is required");
		return -1;
	}
	obj = json_check_parse(req->body, req->body_len, JSON_MAX_DEPTH, &check);
	json_check_result_free(&check);
	if (obj == NULL && check.status != JSON_CHECK_OK) {
		if (check.status == JSON_CHECK_NOT_UTF8)
			response_error(res, 400, "invalid_json", "the body is not valid UTF-8");
		else
			response_error(res, 400, "invalid_json", "the body is not valid JSON: %s at byte %zu",
			    json_check_status_text(check.status), check.offset);
		return -1;
	}
	if (check.top != JSON_CHECK_KIND_OBJECT) {
		json_object_put(obj);
		response_error(res, 400, "validation_error", "body: must be a JSON object");
		return -1;
	}
	if (check.has_nul) {
		json_object_put(obj);
		response_error(res, 400, "validation_error", "%.*s: must not contain NUL characters (\\u0000)",
		    (int)check.nul_field.len, req->body + check.nul_field.off);
		return -1;
	}
	req->json = obj;
	return 0;
}

/* Answers 400 naming the query parameter that is badly encoded; -1 then. */
static int
query_ok_or_reply(const struct request *req, struct response *res)
{
	if (!req->query_bad)
		return 0;
	if (req->query_bad_param != NULL)
		response_error(res, 400, "validation_error",
		    "%s: bad percent-encoding, a NUL character or invalid UTF-8", req->query_bad_param);
	else
		response_error(res, 400, "validation_error", "query: more than %d parameters", MAX_QUERY_PARAMS);
	return -1;
}

/* Finds the route and runs it; fills res. */
static void
dispatch(struct request *req, struct response *res, const struct segments *s)
{
	const struct route *route = NULL;
	struct idempotency idem;
	bool path_known = false;
	struct buf allow = BUF_INIT;

	if (req->body_too_large) {
		response_error(res, 413, "payload_too_large", "the body is larger than %d bytes", MAX_BODY_BYTES);
		return;
	}
	if (!s->too_many) {
		for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
			if (!route_matches(i, s))
				continue;
			path_known = true;
			if (req->route_pattern == NULL)
				req->route_pattern = routes[i].pattern;
			if (strcmp(routes[i].method, req->method) == 0 ||
			    (strcmp(req->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
				route = &routes[i];
				req->route_pattern = route->pattern;
				break;
			}
		}
	}
	if (!path_known) {
		response_error(res, 404, "not_found", "no route for %s", req->path);
		return;
	}
	allowed_methods(s, &allow);
	if (strcmp(req->method, "OPTIONS") == 0) {
		/* Preflight: CORS headers only for allowed origins (added by the caller). */
		response_empty(res, 204);
		response_set_header(res, "Allow", allow.data);
		if (config_cors_allowed(req->app->cfg, request_header(req, "origin"))) {
			response_set_header(res, "Access-Control-Allow-Methods", allow.data);
			response_set_header(res, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
			response_set_header(res, "Access-Control-Max-Age", CORS_MAX_AGE);
		}
		buf_free(&allow);
		return;
	}
	if (route == NULL) {
		response_error(res, 405, "method_not_allowed", "%s is not allowed here; allowed: %s", req->method, allow.data);
		response_set_header(res, "Allow", allow.data);
		buf_free(&allow);
		return;
	}
	buf_free(&allow);
	if (route->min_role != ROLE_NONE) {
		if (roles_authenticate_or_reply(req, res) == -1)
			return;
		if (roles_require_or_reply(req, res, route->min_role) == -1)
			return;
	}
	if (extract_params(req, (size_t)(route - routes), s) == -1) {
		response_error(res, 400, "validation_error", "id: bad percent-encoding in the path");
		return;
	}
	if (query_ok_or_reply(req, res) == -1)
		return;
	if (route->takes_body && parse_body_or_reply(req, res) == -1)
		return;
	/* Idempotency-Key (SPEC §5): every POST runs at most once per key. */
	if (strcmp(route->method, "POST") == 0 && idempotency_begin_or_reply(req, res, &idem) == -1)
		return;
	res->status = 0;
	route->handler(req, res);
	if (res->status == 0) {
		log_error("handler set no status", LOG_S("path", route->pattern));
		response_error(res, 500, "internal", "internal error");
	}
	if (strcmp(route->method, "POST") == 0)
		idempotency_finish(req, res, &idem);
}

/* Handles one request end to end. */
void
router_handle(struct request *req, struct response *res)
{
	struct segments s;
	int64_t started = mono_ms();
	unsigned ddb_before = ddb_request_count(req->app->ddb);
	int64_t budget_end;

	pthread_once(&compile_once, compile_routes);
	req->started_ms = started;
	/* One time budget per request (SPEC §3), never later than the entry's own deadline. */
	budget_end = now_ms() + req->app->cfg->request_timeout_ms;
	if (req->deadline_ms == 0 || budget_end < req->deadline_ms)
		req->deadline_ms = budget_end;
	ddb_set_deadline(req->app->ddb, req->deadline_ms - ROUTER_ANSWER_MARGIN_MS);
	if (req->method == NULL)
		request_set_method(req, "GET");
	if (req->path == NULL)
		request_set_path(req, "/");
	assign_request_id(req);
	log_set_context(req->request_id, req->trace_id);
	split_path(req->path, &s);
	dispatch(req, res, &s);
	free(s.copy);

	response_set_header(res, "X-Request-Id", req->request_id);
	if (response_header(res, "Cache-Control") == NULL)
		response_set_header(res, "Cache-Control", "no-store");
	add_cors_headers(req, res);
	if (strcmp(req->method, "HEAD") == 0)
		buf_reset(&res->body);

	log_info("request",
	    LOG_S("method", req->method), LOG_S("path", req->path),
	    LOG_I("status", res->status), LOG_I("duration_ms", mono_ms() - started),
	    LOG_S("user", req->user ? req->user->id : NULL),
	    LOG_I("ddb_calls", ddb_request_count(req->app->ddb) - ddb_before),
	    LOG_S("remote", req->remote_addr));
	log_set_context(NULL, NULL);
	ddb_set_deadline(req->app->ddb, 0);
}
