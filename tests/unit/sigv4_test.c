/* sigv4_test.c - SigV4 against the AWS test-suite vectors in tests/data/sigv4,
 * plus the DynamoDB request shape and bad input. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "http.h"
#include "sigv4.h"
#include "util.h"

#define SUITE_TIME		((time_t)1440938160)	/* 2015-08-30T12:36:00Z */
#define SUITE_REGION		"us-east-1"
#define SUITE_SERVICE		"service"
#define SUITE_AKID		"AKIDEXAMPLE"
#define SUITE_SECRET		"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define MIN_VECTORS		12
#define MAX_VECTORS		128
#define MAX_REQ_HEADERS		32
#define MAX_VECTOR_BYTES	(64 * 1024)

/* One vector directory: tests/data/sigv4/<name>/<name>.{req,creq,sts,authz}. */
struct vector {
	char	*name;
	char	*dir;
};

/* A parsed .req file. */
struct parsed_req {
	char		*method;
	char		*path;
	char		*query;
	struct kv	 headers[MAX_REQ_HEADERS];
	size_t		 nheaders;
	char		*body;
	size_t		 body_len;
};

/* The data directory, from $top_srcdir (the harness exports it) or ".". */
static char *
data_dir(void)
{
	const char *top = getenv("top_srcdir");

	return xasprintf("%s/tests/data/sigv4", top != NULL && *top != '\0' ? top : ".");
}

/* Reads a whole file; trailing newlines dropped when strip is set. */
static char *
slurp(const char *dir, const char *name, const char *ext, bool strip, size_t *lenp)
{
	char *path = xasprintf("%s/%s.%s", dir, name, ext);
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < MAX_VECTOR_BYTES)
		buf_append(&b, chunk, n);
	fclose(f);
	free(path);
	while (strip && b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (lenp != NULL)
		*lenp = b.len;
	return buf_steal(&b);
}

/* Parses the suite's .req format: request line, "Name:value" headers (a line
 * starting with whitespace continues the previous header as another value),
 * a blank line, then the body. */
static void
parse_req(char *text, size_t len, struct parsed_req *r)
{
	char *line = text, *nl, *sp, *last, *target, *q;
	const char *prev_name = NULL;

	memset(r, 0, sizeof *r);
	nl = strchr(line, '\n');
	if (nl != NULL)
		*nl = '\0';
	sp = strchr(line, ' ');
	last = strrchr(line, ' ');
	assert_non_null(sp);
	assert_true(last > sp);
	*sp = '\0';
	*last = '\0';
	r->method = line;
	target = sp + 1;
	q = strchr(target, '?');
	if (q != NULL) {
		*q = '\0';
		r->query = q + 1;
	}
	r->path = target;
	line = nl != NULL ? nl + 1 : text + len;
	while (line < text + len) {
		char *colon;

		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (*line == '\0') {	/* blank line: the body follows */
			r->body = nl != NULL ? nl + 1 : line;
			r->body_len = (size_t)(text + len - r->body);
			break;
		}
		assert_true(r->nheaders < MAX_REQ_HEADERS);
		if (*line == ' ' || *line == '\t') {
			assert_non_null(prev_name);
			r->headers[r->nheaders].name = (char *)prev_name;
			r->headers[r->nheaders].value = line;
		} else {
			colon = strchr(line, ':');
			assert_non_null(colon);
			*colon = '\0';
			r->headers[r->nheaders].name = line;
			r->headers[r->nheaders].value = colon + 1;
			prev_name = line;
		}
		r->nheaders++;
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

/* Signs one suite vector and compares canonical request, string to sign and
 * Authorization header with the published files. */
static void
test_vector(void **state)
{
	const struct vector *v = *state;
	struct sigv4_credentials creds = { SUITE_AKID, SUITE_SECRET, NULL };
	struct sigv4_request req;
	struct sigv4_result res;
	struct parsed_req pr;
	size_t reqlen;
	char *reqtext = slurp(v->dir, v->name, "req", false, &reqlen);
	char *creq = slurp(v->dir, v->name, "creq", true, NULL);
	char *sts = slurp(v->dir, v->name, "sts", true, NULL);
	char *authz = slurp(v->dir, v->name, "authz", true, NULL);

	parse_req(reqtext, reqlen, &pr);
	req = (struct sigv4_request){
		.method = pr.method, .path = pr.path, .query = pr.query,
		.headers = pr.headers, .nheaders = pr.nheaders,
		.body = pr.body, .body_len = pr.body != NULL ? pr.body_len : 0,
	};
	assert_int_equal(sigv4_sign(&req, &creds, SUITE_REGION, SUITE_SERVICE, SUITE_TIME, &res), 0);
	assert_string_equal(res.amz_date, "20150830T123600Z");
	assert_string_equal(res.canonical_request, creq);
	assert_string_equal(res.string_to_sign, sts);
	assert_string_equal(res.authorization, authz);
	assert_non_null(strstr(authz, res.signature));
	sigv4_result_free(&res);
	free(reqtext);
	free(creq);
	free(sts);
	free(authz);
}

/* qsort order for vectors by name. */
static int
vector_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vector *)a)->name, ((const struct vector *)b)->name);
}

