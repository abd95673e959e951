/* httpc.c - the one outbound HTTP client. */
#include <pthread.h>
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

/* Frees the body. */
void
httpc_response_reset(struct httpc_response *res)
{
	buf_free(&res->body);
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
