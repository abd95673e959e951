/* portal_fcgi.c - the FastCGI worker (and plain CGI program).
 *
 * Design: a supervisor process forks --processes workers that share one
 * listening socket and replaces any that die. With nginx's fastcgi_keep_conn,
 * libfcgi's FCGX_Accept_r blocks reading the next request of a kept
 * connection: in libfcgi's threaded example (threads sharing an accept mutex)
 * one idle kept connection stalls every thread, and even a thread per
 * connection runs out of threads once nginx keeps more connections open than
 * there are threads. So no thread ever waits on an idle connection here:
 * each worker has one epoll set holding the listening socket and every idle
 * connection (one-shot), and a fixed pool of --threads threads, each with its
 * own context (its own DynamoDB handle), waits on that set. A thread woken
 * by a connection serves exactly one request from it and hands it back to
 * epoll; one woken by the listening socket accepts. Idle kept connections
 * cost a file descriptor, never a thread, and no request changes threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "util.h"

#define DEFAULT_THREADS		8
#define MAX_THREADS		1024
#define MAX_PROCESSES		64
#define DEFAULT_BACKLOG		1024
#define THREAD_STACK_BYTES	(256 * 1024)
#define DRAIN_LIMIT_BYTES	(8 * 1024 * 1024)
#define RESPAWN_WINDOW_MS	1000
#define POLL_INTERVAL_MS	200
#define MALLOC_ARENAS		2

struct options {
	const char	*socket_path;	/* unix path or host:port; NULL = inherited */
	int		 processes;
	int		 threads;
	int		 backlog;
	mode_t		 socket_mode;
};

static const struct config *worker_cfg;
static struct auth *worker_auth;
static volatile sig_atomic_t stopping;
static int epoll_fd = -1;

/* Sets the stop flag; the loops notice it. */
static void
on_stop_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Prints usage. */
static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: portal-fcgi [--socket PATH|HOST:PORT] [--processes N] [--threads N]\n"
	    "                   [--backlog N] [--socket-mode OCTAL] [--help] [--version]\n"
	    "\n"
	    "The TurboTech Portal API as a FastCGI application (behind nginx).\n"
	    "\n"
	    "  --socket PATH       listen on a unix socket (recommended; mode --socket-mode)\n"
	    "  --socket HOST:PORT  listen on TCP; only loopback addresses are accepted\n"
	    "                      (without --socket: the socket inherited on fd 0, as\n"
	    "                      spawn-fcgi hands it, or on fd 3 from systemd; when fd 0\n"
	    "                      is not a socket the program runs once as plain CGI)\n"
	    "  --processes N       worker processes (default: number of cores)\n"
	    "  --threads N         requests served at once per process (default %d)\n"
	    "  --backlog N         listen backlog (default %d)\n"
	    "  --socket-mode MODE  permissions of a unix socket (default 0660)\n"
	    "\n"
	    "Configuration comes from the environment (see README: PORTAL_ENV, AUTH0_DOMAIN,\n"
	    "AUTH0_AUDIENCE, AWS_*, CORS_ALLOW_ORIGINS, DIGEST_*, LOG_LEVEL ...).\n"
	    "Logs are JSON lines on stderr. SIGTERM finishes in-flight requests, then exits.\n",
	    DEFAULT_THREADS, DEFAULT_BACKLOG);
}

