/* runtime.c - the Lambda Runtime API client over one reused curl handle. */
#include <ctype.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "httpc.h"
#include "runtime.h"
#include "util.h"

#define ERROR_TYPE_HEADER	"Lambda-Runtime-Function-Error-Type"
#define MAX_REPLY_BYTES		4096	/* what we keep of an answer to a POST */

struct runtime {
	CURL		*curl;
	char		*base;		/* http://host:port/2018-06-01/runtime */
	unsigned	 requests;
};

/* Creates the client; the handle keeps its connection across calls. */
struct runtime *
runtime_new(const char *api)
{
	struct runtime *rt = xcalloc(1, sizeof *rt);

	rt->curl = httpc_easy_new();
	if (rt->curl == NULL) {
		free(rt);
		return NULL;
	}
	rt->base = xasprintf("http://%s/%s/runtime", api, RUNTIME_API_VERSION);
	return rt;
}

/* Frees the client and closes its connection. */
void
runtime_free(struct runtime *rt)
{
	if (rt == NULL)
		return;
	curl_easy_cleanup(rt->curl);
	free(rt->base);
	free(rt);
}

/* Zeroes an invocation. */
void
runtime_invocation_init(struct runtime_invocation *inv)
{
	memset(inv, 0, sizeof *inv);
}

/* Frees what an invocation owns and zeroes it. */
void
runtime_invocation_reset(struct runtime_invocation *inv)
{
	if (inv == NULL)
		return;
	free(inv->trace_id);
	free(inv->function_arn);
	buf_free(&inv->event);
	runtime_invocation_init(inv);
}

/* Number of HTTP requests made. */
unsigned
runtime_request_count(const struct runtime *rt)
{
	return rt->requests;
}

/* True for a request id we can put in a URL path unescaped. */
static bool
id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > RUNTIME_MAX_ID_BYTES)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && strchr("-_.:", id[i]) == NULL)
			return false;
	return true;
}

/* A header line "Name: value\r\n" split into a trimmed value when the name matches. */
static char *
header_value(const char *line, size_t n, const char *name)
{
	size_t nl = strlen(name);
	const char *v, *end;

	if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return NULL;
	v = line + nl + 1;
	end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return xstrndup(v, (size_t)(end - v));
}

/* Picks the invocation's headers out of the /next answer. */
static size_t
next_header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct runtime_invocation *inv = arg;
	size_t n = size * nmemb;
	char *v;

	if (n > RUNTIME_MAX_HEADER_BYTES)
		return n;
	if ((v = header_value(line, n, "Lambda-Runtime-Aws-Request-Id")) != NULL) {
		snprintf(inv->request_id, sizeof inv->request_id, "%s", v);
		free(v);
	} else if ((v = header_value(line, n, "Lambda-Runtime-Deadline-Ms")) != NULL) {
		long long ms = strtoll(v, NULL, 10);

		inv->deadline_ms = ms > 0 ? (int64_t)ms : 0;
		free(v);
	} else if ((v = header_value(line, n, "Lambda-Runtime-Trace-Id")) != NULL) {
		free(inv->trace_id);
		inv->trace_id = v;
	} else if ((v = header_value(line, n, "Lambda-Runtime-Invoked-Function-Arn")) != NULL) {
		free(inv->function_arn);
		inv->function_arn = v;
	}
	return n;
}

/* Options every call shares (httpc); the reset keeps the connection cache.
 * total_ms 0: no total time-out (the long poll). */
static void
prepare(struct runtime *rt, const char *url, int64_t total_ms)
{
	const struct httpc_options opt = {
		.protocols = "http",
		.connect_timeout_ms = RUNTIME_CONNECT_TIMEOUT_MS,
		.total_timeout_ms = total_ms,
		.no_proxy = true,
		.tcp_nodelay = true,
	};

	curl_easy_reset(rt->curl);
	curl_easy_setopt(rt->curl, CURLOPT_URL, url);
	(void)httpc_setup(rt->curl, &opt);	/* no deadline: cannot fail */
}

