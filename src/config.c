/* config.c - SPEC §3: the only place that reads the environment. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "util.h"

#define AMAZON_LINUX_CA_BUNDLE	"/etc/pki/tls/certs/ca-bundle.crt"
#define DEFAULT_IMDS_ENDPOINT	"http://169.254.169.254"
#define CACHE_TTL_LIMIT_MS	60000

/* A variable's value, or NULL when unset or empty. */
static const char *
env_value(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0') ? v : NULL;
}

/* Borrowed value of a variable that is not a SPEC setting. */
const char *
config_env(const char *name)
{
	return env_value(name);
}

/* Sets a variable (for libraries and child processes). */
void
config_setenv(const char *name, const char *value)
{
	if (value == NULL)
		unsetenv(name);
	else
		setenv(name, value, 1);
}

/* Copy of the value, or of def when unset. */
static char *
env_dup(const char *name, const char *def)
{
	const char *v = env_value(name);

	return xstrdup(v != NULL ? v : def);
}

/* True when every character of s is in the allowed set (alnum plus extra). */
static bool
chars_ok(const char *s, const char *extra)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return false;
	return true;
}

/* Splits a comma list into a NULL-terminated array of trimmed, non-empty items. */
static char **
split_list(const char *s)
{
	size_t n = 0, cap = 4;
	char **list = xcalloc(cap, sizeof *list);
	char *copy = xstrdup(s ? s : ""), *save = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		size_t len = strlen(tok);
		while (len > 0 && isspace((unsigned char)tok[len - 1]))
			tok[--len] = '\0';
		if (len == 0)
			continue;
		if (n + 2 > cap) {
			cap *= 2;
			list = xrealloc(list, cap * sizeof *list);
		}
		list[n++] = xstrdup(tok);
	}
	list[n] = NULL;
	free(copy);
	return list;
}

