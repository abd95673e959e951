/* auth.h - Auth0 RS256 access tokens: JWKS keys, verification of every claim,
 * roles from the users table with a short per-process cache. */
#ifndef PORTAL_AUTH_H
#define PORTAL_AUTH_H

#include <stdbool.h>
#include <stdint.h>

struct config;
struct request;
struct response;
struct ddb_error;

#define AUTH_MAX_TOKEN_BYTES	8192
#define AUTH_LEEWAY_S		60
#define AUTH_VERIFIED_SLOTS	1024	/* tokens whose signature is remembered */
#define AUTH_JWKS_REFETCH_S	60
#define ROLE_CACHE_TTL_S	30
#define ROLE_CACHE_MAX		10000	/* entries per process */
#define AUTH_JWKS_RETRY_S	5	/* retry after a failed first fetch */
#define AUTH_JWKS_TIMEOUT_MS	5000
#define AUTH_JWKS_MAX_BYTES	(1024 * 1024)
#define AUTH_JWKS_MAX_KEYS	64
#define AUTH_MIN_RSA_BITS	2048
#define AUTH_MAX_SUB_BYTES	1024
#define AUTH_MAX_KID_BYTES	256
#define AUTH_REALM		"turbotech-portal"

enum role { ROLE_NONE = 0, ROLE_CLIENT = 1, ROLE_TEAM = 2, ROLE_ADMIN = 3 };

struct auth_claims {
	char	*sub;
	char	*email;		/* NULL when absent */
	char	*name;		/* NULL when absent */
	int64_t	 exp;
	bool	 email_unverified;	/* the token says email_verified: false */
};

/* The caller as the users table knows them. All strings owned (user_free). */
struct user {
	char		*id;
	char		*email;		/* may be NULL */
	char		*name;		/* may be NULL */
	enum role	 role;
	char		*created_at;	/* RFC 3339; may be NULL */
	char		*last_seen_at;	/* RFC 3339; may be NULL */
};

struct auth;

/* Process-wide verifier; keys are fetched on first use. cfg is borrowed. */
struct auth *auth_new(const struct config *cfg);
void auth_free(struct auth *auth);	/* NULL-safe */

enum auth_result { AUTH_OK = 0, AUTH_NO_TOKEN, AUTH_INVALID, AUTH_UNAVAILABLE };
/* Verifies the Authorization header value (may be NULL). On AUTH_OK fills
 * claims (free with auth_claims_free). *why names the failed check, for the
 * log only (static string). AUTH_UNAVAILABLE: the JWKS could not be fetched. */
enum auth_result auth_verify(struct auth *auth, const char *authorization,
    struct auth_claims *claims, const char **why);
void auth_claims_free(struct auth_claims *claims);	/* NULL-safe */
/* JWKS fetches made so far (tests). */
unsigned auth_jwks_fetch_count(const struct auth *auth);
/* Test hook: the clock used for claims and the re-fetch limit (NULL = time()). */
void auth_set_clock(struct auth *auth, int64_t (*now_s)(void));

const char *role_name(enum role role);
/* "admin"/"team"/"client" -> role; ROLE_NONE when unknown. */
enum role role_parse(const char *s);

/* Authenticates the request (token, then the user's role from the cache or
 * the users table, provisioning on first sight) and sets req->user. On
 * failure writes the 401/503 response and returns -1. */
int auth_authenticate_or_reply(struct request *req, struct response *res);
/* Answers 403 forbidden and returns -1 unless the caller has at least role. */
int auth_require_or_reply(struct request *req, struct response *res, enum role role);
/* Drops a user's cached role (after a role change in this process). */
void auth_role_cache_forget(const char *user_id);
/* Empties the role cache (tests). */
void auth_role_cache_clear(void);
/* Test hook: the role cache lifetime in ms (<= 0 restores ROLE_CACHE_TTL_S). */
void auth_role_cache_set_ttl_ms(int64_t ttl_ms);
/* A deep copy of user (NULL-safe); the caller frees it with user_free. */
struct user *user_dup(const struct user *user);
void user_free(struct user *user);	/* NULL-safe */

#endif
