/* httpc.c - the one outbound HTTP client. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "httpc.h"
#include "util.h"

static pthread_once_t httpc_once = PTHREAD_ONCE_INIT;

/* Initialises libcurl once per process. */
static void
httpc_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* A new easy handle. */
CURL *
httpc_easy_new(void)
{
	pthread_once(&httpc_once, httpc_global_init);
	return curl_easy_init();
}

/* The one write callback: appends to the response up to its cap. */
static size_t
httpc_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct httpc_response *res = arg;
	size_t n = size * nmemb, room;

	room = res->body.len < res->max_bytes ? res->max_bytes - res->body.len : 0;
	if (n > room) {
		res->too_large = true;
		if (!res->keep_prefix)
			return 0;	/* fails the transfer with CURLE_WRITE_ERROR */
		buf_append(&res->body, data, room);
		return n;
	}
	buf_append(&res->body, data, n);
	return n;
}

/* Sets the total time-out, cut to the deadline. */
int
httpc_set_timeout(CURL *easy, int64_t total_ms, int64_t deadline_ms)
{
	if (deadline_ms != 0) {
		int64_t left = deadline_ms - now_ms();

		if (left <= 0)
			return -1;
		if (total_ms == 0 || left < total_ms)
			total_ms = left;
	}
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)total_ms);
	return 0;
}

/* Applies the connection policy and the time-outs. */
int
httpc_setup(CURL *easy, const struct httpc_options *opt)
{
	int64_t connect_ms = opt->connect_timeout_ms;

	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT,
	    opt->user_agent != NULL ? opt->user_agent : HTTPC_USER_AGENT);
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85: the string forms */
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR,
	    opt->protocols != NULL ? opt->protocols : HTTPC_PROTOCOLS);
	if (opt->max_redirects > 0)
		curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
	{
		const char *p = opt->protocols != NULL ? opt->protocols : HTTPC_PROTOCOLS;
		long mask = 0;

		if (strstr(p, "https") != NULL)
			mask |= CURLPROTO_HTTPS;
		if (strstr(p, "http,") != NULL || strcmp(p, "http") == 0 ||
		    (strlen(p) >= 5 && strcmp(p + strlen(p) - 5, ",http") == 0))
			mask |= CURLPROTO_HTTP;
		if (strstr(p, "file") != NULL)
			mask |= CURLPROTO_FILE;
		curl_easy_setopt(easy, CURLOPT_PROTOCOLS, mask);
		if (opt->max_redirects > 0)
			curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
	}
#endif
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, opt->max_redirects > 0 ? 1L : 0L);
	if (opt->max_redirects > 0)
		curl_easy_setopt(easy, CURLOPT_MAXREDIRS, opt->max_redirects);
	if (opt->no_proxy)
		curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
	if (opt->tcp_keepalive)
		curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	if (opt->tcp_nodelay)
		curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
	if (opt->http1_1)
		curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* Servers close idle connections (node's default after 5 s): do not
	 * reuse one that has been idle longer than max_idle_s. */
	if (opt->max_idle_s > 0)
		curl_easy_setopt(easy, CURLOPT_MAXAGE_CONN, opt->max_idle_s);
	if (opt->ca_bundle != NULL && *opt->ca_bundle != '\0')
		curl_easy_setopt(easy, CURLOPT_CAINFO, opt->ca_bundle);
	if (opt->total_timeout_ms != 0 && connect_ms > opt->total_timeout_ms)
		connect_ms = opt->total_timeout_ms;
	if (opt->deadline_ms != 0 && connect_ms > opt->deadline_ms - now_ms())
		connect_ms = opt->deadline_ms - now_ms();
	if (connect_ms > 0)
		curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	return httpc_set_timeout(easy, opt->total_timeout_ms, opt->deadline_ms);
}

/* Empties res and sets its cap. */
void
httpc_response_init(struct httpc_response *res, size_t max_bytes)
{
	memset(res, 0, sizeof(*res));
	res->max_bytes = max_bytes;
}

