/*
 * report.h - what the report files share (report-runs.c, report-why.c,
 * report-lineage.c; not the rest of the runtime).
 *
 * Each report opens the store read-only through store-query.c, asks it
 * for JSON answers, and shapes them; these read those answers' fields
 * without a NULL check at each use.
 */
#ifndef PIPEC_REPORT_H
#define PIPEC_REPORT_H

#include <jansson.h>

#include "runtime.h"

/* The store in STATE_DIR for reading (pr_query_open()): 0, or 2 with *ERR. */
static inline int report_open(const char *state_dir, pr_query **qy, char **err)
{
	*qy = pr_query_open(state_dir, err);
	return *qy ? 0 : 2;
}

/* KEY of O as a string ("" when it is none). */
static inline const char *report_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* KEY of O as a number (0 when it is none). */
static inline double report_num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

#endif
