/* ddb_test.c - the DynamoDB module against a real dynalite (started by
 * tests/integration/ddb.sh), plus the answers dynalite never gives (5xx,
 * throttling, unprocessed batches, transactions, slow answers) from the
 * stand-in tests/data/ddb/standin.js, and a closed port for the network path.
 *
 * Environment (set by ddb.sh): AWS_ENDPOINT_URL_DYNAMODB and dummy
 * credentials, PORTAL_TABLE_PREFIX, DDB_STANDIN_URL, top_srcdir. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "ddb.h"
#include "util.h"

#define TABLE_WAIT_MS		10000
#define BIG_ITEMS		300	/* 300 items of 4 KB: more than one 1 MB page */
#define BIG_ITEM_BYTES		4000
#define BATCH_GET_KEYS		250
#define DELETED_ITEMS		30
#define PAGE_LIMIT		100
#define DOWN_BOUND_MS		5000	/* a bound, not a speed target */
#define DEADLINE_MS		300

struct fixture {
	struct config	 cfg;
	struct config	 standin_cfg;	/* cfg with the stand-in's endpoint */
	struct ddb	*ddb;
	struct ddb	*standin;
	char		*deliverables;
	char		*updates;
	char		*big;
};

static struct fixture fx;

/* Parses JSON text written by the test itself. */
static json_object *
jparse(const char *text)
{
	json_object	*obj = json_tokener_parse(text);

	if (obj == NULL)
		fail_msg("test JSON does not parse: %s", text);
	return obj;
}

/* An item (AttributeValue map) from plain JSON text. */
static json_object *
item_from(const char *plain_text)
{
	json_object	*plain = jparse(plain_text), *item;
	const char	*cause = NULL;

	item = ddb_marshal_item(plain, &cause);
	if (item == NULL)
		fail_msg("marshal failed: %s", cause);
	json_object_put(plain);
	return item;
}

