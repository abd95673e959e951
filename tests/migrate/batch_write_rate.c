/* batch_write_rate.c - the reference of scripts/bench --migrate: the items of
 * an export (portalctl export's JSON lines) written back with BatchWriteItem,
 * DDB_BATCH_WRITE_MAX a request, through the project's DynamoDB module, from
 * N threads (a handle each; default 1): what the store takes without any
 * reading or mapping. The file is read first; only the writes are timed.
 *
 *   batch_write_rate [--parallel N] FILE
 *
 * Reads the same environment as portalctl (AWS_ENDPOINT_URL_DYNAMODB,
 * PORTAL_TABLE_PREFIX, ...). Prints one JSON object: items, parallel,
 * seconds, items_per_s, requests (HTTP requests made, retries included).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "ddb.h"
#include "schema.h"
#include "util.h"

#define RATE_PARALLEL_MAX	64

/* One BatchWriteItem's worth of items for one table. */
struct batch {
	enum schema_table	 table;
	json_object		*puts;
};

/* Shared by the threads. */
struct job {
	const struct config	*cfg;
	struct batch		*batches;
	size_t			 nbatches;
	atomic_size_t		 next;
	atomic_uint		 requests;
	atomic_int		 failed;
};

/* A thread: takes the next batch until none is left. */
static void *
writer(void *arg)
{
	struct job *job = arg;
	struct ddb *ddb = ddb_new(job->cfg);
	size_t i;

	if (ddb == NULL) {
		atomic_store(&job->failed, 1);
		return NULL;
	}
	while ((i = atomic_fetch_add(&job->next, 1)) < job->nbatches) {
		struct ddb_error err;
		struct batch *b = &job->batches[i];

		if (ddb_batch_write(ddb, schema_table_name(job->cfg, b->table), b->puts, NULL, &err) == -1) {
			fprintf(stderr, "batch_write_rate: %s: %s\n", err.code, err.message);
			atomic_store(&job->failed, 1);
			break;
		}
	}
	atomic_fetch_add(&job->requests, ddb_request_count(ddb));
	ddb_free(ddb);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct job job;
	pthread_t threads[RATE_PARALLEL_MAX];
	json_object *pending[SCHEMA_COUNT];
	char *cause = NULL, *line = NULL;
	size_t cap = 0, nalloc = 0;
	unsigned long items = 0;
	long parallel = 1;
	const char *path;
	int64_t start;
	double seconds;
	FILE *f;

	if (argc == 4 && strcmp(argv[1], "--parallel") == 0 &&
	    parse_long(argv[2], 1, RATE_PARALLEL_MAX, &parallel) == 0)
		path = argv[3];
	else if (argc == 2)
		path = argv[1];
	else {
		fprintf(stderr, "usage: batch_write_rate [--parallel N] EXPORT_FILE\n");
		return 2;
	}
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return 1;
	}
	if (config_load(&cfg, CONFIG_NEED_STORE, &cause) == -1) {
		fprintf(stderr, "batch_write_rate: %s\n", cause ? cause : "bad configuration");
		return 1;
	}
	memset(&job, 0, sizeof job);
	job.cfg = &cfg;
	for (int t = 0; t < SCHEMA_COUNT; t++)
		pending[t] = json_object_new_array();
	/* Batches of DDB_BATCH_WRITE_MAX items of one table, in file order. */
	for (;;) {
		json_object *o = NULL, *table, *item;
		enum schema_table t = SCHEMA_DELIVERABLES;
		bool eof = getline(&line, &cap, f) <= 0;

		if (!eof) {
			o = json_tokener_parse(line);
			if (o == NULL || !json_object_object_get_ex(o, "table", &table) ||
			    !json_object_object_get_ex(o, "item", &item) ||
			    schema_parse(json_object_get_string(table), &t) == -1) {
				json_object_put(o);
				continue;
			}
			json_object_array_add(pending[t], json_object_get(item));
			json_object_put(o);
			items++;
		}
		for (int u = 0; u < SCHEMA_COUNT; u++) {
			size_t n = json_object_array_length(pending[u]);

			if (n == 0 || (!eof && n < DDB_BATCH_WRITE_MAX))
				continue;
			if (job.nbatches == nalloc) {
				nalloc = nalloc ? 2 * nalloc : 1024;
				job.batches = xrealloc(job.batches, nalloc * sizeof *job.batches);
			}
			job.batches[job.nbatches].table = (enum schema_table)u;
			job.batches[job.nbatches++].puts = pending[u];
			pending[u] = json_object_new_array();
		}
		if (eof)
			break;
	}
	start = mono_ms();
	for (long i = 0; i < parallel; i++)
		pthread_create(&threads[i], NULL, writer, &job);
	for (long i = 0; i < parallel; i++)
		pthread_join(threads[i], NULL);
	seconds = (double)(mono_ms() - start) / 1000.0;
	if (atomic_load(&job.failed))
		return 1;
	printf("{\"items\":%lu,\"parallel\":%ld,\"seconds\":%.3f,\"items_per_s\":%.1f,\"requests\":%u}\n",
	    items, parallel, seconds, seconds > 0 ? (double)items / seconds : 0.0,
	    atomic_load(&job.requests));
	for (size_t i = 0; i < job.nbatches; i++)
		json_object_put(job.batches[i].puts);
	for (int t = 0; t < SCHEMA_COUNT; t++)
		json_object_put(pending[t]);
	free(job.batches);
	free(line);
	fclose(f);
	config_free(&cfg);
	return 0;
}
