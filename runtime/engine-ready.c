/*
 * engine-ready.c - readiness: a pending task whose waits have all ended is
 * looked at once (pe_consider(), from the ended queue or at the start).
 *
 * A task inside a run-time `for` waits for its list and then runs as its
 * instances; a `try`'s fallback is skipped when what it backs up
 * succeeded; `after` and `when` may skip it; its inputs are resolved (a
 * reference to a task that did not succeed skips it); the stage's run-time
 * `where` checks may fail it; a run-time operation its condition, inputs or
 * checks need that fails (an Int overflow, a division by zero) fails it,
 * saying which; else its cache key is made (an input that cannot be hashed,
 * a FIFO or a device, fails it) and it is ready.
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

int pe_inputs(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	json_decref(t->inputs);
	t->inputs = json_object();
	const char *name;
	json_t *in;
	json_object_foreach(t->plan.inputs, name, in) {
		int missing = 0;
		json_t *v = pe_eval(R, json_object_get(in, "value"), 0, &missing);
		if (missing) {
			json_decref(v);
			if (missing & PE_EVAL_FAILED) { /* named for the failure pe_consider() gives the task */
				char why[sizeof R->eval_why];
				memcpy(why, R->eval_why, sizeof why);
				snprintf(R->eval_why, sizeof R->eval_why, "its input '%s': %s", name, why);
				return -2;
			}
			return -1;
		}
		json_object_set_new(t->inputs, name, v ? v : json_null());
	}
	return 0;
}

/* Task I fails: a run-time expression it needs (WHAT, WHICH) failed, said in R->eval_why. */
static void eval_failed(runner *R, uint32_t i, const char *what, const char *which)
{
	char where[600], why[1400];
	snprintf(why, sizeof why, "%s: %s%s%s%s", pe_where(&R->t[i], where, sizeof where), what, which ? which : "",
		 *what ? ": " : "", R->eval_why);
	pe_transition(R, i, S_FAILED, why);
}

/* Everything task I waited for has ended: decide what becomes of it. */
void pe_consider(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	if (t->st != S_PENDING || R->cancelled)
		return;
	size_t k;
	json_t *x;
	if (t->group) { /* a task inside a run-time for: it runs as its instances */
		json_t *sc = t->plan.scatter;
		const char *sid = json_string_value(json_array_get(sc, 0));
		json_t *group = t->plan.instances;
		if (!group) {
			int missing = 0;
			json_t *list = pe_scatter_list(R, sid, &missing);
			if (!list) {
				pe_transition(R, i, S_SKIPPED, "the list its for goes over did not come");
				return;
			}
			json_decref(list);
			if (!R->expand)
				R->expand = json_array();
			json_array_foreach(R->expand, k, x) if (!strcmp(json_string_value(x), sid)) return;
			json_array_append_new(R->expand, json_string(sid));
		} else {
			size_t bad = 0;
			json_array_foreach(group, k, x) {
				json_t *ix = json_object_get(R->index, json_string_value(x));
				bad += !ix || !pe_ok_state(R->t[json_integer_value(ix)].st);
			}
			char msg[128];
			snprintf(msg, sizeof msg, "%zu of its %zu instances did not succeed", bad, json_array_size(group));
			pe_transition(R, i, bad ? S_SKIPPED : S_SUCCEEDED, bad ? msg : NULL);
		}
		return;
	}
	json_t *fb = t->plan.fallback_of;
	if (json_array_size(fb)) {
		int all_ok = 1;
		json_array_foreach(fb, k, x) {
			json_t *ix = json_object_get(R->index, json_string_value(x));
			all_ok &= ix && pe_ok_state(R->t[json_integer_value(ix)].st);
		}
		if (all_ok) {
			pe_transition(R, i, S_SKIPPED, "not needed: what it is the fallback of succeeded");
			return;
		}
	}
	json_array_foreach(t->plan.after, k, x) {
		json_t *ix = json_object_get(R->index, json_string_value(x));
		if (!ix || !pe_ok_state(R->t[json_integer_value(ix)].st)) {
			pe_transition(R, i, S_SKIPPED, "a task it runs after did not succeed");
			return;
		}
	}
	json_array_foreach(t->plan.when, k, x) {
		int missing = 0;
		json_t *c = pe_eval(R, json_object_get(x, "expr"), 0, &missing);
		int holds = c && json_equal(c, json_object_get(x, "is"));
		json_decref(c);
		if (missing & PE_EVAL_FAILED) {
			eval_failed(R, i, "its condition", "");
			return;
		}
		if (missing || !holds) {
			pe_transition(R, i, S_SKIPPED, missing ? "its condition's inputs did not succeed" : "branch not taken");
			return;
		}
	}
	int in = pe_inputs(R, i);
	if (in == -2) {
		eval_failed(R, i, "", "");
		return;
	}
	if (in < 0) {
		pe_transition(R, i, S_SKIPPED, "an input did not succeed");
		return;
	}
	json_array_foreach(t->plan.checks, k, x) {
		int missing = 0;
		json_t *c = pe_eval(R, json_object_get(x, "expr"), 0, &missing);
		int holds = c && json_is_true(c);
		json_decref(c);
		if (missing & PE_EVAL_FAILED) {
			eval_failed(R, i, "its requirement ", json_string_value(json_object_get(x, "constraint")));
			return;
		}
		if (!holds) {
			char why[600];
			snprintf(why, sizeof why, "stage '%s' requires %s, which does not hold", t->stage,
				 json_string_value(json_object_get(x, "constraint")));
			pe_transition(R, i, S_FAILED, why);
			return;
		}
	}
	char why[1200], where[600];
	int rc = pe_cache_key(R, i, why, sizeof why);
	if (rc < 0) { /* an input that cannot be hashed (a FIFO, a device): the task fails, nothing hangs */
		char msg[1900];
		snprintf(msg, sizeof msg, "%s: %s", pe_where(t, where, sizeof where), why);
		pe_transition(R, i, rc == PE_HASH_CANCELLED ? S_CANCELLED : S_FAILED, msg);
		return;
	}
	pe_transition(R, i, S_READY, NULL);
	pe_dirty(R, i, 1); /* its inputs and key go into its row with the commit */
}


