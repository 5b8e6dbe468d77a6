/*
 * runtime.h - what the runtime's modules share (not the driver).
 *
 *   store.c        the SQLite store (every SQL statement the engine runs);
 *                  store.h lists its other files: store-writer.c (group
 *                  commit), store-wal.c, store-lock.c
 *   store-query.c  what the reports read from the store
 *   text.c         values as JSON text and as shell words
 *   engine.h       the engine: state machine, scheduler, cache, finishing,
 *                  resume (engine-*.c; its own header lists them)
 *   exec.h         the executor interface; exec-local*.c the local executor
 *   resources-nodes.c  the nodes (this machine, or a resources file's)
 *   resources-gpu.c    GPU discovery (NVML, the CUDA driver)
 *   resources-place.c  placing a task on a node and its devices
 *   sandbox.c      the local sandbox: namespaces, mounts, the task's uid;
 *                  sandbox-cgroup.c its limits (sandbox.h)
 *   procid.c       knowing a process by its pid and its start time
 *   report.h       what the reports share: report-runs.c (runs, show),
 *                  report-why.c (why), report-lineage.c (lineage)
 *   cancel.c       pipec cancel: signal the runtime, or record the run cancelled
 */
#ifndef PIPEC_RUNTIME_INTERNAL_H
#define PIPEC_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include "pipec-runtime.h"

typedef struct json_t json_t;

/*
 * Makes room in the growable array *V (of elements of SIZE bytes, N used,
 * *CAP allocated) for one more: its capacity doubles, from FIRST, when it
 * is full.  Allocation failure aborts.  The runtime's lists of task
 * indexes (waits, users, dirty rows, the active and ended tasks, the
 * executor's events and live attempts) all grow this way.
 */
static inline void pr_room(void *v, uint32_t n, uint32_t *cap, size_t size, uint32_t first)
{
	if (n < *cap)
		return;
	uint32_t c = *cap ? 2 * *cap : first;
	void *p = realloc(*(void **)v, (size_t)c * size);
	if (!p)
		abort();
	*(void **)v = p;
	*cap = c;
}

typedef struct pr_store {
	sqlite3 *db;
	struct {               /* other prepared statements, by their SQL's address */
		const char *sql;
		sqlite3_stmt *q;
	} stmts[24];
	int nstmts;
	char dir[4096];        /* STATE/.pipec */
	char lock_path[4200];
	int locked;
	long stale_run;        /* the run a dead runtime's lock said it ran (taken over), or 0 */
	char stale_lock[128];  /* that lock's text, put back when the store is refused for it */
	int defer_rows;        /* events do not update the task's row: the writer does, once per commit */
	int in_tx;             /* a transaction is open (statements run at once) */
	struct pr_writer *w;   /* the writer thread, while a run's loop has one */
	char failed[512];      /* why the first commit that failed did, or "" */
	void (*durable)(void *ctx, const int *tokens, size_t n, int ok); /* pr_store_on_durable() */
	void *durable_ctx;
} pr_store;

double pr_now(void);
int pr_store_open(pr_store *st, const char *state_dir, char **err);
/* The pid of the live runtime that holds STATE_DIR's lock (store-lock.c): 0 when there is no lock, or
 * the process it names is gone (its pid reused: its start time is not the one the lock records). */
long pr_store_lock_owner(const char *state_dir);
/* procid.c: a process known by its pid and its start time (/proc/PID/stat field 22; 0: none, or PID <= 1). */
unsigned long long pr_proc_start(long pid);
/* 1 when PID (> 1) is alive and started at START (not 0); else 0. */
int pr_proc_is(long pid, unsigned long long start);
void pr_store_close(pr_store *st);
void pr_store_finalize(pr_store *st);
/*
 * Transactions (store-writer.c).  pr_store_begin() opens one where none is; pr_store_commit()
 * makes what was written since durable and then hands TOKENS (whatever the
 * caller needs back: the engine's are its executor's, see exec.h) to the
 * function pr_store_on_durable() set, with OK 1 once the commit's frames are
 * in the WAL (before its fsync: see store-wal.c), or OK 0 where it failed.
 * With pr_store_async(st, 1) a writer thread does the committing: writes
 * are kept in memory, pr_store_commit() hands them over and returns, and
 * the thread commits all it was handed since its last commit in one
 * transaction (group commit) before it lets the tasks go.  The loop's
 * reads (pr_store_cache_get) then use a read-only connection, and
 * pr_store_failed() says why a commit failed.  pr_store_async(st, 0) waits
 * for the last commit: -1 when one failed.
 */
