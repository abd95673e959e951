/* portalctl.c - the admin CLI: tables, seed data, export/import, user roles.
 *
 * A thin entry point over the library: configuration through config_load(),
 * DynamoDB through ddb.h, table definitions from schema.h, seeding from seed.h.
 * Every failure is one line "portalctl: ..." on stderr and a non-zero exit. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmd_migrate.h"
#include "config.h"
#include "ddb.h"
#include "log.h"
#include "schema.h"
#include "seed.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
#ifndef PORTAL_DATADIR
#define PORTAL_DATADIR "/usr/local/share/turbotech-portal"
#endif

#define PROGRAM			"portalctl"
#define SEED_FILE_NAME		"seed-data.json"
#define TABLE_WAIT_MS		60000		/* longest wait for a table to become ACTIVE or gone */
#define IMPORT_MAX_LINE_BYTES	(1024 * 1024)	/* longest line import accepts */
#define EXIT_OK			0
#define EXIT_FAIL		1
#define EXIT_USAGE		2

/* Flags a command may accept. */
enum {
	OPT_FORCE = 1 << 0,
	OPT_YES = 1 << 1,
	OPT_JSON = 1 << 2,
	OPT_FILE = 1 << 3,
};

/* Parsed command line of one command. */
struct args {
	bool		  force;
	bool		  yes;
	bool		  json;
	const char	 *file;
	int		  argc;		/* positional arguments */
	char		**argv;
};

/* What every command works with. */
struct ctl {
	struct config	 cfg;
	bool		 cfg_loaded;
	struct ddb	*ddb;
	int		 verbose;
};

struct command {
	const char	*group;		/* "tables", "users" or NULL */
	const char	*name;
	const char	*synopsis;
	const char	*summary;
	const char	*help;
	int		 options;	/* OPT_* accepted */
	int		 min_args;
	int		 max_args;	/* -1: any number */
	int		(*exec)(struct ctl *, struct args *);
};

static int cmd_tables_create(struct ctl *, struct args *);
static int cmd_tables_describe(struct ctl *, struct args *);
static int cmd_tables_delete(struct ctl *, struct args *);
static int cmd_seed(struct ctl *, struct args *);
static int cmd_export(struct ctl *, struct args *);
static int cmd_import(struct ctl *, struct args *);
static int cmd_users_list(struct ctl *, struct args *);
static int cmd_users_set_role(struct ctl *, struct args *);

static const struct command commands[] = {
	{
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
	},
	{
		.group = "tables", .name = "describe",
		.synopsis = "tables describe [--json] [TABLE...]",
		.summary = "show status, item count, key schema and indexes",
		.help =
		    "Shows each table's status, item count (DynamoDB updates it about every\n"
		    "six hours), size, key schema, billing mode and indexes.\n"
		    "  --json   print DescribeTable's Table object, one JSON line per table\n"
		    "Exits 1 when a table does not exist.\n",
		.options = OPT_JSON, .max_args = -1, .exec = cmd_tables_describe,
	},
	{
		.group = "tables", .name = "delete",
		.synopsis = "tables delete --yes [TABLE...]",
		.summary = "delete the tables and all their items",
		.help =
		    "Deletes the tables (all four unless TABLE is given) and waits until they\n"
		    "are gone. Every item is lost; refuses to run without --yes.\n"
		    "  --yes    really delete\n",
		.options = OPT_YES, .max_args = -1, .exec = cmd_tables_delete,
	},
	{
		.name = "seed",
		.synopsis = "seed [--force] [--file PATH]",
		.summary = "load the seed data (idempotent)",
		.help =
		    "Loads the deliverables, metrics, updates and users of seed-data.json.\n"
		    "Idempotent: an item that exists is skipped, never overwritten, even when\n"
		    "it was changed since. Updates get ids derived from created_at and title,\n"
		    "so seeding again does not duplicate them.\n"
		    "  --force      overwrite items whose seed fields were changed\n"
		    "  --file PATH  the seed file; default " PORTAL_DATADIR "/" SEED_FILE_NAME "\n"
		    "               when installed, else data/" SEED_FILE_NAME " of the build tree\n",
		.options = OPT_FORCE | OPT_FILE, .exec = cmd_seed,
	},
	{
		.name = "export",
		.synopsis = "export [TABLE]",
		.summary = "print all items as JSON lines",
		.help =
		    "Prints every item of TABLE (deliverables, metrics, updates or users), or\n"
		    "of all four, on stdout, one JSON object per line:\n"
		    "  {\"table\":\"metrics\",\"item\":{\"id\":{\"N\":\"4\"},\"current_value\":{\"N\":\"6.4\"},...}}\n"
		    "\"item\" is in DynamoDB's AttributeValue form, which is lossless: numbers\n"
		    "keep their exact decimal text, and string sets stay sets (plain JSON could\n"
		    "not tell them from lists). Items are sorted by id, attributes by name and\n"
		    "set members by value, so two exports of the same data are identical.\n"
		    "'portalctl import' reads this format back.\n",
		.max_args = 1, .exec = cmd_export,
	},
	{
		.name = "import",
		.synopsis = "import FILE",
		.summary = "write the items of an export (FILE, or - for stdin)",
		.help =
		    "Reads JSON lines in the format of 'portalctl export' from FILE (- for\n"
		    "stdin) and writes them with BatchWriteItem, 25 items a request. Items\n"
		    "with the same id are replaced. The whole input is checked first: a bad\n"
		    "line stops the import before anything is written, naming the line.\n"
		    "Empty lines are ignored.\n",
		.min_args = 1, .max_args = 1, .exec = cmd_import,
	},
	{
		.group = "users", .name = "list",
		.synopsis = "users list [--json]",
		.summary = "list the users and their roles",
		.help =
		    "Lists every user sorted by id: id, role, email, name.\n"
		    "  --json   one plain JSON object per user and line\n",
		.options = OPT_JSON, .exec = cmd_users_list,
	},
	{
		.group = "users", .name = "set-role",
		.synopsis = "users set-role ID admin|team|client",
		.summary = "change the role of an existing user",
		.help =
		    "Sets the role of the user ID (the token's sub, e.g. auth0|abc). The user\n"
		    "must exist: users are created on their first authenticated request.\n",
		.min_args = 2, .max_args = 2, .exec = cmd_users_set_role,
	},
};