/* Parses the command line; exits on bad usage. */
static void
parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "processes", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "backlog", required_argument, NULL, 'b' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	long n, cores = sysconf(_SC_NPROCESSORS_ONLN);
	int c;

	opt->socket_path = NULL;
	opt->processes = cores > 0 ? (int)cores : 2;
	opt->threads = DEFAULT_THREADS;
	opt->backlog = DEFAULT_BACKLOG;
	opt->socket_mode = 0660;
	while ((c = getopt_long(argc, argv, "s:p:t:b:m:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt->socket_path = optarg;
			break;
		case 'p':
			if (parse_long(optarg, 1, MAX_PROCESSES, &n) == -1)
				goto bad;
			opt->processes = (int)n;
			break;
		case 't':
			if (parse_long(optarg, 1, MAX_THREADS, &n) == -1)
				goto bad;
			opt->threads = (int)n;
			break;
		case 'b':
			if (parse_long(optarg, 1, 65535, &n) == -1)
				goto bad;
			opt->backlog = (int)n;
			break;
		case 'm': {
			char *end;
			n = strtol(optarg, &end, 8);
			if (*end != '\0' || n < 0 || n > 0777)
				goto bad;
			opt->socket_mode = (mode_t)n;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("portal-fcgi %s\n", PORTAL_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "portal-fcgi: unexpected argument \"%s\" (see --help)\n", argv[optind]);
		exit(2);
	}
	return;
bad:
	fprintf(stderr, "portal-fcgi: bad value \"%s\" for --%s (see --help)\n", optarg,
	    longopts[c == 's' ? 0 : c == 'p' ? 1 : c == 't' ? 2 : c == 'b' ? 3 : 4].name);
	exit(2);
}

/* Opens the listening socket named by spec; exits with one clear line on failure. */
static int
open_listener(const struct options *opt)
{
	const char *spec = opt->socket_path;
	const char *colon = strrchr(spec, ':');
	int fd;

	if (spec[0] == '/' || spec[0] == '.' || colon == NULL) {
		struct sockaddr_un sun;
		struct stat st;

		if (strlen(spec) >= sizeof sun.sun_path) {
			fprintf(stderr, "portal-fcgi: socket path too long: %s\n", spec);
			exit(1);
		}
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		strcpy(sun.sun_path, spec);
		if (lstat(spec, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(spec);	/* a stale socket of an earlier run */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
			fprintf(stderr, "portal-fcgi: cannot listen on %s: %s\n", spec, strerror(errno));
			exit(1);
		}
		if (chmod(spec, opt->socket_mode) == -1) {
			fprintf(stderr, "portal-fcgi: cannot chmod %s: %s\n", spec, strerror(errno));
			exit(1);
		}
	} else {
		struct sockaddr_in sin;
		char host[64];
		long port;
		int one = 1;
		size_t hlen = (size_t)(colon - spec);

		if (hlen == 0 || hlen >= sizeof host || parse_long(colon + 1, 1, 65535, &port) == -1) {
			fprintf(stderr, "portal-fcgi: --socket must be a path or HOST:PORT (got \"%s\")\n", spec);
			exit(2);
		}
		memcpy(host, spec, hlen);
		host[hlen] = '\0';
		if (strcmp(host, "localhost") == 0)
			strcpy(host, "127.0.0.1");
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
		    (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
			fprintf(stderr, "portal-fcgi: --socket %s: only loopback (127.x.x.x) addresses are allowed; "
			    "the FastCGI socket must be reachable by nginx alone\n", spec);
			exit(2);
		}
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd != -1)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
			fprintf(stderr, "portal-fcgi: cannot listen on %s: %s\n", spec, strerror(errno));
			exit(1);
		}
	}
	if (listen(fd, opt->backlog) == -1) {
		fprintf(stderr, "portal-fcgi: listen on %s: %s\n", spec, strerror(errno));
		exit(1);
	}
	return fd;
}

/* The socket handed to us: systemd's fd 3 (LISTEN_FDS) or fd 0 (spawn-fcgi). */
static int
inherited_listener(void)
{
	const char *pid = config_env("LISTEN_PID"), *fds = config_env("LISTEN_FDS");
	long n;

	if (pid != NULL && fds != NULL && parse_long(pid, 1, 1 << 30, &n) == 0 &&
	    n == (long)getpid() && parse_long(fds, 1, 64, &n) == 0)
		return 3;
	return 0;
}

/* Hands a connection back to epoll until its next request arrives. */
static void
watch_connection(int fd, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.fd = fd };

	if (epoll_ctl(epoll_fd, op, fd, &ev) == -1) {
		log_warn("epoll_ctl failed; closing the connection", LOG_S("error", strerror(errno)));
		close(fd);
	}
}

