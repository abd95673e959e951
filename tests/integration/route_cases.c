/* route_cases.c - runs the route cases of a file (tests/cases/routes.cases)
 * in process against router_handle, with the store behind a private dynalite
 * (started by route_cases.sh) and real RS256 tokens minted here with the
 * development issuer's key. Prints TAP: one test point per case.
 *
 * The file is blocks separated by blank lines; '#' starts a comment line.
 *
 *   === NAME [VAR=VALUE...]     a section: fresh tables, seeded, settings
 *                               VAR=VALUE for this section only
 *
 *   METHOD PATH WHO [BODY]      a case: the request (BODY: the rest of the line)
 *   > Name: value               a request header (any number)
 *   STATUS [CODE [WORD]]        the expected status; CODE: the SPEC error
 *                               code, WORD: a word its message must name
 *   FILTER => JSON              jq: [FILTER] == [JSON] on the response body
 *   FILTER                      jq: FILTER's last output is neither false nor null
 *   {{var}} <- FILTER           saves FILTER's one output for later {{var}}
 *   @Name ERE                   header Name is present and matches ERE
 *   !@Name                      header Name is absent
 *   ~ ERE                       the raw body matches ERE (exact number text)
 *
 * WHO is admin, team or client (the seeded users), none, sub=ID (a new user),
 * token=RAW, each optionally followed by ,claim options: email=E, name=N,
 * exp=SECONDS|none, nbf=..., iat=... (offsets from now), iss=URL, aud=URL,
 * alg=none (unsigned), forge=SUB (SUB's claims under this token's signature).
 * {{var}} is replaced everywhere: by the raw text of a saved string in
 * paths, bodies and headers, by its JSON in filters.
 *
 * Environment: DEV_ISSUER_DIR (dev-key.pem and kid), SEED_FILE, the usual
 * store and auth settings (route_cases.sh sets them). */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "app.h"
#include "auth.h"
#include "config.h"
#include "ddb.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "schema.h"
#include "seed.h"
#include "util.h"

#define BLOCK_LINES_MAX		64	/* lines of one case */
#define VARS_MAX		64	/* saved {{var}} values */
#define SECTION_ENV_MAX		8	/* VAR=VALUE settings of a section */
#define TABLE_WAIT_MS		30000
#define TOKEN_TTL_S		3600
#define BODY_SHOWN_MAX		800	/* bytes of a body shown on failure */
#define JQ_PROGRAM		"jq"

/* One line of the file with its number. */
struct line {
	int	 number;
	char	*text;
};

/* A saved value: name and JSON text. */
struct var {
	char	*name;
	char	*json;
};

/* The store, configuration and app of the current section. */
struct section {
	bool		 open;
	bool		 broken;	/* setup failed: its cases fail */
	struct config	 cfg;
	bool		 cfg_loaded;
	struct ddb	*ddb;
	struct auth	*auth;
	struct app	*app;
	char		*env[SECTION_ENV_MAX];	/* names set for this section */
	size_t		 nenv;
};

static struct {
	const char	*file;		/* the cases file's name, for messages */
	const char	*seed_file;
	EVP_PKEY	*key;
	char		 kid[128];
	char		 tmpdir[64];
	struct var	 vars[VARS_MAX];
	size_t		 nvars;
	struct section	 section;
	int		 sections;
	int		 tests;
	int		 failed;
	struct buf	 diag;		/* why the current test point failed */
} g;

/* Adds a line to the diagnostics of the current test point. */
static void __attribute__((format(printf, 1, 2)))
diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	buf_printf(&g.diag, "%s\n", s);
	free(s);
}

/* Prints one TAP test point with the diagnostics gathered for it. */
static void
tap(bool ok, const char *fmt, ...)
{
	va_list ap;
	char *name;

	va_start(ap, fmt);
	name = xvasprintf(fmt, ap);
	va_end(ap);
	g.tests++;
	if (!ok)
		g.failed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", g.tests, name);
	if (!ok && g.diag.len > 0) {
		char *save = NULL;

		buf_append(&g.diag, "", 1);
		for (char *l = strtok_r(g.diag.data, "\n", &save); l != NULL;
		    l = strtok_r(NULL, "\n", &save))
			printf("# %s\n", l);
	}
	buf_reset(&g.diag);
	fflush(stdout);
	free(name);
}

/* ---- {{var}} ---- */

