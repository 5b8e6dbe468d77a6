/*
 * store.c - the SQLite store: runs, tasks, their events, artifacts, cache.
 *
 * Schema (STATE/.pipec/state.db):
 *
 *   runs(id, plan_hash, started, finished, status, plan, plan_key, nodes, replay, replay_of)
 *                                                         -- the plan, for resume; a run a later
 *                                                         -- run of its plan may repeat keeps what
 *                                                         -- that needs in replay; the repeat
 *                                                         -- names it in replay_of and has no
 *                                                         -- tasks of its own (they are its)
 *   tasks(run, id, stage, state, attempts, cache_key, pid, dir, parts, inputs, command,
 *         exit_code, started, finished)                   -- state = fold of events; the rest
 *                                                         -- is what show, why and lineage read
 *   events(seq, run, task, attempt, from_state, to_state, at, detail)
 *   artifacts(run, task, output, path, hash, value)       -- what each task made
 *   cache(key, run, task, parts, outputs)                 -- results by what made them (parts:
 *                                                         -- NULL, they are in keys)
 *   checkpoints(run, task, attempt, path, at)             -- the newest checkpoint an attempt left
 *
 * The database is opened with journal_mode=WAL, synchronous=FULL and a busy
 * timeout; `quick_check` must pass or the file is refused (and left as it
 * is).  Writers take BEGIN IMMEDIATE.  Transitions are appended in batches:
 * the scheduler collects the transitions of one loop iteration, with the
 * task rows they change, and hands them to a writer thread, which commits
 * all it was handed since its last commit in one transaction (group commit)
 * and lets the tasks started in them go once the transaction's frames are
 * in the WAL (pr_store_async(), wal_sync()).
 *
 * One runtime owns a state directory at a time: STATE/.pipec/lock holds the
 * owner's pid; a lock whose process is gone is taken over.
 */
#include "runtime.h"

#include <sodium.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, plan_hash TEXT, started REAL,"
	" finished REAL, status TEXT, plan TEXT, plan_key TEXT, nodes TEXT, replay TEXT, replay_of INTEGER);"
	"CREATE TABLE IF NOT EXISTS plans(key TEXT PRIMARY KEY, plan TEXT);"
	"CREATE TABLE IF NOT EXISTS keys(key TEXT PRIMARY KEY, parts TEXT);"
	"CREATE TABLE IF NOT EXISTS tasks(run INTEGER, id TEXT, stage TEXT, state TEXT, attempts INTEGER,"
	" cache_key TEXT, pid INTEGER, dir TEXT, parts TEXT, inputs TEXT, command TEXT, exit_code INTEGER,"
	" started REAL, finished REAL, placement TEXT, PRIMARY KEY(run, id));"
	"CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, run INTEGER, task TEXT, attempt INTEGER,"
	" from_state TEXT, to_state TEXT, at REAL, detail TEXT);"
	"CREATE TABLE IF NOT EXISTS artifacts(run INTEGER, task TEXT, output TEXT, path TEXT, hash TEXT,"
	" value TEXT, PRIMARY KEY(run, task, output));"
	"CREATE TABLE IF NOT EXISTS cache(key TEXT PRIMARY KEY, run INTEGER, task TEXT, parts TEXT,"
	" outputs TEXT);"
	"CREATE TABLE IF NOT EXISTS checkpoints(run INTEGER, task TEXT, attempt INTEGER, path TEXT, at REAL);"
	"CREATE TABLE IF NOT EXISTS attempts(run INTEGER, task TEXT, attempt INTEGER, pid INTEGER, dir TEXT,"
	" started REAL, finished REAL, exit_code INTEGER, signal INTEGER, placement TEXT,"
	" PRIMARY KEY(run, task, attempt));";

/* The cache lookup: one string, so that stmt() caches it and the read connection prepares the same. */
static const char cache_get_sql[] = "SELECT outputs FROM cache WHERE key = ?";

/* A prepared statement for SQL (a string constant: cached by its address). */
static sqlite3_stmt *stmt(pr_store *st, const char *sql)
{
	for (int i = 0; i < st->nstmts; i++)
		if (st->stmts[i].sql == sql) {
			sqlite3_reset(st->stmts[i].q);
			sqlite3_clear_bindings(st->stmts[i].q);
			return st->stmts[i].q;
		}
	sqlite3_stmt *q;
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL) != SQLITE_OK)
		return NULL;
	if (st->nstmts < (int)(sizeof st->stmts / sizeof st->stmts[0])) {
		st->stmts[st->nstmts].sql = sql;
		st->stmts[st->nstmts++].q = q;
	}
	return q;
}

/* ---- statements: run now, or kept for the writer thread ----------------- */

#define PR_OP_MAX 8 /* the most values a statement of the store binds */

/* One statement to run later, its values copied. */
typedef struct op {
	const char *sql;
	int n;
	char type[PR_OP_MAX]; /* 'l' integer, 'd' double, 't' text, 'n' NULL */
	union {
		sqlite3_int64 l;
		double d;
		char *t;
	} v[PR_OP_MAX];
} op;

