/* httpc_test.c - the one outbound HTTP client: the size cap (fail or keep a
 * prefix), the deadline that cuts the time-out, the error text. Transfers
 * read file:// URLs, so no server is needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpc.h"
#include "util.h"

static char path[] = "/tmp/httpc_test_XXXXXX";
static char *url;

static int
setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	if (fd == -1 || write(fd, "0123456789abcdef", 16) != 16)
		return -1;
	close(fd);
	url = xasprintf("file://%s", path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	free(url);
	return 0;
}

/* Fetches url with a cap of max bytes; returns the CURLcode. */
static CURLcode
fetch(struct httpc_response *res, size_t max, bool keep_prefix)
{
	const struct httpc_options opt = { .protocols = "file", .total_timeout_ms = 5000 };
	CURL *easy = httpc_easy_new();
	CURLcode cc;

	assert_non_null(easy);
	httpc_response_init(res, max);
	res->keep_prefix = keep_prefix;
	curl_easy_setopt(easy, CURLOPT_URL, url);
	assert_int_equal(httpc_setup(easy, &opt), 0);
	httpc_attach(easy, res);
	cc = httpc_perform(easy, res);
	curl_easy_cleanup(easy);
	return cc;
}

/* Under the cap: the whole body. */
static void
test_body_under_cap(void **state)
{
	struct httpc_response res;

	(void)state;
	assert_int_equal(fetch(&res, 16, false), CURLE_OK);
	assert_int_equal(res.body.len, 16);
	assert_memory_equal(res.body.data, "0123456789abcdef", 16);
	assert_false(res.too_large);
	httpc_response_reset(&res);
}

/* Over the cap: the transfer fails, too_large says why. */
static void
test_body_over_cap_fails(void **state)
{
	struct httpc_response res;
	CURLcode cc;

	(void)state;
	cc = fetch(&res, 15, false);
	assert_int_equal(cc, CURLE_WRITE_ERROR);
	assert_true(res.too_large);
	assert_true(res.body.len <= 15);
	assert_non_null(strstr(httpc_error(&res, cc), "larger than"));
	httpc_response_reset(&res);
}

/* keep_prefix: the first max bytes, and the transfer succeeds. */
static void
test_body_keep_prefix(void **state)
{
	struct httpc_response res;

	(void)state;
	assert_int_equal(fetch(&res, 4, true), CURLE_OK);
	assert_int_equal(res.body.len, 4);
	assert_memory_equal(res.body.data, "0123", 4);
	assert_true(res.too_large);
	httpc_response_reset(&res);
}

/* A passed deadline: nothing is set up to be sent. */
static void
test_deadline_passed(void **state)
{
	const struct httpc_options opt = { .total_timeout_ms = 5000, .deadline_ms = now_ms() - 1 };
	CURL *easy = httpc_easy_new();

	(void)state;
	assert_int_equal(httpc_setup(easy, &opt), -1);
	assert_int_equal(httpc_set_timeout(easy, 5000, now_ms() - 1), -1);
	assert_int_equal(httpc_set_timeout(easy, 5000, now_ms() + 60000), 0);
	assert_int_equal(httpc_set_timeout(easy, 0, 0), 0);
	curl_easy_cleanup(easy);
}

/* A transfer that cannot start: curl's text, not an empty string. */
static void
test_error_text(void **state)
{
	const struct httpc_options opt = { .protocols = "file" };
	struct httpc_response res;
	CURL *easy = httpc_easy_new();
	CURLcode cc;

	(void)state;
	httpc_response_init(&res, 16);
	curl_easy_setopt(easy, CURLOPT_URL, "file:///nonexistent/httpc_test");
	assert_int_equal(httpc_setup(easy, &opt), 0);
	httpc_attach(easy, &res);
	cc = httpc_perform(easy, &res);
	assert_int_not_equal(cc, CURLE_OK);
	assert_true(strlen(httpc_error(&res, cc)) > 0);
	httpc_response_reset(&res);
	curl_easy_cleanup(easy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_under_cap),
		cmocka_unit_test(test_body_over_cap_fails),
		cmocka_unit_test(test_body_keep_prefix),
		cmocka_unit_test(test_deadline_passed),
		cmocka_unit_test(test_error_text),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
