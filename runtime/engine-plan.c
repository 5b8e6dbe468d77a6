/*
 * engine-plan.c - the plan read into tasks (docs/plan.md).
 *
 * The plan's tasks are read one at a time so that what many tasks share
 * (a stage's outputs, resources, retry, env, sandbox; a file name) is kept
 * once.  The plan is validated whole before anything runs (see
 * "validation": each documented key's type and range, unique ids, waits
 * that name tasks and form no cycle; a broken plan is refused naming the
 * field by its path); then each task's fields are read once: retries,
 * timeout, priority and resources into its rtask, the rest into its typed
 * pr_plan_task (plan.h: directives, loc, sandbox, image, its outputs'
 * names and base types in the runner's outdecl, shared by the tasks of a
 * stage, and the lists and expressions it holds), and its waits (deps,
 * after, fallback_of, an expanded `for`'s group) linked both ways.  The
 * rest of the engine reads those fields, never a plan key by its name;
 * only expressions stay JSON trees (engine-values.c walks them).
 */
#define _GNU_SOURCE
#include "engine.h"
#include "plan.h"

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

static int invalid(char **err, const char *path, json_t *v, const char *what);

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
	pr_plan_task *p = &t->plan;
	p->module = json_string_value(json_object_get(t->j, "module"));
	json_t *loc = json_object_get(t->j, "loc");
	p->has_loc = loc != NULL;
	p->file = json_string_value(json_object_get(loc, "file"));
	p->line = json_integer_value(json_object_get(loc, "line"));
	p->column = json_integer_value(json_object_get(loc, "column"));
	p->cache = json_is_true(json_object_get(t->j, "cache"));
	p->checkpoint = json_is_true(json_object_get(t->j, "checkpoint"));
	json_t *sbx = json_object_get(t->j, "sandbox");
	p->network = json_is_true(json_object_get(sbx, "network"));
	p->pids = (long)json_integer_value(json_object_get(sbx, "pids"));
	p->image = json_string_value(json_object_get(t->j, "image"));
	p->instance_of = json_string_value(json_object_get(t->j, "instance_of"));
	p->inputs = json_object_get(t->j, "inputs");
	p->command = json_object_get(t->j, "command");
	p->env = json_object_get(t->j, "env");
	p->after = json_object_get(t->j, "after");
	p->fallback_of = json_object_get(t->j, "fallback_of");
	p->when = json_object_get(t->j, "when");
	p->checks = json_object_get(t->j, "checks");
	p->scatter = json_object_get(t->j, "scatter");
	p->instances = json_object_get(t->j, "group");
	p->outputs = json_object_get(t->j, "outputs");
	if (i > 0 && p->outputs && R->t[i - 1].plan.outputs == p->outputs) { /* a stage's outputs, read once */
		p->outs = R->t[i - 1].plan.outs;
		p->nouts = R->t[i - 1].plan.nouts;
	} else {
		p->outs = R->noutdecl;
		p->nouts = 0;
		const char *name;
		json_t *decl;
		json_object_foreach(p->outputs, name, decl) {
			pr_room(&R->outdecl, R->noutdecl, &R->capoutdecl, sizeof *R->outdecl, 16);
			const char *base = json_string_value(json_object_get(decl, "base"));
			R->outdecl[R->noutdecl++] = (pr_plan_output){name, base ? base : "File"};
			p->nouts++;
		}
	}
	t->group = json_array_size(p->scatter) > 0;
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
	pr_room(&t->waits, t->nwaits, &t->capwaits, sizeof *t->waits, 4);
	t->waits[t->nwaits++] = d;
	rtask *u = &R->t[d];
	pr_room(&u->users, u->nusers, &u->capusers, sizeof *u->users, 4);
	u->users[u->nusers++] = i;
	return 1;
}

