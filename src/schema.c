/* schema.c - table definitions of SPEC §4 as CreateTable requests. */
#include <string.h>

#include "config.h"
#include "schema.h"

/* One row per table: short name, key type and the CreateTable builder. */
struct schema_def {
	const char	 *short_name;
	const char	 *key_type;
	json_object	*(*create)(const char *table_name);
};

static const struct schema_def schema_defs[SCHEMA_TABLES] = {
	[SCHEMA_DELIVERABLES] = { "deliverables", "N", schema_deliverables },
	[SCHEMA_METRICS] = { "metrics", "N", schema_metrics },
	[SCHEMA_UPDATES] = { "updates", "S", schema_updates },
	[SCHEMA_USERS] = { "users", "S", schema_users },
	[SCHEMA_IDEMPOTENCY] = { "idempotency", "S", schema_idempotency },
};

/* Returns {"AttributeName": name, "AttributeType": type}. */
static json_object *
attribute_definition(const char *name, const char *type)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "AttributeName", json_object_new_string(name));
	json_object_object_add(o, "AttributeType", json_object_new_string(type));
	return o;
}

/* Returns a KeySchema array: hash, and range when range is not NULL. */
static json_object *
key_schema(const char *hash, const char *range)
{
	json_object *a = json_object_new_array();
	json_object *e;

	e = json_object_new_object();
	json_object_object_add(e, "AttributeName", json_object_new_string(hash));
	json_object_object_add(e, "KeyType", json_object_new_string("HASH"));
	json_object_array_add(a, e);
	if (range != NULL) {
		e = json_object_new_object();
		json_object_object_add(e, "AttributeName", json_object_new_string(range));
		json_object_object_add(e, "KeyType", json_object_new_string("RANGE"));
		json_object_array_add(a, e);
	}
	return a;
}

/* Returns the skeleton of a CreateTable request keyed by "id" of key_type. */
static json_object *
table_request(const char *table_name, const char *key_type)
{
	json_object *req = json_object_new_object();
	json_object *defs = json_object_new_array();

	json_object_array_add(defs, attribute_definition(SCHEMA_KEY, key_type));
	json_object_object_add(req, "TableName", json_object_new_string(table_name));
	json_object_object_add(req, "AttributeDefinitions", defs);
	json_object_object_add(req, "KeySchema", key_schema(SCHEMA_KEY, NULL));
	json_object_object_add(req, "BillingMode", json_object_new_string("PAY_PER_REQUEST"));
	return req;
}

/* Adds a global secondary index (projection ALL) and its attribute
 * definitions (those not defined yet) to a CreateTable request. */
static void
add_gsi(json_object *req, const char *index_name, const char *hash,
    const char *hash_type, const char *range, const char *range_type)
{
	json_object *defs = json_object_object_get(req, "AttributeDefinitions");
	json_object *gsis, *gsi, *projection;
	const char *names[2] = { hash, range };
	const char *types[2] = { hash_type, range_type };

	for (size_t i = 0; i < 2; i++) {
		bool known = false;

		for (size_t j = 0; j < json_object_array_length(defs); j++) {
			json_object *d = json_object_array_get_idx(defs, j);
			json_object *n = json_object_object_get(d, "AttributeName");

			if (strcmp(json_object_get_string(n), names[i]) == 0)
				known = true;
		}
		if (!known)
			json_object_array_add(defs, attribute_definition(names[i], types[i]));
	}

	if (!json_object_object_get_ex(req, "GlobalSecondaryIndexes", &gsis)) {
		gsis = json_object_new_array();
		json_object_object_add(req, "GlobalSecondaryIndexes", gsis);
	}
	gsi = json_object_new_object();
	projection = json_object_new_object();
	json_object_object_add(projection, "ProjectionType", json_object_new_string("ALL"));
	json_object_object_add(gsi, "IndexName", json_object_new_string(index_name));
	json_object_object_add(gsi, "KeySchema", key_schema(hash, range));
	json_object_object_add(gsi, "Projection", projection);
	json_object_array_add(gsis, gsi);
}

