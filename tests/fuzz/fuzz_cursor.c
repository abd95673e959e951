/* fuzz_cursor.c - the updates feed cursor decoder on arbitrary text. */
#include <stdlib.h>

#include "fuzz.h"
#include "model_updates.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	json_object *key = NULL;

	if (updates_cursor_decode(text, &key) == 0) {
		/* A decoded cursor re-encodes to something that decodes again. */
		char *again = updates_cursor_encode(key);
		json_object *key2 = NULL;
		if (again == NULL || updates_cursor_decode(again, &key2) != 0)
			abort();
		json_object_put(key2);
		free(again);
	}
	json_object_put(key);
	free(text);
	return 0;
}
