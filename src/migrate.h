/* migrate.h - SPEC §9: moves the data of the legacy PostgreSQL system into the
 * four DynamoDB tables.
 *
 * Three parts:
 * - the mapping (pure): one legacy row, its columns as PostgreSQL's text (NULL
 *   for SQL NULL), becomes one item in AttributeValue form, or a refusal with
 *   its reason. Testable without PostgreSQL or DynamoDB.
 * - the source (libpq): one REPEATABLE READ, READ ONLY transaction, so every
 *   pass over the data sees the same snapshot; rows come through server-side
 *   cursors a page at a time, children (history, acknowledgements) by ordered
 *   queries merged with their parents.
 * - the run: reads, maps, compares with the stored items and writes in
 *   batches; verifies.
 *
 * Idempotence: every written item carries MIGRATE_HASH_ATTR, the hash of its
 * content as written. A stored item whose content still has that hash is
 * "ours, untouched" and may be replaced by a newer mapping; one whose content
 * equals the mapping is unchanged; anything else was changed since (or was
 * never migrated) and is kept unless force. BatchWriteItem takes no
 * conditions, so the decision is made on a BatchGetItem just before the
 * write: an API write landing between the two could be overwritten. That
 * window is accepted: a migration runs while the service is not yet in use.
 *
 * Writes go through MIGRATE_WRITERS writer threads (a DynamoDB handle each),
 * so reading, mapping and reading back the next group overlap the writes of
 * the last ones; at most MIGRATE_WRITE_QUEUE groups wait, so memory stays
 * flat. Groups hold distinct keys, so the order of their writes is free.
 */
#ifndef PORTAL_MIGRATE_H
#define PORTAL_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "ddb.h"
#include "model.h"
#include "schema.h"

struct config;

#define MIGRATE_HASH_ATTR	MODEL_ATTR_MIGRATED_HASH	/* hash of the item's content as migrated */
#define MIGRATE_HASH_HEX	32		/* hex digits kept of the SHA-256 */
#define MIGRATE_HISTORY_MAX	100		/* newest history points kept per metric */
#define MIGRATE_PERCENT_MAX	100
#define MIGRATE_TIME_LEN	21		/* "2026-11-24T15:04:05Z" + NUL */
#define MIGRATE_UPDATE_ID_LEN	26		/* "20261124T150405Z-0000002a" + NUL */
#define MIGRATE_ITEM_MAX_BYTES	(400 * 1024)	/* DynamoDB's item size limit */
#define MIGRATE_DECIMAL_DIGITS	38		/* significant digits DynamoDB keeps */
#define MIGRATE_EXPONENT_MAX	125		/* 10^125 is the largest magnitude */
#define MIGRATE_EXPONENT_MIN	(-130)		/* 10^-130 the smallest */
#define MIGRATE_GROUP		100		/* items read back (BatchGetItem) per round */
#define MIGRATE_GROUP_BYTES	(64 * 1024)	/* ... or fewer, once they are this large */
#define MIGRATE_WRITERS		2		/* writer threads: BatchWriteItem calls in flight */
#define MIGRATE_WRITE_QUEUE	4		/* write batches waiting for a writer */
#define MIGRATE_FETCH_ROWS	1000		/* rows fetched from a cursor at a time */
#define MIGRATE_PROGRESS_MS	1000		/* progress callback interval */

/* The alembic_version values whose schema is SPEC §9's (the legacy
 * system's last migration). Others need force. */
#define MIGRATE_ALEMBIC_KNOWN	{ "f3a9c2e1b7d4", NULL }

/* --- the mapping (pure) ------------------------------------------------ */

/* Legacy rows as PostgreSQL's text output (DateStyle ISO, TimeZone UTC);
 * NULL for SQL NULL. All borrowed. */
