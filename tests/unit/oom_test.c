/* oom_test.c - out of memory is decided once: xmalloc & co. write one line
 * to stderr and abort, without entering the allocator again. The test binary
 * is linked with --wrap for malloc, calloc and realloc, so that a child can
 * make every allocation of the library fail, as under real memory pressure
 * (where a logger that formats through a growable buffer would recurse). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t nmemb, size_t size);
void *__real_realloc(void *ptr, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t nmemb, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
const char *__asan_default_options(void);

static atomic_bool fail_all;	/* every wrapped allocation fails */
static atomic_int wrapped_calls;	/* wrapped allocations while failing */

void *
__wrap_malloc(size_t size)
{
	if (atomic_load(&fail_all)) {
		/* Deep recursion would never end: stop it with a distinct exit. */
		if (atomic_fetch_add(&wrapped_calls, 1) > 100)
			_exit(3);
		return NULL;
	}
	return __real_malloc(size);
}

void *
__wrap_calloc(size_t nmemb, size_t size)
{
	if (atomic_load(&fail_all)) {
		if (atomic_fetch_add(&wrapped_calls, 1) > 100)
			_exit(3);
		return NULL;
	}
	return __real_calloc(nmemb, size);
}

void *
__wrap_realloc(void *ptr, size_t size)
{
	if (atomic_load(&fail_all)) {
		if (atomic_fetch_add(&wrapped_calls, 1) > 100)
			_exit(3);
		return NULL;
	}
	return __real_realloc(ptr, size);
}

/* Under AddressSanitizer a failed allocation returns NULL (as libc's does)
 * instead of ending the program inside the sanitizer. */
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* Removes the lines a sanitizer adds ("==PID==WARNING: AddressSanitizer
 * failed to allocate ..." before it returns NULL): they are not the
 * program's. */
static void
drop_sanitizer_lines(char *out)
{
	char *line = out, *w = out;

	while (*line != '\0') {
		char *nl = strchr(line, '\n');
		size_t n = nl != NULL ? (size_t)(nl - line) + 1 : strlen(line);
		bool sanitizer;

		if (nl != NULL)
			*nl = '\0';
		sanitizer = strncmp(line, "==", 2) == 0 && strstr(line, "Sanitizer") != NULL;
		if (nl != NULL)
			*nl = '\n';
		if (!sanitizer) {
			memmove(w, line, n);
			w += n;
		}
		line += n;
	}
	*w = '\0';
}

/* Runs alloc in a child whose stderr is a pipe; returns what it wrote
 * (static) and its wait status. fail_everything: every allocation fails. */
static char *
oom_child(void (*alloc)(void), bool fail_everything, int *status)
{
	static char out[4096];
	size_t len = 0;
	ssize_t n;
	int fds[2];
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		signal(SIGABRT, SIG_DFL);	/* cmocka's handler would catch it */
		atomic_store(&fail_all, fail_everything);
		alloc();
		_exit(0);	/* not reached when the allocation fails */
	}
	close(fds[1]);
	while (len < sizeof(out) - 1 && (n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	drop_sanitizer_lines(out);
	assert_int_equal(waitpid(pid, status, 0), pid);
	return out;
}

static void
oom_xmalloc(void)
{
	free(xmalloc(SIZE_MAX / 2));
}

static void
oom_xrealloc(void)
{
	free(xrealloc(NULL, SIZE_MAX / 2));
}

static void
oom_xcalloc(void)
{
	free(xcalloc(SIZE_MAX / 4, 4));
}

static void
oom_xstrdup(void)
{
	free(xstrdup("a small string"));
}

/* The child died of SIGABRT after exactly one fatal "out of memory" line. */
static void
assert_one_oom_line(const char *out, int status)
{
	const char *nl = strchr(out, '\n');

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(nl);
	assert_string_equal(nl + 1, "");	/* one line, nothing after it */
	assert_non_null(strstr(out, "\"level\":\"fatal\""));
	assert_non_null(strstr(out, "\"msg\":\"out of memory\""));
	assert_non_null(strstr(out, "\"bytes\":"));
}

/* A request too large for the allocator: one line, abort. */
static void
test_oversized_allocation_aborts(void **state)
{
	void (*const allocs[])(void) = { oom_xmalloc, oom_xrealloc, oom_xcalloc };
	int status;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(allocs); i++) {
		const char *out = oom_child(allocs[i], false, &status);

		assert_one_oom_line(out, status);
	}
}

/* Every allocation failing (memory pressure): still one line and abort,
 * no second trip through the allocator. */
static void
test_memory_pressure_aborts(void **state)
{
	void (*const allocs[])(void) = { oom_xmalloc, oom_xrealloc, oom_xcalloc, oom_xstrdup };
	int status;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(allocs); i++) {
		const char *out = oom_child(allocs[i], true, &status);

		assert_one_oom_line(out, status);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oversized_allocation_aborts),
		cmocka_unit_test(test_memory_pressure_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