/* Frees the body and the head. */
void
httpc_response_reset(struct httpc_response *res)
{
	buf_free(&res->body);
	buf_free(&res->head);
	res->too_large = false;
	res->status = 0;
	res->errbuf[0] = '\0';
}

/* Points easy's body and error text at res. */
void
httpc_attach(CURL *easy, struct httpc_response *res)
{
	buf_free(&res->body);
	res->too_large = false;
	res->status = 0;
	res->errbuf[0] = '\0';
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, httpc_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, res->errbuf);
}

/* Performs and reads the status. */
CURLcode
httpc_perform(CURL *easy, struct httpc_response *res)
{
	CURLcode cc = curl_easy_perform(easy);

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &res->status);
	return cc;
}

/* curl's message for a failed transfer. */
const char *
httpc_error(const struct httpc_response *res, CURLcode cc)
{
	if (res->too_large)
		return "the answer is larger than the limit";
	return res->errbuf[0] != '\0' ? res->errbuf : curl_easy_strerror(cc);
}

/* --- Kept connections with HTTP/1.1 framed here -------------------------- */

#define HTTPC_HEAD_MAX		(64 * 1024)	/* an answer's status line and headers */
#define HTTPC_READ_CHUNK	16384
#define HTTPC_IN_KEEP		(1024 * 1024)	/* a larger read buffer is freed after use */
#define HTTPC_CONNECT_MAX_MS	30000		/* connecting for an exchange without an end */
#define HTTPC_POLL_MS		100		/* a wait of curl's multi while connecting */

enum { PHASE_SEND, PHASE_RECV, PHASE_DONE };

enum step { STEP_MORE, STEP_DONE, STEP_FAIL };

void
httpc_conn_close(struct httpc_conn *conn)
{
	if (conn == NULL)
		return;
	if (conn->easy != NULL && conn->multi != NULL)
		curl_multi_remove_handle(conn->multi, conn->easy);
	conn->multi = NULL;
	if (conn->easy != NULL)
		curl_easy_cleanup(conn->easy);
	conn->easy = NULL;
	conn->fd = CURL_SOCKET_BAD;
	buf_free(&conn->in);
}

/* Ends x with result r and the message in its errbuf; the connection is
 * closed (its state is unknown). Returns STEP_FAIL. */
static enum step __attribute__((format(printf, 3, 4)))
exchange_fail(struct httpc_exchange *x, enum httpc_result r, const char *fmt, ...)
{
	va_list ap;

	x->result = r;
	x->phase = PHASE_DONE;
	if (r == HTTPC_TOO_LARGE)
		x->res->too_large = true;
	va_start(ap, fmt);
	vsnprintf(x->res->errbuf, sizeof x->res->errbuf, fmt, ap);
	va_end(ap);
	httpc_conn_close(x->conn);
	return STEP_FAIL;
}

/* Makes x's connection's easy handle, set up to connect (within the connect
 * time-out and end_ms); -1 when the exchange failed. */
static int
connect_start(struct httpc_exchange *x)
{
	struct httpc_conn *c = x->conn;
	struct httpc_options opt = *x->opt;

	httpc_conn_close(c);
	opt.deadline_ms = x->end_ms;
	opt.total_timeout_ms = 0;
	if (x->end_ms == 0)
		opt.total_timeout_ms = HTTPC_CONNECT_MAX_MS;	/* connecting never waits for ever */
	/* The framing here is HTTP/1.1's: never offer h2 in TLS's ALPN. */
	opt.http1_1 = true;
	if ((c->easy = httpc_easy_new()) == NULL) {
		exchange_fail(x, HTTPC_NETWORK, "out of memory in curl_easy_init");
		return -1;
	}
	curl_easy_setopt(c->easy, CURLOPT_URL, x->url);
	curl_easy_setopt(c->easy, CURLOPT_CONNECT_ONLY, 1L);
	/* Through an HTTP proxy (http_proxy, https_proxy): a CONNECT tunnel, so
	 * the exchanges framed here reach the origin itself. */
	curl_easy_setopt(c->easy, CURLOPT_HTTPPROXYTUNNEL, 1L);
	if (x->share != NULL)
		curl_easy_setopt(c->easy, CURLOPT_SHARE, x->share);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, x->res->errbuf);
	if (httpc_setup(c->easy, &opt) == -1) {
		exchange_fail(x, HTTPC_TIMEOUT, "the time ran out before connecting");
		return -1;
	}
	return 0;
}