/* Serialises obj compactly (borrowed from obj). */
static const char *
text_of(json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The plain JSON text of a member of a plain object, for comparisons. */
static const char *
member_text(json_object *plain, const char *name)
{
	json_object	*v;

	if (!json_object_object_get_ex(plain, name, &v))
		return "(absent)";
	return text_of(v);
}

/* Reads an item by key (plain JSON text) and unmarshals it; NULL when absent. */
static json_object *
read_back(const char *table, const char *key_text)
{
	json_object	*key = item_from(key_text), *item = NULL, *plain;
	struct ddb_error err;
	const char	*cause = NULL;

	if (ddb_get_item(fx.ddb, table, key, true, &item, &err) == -1)
		fail_msg("GetItem failed: %s %s", err.code, err.message);
	json_object_put(key);
	if (item == NULL)
		return NULL;
	plain = ddb_unmarshal_item(item, &cause);
	assert_non_null(plain);
	json_object_put(item);
	return plain;
}

/* Reads a whole test data file into a new string. */
static char *
read_data_file(const char *name)
{
	const char	*srcdir = config_env("top_srcdir");
	char		*path, *data;
	FILE		*f;
	long		 len;

	path = xasprintf("%s/tests/data/ddb/%s", srcdir != NULL ? srcdir : ".", name);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = xmalloc((size_t)len + 1);
	assert_int_equal(fread(data, 1, (size_t)len, f), (size_t)len);
	data[len] = '\0';
	fclose(f);
	free(path);
	return data;
}

/* Loads the configuration from the environment and opens both handles. */
static int
setup(void **state)
{
	char	*cause = NULL;
	const char *standin = config_env("DDB_STANDIN_URL");

	(void)state;
	if (config_load(&fx.cfg, CONFIG_NEED_STORE, &cause) == -1) {
		fprintf(stderr, "# config: %s\n", cause);
		free(cause);
		return -1;
	}
	if (standin == NULL) {
		fprintf(stderr, "# DDB_STANDIN_URL is not set: run tests/integration/ddb.sh\n");
		return -1;
	}
	fx.standin_cfg = fx.cfg;
	fx.standin_cfg.endpoint = (char *)standin;
	fx.ddb = ddb_new(&fx.cfg);
	fx.standin = ddb_new(&fx.standin_cfg);
	fx.deliverables = xasprintf("%sdeliverables", fx.cfg.table_prefix);
	fx.updates = xasprintf("%supdates", fx.cfg.table_prefix);
	fx.big = xasprintf("%sbig", fx.cfg.table_prefix);
	return fx.ddb != NULL && fx.standin != NULL ? 0 : -1;
}

/* Closes the handles and frees the configuration. */
static int
teardown(void **state)
{
	(void)state;
	ddb_free(fx.ddb);
	ddb_free(fx.standin);
	free(fx.deliverables);
	free(fx.updates);
	free(fx.big);
	config_free(&fx.cfg);
	return 0;
}

static void
test_create_tables(void **state)
{
	json_object	*defs, *req, *desc, *v, *gsi;
	struct ddb_error err;
	char		*text, *name;
	size_t		 i;

	(void)state;
	text = read_data_file("tables.json");
	defs = jparse(text);
	free(text);
	for (i = 0; i < json_object_array_length(defs); i++) {
		req = json_object_array_get_idx(defs, i);
		json_object_object_get_ex(req, "TableName", &v);
		name = xasprintf("%s%s", fx.cfg.table_prefix, json_object_get_string(v));
		json_object_object_add(req, "TableName", json_object_new_string(name));
		if (ddb_create_table(fx.ddb, req, &err) == -1)
			fail_msg("CreateTable %s: %s %s", name, err.code, err.message);
		assert_int_equal(ddb_wait_table(fx.ddb, name, true, TABLE_WAIT_MS, &err), 0);
		free(name);
	}
	json_object_put(defs);

	/* Describe shows the key schema and the index, ACTIVE. */
	assert_int_equal(ddb_describe_table(fx.ddb, fx.deliverables, &desc, &err), 0);
	assert_non_null(desc);
	json_object_object_get_ex(desc, "TableStatus", &v);
	assert_string_equal(json_object_get_string(v), "ACTIVE");
	assert_true(json_object_object_get_ex(desc, "GlobalSecondaryIndexes", &v));
	gsi = json_object_array_get_idx(v, 0);
	assert_string_equal(member_text(gsi, "IndexName"), "\"MonthIndex\"");
	json_object_put(desc);

	/* Creating it again is a typed, final error. */
	req = jparse("{\"AttributeDefinitions\":[{\"AttributeName\":\"id\",\"AttributeType\":\"N\"}],"
	    "\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}");
	json_object_object_add(req, "TableName", json_object_new_string(fx.deliverables));
	assert_int_equal(ddb_create_table(fx.ddb, req, &err), -1);
	assert_string_equal(err.code, "ResourceInUseException");
	assert_false(err.retryable);
	json_object_put(req);

	/* An absent table: ResourceNotFoundException, not retried. */
	assert_int_equal(ddb_describe_table(fx.ddb, "no-such-table", &desc, &err), -1);
	assert_null(desc);
	assert_string_equal(err.code, "ResourceNotFoundException");
	assert_int_equal(err.http_status, 400);
	assert_false(err.retryable);
	assert_int_equal(err.attempts, 1);
	assert_false(ddb_error_is_unavailable(&err));
}

static void
test_put_get_update_conditions(void **state)
{
	json_object	*item, *extra, *key, *attrs, *plain;
	struct ddb_error err;
	const char	*cause = NULL;

	(void)state;
	item = item_from("{\"id\":1,\"month\":1,\"name\":\"Takeoff model\",\"status\":\"IN_PROGRESS\","
	    "\"completion_percentage\":62.5,\"score\":4.1,\"ratio\":6.4,\"version\":1,"
	    "\"tags\":[\"a\",{\"x\":0.1}],\"owner\":null,\"done\":false}");
	extra = jparse("{\"ConditionExpression\":\"attribute_not_exists(id)\"}");
	assert_int_equal(ddb_put_item(fx.ddb, fx.deliverables, item, extra, NULL, &err), 0);

	/* The same create again fails its condition and changes nothing. */
	json_object_object_add(item, "name", ddb_av_s("overwritten"));
	assert_int_equal(ddb_put_item(fx.ddb, fx.deliverables, item, extra, NULL, &err), -1);
	assert_string_equal(err.code, "ConditionalCheckFailedException");
	assert_true(ddb_error_is_condition_failed(&err));
	assert_false(err.retryable);
	assert_int_equal(err.attempts, 1);
	assert_int_equal(err.http_status, 400);
	json_object_put(item);
	json_object_put(extra);

	plain = read_back(fx.deliverables, "{\"id\":1}");
	assert_non_null(plain);
	assert_string_equal(member_text(plain, "name"), "\"Takeoff model\"");
	/* Exact numbers on the way back. */
	assert_string_equal(member_text(plain, "score"), "4.1");
	assert_string_equal(member_text(plain, "ratio"), "6.4");
	assert_string_equal(member_text(plain, "completion_percentage"), "62.5");
	assert_string_equal(member_text(plain, "tags"), "[\"a\",{\"x\":0.1}]");
	assert_string_equal(member_text(plain, "owner"), "null");
	assert_string_equal(member_text(plain, "done"), "false");
	json_object_put(plain);

	/* A conditional update with ALL_NEW. */
	key = item_from("{\"id\":1}");
	extra = jparse("{\"UpdateExpression\":\"SET #n = :n, version = version + :one, score = :s\","
	    "\"ConditionExpression\":\"version = :v\",\"ExpressionAttributeNames\":{\"#n\":\"name\"},"
	    "\"ExpressionAttributeValues\":{\":n\":{\"S\":\"Takeoff v2\"},\":one\":{\"N\":\"1\"},"
	    "\":v\":{\"N\":\"1\"},\":s\":{\"N\":\"12.5\"}},\"ReturnValues\":\"ALL_NEW\"}");
	assert_int_equal(ddb_update_item(fx.ddb, fx.deliverables, key, extra, &attrs, &err), 0);
	assert_non_null(attrs);
	plain = ddb_unmarshal_item(attrs, &cause);
	assert_non_null(plain);
	assert_string_equal(member_text(plain, "version"), "2");
	assert_string_equal(member_text(plain, "name"), "\"Takeoff v2\"");
	assert_string_equal(member_text(plain, "score"), "12.5");
	assert_string_equal(member_text(plain, "month"), "1");
	json_object_put(plain);
	json_object_put(attrs);

	/* The same update again: version is 2 now, the condition fails, nothing changes. */
	json_object_object_add(extra, "ExpressionAttributeValues",
	    jparse("{\":n\":{\"S\":\"stale\"},\":one\":{\"N\":\"1\"},\":v\":{\"N\":\"1\"},\":s\":{\"N\":\"0\"}}"));
	assert_int_equal(ddb_update_item(fx.ddb, fx.deliverables, key, extra, &attrs, &err), -1);
	assert_null(attrs);
	assert_true(ddb_error_is_condition_failed(&err));
	assert_int_equal(err.attempts, 1);
	json_object_put(extra);
	plain = read_back(fx.deliverables, "{\"id\":1}");
	assert_string_equal(member_text(plain, "name"), "\"Takeoff v2\"");
	assert_string_equal(member_text(plain, "version"), "2");
	assert_string_equal(member_text(plain, "score"), "12.5");
	json_object_put(plain);

	/* A bad expression is a ValidationException, not retried. */
	extra = jparse("{\"UpdateExpression\":\"SET = nonsense\"}");
	assert_int_equal(ddb_update_item(fx.ddb, fx.deliverables, key, extra, NULL, &err), -1);
	assert_string_equal(err.code, "ValidationException");
	assert_false(err.retryable);
	assert_int_equal(err.attempts, 1);
	json_object_put(extra);

	/* Delete with ALL_OLD hands back what was there; then it is gone. */
	extra = jparse("{\"ReturnValues\":\"ALL_OLD\"}");
	item = item_from("{\"id\":99,\"month\":3,\"name\":\"temp\"}");
	json_object_put(key);
	key = item_from("{\"id\":99}");
	assert_int_equal(ddb_put_item(fx.ddb, fx.deliverables, item, NULL, NULL, &err), 0);
	assert_int_equal(ddb_delete_item(fx.ddb, fx.deliverables, key, extra, &attrs, &err), 0);
	assert_non_null(attrs);
	assert_string_equal(member_text(attrs, "name"), "{\"S\":\"temp\"}");
	json_object_put(attrs);
	assert_null(read_back(fx.deliverables, "{\"id\":99}"));
	json_object_put(item);
	json_object_put(key);
	json_object_put(extra);
}

static void
test_string_set_add(void **state)
{
	json_object	*item, *key, *extra, *attrs, *plain;
	struct ddb_error err;
	const char	*users[] = { "auth0|u1", "auth0|u2", "auth0|u1" };
	const char	*cause = NULL;
	char		*text;
	size_t		 i;

	(void)state;
	item = item_from("{\"id\":\"u-0001\",\"title\":\"Kickoff\",\"feed\":\"all\","
	    "\"created_at\":\"2026-01-01T00:00:00Z\"}");
	assert_int_equal(ddb_put_item(fx.ddb, fx.updates, item, NULL, NULL, &err), 0);
	json_object_put(item);
	key = item_from("{\"id\":\"u-0001\"}");
	for (i = 0; i < ARRAY_LEN(users); i++) {
		text = xasprintf("{\"UpdateExpression\":\"ADD read_by :u\","
		    "\"ConditionExpression\":\"attribute_exists(id)\","
		    "\"ExpressionAttributeValues\":{\":u\":{\"SS\":[\"%s\"]}},"
		    "\"ReturnValues\":\"UPDATED_NEW\"}", users[i]);
		extra = jparse(text);
		free(text);
		assert_int_equal(ddb_update_item(fx.ddb, fx.updates, key, extra, &attrs, &err), 0);
		json_object_put(extra);
		plain = ddb_unmarshal_item(attrs, &cause);
		assert_non_null(plain);
		/* Adding the same user twice is idempotent. */
		assert_int_equal(json_object_array_length(json_object_object_get(plain, "read_by")),
		    i == 0 ? 1 : 2);
		json_object_put(plain);
		json_object_put(attrs);
	}
	json_object_put(key);
	/* On an absent item the condition fails. */
	key = item_from("{\"id\":\"u-missing\"}");
	extra = jparse("{\"UpdateExpression\":\"ADD read_by :u\",\"ConditionExpression\":\"attribute_exists(id)\","
	    "\"ExpressionAttributeValues\":{\":u\":{\"SS\":[\"x\"]}}}");
	assert_int_equal(ddb_update_item(fx.ddb, fx.updates, key, extra, NULL, &err), -1);
	assert_true(ddb_error_is_condition_failed(&err));
	assert_null(read_back(fx.updates, "{\"id\":\"u-missing\"}"));
	json_object_put(key);
	json_object_put(extra);
}

static void
test_query_indexes(void **state)
{
	json_object	*puts = json_object_new_array(), *req, *items, *plain;
	struct ddb_error err;
	const char	*cause = NULL;
	char		*text;
	int		 id;
	size_t		 i;

	(void)state;
	/* Deliverables 2..13 over months 1..3 (id 1 is month 1 already). */
	for (id = 2; id <= 13; id++) {
		text = xasprintf("{\"id\":%d,\"month\":%d,\"name\":\"d%d\"}", id, (id % 3) + 1, id);
		json_object_array_add(puts, item_from(text));
		free(text);
	}
	assert_int_equal(ddb_batch_write(fx.ddb, fx.deliverables, puts, NULL, &err), 0);
	json_object_put(puts);

	req = jparse("{\"IndexName\":\"MonthIndex\",\"KeyConditionExpression\":\"#m = :m\","
	    "\"ExpressionAttributeNames\":{\"#m\":\"month\"},"
	    "\"ExpressionAttributeValues\":{\":m\":{\"N\":\"2\"}}}");
	json_object_object_add(req, "TableName", json_object_new_string(fx.deliverables));
	assert_int_equal(ddb_query_all(fx.ddb, req, &items, &err), 0);
	json_object_put(req);
	/* month 2: ids with id % 3 == 1 -> 4, 7, 10, 13, in range-key order. */
	assert_int_equal(json_object_array_length(items), 4);
	for (i = 0; i < 4; i++) {
		plain = ddb_unmarshal_item(json_object_array_get_idx(items, i), &cause);
		assert_int_equal(json_object_get_int(json_object_object_get(plain, "id")), 4 + 3 * (int)i);
		json_object_put(plain);
	}
	json_object_put(items);

	/* FeedIndex newest first. */
	puts = json_object_new_array();
	json_object_array_add(puts, item_from("{\"id\":\"u-0002\",\"feed\":\"all\",\"created_at\":\"2026-01-03T00:00:00Z\"}"));
	json_object_array_add(puts, item_from("{\"id\":\"u-0003\",\"feed\":\"all\",\"created_at\":\"2026-01-02T00:00:00Z\"}"));
	assert_int_equal(ddb_batch_write(fx.ddb, fx.updates, puts, NULL, &err), 0);
	json_object_put(puts);
	req = jparse("{\"IndexName\":\"FeedIndex\",\"KeyConditionExpression\":\"feed = :f\","
	    "\"ExpressionAttributeValues\":{\":f\":{\"S\":\"all\"}},\"ScanIndexForward\":false}");
	json_object_object_add(req, "TableName", json_object_new_string(fx.updates));
	assert_int_equal(ddb_query_all(fx.ddb, req, &items, &err), 0);
	json_object_put(req);
	assert_int_equal(json_object_array_length(items), 3);
	assert_string_equal(member_text(json_object_array_get_idx(items, 0), "id"), "{\"S\":\"u-0002\"}");
	assert_string_equal(member_text(json_object_array_get_idx(items, 1), "id"), "{\"S\":\"u-0003\"}");
	assert_string_equal(member_text(json_object_array_get_idx(items, 2), "id"), "{\"S\":\"u-0001\"}");
	json_object_put(items);
}

/* Asserts that items hold sk 0..n-1 of the big table exactly once. */
static void
expect_all_sks(json_object *items, int n)
{
	char	*seen = xcalloc((size_t)n, 1);
	json_object *sk;
	size_t	 i;
	int	 v;

	assert_int_equal(json_object_array_length(items), n);
	for (i = 0; i < (size_t)n; i++) {
		json_object_object_get_ex(json_object_array_get_idx(items, i), "sk", &sk);
		json_object_object_get_ex(sk, "N", &sk);
		v = atoi(json_object_get_string(sk));
		assert_true(v >= 0 && v < n);
		assert_false(seen[v]);
		seen[v] = 1;
	}
	free(seen);
}

static void
test_pages_all(void **state)
{
	json_object	*puts = json_object_new_array(), *req, *items;
	struct ddb_error err;
	char		*filler = xmalloc(BIG_ITEM_BYTES + 1), *text;
	unsigned	 before;
	int		 i;

	(void)state;
	memset(filler, 'x', BIG_ITEM_BYTES);
	filler[BIG_ITEM_BYTES] = '\0';
	for (i = 0; i < BIG_ITEMS; i++) {
		text = xasprintf("{\"pk\":\"p\",\"sk\":%d,\"filler\":\"%s\"}", i, filler);
		json_object_array_add(puts, item_from(text));
		free(text);
	}
	free(filler);
	/* 300 puts: more than 25, so 12 requests. */
	before = ddb_request_count(fx.ddb);
	assert_int_equal(ddb_batch_write(fx.ddb, fx.big, puts, NULL, &err), 0);
	assert_int_equal(ddb_request_count(fx.ddb) - before, (BIG_ITEMS + DDB_BATCH_WRITE_MAX - 1) / DDB_BATCH_WRITE_MAX);
	json_object_put(puts);

	/* 1.2 MB of items: a 1 MB page does not hold them, _all follows the key. */
	req = jparse("{\"KeyConditionExpression\":\"pk = :p\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p\"}}}");
	json_object_object_add(req, "TableName", json_object_new_string(fx.big));
	before = ddb_request_count(fx.ddb);
	assert_int_equal(ddb_query_all(fx.ddb, req, &items, &err), 0);
	assert_true(ddb_request_count(fx.ddb) - before >= 2);
	expect_all_sks(items, BIG_ITEMS);
	/* In range-key order. */
	assert_string_equal(member_text(json_object_array_get_idx(items, BIG_ITEMS - 1), "sk"),
	    "{\"N\":\"299\"}");
	json_object_put(items);
	json_object_put(req);

	req = jparse("{}");
	json_object_object_add(req, "TableName", json_object_new_string(fx.big));
	before = ddb_request_count(fx.ddb);
	assert_int_equal(ddb_scan_all(fx.ddb, req, &items, &err), 0);
	assert_true(ddb_request_count(fx.ddb) - before >= 2);
	expect_all_sks(items, BIG_ITEMS);
	json_object_put(items);
	json_object_put(req);
}

/* Walks a table with _page and Limit, following the cursor by hand. */
static void
walk_pages(bool query)
{
	json_object	*req, *items, *last = NULL, *all = json_object_new_array();
	struct ddb_error err;
	size_t		 i;
	int		 pages = 0, rc;

	req = query ? jparse("{\"KeyConditionExpression\":\"pk = :p\","
	    "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p\"}}}") : jparse("{}");
	json_object_object_add(req, "TableName", json_object_new_string(fx.big));
	json_object_object_add(req, "Limit", json_object_new_int(PAGE_LIMIT));
	do {
		if (last != NULL)
			json_object_object_add(req, "ExclusiveStartKey", last);
		rc = query ? ddb_query_page(fx.ddb, req, &items, &last, &err) :
		    ddb_scan_page(fx.ddb, req, &items, &last, &err);
		assert_int_equal(rc, 0);
		assert_true(json_object_array_length(items) <= PAGE_LIMIT);
		if (pages == 0) {
			/* The first page is full and hands back a cursor. */
			assert_int_equal(json_object_array_length(items), PAGE_LIMIT);
			assert_non_null(last);
			assert_true(json_object_object_get_ex(last, "sk", NULL));
		}
		for (i = 0; i < json_object_array_length(items); i++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(items, i)));
		json_object_put(items);
		pages++;
		assert_true(pages <= BIG_ITEMS / PAGE_LIMIT + 1);
	} while (last != NULL);
	assert_true(pages >= BIG_ITEMS / PAGE_LIMIT);
	expect_all_sks(all, BIG_ITEMS);
	json_object_put(all);
	json_object_put(req);
}

