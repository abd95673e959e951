/* sigv4.c - AWS Signature Version 4 (HMAC-SHA256) with OpenSSL 3.
 *
 * The canonical request follows the rules of the AWS SigV4 test suite for
 * services other than S3: the path is normalised (empty and "." segments
 * dropped, ".." resolved) and each segment URI-encoded once from its raw
 * form; query parameters are decoded, re-encoded per RFC 3986 and sorted by
 * key then value; header names are lower-cased and sorted, values trimmed
 * with runs of spaces collapsed, repeated names joined with ','. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sigv4.h"
#include "util.h"

#define SIGV4_ALGORITHM		"AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR	"aws4_request"
#define SIGV4_KEY_PREFIX	"AWS4"
#define SIGV4_HASH_LEN		32		/* SHA-256 output bytes */
#define SIGV4_HEX_LEN		(2 * SIGV4_HASH_LEN + 1)
#define SIGV4_MAX_HEADERS	128		/* more is a caller bug */
#define SIGV4_MAX_SECRET	256		/* bytes of a secret access key */
#define SIGV4_MAX_SCOPE_PART	63		/* region/service a cached key may have */

/* One header as it goes into the canonical request. */
struct canon_header {
	char	*name;		/* lower-cased, owned */
	char	*value;		/* trimmed, spaces collapsed, owned */
	size_t	 order;		/* position in the request: keeps same-name order */
};

/* One query parameter, both halves already encoded. */
struct canon_param {
	char	*key;
	char	*value;
};

#define SIGV4_BLOCK_LEN		64		/* SHA-256 block: HMAC pads keys to it */

/* SHA-256 fetched once (OpenSSL 3 looks an algorithm up by name on every
 * one-shot call) and one digest context per thread, freed with the thread. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_ctx_key;

static void
sha256_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void
sha256_init_once(void)
{
	if ((sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    pthread_key_create(&sha256_ctx_key, sha256_ctx_free) != 0)
		abort();	/* no SHA-256: a broken libcrypto */
}

/* SHA-256 of the concatenation a || b into out (32 bytes). */
static void
sha256_two(const void *a, size_t alen, const void *b, size_t blen,
    unsigned char out[SIGV4_HASH_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int mdlen = 0;

	pthread_once(&sha256_once, sha256_init_once);
	if ((ctx = pthread_getspecific(sha256_ctx_key)) == NULL) {
		if ((ctx = EVP_MD_CTX_new()) == NULL || pthread_setspecific(sha256_ctx_key, ctx) != 0)
			abort();
	}
	if (EVP_DigestInit_ex(ctx, sha256_md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, a, alen) != 1 ||
	    (blen > 0 && EVP_DigestUpdate(ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, &mdlen) != 1 || mdlen != SIGV4_HASH_LEN)
		abort();	/* SHA-256 cannot fail short of a broken libcrypto */
}

/* SHA-256 of data into out (32 bytes). */
void
sigv4_sha256(const void *data, size_t len, unsigned char out[32])
{
	sha256_two(data, len, NULL, 0, out);
}

/* Lower-case hex SHA-256 of data into out (65 bytes). */
void
sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[SIGV4_HASH_LEN];

	sha256_two(data, len, NULL, 0, md);
	hex_encode(md, SIGV4_HASH_LEN, out);
}

/* Formats t as YYYYMMDDTHHMMSSZ into out (17 bytes). */
void
sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		out[0] = '\0';
}

/* HMAC-SHA256 of data under key into out (32 bytes), RFC 2104 over the
 * fetched SHA-256. */
static void
hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[SIGV4_HASH_LEN])
{
	unsigned char k[SIGV4_BLOCK_LEN] = { 0 }, pad[SIGV4_BLOCK_LEN], inner[SIGV4_HASH_LEN];

	if (keylen > SIGV4_BLOCK_LEN)
		sha256_two(key, keylen, NULL, 0, k);
	else
		memcpy(k, key, keylen);
	for (size_t i = 0; i < SIGV4_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_two(pad, sizeof pad, data, len, inner);
	for (size_t i = 0; i < SIGV4_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_two(pad, sizeof pad, inner, sizeof inner, out);
	OPENSSL_cleanse(k, sizeof k);
	OPENSSL_cleanse(pad, sizeof pad);
}

/* True for the RFC 3986 unreserved characters. */
static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

/* Appends s[0..len) percent-encoded (everything but unreserved, upper-case hex). */
static void
append_encoded(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c)) {
			buf_append(b, &s[i], 1);
		} else {
			char esc[3] = { '%', hex[c >> 4], hex[c & 0xf] };

			buf_append(b, esc, sizeof esc);
		}
	}
}