/* The connection attempt of x ended with cc: its socket, or a failure. */
static int
connect_finish(struct httpc_exchange *x, CURLcode cc)
{
	struct httpc_conn *c = x->conn;
	curl_socket_t fd = CURL_SOCKET_BAD;

	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, NULL);
	if (cc == CURLE_OK && (curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
	    fd == CURL_SOCKET_BAD))
		cc = CURLE_COULDNT_CONNECT;
	if (cc != CURLE_OK) {
		char why[CURL_ERROR_SIZE];

		snprintf(why, sizeof why, "%s", x->res->errbuf[0] != '\0' ? x->res->errbuf :
		    curl_easy_strerror(cc));
		exchange_fail(x, cc == CURLE_OPERATION_TIMEDOUT ? HTTPC_TIMEOUT : HTTPC_NETWORK,
		    "%s", why);
		return -1;
	}
	c->fd = fd;
	c->in.len = 0;
	return 0;
}

/* Connects the exchanges of want[0..k) side by side on multi; their easy
 * handles stay in it (curl keeps a connect-only connection only while its
 * handle is in the multi that made it). */
static void
connect_side_by_side(CURLM *multi, struct httpc_exchange **want, size_t k)
{
	CURLcode result[16];
	bool done[16];
	CURLMsg *msg;
	int running = 0, left;
	size_t i, pending = k;

	for (i = 0; i < k; i++) {
		result[i] = CURLE_FAILED_INIT;
		done[i] = curl_multi_add_handle(multi, want[i]->conn->easy) != CURLM_OK;
		if (done[i])
			pending--;
		else
			want[i]->conn->multi = multi;
	}
	while (pending > 0) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			for (i = 0; i < k; i++) {
				if (msg->msg == CURLMSG_DONE && !done[i] &&
				    msg->easy_handle == want[i]->conn->easy) {
					result[i] = msg->data.result;
					done[i] = true;
					pending--;
				}
			}
		}
		if (pending > 0)
			curl_multi_poll(multi, NULL, 0, HTTPC_POLL_MS, NULL);
	}
	for (i = 0; i < k; i++)
		(void)connect_finish(want[i], done[i] ? result[i] : CURLE_COULDNT_CONNECT);
}

/* True when a kept connection can carry another exchange: connected, not
 * idle past max_idle_s, and nothing to read, neither on the socket nor in
 * the TLS layer's buffer (a peer that closed it or sent what nobody asked
 * for). A TLS record that is not data (a session ticket) is consumed. */
static bool
conn_reusable(const struct httpc_conn *c, long max_idle_s)
{
	char byte;
	size_t n = 0;

	if (c->easy == NULL || c->in.len != 0)
		return false;
	if (max_idle_s > 0 && mono_ms() - c->idle_since_ms > max_idle_s * 1000)
		return false;
	return curl_easy_recv(c->easy, &byte, 1, &n) == CURLE_AGAIN;
}

/* Case-insensitive: does the header line [name, end) have this name? */
static const char *
header_value(const char *line, const char *end, const char *name)
{
	size_t n = strlen(name);

	if ((size_t)(end - line) <= n || line[n] != ':' || ascii_ncasecmp(line, name, n) != 0)
		return NULL;
	line += n + 1;
	while (line < end && (*line == ' ' || *line == '\t'))
		line++;
	return line;
}

char *
httpc_head_value(const struct httpc_response *res, const char *name)
{
	const char *p = res->head.data, *end = p + res->head.len, *eol, *v, *line_end;

	for (; p != NULL && p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if ((v = header_value(p, line_end, name)) == NULL)
			continue;
		while (line_end > v && (line_end[-1] == ' ' || line_end[-1] == '\t'))
			line_end--;
		return xstrndup(v, (size_t)(line_end - v));
	}
	return NULL;
}