static void
test_pages_cursor(void **state)
{
	(void)state;
	walk_pages(true);
	walk_pages(false);
}

static void
test_batch_get(void **state)
{
	json_object	*keys = json_object_new_array(), *items;
	struct ddb_error err;
	char		*text;
	unsigned	 before;
	int		 i;

	(void)state;
	/* 250 keys that exist and 5 that do not: 3 requests, 250 items. */
	for (i = 0; i < BATCH_GET_KEYS + 5; i++) {
		text = xasprintf("{\"pk\":\"%s\",\"sk\":%d}", i < BATCH_GET_KEYS ? "p" : "absent", i);
		json_object_array_add(keys, item_from(text));
		free(text);
	}
	before = ddb_request_count(fx.ddb);
	assert_int_equal(ddb_batch_get(fx.ddb, fx.big, keys, &items, &err), 0);
	assert_int_equal(ddb_request_count(fx.ddb) - before, 3);
	expect_all_sks(items, BATCH_GET_KEYS);
	json_object_put(items);
	json_object_put(keys);

	/* No keys: no request, no items. */
	keys = json_object_new_array();
	before = ddb_request_count(fx.ddb);
	assert_int_equal(ddb_batch_get(fx.ddb, fx.big, keys, &items, &err), 0);
	assert_int_equal(json_object_array_length(items), 0);
	assert_int_equal(ddb_request_count(fx.ddb), before);
	json_object_put(items);
	json_object_put(keys);
}