void pr_store_begin(pr_store *st);
void pr_store_commit(pr_store *st, const int *tokens, size_t n);
void pr_store_on_durable(pr_store *st, void (*fn)(void *ctx, const int *tokens, size_t n, int ok), void *ctx);
int pr_store_async(pr_store *st, int on);
const char *pr_store_failed(pr_store *st);
/* How many statements the current batch holds (0 without a writer thread). */
size_t pr_store_pending(const pr_store *st);
/* KEY: the BLAKE2b of a plan's text (hex), which names it in the store. */
void pr_plan_key(const char *plan, size_t len, char key[65]);
long pr_store_new_run(pr_store *st, const char *plan_hash, const char *plan, size_t len, const char *key);
/*
 * A run of a plan that is the same as an earlier run's may repeat it rather
 * than load the plan (engine-cache.c, pe_try_replay()).  pr_store_replay_base(): the
 * run the latest run of plan KEY was or repeated, when that succeeded and
 * was recorded as one that can be repeated: its replay record (JSON, new
 * string) and *BASE; else NULL.  pr_store_replay_valid(): 0 when every
 * result BASE took from the cache or gave it is still the cache's and its
 * files are on disk.  pr_store_replay_run(): records a new run, succeeded,
 * that repeats BASE; its id, or -1.  pr_store_replayable(): keeps RUN's
 * replay record INFO.
 */
char *pr_store_replay_base(pr_store *st, const char *key, long *base);
int pr_store_replay_valid(pr_store *st, long base);
long pr_store_replay_run(pr_store *st, long base, double started);
int pr_store_replayable(pr_store *st, long run, const char *info);
/* Records a task's attempt starting: its process, directory, time, command and placement (or NULL). */
int pr_store_running(pr_store *st, long run, const char *task, int attempt, long pid, unsigned long long pid_start,
		     const char *dir, double started, const char *command, const char *placement);
/* Records a task's attempt ending: when, its exit status (-1: none) or the signal that killed it (0: none). */
int pr_store_finished(pr_store *st, long run, const char *task, int attempt, double finished, int exit_code, int signal);
/*
 * What a run-time for added to RUN's plan, in its own form (the plan kept is
 * never rewritten): KIND "task" (an instance; BODY its JSON), "group" (a
 * template's instances, BODY the array of their ids), "scatter" (an inner
 * for, BODY its {over, within}).  pr_store_apply_expansions(): adds RUN's,
 * in order, to PLAN (the plan as run-time fors left it, as resume and the
 * reports read it); 0 or -1.
 */
int pr_store_expansion(pr_store *st, long run, const char *kind, const char *id, const char *body);
int pr_store_has_expansions(sqlite3 *db, long run);
int pr_store_apply_expansions(sqlite3 *db, long run, json_t *plan);
/* Keeps the simulated nodes (JSON) a run is placed on. */
int pr_store_run_nodes(pr_store *st, long run, const char *nodes);
int pr_store_finish_run(pr_store *st, long run, const char *status);
int pr_store_event(pr_store *st, long run, const char *task, int attempt, const char *from, const char *to,
		   const char *detail);
/* Writes a task's row: its state and attempts, and (when not NULL) its resolved inputs, its cache
 * key and the key's parts.  With DEFER_ROWS, pr_store_event() leaves the row to this. */
int pr_store_row(pr_store *st, long run, const char *task, const char *state, int attempts, const char *inputs,
		 const char *key, const char *parts);
/* A task of RUN is created: its row (stage, pending) and its first event. */
int pr_store_new_task(pr_store *st, long run, const char *task, const char *stage);
int pr_store_artifact(pr_store *st, long run, const char *task, const char *output, const char *path,
		      const char *hash, const char *value);
/* A text column of a task's row (only "placement"), or NULL (new string). */
char *pr_store_get(pr_store *st, long run, const char *task, const char *column);
/* Records the newest checkpoint an attempt left. */
int pr_store_checkpoint(pr_store *st, long run, const char *task, int attempt, const char *path, double at);
/* The outputs JSON a cache key has, or NULL (new string). */
char *pr_store_cache_get(pr_store *st, const char *key);
int pr_store_cache_put(pr_store *st, const char *key, long run, const char *task, const char *parts,
		       const char *outputs);

/*
 * What the engine reads back (store.c).  pr_store_run_plan(): RUN's id, plan
 * and simulated nodes (RUN 0: the latest run still "running"); 0, or -1 when
 * there is none (*PLAN and *NODES new strings).  pr_store_replay_of(): the
 * replay record of the run RUN repeated, or NULL (new string).  The
 * pr_store_each_*() call FN for each event of RUN in order, each attempt
 * (in attempt order), each artifact, each task of BASE a repeat of it
 * takes from the cache; 0, or -1 when the store could not be read.
 * pr_store_reopen_run(): RUN is running again (a resume).
 */
