/* cmd_migrate.h - 'portalctl migrate' (portalctl/migrate.c): SPEC §9. */
#ifndef PORTAL_CMD_MIGRATE_H
#define PORTAL_CMD_MIGRATE_H

#define CMD_MIGRATE_SYNOPSIS \
	"migrate --from URI [--dry-run] [--strict] [--force] [--verify] [--json]"
#define CMD_MIGRATE_SUMMARY	"move the legacy PostgreSQL data into the tables"

/* Runs 'portalctl migrate' with the arguments after the word "migrate";
 * verbose is the count of -v. Returns the exit status. */
int cmd_migrate(int argc, char **argv, int verbose);

#endif
