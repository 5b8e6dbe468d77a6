/*
 * report-runs.c - `pipec runs` and `pipec show`: the table of runs, and a
 * run's tasks with their states, attempts, exit codes, times and where
 * they ran.
 *
 * Both read the store read-only (no lock, so they work while a run goes
 * on) through store-query.c, which holds their SQL; this file only shapes
 * the answers into a table or JSON.  show's JSON gives each task its
 * attempts (attempt_history), the last attempt's pid, and its placement
 * as node and device UUIDs; the table says "on NODE, GPU i,j" where a
 * task has a placement and no detail to show instead.
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void when(double t, char *buf, size_t n)
{
	if (t <= 0) {
		snprintf(buf, n, "-");
		return;
	}
	time_t s = (time_t)t;
	struct tm tm;
	localtime_r(&s, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

int pr_report_runs(const char *state_dir, int json, FILE *out, char **err)
{
	pr_query *qy;
	if (report_open(state_dir, &qy, err))
		return 2;
	json_t *runs = pr_query_runs(qy), *arr = json_array(), *r;
	size_t i;
	if (pr_query_failed(qy, err)) {
		json_decref(runs);
		json_decref(arr);
		pr_query_close(qy);
		return 2;
	}
	if (!json)
		fprintf(out, "%-5s %-10s %-19s %-19s %7s %7s %7s  %s\n", "RUN", "STATUS", "STARTED", "FINISHED", "TASKS",
			"OK", "FAILED", "PLAN");
	json_array_foreach(runs, i, r) {
		if (json) {
			json_t *o = json_object();
			static const char *const keys[] = {"run", "status", "started", "finished", "plan_hash", "tasks"};
			for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
				json_object_set(o, keys[k], json_object_get(r, keys[k]));
			json_array_append_new(arr, o);
			continue;
		}
		char a[32], b[32];
		when(report_num(r, "started"), a, sizeof a);
		when(report_num(r, "finished"), b, sizeof b);
		fprintf(out, "%-5lld %-10s %-19s %-19s %7d %7d %7d  %.24s\n",
			(long long)json_integer_value(json_object_get(r, "run")), report_str(r, "status"), a, b,
			(int)json_integer_value(json_object_get(r, "tasks")), (int)json_integer_value(json_object_get(r, "ok")),
			(int)json_integer_value(json_object_get(r, "failed")), report_str(r, "plan_hash"));
	}
	json_decref(runs);
	if (json) {
		char *s = pr_json_text_as(arr, 0);
		fprintf(out, "%s\n", s);
		free(s);
	}
	json_decref(arr);
	pr_query_close(qy);
	return 0;
}

/* Sets O's "node" and "devices" (their UUIDs) from a placement PLACE (NULL: none). */
static void put_place(json_t *o, json_t *place)
{
	json_t *devices = json_array(), *g;
	size_t k;
	json_array_foreach(json_object_get(place, "gpus"), k, g) json_array_append(devices, json_object_get(g, "uuid"));
	json_object_set_new(o, "node", place ? json_incref(json_object_get(place, "node")) : json_null());
	json_object_set_new(o, "devices", devices);
}

/* A placement's JSON text in O's KEY, parsed (new reference), or NULL. */
static json_t *placement(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? json_loads(s, 0, NULL) : NULL;
}

/* Each attempt of TASK in RUN: number, times, exit code or signal, node and devices. */
static json_t *attempts_of(pr_query *qy, long run, const char *task)
{
	json_t *rows = pr_query_attempts(qy, run, task), *a = json_array(), *r;
	size_t i;
	json_array_foreach(rows, i, r) {
		json_t *o = json_object();
		static const char *const keys[] = {"attempt", "started", "finished", "exit_code", "signal"};
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			json_object_set(o, keys[k], json_object_get(r, keys[k]));
		json_t *place = placement(r, "placement");
		put_place(o, place);
		json_decref(place);
		/* its process (group): without the sandbox a standing shell's, with it the task's own shell */
		json_object_set(o, "pid", json_object_get(r, "pid"));
		json_array_append_new(a, o);
	}
	json_decref(rows);
	return a;
}

