/* export.c - portalctl export | import: every item as JSON lines in DynamoDB's
 * AttributeValue form, canonical so two exports of the same data are equal,
 * and the checked, batched way back. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "portalctl.h"
#include "util.h"

#define IMPORT_MAX_LINE_BYTES	(1024 * 1024)	/* longest line import accepts */

static json_object *canonical_value(json_object *av);

/* qsort comparison of C strings. */
static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

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
 * 0, or -1 with *cause (caller frees). */
static int
import_parse_line(const char *text, size_t len, enum schema_table *table,
    json_object **item, char **cause)
{
	json_tokener *tok = json_tokener_new();
	json_object *line, *tname = NULL, *it = NULL, *id = NULL, *key = NULL, *plain;
	enum json_tokener_error jerr;
	const char *why = NULL;
	int rc = -1;

	*item = NULL;
	line = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (line == NULL || jerr != json_tokener_success ||
	    !is_blank(text + json_tokener_get_parse_end(tok))) {
		*cause = xasprintf("invalid JSON: %s", line == NULL && jerr == json_tokener_continue ?
		    "unexpected end of line" : jerr != json_tokener_success ?
		    json_tokener_error_desc(jerr) : "text after the object");
		goto out;
	}
	if (!json_object_is_type(line, json_type_object)) {
		*cause = xstrdup("not a JSON object");
		goto out;
	}
	json_object_object_foreach(line, field, value) {
		(void)value;
		if (strcmp(field, "table") != 0 && strcmp(field, "item") != 0) {
			*cause = xasprintf("unknown field \"%s\" (expected \"table\" and \"item\")", field);
			goto out;
		}
	}
	if (!json_object_object_get_ex(line, "table", &tname) ||
	    !json_object_is_type(tname, json_type_string) ||
	    schema_parse(json_object_get_string(tname), table) == -1) {
		*cause = xstrdup("\"table\" must be deliverables, metrics, updates or users");
		goto out;
	}
	if (!json_object_object_get_ex(line, "item", &it) ||
	    !json_object_is_type(it, json_type_object)) {
		*cause = xstrdup("\"item\" must be an object of AttributeValues");
		goto out;
	}
	if ((plain = ddb_unmarshal_item(it, &why)) == NULL) {
		*cause = xasprintf("\"item\" is not a valid DynamoDB item: %s",
		    why != NULL ? why : "bad AttributeValue");
		goto out;
	}
	json_object_put(plain);
	if (!json_object_object_get_ex(it, SCHEMA_KEY, &id) ||
	    !json_object_object_get_ex(id, schema_key_type(*table), &key) ||
	    !json_object_is_type(key, json_type_string) || json_object_get_string_len(key) == 0) {
		*cause = xasprintf("item has no key \"id\" of type %s", schema_key_type(*table));
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
			ctl_errorf("%s:%ld: line longer than %d bytes; nothing imported", source, lineno,
			    IMPORT_MAX_LINE_BYTES);
			goto out;
		}
		if (strlen(line) != (size_t)len) {
			ctl_errorf("%s:%ld: NUL byte in line; nothing imported", source, lineno);
			goto out;
		}
		if (is_blank(line))
			continue;
		if (import_parse_line(line, (size_t)len, &t, &item, &why) == -1) {
			ctl_errorf("%s:%ld: %s; nothing imported", source, lineno, why);
			free(why);
			goto out;
		}
		/* BatchWriteItem rejects two puts of one key in a request. */
		dupkey = xasprintf("%s\n%s", schema_short_name(t), ctl_item_key(item, &ktype));
		if (json_object_object_get_ex(seen, dupkey, &first)) {
			ctl_errorf("%s:%ld: %s id %s already on line %d; nothing imported", source,
			    lineno, schema_short_name(t), ctl_item_key(item, &ktype),
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
		ctl_errorf("%s: %s", source, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	json_object_put(seen);
	return rc;
}

/* Prints every item of the selected tables as JSON lines. */
static int
cmd_export(struct ctl *ctl, struct args *a)
{
	bool selected[SCHEMA_COUNT];
	struct ddb_error err;

	if (ctl_select_tables(a, selected) == -1)
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
			ctl_store_error(ctl, name, &err);
			return EXIT_FAIL;
		}
		json_object_array_sort(items, ctl_compare_items);
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
		ctl_errorf("cannot write the export: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const struct ctl_command cmd_export_entry = {
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
};

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
		ctl_errorf("%s: %s", source, strerror(errno));
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
				ctl_store_error(ctl, name, &err);
				if (start > 0)
					ctl_errorf("%zu %s items were written before the failure", start,
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

const struct ctl_command cmd_import_entry = {
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
};