/* Does the value [v, end) hold token (case-insensitive, comma list)? */
static bool
value_has_token(const char *v, const char *end, const char *token)
{
	size_t n = strlen(token);

	while (v < end) {
		const char *t;

		while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
			v++;
		t = v;
		while (v < end && *v != ',')
			v++;
		while (v > t && (v[-1] == ' ' || v[-1] == '\t'))
			v--;
		if ((size_t)(v - t) == n && ascii_ncasecmp(t, token, n) == 0)
			return true;
		while (v < end && *v != ',')
			v++;
	}
	return false;
}

/* Is the last of the comma list [v, end) token (case-insensitive)? */
static bool
value_ends_with_token(const char *v, const char *end, const char *token)
{
	size_t n = strlen(token);

	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((size_t)(end - v) < n || ascii_ncasecmp(end - n, token, n) != 0)
		return false;
	end -= n;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return end == v || end[-1] == ',';
}

/* Reads the head [start, start+len) (without its blank line): status line
 * and the headers that frame the body. */
static enum step
head_parse(struct httpc_exchange *x, const char *start, size_t len)
{
	const char *p = start, *end = start + len, *eol, *v;
	int minor, status;

	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
	    p[8] != ' ' || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9' || (len > 12 && p[12] != ' ' && p[12] != '\r'))
		return exchange_fail(x, HTTPC_NETWORK, "malformed answer status line");
	minor = p[7] - '0';
	status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	x->res->status = status;
	x->content_length = -1;
	x->chunked = false;
	x->close = minor == 0;
	for (p = memchr(p, '\n', len) + 1; p < end; p = eol + 1) {
		const char *line_end;

		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if ((v = header_value(p, line_end, "content-length")) != NULL) {
			int64_t n = 0;

			if (v == line_end)
				return exchange_fail(x, HTTPC_NETWORK, "malformed Content-Length");
			for (; v < line_end && *v >= '0' && *v <= '9'; v++) {
				if (n > (INT64_MAX - 9) / 10)
					return exchange_fail(x, HTTPC_NETWORK, "malformed Content-Length");
				n = n * 10 + (*v - '0');
			}
			while (v < line_end && (*v == ' ' || *v == '\t'))
				v++;
			if (v != line_end || (x->content_length >= 0 && x->content_length != n))
				return exchange_fail(x, HTTPC_NETWORK, "malformed Content-Length");
			x->content_length = n;
		} else if ((v = header_value(p, line_end, "transfer-encoding")) != NULL) {
			if (!value_ends_with_token(v, line_end, "chunked"))
				return exchange_fail(x, HTTPC_NETWORK, "unsupported Transfer-Encoding");
			x->chunked = true;
		} else if ((v = header_value(p, line_end, "connection")) != NULL) {
			if (value_has_token(v, line_end, "close"))
				x->close = true;
		}
	}
	if (x->chunked && x->content_length >= 0) {
		x->content_length = -1;	/* RFC 9112 6.3: chunked wins, and the */
		x->close = true;	/* connection is not to be trusted after it */
	}
	if (status == 204 || status == 304)
		x->content_length = 0;
	return STEP_MORE;
}

/* Appends n body bytes to the answer, within its cap. */
static enum step
body_add(struct httpc_exchange *x, const char *data, size_t n)
{
	struct httpc_response *res = x->res;

	if (n > res->max_bytes - res->body.len)
		return exchange_fail(x, HTTPC_TOO_LARGE, "the answer is larger than the limit");
	buf_append(&res->body, data, n);
	return STEP_MORE;
}

/* keep_prefix and the body's first max_bytes are in: the answer ends here
 * (too_large set), and the connection is closed rather than read to its end. */
static enum step
prefix_done(struct httpc_exchange *x, const char *data)
{
	struct httpc_response *res = x->res;

	buf_append(&res->body, data, res->max_bytes - res->body.len);
	res->too_large = true;
	x->close = true;
	x->pos = x->conn->in.len;
	return STEP_DONE;
}

