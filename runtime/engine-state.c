/*
 * engine-state.c - the task state machine: the states, the one table of
 * legal transitions, and the one function that applies them.
 *
 *   pending  -> ready | skipped | failed (a run-time check) | error | cancelled
 *               | succeeded (a task inside a run-time for, when all its instances did)
 *   ready    -> running | cached | error | cancelled
 *   running  -> succeeded | failed | error | retrying | cancelled | paused
 *   retrying -> ready | cancelled
 *   paused   -> ready | cancelled (out of memory after writing a checkpoint:
 *               it goes again from the checkpoint, not counted as a retry)
 *
 * pe_transition() checks the change against the table, appends the event to
 * the store (in the batch the loop commits), prints the progress line, and
 * does what entering the state means for the scheduler: a ready task joins
 * the heap, a running or retrying one the active list.  A task that ends
 * (succeeded, failed, error, cached, skipped, cancelled) joins the ended
 * queue; the loop drains it (pe_drain_ended()), looking at each task that
 * waited for it, which may end in turn and join the queue: a failure
 * skipping a chain of 100,000 tasks is a loop over the queue, never a
 * recursion (a transition never calls back into another).
 */
#define _GNU_SOURCE
#include "engine.h"

#include <stdlib.h>
#include <string.h>

const char *const pe_state_names[S__COUNT] = {
	"pending", "ready", "running", "succeeded", "failed", "error", "cached", "retrying", "skipped", "cancelled",
	"paused",
};

static const unsigned char legal[S__COUNT][S__COUNT] = {
	[S_PENDING] = {[S_READY] = 1, [S_SKIPPED] = 1, [S_FAILED] = 1, [S_ERROR] = 1, [S_CANCELLED] = 1, [S_SUCCEEDED] = 1},
	[S_READY] = {[S_RUNNING] = 1, [S_CACHED] = 1, [S_ERROR] = 1, [S_CANCELLED] = 1},
	[S_RUNNING] = {[S_SUCCEEDED] = 1, [S_FAILED] = 1, [S_ERROR] = 1, [S_RETRYING] = 1, [S_CANCELLED] = 1,
		       [S_PAUSED] = 1},
	[S_RETRYING] = {[S_READY] = 1, [S_CANCELLED] = 1},
	[S_PAUSED] = {[S_READY] = 1, [S_CANCELLED] = 1},
};

int pe_state_legal(tstate from, tstate to)
{
	return from >= 0 && from < S__COUNT && to >= 0 && to < S__COUNT && legal[from][to];
}

int pe_terminal(tstate s)
{
	return s == S_SUCCEEDED || s == S_FAILED || s == S_ERROR || s == S_CACHED || s == S_SKIPPED || s == S_CANCELLED;
}

int pe_ok_state(tstate s)
{
	return s == S_SUCCEEDED || s == S_CACHED;
}

int pe_state_of(const char *name)
{
	for (int k = 0; name && k < S__COUNT; k++)
		if (!strcmp(name, pe_state_names[k]))
			return k;
	return -1;
}

/* Task I ended: it joins the ended queue. */
static void ended(runner *R, uint32_t i)
{
	if (R->t[i].in_ended)
		return;
	pr_room(&R->ended, R->nended, &R->capended, sizeof *R->ended, 256);
	R->ended[R->nended++] = i;
	R->t[i].in_ended = 1;
}

void pe_transition(runner *R, uint32_t i, tstate to, const char *detail)
{
	rtask *t = &R->t[i];
	if (!pe_state_legal(t->st, to)) {
		fprintf(stderr, "pipec: internal error: %s -> %s for task %s\n", pe_state_names[t->st], pe_state_names[to], t->id);
		abort();
	}
	pe_begin(R);
	pr_store_event(&R->store, R->run, t->id, t->attempt, pe_state_names[t->st], pe_state_names[to], detail);
	pe_dirty(R, i, 0);
	if (R->log && (!R->live || to == S_FAILED || to == S_ERROR || to == S_PAUSED || (to == S_RETRYING && detail))) {
		pe_view_erase(R);
		char on[256] = "";
		if (to == S_RUNNING && pe_placed(R, i)) { /* the placement (the event's detail): said shortly */
			pe_place_text(R, i, on, sizeof on);
			detail = NULL;
		}
		fprintf(R->log, "%-10s %s%s%s%s\n", pe_state_names[to], t->id, on, detail ? ": " : "", detail ? detail : "");
	}
	t->st = to;
	if (to == S_READY) {
		t->cache_checked = 0;
		pe_heap_push(R, i);
	}
	if ((to == S_RUNNING || to == S_RETRYING) && !t->in_active)
		pe_activate(R, i);
	if (pe_terminal(to))
		ended(R, i);
}

void pe_drain_ended(runner *R)
{
	/* a queue, in the order tasks ended: what ends while it is drained joins its end */
	for (uint32_t head = 0; head < R->nended; head++) {
		uint32_t i = R->ended[head];
		rtask *t = &R->t[i];
		t->in_ended = 0;
		for (uint32_t k = 0; k < t->nusers; k++) {
			rtask *u = &R->t[t->users[k]];
			if (u->pending && --u->pending == 0)
				pe_consider(R, t->users[k]);
		}
	}
	R->nended = 0;
}
