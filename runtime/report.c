/*
 * report.c - what the store says, formatted: runs, show, why, lineage; and
 * cancel.
 *
 * These read DIR/.pipec/state.db read-only (no lock), so they work while a
 * run is going on.  They ask the store through store-query.c (pr_query_*),
 * which holds every SQL statement they need: this file only shapes the
 * answers into tables, sentences and JSON.  `cancel` asks the runtime that
 * owns the directory to stop (SIGTERM, which it turns into a cancellation),
 * or, when that runtime is gone, records the run as cancelled and kills
 * what it left running.
 */
#include "runtime.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The store in STATE_DIR for reading: 0, or 2 with *ERR. */
static int open_ro(const char *state_dir, pr_query **qy, char **err)
{
	*qy = pr_query_open(state_dir, err);
	return *qy ? 0 : 2;
}

/* KEY of O as a string ("" when it is none). */
static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* KEY of O as a number (0 when it is none). */
static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

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
	if (open_ro(state_dir, &qy, err))
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
		when(num(r, "started"), a, sizeof a);
		when(num(r, "finished"), b, sizeof b);
		fprintf(out, "%-5lld %-10s %-19s %-19s %7d %7d %7d  %.24s\n",
			(long long)json_integer_value(json_object_get(r, "run")), str(r, "status"), a, b,
			(int)json_integer_value(json_object_get(r, "tasks")), (int)json_integer_value(json_object_get(r, "ok")),
			(int)json_integer_value(json_object_get(r, "failed")), str(r, "plan_hash"));
	}
	json_decref(runs);
	if (json) {
		char *s = json_dumps(arr, JSON_COMPACT);
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
	if (open_ro(state_dir, &qy, err))
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
		double started = num(q, "started"), finished = num(q, "finished");
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
			json_t *hist = attempts_of(qy, run, str(q, "id"));
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
		fprintf(out, "%-24s %-16s %-10s %8d %5s %9s  %.80s\n", str(q, "id"), str(q, "stage"), str(q, "state"),
			(int)json_integer_value(json_object_get(q, "attempts")), code, secs, on[0] ? on : str(q, "detail"));
	}
	json_decref(rows);
	json_object_set_new(o, "tasks", tasks);
	int rc = 0;
	if (pr_query_failed(qy, err)) /* an attempt's row (the text was printed before: it has none) */
		rc = 2;
	else if (json) {
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fprintf(out, "%s\n", s);
		free(s);
	}
	json_decref(o);
	pr_query_close(qy);
	return rc;
}

int pr_report_why(const char *state_dir, const char *task, long run, FILE *out, char **err)
{
	pr_query *qy;
	if (open_ro(state_dir, &qy, err))
		return 2;
	json_t *now = pr_query_key_parts(qy, task, run);
	if (pr_query_failed(qy, err)) {
		json_decref(now);
		pr_query_close(qy);
		return 2;
	}
	if (!now) {
		char msg[512];
		snprintf(msg, sizeof msg, "no task '%s' in the store%s", task, run ? " for that run" : "");
		*err = strdup(msg);
		pr_query_close(qy);
		return 2;
	}
	run = (long)json_integer_value(json_object_get(now, "run"));
	const char *state = str(now, "state"), *parts = str(now, "parts"), *key = str(now, "key");
	int rc = 0;
	if (!strcmp(state, "cached")) {
		fprintf(out, "%s (run %ld) did not run: its result was in the cache under key %.16s\n", task, run, key);
		goto done;
	}
	if (!*parts) {
		fprintf(out, "%s (run %ld) is %s: it never got as far as its cache key (its inputs or conditions decided)\n",
			task, run, state);
		goto done;
	}
	/* the same task in the run before that had it */
	json_t *earlier = pr_query_key_parts_before(qy, task, run);
	if (pr_query_failed(qy, err)) {
		json_decref(earlier);
		rc = 2;
		goto done;
	}
	if (!earlier) {
		fprintf(out, "%s (run %ld) ran: no earlier run had a task '%s'\n", task, run, task);
		goto done;
	}
	long before = (long)json_integer_value(json_object_get(earlier, "run"));
	json_t *a = json_loads(str(earlier, "parts"), 0, NULL), *b = json_loads(parts, 0, NULL);
	json_decref(earlier);
	int differ = 0;
	fprintf(out, "%s (run %ld) ran rather than being cached; compared with run %ld:\n", task, run, before);
	const char *k;
	json_t *v;
	json_object_foreach(b, k, v) {
		json_t *w = json_object_get(a, k);
		if (w && json_equal(v, w))
			continue;
		if (!strcmp(k, "inputs") && w) {
			const char *in;
			json_t *x;
			json_object_foreach(v, in, x) {
				json_t *y = json_object_get(w, in);
				if (y && json_equal(x, y))
					continue;
				char *s1 = y ? json_dumps(y, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("(none)");
				char *s2 = json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT);
				fprintf(out, "  input '%s' changed: %.60s -> %.60s\n", in, s1, s2);
				free(s1);
				free(s2);
				differ = 1;
			}
			continue;
		}
		fprintf(out, "  its %s changed\n", k);
		differ = 1;
	}
	if (!differ)
		fprintf(out, "  nothing that makes its key changed: the earlier result was not usable (it did not succeed, "
			     "or its files were gone)\n");
	json_decref(a);
	json_decref(b);
done:
	json_decref(now);
	pr_query_close(qy);
	return rc;
}

