/* portalctl.c - the admin CLI: tables, seed data, export/import, user roles.
 *
 * A thin entry point over the library: this file holds the command table, the
 * option parsing, the help and the dispatch; each command group is a file of
 * its own (see portalctl.h). Every failure is one line "portalctl: ..." on
 * stderr and a non-zero exit. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "portalctl.h"
#include "util.h"

/* The commands, in the order --help lists them. Adding one is a line here and
 * a file that defines its entry beside its exec function. */
#define PORTALCTL_COMMANDS(X)		\
	X(cmd_tables_create_entry)	\
	X(cmd_tables_describe_entry)	\
	X(cmd_tables_delete_entry)	\
	X(cmd_seed_entry)		\
	X(cmd_export_entry)		\
	X(cmd_import_entry)		\
	X(cmd_users_list_entry)		\
	X(cmd_users_set_role_entry)	\
	X(cmd_digest_publish_entry)	\
	X(cmd_migrate_entry)

#define COMMAND_DECLARE(entry)	extern const struct ctl_command entry;
#define COMMAND_ADDRESS(entry)	&entry,
PORTALCTL_COMMANDS(COMMAND_DECLARE)

static const struct ctl_command *const commands[] = {
	PORTALCTL_COMMANDS(COMMAND_ADDRESS)
};

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
		fprintf(f, "  %-40s %s\n", commands[i]->synopsis, commands[i]->summary);
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
command_help(const struct ctl_command *cmd)
{
	printf("usage: " PROGRAM " %s\n\n%s.\n\n%s", cmd->synopsis, cmd->summary, cmd->help);
}

/* Prints the commands of one group (e.g. "tables") to f. */
static void
group_help(FILE *f, const char *group)
{
	fprintf(f, "usage: " PROGRAM " %s SUBCOMMAND [ARGS]\n\n", group);
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		if (commands[i]->group != NULL && strcmp(commands[i]->group, group) == 0)
			fprintf(f, "  %-40s %s\n", commands[i]->synopsis, commands[i]->summary);
	}
}

/* Parses the options and arguments of one command. Returns -1 to exit with
 * *status (help printed, or a usage error reported). */
static int
parse_args(const struct ctl_command *cmd, int argc, char **argv, struct args *a, int *status)
{
	char **positional = xcalloc((size_t)argc + 1, sizeof *positional);
	bool options_done = false;
	const char *name = cmd->group != NULL ? cmd->group : "";

	memset(a, 0, sizeof *a);
	a->argv = positional;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0 ||
		    ((cmd->options & OPT_OWN) && strcmp(arg, "--help") != 0 && strcmp(arg, "-h") != 0)) {
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
				ctl_errorf("%s%s%s: --file needs a PATH", name, *name ? " " : "", cmd->name);
				*status = EXIT_USAGE;
				return -1;
			}
			a->file = argv[++i];
		} else {
			ctl_errorf("%s%s%s: unknown option '%s' (see '" PROGRAM " %s%s%s --help')",
			    name, *name ? " " : "", cmd->name, arg, name, *name ? " " : "", cmd->name);
			*status = EXIT_USAGE;
			return -1;
		}
	}
	if (a->argc < cmd->min_args || (cmd->max_args >= 0 && a->argc > cmd->max_args)) {
		ctl_errorf("usage: " PROGRAM " %s", cmd->synopsis);
		*status = EXIT_USAGE;
		return -1;
	}
	return 0;
}

/* Finds the command named by argv (one or two words); *used is how many. */
static const struct ctl_command *
find_command(int argc, char **argv, int *used)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		const struct ctl_command *c = commands[i];

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
		if (commands[i]->group != NULL && strcmp(commands[i]->group, word) == 0)
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
	const struct ctl_command *cmd;
	int i, used = 0, status;

	memset(&ctl, 0, sizeof ctl);
	log_set_level(LOG_ERROR);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			printf(PROGRAM " (turbotech-portal) %s\n", PORTAL_VERSION);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
			ctl.verbose++;
		} else if (strcmp(argv[i], "-vv") == 0) {
			ctl.verbose += 2;
		} else {
			ctl_errorf("unknown option '%s' (see '" PROGRAM " --help')", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((cmd = find_command(argc - i, argv + i, &used)) == NULL) {
		if (is_group(argv[i])) {
			if (i + 1 < argc && (strcmp(argv[i + 1], "--help") == 0 ||
			    strcmp(argv[i + 1], "-h") == 0)) {
				group_help(stdout, argv[i]);
				return EXIT_OK;
			}
			if (i + 1 >= argc)
				ctl_errorf("%s: missing subcommand (see '" PROGRAM " %s --help')",
				    argv[i], argv[i]);
			else
				ctl_errorf("unknown command '%s %s' (see '" PROGRAM " %s --help')",
				    argv[i], argv[i + 1], argv[i]);
		} else {
			ctl_errorf("unknown command '%s' (see '" PROGRAM " --help')", argv[i]);
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
