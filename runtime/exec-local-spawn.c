/*
 * exec-local-spawn.c - sandboxed attempts started off the loop, and ahead
 * of their turn.
 *
 * Setting up a task's sandbox (namespaces, mounts, cgroup, until its shell
 * has exec'd) takes about a millisecond of a vfork'd child that its caller
 * waits for: the loop would wait too, and with it every task that has ended
 * and every commit, so that the loop, not the cores, set the pace.  So
 * spawner threads (up to four: they mostly wait, for execs and cgroup
 * attaches) start sandboxed attempts: lx_spawn() hands one a job; the
 * thread makes the sandbox and the shell, which waits for its go-ahead on
 * fd 3, and wakes the loop with a SIGCHLD of its own (pthread_kill; the
 * executor's signalfd takes it); lx_spawns_done(), on the loop, reports
 * the attempt STARTED (or NOT_STARTED with the reason).
 *
 * Started ahead (pr_attempt.ahead): the engine asks for the next few ready
 * attempts in line to be started so, while tasks run; their shells wait
 * PARKED until go() (their place came free: only "running" is left to
 * commit) or drop() (the run was cancelled).  One that cannot be started
 * ahead is reported UNPARKED and started the ordinary way in its turn.
 */
#define _GNU_SOURCE
#include "exec-local.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct spawn_job {
	struct spawn_job *next;
	uint32_t task;
	int ahead;           /* started ahead: PARKED when ready, unless go() came meanwhile */
	pr_jail j;
	char *kept[PR_JAIL_KEEP]; /* copies of the paths J keeps (lx_jail()): each job has its own */
	char *argv[4], **envp;
	int go[2];           /* the handshake: go[0] the task's fd 3, go[1] the runtime's end */
	pid_t pid;           /* the task's shell, or -1 (WHY says why) */
	unsigned long long since; /* when it started (procid.c): read here, off the loop */
	int mnt_fd;          /* pr_sandbox_hold() of it */
	char cg[128], cpdir[8300], out[8300], err[8300], dir[8300], why[8400];
} spawn_job;

static void job_free(spawn_job *job)
{
	free(job->argv[2]);
	for (size_t x = 0; job->envp && job->envp[x]; x++)
		free(job->envp[x]);
	free(job->envp);
	for (int k = 0; k < PR_JAIL_KEEP; k++)
		free(job->kept[k]);
	free(job);
}