/* What one commit writes, and the tokens to hand back once it is durable (pr_store_on_durable()). */
typedef struct batch {
	op *ops;
	size_t n, cap;
	int *go;
	size_t ngo, capgo;
} batch;

#define PR_SEALED_MAX 4096 /* statements waiting for the writer before the loop waits for it */

struct pr_writer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t work, taken;
	batch cur;    /* the loop's, filled without the lock */
	batch sealed; /* committed next, under the lock */
	int stop;
	sqlite3 *rd;      /* the loop's reads: a connection of its own */
	sqlite3_stmt *cache_q;
	int cache_empty;  /* the cache had nothing when the run began (a first run): no lookups */
};

static void grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *p = realloc(*v, c * size);
	if (!p)
		abort();
	*v = p;
	*cap = c;
}

static void batch_free(batch *b)
{
	for (size_t k = 0; k < b->n; k++)
		for (int a = 0; a < b->ops[k].n; a++)
			if (b->ops[k].type[a] == 't')
				free(b->ops[k].v[a].t);
	free(b->ops);
	free(b->go);
	memset(b, 0, sizeof *b);
}

/* Binds OP's values to Q and runs it: SQLITE_DONE or an error code. */
static int run_op(sqlite3_stmt *q, const op *o)
{
	for (int a = 0; a < o->n; a++)
		switch (o->type[a]) {
		case 'l': sqlite3_bind_int64(q, a + 1, o->v[a].l); break;
		case 'd': sqlite3_bind_double(q, a + 1, o->v[a].d); break;
		case 't': sqlite3_bind_text(q, a + 1, o->v[a].t, -1, SQLITE_STATIC); break;
		default: sqlite3_bind_null(q, a + 1); break;
		}
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc;
}

/*
 * Runs SQL (a string constant) with the values FMT describes: 'l' a long,
 * 'i' an int, 'd' a double, 't' a string or NULL.  While the writer thread
 * runs, the statement is copied into the current batch instead.
 */
static int put(pr_store *st, const char *sql, const char *fmt, ...)
{
	op o = {.sql = sql};
	va_list ap;
	va_start(ap, fmt);
	for (const char *f = fmt; *f && o.n < PR_OP_MAX; f++, o.n++)
		switch (*f) {
		case 'l': o.type[o.n] = 'l', o.v[o.n].l = va_arg(ap, long); break;
		case 'i': o.type[o.n] = 'l', o.v[o.n].l = va_arg(ap, int); break;
		case 'd': o.type[o.n] = 'd', o.v[o.n].d = va_arg(ap, double); break;
		default: {
			const char *t = va_arg(ap, const char *);
			o.type[o.n] = t ? 't' : 'n';
			o.v[o.n].t = (char *)t;
		}
		}
	va_end(ap);
	if (!st->w) {
		sqlite3_stmt *q = stmt(st, sql);
		return q && run_op(q, &o) == SQLITE_DONE ? 0 : -1;
	}
	for (int a = 0; a < o.n; a++)
		if (o.type[a] == 't' && !(o.v[a].t = strdup(o.v[a].t)))
			abort();
	batch *b = &st->w->cur;
	grow((void **)&b->ops, &b->cap, b->n + 1, sizeof *b->ops);
	b->ops[b->n++] = o;
	return 0;
}

/* Hands the tokens of a commit back to whoever gave them (pr_store_on_durable()). */
static void go(pr_store *st, const int *tokens, size_t n, int ok)
{
	if (n && st->durable)
		st->durable(st->durable_ctx, tokens, n, ok);
}

/* ---- tasks let go once their commit is in the WAL --------------------------
 *
 * A commit (synchronous=FULL) writes its frames to the WAL, fsyncs the WAL,
 * then publishes the frames in the WAL's index.  A task may start as soon
 * as the frames that record its start are written, before the fsync: a
 * runtime killed from then on leaves them in the file (the kernel has them),
 * and the next process to open the store reads them back into the index
 * (when none has it open then: one that does keeps the old index); a
 * machine that loses power loses the task's process with them, and the task
 * runs again, as one running when the power went would.  Meanwhile the
 * fsync, which is most of a commit, overlaps the task's start.  The writer
 * connection opens the store through this VFS, the system's own with the WAL
 * file's xSync wrapped: it hands back the tokens of the commit in hand
 * (wal_go, set by the writer thread around its COMMIT) go first.
 */
typedef struct wal_file {
	sqlite3_file base;
	sqlite3_file *real; /* the system VFS's file, just after this struct */
	int frames;         /* frames were written since the last sync (not only the header, which a
			     * restarted WAL syncs on its own before the commit's frames) */
} wal_file;

static sqlite3_vfs *sys_vfs;
static sqlite3_vfs wal_vfs;
static __thread batch *wal_go;
static __thread pr_store *wal_st;

