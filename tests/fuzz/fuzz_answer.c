/* fuzz_answer.c - the one-pass reader of store answers on arbitrary input.
 * The input is handed over without a terminator, in a buffer of exactly its
 * size, so a read past the end shows under AddressSanitizer. */
#include <stdlib.h>
#include <string.h>

#include "ddb.h"
#include "fuzz.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size > 0 ? size : 1);
	const char *why = NULL;
	bool unmarshal = false;
	json_object *answer;

	memcpy(text, data, size);
	answer = ddb_answer_parse(text, size, &why, &unmarshal);
	if (answer == NULL && why == NULL)
		abort();	/* a refusal always says why */
	if (answer != NULL) {
		if (!json_object_is_type(answer, json_type_object))
			abort();
		(void)json_object_to_json_string_ext(answer, JSON_C_TO_STRING_PLAIN);
		json_object_put(answer);
	}
	free(text);
	return 0;
}
