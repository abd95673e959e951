/* ddb.c - the DynamoDB access module: JSON protocol 1.0 over HTTP(S) with
 * libcurl, SigV4 signing, the SDKs' standard retry mode, pagination and
 * batching.
 *
 * A struct ddb belongs to one thread. It keeps up to DDB_PARALLEL_MAX
 * connections to the endpoint alive (the first for sequential calls, all of
 * them for parallel ones), sharing one DNS cache and TLS session cache (a
 * curl share handle). libcurl connects them, side by side in one multi
 * handle; each call is then one HTTP/1.1 exchange framed by httpc (send,
 * poll, receive).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "config.h"
#include "creds.h"
#include "ddb.h"
#include "httpc.h"
#include "json_write.h"
#include "log.h"
#include "sigv4.h"
#include "util.h"

#define DDB_SERVICE		"dynamodb"
#define DDB_TARGET_PREFIX	"DynamoDB_20120810."
#define DDB_CONTENT_TYPE	"application/x-amz-json-1.0"
#define DDB_USER_AGENT		"turbotech-portal-ddb/1.0"
#define DDB_JSON_DEPTH_MAX	128	/* AttributeValues nest twice as deep as items */
#define DDB_PAGES_MAX		100000	/* a guard against an endpoint that never ends a scan */
#define DDB_SIGNED_HEADERS_MAX	5
#define DDB_TOKEN_BYTES		16

struct ddb {
	const struct config	*cfg;
	CURLSH			*share;
	CURLM			*multi;		/* where the connections are made */
	struct httpc_options	 opt;		/* the connection policy */
	struct httpc_conn	 conns[DDB_PARALLEL_MAX];
	char			*url;
	char			*host;		/* Host header value, as signed */
	char			*path;
	char			*head;		/* the request line and the headers
						 * every call sends alike */
	unsigned		 requests;
	int64_t			 deadline_ms;
};

/* One HTTP request in flight: what it sends and what came back. */
struct attempt {
	struct httpc_exchange	 x;		/* the connection, the time limit, the outcome */
	struct buf		 request;	/* head and body */
	struct httpc_response	 response;
	bool			 plain;		/* read the answer's items unmarshalled */
};

static bool is_single_write(const char *op);

static atomic_ulong ddb_total_requests;

/* Error codes that the SDKs treat as throttling (retried with backoff). */
static const char *const ddb_throttling_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException",
	"RequestThrottledException", "TooManyRequestsException",
	"ProvisionedThroughputExceededException", "TransactionInProgressException",
	"RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
	"RequestThrottled", "SlowDown", "EC2ThrottledException",
	"UnprocessedKeys", "UnprocessedItems",
};

/* Error codes that the SDKs treat as transient (retried with backoff). */
static const char *const ddb_transient_codes[] = {
	"NetworkError", "TimeoutError", "RequestTimeout", "RequestTimeoutException",
	"PriorRequestNotComplete", "TransactionConflictException",
	"InternalServerError", "InternalFailure", "ServiceUnavailable",
	"InvalidResponse", "ExpiredTokenException",
};

/* True when code is one of the n strings of list. */
static bool
code_in(const char *code, const char *const *list, size_t n)
{
	size_t	 i;

	if (code == NULL)
		return false;
	for (i = 0; i < n; i++) {
		if (strcmp(code, list[i]) == 0)
			return true;
	}
	return false;
}

/* Fills all of err: code, message and the retry decision for them. */
static void
error_vset(struct ddb_error *err, int http_status, const char *code, const char *fmt,
    va_list ap)
{
	memset(err, 0, sizeof *err);
	err->http_status = http_status;
	snprintf(err->code, sizeof err->code, "%s", code);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	err->retryable = ddb_error_retryable(http_status, code);
	err->condition_failed = strcmp(code, "ConditionalCheckFailedException") == 0;
}

/* Fills err for a failure found by the caller rather than the store. */
void
ddb_error_set(struct ddb_error *err, int http_status, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, http_status, code, fmt, ap);
	va_end(ap);
}

/* ddb_error_set inside a call: the attempts made so far stay counted. */
static void __attribute__((format(printf, 4, 5)))
error_set(struct ddb_error *err, int http_status, const char *code, const char *fmt, ...)
{
	va_list	 ap;
	int	 attempts = err->attempts;

	va_start(ap, fmt);
	error_vset(err, http_status, code, fmt, ap);
	va_end(ap);
	err->attempts = attempts;
}

/* The retry decision of the SDKs' standard mode for this error. */
bool
ddb_error_retryable(int http_status, const char *code)
{
	if (code_in(code, ddb_throttling_codes, ARRAY_LEN(ddb_throttling_codes)) ||
	    code_in(code, ddb_transient_codes, ARRAY_LEN(ddb_transient_codes)))
		return true;
	if (code != NULL && (strcmp(code, "ConditionalCheckFailedException") == 0 ||
	    strcmp(code, "ValidationException") == 0))
		return false;
	return http_status >= 500 && http_status <= 599;
}

/* True for errors worth a 503: unreachable, timed out, throttled, 5xx. */
bool
ddb_error_is_unavailable(const struct ddb_error *err)
{
	if (err == NULL)
		return false;
	if (code_in(err->code, ddb_throttling_codes, ARRAY_LEN(ddb_throttling_codes)))
		return true;
	if (strcmp(err->code, "NetworkError") == 0 || strcmp(err->code, "TimeoutError") == 0 ||
	    strcmp(err->code, "CredentialsError") == 0)
		return true;
	return err->http_status >= 500 && err->http_status <= 599;
}

