/*
 * engine-expand.c - run-time `for`: a `for` over a list known only at run
 * time is expanded when its list arrives: one instance of each task inside
 * it per element (`clean[*]` becomes `clean[0]`, `clean[1]`, ...), whose
 * expressions have the element in place of `{"item": SID}`; the template
 * then waits for its instances (its group), and the `gather` that makes
 * the `for`'s own value is their outputs in order.  What an expansion adds
 * is recorded in the store in its own form (store.c, expansions: each
 * instance, each template's group, each inner `for`), never by rewriting
 * the plan kept with the run; a resume and the reports read the plan with
 * those added back, in order.
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

/*
 * The id of element K's instance of template ID: its first "[*]" (the
 * outermost run-time for) made "[K]" — or "[*K]" where the plan itself has
 * a task of that name (a compile-time for over the same stage).  New string.
 */
static char *instance_id(runner *R, const char *id, size_t k)
{
	char *out = NULL;
	for (int star = 0; star < 2; star++) {
		size_t n;
		free(out);
		FILE *f = open_memstream(&out, &n);
		int done = 0;
		for (const char *p = id; *p;) {
			if (!done && !strncmp(p, "[*]", 3)) {
				fprintf(f, star ? "[*%zu]" : "[%zu]", k);
				p += 3;
				done = 1;
			} else {
				fputc(*p++, f);
			}
		}
		fclose(f);
		json_t *ix = json_object_get(R->index, out);
		if (!ix || R->t[json_integer_value(ix)].plan.instance_of)
			break;
	}
	return out;
}

/* Whether ID is one of the tasks inside run-time for SID (SID their outermost). */
static int in_scatter(runner *R, const char *id, const char *sid)
{
	json_t *ix = id ? json_object_get(R->index, id) : NULL;
	if (!ix)
		return 0;
	json_t *sc = R->t[json_integer_value(ix)].plan.scatter;
	return json_array_size(sc) >= 1 && !strcmp(json_string_value(json_array_get(sc, 0)), sid);
}

/*
 * For element K (ELEM) of run-time for SID: the name of run-time for X when
 * X is inside SID — its own for each element, "X@K", made in the plan's
 * scatters with its list's expression for that element — or NULL.  New string.
 */
char *pe_inner_for(runner *R, const char *x, const char *sid, size_t k, json_t *elem)
{
	json_t *scs = R->scatters, *sc = json_object_get(scs, x);
	int inside = 0;
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(sc, "within"), i, w) inside |= !strcmp(json_string_value(w), sid);
	if (!inside)
		return NULL;
	char *name;
	if (asprintf(&name, "%s@%zu", x, k) < 0)
		abort();
	if (!json_object_get(scs, name)) {
		json_t *n = json_object(), *within = json_array();
		json_object_set_new(n, "over", pe_for_element(R, json_object_get(sc, "over"), sid, k, elem));
		json_array_foreach(json_object_get(sc, "within"), i, w) {
			if (!strcmp(json_string_value(w), sid))
				continue;
			char *r = pe_inner_for(R, json_string_value(w), sid, k, elem);
			json_array_append_new(within, json_string(r ? r : json_string_value(w)));
			free(r);
		}
		json_object_set_new(n, "within", within);
		json_object_set_new(scs, name, n);
		char *body = pr_json_text(n);
		pe_begin(R);
		pr_store_expansion(&R->store, R->run, "scatter", name, body);
		free(body);
	}
	return name;
}

/* Plan value E for element K (ELEM) of run-time for SID: its item, and its tasks' K-th instances (new). */
json_t *pe_for_element(runner *R, json_t *e, const char *sid, size_t k, json_t *elem)
{
	if (json_is_array(e)) {
		json_t *r = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(e, i, x) json_array_append_new(r, pe_for_element(R, x, sid, k, elem));
		return r;
	}
	if (json_is_string(e) && in_scatter(R, json_string_value(e), sid)) { /* a dep */
		char *id = instance_id(R, json_string_value(e), k);
		json_t *r = json_string(id);
		free(id);
		return r;
	}
	if (!json_is_object(e))
		return json_incref(e);
	json_t *v = json_object_get(e, "item");
	if (v && json_object_size(e) == 1 && !strcmp(json_string_value(v), sid)) {
		json_t *r = json_object();
		json_object_set(r, "const", elem);
		return r;
	}
	if (json_object_get(e, "const"))
		return json_incref(e);
	json_t *r = json_object();
	const char *key;
	json_object_foreach(e, key, v) {
		char *inner = (!strcmp(key, "item") || !strcmp(key, "gather")) && json_is_string(v)
				      ? pe_inner_for(R, json_string_value(v), sid, k, elem) : NULL;
		if (inner) { /* a run-time for inside this one: this element's own */
			json_object_set_new(r, key, json_string(inner));
			free(inner);
		} else if (!strcmp(key, "ref") && in_scatter(R, json_string_value(v), sid)) {
			char *id = instance_id(R, json_string_value(v), k);
			json_object_set_new(r, key, json_string(id));
			free(id);
		} else {
			json_object_set_new(r, key, pe_for_element(R, v, sid, k, elem));
		}
	}
	return r;
}

