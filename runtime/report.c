/*
 * report.c - reading the store: runs, show, why, lineage; and cancel.
 *
 * These read DIR/.pipec/state.db read-only (no lock), so they work while a
 * run is going on.  `cancel` asks the runtime that owns the directory to
 * stop (SIGTERM, which it turns into a cancellation), or, when that runtime
 * is gone, records the run as cancelled and kills what it left running.
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

static int open_ro(const char *state_dir, sqlite3 **db, char **err)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/.pipec/state.db", state_dir);
	if (access(path, R_OK) != 0 ||
	    sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		char msg[4400];
		snprintf(msg, sizeof msg, "no store at %s (nothing has run there)", path);
		*err = strdup(msg);
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*db, 5000);
	/*
	 * The tasks of every run, as the reports read them: a run that repeated
	 * another (runs.replay_of) has its tasks, each taken from the cache.
	 * A store from before runs could repeat has only its own.  ORD keeps
	 * the plan's order.
	 */
	sqlite3_stmt *q;
	int replays = sqlite3_prepare_v2(*db, "SELECT replay_of FROM runs", -1, &q, NULL) == SQLITE_OK;
	sqlite3_finalize(q);
	sqlite3_exec(*db, replays
		     ? "CREATE TEMP VIEW tasks AS SELECT rowid AS ord, * FROM main.tasks UNION ALL"
		       " SELECT t.rowid, r.id, t.id, t.stage,"
		       " CASE WHEN t.state = 'succeeded' AND coalesce(t.cache_key, '') <> '' THEN 'cached' ELSE t.state END,"
		       " 0, t.cache_key, NULL, NULL, t.parts, t.inputs, t.command, NULL, NULL, NULL, NULL"
		       " FROM main.runs r JOIN main.tasks t ON t.run = r.replay_of"
		     : "CREATE TEMP VIEW tasks AS SELECT rowid AS ord, * FROM main.tasks", NULL, NULL, NULL);
	return 0;
}

