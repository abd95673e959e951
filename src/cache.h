/* cache.h - an optional short-lived cache of whole-table reads (the lists
 * and the dashboard), for when the store is the limit.
 *
 * Read-your-writes through any worker of a host: every write made by any
 * worker process bumps one generation counter in memory shared by all of
 * them (the supervisor maps it before forking), and an entry read before the
 * last write is never served. What remains stale: writes that do not go
 * through this host's workers (another host, another Lambda instance,
 * portalctl) are seen after at most the TTL. Off unless PORTAL_CACHE_TTL_MS
 * is set (> 0). */
#ifndef PORTAL_CACHE_H
#define PORTAL_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#define CACHE_MAX_ENTRIES	16
#define CACHE_TTL_MAX_MS	60000

/* Sets the TTL (0 = off) and hooks the store's writes. Call at start-up. */
void cache_configure(int ttl_ms);
/* Maps the generation counter into memory shared with the processes this one
 * forks afterwards. 0, or -1 (the cache then stays per process). */
int cache_share_across_processes(void);
bool cache_enabled(void);
/* Counts a write (the store module's write hook). */
void cache_note_write(void);
/* A deep copy of the entry for key (caller owns), or NULL on a miss. On a
 * miss, *token is what cache_put needs to store what is read next. */
json_object *cache_get(const char *key, uint64_t *token);
/* Stores a copy of value under key, unless a write happened since token was taken. */
void cache_put(const char *key, uint64_t token, json_object *value);

#endif
