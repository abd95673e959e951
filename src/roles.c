/* roles.c - who the caller is: the verified token, then the user and role
 * from the users table (provisioned on first sight), with a short
 * per-process cache so that most requests cost no extra DynamoDB read.
 *
 * The cache is a fixed array of hash buckets under one mutex, holding at most
 * ROLE_CACHE_MAX users for ROLE_CACHE_TTL_S each; when full, expired entries
 * are dropped, and if none were, the whole cache is (simple, bounded, rare).
 * A role change made by another process takes effect within the TTL. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "config.h"
#include "ddb.h"
#include "http.h"
#include "log.h"
#include "model_users.h"
#include "roles.h"
#include "util.h"

#define ROLE_CACHE_BUCKETS	4096
#define AUTH_JWKS_RETRY_AFTER_S	STRINGIFY(AUTH_JWKS_RETRY_S)

/* One cached user. */
struct role_entry {
	struct role_entry	*next;
	struct user		*user;		/* owned */
	int64_t			 expires_ms;	/* mono_ms() */
};

static pthread_mutex_t roles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct role_entry *roles_buckets[ROLE_CACHE_BUCKETS];
static size_t roles_count;
static int64_t roles_ttl_ms = (int64_t)ROLE_CACHE_TTL_S * 1000;

/* ---- the cache ---- */

/* FNV-1a bucket of a user id. */
static size_t
roles_bucket(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)(h % ROLE_CACHE_BUCKETS);
}

/* Unlinks and frees *link's entry; caller holds roles_lock. */
static void
roles_remove_locked(struct role_entry **link)
{
	struct role_entry *e = *link;

	*link = e->next;
	user_free(e->user);
	free(e);
	roles_count--;
}

/* Drops expired entries, or every entry when all = true; caller holds roles_lock. */
static void
roles_sweep_locked(bool all, int64_t now)
{
	for (size_t b = 0; b < ROLE_CACHE_BUCKETS; b++) {
		struct role_entry **link = &roles_buckets[b];

		while (*link != NULL) {
			if (all || (*link)->expires_ms <= now)
				roles_remove_locked(link);
			else
				link = &(*link)->next;
		}
	}
}

/* A copy of the cached user (caller frees) or NULL on a miss. */
static struct user *
roles_cache_get(const char *id)
{
	struct role_entry **link;
	struct user *u = NULL;
	int64_t now = mono_ms();

	pthread_mutex_lock(&roles_lock);
	for (link = &roles_buckets[roles_bucket(id)]; *link != NULL; link = &(*link)->next) {
		if (strcmp((*link)->user->id, id) != 0)
			continue;
		if ((*link)->expires_ms <= now)
			roles_remove_locked(link);
		else
			u = user_dup((*link)->user);
		break;
	}
	pthread_mutex_unlock(&roles_lock);
	return u;
}

/* Caches a copy of user for the TTL, replacing any older entry. */
static void
roles_cache_put(const struct user *user)
{
	struct role_entry **link, *e;
	int64_t now = mono_ms();
	size_t b = roles_bucket(user->id);

	/* A role changed through the users model in this process drops its entry. */
	users_on_role_change(roles_cache_forget);
	pthread_mutex_lock(&roles_lock);
	for (link = &roles_buckets[b]; *link != NULL; link = &(*link)->next) {
		if (strcmp((*link)->user->id, user->id) == 0) {
			roles_remove_locked(link);
			break;
		}
	}
	if (roles_count >= ROLE_CACHE_MAX) {
		roles_sweep_locked(false, now);
		if (roles_count >= ROLE_CACHE_MAX)
			roles_sweep_locked(true, now);
	}
	e = xcalloc(1, sizeof(*e));
	e->user = user_dup(user);
	e->expires_ms = now + roles_ttl_ms;
	e->next = roles_buckets[b];
	roles_buckets[b] = e;
	roles_count++;
	pthread_mutex_unlock(&roles_lock);
}

/* Drops a user's cached role. */
void
roles_cache_forget(const char *user_id)
{
	struct role_entry **link;

	if (user_id == NULL)
		return;
	pthread_mutex_lock(&roles_lock);
	for (link = &roles_buckets[roles_bucket(user_id)]; *link != NULL; link = &(*link)->next) {
		if (strcmp((*link)->user->id, user_id) == 0) {
			roles_remove_locked(link);
			break;
		}
	}
	pthread_mutex_unlock(&roles_lock);
}

/* Empties the cache. */
void
roles_cache_clear(void)
{
	pthread_mutex_lock(&roles_lock);
	roles_sweep_locked(true, 0);
	pthread_mutex_unlock(&roles_lock);
}

/* Sets the cache lifetime for entries stored from now on (tests). */
void
roles_cache_set_ttl_ms(int64_t ttl_ms)
{
	pthread_mutex_lock(&roles_lock);
	roles_ttl_ms = ttl_ms > 0 ? ttl_ms : (int64_t)ROLE_CACHE_TTL_S * 1000;
	pthread_mutex_unlock(&roles_lock);
}

