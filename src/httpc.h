/* httpc.h - the one outbound HTTP client (like kore's curl.c): every call the
 * product makes (DynamoDB, the JWKS, AWS credentials, Secrets Manager, the
 * LLM, the Lambda Runtime API) sets its easy handle up here, collects its
 * answer through the one size-capped write callback, and reads its error
 * text here. Time-outs, the request deadline, the CA bundle and the
 * keep-alive policy are applied in one place. */
#ifndef PORTAL_HTTPC_H
#define PORTAL_HTTPC_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "util.h"

#define HTTPC_USER_AGENT	"turbotech-portal"
#define HTTPC_PROTOCOLS		"http,https"

/* How one call is made. Zero fields take the defaults named beside them. */
struct httpc_options {
	const char	*ca_bundle;		/* NULL or "": the system's */
	const char	*protocols;		/* NULL: HTTPC_PROTOCOLS */
	const char	*user_agent;		/* NULL: HTTPC_USER_AGENT */
	int64_t		 connect_timeout_ms;	/* 0: curl's default; never more than
						 * the total time-out */
	int64_t		 total_timeout_ms;	/* 0: none (a long poll) */
	int64_t		 deadline_ms;		/* now_ms() clock, 0: none; the total
						 * time-out never runs past it */
	long		 max_idle_s;		/* keep-alive: never reuse a connection
						 * idle longer; 0: curl's default */
	long		 max_redirects;		/* 0: never follow; else that many,
						 * to https only */
	bool		 no_proxy;		/* link-local and local endpoints */
	bool		 tcp_keepalive;
	bool		 tcp_nodelay;
	bool		 http1_1;		/* pin HTTP/1.1 */
};

/* What came back. The body is capped at max_bytes: more fails the transfer
 * (too_large set), or with keep_prefix keeps the first max_bytes and goes on
 * (an exchange then ends there and closes its connection). */
struct httpc_response {
	struct buf	 body;			/* owned; httpc_response_reset frees */
	struct buf	 head;			/* exchanges with keep_head: the answer's
						 * status line and headers (CRLF after
						 * each), also when the body was too large */
	size_t		 max_bytes;
	bool		 keep_prefix;
	bool		 keep_head;
	bool		 too_large;
	long		 status;		/* 0 before an answer (and for file://) */
	char		 errbuf[CURL_ERROR_SIZE];
};

/* A new easy handle (curl initialised once per process); NULL when libcurl
 * cannot make one. Free with curl_easy_cleanup. */
CURL *httpc_easy_new(void);
/* Applies opt to easy (the connection policy and the time-outs). -1 when the
 * deadline has already passed (nothing to send); 0 otherwise. */
int httpc_setup(CURL *easy, const struct httpc_options *opt);
/* Cuts total_ms to what is left before deadline_ms (0: none) and sets it as
 * easy's total time-out; -1 when no time is left. */
int httpc_set_timeout(CURL *easy, int64_t total_ms, int64_t deadline_ms);

/* Empties res and sets its cap; keep_prefix false. */
void httpc_response_init(struct httpc_response *res, size_t max_bytes);
/* Frees the body; the cap stays. */
void httpc_response_reset(struct httpc_response *res);
/* Directs easy's answer (body, error text) into res, clearing what an earlier
 * transfer left there. */
void httpc_attach(CURL *easy, struct httpc_response *res);
/* Performs the transfer and reads the status into res->status. */
CURLcode httpc_perform(CURL *easy, struct httpc_response *res);
/* The text of a failed transfer (borrowed from res or static). */
const char *httpc_error(const struct httpc_response *res, CURLcode cc);

/* --- Kept connections with HTTP/1.1 framed here -------------------------
 * For a hot endpoint called once or more per request (the store): libcurl
 * only connects (DNS, proxy, TLS; CURLOPT_CONNECT_ONLY) and then carries the
 * bytes; the request is written and the answer read and framed here, so an
 * exchange costs one send, one poll and one receive. */

/* A kept connection to one origin, used by one thread at a time. */
struct httpc_conn {
	CURL		*easy;		/* NULL: not connected */
	CURLM		*multi;		/* the multi handle easy stays in, or NULL */
	curl_socket_t	 fd;
	int64_t		 idle_since_ms;	/* mono_ms() when the last answer ended */
	struct buf	 in;		/* answer bytes read */
};

enum httpc_result {
	HTTPC_OK,
	HTTPC_TIMEOUT,		/* end_ms passed (connecting, sending or reading) */
	HTTPC_NETWORK,		/* cannot connect, reset, closed early, malformed answer */
	HTTPC_TOO_LARGE,	/* the body is over the response's max_bytes */
};

/* One request and its answer. The caller fills the first block; the
 * exchange fills result, sent and *res (status, body, errbuf). */
struct httpc_exchange {
	struct httpc_conn		*conn;
	const char			*url;		/* the origin conn connects to */
	CURLSH				*share;		/* NULL or a DNS/TLS-session share */
	CURLM				*multi;		/* NULL, or where connections are made
							 * side by side (they stay in it while
							 * open: it must outlive them) */
	const struct httpc_options	*opt;		/* the connection policy */
	const char			*request;	/* head and body, as sent */
	size_t				 request_len;
	int64_t				 end_ms;	/* wall clock (now_ms); 0: none */
	struct httpc_response		*res;

	enum httpc_result		 result;
	size_t				 sent;		/* request bytes written */

	/* The exchange's own state. */
	int				 phase;
	size_t				 head_len;	/* 0 until the answer's head is read */
	int64_t				 content_length;	/* -1: none */
	size_t				 pos;		/* next unread byte of conn->in */
	bool				 chunked;
	bool				 close;		/* no reuse after this answer */
};

/* Runs n exchanges at once (each on its own connection): connects those
 * whose connection is closed, stale (readable while idle) or idle longer
 * than opt->max_idle_s (side by side when they name a multi handle, else
 * one after the other), sends every request, and reads every answer until
 * each is complete, failed or past its end_ms. 0 when all are HTTPC_OK,
 * -1 otherwise (see each result and res->errbuf). */
int httpc_exchange_run(struct httpc_exchange *x, size_t n);
/* Frames data as one exchange's answer arriving step bytes at a time, the
 * connection closing after the last (for tests and fuzzing: the framing
 * without a socket); the exchange's result, with *res filled as it would be. */
enum httpc_result httpc_answer_frame(const char *data, size_t len, size_t step,
    struct httpc_response *res);
/* The value of header name (case-insensitive) in res->head (an exchange with
 * keep_head), trimmed; the first such header; NULL when absent. The caller
 * frees it. */
char *httpc_head_value(const struct httpc_response *res, const char *name);
/* Closes conn (NULL-safe); it connects again on its next exchange. */
void httpc_conn_close(struct httpc_conn *conn);

#endif
