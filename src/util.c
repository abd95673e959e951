/* util.c - allocation that never fails, buffers, time, encodings. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util.h"

/* Appends the decimal digits of v at *p (which must have room for 20). */
static char *
fatal_put_u64(char *p, uint64_t v)
{
	char digits[20];
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = digits[--n];
	return p;
}

/* Appends v as two digits. */
static char *
fatal_put_2(char *p, int v)
{
	*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/* Appends a string. */
static char *
fatal_put_s(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* Writes one fatal log line ({"time","level":"fatal","msg"[,"bytes"]}) to
 * stderr with write(2) alone and aborts: no allocation, no stdio, no logger,
 * so that the out-of-memory path cannot re-enter the allocator. msg is a
 * static string that needs no JSON escaping. */
static void __attribute__((noreturn))
fatal_abort(const char *msg, bool with_bytes, uint64_t bytes)
{
	char line[256], *p = line;
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	p = fatal_put_s(p, "{\"time\":\"");
	p = fatal_put_u64(p, (uint64_t)tm.tm_year + 1900);
	*p++ = '-';
	p = fatal_put_2(p, tm.tm_mon + 1);
	*p++ = '-';
	p = fatal_put_2(p, tm.tm_mday);
	*p++ = 'T';
	p = fatal_put_2(p, tm.tm_hour);
	*p++ = ':';
	p = fatal_put_2(p, tm.tm_min);
	*p++ = ':';
	p = fatal_put_2(p, tm.tm_sec);
	p = fatal_put_s(p, "Z\",\"level\":\"fatal\",\"msg\":\"");
	p = fatal_put_s(p, msg);
	*p++ = '"';
	if (with_bytes) {
		p = fatal_put_s(p, ",\"bytes\":");
		p = fatal_put_u64(p, bytes);
	}
	p = fatal_put_s(p, "}\n");
	for (const char *w = line; w < p; ) {
		ssize_t n = write(STDERR_FILENO, w, (size_t)(p - w));

		if (n <= 0 && errno != EINTR)
			break;
		if (n > 0)
			w += n;
	}
	abort();
}

/* Out-of-memory is decided here: one line on stderr, then abort(); the
 * supervisor restarts the worker. */
static void __attribute__((noreturn))
out_of_memory(size_t size)
{
	fatal_abort("out of memory", true, size);
}

/* malloc that aborts on failure. */
void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		out_of_memory(size);
	return p;
}

/* calloc that aborts on failure (and on overflow). */
void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		out_of_memory(nmemb * size);
	return p;
}

/* realloc that aborts on failure. */
void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		out_of_memory(size);
	return p;
}

/* strdup that aborts on failure; NULL stays NULL. */
char *
xstrdup(const char *s)
{
	return s == NULL ? NULL : xstrndup(s, strlen(s));
}

/* strndup that aborts on failure. */
char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* vasprintf that aborts on failure. */
char *
xvasprintf(const char *fmt, va_list ap)
{
	char *p;

	if (vasprintf(&p, fmt, ap) == -1)
		out_of_memory(strlen(fmt));
	return p;
}

/* Replaces *cause with a formatted message; -1. */
int
cause_set(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause == NULL)
		return -1;
	free(*cause);
	va_start(ap, fmt);
	*cause = xvasprintf(fmt, ap);
	va_end(ap);
	return -1;
}

/* Joins the strings up to a NULL into one new string. */
char *
xconcat(const char *first, ...)
{
	va_list ap;
	size_t len = 0, n;
	char *out, *p;

	va_start(ap, first);
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
		len += strlen(s);
	va_end(ap);
	p = out = xmalloc(len + 1);
	va_start(ap, first);
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *)) {
		n = strlen(s);
		memcpy(p, s, n);
		p += n;
	}
	va_end(ap);
	*p = '\0';
	return out;
}

/* asprintf that aborts on failure. */
char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

/* Makes room for extra more bytes plus a NUL. */
void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

