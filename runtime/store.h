/*
 * store.h - what the store's files share (not the rest of the runtime,
 * which uses runtime.h's pr_store_* functions).
 *
 *   store.c         open, close, the schema, the named statements
 *   store-writer.c  transactions and the writer thread (group commit)
 *   store-wal.c     the VFS that lets a commit's tasks go once its frames are in the WAL
 *   store-lock.c    the state directory's lock; refusing a network filesystem
 *   store-query.c   the reports' questions (read-only; runtime.h)
 *
 * Every SQL statement is a string constant: pr_store_stmt() keeps its
 * prepared statement by the string's address.
 */
#ifndef PIPEC_STORE_H
#define PIPEC_STORE_H

#include "runtime.h"

/* ---- store.c ---- */

/* Below this size a store is checked with integrity_check when it is opened (quick_check above). */
#define PR_STORE_FULL_CHECK (8L << 20)

/* The prepared statement for SQL (a string constant: cached by its address, reset), or NULL. */
sqlite3_stmt *pr_store_stmt(pr_store *st, const char *sql);
/* Runs SQL (BEGIN, COMMIT, ROLLBACK) on ST's connection at once: 0, or -1. */
int pr_store_exec(pr_store *st, const char *sql);
/* The cache lookup's SQL, which the writer's read connection prepares too. */
extern const char pr_store_cache_get_sql[];
/* Sets *ERR to FMT with A and B (NULL: "") as a new message; returns -1. */
int pr_store_fail(char **err, const char *fmt, const char *a, const char *b);

/* ---- store-writer.c ---- */

/*
 * Runs SQL (a string constant) with the values FMT describes: 'l' a long,
 * 'i' an int, 'd' a double, 't' a string or NULL: 0, or -1.  While the
 * writer thread runs, the statement is copied into the current batch
 * instead (0: it is committed later, pr_store_failed() says if it was not).
 */
int pr_store_put(pr_store *st, const char *sql, const char *fmt, ...);
/* While the writer thread runs (ST->w): the cache lookup prepared on its read connection, and *NONE 1
 * when the cache was empty as the run began (no lookup can find anything). */
sqlite3_stmt *pr_store_writer_lookup(pr_store *st, int *none);

/* ---- store-wal.c ---- */

/* The VFS the store is opened with: "pipec-wal", or NULL (the system's) where it could not be made. */
const char *pr_store_wal_vfs(void);
/* On this thread, the next sync of a WAL file after frames were written first calls FN(CTX), once;
 * (NULL, NULL) disarms it. */
void pr_store_wal_arm(void (*fn)(void *ctx), void *ctx);

/* ---- store-lock.c ---- */

/* Takes DIR/lock (DIR: STATE/.pipec) for ST: 0, or -1 with *ERR (who holds it, or why it could not be made). */
int pr_store_lock_take(pr_store *st, const char *dir, char **err);
/* Records RUN (durable in the store now) in ST's lock: a runtime that takes the lock over after this one
 * died expects the store to have it (a lost WAL otherwise). */
void pr_store_lock_note_run(pr_store *st, long run);
/* Puts back the dead runtime's lock ST took over (ST->stale_lock) instead of giving the lock back. */
void pr_store_lock_restore(pr_store *st);
/* Gives back the lock ST took, if it took one. */
void pr_store_lock_release(pr_store *st);
/* The name of the network filesystem DIR is on ("NFS"), or NULL when it is local. */
const char *pr_store_lock_remote(const char *dir);

#endif
