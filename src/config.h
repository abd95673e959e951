/* config.h - every setting of SPEC §3, read from the environment in one place.
 * Nothing outside config.c calls getenv(). */
#ifndef PORTAL_CONFIG_H
#define PORTAL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

#define REQUEST_TIMEOUT_DEFAULT_MS	5000
#define REQUEST_TIMEOUT_MIN_MS		1000
#define REQUEST_TIMEOUT_MAX_MS		29000

struct config {
	/* Tables. */
	char	*env;			/* PORTAL_ENV, default "dev" */
	char	*table_prefix;		/* PORTAL_TABLE_PREFIX or "turbotech-{env}-" */
	char	*table_deliverables;	/* prefix + "deliverables" */
	char	*table_metrics;
	char	*table_updates;
	char	*table_users;
	char	*table_idempotency;	/* prefix + "idempotency" (Idempotency-Key records) */

	/* AWS. */
	char	*region;		/* AWS_REGION, AWS_DEFAULT_REGION, "us-east-1" */
	char	*endpoint;		/* AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, regional */
	char	*aws_access_key_id;	/* may be NULL: then the rest of the chain */
	char	*aws_secret_access_key;
	char	*aws_session_token;
	char	*aws_profile;		/* AWS_PROFILE, default "default" */
	char	*aws_shared_credentials_file;	/* AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials */
	char	*container_credentials_full_uri;	/* AWS_CONTAINER_CREDENTIALS_FULL_URI */
	char	*container_credentials_relative_uri;	/* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI */
	char	*container_authorization_token;	/* AWS_CONTAINER_AUTHORIZATION_TOKEN */
	char	*container_authorization_token_file; /* AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE */
	char	*ec2_metadata_endpoint;	/* AWS_EC2_METADATA_SERVICE_ENDPOINT, default http://169.254.169.254 */
	bool	 ec2_metadata_disabled;	/* AWS_EC2_METADATA_DISABLED=true */

	/* Auth. */
	char	*auth0_domain;		/* AUTH0_DOMAIN */
	char	*audience;		/* AUTH0_AUDIENCE, required */
	char	*jwks_url;		/* AUTH_JWKS_URL or https://{domain}/.well-known/jwks.json */
	char	*issuer;		/* AUTH_ISSUER or https://{domain}/ */
	char   **admins;		/* PORTAL_ADMINS, NULL-terminated */
	char   **cors_origins;		/* CORS_ALLOW_ORIGINS, NULL-terminated */

	/* Digest. */
	char	*digest_api_url;	/* NULL = built-in digest */
	char	*digest_api_key;
	char	*digest_model;

	/* Cache of whole-table reads (cache.h): PORTAL_CACHE_TTL_MS, 0 = off. */
	int	 cache_ttl_ms;

	/* The whole time budget of one request (PORTAL_REQUEST_TIMEOUT_MS). */
	int	 request_timeout_ms;

	/* Logging. */
	enum log_level log_level;

	/* Lambda (set by the Lambda service; NULL elsewhere). */
	char	*lambda_runtime_api;	/* AWS_LAMBDA_RUNTIME_API */
	char	*lambda_function_name;	/* AWS_LAMBDA_FUNCTION_NAME */

	/* CA bundle override: SSL_CERT_FILE or CURL_CA_BUNDLE, else a known path that exists. */
	char	*ca_bundle;
	char	*home;			/* HOME */
};

/* What a program needs: the API server needs auth; portalctl does not. */
enum config_need { CONFIG_NEED_STORE = 0, CONFIG_NEED_AUTH = 1 };

/* Reads the environment into cfg (and initialises libcurl for the process:
 * call it at start-up, before threads). On failure returns -1 and sets *cause to one
 * line naming the variable (caller frees). */
int config_load(struct config *cfg, enum config_need need, char **cause);
/* Releases everything config_load allocated; NULL-safe. */
void config_free(struct config *cfg);
/* True when origin is in CORS_ALLOW_ORIGINS (or the list holds "*"). */
bool config_cors_allowed(const struct config *cfg, const char *origin);
/* True when the sub or the email is in PORTAL_ADMINS. */
bool config_is_admin(const struct config *cfg, const char *sub, const char *email);
/* Reads one variable that is not a SPEC setting (e.g. _X_AMZN_TRACE_ID); borrowed. */
const char *config_env(const char *name);
/* Sets a variable for child libraries (e.g. _X_AMZN_TRACE_ID). */
void config_setenv(const char *name, const char *value);

#endif