/* Task I's waits from its deps, after, fallback_of and (an expanded run-time for) group. */
int pe_link_task(runner *R, uint32_t i, char **err)
{
	static const char *const kinds[] = {"deps", "after", "fallback_of", "group"};
	rtask *t = &R->t[i];
	json_t *lists[] = {json_object_get(t->j, "deps"), t->plan.after, t->plan.fallback_of, t->plan.instances};
	for (int k = 0; k < 4; k++) {
		size_t j;
		json_t *x;
		json_array_foreach(lists[k], j, x) {
			json_t *ix = json_object_get(R->index, json_string_value(x));
			if (!ix) {
				char p[300];
				snprintf(p, sizeof p, "tasks[%u].%s[%zu]", i, kinds[k], j);
				return invalid(err, p, x, "is not a task of the plan");
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
 * share (a stage's outputs, resources, retry, env, sandbox; a file name;
 * an input's type and "files" shape) is kept once: jansson spends some 8 KiB on a task, most of it on these.
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
	enum { PE_MEMO = 16 };
	json_t *memo[2][PE_MEMO]; /* inputs' "files" and "type" values seen (borrowed from the plan's tasks) */
	int nmemo[2] = {0, 0};
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
		/* an input's "files" shape and "type" (a few distinct values in a whole plan): kept once each */
		const char *iname;
		json_t *in;
		json_object_foreach(json_object_get(t, "inputs"), iname, in) {
			static const char *const small[] = {"files", "type"};
			for (int k = 0; k < 2; k++) {
				json_t *v = json_object_get(in, small[k]);
				if (!v)
					continue;
				int c = 0;
				while (c < nmemo[k] && memo[k][c] != v && !json_equal(memo[k][c], v))
					c++;
				if (c < nmemo[k] && memo[k][c] != v)
					json_object_set(in, small[k], memo[k][c]);
				else if (c == nmemo[k] && nmemo[k] < PE_MEMO)
					memo[k][nmemo[k]++] = v;
			}
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


/* ---- validation ------------------------------------------------------------------------ */

/*
 * A plan is checked whole before anything runs: a broken one (a negative
 * resource, a cycle, a task that is not an object) would otherwise leave a
 * task ready for ever or a run that "succeeds" with nothing run.  Every
 * message names the offending field by its path in the plan
 * ("tasks[3].resources.cpu: -5 is negative").  Keys that docs/plan.md
 * documents are checked when present; a key left out takes its default.
 * All of it is O(tasks + edges), with no recursion.
 */

/* ERR = "the plan is invalid: PATH: V WHAT" (V, when given, compact and cut short); returns -1. */
static int invalid(char **err, const char *path, json_t *v, const char *what)
{
	char *val = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	if (val && strlen(val) > 60)
		strcpy(val + 57, "...");
	if (asprintf(err, "the plan is invalid: %s: %s%s%s", path, val ? val : "", val ? " " : "", what) < 0)
		*err = NULL;
	free(val);
	return -1;
}

enum { V_OPT = 0, V_NEED = 1, V_NULL = 2 }; /* may be absent; must be there; may be null */

/* V at PATH, of JSON type TYPE (or absent, or null, as FLAGS allow); 1: present (and not an allowed null), 0: absent, -1: bad. */
static int want(char **err, const char *path, json_t *v, json_type type, int flags)
{
	static const char *const what[] = {[JSON_OBJECT] = "is not an object", [JSON_ARRAY] = "is not a list",
					   [JSON_STRING] = "is not a string",  [JSON_INTEGER] = "is not an integer",
					   [JSON_REAL] = "is not a number",    [JSON_TRUE] = "is not a boolean"};
	if (!v)
		return (flags & V_NEED) ? invalid(err, path, NULL, "missing") : 0;
	if (json_is_null(v) && (flags & V_NULL))
		return 0;
	int ok = type == JSON_REAL ? json_is_number(v) : type == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == type;
	return ok ? 1 : invalid(err, path, v, what[type]);
}

/* An integer at PATH of at least MIN (0 or 1), where present; 0, or -1. */
static int want_count(char **err, const char *path, json_t *v, int min, int flags)
{
	int r = want(err, path, v, JSON_INTEGER, flags);
	if (r <= 0)
		return r;
	if (json_integer_value(v) < min)
		return invalid(err, path, v, min ? "is not positive" : "is negative");
	return 0;
}

/* A non-empty string at PATH; 1 present, 0 absent, -1 bad. */
static int want_name(char **err, const char *path, json_t *v, int flags)
{
	int r = want(err, path, v, JSON_STRING, flags);
	if (r > 0 && !json_string_length(v))
		return invalid(err, path, v, "is empty");
	return r;
}

/* A list of non-empty strings at PATH (which of them name tasks is seen when the waits are linked). */
static int want_names(char **err, const char *path, json_t *v)
{
	if (want(err, path, v, JSON_ARRAY, V_OPT) < 0)
		return -1;
	size_t k;
	json_t *x;
	json_array_foreach(v, k, x) {
		char p[300];
		snprintf(p, sizeof p, "%s[%zu]", path, k);
		if (want_name(err, p, x, V_NEED) < 0)
			return -1;
	}
	return 0;
}

/* An output's name is a file name in the attempt's directory: never a path out of it. */
static int file_name(const char *s)
{
	return *s && *s != '.' && !strchr(s, '/');
}

/* Task I (T) on its own: every documented key, by type and range. */
static int check_task(json_t *plan, json_t *t, uint32_t i, char **err)
{
	char p[300];
#define AT(...) (snprintf(p, sizeof p, __VA_ARGS__), p)
	if (!json_is_object(t))
		return invalid(err, AT("tasks[%u]", i), t, "is not an object");
	if (want_name(err, AT("tasks[%u].id", i), json_object_get(t, "id"), V_NEED) < 0 ||
	    want_name(err, AT("tasks[%u].stage", i), json_object_get(t, "stage"), V_NEED) < 0 ||
	    want(err, AT("tasks[%u].module", i), json_object_get(t, "module"), JSON_STRING, V_NULL) < 0 ||
	    want(err, AT("tasks[%u].instance_of", i), json_object_get(t, "instance_of"), JSON_STRING, V_OPT) < 0)
		return -1;
	json_t *loc = json_object_get(t, "loc");
	if (want(err, AT("tasks[%u].loc", i), loc, JSON_OBJECT, V_NULL) < 0 ||
	    want(err, AT("tasks[%u].loc.file", i), json_object_get(loc, "file"), JSON_STRING, V_NULL) < 0 ||
	    want_count(err, AT("tasks[%u].loc.line", i), json_object_get(loc, "line"), 0, V_OPT) < 0 ||
	    want_count(err, AT("tasks[%u].loc.column", i), json_object_get(loc, "column"), 0, V_OPT) < 0)
		return -1;
	const char *key;
	json_t *v;
	json_t *inputs = json_object_get(t, "inputs");
	if (want(err, AT("tasks[%u].inputs", i), inputs, JSON_OBJECT, V_OPT) < 0)
		return -1;
	json_object_foreach(inputs, key, v) {
		if (want(err, AT("tasks[%u].inputs.%s", i, key), v, JSON_OBJECT, V_NEED) < 0 ||
		    want(err, AT("tasks[%u].inputs.%s.type", i, key), json_object_get(v, "type"), JSON_STRING, V_OPT) < 0)
			return -1;
	}
	json_t *outputs = json_object_get(t, "outputs");
	if (want(err, AT("tasks[%u].outputs", i), outputs, JSON_OBJECT, V_OPT) < 0)
		return -1;
	json_object_foreach(outputs, key, v) {
		if (!file_name(key)) {
			json_t *name = json_string(key);
			invalid(err, AT("tasks[%u].outputs", i), name, "is not a file name");
			json_decref(name);
			return -1;
		}
		if (want(err, AT("tasks[%u].outputs.%s", i, key), v, JSON_OBJECT, V_NEED) < 0 ||
		    want(err, AT("tasks[%u].outputs.%s.type", i, key), json_object_get(v, "type"), JSON_STRING, V_OPT) < 0 ||
		    want(err, AT("tasks[%u].outputs.%s.base", i, key), json_object_get(v, "base"), JSON_STRING, V_OPT) < 0)
			return -1;
	}
	json_t *command = json_object_get(t, "command");
	if (want(err, AT("tasks[%u].command", i), command, JSON_ARRAY, V_OPT) < 0)
		return -1;
	size_t k;
	json_array_foreach(command, k, v) {
		json_t *x;
		if (json_is_string(v))
			continue;
		if (json_is_object(v) && (x = json_object_get(v, "output")) && json_object_size(v) == 1) {
			if (want(err, AT("tasks[%u].command[%zu].output", i, k), x, JSON_STRING, V_NEED) < 0)
				return -1;
			if (!json_object_get(outputs, json_string_value(x)))
				return invalid(err, p, x, "is not an output of the task");
		} else if (json_is_object(v) && json_is_true(json_object_get(v, "checkpoint_dir")) && json_object_size(v) == 1) {
		} else if (json_is_object(v) && json_object_get(v, "value") &&
			   json_object_size(v) == 1 + !!json_object_get(v, "quote")) {
			if (want(err, AT("tasks[%u].command[%zu].quote", i, k), json_object_get(v, "quote"), JSON_TRUE, V_OPT) < 0)
				return -1;
		} else {
			return invalid(err, AT("tasks[%u].command[%zu]", i, k), v, "is not a command part");
		}
	}
	json_t *res = json_object_get(t, "resources");
	if (want(err, AT("tasks[%u].resources", i), res, JSON_OBJECT, V_OPT) < 0)
		return -1;
	static const char *const amounts[] = {"cpu", "gpu", "memory", "gpu_memory", "disk"};
	for (int a = 0; a < 5; a++) {
		json_t *x = json_object_get(res, amounts[a]);
		int r = want(err, AT("tasks[%u].resources.%s", i, amounts[a]), x, JSON_REAL, V_NULL);
		if (r < 0)
			return -1;
		if (r > 0 && !(json_number_value(x) >= 0))
			return invalid(err, p, x, "is negative");
	}
	if (want(err, AT("tasks[%u].resources.gpu_type", i), json_object_get(res, "gpu_type"), JSON_STRING, V_NULL) < 0)
		return -1;
	json_t *retry = json_object_get(t, "retry");
	if (want(err, AT("tasks[%u].retry", i), retry, JSON_OBJECT, V_OPT) < 0 ||
	    want_count(err, AT("tasks[%u].retry.attempts", i), json_object_get(retry, "attempts"), 0, V_OPT) < 0 ||
	    want_count(err, AT("tasks[%u].retry.backoff_ns", i), json_object_get(retry, "backoff_ns"), 0, V_OPT) < 0)
		return -1;
	if (json_integer_value(json_object_get(retry, "attempts")) > 1000000)
		return invalid(err, AT("tasks[%u].retry.attempts", i), json_object_get(retry, "attempts"), "is too many (at most 1000000)");
	if (want_count(err, AT("tasks[%u].timeout_ns", i), json_object_get(t, "timeout_ns"), 1, V_NULL) < 0 ||
	    want(err, AT("tasks[%u].cache", i), json_object_get(t, "cache"), JSON_TRUE, V_OPT) < 0 ||
	    want(err, AT("tasks[%u].checkpoint", i), json_object_get(t, "checkpoint"), JSON_TRUE, V_OPT) < 0 ||
	    want(err, AT("tasks[%u].priority", i), json_object_get(t, "priority"), JSON_INTEGER, V_OPT) < 0 ||
	    want(err, AT("tasks[%u].image", i), json_object_get(t, "image"), JSON_STRING, V_NULL) < 0)
		return -1;
	json_t *env = json_object_get(t, "env");
	if (want(err, AT("tasks[%u].env", i), env, JSON_OBJECT, V_OPT) < 0)
		return -1;
	json_object_foreach(env, key, v) if (want(err, AT("tasks[%u].env.%s", i, key), v, JSON_STRING, V_NEED) < 0) return -1;
	json_t *sbx = json_object_get(t, "sandbox");
	if (want(err, AT("tasks[%u].sandbox", i), sbx, JSON_OBJECT, V_OPT) < 0 ||
	    want(err, AT("tasks[%u].sandbox.network", i), json_object_get(sbx, "network"), JSON_TRUE, V_OPT) < 0 ||
	    want_count(err, AT("tasks[%u].sandbox.pids", i), json_object_get(sbx, "pids"), 1, V_NULL) < 0)
		return -1;
	static const char *const waits[] = {"deps", "after", "fallback_of", "group"};
	for (int w = 0; w < 4; w++)
		if (want_names(err, AT("tasks[%u].%s", i, waits[w]), json_object_get(t, waits[w])) < 0)
			return -1;
	static const char *const conds[] = {"when", "checks"};
	for (int c = 0; c < 2; c++) {
		json_t *list = json_object_get(t, conds[c]);
		if (want(err, AT("tasks[%u].%s", i, conds[c]), list, JSON_ARRAY, V_OPT) < 0)
			return -1;
		json_array_foreach(list, k, v) {
			if (want(err, AT("tasks[%u].%s[%zu]", i, conds[c], k), v, JSON_OBJECT, V_NEED) < 0)
				return -1;
			if (!json_object_get(v, "expr"))
				return invalid(err, AT("tasks[%u].%s[%zu].expr", i, conds[c], k), NULL, "missing");
			if (!c && !json_object_get(v, "is"))
				return invalid(err, AT("tasks[%u].when[%zu].is", i, k), NULL, "missing");
		}
	}
	json_t *scatter = json_object_get(t, "scatter"), *scatters = json_object_get(plan, "scatters");
	if (want_names(err, AT("tasks[%u].scatter", i), scatter) < 0)
		return -1;
	json_array_foreach(scatter, k, v) {
		if (!json_object_get(scatters, json_string_value(v)))
			return invalid(err, AT("tasks[%u].scatter[%zu]", i, k), v, "is not a run-time for of the plan (scatters)");
	}
#undef AT
	return 0;
}

/* The plan's top level: its version, its tasks a list, its run-time fors. */
static int check_top(json_t *plan, char **err)
{
	if (!json_is_object(plan))
		return invalid(err, "the plan", plan, "is not an object");
	json_t *version = json_object_get(plan, "pipec_plan");
	if (want(err, "pipec_plan", version, JSON_INTEGER, V_NEED) < 0)
		return -1;
	if (json_integer_value(version) != PC_PLAN_VERSION) {
		char what[80];
		snprintf(what, sizeof what, "is not %d (the plan's version this pipec reads)", PC_PLAN_VERSION);
		return invalid(err, "pipec_plan", version, what);
	}
	if (want(err, "hash", json_object_get(plan, "hash"), JSON_STRING, V_NULL) < 0 ||
	    want(err, "params", json_object_get(plan, "params"), JSON_OBJECT, V_NULL) < 0 ||
	    want(err, "checks", json_object_get(plan, "checks"), JSON_ARRAY, V_NULL) < 0 ||
	    want(err, "tasks", json_object_get(plan, "tasks"), JSON_ARRAY, V_NEED) < 0)
		return -1;
	json_t *scatters = json_object_get(plan, "scatters");
	if (want(err, "scatters", scatters, JSON_OBJECT, V_NULL) < 0)
		return -1;
	const char *sid;
	json_t *sc;
	json_object_foreach(scatters, sid, sc) {
		char p[300];
		snprintf(p, sizeof p, "scatters.%s", sid);
		if (want(err, p, sc, JSON_OBJECT, V_NEED) < 0)
			return -1;
		snprintf(p, sizeof p, "scatters.%s.over", sid);
		if (!json_object_get(sc, "over"))
			return invalid(err, p, NULL, "missing");
		snprintf(p, sizeof p, "scatters.%s.within", sid);
		json_t *within = json_object_get(sc, "within");
		if (want_names(err, p, within) < 0)
			return -1;
		size_t k;
		json_t *w;
		json_array_foreach(within, k, w) {
			if (!json_object_get(scatters, json_string_value(w))) {
				snprintf(p, sizeof p, "scatters.%s.within[%zu]", sid, k);
				return invalid(err, p, w, "is not a run-time for of the plan (scatters)");
			}
		}
	}
	return 0;
}

/*
 * The tasks' waits form no cycle: Kahn's order over waits and users; the
 * tasks it cannot order are on or behind a cycle, and one is walked from
 * any of them (each has a wait that is not ordered either) until a task
 * comes round again.
 */
static int check_acyclic(runner *R, char **err)
{
	uint32_t *left = malloc((R->n + 1) * sizeof *left), *queue = malloc((R->n + 1) * sizeof *queue);
	uint32_t head = 0, tail = 0;
	for (uint32_t i = 0; i < R->n; i++)
		if (!(left[i] = R->t[i].nwaits))
			queue[tail++] = i;
	while (head < tail) {
		rtask *t = &R->t[queue[head++]];
		for (uint32_t k = 0; k < t->nusers; k++)
			if (--left[t->users[k]] == 0)
				queue[tail++] = t->users[k];
	}
	int rc = 0;
	if (tail < R->n) {
		uint32_t x = 0, len = 0, *seen = queue; /* the queue is done with: 1 + where on the walk, 0: not walked */
		memset(seen, 0, (R->n + 1) * sizeof *seen);
		while (left[x] == 0)
			x++;
		uint32_t *walk = malloc((R->n + 1) * sizeof *walk);
		while (!seen[x]) {
			seen[x] = ++len;
			walk[len - 1] = x;
			uint32_t k = 0;
			while (left[R->t[x].waits[k]] == 0)
				k++;
			x = R->t[x].waits[k];
		}
		uint32_t from = seen[x] - 1;
		char *text = NULL;
		size_t n;
		FILE *f = open_memstream(&text, &n);
		for (uint32_t k = from; k < len && k < from + 10; k++)
			fprintf(f, "%s -> ", R->t[walk[k]].id);
		fprintf(f, len - from > 10 ? "..." : "%s", R->t[x].id);
		fclose(f);
		char p[40], what[1200];
		snprintf(p, sizeof p, "tasks[%u]", walk[from]);
		snprintf(what, sizeof what, "the tasks wait for each other in a cycle: %s", text);
		free(text);
		free(walk);
		rc = invalid(err, p, NULL, what);
	}
	free(left);
	free(queue);
	return rc;
}

void pe_unload(runner *R)
{
	for (uint32_t i = 0; R->t && i < R->n; i++) {
		free(R->t[i].waits);
		free(R->t[i].users);
		free(R->t[i].parts);
		free(R->t[i].cmd);
		free(R->t[i].cpkey);
		if (R->t[i].dir != pe_no_dir)
			free(R->t[i].dir);
		json_decref(R->t[i].inputs);
		json_decref(R->t[i].outputs);
	}
	free(R->t);
	free(R->heap);
	free(R->outdecl);
	json_decref(R->index);
	json_decref(R->plan);
	R->t = NULL, R->heap = NULL, R->outdecl = NULL, R->index = R->plan = NULL;
	R->n = R->cap = 0;
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
	if (check_top(R->plan, err) < 0)
		return -1;
	json_t *tasks = R->tasks = json_object_get(R->plan, "tasks");
	R->scatters = json_object_get(R->plan, "scatters");
	R->result = json_object_get(R->plan, "result");
	R->hash = json_string_value(json_object_get(R->plan, "hash"));
	R->n = (uint32_t)json_array_size(tasks);
	R->cap = R->n + 1;
	R->t = calloc(R->cap, sizeof *R->t);
	R->index = json_object();
	for (uint32_t i = 0; i < R->n; i++) {
		R->t[i].j = json_array_get(tasks, i);
		R->t[i].dir = pe_no_dir;
		if (check_task(R->plan, R->t[i].j, i, err) < 0)
			return -1;
		json_t *id = json_object_get(R->t[i].j, "id"), *was = json_object_get(R->index, json_string_value(id));
		if (was) {
			char p[40], what[80];
			snprintf(p, sizeof p, "tasks[%u].id", i);
			snprintf(what, sizeof what, "is not unique (tasks[%" JSON_INTEGER_FORMAT "] has it)", json_integer_value(was));
			return invalid(err, p, id, what);
		}
		if (pe_init_task(R, i, err) < 0)
			return -1;
	}
	R->heap = calloc(R->cap, sizeof *R->heap);
	for (uint32_t i = 0; i < R->n; i++)
		if (pe_link_task(R, i, err) < 0)
			return -1;
	if (check_acyclic(R, err) < 0)
		return -1;
	pe_critical_paths(R);
	return 0;
}
