/* exchange_test.c - HTTP/1.1 exchanges on kept connections (httpc_exchange_run)
 * against a scripted server on 127.0.0.1: framing (Content-Length, chunked,
 * to the end of the connection, interim answers, answers in pieces), reuse
 * and its limits (Connection: close, a peer that closed the idle connection,
 * bytes after an answer), failures (time-out, early close, malformed or
 * oversized answers, refused connection) and several exchanges at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpc.h"
#include "util.h"

#define MAX_STEPS	8

/* What the server does with the next request it reads. */
struct step {
	const char	*answer;	/* written in full (NULL: no answer, hold) */
	int		 delay_ms;	/* before answering */
	bool		 bytewise;	/* one byte per write, 1 ms apart */
	bool		 close_after;	/* close the connection after answering */
};

#define SAY(a)		((struct step){ .answer = (a) })
#define SAY_LATE(a, ms)	((struct step){ .answer = (a), .delay_ms = (ms) })
#define SAY_BYTEWISE(a)	((struct step){ .answer = (a), .bytewise = true })
#define SAY_CLOSE(a)	((struct step){ .answer = (a), .close_after = true })
#define HOLD		((struct step){ .answer = NULL })

static struct {
	int			 listen_fd;
	int			 port;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	struct step		 steps[MAX_STEPS];
	int			 nsteps, next;
	atomic_int		 accepts;
	atomic_bool		 stop;
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Reads one request (head and Content-Length body); -1 at the end. */
static int
read_request(int fd)
{
	char buf[8192];
	size_t len = 0;
	char *blank, *cl;
	long body;
	ssize_t n;

	for (;;) {
		if ((n = read(fd, buf + len, sizeof buf - 1 - len)) <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if ((blank = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(buf, "content-length:");
		body = cl != NULL ? strtol(cl + 15, NULL, 10) : 0;
		if ((long)(len - (size_t)(blank + 4 - buf)) >= body)
			return 0;
	}
}

/* Serves one connection: each request gets the next step. */
static void *
serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct step st;

	while (read_request(fd) == 0) {
		pthread_mutex_lock(&srv.lock);
		st = srv.next < srv.nsteps ? srv.steps[srv.next++] : SAY_CLOSE(NULL);
		pthread_mutex_unlock(&srv.lock);
		if (st.delay_ms > 0)
			usleep((useconds_t)st.delay_ms * 1000);
		if (st.answer == NULL) {
			while (!atomic_load(&srv.stop) && read(fd, (char[1]){ 0 }, 1) > 0)
				;
			break;
		}
		if (st.bytewise) {
			for (size_t i = 0; st.answer[i] != '\0'; i++) {
				if (write(fd, st.answer + i, 1) != 1)
					break;
				usleep(1000);
			}
		} else if (write(fd, st.answer, strlen(st.answer)) < 0)
			break;
		if (st.close_after)
			break;
	}
	close(fd);
	return NULL;
}

static void *
accept_loop(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(srv.listen_fd, NULL, NULL);
		pthread_t t;

		if (fd == -1 || atomic_load(&srv.stop)) {
			if (fd != -1)
				close(fd);
			return NULL;
		}
		atomic_fetch_add(&srv.accepts, 1);
		pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}

static int
group_setup(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;

	(void)state;
	srv.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (srv.listen_fd == -1 || bind(srv.listen_fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    listen(srv.listen_fd, 16) == -1 ||
	    getsockname(srv.listen_fd, (struct sockaddr *)&sa, &sl) == -1)
		return -1;
	srv.port = ntohs(sa.sin_port);
	return pthread_create(&srv.thread, NULL, accept_loop, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	atomic_store(&srv.stop, true);
	shutdown(srv.listen_fd, SHUT_RDWR);
	close(srv.listen_fd);
	pthread_join(srv.thread, NULL);
	return 0;
}

/* Replaces the script: steps for the next requests, in order. */
static void
script(int n, ...)
{
	va_list ap;

	va_start(ap, n);
	pthread_mutex_lock(&srv.lock);
	for (int i = 0; i < n; i++)
		srv.steps[i] = va_arg(ap, struct step);
	srv.nsteps = n;
	srv.next = 0;
	pthread_mutex_unlock(&srv.lock);
	va_end(ap);
	atomic_store(&srv.accepts, 0);
}

static const struct httpc_options opt = { .connect_timeout_ms = 1000, .max_idle_s = 4 };
static const char request[] = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}";

/* One exchange on conn with a time limit of ms; returns its result. */
static enum httpc_result
exchange(struct httpc_conn *conn, struct httpc_response *res, const char *url, int ms)
{
	char *own = NULL;
	struct httpc_exchange x = { .conn = conn, .opt = &opt, .request = request,
	    .request_len = sizeof request - 1, .end_ms = now_ms() + ms, .res = res };

	if (url == NULL)
		url = own = xasprintf("http://127.0.0.1:%d/", srv.port);
	x.url = url;
	(void)httpc_exchange_run(&x, 1);
	assert_true(x.result != HTTPC_OK || x.sent == x.request_len);
	free(own);
	return x.result;
}

#define OK_12 "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"a\":\"1234\"}"

/* Content-Length answers on one kept connection. */
static void
test_kept_connection(void **state)
{
	struct httpc_conn conn = { .fd = -1 };
	struct httpc_response res;

	(void)state;
	script(2, SAY(OK_12), SAY("HTTP/1.1 404 Not Found\r\ncontent-length:  0 \r\n\r\n"));
	httpc_response_init(&res, 1024);
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.data, "{\"a\":\"1234\"}");
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_int_equal(res.status, 404);
	assert_int_equal(res.body.len, 0);
	assert_int_equal(atomic_load(&srv.accepts), 1);
	httpc_response_reset(&res);
	httpc_conn_close(&conn);
}

/* Chunked (extensions, trailers), sent a byte at a time, then reuse. */
static void
test_chunked_in_pieces(void **state)
{
	struct httpc_conn conn = { .fd = -1 };
	struct httpc_response res;

	(void)state;
	script(2, SAY_BYTEWISE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "4;x=y\r\nabcd\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"),
	    SAY(OK_12));
	httpc_response_init(&res, 1024);
	assert_int_equal(exchange(&conn, &res, NULL, 5000), HTTPC_OK);
	assert_string_equal(res.body.data, "abcd0123456789");
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_string_equal(res.body.data, "{\"a\":\"1234\"}");
	assert_int_equal(atomic_load(&srv.accepts), 1);
	httpc_response_reset(&res);
	httpc_conn_close(&conn);
}

/* No length: the body ends with the connection, which is not reused. */
static void
test_body_to_close(void **state)
{
	struct httpc_conn conn = { .fd = -1 };
	struct httpc_response res;

	(void)state;
	script(2, SAY_CLOSE("HTTP/1.0 200 OK\r\n\r\nuntil the end"),
	    SAY(OK_12));
	httpc_response_init(&res, 1024);
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_string_equal(res.body.data, "until the end");
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_int_equal(atomic_load(&srv.accepts), 2);
	httpc_response_reset(&res);
	httpc_conn_close(&conn);
}

/* Connection: close, an interim 100, and a peer that closed the idle
 * connection: each next exchange connects again and succeeds. */
static void
test_reconnects(void **state)
{
	struct httpc_conn conn = { .fd = -1 };
	struct httpc_response res;

	(void)state;
	script(4, SAY("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 1\r\n\r\nx"),
	    SAY_CLOSE("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nyz"),
	    SAY(OK_12), SAY(OK_12));
	httpc_response_init(&res, 1024);
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_string_equal(res.body.data, "x");
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.data, "yz");
	usleep(50 * 1000);	/* the server has closed it by now */
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_string_equal(res.body.data, "{\"a\":\"1234\"}");
	assert_int_equal(atomic_load(&srv.accepts), 3);
	httpc_response_reset(&res);
	httpc_conn_close(&conn);
}

/* Bytes after a complete answer: the answer stands, the connection goes. */
static void
test_bytes_after_answer(void **state)
{
	struct httpc_conn conn = { .fd = -1 };
	struct httpc_response res;

	(void)state;
	script(2, SAY(OK_12 "HTTP/1.1 200 OK\r\n"), SAY(OK_12));
	httpc_response_init(&res, 1024);
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_string_equal(res.body.data, "{\"a\":\"1234\"}");
	assert_null(conn.easy);
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_int_equal(atomic_load(&srv.accepts), 2);
	httpc_response_reset(&res);
	httpc_conn_close(&conn);
}

/* A silent server: HTTPC_TIMEOUT at end_ms, the request counted as sent. */
static void
test_timeout(void **state)
{
	struct httpc_conn conn = { .fd = -1 };
	struct httpc_response res;
	int64_t t0 = mono_ms(), took;
	struct httpc_exchange x;

	(void)state;
	script(1, HOLD);
	httpc_response_init(&res, 1024);
	x = (struct httpc_exchange){ .conn = &conn, .opt = &opt, .request = request,
	    .request_len = sizeof request - 1, .end_ms = now_ms() + 300, .res = &res };
	x.url = xasprintf("http://127.0.0.1:%d/", srv.port);
	assert_int_equal(httpc_exchange_run(&x, 1), -1);
	took = mono_ms() - t0;
	assert_int_equal(x.result, HTTPC_TIMEOUT);
	assert_int_equal(x.sent, sizeof request - 1);
	assert_true(took >= 250 && took < 2000);
	assert_non_null(strstr(res.errbuf, "time ran out"));
	assert_null(conn.easy);
	free((char *)x.url);
	httpc_response_reset(&res);
}

/* 70 KB of trailer lines (over the head limit of 64 KiB). */
#define TRAILER_LINE	"X-Trailer-Line: 0123456789012345678901234567890123456789\r\n"
#define TRAILERS_1K	TRAILER_LINE TRAILER_LINE TRAILER_LINE TRAILER_LINE TRAILER_LINE \
	TRAILER_LINE TRAILER_LINE TRAILER_LINE TRAILER_LINE TRAILER_LINE TRAILER_LINE \
	TRAILER_LINE TRAILER_LINE TRAILER_LINE TRAILER_LINE TRAILER_LINE
#define TRAILERS_7K	TRAILERS_1K TRAILERS_1K TRAILERS_1K TRAILERS_1K TRAILERS_1K TRAILERS_1K TRAILERS_1K
#define TRAILERS_70K	TRAILERS_7K TRAILERS_7K TRAILERS_7K TRAILERS_7K TRAILERS_7K \
	TRAILERS_7K TRAILERS_7K TRAILERS_7K TRAILERS_7K TRAILERS_7K TRAILERS_7K

/* Answers that fail: each a clear error, the connection closed. */
static void
test_bad_answers(void **state)
{
	static const struct {
		const char		*answer;
		enum httpc_result	 result;
		const char		*why;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"a\"", HTTPC_NETWORK, "closed inside the answer" },
		{ "HTTP/1.1 200 OK\r\nContent-", HTTPC_NETWORK, "closed inside the answer head" },
		{ "", HTTPC_NETWORK, "closed before an answer" },
		{ "SMTP ready\r\n\r\n", HTTPC_NETWORK, "status line" },
		{ "HTTP/1.1 2000 OK\r\n\r\n", HTTPC_NETWORK, "status line" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", HTTPC_NETWORK, "Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", HTTPC_NETWORK, "Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", HTTPC_NETWORK, "Content-Length" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", HTTPC_NETWORK, "Transfer-Encoding" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", HTTPC_NETWORK, "Transfer-Encoding" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" TRAILERS_70K, HTTPC_NETWORK, "trailers over" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HTTPC_NETWORK, "chunk size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", HTTPC_NETWORK, "malformed chunk" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab", HTTPC_NETWORK, "closed inside the answer" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", HTTPC_TOO_LARGE, "larger than" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n", HTTPC_TOO_LARGE, "larger than" },
		{ "HTTP/1.0 200 OK\r\n\r\n", HTTPC_OK, "" },
	};
	struct httpc_conn conn = { .fd = -1 };
	struct httpc_response res;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		script(1, SAY_CLOSE(cases[i].answer));
		httpc_response_init(&res, 1024);
		assert_int_equal(exchange(&conn, &res, NULL, 2000), cases[i].result);
		if (cases[i].result != HTTPC_OK) {
			if (strstr(res.errbuf, cases[i].why) == NULL)
				fail_msg("case %zu: \"%s\" does not say \"%s\"", i, res.errbuf, cases[i].why);
			assert_null(conn.easy);
		}
		assert_int_equal(cases[i].result == HTTPC_TOO_LARGE, res.too_large);
		httpc_response_reset(&res);
	}
	httpc_conn_close(&conn);
}