static const char *const roles[] = { "admin", "team", "client" };

/* Prints "portalctl: message" as one line on stderr. */
static void __attribute__((format(printf, 1, 2)))
errorf(const char *fmt, ...)
{
	va_list ap;

	fputs(PROGRAM ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Prints the overview of all commands to f. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROGRAM " [-v] COMMAND [ARGS]\n"
	    "       " PROGRAM " COMMAND --help\n\n"
	    "Administers the TurboTech Portal's DynamoDB tables.\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		fprintf(f, "  %-40s %s\n", commands[i].synopsis, commands[i].summary);
	fprintf(f, "  %-40s %s\n", CMD_MIGRATE_SYNOPSIS, CMD_MIGRATE_SUMMARY);
	fprintf(f,
	    "\nOptions:\n"
	    "  -h, --help      show this help\n"
	    "  -V, --version   show the version\n"
	    "  -v, --verbose   log progress (info); twice for debug\n\n"
	    "Configuration comes from the environment: PORTAL_ENV or\n"
	    "PORTAL_TABLE_PREFIX name the tables, AWS_ENDPOINT_URL_DYNAMODB the store,\n"
	    "AWS_REGION and the AWS credential chain sign the requests, LOG_LEVEL=debug\n"
	    "or -v shows the logs (the default shows errors only).\n");
}

/* Prints the help of one command to stdout. */
static void
command_help(const struct command *cmd)
{
	printf("usage: " PROGRAM " %s\n\n%s.\n\n%s", cmd->synopsis, cmd->summary, cmd->help);
}

/* Prints the commands of one group (e.g. "tables") to f. */
static void
group_help(FILE *f, const char *group)
{
	fprintf(f, "usage: " PROGRAM " %s SUBCOMMAND [ARGS]\n\n", group);
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		if (commands[i].group != NULL && strcmp(commands[i].group, group) == 0)
			fprintf(f, "  %-40s %s\n", commands[i].synopsis, commands[i].summary);
	}
}

/* Parses the options and arguments of one command. Returns -1 to exit with
 * *status (help printed, or a usage error reported). */
static int
parse_args(const struct command *cmd, int argc, char **argv, struct args *a, int *status)
{
	char **positional = xcalloc((size_t)argc + 1, sizeof *positional);
	bool options_done = false;
	const char *name = cmd->group != NULL ? cmd->group : "";

	memset(a, 0, sizeof *a);
	a->argv = positional;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
			positional[a->argc++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			options_done = true;
		} else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			command_help(cmd);
			*status = EXIT_OK;
			return -1;
		} else if ((cmd->options & OPT_FORCE) && strcmp(arg, "--force") == 0) {
			a->force = true;
		} else if ((cmd->options & OPT_YES) && (strcmp(arg, "--yes") == 0 || strcmp(arg, "-y") == 0)) {
			a->yes = true;
		} else if ((cmd->options & OPT_JSON) && strcmp(arg, "--json") == 0) {
			a->json = true;
		} else if ((cmd->options & OPT_FILE) && strncmp(arg, "--file=", 7) == 0) {
			a->file = arg + 7;
		} else if ((cmd->options & OPT_FILE) && strcmp(arg, "--file") == 0) {
			if (i + 1 >= argc) {
				errorf("%s%s%s: --file needs a PATH", name, *name ? " " : "", cmd->name);
				*status = EXIT_USAGE;
				return -1;
			}
			a->file = argv[++i];
		} else {
			errorf("%s%s%s: unknown option '%s' (see '" PROGRAM " %s%s%s --help')",
			    name, *name ? " " : "", cmd->name, arg, name, *name ? " " : "", cmd->name);
			*status = EXIT_USAGE;
			return -1;
		}
	}
	if (a->argc < cmd->min_args || (cmd->max_args >= 0 && a->argc > cmd->max_args)) {
		errorf("usage: " PROGRAM " %s", cmd->synopsis);
		*status = EXIT_USAGE;
		return -1;
	}
	return 0;
}