/* Canonical URI: the path normalised per RFC 3986 (with empty segments
 * dropped, as the AWS suite does) and each segment encoded; caller frees. */
static char *
canonical_uri(const char *path)
{
	struct { const char *p; size_t len; } *segs;
	size_t nsegs = 0, maxsegs;
	bool trailing = false;
	struct buf b = BUF_INIT;
	const char *p;

	if (path == NULL || *path == '\0')
		return xstrdup("/");
	maxsegs = strlen(path) / 2 + 2;
	segs = xcalloc(maxsegs, sizeof *segs);
	p = path;
	while (*p != '\0') {
		const char *end = strchr(p, '/');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		/* The last segment decides whether the result ends in '/'. */
		trailing = (end != NULL && end[1] == '\0') ||
		    (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.');
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (nsegs > 0)
				nsegs--;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			segs[nsegs].p = p;
			segs[nsegs].len = len;
			nsegs++;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	for (size_t i = 0; i < nsegs; i++) {
		buf_puts(&b, "/");
		append_encoded(&b, segs[i].p, segs[i].len);
	}
	if (nsegs == 0 || trailing)
		buf_puts(&b, "/");
	free(segs);
	return buf_steal(&b);
}

/* Decodes s[0..len) (a raw query component) and re-encodes it per RFC 3986;
 * a malformed escape is taken literally. Caller frees. */
static char *
encode_query_component(const char *s, size_t len)
{
	char *raw = xstrndup(s, len);
	char *decoded = xstrdup(raw);
	struct buf b = BUF_INIT;

	if (percent_decode(decoded, false) == -1) {
		free(decoded);
		decoded = raw;
		raw = NULL;
	}
	append_encoded(&b, decoded, strlen(decoded));
	free(decoded);
	free(raw);
	return buf_steal(&b);
}

/* qsort order for query parameters: encoded key, then encoded value. */
static int
param_cmp(const void *a, const void *b)
{
	const struct canon_param *pa = a, *pb = b;
	int c = strcmp(pa->key, pb->key);

	return c != 0 ? c : strcmp(pa->value, pb->value);
}

/* Canonical query string from a raw query (may be NULL); caller frees. */
static char *
canonical_query(const char *query)
{
	struct canon_param *params;
	size_t n = 0, max = 1;
	struct buf b = BUF_INIT;
	const char *p;

	if (query == NULL || *query == '\0')
		return xstrdup("");
	for (p = query; *p != '\0'; p++)
		if (*p == '&')
			max++;
	params = xcalloc(max, sizeof *params);
	p = query;
	for (;;) {
		const char *end = strchr(p, '&');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len > 0) {
			const char *eq = memchr(p, '=', len);
			size_t klen = eq != NULL ? (size_t)(eq - p) : len;

			params[n].key = encode_query_component(p, klen);
			params[n].value = eq != NULL ?
			    encode_query_component(eq + 1, len - klen - 1) : xstrdup("");
			n++;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	qsort(params, n, sizeof *params, param_cmp);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s%s=%s", i > 0 ? "&" : "", params[i].key, params[i].value);
		free(params[i].key);
		free(params[i].value);
	}
	free(params);
	return buf_steal(&b);
}

/* True when name is a non-empty HTTP token. */
static bool
valid_header_name(const char *name)
{
	if (name == NULL || *name == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ':')
			return false;
	return true;
}

/* Header value trimmed, with runs of spaces and tabs collapsed to one space;
 * NULL when it holds CR or LF (header injection). Caller frees. */
static char *
canonical_header_value(const char *value)
{
	struct buf b = BUF_INIT;
	bool pending_space = false;

	for (const char *p = value != NULL ? value : ""; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n') {
			buf_free(&b);
			return NULL;
		}
		if (*p == ' ' || *p == '\t') {
			pending_space = b.len > 0;
			continue;
		}
		if (pending_space)
			buf_puts(&b, " ");
		pending_space = false;
		buf_append(&b, p, 1);
	}
	return buf_steal(&b);
}

/* qsort order for headers: name, then position in the request. */
static int
header_cmp(const void *a, const void *b)
{
	const struct canon_header *ha = a, *hb = b;
	int c = strcmp(ha->name, hb->name);

	if (c != 0)
		return c;
	return ha->order < hb->order ? -1 : ha->order > hb->order;
}

/* Fills *canon (the canonical header block) and *signed_list (names joined
 * by ';'); 0, or -1 on a bad or missing host header. Caller frees both. */
static int
canonical_headers(const struct kv *headers, size_t n, char **canon, char **signed_list)
{
	struct canon_header *hs;
	struct buf cb = BUF_INIT, sb = BUF_INIT;
	bool have_host = false;
	int rc = -1;
	size_t i;

	if (n == 0 || n > SIGV4_MAX_HEADERS)
		return -1;
	hs = xcalloc(n, sizeof *hs);
	for (i = 0; i < n; i++) {
		if (!valid_header_name(headers[i].name))
			goto out;
		hs[i].name = xstrdup(headers[i].name);
		for (char *p = hs[i].name; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		hs[i].value = canonical_header_value(headers[i].value);
		hs[i].order = i;
		if (hs[i].value == NULL)
			goto out;
		if (strcmp(hs[i].name, "host") == 0)
			have_host = true;
	}
	if (!have_host)
		goto out;
	qsort(hs, n, sizeof *hs, header_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(hs[i].name, hs[i - 1].name) == 0) {
			buf_puts(&cb, ",");
			buf_puts(&cb, hs[i].value);
			continue;
		}
		if (i > 0)
			buf_puts(&cb, "\n");
		buf_puts(&cb, hs[i].name);
		buf_puts(&cb, ":");
		buf_puts(&cb, hs[i].value);
		if (sb.len > 0)
			buf_puts(&sb, ";");
		buf_puts(&sb, hs[i].name);
	}
	buf_puts(&cb, "\n");
	*canon = buf_steal(&cb);
	*signed_list = buf_steal(&sb);
	rc = 0;
out:
	for (i = 0; i < n; i++) {
		free(hs[i].name);
		free(hs[i].value);
	}
	free(hs);
	return rc;
}

/* False when an X-Amz-Date header is present and differs from amz_date: the
 * scope would name one day and the header another. */
static bool
date_header_matches(const struct kv *headers, size_t n, const char *amz_date)
{
	for (size_t i = 0; i < n; i++) {
		char *v;
		bool same;

		if (ascii_casecmp(headers[i].name, "x-amz-date") != 0)
			continue;
		v = canonical_header_value(headers[i].value);
		same = v != NULL && strcmp(v, amz_date) == 0;
		free(v);
		if (!same)
			return false;
	}
	return true;
}

/* Derives kSigning = HMAC chain over date, region, service, "aws4_request"; see sigv4.h. */
int
sigv4_derive_signing_key(const char *secret, const char *date8, const char *region,
    const char *service, unsigned char out[SIGV4_HASH_LEN])
{
	char ksecret[sizeof SIGV4_KEY_PREFIX + SIGV4_MAX_SECRET];
	unsigned char k1[SIGV4_HASH_LEN], k2[SIGV4_HASH_LEN], k3[SIGV4_HASH_LEN];
	size_t slen = strlen(secret);

	if (slen == 0 || slen > SIGV4_MAX_SECRET)
		return -1;
	memcpy(ksecret, SIGV4_KEY_PREFIX, strlen(SIGV4_KEY_PREFIX));
	memcpy(ksecret + strlen(SIGV4_KEY_PREFIX), secret, slen);
	hmac_sha256(ksecret, strlen(SIGV4_KEY_PREFIX) + slen, date8, strlen(date8), k1);
	hmac_sha256(k1, sizeof k1, region, strlen(region), k2);
	hmac_sha256(k2, sizeof k2, service, strlen(service), k3);
	hmac_sha256(k3, sizeof k3, SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR), out);
	OPENSSL_cleanse(ksecret, sizeof ksecret);
	OPENSSL_cleanse(k1, sizeof k1);
	OPENSSL_cleanse(k2, sizeof k2);
	OPENSSL_cleanse(k3, sizeof k3);
	return 0;
}

