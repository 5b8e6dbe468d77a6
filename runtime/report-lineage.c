/*
 * report-lineage.c - `pipec lineage PATH|TASK`: what made an output (the
 * tasks upstream, their commands and inputs, the run's parameters) and
 * what it fed.
 *
 * PATH is found among the artifacts (an output, a file inside a Dir or a
 * List[File], or the directory an output is in) or taken as a task id.
 * The walk follows the deps of the run's plan: a dependency on a run-time
 * for that was expanded (a template with a "group") is one on each of its
 * instances, at any depth, so that the lineage names the instances and
 * their commands, never the empty template.  A cached task shows the
 * command of the run that made its result (made_in_run).
 */
#include "report.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The task ID of the plan's TASKS, or NULL. */
static json_t *plan_task(json_t *tasks, const char *id)
{
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) if (!strcmp(report_str(t, "id"), id)) return t;
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
			json_t *ins = json_loads(report_str(row, "inputs"), 0, NULL);
			json_object_set_new(o, "inputs", ins ? ins : json_object());
			if (!strcmp(report_str(row, "state"), "cached")) {
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
		const char *tid = report_str(t, "id");
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
	if (report_open(state_dir, &qy, err))
		return 2;
	char real[PATH_MAX];
	const char *path = realpath(what, real) ? real : what;
	long run = 0;
	char *task = NULL, *output = NULL;
	int inside = 0; /* PATH is a file in the output (a Dir, or a List[File]'s) */
	json_t *made = pr_query_lineage_of(qy, path);
	if (made) {
		run = (long)json_integer_value(json_object_get(made, "run"));
		task = strdup(report_str(made, "task"));
		output = strdup(report_str(made, "output"));
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
		char *s = pr_json_text_as(o, 0);
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
			char *ins = pr_json_text(json_object_get(t, "inputs"));
			fprintf(out, "    inputs: %.200s\n", ins ? ins : "{}");
			free(ins);
		}
		char *ps = pr_json_text(json_object_get(o, "params"));
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