static void
test_batch_write_deletes(void **state)
{
	json_object	*deletes = json_object_new_array(), *req, *items;
	struct ddb_error err;
	char		*text;
	int		 i;

	(void)state;
	for (i = 0; i < DELETED_ITEMS; i++) {
		text = xasprintf("{\"pk\":\"p\",\"sk\":%d}", BIG_ITEMS - 1 - i);
		json_object_array_add(deletes, item_from(text));
		free(text);
	}
	assert_int_equal(ddb_batch_write(fx.ddb, fx.big, NULL, deletes, &err), 0);
	json_object_put(deletes);
	req = jparse("{}");
	json_object_object_add(req, "TableName", json_object_new_string(fx.big));
	assert_int_equal(ddb_scan_all(fx.ddb, req, &items, &err), 0);
	expect_all_sks(items, BIG_ITEMS - DELETED_ITEMS);
	json_object_put(items);
	json_object_put(req);
}

static void
test_parallel(void **state)
{
	struct ddb_op	 ops[3];
	json_object	*get, *query, *scan, *v;
	unsigned	 before;
	size_t		 i;

	(void)state;
	get = jparse("{\"Key\":{\"id\":{\"N\":\"1\"}},\"ConsistentRead\":true}");
	json_object_object_add(get, "TableName", json_object_new_string(fx.deliverables));
	query = jparse("{\"IndexName\":\"FeedIndex\",\"KeyConditionExpression\":\"feed = :f\","
	    "\"ExpressionAttributeValues\":{\":f\":{\"S\":\"all\"}},\"ScanIndexForward\":false,\"Limit\":5}");
	json_object_object_add(query, "TableName", json_object_new_string(fx.updates));
	scan = jparse("{\"Select\":\"COUNT\"}");
	json_object_object_add(scan, "TableName", json_object_new_string(fx.deliverables));
	memset(ops, 0, sizeof ops);
	ops[0] = (struct ddb_op){ .op = "GetItem", .request = get };
	ops[1] = (struct ddb_op){ .op = "Query", .request = query };
	ops[2] = (struct ddb_op){ .op = "Scan", .request = scan };
	before = ddb_request_count(fx.ddb);
	assert_int_equal(ddb_call_parallel(fx.ddb, ops, 3), 0);
	assert_int_equal(ddb_request_count(fx.ddb) - before, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(ops[i].rc, 0);
		assert_non_null(ops[i].response);
	}
	assert_true(json_object_object_get_ex(ops[0].response, "Item", &v));
	assert_string_equal(member_text(v, "name"), "{\"S\":\"Takeoff v2\"}");
	assert_true(json_object_object_get_ex(ops[1].response, "Items", &v));
	assert_int_equal(json_object_array_length(v), 3);
	assert_true(json_object_object_get_ex(ops[2].response, "Count", &v));
	assert_int_equal(json_object_get_int(v), 13);
	for (i = 0; i < 3; i++)
		json_object_put(ops[i].response);

	/* Again on the same handles (kept-alive connections), twice. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(ddb_call_parallel(fx.ddb, ops, 3), 0);
		json_object_put(ops[0].response);
		json_object_put(ops[1].response);
		json_object_put(ops[2].response);
	}
	json_object_put(get);
	json_object_put(query);
	json_object_put(scan);
}

static void
test_parallel_retries(void **state)
{
	struct ddb_op	 ops[3];
	json_object	*throttled, *condition, *plain;

	(void)state;
	throttled = jparse("{\"TableName\":\"throttle-twice\",\"Key\":{\"id\":{\"N\":\"1\"}}}");
	condition = jparse("{\"TableName\":\"condition\",\"Item\":{\"id\":{\"N\":\"1\"}}}");
	plain = jparse("{\"TableName\":\"plain\"}");
	memset(ops, 0, sizeof ops);
	ops[0] = (struct ddb_op){ .op = "GetItem", .request = throttled };
	ops[1] = (struct ddb_op){ .op = "PutItem", .request = condition };
	ops[2] = (struct ddb_op){ .op = "DescribeTable", .request = plain };
	assert_int_equal(ddb_call_parallel(fx.standin, ops, 3), -1);
	/* Throttled twice, then answered: three attempts. */
	assert_int_equal(ops[0].rc, 0);
	assert_int_equal(ops[0].err.attempts, 3);
	assert_non_null(ops[0].response);
	/* A failed condition is final at once. */
	assert_int_equal(ops[1].rc, -1);
	assert_null(ops[1].response);
	assert_true(ddb_error_is_condition_failed(&ops[1].err));
	assert_int_equal(ops[1].err.attempts, 1);
	assert_int_equal(ops[2].rc, 0);
	json_object_put(ops[0].response);
	json_object_put(ops[2].response);
	json_object_put(throttled);
	json_object_put(condition);
	json_object_put(plain);
}