/* The saved JSON text of name, or NULL. Borrowed. */
static const char *
var_get(const char *name, size_t len)
{
	for (size_t i = 0; i < g.nvars; i++) {
		if (strlen(g.vars[i].name) == len && strncmp(g.vars[i].name, name, len) == 0)
			return g.vars[i].json;
	}
	return NULL;
}

/* Saves name = json (copies both). */
static void
var_set(const char *name, const char *json)
{
	for (size_t i = 0; i < g.nvars; i++) {
		if (strcmp(g.vars[i].name, name) == 0) {
			free(g.vars[i].json);
			g.vars[i].json = xstrdup(json);
			return;
		}
	}
	if (g.nvars == VARS_MAX) {
		fprintf(stderr, "route_cases: more than %d saved values\n", VARS_MAX);
		exit(1);
	}
	g.vars[g.nvars].name = xstrdup(name);
	g.vars[g.nvars].json = xstrdup(json);
	g.nvars++;
}

/* s with every {{var}} replaced: raw string text when raw, else the JSON.
 * A new string, or NULL after a diagnostic for an unknown var. */
static char *
expand(const char *s, bool raw)
{
	struct buf b = BUF_INIT;
	const char *p = s, *open, *close;

	while ((open = strstr(p, "{{")) != NULL && (close = strstr(open + 2, "}}")) != NULL) {
		const char *json = var_get(open + 2, (size_t)(close - open - 2));
		json_object *v;

		if (json == NULL) {
			diag("unknown saved value %.*s", (int)(close - open + 2), open);
			buf_free(&b);
			return NULL;
		}
		buf_append(&b, p, (size_t)(open - p));
		v = raw ? json_tokener_parse(json) : NULL;
		if (v != NULL && json_object_is_type(v, json_type_string))
			buf_puts(&b, json_object_get_string(v));
		else
			buf_puts(&b, json);
		json_object_put(v);
		p = close + 2;
	}
	buf_puts(&b, p);
	if (b.data == NULL)
		buf_append(&b, "", 1);
	return buf_steal(&b);
}

/* ---- tokens ---- */

/* Who sends a request: the claims of the token to mint, or a raw token. */
struct who {
	bool		 none;
	const char	*raw;
	const char	*sub, *email, *name, *iss, *aud, *forge;
	long		 exp, nbf, iat;		/* offsets from now */
	bool		 no_exp, no_nbf, no_iat, alg_none;
};

/* base64url of a string (caller frees). */
static char *
b64(const char *s)
{
	return base64url_encode((const unsigned char *)s, strlen(s));
}

/* The JWT payload of w at now (caller frees). */
static char *
token_payload(const struct config *cfg, const struct who *w, const char *sub, time_t now)
{
	json_object *p = json_object_new_object();
	char *out;

	json_object_object_add(p, "iss", json_object_new_string(w->iss ? w->iss : cfg->issuer));
	json_object_object_add(p, "aud", json_object_new_string(w->aud ? w->aud : cfg->audience));
	json_object_object_add(p, "sub", json_object_new_string(sub));
	if (w->email != NULL)
		json_object_object_add(p, "email", json_object_new_string(w->email));
	if (w->name != NULL)
		json_object_object_add(p, "name", json_object_new_string(w->name));
	if (!w->no_iat)
		json_object_object_add(p, "iat", json_object_new_int64(now + w->iat));
	if (!w->no_nbf)
		json_object_object_add(p, "nbf", json_object_new_int64(now + w->nbf));
	if (!w->no_exp)
		json_object_object_add(p, "exp", json_object_new_int64(now + w->exp));
	out = xstrdup(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
	json_object_put(p);
	return out;
}

/* An RS256 signature of input with the development key, base64url (caller frees). */
static char *
token_sign(const char *input)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[1024];
	size_t siglen = sizeof sig;

	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, g.key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
		fprintf(stderr, "route_cases: signing failed\n");
		exit(1);
	}
	EVP_MD_CTX_free(md);
	return base64url_encode(sig, siglen);
}