/* The trailer section after the last chunk, from t: done at its empty line. */
static enum step
trailers_parse(struct httpc_exchange *x, const char *t)
{
	struct buf *in = &x->conn->in;
	const char *end = in->data + in->len, *start = t;

	for (;;) {
		const char *nl = memchr(t, '\n', (size_t)(end - t));

		if (nl == NULL)
			return (size_t)(end - start) > HTTPC_HEAD_MAX ?
			    exchange_fail(x, HTTPC_NETWORK, "answer trailers over %d bytes",
			    HTTPC_HEAD_MAX) : STEP_MORE;
		if (nl == t || (nl == t + 1 && *t == '\r')) {
			x->pos = (size_t)(nl + 1 - in->data);
			return STEP_DONE;
		}
		t = nl + 1;
	}
}

/* Decodes the chunks read so far (from x->pos). */
static enum step
chunks_parse(struct httpc_exchange *x)
{
	struct buf *in = &x->conn->in;

	for (;;) {
		const char *p = in->data + x->pos, *end = in->data + in->len, *eol, *q;
		uint64_t size = 0;
		size_t avail, room = x->res->max_bytes - x->res->body.len;

		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return (size_t)(end - p) > HTTPC_HEAD_MAX ?
			    exchange_fail(x, HTTPC_NETWORK, "malformed chunk size") : STEP_MORE;
		for (q = p; q < eol && isxdigit((unsigned char)*q); q++) {
			if (size > (UINT64_MAX >> 4))
				return exchange_fail(x, HTTPC_NETWORK, "malformed chunk size");
			size = size * 16 + (uint64_t)(*q <= '9' ? *q - '0' : (*q | 0x20) - 'a' + 10);
		}
		if (q == p || (q < eol && *q != ';' && *q != '\r' && *q != ' ' && *q != '\t'))
			return exchange_fail(x, HTTPC_NETWORK, "malformed chunk size");
		if (size == 0)
			return trailers_parse(x, eol + 1);
		avail = (size_t)(end - (eol + 1));
		if (size > room) {
			if (!x->res->keep_prefix)
				return exchange_fail(x, HTTPC_TOO_LARGE, "the answer is larger than the limit");
			return avail >= room ? prefix_done(x, eol + 1) : STEP_MORE;
		}
		if (avail < 2 || avail - 2 < size)
			return STEP_MORE;
		if (memcmp(eol + 1 + size, "\r\n", 2) != 0)
			return exchange_fail(x, HTTPC_NETWORK, "malformed chunk");
		if (body_add(x, eol + 1, (size_t)size) != STEP_MORE)
			return STEP_FAIL;
		x->pos = (size_t)(eol + 1 + size + 2 - in->data);
	}
}

/* The body after the head: by its length, in chunks, or to the end of the
 * connection; eof: the peer closed after what in holds. */
static enum step
body_parse(struct httpc_exchange *x, bool eof)
{
	struct buf *in = &x->conn->in;
	const char *body = in->data + x->head_len;
	size_t have = in->len - x->head_len, max = x->res->max_bytes;
	bool prefix = x->res->keep_prefix;

	if (x->chunked) {
		enum step s = chunks_parse(x);

		if (s == STEP_MORE && eof)
			return exchange_fail(x, HTTPC_NETWORK, "the connection closed inside the answer");
		return s;
	}
	if (x->content_length >= 0) {
		if (prefix && (uint64_t)x->content_length > max && have >= max)
			return prefix_done(x, body);
		if (have < (uint64_t)x->content_length)
			return eof ? exchange_fail(x, HTTPC_NETWORK,
			    "the connection closed inside the answer") : STEP_MORE;
		if (body_add(x, body, (size_t)x->content_length) != STEP_MORE)
			return STEP_FAIL;
		x->pos = x->head_len + (size_t)x->content_length;
		return STEP_DONE;
	}
	/* No length: the body runs to the end of the connection. */
	if (have > max)
		return prefix ? prefix_done(x, body) :
		    exchange_fail(x, HTTPC_TOO_LARGE, "the answer is larger than the limit");
	if (!eof)
		return STEP_MORE;
	x->close = true;
	x->pos = in->len;
	return body_add(x, body, have) == STEP_MORE ? STEP_DONE : STEP_FAIL;
}

