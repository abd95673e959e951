/* auth.c - verification of Auth0 RS256 access tokens (SPEC §6).
 *
 * Every check is ours: the header is read and alg/typ/kid judged before any
 * cryptography, the signature is verified with OpenSSL's EVP API using the
 * key chosen by kid (never by anything else the token says), and every claim
 * is checked here. Keys come from the JWKS at cfg->jwks_url (https:// or
 * file://) and are cached for the life of the process; an unknown kid makes
 * at most one re-fetch per AUTH_JWKS_REFETCH_S, failures included.
 *
 * Thread safety: one struct auth is shared by all threads. The key set is
 * guarded by a rwlock; a verifier takes a reference to its key and verifies
 * outside the lock. Fetches are serialised by a mutex. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "auth.h"
#include "config.h"
#include "httpc.h"
#include "json_check.h"
#include "log.h"
#include "sigv4.h"
#include "util.h"

/* One usable verification key from the JWKS. */
struct auth_key {
	char		*kid;
	EVP_PKEY	*pkey;
};

/* The time claims of a token: exp always, nbf and iat when present. */
struct auth_times {
	int64_t	 exp, nbf, iat;
	bool	 has_nbf, has_iat;
};

/* A token that passed every check: its digest, claims and times. */
struct auth_verified {
	unsigned char		 digest[SHA256_DIGEST_LENGTH];
	bool			 used;
	struct auth_claims	 claims;
	struct auth_times	 times;
};

/* A parsed key set; replaced as a whole on re-fetch. */
struct auth_keyset {
	struct auth_key	*keys;
	size_t		 nkeys;
};

struct auth {
	const struct config	*cfg;		/* borrowed */
	pthread_rwlock_t	 lock;		/* guards keyset and loaded */
	struct auth_keyset	 keyset;
	bool			 loaded;	/* a fetch has succeeded once */
	pthread_mutex_t		 fetch_lock;	/* serialises fetches, guards the fields below */
	bool			 attempted;	/* a fetch has been attempted */
	int64_t			 last_fetch_s;	/* when the last attempt started */
	atomic_uint		 fetch_count;
	int64_t			(*now_s)(void);
	/* Tokens that passed every check, by SHA-256 of their text: a token
	 * seen again skips decoding, the RSA check and the claims that cannot
	 * change (iss, aud, sub); its times are checked again each time. */
	pthread_mutex_t		 verified_lock;
	struct auth_verified	 verified[AUTH_VERIFIED_SLOTS];
};

/* The parts of a token, decoded. */
struct auth_token {
	json_object	*header;
	json_object	*payload;
	unsigned char	*sig;
	size_t		 siglen;
	const char	*signing_input;	/* borrowed: header.payload */
	size_t		 signing_len;
};

/* Body of a JWKS fetch, bounded by AUTH_JWKS_MAX_BYTES. */

/* The default clock: wall time in seconds. */
static int64_t
auth_default_now(void)
{
	return (int64_t)time(NULL);
}

/* The current time by the configured clock. */
static int64_t
auth_now(const struct auth *auth)
{
	return auth->now_s != NULL ? auth->now_s() : auth_default_now();
}

/* Frees every key of a set and empties it. */
static void
auth_keyset_clear(struct auth_keyset *ks)
{
	for (size_t i = 0; i < ks->nkeys; i++) {
		free(ks->keys[i].kid);
		EVP_PKEY_free(ks->keys[i].pkey);
	}
	free(ks->keys);
	ks->keys = NULL;
	ks->nkeys = 0;
}

/* Creates the process-wide verifier; keys are fetched on first use. */
struct auth *
auth_new(const struct config *cfg)
{
	struct auth *auth = xcalloc(1, sizeof(*auth));

	auth->cfg = cfg;
	pthread_rwlock_init(&auth->lock, NULL);
	pthread_mutex_init(&auth->fetch_lock, NULL);
	pthread_mutex_init(&auth->verified_lock, NULL);
	atomic_init(&auth->fetch_count, 0);
	return auth;
}

