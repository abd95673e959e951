/* fuzz_http.c - the framing of HTTP/1.1 answers (httpc) on arbitrary input:
 * the first byte picks how many bytes arrive at a time (1-16), the rest is
 * the answer, handed over in a buffer of exactly its size. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "httpc.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpc_response res;
	enum httpc_result r;
	size_t step = size > 0 ? (size_t)(data[0] % 16) + 1 : 1;
	char *text = xmalloc(size > 1 ? size - 1 : 1);

	if (size > 1)
		memcpy(text, data + 1, size - 1);
	httpc_response_init(&res, 4096);
	res.keep_head = (step & 1) != 0;
	res.keep_prefix = (step & 2) != 0;
	r = httpc_answer_frame(text, size > 1 ? size - 1 : 0, step, &res);
	if (res.body.len > res.max_bytes)
		abort();	/* never past the cap */
	if (r == HTTPC_OK && (res.status < 100 || res.status > 599))
		abort();	/* a framed answer has a status */
	if (r != HTTPC_OK && res.errbuf[0] == '\0')
		abort();	/* a failure always says why */
	if ((r == HTTPC_TOO_LARGE) != (res.too_large && !res.keep_prefix))
		abort();
	httpc_response_reset(&res);
	free(text);
	return 0;
}
