/* handler_docs.c - the API docs, no token needed: GET /api/openapi.json (the
 * contract, converted from openapi.yaml at build time), GET /api/docs (the
 * Swagger UI page) and GET /api/docs/{asset} (its script and styles). The
 * bytes are embedded in the build (docs_assets.h), so the workers behind
 * nginx and the Lambda function serve the same files; nginx also serves the
 * assets from disk. Every answer has a strong ETag and honours If-None-Match. */
#include <string.h>

#include "docs_assets.h"
#include "handlers.h"

/* The contract and the page change with a release: revalidated after 5 min. */
#define DOCS_CACHE_CONTROL	"public, max-age=300"
/* The assets are named with their hash by the page: cached for a day. */
#define ASSET_CACHE_CONTROL	"public, max-age=86400"
/* The page loads only from its own origin; try-it-out calls only the API. */
#define DOCS_PAGE_CSP \
	"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " \
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* The embedded file called name, or NULL. */
static const struct docs_asset *
find_asset(const char *name)
{
	for (size_t i = 0; i < docs_assets_count; i++)
		if (strcmp(docs_assets[i].name, name) == 0)
			return &docs_assets[i];
	return NULL;
}

/* True when an If-None-Match value (a list of entity tags, or "*") names etag;
 * weak tags compare by their opaque part, as RFC 9110 says for this header. */
static bool
etag_listed(const char *header, const char *etag)
{
	size_t etag_len = strlen(etag);
	const char *p = header;

	while (*p != '\0') {
		const char *start, *end;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		start = p;
		if (*p == '"') {
			end = strchr(p + 1, '"');
			end = end ? end + 1 : p + strlen(p);
		} else {
			end = p + strcspn(p, ", \t");
		}
		if ((size_t)(end - start) == etag_len && strncmp(start, etag, etag_len) == 0)
			return true;
		p = end;
	}
	return false;
}

/* Answers one embedded file: 200 with it, or 304 when the caller has it. */
static void
serve_asset(struct request *req, struct response *res, const struct docs_asset *asset,
    const char *cache_control)
{
	const char *if_none_match = request_header(req, "if-none-match");

	response_set_header(res, "ETag", asset->etag);
	response_set_header(res, "Cache-Control", cache_control);
	if (if_none_match != NULL && etag_listed(if_none_match, asset->etag)) {
		response_empty(res, 304);
		return;
	}
	res->status = 200;
	buf_reset(&res->body);
	buf_append(&res->body, asset->data, asset->len);
	response_set_header(res, "Content-Type", asset->content_type);
	response_set_header(res, "X-Content-Type-Options", "nosniff");
}

/* Answers an embedded file by name, or 500 when the build lacks it. */
static void
serve_named(struct request *req, struct response *res, const char *name, const char *cache_control)
{
	const struct docs_asset *asset = find_asset(name);

	if (asset == NULL) {
		response_error(res, 500, "internal", "internal error");
		return;
	}
	serve_asset(req, res, asset, cache_control);
}

void
handle_openapi_json(struct request *req, struct response *res)
{
	serve_named(req, res, "openapi.json", DOCS_CACHE_CONTROL);
}

void
handle_docs_page(struct request *req, struct response *res)
{
	serve_named(req, res, "index.html", DOCS_CACHE_CONTROL);
	if (res->status == 200 || res->status == 304)
		response_set_header(res, "Content-Security-Policy", DOCS_PAGE_CSP);
}

void
handle_docs_asset(struct request *req, struct response *res)
{
	const char *name = req->nparams > 0 ? req->params[0] : "";
	const struct docs_asset *asset = find_asset(name);

	/* The page and the contract have their own URLs. */
	if (asset == NULL || strcmp(name, "index.html") == 0 || strcmp(name, "openapi.json") == 0) {
		response_error(res, 404, "not_found", "no docs file %s", name);
		return;
	}
	serve_asset(req, res, asset, ASSET_CACHE_CONTROL);
}
