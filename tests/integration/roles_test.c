/* roles_test.c - authentication end to end against a real DynamoDB
 * (dynalite, started by roles.sh): provisioning on first sight (once, under
 * concurrency), PORTAL_ADMINS, the role cache and its expiry, the 401/403/503
 * answers, and the users model. Tokens are minted here with a key of our own,
 * published through a file:// JWKS exactly as in production. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "app.h"
#include "auth.h"
#include "roles.h"
#include "config.h"
#include "ddb.h"
#include "http.h"
#include "model_users.h"
#include "util.h"

#define ISSUER		"https://roles-test.example/"
#define AUDIENCE	"https://api.roles-test.example"
#define KID		"roles-test-key"
#define THREADS		8
#define ADMIN_SUB	"auth0|admin-by-sub"
#define ADMIN_EMAIL	"boss@example.com"
#define TABLE_TIMEOUT_MS 10000

static struct {
	char		 dir[64];
	char		 jwks_path[128];
	EVP_PKEY	*key;
	struct config	 cfg;
	struct auth	*auth;
	struct ddb	*ddb;
} g;

/* base64url of a big-number parameter of the key (caller frees). */
static char *
bn_b64(const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char *bin;
	char *out;
	int len;

	if (EVP_PKEY_get_bn_param(g.key, param, &bn) != 1)
		abort();
	len = BN_num_bytes(bn);
	bin = xmalloc((size_t)len);
	BN_bn2bin(bn, bin);
	out = base64url_encode(bin, (size_t)len);
	free(bin);
	BN_free(bn);
	return out;
}

/* Publishes the key as a one-key JWKS file. */
static int
write_jwks(void)
{
	char *n = bn_b64(OSSL_PKEY_PARAM_RSA_N), *e = bn_b64(OSSL_PKEY_PARAM_RSA_E);
	FILE *f = fopen(g.jwks_path, "w");

	if (f == NULL)
		return -1;
	fprintf(f, "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\","
	    "\"n\":\"%s\",\"e\":\"%s\"}]}\n", KID, n, e);
	fclose(f);
	free(n);
	free(e);
	return 0;
}

/* An RS256 token for sub with optional email and name (caller frees). */
static char *
mint(const char *sub, const char *email, const char *name, bool email_unverified)
{
	json_object *p = json_object_new_object();
	const char *hjson = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" KID "\"}";
	char *h64, *p64, *input, *s64, *token;
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	const char *pjson;
	EVP_MD_CTX *md;
	int64_t now = (int64_t)time(NULL);

	json_object_object_add(p, "iss", json_object_new_string(ISSUER));
	json_object_object_add(p, "aud", json_object_new_string(AUDIENCE));
	json_object_object_add(p, "sub", json_object_new_string(sub));
	json_object_object_add(p, "iat", json_object_new_int64(now));
	json_object_object_add(p, "exp", json_object_new_int64(now + 600));
	if (email != NULL)
		json_object_object_add(p, "email", json_object_new_string(email));
	if (name != NULL)
		json_object_object_add(p, "https://turbotech.example/name", json_object_new_string(name));
	if (email_unverified)
		json_object_object_add(p, "email_verified", json_object_new_boolean(0));
	pjson = json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN);
	h64 = base64url_encode((const unsigned char *)hjson, strlen(hjson));
	p64 = base64url_encode((const unsigned char *)pjson, strlen(pjson));
	input = xasprintf("%s.%s", h64, p64);
	md = EVP_MD_CTX_new();
	if (EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, g.key, NULL) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1)
		abort();
	EVP_MD_CTX_free(md);
	s64 = base64url_encode(sig, siglen);
	token = xasprintf("%s.%s", input, s64);
	free(h64);
	free(p64);
	free(input);
	free(s64);
	json_object_put(p);
	return token;
}

/* One authentication as the router does it; *user (may be NULL) receives
 * a copy of req->user. Returns the helper's result. */