/* keep_prefix: the first max bytes, the exchange succeeds, the connection is
 * closed (the rest is not read); keep_head: the head is there, also when the
 * body is too large. */
static void
test_prefix_and_head(void **state)
{
	struct httpc_conn conn = { .fd = -1 };
	struct httpc_response res;

	(void)state;
	script(3, SAY("HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 12\r\n\r\n{\"a\":\"1234\"}"),
	    SAY("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n"),
	    SAY("HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-1\r\nContent-Length: 99\r\n\r\n"));
	httpc_response_init(&res, 4);
	res.keep_prefix = true;
	res.keep_head = true;
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_string_equal(res.body.data, "{\"a\"");
	assert_true(res.too_large);
	assert_string_equal(res.head.data, "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 12\r\n");
	assert_null(conn.easy);	/* the rest was not read: closed */
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_string_equal(res.body.data, "abcd");
	assert_true(res.too_large);
	assert_int_equal(atomic_load(&srv.accepts), 2);
	res.keep_prefix = false;
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_TOO_LARGE);
	assert_non_null(strstr(res.head.data, "Lambda-Runtime-Aws-Request-Id: r-1\r\n"));
	{
		char *v = httpc_head_value(&res, "lambda-runtime-aws-request-id");

		assert_non_null(v);
		assert_string_equal(v, "r-1");
		free(v);
		assert_null(httpc_head_value(&res, "lambda-runtime"));
	}
	httpc_response_reset(&res);
	httpc_conn_close(&conn);
}