/* Turns FastCGI params into the library's request. */
static void
request_from_params(struct request *req, char **envp)
{
	const char *uri = NULL, *query = NULL, *script = NULL, *path_info = NULL;

	for (char **e = envp; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		const char *value;
		size_t nlen;

		if (eq == NULL)
			continue;
		nlen = (size_t)(eq - *e);
		value = eq + 1;
		if (nlen == 14 && strncmp(*e, "REQUEST_METHOD", 14) == 0)
			request_set_method(req, value);
		else if (nlen == 11 && strncmp(*e, "REQUEST_URI", 11) == 0)
			uri = value;
		else if (nlen == 12 && strncmp(*e, "QUERY_STRING", 12) == 0)
			query = value;
		else if (nlen == 11 && strncmp(*e, "SCRIPT_NAME", 11) == 0)
			script = value;
		else if (nlen == 9 && strncmp(*e, "PATH_INFO", 9) == 0)
			path_info = value;
		else if (nlen == 17 && strncmp(*e, "PORTAL_REQUEST_ID", 17) == 0)
			/* nginx's $request_id: the router's id when the caller sent no sane one. */
			snprintf(req->request_id, sizeof req->request_id, "%s", value);
		else if (nlen == 11 && strncmp(*e, "REMOTE_ADDR", 11) == 0)
			req->remote_addr = xstrdup(value);
		else if (nlen == 12 && strncmp(*e, "CONTENT_TYPE", 12) == 0)
			request_add_header(req, "content-type", value);
		else if (nlen == 14 && strncmp(*e, "CONTENT_LENGTH", 14) == 0)
			request_add_header(req, "content-length", value);
		else if (nlen > 5 && strncmp(*e, "HTTP_", 5) == 0 &&
		    strncmp(*e, "HTTP_CONTENT_LENGTH=", 20) != 0 &&
		    strncmp(*e, "HTTP_CONTENT_TYPE=", 18) != 0) {
			/* nginx sends the body headers twice (CONTENT_* and HTTP_CONTENT_*):
			 * the CGI names above are the ones that count. */
			char name[128];
			size_t k, len = nlen - 5;

			if (len >= sizeof name)
				continue;
			for (k = 0; k < len; k++)
				name[k] = (*e)[5 + k] == '_' ? '-' : (*e)[5 + k];
			name[len] = '\0';
			request_add_header(req, name, value);
		}
	}
	if (uri != NULL)
		request_set_path(req, uri);	/* splits its own query */
	else {
		char *path = xasprintf("%s%s", script ? script : "", path_info ? path_info : "");
		request_set_path(req, path);
		free(path);
		if (query != NULL)
			request_set_query(req, query);
	}
	if (req->raw_query == NULL && query != NULL && *query != '\0')
		request_set_query(req, query);
}

/* Reads the body (CONTENT_LENGTH bytes); bodies over the limit are drained. */
static void
read_body(struct request *req, FCGX_Stream *in)
{
	const char *cl = request_header(req, "content-length");
	long len = 0;
	char chunk[8192];
	int n;

	if (cl == NULL || parse_long(cl, 0, 1L << 40, &len) == -1 || len == 0) {
		/* Consume anything sent without a length so the connection stays in step. */
		while ((n = FCGX_GetStr(chunk, sizeof chunk, in)) > 0)
			;
		return;
	}
	if (len > MAX_BODY_BYTES) {
		long drained = 0;
		req->body_too_large = true;
		while (drained < DRAIN_LIMIT_BYTES && (n = FCGX_GetStr(chunk, sizeof chunk, in)) > 0)
			drained += n;
		return;
	}
	char *body = xmalloc((size_t)len + 1);
	long got = 0;
	while (got < len && (n = FCGX_GetStr(body + got, (int)(len - got), in)) > 0)
		got += n;
	request_set_body(req, body, (size_t)got);
	free(body);
}

/* Appends "name: value" and CRLF. */
static void
header_line(struct buf *b, const char *name, const char *value)
{
	buf_puts(b, name);
	buf_puts(b, ": ");
	buf_puts(b, value);
	buf_puts(b, "\r\n");
}

/* The CGI head of res: status line, headers, Content-Length (none on a 204
 * or 304, RFC 9110 §8.6) and the blank line. */
static void
response_head(struct buf *head, const struct response *res)
{
	buf_printf(head, "Status: %d %s\r\n", res->status, http_reason(res->status));
	for (size_t i = 0; i < res->nheaders; i++)
		header_line(head, res->headers[i].name, res->headers[i].value);
	if (res->status != 204 && res->status != 304)
		buf_printf(head, "Content-Length: %zu\r\n", res->body.len);
	buf_puts(head, "\r\n");
}

/* Writes status line, headers and body as a FastCGI/CGI response. */
static void
write_response(const struct response *res, FCGX_Stream *out)
{
	struct buf head = BUF_INIT;

	response_head(&head, res);
	FCGX_PutStr(head.data, (int)head.len, out);
	if (res->body.len > 0)
		FCGX_PutStr(res->body.data, (int)res->body.len, out);
	buf_free(&head);
}