#define REAL(f) (((wal_file *)(f))->real)
static int wal_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int wal_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return REAL(f)->pMethods->xRead(REAL(f), b, n, o); }
static int wal_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	if (o >= 32) /* past the WAL's header */
		((wal_file *)f)->frames = 1;
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int wal_truncate(sqlite3_file *f, sqlite3_int64 n) { return REAL(f)->pMethods->xTruncate(REAL(f), n); }
static int wal_sync(sqlite3_file *f, int flags)
{
	batch *b = wal_go;
	wal_file *w = (wal_file *)f;
	if (b && w->frames) { /* the commit's frames are all written: its tasks may go */
		wal_go = NULL;
		go(wal_st, b->go, b->ngo, 1);
		b->ngo = 0;
	}
	w->frames = 0;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int wal_size(sqlite3_file *f, sqlite3_int64 *n) { return REAL(f)->pMethods->xFileSize(REAL(f), n); }
static int wal_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int wal_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int wal_reserved(sqlite3_file *f, int *r) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int wal_control(sqlite3_file *f, int op, void *a) { return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int wal_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int wal_device(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
#undef REAL

static const sqlite3_io_methods wal_methods = {
	.iVersion = 1,
	.xClose = wal_close,
	.xRead = wal_read,
	.xWrite = wal_write,
	.xTruncate = wal_truncate,
	.xSync = wal_sync,
	.xFileSize = wal_size,
	.xLock = wal_lock,
	.xUnlock = wal_unlock,
	.xCheckReservedLock = wal_reserved,
	.xFileControl = wal_control,
	.xSectorSize = wal_sector,
	.xDeviceCharacteristics = wal_device,
};

/* Opens NAME with the system VFS; a WAL file with its xSync wrapped. */
static int wal_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		return sys_vfs->xOpen(sys_vfs, name, f, flags, out);
	wal_file *w = (wal_file *)f;
	w->real = (sqlite3_file *)(w + 1);
	w->frames = 0;
	int rc = sys_vfs->xOpen(sys_vfs, name, w->real, flags, out);
	w->base.pMethods = rc == SQLITE_OK && w->real->pMethods ? &wal_methods : NULL;
	return rc;
}

#define SYS(name, ...) return sys_vfs->name(sys_vfs, __VA_ARGS__)
static int wal_delete(sqlite3_vfs *v, const char *n, int s) { (void)v; SYS(xDelete, n, s); }
static int wal_access(sqlite3_vfs *v, const char *n, int f, int *r) { (void)v; SYS(xAccess, n, f, r); }
static int wal_full(sqlite3_vfs *v, const char *n, int k, char *o) { (void)v; SYS(xFullPathname, n, k, o); }
static void *wal_dlopen(sqlite3_vfs *v, const char *n) { (void)v; SYS(xDlOpen, n); }
static void wal_dlerror(sqlite3_vfs *v, int n, char *m) { (void)v; sys_vfs->xDlError(sys_vfs, n, m); }
static void (*wal_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { (void)v; SYS(xDlSym, h, s); }
static void wal_dlclose(sqlite3_vfs *v, void *h) { (void)v; sys_vfs->xDlClose(sys_vfs, h); }
static int wal_random(sqlite3_vfs *v, int n, char *o) { (void)v; SYS(xRandomness, n, o); }
static int wal_sleep(sqlite3_vfs *v, int us) { (void)v; SYS(xSleep, us); }
static int wal_time(sqlite3_vfs *v, double *t) { (void)v; SYS(xCurrentTime, t); }
static int wal_error(sqlite3_vfs *v, int n, char *m) { (void)v; SYS(xGetLastError, n, m); }
static int wal_time64(sqlite3_vfs *v, sqlite3_int64 *t) { (void)v; SYS(xCurrentTimeInt64, t); }
#undef SYS

static void wal_register(void)
{
	sys_vfs = sqlite3_vfs_find(NULL);
	if (!sys_vfs)
		return;
	wal_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(wal_file) + sys_vfs->szOsFile,
		.mxPathname = sys_vfs->mxPathname,
		.zName = "pipec-wal",
		.xOpen = wal_open,
		.xDelete = wal_delete,
		.xAccess = wal_access,
		.xFullPathname = wal_full,
		.xDlOpen = wal_dlopen,
		.xDlError = wal_dlerror,
		.xDlSym = wal_dlsym,
		.xDlClose = wal_dlclose,
		.xRandomness = wal_random,
		.xSleep = wal_sleep,
		.xCurrentTime = wal_time,
		.xGetLastError = wal_error,
		.xCurrentTimeInt64 = wal_time64,
	};
	if (sqlite3_vfs_register(&wal_vfs, 0) != SQLITE_OK)
		sys_vfs = NULL;
}

/* The VFS the writer opens the store with: "pipec-wal", or NULL (the system's) where it could not be made. */
static const char *writer_vfs(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, wal_register);
	return sys_vfs ? wal_vfs.zName : NULL;
}

/* The writer thread: each sealed batch (all sealed since the last) in one transaction, then its tokens back. */
static void *writer(void *arg)
{
	pr_store *st = arg;
	struct pr_writer *w = st->w;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->sealed.n && !w->sealed.ngo && !w->stop)
			pthread_cond_wait(&w->work, &w->mu);
		if (!w->sealed.n && !w->sealed.ngo)
			break;
		batch b = w->sealed;
		memset(&w->sealed, 0, sizeof w->sealed);
		pthread_cond_signal(&w->taken);
		int ok = !st->failed[0];
		pthread_mutex_unlock(&w->mu);
		char why[512] = "";
		if (ok && b.n) {
			ok = pr_exec(st, "BEGIN IMMEDIATE") == 0;
			for (size_t k = 0; ok && k < b.n; k++) {
				sqlite3_stmt *q = stmt(st, b.ops[k].sql);
				ok = q && run_op(q, &b.ops[k]) == SQLITE_DONE;
			}
			wal_go = &b; /* let go when the WAL has the frames (wal_sync) */
			wal_st = st;
			if (ok)
				ok = pr_exec(st, "COMMIT") == 0;
			wal_go = NULL;
			if (!ok) {
				snprintf(why, sizeof why, "%s", sqlite3_errmsg(st->db));
				pr_exec(st, "ROLLBACK");
			}
		}
		go(st, b.go, b.ngo, ok); /* not OK: no task runs whose start is not in the store */
		batch_free(&b);
		pthread_mutex_lock(&w->mu);
		if (why[0] && !st->failed[0])
			snprintf(st->failed, sizeof st->failed, "%s", why);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

void pr_store_on_durable(pr_store *st, void (*fn)(void *ctx, const int *tokens, size_t n, int ok), void *ctx)
{
	st->durable = fn;
	st->durable_ctx = ctx;
}

void pr_store_begin(pr_store *st)
{
	if (!st->w && !st->in_tx && pr_exec(st, "BEGIN IMMEDIATE") == 0)
		st->in_tx = 1;
}

void pr_store_commit(pr_store *st, const int *tokens, size_t n)
{
	if (!st->w) {
		int ok = !st->in_tx || pr_exec(st, "COMMIT") == 0;
		if (!ok && !st->failed[0])
			snprintf(st->failed, sizeof st->failed, "%s", sqlite3_errmsg(st->db));
		if (!ok)
			pr_exec(st, "ROLLBACK");
		st->in_tx = 0;
		go(st, tokens, n, ok);
		return;
	}
	struct pr_writer *w = st->w;
	if (!w->cur.n && !n)
		return;
	pthread_mutex_lock(&w->mu);
	/* a writer that falls behind holds the loop back rather than let the batches grow */
	while (w->sealed.n > PR_SEALED_MAX && !st->failed[0])
		pthread_cond_wait(&w->taken, &w->mu);
	batch *s = &w->sealed, *c = &w->cur;
	if (!s->n && !s->ngo) {
		*s = *c;
		memset(c, 0, sizeof *c);
	} else if (c->n) {
		grow((void **)&s->ops, &s->cap, s->n + c->n, sizeof *s->ops);
		memcpy(s->ops + s->n, c->ops, c->n * sizeof *c->ops);
		s->n += c->n;
		c->n = 0;
	}
	if (n) {
		grow((void **)&s->go, &s->capgo, s->ngo + n, sizeof *s->go);
		memcpy(s->go + s->ngo, tokens, n * sizeof *tokens);
		s->ngo += n;
	}
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
}

size_t pr_store_pending(const pr_store *st)
{
	return st->w ? st->w->cur.n : 0;
}

const char *pr_store_failed(pr_store *st)
{
	if (st->w)
		pthread_mutex_lock(&st->w->mu);
	const char *f = st->failed[0] ? st->failed : NULL;
	if (st->w)
		pthread_mutex_unlock(&st->w->mu);
	return f;
}

/* Lets go of W's read connection and W (its thread, if it was started, is joined already). */
static void writer_free(struct pr_writer *w, int started)
{
	batch_free(&w->cur);
	batch_free(&w->sealed);
	sqlite3_finalize(w->cache_q);
	sqlite3_close(w->rd);
	if (started) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->work);
		pthread_cond_destroy(&w->taken);
	}
	free(w);
}

