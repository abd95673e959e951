/* auth_test.c - the token verifier against tokens this test mints itself
 * with its own keys and JWKS file (no network): every claim, every attack of
 * issue 3, the JWKS key filters and the re-fetch rate limit. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "auth.h"
#include "config.h"
#include "util.h"

#define T0		1700000000
#define ISSUER		"https://tenant.example.auth0.com/"
#define AUDIENCE	"https://api.turbotech.example"
#define KID_A		"key-a"
#define KID_X5C		"key-x5c"
#define KID_SMALL	"key-small"
#define KID_ENC		"key-enc"
#define KID_NEW		"key-rotated"
#define THREADS		8

enum sign_kind { SIGN_RS256, SIGN_RS512, SIGN_HS256, SIGN_NONE };

/* Keys and files shared by every test. */
static struct {
	char		 dir[64];
	char		 jwks_path[128];
	char		 jwks_url[160];
	EVP_PKEY	*key_a;		/* in the JWKS as KID_A (n/e) */
	EVP_PKEY	*key_b;		/* not in the JWKS */
	EVP_PKEY	*key_x5c;	/* in the JWKS as KID_X5C (x5c only) */
	EVP_PKEY	*key_small;	/* 1024 bits: ignored */
	EVP_PKEY	*key_enc;	/* use "enc": ignored */
	EVP_PKEY	*key_new;	/* added by the rotation test */
} g;

struct claim_case;

/* What each test gets: its own config and verifier. */
struct fixture {
	struct config			 cfg;
	struct auth			*auth;
	const struct claim_case		*row;	/* the table case it runs, if any */
};

static int64_t fake_now = T0;

/* The test clock. */
static int64_t
test_now(void)
{
	return fake_now;
}

/* base64url of a big number of a key (caller frees). */
static char *
bn_param_b64(EVP_PKEY *key, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char *bin;
	char *out;
	int len;

	assert_int_equal(EVP_PKEY_get_bn_param(key, param, &bn), 1);
	len = BN_num_bytes(bn);
	bin = xmalloc((size_t)len);
	BN_bn2bin(bn, bin);
	out = base64url_encode(bin, (size_t)len);
	free(bin);
	BN_free(bn);
	return out;
}

/* A JWK with n/e for key. */
static json_object *
jwk_ne(EVP_PKEY *key, const char *kid, const char *use)
{
	json_object *jwk = json_object_new_object();
	char *n = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_N);
	char *e = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_E);

	json_object_object_add(jwk, "kty", json_object_new_string("RSA"));
	json_object_object_add(jwk, "kid", json_object_new_string(kid));
	if (use != NULL)
		json_object_object_add(jwk, "use", json_object_new_string(use));
	json_object_object_add(jwk, "alg", json_object_new_string("RS256"));
	json_object_object_add(jwk, "n", json_object_new_string(n));
	json_object_object_add(jwk, "e", json_object_new_string(e));
	free(n);
	free(e);
	return jwk;
}

/* A JWK with only an x5c self-signed certificate for key. */
static json_object *
jwk_x5c(EVP_PKEY *key, const char *kid)
{
	json_object *jwk = json_object_new_object(), *chain = json_object_new_array();
	X509 *cert = X509_new();
	X509_NAME *name;
	unsigned char *der = NULL;
	char *b64;
	int len;

	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400L * 365);
	X509_set_pubkey(cert, key);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(cert, name);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
	len = i2d_X509(cert, &der);
	assert_true(len > 0);
	b64 = base64_encode(der, (size_t)len);
	json_object_array_add(chain, json_object_new_string(b64));
	json_object_object_add(jwk, "kty", json_object_new_string("RSA"));
	json_object_object_add(jwk, "kid", json_object_new_string(kid));
	json_object_object_add(jwk, "use", json_object_new_string("sig"));
	json_object_object_add(jwk, "x5c", chain);
	free(b64);
	OPENSSL_free(der);
	X509_free(cert);
	return jwk;
}

/* Writes a JWKS file holding the standard keys, plus key_new when asked. */
static void
write_jwks(const char *path, bool with_new)
{
	json_object *doc = json_object_new_object(), *keys = json_object_new_array();
	FILE *f;

	json_object_array_add(keys, jwk_ne(g.key_a, KID_A, "sig"));
	json_object_array_add(keys, jwk_x5c(g.key_x5c, KID_X5C));
	json_object_array_add(keys, jwk_ne(g.key_small, KID_SMALL, "sig"));
	json_object_array_add(keys, jwk_ne(g.key_enc, KID_ENC, "enc"));
	/* Something that is not an RSA key at all. */
	json_object_array_add(keys, json_tokener_parse(
	    "{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}"));
	if (with_new)
		json_object_array_add(keys, jwk_ne(g.key_new, KID_NEW, NULL));
	json_object_object_add(doc, "keys", keys);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY), f);
	fclose(f);
	json_object_put(doc);
}

/* Generates the keys and the JWKS file once. */
static int
group_setup(void **state)
{
	snprintf(g.dir, sizeof(g.dir), "/tmp/auth_test.XXXXXX");
	if (mkdtemp(g.dir) == NULL)
		return -1;
	snprintf(g.jwks_path, sizeof(g.jwks_path), "%s/jwks.json", g.dir);
	snprintf(g.jwks_url, sizeof(g.jwks_url), "file://%s", g.jwks_path);
	g.key_a = EVP_RSA_gen(2048);
	g.key_b = EVP_RSA_gen(2048);
	g.key_x5c = EVP_RSA_gen(2048);
	g.key_small = EVP_RSA_gen(1024);
	g.key_enc = EVP_RSA_gen(2048);
	g.key_new = EVP_RSA_gen(2048);
	if (!g.key_a || !g.key_b || !g.key_x5c || !g.key_small || !g.key_enc || !g.key_new)
		return -1;
	write_jwks(g.jwks_path, false);
	return 0;
}

/* Removes the files and keys. */
static int
group_teardown(void **state)
{
	char path[160];

	unlink(g.jwks_path);
	snprintf(path, sizeof(path), "%s/rotating.json", g.dir);
	unlink(path);
	rmdir(g.dir);
	EVP_PKEY_free(g.key_a);
	EVP_PKEY_free(g.key_b);
	EVP_PKEY_free(g.key_x5c);
	EVP_PKEY_free(g.key_small);
	EVP_PKEY_free(g.key_enc);
	EVP_PKEY_free(g.key_new);
	return 0;
}

