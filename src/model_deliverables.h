/* model_deliverables.h - the deliverables table (SPEC §4). Plain JSON items. */
#ifndef PORTAL_MODEL_DELIVERABLES_H
#define PORTAL_MODEL_DELIVERABLES_H

#include "model.h"

struct config;

extern const char *const deliverable_statuses[];	/* NULL-terminated */

/* All deliverables, or those of one month (month > 0, via MonthIndex), with
 * an optional status filter; sorted by month, then id. One store call for
 * tables under 1 MB. *items is a new array (caller owns). */
enum model_rc deliverables_list(struct ddb *ddb, const struct config *cfg, long month,
    const char *status, json_object **items, struct ddb_error *err);
enum model_rc deliverables_get(struct ddb *ddb, const struct config *cfg, long id,
    json_object **item, struct ddb_error *err);
/* item: validated plain fields; id set or absent for the next free one. Adds
 * version 1 and updated_at. earlier (may be NULL): what an earlier attempt of
 * this request (Idempotency-Key) wrote with an unknown outcome (model_create). */
enum model_rc deliverables_create(struct ddb *ddb, const struct config *cfg,
    json_object *item, json_object *earlier, struct ddb_error *err);
enum model_rc deliverables_update(struct ddb *ddb, const struct config *cfg, long id,
    json_object *changes, long expected_version, json_object **updated, struct ddb_error *err);
enum model_rc deliverables_delete(struct ddb *ddb, const struct config *cfg, long id,
    long expected_version, struct ddb_error *err);

#endif
