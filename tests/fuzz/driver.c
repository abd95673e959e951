/* driver.c - runs a fuzz target without libFuzzer: every file of its corpus,
 * then a fixed number of deterministic mutations of them, and prints TAP.
 * Under the ASan/UBSan build this is a regression fuzz run; with clang,
 * `clang -fsanitize=fuzzer` on the target file alone gives the real fuzzer. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define MUTATIONS	20000
#define FUZZ_MAX_INPUT	(16 * 1024)

/* xorshift64: the same sequence on every run. */
static uint64_t
next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* One random edit: flip, insert, delete, duplicate or splice a byte range. */
static size_t
mutate(uint8_t *buf, size_t len, uint64_t *s)
{
	size_t pos = len ? next_random(s) % len : 0;

	switch (next_random(s) % 5) {
	case 0:
		if (len)
			buf[pos] ^= (uint8_t)(1u << (next_random(s) % 8));
		break;
	case 1:
		if (len + 1 < FUZZ_MAX_INPUT) {
			memmove(buf + pos + 1, buf + pos, len - pos);
			buf[pos] = (uint8_t)next_random(s);
			len++;
		}
		break;
	case 2:
		if (len) {
			memmove(buf + pos, buf + pos + 1, len - pos - 1);
			len--;
		}
		break;
	case 3: {
		size_t n = len - pos < 8 ? len - pos : 8;
		if (len + n < FUZZ_MAX_INPUT) {
			memmove(buf + pos + n, buf + pos, len - pos);
			len += n;
		}
		break;
	}
	default:
		if (len)
			buf[pos] = "{}[]\":,.\\%0aZ\xff"[next_random(s) % 15];
	}
	return len;
}

int
main(int argc, char **argv)
{
	static uint8_t inputs[64][FUZZ_MAX_INPUT];
	static size_t lens[64];
	static uint8_t work[FUZZ_MAX_INPUT];
	size_t n = 0;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	const char *dir = argc > 1 ? argv[1] : ".";
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		printf("1..1\nnot ok 1 - corpus %s not found\n", dir);
		return 1;
	}
	while ((e = readdir(d)) != NULL && n < 64) {
		char path[4096];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		lens[n] = fread(inputs[n], 1, FUZZ_MAX_INPUT, f);
		fclose(f);
		n++;
	}
	closedir(d);
	printf("1..2\n");
	for (size_t i = 0; i < n; i++)
		LLVMFuzzerTestOneInput(inputs[i], lens[i]);
	printf("ok 1 - %zu corpus inputs of %s\n", n, dir);
	for (int i = 0; i < MUTATIONS && n > 0; i++) {
		size_t k = next_random(&seed) % n, len = lens[k];

		memcpy(work, inputs[k], len);
		for (int m = 0, edits = 1 + (int)(next_random(&seed) % 4); m < edits; m++)
			len = mutate(work, len, &seed);
		LLVMFuzzerTestOneInput(work, len);
	}
	printf("ok 2 - %d mutations without a crash\n", MUTATIONS);
	return 0;
}
