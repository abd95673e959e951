/* batch_write_rate.c - the reference of scripts/bench --migrate: the items of
 * an export (portalctl export's JSON lines) written back with BatchWriteItem,
 * DDB_BATCH_WRITE_MAX a request, one request at a time, through the project's
 * DynamoDB module: what the store takes without any reading or mapping.
 *
 *   batch_write_rate FILE
 *
 * Reads the same environment as portalctl (AWS_ENDPOINT_URL_DYNAMODB,
 * PORTAL_TABLE_PREFIX, ...). Prints one JSON object: items, seconds,
 * items_per_s, requests (HTTP requests made, retries included).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "ddb.h"
#include "schema.h"
#include "util.h"

/* Writes the pending items of one table; exits on failure. */
static void
write_batch(struct ddb *ddb, const struct config *cfg, enum schema_table t, json_object *puts)
{
	struct ddb_error err;

	if (json_object_array_length(puts) == 0)
		return;
	if (ddb_batch_write(ddb, schema_table_name(cfg, t), puts, NULL, &err) == -1) {
		fprintf(stderr, "batch_write_rate: %s: %s\n", err.code, err.message);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct ddb *ddb;
	char *cause = NULL, *line = NULL;
	size_t cap = 0;
	FILE *f;
	json_object *pending[SCHEMA_COUNT];
	unsigned long items = 0;
	int64_t start;
	double seconds;

	if (argc != 2) {
		fprintf(stderr, "usage: batch_write_rate EXPORT_FILE\n");
		return 2;
	}
	if ((f = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	if (config_load(&cfg, CONFIG_NEED_STORE, &cause) == -1 || (ddb = ddb_new(&cfg)) == NULL) {
		fprintf(stderr, "batch_write_rate: %s\n", cause ? cause : "no store");
		return 1;
	}
	for (int t = 0; t < SCHEMA_COUNT; t++)
		pending[t] = json_object_new_array();
	start = mono_ms();
	while (getline(&line, &cap, f) > 0) {
		json_object *o = json_tokener_parse(line), *table, *item;
		enum schema_table t;

		if (o == NULL || !json_object_object_get_ex(o, "table", &table) ||
		    !json_object_object_get_ex(o, "item", &item) ||
		    schema_parse(json_object_get_string(table), &t) == -1) {
			json_object_put(o);
			continue;
		}
		json_object_array_add(pending[t], json_object_get(item));
		json_object_put(o);
		items++;
		if (json_object_array_length(pending[t]) == DDB_BATCH_WRITE_MAX) {
			write_batch(ddb, &cfg, t, pending[t]);
			json_object_put(pending[t]);
			pending[t] = json_object_new_array();
		}
	}
	for (int t = 0; t < SCHEMA_COUNT; t++) {
		write_batch(ddb, &cfg, (enum schema_table)t, pending[t]);
		json_object_put(pending[t]);
	}
	seconds = (double)(mono_ms() - start) / 1000.0;
	printf("{\"items\":%lu,\"seconds\":%.3f,\"items_per_s\":%.1f,\"requests\":%u}\n", items,
	    seconds, seconds > 0 ? (double)items / seconds : 0.0, ddb_request_count(ddb));
	free(line);
	fclose(f);
	ddb_free(ddb);
	config_free(&cfg);
	return 0;
}