/* The token for w (caller frees); NULL for none. */
static char *
token_mint(const struct config *cfg, const struct who *w)
{
	time_t now = time(NULL);
	char *header, *h64, *p64, *input, *sig, *token;

	if (w->none)
		return NULL;
	if (w->raw != NULL)
		return xstrdup(w->raw);
	header = w->alg_none ? xstrdup("{\"alg\":\"none\",\"typ\":\"JWT\"}") :
	    xasprintf("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", g.kid);
	h64 = b64(header);
	input = token_payload(cfg, w, w->sub, now);
	p64 = b64(input);
	free(input);
	input = xasprintf("%s.%s", h64, p64);
	sig = w->alg_none ? xstrdup("") : token_sign(input);
	if (w->forge != NULL) {
		/* Another subject's claims under this signature. */
		char *forged = token_payload(cfg, w, w->forge, now);

		free(p64);
		p64 = b64(forged);
		free(forged);
	}
	token = xasprintf("%s.%s.%s", h64, p64, sig);
	free(header);
	free(h64);
	free(p64);
	free(input);
	free(sig);
	return token;
}

/* Parses an offset option value ("none" or a number). -1 on a bad value. */
static int
who_offset(const char *v, long *out, bool *omit)
{
	if (strcmp(v, "none") == 0) {
		*omit = true;
		return 0;
	}
	return parse_long(v, -100000000L, 100000000L, out);
}

/* The seeded users (data/seed-data.json), as scripts/dev-token knows them. */
static const struct {
	const char	*role;
	const char	*sub;
	const char	*email;
	const char	*name;
} seeded[] = {
	{ "admin", "auth0|seed-admin", "lead@turbotech.example", "Project Lead" },
	{ "team", "auth0|seed-team", "engineer@turbotech.example", "Delivery Engineer" },
	{ "client", "auth0|seed-client", "estimator@client.example", "Chief Estimator" },
};

/* Fills w with the seeded user of role; -1 when role is not one. */
static int
who_seeded(const char *role, struct who *w)
{
	for (size_t i = 0; i < ARRAY_LEN(seeded); i++) {
		if (strcmp(role, seeded[i].role) == 0) {
			w->sub = seeded[i].sub;
			w->email = seeded[i].email;
			w->name = seeded[i].name;
			return 0;
		}
	}
	return -1;
}

