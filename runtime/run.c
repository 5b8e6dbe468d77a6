/*
 * run.c - running a plan: the state machine, the scheduler, local execution.
 *
 * Each task has a state; every change is an event appended to the store
 * (store.c), and the legal changes are this table, applied by transition():
 *
 *   pending  -> ready | skipped | failed (a run-time check) | error | cancelled
 *               | succeeded (a task inside a run-time for, when all its instances did)
 *   ready    -> running | cached | error | cancelled
 *   running  -> succeeded | failed | error | retrying | cancelled | paused
 *   retrying -> ready | cancelled
 *   paused   -> ready | cancelled (out of memory after writing a checkpoint:
 *               it goes again from the checkpoint, not counted as a retry)
 *
 * A pending task is looked at once everything it waits for (data deps,
 * `after`, `fallback_of`) has ended: its inputs are resolved (a reference
 * to a task that did not succeed makes it skipped; `first_of` takes the
 * first that did), its `when` conditions and run-time `checks` evaluated,
 * and it becomes ready.  A ready task whose cache key is in the cache (and
 * whose artifacts still exist) is cached; otherwise it is started, up to
 * --jobs at once, highest priority first.
 *
 * Starting a task: a fresh attempt directory .pipec/work/RUN/TASK/ATTEMPT,
 * the command rendered (outputs are paths in that directory), a clean
 * environment (PATH, HOME and TMPDIR inside the attempt, PIPEC_RUN_ID,
 * PIPEC_TASK, PIPEC_ATTEMPT, PIPEC_CHECKPOINT_DIR, and the stage's env),
 * `/bin/sh -c` in a new session, stdout and stderr kept in the directory.
 *
 * Finishing: exit 0 is not enough; every declared output must exist and
 * parse as its type.  Then the outputs are content-hashed (BLAKE2b) and the
 * artifacts, the cache entry and `succeeded` are committed together.  A
 * failure with attempts left waits its backoff in `retrying`.
 *
 * The loop blocks in sigtimedwait for SIGCHLD (and SIGINT/SIGTERM, which
 * cancel the run: every task's process group is killed), waking for the
 * nearest timeout or backoff.  The transitions of one iteration are
 * committed in one transaction.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef enum {
	S_PENDING, S_READY, S_RUNNING, S_SUCCEEDED, S_FAILED, S_ERROR, S_CACHED, S_RETRYING, S_SKIPPED,
	S_CANCELLED, S_PAUSED, S__COUNT
} tstate;

static const char *const names[S__COUNT] = {
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

static int terminal(tstate s)
{
	return s == S_SUCCEEDED || s == S_FAILED || s == S_ERROR || s == S_CACHED || s == S_SKIPPED || s == S_CANCELLED;
}

static int ok_state(tstate s)
{
	return s == S_SUCCEEDED || s == S_CACHED;
}

typedef struct rtask {
	json_t *j;             /* the plan's task (borrowed from the plan) */
	const char *id, *stage;
	uint32_t *waits;       /* everything it waits for (deps, after, fallback_of, group) */
	uint32_t nwaits, capwaits;
	uint32_t marked_by;    /* 1 + the last task add_wait() made wait for it */
	uint32_t *users;       /* the tasks that wait for it */
	uint32_t nusers, capusers;
	uint32_t pending;      /* of WAITS, how many have not ended */
	tstate st;
	int attempt, attempts; /* attempts: 1 + retries */
	int64_t backoff_ns, timeout_ns;
	pid_t pid;
	int timed_out;
	int adopted;           /* running under a runtime that died: not our child */
	int go_fd;             /* the runtime's end of the task's handshake socket (fd 3 there), or -1 */
	int go_sent;           /* its go-ahead was handed to the store, to follow the commit */
	int mnt_fd;            /* holds its mount namespace while it runs (pr_sandbox_hold()), or -1 */
	int spawning;          /* a spawner thread is starting its shell (still ready) */
	int go_on_spawn;       /* ... and it has its place: it runs once the shell is ready */
	int parked;            /* its sandboxed shell, started ahead, waits for a place (park_ahead()) */
	int no_park;           /* starting it ahead failed once: it starts the ordinary way */
	pid_t park_pid;        /* the parked shell, its end of the handshake, and its command */
	int park_go;
	char *park_cmd;
	struct plain *plain;   /* what its process (started without the sandbox) reads until it has exec'd */
	int64_t priority;      /* from the plan */
	uint32_t remaining;    /* tasks on the longest path from it to the end of the DAG */
	pr_request req;        /* what it asks for (resources; 0 when not said) */
	pr_place place;        /* where it runs, while it runs */
	int in_active;         /* listed in runner.active */
	uint8_t dirty, ready_row; /* its row is to be written at the commit; with its inputs and key */
	int group;             /* a template inside a run-time for: it runs as its instances */
	int cache_checked;     /* ready: the cache was looked at already */
	double started, deadline, not_before;
	double checkpoint_before; /* the time of its newest checkpoint when the attempt started (-1: none) */
	char *dir;             /* the current attempt's directory (no_dir before it has one) */
	json_t *inputs;        /* name -> resolved value */
	json_t *outputs;       /* name -> {path, hash, value} */
	char key[80];          /* cache key, or "" */
	char *parts;           /* the key's parts (JSON) */
} rtask;

typedef struct runner {
	pr_store store;
	long run;
	json_t *plan;
	json_t *index;         /* task id -> index */
	rtask *t;
	uint32_t n, cap;
	json_t *expand;        /* run-time fors whose lists are known: expanded at the top of the loop */
	uint32_t *dirty, ndirty, capdirty; /* tasks whose rows the next commit writes */
	int jobs, running;
	pr_nodes nodes;        /* this machine, or the resources file's nodes */
	pr_sandbox sb;         /* what the sandbox can do here */
	char tag[20];          /* a short hash of ROOT: the attempts' cgroups are TAG-RUN-TASK-ATTEMPT */
	FILE *log;
	int live;              /* the live view (pr_options.live) */
	int drawn;             /* lines of the view now on the terminal */
	double drawn_at;       /* when it was drawn */
	double began;          /* when the run (or resume) began */
	int store_failed;      /* the writer thread could not commit: the run stopped */
	int exiting;           /* the process ends after the run: free_runner() frees nothing */
	int cancelled;
	int resumed;           /* pr_resume(): the run began before */
	struct shell {         /* standing shells for tasks without the sandbox (spawn_shell()) */
		pid_t pid;
		int sock;          /* our end of its socket (its fd 3) */
		int64_t task;      /* the task it runs, or -1 */
		int script;        /* the read end of that task's script pipe (it opens it through /proc) */
		int exited, code;  /* the task's shell said its exit status ("eN") */
		char buf[64];      /* what it said, to the end of a line */
		size_t blen;
		struct plain *p;
	} shells[64];
	int nshells;
	int pool;              /* tasks without the sandbox run in standing shells */
	json_t *sources;       /* path -> content hash ("": none) of each file outside the store a key hashed */
	uint32_t *heap, nheap;  /* ready tasks: highest priority, then plan order, first */
	uint32_t *active, nactive, capactive; /* running and retrying tasks (a few) */
	char root[4096];       /* absolute STATE/.pipec */
	/* the spawner threads (spawn_async()) */
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
	int nparked;           /* tasks started ahead (park_ahead()), being started or waiting */
} runner;

static json_t *eval(runner *R, json_t *e, int for_key, int *missing);
static void make_run_dir(runner *R);
static void plain_free(struct plain *p);
static json_t *scatter_list(runner *R, const char *sid, int *missing);
static json_t *for_element(runner *R, json_t *e, const char *sid, size_t k, json_t *elem);
static char *inner_for(runner *R, const char *x, const char *sid, size_t k, json_t *elem);

static char no_dir[] = "";

/* Sets task T's attempt directory to DIR (a copy; the old one is freed). */
static void set_dir(rtask *t, const char *dir)
{
	if (t->dir != no_dir)
		free(t->dir);
	t->dir = strdup(dir);
	if (!t->dir)
		abort();
}

/* ---- transitions ---------------------------------------------------------- */

static void begin(runner *R)
{
	pr_store_begin(&R->store);
}

/* A task's row changed: it is written once, before the commit. */
static void dirty(runner *R, uint32_t i, int ready)
{
	rtask *t = &R->t[i];
	t->ready_row |= ready;
	if (t->dirty)
		return;
	t->dirty = 1;
	if (R->ndirty == R->capdirty) {
		R->capdirty = R->capdirty ? 2 * R->capdirty : 256;
		R->dirty = realloc(R->dirty, R->capdirty * sizeof *R->dirty);
	}
	R->dirty[R->ndirty++] = i;
}

/*
 * The end of a batch: the changed task rows are written, and the batch is
 * committed (by the writer thread while the loop runs); the tasks started
 * in it get their go-ahead once it is durable.
 */
static void commit(runner *R)
{
	for (uint32_t k = 0; k < R->ndirty; k++) {
		rtask *t = &R->t[R->dirty[k]];
		char *ins = t->ready_row ? json_dumps(t->inputs, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		pr_store_row(&R->store, R->run, t->id, names[t->st], t->attempt, ins, t->ready_row ? t->key : NULL,
			     t->ready_row ? t->parts : NULL);
		free(ins);
		t->dirty = t->ready_row = 0;
		if (terminal(t->st)) { /* its key's parts are in the store now, and it will not run again */
			free(t->parts);
			t->parts = NULL;
		}
	}
	R->ndirty = 0;
	int go[64];
	size_t ngo = 0;
	for (uint32_t j = 0; j < R->nactive; j++) { /* a started task is running, so listed there */
		rtask *t = &R->t[R->active[j]];
		if (t->go_fd >= 0 && !t->go_sent) {
			if (ngo == sizeof go / sizeof go[0]) {
				pr_store_commit(&R->store, go, ngo);
				ngo = 0;
			}
			/* the store writes the go-ahead to a copy and closes it; this end stays open while the task runs */
			int d = fcntl(t->go_fd, F_DUPFD_CLOEXEC, 3);
			if (d >= 0)
				go[ngo++] = d;
			t->go_sent = 1;
		}
	}
	pr_store_commit(&R->store, go, ngo);
}

static void notify(runner *R, uint32_t i);
static void place_text(runner *R, uint32_t i, char *out, size_t n);

/* Whether where task I runs was a choice worth saying: GPUs, or more nodes than this machine. */
static int placed(const runner *R, uint32_t i)
{
	return R->t[i].req.gpu > 0 || R->nodes.n > 1 || R->nodes.simulated;
}
static double newest_checkpoint(runner *R, uint32_t i, char *best, size_t bn);

static int before(const runner *R, uint32_t a, uint32_t b)
{
	if (R->t[a].priority != R->t[b].priority)
		return R->t[a].priority > R->t[b].priority;
	if (R->t[a].remaining != R->t[b].remaining)
		return R->t[a].remaining > R->t[b].remaining;
	return a < b;
}

static void heap_push(runner *R, uint32_t i)
{
	uint32_t k = R->nheap++;
	R->heap[k] = i;
	while (k && before(R, R->heap[k], R->heap[(k - 1) / 2])) {
		uint32_t p = (k - 1) / 2, x = R->heap[k];
		R->heap[k] = R->heap[p];
		R->heap[p] = x;
		k = p;
	}
}

static uint32_t heap_pop(runner *R)
{
	uint32_t top = R->heap[0];
	R->heap[0] = R->heap[--R->nheap];
	for (uint32_t k = 0;;) {
		uint32_t l = 2 * k + 1, r = l + 1, m = k;
		if (l < R->nheap && before(R, R->heap[l], R->heap[m]))
			m = l;
		if (r < R->nheap && before(R, R->heap[r], R->heap[m]))
			m = r;
		if (m == k)
			break;
		uint32_t x = R->heap[k];
		R->heap[k] = R->heap[m];
		R->heap[m] = x;
		k = m;
	}
	return top;
}

/* Lists task I among the running and retrying ones (drive() drops it when it leaves them). */
static void activate(runner *R, uint32_t i)
{
	if (R->nactive == R->capactive) {
		R->capactive = R->capactive ? 2 * R->capactive : 64;
		R->active = realloc(R->active, R->capactive * sizeof *R->active);
	}
	R->active[R->nactive++] = i;
	R->t[i].in_active = 1;
}

/* ---- the live view ------------------------------------------------------------ */

/* Takes the view off the terminal (a line is about to be printed, or the run ended). */
static void view_erase(runner *R)
{
	if (R->live && R->drawn) {
		fprintf(R->log, "\033[%dA\033[J", R->drawn);
		R->drawn = 0;
	}
}

/*
 * Redraws the view: a bar of the tasks that ended, the count in each state,
 * and the running tasks with how long each has run (the longest first, at
 * most eight).  At most ten times a second.
 */
static void view_draw(runner *R)
{
	double now = pr_now();
	if (!R->live || now - R->drawn_at < 0.1)
		return;
	int count[S__COUNT] = {0};
	for (uint32_t i = 0; i < R->n; i++)
		count[R->t[i].st]++;
	int ended = 0;
	for (int s = 0; s < S__COUNT; s++)
		if (terminal((tstate)s))
			ended += count[s];
	enum { WIDTH = 30, SHOWN = 8 };
	int fill = R->n ? (int)((long)ended * WIDTH / R->n) : WIDTH;
	char bar[WIDTH + 1];
	for (int k = 0; k < WIDTH; k++)
		bar[k] = k < fill ? '#' : '.';
	bar[WIDTH] = 0;
	view_erase(R);
	int lines = 0;
	fprintf(R->log, "[%s] %d/%u  %.1fs\033[K\n", bar, ended, R->n, now - R->began);
	lines++;
	int col = 0;
	for (int s = 0; s < S__COUNT; s++)
		if (count[s] || s == S_RUNNING || s == S_SUCCEEDED || s == S_FAILED)
			col += fprintf(R->log, "%s%s %d", col ? "  " : "", names[s], count[s]);
	fprintf(R->log, "\033[K\n");
	lines++;
	/* the running tasks, longest-running first */
	uint32_t pick[SHOWN];
	int npick = 0;
	for (uint32_t j = 0; j < R->nactive; j++) {
		uint32_t i = R->active[j];
		if (R->t[i].st != S_RUNNING)
			continue;
		if (npick == SHOWN && R->t[i].started >= R->t[pick[SHOWN - 1]].started)
			continue; /* not among the eight longest so far */
		int k = npick < SHOWN ? npick++ : SHOWN - 1;
		while (k > 0 && R->t[pick[k - 1]].started > R->t[i].started) {
			pick[k] = pick[k - 1];
			k--;
		}
		pick[k] = i;
	}
	for (int k = 0; k < npick; k++) {
		double e = now - R->t[pick[k]].started;
		char on[256] = ""; /* where it runs, when there is a choice */
		if (placed(R, pick[k]))
			place_text(R, pick[k], on, sizeof on);
		fprintf(R->log, "  %6.1fs  %.100s%s\033[K\n", e, R->t[pick[k]].id, on);
		lines++;
	}
	if (count[S_RUNNING] > npick) {
		fprintf(R->log, "  ... and %d more running\033[K\n", count[S_RUNNING] - npick);
		lines++;
	}
	fflush(R->log);
	R->drawn = lines;
	R->drawn_at = now;
}

static void transition(runner *R, uint32_t i, tstate to, const char *detail)
{
	rtask *t = &R->t[i];
	if (!legal[t->st][to]) {
		fprintf(stderr, "pipec: internal error: %s -> %s for task %s\n", names[t->st], names[to], t->id);
		abort();
	}
	begin(R);
	pr_store_event(&R->store, R->run, t->id, t->attempt, names[t->st], names[to], detail);
	dirty(R, i, 0);
	if (R->log && (!R->live || to == S_FAILED || to == S_ERROR || to == S_PAUSED || (to == S_RETRYING && detail))) {
		view_erase(R);
		char on[256] = "";
		if (to == S_RUNNING && placed(R, i)) { /* the placement (the event's detail): said shortly */
			place_text(R, i, on, sizeof on);
			detail = NULL;
		}
		fprintf(R->log, "%-10s %s%s%s%s\n", names[to], t->id, on, detail ? ": " : "", detail ? detail : "");
	}
	t->st = to;
	if (to == S_READY) {
		t->cache_checked = 0;
		heap_push(R, i);
	}
	if ((to == S_RUNNING || to == S_RETRYING) && !t->in_active)
		activate(R, i);
	if (terminal(to))
		notify(R, i);
}

/* ---- values ------------------------------------------------------------------- */

static json_t *output_value(runner *R, uint32_t k, const char *name, int for_key)
{
	json_t *o = json_object_get(R->t[k].outputs, name);
	if (!o)
		return NULL;
	if (for_key)
		return json_incref(json_object_get(o, "hash"));
	return json_incref(json_object_get(o, "value"));
}

static double num(json_t *v)
{
	return json_is_integer(v) ? (double)json_integer_value(v) : json_number_value(v);
}

static void text_of(json_t *v, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);
	if (json_is_string(v))
		fwrite(json_string_value(v), 1, json_string_length(v), f);
	else if (json_is_integer(v))
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		fprintf(f, "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "true" : "false", f);
	else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			char *s;
			size_t n;
			text_of(x, &s, &n);
			if (i)
				fputc(' ', f);
			fwrite(s, 1, n, f);
			free(s);
		}
	}
	fclose(f);
}