/* A fresh verifier with the test clock at T0. */
static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	fake_now = T0;
	f->cfg.issuer = ISSUER;
	f->cfg.audience = AUDIENCE;
	f->cfg.jwks_url = g.jwks_url;
	f->auth = auth_new(&f->cfg);
	auth_set_clock(f->auth, test_now);
	*state = f;
	return 0;
}

/* Frees the verifier. */
static int
teardown(void **state)
{
	struct fixture *f = *state;

	auth_free(f->auth);
	free(f);
	return 0;
}

/* A header {alg, typ?, kid?}; NULL leaves a member out. */
static json_object *
hdr(const char *alg, const char *typ, const char *kid)
{
	json_object *h = json_object_new_object();

	if (alg != NULL)
		json_object_object_add(h, "alg", json_object_new_string(alg));
	if (typ != NULL)
		json_object_object_add(h, "typ", json_object_new_string(typ));
	if (kid != NULL)
		json_object_object_add(h, "kid", json_object_new_string(kid));
	return h;
}

/* A payload that passes every check at fake_now. */
static json_object *
claims_ok(void)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "iss", json_object_new_string(ISSUER));
	json_object_object_add(p, "aud", json_object_new_string(AUDIENCE));
	json_object_object_add(p, "sub", json_object_new_string("auth0|user-1"));
	json_object_object_add(p, "iat", json_object_new_int64(fake_now));
	json_object_object_add(p, "nbf", json_object_new_int64(fake_now));
	json_object_object_add(p, "exp", json_object_new_int64(fake_now + 3600));
	json_object_object_add(p, "email", json_object_new_string("user1@example.com"));
	json_object_object_add(p, "name", json_object_new_string("User One"));
	return p;
}

/* base64url of a string (caller frees). */
static char *
b64s(const char *s)
{
	return base64url_encode((const unsigned char *)s, strlen(s));
}

/* Signs input with key as kind; returns base64url of the signature. */
static char *
sign(const char *input, enum sign_kind kind, EVP_PKEY *key)
{
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md;

	if (kind == SIGN_NONE)
		return xstrdup("");
	if (kind == SIGN_HS256) {
		/* Algorithm confusion: the "secret" is the RSA public key's PEM. */
		BIO *bio = BIO_new(BIO_s_mem());
		unsigned int hlen = 0;
		char *pem;
		long pemlen;

		assert_int_equal(PEM_write_bio_PUBKEY(bio, key), 1);
		pemlen = BIO_get_mem_data(bio, &pem);
		assert_non_null(HMAC(EVP_sha256(), pem, (int)pemlen, (const unsigned char *)input,
		    strlen(input), sig, &hlen));
		BIO_free(bio);
		return base64url_encode(sig, hlen);
	}
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit_ex(md, NULL, kind == SIGN_RS512 ? "SHA512" : "SHA256",
	    NULL, NULL, key, NULL), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input,
	    strlen(input)), 1);
	EVP_MD_CTX_free(md);
	return base64url_encode(sig, siglen);
}

/* A compact token from a header and payload (both consumed). */
static char *
mint(json_object *header, json_object *payload, enum sign_kind kind, EVP_PKEY *key)
{
	char *h64 = b64s(json_object_to_json_string_ext(header, JSON_C_TO_STRING_PLAIN));
	char *p64 = b64s(json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN));
	char *input = xasprintf("%s.%s", h64, p64);
	char *s64 = sign(input, kind, key);
	char *token = xasprintf("%s.%s", input, s64);

	free(h64);
	free(p64);
	free(input);
	free(s64);
	json_object_put(header);
	json_object_put(payload);
	return token;
}

/* A valid RS256 token with the given payload (consumed). */
static char *
mint_ok(json_object *payload)
{
	return mint(hdr("RS256", "JWT", KID_A), payload, SIGN_RS256, g.key_a);
}

/* Verifies "Bearer token"; frees token; returns the result and *why. */
static enum auth_result
check(struct fixture *f, char *token, const char **why, struct auth_claims *out)
{
	struct auth_claims claims;
	char *value = xasprintf("Bearer %s", token);
	enum auth_result r;

	r = auth_verify(f->auth, value, &claims, why);
	if (out != NULL)
		*out = claims;
	else
		auth_claims_free(&claims);
	free(value);
	free(token);
	return r;
}

/* Asserts that token is rejected as invalid because of expected_why. */
#define assert_rejected(f, token, expected_why) do {				\
	const char *why_ = NULL;						\
	assert_int_equal(check((f), (token), &why_, NULL), AUTH_INVALID);	\
	assert_non_null(why_);							\
	assert_string_equal(why_, (expected_why));				\
} while (0)

/* Asserts that token is accepted. */
#define assert_accepted(f, token) do {						\
	const char *why_ = NULL;						\
	enum auth_result r_ = check((f), (token), &why_, NULL);			\
	if (r_ != AUTH_OK)							\
		print_error("rejected: %s\n", why_ != NULL ? why_ : "?");	\
	assert_int_equal(r_, AUTH_OK);						\
} while (0)

/* Payload with one member replaced (value consumed; NULL removes it). */
static json_object *
claims_with(const char *key, json_object *value)
{
	json_object *p = claims_ok();

	json_object_object_del(p, key);
	if (value != NULL)
		json_object_object_add(p, key, value);
	return p;
}

/* ---- claims and header members, as data ----
 *
 * One row per case: the header's JSON text (NULL: HDR_OK), a JSON object
 * merged into claims_ok() ("set"), a claim dropped from it, or the whole
 * payload text; how it is signed (RS256 with key-a unless said); the outcome
 * and, for a refusal, the reason. Times are absolute: T0 is 1700000000.
 * Every row runs as its own test. */
#define HDR_OK		"{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" KID_A "\"}"
#define HDR(alg, typ)	"{\"alg\":\"" alg "\",\"typ\":\"" typ "\",\"kid\":\"" KID_A "\"}"
#define HDR_KID(kid)	"{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":" kid "}"
#define NOT_TYP		"typ is not JWT or at+jwt"
#define NOT_ALG		"alg is not RS256"

struct claim_case {
	const char		*name;
	const char		*header;	/* NULL: HDR_OK */
	const char		*set;		/* JSON object merged into claims_ok() */
	const char		*drop;		/* a claim removed from claims_ok() */
	const char		*payload;	/* the whole payload text instead */
	enum sign_kind		 sign;		/* SIGN_RS256 by default */
	enum auth_result	 want;		/* AUTH_OK by default */
	const char		*why;		/* the reason of a refusal */
	bool			 no_fetch;	/* refused before the JWKS is fetched */
};

