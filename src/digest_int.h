/* digest_int.h - what the parts of the digest share among themselves
 * (digest.c, digest_markdown.c, digest_cache.c, digest_llm.c); the public API is digest.h. */
#ifndef PORTAL_DIGEST_INT_H
#define PORTAL_DIGEST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "digest.h"

struct config;

/* How period data is serialised for the cache key and the LLM. */
#define DIGEST_JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* True when a plain item's string field equals s. */
bool digest_field_is(json_object *item, const char *field, const char *s);

/* Copies a live cache entry for key into out (its markdown a new string);
 * false when there is none. */
bool digest_cache_lookup(const char *key, struct digest_result *out);

/* Stores a copy of r under key for ttl_ms (r stays the caller's). */
void digest_cache_store(const char *key, const struct digest_result *r, int64_t ttl_ms);

/* POSTs data_json to cfg's {DIGEST_API_URL}/chat/completions, ending before
 * deadline_ms (wall clock ms; 0 = none). The answer's markdown (caller frees),
 * or NULL with why, *http_status and *curl_code set for the log. */
char *digest_llm_call(const struct config *cfg, const char *data_json, int64_t deadline_ms,
    char *why, size_t why_len, long *http_status, int *curl_code);

#endif