struct migrate_user_row {
	const char	*id, *auth0_id, *email, *name, *role, *created_at, *last_login_at;
};
struct migrate_deliverable_row {
	const char	*id, *name, *description, *month, *status, *completion_percentage,
			*due_date, *owner, *updated_at;
};
struct migrate_metric_row {
	const char	*id, *name, *description, *unit, *baseline_value, *current_value,
			*target_value, *higher_is_better, *updated_at;
};
struct migrate_history_row {
	const char	*value, *recorded_at;
};
/* author_auth0_id NULL: the author was deleted (author_id SET NULL). */
struct migrate_update_row {
	const char	*id, *title, *body, *type, *deliverable_id, *created_at,
			*author_auth0_id, *author_name, *author_email;
};

/* Each returns a new AttributeValue map (caller owns) with version 1 and
 * MIGRATE_HASH_ATTR, or NULL with *cause (caller frees) saying why the new
 * model refuses the row ("month: 0 is below 1"). history: the metric's
 * points oldest first, only the newest MIGRATE_HISTORY_MAX of them (the
 * caller keeps those). read_by: the auth0_ids of the acknowledgements, any
 * order (sorted here). */
json_object *migrate_map_user(const struct migrate_user_row *row, char **cause);
json_object *migrate_map_deliverable(const struct migrate_deliverable_row *row, char **cause);
json_object *migrate_map_metric(const struct migrate_metric_row *row,
    const struct migrate_history_row *history, size_t nhistory, char **cause);
json_object *migrate_map_update(const struct migrate_update_row *row,
    const char *const *read_by, size_t nread_by, char **cause);

/* The exact decimal text as DynamoDB stores it (no exponent, no leading or
 * trailing zeros: "080.50" -> "80.5", "-0.00" -> "0"), or NULL with *cause
 * (static) when it is not a finite number or DynamoDB cannot hold it (more
 * than 38 significant digits, magnitude beyond 10^125 or below 10^-130).
 * Accepts an exponent ("1.5E+3"). Caller frees. */
char *migrate_decimal(const char *text, const char **why);
/* PostgreSQL's timestamptz text in UTC ("2026-01-30 17:00:00.5+00") as RFC
 * 3339 to the second ("2026-01-30T17:00:00Z", the fraction dropped); -1 for
 * anything else (infinity, BC, years past 9999, another offset). */
int migrate_time(const char *text, char out[static MIGRATE_TIME_LEN]);
/* The id of a migrated update: created_at (RFC 3339) as YYYYMMDDTHHMMSSZ,
 * '-', the legacy id as 8 hex digits: the shape of updates_new_id, so the
 * ids sort by time with the service's own, and the same on every run. -1
 * when legacy_id is outside 0..0xffffffff or created_at is malformed. */
int migrate_update_id(const char *created_at, long long legacy_id,
    char out[static MIGRATE_UPDATE_ID_LEN]);

/* The hash of an item's content (every attribute but MIGRATE_HASH_ATTR,
 * numbers compared as decimals, sets as sets), MIGRATE_HASH_HEX hex digits. */
void migrate_item_hash(json_object *item, char out[static MIGRATE_HASH_HEX + 1]);
/* True when two items have the same content (MIGRATE_HASH_ATTR ignored). */
bool migrate_item_equal(json_object *a, json_object *b);

/* What to do with a mapped item given the stored one (NULL when absent). */
enum migrate_action {
	MIGRATE_PUT,		/* absent, or ours and untouched since: write */
	MIGRATE_UNCHANGED,	/* the stored content equals the mapping */
	MIGRATE_KEPT,		/* changed since the last run (or not ours): kept */
	MIGRATE_FORCED,		/* changed since, overwritten because of force */
};
enum migrate_action migrate_decide(json_object *mapped, json_object *stored, bool force);

/* --- the source (libpq) ----------------------------------------------- */

struct migrate_source;

