/* sigv4.h - AWS Signature Version 4 (HMAC-SHA256) with OpenSSL. */
#ifndef PORTAL_SIGV4_H
#define PORTAL_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "util.h"	/* struct kv */

struct sigv4_request {
	const char	*method;
	const char	*path;		/* absolute path, not yet URI-encoded; normalised
					 * ("//", ".", "..") as for non-S3 services */
	const char	*query;		/* raw query string without '?', may be NULL;
					 * components are decoded, then re-encoded */
	const struct kv	*headers;	/* every header to sign; host is required */
	size_t		 nheaders;
	const char	*body;
	size_t		 body_len;
};

struct sigv4_credentials {
	const char	*access_key_id;
	const char	*secret_access_key;
	const char	*session_token;	/* NULL when none */
};

struct sigv4_result {
	char	*canonical_request;	/* all owned; free with sigv4_result_free */
	char	*string_to_sign;
	char	*signature;		/* lower-case hex */
	char	*authorization;		/* full Authorization header value */
	char	 amz_date[17];		/* YYYYMMDDTHHMMSSZ */
};

/* Signs req for region/service at time t. The caller sends X-Amz-Date =
 * res->amz_date (and X-Amz-Security-Token when session_token is set); both
 * must be among req->headers when they are to be signed, as the AWS suite
 * does. Everything is borrowed; res is filled (free with sigv4_result_free).
 * Returns 0, or -1 on bad input (no host header, CR/LF in a header value,
 * an X-Amz-Date header other than sigv4_amz_date(t), empty key, region or
 * service), leaving res empty. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
    const char *region, const char *service, time_t t, struct sigv4_result *res);
void sigv4_result_free(struct sigv4_result *res);	/* NULL-safe */
/* The SigV4 signing key (kSigning, 32 bytes) for secret, date8 (YYYYMMDD),
 * region and service into out. sigv4_derive_signing_key derives it (four
 * HMACs); sigv4_signing_key returns the calling thread's cached key when
 * the four inputs equal the last ones, else derives and caches it (so it
 * rolls over when the date changes). Both return 0, or -1 for an empty or
 * over-long secret. sigv4_key_derivations counts the calling thread's
 * cache misses (for tests). */
int sigv4_derive_signing_key(const char *secret, const char *date8, const char *region,
    const char *service, unsigned char out[32]);
int sigv4_signing_key(const char *secret, const char *date8, const char *region,
    const char *service, unsigned char out[32]);
unsigned long sigv4_key_derivations(void);
/* Lower-case hex SHA-256 of data into out (65 bytes). */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);
/* SHA-256 of data into out (32 bytes), with the algorithm fetched once and a
 * digest context per thread (OpenSSL 3's one-shot SHA256() fetches it on
 * every call). */
void sigv4_sha256(const void *data, size_t len, unsigned char out[32]);
/* Formats t as YYYYMMDDTHHMMSSZ into out (17 bytes). */
void sigv4_amz_date(time_t t, char out[17]);

#endif