/* Both Content-Length and chunked: the chunks count, the connection goes. */
static void
test_length_and_chunked(void **state)
{
	struct httpc_conn conn = { .fd = -1 };
	struct httpc_response res;

	(void)state;
	script(1, SAY("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nabcde\r\n0\r\n\r\n"));
	httpc_response_init(&res, 1024);
	assert_int_equal(exchange(&conn, &res, NULL, 2000), HTTPC_OK);
	assert_string_equal(res.body.data, "abcde");
	assert_null(conn.easy);
	httpc_response_reset(&res);
}

/* A chunk size near 2^64 (size + 2 wraps): no read past the buffer, in
 * either cap mode. */
static void
test_chunk_size_wraps(void **state)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "fffffffffffffffe\r\n0\r\n\r\n";
	struct httpc_response res;
	char *copy = xmalloc(sizeof answer - 1);	/* exactly its size: ASan sees an over-read */

	(void)state;
	memcpy(copy, answer, sizeof answer - 1);
	for (int prefix = 0; prefix < 2; prefix++) {
		httpc_response_init(&res, 4096);
		res.keep_prefix = prefix;
		assert_int_not_equal(httpc_answer_frame(copy, sizeof answer - 1, 7, &res), HTTPC_OK);
		assert_true(res.body.len == 0);
		httpc_response_reset(&res);
	}
	free(copy);
}