static json_t *apply_op(const char *op, json_t *a, json_t *b)
{
	if (!strcmp(op, "!"))
		return json_boolean(!json_is_true(a));
	if (!strcmp(op, "neg"))
		return json_is_integer(a) ? json_integer(-json_integer_value(a)) : json_real(-num(a));
	if (!strcmp(op, "&&"))
		return json_boolean(json_is_true(a) && json_is_true(b));
	if (!strcmp(op, "||"))
		return json_boolean(json_is_true(a) || json_is_true(b));
	if (!strcmp(op, "+") && json_is_string(a) && json_is_string(b)) {
		size_t n = json_string_length(a) + json_string_length(b);
		char *s = malloc(n + 1);
		memcpy(s, json_string_value(a), json_string_length(a));
		memcpy(s + json_string_length(a), json_string_value(b), json_string_length(b));
		json_t *r = json_stringn(s, n);
		free(s);
		return r;
	}
	if (!strcmp(op, "+") && json_is_array(a) && json_is_array(b)) {
		json_t *r = json_deep_copy(a);
		json_array_extend(r, b);
		return r;
	}
	if (!strcmp(op, "==") || !strcmp(op, "!="))
		return json_boolean(json_equal(a, b) == (op[0] == '='));
	if (json_is_string(a) && json_is_string(b)) {
		int c = strcmp(json_string_value(a), json_string_value(b));
		return json_boolean(!strcmp(op, "<") ? c < 0 : !strcmp(op, "<=") ? c <= 0 : !strcmp(op, ">") ? c > 0 : c >= 0);
	}
	if (!json_is_number(a) || !json_is_number(b))
		return NULL;
	if (!strcmp(op, "<")) return json_boolean(num(a) < num(b));
	if (!strcmp(op, "<=")) return json_boolean(num(a) <= num(b));
	if (!strcmp(op, ">")) return json_boolean(num(a) > num(b));
	if (!strcmp(op, ">=")) return json_boolean(num(a) >= num(b));
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);
		if (!strcmp(op, "+")) return json_integer(x + y);
		if (!strcmp(op, "-")) return json_integer(x - y);
		if (!strcmp(op, "*")) return json_integer(x * y);
		if (y == 0)
			return NULL;
		if (!strcmp(op, "/")) return json_integer(x / y);
		if (!strcmp(op, "%")) return json_integer(x % y);
	}
	double x = num(a), y = num(b);
	if (!strcmp(op, "+")) return json_real(x + y);
	if (!strcmp(op, "-")) return json_real(x - y);
	if (!strcmp(op, "*")) return json_real(x * y);
	if (!strcmp(op, "/")) return y == 0 ? NULL : json_real(x / y);
	return NULL;
}

static json_t *call_builtin(const char *fn, json_t *args)
{
	json_t *a = json_array_get(args, 0);
	if (!strcmp(fn, "len"))
		return json_integer(json_is_string(a) ? (json_int_t)json_string_length(a)
				    : json_is_array(a) ? (json_int_t)json_array_size(a) : (json_int_t)json_object_size(a));
	if (!strcmp(fn, "str")) {
		char *s;
		size_t n;
		text_of(a, &s, &n);
		json_t *r = json_stringn(s, n);
		free(s);
		return r;
	}
	if (!strcmp(fn, "int"))
		return json_is_string(a) ? json_integer(strtoll(json_string_value(a), NULL, 10))
				      : json_integer((json_int_t)num(a));
	if (!strcmp(fn, "float"))
		return json_is_string(a) ? json_real(strtod(json_string_value(a), NULL)) : json_real(num(a));
	if (!strcmp(fn, "file") || !strcmp(fn, "dir"))
		return json_incref(a);
	if (!strcmp(fn, "keys") || !strcmp(fn, "values")) {
		json_t *r = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(a, k, v) json_array_append_new(r, fn[0] == 'k' ? json_string(k) : json_incref(v));
		return r;
	}
	if (!strcmp(fn, "flatten")) {
		json_t *r = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(a, i, v) json_array_extend(r, v);
		return r;
	}
	return NULL;
}

/*
 * The value of plan expression E now.  *MISSING is set when it refers to a
 * task that did not succeed.  With FOR_KEY, a task output is its content
 * hash rather than its path, so the value can go into a cache key.
 */
static json_t *eval(runner *R, json_t *e, int for_key, int *missing)
{
	if (json_is_array(e)) {
		json_t *r = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(e, i, x) {
			json_t *v = eval(R, x, for_key, missing);
			json_array_append_new(r, v ? v : json_null());
		}
		return r;
	}
	if (!json_is_object(e))
		return json_incref(e);
	json_t *v;
	if ((v = json_object_get(e, "ref"))) {
		json_t *k = json_object_get(R->index, json_string_value(v));
		uint32_t ti = k ? (uint32_t)json_integer_value(k) : 0;
		if (!k || !ok_state(R->t[ti].st)) {
			*missing = 1;
			return NULL;
		}
		json_t *out = json_object_get(e, "output");
		if (out)
			return output_value(R, ti, json_string_value(out), for_key);
		json_t *r = json_object();
		const char *name;
		json_t *o;
		json_object_foreach(R->t[ti].outputs, name, o) json_object_set_new(r, name, output_value(R, ti, name, for_key));
		return r;
	}
	if ((v = json_object_get(e, "const")))
		return json_incref(v);
	if ((v = json_object_get(e, "op"))) {
		json_t *args = eval(R, json_object_get(e, "args"), for_key, missing);
		json_t *r = *missing ? NULL : apply_op(json_string_value(v), json_array_get(args, 0), json_array_get(args, 1));
		json_decref(args);
		return r;
	}
	if ((v = json_object_get(e, "call"))) {
		json_t *args = eval(R, json_object_get(e, "args"), for_key, missing);
		json_t *r = *missing ? NULL : call_builtin(json_string_value(v), args);
		json_decref(args);
		return r;
	}
	if ((v = json_object_get(e, "field"))) {
		json_t *of = eval(R, json_object_get(e, "of"), for_key, missing);
		json_t *r = of ? json_incref(json_object_get(of, json_string_value(v))) : NULL;
		json_decref(of);
		return r;
	}
	if ((v = json_object_get(e, "concat"))) {
		json_t *parts = eval(R, v, for_key, missing);
		char *s;
		size_t n;
		FILE *f = open_memstream(&s, &n);
		size_t i;
		json_t *x;
		json_array_foreach(parts, i, x) {
			char *t;
			size_t tn;
			text_of(x, &t, &tn);
			fwrite(t, 1, tn, f);
			free(t);
		}
		fclose(f);
		json_t *r = json_stringn(s, n);
		free(s);
		json_decref(parts);
		return r;
	}
	if ((v = json_object_get(e, "if"))) {
		json_t *c = eval(R, v, for_key, missing);
		if (!c)
			return NULL;
		int yes = json_is_true(c);
		json_decref(c);
		return eval(R, json_object_get(e, yes ? "then" : "else"), for_key, missing);
	}
	if ((v = json_object_get(e, "first_of"))) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			int miss = 0;
			json_t *r = eval(R, x, for_key, &miss);
			if (!miss)
				return r;
			json_decref(r);
		}
		*missing = 1;
		return NULL;
	}
	if ((v = json_object_get(e, "gather"))) { /* the list a run-time for made: one value per instance */
		const char *sid = json_string_value(v);
		json_t *list = scatter_list(R, sid, missing);
		if (!list)
			return NULL;
		json_t *r = json_array();
		size_t k;
		json_t *elem;
		json_array_foreach(list, k, elem) {
			json_t *vk = for_element(R, json_object_get(e, "value"), sid, k, elem);
			json_t *x = eval(R, vk, for_key, missing);
			json_decref(vk);
			if (*missing) {
				json_decref(x);
				break;
			}
			json_array_append_new(r, x ? x : json_null());
		}
		json_decref(list);
		if (*missing) {
			json_decref(r);
			return NULL;
		}
		return r;
	}
	if (json_object_get(e, "item")) { /* outside its instance: no value */
		*missing = 1;
		return NULL;
	}
	/* a record constant whose fields may hold references */
	json_t *r = json_object();
	const char *k;
	json_object_foreach(e, k, v) {
		json_t *x = eval(R, v, for_key, missing);
		json_object_set_new(r, k, x ? x : json_null());
	}
	return r;
}

/* ---- hashing and outputs ---------------------------------------------------------- */

static void hex_of(const unsigned char *h, char *out)
{
	sodium_bin2hex(out, 65, h, 32);
}

/* BLAKE2b of a file's bytes, or of a directory's sorted entries. */
static int hash_path(const char *path, char out[65])
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return -1;
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	if (S_ISDIR(sb.st_mode)) {
		struct dirent **ents;
		int n = scandir(path, &ents, NULL, alphasort);
		if (n < 0)
			return -1;
		for (int i = 0; i < n; i++) {
			const char *name = ents[i]->d_name;
			if (strcmp(name, ".") && strcmp(name, "..")) {
				char sub[8192], h[65];
				snprintf(sub, sizeof sub, "%s/%s", path, name);
				crypto_generichash_update(&st, (const unsigned char *)name, strlen(name) + 1);
				if (hash_path(sub, h) == 0)
					crypto_generichash_update(&st, (const unsigned char *)h, 64);
			}
			free(ents[i]);
		}
		free(ents);
	} else {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return -1;
		unsigned char buf[65536];
		ssize_t r;
		while ((r = read(fd, buf, sizeof buf)) > 0)
			crypto_generichash_update(&st, buf, (size_t)r);
		close(fd);
	}
	unsigned char h[32];
	crypto_generichash_final(&st, h, 32);
	hex_of(h, out);
	return 0;
}

