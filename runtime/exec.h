/*
 * exec.h - the executor interface: how the engine has attempts run.
 *
 * The engine (engine-*.c: the state machine, the scheduler, the cache, the
 * finishing protocol, resume) decides what runs, where and when; an
 * executor runs it.  Executors are siblings behind this table of
 * operations, in the spirit of ninja's CommandRunner: the local one
 * (exec-local*.c: the sandbox, standing shells, spawner threads, tasks
 * started ahead), a fake one that drives the engine in unit tests without
 * processes (tests/unit/fake-exec.c), and later Kubernetes and the
 * simulator.  The engine never calls waitpid(), reads a shell's socket or
 * names a cgroup; an executor never writes the store or changes a task's
 * state.
 *
 * The conversation, per attempt:
 *
 *   engine                          executor
 *   start(attempt) ───────────────▶ (now, or on a thread)
 *                  ◀─────────────── STARTED(handle)   the engine commits "running"
 *   token(task) at the commit ────▶ an int the store hands back once the
 *                                   commit is durable: release(tokens) lets
 *                                   the attempt's command go (it waits until then)
 *                  ◀─────────────── ENDED(how, code, note)
 *
 * An attempt may also be started ahead of its turn (attempt.ahead): the
 * executor makes it ready to go and reports PARKED (or UNPARKED: it could
 * not, start it the ordinary way later); go(task) then runs it when its
 * place comes free, and drop(task) lets go of it unrun (ENDED, NOT_STARTED).
 * On resume, adopt(task, handle) takes on an attempt a dead runtime started:
 * the executor reports its end (at once when it ended meanwhile, LOST when
 * it is gone without a trace).  kill(task) ends an attempt (a timeout, a
 * cancellation): its ENDED follows as for any end.
 *
 * Events are reported through exec->report(exec->engine, &event), which only
 * queues them: the engine acts on them when its loop drains the queue, so
 * no executor call ever re-enters a transition.  Events are reported from
 * start(), go(), drop(), adopt() and poll(), on the loop's thread only.
 *
 * Waiting: an executor on the real clock gives the loop a file descriptor
 * (fd(), e.g. an epoll of its own over a signalfd and sockets) that becomes
 * readable when poll() has something to report, and a time by which poll()
 * must be called anyway (wake(), 0: none).  An executor on a virtual clock
 * (the fake, the simulator) has no descriptor: the loop calls
 * advance(until) instead of sleeping, and the executor moves its clock to
 * the first of UNTIL and its own next event.
 */
#ifndef PIPEC_EXEC_H
#define PIPEC_EXEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* How an attempt ended. */
typedef enum {
	PR_END_EXITED,      /* its command exited: CODE is the status */
	PR_END_SIGNALED,    /* a signal killed it: CODE is the signal */
	PR_END_OOM,         /* its memory limit killed it */
	PR_END_LOST,        /* gone without an exit status (found so on resume) */
	PR_END_NOT_STARTED, /* it never ran: NOTE says why (an infrastructure error) */
	PR_END__COUNT
} pr_end_kind;

typedef enum {
	PR_EV_STARTED,      /* the attempt's process (HANDLE) waits for its release: it is running */
	PR_EV_PARKED,       /* started ahead: it waits for go() */
	PR_EV_UNPARKED,     /* starting it ahead failed: start it the ordinary way when its turn comes */
	PR_EV_ENDED,        /* the attempt ended (KIND, CODE, NOTE) */
} pr_event_kind;

typedef struct pr_exec_event {
	pr_event_kind ev;
	uint32_t task;         /* the engine's index of the task */
	int attempt;
	long handle;           /* STARTED: the pid (local), or another executor's handle number */
	unsigned long long since; /* STARTED: when the handle's process started (local: /proc ticks), which with the
				   * pid names it (a pid is reused); the store keeps it, adopt() is given it back */
	pr_end_kind kind;      /* ENDED */
	int code;              /* ENDED: exit status or signal number */
	char note[512];        /* ENDED: more to say ("" none): the pids limit refused forks; why it did not start */
} pr_exec_event;

/* One attempt to start: what the engine decided, for the executor to carry out. */
typedef struct pr_attempt {
	uint32_t task;
	int attempt;           /* 1, 2, ... */
	const char *id;        /* the task's id, for messages */
	const char *dir;       /* the attempt's directory (made already): its working directory, writable */
	const char *command;   /* the command, rendered */
	char *const *envp;     /* its whole environment, NULL-terminated (copied by start()) */
	json_t *inputs;        /* its resolved inputs: the absolute paths in them stay visible (borrowed) */
	const char *work;      /* the state directory's work tree (read-only to the task) */
	const char *cpdir;     /* its checkpoint directory, writable, or "" */
	int network;           /* sandbox: { network: true } */
	long pids;             /* processes and threads it may have */
	double memory, cpu;    /* limits (0: none) */
	int gpu_minor[16], ngpus; /* its devices' /dev/nvidiaN */
	int ahead;             /* start it ahead of its turn (PARKED), not running yet */
} pr_attempt;

typedef struct pr_executor pr_executor;

typedef struct pr_exec_ops {
	const char *name;
	/* Starts A (events follow); 0, or -1 when it cannot even be tried (WHY, N). */
	int (*start)(pr_executor *x, const pr_attempt *a, char *why, size_t n);
	/* Parked (or being started ahead) TASK has its place: it runs (STARTED follows). */
	void (*go)(pr_executor *x, uint32_t task);
	/* Parked (or being started ahead) TASK is not to run: ENDED (NOT_STARTED) follows. */
	void (*drop)(pr_executor *x, uint32_t task);
	/* The token the store hands back to release() once TASK's "running" is durable; -1: none needed. */
	int (*token)(pr_executor *x, uint32_t task);
	/*
	 * The commit that held the tokens is durable (OK 1) or failed (OK 0:
	 * those attempts never run); may be called on the store's writer thread,
	 * so it touches nothing but the tokens.
	 */
	void (*release)(pr_executor *x, const int *tokens, size_t n, int ok);
	/* Takes on TASK's attempt ATTEMPT, started by a runtime that died (HANDLE started at SINCE, in DIR). */
	void (*adopt)(pr_executor *x, uint32_t task, int attempt, long handle, unsigned long long since, const char *dir);
	/* Ends TASK's attempt (its whole process group); its ENDED follows. */
	void (*kill)(pr_executor *x, uint32_t task);
	/* Reports what happened since the last call. */
	void (*poll)(pr_executor *x);
	/* A descriptor readable when poll() has something, or -1 (a virtual clock). */
	int (*fd)(pr_executor *x);
	/* The latest time poll() must be called by (0: none). */
	double (*wake)(pr_executor *x);
	/* A virtual clock: moves to the first of UNTIL and its next event, reporting what happens. */
	void (*advance)(pr_executor *x, double until);
	/* The clock, in seconds: real time, or virtual. */
	double (*now)(pr_executor *x);
	/* The run is over: lets go of everything (processes of attempts still running are killed). */
	void (*close)(pr_executor *x);
} pr_exec_ops;

/* The common head of every executor; each executor's struct begins with it. */
struct pr_executor {
	const pr_exec_ops *ops;
	int ahead;             /* how many ready attempts are worth starting ahead of their turn (0: none) */
	void (*report)(void *engine, const pr_exec_event *ev); /* set by the engine */
	void *engine;
};

/* Reports EV to X's engine (a helper for executors). */
static inline void pr_exec_report(pr_executor *x, const pr_exec_event *ev)
{
	x->report(x->engine, ev);
}

#endif