/* The list run-time for SID goes over, now (NULL when its tasks did not succeed). */
json_t *pe_scatter_list(runner *R, const char *sid, int *missing)
{
	json_t *over = json_object_get(json_object_get(R->scatters, sid), "over");
	json_t *list = over ? pe_eval(R, over, 0, missing) : NULL;
	if (!json_is_array(list)) {
		json_decref(list);
		*missing = 1;
		return NULL;
	}
	return list;
}

/*
 * Expands run-time for SID, whose list is now known: each task inside it
 * (a template, id "x[*]") gets one instance per element ("x[0]", ...), its
 * item and the references to its siblings made that element's; a template
 * then waits for its instances (its "group") and ends when they have.  The
 * instances are recorded in the store (expansions) in the same transaction
 * as their first events, so a resume has them.
 */
void pe_expand(runner *R, const char *sid)
{
	int missing = 0;
	json_t *list = pe_scatter_list(R, sid, &missing);
	if (!list)
		return;
	json_t *tasks = R->tasks;
	uint32_t n0 = R->n;
	size_t nel = json_array_size(list);
	for (uint32_t i = 0; i < n0; i++) {
		if (!in_scatter(R, R->t[i].id, sid) || R->t[i].plan.instances)
			continue;
		json_t *group = json_array();
		for (size_t k = 0; k < nel; k++) {
			json_t *inst = pe_for_element(R, R->t[i].j, sid, k, json_array_get(list, k));
			/* its other run-time fors, inside this one: this element's own */
			json_t *rest = json_array();
			size_t x;
			json_t *other;
			json_array_foreach(R->t[i].plan.scatter, x, other) {
				char *inner = x ? pe_inner_for(R, json_string_value(other), sid, k, json_array_get(list, k)) : NULL;
				if (x)
					json_array_append_new(rest, json_string(inner ? inner : json_string_value(other)));
				free(inner);
			}
			if (json_array_size(rest))
				json_object_set_new(inst, "scatter", rest);
			else {
				json_object_del(inst, "scatter");
				json_decref(rest);
			}
			json_object_set_new(inst, "instance_of", json_string(R->t[i].id));
			json_array_append(group, json_object_get(inst, "id"));
			json_array_append_new(tasks, inst);
		}
		json_object_set_new(R->t[i].j, "group", group);
		R->t[i].plan.instances = group;
	}
	json_decref(list);
	/* the runner's tasks: the new ones, and the templates' waits for them */
	uint32_t n = (uint32_t)json_array_size(tasks);
	if (n + 1 > R->cap) {
		R->cap = n + 1;
		R->t = realloc(R->t, R->cap * sizeof *R->t);
		R->heap = realloc(R->heap, R->cap * sizeof *R->heap);
		memset(R->t + R->n, 0, (R->cap - R->n) * sizeof *R->t);
	}
	char *err = NULL;
	for (uint32_t i = n0; i < n; i++) {
		R->t[i].j = json_array_get(tasks, i);
		R->n = i + 1;
		pe_init_task(R, i, &err);
	}
	for (uint32_t i = n0; i < n; i++) {
		if (pe_link_task(R, i, &err) < 0) /* a dep the plan lacks: as pe_load() would say */
			R->t[i].nwaits = R->t[i].pending = 0;
		R->t[i].pending = 0;
		for (uint32_t k = 0; k < R->t[i].nwaits; k++)
			R->t[i].pending += !pe_terminal(R->t[R->t[i].waits[k]].st);
	}
	free(err);
	for (uint32_t i = 0; i < n0; i++) {
		size_t k;
		json_t *x;
		if (!in_scatter(R, R->t[i].id, sid))
			continue;
		json_array_foreach(R->t[i].plan.instances, k, x) {
			uint32_t d = (uint32_t)json_integer_value(json_object_get(R->index, json_string_value(x)));
			R->t[d].remaining = R->t[i].remaining;
			R->t[i].pending += pe_add_wait(R, i, d);
		}
	}
	pe_begin(R);
	for (uint32_t i = n0; i < n; i++) {
		pr_store_new_task(&R->store, R->run, R->t[i].id, R->t[i].stage);
	}
	/* what the for added, in its own form (the plan kept is never rewritten): each instance, each
	 * template's group; the inner fors were recorded as they were made (pe_inner_for()) */
	for (uint32_t i = n0; i < n; i++) {
		char *body = pr_json_text(R->t[i].j);
		pr_store_expansion(&R->store, R->run, "task", R->t[i].id, body);
		free(body);
	}
	for (uint32_t i = 0; i < n0; i++) {
		if (!in_scatter(R, R->t[i].id, sid))
			continue;
		char *body = pr_json_text(R->t[i].plan.instances);
		pr_store_expansion(&R->store, R->run, "group", R->t[i].id, body);
		free(body);
	}
	for (uint32_t i = 0; i < n; i++) /* the instances that can go, and templates of an empty list */
		if (R->t[i].pending == 0 && R->t[i].st == S_PENDING && (i >= n0 || in_scatter(R, R->t[i].id, sid)))
			pe_consider(R, i);
}