static char *read_small(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(65537);
	size_t n = fread(buf, 1, 65536, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

/* Checks output NAME of base type BASE in DIR; sets *VAL or a reason in WHY. */
static int check_output(const char *dir, const char *name, const char *base, json_t **val, char *why, size_t wn)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct stat sb;
	if (stat(path, &sb) != 0) {
		snprintf(why, wn, "output '%s' (%s) was not written: no %s", name, base, path);
		return -1;
	}
	if (!strcmp(base, "File")) {
		if (!S_ISREG(sb.st_mode)) {
			snprintf(why, wn, "output '%s' must be a regular file: %s", name, path);
			return -1;
		}
		*val = json_string(path);
		return 0;
	}
	if (!strcmp(base, "Dir") || !strcmp(base, "List[File]")) {
		if (!S_ISDIR(sb.st_mode)) {
			snprintf(why, wn, "output '%s' must be a directory: %s", name, path);
			return -1;
		}
		if (!strcmp(base, "Dir")) {
			*val = json_string(path);
			return 0;
		}
		struct dirent **ents;
		int n = scandir(path, &ents, NULL, alphasort);
		json_t *list = json_array();
		for (int i = 0; i < n; i++) {
			char sub[8192];
			snprintf(sub, sizeof sub, "%s/%s", path, ents[i]->d_name);
			struct stat es;
			if (stat(sub, &es) == 0 && S_ISREG(es.st_mode))
				json_array_append_new(list, json_string(sub));
			free(ents[i]);
		}
		free(ents);
		*val = list;
		return 0;
	}
	char *text = read_small(path);
	if (!text) {
		snprintf(why, wn, "output '%s' cannot be read: %s", name, path);
		return -1;
	}
	size_t len = strlen(text);
	if (!strcmp(base, "String")) {
		if (len && text[len - 1] == '\n')
			text[--len] = 0;
		*val = json_stringn(text, len);
		free(text);
		return 0;
	}
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r'))
		text[--len] = 0;
	char *p = text;
	while (*p == ' ' || *p == '\t')
		p++;
	char *end = NULL;
	int ok = 0;
	if (!strcmp(base, "Int") || !strcmp(base, "Size") || !strcmp(base, "Duration")) {
		errno = 0;
		long long v = strtoll(p, &end, 10);
		ok = *p && end && !*end && !errno;
		if (ok)
			*val = json_integer(v);
	} else if (!strcmp(base, "Float")) {
		double v = strtod(p, &end);
		ok = *p && end && !*end;
		if (ok)
			*val = json_real(v);
	} else if (!strcmp(base, "Bool")) {
		ok = !strcmp(p, "true") || !strcmp(p, "false");
		if (ok)
			*val = json_boolean(p[0] == 't');
	} else {
		snprintf(why, wn, "output '%s' has type %s, which this runtime cannot read yet", name, base);
		free(text);
		return -1;
	}
	if (!ok)
		snprintf(why, wn, "output '%s' is \"%.40s\", not a%s %s", name, p, strchr("AEIOU", base[0]) ? "n" : "", base);
	free(text);
	return ok ? 0 : -1;
}

/* ---- starting and finishing ---------------------------------------------------------- */

static void quote(FILE *f, const char *s, size_t n)
{
	int plain = n > 0;
	for (size_t i = 0; i < n && plain; i++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,", s[i]) && s[i];
	if (plain) {
		fwrite(s, 1, n, f);
		return;
	}
	fputc('\'', f);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\'')
			fputs("'\\''", f);
		else
			fputc(s[i], f);
	fputc('\'', f);
}

/* mkdir -p PATH: the leaf first, its parents only when they are missing. */
static int mkdirs(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	char parent[8192];
	snprintf(parent, sizeof parent, "%s", path);
	char *slash = strrchr(parent, '/');
	while (slash && slash > parent && slash[-1] == '/')
		slash--;
	if (!slash || slash == parent)
		return -1;
	*slash = 0;
	if (mkdirs(parent) < 0)
		return -1;
	return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static void safe_name(const char *id, char *out, size_t n)
{
	size_t k = 0;
	for (const char *p = id; *p && k + 1 < n; p++)
		out[k++] = (strchr("/ \t", *p) || *p == '*') ? '_' : *p;
	out[k] = 0;
}

/* STATE/.pipec/checkpoints/TASK: where task I's checkpoints are kept, across attempts and resumes. */
static void checkpoint_dir(const runner *R, uint32_t i, char *out, size_t n)
{
	char safe[1024];
	safe_name(R->t[i].id, safe, sizeof safe);
	snprintf(out, n, "%s/checkpoints/%s", R->root, safe);
}

/* The command of task I, with its outputs' paths and inputs' values. */
static char *render(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	char *cmd;
	size_t len;
	FILE *f = open_memstream(&cmd, &len);
	size_t k;
	json_t *part;
	json_array_foreach(json_object_get(t->j, "command"), k, part) {
		if (json_is_string(part)) {
			fwrite(json_string_value(part), 1, json_string_length(part), f);
			continue;
		}
		json_t *v;
		if ((v = json_object_get(part, "output"))) {
			char path[8192];
			snprintf(path, sizeof path, "%s/%s", t->dir, json_string_value(v));
			quote(f, path, strlen(path));
		} else if (json_object_get(part, "checkpoint_dir")) {
			char path[8300];
			checkpoint_dir(R, i, path, sizeof path);
			quote(f, path, strlen(path));
		} else if ((v = json_object_get(part, "value"))) {
			int missing = 0;
			json_t *val = eval(R, v, 0, &missing);
			if (json_is_array(val)) {
				size_t j;
				json_t *x;
				json_array_foreach(val, j, x) {
					char *s;
					size_t n;
					text_of(x, &s, &n);
					if (j)
						fputc(' ', f);
					quote(f, s, n);
					free(s);
				}
			} else if (val) {
				char *s;
				size_t n;
				text_of(val, &s, &n);
				quote(f, s, n);
				free(s);
			}
			json_decref(val);
		}
	}
	fclose(f);
	return cmd;
}

/* "stage 'fetch' (quickstart.pipe:20:11)": the stage and where it was called. */
static const char *where(rtask *t, char *buf, size_t n)
{
	json_t *loc = json_object_get(t->j, "loc");
	if (loc)
		snprintf(buf, n, "stage '%s' (%s:%lld:%lld)", t->stage, json_string_value(json_object_get(loc, "file")),
			 (long long)json_integer_value(json_object_get(loc, "line")),
			 (long long)json_integer_value(json_object_get(loc, "column")));
	else
		snprintf(buf, n, "stage '%s'", t->stage);
	return buf;
}

/* ---- resources ------------------------------------------------------------------ */

/* A task starts on its place: its slot and what it asks for are taken; vacate() gives them back. */
static void occupy(runner *R, uint32_t i)
{
	R->running++;
	pr_take(&R->nodes, &R->t[i].req, &R->t[i].place, 1);
}

/* Task I's process is gone: what it held is given back, and its end of the handshake closed. */
static void vacate(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	if (t->go_fd >= 0)
		close(t->go_fd);
	t->go_fd = -1;
	pr_sandbox_let_go(&R->sb, t->mnt_fd);
	t->mnt_fd = -1;
	plain_free(t->plain);
	t->plain = NULL;
	t->go_sent = 0;
	R->running--;
	pr_take(&R->nodes, &R->t[i].req, &R->t[i].place, -1);
}

/* Why task I can never start on any node (into WHY), or 0 when it can. */
static int never_fits(runner *R, uint32_t i, char *why, size_t n)
{
	char w[1200], short_[1024];
	if (!pr_never_fits(&R->nodes, &R->t[i].req, short_, sizeof short_))
		return 0;
	snprintf(why, n, "%s asks for %s", where(&R->t[i], w, sizeof w), short_);
	return 1;
}

/* The placement of task I as " on NODE, GPU 0,1" for a log line. */
static void place_text(runner *R, uint32_t i, char *out, size_t n)
{
	const pr_place *p = &R->t[i].place;
	const pr_node *nd = &R->nodes.v[p->node];
	int len = snprintf(out, n, " on %s", nd->name);
	for (int k = 0; k < p->ngpus && len > 0 && (size_t)len < n; k++)
		len += snprintf(out + len, n - (size_t)len, "%s%d", k ? "," : ", GPU ", nd->gpus[p->gpu[k]].index);
	if (p->ngpus && R->t[i].req.gpu < 1 && len > 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, " (%g of it)", R->t[i].req.gpu);
}

static void cgroup_name(const runner *R, uint32_t i, char *out, size_t n)
{
	snprintf(out, n, "%s-%ld-%u-%d", R->tag, R->run, i, R->t[i].attempt);
}

/* Removes the cgroups of task I's attempt (its process is gone); 1 if its memory limit killed it, NOTE as pr_sandbox_reap(). */
static int reap_cgroups(runner *R, uint32_t i, char *note, size_t n)
{
	char cg[128];
	cgroup_name(R, i, cg, sizeof cg);
	return pr_sandbox_reap(&R->sb, cg, note, n);
}

/* PATH stays visible in J's sandbox (a directory when DIR), writable when WRITABLE. */
static void keep(pr_jail *j, const char *path, int dir, int writable)
{
	j->keep[j->nkeep].path = path;
	j->keep[j->nkeep].dir = dir;
	j->keep[j->nkeep++].writable = writable;
}

/* Adds the absolute paths the sandbox would cover in value V (an input) to J's read-only paths. */
static void keep_inputs(pr_jail *j, json_t *v, const char *work)
{
	if (json_is_array(v) || json_is_object(v)) {
		size_t k;
		json_t *x;
		const char *key;
		if (json_is_array(v))
			json_array_foreach(v, k, x) keep_inputs(j, x, work);
		else
			json_object_foreach(v, key, x) keep_inputs(j, x, work);
		return;
	}
	const char *p = json_string_value(v);
	static char kept[PR_JAIL_KEEP][512]; /* the paths kept: j->keep points here while it is spawned */
	struct stat sb;
	size_t wl = strlen(work);
	if (!p || !pr_sandbox_covers(p) || (strncmp(p, work, wl) == 0 && p[wl] == '/') || j->nkeep >= PR_JAIL_KEEP - 2)
		return;
	/* what is kept is the directory right under the covered one (/tmp/data for /tmp/data/x/a.csv), so
	 * a task that reads many files there keeps one mount */
	int n = pr_sandbox_covers(p);
	const char *slash = strchr(p + n, '/');
	size_t len = slash ? (size_t)(slash - p) : strlen(p);
	if (len >= sizeof kept[0])
		return;
	for (int k = 0; k < j->nkeep; k++) {
		size_t kl = strlen(j->keep[k].path);
		if (!strncmp(p, j->keep[k].path, kl) && (p[kl] == '/' || p[kl] == 0) && kl <= len)
			return; /* under what is kept already */
	}
	memcpy(kept[j->nkeep], p, len);
	kept[j->nkeep][len] = 0;
	if (stat(kept[j->nkeep], &sb) == 0)
		keep(j, kept[j->nkeep], S_ISDIR(sb.st_mode), 0);
}

/*
 * What task I's sandbox keeps: the state directory's work tree and the
 * inputs read-only where the private /tmp would hide them, the attempt's
 * directory and its checkpoint directory (CPDIR, or "") writable; its
 * limits and its devices.
 */
static void jail(runner *R, uint32_t i, pr_jail *j, const char *cpdir)
{
	rtask *t = &R->t[i];
	static char work[4200];
	snprintf(work, sizeof work, "%s/work", R->root);
	if (pr_sandbox_covers(R->root))
		keep(j, work, 1, 0);
	keep_inputs(j, t->inputs, work);
	keep(j, t->dir, 1, 1);
	if (cpdir[0])
		keep(j, cpdir, 1, 1);
	json_t *sbx = json_object_get(t->j, "sandbox");
	j->network = json_is_true(json_object_get(sbx, "network"));
	json_int_t pids = json_integer_value(json_object_get(sbx, "pids"));
	j->pids = pids > 0 ? (long)pids : PR_DEFAULT_PIDS;
	j->memory = t->req.memory;
	j->cpu = t->req.cpu;
	const pr_node *nd = &R->nodes.v[t->place.node];
	for (int g = 0; g < t->place.ngpus && g < PR_JAIL_GPUS; g++)
		j->gpu_minor[j->ngpus++] = nd->gpus[t->place.gpu[g]].minor;
	/* parents before what is under them: shorter paths first (stable) */
	for (int a = 1; a < j->nkeep; a++)
		for (int b = a; b > 0 && strlen(j->keep[b - 1].path) > strlen(j->keep[b].path); b--) {
			__typeof__(j->keep[0]) x = j->keep[b];
			j->keep[b] = j->keep[b - 1];
			j->keep[b - 1] = x;
		}
}

/*
 * Starting a task without the sandbox.  posix_spawn() holds the loop until
 * the child has exec'd (0.33 ms a task on a busy 2-core machine: the child
 * waits for a core).  On x86-64 the child is cloned into the runtime's
 * memory without CLONE_VFORK instead, so the loop goes on at once: it makes
 * only raw system calls (no errno, no thread-local state, no allocation),
 * on a stack of its own, reading a struct plain that is kept until the task
 * is reaped.  Elsewhere, posix_spawn().
 */
typedef struct plain {
	char *stack;
	char *argv[4];
	char **envp;
	char out[8300], err[8300];
	const char *dir;
	int go;
	unsigned long none; /* the empty signal mask, as the kernel takes it */
} plain;

enum { PLAIN_STACK = 64 * 1024 };

static void plain_free(plain *p)
{
	if (!p)
		return;
	free(p->stack);
	free(p->argv[2]);
	for (size_t x = 0; p->envp && p->envp[x]; x++)
		free(p->envp[x]);
	free(p->envp);
	free(p);
}

#if defined(__x86_64__) && defined(__linux__)
#define PLAIN_CLONE 1
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define PR_CLOSE_RANGE_CLOEXEC (1L << 2)
static long raw_syscall(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return r;
}

/* not instrumented: the sanitizers' runtimes keep thread-local state the loop is using */
__attribute__((no_sanitize("address", "undefined"))) static int plain_main(void *arg)
{
	plain *p = arg;
	raw_syscall(SYS_setsid, 0, 0, 0, 0);
	/* fd 0, 1, 2: /dev/null, .stdout, .stderr */
	const char *std[3] = {"/dev/null", p->out, p->err};
	for (long k = 0; k < 3; k++) {
		long fd = raw_syscall(SYS_openat, AT_FDCWD, (long)std[k], k ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0644);
		if (fd < 0 || raw_syscall(SYS_dup2, fd, k, 0, 0) < 0)
			raw_syscall(SYS_exit, 127, 0, 0, 0);
		raw_syscall(SYS_close, fd, 0, 0, 0);
	}
	if (raw_syscall(SYS_dup2, p->go, 3, 0, 0) < 0 || raw_syscall(SYS_chdir, (long)p->dir, 0, 0, 0) < 0)
		raw_syscall(SYS_exit, 127, 0, 0, 0);
	/* nothing else the runtime has open, or was given, goes with it (a kernel before 5.11: it may) */
	raw_syscall(SYS_close_range, 4, ~0L, PR_CLOSE_RANGE_CLOEXEC, 0);
	raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&p->none, 0, sizeof p->none);
	raw_syscall(SYS_execve, (long)"/bin/sh", (long)p->argv, (long)p->envp, 0);
	raw_syscall(SYS_exit, 127, 0, 0, 0);
	return 127;
}

/*
 * A plain start of "sh -c" with its streams OUT and ERR, in DIR, GO made
 * its fd 3; the caller sets its script (argv[2]) and environment, both
 * freed with it.  NULL when out of memory.
 */
static plain *plain_new(const char *out, const char *err, const char *dir, int go)
{
	plain *p = calloc(1, sizeof *p);
	if (!p || !(p->stack = malloc(PLAIN_STACK))) {
		free(p);
		return NULL;
	}
	p->argv[0] = "sh", p->argv[1] = "-c";
	snprintf(p->out, sizeof p->out, "%s", out);
	snprintf(p->err, sizeof p->err, "%s", err);
	p->dir = dir;
	p->go = go;
	return p;
}

static pid_t plain_clone(plain *p)
{
	return clone(plain_main, p->stack + PLAIN_STACK, CLONE_VM | SIGCHLD, p);
}
#endif

/* The only PATH a task is given. */
static const char task_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";

static void finish(runner *R, uint32_t i, int status);
static int try_cache(runner *R, uint32_t i);
static int never_fits(runner *R, uint32_t i, char *why, size_t n);
static int start(runner *R, uint32_t i, int ahead);

/*
 * Standing shells.  Without the sandbox, most of a short task's start is
 * its shell's: the clone, the exec (in a VM each exec's dynamic loader asks
 * the CPU for its features, a trap to the hypervisor each time: 0.6 ms of a
 * core) and the shell getting ready.  So tasks run in up to -j shells that
 * stay: each reads, on its fd 3, the number of a pipe the runtime holds the
 * task's script in and then the go-ahead, runs the script in a subshell (a
 * fork, no exec) that opens the pipe through /proc, and says the
 * subshell's status back on fd 3.  The script: into the attempt's
 * directory, its streams, `export`s of exactly the task's environment, the
 * exit trap (which says the command's own status, "eN", or writes .exit
 * when the runtime is gone), then the command.  The task's "running" event
 * records the shell's pid, its process group the task's; the go-ahead
 * follows the commit as for any task.  A shell killed (a timeout, a
 * cancellation) ends its task as a killed task's would, and is not reused.
 */
static const char shell_loop[] = "while read -r __pipec_fd <&3 && read -r __pipec_go <&3; do\n"
				 "(. /proc/%ld/fd/$__pipec_fd); echo s$? >&3 || exit 0\n"
				 "done; exit 125\n";

/*
 * The last line of a task's script: its command, run by eval, so that what
 * the shell says of it (a syntax error, $LINENO) counts its lines from 1,
 * as `sh -c` would, not from the lines the runtime put before it.
 */
static void command_line(FILE *f, const char *cmd)
{
	fputs("eval ", f);
	quote(f, cmd, strlen(cmd));
	fputc('\n', f);
}

/* Whether another process can open a pipe of ours through /proc/PID/fd (no /proc, hidepid). */
static int proc_fds_open(void)
{
	int p[2], ok = 0;
	if (pipe2(p, O_CLOEXEC) != 0)
		return 0;
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/fd/%d", (long)getpid(), p[0]);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		ok = 1;
		close(fd);
	}
	close(p[0]);
	close(p[1]);
	return ok;
}

static void shell_free(struct shell *sh, int reap)
{
	close(sh->sock);
	if (sh->script >= 0)
		close(sh->script);
	if (reap)
		waitpid(sh->pid, NULL, 0);
	plain_free(sh->p);
}

