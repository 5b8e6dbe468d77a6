/*
 * plan.h - the plan, the one contract between the compiler and the runtime
 * (docs/plan.md): its version, written by the compiler (lower-plan.c) and
 * checked by the runtime's reader (engine-plan.c), and the typed form in
 * which the reader hands each task to the engine.
 *
 * The reader validates a plan whole before anything runs (types, ranges,
 * unique ids, waits that name tasks of the plan and form no cycle) and then
 * reads each task's fields once into a pr_plan_task: the rest of the
 * runtime never looks a plan key up by its name.  Only expressions (input
 * values, command parts, conditions, checks) stay JSON trees, walked by
 * engine-values.c.
 *
 * This header is included by the compiler too: it holds no more than the
 * constant and plain types.
 */
#ifndef PIPEC_PLAN_H
#define PIPEC_PLAN_H

/* The plan format's version: "pipec_plan" at its top level. */
#define PC_PLAN_VERSION 1

#include <jansson.h>
#include <stdint.h>

/* A task's output as the finishing protocol checks it. */
typedef struct pr_plan_output {
	const char *name;      /* its file's name in the attempt's directory (a file name: no '/', no leading '.') */
	const char *base;      /* the type the runtime checks ("Int", "File", ...; "File" when the plan says none) */
} pr_plan_output;

/*
 * One task of the plan (docs/plan.md "Tasks"), read once by the reader.
 * Every pointer borrows from the plan's JSON, which outlives the run; a
 * JSON member is NULL where the plan leaves the key out.  The task's id,
 * stage, retry, timeout, priority and resources are the rtask's own fields.
 */
typedef struct pr_plan_task {
	const char *module;      /* its stage's module, or NULL */
	const char *file;        /* loc: where the call is (file NULL: no loc) */
	int32_t line, column;
	uint8_t has_loc;         /* the plan gives a loc */
	uint8_t cache, checkpoint; /* the directives (absent: false) */
	uint8_t network;         /* sandbox.network */
	long pids;               /* sandbox.pids, 0: not given */
	const char *image;       /* NULL: none */
	const char *instance_of; /* an instance of a run-time for: its template's id, else NULL */
	uint32_t outs, nouts;    /* its outputs: runner.outdecl[outs .. outs + nouts), in the plan's order */
	json_t *outputs;         /* name -> {type, base, files}: as the cache key hashes them */
	json_t *inputs;          /* name -> {type, value, files}; the values are expressions */
	json_t *command;         /* text, {output}, {checkpoint_dir}, {value, quote} */
	json_t *env;             /* name -> string */
	json_t *after;           /* ids that must succeed first */
	json_t *fallback_of;     /* ids of which it is the fallback */
	json_t *when;            /* [{expr, is}] */
	json_t *checks;          /* [{expr, constraint, loc}] */
	json_t *scatter;         /* ids of the run-time fors it is inside, outermost first */
	json_t *instances;       /* "group": an expanded template's instances' ids */
} pr_plan_task;

#endif