/* The signing key of the last (secret, day, region, service) this thread
 * signed for: four HMACs whose inputs change once a day, derived once. Per
 * thread, so the hot path takes no lock. The cache holds a copy of the
 * secret (the credentials hold it as long); it is wiped when replaced. */
struct key_cache {
	bool		 valid;
	char		 secret[SIGV4_MAX_SECRET + 1];
	char		 date8[9];
	char		 region[SIGV4_MAX_SCOPE_PART + 1];
	char		 service[SIGV4_MAX_SCOPE_PART + 1];
	unsigned char	 key[SIGV4_HASH_LEN];
};
static _Thread_local struct key_cache key_cache;
static _Thread_local unsigned long key_derivations;

/* The cached signing key; see sigv4.h. */
int
sigv4_signing_key(const char *secret, const char *date8, const char *region,
    const char *service, unsigned char out[SIGV4_HASH_LEN])
{
	struct key_cache *c = &key_cache;

	if (strlen(region) > SIGV4_MAX_SCOPE_PART || strlen(service) > SIGV4_MAX_SCOPE_PART ||
	    strlen(date8) != 8)
		return sigv4_derive_signing_key(secret, date8, region, service, out);
	if (c->valid && strcmp(c->date8, date8) == 0 && strcmp(c->region, region) == 0 &&
	    strcmp(c->service, service) == 0 && strcmp(c->secret, secret) == 0) {
		memcpy(out, c->key, SIGV4_HASH_LEN);
		return 0;
	}
	OPENSSL_cleanse(c, sizeof *c);
	if (sigv4_derive_signing_key(secret, date8, region, service, c->key) == -1)
		return -1;
	key_derivations++;
	memcpy(c->secret, secret, strlen(secret) + 1);	/* <= SIGV4_MAX_SECRET: checked above */
	memcpy(c->date8, date8, 9);
	memcpy(c->region, region, strlen(region) + 1);
	memcpy(c->service, service, strlen(service) + 1);
	c->valid = true;
	memcpy(out, c->key, SIGV4_HASH_LEN);
	return 0;
}

