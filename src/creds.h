/* creds.h - the AWS credentials chain (SPEC §3): environment, shared
 * credentials file with profiles, container credentials endpoint, EC2 IMDSv2.
 * Temporary credentials are refreshed before they expire. Thread-safe. */
#ifndef PORTAL_CREDS_H
#define PORTAL_CREDS_H

#include <stdbool.h>
#include <stdint.h>

struct config;

struct creds {
	char	 access_key_id[128];
	char	 secret_access_key[128];
	char	 session_token[2048];	/* "" when none */
	int64_t	 expires_ms;		/* 0 = never */
	char	 source[32];		/* "environment", "shared-file", "container", "imds" */
};

#define CREDS_REFRESH_BEFORE_MS	(5 * 60 * 1000)

/* Copies current credentials into out, resolving or refreshing the chain
 * when needed. cfg is borrowed. 0, or -1 with *cause (caller frees).
 * Order: environment (both key and secret, else an error); the shared file's
 * cfg->aws_profile (a named profile that is missing or incomplete is an
 * error; a missing [default] goes on); the container endpoint when a
 * container URI is set (its failure is final, as in the SDKs); IMDSv2 unless
 * disabled. Metadata calls use libcurl with 1 s connect / 2 s total timeouts,
 * so curl_global_init must have run before threads start. A failed refresh
 * keeps credentials that are still valid (logged as a warning) and is not
 * retried for a few seconds. */
int creds_get(const struct config *cfg, struct creds *out, char **cause);
/* Forgets cached credentials (tests; after an auth error). */
void creds_invalidate(void);
/* Parses an INI credentials file for a profile; 0, or -1 when absent/incomplete. */
int creds_parse_file(const char *path, const char *profile, struct creds *out);
/* Parses a container/IMDS JSON credentials document (AccessKeyId, SecretAccessKey,
 * Token, Expiration). 0 or -1. */
int creds_parse_json(const char *json, struct creds *out);

#endif
