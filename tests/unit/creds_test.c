/* creds_test.c - the AWS credentials chain: INI and JSON parsing, chain order,
 * and the container endpoint and IMDSv2 over real HTTP against
 * tests/lib/credserver.py, a local stand-in this test starts and stops. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "config.h"
#include "creds.h"
#include "log.h"
#include "util.h"

#define SERVER_START_TIMEOUT_MS	10000
#define CONTAINER_TOKEN		"container-secret-token"
#define MAX_TEMP_FILES		16
#define CONCURRENT_CALLERS	8

/* The stand-in server and the scratch directory, shared by all tests. */
static struct {
	pid_t	 pid;
	int	 stdin_fd;	/* closing it stops the server */
	int	 port;
	char	 dir[64];
	char	*files[MAX_TEMP_FILES];
	size_t	 nfiles;
} fx = { .pid = -1, .stdin_fd = -1 };

/* Writes content to a new file in the scratch directory; returns its path (borrowed). */
static const char *
write_temp(const char *name, const char *content)
{
	char *path = xasprintf("%s/%s", fx.dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	for (size_t i = 0; i < fx.nfiles; i++) {
		if (strcmp(fx.files[i], path) == 0) {
			free(path);
			return fx.files[i];
		}
	}
	assert_true(fx.nfiles < MAX_TEMP_FILES);
	fx.files[fx.nfiles++] = path;
	return path;
}

/* Starts tests/lib/credserver.py and reads the port it bound. */
static int
start_server(void)
{
	const char *top = getenv("top_srcdir");
	char *script = xasprintf("%s/tests/lib/credserver.py", top != NULL && *top ? top : ".");
	int in[2], out[2];
	char line[64] = "";
	size_t len = 0;
	int64_t deadline;

	if (pipe(in) == -1 || pipe(out) == -1)
		return -1;
	fx.pid = fork();
	if (fx.pid == -1)
		return -1;
	if (fx.pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execlp("python3", "python3", script, "--container-token", CONTAINER_TOKEN, (char *)NULL);
		_exit(127);
	}
	free(script);
	close(in[0]);
	close(out[1]);
	fx.stdin_fd = in[1];
	deadline = mono_ms() + SERVER_START_TIMEOUT_MS;
	while (strchr(line, '\n') == NULL && len < sizeof line - 1) {
		struct pollfd pfd = { .fd = out[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, (int)(deadline - mono_ms())) <= 0)
			break;
		n = read(out[0], line + len, sizeof line - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = '\0';
	}
	close(out[0]);
	if (sscanf(line, "PORT %d", &fx.port) != 1) {
		fprintf(stderr, "# credserver did not start: '%s'\n", line);
		return -1;
	}
	return 0;
}

/* Stops the stand-in and reaps it. */
static void
stop_server(void)
{
	if (fx.stdin_fd != -1)
		close(fx.stdin_fd);
	if (fx.pid > 0) {
		kill(fx.pid, SIGTERM);
		waitpid(fx.pid, NULL, 0);
	}
	fx.pid = -1;
	fx.stdin_fd = -1;
}

/* curl write callback into a struct buf. */
static size_t
to_buf(char *data, size_t size, size_t nmemb, void *arg)
{
	buf_append(arg, data, size * nmemb);
	return size * nmemb;
}

/* One request to the stand-in's control endpoints; returns the body (caller frees). */
static char *
server_call(const char *path, const char *post_body)
{
	char *url = xasprintf("http://127.0.0.1:%d%s", fx.port, path);
	struct buf b = BUF_INIT;
	CURL *c = curl_easy_init();
	long status = 0;

	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	if (post_body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 200);
	curl_easy_cleanup(c);
	free(url);
	return buf_steal(&b);
}

/* Sends a control document to the stand-in. */
static void
control(const char *json)
{
	free(server_call("/_control", json));
}

/* One counter from the stand-in's /_stats. */
static int64_t
stat_of(const char *name)
{
	char *body = server_call("/_stats", NULL);
	json_object *root = json_tokener_parse(body), *v;
	int64_t n;

	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, name, &v));
	n = json_object_get_int64(v);
	json_object_put(root);
	free(body);
	return n;
}