static int
authenticate(struct ddb *ddb, const char *authorization, struct response *res, struct user **user)
{
	struct app app = { .cfg = &g.cfg, .ddb = ddb, .auth = g.auth };
	struct request req;
	int rc;

	request_init(&req);
	req.app = &app;
	if (authorization != NULL)
		request_add_header(&req, "Authorization", authorization);
	response_init(res);
	rc = roles_authenticate_or_reply(&req, res);
	if (user != NULL)
		*user = user_dup(req.user);
	if (rc == 0)
		assert_non_null(req.user);
	else
		assert_null(req.user);
	request_reset(&req);
	return rc;
}

/* Authenticates a bearer token for sub; returns the user (caller frees). */
static struct user *
login(struct ddb *ddb, const char *sub, const char *email, const char *name)
{
	char *token = mint(sub, email, name, false), *value = xasprintf("Bearer %s", token);
	struct response res;
	struct user *u = NULL;

	assert_int_equal(authenticate(ddb, value, &res, &u), 0);
	response_reset(&res);
	free(value);
	free(token);
	assert_non_null(u);
	return u;
}

/* The stored users item for id as plain JSON, or NULL (caller frees). */
static json_object *
stored(const char *id)
{
	json_object *key = json_object_new_object(), *item = NULL, *plain;
	struct ddb_error err;

	json_object_object_add(key, "id", ddb_av_s(id));
	assert_int_equal(ddb_get_item(g.ddb, g.cfg.table_users, key, true, &item, &err), 0);
	json_object_put(key);
	if (item == NULL)
		return NULL;
	plain = ddb_unmarshal_item(item, NULL);
	json_object_put(item);
	return plain;
}