int pr_store_run_plan(pr_store *st, long run, long *id, char **plan, size_t *len, char **nodes);
char *pr_store_replay_of(pr_store *st, long run);
int pr_store_each_event(pr_store *st, long run, void (*fn)(void *ctx, const char *task, int attempt, const char *to,
								   const char *detail), void *ctx);
int pr_store_each_attempt(pr_store *st, long run, void (*fn)(void *ctx, const char *task, int attempt, long pid,
								     unsigned long long pid_start, const char *dir,
								     const char *placement), void *ctx);
int pr_store_each_artifact(pr_store *st, long run, void (*fn)(void *ctx, const char *task, const char *output,
								      const char *path, const char *hash, const char *value), void *ctx);
int pr_store_each_replayed(pr_store *st, long base, void (*fn)(void *ctx, const char *task, const char *state), void *ctx);
int pr_store_reopen_run(pr_store *st, long run);
const char *pr_store_errmsg(pr_store *st);

/*
 * text.c: pr_json_text(): V as compact JSON with sorted keys (new string),
 * each Float the shortest text that reads back to the same double (0.1, not
 * jansson's 0.10000000000000001): results, artifact values, inputs, key
 * parts, reports.  pr_shell_quote(): the N bytes of S as one shell word
 * (as they are when they need no quotes, else in single quotes).
 */
char *pr_json_text(json_t *v);
/* ... with keys in their order (SORT 0) or sorted (1). */
char *pr_json_text_as(json_t *v, int sort);
void pr_shell_quote(FILE *f, const char *s, size_t n);

/* ---- resources-*.c: nodes (resources-nodes.c), GPUs (resources-gpu.c), placing a task
 * (resources-place.c) ---------------------------------------------------------------- */

typedef struct pr_gpu {
	char uuid[96];         /* CUDA_VISIBLE_DEVICES names it by this */
	char type[96];         /* "NVIDIA H100 80GB HBM3", or a resources file's type */
	double memory;         /* bytes */
	int index, minor;      /* the driver's index; /dev/nvidiaMINOR */
	uint64_t peers;        /* bit k: peer access (NVLink/P2P) to device k of the node */
	int held;              /* tasks holding it whole */
	double share, used_memory; /* reserved by running tasks */
} pr_gpu;

typedef struct pr_node {
	char name[128];
	double cpu, memory;    /* cores, bytes */
	double used_cpu, used_memory;
	pr_gpu *gpus;
	int ngpus;
} pr_node;

typedef struct pr_nodes {
	pr_node *v;
	int n;
	int simulated;         /* from a resources file */
	char no_gpu[200];      /* why there are no GPUs, when there are none */
} pr_nodes;

typedef struct pr_request {
	double cpu, memory, gpu, gpu_memory; /* 0: not asked */
	const char *gpu_type;  /* NULL: any */
} pr_request;

typedef struct pr_place {
	int32_t node;          /* index in pr_nodes */
	uint8_t ngpus, gpu[15]; /* device indexes in the node's list */
} pr_place;

/* ND's GPUs from NVML, else the CUDA driver (dlopen): 0 (ND->gpus, ND->ngpus; maybe none), or -1 with WHY. */
int pr_gpu_discover(pr_node *nd, char *why, size_t n);
/* Every device of ND reaches every other (peer access), until something says otherwise. */
void pr_gpu_all_peers(pr_node *nd);
/* This machine: cores, memory, and GPUs (pr_gpu_discover()). */
void pr_nodes_local(pr_nodes *ns);
/* Simulated nodes from JSON [{name, cpu, memory, gpus: [{type, memory}]}]: 0, or -1 with *ERR. */
int pr_nodes_from_json(pr_nodes *ns, const char *json, char **err);
void pr_nodes_free(pr_nodes *ns);
int pr_nodes_gpus(const pr_nodes *ns);
/* Where R fits now (0, into *P), or -1. */
int pr_place_now(const pr_nodes *ns, const pr_request *r, pr_place *p);
/* Reserves (SIGN 1) or gives back (-1) what R holds at P. */
void pr_take(pr_nodes *ns, const pr_request *r, const pr_place *p, int sign);
/* 1 with a reason in WHY (what is asked, and what is short) when no node can ever hold R; else 0. */
int pr_never_fits(const pr_nodes *ns, const pr_request *r, char *why, size_t n);
/* The placement as JSON (new string): node, cpu, memory, gpus [{index, uuid, share, memory}]. */
char *pr_place_json(const pr_nodes *ns, const pr_request *r, const pr_place *p);
int pr_place_parse(const pr_nodes *ns, const char *json, pr_place *p);
/* "1.5 GiB" */
void pr_bytes_text(double bytes, char *out, size_t n);

