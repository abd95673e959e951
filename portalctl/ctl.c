/* ctl.c - what every portalctl command uses: one-line errors, the
 * configuration and store handle, table selection, item keys. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "portalctl.h"

/* Prints "portalctl: message" as one line on stderr. */
void
ctl_errorf(const char *fmt, ...)
{
	va_list ap;

	fputs(PROGRAM ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Loads the configuration and opens the DynamoDB handle; -1 after reporting. */
int
ctl_open(struct ctl *ctl)
{
	char *cause = NULL;
	enum log_level level;

	if (config_load(&ctl->cfg, CONFIG_NEED_STORE, &cause) == -1) {
		ctl_errorf("%s", cause != NULL ? cause : "bad configuration");
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
		ctl_errorf("cannot create a DynamoDB client for %s", ctl->cfg.endpoint);
		return -1;
	}
	return 0;
}

/* Releases what ctl_open acquired. */
void
ctl_close(struct ctl *ctl)
{
	ddb_free(ctl->ddb);
	ctl->ddb = NULL;
	if (ctl->cfg_loaded)
		config_free(&ctl->cfg);
	ctl->cfg_loaded = false;
}

/* True for errors that mean the store could not be reached at all. */
bool
ctl_store_unreachable(const struct ddb_error *err)
{
	return err->http_status == 0 &&
	    (strcmp(err->code, "NetworkError") == 0 || strcmp(err->code, "TimeoutError") == 0);
}

/* Reports a DynamoDB failure about table (may be NULL) as one line. */
void
ctl_store_error(const struct ctl *ctl, const char *table, const struct ddb_error *err)
{
	if (ctl_store_unreachable(err))
		ctl_errorf("cannot reach DynamoDB at %s: %s %s", ctl->cfg.endpoint, err->code, err->message);
	else if (strcmp(err->code, "ResourceNotFoundException") == 0 && table != NULL)
		ctl_errorf("table %s does not exist (run '" PROGRAM " tables create')", table);
	else if (strcmp(err->code, "CredentialsError") == 0)
		ctl_errorf("%s", err->message[0] != '\0' ? err->message : "no AWS credentials");
	else if (table != NULL)
		ctl_errorf("%s: %s: %s", table, err->code, err->message);
	else
		ctl_errorf("DynamoDB at %s: %s: %s", ctl->cfg.endpoint, err->code, err->message);
}

/* Selects tables from short names (none: all four); -1 after reporting.
 * with_idempotency: the tables commands also take the idempotency table
 * (selected then has SCHEMA_TABLES entries). */
int
ctl_select_tables_of(struct args *a, bool *selected, bool with_idempotency)
{
	enum schema_table t;
	int n = with_idempotency ? SCHEMA_TABLES : SCHEMA_COUNT;

	for (int i = 0; i < n; i++)
		selected[i] = a->argc == 0;
	for (int i = 0; i < a->argc; i++) {
		if (with_idempotency && strcmp(a->argv[i], "idempotency") == 0) {
			selected[SCHEMA_IDEMPOTENCY] = true;
			continue;
		}
		if (schema_parse(a->argv[i], &t) == -1) {
			ctl_errorf("unknown table '%s' (deliverables, metrics, updates or users)", a->argv[i]);
			return -1;
		}
		selected[t] = true;
	}
	return 0;
}

/* The content tables named (none: all four). */
int
ctl_select_tables(struct args *a, bool selected[SCHEMA_COUNT])
{
	return ctl_select_tables_of(a, selected, false);
}

/* The string member name of o, or "" when absent; borrowed. */
const char *
ctl_str_member(json_object *o, const char *name)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, name, &v) || v == NULL)
		return "";
	return json_object_get_string(v);
}

/* The key text of an item ("" when absent); borrowed. */
const char *
ctl_item_key(json_object *item, const char **type)
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
int
ctl_compare_items(const void *a, const void *b)
{
	json_object *const *x = a, *const *y = b;
	const char *tx, *ty;
	const char *kx = ctl_item_key(*x, &tx), *ky = ctl_item_key(*y, &ty);

	if (strcmp(tx, "N") == 0 && strcmp(ty, "N") == 0) {
		long double dx = strtold(kx, NULL), dy = strtold(ky, NULL);

		if (dx != dy)
			return dx < dy ? -1 : 1;
	}
	return strcmp(kx, ky);
}