/* A string member of a plain object (borrowed) or NULL. */
static const char *
member(json_object *obj, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Changes a stored role behind this process's back (as another worker would). */
static void
set_role_elsewhere(const char *id, const char *role)
{
	json_object *key = json_object_new_object(), *extra;
	struct ddb_error err;

	json_object_object_add(key, "id", ddb_av_s(id));
	extra = json_tokener_parse("{\"UpdateExpression\":\"SET #r = :r\","
	    "\"ExpressionAttributeNames\":{\"#r\":\"role\"}}");
	json_object *values = json_object_new_object();
	json_object_object_add(values, ":r", ddb_av_s(role));
	json_object_object_add(extra, "ExpressionAttributeValues", values);
	assert_int_equal(ddb_update_item(g.ddb, g.cfg.table_users, key, extra, NULL, &err), 0);
	json_object_put(extra);
	json_object_put(key);
}

/* Key, JWKS, configuration from the environment, the users table. */
static int
group_setup(void **state)
{
	struct ddb_error err;
	json_object *req;
	char *cause = NULL, *url, *prefix;

	if (getenv("AWS_ENDPOINT_URL_DYNAMODB") == NULL) {
		fprintf(stderr, "roles_test: AWS_ENDPOINT_URL_DYNAMODB is not set (run roles.sh)\n");
		return -1;
	}
	snprintf(g.dir, sizeof(g.dir), "/tmp/roles_test.XXXXXX");
	if (mkdtemp(g.dir) == NULL)
		return -1;
	snprintf(g.jwks_path, sizeof(g.jwks_path), "%s/jwks.json", g.dir);
	if ((g.key = EVP_RSA_gen(2048)) == NULL || write_jwks() == -1)
		return -1;
	url = xasprintf("file://%s", g.jwks_path);
	prefix = xasprintf("roles-test-%ld-", (long)getpid());
	setenv("AUTH_JWKS_URL", url, 1);
	setenv("AUTH_ISSUER", ISSUER, 1);
	setenv("AUTH0_AUDIENCE", AUDIENCE, 1);
	setenv("PORTAL_ADMINS", ADMIN_SUB ", " ADMIN_EMAIL, 1);
	setenv("PORTAL_TABLE_PREFIX", prefix, 1);
	free(url);
	free(prefix);
	if (getenv("AWS_ACCESS_KEY_ID") == NULL) {
		setenv("AWS_ACCESS_KEY_ID", "test", 1);
		setenv("AWS_SECRET_ACCESS_KEY", "test", 1);
	}
	if (config_load(&g.cfg, CONFIG_NEED_AUTH, &cause) == -1) {
		fprintf(stderr, "roles_test: %s\n", cause);
		free(cause);
		return -1;
	}
	g.ddb = ddb_new(&g.cfg);
	g.auth = auth_new(&g.cfg);
	req = json_object_new_object();
	json_object_object_add(req, "TableName", json_object_new_string(g.cfg.table_users));
	json_object_object_add(req, "BillingMode", json_object_new_string("PAY_PER_REQUEST"));
	json_object_object_add(req, "AttributeDefinitions",
	    json_tokener_parse("[{\"AttributeName\":\"id\",\"AttributeType\":\"S\"}]"));
	json_object_object_add(req, "KeySchema",
	    json_tokener_parse("[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}]"));
	if (ddb_create_table(g.ddb, req, &err) == -1 ||
	    ddb_wait_table(g.ddb, g.cfg.table_users, true, TABLE_TIMEOUT_MS, &err) == -1) {
		fprintf(stderr, "roles_test: users table: %s %s\n", err.code, err.message);
		json_object_put(req);
		return -1;
	}
	json_object_put(req);
	return 0;
}

/* Drops the table and everything else. */
static int
group_teardown(void **state)
{
	struct ddb_error err;

	if (g.ddb != NULL)
		ddb_delete_table(g.ddb, g.cfg.table_users, &err);
	roles_cache_clear();
	auth_free(g.auth);
	ddb_free(g.ddb);
	config_free(&g.cfg);
	EVP_PKEY_free(g.key);
	unlink(g.jwks_path);
	rmdir(g.dir);
	return 0;
}

/* Each test starts with an empty role cache and the default TTL. */
static int
setup(void **state)
{
	roles_cache_clear();
	roles_cache_set_ttl_ms(0);
	return 0;
}

/* ---- provisioning ---- */

/* The first request creates the user as client, with profile and times. */
static void
test_provision_first_request(void **state)
{
	struct user *u = login(g.ddb, "auth0|new-1", "new1@example.com", "New One");
	json_object *item;
	time_t t;

	assert_string_equal(u->id, "auth0|new-1");
	assert_int_equal(u->role, ROLE_CLIENT);
	assert_string_equal(u->email, "new1@example.com");
	assert_string_equal(u->name, "New One");	/* from a namespaced claim */
	item = stored("auth0|new-1");
	assert_non_null(item);
	assert_string_equal(member(item, "role"), "client");
	assert_string_equal(member(item, "email"), "new1@example.com");
	assert_string_equal(member(item, "name"), "New One");
	assert_non_null(member(item, "created_at"));
	assert_int_equal(time_parse_rfc3339(member(item, "created_at"), &t), 0);
	assert_true(llabs((long long)(t - time(NULL))) < 60);
	assert_string_equal(member(item, "last_seen_at"), member(item, "created_at"));
	assert_string_equal(u->created_at, member(item, "created_at"));
	json_object_put(item);
	user_free(u);
}

/* A user without email or name claims is provisioned too. */
static void
test_provision_minimal(void **state)
{
	struct user *u = login(g.ddb, "auth0|minimal", NULL, NULL);
	json_object *item = stored("auth0|minimal");

	assert_int_equal(u->role, ROLE_CLIENT);
	assert_null(u->email);
	assert_non_null(item);
	assert_null(member(item, "email"));
	json_object_put(item);
	user_free(u);
}

/* An existing user keeps the stored role and profile. */
static void
test_existing_user_keeps_role(void **state)
{
	struct user *u;
	struct ddb_error err;
	json_object *updated = NULL;

	user_free(login(g.ddb, "auth0|existing", "e@example.com", "E"));
	assert_int_equal(users_set_role(g.ddb, &g.cfg, "auth0|existing", ROLE_TEAM, &updated, &err), 0);
	assert_string_equal(member(updated, "role"), "team");
	json_object_put(updated);
	roles_cache_clear();
	/* The token now says other things; the table decides. */
	u = login(g.ddb, "auth0|existing", ADMIN_EMAIL, "Someone Else");
	assert_int_equal(u->role, ROLE_TEAM);
	assert_string_equal(u->email, "e@example.com");
	user_free(u);
}

/* PORTAL_ADMINS by sub. */
static void
test_admins_by_sub(void **state)
{
	struct user *u = login(g.ddb, ADMIN_SUB, NULL, NULL);
	json_object *item = stored(ADMIN_SUB);

	assert_int_equal(u->role, ROLE_ADMIN);
	assert_string_equal(member(item, "role"), "admin");
	json_object_put(item);
	user_free(u);
}

/* PORTAL_ADMINS by email (case-insensitive), but not when the token calls
 * the email unverified. */
static void
test_admins_by_email(void **state)
{
	char *token, *value;
	struct response res;
	struct user *u;

	u = login(g.ddb, "auth0|boss", "Boss@Example.com", "Boss");
	assert_int_equal(u->role, ROLE_ADMIN);
	user_free(u);
	u = login(g.ddb, "auth0|not-boss", "someone@example.com", NULL);
	assert_int_equal(u->role, ROLE_CLIENT);
	user_free(u);

	token = mint("auth0|fake-boss", ADMIN_EMAIL, NULL, true);
	value = xasprintf("Bearer %s", token);
	assert_int_equal(authenticate(g.ddb, value, &res, &u), 0);
	assert_int_equal(u->role, ROLE_CLIENT);
	user_free(u);
	response_reset(&res);
	free(value);
	free(token);
}

struct race_arg {
	pthread_barrier_t	*barrier;
	const char		*sub;
	int			 index;
	int			 rc;
	bool			 created;
	struct user		*user;
};

/* One thread provisioning through the model with its own store handle. */
static void *
race_model(void *p)
{
	struct race_arg *a = p;
	struct ddb *ddb = ddb_new(&g.cfg);
	struct ddb_error err;
	char name[32];

	snprintf(name, sizeof(name), "thread %d", a->index);
	pthread_barrier_wait(a->barrier);
	a->rc = users_provision(ddb, &g.cfg, a->sub, "race@example.com", name, ROLE_CLIENT,
	    &a->user, &a->created, &err);
	ddb_free(ddb);
	return NULL;
}

/* One thread's first request, through the router's helper. */
static void *
race_request(void *p)
{
	struct race_arg *a = p;
	struct ddb *ddb = ddb_new(&g.cfg);
	char *token = mint(a->sub, "race2@example.com", NULL, false);
	char *value = xasprintf("Bearer %s", token);
	struct app app = { .cfg = &g.cfg, .ddb = ddb, .auth = g.auth };
	struct request req;
	struct response res;

	request_init(&req);
	req.app = &app;
	request_add_header(&req, "Authorization", value);
	response_init(&res);
	pthread_barrier_wait(a->barrier);
	a->rc = roles_authenticate_or_reply(&req, &res);
	a->user = user_dup(req.user);
	request_reset(&req);
	response_reset(&res);
	free(value);
	free(token);
	ddb_free(ddb);
	return NULL;
}

/* Runs fn in THREADS threads released at once. */
static void
race(void *(*fn)(void *), const char *sub, struct race_arg *args)
{
	pthread_barrier_t barrier;
	pthread_t th[THREADS];

	pthread_barrier_init(&barrier, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct race_arg){ .barrier = &barrier, .sub = sub, .index = i, .rc = -2 };
		assert_int_equal(pthread_create(&th[i], NULL, fn, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
}

/* Eight simultaneous provisions: one creates, all see the same user. */
static void
test_provision_concurrent_model(void **state)
{
	struct race_arg args[THREADS];
	json_object *item;
	int created = 0;

	race(race_model, "auth0|race-1", args);
	item = stored("auth0|race-1");
	assert_non_null(item);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(args[i].rc, 0);
		assert_non_null(args[i].user);
		created += args[i].created;
		/* Everyone sees the winner's item, not their own attempt. */
		assert_string_equal(args[i].user->name, member(item, "name"));
		assert_string_equal(args[i].user->created_at, member(item, "created_at"));
		user_free(args[i].user);
	}
	assert_int_equal(created, 1);
	json_object_put(item);
}

/* Eight simultaneous first requests for one sub: one user, one created_at. */
static void
test_provision_concurrent_requests(void **state)
{
	struct race_arg args[THREADS];
	json_object *item, *scan, *items = NULL;
	struct ddb_error err;
	size_t same = 0;

	race(race_request, "auth0|race-2", args);
	item = stored("auth0|race-2");
	assert_non_null(item);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(args[i].rc, 0);
		assert_non_null(args[i].user);
		assert_int_equal(args[i].user->role, ROLE_CLIENT);
		assert_string_equal(args[i].user->created_at, member(item, "created_at"));
		user_free(args[i].user);
	}
	json_object_put(item);
	scan = json_object_new_object();
	json_object_object_add(scan, "TableName", json_object_new_string(g.cfg.table_users));
	assert_int_equal(ddb_scan_all(g.ddb, scan, &items, &err), 0);
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		json_object *plain = ddb_unmarshal_item(json_object_array_get_idx(items, i), NULL);

		if (member(plain, "id") != NULL && strcmp(member(plain, "id"), "auth0|race-2") == 0)
			same++;
		json_object_put(plain);
	}
	assert_int_equal(same, 1);
	json_object_put(items);
	json_object_put(scan);
}

