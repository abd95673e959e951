/* fuzz_marshal.c - JSON parsing, marshalling and unmarshalling of
 * AttributeValues on arbitrary input. */
#include <stdlib.h>

#include "ddb.h"
#include "fuzz.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	json_object *in = json_tokener_parse(text), *out;
	const char *cause = NULL;

	if (in != NULL) {
		out = ddb_unmarshal_item(in, &cause);
		json_object_put(out);
		cause = NULL;
		out = ddb_marshal_item(in, &cause);
		if (out != NULL) {
			/* What marshals must unmarshal again. */
			json_object *back = ddb_unmarshal_item(out, &cause);
			if (back == NULL && json_object_object_length(out) > 0)
				abort();
			json_object_put(back);
		}
		json_object_put(out);
		json_object_put(in);
	}
	free(text);
	return 0;
}
