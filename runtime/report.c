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

/* How much of a changed value `why` shows (bytes a side); longer values show a window around where they differ. */
enum { WHY_SHOWN = 200, WHY_BEFORE = 60 };

/* The start of the UTF-8 character that byte I of S is in. */
static size_t char_start(const char *s, size_t i)
{
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	return i;
}

/* Writes S from byte FROM, at most WHY_SHOWN bytes (whole characters), with "..." where it is cut. */
static void window(FILE *out, const char *s, size_t from)
{
	size_t n = strlen(s), end = n - from > WHY_SHOWN ? char_start(s, from + WHY_SHOWN) : n;
	fprintf(out, "%s%.*s%s", from ? "..." : "", (int)(end - from), s + from, end < n ? "..." : "");
}

/* Writes "A -> B" (JSON texts of a changed value): whole when both are short, else both from a little
 * before their first difference, so that what differs shows on each side. */
static void changed(FILE *out, const char *a, const char *b)
{
	size_t from = 0;
	if (strlen(a) > WHY_SHOWN || strlen(b) > WHY_SHOWN) {
		size_t d = 0;
		while (a[d] && a[d] == b[d])
			d++;
		from = char_start(a, d > WHY_BEFORE ? d - WHY_BEFORE : 0);
	}
	window(out, a, from);
	fputs(" -> ", out);
	window(out, b, from);
}

/* Appends {part, [input,] before, after} to CHANGES (before/after borrowed; NULL: none). */
static void add_change(json_t *changes, const char *part, const char *input, json_t *before, json_t *after)
{
	json_t *c = json_object();
	json_object_set_new(c, "part", json_string(part));
	if (input)
		json_object_set_new(c, "input", json_string(input));
	json_object_set(c, "before", before ? before : json_null());
	json_object_set(c, "after", after ? after : json_null());
	json_array_append_new(changes, c);
}

/* The parts of key B that differ from key A, as add_change() entries: an input each, else the part. */
static json_t *key_changes(json_t *a, json_t *b)
{
	json_t *changes = json_array(), *v, *x;
	const char *k, *in;
	json_object_foreach(b, k, v) {
		json_t *w = json_object_get(a, k);
		if (w && json_equal(v, w))
			continue;
		if (!strcmp(k, "inputs") && w) {
			json_object_foreach(v, in, x) {
				json_t *y = json_object_get(w, in);
				if (!y || !json_equal(x, y))
					add_change(changes, "input", in, y, x);
			}
			json_object_foreach(w, in, x) if (!json_object_get(v, in)) add_change(changes, "input", in, x, NULL);
			continue;
		}
		add_change(changes, k, NULL, w, v);
	}
	return changes;
}

/* WHY (pr_report_why_format()'s object) as the sentences `pipec why` writes. */
static void why_text(FILE *out, const json_t *why)
{
	const char *task = str(why, "task"), *reason = str(why, "reason");
	long run = (long)json_integer_value(json_object_get(why, "run"));
	if (!strcmp(reason, "cached")) {
		fprintf(out, "%s (run %ld) did not run: its result was in the cache under key %.16s\n", task, run,
			str(why, "key"));
		return;
	}
	if (!strcmp(reason, "no_key")) {
		fprintf(out, "%s (run %ld) is %s: it never got as far as its cache key (its inputs or conditions decided)\n",
			task, run, str(why, "state"));
		return;
	}
	if (!strcmp(reason, "first")) {
		fprintf(out, "%s (run %ld) ran: no earlier run had a task '%s'\n", task, run, task);
		return;
	}
	fprintf(out, "%s (run %ld) ran rather than being cached; compared with run %lld:\n", task, run,
		(long long)json_integer_value(json_object_get(why, "compared_with")));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(why, "changed"), i, c) {
		json_t *before = json_object_get(c, "before"), *after = json_object_get(c, "after");
		char *s1 = json_is_null(before) ? strdup("(none)") : json_dumps(before, JSON_ENCODE_ANY | JSON_COMPACT);
		char *s2 = json_is_null(after) ? strdup("(none)") : json_dumps(after, JSON_ENCODE_ANY | JSON_COMPACT);
		if (json_object_get(c, "input"))
			fprintf(out, "  input '%s' changed: ", str(c, "input"));
		else
			fprintf(out, "  its %s changed: ", str(c, "part"));
		changed(out, s1, s2);
		fputc('\n', out);
		free(s1);
		free(s2);
	}
	if (!strcmp(reason, "unusable"))
		fprintf(out, "  nothing that makes its key changed: the earlier result was not usable (it did not succeed, "
			     "or its files were gone)\n");
}

int pr_report_why(const char *state_dir, const char *task, long run, FILE *out, char **err)
{
	return pr_report_why_format(state_dir, task, run, 0, out, err);
}

