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

/* The tables, in the order portalctl reports them. */
enum schema_table {
	SCHEMA_DELIVERABLES,
	SCHEMA_METRICS,
	SCHEMA_UPDATES,
	SCHEMA_USERS,
	SCHEMA_COUNT
};

/* The short name ("deliverables", ...); borrowed, static. */
const char *schema_short_name(enum schema_table table);
/* Finds a table by its short name; -1 when unknown. */
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
/* The CreateTable request for one of the tables; caller owns it. */
json_object *schema_create_request(enum schema_table table, const char *table_name);

#endif
