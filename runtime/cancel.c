/*
 * cancel.c - `pipec cancel [RUN]`: stop a run.
 *
 * While the runtime that owns the state directory lives (it holds
 * STATE/.pipec/lock: pr_store_lock_owner()), cancel sends it SIGTERM,
 * which it turns into a cancellation: it kills its tasks and records
 * them and the run.  When that runtime is gone, cancel takes the lock
 * itself, kills what the run left running and records the cancellation,
 * in one transaction: for each task, the state machine's table (state.h)
 * says whether `cancelled` may follow the state the store has for it; a
 * task that ended (or is in a state the table does not know) is left as
 * it is, each other one gets its event FROM -> cancelled; then the run is
 * `cancelled`.
 *
 * A pid read back (the lock's, a task's) is signalled only when the
 * process that has it now is the one that was recorded (procid.c): a
 * stale lock or a task pid reused by an unrelated process signals no one.
 *
 * A run that already ended is never rewritten, nor is a live runtime
 * signalled on its behalf: cancel of RUN looks at RUN's status first (read
 * only, without the lock) and, under the lock, again before it writes.
 */
#include "report.h"
#include "state.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets *ERR to "run RUN already ended (STATUS)" and returns 2 when STATUS is not "running"; else 0. */
static int ended(long run, const char *status, char **err)
{
	if (!strcmp(status, "running"))
		return 0;
	char msg[128];
	snprintf(msg, sizeof msg, "run %ld already ended (%.60s)", run, status);
	*err = strdup(msg);
	return 2;
}

/* 0 when RUN of the store in STATE_DIR is still running; else 2 with *ERR (it ended, or is not there). */
static int still_running(const char *state_dir, long run, char **err)
{
	pr_query *qy;
	if (report_open(state_dir, &qy, err))
		return 2;
	json_t *r = pr_query_run(qy, run);
	int rc = 0;
	if (pr_query_failed(qy, err)) {
		rc = 2;
	} else if (!r) {
		char msg[64];
		snprintf(msg, sizeof msg, "the store has no run %ld", run);
		*err = strdup(msg);
		rc = 2;
	} else {
		rc = ended(run, report_str(r, "status"), err);
	}
	json_decref(r);
	pr_query_close(qy);
	return rc;
}

/* Records RUN of ST (whose runtime is gone) cancelled, with each task the table lets be: 0, or 2 with *ERR. */
static int record(pr_store *st, long run, char **err)
{
	pr_store_begin(st);
	char *status = pr_query_run_status(st, run);
	int rc = status ? ended(run, status, err) : 0;
	free(status);
	if (rc) { /* it ended meanwhile */
		pr_store_commit(st, NULL, 0);
		return rc;
	}
	json_t *tasks = pr_query_task_states(st, run), *t;
	size_t i;
	json_array_foreach(tasks, i, t) {
		int from = pe_state_of(report_str(t, "state"));
		if (from < 0 || !pe_state_legal((tstate)from, S_CANCELLED))
			continue; /* it ended, or the table does not know its state: left as it is */
		json_int_t pid = json_integer_value(json_object_get(t, "pid"));
		json_int_t since = json_integer_value(json_object_get(t, "pid_start"));
		if (from == S_RUNNING && pr_proc_is((long)pid, (unsigned long long)since))
			kill(-(pid_t)pid, SIGKILL); /* only the attempt's own process: its pid may be another's now */
		pr_store_event(st, run, report_str(t, "id"), (int)json_integer_value(json_object_get(t, "attempts")),
			       pe_state_names[from], pe_state_names[S_CANCELLED], "cancelled by pipec cancel");
	}
	json_decref(tasks);
	pr_store_finish_run(st, run, pe_state_names[S_CANCELLED]);
	pr_store_commit(st, NULL, 0);
	const char *failed = pr_store_failed(st);
	if (failed) {
		char msg[700];
		snprintf(msg, sizeof msg, "cannot record the cancellation of run %ld: %s", run, failed);
		*err = strdup(msg);
		return 2;
	}
	return 0;
}

int pr_cancel(const char *state_dir, long run, char **err)
{
	if (run && still_running(state_dir, run, err))
		return 2;
	long pid = pr_store_lock_owner(state_dir);
	if (pid > 0 && kill((pid_t)pid, SIGTERM) == 0)
		return 0; /* the runtime cancels: kills its tasks and records it */
	/* no runtime: record the cancellation ourselves */
	pr_store st;
	if (pr_store_open(&st, state_dir, err) < 0)
		return 2;
	if (!run)
		run = pr_query_live_run(&st);
	if (!run) {
		*err = strdup("no run is going on");
		pr_store_close(&st);
		return 2;
	}
	int rc = record(&st, run, err);
	pr_store_close(&st);
	return rc;
}
