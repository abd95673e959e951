/* model_metrics.h - the metrics table (SPEC §4): KPIs moving from a baseline
 * toward a target, with a capped history. Items cross this boundary as plain
 * JSON (json-c objects); numbers keep their exact decimal text. */
#ifndef PORTAL_MODEL_METRICS_H
#define PORTAL_MODEL_METRICS_H

#include <stdbool.h>

#include "model.h"

struct config;

#define METRICS_HISTORY_MAX	100	/* history entries kept, newest last */

/* Every metric, plain, sorted by id (history included). *items is a new
 * array (caller owns). */
enum model_rc metrics_list(struct ddb *ddb, const struct config *cfg, json_object **items,
    struct ddb_error *err);
/* One metric, plain (caller owns *item), or MODEL_NOT_FOUND. */
enum model_rc metrics_get(struct ddb *ddb, const struct config *cfg, long id,
    json_object **item, struct ddb_error *err);
/* item: validated plain fields with current_value and higher_is_better set;
 * "id" set or absent for the next free one. Adds version 1, updated_at and a
 * history holding the current value; on MODEL_OK item is what was stored
 * (still owned by the caller). MODEL_CONFLICT when the id exists. earlier:
 * as for deliverables_create. */
enum model_rc metrics_create(struct ddb *ddb, const struct config *cfg, json_object *item,
    json_object *earlier, struct ddb_error *err);
/* Applies changes (plain, borrowed) as a read-modify-write conditional on the
 * version read (model_update_num): a changed current_value is appended to
 * history (capped at METRICS_HISTORY_MAX). expected_version >= 0 makes it
 * conditional on that version (MODEL_CONFLICT on mismatch); otherwise a lost
 * race is retried inside the request's deadline, never MODEL_CONFLICT.
 * *updated is the new item (plain, caller owns). */
enum model_rc metrics_update(struct ddb *ddb, const struct config *cfg, long id,
    json_object *changes, long expected_version, json_object **updated, struct ddb_error *err);
/* Deletes a metric; MODEL_NOT_FOUND when absent. */
enum model_rc metrics_delete(struct ddb *ddb, const struct config *cfg, long id,
    long expected_version, struct ddb_error *err);

/* Progress of a plain metric in percent: (current - baseline) / (target -
 * baseline) * 100 clamped to 0..100, rounded to one decimal (halves away from
 * zero); when target equals baseline, 100 once the target is reached, else 0. */
double metrics_progress(json_object *plain);
/* The API shape of a plain metric (borrowed): its fields plus "progress",
 * "history" only when with_history. A new object (caller owns); members are
 * shared with plain, so do not modify plain while the view lives. */
json_object *metrics_item_view(json_object *plain, bool with_history);
/* A new history array: the entries of history (borrowed, may be NULL) plus
 * {"value": value, "at": at} last, oldest dropped beyond METRICS_HISTORY_MAX.
 * value is borrowed (a reference is taken). */
json_object *metrics_history_append(json_object *history, json_object *value, const char *at);

#endif
