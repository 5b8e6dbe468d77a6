/*
 * engine-loop.c - the loop: one iteration a batch of transitions.
 *
 *   1. run-time fors whose lists came are expanded;
 *   2. what can start starts, highest priority first (cached ones need no
 *      slot): the executor is handed each attempt (engine-start.c);
 *   3. what the executor reported is acted on, in order (STARTED: the
 *      attempt is running; ENDED: the finishing protocol), and the ended
 *      queue drained (the users of each task that ended are looked at);
 *      timeouts and backoffs that came due are acted on;
 *   4. the batch is committed (by the store's writer thread); the tokens of
 *      the attempts started in it go with the commit, and the store hands
 *      them back to the executor once the batch is durable, which lets the
 *      attempts' commands go (exec.h);
 *   5. the next few ready attempts may be started ahead of their turn;
 *   6. wait: on an epoll of the executor's descriptor and a signalfd for
 *      SIGINT and SIGTERM (which cancel the run), until the nearest timer —
 *      or, for an executor on a virtual clock, advance it instead.
 *
 * Nothing an executor reports is acted on inside the executor's call: it
 * is queued (pe_report()) and drained in step 3, so no transition ever
 * re-enters another.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

void pe_begin(runner *R)
{
	pr_store_begin(&R->store);
}

/* A task's row changed: it is written once, before the commit. */
void pe_dirty(runner *R, uint32_t i, int ready)
{
	rtask *t = &R->t[i];
	t->ready_row |= ready;
	if (t->dirty)
		return;
	t->dirty = 1;
	pr_room(&R->dirty, R->ndirty, &R->capdirty, sizeof *R->dirty, 256);
	R->dirty[R->ndirty++] = i;
}

/* The store hands a commit's tokens back here (maybe on its writer thread). */
static void durable(void *ctx, const int *tokens, size_t n, int ok)
{
	pr_executor *x = ctx;
	x->ops->release(x, tokens, n, ok);
}

/*
 * The end of a batch: the changed task rows are written, and the batch is
 * committed (by the writer thread while the loop runs); the attempts
 * started in it are released once it is durable.
 */
void pe_commit(runner *R)
{
	for (uint32_t k = 0; k < R->ndirty; k++) {
		rtask *t = &R->t[R->dirty[k]];
		char *ins = t->ready_row ? pr_json_text(t->inputs) : NULL;
		pr_store_row(&R->store, R->run, t->id, pe_state_names[t->st], t->attempt, ins, t->ready_row ? t->key : NULL,
			     t->ready_row ? t->parts : NULL);
		free(ins);
		t->dirty = t->ready_row = 0;
		if (pe_terminal(t->st)) { /* its key's parts are in the store now, and it will not run again */
			free(t->parts);
			t->parts = NULL;
		}
	}
	R->ndirty = 0;
	int tok[64];
	size_t ntok = 0;
	for (uint32_t j = 0; j < R->nactive; j++) { /* a started task is running, so listed there */
		rtask *t = &R->t[R->active[j]];
		if (t->st != S_RUNNING || !t->handle || t->token_sent)
			continue;
		t->token_sent = 1;
		int d = R->ex->ops->token(R->ex, R->active[j]);
		if (d < 0)
			continue;
		if (ntok == sizeof tok / sizeof tok[0]) {
			pr_store_commit(&R->store, tok, ntok);
			ntok = 0;
		}
		tok[ntok++] = d;
	}
	pr_store_commit(&R->store, tok, ntok);
}

/* Lists task I among the running, retrying and paused ones (the loop drops it when it leaves them). */
void pe_activate(runner *R, uint32_t i)
{
	pr_room(&R->active, R->nactive, &R->capactive, sizeof *R->active, 64);
	R->active[R->nactive++] = i;
	R->t[i].in_active = 1;
}

double pe_now(runner *R)
{
	return R->ex->ops->now(R->ex);
}

