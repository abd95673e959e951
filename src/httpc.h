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
 * (too_large set), or with keep_prefix keeps the first max_bytes and goes on. */
struct httpc_response {
	struct buf	 body;			/* owned; httpc_response_reset frees */
	size_t		 max_bytes;
	bool		 keep_prefix;
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

#endif