/* Loads the configuration and opens the DynamoDB handle; -1 after reporting. */
static int
ctl_open(struct ctl *ctl)
{
	char *cause = NULL;
	enum log_level level;

	if (config_load(&ctl->cfg, CONFIG_NEED_STORE, &cause) == -1) {
		errorf("%s", cause != NULL ? cause : "bad configuration");
		free(cause);
		config_free(&ctl->cfg);
		return -1;
	}
	ctl->cfg_loaded = true;
	/* A CLI is quiet: LOG_LEVEL's default (info) becomes error, so a failure
	 * is one line; -v, or LOG_LEVEL=debug|warn|error, choose otherwise. */
	level = ctl->cfg.log_level == LOG_INFO ? LOG_ERROR : ctl->cfg.log_level;
	if (ctl->verbose == 1 && level > LOG_INFO)
		level = LOG_INFO;
	else if (ctl->verbose > 1)
		level = LOG_DEBUG;
	log_set_level(level);

	if ((ctl->ddb = ddb_new(&ctl->cfg)) == NULL) {
		errorf("cannot create a DynamoDB client for %s", ctl->cfg.endpoint);
		return -1;
	}
	return 0;
}

/* Releases what ctl_open acquired. */
static void
ctl_close(struct ctl *ctl)
{
	ddb_free(ctl->ddb);
	ctl->ddb = NULL;
	if (ctl->cfg_loaded)
		config_free(&ctl->cfg);
	ctl->cfg_loaded = false;
}

/* True for errors that mean the store could not be reached at all. */
static bool
is_unreachable(const struct ddb_error *err)
{
	return err->http_status == 0 &&
	    (strcmp(err->code, "NetworkError") == 0 || strcmp(err->code, "TimeoutError") == 0);
}

/* Reports a DynamoDB failure about table (may be NULL) as one line. */
static void
store_error(const struct ctl *ctl, const char *table, const struct ddb_error *err)
{
	if (is_unreachable(err))
		errorf("cannot reach DynamoDB at %s: %s %s", ctl->cfg.endpoint, err->code, err->message);
	else if (strcmp(err->code, "ResourceNotFoundException") == 0 && table != NULL)
		errorf("table %s does not exist (run '" PROGRAM " tables create')", table);
	else if (strcmp(err->code, "CredentialsError") == 0)
		errorf("%s", err->message[0] != '\0' ? err->message : "no AWS credentials");
	else if (table != NULL)
		errorf("%s: %s: %s", table, err->code, err->message);
	else
		errorf("DynamoDB at %s: %s: %s", ctl->cfg.endpoint, err->code, err->message);
}

/* Selects tables from short names (none: all four); -1 after reporting. */
static int
select_tables(struct args *a, bool selected[SCHEMA_COUNT])
{
	enum schema_table t;

	for (int i = 0; i < SCHEMA_COUNT; i++)
		selected[i] = a->argc == 0;
	for (int i = 0; i < a->argc; i++) {
		if (schema_parse(a->argv[i], &t) == -1) {
			errorf("unknown table '%s' (deliverables, metrics, updates or users)", a->argv[i]);
			return -1;
		}
		selected[t] = true;
	}
	return 0;
}

/* The string member name of o, or "" when absent; borrowed. */
static const char *
str_member(json_object *o, const char *name)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, name, &v) || v == NULL)
		return "";
	return json_object_get_string(v);
}

/* Creates the missing tables, then waits for all of them. */
static int
cmd_tables_create(struct ctl *ctl, struct args *a)
{
	bool selected[SCHEMA_COUNT], created[SCHEMA_COUNT] = { false };
	struct ddb_error err;
	unsigned ncreated = 0, nexisting = 0;

	if (select_tables(a, selected) == -1)
		return EXIT_USAGE;
	if (ctl_open(ctl) == -1)
		return EXIT_FAIL;

	/* Create first so DynamoDB builds the tables side by side. */
	for (int t = 0; t < SCHEMA_COUNT; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);
		json_object *desc = NULL, *req;
		int rc;

		if (!selected[t])
			continue;
		if (ddb_describe_table(ctl->ddb, name, &desc, &err) == 0) {
			json_object_put(desc);
			continue;
		}
		if (strcmp(err.code, "ResourceNotFoundException") != 0) {
			store_error(ctl, name, &err);
			return EXIT_FAIL;
		}
		req = schema_create_request((enum schema_table)t, name);
		rc = ddb_create_table(ctl->ddb, req, &err);
		json_object_put(req);
		if (rc == -1 && strcmp(err.code, "ResourceInUseException") != 0) {
			store_error(ctl, name, &err);
			return EXIT_FAIL;
		}
		created[t] = rc == 0;
	}

	for (int t = 0; t < SCHEMA_COUNT; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);

		if (!selected[t])
			continue;
		if (ddb_wait_table(ctl->ddb, name, true, TABLE_WAIT_MS, &err) == -1) {
			store_error(ctl, name, &err);
			return EXIT_FAIL;
		}
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