int pr_store_async(pr_store *st, int on)
{
	struct pr_writer *w = st->w;
	if (on && !w) {
		pr_store_commit(st, NULL, 0);
		w = calloc(1, sizeof *w);
		char db[4200];
		snprintf(db, sizeof db, "%s/state.db", st->dir);
		if (!w)
			return -1;
		if (sqlite3_open_v2(db, &w->rd, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v3(w->rd, cache_get_sql, -1, SQLITE_PREPARE_PERSISTENT, &w->cache_q, NULL) != SQLITE_OK) {
			writer_free(w, 0);
			return -1; /* statements run where they are made, as before */
		}
		sqlite3_busy_timeout(w->rd, 10000);
		sqlite3_exec(w->rd, "PRAGMA cache_size = -512", NULL, NULL, NULL); /* point lookups: a small cache */
		/*
		 * Only this process writes the store while it runs, so a cache that
		 * is empty now can hold only what this run puts in it: a lookup
		 * could find at most a task identical to an earlier one of the same
		 * run, which is then run again rather than looked up.
		 */
		sqlite3_stmt *any = NULL;
		w->cache_empty = sqlite3_prepare_v2(w->rd, "SELECT 1 FROM cache LIMIT 1", -1, &any, NULL) == SQLITE_OK &&
				 sqlite3_step(any) == SQLITE_DONE;
		sqlite3_finalize(any);
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->work, NULL);
		pthread_cond_init(&w->taken, NULL);
		/* the writer writes to pipes whose reader may be gone: EPIPE, not SIGPIPE */
		sigset_t pipe, old;
		sigemptyset(&pipe);
		sigaddset(&pipe, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &pipe, &old);
		st->w = w;
		int rc = pthread_create(&w->th, NULL, writer, st);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			st->w = NULL;
			writer_free(w, 1);
			return -1;
		}
		return 0;
	}
	if (!on && w) {
		pr_store_commit(st, NULL, 0);
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->work);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
		st->w = NULL;
		writer_free(w, 1);
		return st->failed[0] ? -1 : 0;
	}
	return 0;
}

