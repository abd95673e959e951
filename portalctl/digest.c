/* digest.c - `portalctl digest publish`: the digest of the last N days posted
 * to the feed as the system author, once per N and UTC hour (the library's
 * digest_publish_run, which the API route and the Lambda schedule share). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "config.h"
#include "ddb.h"
#include "digest.h"
#include "digest_publish.h"
#include "log.h"
#include "model_updates.h"
#include "util.h"

#include "portalctl.h"
/* The whole run (reads, the LLM call, the write) ends within this. */
#define PUBLISH_BUDGET_MS	60000

/* Parses `[--days N] [--json]` (--help is the table's); -1 with *status
 * when the run ends here. */
static int
parse_publish(int argc, char **argv, long *days, bool *json, int *status)
{
	const char *v;

	*days = DIGEST_DAYS_DEFAULT;
	*json = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			*json = true;
		} else if (strcmp(argv[i], "--days") == 0 || strncmp(argv[i], "--days=", 7) == 0) {
			if (argv[i][6] == '=')
				v = argv[i] + 7;
			else if (i + 1 < argc)
				v = argv[++i];
			else
				v = NULL;
			if (v == NULL || digest_parse_days(v, days) == -1) {
				fprintf(stderr, PROGRAM ": digest publish: --days must be an integer from %d to %d\n",
				    DIGEST_DAYS_MIN, DIGEST_DAYS_MAX);
				*status = EXIT_USAGE;
				return -1;
			}
		} else {
			fprintf(stderr, PROGRAM ": digest publish: unknown argument '%s' (see '"
			    PROGRAM " digest publish --help')\n", argv[i]);
			*status = EXIT_USAGE;
			return -1;
		}
	}
	return 0;
}

/* Prints what happened: one line, or one JSON line with --json. */
static void
print_result(json_object *update, bool posted, bool json)
{
	json_object *out, *view;

	if (!json) {
		printf("%s digest %s: %s\n", posted ? "posted" : "already posted this hour:",
		    model_string(update, "id") ?: "?", model_string(update, "title") ?: "");
		return;
	}
	out = json_object_new_object();
	view = updates_item_view(update, NULL);
	json_object_object_add(out, "published", json_object_new_boolean(posted));
	json_object_object_add(out, "update", view);
	printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
}

/* `digest publish`: configuration, store, one publish. */
static int
cmd_digest_publish(struct ctl *ctl, struct args *a)
{
	static const struct digest_publish_author author = {
		.id = DIGEST_PUBLISH_SYSTEM_ID, .name = DIGEST_PUBLISH_SYSTEM_NAME,
	};
	struct config cfg;
	struct ddb *ddb;
	struct ddb_error err;
	json_object *update = NULL;
	enum log_level level;
	char *cause = NULL;
	bool json, posted;
	long days;
	int status = EXIT_FAIL;
	int64_t deadline;

	if (parse_publish(a->argc, a->argv, &days, &json, &status) == -1)
		return status;
	if (config_load(&cfg, CONFIG_NEED_STORE, &cause) == -1) {
		fprintf(stderr, PROGRAM ": %s\n", cause != NULL ? cause : "bad configuration");
		free(cause);
		config_free(&cfg);
		return EXIT_FAIL;
	}
	/* Quiet like the other commands: errors only, unless -v or LOG_LEVEL says more. */
	level = cfg.log_level == LOG_INFO ? LOG_ERROR : cfg.log_level;
	if (ctl->verbose == 1 && level > LOG_INFO)
		level = LOG_INFO;
	else if (ctl->verbose > 1)
		level = LOG_DEBUG;
	log_set_level(level);
	if ((ddb = ddb_new(&cfg)) == NULL) {
		fprintf(stderr, PROGRAM ": cannot create a DynamoDB client for %s\n", cfg.endpoint);
		goto out_config;
	}
	deadline = now_ms() + PUBLISH_BUDGET_MS;
	ddb_set_deadline(ddb, deadline);
	if (digest_publish_run(ddb, &cfg, days, &author, time(NULL), deadline, &update, &posted,
	    &err) != MODEL_OK) {
		fprintf(stderr, PROGRAM ": digest publish: %s: %s: %s\n", cfg.table_updates, err.code, err.message);
		goto out_ddb;
	}
	print_result(update, posted, json);
	json_object_put(update);
	status = EXIT_OK;
out_ddb:
	ddb_free(ddb);
out_config:
	config_free(&cfg);
	return status;
}

const struct ctl_command cmd_digest_publish_entry = {
	.group = "digest", .name = "publish",
	.synopsis = "digest publish [--days N] [--json]",
	.summary = "post the digest to the feed (once an hour)",
	.help =
	    "Posts the digest of the last N days (1-90, default 7) to the feed as an\n"
	    "update of type \"digest\" by the system author " DIGEST_PUBLISH_SYSTEM_ID
	    " (\"" DIGEST_PUBLISH_SYSTEM_NAME "\"),\n"
	    "written by the LLM when DIGEST_API_URL, DIGEST_API_KEY and DIGEST_MODEL are\n"
	    "set, else built in. A second publish with the same N in the same UTC clock\n"
	    "hour posts nothing and exits 0 (safe to retry from cron or a systemd timer).\n"
	    "  --days N   the period in days (default 7)\n"
	    "  --json     print {\"published\":bool,\"update\":{...}} as one JSON line\n"
	    "Exits 0 when the digest is posted or was already posted this hour, 1 when\n"
	    "the store fails, 2 on a usage error.\n",
	.options = OPT_OWN, .min_args = 0, .max_args = -1, .exec = cmd_digest_publish,
};
