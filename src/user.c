/* user.c - the role ladder and the user record. */
#include <stdlib.h>
#include <string.h>

#include "user.h"
#include "util.h"

/* Highest first: user_role_names[ROLE_ADMIN - role]. */
const char *const user_role_names[] = { "admin", "team", "client", NULL };

/* The lower-case name of a role ("none" for ROLE_NONE). */
const char *
user_role_name(enum role role)
{
	if (role < ROLE_CLIENT || role > ROLE_ADMIN)
		return "none";
	return user_role_names[ROLE_ADMIN - role];
}

/* Parses "admin"/"team"/"client" (exactly); ROLE_NONE otherwise. */
enum role
user_role_parse(const char *s)
{
	if (s == NULL)
		return ROLE_NONE;
	for (size_t i = 0; user_role_names[i] != NULL; i++) {
		if (strcmp(s, user_role_names[i]) == 0)
			return (enum role)(ROLE_ADMIN - (int)i);
	}
	return ROLE_NONE;
}

/* Frees a user and its strings; NULL-safe. */
void
user_free(struct user *user)
{
	if (user == NULL)
		return;
	free(user->id);
	free(user->email);
	free(user->name);
	free(user->created_at);
	free(user->last_seen_at);
	free(user);
}

/* user_free with the signature of a defer entry. */
void
user_free_cb(void *user)
{
	user_free(user);
}

/* Duplicates a string that may be NULL. */
static char *
user_strdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* A deep copy of user; the caller frees it. */
struct user *
user_dup(const struct user *user)
{
	struct user *u;

	if (user == NULL)
		return NULL;
	u = xcalloc(1, sizeof(*u));
	u->id = user_strdup_or_null(user->id);
	u->email = user_strdup_or_null(user->email);
	u->name = user_strdup_or_null(user->name);
	u->role = user->role;
	u->created_at = user_strdup_or_null(user->created_at);
	u->last_seen_at = user_strdup_or_null(user->last_seen_at);
	return u;
}
