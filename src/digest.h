/* digest.h - the AI digest (SPEC §5 GET /api/digest): the period's data,
 * a deterministic built-in markdown summary of it, an optional
 * OpenAI-compatible chat-completions call, and a per-process cache. */
#ifndef PORTAL_DIGEST_H
#define PORTAL_DIGEST_H

#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

struct config;

#define DIGEST_DAYS_DEFAULT	7
#define DIGEST_DAYS_MIN		1
#define DIGEST_DAYS_MAX		90
#define DIGEST_DAY_SECONDS	86400	/* the period is days * this, ending now */
#define DIGEST_DUE_SOON_DAYS	14	/* "due soon": due within this many days */
#define DIGEST_DUE_NEXT_MAX	5	/* deliverables listed under "Due next" */
#define DIGEST_TEXT_MAX		300	/* bytes of user text quoted in the built-in digest */
#define DIGEST_KEY_HEX_LEN	65	/* SHA-256 in hex + NUL */

#define DIGEST_SOURCE_LLM	"llm"
#define DIGEST_SOURCE_BUILTIN	"builtin"

/* Parses a days query value strictly (digits only, DIGEST_DAYS_MIN..MAX);
 * s == NULL gives DIGEST_DAYS_DEFAULT. -1 on anything else. */
int digest_parse_days(const char *s, long *days);

/* The period's data from plain items (all borrowed: deliverables sorted by
 * month then id, metrics sorted by id with history, updates newest first),
 * for the days ending at now. A new object (caller owns):
 *   {"days", "today", "overall_progress",
 *    "deliverables": {"total", "counts": {...}, "completed", "in_progress",
 *                     "blocked" (each with "reason"), "due_soon", "overdue", "due_next"},
 *    "metrics": [{"name","unit","baseline","current","target","progress",
 *                 "higher_is_better","period_start"}],
 *    "updates_total": the number of updates created in the period,
 *    "updates": [the newest of them, at most 50, bodies cut at 1000 bytes]}
 * It holds no clock time finer than the day, so its serialisation (and the
 * cache key) stays the same while the clock moves and the data does not. */
json_object *digest_period_data(json_object *deliverables, json_object *metrics,
    json_object *updates, time_t now, long days);

/* The built-in markdown digest of period data (borrowed, from
 * digest_period_data). Deterministic; the caller frees the result. */
char *digest_builtin(json_object *data);

/* The cache key of period data (borrowed) under cfg's digest settings:
 * SHA-256 in hex of the data's JSON, days and the source settings. */
void digest_cache_key(const struct config *cfg, json_object *data, char out[static DIGEST_KEY_HEX_LEN]);

struct digest_result {
	char		*markdown;	/* owned: free with digest_result_free */
	const char	*source;	/* DIGEST_SOURCE_LLM or DIGEST_SOURCE_BUILTIN (static) */
	time_t		 generated_at;	/* when the text was made (earlier when cached) */
};

/* The digest of period data (borrowed): from the cache, else the LLM when
 * cfg sets all three DIGEST_* (falling back to the built-in digest, with a
 * warning in the log, on any failure), else the built-in digest. The LLM call
 * ends before deadline_ms (wall clock ms; 0 = none). Never fails. */
void digest_generate(const struct config *cfg, json_object *data, int64_t deadline_ms,
    struct digest_result *out);
void digest_result_free(struct digest_result *r);	/* NULL-safe */

/* Empties the per-process cache (tests). */
void digest_cache_clear(void);

#endif