/* Starts a standing shell (R->shells), or none; its index, or -1. */
static int spawn_shell(runner *R)
{
#ifdef PLAIN_CLONE
	int sp[2];
	if (R->nshells == (int)(sizeof R->shells / sizeof R->shells[0]) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
		return -1;
	/* what the shell says wakes the loop: a signal of its own, carrying the socket */
	fcntl(sp[1], F_SETOWN, getpid());
	fcntl(sp[1], F_SETSIG, SIGRTMIN + 2);
	fcntl(sp[1], F_SETFL, O_NONBLOCK | O_ASYNC);
	plain *p = plain_new("/dev/null", "/dev/null", R->root, sp[0]);
	char loop[sizeof shell_loop + 32];
	snprintf(loop, sizeof loop, shell_loop, (long)getpid());
	if (p && (p->argv[2] = strdup(loop)) && (p->envp = calloc(2, sizeof *p->envp)) && (p->envp[0] = strdup(task_path))) {
		pid_t pid = plain_clone(p);
		close(sp[0]);
		if (pid > 0) {
			R->shells[R->nshells] = (struct shell){pid, sp[1], -1, -1, 0, 0, "", 0, p};
			return R->nshells++;
		}
	} else {
		close(sp[0]);
	}
	close(sp[1]);
	plain_free(p);
#else
	(void)R;
#endif
	return -1;
}

/* Lets go of every standing shell: each reads the end of its socket and exits. */
static void shells_stop(runner *R)
{
	for (int k = 0; k < R->nshells; k++) {
		if (R->shells[k].task >= 0) /* still running a task (none should be, the run is over): it goes too */
			kill(-R->shells[k].pid, SIGKILL);
		shell_free(&R->shells[k], 1);
	}
	R->nshells = 0;
}

/* Shell K is gone: it is let go of; 1 if it was one. */
static int shell_drop(runner *R, int k)
{
	shell_free(&R->shells[k], 0);
	R->shells[k] = R->shells[--R->nshells];
	return 1;
}

/*
 * Starts task I (its directory DIR, its environment ENVP, its command CMD)
 * in a standing shell, started now if none is free: the shell's pid, with
 * *GO its end of the handshake for the go-ahead (a copy of the shell's
 * socket); -1 when none can be had.
 */
static pid_t take_shell(runner *R, uint32_t i, const char *dir, char **envp, const char *cmd, int *go)
{
	if (!R->pool)
		return -1;
	char *text;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	fputs("unset __pipec_fd __pipec_go\ncd ", f);
	quote(f, dir, strlen(dir));
	fputs(" || exit 127\nunset OLDPWD\nexec </dev/null >.stdout 2>.stderr || exit 127\n", f);
	for (char **e = envp; *e; e++) {
		const char *eq = strchr(*e, '=');
		size_t k = eq ? (size_t)(eq - *e) : 0;
		int name = k > 0 && !isdigit((unsigned char)**e);
		for (size_t c = 0; name && c < k; c++)
			name = isalnum((unsigned char)(*e)[c]) || (*e)[c] == '_';
		if (!name) { /* not a shell variable's name: only exec can set it */
			fclose(f);
			free(text);
			return -1;
		}
		fprintf(f, "export %.*s=", (int)k, *e);
		quote(f, eq + 1, strlen(eq + 1));
		fputc('\n', f);
	}
	fputs("trap 'st=$?; trap \"\" PIPE; { echo e$st >&3; } 2>/dev/null || echo $st > .exit' EXIT\n", f);
	command_line(f, cmd);
	fclose(f);
	pid_t pid = -1;
	int sp[2] = {-1, -1};
	if (len < 60000 && pipe2(sp, O_CLOEXEC) == 0 && write(sp[1], text, len) == (ssize_t)len) { /* a pipe holds 64 KiB */
		close(sp[1]);
		sp[1] = -1;
		int want = R->jobs < 64 ? R->jobs : 64;
		while (pid < 0) {
			int k = 0;
			while (k < R->nshells && R->shells[k].task >= 0)
				k++;
			if (k == R->nshells && (R->nshells >= want || (k = spawn_shell(R)) < 0))
				break;
			struct shell *sh = &R->shells[k];
			char msg[32];
			int n = snprintf(msg, sizeof msg, "%d\n", sp[0]);
			int d = -1;
			if (send(sh->sock, msg, (size_t)n, MSG_NOSIGNAL) != n || (d = fcntl(sh->sock, F_DUPFD_CLOEXEC, 3)) < 0) {
				kill(-sh->pid, SIGKILL); /* gone, or not to be trusted: its end is reaped */
				shell_drop(R, k);
				continue;
			}
			sh->task = i;
			sh->script = sp[0];
			sh->exited = 0;
			sh->blen = 0;
			sp[0] = -1;
			pid = sh->pid;
			*go = d;
		}
	}
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	free(text);
	return pid;
}

/* What the standing shells said: each task whose subshell ended is finished. */
static void shells_read(runner *R)
{
	for (int k = 0; k < R->nshells; k++) {
		struct shell *sh = &R->shells[k];
		if (sh->task < 0)
			continue;
		ssize_t n;
		while (sh->task >= 0 && (n = recv(sh->sock, sh->buf + sh->blen, sizeof sh->buf - 1 - sh->blen, MSG_DONTWAIT)) > 0) {
			sh->blen += (size_t)n;
			sh->buf[sh->blen] = 0;
			char *nl;
			while (sh->task >= 0 && (nl = memchr(sh->buf, '\n', sh->blen))) {
				*nl = 0;
				long v = strtol(sh->buf + 1, NULL, 10) & 0xff;
				if (sh->buf[0] == 'e') {
					sh->exited = 1, sh->code = (int)v;
				} else if (sh->buf[0] == 's') {
					/* the command's own status; else the subshell's: 128+N when signal N killed it */
					int status = sh->exited ? sh->code << 8 : v > 128 ? (int)(v - 128) & 0x7f : (int)v << 8;
					uint32_t i = (uint32_t)sh->task;
					sh->task = -1;
					close(sh->script);
					sh->script = -1;
					if (R->t[i].st == S_RUNNING && R->t[i].pid == sh->pid)
						finish(R, i, status);
				}
				size_t used = (size_t)(nl + 1 - sh->buf);
				memmove(sh->buf, nl + 1, sh->blen - used);
				sh->blen -= used;
			}
			if (sh->blen == sizeof sh->buf - 1)
				sh->blen = 0; /* no line is that long: not ours */
		}
	}
}

/* A standing shell died (PID, STATUS): its task, if it ran one, ends so. 1 if it was one. */
static int shell_gone(runner *R, pid_t pid, int status)
{
	for (int k = 0; k < R->nshells; k++)
		if (R->shells[k].pid == pid) {
			int64_t i = R->shells[k].task;
			if (i >= 0) /* what its task left running goes with it */
				kill(-pid, SIGKILL);
			shell_drop(R, k);
			if (i >= 0 && R->t[i].st == S_RUNNING && R->t[i].pid == pid)
				finish(R, (uint32_t)i, status);
			return 1;
		}
	return 0;
}

/* Task I could not be started (WHY): an error, its "running" before it. Frees CMD. */
static void not_started(runner *R, uint32_t i, const char *why, char *cmd)
{
	free(cmd);
	transition(R, i, S_RUNNING, NULL);
	char w[1200], msg[9700];
	snprintf(msg, sizeof msg, "%s: %s", where(&R->t[i], w, sizeof w), why);
	transition(R, i, S_ERROR, msg);
}

/* Task I's shell PID waits for its go-ahead on GO: it is running (its place taken already). Frees CMD. */
static void started(runner *R, uint32_t i, pid_t pid, int go, char *cmd)
{
	rtask *t = &R->t[i];
	t->pid = pid;
	t->go_fd = go;
	t->go_sent = 0;
	t->adopted = 0;
	t->started = pr_now();
	t->timed_out = 0;
	t->deadline = t->timeout_ns > 0 ? t->started + (double)t->timeout_ns / 1e9 : 0;
	/* where it runs is in its "running" event when there is a choice to record */
	char *place = placed(R, i) ? pr_place_json(&R->nodes, &t->req, &t->place) : NULL;
	transition(R, i, S_RUNNING, place);
	pr_store_running(&R->store, R->run, t->id, t->attempt, (long)pid, t->dir, t->started, cmd, place);
	free(place);
	free(cmd);
}

/*
 * Sandboxed starts, off the loop.  Setting up a task's sandbox (namespaces,
 * mounts, cgroup, until its shell has exec'd) takes about a millisecond of
 * a vfork'd child that its caller waits for: the loop would wait too, and
 * with it every task that has ended and every commit, so that the loop, not
 * the cores, set the pace.  So spawner threads start sandboxed tasks:
 * start() hands one a job and takes the task's place; the loop, woken by a
 * SIGCHLD the thread sends it, records the task as running once its shell
 * waits for the go-ahead (spawns_done()).
 */
typedef struct spawn_job {
	struct spawn_job *next;
	uint32_t task;
	pr_jail j;
	char *argv[4], **envp, *cmd;
	int go[2];           /* the handshake: go[0] the task's fd 3, go[1] the runtime's end */
	pid_t pid;           /* the task's shell, or -1 (WHY says why) */
	int mnt_fd;          /* pr_sandbox_hold() of it */
	char cg[128], cpdir[8300], out[8300], err[8300], why[8400];
} spawn_job;

static void job_free(spawn_job *job)
{
	free(job->argv[2]);
	for (size_t x = 0; job->envp && job->envp[x]; x++)
		free(job->envp[x]);
	free(job->envp);
	free(job->cmd);
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
}

static void *spawner_main(void *arg)
{
	runner *R = arg;
	pthread_mutex_lock(&R->sp_mu);
	for (;;) {
		while (!R->sp_todo && !R->sp_stop)
			pthread_cond_wait(&R->sp_cv, &R->sp_mu);
		spawn_job *job = R->sp_todo;
		if (!job)
			break;
		R->sp_todo = job->next;
		pthread_mutex_unlock(&R->sp_mu);
		spawn_one(&R->sb, job);
		pthread_mutex_lock(&R->sp_mu);
		job->next = R->sp_done;
		R->sp_done = job;
		pthread_kill(R->sp_loop, SIGCHLD); /* the loop waits for SIGCHLD: it looks at what is done */
	}
	pthread_mutex_unlock(&R->sp_mu);
	pr_sandbox_thread_end();
	return NULL;
}

/* Hands JOB to a spawner thread (started the first time); 0, or -1 when there is none to be had. */
static int spawn_async(runner *R, spawn_job *job)
{
	if (!R->sp_n) {
		pthread_mutex_init(&R->sp_mu, NULL);
		pthread_cond_init(&R->sp_cv, NULL);
		R->sp_loop = pthread_self();
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old); /* signals are the loop's */
		int want = R->jobs + 2 < 4 ? R->jobs + 2 : 4; /* they mostly wait: for execs, for cgroup attaches */
		while (R->sp_n < want && pthread_create(&R->sp_th[R->sp_n], NULL, spawner_main, R) == 0)
			R->sp_n++;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!R->sp_n)
			return -1;
	}
	pthread_mutex_lock(&R->sp_mu);
	spawn_job **tail = &R->sp_todo;
	while (*tail)
		tail = &(*tail)->next;
	*tail = job; /* first come, first started: the heap's order */
	pthread_cond_signal(&R->sp_cv);
	pthread_mutex_unlock(&R->sp_mu);
	return 0;
}

/* Task I's shell PID, started by a spawner, has its place: it runs (or, cancelled meanwhile, is killed). Frees CMD. */
static void went(runner *R, uint32_t i, pid_t pid, int go, char *cmd)
{
	started(R, i, pid, go, cmd);
	for (unsigned k = 0; k < 64 && k < R->nlost; k++)
		if (R->lost[k].pid == pid) { /* it died before it was known: it ends now */
			R->lost[k].pid = 0;
			finish(R, i, R->lost[k].status);
			return;
		}
	if (kill(pid, 0) != 0 && errno == ESRCH) { /* ... and was reaped so long ago that its status is gone */
		finish(R, i, SIGKILL);
		return;
	}
	if (R->cancelled) /* it never gets its go-ahead */
		kill(-pid, SIGKILL);
}

/* The run is cancelled: task I's parked shell is let go of, and ends without running anything. */
static void unpark(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	R->nparked--;
	t->parked = 0;
	close(t->park_go); /* it reads the end of its handshake and exits */
	kill(-t->park_pid, SIGKILL);
	free(t->park_cmd);
	t->park_cmd = NULL;
	pr_sandbox_let_go(&R->sb, t->mnt_fd);
	t->mnt_fd = -1;
	reap_cgroups(R, i, NULL, 0);
	transition(R, i, S_CANCELLED, "the run was cancelled");
}

/* Parked task I, first in line and placed, runs: only its "running" is left to commit. */
static void go_parked(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	R->nparked--;
	t->parked = 0;
	occupy(R, i);
	went(R, i, t->park_pid, t->park_go, t->park_cmd);
	t->park_cmd = NULL;
}

/*
 * Sandboxed shells started ahead.  While tasks run, up to 4 × -j (at most
 * 16) of the ready tasks next in line have their sandbox made and their shell
 * started, waiting for the go-ahead as any task's shell does but not yet
 * running: when a place comes free and such a task is first in line, it
 * only needs its "running" committed.  Not for a task with GPUs, or on
 * simulated nodes (where it runs is chosen when it starts).
 */
static void park_ahead(runner *R)
{
	int want = 4 * R->jobs < 16 ? 4 * R->jobs : 16;
	if (!R->sb.on || !R->running || R->cancelled || R->nodes.simulated)
		return;
	for (uint32_t h = 0; h < R->nheap && h < 32 && R->nparked < want; h++) {
		uint32_t i = R->heap[h];
		rtask *t = &R->t[i];
		if (t->st != S_READY || t->spawning || t->parked || t->no_park || t->req.gpu > 0)
			continue;
		if (!t->cache_checked) {
			t->cache_checked = 1;
			if (try_cache(R, i))
				continue; /* cached: it leaves the heap when it comes to the top */
		}
		char why[2048];
		if (never_fits(R, i, why, sizeof why))
			continue;
		start(R, i, 1);
	}
}

/* The sandboxed starts the spawner threads have done: each task running, or an error. */
static void spawns_done(runner *R)
{
	if (!R->sp_n)
		return;
	pthread_mutex_lock(&R->sp_mu);
	spawn_job *done = R->sp_done;
	R->sp_done = NULL;
	pthread_mutex_unlock(&R->sp_mu);
	while (done) {
		spawn_job *job = done;
		done = job->next;
		uint32_t i = job->task;
		rtask *t = &R->t[i];
		t->spawning = 0;
		if (job->pid > 0 && !t->go_on_spawn) { /* started ahead: it waits for its place */
			t->parked = 1;
			t->park_pid = job->pid, t->park_go = job->go[1], t->park_cmd = job->cmd;
			t->mnt_fd = job->mnt_fd;
			job->cmd = NULL;
			if (R->cancelled)
				unpark(R, i);
		} else if (job->pid > 0) {
			t->mnt_fd = job->mnt_fd;
			went(R, i, job->pid, job->go[1], job->cmd);
			job->cmd = NULL;
		} else if (!t->go_on_spawn) { /* it starts the ordinary way when its turn comes */
			R->nparked--;
			close(job->go[1]);
			t->attempt--;
			t->no_park = 1;
			if (R->cancelled)
				transition(R, i, S_CANCELLED, "the run was cancelled");
		} else {
			close(job->go[1]);
			vacate(R, i);
			not_started(R, i, job->why, job->cmd);
			job->cmd = NULL;
		}
		job_free(job);
	}
}

