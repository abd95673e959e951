/* roles.h - who the caller is: the verified token (auth.h), then the user and
 * role from the users table (model_users.h), provisioned on first sight, with
 * a short per-process cache. Sits above the users model; the router calls it. */
#ifndef PORTAL_ROLES_H
#define PORTAL_ROLES_H

#include <stdint.h>

#include "user.h"

struct request;
struct response;

#define ROLE_CACHE_TTL_S	30
#define ROLE_CACHE_MAX		10000	/* entries per process */

/* Authenticates the request (token, then the user's role from the cache or
 * the users table, provisioning on first sight) and sets req->user, which
 * the request owns (freed through its defer list by request_reset). On
 * failure writes the 401/503 response and returns -1. */
int roles_authenticate_or_reply(struct request *req, struct response *res);
/* Answers 403 forbidden and returns -1 unless the caller has at least role. */
int roles_require_or_reply(struct request *req, struct response *res, enum role role);
/* Drops a user's cached role (after a role change in this process). */
void roles_cache_forget(const char *user_id);
/* Empties the role cache (tests). */
void roles_cache_clear(void);
/* Test hook: the role cache lifetime in ms (<= 0 restores ROLE_CACHE_TTL_S). */
void roles_cache_set_ttl_ms(int64_t ttl_ms);

#endif