static void
test_transact_write(void **state)
{
	json_object	*items;
	struct ddb_error err;
	unsigned	 before;

	(void)state;
	/* dynalite has no TransactWriteItems: a typed, final error. */
	items = jparse("[{\"Put\":{\"TableName\":\"x\",\"Item\":{\"id\":{\"N\":\"1\"}}}}]");
	json_object_object_add(json_object_object_get(json_object_array_get_idx(items, 0), "Put"),
	    "TableName", json_object_new_string(fx.deliverables));
	assert_int_equal(ddb_transact_write(fx.ddb, items, &err), -1);
	assert_string_equal(err.code, "UnknownOperationException");
	assert_false(err.retryable);
	assert_int_equal(err.attempts, 1);
	json_object_put(items);

	/* The stand-in: success... */
	items = jparse("[{\"Put\":{\"TableName\":\"tx-ok\",\"Item\":{\"id\":{\"N\":\"1\"}}}},"
	    "{\"ConditionCheck\":{\"TableName\":\"tx-ok\",\"Key\":{\"id\":{\"N\":\"2\"}},"
	    "\"ConditionExpression\":\"attribute_exists(id)\"}}]");
	assert_int_equal(ddb_transact_write(fx.standin, items, &err), 0);
	json_object_put(items);

	/* ...a cancellation for a failed condition (final, a condition failure)... */
	items = jparse("[{\"Put\":{\"TableName\":\"tx-condition\",\"Item\":{\"id\":{\"N\":\"1\"}}}},"
	    "{\"ConditionCheck\":{\"TableName\":\"tx-condition\",\"Key\":{\"id\":{\"N\":\"2\"}},"
	    "\"ConditionExpression\":\"attribute_exists(id)\"}}]");
	assert_int_equal(ddb_transact_write(fx.standin, items, &err), -1);
	assert_string_equal(err.code, "TransactionCanceledException");
	assert_true(ddb_error_is_condition_failed(&err));
	assert_false(err.retryable);
	assert_int_equal(err.attempts, 1);
	json_object_put(items);

	/* ...and a conflict, retried with the same ClientRequestToken. */
	items = jparse("[{\"Update\":{\"TableName\":\"tx-conflict\",\"Key\":{\"id\":{\"N\":\"1\"}},"
	    "\"UpdateExpression\":\"SET a = :a\",\"ExpressionAttributeValues\":{\":a\":{\"N\":\"1\"}}}}]");
	before = ddb_request_count(fx.standin);
	assert_int_equal(ddb_transact_write(fx.standin, items, &err), 0);
	assert_int_equal(ddb_request_count(fx.standin) - before, 2);
	json_object_put(items);
}