/* end_ms 0: no time limit (a long poll answered 300 ms later). */
static void
test_no_end(void **state)
{
	struct httpc_conn conn = { .fd = -1 };
	struct httpc_response res;
	struct httpc_exchange x;

	(void)state;
	script(1, SAY_LATE(OK_12, 300));
	httpc_response_init(&res, 1024);
	x = (struct httpc_exchange){ .conn = &conn, .opt = &opt, .request = request,
	    .request_len = sizeof request - 1, .end_ms = 0, .res = &res };
	x.url = xasprintf("http://127.0.0.1:%d/", srv.port);
	assert_int_equal(httpc_exchange_run(&x, 1), 0);
	assert_string_equal(res.body.data, "{\"a\":\"1234\"}");
	free((char *)x.url);
	httpc_response_reset(&res);
	httpc_conn_close(&conn);
}

/* Nothing listens: a network error, nothing sent. */
static void
test_refused(void **state)
{
	struct httpc_conn conn = { .fd = -1 };
	struct httpc_response res;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char *url;

	(void)state;
	/* A port that was free a moment ago and has no listener. */
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	url = xasprintf("http://127.0.0.1:%d/", ntohs(sa.sin_port));
	httpc_response_init(&res, 1024);
	assert_int_equal(exchange(&conn, &res, url, 2000), HTTPC_NETWORK);
	assert_true(strlen(res.errbuf) > 0);
	assert_null(conn.easy);
	free(url);
	httpc_response_reset(&res);
}

