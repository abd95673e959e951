/* app.c - the per-thread context handed to handlers. */
#include <stdlib.h>

#include "app.h"
#include "config.h"
#include "ddb.h"
#include "log.h"
#include "util.h"

/* A thread's context with its own store handle; NULL (logged) when the
 * handle cannot be made. */
struct app *
app_new(const struct config *cfg, struct auth *auth)
{
	struct app *app = xcalloc(1, sizeof *app);

	app->cfg = cfg;
	app->auth = auth;
	if ((app->ddb = ddb_new(cfg)) == NULL) {
		log_error("cannot create the DynamoDB handle", LOG_S("endpoint", cfg->endpoint));
		free(app);
		return NULL;
	}
	return app;
}

/* Frees the context and its store handle. */
void
app_free(struct app *app)
{
	if (app == NULL)
		return;
	ddb_free(app->ddb);
	free(app);
}
