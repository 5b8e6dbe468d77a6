/*
 * lower.h - from a checked pipeline to the plan (lower.c; docs/plan.md).
 */
#ifndef PIPEC_LOWER_H
#define PIPEC_LOWER_H

#include <jansson.h>

#include "sema-internal.h"

#define PC_PLAN_VERSION 1

/*
 * Lowers PIPELINE of FILE with PARAMS ("name=value").  Returns 0 with
 * *PLAN_OUT (new text), 1 when lowering reported diagnostics, 2 for a bad
 * parameter or an unknown pipeline (the reason in ERR).
 */
int pc_lower(pc_ctx *ctx, const char *file, const char *pipeline, const char *const *params,
	     size_t nparams, char **plan_out, pc_buf *err);

#endif