/* Frees a NULL-terminated list. */
static void
free_list(char **list)
{
	if (list == NULL)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

/* True when s starts with http:// or https:// and has a host. */
static bool
is_http_url(const char *s)
{
	return (strncmp(s, "http://", 7) == 0 && s[7] != '\0') ||
	    (strncmp(s, "https://", 8) == 0 && s[8] != '\0');
}

/* Parses the URL in variable var once, with libcurl's URL API (the parser the
 * requests will use): its scheme must be one of schemes (comma list), http(s)
 * needs a host, and there is no query or fragment. -1 with *cause naming var. */
static int
url_check(const char *var, const char *url, const char *schemes, char **cause)
{
	CURLU *u;
	CURLUcode rc;
	char *scheme = NULL, *host = NULL, *query = NULL, *fragment = NULL, *port = NULL;
	long port_n;
	int ret = -1;

	if ((u = curl_url()) == NULL)
		return cause_set(cause, "%s: cannot parse the URL (out of memory)", var);
	if ((rc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
		cause_set(cause, "%s is not a usable URL: %s (got \"%s\")", var, curl_url_strerror(rc), url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || scheme == NULL) {
		cause_set(cause, "%s has no scheme; it must be a %s URL (got \"%s\")", var, schemes, url);
		goto out;
	}
	/* The scheme is one whole item of the comma list. */
	size_t slen = strlen(scheme);
	const char *hit = schemes;
	while ((hit = strstr(hit, scheme)) != NULL &&
	    !((hit == schemes || hit[-1] == ',') && (hit[slen] == ',' || hit[slen] == '\0')))
		hit += slen;
	if (hit == NULL) {
		struct buf names = BUF_INIT;

		for (const char *p = schemes; *p != '\0'; p++) {
			if (*p == ',')
				buf_puts(&names, ", ");
			else
				buf_append(&names, p, 1);
		}
		cause_set(cause, "%s must be a URL with one of the schemes %s (got \"%s\")", var, names.data, url);
		buf_free(&names);
		goto out;
	}
	if (strcmp(scheme, "file") != 0 &&
	    (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL || *host == '\0')) {
		cause_set(cause, "%s has no host (got \"%s\")", var, url);
		goto out;
	}
	if (strcmp(scheme, "file") != 0 &&
	    curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port != NULL &&
	    (parse_long(port, 1, 65535, &port_n) == -1)) {
		cause_set(cause, "%s has a port outside 1-65535 (got \"%s\")", var, url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
		cause_set(cause, "%s must not have a query or a fragment (got \"%s\")", var, url);
		goto out;
	}
	ret = 0;
out:
	curl_free(port);
	curl_free(fragment);
	curl_free(query);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return ret;
}

/* The table, region and endpoint settings. */
static int
load_store(struct config *cfg, char **cause)
{
	const char *v;

	cfg->env = env_dup("PORTAL_ENV", "dev");
	if (!chars_ok(cfg->env, "-_"))
		return cause_set(cause, "PORTAL_ENV must be letters, digits, '-' or '_' (got \"%s\")", cfg->env);
	if ((v = env_value("PORTAL_TABLE_PREFIX")) != NULL) {
		if (!chars_ok(v, "-_."))
			return cause_set(cause, "PORTAL_TABLE_PREFIX may hold only letters, digits, '-', '_' and '.'");
		cfg->table_prefix = xstrdup(v);
	} else
		cfg->table_prefix = xasprintf("turbotech-%s-", cfg->env);
	cfg->table_deliverables = xasprintf("%sdeliverables", cfg->table_prefix);
	cfg->table_metrics = xasprintf("%smetrics", cfg->table_prefix);
	cfg->table_updates = xasprintf("%supdates", cfg->table_prefix);
	cfg->table_users = xasprintf("%susers", cfg->table_prefix);
	cfg->table_idempotency = xasprintf("%sidempotency", cfg->table_prefix);

	v = env_value("AWS_REGION");
	if (v == NULL)
		v = env_value("AWS_DEFAULT_REGION");
	cfg->region = xstrdup(v ? v : "us-east-1");
	if (!chars_ok(cfg->region, "-"))
		return cause_set(cause, "AWS_REGION is not a region name (got \"%s\")", cfg->region);

	if ((v = env_value("AWS_ENDPOINT_URL_DYNAMODB")) != NULL) {
		if (url_check("AWS_ENDPOINT_URL_DYNAMODB", v, "http,https", cause) == -1)
			return -1;
	} else if ((v = env_value("AWS_ENDPOINT_URL")) != NULL) {
		if (url_check("AWS_ENDPOINT_URL", v, "http,https", cause) == -1)
			return -1;
	}
	if (v != NULL) {
		cfg->endpoint = xstrdup(v);
		size_t len = strlen(cfg->endpoint);
		while (len > 0 && cfg->endpoint[len - 1] == '/')
			cfg->endpoint[--len] = '\0';
	} else {
		cfg->endpoint = xasprintf("https://dynamodb.%s.amazonaws.com", cfg->region);
		if (url_check("AWS_REGION", cfg->endpoint, "https", cause) == -1)
			return -1;
	}

	cfg->aws_access_key_id = xstrdup(env_value("AWS_ACCESS_KEY_ID"));
	cfg->aws_secret_access_key = xstrdup(env_value("AWS_SECRET_ACCESS_KEY"));
	cfg->aws_session_token = xstrdup(env_value("AWS_SESSION_TOKEN"));
	if ((cfg->aws_access_key_id == NULL) != (cfg->aws_secret_access_key == NULL))
		return cause_set(cause, "%s is set but %s is not",
		    cfg->aws_access_key_id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		    cfg->aws_access_key_id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	cfg->aws_profile = env_dup("AWS_PROFILE", "default");
	cfg->home = xstrdup(env_value("HOME"));
	if ((v = env_value("AWS_SHARED_CREDENTIALS_FILE")) != NULL)
		cfg->aws_shared_credentials_file = xstrdup(v);
	else if (cfg->home != NULL)
		cfg->aws_shared_credentials_file = xasprintf("%s/.aws/credentials", cfg->home);
	cfg->container_credentials_full_uri = xstrdup(env_value("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
	cfg->container_credentials_relative_uri = xstrdup(env_value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
	cfg->container_authorization_token = xstrdup(env_value("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
	cfg->container_authorization_token_file = xstrdup(env_value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
	cfg->ec2_metadata_endpoint = env_dup("AWS_EC2_METADATA_SERVICE_ENDPOINT", DEFAULT_IMDS_ENDPOINT);
	v = env_value("AWS_EC2_METADATA_DISABLED");
	cfg->ec2_metadata_disabled = v != NULL && ascii_casecmp(v, "true") == 0;

	if ((v = env_value("SSL_CERT_FILE")) != NULL || (v = env_value("CURL_CA_BUNDLE")) != NULL)
		cfg->ca_bundle = xstrdup(v);
	else if (access(AMAZON_LINUX_CA_BUNDLE, R_OK) == 0)
		cfg->ca_bundle = xstrdup(AMAZON_LINUX_CA_BUNDLE);
	cfg->lambda_runtime_api = xstrdup(env_value("AWS_LAMBDA_RUNTIME_API"));
	cfg->lambda_function_name = xstrdup(env_value("AWS_LAMBDA_FUNCTION_NAME"));
	return 0;
}

/* Auth0, CORS and admin settings. */
static int
load_auth(struct config *cfg, enum config_need need, char **cause)
{
	const char *v;

	if ((v = env_value("AUTH0_DOMAIN")) != NULL) {
		/* Accept "tenant.auth0.com", tolerate a scheme and a trailing slash. */
		if (strncmp(v, "https://", 8) == 0)
			v += 8;
		cfg->auth0_domain = xstrdup(v);
		size_t len = strlen(cfg->auth0_domain);
		while (len > 0 && cfg->auth0_domain[len - 1] == '/')
			cfg->auth0_domain[--len] = '\0';
		if (!chars_ok(cfg->auth0_domain, "-.:"))
			return cause_set(cause, "AUTH0_DOMAIN must be a host name like tenant.us.auth0.com (got \"%s\")", v);
	}
	cfg->audience = xstrdup(env_value("AUTH0_AUDIENCE"));
	if ((v = env_value("AUTH_JWKS_URL")) != NULL) {
		if (url_check("AUTH_JWKS_URL", v, "https,http,file", cause) == -1)
			return -1;
		cfg->jwks_url = xstrdup(v);
	} else if (cfg->auth0_domain != NULL) {
		cfg->jwks_url = xasprintf("https://%s/.well-known/jwks.json", cfg->auth0_domain);
		if (url_check("AUTH0_DOMAIN", cfg->jwks_url, "https", cause) == -1)
			return -1;
	}
	if ((v = env_value("AUTH_ISSUER")) != NULL)
		cfg->issuer = xstrdup(v);
	else if (cfg->auth0_domain != NULL)
		cfg->issuer = xasprintf("https://%s/", cfg->auth0_domain);
	if (need & CONFIG_NEED_AUTH) {
		if (cfg->jwks_url == NULL || cfg->issuer == NULL)
			return cause_set(cause, "AUTH0_DOMAIN is required (or both AUTH_JWKS_URL and AUTH_ISSUER)");
		if (cfg->audience == NULL)
			return cause_set(cause, "AUTH0_AUDIENCE is required");
	}
	cfg->admins = split_list(env_value("PORTAL_ADMINS"));
	cfg->cors_origins = split_list(env_value("CORS_ALLOW_ORIGINS"));
	for (char **o = cfg->cors_origins; *o; o++) {
		if (strcmp(*o, "*") == 0) {
			if (strcmp(cfg->env, "dev") != 0)
				return cause_set(cause, "CORS_ALLOW_ORIGINS: \"*\" is allowed only when PORTAL_ENV=dev");
		} else if (!is_http_url(*o) || strchr(*o + 8, '/') != NULL)
			return cause_set(cause, "CORS_ALLOW_ORIGINS: \"%s\" is not an origin like https://app.example.com", *o);
	}
	return 0;
}

/* The optional AI digest endpoint: all three settings or none. */
static int
load_digest(struct config *cfg, char **cause)
{
	const char *url = env_value("DIGEST_API_URL");
	const char *key = env_value("DIGEST_API_KEY");
	const char *model = env_value("DIGEST_MODEL");

	if (url == NULL && key == NULL && model == NULL)
		return 0;
	if (url == NULL)
		return cause_set(cause, "DIGEST_API_URL is required when DIGEST_API_KEY or DIGEST_MODEL is set");
	if (url_check("DIGEST_API_URL", url, "http,https", cause) == -1)
		return -1;
	if (key == NULL)
		return cause_set(cause, "DIGEST_API_KEY is required when DIGEST_API_URL is set");
	if (model == NULL)
		return cause_set(cause, "DIGEST_MODEL is required when DIGEST_API_URL is set");
	cfg->digest_api_url = xstrdup(url);
	size_t len = strlen(cfg->digest_api_url);
	while (len > 0 && cfg->digest_api_url[len - 1] == '/')
		cfg->digest_api_url[--len] = '\0';
	cfg->digest_api_key = xstrdup(key);
	cfg->digest_model = xstrdup(model);
	return 0;
}

/* Reads every setting; the first bad one names itself in *cause. */
int
config_load(struct config *cfg, enum config_need need, char **cause)
{
	const char *v;

	memset(cfg, 0, sizeof *cfg);
	*cause = NULL;
	/* Start-up runs here before any thread exists: the one place for libcurl's global init. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cfg->log_level = LOG_INFO;
	if ((v = env_value("LOG_LEVEL")) != NULL && log_level_parse(v, &cfg->log_level) == -1)
		return cause_set(cause, "LOG_LEVEL must be debug, info, warn or error (got \"%s\")", v);
	log_set_level(cfg->log_level);
	if (load_store(cfg, cause) == -1 || load_auth(cfg, need, cause) == -1 ||
	    load_digest(cfg, cause) == -1)
		return -1;
	if ((v = env_value("PORTAL_CACHE_TTL_MS")) != NULL) {
		long ttl;
		if (parse_long(v, 0, CACHE_TTL_LIMIT_MS, &ttl) == -1)
			return cause_set(cause, "PORTAL_CACHE_TTL_MS must be a number of milliseconds from 0 to %d (got \"%s\")",
			    CACHE_TTL_LIMIT_MS, v);
		cfg->cache_ttl_ms = (int)ttl;
	}
	cfg->request_timeout_ms = REQUEST_TIMEOUT_DEFAULT_MS;
	if ((v = env_value("PORTAL_REQUEST_TIMEOUT_MS")) != NULL) {
		long budget;
		if (parse_long(v, REQUEST_TIMEOUT_MIN_MS, REQUEST_TIMEOUT_MAX_MS, &budget) == -1)
			return cause_set(cause, "PORTAL_REQUEST_TIMEOUT_MS must be a number of milliseconds from %d to %d (got \"%s\")",
			    REQUEST_TIMEOUT_MIN_MS, REQUEST_TIMEOUT_MAX_MS, v);
		cfg->request_timeout_ms = (int)budget;
	}
	return 0;
}

/* Frees every string the config owns. */
void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	char **strings[] = {
		&cfg->env, &cfg->table_prefix, &cfg->table_deliverables, &cfg->table_metrics,
		&cfg->table_updates, &cfg->table_users, &cfg->region, &cfg->endpoint,
		&cfg->aws_access_key_id, &cfg->aws_secret_access_key, &cfg->aws_session_token,
		&cfg->aws_profile, &cfg->aws_shared_credentials_file,
		&cfg->container_credentials_full_uri, &cfg->container_credentials_relative_uri,
		&cfg->container_authorization_token, &cfg->container_authorization_token_file,
		&cfg->ec2_metadata_endpoint, &cfg->auth0_domain, &cfg->audience, &cfg->jwks_url,
		&cfg->issuer, &cfg->digest_api_url, &cfg->digest_api_key, &cfg->digest_model,
		&cfg->lambda_runtime_api, &cfg->lambda_function_name, &cfg->ca_bundle, &cfg->home,
		&cfg->table_idempotency,
	};
	for (size_t i = 0; i < ARRAY_LEN(strings); i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
	free_list(cfg->admins);
	free_list(cfg->cors_origins);
	cfg->admins = cfg->cors_origins = NULL;
}

/* True for an allowed browser origin. */
bool
config_cors_allowed(const struct config *cfg, const char *origin)
{
	if (origin == NULL || cfg->cors_origins == NULL)
		return false;
	for (char **o = cfg->cors_origins; *o; o++)
		if (strcmp(*o, "*") == 0 || strcmp(*o, origin) == 0)
			return true;
	return false;
}

/* True when sub or email (case-insensitive) is listed in PORTAL_ADMINS. */
bool
config_is_admin(const struct config *cfg, const char *sub, const char *email)
{
	if (cfg->admins == NULL)
		return false;
	for (char **a = cfg->admins; *a; a++) {
		if (sub != NULL && strcmp(*a, sub) == 0)
			return true;
		if (email != NULL && ascii_casecmp(*a, email) == 0)
			return true;
	}
	return false;
}
