/*
 * engine-plan.c - the plan read into tasks (docs/plan.md).
 *
 * The plan's tasks are read one at a time so that what many tasks share
 * (a stage's outputs, resources, retry, env, sandbox; a file name) is kept
 * once; each task's fields (retries, timeout, priority, resources) are
 * read into its rtask, and its waits (deps, after, fallback_of, an
 * expanded `for`'s group) linked both ways.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Sets task T's attempt directory to DIR (a copy; the old one is freed). */
void pe_set_dir(rtask *t, const char *dir)
{
	if (t->dir != pe_no_dir)
		free(t->dir);
	t->dir = strdup(dir);
	if (!t->dir)
		abort();
}

int pe_init_task(runner *R, uint32_t i, char **err)
{
	rtask *t = &R->t[i];
	t->dir = pe_no_dir;
	t->id = json_string_value(json_object_get(t->j, "id"));
	t->stage = json_string_value(json_object_get(t->j, "stage"));
	if (!t->id || !t->stage) {
		*err = strdup("a task of the plan has no id or stage");
		return -1;
	}
	json_object_set_new(R->index, t->id, json_integer(i));
	json_t *retry = json_object_get(t->j, "retry");
	t->attempts = 1 + (int)json_integer_value(json_object_get(retry, "attempts"));
	t->backoff_ns = json_integer_value(json_object_get(retry, "backoff_ns"));
	t->timeout_ns = json_integer_value(json_object_get(t->j, "timeout_ns"));
	t->priority = json_integer_value(json_object_get(t->j, "priority"));
	json_t *res = json_object_get(t->j, "resources");
	t->req.cpu = json_number_value(json_object_get(res, "cpu"));
	t->req.gpu = json_number_value(json_object_get(res, "gpu"));
	t->req.memory = json_number_value(json_object_get(res, "memory"));
	t->req.gpu_memory = json_number_value(json_object_get(res, "gpu_memory"));
	t->req.gpu_type = json_string_value(json_object_get(res, "gpu_type"));
	t->group = json_array_size(json_object_get(t->j, "scatter")) > 0;
	return 0;
}

/*
 * Makes task I wait for task D, D know I waits; 1, or 0 when I already does
 * (D's mark is the last task that added it, and a task's waits are added
 * together, so a repeated dep is found without a search of I's waits: a
 * sink of 100k tasks would take seconds).
 */
int pe_add_wait(runner *R, uint32_t i, uint32_t d)
{
	rtask *t = &R->t[i];
	if (R->t[d].marked_by == i + 1)
		return 0;
	R->t[d].marked_by = i + 1;
	if (t->nwaits == t->capwaits) {
		t->capwaits = t->capwaits ? 2 * t->capwaits : 4;
		t->waits = realloc(t->waits, t->capwaits * sizeof *t->waits);
	}
	t->waits[t->nwaits++] = d;
	rtask *u = &R->t[d];
	if (u->nusers == u->capusers) {
		u->capusers = u->capusers ? 2 * u->capusers : 4;
		u->users = realloc(u->users, u->capusers * sizeof *u->users);
	}
	u->users[u->nusers++] = i;
	return 1;
}

/* Task I's waits from its deps, after, fallback_of and (an expanded run-time for) group. */
int pe_link_task(runner *R, uint32_t i, char **err)
{
	static const char *const kinds[] = {"deps", "after", "fallback_of", "group"};
	rtask *t = &R->t[i];
	for (int k = 0; k < 4; k++) {
		size_t j;
		json_t *x;
		json_array_foreach(json_object_get(t->j, kinds[k]), j, x) {
			json_t *ix = json_object_get(R->index, json_string_value(x));
			if (!ix) {
				char msg[512];
				snprintf(msg, sizeof msg, "task %s waits for %s, which the plan does not have", t->id,
					 json_string_value(x));
				*err = strdup(msg);
				return -1;
			}
			pe_add_wait(R, i, (uint32_t)json_integer_value(ix));
		}
	}
	t->pending = t->nwaits;
	return 0;
}

/* The end of the JSON value at P (before END), skipped as text; NULL if it is cut short. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;
	for (; p < end; p++) {
		char c = *p;
		if (c == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= end)
				return NULL;
			if (!depth)
				return p + 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth <= 0)
				return depth < 0 ? NULL : p + 1;
		} else if (!depth && (c == ',' || c == '}' || c == ']')) {
			return p;
		} else if (!depth && c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != ':') {
			/* a number or a literal: up to the next delimiter */
			while (p < end && !strchr(",}] \n\t\r", *p))
				p++;
			return p;
		}
	}
	return NULL;
}