/* True for ConditionalCheckFailedException, also inside a TransactionCanceled. */
bool
ddb_error_is_condition_failed(const struct ddb_error *err)
{
	if (err == NULL)
		return false;
	return err->condition_failed ||
	    strcmp(err->code, "ConditionalCheckFailedException") == 0;
}

/* Full-jitter backoff before attempt n+1: random in [0, min(cap, base*2^(n-1))]. */
int64_t
ddb_backoff_ms(int attempt)
{
	int64_t	 ceiling = DDB_BACKOFF_BASE_MS;
	int	 i;

	for (i = 1; i < attempt && ceiling < DDB_BACKOFF_MAX_MS; i++)
		ceiling *= 2;
	if (ceiling > DDB_BACKOFF_MAX_MS)
		ceiling = DDB_BACKOFF_MAX_MS;
	return (int64_t)random_below((uint64_t)ceiling + 1);
}

/* Calls made by this handle since it was created. */
unsigned
ddb_request_count(const struct ddb *ddb)
{
	return ddb == NULL ? 0 : ddb->requests;
}

/* Calls made by all handles of the process. */
unsigned long
ddb_total_request_count(void)
{
	return atomic_load(&ddb_total_requests);
}

/* Calls end no later than deadline_ms (wall clock); 0 clears it. */
void
ddb_set_deadline(struct ddb *ddb, int64_t deadline_ms)
{
	ddb->deadline_ms = deadline_ms;
}

/* The current deadline (0: none). */
int64_t
ddb_deadline(const struct ddb *ddb)
{
	return ddb->deadline_ms;
}

/* The connection policy of the store's connections. */
static void
options_init(struct ddb *ddb)
{
	ddb->opt = (struct httpc_options){
		.ca_bundle = ddb->cfg->ca_bundle,
		.user_agent = DDB_USER_AGENT,
		.connect_timeout_ms = DDB_CONNECT_TIMEOUT_MS,
		.max_idle_s = DDB_MAX_IDLE_CONN_S,
		.tcp_keepalive = true,
		.tcp_nodelay = true,
		.http1_1 = true,
	};
}