static const struct claim_case claim_cases[] = {
	/* typ: JWT or at+jwt only. */
	{ "typ JOSE", HDR("RS256", "JOSE"), .want = AUTH_INVALID, .why = NOT_TYP },
	{ "typ id+jwt", HDR("RS256", "id+jwt"), .want = AUTH_INVALID, .why = NOT_TYP },
	{ "typ a number", "{\"alg\":\"RS256\",\"typ\":1,\"kid\":\"" KID_A "\"}", .want = AUTH_INVALID, .why = NOT_TYP },
	/* iss: exactly the issuer. */
	{ "iss another", .set = "{\"iss\":\"https://evil.example/\"}", .want = AUTH_INVALID, .why = "iss mismatch" },
	{ "iss without the slash", .set = "{\"iss\":\"https://tenant.example.auth0.com\"}", .want = AUTH_INVALID, .why = "iss mismatch" },
	{ "iss missing", .drop = "iss", .want = AUTH_INVALID, .why = "iss mismatch" },
	{ "iss a number", .set = "{\"iss\":1}", .want = AUTH_INVALID, .why = "iss mismatch" },
	/* aud: a string or an array holding the audience. */
	{ "aud array holding it", .set = "{\"aud\":[\"https://tenant.example.auth0.com/userinfo\",\"" AUDIENCE "\"]}" },
	{ "aud array without it", .set = "{\"aud\":[\"https://other.example\",7]}", .want = AUTH_INVALID, .why = "aud mismatch" },
	{ "aud another", .set = "{\"aud\":\"https://other.example\"}", .want = AUTH_INVALID, .why = "aud mismatch" },
	{ "aud with a slash more", .set = "{\"aud\":\"" AUDIENCE "/\"}", .want = AUTH_INVALID, .why = "aud mismatch" },
	{ "aud missing", .drop = "aud", .want = AUTH_INVALID, .why = "aud mismatch" },
	/* exp: required, in the future within the 60 s leeway, any int64. */
	{ "exp 61 s ago", .set = "{\"exp\":1699999939}", .want = AUTH_INVALID, .why = "token expired" },
	{ "exp a leeway ago", .set = "{\"exp\":1699999940}", .want = AUTH_INVALID, .why = "token expired" },
	{ "exp 30 s ago", .set = "{\"exp\":1699999970}" },
	{ "exp a fraction", .set = "{\"exp\":1700000010.5}" },
	{ "exp missing", .drop = "exp", .want = AUTH_INVALID, .why = "exp missing" },
	{ "exp a string", .set = "{\"exp\":\"9999999999\"}", .want = AUTH_INVALID, .why = "exp not a number" },
	{ "exp INT64_MAX", .set = "{\"exp\":9223372036854775807}" },
	{ "exp INT64_MIN", .set = "{\"exp\":-9223372036854775808}", .want = AUTH_INVALID, .why = "token expired" },
	{ "exp 1e300", .set = "{\"exp\":1e300}", .want = AUTH_INVALID, .why = "exp not a number" },
	/* nbf, iat: not in the future beyond the leeway; optional. */
	{ "nbf in 120 s", .set = "{\"nbf\":1700000120}", .want = AUTH_INVALID, .why = "nbf in the future" },
	{ "nbf in 30 s", .set = "{\"nbf\":1700000030}" },
	{ "iat in 120 s", .set = "{\"iat\":1700000120}", .want = AUTH_INVALID, .why = "iat in the future" },
	{ "iat in 30 s", .set = "{\"iat\":1700000030}" },
	{ "iat INT64_MAX", .set = "{\"iat\":9223372036854775807}", .want = AUTH_INVALID, .why = "iat in the future" },
	{ "nbf a string", .set = "{\"nbf\":\"soon\"}", .want = AUTH_INVALID, .why = "nbf in the future" },
	{ "nbf missing", .drop = "nbf" },
	{ "iat missing", .drop = "iat" },
	/* sub: a non-empty string. */
	{ "sub missing", .drop = "sub", .want = AUTH_INVALID, .why = "sub missing" },
	{ "sub empty", .set = "{\"sub\":\"\"}", .want = AUTH_INVALID, .why = "sub missing" },
	{ "sub a number", .set = "{\"sub\":42}", .want = AUTH_INVALID, .why = "sub missing" },
	/* alg: exactly RS256, judged before any key is fetched. */
	{ "alg none unsigned", HDR("none", "JWT"), .sign = SIGN_NONE, .want = AUTH_INVALID, .why = NOT_ALG, .no_fetch = true },
	{ "alg nOnE unsigned", HDR("nOnE", "JWT"), .sign = SIGN_NONE, .want = AUTH_INVALID, .why = NOT_ALG, .no_fetch = true },
	{ "alg none signed", HDR("none", "JWT"), .want = AUTH_INVALID, .why = NOT_ALG, .no_fetch = true },
	{ "alg missing", "{\"typ\":\"JWT\",\"kid\":\"" KID_A "\"}", .want = AUTH_INVALID, .why = NOT_ALG, .no_fetch = true },
	{ "alg rs256", HDR("rs256", "JWT"), .want = AUTH_INVALID, .why = NOT_ALG, .no_fetch = true },
	{ "alg RS512", HDR("RS512", "JWT"), .sign = SIGN_RS512, .want = AUTH_INVALID, .why = NOT_ALG, .no_fetch = true },
	{ "alg PS256", HDR("PS256", "JWT"), .want = AUTH_INVALID, .why = NOT_ALG, .no_fetch = true },
	{ "RS512 signature under RS256", .sign = SIGN_RS512, .want = AUTH_INVALID, .why = "bad signature" },
	{ "crit header", "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" KID_A "\",\"crit\":[\"b64\"],\"b64\":false}",
	    .want = AUTH_INVALID, .why = "crit header not supported", .no_fetch = true },
	/* kid: a non-empty string. */
	{ "kid missing", "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", .want = AUTH_INVALID, .why = "kid missing", .no_fetch = true },
	{ "kid empty", HDR_KID("\"\""), .want = AUTH_INVALID, .why = "kid missing", .no_fetch = true },
	{ "kid a number", HDR_KID("5"), .want = AUTH_INVALID, .why = "kid missing", .no_fetch = true },
	/* U+0000 inside a member: compared with its full length, never cut short. */
	{ "alg RS256 NUL x", HDR("RS256\\u0000x", "JWT"), .want = AUTH_INVALID, .why = NOT_ALG, .no_fetch = true },
	{ "alg RS256 NUL", HDR("RS256\\u0000", "JWT"), .want = AUTH_INVALID, .why = NOT_ALG, .no_fetch = true },
	{ "kid with NUL x", HDR_KID("\"" KID_A "\\u0000x\""), .want = AUTH_INVALID, .why = "kid missing", .no_fetch = true },
	{ "typ JWT NUL x", HDR("RS256", "JWT\\u0000x"), .want = AUTH_INVALID, .why = NOT_TYP, .no_fetch = true },
	{ "typ at+jwt NUL", HDR("RS256", "at+jwt\\u0000"), .want = AUTH_INVALID, .why = NOT_TYP, .no_fetch = true },
	{ "iss NUL x", .set = "{\"iss\":\"" ISSUER "\\u0000x\"}", .want = AUTH_INVALID, .why = "iss mismatch" },
	{ "iss NUL", .set = "{\"iss\":\"" ISSUER "\\u0000\"}", .want = AUTH_INVALID, .why = "iss mismatch" },
	{ "aud NUL x", .set = "{\"aud\":\"" AUDIENCE "\\u0000x\"}", .want = AUTH_INVALID, .why = "aud mismatch" },
	{ "aud array NUL", .set = "{\"aud\":[\"" AUDIENCE "\\u0000\"]}", .want = AUTH_INVALID, .why = "aud mismatch" },
	{ "sub NUL x", .set = "{\"sub\":\"auth0|seed-admin\\u0000x\"}", .want = AUTH_INVALID, .why = "sub missing" },
	{ "sub NUL", .set = "{\"sub\":\"\\u0000\"}", .want = AUTH_INVALID, .why = "sub missing" },
	{ "email NUL", .set = "{\"email\":\"lead@turbotech.example\\u0000.evil\"}", .want = AUTH_INVALID,
	    .why = "email or name holds NUL" },
	{ "name NUL", .set = "{\"name\":\"User\\u0000One\"}", .want = AUTH_INVALID, .why = "email or name holds NUL" },
	/* Member names json-c would cut short or merge, and duplicates. */
	{ "header name with NUL", "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"" KID_A "\",\"alg\\u0000\":\"RS256\"}",
	    .want = AUTH_INVALID, .why = "header is not base64url JSON object", .no_fetch = true },
	{ "header alg twice", "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"" KID_A "\",\"alg\":\"RS256\"}",
	    .want = AUTH_INVALID, .why = "header is not base64url JSON object", .no_fetch = true },
	{ "payload sub twice", .payload = "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"auth0|user-1\","
	    "\"sub\":\"auth0|seed-admin\",\"exp\":1700003600}",
	    .want = AUTH_INVALID, .why = "payload is not base64url JSON object", .no_fetch = true },
	{ "payload name with NUL", .payload = "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"auth0|user-1\","
	    "\"sub\\u0000\":\"auth0|seed-admin\",\"exp\":1700003600}",
	    .want = AUTH_INVALID, .why = "payload is not base64url JSON object", .no_fetch = true },
	/* The control: the default header and payload are accepted. */
	{ .name = "all claims good" },
};

