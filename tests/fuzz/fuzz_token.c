/* fuzz_token.c - the token verifier on arbitrary Authorization values. */
#include <stdlib.h>

#include "auth.h"
#include "config.h"
#include "fuzz.h"
#include "util.h"

static struct config cfg;
static struct auth *auth;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_claims claims = { 0 };
	const char *why;
	char *header;

	if (auth == NULL) {
		char *cause;
		setenv("AUTH_JWKS_URL", "file:///nonexistent/jwks.json", 1);
		setenv("AUTH_ISSUER", "https://issuer.local/", 1);
		setenv("AUTH0_AUDIENCE", "aud", 1);
		setenv("LOG_LEVEL", "error", 1);
		if (config_load(&cfg, CONFIG_NEED_AUTH, &cause) == -1)
			abort();
		auth = auth_new(&cfg);
	}
	header = xasprintf("Bearer %.*s", (int)size, (const char *)data);
	/* No key exists, so nothing may verify. */
	if (auth_verify(auth, header, &claims, &why) == AUTH_OK)
		abort();
	auth_claims_free(&claims);
	free(header);
	return 0;
}