static void
test_retries(void **state)
{
	json_object	*req, *resp, *item, *key;
	struct ddb_error err;
	unsigned	 before;
	unsigned long	 total_before;

	(void)state;
	/* 5xx every time: DDB_MAX_ATTEMPTS attempts, then a typed 503-worthy error. */
	req = jparse("{\"TableName\":\"always-500\"}");
	before = ddb_request_count(fx.standin);
	total_before = ddb_total_request_count();
	assert_int_equal(ddb_call(fx.standin, "DescribeTable", req, &resp, &err), -1);
	assert_null(resp);
	assert_int_equal(err.http_status, 500);
	assert_string_equal(err.code, "InternalServerError");
	assert_string_equal(err.message, "stand-in failure 4");
	assert_true(err.retryable);
	assert_int_equal(err.attempts, DDB_MAX_ATTEMPTS);
	assert_true(ddb_error_is_unavailable(&err));
	assert_int_equal(ddb_request_count(fx.standin) - before, DDB_MAX_ATTEMPTS);
	assert_true(ddb_total_request_count() - total_before >= DDB_MAX_ATTEMPTS);
	json_object_put(req);

	/* Throttled twice, then an item: the caller only sees the item. */
	key = item_from("{\"id\":1}");
	before = ddb_request_count(fx.standin);
	assert_int_equal(ddb_get_item(fx.standin, "throttle-twice-2", key, false, &item, &err), 0);
	assert_non_null(item);
	assert_string_equal(member_text(item, "tries"), "{\"N\":\"3\"}");
	assert_int_equal(ddb_request_count(fx.standin) - before, 3);
	json_object_put(item);
	json_object_put(key);
}