/* Three at once, each answered 300 ms late: every one gets its answer, and
 * together they take about 300 ms, not 900. */
static void
test_parallel(void **state)
{
	struct httpc_conn conn[3] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };
	struct httpc_response res[3];
	struct httpc_exchange x[3];
	char *url = xasprintf("http://127.0.0.1:%d/", srv.port);
	int64_t t0;

	(void)state;
	script(3, SAY_LATE("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", 300),
	    SAY_LATE("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", 300),
	    SAY_LATE("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc", 300));
	for (int i = 0; i < 3; i++) {
		httpc_response_init(&res[i], 1024);
		x[i] = (struct httpc_exchange){ .conn = &conn[i], .url = url, .opt = &opt,
		    .request = request, .request_len = sizeof request - 1,
		    .end_ms = now_ms() + 3000, .res = &res[i] };
	}
	t0 = mono_ms();
	assert_int_equal(httpc_exchange_run(x, 3), 0);
	assert_true(mono_ms() - t0 < 800);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(x[i].result, HTTPC_OK);
		assert_int_equal(res[i].body.len, 1);
		httpc_response_reset(&res[i]);
		httpc_conn_close(&conn[i]);
	}
	free(url);
}

/* Connections made side by side in a multi handle stay usable there: three
 * exchanges, one connection closed and made again beside the two kept ones,
 * then three more exchanges. */
static void
test_parallel_multi(void **state)
{
	struct httpc_conn conn[3] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };
	struct httpc_response res[3];
	struct httpc_exchange x[3];
	char *url = xasprintf("http://127.0.0.1:%d/", srv.port);
	CURLM *multi = curl_multi_init();

	(void)state;
	script(6, SAY(OK_12), SAY(OK_12), SAY(OK_12), SAY(OK_12), SAY(OK_12), SAY(OK_12));
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 3; i++) {
			httpc_response_init(&res[i], 1024);
			x[i] = (struct httpc_exchange){ .conn = &conn[i], .url = url, .opt = &opt,
			    .multi = multi, .request = request, .request_len = sizeof request - 1,
			    .end_ms = now_ms() + 3000, .res = &res[i] };
		}
		assert_int_equal(httpc_exchange_run(x, 3), 0);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(x[i].result, HTTPC_OK);
			assert_string_equal(res[i].body.data, "{\"a\":\"1234\"}");
			assert_ptr_equal(conn[i].multi, multi);
			httpc_response_reset(&res[i]);
		}
		if (round == 0)
			httpc_conn_close(&conn[1]);
	}
	assert_int_equal(atomic_load(&srv.accepts), 4);
	for (int i = 0; i < 3; i++)
		httpc_conn_close(&conn[i]);
	curl_multi_cleanup(multi);
	free(url);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_connection),
		cmocka_unit_test(test_chunked_in_pieces),
		cmocka_unit_test(test_body_to_close),
		cmocka_unit_test(test_reconnects),
		cmocka_unit_test(test_bytes_after_answer),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_bad_answers),
		cmocka_unit_test(test_prefix_and_head),
		cmocka_unit_test(test_no_end),
		cmocka_unit_test(test_length_and_chunked),
		cmocka_unit_test(test_chunk_size_wraps),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_parallel_multi),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
