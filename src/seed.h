/* seed.h - loads the seed data of SPEC §8 (data/seed-data.json) into the tables.
 *
 * Seeding is idempotent: items are written with attribute_not_exists(id), so an
 * item that exists (changed or not) is skipped. With force, an item whose seed
 * fields differ from the stored ones is overwritten (its version bumped past the
 * stored one so stale ETags fail); identical items are still skipped. */
#ifndef PORTAL_SEED_H
#define PORTAL_SEED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#include "ddb.h"
#include "schema.h"

struct config;

#define SEED_MAX_BYTES		(4 * 1024 * 1024)	/* largest seed file read */
#define SEED_UPDATE_ID_LEN	26	/* "20260130T170000Z-1a2b3c4d" + NUL */

struct seed_result {
	unsigned	written[SCHEMA_COUNT];	/* items put */
	unsigned	skipped[SCHEMA_COUNT];	/* items that existed (and, with force, were unchanged) */
};

/* The one error form of the seed: a message always (heap, one line), and
 * when the store failed, its answer too (store.code non-empty). Free with
 * seed_error_reset. */
struct seed_error {
	char		*cause;
	struct ddb_error store;
};
void seed_error_reset(struct seed_error *err);	/* NULL-safe */

/* Builds the items of every table from parsed seed data (the shape of
 * data/seed-data.json): items[t] becomes a new array of AttributeValue maps
 * (caller owns each). now stamps updated_at, created_at (users) and history.
 * 0, or -1 with err->cause naming the bad entry and field. */
int seed_build(json_object *data, time_t now, json_object *items[SCHEMA_COUNT],
    struct seed_error *err);

/* Writes built items into the configured tables (items borrowed). 0, or -1
 * with err (cause, and store for a DynamoDB failure). */
int seed_apply(struct ddb *ddb, const struct config *cfg, json_object *items[SCHEMA_COUNT],
    bool force, struct seed_result *result, struct seed_error *err);

/* Reads path, builds and applies it. 0, or -1 with err (cause, and store
 * when the failure came from DynamoDB). */
int seed_file(struct ddb *ddb, const struct config *cfg, const char *path, bool force,
    time_t now, struct seed_result *result, struct seed_error *err);

/* The id of a seeded update: "<created_at as YYYYMMDDTHHMMSSZ>-<8 hex of a
 * hash of title>", fixed width so ids sort by time, and the same on every run
 * so re-seeding does not duplicate. out has SEED_UPDATE_ID_LEN bytes. */
void seed_update_id(time_t created_at, const char *title, char out[static SEED_UPDATE_ID_LEN]);

#endif
