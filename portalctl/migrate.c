/* migrate.c - 'portalctl migrate': the legacy PostgreSQL data into the
 * DynamoDB tables (SPEC §9). Parses the flags, opens the source and the
 * store, runs migrate_run() and prints the report; the work is in
 * src/migrate.c. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "ddb.h"
#include "log.h"
#include "migrate.h"
#include "portalctl.h"
#include "schema.h"
#include "util.h"

#define MIGRATE_PROGRAM		"portalctl"
#define MIGRATE_PROGRESS_LINE_MS 2000	/* at most this long between progress lines */
#define MIGRATE_EXIT_OK		0
#define MIGRATE_EXIT_FAIL	1
#define MIGRATE_EXIT_USAGE	2

static const char migrate_help[] =
    "Moves the data of the original PostgreSQL system into the four\n"
    "DynamoDB tables, read from one consistent snapshot (a REPEATABLE READ,\n"
    "READ ONLY transaction); the source is never written.\n\n"
    "  --from URI   postgresql://USER[:PASS]@HOST[:PORT]/DB (or a libpq conninfo;\n"
    "               PGPASSWORD, PGSSLMODE and the other PG* variables apply)\n"
    "  --dry-run    read, map and compare with the tables; write nothing\n"
    "  --strict     stop before the first write when any row is refused\n"
    "  --force      overwrite items changed in DynamoDB since the last run; go on\n"
    "               with an unknown alembic_version\n"
    "  --verify     after the run, read the tables back and compare counts and\n"
    "               every item with the snapshot; exit 1 on any difference\n"
    "  --json       the report as one JSON line\n\n"
    "Running it again is safe: unchanged items are left alone, an interrupted\n"
    "run is finished. Refused rows (a value the new model does not take) are\n"
    "listed on stderr with their table and legacy id, and skipped. Progress\n"
    "goes to stderr, the report to stdout.\n";

/* Parsed flags. */
struct migrate_args {
	const char		*from;
	bool			 json;
	struct migrate_options	 opt;
};

/* What the hooks print with. */
struct migrate_cli {
	bool		 json;
	int64_t		 last_line_ms;
	unsigned long	 kept_shown;
};

/* Prints "portalctl: migrate: message" on stderr. */
static void __attribute__((format(printf, 1, 2)))
migrate_errorf(const char *fmt, ...)
{
	va_list ap;

	fputs(MIGRATE_PROGRAM ": migrate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Parses the flags; -1 with *status when done (help, usage error). */
static int
migrate_parse(int argc, char **argv, struct migrate_args *a, int *status)
{
	memset(a, 0, sizeof *a);
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--from") == 0) {
			if (i + 1 >= argc) {
				migrate_errorf("--from needs a URI");
				*status = MIGRATE_EXIT_USAGE;
				return -1;
			}
			a->from = argv[++i];
		} else if (strncmp(arg, "--from=", 7) == 0) {
			a->from = arg + 7;
		} else if (strcmp(arg, "--dry-run") == 0) {
			a->opt.dry_run = true;
		} else if (strcmp(arg, "--strict") == 0) {
			a->opt.strict = true;
		} else if (strcmp(arg, "--force") == 0) {
			a->opt.force = true;
		} else if (strcmp(arg, "--verify") == 0) {
			a->opt.verify = true;
		} else if (strcmp(arg, "--json") == 0) {
			a->json = true;
		} else {
			migrate_errorf("unknown argument '%s' (see '" MIGRATE_PROGRAM " migrate --help')", arg);
			*status = MIGRATE_EXIT_USAGE;
			return -1;
		}
	}
	if (a->from == NULL || *a->from == '\0') {
		migrate_errorf("--from postgresql://USER[:PASS]@HOST[:PORT]/DB is required");
		*status = MIGRATE_EXIT_USAGE;
		return -1;
	}
	return 0;
}

/* A refused row: table, legacy id, reason. */
static void
on_refused(void *ctx, enum schema_table table, const char *legacy_id, const char *reason)
{
	(void)ctx;
	fprintf(stderr, "refused: %s id %s: %s\n", schema_short_name(table), legacy_id, reason);
}

/* An item changed in DynamoDB since the last run. */
static void
on_kept(void *ctx, enum schema_table table, const char *key, bool forced)
{
	(void)ctx;
	fprintf(stderr, "%s: %s %s: changed in DynamoDB since the last run\n",
	    forced ? "overwritten" : "kept", schema_short_name(table), key);
}

/* A verify difference. */
static void
on_difference(void *ctx, enum schema_table table, const char *key, const char *what)
{
	(void)ctx;
	if (key != NULL)
		fprintf(stderr, "verify: %s %s: %s\n", schema_short_name(table), key, what);
	else
		fprintf(stderr, "verify: %s: %s\n", schema_short_name(table), what);
}

/* A progress line: the pass, the table and its counts so far. */
static void
on_progress(void *ctx, const char *pass, enum schema_table table, const struct migrate_report *report)
{
	struct migrate_cli *cli = ctx;
	const struct migrate_counts *c = &report->t[table];
	int64_t now = mono_ms();

	(void)cli;
	cli->last_line_ms = now;
	if (strcmp(pass, "verify") == 0)
		fprintf(stderr, "migrate: verify %s: %lu equal, %lu missing, %lu different\n",
		    schema_short_name(table), c->verified, c->missing, c->different);
	else
		fprintf(stderr, "migrate: %s %s: %lu rows read, %lu written, %lu unchanged, %lu skipped\n",
		    pass, schema_short_name(table), c->read, c->written, c->unchanged, c->skipped);
}