/* Adds task ID of RUN and what it came from (UP) or what it fed (!UP) to ARR. */
static void walk(pr_query *qy, long run, json_t *tasks, const char *id, int up, json_t *seen, json_t *arr)
{
	if (json_object_get(seen, id))
		return;
	json_object_set_new(seen, id, json_true());
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) {
		const char *tid = json_string_value(json_object_get(t, "id"));
		int related = 0;
		if (up && !strcmp(tid, id)) {
			size_t k;
			json_t *d;
			json_array_foreach(json_object_get(t, "deps"), k, d) {
				walk(qy, run, tasks, json_string_value(d), up, seen, arr);
			}
			continue;
		}
		if (!up) {
			size_t k;
			json_t *d;
			json_array_foreach(json_object_get(t, "deps"), k, d) related |= !strcmp(json_string_value(d), id);
			if (related) {
				json_t *row = pr_query_task(qy, run, tid);
				json_t *o = json_object();
				json_object_set_new(o, "task", json_string(tid));
				if (row) {
					json_object_set(o, "stage", json_object_get(row, "stage"));
					json_object_set(o, "state", json_object_get(row, "state"));
				}
				json_decref(row);
				if (!json_object_get(seen, tid))
					json_array_append_new(arr, o);
				else
					json_decref(o);
				walk(qy, run, tasks, tid, up, seen, arr);
			}
		}
	}
	if (up) {
		json_t *row = pr_query_task(qy, run, id);
		json_t *o = json_object();
		json_object_set_new(o, "task", json_string(id));
		if (row) {
			json_object_set(o, "stage", json_object_get(row, "stage"));
			json_object_set(o, "state", json_object_get(row, "state"));
			json_object_set(o, "command", json_object_get(row, "command"));
			json_t *ins = json_loads(str(row, "inputs"), 0, NULL);
			json_object_set_new(o, "inputs", ins ? ins : json_object());
			if (!strcmp(str(row, "state"), "cached")) {
				/* cached: the command is that of the run that made the result */
				json_t *made = pr_query_made_by(qy, run, id);
				if (made) {
					json_object_set(o, "made_in_run", json_object_get(made, "run"));
					json_object_set(o, "command", json_object_get(made, "command"));
				}
				json_decref(made);
			}
		}
		json_decref(row);
		json_array_append_new(arr, o);
	}
}

int pr_report_lineage(const char *state_dir, const char *what, int json, FILE *out, char **err)
{
	if (!*what) {
		*err = strdup("lineage needs an output's path or a task's id, not ''");
		return 2;
	}
	pr_query *qy;
	if (open_ro(state_dir, &qy, err))
		return 2;
	char real[PATH_MAX];
	const char *path = realpath(what, real) ? real : what;
	long run = 0;
	char *task = NULL, *output = NULL;
	json_t *made = pr_query_lineage_of(qy, path);
	if (made) {
		run = (long)json_integer_value(json_object_get(made, "run"));
		task = strdup(str(made, "task"));
		output = strdup(str(made, "output"));
		json_decref(made);
	}
	if (!task && (run = pr_query_task_run(qy, what)) != 0)
		task = strdup(what); /* a task id, in the latest run that has it */
	if (pr_query_failed(qy, err)) {
		free(task);
		free(output);
		pr_query_close(qy);
		return 2;
	}
	if (!task) {
		char msg[4400];
		snprintf(msg, sizeof msg, "'%s' is neither an output nor a task the store knows", what);
		*err = strdup(msg);
		pr_query_close(qy);
		return 2;
	}
	json_t *plan = pr_query_plan(qy, run);
	json_t *tasks = json_object_get(plan, "tasks");
	json_t *up = json_array(), *down = json_array(), *seen = json_object();
	walk(qy, run, tasks, task, 1, seen, up);
	json_t *seen_down = json_object();
	walk(qy, run, tasks, task, 0, seen_down, down);
	json_decref(seen_down);
	if (pr_query_failed(qy, err)) {
		json_decref(up);
		json_decref(down);
		json_decref(seen);
		json_decref(plan);
		free(task);
		free(output);
		pr_query_close(qy);
		return 2;
	}
	json_t *o = json_object();
	json_object_set_new(o, "run", json_integer(run));
	json_object_set_new(o, "task", json_string(task));
	if (output)
		json_object_set_new(o, "output", json_string(output));
	json_object_set(o, "params", json_object_get(plan, "params") ? json_object_get(plan, "params") : json_object());
	json_object_set_new(o, "upstream", up);
	json_object_set_new(o, "downstream", down);
	if (json) {
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fprintf(out, "%s\n", s);
		free(s);
	} else {
		if (output)
			fprintf(out, "output %s of task %s, run %ld\nmade by:\n", output, task, run);
		else
			fprintf(out, "task %s, run %ld\nmade by:\n", task, run);
		size_t i;
		json_t *t;
		json_array_foreach(up, i, t) {
			fprintf(out, "  %s (stage %s, %s)\n    command: %.200s\n", json_string_value(json_object_get(t, "task")),
				json_string_value(json_object_get(t, "stage")), json_string_value(json_object_get(t, "state")),
				json_string_value(json_object_get(t, "command")));
			char *ins = json_dumps(json_object_get(t, "inputs"), JSON_COMPACT);
			fprintf(out, "    inputs: %.200s\n", ins ? ins : "{}");
			free(ins);
		}
		char *ps = json_dumps(json_object_get(o, "params"), JSON_COMPACT);
		fprintf(out, "parameters: %s\nfed:%s\n", ps ? ps : "{}", json_array_size(down) ? "" : " nothing");
		free(ps);
		json_array_foreach(down, i, t)
			fprintf(out, "  %s (stage %s, %s)\n", json_string_value(json_object_get(t, "task")),
				json_string_value(json_object_get(t, "stage")), json_string_value(json_object_get(t, "state")));
	}
	json_decref(o);
	json_decref(seen);
	json_decref(plan);
	free(task);
	free(output);
	pr_query_close(qy);
	return 0;
}

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
		const char *id = str(t, "id"), *from = str(t, "state");
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