void pe_report(void *engine, const pr_exec_event *ev)
{
	runner *R = engine;
	pr_room(&R->events, R->nevents, &R->capevents, sizeof *R->events, 64);
	R->events[R->nevents++] = *ev;
}

/* Task I's attempt is running (HANDLE: its process): "running" is recorded, with where and what. */
static void started(runner *R, uint32_t i, long handle, unsigned long long since)
{
	rtask *t = &R->t[i];
	t->spawning = t->parked = t->go_on_spawn = 0;
	t->handle = handle;
	t->since = since;
	t->token_sent = 0;
	t->started = pe_now(R);
	t->timed_out = 0;
	t->deadline = t->timeout_ns > 0 ? t->started + (double)t->timeout_ns / 1e9 : 0;
	/* where it runs is in its "running" event when there is a choice to record */
	char *place = pe_placed(R, i) ? pr_place_json(&R->nodes, &t->req, &t->place) : NULL;
	pe_transition(R, i, S_RUNNING, place);
	pr_store_running(&R->store, R->run, t->id, t->attempt, handle, since, t->dir, t->started, t->cmd, place);
	free(place);
	free(t->cmd);
	t->cmd = NULL;
	if (R->cancelled) { /* started while the run was being cancelled: it never gets its go-ahead */
		t->killed = 1;
		R->ex->ops->kill(R->ex, i);
	}
}

/* What the executor reported, in order. */
static void events(runner *R)
{
	/* what is acted on may make the executor report more (a kill, a drop): those join the end */
	for (size_t k = 0; k < R->nevents; k++) {
		pr_exec_event ev = R->events[k];
		uint32_t i = ev.task;
		if (i >= R->n)
			continue;
		rtask *t = &R->t[i];
		if (ev.attempt != t->attempt)
			continue; /* an attempt the engine has let go of */
		switch (ev.ev) {
		case PR_EV_STARTED:
			if (t->st == S_READY)
				started(R, i, ev.handle, ev.since);
			break;
		case PR_EV_PARKED:
			t->spawning = 0;
			t->parked = 1;
			if (R->cancelled)
				R->ex->ops->drop(R->ex, i);
			break;
		case PR_EV_UNPARKED: /* it starts the ordinary way when its turn comes */
			t->spawning = t->parked = 0;
			R->nparked--;
			t->attempt--;
			t->no_park = 1;
			if (R->cancelled && t->st == S_READY)
				pe_transition(R, i, S_CANCELLED, "the run was cancelled");
			break;
		case PR_EV_ENDED:
			if (t->st == S_RUNNING) {
				pe_finish(R, i, &ev);
			} else if (t->st == S_READY) { /* it never ran */
				int had_place = t->go_on_spawn;
				if (!had_place)
					R->nparked--; /* started ahead, and dropped */
				t->spawning = t->parked = t->go_on_spawn = 0;
				free(t->cmd);
				t->cmd = NULL;
				if (R->cancelled) {
					pe_vacate(R, i);
					pe_transition(R, i, S_CANCELLED, "the run was cancelled");
				} else if (had_place) {
					pe_transition(R, i, S_RUNNING, NULL);
					pe_finish(R, i, &ev);
				} else { /* dropped before its turn: it starts the ordinary way */
					t->attempt--;
					t->no_park = 1;
					pe_heap_push(R, i);
				}
			}
			break;
		}
	}
	R->nevents = 0;
}

void pe_cancel_all(runner *R)
{
	R->cancelled = 1;
	for (uint32_t i = 0; i < R->n; i++) {
		rtask *t = &R->t[i];
		if (t->st == S_RUNNING && t->handle && !t->killed) {
			t->killed = 1;
			R->ex->ops->kill(R->ex, i);
		}
	}
	for (uint32_t i = 0; i < R->n; i++) {
		rtask *t = &R->t[i];
		if (t->parked)
			R->ex->ops->drop(R->ex, i); /* ENDED (not started) follows: cancelled then */
		else if ((t->st == S_PENDING || t->st == S_READY || t->st == S_RETRYING || t->st == S_PAUSED) && !t->spawning)
			pe_transition(R, i, S_CANCELLED, "the run was cancelled"); /* one being started is killed once it is */
	}
}

