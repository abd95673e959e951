/* digest_publish.c - the current digest posted to the feed, once per period
 * and UTC hour (a deterministic id and a conditional put). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "digest.h"
#include "digest_publish.h"
#include "log.h"
#include "model_dashboard.h"
#include "util.h"

#define DATE_LEN	10	/* "YYYY-MM-DD" of an RFC 3339 time */

/* "YYYYMMDDTHH0000Z-digestNN". */
void
digest_publish_id(long days, time_t now, char out[static UPDATES_ID_LEN])
{
	static const char tag[] = "-digest";
	unsigned d = days < 0 ? 0 : (unsigned)(days % 100);
	char stamp[17];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H0000Z", &tm);
	memcpy(out, stamp, 16);
	memcpy(out + 16, tag, sizeof tag - 1);
	out[16 + sizeof tag - 1] = (char)('0' + d / 10);
	out[16 + sizeof tag] = (char)('0' + d % 10);
	out[16 + sizeof tag + 1] = '\0';
}

/* The length of the longest prefix of s, at most max bytes, that ends on a
 * UTF-8 character boundary. */
static size_t
utf8_prefix_len(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	return len;
}

/* The update's fields (title, body, type, author) for the generated digest. */
static json_object *
digest_item(const struct digest_publish_author *author, const char *markdown, long days,
    time_t now)
{
	json_object *item = json_object_new_object(), *who = json_object_new_object();
	char from[21], to[21], *title;

	time_rfc3339(now - (time_t)days * DIGEST_DAY_SECONDS, from);
	time_rfc3339(now, to);
	title = xasprintf("Digest of the last %ld day%s (%.*s to %.*s)", days, days == 1 ? "" : "s",
	    DATE_LEN, from, DATE_LEN, to);
	json_object_object_add(item, "title", json_object_new_string(title));
	json_object_object_add(item, "body",
	    json_object_new_string_len(markdown, (int)utf8_prefix_len(markdown, UPDATES_BODY_MAX)));
	json_object_object_add(item, "type", json_object_new_string(DIGEST_PUBLISH_TYPE));
	json_object_object_add(who, "id", json_object_new_string(author->id));
	if (author->name != NULL)
		json_object_object_add(who, "name", json_object_new_string(author->name));
	if (author->email != NULL)
		json_object_object_add(who, "email", json_object_new_string(author->email));
	json_object_object_add(item, "author", who);
	free(title);
	return item;
}

/* Every update whose type is not "digest". */
json_object *
digest_publish_source_updates(json_object *updates)
{
	json_object *out = json_object_new_array();
	const char *type;

	for (size_t i = 0; updates != NULL && i < json_object_array_length(updates); i++) {
		json_object *u = json_object_array_get_idx(updates, i);

		type = model_string(u, "type");
		if (type == NULL || strcmp(type, DIGEST_PUBLISH_TYPE) != 0)
			json_object_array_add(out, json_object_get(u));
	}
	return out;
}

/* Generates the digest from the store's current data (digest.h). */
static enum model_rc
generate(struct ddb *ddb, const struct config *cfg, long days, time_t now, int64_t deadline_ms,
    struct digest_result *result, struct ddb_error *err)
{
	struct dashboard_data loaded;
	json_object *data, *updates;

	if (dashboard_load(ddb, cfg, &loaded, err) != MODEL_OK)
		return MODEL_ERROR;
	updates = digest_publish_source_updates(loaded.updates);
	data = digest_period_data(loaded.deliverables, loaded.metrics, updates, now, days);
	digest_generate(cfg, data, deadline_ms, result);
	json_object_put(data);
	json_object_put(updates);
	dashboard_data_free(&loaded);
	return MODEL_OK;
}

/* Read first (cheap, and no LLM call when published), then a conditional put. */
enum model_rc
digest_publish_run(struct ddb *ddb, const struct config *cfg, long days,
    const struct digest_publish_author *author, time_t now, int64_t deadline_ms,
    json_object **update, bool *posted, struct ddb_error *err)
{
	struct digest_result result;
	json_object *item;
	char id[UPDATES_ID_LEN];
	enum model_rc rc;

	*update = NULL;
	*posted = false;
	digest_publish_id(days, now, id);
	rc = updates_get(ddb, cfg, id, update, err);
	if (rc == MODEL_OK) {
		log_info("digest: already published this hour", LOG_S("update_id", id), LOG_I("days", days));
		return MODEL_OK;
	}
	if (rc != MODEL_NOT_FOUND)
		return MODEL_ERROR;
	if (generate(ddb, cfg, days, now, deadline_ms, &result, err) != MODEL_OK)
		return MODEL_ERROR;
	item = digest_item(author, result.markdown, days, now);
	rc = updates_create_with_id(ddb, cfg, id, item, err);
	if (rc == MODEL_OK) {
		log_info("digest: published", LOG_S("update_id", id), LOG_I("days", days),
		    LOG_S("source", result.source), LOG_S("author", author->id));
		*update = item;
		*posted = true;
		digest_result_free(&result);
		return MODEL_OK;
	}
	json_object_put(item);
	digest_result_free(&result);
	if (rc != MODEL_CONFLICT)
		return MODEL_ERROR;
	/* Another publish of the same hour won the race: answer with its update. */
	rc = updates_get(ddb, cfg, id, update, err);
	if (rc == MODEL_NOT_FOUND) {
		/* Deleted between the put and the read: nothing to show, nothing posted. */
		ddb_error_set(err, 0, "ConditionalCheckFailedException",
		    "the digest %s vanished while publishing", id);
		return MODEL_ERROR;
	}
	return rc == MODEL_OK ? MODEL_OK : MODEL_ERROR;
}