/* A config with nothing set: no environment keys, no file, IMDS off. */
static struct config
empty_config(void)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.aws_profile = "default";
	cfg.aws_shared_credentials_file = "/nonexistent/credentials";
	cfg.ec2_metadata_disabled = true;
	return cfg;
}

static char url_container[128], url_imds[128];

/* Group setup: scratch directory, stand-in server, libcurl. */
static int
group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(fx.dir, sizeof fx.dir, "%s/creds_test.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || start_server() == -1)
		return -1;
	snprintf(url_container, sizeof url_container, "http://127.0.0.1:%d/container/creds", fx.port);
	snprintf(url_imds, sizeof url_imds, "http://127.0.0.1:%d", fx.port);
	log_set_level(LOG_ERROR);	/* keep the TAP output readable */
	return 0;
}

/* Group teardown: stops the server and removes the scratch files. */
static int
group_teardown(void **state)
{
	(void)state;
	stop_server();
	for (size_t i = 0; i < fx.nfiles; i++) {
		unlink(fx.files[i]);
		free(fx.files[i]);
	}
	rmdir(fx.dir);
	creds_invalidate();
	curl_global_cleanup();
	return 0;
}

/* Per-test setup: an empty cache and a fresh stand-in state. */
static int
test_setup(void **state)
{
	(void)state;
	creds_invalidate();
	control("{\"reset\": true}");
	return 0;
}

static const char INI[] =
    "# shared credentials\n"
    "; another comment\n"
    "[default]\n"
    "aws_access_key_id = AKIADEFAULT\n"
    "aws_secret_access_key=secret/default+key\n"
    "\n"
    "[  dev  ]\n"
    "   AWS_Access_Key_Id   =   AKIADEV   ; trailing comment\n"
    "\taws_secret_access_key\t=\tdev/secret==  # another\n"
    "aws_session_token = dev-session-token\n"
    "region = eu-west-1\n"
    "[nosecret]\n"
    "aws_access_key_id = AKIANOSECRET\n"
    "[default]\n"
    "aws_session_token = later-default-token\n";

/* The default profile, with a session token from a second [default] block. */
static void
test_file_default_profile(void **state)
{
	struct creds c;

	(void)state;
	assert_int_equal(creds_parse_file(write_temp("credentials", INI), "default", &c), 0);
	assert_string_equal(c.access_key_id, "AKIADEFAULT");
	assert_string_equal(c.secret_access_key, "secret/default+key");
	assert_string_equal(c.session_token, "later-default-token");
	assert_int_equal(c.expires_ms, 0);
	assert_string_equal(c.source, "shared-file");
}

/* A named profile: spaces, tabs, mixed-case keys and inline comments. */
static void
test_file_named_profile(void **state)
{
	struct creds c;

	(void)state;
	assert_int_equal(creds_parse_file(write_temp("credentials", INI), "dev", &c), 0);
	assert_string_equal(c.access_key_id, "AKIADEV");
	assert_string_equal(c.secret_access_key, "dev/secret==");
	assert_string_equal(c.session_token, "dev-session-token");
}

/* Missing profile, missing secret, missing file, commented-out keys. */
static void
test_file_failures(void **state)
{
	struct creds c;
	const char *path = write_temp("credentials", INI);

	(void)state;
	assert_int_equal(creds_parse_file(path, "prod", &c), -1);
	assert_int_equal(creds_parse_file(path, "nosecret", &c), -1);
	assert_int_equal(creds_parse_file("/nonexistent/credentials", "default", &c), -1);
	assert_int_equal(creds_parse_file(write_temp("commented",
	    "[default]\n# aws_access_key_id = AKIA\naws_secret_access_key = s\n"), "default", &c), -1);
	assert_int_equal(creds_parse_file(write_temp("empty", ""), "default", &c), -1);
}

