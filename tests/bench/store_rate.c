/* store_rate.c - the store's own rate for the DynamoDB calls behind a route,
 * made directly through the project's DynamoDB module from N threads (one
 * handle each) for a fixed time: the floor for a store-bound route in
 * scripts/bench.
 *
 *   store_rate --case dashboard|deliverables|deliverables-month|metrics|updates
 *              [--threads N] [--duration S] [--warmup S]
 *
 * Reads the same environment as the workers (AWS_ENDPOINT_URL_DYNAMODB,
 * PORTAL_ENV, ...). Prints one JSON object on stdout: the case, threads,
 * seconds, rounds (one round = the route's calls: three in parallel for the
 * dashboard, one otherwise), rate (rounds/s), errors, p50_ms, p99_ms and
 * ddb_requests (HTTP requests made, retries included).
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "ddb.h"
#include "util.h"

#define STORE_RATE_THREADS_MAX		1024
#define STORE_RATE_DEFAULT_THREADS	64
#define STORE_RATE_DEFAULT_SECONDS	10
#define STORE_RATE_DEFAULT_WARMUP	2
#define STORE_RATE_SAMPLES_INITIAL	4096
#define STORE_RATE_UPDATES_LIMIT	21	/* the feed's default page (20) + 1, as updates_list asks */
#define STORE_RATE_DASHBOARD_OPS	3
#define STORE_RATE_MONTH		2
/* Room for "code: message" of a struct ddb_error. */
#define STORE_RATE_ERROR_MAX		(sizeof ((struct ddb_error *)0)->code + sizeof ((struct ddb_error *)0)->message + 2)

/* Which route's calls a round makes. */
enum store_case {
	CASE_DASHBOARD,
	CASE_DELIVERABLES,
	CASE_DELIVERABLES_MONTH,
	CASE_METRICS,
	CASE_UPDATES,
};

static const char *const case_names[] = {
	"dashboard", "deliverables", "deliverables-month", "metrics", "updates", NULL
};

/* One thread's results. */
struct worker {
	pthread_t	 thread;
	struct config	*cfg;
	enum store_case	 which;
	int64_t		 warm_until_ms;	/* rounds before this are not counted */
	int64_t		 end_ms;
	unsigned long	 rounds;
	unsigned long	 errors;
	unsigned long	 ddb_requests;
	uint32_t	*samples;	/* latency of each counted round, microseconds */
	size_t		 nsamples;
	size_t		 cap;
	char		 first_error[STORE_RATE_ERROR_MAX];
};

/* Monotonic microseconds. */
static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A Scan request of a whole table (caller owns). */
static json_object *
scan_request(const char *table)
{
	json_object *req = json_object_new_object();

	json_object_object_add(req, "TableName", json_object_new_string(table));
	return req;
}

/* The updates feed Query, newest first (caller owns); limit 0 = no Limit. */
static json_object *
feed_request(const struct config *cfg, int limit)
{
	json_object *req = json_object_new_object(), *values = json_object_new_object();
	json_object *names = json_object_new_object();

	json_object_object_add(req, "TableName", json_object_new_string(cfg->table_updates));
	json_object_object_add(req, "IndexName", json_object_new_string("FeedIndex"));
	json_object_object_add(req, "KeyConditionExpression", json_object_new_string("#feed = :feed"));
	json_object_object_add(names, "#feed", json_object_new_string("feed"));
	json_object_object_add(values, ":feed", ddb_av_s("all"));
	json_object_object_add(req, "ExpressionAttributeNames", names);
	json_object_object_add(req, "ExpressionAttributeValues", values);
	json_object_object_add(req, "ScanIndexForward", json_object_new_boolean(0));
	if (limit > 0)
		json_object_object_add(req, "Limit", json_object_new_int64(limit));
	return req;
}

/* The MonthIndex Query of one month (caller owns). */
static json_object *
month_request(const struct config *cfg, long month)
{
	json_object *req = json_object_new_object(), *values = json_object_new_object();
	json_object *names = json_object_new_object();

	json_object_object_add(req, "TableName", json_object_new_string(cfg->table_deliverables));
	json_object_object_add(req, "IndexName", json_object_new_string("MonthIndex"));
	json_object_object_add(req, "KeyConditionExpression", json_object_new_string("#month = :month"));
	json_object_object_add(names, "#month", json_object_new_string("month"));
	json_object_object_add(values, ":month", ddb_av_n_int(month));
	json_object_object_add(req, "ExpressionAttributeNames", names);
	json_object_object_add(req, "ExpressionAttributeValues", values);
	return req;
}