/* Stops the spawner threads once they have done what they were given. */
static void spawners_stop(runner *R)
{
	if (!R->sp_n)
		return;
	pthread_mutex_lock(&R->sp_mu);
	R->sp_stop = 1;
	pthread_cond_broadcast(&R->sp_cv);
	pthread_mutex_unlock(&R->sp_mu);
	for (int k = 0; k < R->sp_n; k++)
		pthread_join(R->sp_th[k], NULL);
	spawns_done(R); /* what was being started ahead for a cancelled run */
	R->sp_n = 0;
	R->sp_stop = 0;
	pthread_mutex_destroy(&R->sp_mu);
	pthread_cond_destroy(&R->sp_cv);
}

static int start(runner *R, uint32_t i, int ahead)
{
	rtask *t = &R->t[i];
	t->attempt++;
	char safe[1024];
	safe_name(t->id, safe, sizeof safe);
	char dir[8192];
	/* one directory an attempt and one inside it for HOME and TMPDIR: on a busy filesystem each mkdir counts */
	snprintf(dir, sizeof dir, "%s/work/%ld/%s@%d", R->root, R->run, safe, t->attempt);
	set_dir(t, dir);
	char tmp[8300];
	snprintf(tmp, sizeof tmp, "%s/.tmp", t->dir);
	if (mkdirs(t->dir) < 0 || mkdirs(tmp) < 0) {
		char why[8400];
		snprintf(why, sizeof why, "cannot create %s: %s", t->dir, strerror(errno));
		transition(R, i, S_RUNNING, NULL);
		transition(R, i, S_ERROR, why);
		return -1;
	}
	char *cmd = render(R, i);
	int checkpoint = json_is_true(json_object_get(t->j, "checkpoint"));
	char cpdir[8300] = "";
	if (checkpoint) {
		checkpoint_dir(R, i, cpdir, sizeof cpdir);
		mkdirs(cpdir);
		char best[8600];
		t->checkpoint_before = newest_checkpoint(R, i, best, sizeof best);
	}
	/* a clean environment: nothing of the host's but what is set here */
	char **envp = calloc(64 + json_object_size(json_object_get(t->j, "env")), sizeof *envp);
	int ne = 0;
	char buf[9000];
#define SETENV(...) (snprintf(buf, sizeof buf, __VA_ARGS__), envp[ne++] = strdup(buf))
	SETENV("%s", task_path);
	SETENV("HOME=%s", tmp);
	SETENV("TMPDIR=%s", tmp);
	SETENV("PIPEC_RUN_ID=%ld", R->run);
	SETENV("PIPEC_TASK=%s", t->id);
	SETENV("PIPEC_ATTEMPT=%d", t->attempt);
	if (checkpoint)
		SETENV("PIPEC_CHECKPOINT_DIR=%s", cpdir);
	/* exactly its devices: none for a task that asks for no GPU */
	const pr_node *nd = &R->nodes.v[t->place.node];
	int len = snprintf(buf, sizeof buf, "CUDA_VISIBLE_DEVICES=");
	for (int g = 0; g < t->place.ngpus; g++)
		len += snprintf(buf + len, sizeof buf - (size_t)len, "%s%s", g ? "," : "", nd->gpus[t->place.gpu[g]].uuid);
	envp[ne++] = strdup(buf);
	if (R->nodes.simulated)
		SETENV("PIPEC_NODE=%s", nd->name);
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(t->j, "env"), k, v) if (json_is_string(v)) SETENV("%s=%s", k, json_string_value(v));
#undef SETENV
	char out[8300], err[8300];
	snprintf(out, sizeof out, "%s/.stdout", t->dir);
	snprintf(err, sizeof err, "%s/.stderr", t->dir);
	/*
	 * The task's shell first waits for the runtime's go-ahead on fd 3, a
	 * socket (sent once "running" is committed; a runtime that dies first
	 * closes it and nothing runs).  At its end it says its exit status back
	 * on that socket, or, when the runtime is gone (the write fails), in
	 * .exit, so the runtime that resumes the run learns it: the file is only
	 * made when it is needed.  No copy of this process is made: the child
	 * shares its memory until it execs.
	 */
	char *script;
	size_t slen;
	FILE *sf = open_memstream(&script, &slen);
	fputs("read -r _ <&3 || exit 125\n"
	      "trap 'st=$?; trap \"\" PIPE; { echo $st >&3; } 2>/dev/null || echo $st > .exit' EXIT\n", sf);
	command_line(sf, cmd);
	fclose(sf);
	int go[2];
	pid_t pid = -1;
	char why[8400] = "cannot start a process";
	char *argv[] = {"sh", "-c", script, NULL};
	envp[ne] = NULL;
	if (!R->sb.on && (pid = take_shell(R, i, t->dir, envp, cmd, &go[1])) > 0) {
		/* started: a standing shell has its script */
	} else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) != 0) {
		go[1] = -1;
	} else if (R->sb.on) {
		spawn_job *job = calloc(1, sizeof *job);
		if (job) {
			job->task = i;
			job->go[0] = go[0], job->go[1] = go[1];
			job->argv[0] = "sh", job->argv[1] = "-c", job->argv[2] = script;
			job->envp = envp;
			job->cmd = cmd;
			snprintf(job->cpdir, sizeof job->cpdir, "%s", cpdir);
			snprintf(job->out, sizeof job->out, "%s", out);
			snprintf(job->err, sizeof job->err, "%s", err);
			job->j = (pr_jail){.dir = t->dir, .argv = job->argv, .envp = envp, .fd_go = go[0]};
			jail(R, i, &job->j, job->cpdir);
			cgroup_name(R, i, job->cg, sizeof job->cg);
			job->j.cgroup = job->cg;
			if (spawn_async(R, job) == 0) {
				if (!ahead)
					occupy(R, i);
				else
					R->nparked++;
				t->spawning = 1;
				t->go_on_spawn = !ahead;
				return 0; /* running once its shell is ready: spawns_done() */
			}
			job->argv[2] = NULL, job->envp = NULL, job->cmd = NULL;
			job_free(job);
		}
		close(go[0]);
		close(go[1]);
#ifdef PLAIN_CLONE
	} else if ((t->plain = plain_new(out, err, t->dir, go[0]))) {
		t->plain->argv[2] = script, t->plain->envp = envp;
		script = NULL; /* the struct has them until the task is reaped */
		envp = NULL;
		ne = 0;
		pid = plain_clone(t->plain);
		close(go[0]);
		if (pid < 0) {
			close(go[1]);
			plain_free(t->plain);
			t->plain = NULL;
		}
#endif
	} else {
		posix_spawn_file_actions_t fa;
		posix_spawnattr_t at;
		posix_spawn_file_actions_init(&fa);
		posix_spawnattr_init(&at);
		sigset_t none;
		sigemptyset(&none);
		posix_spawnattr_setsigmask(&at, &none);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
		posix_spawn_file_actions_addchdir_np(&fa, t->dir);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		posix_spawn_file_actions_adddup2(&fa, go[0], 3);
		if (posix_spawn(&pid, "/bin/sh", &fa, &at, argv, envp) != 0)
			pid = -1;
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&at);
		close(go[0]);
		if (pid < 0)
			close(go[1]);
	}
	free(script);
	for (int x = 0; x < ne; x++)
		free(envp[x]);
	free(envp);
	if (pid < 0) {
		not_started(R, i, why, cmd);
		return -1;
	}
	occupy(R, i);
	started(R, i, pid, go[1], cmd);
	return 0;
}

/* The status an adopted task wrote to .exit (as waitpid would), or -1. */
static int exit_file(const char *dir)
{
	char path[8300];
	snprintf(path, sizeof path, "%s/.exit", dir);
	char *s = read_small(path);
	if (!s)
		return -1;
	char *end;
	long v = strtol(s, &end, 10);
	int ok = end != s && *end == '\n';
	free(s);
	return ok ? (int)((v & 0xff) << 8) : -1;
}

/* The newest checkpoint task I has (into BEST, BN bytes) and its time, or -1. */
static double newest_checkpoint(runner *R, uint32_t i, char *best, size_t bn)
{
	rtask *t = &R->t[i];
	*best = 0;
	if (!json_is_true(json_object_get(t->j, "checkpoint")))
		return -1;
	char dir[8300];
	checkpoint_dir(R, i, dir, sizeof dir);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	double newest = -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[8600];
		struct stat sb;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (stat(path, &sb) == 0) {
			double m = (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec / 1e9;
			if (m > newest)
				newest = m, snprintf(best, bn, "%s", path);
		}
	}
	closedir(d);
	return newest;
}

/* Records the newest checkpoint task I has; returns its time (-1: none). */
static double note_checkpoint(runner *R, uint32_t i)
{
	char best[8600];
	double newest = newest_checkpoint(R, i, best, sizeof best);
	if (*best) {
		begin(R);
		pr_store_checkpoint(&R->store, R->run, R->t[i].id, R->t[i].attempt, best, newest);
	}
	return newest;
}

/* The tail of an attempt's stderr, for a failure message. */
static void stderr_tail(const char *dir, char *out, size_t n)
{
	char path[8300];
	snprintf(path, sizeof path, "%s/.stderr", dir);
	char *s = read_small(path);
	out[0] = 0;
	if (!s)
		return;
	size_t len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
		s[--len] = 0; /* the message ends the line itself */
	const char *tail = len > 300 ? s + len - 300 : s;
	snprintf(out, n, "%s", tail);
	free(s);
}

static void fail_or_retry(runner *R, uint32_t i, const char *why)
{
	rtask *t = &R->t[i];
	if (t->attempt < t->attempts && !R->cancelled) {
		transition(R, i, S_RETRYING, why);
		t->not_before = pr_now() + (double)t->backoff_ns / 1e9;
		return;
	}
	transition(R, i, S_FAILED, why);
}