/* CreateTable request for deliverables: id (N), GSI MonthIndex (month N, id N). */
json_object *
schema_deliverables(const char *table_name)
{
	json_object *req = table_request(table_name, "N");

	add_gsi(req, SCHEMA_MONTH_INDEX, "month", "N", SCHEMA_KEY, "N");
	return req;
}

/* CreateTable request for metrics: id (N). */
json_object *
schema_metrics(const char *table_name)
{
	return table_request(table_name, "N");
}

/* CreateTable request for updates: id (S), GSI FeedIndex (feed S, created_at S). */
json_object *
schema_updates(const char *table_name)
{
	json_object *req = table_request(table_name, "S");

	add_gsi(req, SCHEMA_FEED_INDEX, "feed", "S", "created_at", "S");
	return req;
}

/* CreateTable request for users: id (S). */
json_object *
schema_users(const char *table_name)
{
	return table_request(table_name, "S");
}

/* CreateTable request for idempotency: key (S), no index (its TTL is set
 * by schema_ttl_request once the table is active). */
json_object *
schema_idempotency(const char *table_name)
{
	json_object *req = json_object_new_object();
	json_object *defs = json_object_new_array();

	json_object_array_add(defs, attribute_definition(SCHEMA_IDEMPOTENCY_KEY, "S"));
	json_object_object_add(req, "TableName", json_object_new_string(table_name));
	json_object_object_add(req, "AttributeDefinitions", defs);
	json_object_object_add(req, "KeySchema", key_schema(SCHEMA_IDEMPOTENCY_KEY, NULL));
	json_object_object_add(req, "BillingMode", json_object_new_string("PAY_PER_REQUEST"));
	return req;
}

/* UpdateTimeToLive for the idempotency table; NULL for the others. */
json_object *
schema_ttl_request(enum schema_table table, const char *table_name)
{
	json_object *req, *spec;

	if (table != SCHEMA_IDEMPOTENCY)
		return NULL;
	req = json_object_new_object();
	spec = json_object_new_object();
	json_object_object_add(spec, "Enabled", json_object_new_boolean(1));
	json_object_object_add(spec, "AttributeName", json_object_new_string(SCHEMA_IDEMPOTENCY_TTL));
	json_object_object_add(req, "TableName", json_object_new_string(table_name));
	json_object_object_add(req, "TimeToLiveSpecification", spec);
	return req;
}

/* CreateTable request for one of the tables; caller owns it. */
json_object *
schema_create_request(enum schema_table table, const char *table_name)
{
	return schema_defs[table].create(table_name);
}

/* The short name of a table; static. */
const char *
schema_short_name(enum schema_table table)
{
	return schema_defs[table].short_name;
}

/* The key type of a table ("N" or "S"); static. */
const char *
schema_key_type(enum schema_table table)
{
	return schema_defs[table].key_type;
}

/* Finds a table by short name; 0, or -1 when unknown. */
int
schema_parse(const char *short_name, enum schema_table *out)
{
	for (int t = 0; t < SCHEMA_COUNT; t++) {
		if (strcmp(short_name, schema_defs[t].short_name) == 0) {
			*out = (enum schema_table)t;
			return 0;
		}
	}
	return -1;
}

/* The configured full name of a table; borrowed from cfg. */
const char *
schema_table_name(const struct config *cfg, enum schema_table table)
{
	switch (table) {
	case SCHEMA_DELIVERABLES:
		return cfg->table_deliverables;
	case SCHEMA_METRICS:
		return cfg->table_metrics;
	case SCHEMA_UPDATES:
		return cfg->table_updates;
	case SCHEMA_IDEMPOTENCY:
		return cfg->table_idempotency;
	case SCHEMA_USERS:
		break;
	}
	return cfg->table_users;
}
