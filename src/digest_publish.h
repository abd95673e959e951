/* digest_publish.h - the digest posted to the feed (SPEC §10): the current
 * digest of the last N days as an update of type "digest", at most once per
 * N and UTC clock hour. One flow for POST /api/digest/publish, the Lambda
 * entry's scheduled event and `portalctl digest publish`. */
#ifndef PORTAL_DIGEST_PUBLISH_H
#define PORTAL_DIGEST_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "model.h"
#include "model_updates.h"

struct config;

/* The author of digests that no user asked for (schedule, cron). */
#define DIGEST_PUBLISH_SYSTEM_ID	"portal|digest"
#define DIGEST_PUBLISH_SYSTEM_NAME	"Portal digest"
#define DIGEST_PUBLISH_TYPE		"digest"

/* Who posts: borrowed strings; name and email may be NULL. */
struct digest_publish_author {
	const char	*id;
	const char	*name;
	const char	*email;
};

/* The update id of the digest of `days` days published in the UTC clock hour
 * of now: "YYYYMMDDTHH0000Z-digestNN" (NN = days, two digits). It begins with
 * the hour's time like every update id begins with its own, so ids still
 * sort by time (to the hour), and it is the same for every publish of that
 * period within the hour: the key of the once-per-hour rule. */
void digest_publish_id(long days, time_t now, char out[static UPDATES_ID_LEN]);

/* The updates (a plain array, borrowed) without digests: a digest summarises
 * the team's posts, not earlier digests. A new array sharing the items. */
json_object *digest_publish_source_updates(json_object *updates);

/* Publishes the digest of the last `days` days (DIGEST_DAYS_MIN..MAX) as of
 * now, authored by author, with one conditional put under digest_publish_id.
 * *posted is true when this call wrote it, false when the period's digest of
 * this hour already existed (nothing written; no digest generated when the
 * first read finds it). *update is the plain update either way (caller owns).
 * The LLM call, when configured, ends before deadline_ms (0 = none).
 * MODEL_OK, or MODEL_ERROR with err (store failure). */
enum model_rc digest_publish_run(struct ddb *ddb, const struct config *cfg, long days,
    const struct digest_publish_author *author, time_t now, int64_t deadline_ms,
    json_object **update, bool *posted, struct ddb_error *err);

#endif