/* ---- the role cache ---- */

/* A role changed elsewhere shows after the TTL, not before; a change made
 * in this process shows at once. */
static void
test_role_cache_expiry(void **state)
{
	struct ddb_error err;
	struct user *u;
	unsigned calls;

	roles_cache_set_ttl_ms(400);
	u = login(g.ddb, "auth0|cached", NULL, NULL);
	assert_int_equal(u->role, ROLE_CLIENT);
	user_free(u);
	set_role_elsewhere("auth0|cached", "team");
	/* Within the TTL: the cached role, and no store call. */
	calls = ddb_request_count(g.ddb);
	u = login(g.ddb, "auth0|cached", NULL, NULL);
	assert_int_equal(u->role, ROLE_CLIENT);
	assert_int_equal(ddb_request_count(g.ddb), calls);
	user_free(u);
	sleep_ms(500);
	u = login(g.ddb, "auth0|cached", NULL, NULL);
	assert_int_equal(u->role, ROLE_TEAM);
	assert_true(ddb_request_count(g.ddb) > calls);
	user_free(u);
	/* users_set_role forgets this process's entry. */
	roles_cache_set_ttl_ms(60 * 1000);
	assert_int_equal(users_set_role(g.ddb, &g.cfg, "auth0|cached", ROLE_ADMIN, NULL, &err), 0);
	u = login(g.ddb, "auth0|cached", NULL, NULL);
	assert_int_equal(u->role, ROLE_ADMIN);
	user_free(u);
	/* roles_cache_forget does the same for changes made by hand. */
	set_role_elsewhere("auth0|cached", "client");
	u = login(g.ddb, "auth0|cached", NULL, NULL);
	assert_int_equal(u->role, ROLE_ADMIN);
	user_free(u);
	roles_cache_forget("auth0|cached");
	u = login(g.ddb, "auth0|cached", NULL, NULL);
	assert_int_equal(u->role, ROLE_CLIENT);
	user_free(u);
}