/* Parses WHO (spec is modified: options are split in place). -1 on a bad one. */
static int
who_parse(char *spec, struct who *w)
{
	char *save = NULL, *opt = strtok_r(spec, ",", &save);

	memset(w, 0, sizeof *w);
	w->exp = TOKEN_TTL_S;
	if (opt == NULL)
		return -1;
	if (strcmp(opt, "none") == 0)
		w->none = true;
	else if (who_seeded(opt, w) == 0)
		;
	else if (strncmp(opt, "sub=", 4) == 0)
		w->sub = opt + 4;
	else if (strncmp(opt, "token=", 6) == 0)
		w->raw = opt + 6;
	else
		return -1;
	while ((opt = strtok_r(NULL, ",", &save)) != NULL) {
		char *v = strchr(opt, '=');
		int rc = 0;

		if (v == NULL)
			return -1;
		*v++ = '\0';
		if (strcmp(opt, "email") == 0)
			w->email = v;
		else if (strcmp(opt, "name") == 0)
			w->name = v;
		else if (strcmp(opt, "iss") == 0)
			w->iss = v;
		else if (strcmp(opt, "aud") == 0)
			w->aud = v;
		else if (strcmp(opt, "forge") == 0)
			w->forge = v;
		else if (strcmp(opt, "alg") == 0 && strcmp(v, "none") == 0)
			w->alg_none = true;
		else if (strcmp(opt, "exp") == 0)
			rc = who_offset(v, &w->exp, &w->no_exp);
		else if (strcmp(opt, "nbf") == 0)
			rc = who_offset(v, &w->nbf, &w->no_nbf);
		else if (strcmp(opt, "iat") == 0)
			rc = who_offset(v, &w->iat, &w->no_iat);
		else
			return -1;
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* ---- sections ---- */

/* Releases the current section and its settings. */
static void
section_close(void)
{
	struct section *s = &g.section;

	app_free(s->app);
	auth_free(s->auth);
	ddb_free(s->ddb);
	if (s->cfg_loaded)
		config_free(&s->cfg);
	for (size_t i = 0; i < s->nenv; i++) {
		unsetenv(s->env[i]);
		free(s->env[i]);
	}
	memset(s, 0, sizeof *s);
}

/* Creates this section's tables and seeds them. -1 after a diagnostic. */
static int
section_tables(struct section *s)
{
	struct seed_result result;
	struct ddb_error err;
	struct seed_error seed_err;

	for (int t = 0; t < SCHEMA_COUNT; t++) {
		const char *name = schema_table_name(&s->cfg, (enum schema_table)t);
		json_object *req = schema_create_request((enum schema_table)t, name);
		int rc = ddb_create_table(s->ddb, req, &err);

		json_object_put(req);
		if (rc == -1 || ddb_wait_table(s->ddb, name, true, TABLE_WAIT_MS, &err) == -1) {
			diag("table %s: %s: %s", name, err.code, err.message);
			return -1;
		}
	}
	if (seed_file(s->ddb, &s->cfg, g.seed_file, false, time(NULL), &result, &seed_err) == -1) {
		diag("seed %s: %s", g.seed_file, seed_err.cause != NULL ? seed_err.cause :
		    seed_err.store.message);
		seed_error_reset(&seed_err);
		return -1;
	}
	return 0;
}

/* Opens a section from "=== NAME [VAR=VALUE...]" (spec modified). */
static void
section_open(char *spec, int lineno)
{
	struct section *s = &g.section;
	char *save = NULL, *name, *setting, *cause = NULL, *prefix;

	section_close();
	strtok_r(spec, " \t", &save);
	name = strtok_r(NULL, " \t", &save);
	s->open = true;
	while ((setting = strtok_r(NULL, " \t", &save)) != NULL) {
		char *eq = strchr(setting, '=');

		if (eq == NULL || s->nenv == SECTION_ENV_MAX) {
			diag("bad section setting '%s'", setting);
			s->broken = true;
			continue;
		}
		s->env[s->nenv++] = xstrndup(setting, (size_t)(eq - setting));
		setenv(s->env[s->nenv - 1], eq + 1, 1);
	}
	prefix = xasprintf("rc%ld-%d-", (long)getpid(), ++g.sections);
	setenv("PORTAL_TABLE_PREFIX", prefix, 1);
	free(prefix);
	if (!s->broken && config_load(&s->cfg, CONFIG_NEED_AUTH, &cause) == -1) {
		diag("configuration: %s", cause != NULL ? cause : "?");
		free(cause);
		s->broken = true;
	}
	s->cfg_loaded = true;
	if (!s->broken && ((s->ddb = ddb_new(&s->cfg)) == NULL || section_tables(s) == -1))
		s->broken = true;
	if (!s->broken) {
		s->auth = auth_new(&s->cfg);
		s->app = app_new(&s->cfg, s->auth);
	}
	tap(!s->broken, "%s:%d section %s: fresh tables, seeded", g.file, lineno,
	    name != NULL ? name : "?");
}

/* ---- one case ---- */

/* What a case expects beyond its assertions. */
struct expect {
	int		 status;
	const char	*error_code;	/* NULL: not an error case */
	const char	*error_word;
};

/* The value of response header name (all of them joined by ", "); a new
 * string, or NULL when absent. */
static char *
header_joined(const struct response *res, const char *name)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < res->nheaders; i++) {
		if (ascii_casecmp(res->headers[i].name, name) != 0)
			continue;
		if (b.len > 0)
			buf_puts(&b, ", ");
		buf_puts(&b, res->headers[i].value);
	}
	return b.data != NULL ? buf_steal(&b) : NULL;
}

/* True when s matches the extended regular expression ere. */
static bool
matches(const char *s, const char *ere)
{
	regex_t re;
	bool ok;

	if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0) {
		diag("bad regular expression /%s/", ere);
		return false;
	}
	ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* Checks the status and, for an error case, the SPEC error body. */
static bool
check_status(const struct response *res, const struct expect *ex, const char *body)
{
	json_object *root, *error, *code, *message;
	char *ctype;
	bool ok = true;

	if (res->status != ex->status) {
		diag("expected HTTP %d, got %d", ex->status, res->status);
		return false;
	}
	if (ex->error_code == NULL)
		return true;
	root = json_tokener_parse(body);
	if (!json_object_object_get_ex(root, "error", &error) ||
	    !json_object_object_get_ex(error, "code", &code) ||
	    strcmp(json_object_get_string(code), ex->error_code) != 0) {
		diag("expected error code %s", ex->error_code);
		ok = false;
	} else if (!json_object_object_get_ex(error, "message", &message) ||
	    !json_object_is_type(message, json_type_string) ||
	    json_object_get_string_len(message) == 0) {
		diag("error.message missing");
		ok = false;
	} else if (ex->error_word != NULL &&
	    strstr(json_object_get_string(message), ex->error_word) == NULL) {
		diag("error message does not name '%s'", ex->error_word);
		ok = false;
	}
	json_object_put(root);
	ctype = header_joined(res, "Content-Type");
	if (ctype == NULL || strncmp(ctype, "application/json", 16) != 0) {
		diag("error Content-Type is %s", ctype != NULL ? ctype : "absent");
		ok = false;
	}
	free(ctype);
	return ok;
}