int pr_report_why_format(const char *state_dir, const char *task, long run, int json, FILE *out, char **err)
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
	/* {task, run, state, cached, ran, key, reason, compared_with, changed}: reason is cached (not run),
	 * no_key (it never had one), first (no earlier run had it), changed (CHANGED says what), unusable
	 * (the same key, but the earlier result could not be used) */
	json_t *why = json_object(), *earlier = NULL;
	json_object_set_new(why, "task", json_string(task));
	json_object_set_new(why, "run", json_integer(run));
	json_object_set_new(why, "state", json_string(state));
	json_object_set_new(why, "cached", json_boolean(!strcmp(state, "cached")));
	json_object_set_new(why, "ran", json_boolean(strcmp(state, "cached") && *parts));
	json_object_set_new(why, "key", *key ? json_string(key) : json_null());
	const char *reason = !strcmp(state, "cached") ? "cached" : !*parts ? "no_key" : NULL;
	if (!reason) { /* the same task in the run before that had it */
		earlier = pr_query_key_parts_before(qy, task, run);
		if (pr_query_failed(qy, err)) {
			json_decref(earlier);
			json_decref(why);
			json_decref(now);
			pr_query_close(qy);
			return 2;
		}
		if (!earlier)
			reason = "first";
	}
	json_t *changes = json_array();
	if (earlier) {
		json_t *a = json_loads(str(earlier, "parts"), 0, NULL), *b = json_loads(parts, 0, NULL);
		json_decref(changes);
		changes = key_changes(a, b);
		reason = json_array_size(changes) ? "changed" : "unusable";
		json_decref(a);
		json_decref(b);
	}
	json_object_set_new(why, "reason", json_string(reason));
	json_object_set(why, "compared_with", earlier ? json_object_get(earlier, "run") : json_null());
	json_object_set_new(why, "changed", changes);
	if (json) {
		char *s = json_dumps(why, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fprintf(out, "%s\n", s);
		free(s);
	} else {
		why_text(out, why);
	}
	json_decref(earlier);
	json_decref(why);
	json_decref(now);
	pr_query_close(qy);
	return 0;
}

/* The task ID of the plan's TASKS, or NULL. */
static json_t *plan_task(json_t *tasks, const char *id)
{
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) if (!strcmp(str(t, "id"), id)) return t;
	return NULL;
}

/* Whether plan task T is a run-time for's template that was expanded: its instances ("group") stand
 * for it in a lineage (the template has no command of its own). */
static int expanded(const json_t *t)
{
	return json_is_array(json_object_get(t, "group"));
}

/* Sets O's task, stage, state and, for an instance of a run-time for, instance_of: TID of RUN. */
static json_t *lineage_row(pr_query *qy, long run, json_t *tasks, const char *tid, json_t **row)
{
	*row = pr_query_task(qy, run, tid);
	json_t *o = json_object(), *of = json_object_get(plan_task(tasks, tid), "instance_of");
	json_object_set_new(o, "task", json_string(tid));
	if (*row) {
		json_object_set(o, "stage", json_object_get(*row, "stage"));
		json_object_set(o, "state", json_object_get(*row, "state"));
	}
	if (json_is_string(of))
		json_object_set(o, "instance_of", of);
	return o;
}

static void walk(pr_query *qy, long run, json_t *tasks, const char *id, int up, json_t *seen, json_t *arr);

/* Walks up from DEP, or from each of its instances (at any depth of fors) when it is an expanded template. */
static void walk_dep(pr_query *qy, long run, json_t *tasks, const char *dep, json_t *seen, json_t *arr)
{
	json_t *dt = plan_task(tasks, dep), *m;
	size_t k;
	if (!dep)
		return;
	if (!expanded(dt) || json_object_get(seen, dep)) {
		walk(qy, run, tasks, dep, 1, seen, arr);
		return;
	}
	json_object_set_new(seen, dep, json_true());
	json_array_foreach(json_object_get(dt, "group"), k, m) walk_dep(qy, run, tasks, json_string_value(m), seen, arr);
}

/* Whether DEP is task ID or a template ID is an instance of (at any depth). */
static int is_or_instance(json_t *tasks, const char *id, const char *dep)
{
	for (int depth = 0; id && dep && depth < 64; depth++) {
		if (!strcmp(id, dep))
			return 1;
		id = json_string_value(json_object_get(plan_task(tasks, id), "instance_of"));
	}
	return 0;
}

/*
 * Adds task ID of RUN and what it came from (UP) or what it fed (!UP) to ARR.  A dependency on a
 * run-time for that was expanded is one on each of its instances, and an instance feeds what depends
 * on its template: the lineage names the instances and their commands, never the empty template.
 */
static void walk(pr_query *qy, long run, json_t *tasks, const char *id, int up, json_t *seen, json_t *arr)
{
	if (json_object_get(seen, id))
		return;
	json_object_set_new(seen, id, json_true());
	size_t i, k;
	json_t *t, *d, *row;
	if (up) {
		json_array_foreach(json_object_get(plan_task(tasks, id), "deps"), i, d)
			walk_dep(qy, run, tasks, json_string_value(d), seen, arr);
		json_t *o = lineage_row(qy, run, tasks, id, &row);
		if (row) {
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
		return;
	}
	json_array_foreach(tasks, i, t) {
		const char *tid = str(t, "id");
		int related = 0;
		json_array_foreach(json_object_get(t, "deps"), k, d) related |= is_or_instance(tasks, id, json_string_value(d));
		if (!related || expanded(t))
			continue;
		json_t *o = lineage_row(qy, run, tasks, tid, &row);
		json_decref(row);
		if (!json_object_get(seen, tid))
			json_array_append_new(arr, o);
		else
			json_decref(o);
		walk(qy, run, tasks, tid, up, seen, arr);
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
	int inside = 0; /* PATH is a file in the output (a Dir, or a List[File]'s) */
	json_t *made = pr_query_lineage_of(qy, path);
	if (made) {
		run = (long)json_integer_value(json_object_get(made, "run"));
		task = strdup(str(made, "task"));
		output = strdup(str(made, "output"));
		inside = json_is_true(json_object_get(made, "inside"));
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
	if (inside)
		json_object_set_new(o, "file", json_string(path));
	json_object_set(o, "params", json_object_get(plan, "params") ? json_object_get(plan, "params") : json_object());
	json_object_set_new(o, "upstream", up);
	json_object_set_new(o, "downstream", down);
	if (json) {
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fprintf(out, "%s\n", s);
		free(s);
	} else {
		if (inside)
			fprintf(out, "file %s, in output %s of task %s, run %ld\nmade by:\n", path, output, task, run);
		else if (output)
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
