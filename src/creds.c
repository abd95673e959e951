/* creds.c - the AWS credentials chain (SPEC §3): environment (as read by
 * config.c), the shared credentials file, the container credentials
 * endpoint, EC2 IMDSv2. Resolved credentials are cached process-wide under a
 * mutex; temporary ones are refreshed CREDS_REFRESH_BEFORE_MS before they
 * expire, and a failed refresh keeps the old ones while they remain valid. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "config.h"
#include "creds.h"
#include "httpc.h"
#include "log.h"
#include "util.h"

#define CREDS_CONNECT_TIMEOUT_MS	1000	/* metadata endpoints are local */
#define CREDS_TOTAL_TIMEOUT_MS		2000
#define CREDS_RETRY_AFTER_MS		5000	/* back-off after a failed refresh */
#define CREDS_MAX_RESPONSE_BYTES	(64 * 1024)
#define CREDS_MAX_FILE_BYTES		(1024 * 1024)
#define CREDS_MAX_TOKEN_BYTES		4096	/* container authorization token */
#define CREDS_MAX_ROLE_BYTES		128
#define CREDS_MAX_KEY_BYTES		64	/* an INI key name */
#define CREDS_CONTAINER_HOST		"http://169.254.170.2"
#define CREDS_IMDS_DEFAULT_ENDPOINT	"http://169.254.169.254"
#define CREDS_IMDS_TOKEN_PATH		"/latest/api/token"
#define CREDS_IMDS_ROLE_PATH		"/latest/meta-data/iam/security-credentials/"
#define CREDS_IMDS_TOKEN_TTL_S		"21600"
#define CREDS_DEFAULT_PROFILE		"default"

/* What a look-up in the shared credentials file found. */
enum file_result { FILE_FOUND, FILE_ABSENT, FILE_NO_PROFILE, FILE_INCOMPLETE };

/* The process-wide cache. */
static struct {
	pthread_mutex_t	 mu;
	bool		 have;
	struct creds	 current;
	int64_t		 retry_after_mono;	/* no refresh attempt before this */
} cache = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Copies src into dst (size bytes); -1 when empty and required, or too long. */
static int
copy_field(char *dst, size_t size, const char *src, bool required)
{
	size_t len = src != NULL ? strlen(src) : 0;

	if ((required && len == 0) || len >= size)
		return -1;
	memcpy(dst, src != NULL ? src : "", len);
	dst[len] = '\0';
	return 0;
}

/* Wipes a credentials struct. */
static void
creds_clear(struct creds *c)
{
	OPENSSL_cleanse(c, sizeof *c);
}

/* Trims ASCII whitespace at both ends of s, in place; returns s. */
static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Cuts an inline comment: '#' or ';' that follows whitespace. */
static void
cut_inline_comment(char *s)
{
	if (*s == '\0')
		return;
	for (char *p = s + 1; *p != '\0'; p++) {
		if ((*p == '#' || *p == ';') && isspace((unsigned char)p[-1])) {
			*p = '\0';
			return;
		}
	}
}

/* Looks profile up in the INI file at path and fills out when complete. */
static enum file_result
parse_file(const char *path, const char *profile, struct creds *out)
{
	char *line = NULL, key[CREDS_MAX_KEY_BYTES];
	size_t cap = 0;
	bool in_section = false, found = false, have_id = false, have_secret = false;
	struct creds c;
	struct stat st;
	FILE *f;

	memset(&c, 0, sizeof c);
	if (path == NULL || profile == NULL || (f = fopen(path, "r")) == NULL)
		return FILE_ABSENT;
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CREDS_MAX_FILE_BYTES) {
		fclose(f);
		return FILE_ABSENT;
	}
	while (getline(&line, &cap, f) != -1) {
		char *s = trim(line), *eq, *name, *value;

		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (close == NULL) {
				in_section = false;
				continue;
			}
			*close = '\0';
			in_section = strcmp(trim(s + 1), profile) == 0;
			found = found || in_section;
			continue;
		}
		if (!in_section || (eq = strchr(s, '=')) == NULL)
			continue;
		*eq = '\0';
		name = trim(s);
		value = eq + 1;
		cut_inline_comment(value);
		value = trim(value);
		if (copy_field(key, sizeof key, name, true) == -1)
			continue;
		for (char *p = key; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (strcmp(key, "aws_access_key_id") == 0)
			have_id = copy_field(c.access_key_id, sizeof c.access_key_id, value, true) == 0;
		else if (strcmp(key, "aws_secret_access_key") == 0)
			have_secret = copy_field(c.secret_access_key, sizeof c.secret_access_key,
			    value, true) == 0;
		else if (strcmp(key, "aws_session_token") == 0 &&
		    copy_field(c.session_token, sizeof c.session_token, value, false) == -1)
			c.session_token[0] = '\0';
	}
	if (line != NULL)
		OPENSSL_cleanse(line, cap);
	free(line);
	fclose(f);
	if (!found) {
		creds_clear(&c);
		return FILE_NO_PROFILE;
	}
	if (!have_id || !have_secret) {
		creds_clear(&c);
		return FILE_INCOMPLETE;
	}
	c.expires_ms = 0;
	snprintf(c.source, sizeof c.source, "shared-file");
	*out = c;
	creds_clear(&c);
	return FILE_FOUND;
}