/* Checks one header or raw-body assertion. */
static bool
check_plain(const struct response *res, const char *body, const char *a)
{
	char *name, *value;
	const char *ere;
	bool ok;

	if (a[0] == '~') {
		ere = a + 1 + strspn(a + 1, " ");
		ok = matches(body, ere);
		if (!ok)
			diag("body does not match /%s/", ere);
		return ok;
	}
	if (a[0] == '!') {
		value = header_joined(res, a + 2);
		ok = value == NULL;
		if (!ok)
			diag("header %s should be absent, got '%s'", a + 2, value);
		free(value);
		return ok;
	}
	ere = a + 1 + strcspn(a + 1, " ");
	name = xstrndup(a + 1, (size_t)(ere - a - 1));
	ere += strspn(ere, " ");
	value = header_joined(res, name);
	ok = value != NULL && matches(value, ere);
	if (!ok)
		diag("header %s: '%s' does not match /%s/", name, value ? value : "(absent)", ere);
	free(value);
	free(name);
	return ok;
}

/* The jq expression for one assertion; its one output is "ok", "set JSON"
 * or "got JSON". A new string, or NULL after a diagnostic. */
static char *
jq_piece(const char *a)
{
	const char *arrow = strstr(a, " => "), *save = strstr(a, " <- ");
	char *filter, *piece;

	if (a[0] == '{' && a[1] == '{' && save != NULL) {
		filter = expand(save + 4, false);
		piece = filter ? xasprintf("([%s] | if length == 1 then \"set \" + (.[0] | tojson) "
		    "else \"got \" + tojson end)", filter) : NULL;
	} else if (arrow != NULL) {
		char *left = xstrndup(a, (size_t)(arrow - a));
		char *right = expand(arrow + 4, false);

		filter = expand(left, false);
		piece = filter && right ? xasprintf("([%s] | if . == [%s] then \"ok\" "
		    "else \"got \" + tojson end)", filter, right) : NULL;
		free(left);
		free(right);
	} else {
		filter = expand(a, false);
		piece = filter ? xasprintf("([%s] | if length > 0 and (last | . != false and . != null) "
		    "then \"ok\" else \"got \" + tojson end)", filter) : NULL;
	}
	free(filter);
	return piece;
}

/* Writes len bytes of data to a new file path. -1 on failure. */
static int
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* Runs the jq assertions of a case (n of them, in order) on body; saves
 * {{var}} values. True when every one held. */
static bool
check_jq(const char *body, size_t body_len, char **asserts, size_t n)
{
	char prog_path[128], body_path[128], *cmd, *line = NULL;
	struct buf prog = BUF_INIT;
	size_t cap = 0, i = 0;
	bool ok = true;
	FILE *out;

	for (size_t k = 0; k < n; k++) {
		char *piece = jq_piece(asserts[k]);

		if (piece == NULL) {
			buf_free(&prog);
			return false;
		}
		buf_printf(&prog, "%s%s\n", k > 0 ? "," : "", piece);
		free(piece);
	}
	snprintf(prog_path, sizeof prog_path, "%s/program.jq", g.tmpdir);
	snprintf(body_path, sizeof body_path, "%s/body.json", g.tmpdir);
	if (write_file(prog_path, prog.data, prog.len) == -1 ||
	    write_file(body_path, body, body_len) == -1) {
		diag("cannot write to %s: %s", g.tmpdir, strerror(errno));
		buf_free(&prog);
		return false;
	}
	buf_free(&prog);
	cmd = xasprintf(JQ_PROGRAM " -r -f '%s' '%s' 2>&1", prog_path, body_path);
	if ((out = popen(cmd, "r")) == NULL) {
		diag("cannot run jq: %s", strerror(errno));
		free(cmd);
		return false;
	}
	while (getline(&line, &cap, out) != -1) {
		line[strcspn(line, "\n")] = '\0';
		if (i < n && strncmp(line, "set ", 4) == 0) {
			char *name = xstrndup(asserts[i] + 2, strcspn(asserts[i] + 2, "}"));

			var_set(name, line + 4);
			free(name);
		} else if (i >= n || strcmp(line, "ok") != 0) {
			diag("%s: %s", i < n ? asserts[i] : "jq", line);
			ok = false;
		}
		i++;
	}
	if (pclose(out) != 0 || i != n) {
		diag("jq did not answer every assertion (%zu of %zu)", i, n);
		ok = false;
	}
	free(line);
	free(cmd);
	return ok;
}

