/* user.h - the caller as the users table knows them: the role ladder, its
 * names (named here once) and the user record. Below auth, roles and the
 * users model, which all speak of it. */
#ifndef PORTAL_USER_H
#define PORTAL_USER_H

/* The role ladder; a higher value may do everything a lower one may. */
enum role { ROLE_NONE = 0, ROLE_CLIENT = 1, ROLE_TEAM = 2, ROLE_ADMIN = 3 };

/* The roles a user can hold, highest first, NULL-terminated:
 * { "admin", "team", "client", NULL }. */
extern const char *const user_role_names[];

/* A user. All strings owned (user_free). */
struct user {
	char		*id;
	char		*email;		/* may be NULL */
	char		*name;		/* may be NULL */
	enum role	 role;
	char		*created_at;	/* RFC 3339; may be NULL */
	char		*last_seen_at;	/* RFC 3339; may be NULL */
};

/* The lower-case name of a role ("none" for ROLE_NONE); static. */
const char *user_role_name(enum role role);
/* "admin"/"team"/"client" (exactly) -> role; ROLE_NONE otherwise. */
enum role user_role_parse(const char *s);
/* A deep copy of user (NULL-safe); the caller frees it with user_free. */
struct user *user_dup(const struct user *user);
void user_free(struct user *user);	/* NULL-safe */
/* user_free for a defer list (arg is a struct user *). */
void user_free_cb(void *user);

#endif