/* Appends len bytes. */
void
buf_append(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* Appends a C string. */
void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* Appends formatted text: one vsnprintf when the buffer has room, two otherwise. */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	buf_reserve(b, 64);
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* Empties the buffer, keeping its memory. */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Releases the buffer's memory. */
void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Hands the contents to the caller. */
char *
buf_steal(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

/* Wall clock, ms since the epoch. */
int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic clock in ms. */
int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 3339 UTC with seconds. */
void
time_rfc3339(time_t t, char out[static 21])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00)". */
int
time_parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm;
	const char *p;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof tm);
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "z") != 0 && strcmp(p, "+00:00") != 0)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* Sleeps, restarting after signals. */
void
sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Random bytes from the kernel's CSPRNG (getrandom(2): no OpenSSL DRBG to
 * set up on a process's first request), OpenSSL's where it is missing. */
void
random_bytes(void *out, size_t len)
{
	unsigned char *p = out;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == -1 && errno == EINTR)
			continue;
		else if (RAND_bytes(p, (int)len) != 1)
			fatal_abort("RAND_bytes failed", false, 0);
		else
			return;
	}
}

/* Fast non-cryptographic random bytes (request ids): a per-thread
 * splitmix64 stream seeded once from random_bytes. */
void
random_bytes_fast(void *out, size_t len)
{
	static _Thread_local uint64_t state;
	static _Thread_local bool seeded;
	unsigned char *p = out;

	if (!seeded) {
		random_bytes(&state, sizeof state);
		seeded = true;
	}
	while (len > 0) {
		uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
		size_t n = len < sizeof z ? len : sizeof z;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(p, &z, n);
		p += n;
		len -= n;
	}
}

/* Uniform random number below n (n > 0). */
uint64_t
random_below(uint64_t n)
{
	uint64_t r, limit;

	if (n <= 1)
		return 0;
	limit = UINT64_MAX - UINT64_MAX % n;
	do
		random_bytes(&r, sizeof r);
	while (r >= limit);
	return r % n;
}

/* Lower-case hex. */
void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Encodes with the given alphabet, padding or not. */
static char *
b64_encode(const unsigned char *in, size_t len, const char *alphabet, bool pad)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	size_t o = 0, i = 0;

	while (i + 2 < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
		i += 3;
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		if (i + 1 < len)
			out[o++] = alphabet[v >> 6 & 63];
		else if (pad)
			out[o++] = '=';
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

/* Value of one character in the alphabet, or -1. */
static int
b64_value(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (url ? c == '-' : c == '+')
		return 62;
	if (url ? c == '_' : c == '/')
		return 63;
	return -1;
}

/* Strict decoder: no whitespace; padding only when !url. */
static unsigned char *
b64_decode(const char *in, size_t inlen, size_t *outlen, bool url)
{
	unsigned char *out;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (!url) {
		if (inlen % 4 != 0)
			return NULL;
		while (inlen > 0 && in[inlen - 1] == '=')
			inlen--;
	}
	if (inlen % 4 == 1)
		return NULL;
	out = xmalloc(inlen * 3 / 4 + 1);
	for (size_t i = 0; i < inlen; i++) {
		int v = b64_value(in[i], url);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* Leftover bits must be zero (canonical encoding). */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
		free(out);
		return NULL;
	}
	*outlen = o;
	out[o] = '\0';
	return out;
}

char *
base64url_encode(const unsigned char *in, size_t len)
{
	return b64_encode(in, len, b64url, false);
}

unsigned char *
base64url_decode(const char *in, size_t inlen, size_t *outlen)
{
	return b64_decode(in, inlen, outlen, true);
}

char *
base64_encode(const unsigned char *in, size_t len)
{
	return b64_encode(in, len, b64std, true);
}

/* Standard base64; tolerates a missing final padding. */
unsigned char *
base64_decode(const char *in, size_t inlen, size_t *outlen)
{
	if (inlen % 4 != 0) {
		char *padded = xmalloc(inlen + 4);
		size_t n = inlen;
		unsigned char *r;

		memcpy(padded, in, inlen);
		while (n % 4 != 0)
			padded[n++] = '=';
		r = b64_decode(padded, n, outlen, false);
		free(padded);
		return r;
	}
	return b64_decode(in, inlen, outlen, false);
}

/* Hex digit value or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes %XX in place. */
int
percent_decode(char *s, bool plus_is_space)
{
	char *w = s;

	for (char *r = s; *r != '\0'; r++) {
		if (*r == '%') {
			int hi = hexval(r[1]), lo = hi < 0 ? -1 : hexval(r[2]);
			if (hi < 0 || lo < 0)
				return -1;
			*w++ = (char)(hi << 4 | lo);
			r += 2;
		} else if (*r == '+' && plus_is_space)
			*w++ = ' ';
		else
			*w++ = *r;
	}
	*w = '\0';
	return 0;
}

/* Decodes %XX in place like percent_decode, but -1 also when the text holds
 * %00 (a NUL would cut the decoded value short). */
int
percent_decode_text(char *s, bool plus_is_space)
{
	for (const char *p = strchr(s, '%'); p != NULL; p = strchr(p + 1, '%'))
		if (p[1] == '0' && p[2] == '0')
			return -1;
	return percent_decode(s, plus_is_space);
}

/* RFC 3986 encoding of everything but unreserved characters. */
char *
percent_encode(const char *s, bool encode_slash)
{
	struct buf b = BUF_INIT;

	buf_reserve(&b, strlen(s));
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
		    (*p == '/' && !encode_slash))
			buf_append(&b, p, 1);
		else
			buf_printf(&b, "%%%02X", *p);
	}
	return buf_steal(&b);
}