double pr_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(char **err, const char *fmt, const char *a, const char *b)
{
	size_t n = strlen(fmt) + (a ? strlen(a) : 0) + (b ? strlen(b) : 0) + 1;
	*err = malloc(n);
	if (*err)
		snprintf(*err, n, fmt, a ? a : "", b ? b : "");
	return -1;
}

/* Takes STATE/.pipec/lock, or says who holds it. */
static int take_lock(pr_store *st, const char *dir, char **err)
{
	snprintf(st->lock_path, sizeof st->lock_path, "%s/lock", dir);
	for (int tries = 0; tries < 2; tries++) {
		int fd = open(st->lock_path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0) {
			char pid[32];
			int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
			int ok = write(fd, pid, (size_t)n) == n;
			close(fd);
			if (!ok)
				return fail(err, "cannot write the lock %s%s", st->lock_path, "");
			st->locked = 1;
			return 0;
		}
		if (errno != EEXIST)
			return fail(err, "cannot create the lock %s: %s", st->lock_path, strerror(errno));
		FILE *f = fopen(st->lock_path, "r");
		long pid = 0;
		if (f) {
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
			char who[32];
			snprintf(who, sizeof who, "%ld", pid);
			return fail(err, "the state directory is in use by pipec (pid %s); lock %s", who, st->lock_path);
		}
		unlink(st->lock_path); /* its owner is gone: take it over */
	}
	return fail(err, "cannot take the lock %s%s", st->lock_path, "");
}

/* The name of the network filesystem DIR is on, or NULL when it is local. */
static const char *network_fs(const char *dir)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} remote[] = {
		{0x6969, "NFS"}, {0x517B, "SMB"}, {0xFF534D42, "CIFS"}, {0xFE534D42, "SMB2"}, {0x5346414F, "AFS"},
		{0x6B414653, "AFS"}, {0x00C36400, "Ceph"}, {0x0BD00BD0, "Lustre"},
	};
	struct statfs sf;
	if (statfs(dir, &sf) != 0)
		return NULL;
	for (size_t k = 0; k < sizeof remote / sizeof remote[0]; k++)
		if ((unsigned long)sf.f_type == remote[k].magic)
			return remote[k].name;
	return NULL;
}

int pr_store_open(pr_store *st, const char *state_dir, char **err)
{
	memset(st, 0, sizeof *st);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/.pipec", state_dir);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return fail(err, "cannot create %s: %s", dir, strerror(errno));
	snprintf(st->dir, sizeof st->dir, "%s", dir);
	const char *remote = network_fs(dir);
	if (remote)
		return fail(err, "the state directory %s is on a network filesystem (%s), where SQLite's locks and its WAL "
			    "do not hold: put it on a local disk (--state-dir)", dir, remote);
	if (take_lock(st, dir, err) < 0)
		return -1;
	char db[4200];
	snprintf(db, sizeof db, "%s/state.db", dir);
	if (sqlite3_open_v2(db, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, writer_vfs()) != SQLITE_OK) {
		fail(err, "cannot open the store %s: %s", db, st->db ? sqlite3_errmsg(st->db) : "out of memory");
		pr_store_close(st);
		return -1;
	}
	sqlite3_busy_timeout(st->db, 10000);
	sqlite3_stmt *q;
	int ok = sqlite3_prepare_v2(st->db, "PRAGMA quick_check", -1, &q, NULL) == SQLITE_OK &&
		 sqlite3_step(q) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0;
	sqlite3_finalize(q);
	if (!ok) {
		fail(err, "the store %s is damaged (quick_check failed); it is left as it is: move it away to start afresh%s",
		     db, "");
		pr_store_close(st);
		return -1;
	}
	char *msg = NULL;
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		fail(err, "cannot set up the store %s: %s", db, msg ? msg : "");
		sqlite3_free(msg);
		pr_store_close(st);
		return -1;
	}
	/* a store made before tasks had a placement: add the column (an error when it is there) */
	sqlite3_exec(st->db, "ALTER TABLE tasks ADD COLUMN placement TEXT", NULL, NULL, NULL);
	sqlite3_exec(st->db, "ALTER TABLE runs ADD COLUMN plan_key TEXT", NULL, NULL, NULL);
	sqlite3_exec(st->db, "ALTER TABLE runs ADD COLUMN nodes TEXT", NULL, NULL, NULL);
	sqlite3_exec(st->db, "ALTER TABLE runs ADD COLUMN replay TEXT", NULL, NULL, NULL);
	sqlite3_exec(st->db, "ALTER TABLE runs ADD COLUMN replay_of INTEGER", NULL, NULL, NULL);
	return 0;
}

