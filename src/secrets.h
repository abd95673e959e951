/* secrets.h - one secret from AWS Secrets Manager: GetSecretValue over the
 * service's JSON 1.1 protocol (X-Amz-Target: secretsmanager.GetSecretValue),
 * signed with SigV4 (sigv4.h) and the credentials chain (creds.h); no SDK.
 * Used at start-up (the Lambda entry reads DIGEST_API_KEY_SECRET once and
 * keeps the value for the life of the process). */
#ifndef PORTAL_SECRETS_H
#define PORTAL_SECRETS_H

struct config;

#define SECRETS_SERVICE			"secretsmanager"
#define SECRETS_TARGET			"secretsmanager.GetSecretValue"
#define SECRETS_CONTENT_TYPE		"application/x-amz-json-1.1"
#define SECRETS_CONNECT_TIMEOUT_MS	2000
#define SECRETS_TOTAL_TIMEOUT_MS	5000
#define SECRETS_MAX_ATTEMPTS		3	/* throttling, 5xx and network errors are retried */
#define SECRETS_BACKOFF_MS		100
#define SECRETS_RESPONSE_MAX		(256 * 1024)	/* a secret is at most 64 KB */
#define SECRETS_ID_MAX			2048

/* Reads the SecretString of secret_id (a name or an ARN) from the endpoint
 * (NULL: https://secretsmanager.{region}.amazonaws.com; an http:// URL is
 * allowed, for stand-ins). cfg (region, credentials, CA bundle) is borrowed.
 * 0 with *value (caller frees; surrounding white space trimmed, never empty),
 * or -1 with *cause naming the secret and the service's error (caller frees;
 * never the value). */
int secrets_get_string(const struct config *cfg, const char *endpoint, const char *secret_id,
    char **value, char **cause);

#endif
