/*
 * cancel.c - `pipec cancel [RUN]`: stop a run.
 *
 * While the runtime that owns the state directory lives (its pid is in
 * STATE/.pipec/lock), cancel sends it SIGTERM, which it turns into a
 * cancellation: it kills its tasks and records them and the run.  When
 * that runtime is gone, cancel takes the lock itself, kills what the run
 * left running and records the run as cancelled.
 */
#include "report.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pr_cancel(const char *state_dir, long run, char **err)
{
	char lock[4200];
	snprintf(lock, sizeof lock, "%s/.pipec/lock", state_dir);
	FILE *f = fopen(lock, "r");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
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
	pr_exec(&st, "BEGIN IMMEDIATE");
	json_t *live = pr_query_live_tasks(&st, run), *t;
	size_t i;
	json_array_foreach(live, i, t) {
		const char *id = report_str(t, "id"), *from = report_str(t, "state");
		json_int_t pid = json_integer_value(json_object_get(t, "pid"));
		if (!strcmp(from, "running") && pid > 0)
			kill(-(pid_t)pid, SIGKILL);
		pr_store_event(&st, run, id, (int)json_integer_value(json_object_get(t, "attempts")), from, "cancelled",
			       "cancelled by pipec cancel");
	}
	json_decref(live);
	pr_store_finish_run(&st, run, "cancelled");
	pr_exec(&st, "COMMIT");
	pr_store_finalize(&st);
	pr_store_close(&st);
	return 0;
}