/* ---- sandbox.c: the local sandbox ---------------------------------------------- */

enum { PR_CG_MEMORY, PR_CG_PIDS, PR_CG_CPU, PR_CG_N };
enum { PR_JAIL_KEEP = 64, PR_JAIL_GPUS = 16 };
#define PR_TASK_UID 2147418112u /* 0x7fff0000: the unprivileged host uid a root runtime's tasks run as */
#define PR_DEFAULT_PIDS 4096   /* processes and threads an attempt may have, unless sandbox: { pids: N } */

typedef struct pr_sandbox {
	int on;                /* tasks run sandboxed */
	int flags;             /* the CLONE_NEW* namespaces the host gives */
	int rdonly;            /* the root can be made read-only, with a private /tmp and /dev */
	int own_proc;          /* a /proc of the task's pid namespace can be mounted */
	int cg_version[PR_CG_N]; /* per controller: 2, 1, or 0 (rlimits) */
	char cg_base[PR_CG_N][4096]; /* where the attempts' cgroups go */
	char uid_map[64], gid_map[64];
	unsigned task_uid;     /* the uid (and gid) tasks run as in the run's user namespace, PR_TASK_UID where
				* the runtime is root; 0: the runtime's own (an unprivileged runtime's tasks are it) */
	int user_fd, net_fd;   /* the run's user and network namespaces, shared by its tasks (or -1) */
	int ipc_fd, uts_fd;    /* its ipc and uts namespaces, shared the same way (or -1: each task its own) */
	int mnt_fd;            /* the run's mount template: a read-only root with its own /run and /dev, which
				* a task's mount namespace starts as a copy of (or -1: each task makes it) */
	char missing[2048];    /* what the host does not give, said once ("" when all is there) */
	int let_go[2];         /* a pipe to the thread that lets go of tasks' mount namespaces (-1: none yet) */
	pthread_t let_go_th;
} pr_sandbox;

/* One attempt to start in the sandbox. */
typedef struct pr_jail {
	const char *dir;       /* the attempt's directory: writable, the working directory */
	struct {
		const char *path;
		int dir, writable;
	} keep[PR_JAIL_KEEP];  /* paths that stay visible (parents before what is under them) */
	int nkeep;
	int network;           /* sandbox: { network: true } */
	double memory, cpu;    /* limits (0: none) */
	long pids;
	int gpu_minor[PR_JAIL_GPUS], ngpus; /* its devices' /dev/nvidiaN */
	int fd_out, fd_err, fd_go; /* stdout, stderr, and the start handshake (fd 3) */
	char *const *argv, *const *envp;
	const char *cgroup;    /* the attempt's cgroup name */
} pr_jail;

/* Finds what the host gives (ON: the sandbox is wanted); SB->missing says what it does not. */
void pr_sandbox_probe(pr_sandbox *sb, int on);
/* Lets go of the run's namespaces. */
void pr_sandbox_free(pr_sandbox *sb);
/* Whether PATH is under what the sandbox covers with a tmpfs of its own (/tmp, /run, /dev): the length of
 * that directory's prefix ("/tmp/"), or 0.  Such paths a task needs are kept visible explicitly. */
int pr_sandbox_covers(const char *path);
/* Whether a directory above PATH (absolute) may not be searched by others, as a task's unprivileged uid: the
 * length of the first such directory's path (the shallowest; DEEPEST: the deepest's), or 0 when none. */
size_t pr_sandbox_blocked(const char *path, size_t *deepest);
/* Starts /bin/sh with J's argv in the sandbox; its pid, or -1 with WHY. */
pid_t pr_sandbox_spawn(pr_sandbox *sb, const pr_jail *j, char *why, size_t n);
/* An fd holding the mount namespace of the task PID started in (-1: none); pr_sandbox_let_go() it when the task is gone. */
int pr_sandbox_hold(const pr_sandbox *sb, pid_t pid);
/* Lets go of a namespace pr_sandbox_hold() held, in a thread of its own. */
void pr_sandbox_let_go(pr_sandbox *sb, int fd);
/* A thread that started tasks ends: what it kept for that goes. */
void pr_sandbox_thread_end(void);
/* Lets go of everything pr_sandbox_probe() made, waiting for the namespaces let go of. */
void pr_sandbox_end(pr_sandbox *sb);
/* After the attempt ended: 1 if its memory limit killed it; NOTE says if the pids limit refused forks; its cgroups go. */
int pr_sandbox_reap(const pr_sandbox *sb, const char *cgroup, char *note, size_t n);
/* Removes each empty attempt cgroup whose name starts with PREFIX (a state directory's "TAG-") that CLAIMED
 * (given the name, without "pipec-") does not say is a live attempt's: what a runtime killed had made. */