/* Builds the request of a case. -1 after a diagnostic. */
static int
case_request(struct request *req, char *request_line, char **headers, size_t nheaders)
{
	char *save = NULL, *method, *path, *whospec, *body, *token;
	struct who who;

	method = strtok_r(request_line, " \t", &save);
	path = strtok_r(NULL, " \t", &save);
	whospec = strtok_r(NULL, " \t", &save);
	body = save != NULL ? save + strspn(save, " \t") : NULL;
	if (method == NULL || path == NULL || whospec == NULL || who_parse(whospec, &who) == -1) {
		diag("bad request line (METHOD PATH WHO [BODY])");
		return -1;
	}
	if ((path = expand(path, true)) == NULL)
		return -1;
	request_set_method(req, method);
	request_set_path(req, path);
	free(path);
	req->remote_addr = xstrdup("127.0.0.1");
	if ((token = token_mint(&g.section.cfg, &who)) != NULL) {
		char *value = xasprintf("Bearer %s", token);

		request_add_header(req, "authorization", value);
		free(value);
		free(token);
	}
	for (size_t i = 0; i < nheaders; i++) {
		char *h = expand(headers[i], true), *colon = h ? strchr(h, ':') : NULL;

		if (colon == NULL) {
			diag("bad request header '%s'", headers[i]);
			free(h);
			return -1;
		}
		*colon = '\0';
		request_add_header(req, h, colon + 1 + strspn(colon + 1, " "));
		free(h);
	}
	if (body != NULL && *body != '\0') {
		if ((body = expand(body, true)) == NULL)
			return -1;
		request_add_header(req, "content-type", "application/json");
		request_set_body(req, body, strlen(body));
		free(body);
	}
	return 0;
}

/* Parses "STATUS [CODE [WORD]]". -1 on a bad line. */
static int
case_expect(char *line, struct expect *ex)
{
	char *save = NULL, *status = strtok_r(line, " \t", &save);
	long v;

	if (status == NULL || parse_long(status, 100, 599, &v) == -1)
		return -1;
	ex->status = (int)v;
	ex->error_code = strtok_r(NULL, " \t", &save);
	ex->error_word = strtok_r(NULL, " \t", &save);
	return 0;
}

/* Runs one case block: lines[0] the request, then headers, status, assertions. */
static void
case_run(struct line *lines, size_t n)
{
	char *name = xstrdup(lines[0].text), *headers[BLOCK_LINES_MAX], *jq[BLOCK_LINES_MAX];
	char *plain[BLOCK_LINES_MAX], *body;
	size_t nheaders = 0, njq = 0, nplain = 0, i = 1;
	struct expect ex;
	struct request req;
	struct response res;
	bool ok = false;

	request_init(&req);
	response_init(&res);
	for (; i < n && lines[i].text[0] == '>'; i++)
		headers[nheaders++] = lines[i].text + 1 + strspn(lines[i].text + 1, " ");
	if (g.section.broken || !g.section.open) {
		diag("no working section before this case");
		goto out;
	}
	if (i >= n || case_expect(lines[i].text, &ex) == -1) {
		diag("line %d: expected a status line", i < n ? lines[i].number : lines[0].number);
		goto out;
	}
	for (i++; i < n; i++) {
		char *a = lines[i].text;

		if (a[0] == '@' || a[0] == '~' || (a[0] == '!' && a[1] == '@'))
			plain[nplain++] = a;
		else
			jq[njq++] = a;
	}
	if (case_request(&req, lines[0].text, headers, nheaders) == -1)
		goto out;
	req.app = g.section.app;
	router_handle(&req, &res);
	body = res.body.data != NULL ? res.body.data : "";
	ok = check_status(&res, &ex, body);
	for (i = 0; i < nplain; i++)
		ok = check_plain(&res, body, plain[i]) && ok;
	if (njq > 0)
		ok = check_jq(body, res.body.len, jq, njq) && ok;
	if (!ok)
		diag("HTTP %d: %.*s", res.status, BODY_SHOWN_MAX, body);
out:
	tap(ok, "%s:%d %s", g.file, lines[0].number, name);
	request_reset(&req);
	response_reset(&res);
	free(name);
}

