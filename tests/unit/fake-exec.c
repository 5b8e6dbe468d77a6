/* fake-exec.c - the fake executor of fake-exec.h: the real engine's other side, without processes. */
#define _GNU_SOURCE
#include "fake-exec.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct fake_run *find(fake *f, uint32_t task)
{
	for (int k = 0; k < f->nrun; k++)
		if (f->run[k].live && f->run[k].task == task)
			return &f->run[k];
	return NULL;
}

static struct fake_run *slot(fake *f)
{
	for (int k = 0; k < f->nrun; k++)
		if (!f->run[k].live)
			return &f->run[k];
	if (f->nrun == (int)(sizeof f->run / sizeof f->run[0]))
		abort();
	return &f->run[f->nrun++];
}

/* Ends run R now: its output written when it exits 0, ENDED reported. */
static void end(fake *f, struct fake_run *r)
{
	pr_exec_event ev = {.ev = PR_EV_ENDED, .task = r->task, .attempt = r->attempt, .kind = r->fate.kind,
			    .code = r->fate.code};
	if (r->killed)
		ev.kind = r->adopted ? PR_END_LOST : PR_END_SIGNALED, ev.code = r->adopted ? 0 : SIGKILL;
	if (ev.kind == PR_END_EXITED && ev.code == 0) {
		char path[4200];
		snprintf(path, sizeof path, "%s/out", r->dir);
		FILE *o = fopen(path, "w");
		if (o) {
			fprintf(o, "%ld\n", r->fate.value ? r->fate.value : (long)r->attempt);
			fclose(o);
		}
	}
	r->live = 0;
	pr_exec_report(&f->x, &ev);
}

static int fake_start_op(pr_executor *x, const pr_attempt *a, char *why, size_t n)
{
	fake *f = (fake *)x;
	(void)why, (void)n;
	fake_start *s = &f->starts[f->nstarts < 4095 ? f->nstarts++ : 4095];
	snprintf(s->id, sizeof s->id, "%s", a->id);
	s->attempt = a->attempt;
	s->at = f->now;
	fake_fate fate = f->script ? f->script(f, a) : (fake_fate){0};
	if (fate.kind == PR_END_NOT_STARTED) {
		pr_exec_event ev = {.ev = PR_EV_ENDED, .task = a->task, .attempt = a->attempt, .kind = PR_END_NOT_STARTED};
		snprintf(ev.note, sizeof ev.note, "the fake would not start it");
		pr_exec_report(x, &ev);
		return 0;
	}
	pthread_mutex_lock(&f->mu);
	struct fake_run *r = slot(f);
	*r = (struct fake_run){.task = a->task, .attempt = a->attempt, .end = f->now + fate.duration, .fate = fate, .live = 1};
	snprintf(r->dir, sizeof r->dir, "%s", a->dir);
	snprintf(r->id, sizeof r->id, "%s", a->id);
	pthread_mutex_unlock(&f->mu);
	pr_exec_event ev = {.ev = PR_EV_STARTED, .task = a->task, .attempt = a->attempt, .handle = 100000 + a->task};
	pr_exec_report(x, &ev);
	if (f->crash_on && !strcmp(f->crash_on, a->id))
		f->crash_task = a->task + 1;
	return 0;
}

static void fake_go(pr_executor *x, uint32_t task)
{
	(void)x, (void)task;
}

static void fake_drop(pr_executor *x, uint32_t task)
{
	(void)x, (void)task;
}

static int fake_token(pr_executor *x, uint32_t task)
{
	(void)x;
	return (int)task;
}