void pr_store_close(pr_store *st)
{
	pr_store_async(st, 0);
	pr_store_finalize(st);
	if (st->db)
		sqlite3_close(st->db);
	st->db = NULL;
	if (st->locked)
		unlink(st->lock_path);
	st->locked = 0;
}

int pr_exec(pr_store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : -1;
}

void pr_plan_key(const char *plan, size_t len, char key[65])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof h, (const unsigned char *)plan, len, NULL, 0);
	sodium_bin2hex(key, 65, h, sizeof h);
}

long pr_store_new_run(pr_store *st, const char *plan_hash, const char *plan, size_t len, const char *key)
{
	/* the plan is kept once however many runs it has (runs.plan only for one a run-time for changed) */
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO plans(key, plan) VALUES(?, ?)", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, plan, (int)len, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE ||
	    sqlite3_prepare_v2(st->db, "INSERT INTO runs(plan_hash, started, status, plan_key) VALUES(?, ?, 'running', ?)",
			       -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, plan_hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(q, 2, pr_now());
	sqlite3_bind_text(q, 3, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? (long)sqlite3_last_insert_rowid(st->db) : -1;
}

/* ---- runs that repeat an earlier one ------------------------------------ */

char *pr_store_replay_base(pr_store *st, const char *key, long *base)
{
	sqlite3_stmt *q;
	char *info = NULL;
	/* only the latest run of the plan: one that did not succeed since says something changed */
	if (sqlite3_prepare_v2(st->db, "SELECT b.id, b.replay FROM runs r JOIN runs b ON b.id = coalesce(r.replay_of, r.id)"
				       " WHERE r.id = (SELECT max(id) FROM runs WHERE plan_key = ?)"
				       " AND r.status = 'succeeded' AND b.replay IS NOT NULL", -1, &q, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		*base = (long)sqlite3_column_int64(q, 0);
		info = strdup((const char *)sqlite3_column_text(q, 1));
	}
	sqlite3_finalize(q);
	return info;
}

int pr_store_replay_valid(pr_store *st, long base)
{
	/* each result the run took from the cache or put there is still the cache's ... */
	sqlite3_stmt *q;
	int ok = sqlite3_prepare_v2(st->db,
		"SELECT count(*) FROM tasks t LEFT JOIN cache k ON k.key = t.cache_key"
		" WHERE t.run = ?1 AND t.state IN ('succeeded', 'cached') AND coalesce(t.cache_key, '') <> ''"
		" AND (k.key IS NULL OR EXISTS (SELECT 1 FROM artifacts a WHERE a.run = ?1 AND a.task = t.id"
		"  AND (json_extract(k.outputs, '$.' || a.output || '.path') IS NOT a.path"
		"   OR json_extract(k.outputs, '$.' || a.output || '.hash') IS NOT a.hash)))",
		-1, &q, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_int64(q, 1, base);
		ok = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) == 0;
	}
	sqlite3_finalize(q);
	/* ... and its files are where they were */
	if (!ok || sqlite3_prepare_v2(st->db, "SELECT path FROM artifacts WHERE run = ?", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, base);
	struct stat sb;
	while (ok && sqlite3_step(q) == SQLITE_ROW)
		ok = !sqlite3_column_text(q, 0) || stat((const char *)sqlite3_column_text(q, 0), &sb) == 0;
	sqlite3_finalize(q);
	return ok ? 0 : -1;
}

long pr_store_replay_run(pr_store *st, long base, double started)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO runs(plan_hash, started, finished, status, plan_key, replay_of)"
				       " SELECT plan_hash, ?, ?, 'succeeded', plan_key, id FROM runs WHERE id = ?",
			       -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_double(q, 1, started);
	sqlite3_bind_double(q, 2, pr_now());
	sqlite3_bind_int64(q, 3, base);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE && sqlite3_changes(st->db) == 1 ? (long)sqlite3_last_insert_rowid(st->db) : -1;
}

int pr_store_replayable(pr_store *st, long run, const char *info)
{
	return put(st, "UPDATE runs SET replay = ? WHERE id = ?", "tl", info, run);
}

int pr_store_run_nodes(pr_store *st, long run, const char *nodes)
{
	return put(st, "UPDATE runs SET nodes = ? WHERE id = ?", "tl", nodes, run);
}

int pr_store_plan(pr_store *st, long run, const char *plan)
{
	return put(st, "UPDATE runs SET plan = ? WHERE id = ?", "tl", plan, run);
}

int pr_store_finish_run(pr_store *st, long run, const char *status)
{
	return put(st, "UPDATE runs SET finished = ?, status = ? WHERE id = ?", "dtl", pr_now(), status, run);
}

int pr_store_event(pr_store *st, long run, const char *task, int attempt, const char *from, const char *to,
		   const char *detail)
{
	if (put(st, "INSERT INTO events(run, task, attempt, from_state, to_state, at, detail) VALUES(?, ?, ?, ?, ?, ?, ?)",
		"ltittdt", run, task, attempt, from, to, pr_now(), detail) < 0)
		return -1;
	if (st->defer_rows)
		return 0; /* the caller writes the task's row before it commits (pr_store_row) */
	return put(st, "INSERT INTO tasks(run, id, stage, state, attempts) VALUES(?, ?, '', ?, ?)"
		       " ON CONFLICT(run, id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts",
		   "ltti", run, task, to, attempt);
}

int pr_store_row(pr_store *st, long run, const char *task, const char *state, int attempts, const char *inputs,
		 const char *key, const char *parts)
{
	if (key && !*key)
		key = NULL;
	if (put(st, "UPDATE tasks SET state = ?, attempts = ?, inputs = coalesce(?, inputs),"
		    " cache_key = coalesce(?, cache_key) WHERE run = ? AND id = ?",
		"tittlt", state, attempts, inputs, key, run, task) < 0)
		return -1;
	if (!key || !parts)
		return 0;
	/* a key's parts are kept once, however many tasks and runs had it */
	return put(st, "INSERT OR IGNORE INTO keys(key, parts) VALUES(?, ?)", "tt", key, parts);
}

int pr_store_new_task(pr_store *st, long run, const char *task, const char *stage)
{
	if (put(st, "INSERT OR REPLACE INTO tasks(run, id, stage, state, attempts) VALUES(?, ?, ?, 'pending', 0)", "ltt",
		run, task, stage) < 0)
		return -1;
	return put(st, "INSERT INTO events(run, task, attempt, from_state, to_state, at) VALUES(?, ?, 0, '', 'pending', ?)",
		   "ltd", run, task, pr_now());
}

int pr_store_artifact(pr_store *st, long run, const char *task, const char *output, const char *path,
		      const char *hash, const char *value)
{
	return put(st, "INSERT OR REPLACE INTO artifacts VALUES(?, ?, ?, ?, ?, ?)", "lttttt", run, task, output, path,
		   hash, value);
}

char *pr_store_cache_get(pr_store *st, const char *key)
{
	if (st->w && st->w->cache_empty)
		return NULL;
	/* while the writer thread has the connection, reads go through a read-only one of their own */
	sqlite3_stmt *q = st->w ? st->w->cache_q : stmt(st, cache_get_sql);
	char *out = NULL;
	if (!q)
		return NULL;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		out = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return out;
}

int pr_store_cache_put(pr_store *st, const char *key, long run, const char *task, const char *parts,
		       const char *outputs)
{
	return put(st, "INSERT OR REPLACE INTO cache VALUES(?, ?, ?, ?, ?)", "tlttt", key, run, task, parts, outputs);
}

void pr_store_finalize(pr_store *st)
{
	for (int i = 0; i < st->nstmts; i++)
		sqlite3_finalize(st->stmts[i].q);
	st->nstmts = 0;
}

int pr_store_running(pr_store *st, long run, const char *task, int attempt, long pid, const char *dir, double started,
		     const char *command, const char *placement)
{
	if (put(st, "UPDATE tasks SET pid = ?, dir = ?, started = ?, command = ?, placement = ?,"
		    " finished = NULL, exit_code = NULL WHERE run = ? AND id = ?",
		"ltdttlt", pid, dir, started, command, placement, run, task) < 0)
		return -1;
	return put(st, "INSERT OR REPLACE INTO attempts(run, task, attempt, pid, dir, started, placement)"
		       " VALUES(?, ?, ?, ?, ?, ?, ?)",
		   "ltiltdt", run, task, attempt, pid, dir, started, placement);
}

int pr_store_finished(pr_store *st, long run, const char *task, int attempt, double finished, int exit_code, int signal)
{
	/* an exit code of -1 and a signal of 0 are NULL */
	if (put(st, "UPDATE tasks SET finished = ?, exit_code = nullif(?, -1) WHERE run = ? AND id = ?", "dilt",
		finished, exit_code, run, task) < 0)
		return -1;
	return put(st, "UPDATE attempts SET finished = ?, exit_code = nullif(?, -1), signal = nullif(?, 0)"
		       " WHERE run = ? AND task = ? AND attempt = ?",
		   "diilti", finished, exit_code, signal, run, task, attempt);
}

char *pr_store_get(pr_store *st, long run, const char *task, const char *column)
{
	if (strcmp(column, "placement") != 0 || st->w)
		return NULL;
	sqlite3_stmt *q = stmt(st, "SELECT placement FROM tasks WHERE run = ? AND id = ?");
	if (!q)
		return NULL;
	sqlite3_bind_int64(q, 1, run);
	sqlite3_bind_text(q, 2, task, -1, SQLITE_STATIC);
	char *r = NULL;
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		r = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return r;
}

int pr_store_checkpoint(pr_store *st, long run, const char *task, int attempt, const char *path, double at)
{
	return put(st, "INSERT INTO checkpoints VALUES(?, ?, ?, ?, ?)", "ltitd", run, task, attempt, path, at);
}

/* ---- what the engine reads back: a run to resume, its events, attempts and artifacts ---- */

int pr_store_run_plan(pr_store *st, long run, long *id, char **plan, size_t *len, char **nodes)
{
	const char *sql = run ? "SELECT r.id, coalesce(r.plan, p.plan), r.nodes FROM runs r"
				" LEFT JOIN plans p ON p.key = r.plan_key WHERE r.id = ?"
			      : "SELECT r.id, coalesce(r.plan, p.plan), r.nodes FROM runs r"
				" LEFT JOIN plans p ON p.key = r.plan_key WHERE r.status = 'running' ORDER BY r.id DESC LIMIT 1";
	sqlite3_stmt *q;
	*plan = *nodes = NULL;
	*id = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (run)
		sqlite3_bind_int64(q, 1, run);
	int rc = -1;
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 1)) {
		*id = sqlite3_column_int64(q, 0);
		*len = (size_t)sqlite3_column_bytes(q, 1);
		*plan = malloc(*len + 1);
		if (!*plan)
			abort();
		memcpy(*plan, sqlite3_column_text(q, 1), *len + 1);
		if (sqlite3_column_text(q, 2))
			*nodes = strdup((const char *)sqlite3_column_text(q, 2));
		rc = 0;
	}
	sqlite3_finalize(q);
	return rc;
}