/* ---- the file ---- */

/* Runs one block of lines (a section line or a case). */
static void
block_run(struct line *lines, size_t n)
{
	if (n == 0)
		return;
	if (strncmp(lines[0].text, "===", 3) == 0) {
		section_open(lines[0].text, lines[0].number);
		if (n > 1)
			case_run(lines + 1, n - 1);
		return;
	}
	case_run(lines, n);
}

/* Reads the cases file and runs every block. -1 when it cannot be read. */
static int
run_file(const char *path)
{
	struct line lines[BLOCK_LINES_MAX];
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0, n = 0;
	int number = 0;

	if (f == NULL) {
		fprintf(stderr, "route_cases: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		bool eof = getline(&text, &cap, f) == -1;

		number++;
		if (!eof) {
			text[strcspn(text, "\r\n")] = '\0';
			if (text[0] == '#')
				continue;
		}
		if (eof || text[strspn(text, " \t")] == '\0') {
			block_run(lines, n);
			for (size_t i = 0; i < n; i++)
				free(lines[i].text);
			n = 0;
			if (eof)
				break;
			continue;
		}
		if (n == BLOCK_LINES_MAX) {
			fprintf(stderr, "route_cases: %s:%d: a block of more than %d lines\n", path,
			    number, BLOCK_LINES_MAX);
			fclose(f);
			return -1;
		}
		lines[n].number = number;
		lines[n++].text = xstrdup(text);
	}
	free(text);
	fclose(f);
	return 0;
}

/* Removes the temporary directory and the files check_jq wrote in it. */
static void
tmpdir_remove(void)
{
	static const char *const files[] = { "program.jq", "body.json" };

	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		char *path = xasprintf("%s/%s", g.tmpdir, files[i]);

		unlink(path);
		free(path);
	}
	rmdir(g.tmpdir);
}

/* Loads the development key and its kid from dir. -1 on failure. */
static int
load_key(const char *dir)
{
	char *path = xasprintf("%s/dev-key.pem", dir);
	FILE *f = fopen(path, "r");

	free(path);
	if (f == NULL || (g.key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	path = xasprintf("%s/kid", dir);
	f = fopen(path, "r");
	free(path);
	if (f == NULL || fgets(g.kid, sizeof g.kid, f) == NULL) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	g.kid[strcspn(g.kid, "\r\n")] = '\0';
	return 0;
}

/* route_cases FILE: runs the cases; exit 0 when all passed. */
int
main(int argc, char **argv)
{
	const char *dir = getenv("DEV_ISSUER_DIR");
	const char *slash;
	int rc;

	if (argc != 2 || dir == NULL || (g.seed_file = getenv("SEED_FILE")) == NULL) {
		fprintf(stderr, "usage: DEV_ISSUER_DIR=DIR SEED_FILE=FILE route_cases CASES\n");
		return 2;
	}
	if (load_key(dir) == -1) {
		printf("1..1\nnot ok 1 - the development key in %s\n", dir);
		return 1;
	}
	snprintf(g.tmpdir, sizeof g.tmpdir, "%s/route-cases.XXXXXX",
	    getenv("TMPDIR") != NULL && strlen(getenv("TMPDIR")) < 32 ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(g.tmpdir) == NULL) {
		printf("1..1\nnot ok 1 - a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	slash = strrchr(argv[1], '/');
	g.file = slash != NULL ? slash + 1 : argv[1];
	rc = run_file(argv[1]);
	section_close();
	printf("1..%d\n", g.tests);
	for (size_t i = 0; i < g.nvars; i++) {
		free(g.vars[i].name);
		free(g.vars[i].json);
	}
	buf_free(&g.diag);
	EVP_PKEY_free(g.key);
	tmpdir_remove();
	return rc == 0 && g.failed == 0 && g.tests > 0 ? 0 : 1;
}