static void finish(runner *R, uint32_t i, int status)
{
	rtask *t = &R->t[i];
	vacate(R, i);
	t->pid = 0;
	double checkpointed = note_checkpoint(R, i);
	begin(R);
	pr_store_finished(&R->store, R->run, t->id, t->attempt, pr_now(), WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	char why[1600], w[600], pids_note[128] = "";
	int oom = reap_cgroups(R, i, pids_note, sizeof pids_note); /* its cgroups go, cancelled or not */
	if (R->cancelled) {
		transition(R, i, S_CANCELLED, NULL);
		return;
	}
	if (oom && !t->timed_out) {
		char lim[32];
		pr_bytes_text(t->req.memory, lim, sizeof lim);
		snprintf(why, sizeof why, "%s ran out of memory: its limit is %s (resources: memory)", where(t, w, sizeof w), lim);
		if (checkpointed > t->checkpoint_before) {
			/* it wrote a checkpoint in this attempt: paused, and on again from it */
			size_t wl = strlen(why);
			snprintf(why + wl, sizeof why - wl, "; it goes on from its checkpoint");
			transition(R, i, S_PAUSED, why);
			t->attempts++;
			transition(R, i, S_READY, NULL);
			return;
		}
		fail_or_retry(R, i, why);
		return;
	}
	if (t->timed_out) {
		snprintf(why, sizeof why, "%s ran past its timeout", where(t, w, sizeof w));
		fail_or_retry(R, i, why);
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char tail[400];
		stderr_tail(t->dir, tail, sizeof tail);
		if (WIFSIGNALED(status))
			snprintf(why, sizeof why, "%s was killed by signal %d%s%s%s%s", where(t, w, sizeof w), WTERMSIG(status),
				 *pids_note ? " (" : "", pids_note, *pids_note ? ")" : "", *tail ? "; stderr: " : "");
		else
			snprintf(why, sizeof why, "%s exited with status %d%s%s%s%s", where(t, w, sizeof w), WEXITSTATUS(status),
				 *pids_note ? " (" : "", pids_note, *pids_note ? ")" : "", *tail ? "; stderr: " : "");
		size_t wl = strlen(why);
		snprintf(why + wl, sizeof why - wl, "%s", tail);
		fail_or_retry(R, i, why);
		return;
	}
	/* the finishing protocol: every output exists and parses, then hash and commit */
	json_t *outs = json_object();
	const char *name;
	json_t *decl;
	json_object_foreach(json_object_get(t->j, "outputs"), name, decl) {
		json_t *val = NULL;
		char reason[1000];
		const char *base = json_string_value(json_object_get(decl, "base"));
		if (check_output(t->dir, name, base ? base : "File", &val, reason, sizeof reason) < 0) {
			snprintf(why, sizeof why, "%s: %s", where(t, w, sizeof w), reason);
			json_decref(outs);
			fail_or_retry(R, i, why);
			return;
		}
		char path[8300], h[65];
		snprintf(path, sizeof path, "%s/%s", t->dir, name);
		hash_path(path, h);
		if (!json_is_string(val) || strcmp(json_string_value(val), path) != 0) {
			/* a scalar: its hash is of its value */
			char *txt = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
			unsigned char hb[32];
			crypto_generichash(hb, 32, (const unsigned char *)txt, strlen(txt), NULL, 0);
			hex_of(hb, h);
			free(txt);
		}
		json_t *o = json_object();
		json_object_set_new(o, "path", json_string(path));
		json_object_set_new(o, "hash", json_string(h));
		json_object_set_new(o, "value", val);
		json_object_set_new(outs, name, o);
		char *vtxt = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
		begin(R);
		pr_store_artifact(&R->store, R->run, t->id, name, path, h, vtxt);
		free(vtxt);
	}
	json_decref(t->outputs);
	t->outputs = outs;
	if (t->key[0]) {
		char *o = json_dumps(outs, JSON_COMPACT | JSON_SORT_KEYS);
		begin(R);
		pr_store_cache_put(&R->store, t->key, R->run, t->id, NULL, o); /* its parts are in keys */
		free(o);
	}
	transition(R, i, S_SUCCEEDED, NULL);
}

/* A task that was running when a runtime died, and ended without an exit
 * status: failed by the crash, and tried again (not counted against its retries). */
static void crashed(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	note_checkpoint(R, i);
	vacate(R, i);
	reap_cgroups(R, i, NULL, 0); /* its attempt's, left by the runtime that died */
	t->pid = 0;
	t->adopted = 0;
	t->attempts++;
	transition(R, i, S_RETRYING, "the runtime stopped while it ran and it left no exit status");
	t->not_before = pr_now();
}

/* ---- readiness ----------------------------------------------------------------------------- */

/* The cache key of a ready task (its inputs resolved as content hashes). */
/*
 * V with each path of an existing file or directory in it replaced by its
 * content hash (new); with CONSTS_ONLY (V is a plan expression), only the
 * paths in its constants.
 */
static json_t *by_content(runner *R, json_t *v, int consts_only)
{
	size_t k;
	const char *key;
	json_t *x, *r;
	if (json_is_array(v)) {
		r = json_array();
		json_array_foreach(v, k, x) json_array_append_new(r, by_content(R, x, consts_only));
		return r;
	}
	if (json_is_object(v)) {
		r = json_object();
		json_object_foreach(v, key, x) json_object_set_new(r, key, by_content(R, x, consts_only && strcmp(key, "const")));
		return r;
	}
	if (!consts_only && json_is_string(v) && json_string_value(v)[0] == '/') {
		char h[65];
		int ok = hash_path(json_string_value(v), h) == 0;
		if (!R->sources)
			R->sources = json_object();
		json_object_set_new(R->sources, json_string_value(v), json_string(ok ? h : ""));
		if (ok) {
			char tagged[80];
			snprintf(tagged, sizeof tagged, "content:%s", h);
			return json_string(tagged);
		}
	}
	return json_incref(v);
}

static void cache_key(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	if (!json_is_true(json_object_get(t->j, "cache")))
		return;
	json_t *parts = json_object();
	json_object_set_new(parts, "format", json_integer(1));
	json_object_set(parts, "stage", json_object_get(t->j, "stage"));
	json_object_set(parts, "module", json_object_get(t->j, "module"));
	/* an element of a run-time for's list is a constant of its instance's command */
	json_object_set_new(parts, "command", by_content(R, json_object_get(t->j, "command"), 1));
	json_object_set(parts, "image", json_object_get(t->j, "image"));
	json_object_set(parts, "env", json_object_get(t->j, "env"));
	json_object_set(parts, "outputs", json_object_get(t->j, "outputs"));
	json_t *ins = json_object();
	const char *k;
	json_t *in;
	json_object_foreach(json_object_get(t->j, "inputs"), k, in) {
		int missing = 0;
		json_t *v = eval(R, json_object_get(in, "value"), 1, &missing);
		/* a File or Dir given by its path (a parameter, an element of a run-time
		 * for's list) counts by its content, as task outputs do */
		const char *type = json_string_value(json_object_get(in, "type"));
		if (v && type && (strstr(type, "File") || strstr(type, "Dir"))) {
			json_t *c = by_content(R, v, 0);
			json_decref(v);
			v = c;
		}
		json_object_set_new(ins, k, v ? v : json_null());
	}
	json_object_set_new(parts, "inputs", ins);
	char *text = json_dumps(parts, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned char h[32];
	crypto_generichash(h, 32, (const unsigned char *)text, strlen(text), NULL, 0);
	hex_of(h, t->key);
	free(t->parts);
	t->parts = text;
	json_decref(parts);
}

/* Everything task I waited for has ended: decide what becomes of it. */
static void consider(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	if (t->st != S_PENDING || R->cancelled)
		return;
	size_t k;
	json_t *x;
	if (t->group) { /* a task inside a run-time for: it runs as its instances */
		json_t *sc = json_object_get(t->j, "scatter");
		const char *sid = json_string_value(json_array_get(sc, 0));
		json_t *group = json_object_get(t->j, "group");
		if (!group) {
			int missing = 0;
			json_t *list = scatter_list(R, sid, &missing);
			if (!list) {
				transition(R, i, S_SKIPPED, "the list its for goes over did not come");
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
				bad += !ix || !ok_state(R->t[json_integer_value(ix)].st);
			}
			char msg[128];
			snprintf(msg, sizeof msg, "%zu of its %zu instances did not succeed", bad, json_array_size(group));
			transition(R, i, bad ? S_SKIPPED : S_SUCCEEDED, bad ? msg : NULL);
		}
		return;
	}
	json_t *fb = json_object_get(t->j, "fallback_of");
	if (json_array_size(fb)) {
		int all_ok = 1;
		json_array_foreach(fb, k, x) {
			json_t *ix = json_object_get(R->index, json_string_value(x));
			all_ok &= ix && ok_state(R->t[json_integer_value(ix)].st);
		}
		if (all_ok) {
			transition(R, i, S_SKIPPED, "not needed: what it is the fallback of succeeded");
			return;
		}
	}
	json_array_foreach(json_object_get(t->j, "after"), k, x) {
		json_t *ix = json_object_get(R->index, json_string_value(x));
		if (!ix || !ok_state(R->t[json_integer_value(ix)].st)) {
			transition(R, i, S_SKIPPED, "a task it runs after did not succeed");
			return;
		}
	}
	json_array_foreach(json_object_get(t->j, "when"), k, x) {
		int missing = 0;
		json_t *c = eval(R, json_object_get(x, "expr"), 0, &missing);
		int holds = c && json_equal(c, json_object_get(x, "is"));
		json_decref(c);
		if (missing || !holds) {
			transition(R, i, S_SKIPPED, missing ? "its condition's inputs did not succeed" : "branch not taken");
			return;
		}
	}
	json_decref(t->inputs);
	t->inputs = json_object();
	const char *name;
	json_t *in;
	json_object_foreach(json_object_get(t->j, "inputs"), name, in) {
		int missing = 0;
		json_t *v = eval(R, json_object_get(in, "value"), 0, &missing);
		if (missing) {
			json_decref(v);
			transition(R, i, S_SKIPPED, "an input did not succeed");
			return;
		}
		json_object_set_new(t->inputs, name, v ? v : json_null());
	}
	json_array_foreach(json_object_get(t->j, "checks"), k, x) {
		int missing = 0;
		json_t *c = eval(R, json_object_get(x, "expr"), 0, &missing);
		int holds = c && json_is_true(c);
		json_decref(c);
		if (!holds) {
			char why[600];
			snprintf(why, sizeof why, "stage '%s' requires %s, which does not hold", t->stage,
				 json_string_value(json_object_get(x, "constraint")));
			transition(R, i, S_FAILED, why);
			return;
		}
	}
	cache_key(R, i);
	transition(R, i, S_READY, NULL);
	dirty(R, i, 1); /* its inputs and key go into its row with the commit */
}

static void notify(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	for (uint32_t k = 0; k < t->nusers; k++) {
		rtask *u = &R->t[t->users[k]];
		if (u->pending && --u->pending == 0)
			consider(R, t->users[k]);
	}
}

/* A ready task: from the cache if its results are there, else started. */
static int try_cache(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	if (!t->key[0])
		return 0;
	char *o = pr_store_cache_get(&R->store, t->key);
	if (!o)
		return 0;
	json_t *outs = json_loads(o, 0, NULL);
	free(o);
	if (!outs)
		return 0;
	const char *name;
	json_t *out;
	int present = 1;
	json_object_foreach(outs, name, out) {
		struct stat sb;
		present &= stat(json_string_value(json_object_get(out, "path")), &sb) == 0;
	}
	if (!present) {
		json_decref(outs);
		return 0;
	}
	json_decref(t->outputs);
	t->outputs = outs;
	begin(R);
	json_object_foreach(outs, name, out) {
		char *v = json_dumps(json_object_get(out, "value"), JSON_ENCODE_ANY | JSON_COMPACT);
		pr_store_artifact(&R->store, R->run, t->id, name, json_string_value(json_object_get(out, "path")),
				  json_string_value(json_object_get(out, "hash")), v);
		free(v);
	}
	transition(R, i, S_CACHED, NULL);
	return 1;
}

/* ---- the loop ----------------------------------------------------------------------------------- */

/*
 * Each task's longest remaining path (in tasks, itself included) to the end
 * of the DAG, from the ends backwards: the scheduler's order after priority.
 */
static void critical_paths(runner *R)
{
	uint32_t *left = malloc((R->n + 1) * sizeof *left), *queue = malloc((R->n + 1) * sizeof *queue);
	uint32_t head = 0, tail = 0;
	for (uint32_t i = 0; i < R->n; i++) {
		left[i] = R->t[i].nusers;
		R->t[i].remaining = 1;
		if (!left[i])
			queue[tail++] = i;
	}
	while (head < tail) {
		rtask *t = &R->t[queue[head++]];
		for (uint32_t k = 0; k < t->nwaits; k++) {
			rtask *w = &R->t[t->waits[k]];
			if (w->remaining < t->remaining + 1)
				w->remaining = t->remaining + 1;
			if (--left[t->waits[k]] == 0)
				queue[tail++] = t->waits[k];
		}
	}
	free(left);
	free(queue);
}

/* Task I's fields from its JSON (R->t[I].j); 0, or -1 with *ERR. */
static int init_task(runner *R, uint32_t i, char **err)
{
	rtask *t = &R->t[i];
	t->dir = no_dir;
	t->id = json_string_value(json_object_get(t->j, "id"));
	t->stage = json_string_value(json_object_get(t->j, "stage"));
	if (!t->id || !t->stage) {
		*err = strdup("a task of the plan has no id or stage");
		return -1;
	}
	json_object_set_new(R->index, t->id, json_integer(i));
	t->go_fd = t->mnt_fd = -1;
	json_t *retry = json_object_get(t->j, "retry");
	t->attempts = 1 + (int)json_integer_value(json_object_get(retry, "attempts"));
	t->backoff_ns = json_integer_value(json_object_get(retry, "backoff_ns"));
	t->timeout_ns = json_integer_value(json_object_get(t->j, "timeout_ns"));
	t->priority = json_integer_value(json_object_get(t->j, "priority"));
	json_t *res = json_object_get(t->j, "resources");
	t->req.cpu = json_number_value(json_object_get(res, "cpu"));
	t->req.gpu = json_number_value(json_object_get(res, "gpu"));
	t->req.memory = json_number_value(json_object_get(res, "memory"));
	t->req.gpu_memory = json_number_value(json_object_get(res, "gpu_memory"));
	t->req.gpu_type = json_string_value(json_object_get(res, "gpu_type"));
	t->group = json_array_size(json_object_get(t->j, "scatter")) > 0;
	return 0;
}

/*
 * Makes task I wait for task D, D know I waits; 1, or 0 when I already does
 * (D's mark is the last task that added it, and a task's waits are added
 * together, so a repeated dep is found without a search of I's waits: a
 * sink of 100k tasks would take seconds).
 */
static int add_wait(runner *R, uint32_t i, uint32_t d)
{
	rtask *t = &R->t[i];
	if (R->t[d].marked_by == i + 1)
		return 0;
	R->t[d].marked_by = i + 1;
	if (t->nwaits == t->capwaits) {
		t->capwaits = t->capwaits ? 2 * t->capwaits : 4;
		t->waits = realloc(t->waits, t->capwaits * sizeof *t->waits);
	}
	t->waits[t->nwaits++] = d;
	rtask *u = &R->t[d];
	if (u->nusers == u->capusers) {
		u->capusers = u->capusers ? 2 * u->capusers : 4;
		u->users = realloc(u->users, u->capusers * sizeof *u->users);
	}
	u->users[u->nusers++] = i;
	return 1;
}

/* Task I's waits from its deps, after, fallback_of and (an expanded run-time for) group. */
static int link_task(runner *R, uint32_t i, char **err)
{
	static const char *const kinds[] = {"deps", "after", "fallback_of", "group"};
	rtask *t = &R->t[i];
	for (int k = 0; k < 4; k++) {
		size_t j;
		json_t *x;
		json_array_foreach(json_object_get(t->j, kinds[k]), j, x) {
			json_t *ix = json_object_get(R->index, json_string_value(x));
			if (!ix) {
				char msg[512];
				snprintf(msg, sizeof msg, "task %s waits for %s, which the plan does not have", t->id,
					 json_string_value(x));
				*err = strdup(msg);
				return -1;
			}
			add_wait(R, i, (uint32_t)json_integer_value(ix));
		}
	}
	t->pending = t->nwaits;
	return 0;
}

/* The end of the JSON value at P (before END), skipped as text; NULL if it is cut short. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;
	for (; p < end; p++) {
		char c = *p;
		if (c == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= end)
				return NULL;
			if (!depth)
				return p + 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth <= 0)
				return depth < 0 ? NULL : p + 1;
		} else if (!depth && (c == ',' || c == '}' || c == ']')) {
			return p;
		} else if (!depth && c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != ':') {
			/* a number or a literal: up to the next delimiter */
			while (p < end && !strchr(",}] \n\t\r", *p))
				p++;
			return p;
		}
	}
	return NULL;
}

/*
 * Reads the plan with its tasks one at a time, so that what many tasks
 * share (a stage's outputs, resources, retry, env, sandbox; a file name)
 * is kept once: jansson spends some 8 KiB on a task, most of it on these.
 * Returns the plan, or NULL when TEXT is not a JSON object with a top-level
 * "tasks" array (the caller then reads it whole and says what is wrong).
 */
static json_t *load_shared(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	while (p < end && strchr(" \n\t\r", *p))
		p++;
	if (p >= end || *p != '{')
		return NULL;
	p++;
	const char *tasks_at = NULL, *tasks_end = NULL;
	for (;;) { /* the top-level keys, to find "tasks" */
		while (p < end && strchr(" \n\t\r,", *p))
			p++;
		if (p >= end || *p == '}')
			break;
		const char *key = p, *kend = skip_value(p, end);
		if (!kend || *key != '"')
			return NULL;
		p = kend;
		while (p < end && strchr(" \n\t\r:", *p))
			p++;
		const char *v = p, *vend = skip_value(p, end);
		if (!vend)
			return NULL;
		if (kend - key == 7 && !strncmp(key, "\"tasks\"", 7) && *v == '[')
			tasks_at = v, tasks_end = vend;
		p = vend;
	}
	if (!tasks_at)
		return NULL;
	/* the plan without its tasks, then each task */
	size_t head = (size_t)(tasks_at - text), tail = (size_t)(end - tasks_end);
	char *rest = malloc(head + 2 + tail + 1);
	memcpy(rest, text, head);
	memcpy(rest + head, "[]", 2);
	memcpy(rest + head + 2, tasks_end, tail);
	json_t *plan = json_loadb(rest, head + 2 + tail, 0, NULL);
	free(rest);
	json_t *tasks = json_object_get(plan, "tasks");
	if (!json_is_array(tasks)) {
		json_decref(plan);
		return NULL;
	}
	static const char *const shared[] = {"env", "outputs", "resources", "retry", "sandbox", "after", "fallback_of", "deps",
					     "checks", "module", "stage", "when", "scatter"};
	enum { NSHARED = sizeof shared / sizeof shared[0] };
	json_t *last[NSHARED + 1] = {0}; /* the last task's values, and its file name */
	p = tasks_at + 1;
	for (;;) {
		while (p < tasks_end && strchr(" \n\t\r,", *p))
			p++;
		if (p >= tasks_end - 1)
			break;
		json_error_t je;
		json_t *t = json_loadb(p, (size_t)(tasks_end - p), JSON_DISABLE_EOF_CHECK, &je);
		if (!json_is_object(t)) {
			json_decref(t);
			json_decref(plan);
			return NULL;
		}
		p += je.position;
		for (int k = 0; k < NSHARED; k++) {
			json_t *v = json_object_get(t, shared[k]);
			if (v && last[k] && v != last[k] && json_equal(v, last[k]))
				json_object_set(t, shared[k], last[k]);
			else if (v)
				last[k] = v;
		}
		json_t *loc = json_object_get(t, "loc"), *file = json_object_get(loc, "file");
		if (file && last[NSHARED] && json_equal(file, last[NSHARED]))
			json_object_set(loc, "file", last[NSHARED]);
		else if (file)
			last[NSHARED] = file;
		json_array_append_new(tasks, t);
	}
	return plan;
}

