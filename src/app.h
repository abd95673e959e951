/* app.h - what a handler can reach: configuration, the store handle of its
 * thread, and the process-wide auth state. One struct app per thread. */
#ifndef PORTAL_APP_H
#define PORTAL_APP_H

struct config;
struct ddb;
struct auth;

struct app {
	const struct config	*cfg;	/* borrowed, process-wide */
	struct ddb		*ddb;	/* owned, this thread's */
	struct auth		*auth;	/* borrowed, process-wide, thread-safe */
};

/* Creates a thread's context (its own store handle); NULL when the store
 * handle cannot be created (the reason is logged). */
struct app *app_new(const struct config *cfg, struct auth *auth);
void app_free(struct app *app);	/* NULL-safe */

#endif