/* Releases the verifier and its keys; NULL-safe. */
void
auth_free(struct auth *auth)
{
	if (auth == NULL)
		return;
	auth_keyset_clear(&auth->keyset);
	pthread_rwlock_destroy(&auth->lock);
	pthread_mutex_destroy(&auth->fetch_lock);
	pthread_mutex_destroy(&auth->verified_lock);
	for (size_t i = 0; i < AUTH_VERIFIED_SLOTS; i++)
		auth_claims_free(&auth->verified[i].claims);
	free(auth);
}

/* JWKS fetches made so far. */
unsigned
auth_jwks_fetch_count(const struct auth *auth)
{
	return atomic_load(&((struct auth *)auth)->fetch_count);
}

/* Replaces the clock (tests); NULL restores time(). */
void
auth_set_clock(struct auth *auth, int64_t (*now_s)(void))
{
	auth->now_s = now_s;
}

/* Releases the strings of claims; NULL-safe. */
void
auth_claims_free(struct auth_claims *claims)
{
	if (claims == NULL)
		return;
	free(claims->sub);
	free(claims->email);
	free(claims->name);
	memset(claims, 0, sizeof(*claims));
}

/* ---- JWKS ---- */

/* Builds an RSA public key from the big-endian modulus and exponent. */
static EVP_PKEY *
auth_rsa_from_ne(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen)
{
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	bn_n = BN_bin2bn(n, (int)nlen, NULL);
	bn_e = BN_bin2bn(e, (int)elen, NULL);
	if (bn_n == NULL || bn_e == NULL || BN_is_zero(bn_n) || !BN_is_odd(bn_e))
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto out;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL)
		goto out;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_e);
	BN_free(bn_n);
	return pkey;
}

