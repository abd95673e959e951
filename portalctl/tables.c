/* tables.c - portalctl tables create | describe | delete. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "portalctl.h"

#define TABLE_WAIT_MS		60000		/* longest wait for a table to become ACTIVE or gone */

/* The AttributeType of attribute name in a table description; "?" if unknown. */
static const char *
attribute_type(json_object *desc, const char *name)
{
	json_object *defs;

	if (!json_object_object_get_ex(desc, "AttributeDefinitions", &defs))
		return "?";
	for (size_t i = 0; i < json_object_array_length(defs); i++) {
		json_object *d = json_object_array_get_idx(defs, i);

		if (strcmp(ctl_str_member(d, "AttributeName"), name) == 0)
			return ctl_str_member(d, "AttributeType");
	}
	return "?";
}

/* Prints a KeySchema as "id (N, HASH), month (N, RANGE)". */
static void
print_key_schema(json_object *desc, json_object *keys)
{
	for (size_t i = 0; i < json_object_array_length(keys); i++) {
		json_object *k = json_object_array_get_idx(keys, i);
		const char *name = ctl_str_member(k, "AttributeName");

		printf("%s%s (%s, %s)", i > 0 ? ", " : "", name, attribute_type(desc, name),
		    ctl_str_member(k, "KeyType"));
	}
}

/* Prints one table description as readable text. */
static void
print_description(json_object *desc)
{
	json_object *v, *indexes;

	printf("%s\n", ctl_str_member(desc, "TableName"));
	printf("  status:  %s\n", ctl_str_member(desc, "TableStatus"));
	if (json_object_object_get_ex(desc, "ItemCount", &v))
		printf("  items:   %s\n", json_object_get_string(v));
	if (json_object_object_get_ex(desc, "TableSizeBytes", &v))
		printf("  size:    %s bytes\n", json_object_get_string(v));
	if (json_object_object_get_ex(desc, "KeySchema", &v)) {
		printf("  key:     ");
		print_key_schema(desc, v);
		printf("\n");
	}
	if (json_object_object_get_ex(desc, "BillingModeSummary", &v))
		printf("  billing: %s\n", ctl_str_member(v, "BillingMode"));
	if (json_object_object_get_ex(desc, "GlobalSecondaryIndexes", &indexes)) {
		for (size_t i = 0; i < json_object_array_length(indexes); i++) {
			json_object *gsi = json_object_array_get_idx(indexes, i);
			json_object *projection = NULL;

			printf("  index:   %s: ", ctl_str_member(gsi, "IndexName"));
			if (json_object_object_get_ex(gsi, "KeySchema", &v))
				print_key_schema(desc, v);
			json_object_object_get_ex(gsi, "Projection", &projection);
			printf("; projection %s; %s", ctl_str_member(projection, "ProjectionType"),
			    ctl_str_member(gsi, "IndexStatus"));
			if (json_object_object_get_ex(gsi, "ItemCount", &v))
				printf("; %s items", json_object_get_string(v));
			printf("\n");
		}
	}
}

/* Turns on the TTL of a table that has one (idempotency). A store without
 * UpdateTimeToLive (dynalite) is told on stderr and tolerated: expired
 * records are then only ignored, not removed. */
static int
ttl_enable(struct ctl *ctl, enum schema_table t, const char *name)
{
	json_object *req = schema_ttl_request(t, name), *resp = NULL;
	struct ddb_error err;
	int rc;

	if (req == NULL)
		return 0;
	rc = ddb_call(ctl->ddb, "UpdateTimeToLive", req, &resp, &err);
	json_object_put(req);
	json_object_put(resp);
	if (rc == 0 || (strcmp(err.code, "ValidationException") == 0 &&
	    strstr(err.message, "already enabled") != NULL))
		return 0;
	if (strcmp(err.code, "UnknownOperationException") == 0) {
		fprintf(stderr, PROGRAM ": %s: this store has no UpdateTimeToLive; expired keys are ignored, not removed\n", name);
		return 0;
	}
	ctl_store_error(ctl, name, &err);
	return -1;
}

/* Selects the tables named on the command line (all by default) and opens
 * the store: EXIT_OK, or the exit code to return. */
static int
tables_begin(struct ctl *ctl, struct args *a, bool selected[SCHEMA_TABLES])
{
	if (ctl_select_tables_of(a, selected, true) == -1)
		return EXIT_USAGE;
	if (ctl_open(ctl) == -1)
		return EXIT_FAIL;
	return EXIT_OK;
}

/* DescribeTable of name into *desc (caller owns): 0; 1 when the table does
 * not exist; -1 after reporting any other store error. */
static int
table_describe(struct ctl *ctl, const char *name, json_object **desc)
{
	struct ddb_error err;

	*desc = NULL;
	if (ddb_describe_table(ctl->ddb, name, desc, &err) == 0)
		return 0;
	if (strcmp(err.code, "ResourceNotFoundException") == 0)
		return 1;
	ctl_store_error(ctl, name, &err);
	return -1;
}