/* A cache miss refreshes an old last_seen_at. */
static void
test_last_seen_updated(void **state)
{
	json_object *item = json_tokener_parse("{\"id\":{\"S\":\"auth0|old-timer\"},"
	    "\"role\":{\"S\":\"team\"},\"created_at\":{\"S\":\"2020-01-01T00:00:00Z\"},"
	    "\"last_seen_at\":{\"S\":\"2020-01-01T00:00:00Z\"}}");
	struct ddb_error err;
	struct user *u;
	json_object *plain;

	assert_int_equal(ddb_put_item(g.ddb, g.cfg.table_users, item, NULL, NULL, &err), 0);
	json_object_put(item);
	u = login(g.ddb, "auth0|old-timer", NULL, NULL);
	assert_int_equal(u->role, ROLE_TEAM);
	assert_string_equal(u->created_at, "2020-01-01T00:00:00Z");
	assert_string_not_equal(u->last_seen_at, "2020-01-01T00:00:00Z");
	user_free(u);
	plain = stored("auth0|old-timer");
	assert_string_equal(member(plain, "created_at"), "2020-01-01T00:00:00Z");
	assert_string_not_equal(member(plain, "last_seen_at"), "2020-01-01T00:00:00Z");
	json_object_put(plain);
}

/* ---- answers ---- */