/* The payload text of a row (caller frees). */
static char *
case_payload(const struct claim_case *c)
{
	json_object *p, *set;
	char *text;

	if (c->payload != NULL)
		return xstrdup(c->payload);
	p = claims_ok();
	if (c->drop != NULL)
		json_object_object_del(p, c->drop);
	if (c->set != NULL) {
		if ((set = json_tokener_parse(c->set)) == NULL)
			fail_msg("case \"%s\": set is not JSON", c->name);
		json_object_object_foreach(set, key, val)
			json_object_object_add(p, key, json_object_get(val));
		json_object_put(set);
	}
	text = xstrdup(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
	json_object_put(p);
	return text;
}

/* Runs one row of claim_cases. */
static void
test_claim_case(void **state)
{
	struct fixture *f = *state;
	const struct claim_case *c = f->row;
	char *payload = case_payload(c);
	char *h64 = b64s(c->header != NULL ? c->header : HDR_OK), *p64 = b64s(payload);
	char *input = xasprintf("%s.%s", h64, p64);
	char *s64 = sign(input, c->sign, g.key_a);
	const char *why = NULL;
	enum auth_result r = check(f, xasprintf("%s.%s", input, s64), &why, NULL);

	if (r != c->want || (c->want == AUTH_INVALID && (why == NULL || strcmp(why, c->why) != 0)))
		fail_msg("case \"%s\": result %d (%s), expected %d (%s)", c->name, (int)r,
		    why != NULL ? why : "-", (int)c->want, c->why != NULL ? c->why : "-");
	if (c->no_fetch)
		assert_int_equal(auth_jwks_fetch_count(f->auth), 0);
	free(payload);
	free(h64);
	free(p64);
	free(input);
	free(s64);
}

/* setup for a row: the row comes in as the test's initial state. */
static int
setup_row(void **state)
{
	const struct claim_case *row = *state;
	struct fixture *f;

	setup(state);
	f = *state;
	f->row = row;
	return 0;
}

/* ---- valid tokens ---- */

/* typ JWT: accepted, claims filled, one JWKS fetch. */
static void
test_valid_jwt(void **state)
{
	struct fixture *f = *state;
	struct auth_claims c;
	const char *why = NULL;

	assert_int_equal(check(f, mint_ok(claims_ok()), &why, &c), AUTH_OK);
	assert_null(why);
	assert_string_equal(c.sub, "auth0|user-1");
	assert_string_equal(c.email, "user1@example.com");
	assert_string_equal(c.name, "User One");
	assert_int_equal(c.exp, T0 + 3600);
	assert_false(c.email_unverified);
	auth_claims_free(&c);
	assert_int_equal(auth_jwks_fetch_count(f->auth), 1);
	/* Keys are cached: more tokens, no more fetches. */
	assert_accepted(f, mint_ok(claims_ok()));
	assert_accepted(f, mint_ok(claims_ok()));
	assert_int_equal(auth_jwks_fetch_count(f->auth), 1);
}

/* typ at+jwt (RFC 9068) and its media-type form are accepted. */
static void
test_valid_at_jwt(void **state)
{
	struct fixture *f = *state;

	assert_accepted(f, mint(hdr("RS256", "at+jwt", KID_A), claims_ok(), SIGN_RS256, g.key_a));
	assert_accepted(f, mint(hdr("RS256", "application/at+jwt", KID_A), claims_ok(),
	    SIGN_RS256, g.key_a));
}

/* No typ at all is accepted. */
static void
test_valid_no_typ(void **state)
{
	struct fixture *f = *state;

	assert_accepted(f, mint(hdr("RS256", NULL, KID_A), claims_ok(), SIGN_RS256, g.key_a));
}

/* A key published only as an x5c certificate works. */
static void
test_valid_x5c_key(void **state)
{
	struct fixture *f = *state;

	assert_accepted(f, mint(hdr("RS256", "JWT", KID_X5C), claims_ok(), SIGN_RS256, g.key_x5c));
}


/* The Authorization header: scheme case, absence, other schemes. */
static void
test_header_forms(void **state)
{
	struct fixture *f = *state;
	struct auth_claims c;
	const char *why;
	char *token = mint_ok(claims_ok()), *value;

	value = xasprintf("bEaReR   %s  ", token);
	assert_int_equal(auth_verify(f->auth, value, &c, &why), AUTH_OK);
	auth_claims_free(&c);
	free(value);
	assert_int_equal(auth_verify(f->auth, NULL, &c, &why), AUTH_NO_TOKEN);
	assert_int_equal(auth_verify(f->auth, "", &c, &why), AUTH_NO_TOKEN);
	value = xasprintf("Basic %s", token);
	assert_int_equal(auth_verify(f->auth, value, &c, &why), AUTH_NO_TOKEN);
	free(value);
	value = xasprintf("Bearer%s", token);
	assert_int_equal(auth_verify(f->auth, value, &c, &why), AUTH_NO_TOKEN);
	free(value);
	assert_int_equal(auth_verify(f->auth, "Bearer ", &c, &why), AUTH_INVALID);
	free(token);
}

/* ---- claims ---- */



/* The same token expires when the clock moves on (exp, 60 s leeway). */
static void
test_claim_exp_clock(void **state)
{
	struct fixture *f = *state;

	assert_accepted(f, mint_ok(claims_with("exp", json_object_new_int64(T0 + 100))));
	fake_now = T0 + 100 + AUTH_LEEWAY_S;
	assert_rejected(f, mint_ok(claims_with("exp", json_object_new_int64(T0 + 100))),
	    "token expired");
}

/* A token verified once is remembered by its exact bytes: the same token is
 * accepted again (and its claims re-checked), while a copy with one
 * signature character changed, or signed by another key, is still refused. */
static void
test_verified_cache(void **state)
{
	struct fixture *f = *state;
	char *token = mint_ok(claims_ok()), *tampered, *dot;

	tampered = xstrdup(token);
	assert_accepted(f, xstrdup(token));
	assert_accepted(f, xstrdup(token));
	dot = strrchr(tampered, '.');
	dot[30] = dot[30] == 'A' ? 'B' : 'A';
	assert_rejected(f, tampered, "bad signature");
	assert_accepted(f, xstrdup(token));
	fake_now = T0 + 3600 + AUTH_LEEWAY_S;
	assert_rejected(f, token, "token expired");
	fake_now = T0;
}

/* A remembered token gives the same claims as its first check, and its nbf
 * is checked again against the clock (not only exp). */
static void
test_verified_cache_claims(void **state)
{
	struct fixture *f = *state;
	json_object *p = claims_with("nbf", json_object_new_int64(T0));
	struct auth_claims first, again;
	char *token = mint_ok(p);
	const char *why;

	assert_int_equal(check(f, xstrdup(token), &why, &first), AUTH_OK);
	assert_int_equal(check(f, xstrdup(token), &why, &again), AUTH_OK);
	assert_string_equal(again.sub, first.sub);
	assert_string_equal(again.email, first.email);
	assert_string_equal(again.name, first.name);
	assert_int_equal(again.exp, first.exp);
	assert_int_equal(again.email_unverified, first.email_unverified);
	auth_claims_free(&first);
	auth_claims_free(&again);
	fake_now = T0 - AUTH_LEEWAY_S - 1;
	assert_rejected(f, token, "nbf in the future");
	fake_now = T0;
}



/* email/name from Auth0 namespaced claims; email_verified false is kept. */
static void
test_namespaced_claims(void **state)
{
	struct fixture *f = *state;
	struct auth_claims c;
	json_object *p = claims_ok();
	const char *why;

	json_object_object_del(p, "email");
	json_object_object_del(p, "name");
	json_object_object_add(p, "https://turbotech.example/email",
	    json_object_new_string("ns@example.com"));
	json_object_object_add(p, "https://turbotech.example/name", json_object_new_string("NS"));
	json_object_object_add(p, "https://turbotech.example/email_verified",
	    json_object_new_boolean(0));
	assert_int_equal(check(f, mint_ok(p), &why, &c), AUTH_OK);
	assert_string_equal(c.email, "ns@example.com");
	assert_string_equal(c.name, "NS");
	assert_true(c.email_unverified);
	auth_claims_free(&c);

	p = claims_ok();
	json_object_object_del(p, "email");
	json_object_object_del(p, "name");
	assert_int_equal(check(f, mint_ok(p), &why, &c), AUTH_OK);
	assert_null(c.email);
	assert_null(c.name);
	auth_claims_free(&c);
}

/* ---- algorithm attacks: rejected before any key is fetched ---- */


/* HS256 with the public key PEM as the HMAC secret (algorithm confusion). */
static void
test_alg_hs256_confusion(void **state)
{
	struct fixture *f = *state;

	assert_accepted(f, mint_ok(claims_ok()));	/* keys loaded */
	assert_rejected(f, mint(hdr("HS256", "JWT", KID_A), claims_ok(), SIGN_HS256, g.key_a),
	    "alg is not RS256");
	assert_rejected(f, mint(hdr("hs256", "JWT", KID_A), claims_ok(), SIGN_HS256, g.key_a),
	    "alg is not RS256");
	/* Same HMAC bytes under an RS256 header: just a bad signature. */
	assert_rejected(f, mint(hdr("RS256", "JWT", KID_A), claims_ok(), SIGN_HS256, g.key_a),
	    "bad signature");
}



/* ---- keys ---- */

/* Signed by another key under the right kid. */
static void
test_other_key_same_kid(void **state)
{
	struct fixture *f = *state;

	assert_rejected(f, mint(hdr("RS256", "JWT", KID_A), claims_ok(), SIGN_RS256, g.key_b),
	    "bad signature");
	assert_int_equal(auth_jwks_fetch_count(f->auth), 1);	/* known kid: no re-fetch */
}


/* Unknown kid: one re-fetch, then none within the minute, then one more. */
static void
test_unknown_kid_refetch(void **state)
{
	struct fixture *f = *state;

	assert_accepted(f, mint_ok(claims_ok()));
	assert_int_equal(auth_jwks_fetch_count(f->auth), 1);
	fake_now = T0 + AUTH_JWKS_REFETCH_S + 1;
	assert_rejected(f, mint(hdr("RS256", "JWT", "nope"), claims_ok(), SIGN_RS256, g.key_b),
	    "unknown kid");
	assert_int_equal(auth_jwks_fetch_count(f->auth), 2);
	for (int i = 0; i < 5; i++) {
		fake_now += 10;
		assert_rejected(f, mint(hdr("RS256", "JWT", "nope"), claims_ok(), SIGN_RS256,
		    g.key_b), "unknown kid");
		assert_int_equal(auth_jwks_fetch_count(f->auth), 2);
	}
	/* Known keys keep working meanwhile, without fetches. */
	assert_accepted(f, mint_ok(claims_ok()));
	assert_int_equal(auth_jwks_fetch_count(f->auth), 2);
	fake_now = T0 + 2 * AUTH_JWKS_REFETCH_S + 2;
	assert_rejected(f, mint(hdr("RS256", "JWT", "nope"), claims_ok(), SIGN_RS256, g.key_b),
	    "unknown kid");
	assert_int_equal(auth_jwks_fetch_count(f->auth), 3);
}

/* Key rotation: a new kid works after the JWKS gains it (once allowed to re-fetch). */
static void
test_key_rotation(void **state)
{
	struct fixture *f = *state;
	char path[160], url[180];

	snprintf(path, sizeof(path), "%s/rotating.json", g.dir);
	snprintf(url, sizeof(url), "file://%s", path);
	write_jwks(path, false);
	f->cfg.jwks_url = url;
	assert_accepted(f, mint_ok(claims_ok()));
	write_jwks(path, true);
	/* Within the minute of the first fetch: not re-fetched yet. */
	fake_now = T0 + 5;
	assert_rejected(f, mint(hdr("RS256", "JWT", KID_NEW), claims_ok(), SIGN_RS256, g.key_new),
	    "unknown kid");
	assert_int_equal(auth_jwks_fetch_count(f->auth), 1);
	fake_now = T0 + AUTH_JWKS_REFETCH_S;
	assert_accepted(f, mint(hdr("RS256", "JWT", KID_NEW), claims_ok(), SIGN_RS256, g.key_new));
	assert_int_equal(auth_jwks_fetch_count(f->auth), 2);
	assert_accepted(f, mint_ok(claims_ok()));
	f->cfg.jwks_url = g.jwks_url;
}

/* Keys under 2048 bits and keys with use "enc" are not used. */
static void
test_ignored_keys(void **state)
{
	struct fixture *f = *state;

	assert_rejected(f, mint(hdr("RS256", "JWT", KID_SMALL), claims_ok(), SIGN_RS256,
	    g.key_small), "unknown kid");
	assert_rejected(f, mint(hdr("RS256", "JWT", KID_ENC), claims_ok(), SIGN_RS256, g.key_enc),
	    "unknown kid");
	assert_rejected(f, mint(hdr("RS256", "JWT", "ec"), claims_ok(), SIGN_RS256, g.key_a),
	    "unknown kid");
}

/* An unreachable JWKS is "unavailable", retried no more than the limit allows. */
static void
test_jwks_unavailable(void **state)
{
	struct fixture *f = *state;
	const char *why;

	f->cfg.jwks_url = "file:///nonexistent/turbotech/jwks.json";
	assert_int_equal(check(f, mint_ok(claims_ok()), &why, NULL), AUTH_UNAVAILABLE);
	assert_int_equal(auth_jwks_fetch_count(f->auth), 1);
	assert_int_equal(check(f, mint_ok(claims_ok()), &why, NULL), AUTH_UNAVAILABLE);
	assert_int_equal(auth_jwks_fetch_count(f->auth), 1);
	fake_now = T0 + AUTH_JWKS_RETRY_S;
	f->cfg.jwks_url = g.jwks_url;
	assert_accepted(f, mint_ok(claims_ok()));
	assert_int_equal(auth_jwks_fetch_count(f->auth), 2);
}

/* A JWKS URL that serves something else is unavailable too. */
static void
test_jwks_garbage(void **state)
{
	struct fixture *f = *state;
	char path[160], url[180];
	FILE *fp;
	const char *why;

	snprintf(path, sizeof(path), "%s/garbage.json", g.dir);
	snprintf(url, sizeof(url), "file://%s", path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("<html>not json</html>", fp);
	fclose(fp);
	f->cfg.jwks_url = url;
	assert_int_equal(check(f, mint_ok(claims_ok()), &why, NULL), AUTH_UNAVAILABLE);
	unlink(path);
}

/* ---- JWKS over HTTP (a local stand-in for the tenant) ---- */

struct http_stub {
	int		 fd;
	int		 port;
	atomic_int	 requests;
	atomic_bool	 stop;
	pthread_t	 thread;
};

/* Answers GET /jwks.json with the JWKS file, anything else with 404. */
static void *
http_stub_run(void *p)
{
	struct http_stub *hs = p;

	while (!atomic_load(&hs->stop)) {
		struct pollfd pfd = { .fd = hs->fd, .events = POLLIN };
		char req[2048], *body = NULL, *head;
		ssize_t n;
		int c;
		FILE *f;
		long len = 0;

		if (poll(&pfd, 1, 50) <= 0 || (c = accept(hs->fd, NULL, NULL)) == -1)
			continue;
		n = recv(c, req, sizeof(req) - 1, 0);
		req[n > 0 ? n : 0] = '\0';
		atomic_fetch_add(&hs->requests, 1);
		if (strncmp(req, "GET /jwks.json ", 15) == 0 && (f = fopen(g.jwks_path, "r")) != NULL) {
			fseek(f, 0, SEEK_END);
			len = ftell(f);
			rewind(f);
			body = xmalloc((size_t)len);
			len = (long)fread(body, 1, (size_t)len, f);
			fclose(f);
			head = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			    "Content-Length: %ld\r\nConnection: close\r\n\r\n", len);
		} else {
			head = xstrdup("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
			    "Connection: close\r\n\r\nnot found");
		}
		(void)!write(c, head, strlen(head));
		if (body != NULL)
			(void)!write(c, body, (size_t)len);
		free(head);
		free(body);
		close(c);
	}
	return NULL;
}

/* Starts the stub on a free port of 127.0.0.1. */
static void
http_stub_start(struct http_stub *hs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t salen = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	hs->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(hs->fd >= 0);
	assert_int_equal(bind(hs->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(hs->fd, 16), 0);
	assert_int_equal(getsockname(hs->fd, (struct sockaddr *)&sa, &salen), 0);
	hs->port = ntohs(sa.sin_port);
	atomic_init(&hs->requests, 0);
	atomic_init(&hs->stop, false);
	assert_int_equal(pthread_create(&hs->thread, NULL, http_stub_run, hs), 0);
}

/* Stops the stub. */
static void
http_stub_stop(struct http_stub *hs)
{
	atomic_store(&hs->stop, true);
	pthread_join(hs->thread, NULL);
	close(hs->fd);
}

/* The JWKS fetched over http://: 200 is used, 404 is "unavailable". */
static void
test_jwks_over_http(void **state)
{
	struct fixture *f = *state;
	struct http_stub hs;
	struct auth *missing;
	struct config cfg_missing;
	struct auth_claims c;
	const char *why;
	char url[96], url_missing[96], *token, *value;

	http_stub_start(&hs);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks.json", hs.port);
	snprintf(url_missing, sizeof(url_missing), "http://127.0.0.1:%d/missing.json", hs.port);
	f->cfg.jwks_url = url;
	assert_accepted(f, mint_ok(claims_ok()));
	assert_accepted(f, mint_ok(claims_ok()));
	assert_int_equal(atomic_load(&hs.requests), 1);

	cfg_missing = f->cfg;
	cfg_missing.jwks_url = url_missing;
	missing = auth_new(&cfg_missing);
	auth_set_clock(missing, test_now);
	token = mint_ok(claims_ok());
	value = xasprintf("Bearer %s", token);
	assert_int_equal(auth_verify(missing, value, &c, &why), AUTH_UNAVAILABLE);
	assert_int_equal(atomic_load(&hs.requests), 2);
	auth_free(missing);
	free(value);
	free(token);
	http_stub_stop(&hs);
	f->cfg.jwks_url = g.jwks_url;
}

/* A key set fetch inside a request ends by the request's deadline: a JWKS
 * host that takes the connection and never answers costs the request its
 * budget (here 300 ms), not AUTH_JWKS_TIMEOUT_MS, and the request is told
 * the keys are unavailable. A fetch after the deadline is not even tried. */
static void
test_jwks_fetch_within_deadline(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t salen = sizeof(sa);
	struct auth *silent;
	struct config cfg = f->cfg;
	struct auth_claims c;
	const char *why;
	char url[96], *token = mint_ok(claims_ok()), *value = xasprintf("Bearer %s", token);
	int64_t started;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);	/* connections wait in the backlog, unanswered */
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks.json", ntohs(sa.sin_port));
	cfg.jwks_url = url;
	silent = auth_new(&cfg);
	auth_set_clock(silent, test_now);

	started = now_ms();
	assert_int_equal(auth_verify_by(silent, value, now_ms() + 300, &c, &why), AUTH_UNAVAILABLE);
	assert_true(now_ms() - started < AUTH_JWKS_TIMEOUT_MS / 2);
	assert_int_equal(auth_jwks_fetch_count(silent), 1);
	auth_free(silent);

	silent = auth_new(&cfg);
	auth_set_clock(silent, test_now);
	assert_int_equal(auth_verify_by(silent, value, now_ms() - 1, &c, &why), AUTH_UNAVAILABLE);
	assert_int_equal(auth_jwks_fetch_count(silent), 0);
	auth_free(silent);
	close(fd);
	free(value);
	free(token);
}

/* ---- tampering and malformed input ---- */

/* Replaces part n (0-2) of a token with replacement; frees token. */
static char *
replace_part(char *token, int n, const char *replacement)
{
	char *parts[3], *save = NULL, *copy = xstrdup(token), *out;

	parts[0] = strtok_r(copy, ".", &save);
	parts[1] = strtok_r(NULL, ".", &save);
	parts[2] = strtok_r(NULL, ".", &save);
	parts[n] = (char *)replacement;
	out = xasprintf("%s.%s.%s", parts[0], parts[1], parts[2]);
	free(copy);
	free(token);
	return out;
}

/* Header, payload or signature changed after signing. */
static void
test_tampered(void **state)
{
	struct fixture *f = *state;
	json_object *p = claims_ok();
	char *h64, *p64, *s64, *token, *dot;
	unsigned char *raw;
	size_t rawlen;

	/* Header: same kid and alg, typ changed. */
	h64 = b64s("{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"" KID_A "\"}");
	assert_rejected(f, replace_part(mint_ok(claims_ok()), 0, h64), "bad signature");
	free(h64);
	/* Payload: another sub. */
	json_object_object_add(p, "sub", json_object_new_string("auth0|seed-admin"));
	p64 = b64s(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
	assert_rejected(f, replace_part(mint_ok(claims_ok()), 1, p64), "bad signature");
	free(p64);
	json_object_put(p);
	/* Signature: one character in the middle flipped. */
	token = mint_ok(claims_ok());
	dot = strrchr(token, '.');
	dot[20] = dot[20] == 'A' ? 'B' : 'A';
	assert_rejected(f, token, "bad signature");
	/* Signature: one byte short, and one byte too many. */
	token = mint_ok(claims_ok());
	dot = strrchr(token, '.');
	raw = base64url_decode(dot + 1, strlen(dot + 1), &rawlen);
	assert_non_null(raw);
	s64 = base64url_encode(raw, rawlen - 1);
	assert_rejected(f, replace_part(xstrdup(token), 2, s64), "bad signature");
	free(s64);
	raw = xrealloc(raw, rawlen + 1);
	raw[rawlen] = 0;
	s64 = base64url_encode(raw, rawlen + 1);
	assert_rejected(f, replace_part(token, 2, s64), "bad signature");
	free(s64);
	free(raw);
	/* Signature: removed. */
	token = mint_ok(claims_ok());
	strrchr(token, '.')[1] = '\0';
	assert_rejected(f, token, "signature is not base64url");
}

/* Bad base64url, bad JSON, wrong number of parts, trailing garbage. */
static void
test_malformed(void **state)
{
	struct fixture *f = *state;
	char *token, *h64;

	token = mint_ok(claims_ok());
	assert_rejected(f, xasprintf("%s.", token), "not three parts");
	assert_rejected(f, xasprintf("%s.abc", token), "not three parts");
	assert_rejected(f, xasprintf("%sA", token), "bad signature");
	assert_rejected(f, xasprintf("%sAB", token), "bad signature");
	free(token);
	assert_rejected(f, xstrdup("abc"), "not three parts");
	assert_rejected(f, xstrdup("a.b"), "not three parts");
	assert_rejected(f, xstrdup(".."), "header is not base64url JSON object");
	/* Length 4k+1 is not base64url; nor are non-zero trailing bits
	 * ("e30" is "{}", "e31" the same bytes with a stray bit). */
	assert_rejected(f, replace_part(mint_ok(claims_ok()), 0, "eyJhbGciOiJSUzI1NiJ9A"),
	    "header is not base64url JSON object");
	assert_rejected(f, replace_part(mint_ok(claims_ok()), 0, "e31"),
	    "header is not base64url JSON object");
	assert_rejected(f, replace_part(mint_ok(claims_ok()), 0, "e30"), "alg is not RS256");
	/* Not JSON, not an object, trailing bytes after the object. */
	h64 = b64s("not json");
	assert_rejected(f, replace_part(mint_ok(claims_ok()), 0, h64),
	    "header is not base64url JSON object");
	free(h64);
	h64 = b64s("[\"RS256\"]");
	assert_rejected(f, replace_part(mint_ok(claims_ok()), 0, h64),
	    "header is not base64url JSON object");
	free(h64);
	h64 = b64s("{\"alg\":\"RS256\",\"kid\":\"" KID_A "\"}garbage");
	assert_rejected(f, replace_part(mint_ok(claims_ok()), 0, h64),
	    "header is not base64url JSON object");
	free(h64);
	h64 = b64s("\"just a string\"");
	assert_rejected(f, replace_part(mint_ok(claims_ok()), 1, h64),
	    "payload is not base64url JSON object");
	free(h64);
	assert_int_equal(auth_jwks_fetch_count(f->auth), 1);
}

/* Tokens over AUTH_MAX_TOKEN_BYTES are refused before anything else. */
static void
test_oversized(void **state)
{
	struct fixture *f = *state;
	json_object *p = claims_ok();
	char *big = xmalloc(AUTH_MAX_TOKEN_BYTES + 2);

	memset(big, 'A', AUTH_MAX_TOKEN_BYTES + 1);
	big[AUTH_MAX_TOKEN_BYTES + 1] = '\0';
	assert_rejected(f, big, "token too large");
	/* A correctly signed token that is just too large. */
	big = xmalloc(AUTH_MAX_TOKEN_BYTES);
	memset(big, 'x', AUTH_MAX_TOKEN_BYTES - 1);
	big[AUTH_MAX_TOKEN_BYTES - 1] = '\0';
	json_object_object_add(p, "padding", json_object_new_string(big));
	free(big);
	assert_rejected(f, mint_ok(p), "token too large");
	assert_int_equal(auth_jwks_fetch_count(f->auth), 0);
}

/* Anything outside the base64url alphabet and '.' is refused. */
static void
test_bad_characters(void **state)
{
	static const char bad[] = { '+', '/', '=', ' ', '%', '"', '\t', '\x7f', '\xc3' };
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(bad); i++) {
		char *token = mint_ok(claims_ok());

		token[10] = bad[i];
		assert_rejected(f, token, "character outside base64url");
	}
	assert_int_equal(auth_jwks_fetch_count(f->auth), 0);
}

/* ---- threads ---- */

struct thread_arg {
	struct fixture	*f;
	char		*token;
	enum auth_result r;
};

/* Verifies one token in a thread. */
static void *
verify_thread(void *p)
{
	struct thread_arg *a = p;
	struct auth_claims c;
	const char *why;
	char *value = xasprintf("Bearer %s", a->token);

	a->r = auth_verify(a->f->auth, value, &c, &why);
	auth_claims_free(&c);
	free(value);
	return NULL;
}

/* Threads verifying at once share one fetch and one key set. */
static void
test_threads(void **state)
{
	struct fixture *f = *state;
	struct thread_arg args[THREADS];
	pthread_t th[THREADS];

	for (int i = 0; i < THREADS; i++) {
		args[i].f = f;
		args[i].token = mint_ok(claims_ok());
		args[i].r = AUTH_INVALID;
		assert_int_equal(pthread_create(&th[i], NULL, verify_thread, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].r, AUTH_OK);
		free(args[i].token);
	}
	assert_int_equal(auth_jwks_fetch_count(f->auth), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* Runs the verifier tests: the named ones, then one per row of claim_cases. */
int
main(void)
{
	static const struct CMUnitTest named[] = {
		T(test_valid_jwt),
		T(test_valid_at_jwt),
		T(test_valid_no_typ),
		T(test_valid_x5c_key),
		T(test_header_forms),
		T(test_claim_exp_clock),
		T(test_namespaced_claims),
		T(test_alg_hs256_confusion),
		T(test_other_key_same_kid),
		T(test_unknown_kid_refetch),
		T(test_key_rotation),
		T(test_ignored_keys),
		T(test_jwks_unavailable),
		T(test_jwks_garbage),
		T(test_jwks_over_http),
		T(test_tampered),
		T(test_verified_cache),
		T(test_verified_cache_claims),
		T(test_jwks_fetch_within_deadline),
		T(test_malformed),
		T(test_oversized),
		T(test_bad_characters),
		T(test_threads),
	};
	size_t n = ARRAY_LEN(named) + ARRAY_LEN(claim_cases);
	struct CMUnitTest *tests = xcalloc(n, sizeof(*tests));
	int rc;

	memcpy(tests, named, sizeof(named));
	for (size_t i = 0; i < ARRAY_LEN(claim_cases); i++) {
		struct CMUnitTest *t = &tests[ARRAY_LEN(named) + i];

		t->name = claim_cases[i].name;
		t->test_func = test_claim_case;
		t->setup_func = setup_row;
		t->teardown_func = teardown;
		t->initial_state = (void *)&claim_cases[i];
	}
	rc = _cmocka_run_group_tests("auth", tests, n, group_setup, group_teardown);
	free(tests);
	return rc;
}
