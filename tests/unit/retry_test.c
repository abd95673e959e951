/* retry_test.c - the retry decision of the SDKs' standard mode per error
 * code and status, what counts as unavailable or a failed condition, and the
 * bounds of the full-jitter backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ddb.h"
#include "util.h"

/* Samples drawn per attempt number when checking backoff bounds. */
#define BACKOFF_SAMPLES	2000

struct decision {
	int		 status;
	const char	*code;
	bool		 retryable;
	bool		 unavailable;
};

/* The decision table: one row per case the SDKs document. */
static const struct decision decisions[] = {
	/* Throttling: retried, and a 503 when it persists. */
	{ 400, "ProvisionedThroughputExceededException", true, true },
	{ 400, "ThrottlingException", true, true },
	{ 400, "RequestLimitExceeded", true, true },
	{ 400, "TooManyRequestsException", true, true },
	{ 400, "ThrottledException", true, true },
	{ 400, "LimitExceededException", true, true },
	{ 400, "TransactionInProgressException", true, true },
	{ 400, "Throttling", true, true },
	/* Transient. */
	{ 400, "TransactionConflictException", true, false },
	{ 400, "RequestTimeout", true, false },
	{ 0, "NetworkError", true, true },
	{ 0, "TimeoutError", true, true },
	/* 5xx, whatever the code. */
	{ 500, "InternalServerError", true, true },
	{ 502, "UnknownError", true, true },
	{ 503, "ServiceUnavailable", true, true },
	{ 504, "Whatever", true, true },
	/* Never retried. */
	{ 400, "ConditionalCheckFailedException", false, false },
	{ 400, "ValidationException", false, false },
	{ 400, "ResourceNotFoundException", false, false },
	{ 400, "ResourceInUseException", false, false },
	{ 400, "TransactionCanceledException", false, false },
	{ 400, "AccessDeniedException", false, false },
	{ 403, "UnrecognizedClientException", false, false },
	{ 400, "ItemCollectionSizeLimitExceededException", false, false },
	{ 413, "UnknownError", false, false },
	{ 404, "UnknownOperationException", false, false },
};

static void
test_retry_decisions(void **state)
{
	struct ddb_error	 err;
	size_t			 i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(decisions); i++) {
		if (ddb_error_retryable(decisions[i].status, decisions[i].code) != decisions[i].retryable)
			fail_msg("retryable(%d, %s) should be %d", decisions[i].status,
			    decisions[i].code, decisions[i].retryable);
		memset(&err, 0, sizeof err);
		err.http_status = decisions[i].status;
		snprintf(err.code, sizeof err.code, "%s", decisions[i].code);
		if (ddb_error_is_unavailable(&err) != decisions[i].unavailable)
			fail_msg("unavailable(%d, %s) should be %d", decisions[i].status,
			    decisions[i].code, decisions[i].unavailable);
	}
	assert_false(ddb_error_retryable(400, NULL));
	assert_true(ddb_error_retryable(500, NULL));
	assert_false(ddb_error_is_unavailable(NULL));
}

static void
test_condition_failed(void **state)
{
	struct ddb_error	 err;

	(void)state;
	memset(&err, 0, sizeof err);
	snprintf(err.code, sizeof err.code, "ConditionalCheckFailedException");
	err.http_status = 400;
	assert_true(ddb_error_is_condition_failed(&err));
	/* A cancelled transaction counts when a reason was a failed condition. */
	snprintf(err.code, sizeof err.code, "TransactionCanceledException");
	assert_false(ddb_error_is_condition_failed(&err));
	err.condition_failed = true;
	assert_true(ddb_error_is_condition_failed(&err));
	memset(&err, 0, sizeof err);
	snprintf(err.code, sizeof err.code, "ValidationException");
	assert_false(ddb_error_is_condition_failed(&err));
	assert_false(ddb_error_is_condition_failed(NULL));
}

static void
test_backoff_bounds(void **state)
{
	int64_t	 ceiling, max_seen, prev_max = -1, v;
	double	 sum;
	int	 attempt, i;

	(void)state;
	for (attempt = 1; attempt <= 12; attempt++) {
		ceiling = (int64_t)DDB_BACKOFF_BASE_MS << (attempt - 1);
		if (ceiling > DDB_BACKOFF_MAX_MS)
			ceiling = DDB_BACKOFF_MAX_MS;
		max_seen = 0;
		sum = 0;
		for (i = 0; i < BACKOFF_SAMPLES; i++) {
			v = ddb_backoff_ms(attempt);
			if (v < 0 || v > ceiling)
				fail_msg("backoff(%d) = %lld outside [0, %lld]", attempt,
				    (long long)v, (long long)ceiling);
			if (v > max_seen)
				max_seen = v;
			sum += (double)v;
		}
		/* Full jitter: the samples spread over the whole range... */
		assert_true(max_seen >= ceiling * 8 / 10);
		/* ...with a mean near half the ceiling. */
		assert_true(sum / BACKOFF_SAMPLES > ceiling * 0.35);
		assert_true(sum / BACKOFF_SAMPLES < ceiling * 0.65);
		/* The range grows with the attempt until the cap. */
		assert_true(max_seen >= prev_max || ceiling == DDB_BACKOFF_MAX_MS);
		prev_max = max_seen;
	}
	/* Huge attempt numbers stay capped, and nonsense ones stay small. */
	for (i = 0; i < BACKOFF_SAMPLES; i++) {
		v = ddb_backoff_ms(1000);
		assert_true(v >= 0 && v <= DDB_BACKOFF_MAX_MS);
		v = ddb_backoff_ms(0);
		assert_true(v >= 0 && v <= DDB_BACKOFF_BASE_MS);
	}
}

static void
test_total_budget(void **state)
{
	int64_t	 worst = 0, ceiling;
	int	 attempt;

	(void)state;
	/* The worst case of all the sleeps between DDB_MAX_ATTEMPTS attempts stays
	 * far below a request's budget: 25 + 50 + 100 ms. */
	for (attempt = 1; attempt < DDB_MAX_ATTEMPTS; attempt++) {
		ceiling = (int64_t)DDB_BACKOFF_BASE_MS << (attempt - 1);
		worst += ceiling;
	}
	assert_int_equal(DDB_MAX_ATTEMPTS, 4);
	assert_int_equal(worst, 175);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_decisions),
		cmocka_unit_test(test_condition_failed),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_total_budget),
	};

	return cmocka_run_group_tests_name("retry", tests, NULL, NULL);
}