/* Strict UTF-8 validation (no overlongs, no surrogates, <= U+10FFFF). */
bool
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else
			return false;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* ASCII case-insensitive strcmp. */
int
ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
		if (ca != cb || ca == '\0')
			return ca - cb;
	}
}

/* ASCII case-insensitive strncmp over exactly n bytes (no NUL stops it). */
int
ascii_ncasecmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ca = tolower((unsigned char)a[i]), cb = tolower((unsigned char)b[i]);

		if (ca != cb)
			return ca - cb;
	}
	return 0;
}

/* Strict decimal integer in [min, max]. */
int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* One decimal, halves away from zero (with a guard against binary noise). */
double
round1(double v)
{
	double scaled = v * 10.0;
	double r = round(scaled);

	/* 42.05 may be 420.49999...: nudge values within 1e-9 of a half. */
	if (fabs(scaled - trunc(scaled)) > 0.5 - 1e-9 && fabs(scaled - trunc(scaled)) < 0.5)
		r = trunc(scaled) + (scaled > 0 ? 1 : -1);
	return r / 10.0;
}

/* A number that prints with at most one decimal. */
json_object *
json_round1(double v)
{
	char text[64];
	double r = round1(v);

	if (r == trunc(r))
		return json_object_new_int64((int64_t)r);
	snprintf(text, sizeof text, "%.1f", r);
	return json_object_new_double_s(r, text);
}

/* A canonical positive decimal id. */
int
parse_id(const char *s, long *out, const char **why)
{
	if (s == NULL || s[0] < '1' || s[0] > '9' || s[strspn(s, "0123456789")] != '\0' ||
	    parse_long(s, 1, ID_MAX, out) == -1) {
		*why = "must be a positive integer";
		return -1;
	}
	return 0;
}

/* Membership in a NULL-terminated list. */
int
parse_one_of(const char *s, const char *const *allowed, const char **why)
{
	for (const char *const *a = allowed; s != NULL && *a != NULL; a++)
		if (strcmp(*a, s) == 0)
			return 0;
	*why = "must be one of the listed values";
	return -1;
}

/* "A, B, C". */
void
buf_join(struct buf *b, const char *const *allowed)
{
	for (const char *const *a = allowed; *a != NULL; a++)
		buf_printf(b, "%s%s", a != allowed ? ", " : "", *a);
}