/* No token, a bad token, a token for an unknown key: 401 with the right challenge. */
static void
test_401_answers(void **state)
{
	struct response res;
	char *token, *value;

	assert_int_equal(authenticate(g.ddb, NULL, &res, NULL), -1);
	assert_int_equal(res.status, 401);
	assert_string_equal(response_header(&res, "WWW-Authenticate"),
	    "Bearer realm=\"" AUTH_REALM "\"");
	assert_non_null(strstr(res.body.data, "\"unauthorized\""));
	response_reset(&res);

	assert_int_equal(authenticate(g.ddb, "Bearer not.a.token", &res, NULL), -1);
	assert_int_equal(res.status, 401);
	assert_string_equal(response_header(&res, "WWW-Authenticate"),
	    "Bearer error=\"invalid_token\"");
	assert_non_null(strstr(res.body.data, "\"unauthorized\""));
	response_reset(&res);

	/* A tampered signature: the answer does not say which check failed. */
	token = mint("auth0|x", NULL, NULL, false);
	value = xasprintf("Bearer %s", token);
	value[strlen(value) - 3] = value[strlen(value) - 3] == 'A' ? 'B' : 'A';
	assert_int_equal(authenticate(g.ddb, value, &res, NULL), -1);
	assert_int_equal(res.status, 401);
	assert_null(strstr(res.body.data, "signature"));
	response_reset(&res);
	free(value);
	free(token);
	assert_null(stored("auth0|x"));
}

/* The store unreachable: 503 unavailable with Retry-After. */
static void
test_503_store_unavailable(void **state)
{
	struct config cfg = g.cfg;
	struct ddb *ddb;
	struct response res;
	char *token = mint("auth0|nobody", NULL, NULL, false), *value = xasprintf("Bearer %s", token);

	cfg.endpoint = "http://127.0.0.1:1";
	ddb = ddb_new(&cfg);
	assert_int_equal(authenticate(ddb, value, &res, NULL), -1);
	assert_int_equal(res.status, 503);
	assert_non_null(response_header(&res, "Retry-After"));
	assert_non_null(strstr(res.body.data, "\"unavailable\""));
	response_reset(&res);
	ddb_free(ddb);
	free(value);
	free(token);
}

/* roles_require_or_reply: 403 below the role, nothing at or above it. */
static void
test_require_role(void **state)
{
	struct request req;
	struct response res;
	int status;

	request_init(&req);
	response_init(&res);
	assert_int_equal(roles_require_or_reply(&req, &res, ROLE_CLIENT), -1);
	assert_int_equal(res.status, 401);
	response_reset(&res);
	req.user = xcalloc(1, sizeof(*req.user));
	req.user->id = xstrdup("auth0|t");
	req.user->role = ROLE_TEAM;
	request_defer(&req, user_free_cb, req.user);
	response_init(&res);
	status = res.status;
	assert_int_equal(roles_require_or_reply(&req, &res, ROLE_CLIENT), 0);
	assert_int_equal(roles_require_or_reply(&req, &res, ROLE_TEAM), 0);
	assert_int_equal(res.status, status);
	assert_null(res.body.data);
	assert_int_equal(roles_require_or_reply(&req, &res, ROLE_ADMIN), -1);
	assert_int_equal(res.status, 403);
	assert_non_null(strstr(res.body.data, "\"forbidden\""));
	response_reset(&res);
	request_reset(&req);
}

