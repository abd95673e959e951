/* portalctl.h - what the portalctl commands share.
 *
 * One file per command group (tmux's cmd-*.c): tables.c, seed.c, export.c
 * (export and import), users.c. Each defines a `const struct ctl_command
 * cmd_*_entry` beside its exec function; portalctl.c lists the entries, one
 * line each, and does the parsing, help and dispatch. ctl.c holds the helpers
 * every command uses (ctl_*). */
#ifndef PORTALCTL_H
#define PORTALCTL_H

#include <stdbool.h>

#include <json-c/json.h>

#include "config.h"
#include "ddb.h"
#include "schema.h"

#define PROGRAM			"portalctl"
#define EXIT_OK			0
#define EXIT_FAIL		1
#define EXIT_USAGE		2

/* Flags a command may accept. */
enum {
	OPT_FORCE = 1 << 0,
	OPT_YES = 1 << 1,
	OPT_JSON = 1 << 2,
	OPT_FILE = 1 << 3,
	OPT_OWN = 1 << 4,	/* the command parses its own options (all but --help) */
};

/* Parsed command line of one command (argv borrowed from main's). */
struct args {
	bool		  force;
	bool		  yes;
	bool		  json;
	const char	 *file;
	int		  argc;		/* positional arguments */
	char		**argv;
};

/* What every command works with: ctl_open fills it, main releases it. */
struct ctl {
	struct config	 cfg;
	bool		 cfg_loaded;
	struct ddb	*ddb;
	int		 verbose;
};

/* One command: its words, its help, what it accepts, and what runs it. exec
 * returns the exit status (EXIT_*). */
struct ctl_command {
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

/* Prints "portalctl: message" as one line on stderr. */
void	ctl_errorf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Loads the configuration and opens the store; -1 after reporting. Paired
 * with ctl_close, which main calls. */
int	ctl_open(struct ctl *);
void	ctl_close(struct ctl *);

/* True for store errors that mean DynamoDB could not be reached at all. */
bool	ctl_store_unreachable(const struct ddb_error *);

/* Reports a store failure about table (may be NULL) as one line. */
void	ctl_store_error(const struct ctl *, const char *table, const struct ddb_error *);

/* Selects tables from the positional short names (none: all); -1 after
 * reporting an unknown name. */
int	ctl_select_tables(struct args *, bool selected[SCHEMA_COUNT]);
/* The same; with_idempotency adds the idempotency table (SCHEMA_TABLES entries). */
int	ctl_select_tables_of(struct args *, bool *selected, bool with_idempotency);

/* The string member name of o, or "" when absent; borrowed. */
const char *ctl_str_member(json_object *o, const char *name);

/* The key text of an AttributeValue item ("" when absent) and its type in
 * *type; both borrowed. */
const char *ctl_item_key(json_object *item, const char **type);

/* qsort comparison of items (json_object **) by key: numbers by value. */
int	ctl_compare_items(const void *, const void *);

#endif /* PORTALCTL_H */