/* A container/IMDS document, with and without Token and Expiration. */
static void
test_json_parse(void **state)
{
	struct creds c;

	(void)state;
	assert_int_equal(creds_parse_json("{\"Code\":\"Success\",\"AccessKeyId\":\"ASIA1\","
	    "\"SecretAccessKey\":\"s1\",\"Token\":\"t1\",\"Expiration\":\"2026-11-24T15:04:05Z\"}", &c), 0);
	assert_string_equal(c.access_key_id, "ASIA1");
	assert_string_equal(c.secret_access_key, "s1");
	assert_string_equal(c.session_token, "t1");
	assert_int_equal(c.expires_ms, INT64_C(1795532645000));
	assert_int_equal(creds_parse_json("{\"AccessKeyId\":\"AKIA2\",\"SecretAccessKey\":\"s2\"}", &c), 0);
	assert_string_equal(c.session_token, "");
	assert_int_equal(c.expires_ms, 0);
}

/* Documents that must be refused. */
static void
test_json_bad(void **state)
{
	struct creds c;

	(void)state;
	assert_int_equal(creds_parse_json("not json", &c), -1);
	assert_int_equal(creds_parse_json("[1,2]", &c), -1);
	assert_int_equal(creds_parse_json("{\"AccessKeyId\":\"A\"}", &c), -1);
	assert_int_equal(creds_parse_json("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"\"}", &c), -1);
	assert_int_equal(creds_parse_json("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":7}", &c), -1);
	assert_int_equal(creds_parse_json("{\"Code\":\"AssumeRoleUnauthorizedAccess\","
	    "\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\"}", &c), -1);
	assert_int_equal(creds_parse_json("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\","
	    "\"Expiration\":\"tomorrow\"}", &c), -1);
	assert_int_equal(creds_parse_json(NULL, &c), -1);
}

/* A stand-in counter and the value it must have after a call. */
struct stat_want {
	const char	*name;
	int64_t		 value;
};

/* One creds_get through the chain: what is configured, then what comes back. */
struct chain_case {
	const char	*name;
	const char	*env_key, *env_secret, *env_token;	/* AWS_* environment */
	const char	*file;		/* the shared credentials file's content, or NULL */
	const char	*profile;	/* AWS_PROFILE; NULL: "default" */
	const char	*container;	/* AWS_CONTAINER_CREDENTIALS_FULL_URI; URL_CONTAINER: the stand-in's */
	const char	*token;		/* AWS_CONTAINER_AUTHORIZATION_TOKEN */
	const char	*token_file;	/* the content of its _FILE */
	bool		 imds;		/* IMDS on, at the stand-in */
	int		 rc;
	const char	*source, *key, *session;	/* when rc is 0 (NULL: not checked) */
	const char	*cause;		/* a part of the cause, when rc is -1 */
	struct stat_want stats[3];
};

#define URL_CONTAINER	"(stand-in)"

static const struct chain_case chain_cases[] = {
	{ .name = "environment credentials win over a file and a container endpoint",
	  .env_key = "AKIAENV", .env_secret = "env-secret", .env_token = "env-token", .file = INI,
	  .container = URL_CONTAINER,
	  .rc = 0, .source = "environment", .key = "AKIAENV", .session = "env-token",
	  .stats = { { "container_fetches", 0 } } },
	{ .name = "half-set environment credentials are an error that names the variable",
	  .env_key = "AKIAENV",
	  .rc = -1, .cause = "AWS_SECRET_ACCESS_KEY" },
	{ .name = "the shared file comes before the container endpoint",
	  .file = INI, .profile = "dev", .container = URL_CONTAINER, .token = CONTAINER_TOKEN,
	  .rc = 0, .source = "shared-file", .key = "AKIADEV",
	  .stats = { { "container_fetches", 0 } } },
	{ .name = "no [default] in the file: the chain goes on to the container",
	  .file = "[dev]\naws_access_key_id=A\n", .container = URL_CONTAINER, .token = CONTAINER_TOKEN,
	  .rc = 0, .source = "container",
	  .stats = { { "container_fetches", 1 } } },
	{ .name = "a named profile missing from the file stops the chain",
	  .file = INI, .profile = "prod", .container = URL_CONTAINER, .token = CONTAINER_TOKEN,
	  .rc = -1, .cause = "prod",
	  .stats = { { "container_fetches", 0 } } },
	{ .name = "an incomplete named profile stops the chain",
	  .file = INI, .profile = "nosecret", .container = URL_CONTAINER, .token = CONTAINER_TOKEN,
	  .rc = -1, .cause = "nosecret",
	  .stats = { { "container_fetches", 0 } } },
	{ .name = "nothing configured and IMDS disabled: a clear error",
	  .rc = -1, .cause = "no AWS credentials" },
	{ .name = "the token file takes precedence over AWS_CONTAINER_AUTHORIZATION_TOKEN",
	  .container = URL_CONTAINER, .token = "wrong-token", .token_file = CONTAINER_TOKEN "\n",
	  .rc = 0, .source = "container", .key = "ASIACONT0001",
	  .stats = { { "rejected", 0 } } },
	{ .name = "a wrong token is refused by the endpoint and reported",
	  .container = URL_CONTAINER, .token = "wrong-token",
	  .rc = -1, .cause = "401",
	  .stats = { { "rejected", 1 }, { "container_fetches", 0 } } },
	{ .name = "plain http to a host that is neither loopback nor the container agent is refused",
	  .container = "http://198.51.100.7/creds",
	  .rc = -1, .cause = "AWS_CONTAINER_CREDENTIALS_FULL_URI" },
	{ .name = "IMDSv2: token, role, credentials; the stand-in refuses calls without the token",
	  .imds = true,
	  .rc = 0, .source = "imds", .key = "ASIAIMDS0001", .session = "imds-session-token-1",
	  .stats = { { "token_puts", 1 }, { "role_lists", 1 }, { "rejected", 0 } } },
};

/* Runs one chain_case (the state). */
static void
test_chain_case(void **state)
{
	const struct chain_case *k = *state;
	struct config cfg = empty_config();
	struct creds c;
	char *cause = NULL;

	cfg.aws_access_key_id = (char *)k->env_key;
	cfg.aws_secret_access_key = (char *)k->env_secret;
	cfg.aws_session_token = (char *)k->env_token;
	if (k->file != NULL)
		cfg.aws_shared_credentials_file = (char *)write_temp("credentials", k->file);
	if (k->profile != NULL)
		cfg.aws_profile = (char *)k->profile;
	if (k->container != NULL)
		cfg.container_credentials_full_uri = strcmp(k->container, URL_CONTAINER) == 0 ?
		    url_container : (char *)k->container;
	cfg.container_authorization_token = (char *)k->token;
	if (k->token_file != NULL)
		cfg.container_authorization_token_file = (char *)write_temp("token", k->token_file);
	if (k->imds) {
		cfg.ec2_metadata_disabled = false;
		cfg.ec2_metadata_endpoint = url_imds;
	}
	assert_int_equal(creds_get(&cfg, &c, &cause), k->rc);
	if (k->rc == 0) {
		assert_null(cause);
		if (k->source != NULL)
			assert_string_equal(c.source, k->source);
		if (k->key != NULL)
			assert_string_equal(c.access_key_id, k->key);
		if (k->session != NULL)
			assert_string_equal(c.session_token, k->session);
		if (k->imds)
			assert_true(c.expires_ms > now_ms());
	} else {
		assert_non_null(cause);
		assert_non_null(strstr(cause, k->cause));
		free(cause);
	}
	for (size_t i = 0; i < ARRAY_LEN(k->stats) && k->stats[i].name != NULL; i++)
		assert_int_equal(stat_of(k->stats[i].name), k->stats[i].value);
}

/* The stand-in's container endpoint with its token. */
static struct config
container_config(void)
{
	struct config cfg = empty_config();

	cfg.container_credentials_full_uri = url_container;
	cfg.container_authorization_token = CONTAINER_TOKEN;
	return cfg;
}

/* The stand-in's IMDS. */
static struct config
imds_config(void)
{
	struct config cfg = empty_config();

	cfg.ec2_metadata_disabled = false;
	cfg.ec2_metadata_endpoint = url_imds;
	return cfg;
}

/* AWS_CONTAINER_CREDENTIALS_FULL_URI with the authorization token. */
static void
test_container_full_uri(void **state)
{
	struct config cfg = container_config();
	struct creds c;
	char *cause = NULL;
	int64_t before = now_ms();

	(void)state;
	assert_int_equal(creds_get(&cfg, &c, &cause), 0);
	assert_null(cause);
	assert_string_equal(c.source, "container");
	assert_string_equal(c.access_key_id, "ASIACONT0001");
	assert_string_equal(c.secret_access_key, "cont-secret-1");
	assert_string_equal(c.session_token, "cont-session-token-1");
	assert_true(c.expires_ms > before + 3500 * 1000 && c.expires_ms < before + 3700 * 1000);
	/* Valid for an hour: the second call is served from the cache. */
	assert_int_equal(creds_get(&cfg, &c, &cause), 0);
	assert_string_equal(c.access_key_id, "ASIACONT0001");
	assert_int_equal(stat_of("container_fetches"), 1);
}

/* Credentials that expire inside the refresh window are fetched again. */
static void
test_imds_refresh_when_expiring(void **state)
{
	struct config cfg = imds_config();
	struct creds c;
	char *cause = NULL;

	(void)state;
	control("{\"expires_in\": 60}");	/* well inside CREDS_REFRESH_BEFORE_MS */
	assert_int_equal(creds_get(&cfg, &c, &cause), 0);
	assert_string_equal(c.access_key_id, "ASIAIMDS0001");
	assert_int_equal(creds_get(&cfg, &c, &cause), 0);
	assert_string_equal(c.access_key_id, "ASIAIMDS0002");
	assert_int_equal(stat_of("imds_fetches"), 2);
	assert_int_equal(stat_of("token_puts"), 2);

	/* Long-lived ones are kept. */
	control("{\"expires_in\": 3600}");
	assert_int_equal(creds_get(&cfg, &c, &cause), 0);
	assert_string_equal(c.access_key_id, "ASIAIMDS0003");
	assert_int_equal(creds_get(&cfg, &c, &cause), 0);
	assert_string_equal(c.access_key_id, "ASIAIMDS0003");
	assert_int_equal(stat_of("imds_fetches"), 3);
}

/* A failed refresh keeps credentials that are still valid, and does not
 * hammer the endpoint while it backs off. */
static void
test_refresh_failure_keeps_valid(void **state)
{
	struct config cfg = container_config();
	struct creds c;
	char *cause = NULL;

	(void)state;
	control("{\"expires_in\": 120}");
	assert_int_equal(creds_get(&cfg, &c, &cause), 0);
	assert_string_equal(c.access_key_id, "ASIACONT0001");
	control("{\"fail\": true}");
	assert_int_equal(creds_get(&cfg, &c, &cause), 0);
	assert_null(cause);
	assert_string_equal(c.access_key_id, "ASIACONT0001");
	assert_int_equal(creds_get(&cfg, &c, &cause), 0);
	assert_string_equal(c.access_key_id, "ASIACONT0001");
	assert_int_equal(stat_of("container_fetches"), 1);
	assert_int_equal(stat_of("failed"), 1);	/* the third call did not retry */
}

/* Once they have expired, a failed refresh is an error. */
static void
test_refresh_failure_after_expiry(void **state)
{
	struct config cfg = container_config();
	struct creds c;
	char *cause = NULL;

	(void)state;
	control("{\"expires_in\": 1}");
	assert_int_equal(creds_get(&cfg, &c, &cause), 0);
	sleep_ms(c.expires_ms - now_ms() + 100);
	control("{\"fail\": true}");
	assert_int_equal(creds_get(&cfg, &c, &cause), -1);
	assert_non_null(strstr(cause, "500"));
	free(cause);
}

/* An IMDS endpoint that is down fails fast with a transport error. */
static void
test_imds_down(void **state)
{
	struct config cfg = empty_config();
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof sin;
	struct creds c;
	char *cause = NULL, url[64];
	int64_t started;
	int fd;

	(void)state;
	/* A port that was free a moment ago: bind, read it, close. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	close(fd);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(sin.sin_port));
	cfg.ec2_metadata_disabled = false;
	cfg.ec2_metadata_endpoint = url;
	started = mono_ms();
	assert_int_equal(creds_get(&cfg, &c, &cause), -1);
	assert_true(mono_ms() - started < 3000);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "/latest/api/token"));
	free(cause);
}

/* Arguments for one concurrent caller. */
struct caller {
	const struct config	*cfg;
	int			 rc;
	char			 key[128];
};

/* Thread body: one creds_get. */
static void *
call_creds_get(void *arg)
{
	struct caller *c = arg;
	struct creds out;
	char *cause = NULL;

	c->rc = creds_get(c->cfg, &out, &cause);
	snprintf(c->key, sizeof c->key, "%s", c->rc == 0 ? out.access_key_id : "");
	free(cause);
	return NULL;
}

/* Concurrent first calls resolve the chain once. */
static void
test_concurrent_callers(void **state)
{
	struct config cfg = imds_config();
	pthread_t threads[CONCURRENT_CALLERS];
	struct caller callers[CONCURRENT_CALLERS];

	(void)state;
	for (size_t i = 0; i < CONCURRENT_CALLERS; i++) {
		callers[i] = (struct caller){ .cfg = &cfg, .rc = -2 };
		assert_int_equal(pthread_create(&threads[i], NULL, call_creds_get, &callers[i]), 0);
	}
	for (size_t i = 0; i < CONCURRENT_CALLERS; i++)
		pthread_join(threads[i], NULL);
	for (size_t i = 0; i < CONCURRENT_CALLERS; i++) {
		assert_int_equal(callers[i].rc, 0);
		assert_string_equal(callers[i].key, "ASIAIMDS0001");
	}
	assert_int_equal(stat_of("imds_fetches"), 1);
}

int
main(void)
{
	static const struct CMUnitTest parse_tests[] = {
		cmocka_unit_test(test_file_default_profile),
		cmocka_unit_test(test_file_named_profile),
		cmocka_unit_test(test_file_failures),
		cmocka_unit_test(test_json_parse),
		cmocka_unit_test(test_json_bad),
	};
	static const struct CMUnitTest flow_tests[] = {
		cmocka_unit_test_setup(test_container_full_uri, test_setup),
		cmocka_unit_test_setup(test_imds_refresh_when_expiring, test_setup),
		cmocka_unit_test_setup(test_refresh_failure_keeps_valid, test_setup),
		cmocka_unit_test_setup(test_refresh_failure_after_expiry, test_setup),
		cmocka_unit_test_setup(test_imds_down, test_setup),
		cmocka_unit_test_setup(test_concurrent_callers, test_setup),
	};
	struct CMUnitTest tests[ARRAY_LEN(parse_tests) + ARRAY_LEN(chain_cases) + ARRAY_LEN(flow_tests)];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_LEN(parse_tests); i++)
		tests[n++] = parse_tests[i];
	for (size_t i = 0; i < ARRAY_LEN(chain_cases); i++)
		tests[n++] = (struct CMUnitTest){ .name = chain_cases[i].name,
		    .test_func = test_chain_case, .setup_func = test_setup,
		    .initial_state = (void *)&chain_cases[i] };
	for (size_t i = 0; i < ARRAY_LEN(flow_tests); i++)
		tests[n++] = flow_tests[i];
	signal(SIGPIPE, SIG_IGN);
	return _cmocka_run_group_tests("creds", tests, n, group_setup, group_teardown);
}
