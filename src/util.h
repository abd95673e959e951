/* util.h - allocation that never fails, growable buffers, small helpers. */
#ifndef PORTAL_UTIL_H
#define PORTAL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

/* Out-of-memory is decided here once: these write one line to stderr with
 * write(2) alone (no allocation, no logger) and abort(). */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted allocation; the caller frees the result. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The concatenation of the strings up to a NULL, in one allocation (no
 * format parsing: for hot paths that only join strings). */
char *xconcat(const char *first, ...) __attribute__((sentinel));
char *xvasprintf(const char *fmt, va_list ap);

/* A growable byte buffer, always NUL-terminated after the first append. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};
#define BUF_INIT { NULL, 0, 0 }
/* Makes room for extra more bytes and a terminating NUL (len unchanged). */
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);	/* len = 0, keeps memory */
void buf_free(struct buf *b);	/* releases memory; NULL-safe */
/* Hands the data to the caller (who frees it) and empties the buffer. */
char *buf_steal(struct buf *b);

/* Wall clock in milliseconds since the epoch, and monotonic milliseconds. */
int64_t now_ms(void);
int64_t mono_ms(void);
/* Formats t as RFC 3339 UTC ("2026-11-24T15:04:05Z") into out (at least 21 bytes). */
void time_rfc3339(time_t t, char out[static 21]);
/* Parses RFC 3339 UTC ("...Z" with optional fraction); -1 on bad input. */
int time_parse_rfc3339(const char *s, time_t *out);
/* Sleeps for ms milliseconds. */
void sleep_ms(int64_t ms);

/* Cryptographically random bytes (getrandom(2); OpenSSL RAND_bytes where it
 * is missing); aborts on failure. */
void random_bytes(void *out, size_t len);
/* Fast, non-cryptographic random bytes (for request ids, not for secrets). */
void random_bytes_fast(void *out, size_t len);
/* A random number in [0, n). */
uint64_t random_below(uint64_t n);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const unsigned char *in, size_t len, char *out);
/* base64url without padding; the caller frees the result. */
char *base64url_encode(const unsigned char *in, size_t len);
/* Strict base64url decode (no padding, alphabet only); NULL on bad input. */
unsigned char *base64url_decode(const char *in, size_t inlen, size_t *outlen);
/* Standard base64 (with padding). */
char *base64_encode(const unsigned char *in, size_t len);
unsigned char *base64_decode(const char *in, size_t inlen, size_t *outlen);

/* Percent-decodes in place ('+' stays '+' unless plus_is_space); -1 on a bad escape. */
int percent_decode(char *s, bool plus_is_space);
/* The same, refusing %00 too (-1): for values compared as C strings. */
int percent_decode_text(char *s, bool plus_is_space);
/* Percent-encodes per RFC 3986 unreserved set (SigV4 style); caller frees. */
char *percent_encode(const char *s, bool encode_slash);

/* True when s is valid UTF-8 of length len. */
bool utf8_valid(const char *s, size_t len);
/* Case-insensitive ASCII comparison. */
int ascii_casecmp(const char *a, const char *b);
/* The same over exactly n bytes of each. */
int ascii_ncasecmp(const char *a, const char *b, size_t n);
/* Parses a decimal integer strictly (whole string, range); -1 on failure. */
int parse_long(const char *s, long min, long max, long *out);

/* The largest numeric id and version (twelve digits), everywhere. */
#define ID_MAX		999999999999L

/* Pure parsers: 0 with *out, or -1 with *why (static, for a message such as
 * "id: must be a positive integer"). The _or_reply wrappers of the handlers,
 * the Lambda event decoder and portalctl share them. */
/* A canonical positive decimal id from 1 to ID_MAX: no sign, no leading zero,
 * no exponent, no space. */
int parse_id(const char *s, long *out, const char **why);
/* s is one of allowed (NULL-terminated); *why "must be one of the listed values". */
int parse_one_of(const char *s, const char *const *allowed, const char **why);
/* Appends allowed (NULL-terminated) to b as "A, B, C". */
void buf_join(struct buf *b, const char *const *allowed);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* A numeric constant as a string literal (one limit, two spellings). */
#define STRINGIFY(x)	STRINGIFY_(x)
#define STRINGIFY_(x)	#x

/* The error convention: a char **cause is a heap string the caller frees; a
 * static reason travels as const char **why. cause_set sets *cause (when
 * cause is not NULL) to a new formatted string, freeing the one it held
 * (so *cause starts NULL), and returns -1 for `return cause_set(...)`. */
int cause_set(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A name/value pair (headers, query parameters); strings owned by whoever
 * owns the array. */
struct kv {
	char	*name;
	char	*value;
};

/* Rounds to one decimal, halves away from zero. */
double round1(double v);
/* A JSON number with one decimal at most ("42.1", "100"); caller owns it. */
json_object *json_round1(double v);

#endif