/*
 * Reads the plan with its tasks one at a time, so that what many tasks
 * share (a stage's outputs, resources, retry, env, sandbox; a file name)
 * is kept once: jansson spends some 8 KiB on a task, most of it on these.
 * Returns the plan, or NULL when TEXT is not a JSON object with a top-level
 * "tasks" array (the caller then reads it whole and says what is wrong).
 */
static json_t *load_shared(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	while (p < end && strchr(" \n\t\r", *p))
		p++;
	if (p >= end || *p != '{')
		return NULL;
	p++;
	const char *tasks_at = NULL, *tasks_end = NULL;
	for (;;) { /* the top-level keys, to find "tasks" */
		while (p < end && strchr(" \n\t\r,", *p))
			p++;
		if (p >= end || *p == '}')
			break;
		const char *key = p, *kend = skip_value(p, end);
		if (!kend || *key != '"')
			return NULL;
		p = kend;
		while (p < end && strchr(" \n\t\r:", *p))
			p++;
		const char *v = p, *vend = skip_value(p, end);
		if (!vend)
			return NULL;
		if (kend - key == 7 && !strncmp(key, "\"tasks\"", 7) && *v == '[')
			tasks_at = v, tasks_end = vend;
		p = vend;
	}
	if (!tasks_at)
		return NULL;
	/* the plan without its tasks, then each task */
	size_t head = (size_t)(tasks_at - text), tail = (size_t)(end - tasks_end);
	char *rest = malloc(head + 2 + tail + 1);
	memcpy(rest, text, head);
	memcpy(rest + head, "[]", 2);
	memcpy(rest + head + 2, tasks_end, tail);
	json_t *plan = json_loadb(rest, head + 2 + tail, 0, NULL);
	free(rest);
	json_t *tasks = json_object_get(plan, "tasks");
	if (!json_is_array(tasks)) {
		json_decref(plan);
		return NULL;
	}
	static const char *const shared[] = {"env", "outputs", "resources", "retry", "sandbox", "after", "fallback_of", "deps",
					     "checks", "module", "stage", "when", "scatter"};
	enum { NSHARED = sizeof shared / sizeof shared[0] };
	json_t *last[NSHARED + 1] = {0}; /* the last task's values, and its file name */
	p = tasks_at + 1;
	for (;;) {
		while (p < tasks_end && strchr(" \n\t\r,", *p))
			p++;
		if (p >= tasks_end - 1)
			break;
		json_error_t je;
		json_t *t = json_loadb(p, (size_t)(tasks_end - p), JSON_DISABLE_EOF_CHECK, &je);
		if (!json_is_object(t)) {
			json_decref(t);
			json_decref(plan);
			return NULL;
		}
		p += je.position;
		for (int k = 0; k < NSHARED; k++) {
			json_t *v = json_object_get(t, shared[k]);
			if (v && last[k] && v != last[k] && json_equal(v, last[k]))
				json_object_set(t, shared[k], last[k]);
			else if (v)
				last[k] = v;
		}
		json_t *loc = json_object_get(t, "loc"), *file = json_object_get(loc, "file");
		if (file && last[NSHARED] && json_equal(file, last[NSHARED]))
			json_object_set(loc, "file", last[NSHARED]);
		else if (file)
			last[NSHARED] = file;
		json_array_append_new(tasks, t);
	}
	return plan;
}

int pe_load(runner *R, const char *text, size_t len, char **err)
{
	json_error_t je;
	R->plan = load_shared(text, len);
	if (!R->plan)
		R->plan = json_loadb(text, len, 0, &je);
	if (!R->plan) {
		char msg[512];
		snprintf(msg, sizeof msg, "the plan is not JSON: %s at line %d", je.text, je.line);
		*err = strdup(msg);
		return -1;
	}
	if (json_integer_value(json_object_get(R->plan, "pipec_plan")) != 1) {
		*err = strdup("not a pipec plan of version 1 (pipec_plan: 1)");
		return -1;
	}
	json_t *tasks = json_object_get(R->plan, "tasks");
	R->n = (uint32_t)json_array_size(tasks);
	R->cap = R->n + 1;
	R->t = calloc(R->cap, sizeof *R->t);
	R->index = json_object();
	for (uint32_t i = 0; i < R->n; i++) {
		R->t[i].j = json_array_get(tasks, i);
		if (pe_init_task(R, i, err) < 0)
			return -1;
	}
	R->heap = calloc(R->cap, sizeof *R->heap);
	for (uint32_t i = 0; i < R->n; i++)
		if (pe_link_task(R, i, err) < 0)
			return -1;
	pe_critical_paths(R);
	return 0;
}