char *pr_store_replay_of(pr_store *st, long run)
{
	sqlite3_stmt *q;
	char *r = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT b.replay FROM runs r JOIN runs b ON b.id = r.replay_of WHERE r.id = ?", -1, &q,
			       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(q, 1, run);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		r = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return r;
}

int pr_store_each_event(pr_store *st, long run, void (*fn)(void *ctx, const char *task, int attempt, const char *to,
								   const char *detail), void *ctx)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "SELECT task, attempt, to_state, detail FROM events WHERE run = ? ORDER BY seq", -1, &q,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, run);
	while (sqlite3_step(q) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(q, 0), sqlite3_column_int(q, 1), (const char *)sqlite3_column_text(q, 2),
		   (const char *)sqlite3_column_text(q, 3));
	return sqlite3_finalize(q) == SQLITE_OK ? 0 : -1;
}

int pr_store_each_attempt(pr_store *st, long run, void (*fn)(void *ctx, const char *task, int attempt, long pid,
								     const char *dir, const char *placement), void *ctx)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "SELECT task, attempt, pid, dir, placement FROM attempts WHERE run = ? ORDER BY attempt",
			       -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, run);
	while (sqlite3_step(q) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(q, 0), sqlite3_column_int(q, 1), (long)sqlite3_column_int64(q, 2),
		   (const char *)sqlite3_column_text(q, 3), (const char *)sqlite3_column_text(q, 4));
	return sqlite3_finalize(q) == SQLITE_OK ? 0 : -1;
}

