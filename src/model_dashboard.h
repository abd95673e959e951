/* model_dashboard.h - the three reads behind the dashboard and the digest,
 * issued in parallel. */
#ifndef PORTAL_MODEL_DASHBOARD_H
#define PORTAL_MODEL_DASHBOARD_H

#include "model.h"

struct config;

struct dashboard_data {
	json_object	*deliverables;	/* plain items sorted by month, then id */
	json_object	*metrics;	/* plain items sorted by id */
	json_object	*updates;	/* plain items, newest first */
};

/* Loads all three (one parallel round trip for tables under 1 MB; further
 * pages follow when a table is larger). Free with dashboard_data_free. */
enum model_rc dashboard_load(struct ddb *ddb, const struct config *cfg,
    struct dashboard_data *out, struct ddb_error *err);
void dashboard_data_free(struct dashboard_data *data);	/* NULL-safe */

#endif
