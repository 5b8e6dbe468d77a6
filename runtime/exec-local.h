/*
 * exec-local.h - what the local executor's files share.
 *
 *   exec-local.c         the executor: its operations (exec.h), how an
 *                        attempt is started (which of the ways below), reaped,
 *                        adopted and killed, and its sandbox (what stays visible)
 *   exec-local-plain.c   the plain start without the sandbox: a raw clone
 *   exec-local-shells.c  standing shells: tasks without the sandbox run in
 *                        shells that stay for the run
 *   exec-local-spawn.c   spawner threads: sandboxed attempts started off the
 *                        loop, and ahead of their turn
 *
 * The sandbox itself (namespaces, mounts, cgroups) is sandbox.c.
 */
#ifndef PIPEC_EXEC_LOCAL_H
#define PIPEC_EXEC_LOCAL_H

#include "exec.h"
#include "runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>

struct plain;
struct spawn_job;

/* The executor's view of one task's current attempt. */
typedef struct lx_task {
	pid_t pid;             /* its shell (the leader of its process group), 0: none */
	int attempt;
	int go_fd;             /* our end of its handshake socket (its fd 3), or -1 */
	int mnt_fd;            /* holds its mount namespace while it runs (pr_sandbox_hold()), or -1 */
	struct plain *plain;   /* what its process (a plain start) reads until it has exec'd */
	int spawning;          /* a spawner thread is starting its shell */
	int go_on_spawn;       /* ... and it runs once the shell is ready (else it is started ahead) */
	int parked;            /* its shell, started ahead, waits for go() */
	int adopted;           /* started by a runtime that died: not our child (its .exit says its end) */
	int killed;            /* kill() was asked: a SIGKILL went to its group */
	unsigned long long since; /* when its process started: with the pid, it names the process */
	int in_live;           /* listed in local.live */
	char *dir;             /* the attempt's directory */
} lx_task;

typedef struct lx_shell {      /* a standing shell (exec-local-shells.c) */
	pid_t pid;
	int sock;              /* our end of its socket (its fd 3) */
	int64_t task;          /* the task it runs, or -1 */
	int script;            /* the read end of that task's script pipe (it opens it through /proc) */
	int exited, code;      /* the task's shell said its exit status ("eN") */
	unsigned long long since; /* when it started (procid.c), read once: its tasks' processes are it */
	char buf[64];          /* what it said, to the end of a line */
	size_t blen;
	struct plain *p;
} lx_shell;

typedef struct local {
	pr_executor x;         /* first: the common head */
	pr_sandbox sb;         /* what the sandbox can do here */
	int jobs;
	char root[4096];       /* the absolute state directory (.pipec) */
	char work[4200];       /* ROOT/work */
	char tag[20];          /* a short hash of ROOT: the attempts' cgroups are TAG-RUN-TASK-ATTEMPT */
	long run;
	int exiting;           /* the process ends after the run */
	int swept;             /* the run's own leftover cgroups were removed (after the resume's adoptions) */
	lx_task *t;            /* by the engine's task index */
	uint32_t cap;
	int nadopted;          /* adopted attempts still running: poll() looks at them every 0.1 s */
	uint32_t *live, nlive, caplive; /* tasks with a process (running or parked): whom a reaped pid may be */
	int ep;                /* epoll: the signalfd and the standing shells' sockets */
	int sfd;               /* signalfd: SIGCHLD */
	sigset_t old_mask;     /* the loop thread's mask before the executor blocked SIGCHLD and SIGPIPE */
	lx_shell shells[64];
	int nshells;
	int pool;              /* tasks without the sandbox run in standing shells */
	/* the spawner threads (exec-local-spawn.c) */
	pthread_t sp_th[4], sp_loop;
	int sp_n, sp_stop;
	pthread_mutex_t sp_mu;
	pthread_cond_t sp_cv;
	struct spawn_job *sp_todo, *sp_done;
	struct lost {
		pid_t pid;
		int status;
	} lost[64];            /* children reaped before anyone knew them (a sandboxed task dead at once) */
	unsigned nlost;
} local;

/* exec-local.c */
lx_task *lx_task_of(local *L, uint32_t task);
/* The last line of a task's script: its command, run by eval. */
void lx_command_line(FILE *f, const char *cmd);
/* TASK has a process now: listed among those a reaped pid may be. */
void lx_live(local *L, uint32_t task);
/* Task TASK's shell PID (its end of the handshake GO) waits for its release: reported STARTED. */
void lx_started(local *L, uint32_t task, pid_t pid, int go, unsigned long long since);
/* Task TASK's attempt ended with wait STATUS: its resources go, ENDED is reported. */
void lx_ended(local *L, uint32_t task, int status);
/* Task TASK's attempt never ran (WHY): ENDED, NOT_STARTED. */
void lx_not_started(local *L, uint32_t task, const char *why);
/* Removes the cgroups of TASK's attempt ATTEMPT; 1 if its memory limit killed it, NOTE as pr_sandbox_reap(). */
int lx_reap_cgroups(local *L, uint32_t task, int attempt, char *note, size_t n);
void lx_cgroup_name(const local *L, uint32_t task, int attempt, char *out, size_t n);
/* What A's sandbox keeps into J; the kept paths' copies into KEPT (freed with the job). */
void lx_jail(local *L, const pr_attempt *a, pr_jail *j, char **kept);

/* exec-local-plain.c */
typedef struct plain {
	char *stack;
	char *argv[4];
	char **envp;
	char out[8300], err[8300];
	char *dir;             /* owned */
	int go;
	unsigned long none;    /* the empty signal mask, as the kernel takes it */
} plain;
/* The only PATH a task is given. */
extern const char lx_task_path[];
void lx_plain_free(plain *p);
plain *lx_plain_new(const char *out, const char *err, const char *dir, int go);
/* Clones P's child (a raw clone where the platform has it); its pid, or -1. */
pid_t lx_plain_clone(plain *p);
int lx_plain_can_clone(void);

/* exec-local-shells.c */
int lx_proc_fds_open(void);
pid_t lx_take_shell(local *L, uint32_t task, const char *dir, char *const *envp, const char *cmd, int *go,
		    unsigned long long *since);
void lx_shells_read(local *L);
int lx_shell_gone(local *L, pid_t pid, int status);
void lx_shells_stop(local *L);

/* exec-local-spawn.c */
/* Hands A's sandboxed start to a spawner thread; 0, or -1 (WHY) when none can be had. */
int lx_spawn(local *L, const pr_attempt *a, char **envp, char *script, int go[2], char *why, size_t n);
void lx_spawns_done(local *L);
void lx_spawners_stop(local *L);

#endif