int pr_store_each_artifact(pr_store *st, long run, void (*fn)(void *ctx, const char *task, const char *output,
								      const char *path, const char *hash, const char *value), void *ctx)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "SELECT task, output, path, hash, value FROM artifacts WHERE run = ?", -1, &q, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, run);
	while (sqlite3_step(q) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
		   (const char *)sqlite3_column_text(q, 2), (const char *)sqlite3_column_text(q, 3),
		   (const char *)sqlite3_column_text(q, 4));
	return sqlite3_finalize(q) == SQLITE_OK ? 0 : -1;
}

int pr_store_each_replayed(pr_store *st, long base, void (*fn)(void *ctx, const char *task, const char *state), void *ctx)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "SELECT id, state FROM tasks WHERE run = ? AND (state = 'skipped'"
				       " OR coalesce(cache_key, '') <> '') ORDER BY rowid", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, base);
	while (sqlite3_step(q) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1));
	return sqlite3_finalize(q) == SQLITE_OK ? 0 : -1;
}

int pr_store_reopen_run(pr_store *st, long run)
{
	return put(st, "UPDATE runs SET status = 'running', finished = NULL WHERE id = ?", "l", run);
}

const char *pr_store_errmsg(pr_store *st)
{
	return sqlite3_errmsg(st->db);
}
