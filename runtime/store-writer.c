/*
 * store-writer.c - the store's transactions, and the writer thread that
 * commits them in groups.
 *
 * Without a writer thread each statement runs when it is made (inside the
 * transaction pr_store_begin() opened), and pr_store_commit() commits and
 * then hands the commit's tokens back.  With one (pr_store_async(st, 1)),
 * the loop's statements are copied into the current batch (pr_store_put()
 * does either); pr_store_commit() seals the batch with its tokens and
 * signals the thread, which commits everything sealed since its last
 * commit in one transaction (group commit) and hands the tokens back with
 * OK 1 once the frames are in the WAL (store-wal.c), or with OK 0 where
 * the commit failed (st->failed then says why, and nothing more is
 * committed).  A writer that falls behind by PR_SEALED_MAX statements
 * holds the loop back.  While the thread has the store's connection, the
 * loop's cache lookups use a read-only connection of their own
 * (pr_store_writer_lookup()).
 *
 *   loop:   put put put -> commit (seal: cur -> sealed, + tokens) -> put ...
 *   thread: wait for sealed -> take it -> BEGIN; ops; COMMIT -> tokens back
 */
#include "store.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int pr_store_put(pr_store *st, const char *sql, const char *fmt, ...)
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
		sqlite3_stmt *q = pr_store_stmt(st, sql);
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

/* A commit's tokens, handed back by the WAL's sync (store-wal.c) as soon as its frames are written. */
typedef struct let_go {
	pr_store *st;
	batch *b;
} let_go;

static void let_go_now(void *ctx)
{
	let_go *g = ctx;
	go(g->st, g->b->go, g->b->ngo, 1);
	g->b->ngo = 0;
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
			ok = pr_store_exec(st, "BEGIN IMMEDIATE") == 0;
			for (size_t k = 0; ok && k < b.n; k++) {
				sqlite3_stmt *q = pr_store_stmt(st, b.ops[k].sql);
				ok = q && run_op(q, &b.ops[k]) == SQLITE_DONE;
			}
			let_go g = {st, &b};
			pr_store_wal_arm(let_go_now, &g); /* let go when the WAL has the frames (wal_sync) */
			if (ok)
				ok = pr_store_exec(st, "COMMIT") == 0;
			pr_store_wal_arm(NULL, NULL);
			if (!ok) {
				snprintf(why, sizeof why, "%s", sqlite3_errmsg(st->db));
				pr_store_exec(st, "ROLLBACK");
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
	if (!st->w && !st->in_tx && pr_store_exec(st, "BEGIN IMMEDIATE") == 0)
		st->in_tx = 1;
}

void pr_store_commit(pr_store *st, const int *tokens, size_t n)
{
	if (!st->w) {
		int ok = !st->in_tx || pr_store_exec(st, "COMMIT") == 0;
		if (!ok && !st->failed[0])
			snprintf(st->failed, sizeof st->failed, "%s", sqlite3_errmsg(st->db));
		if (!ok)
			pr_store_exec(st, "ROLLBACK");
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
		    sqlite3_prepare_v3(w->rd, pr_store_cache_get_sql, -1, SQLITE_PREPARE_PERSISTENT, &w->cache_q, NULL) != SQLITE_OK) {
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

sqlite3_stmt *pr_store_writer_lookup(pr_store *st, int *none)
{
	*none = st->w->cache_empty;
	return st->w->cache_q;
}
