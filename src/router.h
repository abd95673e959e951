/* router.h - the static route table, and the one entry every transport calls. */
#ifndef PORTAL_ROUTER_H
#define PORTAL_ROUTER_H

#include "user.h"
#include "http.h"

typedef void (*handler_fn)(struct request *req, struct response *res);

struct route {
	const char	*method;
	const char	*pattern;	/* "/api/deliverables/{id}" */
	handler_fn	 handler;
	enum role	 min_role;	/* ROLE_NONE = no auth */
	bool		 takes_body;	/* JSON body required and parsed into req->json */
};

/* Handles one request end to end: request id, CORS, routing, auth, body
 * checks, the handler, error mapping, the access log line. req->app must be set. */
void router_handle(struct request *req, struct response *res);

#endif