/* Connects (uri: a postgresql:// URI or conninfo; libpq's PG* variables
 * apply), opens the snapshot, checks every table and column the mapping
 * reads and alembic_version. An unknown revision fails unless force, then
 * *warning (caller frees) says so. 0, or -1 with *cause: one line (caller
 * frees). Without libpq at build time: always -1, naming the package. */
int migrate_source_open(const char *uri, bool force, struct migrate_source **out,
    char **warning, char **cause);
void migrate_source_close(struct migrate_source *src);	/* NULL-safe; ends the snapshot */
/* True when this build can read PostgreSQL. */
bool migrate_have_libpq(void);

/* Called for each row of a table in legacy id order: item (borrowed) is the
 * mapping, or NULL and reason (borrowed) says why the row is refused.
 * legacy_id is the row's id (auth0_id is not used: the SERIAL id is). Return
 * -1 to stop the scan. */
typedef int (*migrate_row_fn)(void *ctx, enum schema_table table, const char *legacy_id,
    json_object *item, const char *reason);
/* Streams every row of the legacy table behind table through fn. 0, or -1
 * with *cause (caller frees; NULL when fn stopped the scan). */
int migrate_source_scan(struct migrate_source *src, enum schema_table table,
    migrate_row_fn fn, void *ctx, char **cause);

/* --- the run ---------------------------------------------------------- */

struct migrate_counts {
	unsigned long	read;		/* legacy rows read */
	unsigned long	written;	/* items put (or, dry run, that would be) */
	unsigned long	skipped;	/* refused + kept */
	unsigned long	unchanged;	/* stored content already equal */
	unsigned long	refused;	/* rows the new model refuses */
	unsigned long	kept;		/* items changed since the last run, not overwritten */
	unsigned long	forced;		/* of written: changed since, overwritten by force */
	/* --verify */
	unsigned long	verified;	/* items found equal to the snapshot */
	unsigned long	missing;	/* items not found */
	unsigned long	different;	/* items found with other content */
	unsigned long	stored;		/* items in the table (a full count) */
};

struct migrate_report {
	struct migrate_counts	t[SCHEMA_COUNT];
	bool			stopped_strict;	/* --strict saw refusals: nothing written */
	bool			verified;	/* a verify pass ran */
	unsigned long		differences;	/* verify: missing + different + count mismatches */
};

/* What happens during a run, for the caller to show (may be NULL each). */
struct migrate_hooks {
	void	 *ctx;
	/* A refused row. */
	void	(*refused)(void *ctx, enum schema_table table, const char *legacy_id,
		    const char *reason);
	/* An item kept (changed since the last run) or, with force, overwritten. */
	void	(*kept)(void *ctx, enum schema_table table, const char *key, bool forced);
	/* Verify: an item missing or different. */
	void	(*difference)(void *ctx, enum schema_table table, const char *key,
		    const char *what);
	/* The counts so far, every MIGRATE_PROGRESS_MS or so during long passes. */
	void	(*progress)(void *ctx, const char *pass, enum schema_table table,
		    const struct migrate_report *report);
};

struct migrate_options {
	bool	dry_run;	/* read, map, compare; write nothing */
	bool	strict;		/* any refused row stops the run before the first write */
	bool	force;		/* overwrite items changed since the last run */
	bool	verify;		/* after the run, compare the tables with the snapshot */
};

/* Runs the migration from src into the configured tables. report is filled
 * as far as the run got. 0 (check report->stopped_strict and
 * report->differences), or -1 with *cause (caller frees) and, when the store
 * failed, err filled. */
int migrate_run(struct migrate_source *src, struct ddb *ddb, const struct config *cfg,
    const struct migrate_options *opt, const struct migrate_hooks *hooks,
    struct migrate_report *report, struct ddb_error *err, char **cause);

/* The report as one JSON object: {"deliverables":{"read":..,"written":..,
 * "skipped":..,"unchanged":..},"metrics":..,"updates":..,"users":..}. New
 * object, caller owns. */
json_object *migrate_report_json(const struct migrate_report *report);

#endif