static int load(runner *R, const char *text, size_t len, char **err)
{
	json_error_t je;
	R->plan = load_shared(text, len);
	if (!R->plan)
		R->plan = json_loadb(text, len, 0, &je);
	if (!R->plan) {
		char msg[512];
		snprintf(msg, sizeof msg, "the plan is not JSON: %s at line %d", je.text, je.line);
		*err = strdup(msg);
		return -1;
	}
	if (json_integer_value(json_object_get(R->plan, "pipec_plan")) != 1) {
		*err = strdup("not a pipec plan of version 1 (pipec_plan: 1)");
		return -1;
	}
	json_t *tasks = json_object_get(R->plan, "tasks");
	R->n = (uint32_t)json_array_size(tasks);
	R->cap = R->n + 1;
	R->t = calloc(R->cap, sizeof *R->t);
	R->index = json_object();
	for (uint32_t i = 0; i < R->n; i++) {
		R->t[i].j = json_array_get(tasks, i);
		if (init_task(R, i, err) < 0)
			return -1;
	}
	R->heap = calloc(R->cap, sizeof *R->heap);
	for (uint32_t i = 0; i < R->n; i++)
		if (link_task(R, i, err) < 0)
			return -1;
	critical_paths(R);
	return 0;
}

/* ---- run-time for ------------------------------------------------------------------- */

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
		if (!ix || json_object_get(R->t[json_integer_value(ix)].j, "instance_of"))
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
	json_t *sc = json_object_get(R->t[json_integer_value(ix)].j, "scatter");
	return json_array_size(sc) >= 1 && !strcmp(json_string_value(json_array_get(sc, 0)), sid);
}

/*
 * For element K (ELEM) of run-time for SID: the name of run-time for X when
 * X is inside SID — its own for each element, "X@K", made in the plan's
 * scatters with its list's expression for that element — or NULL.  New string.
 */
static char *inner_for(runner *R, const char *x, const char *sid, size_t k, json_t *elem)
{
	json_t *scs = json_object_get(R->plan, "scatters"), *sc = json_object_get(scs, x);
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
		json_object_set_new(n, "over", for_element(R, json_object_get(sc, "over"), sid, k, elem));
		json_array_foreach(json_object_get(sc, "within"), i, w) {
			if (!strcmp(json_string_value(w), sid))
				continue;
			char *r = inner_for(R, json_string_value(w), sid, k, elem);
			json_array_append_new(within, json_string(r ? r : json_string_value(w)));
			free(r);
		}
		json_object_set_new(n, "within", within);
		json_object_set_new(scs, name, n);
	}
	return name;
}

/* Plan value E for element K (ELEM) of run-time for SID: its item, and its tasks' K-th instances (new). */
static json_t *for_element(runner *R, json_t *e, const char *sid, size_t k, json_t *elem)
{
	if (json_is_array(e)) {
		json_t *r = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(e, i, x) json_array_append_new(r, for_element(R, x, sid, k, elem));
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
				      ? inner_for(R, json_string_value(v), sid, k, elem) : NULL;
		if (inner) { /* a run-time for inside this one: this element's own */
			json_object_set_new(r, key, json_string(inner));
			free(inner);
		} else if (!strcmp(key, "ref") && in_scatter(R, json_string_value(v), sid)) {
			char *id = instance_id(R, json_string_value(v), k);
			json_object_set_new(r, key, json_string(id));
			free(id);
		} else {
			json_object_set_new(r, key, for_element(R, v, sid, k, elem));
		}
	}
	return r;
}