/* The AttributeType of attribute name in a table description; "?" if unknown. */
static const char *
attribute_type(json_object *desc, const char *name)
{
	json_object *defs;

	if (!json_object_object_get_ex(desc, "AttributeDefinitions", &defs))
		return "?";
	for (size_t i = 0; i < json_object_array_length(defs); i++) {
		json_object *d = json_object_array_get_idx(defs, i);

		if (strcmp(str_member(d, "AttributeName"), name) == 0)
			return str_member(d, "AttributeType");
	}
	return "?";
}

/* Prints a KeySchema as "id (N, HASH), month (N, RANGE)". */
static void
print_key_schema(json_object *desc, json_object *keys)
{
	for (size_t i = 0; i < json_object_array_length(keys); i++) {
		json_object *k = json_object_array_get_idx(keys, i);
		const char *name = str_member(k, "AttributeName");

		printf("%s%s (%s, %s)", i > 0 ? ", " : "", name, attribute_type(desc, name),
		    str_member(k, "KeyType"));
	}
}

/* Prints one table description as readable text. */
static void
print_description(json_object *desc)
{
	json_object *v, *indexes;

	printf("%s\n", str_member(desc, "TableName"));
	printf("  status:  %s\n", str_member(desc, "TableStatus"));
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
		printf("  billing: %s\n", str_member(v, "BillingMode"));
	if (json_object_object_get_ex(desc, "GlobalSecondaryIndexes", &indexes)) {
		for (size_t i = 0; i < json_object_array_length(indexes); i++) {
			json_object *gsi = json_object_array_get_idx(indexes, i);
			json_object *projection = NULL;

			printf("  index:   %s: ", str_member(gsi, "IndexName"));
			if (json_object_object_get_ex(gsi, "KeySchema", &v))
				print_key_schema(desc, v);
			json_object_object_get_ex(gsi, "Projection", &projection);
			printf("; projection %s; %s", str_member(projection, "ProjectionType"),
			    str_member(gsi, "IndexStatus"));
			if (json_object_object_get_ex(gsi, "ItemCount", &v))
				printf("; %s items", json_object_get_string(v));
			printf("\n");
		}
	}
}

/* Describes the tables as text or JSON lines. */
static int
cmd_tables_describe(struct ctl *ctl, struct args *a)
{
	bool selected[SCHEMA_COUNT];
	struct ddb_error err;
	unsigned missing = 0, shown = 0;

	if (select_tables(a, selected) == -1)
		return EXIT_USAGE;
	if (ctl_open(ctl) == -1)
		return EXIT_FAIL;

	for (int t = 0; t < SCHEMA_COUNT; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);
		json_object *desc = NULL;

		if (!selected[t])
			continue;
		if (ddb_describe_table(ctl->ddb, name, &desc, &err) == -1) {
			if (strcmp(err.code, "ResourceNotFoundException") != 0) {
				store_error(ctl, name, &err);
				return EXIT_FAIL;
			}
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
		errorf("%u table%s missing (run '" PROGRAM " tables create')", missing,
		    missing == 1 ? " is" : "s are");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Deletes the tables (with --yes) and waits until they are gone. */
static int
cmd_tables_delete(struct ctl *ctl, struct args *a)
{
	bool selected[SCHEMA_COUNT], deleted[SCHEMA_COUNT] = { false };
	struct ddb_error err;
	unsigned n = 0;

	if (select_tables(a, selected) == -1)
		return EXIT_USAGE;
	if (!a->yes) {
		errorf("refusing to delete tables and all their items without --yes");
		return EXIT_USAGE;
	}
	if (ctl_open(ctl) == -1)
		return EXIT_FAIL;

	for (int t = 0; t < SCHEMA_COUNT; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);

		if (!selected[t])
			continue;
		if (ddb_delete_table(ctl->ddb, name, &err) == 0) {
			deleted[t] = true;
		} else if (strcmp(err.code, "ResourceNotFoundException") == 0) {
			printf("%s: does not exist\n", name);
		} else {
			store_error(ctl, name, &err);
			return EXIT_FAIL;
		}
	}
	for (int t = 0; t < SCHEMA_COUNT; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);

		if (!deleted[t])
			continue;
		if (ddb_wait_table(ctl->ddb, name, false, TABLE_WAIT_MS, &err) == -1) {
			store_error(ctl, name, &err);
			return EXIT_FAIL;
		}
		printf("%s: deleted\n", name);
		n++;
	}
	printf("tables: %u deleted\n", n);
	return EXIT_OK;
}

/* The seed file to use when --file is not given; NULL when none is found.
 * Caller frees. */
static char *
seed_default_path(void)
{
	char exe[PATH_MAX];
	char *candidate;
	ssize_t n;

	if (access(PORTAL_DATADIR "/" SEED_FILE_NAME, R_OK) == 0)
		return xstrdup(PORTAL_DATADIR "/" SEED_FILE_NAME);
	/* Not installed: the data/ directory beside the build tree's portalctl/. */
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	candidate = xasprintf("%s/../data/" SEED_FILE_NAME, dirname(exe));
	if (access(candidate, R_OK) == 0)
		return candidate;
	free(candidate);
	return NULL;
}

