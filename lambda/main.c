/* main.c - the AWS Lambda custom runtime entry ("bootstrap" on provided.al2023):
 * a loop on the Lambda Runtime API that turns each HTTP event into a request,
 * calls the same router as the FastCGI workers, and posts the response back.
 * The configuration, the store handle and the auth state (JWKS keys, role
 * cache) live across invocations. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "app.h"
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "ddb.h"
#include "events.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "runtime.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

/* Store calls stop this long before Lambda's deadline, leaving time to answer. */
#define DEADLINE_MARGIN_MS	200
/* Consecutive failures of /next before the process gives up (Lambda restarts it). */
#define NEXT_MAX_FAILURES	5
#define NEXT_RETRY_MS		100

#define ERROR_TYPE_CONFIG	"Runtime.ConfigError"
#define ERROR_TYPE_INIT		"Runtime.InitError"
#define ERROR_TYPE_EVENT	"Runtime.InvalidEvent"
#define ERROR_TYPE_RESPONSE	"Runtime.ResponseError"

/* What the loop needs: the Runtime API client and the warm state. */
struct lambda {
	struct runtime	*rt;
	struct app	*app;
	long		 max_invocations;	/* 0 = serve forever */
	long		 invocations;
};

/* Prints the usage text. */
static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: bootstrap [--help] [--version] [--max-invocations N]\n"
	    "\n"
	    "The TurboTech Portal API as an AWS Lambda custom runtime (provided.al2023).\n"
	    "Lambda starts it as /var/task/bootstrap; it takes API Gateway HTTP API (payload\n"
	    "2.0), Lambda Function URL and API Gateway REST API (payload 1.0) events from the\n"
	    "Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API and answers each through the same\n"
	    "router as the FastCGI workers.\n"
	    "\n"
	    "Configuration comes from the environment (PORTAL_ENV, AUTH0_DOMAIN,\n"
	    "AUTH0_AUDIENCE, CORS_ALLOW_ORIGINS, DIGEST_*, LOG_LEVEL, AWS_REGION, ...); a\n"
	    "bad setting is reported to /runtime/init/error and the process exits 1.\n"
	    "Logs are JSON lines on stderr carrying the Lambda request id and trace id.\n"
	    "\n"
	    "  --max-invocations N  exit 0 after N invocations (tests)\n"
	    "  --version            print the version\n"
	    "  --help               print this text\n");
}

/* Answers one invocation; failures go to the invocation's /error. */
static void
handle_invocation(struct lambda *l, struct runtime_invocation *inv)
{
	struct request req;
	struct response res;
	enum events_format format = EVENTS_FORMAT_V2;
	int64_t started = mono_ms(), deadline;
	char *cause = NULL, *why = NULL, *body;
	size_t len;

	log_set_invocation(inv->request_id);
	log_set_context(NULL, inv->trace_id);
	config_setenv("_X_AMZN_TRACE_ID", inv->trace_id);
	if (inv->event_too_large) {
		log_warn("event too large", LOG_I("limit", RUNTIME_MAX_EVENT_BYTES));
		if (runtime_invocation_error(l->rt, inv->request_id, ERROR_TYPE_EVENT,
		    "event is larger than the runtime accepts", &why) == -1) {
			log_error("runtime API: error not accepted", LOG_S("error", why));
			free(why);
		}
		return;
	}

	request_init(&req);
	response_init(&res);
	if (events_to_request(inv->event.data, inv->event.len, &req, &format, &cause) == -1) {
		log_warn("event not understood", LOG_S("error", cause));
		if (runtime_invocation_error(l->rt, inv->request_id, ERROR_TYPE_EVENT, cause, &why) == -1) {
			log_error("runtime API: error not accepted", LOG_S("error", why));
			free(why);
		}
		free(cause);
		request_reset(&req);
		response_reset(&res);
		return;
	}

	deadline = inv->deadline_ms > 0 ? inv->deadline_ms - DEADLINE_MARGIN_MS : 0;
	req.deadline_ms = deadline;
	req.app = l->app;
	req.trace_id = xstrdup(inv->trace_id);
	ddb_set_deadline(l->app->ddb, deadline);
	router_handle(&req, &res);
	ddb_set_deadline(l->app->ddb, 0);
	/* The router cleared the context when the request ended. */
	log_set_context(NULL, inv->trace_id);

	body = events_from_response(&res, format, &len);
	if (runtime_respond(l->rt, inv->request_id, body, len, &cause) == -1) {
		log_error("runtime API: response not accepted", LOG_S("error", cause));
		free(cause);
		if (runtime_invocation_error(l->rt, inv->request_id, ERROR_TYPE_RESPONSE,
		    "the Runtime API did not accept the response", &why) == -1) {
			log_error("runtime API: error not accepted", LOG_S("error", why));
			free(why);
		}
	}
	log_info("invocation",
	    LOG_S("event_version", events_format_name(format)),
	    LOG_S("method", req.method), LOG_S("path", req.path), LOG_I("status", res.status),
	    LOG_S("http_request_id", req.request_id),
	    LOG_I("duration_ms", mono_ms() - started),
	    LOG_I("remaining_ms", inv->deadline_ms > 0 ? inv->deadline_ms - now_ms() : 0),
	    LOG_B("cold", l->invocations == 0));
	free(body);
	request_reset(&req);
	response_reset(&res);
}