int pr_report_show(const char *state_dir, long run, int json, FILE *out, char **err)
{
	pr_query *qy;
	if (report_open(state_dir, &qy, err))
		return 2;
	if (!run)
		run = pr_query_latest_run(qy);
	json_t *r = pr_query_run(qy, run);
	if (pr_query_failed(qy, err)) {
		json_decref(r);
		pr_query_close(qy);
		return 2;
	}
	if (!r) {
		char msg[64];
		snprintf(msg, sizeof msg, "the store has no run %ld", run);
		*err = strdup(msg);
		pr_query_close(qy);
		return 2;
	}
	json_t *o = json_object();
	json_object_set_new(o, "run", json_integer(run));
	json_object_set(o, "status", json_object_get(r, "status"));
	json_decref(r);
	json_t *rows = pr_query_tasks(qy, run), *q;
	if (pr_query_failed(qy, err)) {
		json_decref(rows);
		json_decref(o);
		pr_query_close(qy);
		return 2;
	}
	json_t *tasks = json_array();
	if (!json)
		fprintf(out, "run %ld: %s\n%-24s %-16s %-10s %8s %5s %9s  %s\n", run,
			json_string_value(json_object_get(o, "status")), "TASK", "STAGE", "STATE", "ATTEMPTS", "EXIT",
			"SECONDS", "DETAIL");
	size_t i;
	json_array_foreach(rows, i, q) {
		double started = report_num(q, "started"), finished = report_num(q, "finished");
		/* where it ran (the last attempt's placement): its node and devices */
		json_t *place = placement(q, "placement");
		json_t *exit_code = json_object_get(q, "exit_code"), *detail = json_object_get(q, "detail");
		int has_exit = !json_is_null(exit_code);
		if (json) {
			json_t *t = json_object();
			json_object_set(t, "id", json_object_get(q, "id"));
			json_object_set(t, "stage", json_object_get(q, "stage"));
			json_object_set(t, "state", json_object_get(q, "state"));
			json_object_set(t, "attempts", json_object_get(q, "attempts"));
			json_object_set(t, "exit_code", exit_code);
			json_object_set_new(t, "started", started > 0 ? json_real(started) : json_null());
			json_object_set_new(t, "finished", finished > 0 ? json_real(finished) : json_null());
			put_place(t, place);
			json_t *hist = attempts_of(qy, run, report_str(q, "id"));
			json_t *codes = json_array();
			size_t k2;
			json_t *h;
			json_array_foreach(hist, k2, h) json_array_append(codes, json_object_get(h, "exit_code"));
			json_object_set_new(t, "exit_codes", codes);
			json_t *last = json_array_get(hist, json_array_size(hist) - 1), *pid = json_object_get(last, "pid");
			json_object_set_new(t, "pid", pid ? json_incref(pid) : json_null()); /* its last attempt's */
			json_object_set_new(t, "attempt_history", hist);
			json_decref(place);
			json_object_set(t, "detail", detail);
			json_array_append_new(tasks, t);
			continue;
		}
		char secs[32] = "-", code[16] = "-", on[512] = "";
		if (place && json_is_null(detail)) { /* "on box-1, GPU 0,1" */
			size_t k;
			json_t *g;
			int len = snprintf(on, sizeof on, "on %s", json_string_value(json_object_get(place, "node")));
			json_array_foreach(json_object_get(place, "gpus"), k, g) if (len > 0 && (size_t)len < sizeof on) len +=
				snprintf(on + len, sizeof on - (size_t)len, "%s%lld", k ? "," : ", GPU ",
					 (long long)json_integer_value(json_object_get(g, "index")));
		}
		json_decref(place);
		if (started > 0 && finished >= started)
			snprintf(secs, sizeof secs, "%.2f", finished - started);
		if (has_exit)
			snprintf(code, sizeof code, "%d", (int)json_integer_value(exit_code));
		fprintf(out, "%-24s %-16s %-10s %8d %5s %9s  %.80s\n", report_str(q, "id"), report_str(q, "stage"), report_str(q, "state"),
			(int)json_integer_value(json_object_get(q, "attempts")), code, secs, on[0] ? on : report_str(q, "detail"));
	}
	json_decref(rows);
	json_object_set_new(o, "tasks", tasks);
	int rc = 0;
	if (pr_query_failed(qy, err)) /* an attempt's row (the text was printed before: it has none) */
		rc = 2;
	else if (json) {
		char *s = pr_json_text_as(o, 0);
		fprintf(out, "%s\n", s);
		free(s);
	}
	json_decref(o);
	pr_query_close(qy);
	return rc;
}