/* The text report on stdout. */
static void
print_report(const struct migrate_report *r, const struct migrate_options *opt)
{
	printf("%-14s %10s %10s %10s %10s\n", "table", "read",
	    opt->dry_run ? "to write" : "written", "skipped", "unchanged");
	for (int t = 0; t < SCHEMA_COUNT; t++) {
		const struct migrate_counts *c = &r->t[t];

		printf("%-14s %10lu %10lu %10lu %10lu", schema_short_name((enum schema_table)t),
		    c->read, c->written, c->skipped, c->unchanged);
		if (c->refused || c->kept || c->forced) {
			printf("  (");
			if (c->refused)
				printf("%lu refused%s", c->refused, c->kept || c->forced ? ", " : "");
			if (c->kept)
				printf("%lu changed since the last run, kept%s", c->kept, c->forced ? ", " : "");
			if (c->forced)
				printf("%lu changed since the last run, overwritten", c->forced);
			printf(")");
		}
		printf("\n");
	}
	if (opt->dry_run)
		printf("dry run: nothing was written\n");
	if (r->verified) {
		for (int t = 0; t < SCHEMA_COUNT; t++) {
			const struct migrate_counts *c = &r->t[t];

			printf("verify %-12s %lu equal, %lu missing, %lu different, %lu items in the table\n",
			    schema_short_name((enum schema_table)t), c->verified, c->missing,
			    c->different, c->stored);
		}
		if (r->differences == 0)
			printf("verify: the tables equal the source\n");
		else
			printf("verify: %lu difference(s)\n", r->differences);
	}
}

/* The command: see migrate_help. */
static int
cmd_migrate(int argc, char **argv, int verbose)
{
	struct migrate_args a;
	struct migrate_cli cli = { 0 };
	struct migrate_hooks hooks = {
		.ctx = &cli, .refused = on_refused, .kept = on_kept,
		.difference = on_difference, .progress = on_progress,
	};
	struct migrate_report report;
	struct migrate_source *src = NULL;
	struct config cfg;
	struct ddb *ddb = NULL;
	struct ddb_error err;
	char *cause = NULL, *warning = NULL;
	enum log_level level;
	int status;

	if (migrate_parse(argc, argv, &a, &status) == -1)
		return status;
	if (!migrate_have_libpq()) {
		migrate_source_open(a.from, false, &src, &warning, &cause);
		migrate_errorf("%s", cause);
		free(cause);
		return MIGRATE_EXIT_FAIL;
	}
	memset(&cfg, 0, sizeof cfg);
	if (config_load(&cfg, CONFIG_NEED_STORE, &cause) == -1) {
		migrate_errorf("%s", cause != NULL ? cause : "bad configuration");
		free(cause);
		config_free(&cfg);
		return MIGRATE_EXIT_FAIL;
	}
	/* Quiet unless asked, as every portalctl command. */
	level = cfg.log_level == LOG_INFO ? LOG_ERROR : cfg.log_level;
	if (verbose == 1 && level > LOG_INFO)
		level = LOG_INFO;
	else if (verbose > 1)
		level = LOG_DEBUG;
	log_set_level(level);
	status = MIGRATE_EXIT_FAIL;
	if ((ddb = ddb_new(&cfg)) == NULL) {
		migrate_errorf("cannot create a DynamoDB client for %s", cfg.endpoint);
		goto out;
	}
	if (migrate_source_open(a.from, a.opt.force, &src, &warning, &cause) == -1) {
		migrate_errorf("%s", cause);
		goto out;
	}
	if (warning != NULL)
		fprintf(stderr, MIGRATE_PROGRAM ": migrate: warning: %s\n", warning);
	cli.json = a.json;
	cli.last_line_ms = mono_ms();
	if (migrate_run(src, ddb, &cfg, &a.opt, &hooks, &report, &err, &cause) == -1) {
		unsigned long written = 0;

		for (int t = 0; t < SCHEMA_COUNT; t++)
			written += report.t[t].written;
		if (err.code[0] != '\0' && strcmp(err.code, "ResourceNotFoundException") == 0)
			migrate_errorf("%s (does the table exist? 'portalctl tables create')", cause);
		else
			migrate_errorf("%s", cause);
		if (!a.opt.dry_run && written > 0)
			fprintf(stderr, MIGRATE_PROGRAM ": migrate: %lu item(s) were written before "
			    "the failure; run the same command again to finish\n", written);
		goto out;
	}
	if (report.stopped_strict) {
		unsigned long refused = 0;

		for (int t = 0; t < SCHEMA_COUNT; t++)
			refused += report.t[t].refused;
		migrate_errorf("--strict: %lu row(s) refused, nothing written", refused);
		goto out;
	}
	if (a.json) {
		json_object *j = migrate_report_json(&report);

		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else {
		print_report(&report, &a.opt);
	}
	fflush(stdout);
	status = report.differences > 0 ? MIGRATE_EXIT_FAIL : MIGRATE_EXIT_OK;
out:
	free(cause);
	free(warning);
	migrate_source_close(src);
	ddb_free(ddb);
	config_free(&cfg);
	return status;
}

/* The table's entry: migrate parses its own flags. */
static int
cmd_migrate_exec(struct ctl *ctl, struct args *a)
{
	return cmd_migrate(a->argc, a->argv, ctl->verbose);
}

const struct ctl_command cmd_migrate_entry = {
	.name = "migrate",
	.synopsis = "migrate --from URI [--dry-run] [--strict] [--force] [--verify] [--json]",
	.summary = "move the legacy PostgreSQL data into the tables",
	.help = migrate_help,
	.options = OPT_OWN, .min_args = 0, .max_args = -1, .exec = cmd_migrate_exec,
};