/* Keeps one latency sample. */
static void
worker_sample(struct worker *w, int64_t us)
{
	if (w->nsamples == w->cap) {
		w->cap = w->cap ? w->cap * 2 : STORE_RATE_SAMPLES_INITIAL;
		w->samples = xrealloc(w->samples, w->cap * sizeof *w->samples);
	}
	w->samples[w->nsamples++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Makes one round of the case's calls; 0 or -1 with a message in w. */
static int
one_round(struct worker *w, struct ddb *ddb, json_object **reqs)
{
	struct ddb_op ops[STORE_RATE_DASHBOARD_OPS];
	struct ddb_error err;
	json_object *resp = NULL;
	int rc = 0;

	switch (w->which) {
	case CASE_DASHBOARD:
		memset(ops, 0, sizeof ops);
		ops[0].op = "Scan";
		ops[0].request = reqs[0];
		ops[1].op = "Scan";
		ops[1].request = reqs[1];
		ops[2].op = "Query";
		ops[2].request = reqs[2];
		rc = ddb_call_parallel(ddb, ops, STORE_RATE_DASHBOARD_OPS);
		for (size_t i = 0; i < STORE_RATE_DASHBOARD_OPS; i++) {
			if (ops[i].rc == -1 && w->first_error[0] == '\0')
				snprintf(w->first_error, sizeof w->first_error, "%s: %s",
				    ops[i].err.code, ops[i].err.message);
			json_object_put(ops[i].response);
		}
		return rc;
	case CASE_DELIVERABLES:
	case CASE_METRICS:
		rc = ddb_call(ddb, "Scan", reqs[0], &resp, &err);
		break;
	case CASE_DELIVERABLES_MONTH:
	case CASE_UPDATES:
		rc = ddb_call(ddb, "Query", reqs[0], &resp, &err);
		break;
	}
	json_object_put(resp);
	if (rc == -1 && w->first_error[0] == '\0')
		snprintf(w->first_error, sizeof w->first_error, "%s: %s", err.code, err.message);
	return rc;
}

/* A thread: rounds back to back until the end time. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct ddb *ddb = ddb_new(w->cfg);
	json_object *reqs[STORE_RATE_DASHBOARD_OPS] = { NULL, NULL, NULL };

	if (ddb == NULL) {
		snprintf(w->first_error, sizeof w->first_error, "ddb_new failed");
		w->errors++;
		return NULL;
	}
	switch (w->which) {
	case CASE_DASHBOARD:
		/* As model_dashboard.c: two Scans and the feed Query, in parallel. */
		reqs[0] = scan_request(w->cfg->table_deliverables);
		reqs[1] = scan_request(w->cfg->table_metrics);
		reqs[2] = feed_request(w->cfg, 0);
		break;
	case CASE_DELIVERABLES:
		reqs[0] = scan_request(w->cfg->table_deliverables);
		break;
	case CASE_DELIVERABLES_MONTH:
		reqs[0] = month_request(w->cfg, STORE_RATE_MONTH);
		break;
	case CASE_METRICS:
		reqs[0] = scan_request(w->cfg->table_metrics);
		break;
	case CASE_UPDATES:
		reqs[0] = feed_request(w->cfg, STORE_RATE_UPDATES_LIMIT);
		break;
	}
	for (;;) {
		int64_t start = mono_us(), now_ms_;
		unsigned before = ddb_request_count(ddb);
		int rc = one_round(w, ddb, reqs);
		int64_t end = mono_us();

		now_ms_ = end / 1000;
		if (now_ms_ >= w->end_ms)
			break;
		if (now_ms_ < w->warm_until_ms)
			continue;
		w->ddb_requests += ddb_request_count(ddb) - before;
		if (rc == -1)
			w->errors++;
		else
			w->rounds++;
		worker_sample(w, end - start);
	}
	for (size_t i = 0; i < STORE_RATE_DASHBOARD_OPS; i++)
		json_object_put(reqs[i]);
	ddb_free(ddb);
	return NULL;
}

