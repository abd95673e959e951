/* auth.h - Auth0 RS256 access tokens: JWKS keys, verification of every claim.
 * Who the caller is (user and role) is roles.h, above the users model. */
#ifndef PORTAL_AUTH_H
#define PORTAL_AUTH_H

#include <stdbool.h>
#include <stdint.h>

struct config;

#define AUTH_MAX_TOKEN_BYTES	8192
#define AUTH_LEEWAY_S		60
#define AUTH_VERIFIED_SLOTS	1024	/* tokens whose signature is remembered */
#define AUTH_JWKS_REFETCH_S	60
#define AUTH_JWKS_RETRY_S	5	/* retry after a failed first fetch */
#define AUTH_JWKS_TIMEOUT_MS	5000
#define AUTH_JWKS_MAX_BYTES	(1024 * 1024)
#define AUTH_JWKS_MAX_REDIRECTS	3
#define AUTH_JWKS_MAX_KEYS	64
#define AUTH_MIN_RSA_BITS	2048
#define AUTH_MAX_SUB_BYTES	1024
#define AUTH_MAX_KID_BYTES	256
#define AUTH_REALM		"turbotech-portal"

struct auth_claims {
	char	*sub;
	char	*email;		/* NULL when absent */
	char	*name;		/* NULL when absent */
	int64_t	 exp;
	bool	 email_unverified;	/* the token says email_verified: false */
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
/* The same, with a fetch of the key set ending by deadline_ms (now_ms()
 * clock, 0: none): a request's key fetch stays inside its time budget. */
enum auth_result auth_verify_by(struct auth *auth, const char *authorization,
    int64_t deadline_ms, struct auth_claims *claims, const char **why);
void auth_claims_free(struct auth_claims *claims);	/* NULL-safe */
/* JWKS fetches made so far (tests). */
unsigned auth_jwks_fetch_count(const struct auth *auth);
/* Test hook: the clock used for claims and the re-fetch limit (NULL = time()). */
void auth_set_clock(struct auth *auth, int64_t (*now_s)(void));

#endif