/* Waits for and reads the next invocation. */
int
runtime_next(struct runtime *rt, struct runtime_invocation *inv, char **cause)
{
	char *url = xasprintf("%s/invocation/next", rt->base);
	struct httpc_response res;
	CURLcode code;
	int rc;

	*cause = NULL;
	/* Long poll: no total timeout, the API answers when an event arrives. */
	prepare(rt, url, 0);
	curl_easy_setopt(rt->curl, CURLOPT_HTTPGET, 1L);
	/* The event up to RUNTIME_MAX_EVENT_BYTES; more aborts the transfer. */
	httpc_response_init(&res, RUNTIME_MAX_EVENT_BYTES);
	httpc_attach(rt->curl, &res);
	curl_easy_setopt(rt->curl, CURLOPT_HEADERFUNCTION, next_header_cb);
	curl_easy_setopt(rt->curl, CURLOPT_HEADERDATA, inv);
	code = httpc_perform(rt->curl, &res);
	rt->requests++;
	free(url);
	inv->event_too_large = res.too_large;
	if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && res.too_large))
		rc = cause_set(cause, "GET /invocation/next: %s", httpc_error(&res, code));
	else if (res.status != 200)
		rc = cause_set(cause, "GET /invocation/next answered HTTP %ld", res.status);
	else if (!id_ok(inv->request_id))
		rc = cause_set(cause, "GET /invocation/next: no usable Lambda-Runtime-Aws-Request-Id");
	else {
		rc = 0;
		if (!res.too_large) {
			buf_free(&inv->event);
			inv->event = res.body;	/* moved */
			res.body = (struct buf)BUF_INIT;
			if (inv->event.data == NULL)
				buf_puts(&inv->event, "");
		}
	}
	httpc_response_reset(&res);
	return rc;
}

/* POSTs body to base + path; 0 when the API answers 2xx. */
static int
post(struct runtime *rt, const char *path, const char *body, size_t len,
    const char *error_type, char **cause)
{
	char *url = xasprintf("%s%s", rt->base, path);
	struct curl_slist *headers = NULL;
	struct httpc_response reply;
	char *line;
	CURLcode code;
	int rc = 0;

	*cause = NULL;
	prepare(rt, url, RUNTIME_POST_TIMEOUT_MS);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	if (error_type != NULL) {
		line = xasprintf("%s: %s", ERROR_TYPE_HEADER, error_type);
		headers = curl_slist_append(headers, line);
		free(line);
	}
	curl_easy_setopt(rt->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, headers);
	/* Keeps the first MAX_REPLY_BYTES of the answer (for error messages). */
	httpc_response_init(&reply, MAX_REPLY_BYTES);
	reply.keep_prefix = true;
	httpc_attach(rt->curl, &reply);
	code = httpc_perform(rt->curl, &reply);
	rt->requests++;
	if (code != CURLE_OK)
		rc = cause_set(cause, "POST %s: %s", path, httpc_error(&reply, code));
	else if (reply.status < 200 || reply.status > 299)
		rc = cause_set(cause, "POST %s answered HTTP %ld: %.200s", path, reply.status,
		    reply.body.data ? reply.body.data : "");
	curl_slist_free_all(headers);
	httpc_response_reset(&reply);
	free(url);
	return rc;
}

/* Posts the invocation's response. */
int
runtime_respond(struct runtime *rt, const char *request_id, const char *body,
    size_t len, char **cause)
{
	char *path;
	int rc;

	*cause = NULL;
	if (!id_ok(request_id))
		return cause_set(cause, "request id is not usable");
	path = xasprintf("/invocation/%s/response", request_id);
	rc = post(rt, path, body, len, NULL, cause);
	free(path);
	return rc;
}