/* ---- the users model ---- */

/* users_list is sorted by id; users_set_role refuses absent users. */
static void
test_users_model(void **state)
{
	json_object *items = NULL, *updated = NULL;
	struct ddb_error err;
	struct user *u = NULL;
	const char *prev = "";

	user_free(login(g.ddb, "auth0|zz-last", NULL, NULL));
	user_free(login(g.ddb, "auth0|aa-first", NULL, NULL));
	assert_int_equal(users_list(g.ddb, &g.cfg, &items, &err), 0);
	assert_true(json_object_array_length(items) >= 2);
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		const char *id = member(json_object_array_get_idx(items, i), "id");

		assert_non_null(id);
		assert_true(strcmp(prev, id) < 0);
		prev = id;
	}
	json_object_put(items);

	assert_int_equal(users_set_role(g.ddb, &g.cfg, "auth0|ghost", ROLE_TEAM, &updated, &err), MODEL_NOT_FOUND);
	assert_true(ddb_error_is_condition_failed(&err));
	assert_null(updated);
	assert_null(stored("auth0|ghost"));
	assert_int_equal(users_get(g.ddb, &g.cfg, "auth0|ghost", &u, &err), 0);
	assert_null(u);
	assert_int_equal(users_get(g.ddb, &g.cfg, "auth0|aa-first", &u, &err), 0);
	assert_non_null(u);
	assert_int_equal(u->role, ROLE_CLIENT);
	updated = users_to_json(u);
	assert_string_equal(member(updated, "role"), "client");
	assert_true(json_object_object_get_ex(updated, "email", NULL));
	json_object_put(updated);
	user_free(u);
	assert_int_equal(user_role_parse("admin"), ROLE_ADMIN);
	assert_int_equal(user_role_parse("Admin"), ROLE_NONE);
	assert_string_equal(user_role_name(ROLE_TEAM), "team");
}

/* scripts/dev-token's token (made by roles.sh) passes the real verifier. */
static void
test_dev_token(void **state)
{
	const char *token = getenv("DEV_TOKEN"), *jwks = getenv("DEV_JWKS_FILE");
	struct config cfg = g.cfg;
	struct auth *saved = g.auth;
	struct response res;
	struct user *u = NULL;
	char *url, *value;

	if (jwks == NULL) {
		skip();	/* run without roles.sh */
		return;
	}
	assert_non_null(token);
	assert_true(strlen(token) > 0);
	url = xasprintf("file://%s", jwks);
	cfg.jwks_url = url;
	cfg.issuer = getenv("DEV_ISSUER");
	cfg.audience = getenv("DEV_AUDIENCE");
	assert_non_null(cfg.issuer);
	assert_non_null(cfg.audience);
	g.auth = auth_new(&cfg);
	value = xasprintf("Bearer %s", token);
	assert_int_equal(authenticate(g.ddb, value, &res, &u), 0);
	assert_string_equal(u->id, "auth0|seed-team");
	assert_string_equal(u->email, "engineer@turbotech.example");
	assert_string_equal(u->name, "Delivery Engineer");
	user_free(u);
	response_reset(&res);
	/* And the configured (test) issuer does not accept it. */
	auth_free(g.auth);
	g.auth = saved;
	assert_int_equal(authenticate(g.ddb, value, &res, NULL), -1);
	assert_int_equal(res.status, 401);
	response_reset(&res);
	free(value);
	free(url);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, NULL)

/* Runs the roles tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_provision_first_request),
		T(test_provision_minimal),
		T(test_existing_user_keeps_role),
		T(test_admins_by_sub),
		T(test_admins_by_email),
		T(test_provision_concurrent_model),
		T(test_provision_concurrent_requests),
		T(test_role_cache_expiry),
		T(test_last_seen_updated),
		T(test_401_answers),
		T(test_503_store_unavailable),
		T(test_require_role),
		T(test_users_model),
		T(test_dev_token),
	};

	return cmocka_run_group_tests_name("roles", tests, group_setup, group_teardown);
}