/* The list run-time for SID goes over, now (NULL when its tasks did not succeed). */
static json_t *scatter_list(runner *R, const char *sid, int *missing)
{
	json_t *over = json_object_get(json_object_get(json_object_get(R->plan, "scatters"), sid), "over");
	json_t *list = over ? eval(R, over, 0, missing) : NULL;
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
 * instances are added to the plan kept in the store in the same
 * transaction as their first events, so a resume has them.
 */
static void expand(runner *R, const char *sid)
{
	int missing = 0;
	json_t *list = scatter_list(R, sid, &missing);
	if (!list)
		return;
	json_t *tasks = json_object_get(R->plan, "tasks");
	uint32_t n0 = R->n;
	size_t nel = json_array_size(list);
	for (uint32_t i = 0; i < n0; i++) {
		if (!in_scatter(R, R->t[i].id, sid) || json_object_get(R->t[i].j, "group"))
			continue;
		json_t *group = json_array();
		for (size_t k = 0; k < nel; k++) {
			json_t *inst = for_element(R, R->t[i].j, sid, k, json_array_get(list, k));
			/* its other run-time fors, inside this one: this element's own */
			json_t *rest = json_array();
			size_t x;
			json_t *other;
			json_array_foreach(json_object_get(R->t[i].j, "scatter"), x, other) {
				char *inner = x ? inner_for(R, json_string_value(other), sid, k, json_array_get(list, k)) : NULL;
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
		init_task(R, i, &err);
	}
	for (uint32_t i = n0; i < n; i++) {
		if (link_task(R, i, &err) < 0) /* a dep the plan lacks: as load() would say */
			R->t[i].nwaits = R->t[i].pending = 0;
		R->t[i].pending = 0;
		for (uint32_t k = 0; k < R->t[i].nwaits; k++)
			R->t[i].pending += !terminal(R->t[R->t[i].waits[k]].st);
	}
	free(err);
	for (uint32_t i = 0; i < n0; i++) {
		size_t k;
		json_t *x;
		if (!in_scatter(R, R->t[i].id, sid))
			continue;
		json_array_foreach(json_object_get(R->t[i].j, "group"), k, x) {
			uint32_t d = (uint32_t)json_integer_value(json_object_get(R->index, json_string_value(x)));
			R->t[d].remaining = R->t[i].remaining;
			R->t[i].pending += add_wait(R, i, d);
		}
	}
	begin(R);
	for (uint32_t i = n0; i < n; i++) {
		pr_store_new_task(&R->store, R->run, R->t[i].id, R->t[i].stage);
	}
	char *plan = json_dumps(R->plan, JSON_COMPACT);
	pr_store_plan(&R->store, R->run, plan);
	free(plan);
	for (uint32_t i = 0; i < n; i++) /* the instances that can go, and templates of an empty list */
		if (R->t[i].pending == 0 && R->t[i].st == S_PENDING && (i >= n0 || in_scatter(R, R->t[i].id, sid)))
			consider(R, i);
}

static void cancel_all(runner *R)
{
	R->cancelled = 1;
	for (uint32_t i = 0; i < R->n; i++)
		if (R->t[i].st == S_RUNNING && R->t[i].pid > 0)
			kill(-R->t[i].pid, SIGKILL);
	for (uint32_t i = 0; i < R->n; i++)
		if (R->t[i].parked)
			unpark(R, i);
		else if ((R->t[i].st == S_PENDING || R->t[i].st == S_READY || R->t[i].st == S_RETRYING) && !R->t[i].spawning)
			transition(R, i, S_CANCELLED, "the run was cancelled"); /* one being started is killed once it is */
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

/* The loop: start what is ready, wait for children, signals and timers. */
static void drive(runner *R)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGRTMIN + 2); /* a standing shell said something */
	sigaddset(&set, SIGIO);        /* ... when too many such signals were queued */
	sigset_t old, with_pipe = set;
	sigaddset(&with_pipe, SIGPIPE); /* a standing shell gone: EPIPE, not SIGPIPE */
	sigprocmask(SIG_BLOCK, &with_pipe, &old);
	make_run_dir(R);
	/* what the setup wrote is committed here; the loop's commits go to a writer thread */
	commit(R);
	if (!pr_store_failed(&R->store))
		pr_store_async(&R->store, 1);
	for (;;) {
		/* run-time fors whose lists came: their instances join the run */
		while (json_array_size(R->expand) && !R->cancelled) {
			char *sid = strdup(json_string_value(json_array_get(R->expand, 0)));
			json_array_remove(R->expand, 0);
			expand(R, sid);
			free(sid);
		}
		/* start what can start, highest priority first; cached ones need no slot */
		while (R->nheap && !R->cancelled) {
			uint32_t top = R->heap[0];
			rtask *t = &R->t[top];
			if (t->st != S_READY) {
				heap_pop(R);
				continue;
			}
			if (!t->cache_checked) {
				t->cache_checked = 1;
				if (try_cache(R, top)) {
					heap_pop(R);
					if (pr_store_pending(&R->store) > 1024)
						commit(R); /* many cached at once: in batches, not all in memory */
					continue;
				}
			}
			if (R->running >= R->jobs)
				break;
			char why[2048];
			if (never_fits(R, top, why, sizeof why)) {
				heap_pop(R);
				transition(R, top, S_ERROR, why);
				continue;
			}
			if (pr_place_now(&R->nodes, &R->t[top].req, &R->t[top].place) < 0)
				break; /* it waits for running tasks to give back what it needs, first in line */
			heap_pop(R);
			if (t->parked) { /* its shell waits already */
				go_parked(R, top);
			} else if (t->spawning) { /* its shell is being started: it runs once it is */
				R->nparked--;
				occupy(R, top);
				t->go_on_spawn = 1;
			} else {
				start(R, top, 0);
			}
		}
		/* the running and retrying tasks: timers, adoption */
		uint32_t k = 0;
		double wake = 0;
		int more = R->nheap > 0 && !R->cancelled; /* a cancelled run starts nothing more */
		for (uint32_t j = 0; j < R->nactive; j++) {
			uint32_t i = R->active[j];
			rtask *t = &R->t[i];
			if (t->st != S_RUNNING && t->st != S_RETRYING) {
				t->in_active = 0;
				continue;
			}
			R->active[k++] = i;
			if (t->st == S_RETRYING && (!wake || t->not_before < wake))
				wake = t->not_before, more = 1;
			if (t->st == S_RUNNING && t->deadline && (!wake || t->deadline < wake))
				wake = t->deadline;
			if (t->st == S_RUNNING && t->adopted && (!wake || wake > pr_now() + 0.1))
				wake = pr_now() + 0.1;
		}
		R->nactive = k;
		commit(R);
		park_ahead(R); /* after the commit: the go-aheads of the tasks started above do not wait for it */
		if (store_broken(R))
			cancel_all(R);
		if (json_array_size(R->expand) && !R->cancelled)
			continue; /* a run-time for to expand: no waiting */
		if (!R->running && !more)
			break;
		view_draw(R);
		/* wait for a child, a signal, or the next timer */
		struct timespec ts = {1, 0};
		if (R->live && R->running && (!wake || wake > pr_now() + 0.25))
			wake = pr_now() + 0.25; /* keep the elapsed times moving */
		if (wake) {
			double d = wake - pr_now();
			if (d < 0)
				d = 0;
			ts.tv_sec = (time_t)d;
			ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
		}
		siginfo_t si;
		int sig = R->running || wake ? sigtimedwait(&set, &si, &ts) : -1;
		struct timespec zero = {0, 0};
		for (int more_sig = sig; more_sig > 0; more_sig = sigtimedwait(&set, &si, &zero))
			if (more_sig == SIGINT || more_sig == SIGTERM) /* what else came: all is looked at below */
				sig = more_sig;
		if (sig == SIGINT || sig == SIGTERM)
			cancel_all(R);
		spawns_done(R);
		pid_t pid;
		int status;
		uint32_t nact = R->nactive; /* finish() may append: look at the ones we had */
		shells_read(R);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (shell_gone(R, pid, status))
				continue;
			uint32_t j = 0;
			for (; j < nact; j++) {
				uint32_t i = R->active[j];
				if (R->t[i].pid == pid && R->t[i].st == S_RUNNING && !R->t[i].adopted) {
					finish(R, i, status);
					break;
				}
			}
			if (j == nact && R->sp_n) /* maybe a task a spawner started, not yet known here: kept */
				R->lost[R->nlost++ % 64] = (struct lost){pid, status};
		}

		double now = pr_now();
		for (uint32_t j = 0; j < nact; j++) {
			uint32_t i = R->active[j];
			rtask *t = &R->t[i];
			if (t->st == S_RUNNING && t->adopted) {
				/* not our child: its .exit says when it ends */
				int st = exit_file(t->dir);
				if (st >= 0)
					finish(R, i, st);
				else if (kill(-t->pid, 0) != 0 && errno == ESRCH)
					crashed(R, i);
				continue;
			}
			if (t->st == S_RUNNING && t->deadline && now >= t->deadline && !t->timed_out) {
				t->timed_out = 1;
				kill(-t->pid, SIGKILL);
			}
			if (t->st == S_RETRYING && now >= t->not_before)
				transition(R, i, S_READY, NULL);
		}
	}
	R->pool = 0;
	shells_stop(R);
	spawners_stop(R);
	pr_store_async(&R->store, 0); /* its last commit */
	store_broken(R);
	view_erase(R);
	/*
	 * What is still pending and only meant for the loop goes: a SIGPIPE a
	 * gone shell raised, a child's SIGCHLD, and a standing shell's last word
	 * (its signal queued after the loop had read it): unblocked, that one's
	 * default action would end the process.  The shells' sockets are closed:
	 * no more come.  SIGINT and SIGTERM stay.
	 */
	struct timespec none = {0, 0};
	sigset_t loop_only;
	sigemptyset(&loop_only);
	sigaddset(&loop_only, SIGPIPE);
	sigaddset(&loop_only, SIGCHLD);
	sigaddset(&loop_only, SIGRTMIN + 2);
	sigaddset(&loop_only, SIGIO);
	while (sigtimedwait(&loop_only, NULL, &none) > 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void free_runner(runner *R)
{
	if (R->exiting) { /* the process ends next: only what outlives it is let go */
		pr_sandbox_free(&R->sb);
		return;
	}
	pr_sandbox_end(&R->sb);
	for (uint32_t i = 0; R->t && i < R->n; i++) {
		free(R->t[i].waits);
		free(R->t[i].users);
		free(R->t[i].parts);
		if (R->t[i].dir != no_dir)
			free(R->t[i].dir);
		json_decref(R->t[i].inputs);
		json_decref(R->t[i].outputs);
	}
	free(R->t);
	free(R->heap);
	free(R->active);
	free(R->dirty);
	pr_nodes_free(&R->nodes);
	json_decref(R->index);
	json_decref(R->plan);
	json_decref(R->expand);
	json_decref(R->sources);
}

/* ---- a run that repeats an earlier one ------------------------------------------------- */

/*
 * A run may be repeated by a later run of the same plan (try_replay())
 * when it succeeded, no task in it failed, and every task that ran put its
 * result in the cache: a new run of its plan would then take each task
 * from the cache, as long as the cache still has those results, their
 * files are there, and the files outside the store whose content went into
 * its keys are unchanged.  Such a run keeps its replay record: its result,
 * its counts and those files' hashes.  Not a resumed run: its keys were
 * made by more than one process.
 */
static void keep_replay(runner *R, const pr_summary *sum)
{
	if (R->resumed || strcmp(sum->status, "succeeded") || sum->failed || sum->error || sum->cancelled)
		return;
	for (uint32_t i = 0; i < R->n; i++) {
		rtask *t = &R->t[i];
		if (t->st == S_SUCCEEDED && !t->group && !t->key[0])
			return; /* it ran, and runs again each time: its stage is not cached */
		if (t->st != S_SUCCEEDED && t->st != S_CACHED && t->st != S_SKIPPED)
			return;
	}
	json_t *info = json_pack("{s:s, s:i, s:i, s:i, s:o}", "result", sum->result, "succeeded", sum->succeeded,
				 "cached", sum->cached, "skipped", sum->skipped, "sources",
				 R->sources ? json_incref(R->sources) : json_object());
	char *text = json_dumps(info, JSON_COMPACT);
	pr_store_replayable(&R->store, R->run, text);
	free(text);
	json_decref(info);
}

/* The summary of a run that repeats the run whose replay record is INFO. */
static void replay_summary(json_t *info, pr_summary *sum)
{
	sum->status = "succeeded";
	sum->cached = (int)(json_integer_value(json_object_get(info, "succeeded")) +
			    json_integer_value(json_object_get(info, "cached")));
	sum->skipped = (int)json_integer_value(json_object_get(info, "skipped"));
	const char *result = json_string_value(json_object_get(info, "result"));
	sum->result = strdup(result ? result : "null");
}

/*
 * When the plan (its text, KEY) is that of an earlier run that can be
 * repeated and nothing it depends on changed, the run is recorded as
 * repeating it, every task cached, without loading the plan: returns 1
 * with *SUM.  Otherwise 0, and the run goes on as any other.
 */
static int try_replay(runner *R, const char *key, pr_summary *sum)
{
	long base = 0;
	char *text = pr_store_replay_base(&R->store, key, &base);
	json_t *info = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (!info)
		return 0;
	const char *path;
	json_t *was;
	int same = 1;
	json_object_foreach(json_object_get(info, "sources"), path, was) {
		char h[65];
		if (strcmp(hash_path(path, h) == 0 ? h : "", json_string_value(was) ? json_string_value(was) : "")) {
			same = 0;
			break;
		}
	}
	if (!same || pr_store_replay_valid(&R->store, base) < 0 || (R->run = pr_store_replay_run(&R->store, base, R->began)) < 0) {
		R->run = 0;
		json_decref(info);
		return 0;
	}
	replay_summary(info, sum);
	sum->run = R->run;
	json_decref(info);
	if (R->log) {
		/* what a run taking each task from the cache would say */
		sqlite3_stmt *q;
		if (!R->live && sqlite3_prepare_v2(R->store.db, "SELECT id, state FROM tasks WHERE run = ? AND (state = 'skipped'"
							 " OR coalesce(cache_key, '') <> '') ORDER BY rowid", -1, &q, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(q, 1, base);
			while (sqlite3_step(q) == SQLITE_ROW)
				fprintf(R->log, "%-10s %s\n", strcmp((const char *)sqlite3_column_text(q, 1), "skipped") ? "cached" : "skipped",
					(const char *)sqlite3_column_text(q, 0));
			sqlite3_finalize(q);
		}
		fprintf(R->log, "pipec: run %ld repeats run %ld: the same plan, and every result it needs is in the cache\n",
			R->run, base);
	}
	return 1;
}

/* Counts, status and result of the run; closes the store. */
static int outcome(runner *R, pr_summary *sum)
{
	int bad = 0;
	for (uint32_t i = 0; i < R->n; i++) {
		rtask *t = &R->t[i];
		if (t->group && t->st != S_ERROR)
			continue; /* counted as its instances */
		switch (t->st) {
		case S_SUCCEEDED: sum->succeeded++; break;
		case S_CACHED: sum->cached++; break;
		case S_SKIPPED: sum->skipped++; break;
		case S_CANCELLED: sum->cancelled++; break;
		case S_FAILED: case S_ERROR: {
			t->st == S_FAILED ? sum->failed++ : sum->error++;
			/* a failure a fallback made good does not fail the run */
			int handled = 0;
			for (uint32_t u = 0; u < t->nusers && !handled; u++) {
				rtask *f = &R->t[t->users[u]];
				size_t k;
				json_t *x;
				json_array_foreach(json_object_get(f->j, "fallback_of"), k, x)
					handled |= !strcmp(json_string_value(x), t->id) && ok_state(f->st);
			}
			bad |= !handled;
			break;
		}
		default: break;
		}
	}
	sum->status = R->cancelled ? "cancelled" : bad ? "failed" : "succeeded";
	int missing = 0;
	json_t *result = eval(R, json_object_get(R->plan, "result"), 0, &missing);
	sum->result = json_dumps(result ? result : json_null(), JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(result);
	if (!R->store_failed) { /* else it stays "running": a resume finishes it */
		begin(R);
		pr_store_finish_run(&R->store, R->run, sum->status);
		keep_replay(R, sum);
		commit(R);
	}
	pr_store_finalize(&R->store);
	pr_store_close(&R->store);
	int broken = R->store_failed;
	free_runner(R);
	return broken ? 2 : strcmp(sum->status, "succeeded") == 0 ? 0 : 1;
}

/* ROOT, the absolute .pipec, and TAG, a short hash of it. */
static void set_root(runner *R)
{
	if (!realpath(R->store.dir, R->root))
		snprintf(R->root, sizeof R->root, "%s", R->store.dir);
	unsigned char h[8];
	crypto_generichash(h, sizeof h, (const unsigned char *)R->root, strlen(R->root), NULL, 0);
	sodium_bin2hex(R->tag, sizeof R->tag, h, sizeof h);
}

/*
 * The run's work directory, STATE/.pipec/work/RUN, made before its tasks'.
 * It and work/ are marked "top of a directory hierarchy" (FS_TOPDIR_FL)
 * where the filesystem has the flag (ext4): the attempts' directories are
 * unrelated trees, and ext4 then spreads them over its block groups
 * instead of packing each run's into the groups the last run's, just
 * deleted, filled — where, without a journal, it looks at every recently
 * deleted inode before each new one.  Elsewhere the ioctl fails, harmlessly.
 */
static void make_run_dir(runner *R)
{
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/work/%ld", R->root, R->run);
	if (mkdirs(dir) < 0)
		return; /* each attempt says so when its own directory cannot be made */
	for (int k = 0; k < 2; k++) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int flags;
		if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && !(flags & FS_TOPDIR_FL)) {
			flags |= FS_TOPDIR_FL;
			ioctl(fd, FS_IOC_SETFLAGS, &flags);
		}
		if (fd >= 0)
			close(fd);
		*strrchr(dir, '/') = 0;
	}
}

/* What pr_run() and pr_resume() begin with: the options, the sandbox, and the nodes tasks run on. */
static int setup(runner *R, const pr_options *opt, pr_summary *sum, char **err)
{
	memset(sum, 0, sizeof *sum);
	*err = NULL;
	if (sodium_init() < 0) {
		*err = strdup("libsodium could not be initialized");
		return -1;
	}
	R->jobs = opt->jobs > 0 ? opt->jobs : 1;
	R->log = opt->log;
	R->exiting = opt->exiting;
	R->live = opt->log && opt->live;
	R->began = pr_now();
	pr_sandbox_probe(&R->sb, !opt->no_sandbox);
	R->pool = !R->sb.on && proc_fds_open(); /* a standing shell reads a task's script through /proc */
	if (R->sb.missing[0])
		fprintf(stderr, "pipec: the sandbox here is partial: %s\n", R->sb.missing);
	if (!opt->nodes) {
		pr_nodes_local(&R->nodes);
		return 0;
	}
	return pr_nodes_from_json(&R->nodes, opt->nodes, err);
}

int pr_run(const char *plan, size_t len, const pr_options *opt, pr_summary *sum, char **err)
{
	runner r = {0}, *R = &r;
	if (setup(R, opt, sum, err) < 0)
		return 2;
	const char *state = opt->state_dir ? opt->state_dir : ".";
	char key[65];
	pr_plan_key(plan, len, key);
	if (pr_store_open(&R->store, state, err) < 0) {
		free_runner(R);
		return 2;
	}
	if (try_replay(R, key, sum)) {
		pr_store_close(&R->store);
		free_runner(R);
		return 0;
	}
	if (load(R, plan, len, err) < 0) {
		pr_store_close(&R->store);
		free_runner(R);
		return 2;
	}
	R->store.defer_rows = 1;
	set_root(R);
	R->run = pr_store_new_run(&R->store, json_string_value(json_object_get(R->plan, "hash")), plan, len, key);
	if (R->run < 0) {
		if (asprintf(err, "cannot record the run in the store %s/state.db: %s", R->store.dir,
			     sqlite3_errmsg(R->store.db)) < 0)
			*err = NULL;
		pr_store_close(&R->store);
		free_runner(R);
		return 2;
	}
	sum->run = R->run;
	if (opt->nodes) /* a resume places on the same nodes */
		pr_store_run_nodes(&R->store, R->run, opt->nodes);
	begin(R);
	for (uint32_t i = 0; i < R->n; i++) {
		pr_store_new_task(&R->store, R->run, R->t[i].id, R->t[i].stage);
	}
	for (uint32_t i = 0; i < R->n; i++)
		if (R->t[i].pending == 0)
			consider(R, i);

	drive(R);
	return outcome(R, sum);
}

void pr_summary_free(pr_summary *s)
{
	free(s->result);
	s->result = NULL;
}

int pr_resume(long run, const pr_options *opt, pr_summary *sum, char **err)
{
	runner r = {0}, *R = &r;
	if (setup(R, opt, sum, err) < 0)
		return 2;
	if (pr_store_open(&R->store, opt->state_dir ? opt->state_dir : ".", err) < 0) {
		free_runner(R);
		return 2;
	}
	R->store.defer_rows = 1;
	sqlite3_stmt *q;
	const char *sql = run ? PR_RUN_PLAN_SQL " WHERE r.id = ?"
			      : PR_RUN_PLAN_SQL " WHERE r.status = 'running' ORDER BY r.id DESC LIMIT 1";
	char *plan = NULL;
	size_t len = 0;
	if (sqlite3_prepare_v2(R->store.db, sql, -1, &q, NULL) == SQLITE_OK) {
		if (run)
			sqlite3_bind_int64(q, 1, run);
		if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 1)) {
			R->run = sqlite3_column_int64(q, 0);
			len = (size_t)sqlite3_column_bytes(q, 1);
			plan = malloc(len + 1);
			memcpy(plan, sqlite3_column_text(q, 1), len + 1);
			/* the run's simulated nodes, unless --resources says otherwise */
			const char *nodes = (const char *)sqlite3_column_text(q, 2);
			if (nodes && !opt->nodes) {
				pr_nodes_free(&R->nodes);
				if (pr_nodes_from_json(&R->nodes, nodes, err) < 0)
					R->run = 0;
			}
		}
		sqlite3_finalize(q);
	}
	if (!plan || !R->run) {
		char msg[128];
		if (run)
			snprintf(msg, sizeof msg, "the store has no run %ld", run);
		else
			snprintf(msg, sizeof msg, "the store has no unfinished run to resume");
		if (!*err)
			*err = strdup(msg);
		free(plan);
		pr_store_close(&R->store);
		free_runner(R);
		return 2;
	}
	R->resumed = 1;
	/* a run that repeated another has nothing left to do */
	if (sqlite3_prepare_v2(R->store.db, "SELECT b.replay FROM runs r JOIN runs b ON b.id = r.replay_of WHERE r.id = ?", -1,
			       &q, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, R->run);
		json_t *info = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0)
				       ? json_loads((const char *)sqlite3_column_text(q, 0), 0, NULL) : NULL;
		sqlite3_finalize(q);
		if (info) {
			replay_summary(info, sum);
			sum->run = R->run;
			json_decref(info);
			free(plan);
			pr_store_close(&R->store);
			free_runner(R);
			return 0;
		}
	}
	int rc = load(R, plan, len, err);
	free(plan);
	if (rc < 0) {
		pr_store_close(&R->store);
		free_runner(R);
		return 2;
	}
	sum->run = R->run;
	set_root(R);

	/* the state of each task is what its events left */
	if (sqlite3_prepare_v2(R->store.db, "SELECT id, state, attempts, pid, dir FROM tasks WHERE run = ?", -1, &q, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(q, 1, R->run);
		while (sqlite3_step(q) == SQLITE_ROW) {
			json_t *ix = json_object_get(R->index, (const char *)sqlite3_column_text(q, 0));
			if (!ix)
				continue;
			rtask *t = &R->t[json_integer_value(ix)];
			const char *st = (const char *)sqlite3_column_text(q, 1);
			for (int k = 0; k < S__COUNT; k++)
				if (st && !strcmp(st, names[k]))
					t->st = (tstate)k;
			t->attempt = sqlite3_column_int(q, 2);
			t->pid = (pid_t)sqlite3_column_int64(q, 3);
			if (sqlite3_column_text(q, 4))
				set_dir(t, (const char *)sqlite3_column_text(q, 4));
		}
		sqlite3_finalize(q);
	}
	if (sqlite3_prepare_v2(R->store.db, "SELECT task, output, path, hash, value FROM artifacts WHERE run = ?", -1, &q,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, R->run);
		while (sqlite3_step(q) == SQLITE_ROW) {
			json_t *ix = json_object_get(R->index, (const char *)sqlite3_column_text(q, 0));
			if (!ix)
				continue;
			rtask *t = &R->t[json_integer_value(ix)];
			if (!t->outputs)
				t->outputs = json_object();
			json_t *o = json_object();
			json_object_set_new(o, "path", json_string((const char *)sqlite3_column_text(q, 2)));
			json_object_set_new(o, "hash", json_string((const char *)sqlite3_column_text(q, 3)));
			json_t *v = sqlite3_column_text(q, 4) ? json_loads((const char *)sqlite3_column_text(q, 4), JSON_DECODE_ANY, NULL)
							       : NULL;
			json_object_set_new(o, "value", v ? v : json_null());
			json_object_set_new(t->outputs, (const char *)sqlite3_column_text(q, 1), o);
		}
		sqlite3_finalize(q);
	}
	for (uint32_t i = 0; i < R->n; i++) {
		rtask *t = &R->t[i];
		t->pending = 0;
		for (uint32_t k = 0; k < t->nwaits; k++)
			t->pending += !terminal(R->t[t->waits[k]].st);
	}
	begin(R);
	char upd[128];
	snprintf(upd, sizeof upd, "UPDATE runs SET status = 'running', finished = NULL WHERE id = %ld", R->run);
	pr_exec(&R->store, upd);
	/* a task that was running: accepted, adopted, or retried */
	for (uint32_t i = 0; i < R->n; i++)
		if (R->t[i].st == S_RUNNING || R->t[i].st == S_RETRYING)
			activate(R, i);
	for (uint32_t i = 0; i < R->n; i++) {
		rtask *t = &R->t[i];
		if (t->st != S_RUNNING)
			continue;
		char *place = pr_store_get(&R->store, R->run, t->id, "placement");
		if (pr_place_parse(&R->nodes, place, &t->place) < 0)
			memset(&t->place, 0, sizeof t->place);
		free(place);
		occupy(R, i);
		int st = exit_file(t->dir);
		if (st >= 0) {
			t->adopted = 1;
			finish(R, i, st);
		} else if (t->pid > 0 && kill(-t->pid, 0) == 0) {
			t->adopted = 1;
			if (R->log)
				fprintf(R->log, "%-10s %s: adopted (pid %ld)\n", "running", t->id, (long)t->pid);
		} else {
			crashed(R, i);
		}
	}
	for (uint32_t i = 0; i < R->n; i++) {
		rtask *t = &R->t[i];
		if (t->st == S_READY) {
			cache_key(R, i);
			heap_push(R, i);
		}
		else if (t->st == S_RETRYING)
			t->not_before = pr_now();
		else if (t->st == S_PENDING && t->pending == 0)
			consider(R, i);
	}
	drive(R);
	return outcome(R, sum);
}