static void spawn_one(pr_sandbox *sb, spawn_job *job)
{
	job->pid = -1;
	job->j.fd_out = open(job->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	job->j.fd_err = open(job->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (job->j.fd_out >= 0 && job->j.fd_err >= 0)
		job->pid = pr_sandbox_spawn(sb, &job->j, job->why, sizeof job->why);
	else
		snprintf(job->why, sizeof job->why, "cannot create %s: %s", job->j.fd_out < 0 ? job->out : job->err,
			 strerror(errno));
	if (job->j.fd_out >= 0)
		close(job->j.fd_out);
	if (job->j.fd_err >= 0)
		close(job->j.fd_err);
	close(job->go[0]);
	job->mnt_fd = pr_sandbox_hold(sb, job->pid);
	job->since = job->pid > 0 ? pr_proc_start(job->pid) : 0;
}

static void *spawner_main(void *arg)
{
	local *L = arg;
	pthread_mutex_lock(&L->sp_mu);
	for (;;) {
		while (!L->sp_todo && !L->sp_stop)
			pthread_cond_wait(&L->sp_cv, &L->sp_mu);
		spawn_job *job = L->sp_todo;
		if (!job)
			break;
		L->sp_todo = job->next;
		pthread_mutex_unlock(&L->sp_mu);
		spawn_one(&L->sb, job);
		pthread_mutex_lock(&L->sp_mu);
		job->next = L->sp_done;
		L->sp_done = job;
		pthread_kill(L->sp_loop, SIGCHLD); /* the loop's signalfd takes SIGCHLD: it looks at what is done */
	}
	pthread_mutex_unlock(&L->sp_mu);
	pr_sandbox_thread_end();
	return NULL;
}

int lx_spawn(local *L, const pr_attempt *a, char **envp, char *script, int go[2], char *why, size_t n)
{
	spawn_job *job = calloc(1, sizeof *job);
	if (!job) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	if (!L->sp_n) {
		pthread_mutex_init(&L->sp_mu, NULL);
		pthread_cond_init(&L->sp_cv, NULL);
		L->sp_loop = pthread_self();
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old); /* signals are the loop's */
		int want = L->jobs + 2 < 4 ? L->jobs + 2 : 4; /* they mostly wait: for execs, for cgroup attaches */
		while (L->sp_n < want && pthread_create(&L->sp_th[L->sp_n], NULL, spawner_main, L) == 0)
			L->sp_n++;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!L->sp_n) {
			pthread_mutex_destroy(&L->sp_mu);
			pthread_cond_destroy(&L->sp_cv);
			free(job);
			snprintf(why, n, "no thread can be started to make its sandbox");
			return -1;
		}
	}
	job->task = a->task;
	job->ahead = a->ahead;
	job->go[0] = go[0], job->go[1] = go[1];
	job->argv[0] = "sh", job->argv[1] = "-c", job->argv[2] = script;
	job->envp = envp;
	snprintf(job->cpdir, sizeof job->cpdir, "%s", a->cpdir);
	snprintf(job->dir, sizeof job->dir, "%s", a->dir);
	snprintf(job->out, sizeof job->out, "%s/.stdout", a->dir);
	snprintf(job->err, sizeof job->err, "%s/.stderr", a->dir);
	pr_attempt at = *a;
	at.dir = job->dir, at.cpdir = job->cpdir;
	job->j = (pr_jail){.dir = job->dir, .argv = job->argv, .envp = envp, .fd_go = go[0]};
	lx_jail(L, &at, &job->j, job->kept);
	lx_cgroup_name(L, a->task, a->attempt, job->cg, sizeof job->cg);
	job->j.cgroup = job->cg;
	pthread_mutex_lock(&L->sp_mu);
	spawn_job **tail = &L->sp_todo;
	while (*tail)
		tail = &(*tail)->next;
	*tail = job; /* first come, first started: the engine's order */
	pthread_cond_signal(&L->sp_cv);
	pthread_mutex_unlock(&L->sp_mu);
	return 0;
}

/* The sandboxed starts the spawner threads have done: each attempt STARTED, PARKED, or not started. */
void lx_spawns_done(local *L)
{
	if (!L->sp_n)
		return;
	pthread_mutex_lock(&L->sp_mu);
	spawn_job *done = L->sp_done;
	L->sp_done = NULL;
	pthread_mutex_unlock(&L->sp_mu);
	while (done) {
		spawn_job *job = done;
		done = job->next;
		uint32_t i = job->task;
		lx_task *t = lx_task_of(L, i);
		t->spawning = 0;
		if (job->pid > 0) {
			t->mnt_fd = job->mnt_fd;
			if (t->go_on_spawn) {
				lx_started(L, i, job->pid, job->go[1], job->since);
			} else { /* started ahead: it waits for go() */
				t->parked = 1;
				t->pid = job->pid;
				t->go_fd = job->go[1];
				t->since = job->since;
				lx_live(L, i);
				pr_exec_event ev = {.ev = PR_EV_PARKED, .task = i, .attempt = t->attempt, .handle = job->pid};
				pr_exec_report(&L->x, &ev);
			}
		} else if (!t->go_on_spawn) { /* it starts the ordinary way when its turn comes */
			close(job->go[1]);
			free(t->dir);
			t->dir = NULL;
			pr_exec_event ev = {.ev = PR_EV_UNPARKED, .task = i, .attempt = t->attempt};
			pr_exec_report(&L->x, &ev);
		} else {
			close(job->go[1]);
			lx_not_started(L, i, job->why);
		}
		job_free(job);
	}
}

/* Stops the spawner threads once they have done what they were given. */
void lx_spawners_stop(local *L)
{
	if (!L->sp_n)
		return;
	pthread_mutex_lock(&L->sp_mu);
	L->sp_stop = 1;
	pthread_cond_broadcast(&L->sp_cv);
	pthread_mutex_unlock(&L->sp_mu);
	for (int k = 0; k < L->sp_n; k++)
		pthread_join(L->sp_th[k], NULL);
	lx_spawns_done(L); /* what was being started for a run that ends: the engine no longer listens */
	L->sp_n = 0;
	L->sp_stop = 0;
	pthread_mutex_destroy(&L->sp_mu);
	pthread_cond_destroy(&L->sp_cv);
}
