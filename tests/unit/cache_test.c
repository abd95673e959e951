/* cache_test.c - the read cache: hits are copies, any write (in this or a
 * forked process) drops every entry, reads that raced a write are not
 * stored, entries expire, and off means off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "util.h"

static json_object *
sample(int n)
{
	json_object *a = json_object_new_array();

	json_object_array_add(a, json_object_new_int(n));
	return a;
}

static void
test_off_by_default(void **state)
{
	uint64_t token;
	json_object *v = sample(1);

	(void)state;
	cache_configure(0);
	assert_false(cache_enabled());
	cache_put("k", 0, v);
	assert_null(cache_get("k", &token));
	json_object_put(v);
}

static void
test_hit_is_a_copy(void **state)
{
	uint64_t token;
	json_object *v = sample(7), *got, *again;

	(void)state;
	cache_configure(10000);
	assert_null(cache_get("copy", &token));
	cache_put("copy", token, v);
	got = cache_get("copy", &token);
	assert_non_null(got);
	assert_int_equal(json_object_get_int(json_object_array_get_idx(got, 0)), 7);
	/* Changing what was returned does not change the cache. */
	json_object_array_put_idx(got, 0, json_object_new_int(99));
	again = cache_get("copy", &token);
	assert_int_equal(json_object_get_int(json_object_array_get_idx(again, 0)), 7);
	json_object_put(got);
	json_object_put(again);
	json_object_put(v);
}

static void
test_write_drops_everything(void **state)
{
	uint64_t token;
	json_object *v = sample(1), *got;

	(void)state;
	cache_configure(10000);
	cache_get("a", &token);
	cache_put("a", token, v);
	cache_put("b", token, v);
	got = cache_get("a", &token);
	assert_non_null(got);
	json_object_put(got);
	cache_note_write();
	assert_null(cache_get("a", &token));
	assert_null(cache_get("b", &token));
	json_object_put(v);
}

static void
test_read_racing_a_write_is_not_stored(void **state)
{
	uint64_t token;
	json_object *v = sample(1);

	(void)state;
	cache_configure(10000);
	assert_null(cache_get("race", &token));
	cache_note_write();		/* lands while the caller reads the store */
	cache_put("race", token, v);
	assert_null(cache_get("race", &token));
	json_object_put(v);
}

static void
test_entries_expire(void **state)
{
	uint64_t token;
	json_object *v = sample(1);

	(void)state;
	cache_configure(50);
	cache_get("ttl", &token);
	cache_put("ttl", token, v);
	json_object *got = cache_get("ttl", &token);
	assert_non_null(got);
	json_object_put(got);
	sleep_ms(80);
	assert_null(cache_get("ttl", &token));
	json_object_put(v);
}

static void
test_write_in_another_process(void **state)
{
	uint64_t token;
	json_object *v = sample(1), *got;
	int status;
	pid_t pid;

	(void)state;
	cache_configure(10000);
	assert_int_equal(cache_share_across_processes(), 0);
	cache_get("shared", &token);
	cache_put("shared", token, v);
	got = cache_get("shared", &token);
	assert_non_null(got);
	json_object_put(got);
	pid = fork();
	if (pid == 0) {
		cache_note_write();	/* another worker writes */
		_exit(0);
	}
	assert_true(pid > 0);
	waitpid(pid, &status, 0);
	assert_null(cache_get("shared", &token));
	json_object_put(v);
}

static void
test_many_keys_evict_oldest(void **state)
{
	uint64_t token;
	json_object *v = sample(1), *got;
	char key[16];

	(void)state;
	cache_configure(10000);
	cache_note_write();
	for (int i = 0; i < CACHE_MAX_ENTRIES + 4; i++) {
		snprintf(key, sizeof key, "k%d", i);
		cache_get(key, &token);
		cache_put(key, token, v);
		sleep_ms(1);
	}
	assert_null(cache_get("k0", &token));	/* the oldest went */
	snprintf(key, sizeof key, "k%d", CACHE_MAX_ENTRIES + 3);
	got = cache_get(key, &token);
	assert_non_null(got);
	json_object_put(got);
	json_object_put(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_by_default),
		cmocka_unit_test(test_hit_is_a_copy),
		cmocka_unit_test(test_write_drops_everything),
		cmocka_unit_test(test_read_racing_a_write_is_not_stored),
		cmocka_unit_test(test_entries_expire),
		cmocka_unit_test(test_write_in_another_process),
		cmocka_unit_test(test_many_keys_evict_oldest),
	};

	return cmocka_run_group_tests_name("cache", tests, NULL, NULL);
}