/* The {"errorMessage","errorType"} body (caller frees). */
static char *
error_body(const char *error_type, const char *message)
{
	json_object *o = json_object_new_object();
	char *text;

	json_object_object_add(o, "errorMessage",
	    json_object_new_string_len(message, (int)strnlen(message, RUNTIME_MAX_ERROR_MESSAGE)));
	json_object_object_add(o, "errorType", json_object_new_string(error_type));
	json_object_object_add(o, "stackTrace", json_object_new_array());
	text = xstrdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

/* Reports a failed invocation. */
int
runtime_invocation_error(struct runtime *rt, const char *request_id,
    const char *error_type, const char *message, char **cause)
{
	char *path, *body;
	int rc;

	*cause = NULL;
	if (!id_ok(request_id))
		return cause_set(cause, "request id is not usable");
	path = xasprintf("/invocation/%s/error", request_id);
	body = error_body(error_type, message);
	rc = post(rt, path, body, strlen(body), error_type, cause);
	free(body);
	free(path);
	return rc;
}

/* Reports a failed start-up. */
int
runtime_init_error(struct runtime *rt, const char *error_type, const char *message,
    char **cause)
{
	char *body = error_body(error_type, message);
	int rc = post(rt, "/init/error", body, strlen(body), error_type, cause);

	free(body);
	return rc;
}

/* The pre-resolved address and Host of the Runtime API, for crash reports. */
static struct {
	struct sockaddr_storage	addr;
	socklen_t		addrlen;
	char			host[256];
	int			ready;
} crash_report;

#define CRASH_REPORT_TIMEOUT_S	2
#define CRASH_REPORT_MAX	2048

/* Resolves host:port now (getaddrinfo is not async-signal-safe). */
int
runtime_crash_report_prepare(const char *api)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon = api != NULL ? strrchr(api, ':') : NULL;
	size_t len;

	if (colon == NULL || (len = (size_t)(colon - api)) == 0 || len >= sizeof host ||
	    strlen(api) >= sizeof crash_report.host)
		return -1;
	memcpy(host, api, len);
	host[len] = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL)
		return -1;
	memcpy(&crash_report.addr, res->ai_addr, res->ai_addrlen);
	crash_report.addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(crash_report.host, sizeof crash_report.host, "%s", api);
	crash_report.ready = 1;
	return 0;
}

/* Appends s at *p within end (async-signal-safe). */
static void
crash_append(char **p, const char *end, const char *s)
{
	while (*s != '\0' && *p < end)
		*(*p)++ = *s++;
}

/* Appends n in decimal (async-signal-safe). */
static void
crash_append_num(char **p, const char *end, size_t n)
{
	char digits[24];
	int i = 0;

	do
		digits[i++] = (char)('0' + n % 10);
	while ((n /= 10) != 0 && i < (int)sizeof digits);
	while (i > 0 && *p < end)
		*(*p)++ = digits[--i];
}

/* One POST over a fresh connection, with only async-signal-safe calls. */
void
runtime_crash_report_send(const char *error_type, const char *message)
{
	char body[CRASH_REPORT_MAX / 2], req[CRASH_REPORT_MAX], *p, *end, reply[64];
	struct timeval tv = { .tv_sec = CRASH_REPORT_TIMEOUT_S };
	size_t body_len, off = 0;
	ssize_t w;
	int fd;

	if (!crash_report.ready)
		return;
	p = body;
	end = body + sizeof body;
	crash_append(&p, end, "{\"errorMessage\":\"");
	crash_append(&p, end - 40, message);
	crash_append(&p, end, "\",\"errorType\":\"");
	crash_append(&p, end - 20, error_type);
	crash_append(&p, end, "\",\"stackTrace\":[]}");
	body_len = (size_t)(p - body);
	p = req;
	end = req + sizeof req;
	crash_append(&p, end, "POST /" RUNTIME_API_VERSION "/runtime/init/error HTTP/1.1\r\nHost: ");
	crash_append(&p, end, crash_report.host);
	crash_append(&p, end, "\r\nContent-Type: application/json\r\n" ERROR_TYPE_HEADER ": ");
	crash_append(&p, end, error_type);
	crash_append(&p, end, "\r\nConnection: close\r\nContent-Length: ");
	crash_append_num(&p, end, body_len);
	crash_append(&p, end, "\r\n\r\n");
	if ((size_t)(end - p) < body_len)
		return;
	memcpy(p, body, body_len);
	p += body_len;

	fd = socket(crash_report.addr.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&crash_report.addr, crash_report.addrlen) == 0) {
		while (off < (size_t)(p - req) && (w = write(fd, req + off, (size_t)(p - req) - off)) > 0)
			off += (size_t)w;
		/* Wait for the answer (or the time-out), so the report is taken before we exit. */
		if (read(fd, reply, sizeof reply) < 0)
			(void)0;
	}
	close(fd);
}
