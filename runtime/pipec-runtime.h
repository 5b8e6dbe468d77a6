/*
 * pipec-runtime.h - the runtime library's public interface.
 *
 * The runtime runs a plan (docs/plan.md): one state machine per task whose
 * transitions are events in a SQLite store, a scheduler that starts ready
 * tasks up to a parallelism limit, local execution of each task's command,
 * outputs checked and content-hashed before a task counts as succeeded, and
 * a cache keyed by what made each result.
 */
#ifndef PIPEC_RUNTIME_H
#define PIPEC_RUNTIME_H

#include <stdio.h>

typedef struct pr_options {
	const char *state_dir; /* where .pipec/ lives (default "."); the store is STATE/.pipec/state.db */
	int jobs;              /* tasks at once (>= 1) */
	FILE *log;             /* one line per transition, or NULL */
	int live;              /* LOG is a terminal: a live view redrawn in place instead,
				  with a line only for failures and retries */
	int no_sandbox;        /* run tasks without the sandbox (--no-sandbox) */
	const char *nodes;     /* simulated nodes as JSON [{name, cpu, memory, gpus: [{type, memory}]}]
				  (a resources file), or NULL for this machine */
	int exiting;           /* the caller exits after the run: its plan and tasks are left for
				  the exit to free (10k tasks' JSON takes a tenth of a no-op run) */
} pr_options;

typedef struct pr_summary {
	long run;              /* the run's id in the store */
	const char *status;    /* "succeeded", "failed" or "cancelled" */
	int succeeded, cached, failed, error, skipped, cancelled;
	char *result;          /* the pipeline's value as JSON (new string), or NULL */
} pr_summary;

/*
 * Runs the plan PLAN (JSON text).  Returns 0 (every task ended well), 1 (the
 * run failed: *SUMMARY says how), or 2 (the plan or the store could not be
 * used: *ERR is a new message).  pr_summary_free() releases *SUMMARY.
 */
int pr_run(const char *plan, size_t len, const pr_options *opt, pr_summary *summary, char **err);
void pr_summary_free(pr_summary *s);

/*
 * Resumes run RUN (0: the latest that did not finish) of the store in
 * OPT->state_dir: tasks that committed keep their results; a task that was
 * running is adopted if its process still lives, accepted if it finished
 * meanwhile (its exit status is on disk), and retried otherwise.  Returns as
 * pr_run().
 */
int pr_resume(long run, const pr_options *opt, pr_summary *summary, char **err);

/*
 * Reports from the store in STATE_DIR (read-only; return 0, or 2 with *ERR):
 * the runs; the tasks of RUN (0: the latest) with their state, attempts, exit
 * codes and times; why TASK ran rather than being cached (in RUN, or the
 * latest run that has it); the lineage of an output PATH or a TASK — what
 * made it (tasks, commands, inputs, parameters) and what it fed.
 */
int pr_report_runs(const char *state_dir, int json, FILE *out, char **err);
int pr_report_show(const char *state_dir, long run, int json, FILE *out, char **err);
int pr_report_why(const char *state_dir, const char *task, long run, FILE *out, char **err);
/*
 * pr_report_why() as text (JSON 0) or as one JSON object (JSON 1): {task, run, state, cached, ran,
 * key (or null), reason: "cached" | "no_key" | "first" | "changed" | "unusable", compared_with (the
 * earlier run, or null), changed: [{part ("command", "env", ..., or "input" with "input": its name),
 * before, after (null: none)}]}.
 */
int pr_report_why_format(const char *state_dir, const char *task, long run, int json, FILE *out, char **err);
int pr_report_lineage(const char *state_dir, const char *what, int json, FILE *out, char **err);
/* Cancels RUN (0: the one going on): asks its runtime to stop, or records it. */
int pr_cancel(const char *state_dir, long run, char **err);

#endif