/* Lists the vector directories under tests/data/sigv4. */
static size_t
load_vectors(struct vector *out, size_t max)
{
	char *dir = data_dir();
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL) {
		fprintf(stderr, "# cannot open %s\n", dir);
		free(dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL && n < max) {
		char *sub;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		if (stat(sub, &st) == -1 || !S_ISDIR(st.st_mode)) {
			free(sub);
			continue;
		}
		out[n].name = xstrdup(de->d_name);
		out[n].dir = sub;
		n++;
	}
	closedir(d);
	free(dir);
	qsort(out, n, sizeof *out, vector_cmp);
	return n;
}

/* The helpers: date format and SHA-256 hex. */
static void
test_helpers(void **state)
{
	char date[17], hex[65];

	(void)state;
	sigv4_amz_date(SUITE_TIME, date);
	assert_string_equal(date, "20150830T123600Z");
	sigv4_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sigv4_sha256_hex("Param1=value1", 13, hex);
	assert_string_equal(hex, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

/* The request ddb.c sends: POST / with the JSON 1.0 headers and a session
 * token. The expected signature was computed independently (Python hmac). */
static void
test_dynamodb_shape(void **state)
{
	static const char body[] =
	    "{\"TableName\":\"turbotech-dev-deliverables\",\"Key\":{\"id\":{\"N\":\"42\"}}}";
	static const char token[] = "FQoGZXIvYXdzEXAMPLETOKEN/abc+def==";
	struct kv headers[] = {
		{ "Host", "dynamodb.eu-west-1.amazonaws.com" },
		{ "X-Amz-Target", "DynamoDB_20120810.GetItem" },
		{ "Content-Type", "application/x-amz-json-1.0" },
		{ "X-Amz-Date", "20260301T090000Z" },
		{ "X-Amz-Security-Token", (char *)token },
	};
	struct sigv4_request req = {
		.method = "POST", .path = "/", .query = NULL,
		.headers = headers, .nheaders = ARRAY_LEN(headers),
		.body = body, .body_len = strlen(body),
	};
	struct sigv4_credentials creds = { SUITE_AKID, SUITE_SECRET, token };
	struct sigv4_result res;
	char hash[65];

	(void)state;
	assert_int_equal(sigv4_sign(&req, &creds, "eu-west-1", "dynamodb",
	    (time_t)1772355600, &res), 0);
	assert_string_equal(res.amz_date, "20260301T090000Z");
	sigv4_sha256_hex(body, strlen(body), hash);
	assert_non_null(strstr(res.canonical_request, hash));
	assert_non_null(strstr(res.canonical_request,
	    "\nx-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN/abc+def==\n"));
	assert_non_null(strstr(res.string_to_sign, "\n20260301/eu-west-1/dynamodb/aws4_request\n"));
	assert_string_equal(res.authorization,
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260301/eu-west-1/dynamodb/aws4_request, "
	    "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
	    "Signature=85ba2c0de9a2df301e1f8d303cea4b18dddfe457f302064513373a82c14b27ea");
	assert_string_equal(res.signature,
	    "85ba2c0de9a2df301e1f8d303cea4b18dddfe457f302064513373a82c14b27ea");
	sigv4_result_free(&res);
}

/* Query strings: spaces, '+', pre-encoded input and keys without '='. */
static void
test_query_encoding(void **state)
{
	struct kv headers[] = { { "host", "h" } };
	struct sigv4_request req = {
		.method = "GET", .path = "/a b/c%2Fd",
		.query = "z=1&b=x y&a+b=%41%2f&flag&&c=%zz",
		.headers = headers, .nheaders = 1,
	};
	struct sigv4_credentials creds = { SUITE_AKID, SUITE_SECRET, NULL };
	struct sigv4_result res;

	(void)state;
	assert_int_equal(sigv4_sign(&req, &creds, SUITE_REGION, SUITE_SERVICE, SUITE_TIME, &res), 0);
	assert_non_null(strstr(res.canonical_request,
	    "GET\n/a%20b/c%252Fd\na%2Bb=A%2F&b=x%20y&c=%25zz&flag=&z=1\nhost:h\n\nhost\n"));
	sigv4_result_free(&res);
}

/* Bad input fails cleanly and leaves nothing to free. */
static void
test_bad_input(void **state)
{
	struct kv no_host[] = { { "x-amz-date", "20150830T123600Z" } };
	struct kv crlf[] = { { "host", "h" }, { "x-evil", "a\r\nInjected: 1" } };
	struct kv bad_name[] = { { "host", "h" }, { "bad name", "v" } };
	struct kv stale_date[] = { { "host", "h" }, { "X-Amz-Date", "20150829T123600Z" } };
	struct sigv4_credentials creds = { SUITE_AKID, SUITE_SECRET, NULL };
	struct sigv4_credentials no_secret = { SUITE_AKID, "", NULL };
	struct sigv4_request req = { .method = "GET", .path = "/", .headers = no_host, .nheaders = 1 };
	struct sigv4_result res;

	(void)state;
	assert_int_equal(sigv4_sign(&req, &creds, SUITE_REGION, SUITE_SERVICE, SUITE_TIME, &res), -1);
	assert_null(res.authorization);
	req.headers = crlf;
	req.nheaders = ARRAY_LEN(crlf);
	assert_int_equal(sigv4_sign(&req, &creds, SUITE_REGION, SUITE_SERVICE, SUITE_TIME, &res), -1);
	req.headers = bad_name;
	req.nheaders = ARRAY_LEN(bad_name);
	assert_int_equal(sigv4_sign(&req, &creds, SUITE_REGION, SUITE_SERVICE, SUITE_TIME, &res), -1);
	req.headers = stale_date;
	req.nheaders = ARRAY_LEN(stale_date);
	assert_int_equal(sigv4_sign(&req, &creds, SUITE_REGION, SUITE_SERVICE, SUITE_TIME, &res), -1);
	req.headers = crlf;
	req.nheaders = 1;
	assert_int_equal(sigv4_sign(&req, &no_secret, SUITE_REGION, SUITE_SERVICE, SUITE_TIME, &res), -1);
	assert_int_equal(sigv4_sign(&req, &creds, "", SUITE_SERVICE, SUITE_TIME, &res), -1);
	req.method = "";
	assert_int_equal(sigv4_sign(&req, &creds, SUITE_REGION, SUITE_SERVICE, SUITE_TIME, &res), -1);
	sigv4_result_free(&res);
	sigv4_result_free(NULL);
}

/* The signing key of AWS's documented example (IAM, 2012-02-15). */
#define DOC_KEY_HEX "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"

/* The per-thread signing-key cache: a cached key equals a freshly derived
 * one, is derived once per (secret, day, region, service), and rolls over
 * when the date (or any other input) changes. */
static void
test_signing_key_cache(void **state)
{
	unsigned char fresh[32], cached[32], day1[32];
	char hex[65];
	unsigned long n0 = sigv4_key_derivations();

	(void)state;
	assert_int_equal(sigv4_derive_signing_key(SUITE_SECRET, "20120215", "us-east-1", "iam", fresh), 0);
	hex_encode(fresh, sizeof fresh, hex);
	assert_string_equal(hex, DOC_KEY_HEX);

	assert_int_equal(sigv4_signing_key(SUITE_SECRET, "20120215", "us-east-1", "iam", cached), 0);
	assert_memory_equal(cached, fresh, sizeof fresh);
	assert_int_equal(sigv4_key_derivations(), n0 + 1);
	memset(cached, 0, sizeof cached);
	assert_int_equal(sigv4_signing_key(SUITE_SECRET, "20120215", "us-east-1", "iam", cached), 0);
	assert_memory_equal(cached, fresh, sizeof fresh);
	assert_int_equal(sigv4_key_derivations(), n0 + 1);	/* a hit */
	memcpy(day1, cached, sizeof day1);

	/* The next day: a new key, equal to the freshly derived one. */
	assert_int_equal(sigv4_signing_key(SUITE_SECRET, "20120216", "us-east-1", "iam", cached), 0);
	assert_int_equal(sigv4_key_derivations(), n0 + 2);
	assert_int_equal(sigv4_derive_signing_key(SUITE_SECRET, "20120216", "us-east-1", "iam", fresh), 0);
	assert_memory_equal(cached, fresh, sizeof fresh);
	assert_memory_not_equal(cached, day1, sizeof day1);

	/* Another region, service or secret is another key. */
	assert_int_equal(sigv4_signing_key(SUITE_SECRET, "20120216", "eu-west-1", "iam", cached), 0);
	assert_int_equal(sigv4_derive_signing_key(SUITE_SECRET, "20120216", "eu-west-1", "iam", fresh), 0);
	assert_memory_equal(cached, fresh, sizeof fresh);
	assert_int_equal(sigv4_signing_key(SUITE_SECRET, "20120216", "eu-west-1", "dynamodb", cached), 0);
	assert_int_equal(sigv4_derive_signing_key(SUITE_SECRET, "20120216", "eu-west-1", "dynamodb", fresh), 0);
	assert_memory_equal(cached, fresh, sizeof fresh);
	assert_int_equal(sigv4_signing_key("other-secret", "20120216", "eu-west-1", "dynamodb", cached), 0);
	assert_int_equal(sigv4_derive_signing_key("other-secret", "20120216", "eu-west-1", "dynamodb", fresh), 0);
	assert_memory_equal(cached, fresh, sizeof fresh);
	assert_int_equal(sigv4_key_derivations(), n0 + 5);
	assert_int_equal(sigv4_signing_key("", "20120216", "eu-west-1", "dynamodb", cached), -1);
}

/* sigv4_sign across midnight: the same signatures as a fresh derivation
 * gives, one derivation per day. */
static void
test_sign_across_days(void **state)
{
	struct kv headers[2] = { { "host", "dynamodb.us-east-1.amazonaws.com" }, { "x-amz-date", NULL } };
	struct sigv4_request req = { .method = "POST", .path = "/", .headers = headers,
	    .nheaders = 2, .body = "{}", .body_len = 2 };
	struct sigv4_credentials creds = { .access_key_id = SUITE_AKID,
	    .secret_access_key = SUITE_SECRET };
	time_t day_end = (time_t)1440979199;	/* 2015-08-30T23:59:59Z */
	struct sigv4_result a, b;
	unsigned char key[32], sig[32];
	char hex[65];
	unsigned int len = 0;

	(void)state;
	for (int i = 0; i < 2; i++) {
		time_t t = day_end + i;
		char amz[17];

		sigv4_amz_date(t, amz);
		headers[1].value = amz;
		assert_int_equal(sigv4_sign(&req, &creds, SUITE_REGION, "dynamodb", t, &a), 0);
		unsigned long n = sigv4_key_derivations();
		assert_int_equal(sigv4_sign(&req, &creds, SUITE_REGION, "dynamodb", t, &b), 0);
		assert_int_equal(sigv4_key_derivations(), n);	/* the second one hits */
		assert_string_equal(a.authorization, b.authorization);
		/* The signature equals HMAC(freshly derived key, string to sign). */
		char date8[9];
		memcpy(date8, amz, 8);
		date8[8] = '\0';
		assert_int_equal(sigv4_derive_signing_key(SUITE_SECRET, date8, SUITE_REGION, "dynamodb", key), 0);
		assert_non_null(HMAC(EVP_sha256(), key, sizeof key, (const unsigned char *)a.string_to_sign,
		    strlen(a.string_to_sign), sig, &len));
		hex_encode(sig, sizeof sig, hex);
		assert_string_equal(a.signature, hex);
		sigv4_result_free(&a);
		sigv4_result_free(&b);
	}
}

/* At least MIN_VECTORS suite vectors are shipped. */
static void
test_vector_count(void **state)
{
	assert_true((size_t)(uintptr_t)*state >= MIN_VECTORS);
}

int
main(void)
{
	struct vector vectors[MAX_VECTORS];
	size_t n = load_vectors(vectors, MAX_VECTORS);
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test_prestate(test_vector_count, (void *)(uintptr_t)n),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_dynamodb_shape),
		cmocka_unit_test(test_query_encoding),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_signing_key_cache),
		cmocka_unit_test(test_sign_across_days),
	};
	size_t ntests = ARRAY_LEN(fixed) + n;
	struct CMUnitTest *tests = xcalloc(ntests, sizeof *tests);
	int rc;

	memcpy(tests, fixed, sizeof fixed);
	for (size_t i = 0; i < n; i++) {
		tests[ARRAY_LEN(fixed) + i] = (struct CMUnitTest){
			.name = vectors[i].name, .test_func = test_vector,
			.initial_state = &vectors[i],
		};
	}
	rc = _cmocka_run_group_tests("sigv4", tests, ntests, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		free(vectors[i].name);
		free(vectors[i].dir);
	}
	free(tests);
	return rc;
}
