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

#endif
