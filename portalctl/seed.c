/* seed.c - portalctl seed: loads the seed data (src/seed.c does the work). */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portalctl.h"
#include "seed.h"
#include "util.h"

#ifndef PORTAL_DATADIR
#define PORTAL_DATADIR "/usr/local/share/turbotech-portal"
#endif
#define SEED_FILE_NAME		"seed-data.json"

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
	struct seed_error err;
	char *path;
	unsigned skipped = 0;
	int rc;

	if (a->file != NULL) {
		path = xstrdup(a->file);
	} else if ((path = seed_default_path()) == NULL) {
		ctl_errorf("no seed data in " PORTAL_DATADIR " nor beside the program; use --file PATH");
		return EXIT_FAIL;
	}
	if (ctl_open(ctl) == -1) {
		free(path);
		return EXIT_FAIL;
	}
	rc = seed_file(ctl->ddb, &ctl->cfg, path, a->force, time(NULL), &result, &err);
	if (rc == -1) {
		if (err.store.code[0] != '\0' && (ctl_store_unreachable(&err.store) ||
		    strcmp(err.store.code, "ResourceNotFoundException") == 0 ||
		    strcmp(err.store.code, "CredentialsError") == 0))
			ctl_store_error(ctl, NULL, &err.store);
		else
			ctl_errorf("seed: %s", err.cause != NULL ? err.cause : "failed");
		seed_error_reset(&err);
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

const struct ctl_command cmd_seed_entry = {
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
};