/* Loads the seed data and reports the counts. */
static int
cmd_seed(struct ctl *ctl, struct args *a)
{
	struct seed_result result;
	struct ddb_error err;
	char *path, *cause = NULL;
	unsigned skipped = 0;
	int rc;

	if (a->file != NULL) {
		path = xstrdup(a->file);
	} else if ((path = seed_default_path()) == NULL) {
		errorf("no seed data in " PORTAL_DATADIR " nor beside the program; use --file PATH");
		return EXIT_FAIL;
	}
	if (ctl_open(ctl) == -1) {
		free(path);
		return EXIT_FAIL;
	}
	rc = seed_file(ctl->ddb, &ctl->cfg, path, a->force, time(NULL), &result, &err, &cause);
	if (rc == -1) {
		if (err.code[0] != '\0' && (is_unreachable(&err) ||
		    strcmp(err.code, "ResourceNotFoundException") == 0 ||
		    strcmp(err.code, "CredentialsError") == 0))
			store_error(ctl, NULL, &err);
		else
			errorf("seed: %s", cause != NULL ? cause : "failed");
		free(cause);
		free(path);
		return EXIT_FAIL;
	}
	for (int t = 0; t < SCHEMA_COUNT; t++)
		skipped += result.skipped[t];
	printf("seeded: %u deliverables, %u metrics, %u updates, %u users (%u skipped)\n",
	    result.written[SCHEMA_DELIVERABLES], result.written[SCHEMA_METRICS],
	    result.written[SCHEMA_UPDATES], result.written[SCHEMA_USERS], skipped);
	free(path);
	return EXIT_OK;
}

/* qsort comparison of C strings. */
static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_object *canonical_value(json_object *av);

/* A copy of an AttributeValue map with the names sorted and every value
 * canonical (new object). */
static json_object *
canonical_map(json_object *map)
{
	size_t n = (size_t)json_object_object_length(map), i = 0;
	const char **names = xcalloc(n + 1, sizeof *names);
	json_object *out = json_object_new_object();

	json_object_object_foreach(map, name, value) {
		(void)value;
		names[i++] = name;
	}
	qsort(names, i, sizeof *names, compare_strings);
	for (size_t j = 0; j < i; j++)
		json_object_object_add(out, names[j],
		    canonical_value(json_object_object_get(map, names[j])));
	free(names);
	return out;
}

/* qsort comparison of json string values. */
static int
compare_json_strings(const void *a, const void *b)
{
	json_object *const *x = a, *const *y = b;

	return strcmp(json_object_get_string(*x), json_object_get_string(*y));
}

/* A canonical copy of one AttributeValue: maps sorted by name, sets by value. */
static json_object *
canonical_value(json_object *av)
{
	json_object *out, *inner;

	if (!json_object_is_type(av, json_type_object) || json_object_object_length(av) != 1)
		return json_object_get(av);
	out = json_object_new_object();
	json_object_object_foreach(av, type, value) {
		if (strcmp(type, "M") == 0 && json_object_is_type(value, json_type_object)) {
			inner = canonical_map(value);
		} else if (strcmp(type, "L") == 0 && json_object_is_type(value, json_type_array)) {
			inner = json_object_new_array();
			for (size_t i = 0; i < json_object_array_length(value); i++)
				json_object_array_add(inner,
				    canonical_value(json_object_array_get_idx(value, i)));
		} else if ((strcmp(type, "SS") == 0 || strcmp(type, "NS") == 0 ||
		    strcmp(type, "BS") == 0) && json_object_is_type(value, json_type_array)) {
			inner = NULL;
			if (json_object_deep_copy(value, &inner, NULL) != 0) {
				json_object_put(inner);
				inner = json_object_get(value);
			} else {
				json_object_array_sort(inner, compare_json_strings);
			}
		} else {
			inner = json_object_get(value);
		}
		json_object_object_add(out, type, inner);
	}
	return out;
}

/* The key text of an item ("" when absent); borrowed. */
static const char *
item_key(json_object *item, const char **type)
{
	json_object *id;

	*type = "";
	if (!json_object_object_get_ex(item, SCHEMA_KEY, &id) || id == NULL ||
	    json_object_object_length(id) != 1)
		return "";
	json_object_object_foreach(id, t, v) {
		*type = t;
		return json_object_get_string(v);
	}
	return "";
}

/* qsort comparison of items by key: numbers by value, strings by bytes. */
static int
compare_items(const void *a, const void *b)
{
	json_object *const *x = a, *const *y = b;
	const char *tx, *ty;
	const char *kx = item_key(*x, &tx), *ky = item_key(*y, &ty);

	if (strcmp(tx, "N") == 0 && strcmp(ty, "N") == 0) {
		long double dx = strtold(kx, NULL), dy = strtold(ky, NULL);

		if (dx != dy)
			return dx < dy ? -1 : 1;
	}
	return strcmp(kx, ky);
}

