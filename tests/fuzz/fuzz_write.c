/* fuzz_write.c - the JSON writer against json-c on arbitrary input: the
 * trees json-c's reader and the store-answer reader make of it are written
 * both ways, and the texts must be the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "ddb.h"
#include "fuzz.h"
#include "json_write.h"
#include "util.h"

/* Aborts when the writer and json-c disagree on obj. */
static void
check(json_object *obj)
{
	struct buf out = BUF_INIT;
	size_t len;
	const char *want = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	json_write_value(&out, obj);
	if (out.len != len || memcmp(out.data, want, len) != 0)
		abort();
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size), *exact = xmalloc(size > 0 ? size : 1);
	json_object *tree = json_tokener_parse(text);
	const char *why;
	bool unmarshal;

	check(tree);
	json_object_put(tree);
	/* The store-answer reader takes the bytes as they are, NULs too. */
	memcpy(exact, data, size);
	tree = ddb_answer_parse(exact, size, &why, &unmarshal);
	if (tree != NULL)
		check(tree);
	json_object_put(tree);
	free(exact);
	free(text);
	return 0;
}