/* The Runtime API loop; returns 0 after --max-invocations, -1 when /next keeps failing. */
static int
serve(struct lambda *l)
{
	struct runtime_invocation inv;
	unsigned failures = 0;
	char *cause;

	while (l->max_invocations == 0 || l->invocations < l->max_invocations) {
		runtime_invocation_init(&inv);
		if (runtime_next(l->rt, &inv, &cause) == -1) {
			log_error("runtime API: no next invocation", LOG_S("error", cause),
			    LOG_I("failures", failures + 1));
			free(cause);
			runtime_invocation_reset(&inv);
			if (++failures >= NEXT_MAX_FAILURES)
				return -1;
			sleep_ms((int64_t)NEXT_RETRY_MS * failures);
			continue;
		}
		failures = 0;
		handle_invocation(l, &inv);
		l->invocations++;
		runtime_invocation_reset(&inv);
		log_set_invocation(NULL);
		log_set_context(NULL, NULL);
		config_setenv("_X_AMZN_TRACE_ID", NULL);
	}
	return 0;
}

/* Reports a start-up failure to the Runtime API (and the log). */
static void
init_failed(struct runtime *rt, const char *type, const char *message)
{
	char *why = NULL;

	log_error("start-up failed", LOG_S("error", message));
	if (runtime_init_error(rt, type, message, &why) == -1) {
		log_error("runtime API: init error not accepted", LOG_S("error", why));
		free(why);
	}
}

/* Parses the command line; returns -1 after printing usage for a bad one. */
static int
parse_args(int argc, char **argv, struct lambda *l, bool *done)
{
	*done = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			*done = true;
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("bootstrap (turbotech-portal) %s\n", PACKAGE_VERSION);
			*done = true;
			return 0;
		} else if (strcmp(argv[i], "--max-invocations") == 0 && i + 1 < argc) {
			if (parse_long(argv[++i], 1, 1000000000L, &l->max_invocations) == -1) {
				fprintf(stderr, "bootstrap: --max-invocations needs a positive number\n");
				return -1;
			}
		} else {
			fprintf(stderr, "bootstrap: unknown argument \"%s\"\n", argv[i]);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

/* Starts the runtime: configuration, warm state, then the loop. */
int
main(int argc, char **argv)
{
	struct lambda l = { 0 };
	struct config cfg;
	struct auth *auth = NULL;
	const char *api;
	int64_t started = mono_ms();
	char *cause = NULL;
	bool done;
	int rc = 1;

	if (parse_args(argc, argv, &l, &done) == -1)
		return 2;
	if (done)
		return 0;
	signal(SIGPIPE, SIG_IGN);

	/* Needed before the configuration: a bad one is reported there. */
	api = config_env("AWS_LAMBDA_RUNTIME_API");
	if (api == NULL) {
		fprintf(stderr, "bootstrap: AWS_LAMBDA_RUNTIME_API is not set: this program runs "
		    "inside AWS Lambda (or against a Runtime API stand-in); see --help\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "bootstrap: libcurl failed to initialise\n");
		return 1;
	}
	if ((l.rt = runtime_new(api)) == NULL) {
		fprintf(stderr, "bootstrap: libcurl could not create a handle\n");
		goto out_curl;
	}

	if (config_load(&cfg, CONFIG_NEED_AUTH, &cause) == -1) {
		init_failed(l.rt, ERROR_TYPE_CONFIG, cause);
		free(cause);
		config_free(&cfg);
		goto out_runtime;
	}
	/* Per instance: other instances' writes are seen after at most the TTL. */
	cache_configure(cfg.cache_ttl_ms);
	auth = auth_new(&cfg);
	l.app = app_new(&cfg, auth);
	if (auth == NULL || l.app == NULL) {
		init_failed(l.rt, ERROR_TYPE_INIT, "could not create the application state");
		goto out_app;
	}
	log_info("lambda runtime ready",
	    LOG_S("version", PACKAGE_VERSION),
	    LOG_S("function", cfg.lambda_function_name),
	    LOG_S("env", cfg.env),
	    LOG_S("ca_bundle", cfg.ca_bundle),
	    LOG_I("init_ms", mono_ms() - started));

	rc = serve(&l) == 0 ? 0 : 1;
	log_info("lambda runtime stopping", LOG_I("invocations", l.invocations));

out_app:
	app_free(l.app);
	auth_free(auth);
	config_free(&cfg);
out_runtime:
	runtime_free(l.rt);
out_curl:
	curl_global_cleanup();
	return rc;
}
