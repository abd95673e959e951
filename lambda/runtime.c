/* runtime.c - the Lambda Runtime API client: HTTP/1.1 exchanges on one kept
 * connection (httpc), a long poll for /next and a POST per answer. */
#include <ctype.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	struct httpc_conn	 conn;
	struct httpc_options	 opt;
	char			*origin;	/* http://host:port/ */
	char			*host;		/* host:port, the Host header */
	unsigned		 requests;
};

/* Creates the client; it keeps its connection across calls. */
struct runtime *
runtime_new(const char *api)
{
	struct runtime *rt = xcalloc(1, sizeof *rt);

	rt->conn.fd = CURL_SOCKET_BAD;
	rt->opt = (struct httpc_options){
		.protocols = "http",
		.connect_timeout_ms = RUNTIME_CONNECT_TIMEOUT_MS,
		.no_proxy = true,
		.tcp_nodelay = true,
	};
	rt->origin = xasprintf("http://%s/", api);
	rt->host = xstrdup(api);
	return rt;
}

/* Frees the client and closes its connection. */
void
runtime_free(struct runtime *rt)
{
	if (rt == NULL)
		return;
	httpc_conn_close(&rt->conn);
	free(rt->origin);
	free(rt->host);
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

/* The value of an invocation header of the /next answer (NULL when absent
 * or over RUNTIME_MAX_HEADER_BYTES). */
static char *
next_header(const struct httpc_response *res, const char *name)
{
	char *v = httpc_head_value(res, name);

	if (v != NULL && strlen(v) > RUNTIME_MAX_HEADER_BYTES) {
		free(v);
		v = NULL;
	}
	return v;
}

/* Picks the invocation's headers out of the /next answer's head. */
static void
next_headers(struct runtime_invocation *inv, const struct httpc_response *res)
{
	char *v;

	/* An id too long to hold stays unset (never cut: it names the invocation). */
	if ((v = next_header(res, "Lambda-Runtime-Aws-Request-Id")) != NULL &&
	    strlen(v) < sizeof inv->request_id)
		memcpy(inv->request_id, v, strlen(v) + 1);
	free(v);
	if ((v = next_header(res, "Lambda-Runtime-Deadline-Ms")) != NULL) {
		long long ms = strtoll(v, NULL, 10);

		inv->deadline_ms = ms > 0 ? (int64_t)ms : 0;
	}
	free(v);
	if ((v = next_header(res, "Lambda-Runtime-Trace-Id")) != NULL) {
		free(inv->trace_id);
		inv->trace_id = v;
	}
	if ((v = next_header(res, "Lambda-Runtime-Invoked-Function-Arn")) != NULL) {
		free(inv->function_arn);
		inv->function_arn = v;
	}
}

/* Sends one request (the head lines of extra, then body) and reads the
 * answer into res; total_ms 0: no time limit (the long poll). */
static enum httpc_result
exchange(struct runtime *rt, const char *method, const char *path, const char *extra,
    const char *body, size_t len, int64_t total_ms, struct httpc_response *res)
{
	struct buf req = BUF_INIT;
	struct httpc_exchange x = { .conn = &rt->conn, .url = rt->origin, .opt = &rt->opt,
	    .end_ms = total_ms > 0 ? now_ms() + total_ms : 0, .res = res };
	char length[24];

	buf_reserve(&req, 512 + len);
	buf_puts(&req, method);
	buf_puts(&req, " /" RUNTIME_API_VERSION "/runtime");
	buf_puts(&req, path);
	buf_puts(&req, " HTTP/1.1\r\nHost: ");
	buf_puts(&req, rt->host);
	buf_puts(&req, "\r\nUser-Agent: " HTTPC_USER_AGENT "\r\n");
	buf_puts(&req, extra);
	if (body != NULL) {
		snprintf(length, sizeof length, "%zu", len);
		buf_puts(&req, "Content-Length: ");
		buf_puts(&req, length);
		buf_puts(&req, "\r\n");
	}
	buf_puts(&req, "\r\n");
	if (body != NULL)
		buf_append(&req, body, len);
	x.request = req.data;
	x.request_len = req.len;
	(void)httpc_exchange_run(&x, 1);
	rt->requests++;
	buf_free(&req);
	return x.result;
}

/* Waits for and reads the next invocation. */
int
runtime_next(struct runtime *rt, struct runtime_invocation *inv, char **cause)
{
	struct httpc_response res;
	enum httpc_result r;
	int rc;

	*cause = NULL;
	/* The event up to RUNTIME_MAX_EVENT_BYTES; more fails the exchange (its
	 * head is still read). Long poll: the API answers when an event arrives. */
	httpc_response_init(&res, RUNTIME_MAX_EVENT_BYTES);
	res.keep_head = true;
	r = exchange(rt, "GET", "/invocation/next", "", NULL, 0, 0, &res);
	next_headers(inv, &res);
	inv->event_too_large = res.too_large;
	if (r != HTTPC_OK && r != HTTPC_TOO_LARGE)
		rc = cause_set(cause, "GET /invocation/next: %s", res.errbuf);
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

/* POSTs body to the API's path; 0 when the API answers 2xx. */
static int
post(struct runtime *rt, const char *path, const char *body, size_t len,
    const char *error_type, char **cause)
{
	struct httpc_response reply;
	char *extra;
	enum httpc_result r;
	int rc = 0;

	*cause = NULL;
	if (error_type != NULL && error_type[strcspn(error_type, "\r\n")] != '\0')
		error_type = "Runtime.Unknown";	/* never a line break into the head */
	extra = error_type != NULL ?
	    xconcat("Content-Type: application/json\r\n" ERROR_TYPE_HEADER ": ", error_type, "\r\n",
	    (char *)NULL) : xstrdup("Content-Type: application/json\r\n");
	/* Keeps the first MAX_REPLY_BYTES of the answer (for error messages). */
	httpc_response_init(&reply, MAX_REPLY_BYTES);
	reply.keep_prefix = true;
	r = exchange(rt, "POST", path, extra, body, len, RUNTIME_POST_TIMEOUT_MS, &reply);
	if (r != HTTPC_OK)
		rc = cause_set(cause, "POST %s: %s", path, reply.errbuf);
	else if (reply.status < 200 || reply.status > 299)
		rc = cause_set(cause, "POST %s answered HTTP %ld: %.200s", path, reply.status,
		    reply.body.data ? reply.body.data : "");
	httpc_response_reset(&reply);
	free(extra);
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
