/* digest_cache.c - the per-process digest cache: keys from the period data
 * and the settings, entries with a lifetime, a fixed number of slots. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "config.h"
#include "digest.h"
#include "digest_int.h"
#include "log.h"
#include "model.h"
#include "util.h"

#define DIGEST_CACHE_MAX	64

struct cache_entry {
	char		 key[DIGEST_KEY_HEX_LEN];
	char		*markdown;
	const char	*source;
	time_t		 generated_at;
	int64_t		 expires_ms;	/* monotonic */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[DIGEST_CACHE_MAX];

/* Hashes the period data with the settings that pick the source. */
void
digest_cache_key(const struct config *cfg, json_object *data, char out[static DIGEST_KEY_HEX_LEN])
{
	const char *json = json_object_to_json_string_ext(data, DIGEST_JSON_FLAGS);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *head;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL) {
		log_error("digest: out of memory (EVP_MD_CTX_new)");
		abort();
	}
	head = xasprintf("digest-v1\n%s\n%s\n%ld\n",
	    cfg->digest_api_url != NULL ? cfg->digest_api_url : "",
	    cfg->digest_model != NULL ? cfg->digest_model : "",
	    model_int(data, "days", 0));
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, head, strlen(head)) != 1 ||
	    EVP_DigestUpdate(ctx, json, strlen(json)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		log_error("digest: SHA-256 failed");
		abort();
	}
	EVP_MD_CTX_free(ctx);
	free(head);
	hex_encode(md, mdlen, out);
}

/* Copies a live cache entry for key into out; false when there is none. */
bool
digest_cache_lookup(const char *key, struct digest_result *out)
{
	int64_t now = mono_ms();
	bool hit = false;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < DIGEST_CACHE_MAX; i++) {
		struct cache_entry *e = &cache[i];

		if (e->markdown != NULL && e->expires_ms > now && strcmp(e->key, key) == 0) {
			out->markdown = xstrdup(e->markdown);
			out->source = e->source;
			out->generated_at = e->generated_at;
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

/* Stores a copy of r under key for ttl_ms, replacing the same key, a free or
 * expired slot, or else the entry that expires first. */
void
digest_cache_store(const char *key, const struct digest_result *r, int64_t ttl_ms)
{
	int64_t now = mono_ms();
	struct cache_entry *slot = NULL;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < DIGEST_CACHE_MAX && slot == NULL; i++)
		if (cache[i].markdown != NULL && strcmp(cache[i].key, key) == 0)
			slot = &cache[i];
	for (size_t i = 0; i < DIGEST_CACHE_MAX && slot == NULL; i++)
		if (cache[i].markdown == NULL || cache[i].expires_ms <= now)
			slot = &cache[i];
	if (slot == NULL) {
		slot = &cache[0];
		for (size_t i = 1; i < DIGEST_CACHE_MAX; i++)
			if (cache[i].expires_ms < slot->expires_ms)
				slot = &cache[i];
	}
	free(slot->markdown);
	snprintf(slot->key, sizeof slot->key, "%s", key);
	slot->markdown = xstrdup(r->markdown);
	slot->source = r->source;
	slot->generated_at = r->generated_at;
	slot->expires_ms = now + ttl_ms;
	pthread_mutex_unlock(&cache_lock);
}

/* Frees every cache entry. */
void
digest_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < DIGEST_CACHE_MAX; i++) {
		free(cache[i].markdown);
		memset(&cache[i], 0, sizeof cache[i]);
	}
	pthread_mutex_unlock(&cache_lock);
}
