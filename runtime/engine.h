/*
 * engine.h - what the engine's files share: the task, the runner, and the
 * functions each file gives the others.
 *
 *   engine-state.c   the states, the one table of legal transitions, the
 *                    one function that applies them, the queue of ended tasks
 *   engine-plan.c    the plan validated, then read into tasks and their waits
 *   engine-values.c  run-time expressions: values of outputs, operators, built-ins
 *   engine-ready.c   readiness: a task whose waits have ended is skipped,
 *                    failed by a check, or ready (its inputs resolved)
 *   engine-cache.c   cache keys, cache hits, runs that repeat an earlier run
 *   engine-sched.c   the ready heap, the critical path, places on nodes
 *   engine-start.c   an attempt: its directory, command, environment, handed
 *                    to the executor
 *   engine-finish.c  the finishing protocol: how an attempt ended, outputs
 *                    checked and hashed, succeeded / retried / failed
 *   engine-outputs.c reading what a task left behind as hostile input:
 *                    beneath its directory, never through a link, trees
 *                    hashed without recursion
 *   engine-expand.c  run-time `for`: instances made as their lists arrive
 *   engine-view.c    the progress lines and the live view
 *   engine-loop.c    the loop: drain the executor's events and the ended
 *                    queue, start what can start, commit, wait
 *   engine-run.c     pr_run() and pr_resume(): setup, resume, the outcome
 *
 * Executors are reached only through exec.h.
 */
#ifndef PIPEC_ENGINE_H
#define PIPEC_ENGINE_H

#include "exec.h"
#include "plan.h"
#include "runtime.h"
#include "state.h"

#include <jansson.h>
#include <stdio.h>


typedef struct rtask {
	json_t *j;             /* the plan's task (borrowed from the plan): for what rewrites it, never read by key */
	const char *id, *stage;
	pr_plan_task plan;     /* the rest of what the plan says of it, typed (plan.h) */
	uint32_t *waits;       /* everything it waits for (deps, after, fallback_of, group) */
	uint32_t nwaits, capwaits;
	uint32_t marked_by;    /* 1 + the last task add_wait() made wait for it */
	uint32_t *users;       /* the tasks that wait for it */
	uint32_t nusers, capusers;
	uint32_t pending;      /* of WAITS, how many have not ended */
	tstate st;
	int attempt, attempts; /* attempts: 1 + retries */
	int oom_pauses;        /* times it was paused out of memory with a checkpoint */
	int not_started;       /* attempts that never ran, tried again without spending a retry */
	int64_t backoff_ns, timeout_ns;
	long handle;           /* the executor's handle of the running attempt (a pid), 0: none */
	unsigned long long since; /* ... and when its process started (with the pid, it names the process) */
	char *cmd;             /* its command, rendered, until its "running" is recorded */
	int64_t priority;      /* from the plan */
	uint32_t remaining;    /* tasks on the longest path from it to the end of the DAG */
	pr_request req;        /* what it asks for (resources; 0 when not said) */
	pr_place place;        /* where it runs, while it runs */
	uint8_t dirty, ready_row; /* its row is to be written at the commit; with its inputs and key */
	/* flags, a byte each (10k tasks: every byte of this struct is 10 KB) */
	uint8_t timed_out;     /* its attempt ran past its timeout */
	uint8_t killed;        /* the executor was asked to end its attempt */
	uint8_t token_sent;    /* its "running" was handed to the store with its executor's token */
	uint8_t spawning;      /* the executor is starting it (still ready, or running once started) */
	uint8_t go_on_spawn;   /* ... and it has its place: it runs once the executor has started it */
	uint8_t parked;        /* started ahead: it waits for its place */
	uint8_t no_park;       /* starting it ahead failed once: it starts the ordinary way */
	uint8_t holds;         /* it holds its place (pe_occupy()) */
	uint8_t in_active;     /* listed in runner.active */
	uint8_t in_ended;      /* on the ended queue */
	uint8_t group;         /* a template inside a run-time for: it runs as its instances */
	uint8_t cache_checked; /* ready: the cache was looked at already */
	double started, deadline, not_before;
	double checkpoint_before; /* the time of its newest checkpoint when the attempt started (-1: none) */
	char *dir;             /* the current attempt's directory (no_dir before it has one) */
	json_t *inputs;        /* name -> resolved value */
	json_t *outputs;       /* name -> {path, hash, value} */
	char key[65];          /* cache key (hex), or "" */
	char *cpkey;           /* the key its checkpoints are kept by when it is not cached (else KEY), or NULL */
	char *parts;           /* the key's parts (JSON) */
} rtask;