/* Orders latency samples. */
static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Prints the usage text. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: store_rate --case dashboard|deliverables|deliverables-month|metrics|updates\n"
	    "                  [--threads N] [--duration S] [--warmup S]\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "case", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config cfg;
	struct worker *workers;
	long threads = STORE_RATE_DEFAULT_THREADS, seconds = STORE_RATE_DEFAULT_SECONDS;
	long warmup = STORE_RATE_DEFAULT_WARMUP;
	int which = -1, ch;
	char *cause = NULL;
	unsigned long rounds = 0, errors = 0, requests = 0;
	size_t nsamples = 0;
	uint32_t *all;
	const char *first_error = NULL;
	double p50 = 0, p99 = 0;
	json_object *out;

	while ((ch = getopt_long(argc, argv, "c:t:d:w:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			for (int i = 0; case_names[i] != NULL; i++)
				if (strcmp(optarg, case_names[i]) == 0)
					which = i;
			break;
		case 't':
			if (parse_long(optarg, 1, STORE_RATE_THREADS_MAX, &threads) == -1)
				which = -2;
			break;
		case 'd':
			if (parse_long(optarg, 1, 86400, &seconds) == -1)
				which = -2;
			break;
		case 'w':
			if (parse_long(optarg, 0, 3600, &warmup) == -1)
				which = -2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (which < 0 || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load(&cfg, CONFIG_NEED_STORE, &cause) == -1) {
		fprintf(stderr, "store_rate: %s\n", cause ? cause : "configuration error");
		free(cause);
		return 1;
	}

	workers = xcalloc((size_t)threads, sizeof *workers);
	int64_t t0 = mono_ms();
	for (long i = 0; i < threads; i++) {
		workers[i].cfg = &cfg;
		workers[i].which = (enum store_case)which;
		workers[i].warm_until_ms = t0 + warmup * 1000;
		workers[i].end_ms = t0 + (warmup + seconds) * 1000;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			fprintf(stderr, "store_rate: pthread_create failed\n");
			return 1;
		}
	}
	for (long i = 0; i < threads; i++) {
		pthread_join(workers[i].thread, NULL);
		rounds += workers[i].rounds;
		errors += workers[i].errors;
		requests += workers[i].ddb_requests;
		nsamples += workers[i].nsamples;
		if (first_error == NULL && workers[i].first_error[0] != '\0')
			first_error = workers[i].first_error;
	}

	all = xmalloc((nsamples ? nsamples : 1) * sizeof *all);
	for (long i = 0, k = 0; i < threads; i++) {
		memcpy(all + k, workers[i].samples, workers[i].nsamples * sizeof *all);
		k += (long)workers[i].nsamples;
	}
	qsort(all, nsamples, sizeof *all, cmp_u32);
	if (nsamples > 0) {
		p50 = all[nsamples / 2] / 1000.0;
		p99 = all[(nsamples * 99) / 100] / 1000.0;
	}

	out = json_object_new_object();
	json_object_object_add(out, "case", json_object_new_string(case_names[which]));
	json_object_object_add(out, "threads", json_object_new_int64(threads));
	json_object_object_add(out, "seconds", json_object_new_int64(seconds));
	json_object_object_add(out, "rounds", json_object_new_int64((int64_t)rounds));
	json_object_object_add(out, "rate", json_object_new_double((double)rounds / (double)seconds));
	json_object_object_add(out, "errors", json_object_new_int64((int64_t)errors));
	json_object_object_add(out, "ddb_requests", json_object_new_int64((int64_t)requests));
	json_object_object_add(out, "p50_ms", json_object_new_double(p50));
	json_object_object_add(out, "p99_ms", json_object_new_double(p99));
	if (first_error != NULL)
		json_object_object_add(out, "first_error", json_object_new_string(first_error));
	printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);

	for (long i = 0; i < threads; i++)
		free(workers[i].samples);
	free(workers);
	free(all);
	config_free(&cfg);
	return errors > 0 ? 1 : 0;
}
