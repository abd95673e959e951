/* main.c - the AWS Lambda custom runtime entry ("bootstrap" on provided.al2023):
 * a loop on the Lambda Runtime API that turns each HTTP event into a request,
 * calls the same router as the FastCGI workers, and posts the response back;
 * an EventBridge scheduled event publishes the digest to the feed. The
 * configuration, the store handle and the auth state (JWKS keys, role cache)
 * live across invocations. Logs follow Lambda's advanced logging controls
 * (AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL); every HTTP invocation adds
 * one CloudWatch embedded metric format line. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "app.h"
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "ddb.h"
#include "digest.h"
#include "digest_publish.h"
#include "emf.h"
#include "events.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "runtime.h"
#include "secrets.h"
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
#define ERROR_TYPE_DIGEST	"Portal.DigestPublishError"

/* Stands in for DIGEST_API_KEY while the configuration is read, so that its
 * all-or-none rule for the DIGEST_* settings holds; replaced by the secret. */
#define SECRET_PENDING		"(read from DIGEST_API_KEY_SECRET)"

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
	    "An EventBridge scheduled event (\"source\": \"aws.events\") posts the digest\n"
	    "of the last 7 days to the feed (SPEC §10), once per UTC hour.\n"
	    "\n"
	    "Configuration comes from the environment (PORTAL_ENV, AUTH0_DOMAIN,\n"
	    "AUTH0_AUDIENCE, CORS_ALLOW_ORIGINS, DIGEST_*, LOG_LEVEL, AWS_REGION, ...);\n"
	    "DIGEST_API_KEY_SECRET names a Secrets Manager secret read once at start-up\n"
	    "(AWS_ENDPOINT_URL_SECRETS_MANAGER overrides the endpoint). A start-up\n"
	    "failure is reported to /runtime/init/error and the process exits 1.\n"
	    "Logs are JSON lines on stderr carrying the Lambda request id and trace id;\n"
	    "AWS_LAMBDA_LOG_FORMAT=JSON gives Lambda's shape (timestamp, level, message,\n"
	    "requestId), AWS_LAMBDA_LOG_LEVEL filters (it wins over LOG_LEVEL). Each HTTP\n"
	    "invocation writes one CloudWatch embedded metric format line.\n"
	    "\n"
	    "  --max-invocations N  exit 0 after N invocations (tests)\n"
	    "  --version            print the version\n"
	    "  --help               print this text\n");
}

/* Posts an invocation error, logging when the API does not take it. */
static void
invocation_failed(struct lambda *l, const char *request_id, const char *type, const char *message)
{
	char *why = NULL;

	if (runtime_invocation_error(l->rt, request_id, type, message, &why) == -1) {
		log_error("runtime API: error not accepted", LOG_S("error", why));
		free(why);
	}
}

/* Writes the invocation's embedded metric format line. */
static void
write_metrics(const struct runtime_invocation *inv, const struct request *req,
    const struct response *res, int64_t latency_ms, unsigned ddb_calls)
{
	struct emf_invocation m = {
		.timestamp_ms = now_ms(), .route = req->route_pattern, .status = res->status,
		.latency_ms = latency_ms, .ddb_calls = ddb_calls, .request_id = inv->request_id,
		.trace_id = inv->trace_id,
	};
	char *doc = emf_document(&m);

	log_write_line(doc, strlen(doc));
	free(doc);
}

/* An EventBridge scheduled event: publishes the digest of `days` days as the
 * system author; answers {"published", "status", "update"}. A store failure
 * is an invocation error (EventBridge's asynchronous invocation retries it;
 * a retry within the hour posts nothing twice). */