static void fake_release(pr_executor *x, const int *tokens, size_t n, int ok)
{
	fake *f = (fake *)x;
	pthread_mutex_lock(&f->mu);
	for (size_t k = 0; k < n; k++) {
		f->released += ok;
		if (ok && f->crash_task && (uint32_t)tokens[k] + 1 == f->crash_task)
			_exit(0); /* the machine dies: its start is durable, the task "runs on" */
		for (int r = 0; r < f->nrun; r++)
			if (f->run[r].live && f->run[r].task == (uint32_t)tokens[k])
				f->run[r].released = 1; /* (a failed commit: it never runs; the test would hang, and fail) */
	}
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static void fake_adopt(pr_executor *x, uint32_t task, int attempt, long handle, unsigned long long since, const char *dir)
{
	(void)since;
	fake *f = (fake *)x;
	char id[64] = "";
	/* the engine's id of TASK is not ours to look up: the start log of the run that died is gone,
	 * so the script is told the handle, which the fake made from the task's index */
	snprintf(id, sizeof id, "#%u", task);
	if (f->nadopts < 16)
		snprintf(f->adopts[f->nadopts++], sizeof f->adopts[0], "%s", id);
	fake_fate fate = f->adopted ? f->adopted(f, id, attempt, handle) : (fake_fate){.kind = PR_END_LOST};
	if (fate.kind == PR_END_LOST) {
		pr_exec_event ev = {.ev = PR_EV_ENDED, .task = task, .attempt = attempt, .kind = PR_END_LOST};
		pr_exec_report(x, &ev);
		return;
	}
	pthread_mutex_lock(&f->mu);
	struct fake_run *r = slot(f);
	*r = (struct fake_run){.task = task, .attempt = attempt, .end = f->now + fate.duration, .fate = fate, .live = 1,
			       .released = 1, .adopted = 1};
	snprintf(r->dir, sizeof r->dir, "%s", dir);
	pthread_mutex_unlock(&f->mu);
}

static void fake_kill(pr_executor *x, uint32_t task)
{
	fake *f = (fake *)x;
	struct fake_run *r = find(f, task);
	f->kills++;
	if (r) {
		r->killed = 1;
		r->end = f->now;
		r->fate.hang = 0;
	}
}

static void fake_poll(pr_executor *x)
{
	(void)x;
}

/* Moves the clock to the first of UNTIL (0: none) and the next end; reports what ends then. */
static void fake_advance(pr_executor *x, double until)
{
	fake *f = (fake *)x;
	/* an attempt runs once its start is durable (release()): as a real one, it waits for that */
	pthread_mutex_lock(&f->mu);
	for (int waited = 0; waited < 100; waited++) {
		int unreleased = 0, running = 0;
		for (int k = 0; k < f->nrun; k++)
			if (f->run[k].live)
				f->run[k].released ? running++ : unreleased++;
		if (!unreleased || running)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
	}
	pthread_mutex_unlock(&f->mu);
	double next = 0;
	for (int k = 0; k < f->nrun; k++)
		if (f->run[k].live && f->run[k].released && !f->run[k].fate.hang && (!next || f->run[k].end < next))
			next = f->run[k].end;
	if (f->cancel_at && !f->cancelled && (!next || f->cancel_at < next) && (!until || f->cancel_at < until)) {
		f->now = f->now > f->cancel_at ? f->now : f->cancel_at;
		f->cancelled = 1;
		raise(SIGTERM); /* blocked in the loop: its signalfd takes it, as a user's ^C */
		return;
	}
	if (until && (!next || until < next)) {
		if (until > f->now)
			f->now = until;
		return;
	}
	if (!next)
		return;
	if (next > f->now)
		f->now = next;
	for (int k = 0; k < f->nrun; k++)
		if (f->run[k].live && f->run[k].released && !f->run[k].fate.hang && f->run[k].end <= f->now)
			end(f, &f->run[k]);
}

static double fake_now(pr_executor *x)
{
	return ((fake *)x)->now;
}

static void fake_close(pr_executor *x)
{
	(void)x;
}

static const pr_exec_ops fake_ops = {
	.name = "fake",
	.start = fake_start_op,
	.go = fake_go,
	.drop = fake_drop,
	.token = fake_token,
	.release = fake_release,
	.adopt = fake_adopt,
	.kill = fake_kill,
	.poll = fake_poll,
	.advance = fake_advance,
	.now = fake_now,
	.close = fake_close,
};

void fake_init(fake *f)
{
	memset(f, 0, sizeof *f);
	f->x.ops = &fake_ops;
	f->now = 1000;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
}

int fake_started(const fake *f, const char *id)
{
	int n = 0;
	for (int k = 0; k < f->nstarts; k++)
		n += !strcmp(f->starts[k].id, id);
	return n;
}

int fake_start_index(const fake *f, const char *id, int attempt)
{
	for (int k = 0; k < f->nstarts; k++)
		if (!strcmp(f->starts[k].id, id) && f->starts[k].attempt == attempt)
			return k;
	return -1;
}