typedef struct runner {
	pr_store store;
	long run;
	json_t *plan;
	json_t *tasks;         /* the plan's "tasks" (borrowed from PLAN) */
	json_t *scatters;      /* the plan's "scatters": run-time for id -> {over, within}, or NULL */
	json_t *result;        /* the plan's "result": the pipeline's value (an expression) */
	const char *hash;      /* the plan's "hash", or NULL */
	pr_plan_output *outdecl; /* the tasks' outputs (pr_plan_task.outs), shared by tasks of one stage */
	uint32_t noutdecl, capoutdecl;
	json_t *index;         /* task id -> index */
	rtask *t;
	uint32_t n, cap;
	json_t *expand;        /* run-time fors whose lists are known: expanded at the top of the loop */
	uint32_t *dirty, ndirty, capdirty; /* tasks whose rows the next commit writes */
	uint32_t *ended, nended, capended; /* tasks that ended: their users are looked at by the loop */
	pr_exec_event *events; /* what the executor reported, for the loop to act on */
	uint32_t nevents, capevents;
	int jobs, running;
	pr_nodes nodes;        /* this machine, or the resources file's nodes */
	pr_executor *ex;       /* who runs the attempts */
	int own_ex;            /* ... made here (the local one), closed here */
	int no_sandbox;        /* --no-sandbox */
	FILE *log;
	int live;              /* the live view (pr_options.live) */
	int drawn;             /* lines of the view now on the terminal */
	double drawn_at;       /* when it was drawn */
	double began;          /* when the run (or resume) began */
	int store_failed;      /* the writer thread could not commit: the run stopped */
	int exiting;           /* the process ends after the run: free_runner() frees nothing */
	int cancelled;
	int resumed;           /* pr_resume(): the run began before */
	int sandboxed;         /* attempts run in the sandbox (the executor says where started-ahead pays) */
	char eval_why[400];    /* why pe_eval() set PE_EVAL_FAILED last */
	json_t *sources;       /* path -> content hash ("": none) of each file outside the store a key hashed */
	uint32_t *heap, nheap;  /* ready tasks: highest priority, then plan order, first */
	uint32_t *active, nactive, capactive; /* running and retrying tasks (a few) */
	int nparked;           /* tasks started ahead, being started or waiting */
	char root[4096];       /* absolute STATE/.pipec */
	char tag[20];          /* a short hash of ROOT (the executor names what it makes after it) */
} runner;

extern char pe_no_dir[];

/* The end of the detail of a "retrying" event that spends no retry (a lost attempt, one that never
 * started): a resumed run folds its events back into the task's limit of attempts. */
#define PE_NOT_COUNTED " (not counted as a retry)"
#define PE_DID_NOT_START "it did not start, and is tried again"


/* engine-state.c (and state.h) */
/* Moves task I to TO (a legal change, else abort) with the event's DETAIL; a task that ends joins the ended queue. */
void pe_transition(runner *R, uint32_t i, tstate to, const char *detail);
/* The ended queue: each task that ended has its users looked at, in order, without recursion. */
void pe_drain_ended(runner *R);

/* engine-loop.c */
/* The clock: the executor's (real time, or virtual). */
double pe_now(runner *R);
void pe_begin(runner *R);
void pe_dirty(runner *R, uint32_t i, int ready);
void pe_commit(runner *R);
void pe_activate(runner *R, uint32_t i);
void pe_drive(runner *R);
void pe_cancel_all(runner *R);
/* The executor's report callback: queues EV (pr_executor.report). */
void pe_report(void *engine, const pr_exec_event *ev);

/* engine-plan.c */
int pe_load(runner *R, const char *text, size_t len, char **err);
/* Lets go of what pe_load() (and the run since) made: the plan, the tasks and what each holds. */
void pe_unload(runner *R);
int pe_init_task(runner *R, uint32_t i, char **err);
int pe_link_task(runner *R, uint32_t i, char **err);
/* Makes task I wait for task D; 1, or 0 when it did already. */
int pe_add_wait(runner *R, uint32_t i, uint32_t d);
void pe_set_dir(rtask *t, const char *dir);

/* engine-values.c */
/* What pe_eval() sets in *MISSING (bits): a task it needs did not succeed; an operation failed (R->eval_why). */
enum { PE_MISSING = 1, PE_EVAL_FAILED = 2 };
json_t *pe_eval(runner *R, json_t *e, int for_key, int *missing);
void pe_text_of(json_t *v, char **out, size_t *len);


/* engine-ready.c */
void pe_consider(runner *R, uint32_t i);
/* Resolves task I's inputs into t->inputs; 0, or -1 when one did not succeed. */
int pe_inputs(runner *R, uint32_t i);