/* Writes whose outcome is unknown are never sent twice by the module; writes
 * that provably did not happen (throttled) are retried. */
static void
test_write_retries(void **state)
{
	json_object	*item, *extra, *resp;
	struct ddb_error err;
	unsigned	 before;

	(void)state;
	item = item_from("{\"id\":1}");
	/* A 5xx after a PutItem: maybe applied, so one attempt and outcome_unknown. */
	before = ddb_request_count(fx.standin);
	assert_int_equal(ddb_put_item(fx.standin, "always-500-put", item, NULL, NULL, &err), -1);
	assert_int_equal(ddb_request_count(fx.standin) - before, 1);
	assert_int_equal(err.attempts, 1);
	assert_true(err.outcome_unknown);
	assert_true(ddb_error_is_unavailable(&err));
	/* The same for UpdateItem and DeleteItem. */
	extra = jparse("{\"UpdateExpression\":\"SET a = :a\",\"ExpressionAttributeValues\":{\":a\":{\"N\":\"1\"}}}");
	before = ddb_request_count(fx.standin);
	assert_int_equal(ddb_update_item(fx.standin, "always-500-update", item, extra, NULL, &err), -1);
	assert_int_equal(ddb_request_count(fx.standin) - before, 1);
	assert_true(err.outcome_unknown);
	before = ddb_request_count(fx.standin);
	assert_int_equal(ddb_delete_item(fx.standin, "always-500-delete", item, NULL, NULL, &err), -1);
	assert_int_equal(ddb_request_count(fx.standin) - before, 1);
	assert_true(err.outcome_unknown);
	json_object_put(extra);
	/* Throttled: not applied, so retried like a read. */
	before = ddb_request_count(fx.standin);
	assert_int_equal(ddb_put_item(fx.standin, "throttle-twice-put", item, NULL, NULL, &err), 0);
	assert_int_equal(ddb_request_count(fx.standin) - before, 3);
	/* A condition failure is known: not unknown, not retried. */
	assert_int_equal(ddb_put_item(fx.standin, "condition-put", item, NULL, NULL, &err), -1);
	assert_false(err.outcome_unknown);
	assert_true(ddb_error_is_condition_failed(&err));
	/* A write timed out after it was sent: one attempt, outcome unknown. */
	ddb_set_deadline(fx.standin, now_ms() + DEADLINE_MS);
	before = ddb_request_count(fx.standin);
	assert_int_equal(ddb_put_item(fx.standin, "slow-put", item, NULL, NULL, &err), -1);
	assert_int_equal(ddb_request_count(fx.standin) - before, 1);
	assert_string_equal(err.code, "TimeoutError");
	assert_true(err.outcome_unknown);
	ddb_set_deadline(fx.standin, 0);
	/* A read that timed out is not a write: no outcome to be unsure of. */
	ddb_set_deadline(fx.standin, now_ms() + DEADLINE_MS);
	resp = NULL;
	assert_int_equal(ddb_get_item(fx.standin, "slow-get", item, false, &resp, &err), -1);
	assert_false(err.outcome_unknown);
	ddb_set_deadline(fx.standin, 0);
	json_object_put(item);
}

static void
test_deadline(void **state)
{
	json_object	*req, *resp;
	struct ddb_error err;
	int64_t		 started;

	(void)state;
	req = jparse("{\"TableName\":\"slow\"}");
	ddb_set_deadline(fx.standin, now_ms() + DEADLINE_MS);
	started = mono_ms();
	assert_int_equal(ddb_call(fx.standin, "DescribeTable", req, &resp, &err), -1);
	assert_true(mono_ms() - started < DEADLINE_MS + 500);
	assert_string_equal(err.code, "TimeoutError");
	assert_int_equal(err.http_status, 0);
	assert_true(ddb_error_is_unavailable(&err));
	/* Past the deadline nothing is sent at all. */
	assert_int_equal(ddb_call(fx.standin, "DescribeTable", req, &resp, &err), -1);
	assert_string_equal(err.code, "TimeoutError");
	ddb_set_deadline(fx.standin, 0);
	json_object_put(req);
}