static const char *col(sqlite3_stmt *q, int i)
{
	const char *s = (const char *)sqlite3_column_text(q, i);
	return s ? s : "";
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

static long latest_run(sqlite3 *db)
{
	sqlite3_stmt *q;
	long run = 0;
	if (sqlite3_prepare_v2(db, "SELECT max(id) FROM runs", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		run = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return run;
}

int pr_report_runs(const char *state_dir, int json, FILE *out, char **err)
{
	sqlite3 *db;
	if (open_ro(state_dir, &db, err) < 0)
		return 2;
	sqlite3_stmt *q;
	sqlite3_prepare_v2(db,
			   "SELECT r.id, r.status, r.started, r.finished, r.plan_hash,"
			   " (SELECT count(*) FROM tasks t WHERE t.run = r.id),"
			   " (SELECT count(*) FROM tasks t WHERE t.run = r.id AND t.state IN ('succeeded', 'cached')),"
			   " (SELECT count(*) FROM tasks t WHERE t.run = r.id AND t.state IN ('failed', 'error'))"
			   " FROM runs r ORDER BY r.id", -1, &q, NULL);
	json_t *arr = json_array();
	if (!json)
		fprintf(out, "%-5s %-10s %-19s %-19s %7s %7s %7s  %s\n", "RUN", "STATUS", "STARTED", "FINISHED", "TASKS",
			"OK", "FAILED", "PLAN");
	while (sqlite3_step(q) == SQLITE_ROW) {
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "run", json_integer(sqlite3_column_int64(q, 0)));
			json_object_set_new(o, "status", json_string(col(q, 1)));
			json_object_set_new(o, "started", json_real(sqlite3_column_double(q, 2)));
			json_object_set_new(o, "finished", sqlite3_column_type(q, 3) == SQLITE_NULL ? json_null()
											       : json_real(sqlite3_column_double(q, 3)));
			json_object_set_new(o, "plan_hash", json_string(col(q, 4)));
			json_object_set_new(o, "tasks", json_integer(sqlite3_column_int(q, 5)));
			json_array_append_new(arr, o);
			continue;
		}
		char a[32], b[32];
		when(sqlite3_column_double(q, 2), a, sizeof a);
		when(sqlite3_column_double(q, 3), b, sizeof b);
		fprintf(out, "%-5lld %-10s %-19s %-19s %7d %7d %7d  %.24s\n", (long long)sqlite3_column_int64(q, 0),
			col(q, 1), a, b, sqlite3_column_int(q, 5), sqlite3_column_int(q, 6), sqlite3_column_int(q, 7),
			col(q, 4));
	}
	sqlite3_finalize(q);
	if (json) {
		char *s = json_dumps(arr, JSON_COMPACT);
		fprintf(out, "%s\n", s);
		free(s);
	}
	json_decref(arr);
	sqlite3_close(db);
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

/* Each attempt of TASK in RUN: number, times, exit code or signal, node and devices. */
static json_t *attempts_of(sqlite3 *db, long run, const char *task)
{
	json_t *a = json_array();
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(db, "SELECT attempt, started, finished, exit_code, signal, placement, pid FROM attempts"
				   " WHERE run = ? AND task = ? ORDER BY attempt", -1, &q, NULL) != SQLITE_OK)
		return a; /* a store from before attempts were kept */
	sqlite3_bind_int64(q, 1, run);
	sqlite3_bind_text(q, 2, task, -1, SQLITE_STATIC);
	while (sqlite3_step(q) == SQLITE_ROW) {
		json_t *o = json_object();
		json_object_set_new(o, "attempt", json_integer(sqlite3_column_int(q, 0)));
		json_object_set_new(o, "started", json_real(sqlite3_column_double(q, 1)));
		for (int c = 2; c <= 4; c++) {
			static const char *const keys[] = {"finished", "exit_code", "signal"};
			json_t *v = sqlite3_column_type(q, c) == SQLITE_NULL ? json_null()
					: c == 2 ? json_real(sqlite3_column_double(q, c)) : json_integer(sqlite3_column_int(q, c));
			json_object_set_new(o, keys[c - 2], v);
		}
		json_t *place = sqlite3_column_text(q, 5) ? json_loads((const char *)sqlite3_column_text(q, 5), 0, NULL) : NULL;
		put_place(o, place);
		json_decref(place);
		/* its process (group): without the sandbox a standing shell's, with it the task's own shell */
		json_object_set_new(o, "pid", sqlite3_column_type(q, 6) == SQLITE_NULL ? json_null()
									  : json_integer(sqlite3_column_int64(q, 6)));
		json_array_append_new(a, o);
	}
	sqlite3_finalize(q);
	return a;
}

int pr_report_show(const char *state_dir, long run, int json, FILE *out, char **err)
{
	sqlite3 *db;
	if (open_ro(state_dir, &db, err) < 0)
		return 2;
	if (!run)
		run = latest_run(db);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(db, "SELECT status, started, finished FROM runs WHERE id = ?", -1, &q, NULL);
	sqlite3_bind_int64(q, 1, run);
	if (sqlite3_step(q) != SQLITE_ROW) {
		char msg[64];
		snprintf(msg, sizeof msg, "the store has no run %ld", run);
		*err = strdup(msg);
		sqlite3_finalize(q);
		sqlite3_close(db);
		return 2;
	}
	json_t *o = json_object();
	json_object_set_new(o, "run", json_integer(run));
	json_object_set_new(o, "status", json_string(col(q, 0)));
	sqlite3_finalize(q);
	sqlite3_prepare_v2(db,
			   "SELECT t.id, t.stage, t.state, t.attempts, t.exit_code, t.started, t.finished,"
			   " (SELECT detail FROM events e WHERE e.run = t.run AND e.task = t.id AND e.detail IS NOT NULL"
			   "  AND e.to_state <> 'running' ORDER BY seq DESC LIMIT 1), t.placement"
			   " FROM tasks t WHERE t.run = ? ORDER BY t.ord",
			   -1, &q, NULL);
	sqlite3_bind_int64(q, 1, run);
	json_t *tasks = json_array();
	if (!json)
		fprintf(out, "run %ld: %s\n%-24s %-16s %-10s %8s %5s %9s  %s\n", run,
			json_string_value(json_object_get(o, "status")), "TASK", "STAGE", "STATE", "ATTEMPTS", "EXIT",
			"SECONDS", "DETAIL");
	while (sqlite3_step(q) == SQLITE_ROW) {
		double started = sqlite3_column_double(q, 5), finished = sqlite3_column_double(q, 6);
		/* where it ran (the last attempt's placement): its node and devices */
		json_t *place = sqlite3_column_text(q, 8) ? json_loads(col(q, 8), 0, NULL) : NULL;
		int has_exit = sqlite3_column_type(q, 4) != SQLITE_NULL;
		if (json) {
			json_t *t = json_object();
			json_object_set_new(t, "id", json_string(col(q, 0)));
			json_object_set_new(t, "stage", json_string(col(q, 1)));
			json_object_set_new(t, "state", json_string(col(q, 2)));
			json_object_set_new(t, "attempts", json_integer(sqlite3_column_int(q, 3)));
			json_object_set_new(t, "exit_code", has_exit ? json_integer(sqlite3_column_int(q, 4)) : json_null());
			json_object_set_new(t, "started", started > 0 ? json_real(started) : json_null());
			json_object_set_new(t, "finished", finished > 0 ? json_real(finished) : json_null());
			put_place(t, place);
			json_t *hist = attempts_of(db, run, col(q, 0));
			json_t *codes = json_array();
			size_t k2;
			json_t *h;
			json_array_foreach(hist, k2, h) json_array_append(codes, json_object_get(h, "exit_code"));
			json_object_set_new(t, "exit_codes", codes);
			json_t *last = json_array_get(hist, json_array_size(hist) - 1), *pid = json_object_get(last, "pid");
			json_object_set_new(t, "pid", pid ? json_incref(pid) : json_null()); /* its last attempt's */
			json_object_set_new(t, "attempt_history", hist);
			json_decref(place);
			json_object_set_new(t, "detail", sqlite3_column_type(q, 7) == SQLITE_NULL ? json_null()
												     : json_string(col(q, 7)));
			json_array_append_new(tasks, t);
			continue;
		}
		char secs[32] = "-", code[16] = "-", on[512] = "";
		if (place && sqlite3_column_type(q, 7) == SQLITE_NULL) { /* "on box-1, GPU 0,1" */
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
			snprintf(code, sizeof code, "%d", sqlite3_column_int(q, 4));
		fprintf(out, "%-24s %-16s %-10s %8d %5s %9s  %.80s\n", col(q, 0), col(q, 1), col(q, 2),
			sqlite3_column_int(q, 3), code, secs, on[0] ? on : col(q, 7));
	}
	sqlite3_finalize(q);
	json_object_set_new(o, "tasks", tasks);
	if (json) {
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fprintf(out, "%s\n", s);
		free(s);
	}
	json_decref(o);
	sqlite3_close(db);
	return 0;
}

/* A task's run, state, cache key parts (kept once per key; in the row in older stores) and key. */
#define TASK_PARTS "SELECT t.run, t.state, coalesce(t.parts, k.parts), t.cache_key FROM tasks t" \
		   " LEFT JOIN keys k ON k.key = t.cache_key"

int pr_report_why(const char *state_dir, const char *task, long run, FILE *out, char **err)
{
	sqlite3 *db;
	if (open_ro(state_dir, &db, err) < 0)
		return 2;
	sqlite3_stmt *q;
	sqlite3_prepare_v2(db,
			   run ? TASK_PARTS " WHERE t.id = ?1 AND t.run = ?2"
			       : TASK_PARTS " WHERE t.id = ?1 ORDER BY t.run DESC LIMIT 1",
			   -1, &q, NULL);
	sqlite3_bind_text(q, 1, task, -1, SQLITE_STATIC);
	if (run)
		sqlite3_bind_int64(q, 2, run);
	if (sqlite3_step(q) != SQLITE_ROW) {
		char msg[512];
		snprintf(msg, sizeof msg, "no task '%s' in the store%s", task, run ? " for that run" : "");
		*err = strdup(msg);
		sqlite3_finalize(q);
		sqlite3_close(db);
		return 2;
	}
	run = sqlite3_column_int64(q, 0);
	char *state = strdup(col(q, 1)), *parts = strdup(col(q, 2)), *key = strdup(col(q, 3));
	sqlite3_finalize(q);
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
	sqlite3_prepare_v2(db, TASK_PARTS " WHERE t.id = ? AND t.run < ? AND coalesce(t.parts, k.parts) IS NOT NULL"
			       " ORDER BY t.run DESC LIMIT 1", -1, &q, NULL);
	sqlite3_bind_text(q, 1, task, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, run);
	if (sqlite3_step(q) != SQLITE_ROW) {
		fprintf(out, "%s (run %ld) ran: no earlier run had a task '%s'\n", task, run, task);
		sqlite3_finalize(q);
		goto done;
	}
	long before = sqlite3_column_int64(q, 0);
	json_t *a = json_loads(col(q, 2), 0, NULL), *b = json_loads(parts, 0, NULL);
	sqlite3_finalize(q);
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
	free(state);
	free(parts);
	free(key);
	sqlite3_close(db);
	return rc;
}

/* Adds task ID of RUN and what it came from (UP) or what it fed (!UP) to ARR. */
static void walk(sqlite3 *db, long run, json_t *tasks, const char *id, int up, json_t *seen, json_t *arr)
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
				walk(db, run, tasks, json_string_value(d), up, seen, arr);
			}
			continue;
		}
		if (!up) {
			size_t k;
			json_t *d;
			json_array_foreach(json_object_get(t, "deps"), k, d) related |= !strcmp(json_string_value(d), id);
			if (related) {
				sqlite3_stmt *q;
				sqlite3_prepare_v2(db, "SELECT stage, state FROM tasks WHERE run = ? AND id = ?", -1, &q, NULL);
				sqlite3_bind_int64(q, 1, run);
				sqlite3_bind_text(q, 2, tid, -1, SQLITE_STATIC);
				json_t *o = json_object();
				json_object_set_new(o, "task", json_string(tid));
				if (sqlite3_step(q) == SQLITE_ROW) {
					json_object_set_new(o, "stage", json_string(col(q, 0)));
					json_object_set_new(o, "state", json_string(col(q, 1)));
				}
				sqlite3_finalize(q);
				if (!json_object_get(seen, tid))
					json_array_append_new(arr, o);
				else
					json_decref(o);
				walk(db, run, tasks, tid, up, seen, arr);
			}
		}
	}
	if (up) {
		sqlite3_stmt *q;
		sqlite3_prepare_v2(db, "SELECT stage, state, command, inputs FROM tasks WHERE run = ? AND id = ?", -1, &q,
				   NULL);
		sqlite3_bind_int64(q, 1, run);
		sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
		json_t *o = json_object();
		json_object_set_new(o, "task", json_string(id));
		if (sqlite3_step(q) == SQLITE_ROW) {
			json_object_set_new(o, "stage", json_string(col(q, 0)));
			json_object_set_new(o, "state", json_string(col(q, 1)));
			json_object_set_new(o, "command", json_string(col(q, 2)));
			json_t *ins = json_loads(col(q, 3), 0, NULL);
			json_object_set_new(o, "inputs", ins ? ins : json_object());
			if (!strcmp(col(q, 1), "cached")) {
				/* cached: the command is that of the run that made the result */
				sqlite3_stmt *c;
				sqlite3_prepare_v2(db, "SELECT t.run, t.command FROM cache k JOIN tasks t ON t.run = k.run AND t.id = k.task"
						       " WHERE k.key = (SELECT cache_key FROM tasks WHERE run = ? AND id = ?)", -1, &c, NULL);
				sqlite3_bind_int64(c, 1, run);
				sqlite3_bind_text(c, 2, id, -1, SQLITE_STATIC);
				if (sqlite3_step(c) == SQLITE_ROW) {
					json_object_set_new(o, "made_in_run", json_integer(sqlite3_column_int64(c, 0)));
					json_object_set_new(o, "command", json_string(col(c, 1)));
				}
				sqlite3_finalize(c);
			}
		}
		sqlite3_finalize(q);
		json_array_append_new(arr, o);
	}
}

