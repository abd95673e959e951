/* cache.c - whole-table reads kept for a short time, dropped by any write. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cache.h"
#include "ddb.h"
#include "log.h"
#include "util.h"

struct cache_entry {
	char		*key;
	json_object	*value;
	uint64_t	 generation;	/* the write count before the value was read */
	int64_t		 stored_ms;
};

static int cache_ttl_ms;
static _Atomic uint64_t local_generation;
static _Atomic uint64_t *generation = &local_generation;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry entries[CACHE_MAX_ENTRIES];

void
cache_configure(int ttl_ms)
{
	cache_ttl_ms = ttl_ms < 0 ? 0 : ttl_ms > CACHE_TTL_MAX_MS ? CACHE_TTL_MAX_MS : ttl_ms;
	if (cache_ttl_ms > 0)
		ddb_set_write_hook(cache_note_write);
}

/* One shared page holds the counter; children inherit the mapping. */
int
cache_share_across_processes(void)
{
	void *page;

	if (cache_ttl_ms == 0)
		return 0;
	page = mmap(NULL, sizeof *generation, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		log_warn("cache: no shared memory; the cache is off", LOG_S("error", strerror(errno)));
		cache_ttl_ms = 0;
		return -1;
	}
	generation = page;
	atomic_store(generation, 0);
	return 0;
}

bool
cache_enabled(void)
{
	return cache_ttl_ms > 0;
}

void
cache_note_write(void)
{
	atomic_fetch_add(generation, 1);
}

/* The entry for key, or NULL (lock held). */
static struct cache_entry *
find_entry(const char *key)
{
	for (size_t i = 0; i < CACHE_MAX_ENTRIES; i++)
		if (entries[i].key != NULL && strcmp(entries[i].key, key) == 0)
			return &entries[i];
	return NULL;
}

json_object *
cache_get(const char *key, uint64_t *token)
{
	struct cache_entry *e;
	json_object *copy = NULL;
	uint64_t now_gen;

	*token = 0;
	if (cache_ttl_ms == 0)
		return NULL;
	/* Taken before the caller reads the store: a write that lands during
	 * that read makes the stored value stale at once. */
	now_gen = atomic_load(generation);
	*token = now_gen;
	pthread_mutex_lock(&cache_lock);
	e = find_entry(key);
	if (e != NULL && e->generation == now_gen && mono_ms() - e->stored_ms < cache_ttl_ms &&
	    json_object_deep_copy(e->value, &copy, NULL) != 0)
		copy = NULL;
	pthread_mutex_unlock(&cache_lock);
	return copy;
}

void
cache_put(const char *key, uint64_t token, json_object *value)
{
	struct cache_entry *e, *oldest = &entries[0];
	json_object *copy = NULL;

	if (cache_ttl_ms == 0 || atomic_load(generation) != token ||
	    json_object_deep_copy(value, &copy, NULL) != 0)
		return;
	pthread_mutex_lock(&cache_lock);
	if ((e = find_entry(key)) == NULL) {
		for (size_t i = 0; i < CACHE_MAX_ENTRIES; i++) {
			if (entries[i].key == NULL) {
				oldest = &entries[i];
				break;
			}
			if (entries[i].stored_ms < oldest->stored_ms)
				oldest = &entries[i];
		}
		e = oldest;
		free(e->key);
		e->key = xstrdup(key);
	}
	json_object_put(e->value);
	e->value = copy;
	e->generation = token;
	e->stored_ms = mono_ms();
	pthread_mutex_unlock(&cache_lock);
}