/* Parses what conn->in holds; eof: the peer closed after it. */
static enum step
answer_parse(struct httpc_exchange *x, bool eof)
{
	struct buf *in = &x->conn->in;

	while (x->head_len == 0) {
		const char *blank = in->len >= 4 ? memmem(in->data, in->len, "\r\n\r\n", 4) : NULL;

		if (blank == NULL) {
			if (in->len > HTTPC_HEAD_MAX)
				return exchange_fail(x, HTTPC_NETWORK, "answer head over %d bytes",
				    HTTPC_HEAD_MAX);
			if (eof)
				return exchange_fail(x, HTTPC_NETWORK, in->len == 0 ?
				    "the connection closed before an answer" :
				    "the connection closed inside the answer head");
			return STEP_MORE;
		}
		if (head_parse(x, in->data, (size_t)(blank + 2 - in->data)) == STEP_FAIL)
			return STEP_FAIL;
		x->head_len = (size_t)(blank + 4 - in->data);
		if (x->res->keep_head) {
			buf_reset(&x->res->head);
			buf_append(&x->res->head, in->data, x->head_len - 2);
		}
		if (x->res->status >= 100 && x->res->status < 200) {
			/* An interim answer (100 Continue, 103): the final one follows. */
			memmove(in->data, in->data + x->head_len, in->len - x->head_len);
			in->len -= x->head_len;
			x->head_len = 0;
			continue;
		}
		x->pos = x->head_len;
		if (x->content_length > (int64_t)x->res->max_bytes && !x->res->keep_prefix)
			return exchange_fail(x, HTTPC_TOO_LARGE, "the answer is larger than the limit");
	}
	return body_parse(x, eof);
}

/* A complete answer: the connection is kept for the next exchange unless the
 * answer said otherwise or bytes follow it (nothing was asked for them). */
static void
exchange_done(struct httpc_exchange *x)
{
	struct httpc_conn *c = x->conn;

	x->result = HTTPC_OK;
	x->phase = PHASE_DONE;
	if (x->close || x->pos != c->in.len) {
		httpc_conn_close(c);
		return;
	}
	c->in.len = 0;
	if (c->in.cap > HTTPC_IN_KEEP)
		buf_free(&c->in);
	c->idle_since_ms = mono_ms();
}

/* Writes what the socket takes of the request. */
static void
exchange_send(struct httpc_exchange *x)
{
	size_t n = 0;
	CURLcode cc;

	while (x->sent < x->request_len) {
		cc = curl_easy_send(x->conn->easy, x->request + x->sent, x->request_len - x->sent, &n);
		if (cc == CURLE_AGAIN)
			return;
		if (cc != CURLE_OK) {
			exchange_fail(x, HTTPC_NETWORK, "sending the request: %s", curl_easy_strerror(cc));
			return;
		}
		x->sent += n;
	}
	x->phase = PHASE_RECV;
}

/* Reads what has arrived (until the socket has no more or the answer is whole). */
static void
exchange_recv(struct httpc_exchange *x)
{
	struct buf *in = &x->conn->in;
	enum step s;
	size_t n;
	CURLcode cc;

	for (;;) {
		buf_reserve(in, HTTPC_READ_CHUNK);
		n = 0;
		cc = curl_easy_recv(x->conn->easy, in->data + in->len, in->cap - in->len - 1, &n);
		if (cc == CURLE_AGAIN)
			return;
		if (cc != CURLE_OK) {
			exchange_fail(x, HTTPC_NETWORK, "reading the answer: %s", curl_easy_strerror(cc));
			return;
		}
		in->len += n;
		in->data[in->len] = '\0';
		s = answer_parse(x, n == 0);
		if (s == STEP_DONE)
			exchange_done(x);
		if (s != STEP_MORE)
			return;
		/* A peer that keeps sending must not hold the exchange past its end. */
		if (x->end_ms != 0 && now_ms() >= x->end_ms)
			return;
	}
}