static void
handle_scheduled(struct lambda *l, struct runtime_invocation *inv, long days, int64_t started)
{
	static const struct digest_publish_author system_author = {
		.id = DIGEST_PUBLISH_SYSTEM_ID, .name = DIGEST_PUBLISH_SYSTEM_NAME,
	};
	struct ddb_error err;
	json_object *update = NULL, *answer, *view;
	int64_t deadline = inv->deadline_ms > 0 ? inv->deadline_ms - DEADLINE_MARGIN_MS : 0;
	char *cause = NULL;
	const char *text;
	bool posted = false;
	enum model_rc rc;

	ddb_set_deadline(l->app->ddb, deadline);
	rc = digest_publish_run(l->app->ddb, l->app->cfg, days, &system_author, time(NULL),
	    deadline, &update, &posted, &err);
	ddb_set_deadline(l->app->ddb, 0);
	if (rc != MODEL_OK) {
		char *message = xasprintf("digest publish failed: %s: %s", err.code, err.message);

		log_error("digest publish failed", LOG_S("code", err.code), LOG_S("error", err.message));
		invocation_failed(l, inv->request_id, ERROR_TYPE_DIGEST, message);
		free(message);
		goto out;
	}
	answer = json_object_new_object();
	view = updates_item_view(update, NULL);
	json_object_object_add(answer, "published", json_object_new_boolean(posted));
	json_object_object_add(answer, "status", json_object_new_int(posted ? 201 : 200));
	json_object_object_add(answer, "update", view);
	text = json_object_to_json_string_ext(answer, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (runtime_respond(l->rt, inv->request_id, text, strlen(text), &cause) == -1) {
		log_error("runtime API: response not accepted", LOG_S("error", cause));
		free(cause);
	}
	json_object_put(answer);
out:
	log_info("invocation",
	    LOG_S("event", "scheduled"), LOG_I("days", days), LOG_B("published", posted),
	    LOG_S("update_id", update != NULL ? model_string(update, "id") : NULL),
	    LOG_I("duration_ms", mono_ms() - started), LOG_B("cold", l->invocations == 0));
	json_object_put(update);
}

/* Answers one invocation; failures go to the invocation's /error. */
static void
handle_invocation(struct lambda *l, struct runtime_invocation *inv)
{
	struct request req;
	struct response res;
	enum events_format format = EVENTS_FORMAT_V2;
	int64_t started = mono_ms(), deadline, latency;
	char *cause = NULL, *why = NULL, *body;
	unsigned ddb_before;
	size_t len;
	long days;
	int scheduled;

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

	scheduled = events_scheduled(inv->event.data, inv->event.len, DIGEST_DAYS_DEFAULT,
	    DIGEST_DAYS_MAX, &days, &cause);
	if (scheduled == -1) {
		log_warn("event not understood", LOG_S("error", cause));
		invocation_failed(l, inv->request_id, ERROR_TYPE_EVENT, cause);
		free(cause);
		return;
	}
	if (scheduled == 1) {
		handle_scheduled(l, inv, days, started);
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
	ddb_before = ddb_request_count(l->app->ddb);
	router_handle(&req, &res);
	ddb_set_deadline(l->app->ddb, 0);
	/* The router cleared the context when the request ended. */
	log_set_context(NULL, inv->trace_id);

	body = events_from_response(&res, format, &len);
	latency = mono_ms() - started;
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
	write_metrics(inv, &req, &res, latency, ddb_request_count(l->app->ddb) - ddb_before);
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

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

/* A fatal signal during start-up: reported to /runtime/init/error (with
 * async-signal-safe calls only), then the process ends with status 1. */
static void
init_crash_handler(int sig)
{
	char msg[80] = "the runtime crashed during start-up (signal ";
	size_t len = strlen(msg);
	int n = sig;
	char digits[12];
	int i = 0;

	do
		digits[i++] = (char)('0' + n % 10);
	while ((n /= 10) != 0 && i < (int)sizeof digits);
	while (i > 0 && len < sizeof msg - 2)
		msg[len++] = digits[--i];
	msg[len++] = ')';
	msg[len] = '\0';
	runtime_crash_report_send(ERROR_TYPE_INIT, msg);
	_exit(1);
}

/* Installs (on) or removes (off) the start-up crash handler. */
static void
init_crash_guard(bool on)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on ? init_crash_handler : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = on ? SA_RESETHAND : 0;
	for (size_t i = 0; i < ARRAY_LEN(fatal_signals); i++)
		sigaction(fatal_signals[i], &sa, NULL);
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

/* Lambda's application log levels (TRACE..FATAL) as ours; -1 when unknown. */
static int
lambda_log_level(const char *s, enum log_level *out)
{
	static const struct { const char *name; enum log_level level; } levels[] = {
		{ "TRACE", LOG_DEBUG }, { "DEBUG", LOG_DEBUG }, { "INFO", LOG_INFO },
		{ "WARN", LOG_WARN }, { "ERROR", LOG_ERROR }, { "FATAL", LOG_FATAL },
	};

	for (size_t i = 0; i < ARRAY_LEN(levels); i++) {
		if (ascii_casecmp(s, levels[i].name) == 0) {
			*out = levels[i].level;
			return 0;
		}
	}
	return -1;
}

/* Checks the Lambda-only settings that must be right before the
 * configuration is read; -1 with *cause (caller frees). */
static int
precheck_settings(char **cause)
{
	const char *secret = config_env("DIGEST_API_KEY_SECRET");

	if (secret == NULL)
		return 0;
	if (config_env("DIGEST_API_KEY") != NULL) {
		*cause = xstrdup("DIGEST_API_KEY_SECRET and DIGEST_API_KEY are both set: set one");
		return -1;
	}
	if (config_env("DIGEST_API_URL") == NULL) {
		*cause = xstrdup("DIGEST_API_URL is required when DIGEST_API_KEY_SECRET is set");
		return -1;
	}
	config_setenv("DIGEST_API_KEY", SECRET_PENDING);
	return 0;
}

/* After the configuration: AWS_LAMBDA_LOG_LEVEL over LOG_LEVEL, and the
 * digest API key from Secrets Manager. -1 with *type and *cause (caller frees). */
static int
apply_lambda_settings(struct config *cfg, const char **type, char **cause)
{
	const char *level = config_env("AWS_LAMBDA_LOG_LEVEL");
	const char *secret = config_env("DIGEST_API_KEY_SECRET"), *endpoint;
	enum log_level parsed;
	char *value = NULL, *why = NULL;

	*type = ERROR_TYPE_CONFIG;
	if (level != NULL) {
		if (lambda_log_level(level, &parsed) == -1) {
			*cause = xasprintf("AWS_LAMBDA_LOG_LEVEL must be TRACE, DEBUG, INFO, WARN, ERROR "
			    "or FATAL (got \"%s\")", level);
			return -1;
		}
		log_set_level(parsed);
	}
	if (secret == NULL)
		return 0;
	config_setenv("DIGEST_API_KEY", NULL);
	endpoint = config_env("AWS_ENDPOINT_URL_SECRETS_MANAGER");
	if (endpoint == NULL)
		endpoint = config_env("AWS_ENDPOINT_URL");
	if (secrets_get_string(cfg, endpoint, secret, &value, &why) == -1) {
		*type = ERROR_TYPE_INIT;
		*cause = xasprintf("DIGEST_API_KEY_SECRET: %s", why);
		free(why);
		return -1;
	}
	free(cfg->digest_api_key);
	cfg->digest_api_key = value;
	log_info("digest API key read from Secrets Manager", LOG_S("secret", secret));
	return 0;
}

/* Starts the runtime: configuration, warm state, then the loop. */
int
main(int argc, char **argv)
{
	struct lambda l = { 0 };
	struct config cfg = { 0 };
	struct auth *auth = NULL;
	const char *api, *format, *type;
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
	/* From here on a start-up failure of any kind reaches /runtime/init/error:
	 * a fatal signal through the crash handler, libcurl failing to start
	 * through the same socket-level report. */
	if (runtime_crash_report_prepare(api) == 0)
		init_crash_guard(true);
	/* Lambda's advanced logging controls: JSON, or Text (our own JSON lines). */
	format = config_env("AWS_LAMBDA_LOG_FORMAT");
	if (format != NULL && ascii_casecmp(format, "JSON") == 0)
		log_set_format(LOG_FORMAT_LAMBDA_JSON);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("start-up failed", LOG_S("error", "libcurl failed to initialise"));
		runtime_crash_report_send(ERROR_TYPE_INIT, "libcurl failed to initialise");
		return 1;
	}
	if ((l.rt = runtime_new(api)) == NULL) {
		log_error("start-up failed", LOG_S("error", "libcurl could not create a handle"));
		runtime_crash_report_send(ERROR_TYPE_INIT, "libcurl could not create a handle");
		goto out_curl;
	}

	if (format != NULL && ascii_casecmp(format, "JSON") != 0 && ascii_casecmp(format, "Text") != 0) {
		cause = xasprintf("AWS_LAMBDA_LOG_FORMAT must be JSON or Text (got \"%s\")", format);
		init_failed(l.rt, ERROR_TYPE_CONFIG, cause);
		free(cause);
		goto out_runtime;
	}
	if (precheck_settings(&cause) == -1 || config_load(&cfg, CONFIG_NEED_AUTH, &cause) == -1) {
		init_failed(l.rt, ERROR_TYPE_CONFIG, cause);
		free(cause);
		config_free(&cfg);
		goto out_runtime;
	}
	if (apply_lambda_settings(&cfg, &type, &cause) == -1) {
		init_failed(l.rt, type, cause);
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

	/* Started: a crash now ends an invocation, which Lambda reports itself. */
	init_crash_guard(false);
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