void pr_sandbox_sweep(const pr_sandbox *sb, const char *prefix, int (*claimed)(const char *name, void *arg), void *arg);

/* ---- store-query.c: the store's read side, what the reports ask ----------------
 *
 * A read-only connection to STATE/.pipec/state.db, without the lock.  Each
 * function returns a new jansson reference (NULL where it says so) with the
 * keys listed; a SQL NULL is JSON null where a key says "or null", else the
 * column's zero ("", 0).  A question the store cannot answer (a table or
 * column an old store lacks) has the empty answer. */
typedef struct pr_query pr_query;

/* Opens the store in STATE_DIR for reading and checks it (pr_query_check()), or NULL with *ERR (a new
 * message): no store there, one that cannot be opened, or one that is damaged, each said as `pipec run`
 * says it. */
pr_query *pr_query_open(const char *state_dir, char **err);
/* 0 when the open store DB (at PATH) passes quick_check and has its tables (a file truncated to 0 bytes
 * is an empty database, not a store); else -1 with *ERR, "the store PATH is damaged (...)". */
int pr_query_check(sqlite3 *db, const char *path, char **err);
/* 1 with *ERR (a new message) when a question asked since pr_query_open() failed (a damaged page found
 * late, an I/O error): the answers may be partial and must not be shown; else 0. */
int pr_query_failed(pr_query *qy, char **err);
void pr_query_close(pr_query *qy);
/* Every run, by id: [{run, status, started, finished (or null), plan_hash, tasks, ok, failed}]. */
json_t *pr_query_runs(pr_query *qy);
/* The newest run's id, or 0. */
long pr_query_latest_run(pr_query *qy);
/* RUN's {status, started (or null), finished (or null)}, or NULL when there is no such run. */
json_t *pr_query_run(pr_query *qy, long run);
/* RUN's tasks in the plan's order: [{id, stage, state, attempts, exit_code (or null), started, finished,
 * detail (the last event's that says why, or null), placement (JSON text, or null)}]. */
json_t *pr_query_tasks(pr_query *qy, long run);
/* TASK's attempts in RUN: [{attempt, started, finished, exit_code, signal, placement, pid (each or null
 * but attempt and started)}]. */
json_t *pr_query_attempts(pr_query *qy, long run, const char *task);
/* TASK in RUN (0: the latest run that has it): {run, state, parts (its cache key's parts, JSON text),
 * key}, or NULL.  _before: the latest run before RUN where TASK had key parts, or NULL. */
json_t *pr_query_key_parts(pr_query *qy, const char *task, long run);
json_t *pr_query_key_parts_before(pr_query *qy, const char *task, long run);
/* The artifact at PATH (an absolute path), else one in the directory PATH, else the Dir or List[File]
 * artifact PATH is in (by its directory or the List's files), preferring the run that made it over one
 * that took it from the cache: {run, task, output, inside (PATH is in the artifact)}, or NULL. */
json_t *pr_query_lineage_of(pr_query *qy, const char *path);
/* The latest run that has TASK, or 0. */
long pr_query_task_run(pr_query *qy, const char *task);
/* RUN's plan (of the run it repeated, if it did; with what its run-time fors added), or NULL. */
json_t *pr_query_plan(pr_query *qy, long run);
/* TASK in RUN: {stage, state, command, inputs (JSON text)}, or NULL. */
json_t *pr_query_task(pr_query *qy, long run, const char *task);
/* For a TASK of RUN whose result came from the cache: the task that made it, {run, command}, or NULL. */
json_t *pr_query_made_by(pr_query *qy, long run, const char *task);
/* For pipec cancel, on the store it holds (pr_store_open()): the newest run still 'running', or 0; RUN's
 * status ("running", "succeeded", ...; a new string), or NULL when there is no such run; and each of RUN's
 * tasks, whatever its state, [{id, state, attempts, pid (0: none), pid_start (its start time, 0: not known)}] (which of them can be cancelled is the
 * state table's to say: state.h). */
long pr_query_live_run(pr_store *st);
char *pr_query_run_status(pr_store *st, long run);
json_t *pr_query_task_states(pr_store *st, long run);

#endif
