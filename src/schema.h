/* schema.h - the four DynamoDB tables of SPEC §4: their names, keys, indexes
 * and CreateTable requests. Shared by portalctl, the tests and the models. */
#ifndef PORTAL_SCHEMA_H
#define PORTAL_SCHEMA_H

#include <stdbool.h>

#include <json-c/json.h>

struct config;

#define SCHEMA_MONTH_INDEX	"MonthIndex"	/* deliverables: hash month (N), range id (N) */
#define SCHEMA_FEED_INDEX	"FeedIndex"	/* updates: hash feed (S), range created_at (S) */
#define SCHEMA_FEED_ALL		"all"		/* the constant value of updates.feed */
#define SCHEMA_KEY		"id"		/* the hash key of every table */

#define SCHEMA_IDEMPOTENCY_KEY	"key"		/* the hash key of the idempotency table */
#define SCHEMA_IDEMPOTENCY_TTL	"expires_at"	/* its TTL attribute (N, epoch seconds) */

/* The tables, in the order portalctl reports them. The content tables come
 * first (SCHEMA_COUNT of them: seeded, exported, imported); the idempotency
 * table holds only transient records and is created, described and deleted
 * with them (SCHEMA_TABLES in all). */
enum schema_table {
	SCHEMA_DELIVERABLES,
	SCHEMA_METRICS,
	SCHEMA_UPDATES,
	SCHEMA_USERS,
	SCHEMA_COUNT,
	SCHEMA_IDEMPOTENCY = SCHEMA_COUNT
};
#define SCHEMA_TABLES	(SCHEMA_IDEMPOTENCY + 1)

/* The short name ("deliverables", ...); borrowed, static. */
const char *schema_short_name(enum schema_table table);
/* Finds a content table by its short name; -1 when unknown. */
int schema_parse(const char *short_name, enum schema_table *out);
/* The full table name from the configuration (cfg->table_*); borrowed. */
const char *schema_table_name(const struct config *cfg, enum schema_table table);
/* The AttributeValue type of the key "id": "N" or "S"; static. */
const char *schema_key_type(enum schema_table table);

/* CreateTable request for the named table (PAY_PER_REQUEST); caller owns it. */
json_object *schema_deliverables(const char *table_name);
json_object *schema_metrics(const char *table_name);
json_object *schema_updates(const char *table_name);
json_object *schema_users(const char *table_name);
/* idempotency: key (S) = user id + Idempotency-Key; TTL on expires_at. */
json_object *schema_idempotency(const char *table_name);
/* The UpdateTimeToLive request for a table that has a TTL attribute, else
 * NULL; caller owns it. */
json_object *schema_ttl_request(enum schema_table table, const char *table_name);
/* The CreateTable request for one of the SCHEMA_TABLES tables; caller owns it. */
json_object *schema_create_request(enum schema_table table, const char *table_name);

#endif