/* Creates the missing tables, then waits for all of them. */
static int
cmd_tables_create(struct ctl *ctl, struct args *a)
{
	bool selected[SCHEMA_TABLES], created[SCHEMA_TABLES] = { false };
	struct ddb_error err;
	unsigned ncreated = 0, nexisting = 0;
	int rc;

	if ((rc = tables_begin(ctl, a, selected)) != EXIT_OK)
		return rc;
	/* Create first so DynamoDB builds the tables side by side. */
	for (int t = 0; t < SCHEMA_TABLES; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);
		json_object *desc = NULL, *req;

		if (!selected[t])
			continue;
		rc = table_describe(ctl, name, &desc);
		json_object_put(desc);
		if (rc == -1)
			return EXIT_FAIL;
		if (rc == 0)
			continue;
		req = schema_create_request((enum schema_table)t, name);
		rc = ddb_create_table(ctl->ddb, req, &err);
		json_object_put(req);
		if (rc == -1 && strcmp(err.code, "ResourceInUseException") != 0) {
			ctl_store_error(ctl, name, &err);
			return EXIT_FAIL;
		}
		created[t] = rc == 0;
	}

	for (int t = 0; t < SCHEMA_TABLES; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);

		if (!selected[t])
			continue;
		if (ddb_wait_table(ctl->ddb, name, true, TABLE_WAIT_MS, &err) == -1) {
			ctl_store_error(ctl, name, &err);
			return EXIT_FAIL;
		}
		if (ttl_enable(ctl, (enum schema_table)t, name) == -1)
			return EXIT_FAIL;
		if (created[t]) {
			printf("%s: created\n", name);
			ncreated++;
		} else {
			printf("%s: exists, left alone\n", name);
			nexisting++;
		}
	}
	printf("tables: %u created, %u existing\n", ncreated, nexisting);
	return EXIT_OK;
}

const struct ctl_command cmd_tables_create_entry = {
	.group = "tables", .name = "create",
	.synopsis = "tables create [TABLE...]",
	.summary = "create the missing tables and wait until they are ACTIVE",
	.help =
	    "Creates each table that does not exist yet (PAY_PER_REQUEST, with the\n"
	    "MonthIndex and FeedIndex global secondary indexes) and waits\n"
	    "until it is ACTIVE. Tables that exist are reported and left alone, so\n"
	    "running it again is harmless. TABLE is deliverables, metrics, updates or\n"
	    "users; the default is all four.\n",
	.max_args = -1, .exec = cmd_tables_create,
};

/* Describes the tables as text or JSON lines. */
static int
cmd_tables_describe(struct ctl *ctl, struct args *a)
{
	bool selected[SCHEMA_TABLES];
	unsigned missing = 0, shown = 0;
	int rc;

	if ((rc = tables_begin(ctl, a, selected)) != EXIT_OK)
		return rc;
	for (int t = 0; t < SCHEMA_TABLES; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);
		json_object *desc = NULL;

		if (!selected[t])
			continue;
		if ((rc = table_describe(ctl, name, &desc)) == -1)
			return EXIT_FAIL;
		if (rc == 1) {
			if (!a->json)
				printf("%s%s\n  status:  does not exist\n", shown++ > 0 ? "\n" : "", name);
			missing++;
			continue;
		}
		if (a->json) {
			printf("%s\n", json_object_to_json_string_ext(desc,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		} else {
			if (shown++ > 0)
				printf("\n");
			print_description(desc);
		}
		json_object_put(desc);
	}
	if (missing > 0) {
		fflush(stdout);
		ctl_errorf("%u table%s missing (run '" PROGRAM " tables create')", missing,
		    missing == 1 ? " is" : "s are");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const struct ctl_command cmd_tables_describe_entry = {
	.group = "tables", .name = "describe",
	.synopsis = "tables describe [--json] [TABLE...]",
	.summary = "show status, item count, key schema and indexes",
	.help =
	    "Shows each table's status, item count (DynamoDB updates it about every\n"
	    "six hours), size, key schema, billing mode and indexes.\n"
	    "  --json   print DescribeTable's Table object, one JSON line per table\n"
	    "Exits 1 when a table does not exist.\n",
	.options = OPT_JSON, .max_args = -1, .exec = cmd_tables_describe,
};

/* Deletes the tables (with --yes) and waits until they are gone. */
static int
cmd_tables_delete(struct ctl *ctl, struct args *a)
{
	bool selected[SCHEMA_TABLES], deleted[SCHEMA_TABLES] = { false };
	struct ddb_error err;
	unsigned n = 0;

	if (ctl_select_tables_of(a, selected, true) == -1)
		return EXIT_USAGE;
	if (!a->yes) {
		ctl_errorf("refusing to delete tables and all their items without --yes");
		return EXIT_USAGE;
	}
	if (ctl_open(ctl) == -1)
		return EXIT_FAIL;

	for (int t = 0; t < SCHEMA_TABLES; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);

		if (!selected[t])
			continue;
		if (ddb_delete_table(ctl->ddb, name, &err) == 0) {
			deleted[t] = true;
		} else if (strcmp(err.code, "ResourceNotFoundException") == 0) {
			printf("%s: does not exist\n", name);
		} else {
			ctl_store_error(ctl, name, &err);
			return EXIT_FAIL;
		}
	}
	for (int t = 0; t < SCHEMA_TABLES; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);

		if (!deleted[t])
			continue;
		if (ddb_wait_table(ctl->ddb, name, false, TABLE_WAIT_MS, &err) == -1) {
			ctl_store_error(ctl, name, &err);
			return EXIT_FAIL;
		}
		printf("%s: deleted\n", name);
		n++;
	}
	printf("tables: %u deleted\n", n);
	return EXIT_OK;
}

const struct ctl_command cmd_tables_delete_entry = {
	.group = "tables", .name = "delete",
	.synopsis = "tables delete --yes [TABLE...]",
	.summary = "delete the tables and all their items",
	.help =
	    "Deletes the tables (all four unless TABLE is given) and waits until they\n"
	    "are gone. Every item is lost; refuses to run without --yes.\n"
	    "  --yes    really delete\n",
	.options = OPT_YES, .max_args = -1, .exec = cmd_tables_delete,
};