/* Prints every item of the selected tables as JSON lines. */
static int
cmd_export(struct ctl *ctl, struct args *a)
{
	bool selected[SCHEMA_COUNT];
	struct ddb_error err;

	if (select_tables(a, selected) == -1)
		return EXIT_USAGE;
	if (ctl_open(ctl) == -1)
		return EXIT_FAIL;

	for (int t = 0; t < SCHEMA_COUNT; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);
		json_object *req, *items = NULL;
		int rc;

		if (!selected[t])
			continue;
		req = json_object_new_object();
		json_object_object_add(req, "TableName", json_object_new_string(name));
		json_object_object_add(req, "ConsistentRead", json_object_new_boolean(true));
		rc = ddb_scan_all(ctl->ddb, req, &items, &err);
		json_object_put(req);
		if (rc == -1) {
			store_error(ctl, name, &err);
			return EXIT_FAIL;
		}
		json_object_array_sort(items, compare_items);
		for (size_t i = 0; i < json_object_array_length(items); i++) {
			json_object *line = json_object_new_object();

			json_object_object_add(line, "table",
			    json_object_new_string(schema_short_name((enum schema_table)t)));
			json_object_object_add(line, "item",
			    canonical_map(json_object_array_get_idx(items, i)));
			puts(json_object_to_json_string_ext(line,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(line);
		}
		log_info("exported table", LOG_S("table", name),
		    LOG_I("items", json_object_array_length(items)));
		json_object_put(items);
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		errorf("cannot write the export: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* True when s holds only white space. */
static bool
is_blank(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	}
	return true;
}

/* Parses one export line into its table and item (a new reference in *item).
 * 0, or -1 with *why (caller frees). */
static int
import_parse_line(const char *text, size_t len, enum schema_table *table,
    json_object **item, char **why)
{
	json_tokener *tok = json_tokener_new();
	json_object *line, *tname = NULL, *it = NULL, *id = NULL, *key = NULL, *plain;
	enum json_tokener_error jerr;
	const char *cause = NULL;
	int rc = -1;

	*item = NULL;
	line = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (line == NULL || jerr != json_tokener_success ||
	    !is_blank(text + json_tokener_get_parse_end(tok))) {
		*why = xasprintf("invalid JSON: %s", line == NULL && jerr == json_tokener_continue ?
		    "unexpected end of line" : jerr != json_tokener_success ?
		    json_tokener_error_desc(jerr) : "text after the object");
		goto out;
	}
	if (!json_object_is_type(line, json_type_object)) {
		*why = xstrdup("not a JSON object");
		goto out;
	}
	json_object_object_foreach(line, field, value) {
		(void)value;
		if (strcmp(field, "table") != 0 && strcmp(field, "item") != 0) {
			*why = xasprintf("unknown field \"%s\" (expected \"table\" and \"item\")", field);
			goto out;
		}
	}
	if (!json_object_object_get_ex(line, "table", &tname) ||
	    !json_object_is_type(tname, json_type_string) ||
	    schema_parse(json_object_get_string(tname), table) == -1) {
		*why = xstrdup("\"table\" must be deliverables, metrics, updates or users");
		goto out;
	}
	if (!json_object_object_get_ex(line, "item", &it) ||
	    !json_object_is_type(it, json_type_object)) {
		*why = xstrdup("\"item\" must be an object of AttributeValues");
		goto out;
	}
	if ((plain = ddb_unmarshal_item(it, &cause)) == NULL) {
		*why = xasprintf("\"item\" is not a valid DynamoDB item: %s",
		    cause != NULL ? cause : "bad AttributeValue");
		goto out;
	}
	json_object_put(plain);
	if (!json_object_object_get_ex(it, SCHEMA_KEY, &id) ||
	    !json_object_object_get_ex(id, schema_key_type(*table), &key) ||
	    !json_object_is_type(key, json_type_string) || json_object_get_string_len(key) == 0) {
		*why = xasprintf("item has no key \"id\" of type %s", schema_key_type(*table));
		goto out;
	}
	*item = json_object_get(it);
	rc = 0;
out:
	json_object_put(line);
	json_tokener_free(tok);
	return rc;
}

/* Reads and checks every line of in into per-table arrays of items.
 * 0, or -1 after reporting the first bad line. */
static int
import_read(FILE *in, const char *source, json_object *items[SCHEMA_COUNT])
{
	json_object *seen = json_object_new_object();
	char *line = NULL, *why = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = -1;

	while ((len = getline(&line, &cap, in)) != -1) {
		enum schema_table t;
		json_object *item, *first;
		const char *ktype;
		char *dupkey;

		lineno++;
		if ((size_t)len > IMPORT_MAX_LINE_BYTES) {
			errorf("%s:%ld: line longer than %d bytes; nothing imported", source, lineno,
			    IMPORT_MAX_LINE_BYTES);
			goto out;
		}
		if (strlen(line) != (size_t)len) {
			errorf("%s:%ld: NUL byte in line; nothing imported", source, lineno);
			goto out;
		}
		if (is_blank(line))
			continue;
		if (import_parse_line(line, (size_t)len, &t, &item, &why) == -1) {
			errorf("%s:%ld: %s; nothing imported", source, lineno, why);
			free(why);
			goto out;
		}
		/* BatchWriteItem rejects two puts of one key in a request. */
		dupkey = xasprintf("%s\n%s", schema_short_name(t), item_key(item, &ktype));
		if (json_object_object_get_ex(seen, dupkey, &first)) {
			errorf("%s:%ld: %s id %s already on line %d; nothing imported", source,
			    lineno, schema_short_name(t), item_key(item, &ktype),
			    json_object_get_int(first));
			free(dupkey);
			json_object_put(item);
			goto out;
		}
		json_object_object_add(seen, dupkey, json_object_new_int((int)lineno));
		free(dupkey);
		json_object_array_add(items[t], item);
	}
	if (ferror(in)) {
		errorf("%s: %s", source, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	json_object_put(seen);
	return rc;
}

/* Writes the items of an export with BatchWriteItem, per table and chunk. */
static int
cmd_import(struct ctl *ctl, struct args *a)
{
	json_object *items[SCHEMA_COUNT];
	const char *source = a->argv[0];
	struct ddb_error err;
	FILE *in;
	int status = EXIT_FAIL;

	if (strcmp(source, "-") == 0) {
		in = stdin;
		source = "stdin";
	} else if ((in = fopen(source, "r")) == NULL) {
		errorf("%s: %s", source, strerror(errno));
		return EXIT_FAIL;
	}
	for (int t = 0; t < SCHEMA_COUNT; t++)
		items[t] = json_object_new_array();
	if (import_read(in, source, items) == -1)
		goto out;
	if (ctl_open(ctl) == -1)
		goto out;

	for (int t = 0; t < SCHEMA_COUNT; t++) {
		const char *name = schema_table_name(&ctl->cfg, (enum schema_table)t);
		size_t n = json_object_array_length(items[t]);

		for (size_t start = 0; start < n; start += DDB_BATCH_WRITE_MAX) {
			json_object *chunk = json_object_new_array();
			int rc;

			for (size_t i = start; i < n && i < start + DDB_BATCH_WRITE_MAX; i++)
				json_object_array_add(chunk,
				    json_object_get(json_object_array_get_idx(items[t], i)));
			rc = ddb_batch_write(ctl->ddb, name, chunk, NULL, &err);
			json_object_put(chunk);
			if (rc == -1) {
				store_error(ctl, name, &err);
				if (start > 0)
					errorf("%zu %s items were written before the failure", start,
					    schema_short_name((enum schema_table)t));
				goto out;
			}
		}
	}
	printf("imported: %zu deliverables, %zu metrics, %zu updates, %zu users\n",
	    json_object_array_length(items[SCHEMA_DELIVERABLES]),
	    json_object_array_length(items[SCHEMA_METRICS]),
	    json_object_array_length(items[SCHEMA_UPDATES]),
	    json_object_array_length(items[SCHEMA_USERS]));
	status = EXIT_OK;
out:
	for (int t = 0; t < SCHEMA_COUNT; t++)
		json_object_put(items[t]);
	if (in != stdin)
		fclose(in);
	return status;
}

/* Lists the users, sorted by id. */
static int
cmd_users_list(struct ctl *ctl, struct args *a)
{
	struct ddb_error err;
	json_object *req, *items = NULL;
	size_t n, wid = 2, wrole = 4, wemail = 5;
	int rc;

	if (ctl_open(ctl) == -1)
		return EXIT_FAIL;
	req = json_object_new_object();
	json_object_object_add(req, "TableName", json_object_new_string(ctl->cfg.table_users));
	json_object_object_add(req, "ConsistentRead", json_object_new_boolean(true));
	rc = ddb_scan_all(ctl->ddb, req, &items, &err);
	json_object_put(req);
	if (rc == -1) {
		store_error(ctl, ctl->cfg.table_users, &err);
		return EXIT_FAIL;
	}
	json_object_array_sort(items, compare_items);
	n = json_object_array_length(items);

	/* Replace each item by its plain form. */
	for (size_t i = 0; i < n; i++) {
		const char *cause = NULL;
		json_object *plain = ddb_unmarshal_item(json_object_array_get_idx(items, i), &cause);

		if (plain == NULL) {
			errorf("%s: unreadable item: %s", ctl->cfg.table_users, cause != NULL ? cause : "?");
			json_object_put(items);
			return EXIT_FAIL;
		}
		json_object_array_put_idx(items, i, plain);
		if (strlen(str_member(plain, "id")) > wid)
			wid = strlen(str_member(plain, "id"));
		if (strlen(str_member(plain, "role")) > wrole)
			wrole = strlen(str_member(plain, "role"));
		if (strlen(str_member(plain, "email")) > wemail)
			wemail = strlen(str_member(plain, "email"));
	}
	if (!a->json)
		printf("%-*s  %-*s  %-*s  %s\n", (int)wid, "ID", (int)wrole, "ROLE",
		    (int)wemail, "EMAIL", "NAME");
	for (size_t i = 0; i < n; i++) {
		json_object *u = json_object_array_get_idx(items, i);

		if (a->json)
			puts(json_object_to_json_string_ext(u,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			printf("%-*s  %-*s  %-*s  %s\n", (int)wid, str_member(u, "id"),
			    (int)wrole, str_member(u, "role"), (int)wemail, str_member(u, "email"),
			    str_member(u, "name"));
	}
	json_object_put(items);
	return EXIT_OK;
}

/* Sets the role of an existing user. */
static int
cmd_users_set_role(struct ctl *ctl, struct args *a)
{
	const char *id = a->argv[0], *role = a->argv[1];
	json_object *key, *extra, *names, *values, *old = NULL, *v;
	struct ddb_error err;
	bool known = false;
	int rc;

	for (size_t i = 0; i < ARRAY_LEN(roles); i++)
		known = known || strcmp(role, roles[i]) == 0;
	if (!known) {
		errorf("users set-role: unknown role '%s' (admin, team or client)", role);
		return EXIT_USAGE;
	}
	if (ctl_open(ctl) == -1)
		return EXIT_FAIL;

	key = json_object_new_object();
	json_object_object_add(key, SCHEMA_KEY, ddb_av_s(id));
	extra = json_object_new_object();
	names = json_object_new_object();
	values = json_object_new_object();
	json_object_object_add(names, "#role", json_object_new_string("role"));
	json_object_object_add(values, ":role", ddb_av_s(role));
	json_object_object_add(extra, "UpdateExpression", json_object_new_string("SET #role = :role"));
	json_object_object_add(extra, "ConditionExpression",
	    json_object_new_string("attribute_exists(" SCHEMA_KEY ")"));
	json_object_object_add(extra, "ExpressionAttributeNames", names);
	json_object_object_add(extra, "ExpressionAttributeValues", values);
	json_object_object_add(extra, "ReturnValues", json_object_new_string("UPDATED_OLD"));
	rc = ddb_update_item(ctl->ddb, ctl->cfg.table_users, key, extra, &old, &err);
	json_object_put(key);
	json_object_put(extra);
	if (rc == -1) {
		if (ddb_error_is_condition_failed(&err))
			errorf("no user with id '%s'", id);
		else
			store_error(ctl, ctl->cfg.table_users, &err);
		return EXIT_FAIL;
	}
	if (old != NULL && json_object_object_get_ex(old, "role", &v))
		printf("%s: role %s (was %s)\n", id, role, str_member(v, "S"));
	else
		printf("%s: role %s\n", id, role);
	json_object_put(old);
	return EXIT_OK;
}

/* Finds the command named by argv (one or two words); *used is how many. */
static const struct command *
find_command(int argc, char **argv, int *used)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		const struct command *c = &commands[i];

		if (c->group == NULL && strcmp(argv[0], c->name) == 0) {
			*used = 1;
			return c;
		}
		if (c->group != NULL && argc >= 2 && strcmp(argv[0], c->group) == 0 &&
		    strcmp(argv[1], c->name) == 0) {
			*used = 2;
			return c;
		}
	}
	return NULL;
}

/* True when word names a group of subcommands. */
static bool
is_group(const char *word)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		if (commands[i].group != NULL && strcmp(commands[i].group, word) == 0)
			return true;
	}
	return false;
}

/* Parses the global options, finds the command and runs it; the exit status. */
int
main(int argc, char **argv)
{
	struct ctl ctl;
	struct args a;
	const struct command *cmd;
	int i, used = 0, status;

	memset(&ctl, 0, sizeof ctl);
	log_set_level(LOG_ERROR);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			printf(PROGRAM " (turbotech-portal) %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
			ctl.verbose++;
		} else if (strcmp(argv[i], "-vv") == 0) {
			ctl.verbose += 2;
		} else {
			errorf("unknown option '%s' (see '" PROGRAM " --help')", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[i], "migrate") == 0)
		return cmd_migrate(argc - i - 1, argv + i + 1, ctl.verbose);
	if ((cmd = find_command(argc - i, argv + i, &used)) == NULL) {
		if (is_group(argv[i])) {
			if (i + 1 < argc && (strcmp(argv[i + 1], "--help") == 0 ||
			    strcmp(argv[i + 1], "-h") == 0)) {
				group_help(stdout, argv[i]);
				return EXIT_OK;
			}
			if (i + 1 >= argc)
				errorf("%s: missing subcommand (see '" PROGRAM " %s --help')",
				    argv[i], argv[i]);
			else
				errorf("unknown command '%s %s' (see '" PROGRAM " %s --help')",
				    argv[i], argv[i + 1], argv[i]);
		} else {
			errorf("unknown command '%s' (see '" PROGRAM " --help')", argv[i]);
		}
		return EXIT_USAGE;
	}
	if (parse_args(cmd, argc - i - used, argv + i + used, &a, &status) == -1) {
		free(a.argv);
		return status;
	}
	status = cmd->exec(&ctl, &a);
	free(a.argv);
	ctl_close(&ctl);
	return status;
}