/* Splits the endpoint URL into the Host header value and the path to sign. */
static int
endpoint_parse(struct ddb *ddb, const char *endpoint)
{
	CURLU	*u;
	char	*host = NULL, *port = NULL, *path = NULL;
	int	 rc = -1;

	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		path = NULL;
	ddb->host = port != NULL ? xasprintf("%s:%s", host, port) : xstrdup(host);
	ddb->path = xstrdup(path != NULL && *path != '\0' ? path : "/");
	ddb->url = xstrdup(endpoint);
	ddb->head = xconcat("POST ", ddb->path, " HTTP/1.1\r\nHost: ", ddb->host,
	    "\r\nUser-Agent: " DDB_USER_AGENT "\r\nContent-Type: " DDB_CONTENT_TYPE "\r\n",
	    (char *)NULL);
	rc = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* A handle for one thread; NULL when the endpoint URL is unusable. */
struct ddb *
ddb_new(const struct config *cfg)
{
	struct ddb	*ddb;
	const char	*endpoint = cfg->endpoint;	/* config_load checked it, default included */

	ddb = xcalloc(1, sizeof *ddb);
	ddb->cfg = cfg;
	if (endpoint == NULL || endpoint_parse(ddb, endpoint) == -1) {
		log_error("bad DynamoDB endpoint URL", LOG_S("endpoint", endpoint));
		goto fail;
	}
	if ((ddb->share = curl_share_init()) == NULL || (ddb->multi = curl_multi_init()) == NULL)
		goto fail;
	curl_share_setopt(ddb->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(ddb->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	options_init(ddb);
	for (size_t i = 0; i < DDB_PARALLEL_MAX; i++)
		ddb->conns[i].fd = CURL_SOCKET_BAD;
	return ddb;
fail:
	ddb_free(ddb);
	return NULL;
}

/* Releases the handle and its curl handles; NULL-safe. */
void
ddb_free(struct ddb *ddb)
{
	size_t	 i;

	if (ddb == NULL)
		return;
	for (i = 0; i < DDB_PARALLEL_MAX; i++)
		httpc_conn_close(&ddb->conns[i]);
	if (ddb->multi != NULL)
		curl_multi_cleanup(ddb->multi);
	if (ddb->share != NULL)
		curl_share_cleanup(ddb->share);
	free(ddb->url);
	free(ddb->host);
	free(ddb->path);
	free(ddb->head);
	free(ddb);
}

/* Releases what one attempt allocated (the connection stays). */
static void
attempt_cleanup(struct attempt *a)
{
	buf_free(&a->request);
	httpc_response_reset(&a->response);
}

/* Appends the header line "name: value". */
static void
header_add(struct buf *b, const char *name, const char *value)
{
	buf_puts(b, name);
	buf_append(b, ": ", 2);
	buf_puts(b, value);
	buf_append(b, "\r\n", 2);
}

/* An attempt on conn i with its answer capped at DDB_RESPONSE_MAX. */
static void
attempt_init(struct ddb *ddb, struct attempt *a, size_t i, bool plain)
{
	memset(a, 0, sizeof *a);
	a->plain = plain;
	httpc_response_init(&a->response, DDB_RESPONSE_MAX);
	a->x = (struct httpc_exchange){ .conn = &ddb->conns[i], .url = ddb->url,
	    .share = ddb->share, .multi = ddb->multi, .opt = &ddb->opt, .res = &a->response };
}

/* Prepares one signed request in a->request; -1 with err when it cannot be
 * sent (deadline passed, no credentials). */
static int
attempt_prepare(struct ddb *ddb, struct attempt *a, const char *op, const char *body,
    struct ddb_error *err)
{
	struct creds		 creds;
	struct sigv4_request	 req;
	struct sigv4_credentials sc;
	struct sigv4_result	 res;
	struct kv		 hdr[DDB_SIGNED_HEADERS_MAX];
	size_t			 nhdr = 0;
	char			*cause = NULL, *target, amz_date[17], length[24];
	size_t			 body_len = strlen(body);
	time_t			 t;
	int64_t			 now = now_ms();

	a->x.end_ms = now + DDB_TOTAL_TIMEOUT_MS;
	if (ddb->deadline_ms != 0 && ddb->deadline_ms < a->x.end_ms)
		a->x.end_ms = ddb->deadline_ms;
	if (a->x.end_ms <= now) {
		error_set(err, 0, "TimeoutError", "deadline passed before %s was sent", op);
		return -1;
	}
	if (creds_get(ddb->cfg, &creds, &cause) == -1) {
		error_set(err, 0, "CredentialsError", "%s", cause != NULL ? cause : "no credentials");
		err->retryable = false;
		free(cause);
		return -1;
	}

	target = xconcat(DDB_TARGET_PREFIX, op, (char *)NULL);
	t = time(NULL);
	sigv4_amz_date(t, amz_date);
	hdr[nhdr++] = (struct kv){ (char *)"content-type", (char *)DDB_CONTENT_TYPE };
	hdr[nhdr++] = (struct kv){ (char *)"host", ddb->host };
	hdr[nhdr++] = (struct kv){ (char *)"x-amz-date", amz_date };
	if (creds.session_token[0] != '\0')
		hdr[nhdr++] = (struct kv){ (char *)"x-amz-security-token", creds.session_token };
	hdr[nhdr++] = (struct kv){ (char *)"x-amz-target", target };

	req = (struct sigv4_request){ .method = "POST", .path = ddb->path, .query = NULL,
	    .headers = hdr, .nheaders = nhdr, .body = body, .body_len = body_len };
	sc = (struct sigv4_credentials){ .access_key_id = creds.access_key_id,
	    .secret_access_key = creds.secret_access_key,
	    .session_token = creds.session_token[0] != '\0' ? creds.session_token : NULL };
	memset(&res, 0, sizeof res);
	if (sigv4_sign(&req, &sc, ddb->cfg->region != NULL ? ddb->cfg->region : "us-east-1",
	    DDB_SERVICE, t, &res) == -1) {
		sigv4_result_free(&res);
		free(target);
		error_set(err, 0, "SigningError", "cannot sign the %s request", op);
		err->retryable = false;
		return -1;
	}
	buf_reserve(&a->request, 1024 + body_len);
	buf_puts(&a->request, ddb->head);
	header_add(&a->request, "X-Amz-Date", amz_date);
	header_add(&a->request, "X-Amz-Target", target);
	if (creds.session_token[0] != '\0')
		header_add(&a->request, "X-Amz-Security-Token", creds.session_token);
	header_add(&a->request, "Authorization", res.authorization);
	snprintf(length, sizeof length, "%zu", body_len);
	header_add(&a->request, "Content-Length", length);
	buf_append(&a->request, "\r\n", 2);
	buf_append(&a->request, body, body_len);
	a->x.request = a->request.data;
	a->x.request_len = a->request.len;
	sigv4_result_free(&res);
	free(target);
	explicit_bzero(&creds, sizeof creds);
	ddb->requests++;
	atomic_fetch_add(&ddb_total_requests, 1);
	return 0;
}

/* Parses a JSON body of len bytes into a new object; NULL when it is not JSON. */
static json_object *
json_parse_body(const char *data, size_t len)
{
	struct json_tokener	*tok;
	json_object		*obj;

	if (data == NULL || len == 0)
		return NULL;
	if ((tok = json_tokener_new_ex(DDB_JSON_DEPTH_MAX)) == NULL)
		return NULL;
	obj = json_tokener_parse_ex(tok, data, (int)len);
	if (obj != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* Reads TransactionCanceledException reasons: condition failures and conflicts. */
static void
error_cancellation_reasons(json_object *body, struct ddb_error *err)
{
	json_object	*reasons, *reason, *code;
	bool		 conflict = false;
	size_t		 i, n;

	if (!json_object_object_get_ex(body, "CancellationReasons", &reasons) ||
	    !json_object_is_type(reasons, json_type_array)) {
		/* Some servers only name the reasons in the message. */
		err->condition_failed = strstr(err->message, "ConditionalCheckFailed") != NULL;
		conflict = strstr(err->message, "TransactionConflict") != NULL;
	} else {
		n = json_object_array_length(reasons);
		for (i = 0; i < n; i++) {
			reason = json_object_array_get_idx(reasons, i);
			if (!json_object_object_get_ex(reason, "Code", &code))
				continue;
			if (strcmp(json_object_get_string(code), "ConditionalCheckFailed") == 0)
				err->condition_failed = true;
			else if (strcmp(json_object_get_string(code), "TransactionConflict") == 0)
				conflict = true;
		}
	}
	/* A conflict with another transaction is worth a retry; a failed condition never. */
	err->retryable = conflict && !err->condition_failed;
}

/* Turns a finished attempt into *response (0) or a filled err (-1). */
static int
attempt_finish(struct ddb *ddb, struct attempt *a, const char *op,
    json_object **response, struct ddb_error *err)
{
	json_object	*body, *type, *message;
	const char	*code, *hash, *text;
	long		 status = 0;

	*response = NULL;
	if (a->x.result != HTTPC_OK) {
		if (a->x.result == HTTPC_TOO_LARGE)
			error_set(err, 0, "InvalidResponse", "%s response over %d bytes", op,
			    DDB_RESPONSE_MAX);
		else
			error_set(err, 0, a->x.result == HTTPC_TIMEOUT ? "TimeoutError" : "NetworkError",
			    "%s", a->response.errbuf);
		/* Bytes of the request on the wire: the store may have applied it. */
		err->outcome_unknown = (a->x.sent > 0 || a->x.result == HTTPC_TOO_LARGE) &&
		    is_single_write(op);
		return -1;
	}
	status = a->response.status;
	if (status == 200 && a->plain) {
		const char *why;
		bool unmarshal;

		if ((*response = ddb_answer_parse(a->response.body.data, a->response.body.len,
		    &why, &unmarshal)) != NULL)
			return 0;
		if (unmarshal)
			error_set(err, 200, "UnmarshalError", "%s answered with an item: %s", op, why);
		else
			error_set(err, 200, "InvalidResponse", "%s answered with a body that is not a JSON object", op);
		/* A 200 says the write happened: never sent again blindly. */
		err->outcome_unknown = is_single_write(op);
		return -1;
	}
	body = json_parse_body(a->response.body.data, a->response.body.len);
	if (status == 200) {
		if (body == NULL || !json_object_is_type(body, json_type_object)) {
			json_object_put(body);
			error_set(err, 200, "InvalidResponse", "%s answered with a body that is not a JSON object", op);
			err->outcome_unknown = is_single_write(op);
			return -1;
		}
		*response = body;
		return 0;
	}

	code = NULL;
	if (body != NULL && json_object_object_get_ex(body, "__type", &type) &&
	    json_object_is_type(type, json_type_string)) {
		code = json_object_get_string(type);
		if ((hash = strrchr(code, '#')) != NULL)
			code = hash + 1;
	}
	if (code == NULL || *code == '\0')
		code = status >= 500 ? "InternalServerError" : "UnknownError";
	text = NULL;
	if (body != NULL && (json_object_object_get_ex(body, "message", &message) ||
	    json_object_object_get_ex(body, "Message", &message)))
		text = json_object_get_string(message);
	error_set(err, (int)status, code, "%s", text != NULL ? text : "");
	/* A 5xx says nothing about whether the write happened. */
	err->outcome_unknown = status >= 500 && is_single_write(op);
	if (strcmp(err->code, "TransactionCanceledException") == 0)
		error_cancellation_reasons(body, err);
	if (strcmp(err->code, "ExpiredTokenException") == 0)
		creds_invalidate();
	json_object_put(body);
	return -1;
}

/* Runs attempts of op until success, a final error, the attempt limit or the
 * deadline; attempts_done counts attempts already made (err holds the last). */
static int
call_with_retries(struct ddb *ddb, const char *op, const char *body, bool plain,
    json_object **response, struct ddb_error *err, int attempts_done)
{
	struct attempt	 a;
	int64_t		 backoff, started = mono_ms();
	int		 n;

	for (n = attempts_done + 1; n <= DDB_MAX_ATTEMPTS; n++) {
		if (n > 1) {
			backoff = ddb_backoff_ms(n - 1);
			if (ddb->deadline_ms != 0 && now_ms() + backoff >= ddb->deadline_ms)
				break;
			log_warn("ddb retry", LOG_S("op", op), LOG_S("code", err->code),
			    LOG_I("status", err->http_status), LOG_I("attempt", n),
			    LOG_I("backoff_ms", backoff));
			sleep_ms(backoff);
		}
		attempt_init(ddb, &a, 0, plain);
		err->attempts = n;
		if (attempt_prepare(ddb, &a, op, body, err) == -1) {
			attempt_cleanup(&a);
			if (!err->retryable)
				break;
			continue;
		}
		(void)httpc_exchange_run(&a.x, 1);
		if (attempt_finish(ddb, &a, op, response, err) == 0) {
			attempt_cleanup(&a);
			log_debug("ddb call", LOG_S("op", op), LOG_I("attempts", n),
			    LOG_I("ms", mono_ms() - started));
			return 0;
		}
		attempt_cleanup(&a);
		if (!err->retryable || err->outcome_unknown)
			break;
	}
	log_debug("ddb call failed", LOG_S("op", op), LOG_S("code", err->code),
	    LOG_I("status", err->http_status), LOG_I("attempts", err->attempts));
	return -1;
}

/* Called after every write (see ddb_set_write_hook). */
static void (*write_hook)(void);
static bool is_write_op(const char *op);

/* One operation with retries, its items in the wire or the plain form. */
static int
call_form(struct ddb *ddb, const char *op, json_object *request, bool plain,
    json_object **response, struct ddb_error *err)
{
	struct buf	 body = BUF_INIT;
	int		 rc;

	memset(err, 0, sizeof *err);
	*response = NULL;
	json_write_value(&body, request);
	rc = call_with_retries(ddb, op, body.data, plain, response, err, 0);
	buf_free(&body);
	/* After any write attempt, whatever its outcome (a timed-out write may
	 * still have happened), tell the observer: caches must not serve what
	 * was read before it. */
	if (write_hook != NULL && is_write_op(op))
		write_hook();
	return rc;
}

/* Raw call of one operation with retries; *response is the caller's. */
int
ddb_call(struct ddb *ddb, const char *op, json_object *request,
    json_object **response, struct ddb_error *err)
{
	return call_form(ddb, op, request, false, response, err);
}

/* The same, with the answer's items unmarshalled as it is read. */
int
ddb_call_plain(struct ddb *ddb, const char *op, json_object *request,
    json_object **response, struct ddb_error *err)
{
	return call_form(ddb, op, request, true, response, err);
}

void
ddb_set_write_hook(void (*hook)(void))
{
	write_hook = hook;
}

/* True for the operations that change items. */
static bool
is_write_op(const char *op)
{
	return strcmp(op, "PutItem") == 0 || strcmp(op, "UpdateItem") == 0 ||
	    strcmp(op, "DeleteItem") == 0 || strcmp(op, "BatchWriteItem") == 0 ||
	    strcmp(op, "TransactWriteItems") == 0;
}

/* PutItem, UpdateItem, DeleteItem: not retried blindly when their outcome is
 * unknown (BatchWriteItem puts whole items and TransactWriteItems carries a
 * ClientRequestToken: both may be sent again). */
static bool
is_single_write(const char *op)
{
	return strcmp(op, "PutItem") == 0 || strcmp(op, "UpdateItem") == 0 ||
	    strcmp(op, "DeleteItem") == 0;
}

/* Runs up to DDB_PARALLEL_MAX first attempts at once, one per connection. */
static void
parallel_chunk(struct ddb *ddb, struct ddb_op *ops, size_t n, char **bodies)
{
	struct attempt		 a[DDB_PARALLEL_MAX];
	struct httpc_exchange	 x[DDB_PARALLEL_MAX];
	size_t			 index[DDB_PARALLEL_MAX], i, k = 0;

	for (i = 0; i < n; i++) {
		attempt_init(ddb, &a[i], i, ops[i].plain);
		ops[i].err.attempts = 1;
		if (attempt_prepare(ddb, &a[i], ops[i].op, bodies[i], &ops[i].err) == 0) {
			index[k] = i;
			x[k++] = a[i].x;
		} else
			ops[i].rc = -1;
	}
	(void)httpc_exchange_run(x, k);
	for (i = 0; i < k; i++)
		a[index[i]].x = x[i];
	for (i = 0; i < n; i++) {
		if (a[i].x.request != NULL)
			ops[i].rc = attempt_finish(ddb, &a[i], ops[i].op, &ops[i].response,
			    &ops[i].err);
		attempt_cleanup(&a[i]);
	}
}

/* Several independent calls at once; retryable failures are then retried one
 * by one. 0 when all succeeded, -1 when any failed (see each err). */
int
ddb_call_parallel(struct ddb *ddb, struct ddb_op *ops, size_t n)
{
	char	**bodies;
	size_t	  i, done, chunk;
	int	  rc = 0;

	if (n == 0)
		return 0;
	bodies = xcalloc(n, sizeof *bodies);
	for (i = 0; i < n; i++) {
		memset(&ops[i].err, 0, sizeof ops[i].err);
		ops[i].response = NULL;
		ops[i].rc = -1;
		struct buf b = BUF_INIT;

		json_write_value(&b, ops[i].request);
		bodies[i] = buf_steal(&b);
	}
	for (done = 0; done < n; done += chunk) {
		chunk = n - done < DDB_PARALLEL_MAX ? n - done : DDB_PARALLEL_MAX;
		parallel_chunk(ddb, ops + done, chunk, bodies + done);
	}
	for (i = 0; i < n; i++) {
		if (ops[i].rc == -1 && ops[i].err.retryable && !ops[i].err.outcome_unknown)
			ops[i].rc = call_with_retries(ddb, ops[i].op, bodies[i], ops[i].plain,
			    &ops[i].response,
			    &ops[i].err, ops[i].err.attempts);
		if (ops[i].rc == -1)
			rc = -1;
		free(bodies[i]);
	}
	free(bodies);
	return rc;
}

/* Adds a new reference to every member of extra (may be NULL) to request. */
static void
merge_extra(json_object *request, json_object *extra)
{
	if (extra == NULL || !json_object_is_type(extra, json_type_object))
		return;
	json_object_object_foreach(extra, key, value)
		json_object_object_add(request, key, json_object_get(value));
}

/* Hands a new reference to member name of obj to *out (NULL when absent). */
static void
take_member(json_object *obj, const char *name, json_object **out)
{
	json_object	*value;

	if (out == NULL)
		return;
	*out = NULL;
	if (json_object_object_get_ex(obj, name, &value) &&
	    !json_object_is_type(value, json_type_null))
		*out = json_object_get(value);
}

/* A request {"TableName": table, name: value}; value is borrowed. */
static json_object *
table_request(const char *table, const char *name, json_object *value)
{
	json_object	*req = json_object_new_object();

	json_object_object_add(req, "TableName", json_object_new_string(table));
	if (name != NULL)
		json_object_object_add(req, name, json_object_get(value));
	return req;
}

/* Runs an item operation and hands back the "Attributes" of its answer. */
static int
item_call(struct ddb *ddb, const char *op, json_object *req, json_object **attributes,
    struct ddb_error *err)
{
	json_object	*resp;
	int		 rc;

	if (attributes != NULL)
		*attributes = NULL;
	rc = ddb_call(ddb, op, req, &resp, err);
	json_object_put(req);
	if (rc == -1)
		return -1;
	take_member(resp, "Attributes", attributes);
	json_object_put(resp);
	return 0;
}

/* GetItem in either form. */
static int
get_item_form(struct ddb *ddb, const char *table, json_object *key, bool consistent,
    bool plain, json_object **item, struct ddb_error *err)
{
	json_object	*req, *resp;
	int		 rc;

	*item = NULL;
	req = table_request(table, "Key", key);
	if (consistent)
		json_object_object_add(req, "ConsistentRead", json_object_new_boolean(1));
	rc = call_form(ddb, "GetItem", req, plain, &resp, err);
	json_object_put(req);
	if (rc == -1)
		return -1;
	take_member(resp, "Item", item);
	json_object_put(resp);
	return 0;
}

/* GetItem: *item is the item (a new reference) or NULL when absent. */
int
ddb_get_item(struct ddb *ddb, const char *table, json_object *key, bool consistent,
    json_object **item, struct ddb_error *err)
{
	return get_item_form(ddb, table, key, consistent, false, item, err);
}

/* GetItem: *item is the plain item or NULL when absent. */
int
ddb_get_item_plain(struct ddb *ddb, const char *table, json_object *key, bool consistent,
    json_object **item, struct ddb_error *err)
{
	return get_item_form(ddb, table, key, consistent, true, item, err);
}

/* PutItem with extra merged in; *attributes per ReturnValues (may be NULL). */
int
ddb_put_item(struct ddb *ddb, const char *table, json_object *item,
    json_object *extra, json_object **attributes, struct ddb_error *err)
{
	json_object	*req = table_request(table, "Item", item);

	merge_extra(req, extra);
	return item_call(ddb, "PutItem", req, attributes, err);
}

/* UpdateItem with extra (UpdateExpression, ...) merged in. */
int
ddb_update_item(struct ddb *ddb, const char *table, json_object *key,
    json_object *extra, json_object **attributes, struct ddb_error *err)
{
	json_object	*req = table_request(table, "Key", key);

	merge_extra(req, extra);
	return item_call(ddb, "UpdateItem", req, attributes, err);
}

/* DeleteItem with extra merged in. */
int
ddb_delete_item(struct ddb *ddb, const char *table, json_object *key,
    json_object *extra, json_object **attributes, struct ddb_error *err)
{
	json_object	*req = table_request(table, "Key", key);

	merge_extra(req, extra);
	return item_call(ddb, "DeleteItem", req, attributes, err);
}

/* A shallow copy of request with ExclusiveStartKey set to start (or removed). */
static json_object *
request_with_start(json_object *request, json_object *start)
{
	json_object	*req = json_object_new_object();

	json_object_object_foreach(request, key, value) {
		if (strcmp(key, "ExclusiveStartKey") != 0)
			json_object_object_add(req, key, json_object_get(value));
	}
	if (start != NULL)
		json_object_object_add(req, "ExclusiveStartKey", json_object_get(start));
	return req;
}

/* One Query or Scan call: new references to Items (an array) and LastEvaluatedKey. */
static int
page_call(struct ddb *ddb, const char *op, bool plain, json_object *request, json_object **items,
    json_object **last_key, struct ddb_error *err)
{
	json_object	*resp;

	*items = NULL;
	*last_key = NULL;
	if (call_form(ddb, op, request, plain, &resp, err) == -1)
		return -1;
	take_member(resp, "Items", items);
	if (*items == NULL || !json_object_is_type(*items, json_type_array)) {
		json_object_put(*items);
		*items = json_object_new_array();
	}
	take_member(resp, "LastEvaluatedKey", last_key);
	json_object_put(resp);
	return 0;
}

/* Follows LastEvaluatedKey to the end; *items is a new array of all items. */
static int
pages_all(struct ddb *ddb, const char *op, bool plain, json_object *request, json_object **items,
    struct ddb_error *err)
{
	json_object	*all = json_object_new_array(), *page, *last = NULL, *req;
	size_t		 i, n;
	int		 pages;

	*items = NULL;
	for (pages = 0; pages < DDB_PAGES_MAX; pages++) {
		req = request_with_start(request, last);
		json_object_put(last);
		if (page_call(ddb, op, plain, req, &page, &last, err) == -1) {
			json_object_put(req);
			json_object_put(all);
			return -1;
		}
		json_object_put(req);
		n = json_object_array_length(page);
		for (i = 0; i < n; i++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(page, i)));
		json_object_put(page);
		if (last == NULL) {
			*items = all;
			return 0;
		}
	}
	json_object_put(last);
	json_object_put(all);
	memset(err, 0, sizeof *err);
	error_set(err, 0, "TooManyPages", "%s did not end after %d pages", op, DDB_PAGES_MAX);
	return -1;
}

/* Query to the end; *items is a new array. */
int
ddb_query_all(struct ddb *ddb, json_object *request, json_object **items, struct ddb_error *err)
{
	return pages_all(ddb, "Query", false, request, items, err);
}

/* Query to the end; *items is a new array of plain items. */
int
ddb_query_all_plain(struct ddb *ddb, json_object *request, json_object **items,
    struct ddb_error *err)
{
	return pages_all(ddb, "Query", true, request, items, err);
}

/* Scan to the end; *items is a new array. */
int
ddb_scan_all(struct ddb *ddb, json_object *request, json_object **items, struct ddb_error *err)
{
	return pages_all(ddb, "Scan", false, request, items, err);
}

/* Scan to the end; *items is a new array of plain items. */
int
ddb_scan_all_plain(struct ddb *ddb, json_object *request, json_object **items,
    struct ddb_error *err)
{
	return pages_all(ddb, "Scan", true, request, items, err);
}

/* One Query page; *last_key is the cursor or NULL at the end. */
int
ddb_query_page(struct ddb *ddb, json_object *request, json_object **items,
    json_object **last_key, struct ddb_error *err)
{
	return page_call(ddb, "Query", false, request, items, last_key, err);
}

/* One Query page of plain items; *last_key (wire form) as ddb_query_page. */
int
ddb_query_page_plain(struct ddb *ddb, json_object *request, json_object **items,
    json_object **last_key, struct ddb_error *err)
{
	return page_call(ddb, "Query", true, request, items, last_key, err);
}

/* One Scan page; *last_key is the cursor or NULL at the end. */
int
ddb_scan_page(struct ddb *ddb, json_object *request, json_object **items,
    json_object **last_key, struct ddb_error *err)
{
	return page_call(ddb, "Scan", false, request, items, last_key, err);
}

/* Waits before resubmission round (1-based) of unprocessed batch entries;
 * -1 with err when the round limit or the deadline is reached. */
static int
batch_backoff(struct ddb *ddb, const char *what, int round, size_t left, struct ddb_error *err)
{
	int64_t	 backoff;

	if (round >= DDB_BATCH_ROUNDS_MAX)
		goto give_up;
	backoff = ddb_backoff_ms(round);
	if (ddb->deadline_ms != 0 && now_ms() + backoff >= ddb->deadline_ms)
		goto give_up;
	log_warn("ddb batch resubmit", LOG_S("what", what), LOG_I("left", left),
	    LOG_I("round", round), LOG_I("backoff_ms", backoff));
	sleep_ms(backoff);
	return 0;
give_up:
	memset(err, 0, sizeof *err);
	error_set(err, 0, what, "%zu entries still unprocessed after %d submissions", left, round);
	err->attempts = round;
	return -1;
}

/* Gets one chunk of at most DDB_BATCH_GET_MAX keys, resubmitting
 * UnprocessedKeys; appends new references to the items to out. */
static int
batch_get_chunk(struct ddb *ddb, const char *table, json_object *keys, json_object *out,
    struct ddb_error *err)
{
	json_object	*req, *request_items, *spec, *resp, *found, *unprocessed, *next;
	size_t		 i, n;
	int		 round, rc = -1;

	keys = json_object_get(keys);
	for (round = 1;; round++) {
		spec = json_object_new_object();
		json_object_object_add(spec, "Keys", keys);
		request_items = json_object_new_object();
		json_object_object_add(request_items, table, spec);
		req = json_object_new_object();
		json_object_object_add(req, "RequestItems", request_items);
		rc = ddb_call(ddb, "BatchGetItem", req, &resp, err);
		json_object_put(req);
		if (rc == -1)
			return -1;
		if (json_object_object_get_ex(resp, "Responses", &found) &&
		    json_object_object_get_ex(found, table, &found)) {
			n = json_object_array_length(found);
			for (i = 0; i < n; i++)
				json_object_array_add(out, json_object_get(json_object_array_get_idx(found, i)));
		}
		next = NULL;
		if (json_object_object_get_ex(resp, "UnprocessedKeys", &unprocessed) &&
		    json_object_object_get_ex(unprocessed, table, &unprocessed) &&
		    json_object_object_get_ex(unprocessed, "Keys", &next) &&
		    json_object_array_length(next) > 0)
			keys = json_object_get(next);
		else
			next = NULL;
		json_object_put(resp);
		if (next == NULL)
			return 0;
		if (batch_backoff(ddb, "UnprocessedKeys", round, json_object_array_length(keys), err) == -1) {
			json_object_put(keys);
			return -1;
		}
	}
}

/* BatchGetItem over any number of keys; *items is a new array (any order). */
int
ddb_batch_get(struct ddb *ddb, const char *table, json_object *keys,
    json_object **items, struct ddb_error *err)
{
	json_object	*all = json_object_new_array(), *chunk;
	size_t		 i, j, n = json_object_array_length(keys);

	*items = NULL;
	memset(err, 0, sizeof *err);
	for (i = 0; i < n; i += DDB_BATCH_GET_MAX) {
		chunk = json_object_new_array();
		for (j = i; j < n && j < i + DDB_BATCH_GET_MAX; j++)
			json_object_array_add(chunk, json_object_get(json_object_array_get_idx(keys, j)));
		if (batch_get_chunk(ddb, table, chunk, all, err) == -1) {
			json_object_put(chunk);
			json_object_put(all);
			return -1;
		}
		json_object_put(chunk);
	}
	*items = all;
	return 0;
}

/* Writes one chunk of at most DDB_BATCH_WRITE_MAX write requests, resubmitting
 * UnprocessedItems. */
static int
batch_write_chunk(struct ddb *ddb, const char *table, json_object *writes, struct ddb_error *err)
{
	json_object	*req, *request_items, *resp, *unprocessed, *next;
	int		 round;

	writes = json_object_get(writes);
	for (round = 1;; round++) {
		request_items = json_object_new_object();
		json_object_object_add(request_items, table, writes);
		req = json_object_new_object();
		json_object_object_add(req, "RequestItems", request_items);
		if (ddb_call(ddb, "BatchWriteItem", req, &resp, err) == -1) {
			json_object_put(req);
			return -1;
		}
		json_object_put(req);
		next = NULL;
		if (json_object_object_get_ex(resp, "UnprocessedItems", &unprocessed) &&
		    json_object_object_get_ex(unprocessed, table, &next) &&
		    json_object_array_length(next) > 0)
			writes = json_object_get(next);
		else
			next = NULL;
		json_object_put(resp);
		if (next == NULL)
			return 0;
		if (batch_backoff(ddb, "UnprocessedItems", round, json_object_array_length(writes), err) == -1) {
			json_object_put(writes);
			return -1;
		}
	}
}

/* A write request {"PutRequest": {"Item": item}} or {"DeleteRequest": {"Key": key}}. */
static json_object *
write_request(const char *kind, const char *member, json_object *value)
{
	json_object	*inner = json_object_new_object(), *outer = json_object_new_object();

	json_object_object_add(inner, member, json_object_get(value));
	json_object_object_add(outer, kind, inner);
	return outer;
}

/* BatchWriteItem of puts and deletes (either may be NULL), 25 at a time. */
int
ddb_batch_write(struct ddb *ddb, const char *table, json_object *puts,
    json_object *deletes, struct ddb_error *err)
{
	json_object	*all = json_object_new_array(), *chunk;
	size_t		 i, j, n;
	int		 rc = 0;

	memset(err, 0, sizeof *err);
	n = puts != NULL ? json_object_array_length(puts) : 0;
	for (i = 0; i < n; i++)
		json_object_array_add(all, write_request("PutRequest", "Item",
		    json_object_array_get_idx(puts, i)));
	n = deletes != NULL ? json_object_array_length(deletes) : 0;
	for (i = 0; i < n; i++)
		json_object_array_add(all, write_request("DeleteRequest", "Key",
		    json_object_array_get_idx(deletes, i)));
	n = json_object_array_length(all);
	for (i = 0; i < n && rc == 0; i += DDB_BATCH_WRITE_MAX) {
		chunk = json_object_new_array();
		for (j = i; j < n && j < i + DDB_BATCH_WRITE_MAX; j++)
			json_object_array_add(chunk, json_object_get(json_object_array_get_idx(all, j)));
		rc = batch_write_chunk(ddb, table, chunk, err);
		json_object_put(chunk);
	}
	json_object_put(all);
	return rc;
}

/* TransactWriteItems with a ClientRequestToken, so retries are idempotent. */
int
ddb_transact_write(struct ddb *ddb, json_object *transact_items, struct ddb_error *err)
{
	json_object	*req = json_object_new_object(), *resp;
	unsigned char	 raw[DDB_TOKEN_BYTES];
	char		 token[2 * DDB_TOKEN_BYTES + 1];
	int		 rc;

	random_bytes(raw, sizeof raw);
	hex_encode(raw, sizeof raw, token);
	json_object_object_add(req, "TransactItems", json_object_get(transact_items));
	json_object_object_add(req, "ClientRequestToken", json_object_new_string(token));
	rc = ddb_call(ddb, "TransactWriteItems", req, &resp, err);
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

/* CreateTable from a complete request. */
int
ddb_create_table(struct ddb *ddb, json_object *request, struct ddb_error *err)
{
	json_object	*resp;

	if (ddb_call(ddb, "CreateTable", request, &resp, err) == -1)
		return -1;
	json_object_put(resp);
	return 0;
}

/* DescribeTable: *description is a new reference to the Table object. */
int
ddb_describe_table(struct ddb *ddb, const char *table, json_object **description,
    struct ddb_error *err)
{
	json_object	*req = table_request(table, NULL, NULL), *resp;
	int		 rc;

	*description = NULL;
	rc = ddb_call(ddb, "DescribeTable", req, &resp, err);
	json_object_put(req);
	if (rc == -1)
		return -1;
	take_member(resp, "Table", description);
	json_object_put(resp);
	return 0;
}

/* DeleteTable. */
int
ddb_delete_table(struct ddb *ddb, const char *table, struct ddb_error *err)
{
	json_object	*req = table_request(table, NULL, NULL), *resp;
	int		 rc;

	rc = ddb_call(ddb, "DeleteTable", req, &resp, err);
	json_object_put(req);
	json_object_put(resp);
	return rc;
}

/* True when the table and all its global secondary indexes are ACTIVE. */
static bool
table_active(json_object *table)
{
	json_object	*status, *indexes, *index;
	size_t		 i, n;

	if (!json_object_object_get_ex(table, "TableStatus", &status) ||
	    strcmp(json_object_get_string(status), "ACTIVE") != 0)
		return false;
	if (!json_object_object_get_ex(table, "GlobalSecondaryIndexes", &indexes) ||
	    !json_object_is_type(indexes, json_type_array))
		return true;
	n = json_object_array_length(indexes);
	for (i = 0; i < n; i++) {
		index = json_object_array_get_idx(indexes, i);
		if (!json_object_object_get_ex(index, "IndexStatus", &status) ||
		    strcmp(json_object_get_string(status), "ACTIVE") != 0)
			return false;
	}
	return true;
}

/* Polls DescribeTable until the table is ACTIVE (or gone), or timeout_ms passes. */
int
ddb_wait_table(struct ddb *ddb, const char *table, bool want_active, int timeout_ms,
    struct ddb_error *err)
{
	json_object	*desc;
	int64_t		 until = mono_ms() + timeout_ms;
	bool		 done;

	for (;;) {
		if (ddb_describe_table(ddb, table, &desc, err) == -1) {
			if (strcmp(err->code, "ResourceNotFoundException") != 0)
				return -1;
			if (!want_active) {
				memset(err, 0, sizeof *err);
				return 0;
			}
			/* Like the SDK waiters: a table just created may not show yet. */
			done = false;
		} else {
			done = want_active && table_active(desc);
			json_object_put(desc);
		}
		if (done)
			return 0;
		if (mono_ms() + DDB_WAIT_POLL_MS > until)
			break;
		sleep_ms(DDB_WAIT_POLL_MS);
	}
	memset(err, 0, sizeof *err);
	error_set(err, 0, "TimeoutError", "table %s not %s after %d ms", table,
	    want_active ? "ACTIVE" : "deleted", timeout_ms);
	err->retryable = false;
	return -1;
}