/* Parses an INI credentials file for a profile; 0, or -1 when absent/incomplete. */
int
creds_parse_file(const char *path, const char *profile, struct creds *out)
{
	return parse_file(path, profile, out) == FILE_FOUND ? 0 : -1;
}

/* Borrowed string member of obj, or NULL when absent or not a string. */
static const char *
json_string_member(json_object *obj, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Parses a container/IMDS JSON credentials document. 0 or -1. */
int
creds_parse_json(const char *json, struct creds *out)
{
	json_object *root;
	const char *code, *expiration;
	struct creds c;
	time_t t;
	int rc = -1;

	memset(&c, 0, sizeof c);
	if (json == NULL || strlen(json) > CREDS_MAX_RESPONSE_BYTES ||
	    (root = json_tokener_parse(json)) == NULL)
		return -1;
	if (!json_object_is_type(root, json_type_object))
		goto out;
	code = json_string_member(root, "Code");
	if (code != NULL && strcmp(code, "Success") != 0)
		goto out;
	if (copy_field(c.access_key_id, sizeof c.access_key_id,
	    json_string_member(root, "AccessKeyId"), true) == -1 ||
	    copy_field(c.secret_access_key, sizeof c.secret_access_key,
	    json_string_member(root, "SecretAccessKey"), true) == -1 ||
	    copy_field(c.session_token, sizeof c.session_token,
	    json_string_member(root, "Token"), false) == -1)
		goto out;
	expiration = json_string_member(root, "Expiration");
	if (expiration != NULL) {
		if (time_parse_rfc3339(expiration, &t) == -1)
			goto out;
		c.expires_ms = (int64_t)t * 1000;
	}
	*out = c;
	rc = 0;
out:
	creds_clear(&c);
	json_object_put(root);
	return rc;
}

/* One HTTP request to a metadata endpoint with the short timeouts. headers is
 * NULL-terminated ("Name: value"). Fills body and *status; 0, or -1 with
 * *cause on a transport error. */
static int
metadata_request(const struct config *cfg, const char *method, const char *url,
    const char *const *headers, struct buf *body, long *status, char **cause)
{
	const struct httpc_options opt = {
		.ca_bundle = cfg->ca_bundle,
		.connect_timeout_ms = CREDS_CONNECT_TIMEOUT_MS,
		.total_timeout_ms = CREDS_TOTAL_TIMEOUT_MS,
		.no_proxy = true,	/* link-local: never via a proxy */
	};
	struct httpc_response res;
	struct curl_slist *list = NULL;
	CURL *curl;
	CURLcode rc;

	if ((curl = httpc_easy_new()) == NULL) {
		cause_set(cause, "curl_easy_init failed");
		return -1;
	}
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		list = curl_slist_append(list, headers[i]);
	if (strcmp(method, "PUT") == 0) {
		list = curl_slist_append(list, "Content-Type:");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	(void)httpc_setup(curl, &opt);	/* no deadline: cannot fail */
	httpc_response_init(&res, CREDS_MAX_RESPONSE_BYTES);
	httpc_attach(curl, &res);
	rc = httpc_perform(curl, &res);
	/* The answer replaces body; what body held (a token) is wiped first. */
	if (body->data != NULL)
		OPENSSL_cleanse(body->data, body->cap);
	buf_free(body);
	if (rc == CURLE_OK) {
		*status = res.status;
		*body = res.body;
	} else {
		cause_set(cause, "%s %s: %s", method, url, httpc_error(&res, rc));
		if (res.body.data != NULL)
			OPENSSL_cleanse(res.body.data, res.body.cap);
		httpc_response_reset(&res);
	}
	curl_slist_free_all(list);
	curl_easy_cleanup(curl);
	return rc == CURLE_OK ? 0 : -1;
}

/* True when host (from a URL, brackets stripped by curl) is a loopback
 * address or one of the ECS/EKS container credential addresses. */
static bool
container_host_allowed(const char *host)
{
	static const char *const allowed[] = {
		"localhost", "::1", "169.254.170.2", "169.254.170.23", "fd00:ec2::23",
	};

	for (size_t i = 0; i < ARRAY_LEN(allowed); i++)
		if (ascii_casecmp(host, allowed[i]) == 0)
			return true;
	return strncmp(host, "127.", 4) == 0;
}

/* Checks AWS_CONTAINER_CREDENTIALS_FULL_URI as the SDKs do: https, or http
 * to a loopback or container-agent address. 0, or -1 with *cause. */
static int
check_full_uri(const char *uri, char **cause)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		cause_set(cause, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a valid URL");
		goto out;
	}
	if (host[0] == '[') {	/* IPv6 literal: compare without brackets */
		size_t len = strlen(host);

		memmove(host, host + 1, len - 1);
		host[len - 2] = '\0';
	}
	if (ascii_casecmp(scheme, "https") == 0 ||
	    (ascii_casecmp(scheme, "http") == 0 && container_host_allowed(host)))
		rc = 0;
	else
		cause_set(cause, "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a "
		    "loopback/container address, not %s://%s", scheme, host);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* Reads the container authorization token from its file; caller frees. */
static char *
read_token_file(const char *path, char **cause)
{
	char chunk[CREDS_MAX_TOKEN_BYTES + 1];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		cause_set(cause, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	n = fread(chunk, 1, sizeof chunk - 1, f);
	fclose(f);
	chunk[n] = '\0';
	return xstrdup(trim(chunk));
}

/* Fetches credentials from the container endpoint. 0, or -1 with *cause. */
static int
fetch_container(const struct config *cfg, struct creds *out, char **cause)
{
	const char *hdrs[2] = { NULL, NULL };
	char *url, *token = NULL, *auth = NULL;
	struct buf body = BUF_INIT;
	long status = 0;
	int rc = -1;

	if (cfg->container_credentials_full_uri != NULL &&
	    *cfg->container_credentials_full_uri != '\0') {
		if (check_full_uri(cfg->container_credentials_full_uri, cause) == -1)
			return -1;
		url = xstrdup(cfg->container_credentials_full_uri);
	} else if (cfg->container_credentials_relative_uri[0] == '/') {
		url = xasprintf("%s%s", CREDS_CONTAINER_HOST,
		    cfg->container_credentials_relative_uri);
	} else {
		cause_set(cause, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
		return -1;
	}
	if (cfg->container_authorization_token_file != NULL &&
	    *cfg->container_authorization_token_file != '\0') {
		if ((token = read_token_file(cfg->container_authorization_token_file, cause)) == NULL)
			goto out;
	} else if (cfg->container_authorization_token != NULL) {
		token = xstrdup(cfg->container_authorization_token);
	}
	if (token != NULL && *token != '\0') {
		if (strpbrk(token, "\r\n") != NULL) {
			cause_set(cause, "the container authorization token holds a line break");
			goto out;
		}
		auth = xasprintf("Authorization: %s", token);
		hdrs[0] = auth;
	}
	if (metadata_request(cfg, "GET", url, hdrs, &body, &status, cause) == -1)
		goto out;
	if (status != 200) {
		cause_set(cause, "container credentials endpoint answered HTTP %ld", status);
		goto out;
	}
	if (creds_parse_json(body.data, out) == -1) {
		cause_set(cause, "container credentials endpoint sent no usable credentials");
		goto out;
	}
	snprintf(out->source, sizeof out->source, "container");
	rc = 0;
out:
	if (body.data != NULL)
		OPENSSL_cleanse(body.data, body.len);
	buf_free(&body);
	if (auth != NULL)
		OPENSSL_cleanse(auth, strlen(auth));
	if (token != NULL)
		OPENSSL_cleanse(token, strlen(token));
	free(auth);
	free(token);
	free(url);
	return rc;
}

/* True when role is a plausible IAM role name (it goes into a URL path). */
static bool
valid_role_name(const char *role)
{
	size_t len = strlen(role);

	if (len == 0 || len >= CREDS_MAX_ROLE_BYTES)
		return false;
	for (const char *p = role; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("+=,.@_-", *p) == NULL)
			return false;
	return true;
}

/* IMDSv2: a session token, the role name, then the role's credentials.
 * 0, or -1 with *cause. */
static int
fetch_imds(const struct config *cfg, struct creds *out, char **cause)
{
	const char *ttl_hdrs[] = { "X-aws-ec2-metadata-token-ttl-seconds: " CREDS_IMDS_TOKEN_TTL_S, NULL };
	const char *tok_hdrs[] = { NULL, NULL };
	const char *endpoint = cfg->ec2_metadata_endpoint != NULL && *cfg->ec2_metadata_endpoint != '\0' ?
	    cfg->ec2_metadata_endpoint : CREDS_IMDS_DEFAULT_ENDPOINT;
	size_t elen = strlen(endpoint);
	char *base, *url = NULL, *tok_hdr = NULL, *role;
	struct buf body = BUF_INIT;
	long status = 0;
	int rc = -1;

	while (elen > 0 && endpoint[elen - 1] == '/')
		elen--;
	base = xstrndup(endpoint, elen);

	url = xasprintf("%s%s", base, CREDS_IMDS_TOKEN_PATH);
	if (metadata_request(cfg, "PUT", url, ttl_hdrs, &body, &status, cause) == -1)
		goto out;
	if (status != 200 || body.len == 0 || strpbrk(trim(body.data), "\r\n") != NULL) {
		cause_set(cause, "IMDSv2 token request answered HTTP %ld", status);
		goto out;
	}
	tok_hdr = xasprintf("X-aws-ec2-metadata-token: %s", trim(body.data));
	tok_hdrs[0] = tok_hdr;

	free(url);
	url = xasprintf("%s%s", base, CREDS_IMDS_ROLE_PATH);
	buf_reset(&body);
	if (metadata_request(cfg, "GET", url, tok_hdrs, &body, &status, cause) == -1)
		goto out;
	if (status != 200 || body.len == 0) {
		cause_set(cause, "IMDS has no instance role (HTTP %ld)", status);
		goto out;
	}
	role = trim(body.data);
	role[strcspn(role, "\r\n")] = '\0';	/* the first role listed */
	if (!valid_role_name(role)) {
		cause_set(cause, "IMDS returned an invalid role name");
		goto out;
	}

	free(url);
	url = xasprintf("%s%s%s", base, CREDS_IMDS_ROLE_PATH, role);
	buf_reset(&body);
	if (metadata_request(cfg, "GET", url, tok_hdrs, &body, &status, cause) == -1)
		goto out;
	if (status != 200 || body.len == 0) {
		cause_set(cause, "IMDS role credentials answered HTTP %ld", status);
		goto out;
	}
	if (creds_parse_json(body.data, out) == -1) {
		cause_set(cause, "IMDS sent no usable credentials");
		goto out;
	}
	snprintf(out->source, sizeof out->source, "imds");
	rc = 0;
out:
	if (body.data != NULL)
		OPENSSL_cleanse(body.data, body.cap);
	buf_free(&body);
	if (tok_hdr != NULL)
		OPENSSL_cleanse(tok_hdr, strlen(tok_hdr));
	free(tok_hdr);
	free(url);
	free(base);
	return rc;
}

/* Credentials from the environment (config.c read them): 1 when used, 0 when
 * not set, -1 with *cause when half set. */
static int
from_environment(const struct config *cfg, struct creds *out, char **cause)
{
	bool have_id = cfg->aws_access_key_id != NULL && *cfg->aws_access_key_id != '\0';
	bool have_secret = cfg->aws_secret_access_key != NULL && *cfg->aws_secret_access_key != '\0';

	if (!have_id && !have_secret)
		return 0;
	if (!have_id || !have_secret) {
		cause_set(cause, "%s is set without %s",
		    have_id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		    have_id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return -1;
	}
	memset(out, 0, sizeof *out);
	if (copy_field(out->access_key_id, sizeof out->access_key_id, cfg->aws_access_key_id, true) == -1 ||
	    copy_field(out->secret_access_key, sizeof out->secret_access_key,
	    cfg->aws_secret_access_key, true) == -1 ||
	    copy_field(out->session_token, sizeof out->session_token, cfg->aws_session_token, false) == -1) {
		creds_clear(out);
		cause_set(cause, "AWS credentials in the environment are too long");
		return -1;
	}
	snprintf(out->source, sizeof out->source, "environment");
	return 1;
}

/* Walks the chain after the environment: shared file, container, IMDS.
 * 0, or -1 with *cause. */
static int
resolve_chain(const struct config *cfg, struct creds *out, char **cause)
{
	const char *profile = cfg->aws_profile != NULL && *cfg->aws_profile != '\0' ?
	    cfg->aws_profile : CREDS_DEFAULT_PROFILE;

	switch (parse_file(cfg->aws_shared_credentials_file, profile, out)) {
	case FILE_FOUND:
		return 0;
	case FILE_INCOMPLETE:
		cause_set(cause, "profile %s in %s lacks aws_access_key_id or aws_secret_access_key",
		    profile, cfg->aws_shared_credentials_file);
		return -1;
	case FILE_NO_PROFILE:
		if (strcmp(profile, CREDS_DEFAULT_PROFILE) != 0) {
			cause_set(cause, "profile %s not found in %s", profile,
			    cfg->aws_shared_credentials_file);
			return -1;
		}
		break;
	case FILE_ABSENT:
		break;
	}
	if ((cfg->container_credentials_full_uri != NULL && *cfg->container_credentials_full_uri != '\0') ||
	    (cfg->container_credentials_relative_uri != NULL &&
	    *cfg->container_credentials_relative_uri != '\0'))
		return fetch_container(cfg, out, cause);
	if (!cfg->ec2_metadata_disabled)
		return fetch_imds(cfg, out, cause);
	cause_set(cause, "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
	    "a profile in the shared credentials file, or run with a container or instance role");
	return -1;
}

/* True when c must be fetched again at wall-clock time now. */
static bool
needs_refresh(const struct creds *c, int64_t now)
{
	return c->expires_ms != 0 && now >= c->expires_ms - CREDS_REFRESH_BEFORE_MS;
}

/* Copies current credentials into out, resolving or refreshing the chain. */
int
creds_get(const struct config *cfg, struct creds *out, char **cause)
{
	struct creds fresh;
	char *err = NULL;
	int64_t now;
	int rc;

	if (cause != NULL)
		*cause = NULL;
	if ((rc = from_environment(cfg, out, cause)) != 0)
		return rc == 1 ? 0 : -1;

	pthread_mutex_lock(&cache.mu);
	now = now_ms();
	if (cache.have && (!needs_refresh(&cache.current, now) ||
	    (now < cache.current.expires_ms && mono_ms() < cache.retry_after_mono))) {
		*out = cache.current;
		pthread_mutex_unlock(&cache.mu);
		return 0;
	}
	memset(&fresh, 0, sizeof fresh);
	if (resolve_chain(cfg, &fresh, &err) == 0) {
		cache.current = fresh;
		cache.have = true;
		cache.retry_after_mono = 0;
		*out = fresh;
		log_info("aws credentials loaded", LOG_S("source", fresh.source),
		    LOG_I("expires_ms", fresh.expires_ms));
		rc = 0;
	} else if (cache.have && now < cache.current.expires_ms) {
		cache.retry_after_mono = mono_ms() + CREDS_RETRY_AFTER_MS;
		*out = cache.current;
		log_warn("aws credentials refresh failed; using the current ones until they expire",
		    LOG_S("source", cache.current.source), LOG_S("error", err),
		    LOG_I("expires_in_ms", cache.current.expires_ms - now));
		rc = 0;
	} else {
		if (cause != NULL) {
			*cause = err;
			err = NULL;
		}
		rc = -1;
	}
	pthread_mutex_unlock(&cache.mu);
	creds_clear(&fresh);
	free(err);
	return rc;
}

/* Forgets cached credentials. */
void
creds_invalidate(void)
{
	pthread_mutex_lock(&cache.mu);
	creds_clear(&cache.current);
	cache.have = false;
	cache.retry_after_mono = 0;
	pthread_mutex_unlock(&cache.mu);
}