/* Whether a commit of the store failed just now (said once: the run stops, what was committed is kept). */
static int store_broken(runner *R)
{
	const char *bad = pr_store_failed(&R->store);
	if (!bad || R->store_failed)
		return 0;
	R->store_failed = 1;
	fprintf(stderr, "pipec: the store %s/state.db cannot be written (%s): the run stops; what was committed before is kept\n",
		R->store.dir, bad);
	return 1;
}

/*
 * Started ahead.  While tasks run, the executor may have the next few ready
 * tasks in line made ready to go (their sandbox made, their shell waiting):
 * when a place comes free and such a task is first in line, it only needs
 * its "running" committed.  Not for a task with GPUs, or on simulated
 * nodes (where it runs is chosen when it starts).
 */
static void start_ahead(runner *R)
{
	int want = R->ex->ahead;
	if (!want || !R->running || R->cancelled || R->nodes.simulated)
		return;
	for (uint32_t h = 0; h < R->nheap && h < 32 && R->nparked < want; h++) {
		uint32_t i = R->heap[h];
		rtask *t = &R->t[i];
		if (t->st != S_READY || t->spawning || t->parked || t->no_park || t->req.gpu > 0)
			continue;
		if (!t->cache_checked) {
			t->cache_checked = 1;
			if (pe_try_cache(R, i))
				continue; /* cached: it leaves the heap when it comes to the top */
		}
		char why[2048];
		if (pe_never_fits(R, i, why, sizeof why))
			continue;
		if (pe_start(R, i, 1) == 0)
			R->nparked++;
	}
}

/* Starts what can start, highest priority first; cached ones need no slot. */
static void start_ready(runner *R)
{
	while (R->nheap && !R->cancelled) {
		uint32_t top = R->heap[0];
		rtask *t = &R->t[top];
		if (t->st != S_READY || t->holds) {
			pe_heap_pop(R);
			continue;
		}
		if (!t->cache_checked) {
			t->cache_checked = 1;
			if (pe_try_cache(R, top)) {
				pe_heap_pop(R);
				if (pr_store_pending(&R->store) > 1024)
					pe_commit(R); /* many cached at once: in batches, not all in memory */
				continue;
			}
		}
		if (R->running >= R->jobs)
			break;
		char why[2048];
		if (pe_never_fits(R, top, why, sizeof why)) {
			pe_heap_pop(R);
			pe_transition(R, top, S_ERROR, why);
			continue;
		}
		if (pr_place_now(&R->nodes, &t->req, &t->place) < 0)
			break; /* it waits for running tasks to give back what it needs, first in line */
		pe_heap_pop(R);
		pe_occupy(R, top);
		if (t->parked || t->spawning) { /* started ahead: it runs once its shell is ready (now, if it is) */
			R->nparked--;
			t->go_on_spawn = 1;
			R->ex->ops->go(R->ex, top);
		} else {
			pe_start(R, top, 0);
		}
	}
}

/*
 * The running, retrying and paused tasks: timeouts and backoffs due by NOW
 * are acted on; returns the nearest time one is due (0: none), *MORE set
 * when a task will want to start.
 */
static double timers(runner *R, double now, int *more)
{
	uint32_t k = 0;
	double wake = 0;
	for (uint32_t j = 0; j < R->nactive; j++) {
		uint32_t i = R->active[j];
		rtask *t = &R->t[i];
		if (t->st != S_RUNNING && t->st != S_RETRYING && t->st != S_PAUSED) {
			t->in_active = 0;
			continue;
		}
		R->active[k++] = i;
		if (t->st == S_RUNNING && t->deadline && !t->timed_out && t->handle) {
			if (now >= t->deadline) {
				t->timed_out = 1;
				t->killed = 1;
				R->ex->ops->kill(R->ex, i);
			} else if (!wake || t->deadline < wake) {
				wake = t->deadline;
			}
		}
		if ((t->st == S_RETRYING || t->st == S_PAUSED) && R->cancelled) {
			pe_transition(R, i, S_CANCELLED, "the run was cancelled"); /* it would wait for ever */
			continue;
		}
		if (t->st == S_RETRYING || t->st == S_PAUSED) {
			if (now >= t->not_before && !R->cancelled) {
				pe_transition(R, i, S_READY, NULL);
				*more = 1;
			} else if (!wake || t->not_before < wake) {
				wake = t->not_before, *more = 1;
			}
		}
	}
	R->nactive = k;
	return wake;
}