/* ---- resolving the caller ---- */

/* True when last_seen_at is missing or older than the resolution. */
static bool
roles_last_seen_stale(const struct user *u)
{
	time_t seen;

	if (u->last_seen_at == NULL || time_parse_rfc3339(u->last_seen_at, &seen) == -1)
		return true;
	return time(NULL) - seen >= USERS_LAST_SEEN_RESOLUTION_S;
}

/* The user behind verified claims: cache, else the table, provisioning on
 * first sight. 0 with *out (caller frees), or -1 with err. */
static int
roles_resolve(struct ddb *ddb, const struct config *cfg, const struct auth_claims *claims,
    struct user **out, struct ddb_error *err)
{
	struct ddb_error touch_err;
	struct user *u;
	enum role role;

	if ((*out = roles_cache_get(claims->sub)) != NULL)
		return 0;
	if (users_get(ddb, cfg, claims->sub, &u, err) != MODEL_OK)
		return -1;
	if (u == NULL) {
		/* An email the token itself calls unverified does not make an admin. */
		role = config_is_admin(cfg, claims->sub, claims->email_unverified ? NULL : claims->email) ?
		    ROLE_ADMIN : ROLE_CLIENT;
		if (users_provision(ddb, cfg, claims->sub, claims->email, claims->name, role, &u,
		    NULL, err) != MODEL_OK)
			return -1;
	} else if (roles_last_seen_stale(u)) {
		if (users_touch(ddb, cfg, u->id, &touch_err) == MODEL_OK) {
			char now[21];

			time_rfc3339(time(NULL), now);
			free(u->last_seen_at);
			u->last_seen_at = xstrdup(now);
		} else {
			log_warn("auth: last_seen_at not updated", LOG_S("user", u->id),
			    LOG_S("code", touch_err.code));
		}
	}
	if (u->role == ROLE_NONE)
		log_warn("auth: user has no known role", LOG_S("user", u->id));
	roles_cache_put(u);
	*out = u;
	return 0;
}

/* Authenticates the request and sets req->user, or answers 401/503/500. */
int
roles_authenticate_or_reply(struct request *req, struct response *res)
{
	struct auth_claims claims;
	struct ddb_error err;
	struct app *app = req->app;
	const char *why = NULL;
	struct user *u = NULL;
	enum auth_result r;

	/* req->user is owned by the request: it is freed through the request's
	 * defer list when the request is reset (a user attached earlier stays
	 * on that list). */
	req->user = NULL;
	r = auth_verify_by(app->auth, request_header(req, "authorization"), ddb_deadline(app->ddb),
	    &claims, &why);
	switch (r) {
	case AUTH_OK:
		break;
	case AUTH_NO_TOKEN:
		log_info("auth: no bearer token");
		response_error(res, 401, "unauthorized", "A bearer token is required");
		response_set_header(res, "WWW-Authenticate", "Bearer realm=\"" AUTH_REALM "\"");
		return -1;
	case AUTH_INVALID:
		log_info("auth: token rejected", LOG_S("check", why != NULL ? why : "?"));
		response_error(res, 401, "unauthorized", "The bearer token is not valid");
		response_set_header(res, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		return -1;
	case AUTH_UNAVAILABLE:
	default:
		log_warn("auth: cannot verify tokens", LOG_S("check", why != NULL ? why : "?"));
		response_error(res, 503, "unavailable", "Authentication is temporarily unavailable");
		response_set_header(res, "Retry-After", AUTH_JWKS_RETRY_AFTER_S);
		return -1;
	}
	if (roles_resolve(app->ddb, app->cfg, &claims, &u, &err) == -1) {
		auth_claims_free(&claims);
		if (ddb_error_is_unavailable(&err)) {
			log_warn("auth: users table unavailable", LOG_S("code", err.code),
			    LOG_I("status", err.http_status));
			response_error(res, 503, "unavailable", "The store is temporarily unavailable");
			response_set_header(res, "Retry-After", HTTP_RETRY_AFTER_STORE_S);
		} else {
			log_error("auth: users table error", LOG_S("code", err.code),
			    LOG_S("detail", err.message), LOG_I("status", err.http_status));
			response_error(res, 500, "internal", "Internal error");
		}
		return -1;
	}
	auth_claims_free(&claims);
	req->user = u;
	request_defer(req, user_free_cb, u);
	return 0;
}

/* Answers 403 forbidden unless the caller has at least role. */
int
roles_require_or_reply(struct request *req, struct response *res, enum role role)
{
	if (req->user == NULL) {
		response_error(res, 401, "unauthorized", "A bearer token is required");
		response_set_header(res, "WWW-Authenticate", "Bearer realm=\"" AUTH_REALM "\"");
		return -1;
	}
	if (req->user->role < role) {
		log_info("auth: role too low", LOG_S("user", req->user->id),
		    LOG_S("role", user_role_name(req->user->role)), LOG_S("needs", user_role_name(role)));
		response_error(res, 403, "forbidden", "This action needs the %s role", user_role_name(role));
		return -1;
	}
	return 0;
}