static void
test_unprocessed(void **state)
{
	json_object	*keys = json_object_new_array(), *items, *puts;
	struct ddb_error err;
	char		*text;
	int		 i;

	(void)state;
	for (i = 0; i < 150; i++) {
		text = xasprintf("{\"pk\":\"p\",\"sk\":%d}", i);
		json_object_array_add(keys, item_from(text));
		free(text);
	}
	/* Half unprocessed at first: resubmitted until every key is answered. */
	assert_int_equal(ddb_batch_get(fx.standin, "unprocessed", keys, &items, &err), 0);
	expect_all_sks(items, 150);
	json_object_put(items);
	/* Never processed: a bounded number of rounds, then a typed error. */
	json_object_put(keys);
	keys = json_object_new_array();
	json_object_array_add(keys, item_from("{\"pk\":\"p\",\"sk\":1}"));
	assert_int_equal(ddb_batch_get(fx.standin, "never-processed", keys, &items, &err), -1);
	assert_null(items);
	assert_string_equal(err.code, "UnprocessedKeys");
	assert_int_equal(err.attempts, DDB_BATCH_ROUNDS_MAX);
	assert_true(ddb_error_is_unavailable(&err));
	json_object_put(keys);

	puts = json_object_new_array();
	for (i = 0; i < 30; i++) {
		text = xasprintf("{\"pk\":\"p\",\"sk\":%d}", i);
		json_object_array_add(puts, item_from(text));
		free(text);
	}
	assert_int_equal(ddb_batch_write(fx.standin, "unprocessed", puts, NULL, &err), 0);
	assert_int_equal(ddb_batch_write(fx.standin, "never-processed", puts, NULL, &err), -1);
	assert_string_equal(err.code, "UnprocessedItems");
	json_object_put(puts);
}

static void
test_endpoint_down(void **state)
{
	struct sockaddr_in addr;
	socklen_t	 len = sizeof addr;
	struct config	 down_cfg = fx.cfg;
	struct ddb	*down;
	struct ddb_error err;
	json_object	*req, *resp;
	int64_t		 started, elapsed;
	int		 fd;

	(void)state;
	/* A port that is bound but not listening refuses connections, and
	 * nobody else can take it while we hold it. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	down_cfg.endpoint = xasprintf("http://127.0.0.1:%d", ntohs(addr.sin_port));
	down = ddb_new(&down_cfg);
	assert_non_null(down);

	req = jparse("{\"TableName\":\"whatever\"}");
	started = mono_ms();
	assert_int_equal(ddb_call(down, "DescribeTable", req, &resp, &err), -1);
	elapsed = mono_ms() - started;
	assert_null(resp);
	assert_string_equal(err.code, "NetworkError");
	assert_int_equal(err.http_status, 0);
	assert_true(err.retryable);
	assert_true(ddb_error_is_unavailable(&err));
	assert_false(ddb_error_is_condition_failed(&err));
	assert_int_equal(err.attempts, DDB_MAX_ATTEMPTS);
	assert_int_equal(ddb_request_count(down), DDB_MAX_ATTEMPTS);
	assert_true(err.message[0] != '\0');
	assert_true(elapsed < DOWN_BOUND_MS);
	json_object_put(req);
	ddb_free(down);
	free(down_cfg.endpoint);
	close(fd);
}

static void
test_delete_tables(void **state)
{
	const char	*tables[] = { fx.deliverables, fx.updates, fx.big };
	json_object	*desc;
	struct ddb_error err;
	size_t		 i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(tables); i++) {
		assert_int_equal(ddb_delete_table(fx.ddb, tables[i], &err), 0);
		assert_int_equal(ddb_wait_table(fx.ddb, tables[i], false, TABLE_WAIT_MS, &err), 0);
		assert_int_equal(ddb_describe_table(fx.ddb, tables[i], &desc, &err), -1);
		assert_string_equal(err.code, "ResourceNotFoundException");
	}
	assert_int_equal(ddb_delete_table(fx.ddb, fx.big, &err), -1);
	assert_string_equal(err.code, "ResourceNotFoundException");
	assert_true(ddb_total_request_count() >= ddb_request_count(fx.ddb) + ddb_request_count(fx.standin));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_tables),
		cmocka_unit_test(test_put_get_update_conditions),
		cmocka_unit_test(test_string_set_add),
		cmocka_unit_test(test_query_indexes),
		cmocka_unit_test(test_pages_all),
		cmocka_unit_test(test_pages_cursor),
		cmocka_unit_test(test_batch_get),
		cmocka_unit_test(test_batch_write_deletes),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_parallel_retries),
		cmocka_unit_test(test_transact_write),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_write_retries),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_unprocessed),
		cmocka_unit_test(test_endpoint_down),
		cmocka_unit_test(test_delete_tables),
	};

	return cmocka_run_group_tests_name("ddb", tests, setup, teardown);
}