/* Acts on what was reported, what ended and what came due, until nothing more is; the next timer (0: none). */
static double settle(runner *R, int *more)
{
	double wake;
	do {
		events(R);
		pe_drain_ended(R);
		wake = timers(R, pe_now(R), more);
	} while (R->nevents || R->nended);
	return wake;
}

/* Waits for the executor, a signal, or WAKE (0: none); a virtual clock is advanced instead. */
static void wait_for(runner *R, int ep, int sigfd, double wake)
{
	pr_executor *x = R->ex;
	double xw = x->ops->wake ? x->ops->wake(x) : 0;
	if (xw && (!wake || xw < wake))
		wake = xw;
	if (R->live && R->running && (!wake || wake > pe_now(R) + 0.25))
		wake = pe_now(R) + 0.25; /* keep the elapsed times moving */
	if (x->ops->advance) {
		x->ops->advance(x, wake);
	} else if (R->running || wake) {
		int ms = -1;
		if (wake) {
			double d = wake - pe_now(R);
			ms = d <= 0 ? 0 : (int)(d * 1000) + 1;
		}
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, ms);
		(void)n;
	}
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof si) == sizeof si)
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
			pe_cancel_all(R);
	if (x->ops->poll)
		x->ops->poll(x);
}

/* The loop: start what is ready, act on what the executor reports, commit, wait. */
void pe_drive(runner *R)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	int sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	if (sigfd >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, sigfd, &ev);
	int xfd = R->ex->ops->fd ? R->ex->ops->fd(R->ex) : -1;
	if (xfd >= 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, xfd, &ev);
	pr_store_on_durable(&R->store, durable, R->ex);
	/* what the setup wrote is committed here; the loop's commits go to a writer thread */
	events(R);
	pe_drain_ended(R);
	pe_commit(R);
	if (!pr_store_failed(&R->store))
		pr_store_async(&R->store, 1);
	for (;;) {
		/* what the executor reported while we waited, what ended, and what came due, until nothing more is */
		int more = 0;
		double wake = settle(R, &more);
		/* run-time fors whose lists came: their instances join the run */
		while (json_array_size(R->expand) && !R->cancelled) {
			char *sid = strdup(json_string_value(json_array_get(R->expand, 0)));
			json_array_remove(R->expand, 0);
			pe_expand(R, sid);
			free(sid);
		}
		start_ready(R);
		double w2 = settle(R, &more); /* the starts: "running" goes with this commit */
		if (w2 && (!wake || w2 < wake))
			wake = w2;
		more |= R->nheap > 0 && !R->cancelled; /* a cancelled run starts nothing more */
		pe_commit(R);
		start_ahead(R); /* after the commit: the go-aheads of the tasks started above do not wait for it */
		if (store_broken(R))
			pe_cancel_all(R);
		if (R->nevents || R->nended || (json_array_size(R->expand) && !R->cancelled))
			continue; /* more to act on: no waiting */
		if (!R->running && !more && !R->nparked)
			break;
		pe_view_draw(R);
		wait_for(R, ep, sigfd, wake);
	}
	pr_store_async(&R->store, 0); /* its last commit */
	store_broken(R);
	pe_view_erase(R);
	close(ep);
	if (sigfd >= 0)
		close(sigfd);
	/* a SIGINT or SIGTERM that came at the very end was answered: the run ended anyway */
	struct timespec none = {0, 0};
	while (sigtimedwait(&set, NULL, &none) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