enum httpc_result
httpc_answer_frame(const char *data, size_t len, size_t step, struct httpc_response *res)
{
	struct httpc_conn conn = { .fd = CURL_SOCKET_BAD };
	struct httpc_exchange x = { .conn = &conn, .res = res, .phase = PHASE_RECV };
	enum step s = STEP_MORE;
	size_t off = 0;

	res->status = 0;
	res->too_large = false;
	res->errbuf[0] = '\0';
	buf_reset(&res->body);
	buf_reset(&res->head);
	if (step == 0)
		step = 1;
	while (s == STEP_MORE) {
		size_t n = len - off < step ? len - off : step;

		buf_append(&conn.in, data + off, n);
		off += n;
		s = answer_parse(&x, off == len);
	}
	if (s == STEP_DONE)
		exchange_done(&x);
	buf_free(&conn.in);
	return x.result;
}

/* Gets every exchange a usable connection; a failure ends that exchange. */
static void
exchanges_connect(struct httpc_exchange *x, size_t n)
{
	struct httpc_exchange *want[16];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct httpc_conn *c = x[i].conn;

		x[i].result = HTTPC_OK;
		x[i].sent = 0;
		x[i].phase = PHASE_SEND;
		x[i].head_len = 0;
		x[i].pos = 0;
		x[i].res->status = 0;
		x[i].res->too_large = false;
		x[i].res->errbuf[0] = '\0';
		buf_reset(&x[i].res->body);
		buf_reset(&x[i].res->head);
		if (x[i].end_ms != 0 && now_ms() >= x[i].end_ms) {
			exchange_fail(&x[i], HTTPC_TIMEOUT, "the time ran out before sending");
			continue;
		}
		if (conn_reusable(c, x[i].opt->max_idle_s)) {
			c->in.len = 0;
			continue;
		}
		if (connect_start(&x[i]) == -1)
			continue;
		if (x[i].multi != NULL && (k == 0 || x[i].multi == want[0]->multi))
			want[k++] = &x[i];
		else
			(void)connect_finish(&x[i], curl_easy_perform(c->easy));
	}
	if (k > 0)
		connect_side_by_side(want[0]->multi, want, k);
}

int
httpc_exchange_run(struct httpc_exchange *x, size_t n)
{
	struct pollfd p[16];
	size_t i, k, map[16];
	int rc = 0;

	if (n > ARRAY_LEN(p))
		abort();
	exchanges_connect(x, n);
	for (i = 0; i < n; i++) {
		if (x[i].phase == PHASE_SEND)
			exchange_send(&x[i]);
	}
	for (;;) {
		int64_t now = now_ms(), wait = -1;

		for (i = k = 0; i < n; i++) {
			if (x[i].phase == PHASE_DONE)
				continue;
			if (x[i].end_ms != 0 && now >= x[i].end_ms) {
				exchange_fail(&x[i], HTTPC_TIMEOUT, x[i].phase == PHASE_SEND ?
				    "the time ran out while sending the request" :
				    "the time ran out before the answer was complete");
				continue;
			}
			if (x[i].end_ms != 0 && (wait == -1 || x[i].end_ms - now < wait))
				wait = x[i].end_ms - now;
			p[k] = (struct pollfd){ .fd = x[i].conn->fd,
			    .events = x[i].phase == PHASE_SEND ? POLLOUT : POLLIN };
			map[k++] = i;
		}
		if (k == 0)
			break;
		if (poll(p, (nfds_t)k, wait > INT32_MAX ? INT32_MAX : (int)wait) == -1 && errno != EINTR) {
			for (i = 0; i < k; i++)
				exchange_fail(&x[map[i]], HTTPC_NETWORK, "poll: %s", strerror(errno));
			break;
		}
		for (i = 0; i < k; i++) {
			if (p[i].revents == 0)
				continue;
			if (x[map[i]].phase == PHASE_SEND)
				exchange_send(&x[map[i]]);
			else
				exchange_recv(&x[map[i]]);
		}
	}
	for (i = 0; i < n; i++) {
		if (x[i].result != HTTPC_OK)
			rc = -1;
	}
	return rc;
}