/* Keys this thread derived for its cache; see sigv4.h. */
unsigned long
sigv4_key_derivations(void)
{
	return key_derivations;
}

/* Signs req for region/service at time t; see sigv4.h. */
int
sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
    const char *region, const char *service, time_t t, struct sigv4_result *res)
{
	char *uri = NULL, *query = NULL, *headers = NULL, *signed_list = NULL;
	char payload_hash[SIGV4_HEX_LEN], creq_hash[SIGV4_HEX_LEN];
	char date8[9], *scope = NULL;
	unsigned char key[SIGV4_HASH_LEN], sig[SIGV4_HASH_LEN];
	char sig_hex[SIGV4_HEX_LEN];
	int rc = -1;

	memset(res, 0, sizeof *res);
	if (req == NULL || creds == NULL || req->method == NULL || *req->method == '\0' ||
	    creds->access_key_id == NULL || *creds->access_key_id == '\0' ||
	    creds->secret_access_key == NULL || region == NULL || *region == '\0' ||
	    service == NULL || *service == '\0' || (req->body == NULL && req->body_len > 0))
		return -1;
	sigv4_amz_date(t, res->amz_date);
	if (res->amz_date[0] == '\0')
		return -1;
	memcpy(date8, res->amz_date, 8);
	date8[8] = '\0';

	if (canonical_headers(req->headers, req->nheaders, &headers, &signed_list) == -1 ||
	    !date_header_matches(req->headers, req->nheaders, res->amz_date))
		goto out;
	uri = canonical_uri(req->path);
	query = canonical_query(req->query);
	sigv4_sha256_hex(req->body != NULL ? req->body : "", req->body_len, payload_hash);
	res->canonical_request = xconcat(req->method, "\n", uri, "\n", query, "\n", headers, "\n",
	    signed_list, "\n", payload_hash, (char *)NULL);

	scope = xconcat(date8, "/", region, "/", service, "/", SIGV4_TERMINATOR, (char *)NULL);
	sigv4_sha256_hex(res->canonical_request, strlen(res->canonical_request), creq_hash);
	res->string_to_sign = xconcat(SIGV4_ALGORITHM, "\n", res->amz_date, "\n", scope, "\n",
	    creq_hash, (char *)NULL);

	if (sigv4_signing_key(creds->secret_access_key, date8, region, service, key) == -1)
		goto out;
	hmac_sha256(key, sizeof key, res->string_to_sign, strlen(res->string_to_sign), sig);
	OPENSSL_cleanse(key, sizeof key);
	hex_encode(sig, sizeof sig, sig_hex);
	res->signature = xstrdup(sig_hex);
	res->authorization = xconcat(SIGV4_ALGORITHM, " Credential=", creds->access_key_id, "/",
	    scope, ", SignedHeaders=", signed_list, ", Signature=", sig_hex, (char *)NULL);
	rc = 0;
out:
	if (rc == -1)
		sigv4_result_free(res);
	free(scope);
	free(uri);
	free(query);
	free(headers);
	free(signed_list);
	return rc;
}

/* Frees what sigv4_sign allocated in res; NULL-safe. */
void
sigv4_result_free(struct sigv4_result *res)
{
	if (res == NULL)
		return;
	free(res->canonical_request);
	free(res->string_to_sign);
	free(res->signature);
	free(res->authorization);
	res->canonical_request = res->string_to_sign = NULL;
	res->signature = res->authorization = NULL;
}