/* Serves one FastCGI request. */
static void
serve_one(struct app *app, FCGX_Request *fr)
{
	struct request req;
	struct response res;

	request_init(&req);
	response_init(&res);
	req.app = app;
	request_from_params(&req, fr->envp);
	read_body(&req, fr->in);
	router_handle(&req, &res);
	write_response(&res, fr->out);
	request_reset(&req);
	response_reset(&res);
}

/* Serves the one request waiting on fd, then keeps or closes the connection. */
static void
serve_connection(struct app *app, int fd)
{
	FCGX_Request fr;
	bool open;

	/* listen_sock -1: when the peer has closed the connection, FCGX_Accept_r
	 * closes it and fails instead of accepting another connection. It first
	 * "finishes" a previous request and would close the fd unless the
	 * connection counts as kept; BEGIN_REQUEST then sets the real flag. */
	FCGX_InitRequest(&fr, -1, 0);
	fr.ipcFd = fd;
	fr.keepConnection = 1;
	if (FCGX_Accept_r(&fr) < 0) {
		FCGX_Free(&fr, 0);
		return;
	}
	serve_one(app, &fr);
	FCGX_Finish_r(&fr);		/* closes the fd unless nginx keeps it */
	open = fr.ipcFd >= 0;
	FCGX_Free(&fr, 0);
	if (!open)
		return;
	if (stopping)
		close(fd);
	else
		watch_connection(fd, EPOLL_CTL_MOD);
}

/* Accepts every pending connection (the listening socket is non-blocking). */
static void
accept_pending(int listen_fd)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept failed", LOG_S("error", strerror(errno)));
			return;
		}
		watch_connection(fd, EPOLL_CTL_ADD);
	}
}

/* A pool thread: one context; waits on the epoll set until the worker stops. */
static void *
pool_thread(void *arg)
{
	int listen_fd = *(const int *)arg;
	struct app *app = app_new(worker_cfg, worker_auth);
	struct epoll_event ev;

	if (app == NULL) {
		/* Never serve without a store handle: the supervisor replaces the worker. */
		log_error("worker cannot set up a thread context; exiting");
		_exit(1);
	}
	while (!stopping) {
		if (epoll_wait(epoll_fd, &ev, 1, POLL_INTERVAL_MS) != 1)
			continue;
		if (ev.data.fd == listen_fd)
			accept_pending(listen_fd);
		else
			serve_connection(app, ev.data.fd);
	}
	app_free(app);
	return NULL;
}

/* A worker process: the pool serves until SIGTERM, then a graceful drain. */
static int
worker_main(int listen_fd, const struct options *opt)
{
	struct epoll_event lev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = listen_fd };
	pthread_t *threads;
	pthread_attr_t attr;
	struct sigaction sa;
	int started = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return 1;
	}
	/* Several workers share the socket: whoever loses the race gets EAGAIN. */
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd == -1 || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &lev) == -1) {
		log_error("epoll set-up failed", LOG_S("error", strerror(errno)));
		return 1;
	}
	worker_auth = auth_new(worker_cfg);
	threads = xcalloc((size_t)opt->threads, sizeof *threads);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK_BYTES);
	for (int i = 0; i < opt->threads; i++) {
		if (pthread_create(&threads[i], &attr, pool_thread, &listen_fd) != 0) {
			log_error("cannot start a pool thread", LOG_S("error", strerror(errno)));
			break;
		}
		started++;
	}
	pthread_attr_destroy(&attr);
	if (started == 0)
		return 1;
	log_info("worker ready", LOG_I("pid", getpid()), LOG_I("threads", started));

	/* The pool threads notice the stop flag within POLL_INTERVAL_MS; requests
	 * in flight finish; idle kept connections close with the process. */
	while (!stopping)
		pause();
	log_info("worker stopping: finishing in-flight requests", LOG_I("pid", getpid()));
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	close(listen_fd);
	free(threads);
	close(epoll_fd);
	auth_free(worker_auth);
	log_info("worker stopped", LOG_I("pid", getpid()));
	return 0;
}

/* Forks one worker process. */
static pid_t
spawn_worker(int listen_fd, const struct options *opt)
{
	pid_t pid = fork();

	if (pid == 0) {
		int rc = worker_main(listen_fd, opt);
		_exit(rc);
	}
	if (pid == -1)
		log_error("fork failed", LOG_S("error", strerror(errno)));
	return pid;
}

