/* secrets.c - Secrets Manager GetSecretValue with the project's SigV4. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "config.h"
#include "creds.h"
#include "httpc.h"
#include "log.h"
#include "secrets.h"
#include "sigv4.h"
#include "util.h"

#define SIGNED_HEADERS_MAX	5

/* The endpoint split for signing. */
struct endpoint {
	char	*url;
	char	*host;		/* Host header value: host[:port] */
	char	*path;		/* "/" unless the URL has one */
};

/* Splits url into host and path; -1 when it is not an http(s) URL. */
static int
endpoint_parse(const char *url, struct endpoint *ep)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	int rc = -1;

	memset(ep, 0, sizeof *ep);
	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		path = NULL;
	ep->url = xstrdup(url);
	ep->host = port != NULL ? xasprintf("%s:%s", host, port) : xstrdup(host);
	ep->path = xstrdup(path != NULL && *path != '\0' ? path : "/");
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* Frees what endpoint_parse allocated. */
static void
endpoint_free(struct endpoint *ep)
{
	free(ep->url);
	free(ep->host);
	free(ep->path);
}

/* One signed POST; 0 with *status and the body in out, or -1 with *cause (network). */
static int
post_once(const struct config *cfg, const struct endpoint *ep, const char *body,
    long *status, struct buf *out, char **cause)
{
	struct creds creds;
	struct sigv4_request req;
	struct sigv4_credentials sc;
	struct sigv4_result res;
	struct kv hdr[SIGNED_HEADERS_MAX];
	struct curl_slist *headers = NULL;
	const struct httpc_options opt = {
		.ca_bundle = cfg->ca_bundle,
		.connect_timeout_ms = SECRETS_CONNECT_TIMEOUT_MS,
		.total_timeout_ms = SECRETS_TOTAL_TIMEOUT_MS,
	};
	struct httpc_response answer;
	char amz_date[17], *line, *why = NULL;
	size_t nhdr = 0;
	CURL *curl;
	CURLcode code;
	time_t t;
	int rc = -1;

	if (creds_get(cfg, &creds, &why) == -1) {
		cause_set(cause, "no AWS credentials: %s", why != NULL ? why : "unknown");
		free(why);
		return -1;
	}
	t = time(NULL);
	sigv4_amz_date(t, amz_date);
	hdr[nhdr++] = (struct kv){ (char *)"content-type", (char *)SECRETS_CONTENT_TYPE };
	hdr[nhdr++] = (struct kv){ (char *)"host", ep->host };
	hdr[nhdr++] = (struct kv){ (char *)"x-amz-date", amz_date };
	if (creds.session_token[0] != '\0')
		hdr[nhdr++] = (struct kv){ (char *)"x-amz-security-token", creds.session_token };
	hdr[nhdr++] = (struct kv){ (char *)"x-amz-target", (char *)SECRETS_TARGET };
	req = (struct sigv4_request){ .method = "POST", .path = ep->path, .headers = hdr,
	    .nheaders = nhdr, .body = body, .body_len = strlen(body) };
	sc = (struct sigv4_credentials){ .access_key_id = creds.access_key_id,
	    .secret_access_key = creds.secret_access_key,
	    .session_token = creds.session_token[0] != '\0' ? creds.session_token : NULL };
	memset(&res, 0, sizeof res);
	if (sigv4_sign(&req, &sc, cfg->region != NULL ? cfg->region : "us-east-1",
	    SECRETS_SERVICE, t, &res) == -1) {
		explicit_bzero(&creds, sizeof creds);
		return cause_set(cause, "cannot sign the request");
	}
	for (size_t i = 0; i < nhdr; i++) {
		if (strcmp(hdr[i].name, "host") == 0)
			continue;
		line = xasprintf("%s: %s", hdr[i].name, hdr[i].value);
		headers = curl_slist_append(headers, line);
		free(line);
	}
	line = xasprintf("Authorization: %s", res.authorization);
	headers = curl_slist_append(headers, line);
	free(line);
	headers = curl_slist_append(headers, "Expect:");
	sigv4_result_free(&res);
	explicit_bzero(&creds, sizeof creds);

	if ((curl = httpc_easy_new()) == NULL) {
		curl_slist_free_all(headers);
		return cause_set(cause, "libcurl could not create a handle");
	}
	curl_easy_setopt(curl, CURLOPT_URL, ep->url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	(void)httpc_setup(curl, &opt);	/* no deadline: cannot fail */
	httpc_response_init(&answer, SECRETS_RESPONSE_MAX);
	httpc_attach(curl, &answer);
	code = httpc_perform(curl, &answer);
	if (code != CURLE_OK) {
		cause_set(cause, "%s", httpc_error(&answer, code));
		httpc_response_reset(&answer);
	} else {
		*status = answer.status;
		buf_append(out, answer.body.data != NULL ? answer.body.data : "", answer.body.len);
		httpc_response_reset(&answer);
		rc = 0;
	}
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	return rc;
}

/* A string member of obj (borrowed) or NULL. */
static const char *
member_string(json_object *obj, const char *key)
{
	json_object *v;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The short error code of a __type like "com.amazonaws...#ResourceNotFoundException". */
static const char *
short_type(const char *type)
{
	const char *hash = type != NULL ? strrchr(type, '#') : NULL;

	return hash != NULL ? hash + 1 : (type != NULL ? type : "UnknownError");
}

/* True for answers worth another attempt. */
static bool
retryable(long status, const char *code)
{
	return status >= 500 || status == 429 ||
	    strcmp(code, "ThrottlingException") == 0 || strcmp(code, "RequestTimeout") == 0;
}

/* GetSecretValue with a few attempts; the value is the trimmed SecretString. */
int
secrets_get_string(const struct config *cfg, const char *endpoint, const char *secret_id,
    char **value, char **cause)
{
	struct endpoint ep;
	json_object *req, *doc = NULL;
	char *url, *body, *why = NULL;
	int rc = -1;

	*value = NULL;
	*cause = NULL;
	if (secret_id == NULL || *secret_id == '\0' || strlen(secret_id) > SECRETS_ID_MAX)
		return cause_set(cause, "the secret id must be 1-%d characters", SECRETS_ID_MAX);
	url = endpoint != NULL ? xstrdup(endpoint) :
	    xasprintf("https://secretsmanager.%s.amazonaws.com", cfg->region != NULL ? cfg->region : "us-east-1");
	if (endpoint_parse(url, &ep) == -1) {
		cause_set(cause, "Secrets Manager endpoint \"%s\" is not an http(s) URL", url);
		free(url);
		return -1;
	}
	free(url);
	req = json_object_new_object();
	json_object_object_add(req, "SecretId", json_object_new_string(secret_id));
	body = xstrdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(req);

	for (int attempt = 1; attempt <= SECRETS_MAX_ATTEMPTS; attempt++) {
		struct buf reply = BUF_INIT;
		long status = 0;
		const char *code, *text;

		free(why);
		why = NULL;
		json_object_put(doc);
		doc = NULL;
		if (post_once(cfg, &ep, body, &status, &reply, &why) == -1) {
			buf_free(&reply);
			log_warn("secrets: GetSecretValue failed", LOG_S("secret", secret_id),
			    LOG_S("error", why), LOG_I("attempt", attempt));
			if (strncmp(why, "no AWS credentials", 18) == 0)
				break;
			sleep_ms((int64_t)SECRETS_BACKOFF_MS * attempt);
			continue;
		}
		doc = reply.len > 0 ? json_tokener_parse(reply.data) : NULL;
		if (reply.data != NULL)
			explicit_bzero(reply.data, reply.len);
		buf_free(&reply);
		if (status == 200) {
			text = member_string(doc, "SecretString");
			if (text == NULL) {
				why = xstrdup("the secret has no SecretString (a binary secret?)");
				break;
			}
			/* Trim white space (a key pasted with a newline). */
			while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
				text++;
			size_t len = strlen(text);
			while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
				len--;
			if (len == 0) {
				why = xstrdup("the SecretString is empty");
				break;
			}
			*value = xstrndup(text, len);
			rc = 0;
			break;
		}
		code = short_type(member_string(doc, "__type"));
		why = xasprintf("HTTP %ld %s: %s", status, code,
		    member_string(doc, "Message") ?: member_string(doc, "message") ?: "no message");
		if (!retryable(status, code))
			break;
		log_warn("secrets: GetSecretValue failed", LOG_S("secret", secret_id),
		    LOG_S("error", why), LOG_I("attempt", attempt));
		sleep_ms((int64_t)SECRETS_BACKOFF_MS * attempt);
	}
	if (rc == -1)
		cause_set(cause, "cannot read secret \"%s\" from Secrets Manager at %s: %s", secret_id,
		    ep.url, why != NULL ? why : "unknown error");
	if (doc != NULL) {
		/* The document held the value: wipe it before it is freed. */
		const char *s = member_string(doc, "SecretString");
		if (s != NULL)
			explicit_bzero((char *)s, strlen(s));
	}
	json_object_put(doc);
	free(why);
	free(body);
	endpoint_free(&ep);
	return rc;
}