/* Borrowed string member of obj, or NULL when absent or not a string. */
static const char *
auth_json_str(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Borrowed string member of obj with its full length (it may hold U+0000),
 * or NULL when absent or not a string. */
static const char *
auth_json_strn(json_object *obj, const char *key, size_t *len)
{
	json_object *v;

	*len = 0;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* True when the len bytes at s are exactly the C string want (a NUL inside s
 * makes it longer than what strcmp would see, so it never matches). */
static bool
auth_equal(const char *s, size_t len, const char *want)
{
	return s != NULL && want != NULL && len == strlen(want) && memcmp(s, want, len) == 0;
}

/* A string claim's length when it holds no U+0000 (the only kind used). */
static bool
auth_no_nul(const char *s, size_t len)
{
	return s != NULL && memchr(s, '\0', len) == NULL;
}

/* Builds a key from the n/e members of a JWK. */
static EVP_PKEY *
auth_jwk_from_ne(const char *n64, const char *e64)
{
	unsigned char *n, *e;
	size_t nlen, elen;
	EVP_PKEY *pkey = NULL;

	n = base64url_decode(n64, strlen(n64), &nlen);
	e = base64url_decode(e64, strlen(e64), &elen);
	if (n != NULL && e != NULL && nlen > 0 && elen > 0 && elen <= 8)
		pkey = auth_rsa_from_ne(n, nlen, e, elen);
	free(n);
	free(e);
	return pkey;
}

/* Builds a key from the first certificate of a JWK's x5c (base64 DER). */
static EVP_PKEY *
auth_jwk_from_x5c(json_object *x5c)
{
	const unsigned char *p;
	unsigned char *der;
	size_t derlen;
	X509 *cert;
	EVP_PKEY *pkey = NULL;
	json_object *first;
	const char *b64;

	if (!json_object_is_type(x5c, json_type_array) || json_object_array_length(x5c) == 0)
		return NULL;
	first = json_object_array_get_idx(x5c, 0);
	if (!json_object_is_type(first, json_type_string))
		return NULL;
	b64 = json_object_get_string(first);
	if ((der = base64_decode(b64, strlen(b64), &derlen)) == NULL)
		return NULL;
	p = der;
	cert = d2i_X509(NULL, &p, (long)derlen);
	if (cert != NULL && p == der + derlen) {
		pkey = X509_get_pubkey(cert);
		if (pkey != NULL && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	X509_free(cert);
	free(der);
	return pkey;
}

/* Turns one JWK into a key; NULL (with a debug line) when it is not usable
 * for RS256 signatures. */
static EVP_PKEY *
auth_jwk_key(json_object *jwk, const char **kid_out)
{
	const char *kty, *use, *alg, *kid, *n, *e;
	json_object *x5c;
	EVP_PKEY *pkey = NULL;

	*kid_out = NULL;
	if (!json_object_is_type(jwk, json_type_object))
		return NULL;
	kty = auth_json_str(jwk, "kty");
	kid = auth_json_str(jwk, "kid");
	use = auth_json_str(jwk, "use");
	alg = auth_json_str(jwk, "alg");
	if (kty == NULL || strcmp(kty, "RSA") != 0 || kid == NULL || kid[0] == '\0' ||
	    strlen(kid) > AUTH_MAX_KID_BYTES)
		return NULL;
	if (json_object_object_get_ex(jwk, "use", NULL) && (use == NULL || strcmp(use, "sig") != 0)) {
		log_info("auth: JWKS key ignored", LOG_S("kid", kid), LOG_S("reason", "use is not sig"));
		return NULL;
	}
	if (json_object_object_get_ex(jwk, "alg", NULL) && (alg == NULL || strcmp(alg, "RS256") != 0)) {
		log_info("auth: JWKS key ignored", LOG_S("kid", kid), LOG_S("reason", "alg is not RS256"));
		return NULL;
	}
	n = auth_json_str(jwk, "n");
	e = auth_json_str(jwk, "e");
	if (n != NULL && e != NULL)
		pkey = auth_jwk_from_ne(n, e);
	else if (json_object_object_get_ex(jwk, "x5c", &x5c))
		pkey = auth_jwk_from_x5c(x5c);
	if (pkey == NULL) {
		log_info("auth: JWKS key ignored", LOG_S("kid", kid), LOG_S("reason", "unusable key material"));
		return NULL;
	}
	if (EVP_PKEY_get_bits(pkey) < AUTH_MIN_RSA_BITS) {
		log_info("auth: JWKS key ignored", LOG_S("kid", kid), LOG_S("reason", "key too short"),
		    LOG_I("bits", EVP_PKEY_get_bits(pkey)));
		EVP_PKEY_free(pkey);
		return NULL;
	}
	*kid_out = kid;
	return pkey;
}

/* Parses a JWKS document into ks; 0, or -1 when it is not a JWKS. */
static int
auth_jwks_parse(const char *text, size_t len, struct auth_keyset *ks)
{
	json_tokener *tok;
	json_object *doc, *keys;
	size_t n;

	memset(ks, 0, sizeof(*ks));
	if ((tok = json_tokener_new()) == NULL)
		return -1;
	doc = json_tokener_parse_ex(tok, text, (int)len);
	if (doc == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(doc);
		json_tokener_free(tok);
		return -1;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		json_object_put(doc);
		return -1;
	}
	n = json_object_array_length(keys);
	if (n > AUTH_JWKS_MAX_KEYS)
		n = AUTH_JWKS_MAX_KEYS;
	ks->keys = xcalloc(n == 0 ? 1 : n, sizeof(*ks->keys));
	for (size_t i = 0; i < n; i++) {
		const char *kid;
		EVP_PKEY *pkey = auth_jwk_key(json_object_array_get_idx(keys, i), &kid);

		if (pkey == NULL)
			continue;
		ks->keys[ks->nkeys].kid = xstrdup(kid);
		ks->keys[ks->nkeys].pkey = pkey;
		ks->nkeys++;
	}
	json_object_put(doc);
	return 0;
}

/* Downloads the JWKS and parses it into ks; 0, or -1 with *why (static). */
static int
auth_jwks_download(const struct auth *auth, int64_t deadline_ms, struct auth_keyset *ks,
    const char **why)
{
	const struct httpc_options opt = {
		.ca_bundle = auth->cfg->ca_bundle,
		.protocols = "https,http,file",
		.total_timeout_ms = AUTH_JWKS_TIMEOUT_MS,
		.deadline_ms = deadline_ms,
		.max_redirects = AUTH_JWKS_MAX_REDIRECTS,
	};
	struct httpc_response res;
	const char *url = auth->cfg->jwks_url;
	CURLcode rc;
	CURL *curl;
	int ret = -1;

	if (url == NULL || url[0] == '\0') {
		*why = "no JWKS URL configured";
		return -1;
	}
	if ((curl = httpc_easy_new()) == NULL) {
		*why = "curl_easy_init failed";
		return -1;
	}
	httpc_response_init(&res, AUTH_JWKS_MAX_BYTES);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	if (httpc_setup(curl, &opt) == -1) {
		*why = "no time left in the request's budget for the JWKS";
		goto out;
	}
	httpc_attach(curl, &res);
	rc = httpc_perform(curl, &res);
	if (rc != CURLE_OK) {
		*why = res.too_large ? "JWKS too large" : "JWKS transfer failed";
		log_warn("auth: JWKS fetch failed", LOG_S("url", url), LOG_S("why", *why),
		    LOG_S("curl", httpc_error(&res, rc)));
		goto out;
	}
	/* file:// has no status; http(s) must answer 200. */
	if (res.status != 0 && res.status != 200) {
		*why = "JWKS HTTP status not 200";
		log_warn("auth: JWKS fetch failed", LOG_S("url", url), LOG_I("status", res.status));
		goto out;
	}
	if (auth_jwks_parse(res.body.data != NULL ? res.body.data : "", res.body.len, ks) == -1) {
		*why = "JWKS is not a JSON key set";
		log_warn("auth: JWKS fetch failed", LOG_S("url", url), LOG_S("why", *why));
		goto out;
	}
	log_info("auth: JWKS loaded", LOG_S("url", url), LOG_I("keys", ks->nkeys));
	ret = 0;
out:
	curl_easy_cleanup(curl);
	httpc_response_reset(&res);
	return ret;
}

/* Fetches the JWKS when the rate limit allows; replaces the key set on
 * success. Returns 0 when a fetch happened and succeeded, -1 otherwise. */
static int
auth_jwks_refresh(struct auth *auth, int64_t deadline_ms)
{
	struct auth_keyset fresh, old;
	const char *why = NULL;
	int64_t now, wait_s;
	bool loaded;

	pthread_mutex_lock(&auth->fetch_lock);
	pthread_rwlock_rdlock(&auth->lock);
	loaded = auth->loaded;
	pthread_rwlock_unlock(&auth->lock);
	now = auth_now(auth);
	wait_s = loaded ? AUTH_JWKS_REFETCH_S : AUTH_JWKS_RETRY_S;
	if (auth->attempted && now - auth->last_fetch_s < wait_s && now >= auth->last_fetch_s) {
		pthread_mutex_unlock(&auth->fetch_lock);
		log_debug("auth: JWKS re-fetch rate-limited");
		return -1;
	}
	if (deadline_ms != 0 && now_ms() >= deadline_ms) {
		pthread_mutex_unlock(&auth->fetch_lock);
		return -1;	/* the request's time is up: not an attempt */
	}
	auth->attempted = true;
	auth->last_fetch_s = now;
	atomic_fetch_add(&auth->fetch_count, 1);
	if (auth_jwks_download(auth, deadline_ms, &fresh, &why) == -1) {
		pthread_mutex_unlock(&auth->fetch_lock);
		return -1;
	}
	pthread_rwlock_wrlock(&auth->lock);
	old = auth->keyset;
	auth->keyset = fresh;
	auth->loaded = true;
	pthread_rwlock_unlock(&auth->lock);
	pthread_mutex_unlock(&auth->fetch_lock);
	auth_keyset_clear(&old);
	return 0;
}

/* Looks kid up; returns a new reference to the key (caller frees) or NULL.
 * *loaded says whether any key set was loaded at all. */
static EVP_PKEY *
auth_key_lookup(struct auth *auth, const char *kid, bool *loaded)
{
	EVP_PKEY *pkey = NULL;

	pthread_rwlock_rdlock(&auth->lock);
	*loaded = auth->loaded;
	for (size_t i = 0; i < auth->keyset.nkeys; i++) {
		if (strcmp(auth->keyset.keys[i].kid, kid) == 0) {
			pkey = auth->keyset.keys[i].pkey;
			EVP_PKEY_up_ref(pkey);
			break;
		}
	}
	pthread_rwlock_unlock(&auth->lock);
	return pkey;
}

/* The key for kid, fetching or re-fetching the JWKS within the rate limit.
 * Returns AUTH_OK with *pkey (a reference the caller frees), AUTH_INVALID
 * for an unknown kid, AUTH_UNAVAILABLE when no key set could be loaded. */
static enum auth_result
auth_key_for(struct auth *auth, const char *kid, int64_t deadline_ms, EVP_PKEY **pkey)
{
	bool loaded;

	if ((*pkey = auth_key_lookup(auth, kid, &loaded)) != NULL)
		return AUTH_OK;
	auth_jwks_refresh(auth, deadline_ms);
	if ((*pkey = auth_key_lookup(auth, kid, &loaded)) != NULL)
		return AUTH_OK;
	return loaded ? AUTH_INVALID : AUTH_UNAVAILABLE;
}

/* ---- token parsing ---- */

/* True for the characters of a compact JWS: base64url and '.'. */
static bool
auth_token_char_ok(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c == '.';
}

/* Parses exactly one JSON object from len bytes (text[len] == '\0'), as
 * strictly as request bodies: duplicate member names and member names with
 * U+0000 (which json-c would cut short) are refused. NULL otherwise. */
static json_object *
auth_parse_object(const unsigned char *text, size_t len)
{
	struct json_check_result r;
	json_object *obj;

	if (len == 0)
		return NULL;
	obj = json_check_parse((const char *)text, len, 0, &r);
	json_check_result_free(&r);
	if (obj != NULL && (r.nul_in_name || !json_object_is_type(obj, json_type_object))) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

/* Decodes one base64url part into a JSON object; NULL on bad input. */
static json_object *
auth_decode_part(const char *part, size_t len)
{
	unsigned char *raw;
	size_t rawlen;
	json_object *obj;

	if (len == 0 || (raw = base64url_decode(part, len, &rawlen)) == NULL)
		return NULL;
	obj = auth_parse_object(raw, rawlen);
	free(raw);
	return obj;
}

/* Releases what a parsed token owns. */
static void
auth_token_clear(struct auth_token *t)
{
	json_object_put(t->header);
	json_object_put(t->payload);
	free(t->sig);
	memset(t, 0, sizeof(*t));
}

/* True when typ is one the two accepted profiles use: JWT or at+jwt
 * (RFC 7515 §4.1.9: case-insensitive, "application/" may be omitted). */
static bool
auth_typ_ok(const char *typ)
{
	if (ascii_casecmp(typ, "JWT") == 0 || ascii_casecmp(typ, "at+jwt") == 0 ||
	    ascii_casecmp(typ, "application/jwt") == 0 || ascii_casecmp(typ, "application/at+jwt") == 0)
		return true;
	return false;
}

/* Splits and decodes token and judges the header; no crypto yet.
 * On success *kid is borrowed from t->header. */
static enum auth_result
auth_token_parse(const char *token, size_t len, struct auth_token *t, const char **kid,
    const char **why)
{
	const char *dot1, *dot2, *typ, *alg;
	size_t n = 0;

	if (len > AUTH_MAX_TOKEN_BYTES) {
		*why = "token too large";
		return AUTH_INVALID;
	}
	for (size_t i = 0; i < len; i++) {
		if (!auth_token_char_ok((unsigned char)token[i])) {
			*why = "character outside base64url";
			return AUTH_INVALID;
		}
	}
	dot1 = memchr(token, '.', len);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (dot1 == NULL || dot2 == NULL ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL) {
		*why = "not three parts";
		return AUTH_INVALID;
	}
	if ((t->header = auth_decode_part(token, (size_t)(dot1 - token))) == NULL) {
		*why = "header is not base64url JSON object";
		return AUTH_INVALID;
	}
	alg = auth_json_strn(t->header, "alg", &n);
	if (!auth_equal(alg, n, "RS256")) {
		*why = "alg is not RS256";
		return AUTH_INVALID;
	}
	if (json_object_object_get_ex(t->header, "typ", NULL)) {
		typ = auth_json_strn(t->header, "typ", &n);
		if (!auth_no_nul(typ, n) || !auth_typ_ok(typ)) {
			*why = "typ is not JWT or at+jwt";
			return AUTH_INVALID;
		}
	}
	if (json_object_object_get_ex(t->header, "crit", NULL)) {
		*why = "crit header not supported";
		return AUTH_INVALID;
	}
	*kid = auth_json_strn(t->header, "kid", &n);
	if (!auth_no_nul(*kid, n) || n == 0 || n > AUTH_MAX_KID_BYTES) {
		*why = "kid missing";
		return AUTH_INVALID;
	}
	if ((t->payload = auth_decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL) {
		*why = "payload is not base64url JSON object";
		return AUTH_INVALID;
	}
	t->sig = base64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &t->siglen);
	if (t->sig == NULL || t->siglen == 0) {
		*why = "signature is not base64url";
		return AUTH_INVALID;
	}
	t->signing_input = token;
	t->signing_len = (size_t)(dot2 - token);
	return AUTH_OK;
}

/* Verifies an RS256 (RSASSA-PKCS1-v1_5, SHA-256) signature with pkey. */
static bool
auth_rs256_verify(EVP_PKEY *pkey, const struct auth_token *t)
{
	EVP_MD_CTX *md;
	bool ok = false;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA || t->siglen != (size_t)EVP_PKEY_get_size(pkey))
		return false;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return false;
	if (EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
	    EVP_DigestVerify(md, t->sig, t->siglen, (const unsigned char *)t->signing_input,
	    t->signing_len) == 1)
		ok = true;
	EVP_MD_CTX_free(md);
	return ok;
}

/* ---- claims ---- */

/* Reads a NumericDate claim. 1 present (value in *out), 0 absent, -1 not a number. */
static int
auth_numeric_date(json_object *payload, const char *key, int64_t *out)
{
	json_object *v;
	double d;

	if (!json_object_object_get_ex(payload, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return 1;
	}
	if (json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v);
		if (!(d > -9.0e15 && d < 9.0e15))
			return -1;
		*out = (int64_t)d;
		return 1;
	}
	return -1;
}

/* True when aud is the audience or an array containing it. */
static bool
auth_aud_ok(json_object *payload, const char *audience)
{
	json_object *aud;

	if (audience == NULL || !json_object_object_get_ex(payload, "aud", &aud))
		return false;
	if (json_object_is_type(aud, json_type_string))
		return auth_equal(json_object_get_string(aud), (size_t)json_object_get_string_len(aud), audience);
	if (!json_object_is_type(aud, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(aud); i++) {
		json_object *a = json_object_array_get_idx(aud, i);

		if (json_object_is_type(a, json_type_string) &&
		    auth_equal(json_object_get_string(a), (size_t)json_object_get_string_len(a), audience))
			return true;
	}
	return false;
}

/* A profile claim by its plain name or an Auth0 namespaced one ("…/name")
 * of the given type; borrowed, NULL when absent. */
static json_object *
auth_profile_claim(json_object *payload, const char *name, json_type type)
{
	size_t nlen = strlen(name);
	json_object *v;

	if (json_object_object_get_ex(payload, name, &v) && json_object_is_type(v, type))
		return v;
	json_object_object_foreach(payload, key, val) {
		size_t klen = strlen(key);

		if (klen > nlen + 1 && key[klen - nlen - 1] == '/' &&
		    strcmp(key + klen - nlen, name) == 0 && json_object_is_type(val, type))
			return val;
	}
	return NULL;
}

/* A non-empty string profile claim, duplicated into *out (NULL when absent);
 * -1 when it holds U+0000 (a copy would be cut short). */
static int
auth_profile_string(json_object *payload, const char *name, char **out)
{
	json_object *v = auth_profile_claim(payload, name, json_type_string);
	size_t len;

	*out = NULL;
	if (v == NULL || (len = (size_t)json_object_get_string_len(v)) == 0)
		return 0;
	if (!auth_no_nul(json_object_get_string(v), len))
		return -1;
	*out = xstrdup(json_object_get_string(v));
	return 0;
}

/* Checks the time claims against the clock (with AUTH_LEEWAY_S). */
static enum auth_result
auth_times_ok(const struct auth *auth, const struct auth_times *t, const char **why)
{
	int64_t now = auth_now(auth);

	/* now >= exp + leeway, written so that no exp (INT64_MAX too) overflows. */
	if (t->exp <= now - AUTH_LEEWAY_S) {
		*why = "token expired";
		return AUTH_INVALID;
	}
	if (t->has_nbf && t->nbf > now + AUTH_LEEWAY_S) {
		*why = "nbf in the future";
		return AUTH_INVALID;
	}
	if (t->has_iat && t->iat > now + AUTH_LEEWAY_S) {
		*why = "iat in the future";
		return AUTH_INVALID;
	}
	return AUTH_OK;
}

/* Reads exp, nbf and iat of a payload; AUTH_OK or AUTH_INVALID with *why. */
static enum auth_result
auth_read_times(json_object *payload, struct auth_times *t, const char **why)
{
	int rc;

	memset(t, 0, sizeof *t);
	if ((rc = auth_numeric_date(payload, "exp", &t->exp)) != 1) {
		*why = rc == 0 ? "exp missing" : "exp not a number";
		return AUTH_INVALID;
	}
	if ((rc = auth_numeric_date(payload, "nbf", &t->nbf)) == -1) {
		*why = "nbf in the future";
		return AUTH_INVALID;
	}
	t->has_nbf = rc == 1;
	if ((rc = auth_numeric_date(payload, "iat", &t->iat)) == -1) {
		*why = "iat in the future";
		return AUTH_INVALID;
	}
	t->has_iat = rc == 1;
	return AUTH_OK;
}

/* Checks every claim of a verified payload and fills claims and times. */
static enum auth_result
auth_check_claims(const struct auth *auth, json_object *payload, struct auth_claims *claims,
    struct auth_times *times, const char **why)
{
	const char *iss, *sub;
	json_object *verified;
	size_t len = 0;
	enum auth_result r;

	iss = auth_json_strn(payload, "iss", &len);
	if (!auth_equal(iss, len, auth->cfg->issuer)) {
		*why = "iss mismatch";
		return AUTH_INVALID;
	}
	if (!auth_aud_ok(payload, auth->cfg->audience)) {
		*why = "aud mismatch";
		return AUTH_INVALID;
	}
	if ((r = auth_read_times(payload, times, why)) != AUTH_OK ||
	    (r = auth_times_ok(auth, times, why)) != AUTH_OK)
		return r;
	sub = auth_json_strn(payload, "sub", &len);
	if (!auth_no_nul(sub, len) || len == 0 || len > AUTH_MAX_SUB_BYTES) {
		*why = "sub missing";
		return AUTH_INVALID;
	}
	claims->sub = xstrdup(sub);
	if (auth_profile_string(payload, "email", &claims->email) == -1 ||
	    auth_profile_string(payload, "name", &claims->name) == -1) {
		auth_claims_free(claims);
		*why = "email or name holds NUL";
		return AUTH_INVALID;
	}
	claims->exp = times->exp;
	verified = auth_profile_claim(payload, "email_verified", json_type_boolean);
	claims->email_unverified = verified != NULL && !json_object_get_boolean(verified);
	return AUTH_OK;
}

/* ---- the entry ---- */

/* Finds the token in an Authorization value: "Bearer <token>", scheme
 * case-insensitive. NULL when there is no bearer credential at all. */
static const char *
auth_bearer_token(const char *authorization, size_t *len)
{
	const char *p = authorization, *end;

	if (p == NULL)
		return NULL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return NULL;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*len = (size_t)(end - p);
	return p;
}

/* The slot of a token digest in the verified set (direct-mapped). */
static size_t
auth_verified_slot(const unsigned char *digest)
{
	size_t h;

	memcpy(&h, digest, sizeof h);
	return h % AUTH_VERIFIED_SLOTS;
}

/* A copy of claims (strings duplicated). */
static void
auth_claims_copy(struct auth_claims *to, const struct auth_claims *from)
{
	to->sub = xstrdup(from->sub);
	to->email = from->email != NULL ? xstrdup(from->email) : NULL;
	to->name = from->name != NULL ? xstrdup(from->name) : NULL;
	to->exp = from->exp;
	to->email_unverified = from->email_unverified;
}

/* True when this exact token passed every check before: fills claims and
 * times from that check. */
static bool
auth_verified_seen(struct auth *auth, const unsigned char *digest, struct auth_claims *claims,
    struct auth_times *times)
{
	struct auth_verified *v = &auth->verified[auth_verified_slot(digest)];
	bool seen;

	pthread_mutex_lock(&auth->verified_lock);
	seen = v->used && memcmp(v->digest, digest, SHA256_DIGEST_LENGTH) == 0;
	if (seen) {
		auth_claims_copy(claims, &v->claims);
		*times = v->times;
	}
	pthread_mutex_unlock(&auth->verified_lock);
	return seen;
}

/* Remembers a token that passed every check (replacing the slot's last one). */
static void
auth_verified_remember(struct auth *auth, const unsigned char *digest,
    const struct auth_claims *claims, const struct auth_times *times)
{
	struct auth_verified *v = &auth->verified[auth_verified_slot(digest)];

	pthread_mutex_lock(&auth->verified_lock);
	auth_claims_free(&v->claims);
	memcpy(v->digest, digest, SHA256_DIGEST_LENGTH);
	auth_claims_copy(&v->claims, claims);
	v->times = *times;
	v->used = true;
	pthread_mutex_unlock(&auth->verified_lock);
}

/* Verifies the Authorization header value and fills claims on success. */
enum auth_result
auth_verify(struct auth *auth, const char *authorization, struct auth_claims *claims,
    const char **why)
{
	return auth_verify_by(auth, authorization, 0, claims, why);
}

/* The same, a key set fetch bounded by deadline_ms (now_ms() clock; 0: none). */
enum auth_result
auth_verify_by(struct auth *auth, const char *authorization, int64_t deadline_ms,
    struct auth_claims *claims, const char **why)
{
	struct auth_token t = { 0 };
	const char *token, *kid = NULL, *dummy;
	EVP_PKEY *pkey = NULL;
	enum auth_result r;
	size_t len = 0;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	struct auth_times times;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	memset(claims, 0, sizeof(*claims));
	if ((token = auth_bearer_token(authorization, &len)) == NULL) {
		*why = "no bearer token";
		return AUTH_NO_TOKEN;
	}
	if (len == 0) {
		*why = "empty bearer token";
		return AUTH_INVALID;
	}
	sigv4_sha256(token, len, digest);
	if (auth_verified_seen(auth, digest, claims, &times)) {
		if ((r = auth_times_ok(auth, &times, why)) != AUTH_OK)
			auth_claims_free(claims);
		return r;
	}
	if ((r = auth_token_parse(token, len, &t, &kid, why)) != AUTH_OK)
		goto out;
	if ((r = auth_key_for(auth, kid, deadline_ms, &pkey)) != AUTH_OK) {
		*why = r == AUTH_UNAVAILABLE ? "JWKS unavailable" : "unknown kid";
		goto out;
	}
	if (!auth_rs256_verify(pkey, &t)) {
		*why = "bad signature";
		r = AUTH_INVALID;
		goto out;
	}
	if ((r = auth_check_claims(auth, t.payload, claims, &times, why)) == AUTH_OK)
		auth_verified_remember(auth, digest, claims, &times);
out:
	EVP_PKEY_free(pkey);
	auth_token_clear(&t);
	return r;
}
