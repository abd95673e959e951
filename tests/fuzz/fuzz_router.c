/* fuzz_router.c - the router's request parsing: path, query, headers and a
 * JSON body through router_handle (auth fails closed before any store call
 * for protected routes; /api/health is never hit because the input decides
 * the path and the store points at a closed port). Input: "METHOD PATH\nBODY". */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "config.h"
#include "fuzz.h"
#include "router.h"

static struct config cfg;
static struct app *app;

/* One-time set-up: a config whose store and JWKS are unreachable. */
static void
init(void)
{
	char *cause;

	setenv("AUTH_JWKS_URL", "file:///nonexistent/jwks.json", 1);
	setenv("AUTH_ISSUER", "https://issuer.local/", 1);
	setenv("AUTH0_AUDIENCE", "aud", 1);
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	setenv("LOG_LEVEL", "error", 1);
	if (config_load(&cfg, CONFIG_NEED_AUTH, &cause) == -1)
		abort();
	app = app_new(&cfg, auth_new(&cfg));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request req;
	struct response res;
	char *text, *nl, *sp;

	if (app == NULL)
		init();
	/* Keep NUL bytes: the body is len bytes, whatever they are. */
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	nl = memchr(text, '\n', size);
	if (nl != NULL)
		*nl = '\0';
	sp = strchr(text, ' ');
	request_init(&req);
	response_init(&res);
	req.app = app;
	request_set_method(&req, sp ? (*sp = '\0', text) : "GET");
	request_set_path(&req, sp ? sp + 1 : text);
	/* Health would call the store; keep this target free of network waits. */
	if (strncmp(req.path, "/api/health", 11) == 0)
		request_set_path(&req, "/api/nope");
	request_add_header(&req, "Content-Type", "application/json");
	request_add_header(&req, "Authorization", "Bearer x.y.z");
	if (nl != NULL)
		request_set_body(&req, nl + 1, size - (size_t)(nl + 1 - text));
	router_handle(&req, &res);
	if (res.status < 200 || res.status > 599)
		abort();
	request_reset(&req);
	response_reset(&res);
	free(text);
	return 0;
}