/* engine-cache.c */
/*
 * Task I's cache key (and its checkpoints' key), its inputs resolved: 0; or
 * PE_HASH_REFUSED (a File or Dir input that is not a regular file or a
 * directory, or too large a tree) or PE_HASH_CANCELLED, with the reason in
 * WHY (WN bytes; WHY may be NULL: the key is made all the same).
 */
int pe_cache_key(runner *R, uint32_t i, char *why, size_t wn);
int pe_try_cache(runner *R, uint32_t i);
int pe_try_replay(runner *R, const char *key, pr_summary *sum);
void pe_keep_replay(runner *R, const pr_summary *sum);
void pe_replay_summary(json_t *info, pr_summary *sum);

/* engine-sched.c */
int pe_placed(const runner *R, uint32_t i);
void pe_heap_push(runner *R, uint32_t i);
uint32_t pe_heap_pop(runner *R);
void pe_occupy(runner *R, uint32_t i);
void pe_vacate(runner *R, uint32_t i);
int pe_never_fits(runner *R, uint32_t i, char *why, size_t n);
void pe_place_text(runner *R, uint32_t i, char *out, size_t n);
void pe_critical_paths(runner *R);

/* engine-start.c */
/* Starts task I (AHEAD: ahead of its turn); 0, or -1 when it ended at once (an error). */
int pe_start(runner *R, uint32_t i, int ahead);
int pe_mkdirs(const char *path);
void pe_checkpoint_dir(const runner *R, uint32_t i, char *out, size_t n);
const char *pe_where(const rtask *t, char *buf, size_t n);

/* engine-finish.c */
/* Acts on EV, an ENDED event of task I's current attempt. */
void pe_finish(runner *R, uint32_t i, const pr_exec_event *ev);
/* What pe_hash_path() and the reading of outputs answer besides 0. */
enum { PE_HASH_ABSENT = -1, PE_HASH_REFUSED = -2, PE_HASH_CANCELLED = -3 };
/*
 * The content hash (BLAKE2b, hex) of PATH, a regular file or a directory
 * (PATH itself may be a link; nothing inside a directory is followed, a
 * link in it hashed as its target's text): 0; PE_HASH_ABSENT when nothing
 * is there, PE_HASH_REFUSED (a FIFO, a device, a socket, a tree too deep or
 * too large, unreadable), PE_HASH_CANCELLED (a SIGINT or SIGTERM came for
 * the loop meanwhile), each with its reason in WHY (WN bytes; WHY may be NULL).
 */
int pe_hash_path(const char *path, char out[65], char *why, size_t wn);
void pe_hex_of(const unsigned char *h, char *out);
double pe_note_checkpoint(runner *R, uint32_t i);
double pe_newest_checkpoint(runner *R, uint32_t i, char *best, size_t bn);

/* engine-outputs.c: reading what a task left, beneath its attempt's directory, never through a link */
/* Opens NAME under DIRFD (O_PATH or O_RDONLY FLAGS) without leaving it or following a link; an fd, or -1 with errno. */
int pe_open_beneath(int dirfd, const char *name, int flags);
/* Up to 64 KiB of FD (consumed), NUL-terminated: a new string. */
char *pe_read_small(int fd);
/* Checks output NAME (base type BASE) of the attempt directory DIR (DIRFD): *VAL, HASH; 0, or PE_HASH_* with WHY. */
int pe_check_output(int dirfd, const char *dir, const char *name, const char *base, json_t **val, char hash[65],
		    char *why, size_t wn);

/* engine-expand.c */
void pe_expand(runner *R, const char *sid);
json_t *pe_scatter_list(runner *R, const char *sid, int *missing);
json_t *pe_for_element(runner *R, json_t *e, const char *sid, size_t k, json_t *elem);
char *pe_inner_for(runner *R, const char *x, const char *sid, size_t k, json_t *elem);

/* engine-view.c */
void pe_view_erase(runner *R);
void pe_view_draw(runner *R);

/* engine-run.c: runs PLAN with executor X (NULL: the local one); as pr_run(). */
int pe_run_with(const char *plan, size_t len, const pr_options *opt, pr_executor *x, pr_summary *sum, char **err);
int pe_resume_with(long run, const pr_options *opt, pr_executor *x, pr_summary *sum, char **err);

/* exec-local.c: the local executor for a run's state directory ROOT (absolute), its TAG, run RUN. */
/* EXITING: the process ends after the run (the namespaces are not waited for). */
pr_executor *pr_local_new(int sandbox, int jobs, const char *root, const char *tag, long run, int exiting, char *missing,
			  size_t mn);

#endif