int pr_report_lineage(const char *state_dir, const char *what, int json, FILE *out, char **err)
{
	sqlite3 *db;
	if (open_ro(state_dir, &db, err) < 0)
		return 2;
	char real[PATH_MAX];
	const char *path = realpath(what, real) ? real : what;
	sqlite3_stmt *q;
	/* the run that made the file, rather than a later one that took it from the cache */
	sqlite3_prepare_v2(db, "SELECT a.run, a.task, a.output FROM artifacts a JOIN tasks t ON t.run = a.run AND t.id = a.task"
			       " WHERE a.path = ?1 OR a.path LIKE ?1 || '/%' ORDER BY (t.state = 'succeeded') DESC, a.run DESC"
			       " LIMIT 1", -1, &q, NULL);
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	long run = 0;
	char *task = NULL, *output = NULL;
	if (sqlite3_step(q) == SQLITE_ROW) {
		run = sqlite3_column_int64(q, 0);
		task = strdup(col(q, 1));
		output = strdup(col(q, 2));
	}
	sqlite3_finalize(q);
	if (!task) {
		/* a task id, in the latest run that has it */
		sqlite3_prepare_v2(db, "SELECT run FROM tasks WHERE id = ? ORDER BY run DESC LIMIT 1", -1, &q, NULL);
		sqlite3_bind_text(q, 1, what, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW) {
			run = sqlite3_column_int64(q, 0);
			task = strdup(what);
		}
		sqlite3_finalize(q);
	}
	if (!task) {
		char msg[4400];
		snprintf(msg, sizeof msg, "'%s' is neither an output nor a task the store knows", what);
		*err = strdup(msg);
		sqlite3_close(db);
		return 2;
	}
	/* a run that repeated another has its plan (with what its run-time fors added) */
	long planned = run;
	if (sqlite3_prepare_v2(db, "SELECT replay_of FROM runs WHERE id = ? AND replay_of IS NOT NULL", -1, &q, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(q, 1, run);
		if (sqlite3_step(q) == SQLITE_ROW)
			planned = sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	sqlite3_prepare_v2(db, PR_RUN_PLAN_SQL " WHERE r.id = ?", -1, &q, NULL);
	sqlite3_bind_int64(q, 1, planned);
	json_t *plan = sqlite3_step(q) == SQLITE_ROW ? json_loads(col(q, 1), 0, NULL) : NULL;
	sqlite3_finalize(q);
	json_t *tasks = json_object_get(plan, "tasks");
	json_t *up = json_array(), *down = json_array(), *seen = json_object();
	walk(db, run, tasks, task, 1, seen, up);
	json_t *seen_down = json_object();
	walk(db, run, tasks, task, 0, seen_down, down);
	json_decref(seen_down);
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
	sqlite3_close(db);
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
	sqlite3_stmt *q;
	if (!run) {
		sqlite3_prepare_v2(st.db, "SELECT max(id) FROM runs WHERE status = 'running'", -1, &q, NULL);
		if (sqlite3_step(q) == SQLITE_ROW)
			run = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	if (!run) {
		*err = strdup("no run is going on");
		pr_store_close(&st);
		return 2;
	}
	pr_exec(&st, "BEGIN IMMEDIATE");
	sqlite3_prepare_v2(st.db, "SELECT id, state, attempts, pid FROM tasks WHERE run = ? AND state IN"
				  " ('pending', 'ready', 'running', 'retrying')", -1, &q, NULL);
	sqlite3_bind_int64(q, 1, run);
	while (sqlite3_step(q) == SQLITE_ROW) {
		char *id = strdup(col(q, 0)), *from = strdup(col(q, 1));
		if (!strcmp(from, "running") && sqlite3_column_int64(q, 3) > 0)
			kill(-(pid_t)sqlite3_column_int64(q, 3), SIGKILL);
		pr_store_event(&st, run, id, sqlite3_column_int(q, 2), from, "cancelled", "cancelled by pipec cancel");
		free(id);
		free(from);
	}
	sqlite3_finalize(q);
	pr_store_finish_run(&st, run, "cancelled");
	pr_exec(&st, "COMMIT");
	pr_store_finalize(&st);
	pr_store_close(&st);
	return 0;
}