/* The supervisor: keeps --processes workers alive; SIGTERM stops them all. */
static int
supervise(int listen_fd, const struct options *opt)
{
	pid_t *pids = xcalloc((size_t)opt->processes, sizeof *pids);
	int64_t *started = xcalloc((size_t)opt->processes, sizeof *started);
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < opt->processes; i++) {
		pids[i] = spawn_worker(listen_fd, opt);
		started[i] = mono_ms();
	}
	log_info("supervisor ready", LOG_I("pid", getpid()), LOG_I("processes", opt->processes),
	    LOG_S("socket", opt->socket_path ? opt->socket_path : "inherited"));
	while (!stopping) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);

		if (pid == -1) {
			if (errno == EINTR)
				continue;
			sleep_ms(POLL_INTERVAL_MS);
			continue;
		}
		for (int i = 0; i < opt->processes; i++) {
			if (pids[i] != pid)
				continue;
			log_warn("worker exited; replacing it", LOG_I("pid", pid),
			    LOG_I("status", WIFEXITED(status) ? WEXITSTATUS(status) : -1),
			    LOG_I("signal", WIFSIGNALED(status) ? WTERMSIG(status) : 0));
			if (stopping)
				break;
			/* A worker that dies at once is not restarted in a tight loop. */
			if (mono_ms() - started[i] < RESPAWN_WINDOW_MS)
				sleep_ms(RESPAWN_WINDOW_MS);
			pids[i] = spawn_worker(listen_fd, opt);
			started[i] = mono_ms();
		}
	}
	log_info("supervisor stopping", LOG_I("pid", getpid()));
	for (int i = 0; i < opt->processes; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (int i = 0; i < opt->processes; i++)
		if (pids[i] > 0)
			while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
				;
	if (opt->socket_path != NULL && strchr(opt->socket_path, ':') == NULL)
		unlink(opt->socket_path);
	free(pids);
	free(started);
	return 0;
}

/* Plain CGI: one request from the environment and stdin. */
static int
run_cgi(void)
{
	extern char **environ;
	struct auth *auth = auth_new(worker_cfg);
	struct app *app = app_new(worker_cfg, auth);
	struct request req;
	struct response res;
	struct buf body = BUF_INIT, head = BUF_INIT;
	char chunk[8192];
	size_t n;

	if (app == NULL) {
		fputs("Status: 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
		    "{\"error\":{\"code\":\"unavailable\",\"message\":\"the service cannot start\"}}", stdout);
		auth_free(auth);
		return 1;
	}
	request_init(&req);
	response_init(&res);
	req.app = app;
	request_from_params(&req, environ);
	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0 && body.len <= MAX_BODY_BYTES)
		buf_append(&body, chunk, n);
	if (body.len > MAX_BODY_BYTES)
		req.body_too_large = true;
	else if (body.len > 0)
		request_set_body(&req, body.data, body.len);
	router_handle(&req, &res);
	response_head(&head, &res);
	fwrite(head.data, 1, head.len, stdout);
	fwrite(res.body.data ? res.body.data : "", 1, res.body.len, stdout);
	fflush(stdout);
	buf_free(&head);
	buf_free(&body);
	request_reset(&req);
	response_reset(&res);
	app_free(app);
	auth_free(auth);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options opt;
	struct config cfg;
	char *cause;
	int listen_fd, rc;

	parse_options(argc, argv, &opt);
	/* glibc gives each thread its own malloc arena (about 1 MiB each once a
	 * request has used it); two arenas keep a worker's RSS near half. */
	mallopt(M_ARENA_MAX, MALLOC_ARENAS);
	if (config_load(&cfg, CONFIG_NEED_AUTH, &cause) == -1) {
		fprintf(stderr, "portal-fcgi: %s\n", cause);
		free(cause);
		return 2;
	}
	worker_cfg = &cfg;
	cache_configure(cfg.cache_ttl_ms);
	if (opt.socket_path != NULL)
		listen_fd = open_listener(&opt);
	else {
		listen_fd = inherited_listener();
		if (listen_fd == 0 && FCGX_IsCGI()) {
			if (config_env("GATEWAY_INTERFACE") == NULL) {
				fprintf(stderr, "portal-fcgi: no socket: pass --socket PATH|HOST:PORT, "
				    "start it under spawn-fcgi or systemd, or run it as a CGI program\n");
				config_free(&cfg);
				return 2;
			}
			rc = run_cgi();
			config_free(&cfg);
			return rc;
		}
	}
	/* Writes by any worker must invalidate every worker's cache. */
	cache_share_across_processes();
	rc = supervise(listen_fd, &opt);
	config_free(&cfg);
	return rc;
}
