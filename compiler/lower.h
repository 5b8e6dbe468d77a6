/*
 * lower.h - from a checked pipeline to the plan (lower.c; docs/plan.md).
 */
#ifndef PIPEC_LOWER_H
#define PIPEC_LOWER_H

#include <jansson.h>
#include <stdio.h>

#include "sema-internal.h"

#include "../runtime/plan.h" /* PC_PLAN_VERSION: the one constant the runtime checks */

/*
 * Lowers PIPELINE of FILE with PARAMS ("name=value") and writes the plan
 * to OUT.  Returns 0; 1 when lowering reported diagnostics (nothing is
 * written); 2 for a bad parameter, an unknown pipeline or a write error
 * (the reason in ERR).
 */
int pc_lower(pc_ctx *ctx, const char *file, const char *pipeline, const char *const *params,
	     size_t nparams, FILE *out, pc_buf *err);

#endif
