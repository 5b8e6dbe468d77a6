/*
 * runtime.h - what the runtime's modules share (not the driver).
 *
 *   store.c   the SQLite store and the state directory's lock
 *   run.c     plan loading, the task state machine, the scheduler, local
 *             execution, outputs, values and the cache
 */
#ifndef PIPEC_RUNTIME_INTERNAL_H
#define PIPEC_RUNTIME_INTERNAL_H

#include <sqlite3.h>

#include "pipec-runtime.h"

typedef struct pr_store {
	sqlite3 *db;
	sqlite3_stmt *ev, *up; /* prepared: insert an event, update the task row */
	struct {               /* other prepared statements, by their SQL's address */
		const char *sql;
		sqlite3_stmt *q;
	} stmts[24];
	int nstmts;
	char dir[4096];        /* STATE/.pipec */
	char lock_path[4200];
	int locked;
} pr_store;

double pr_now(void);
int pr_store_open(pr_store *st, const char *state_dir, char **err);
void pr_store_close(pr_store *st);
void pr_store_finalize(pr_store *st);
int pr_exec(pr_store *st, const char *sql);
long pr_store_new_run(pr_store *st, const char *plan_hash, const char *plan, size_t len);
/* Records the process and directory of a task's running attempt. */
int pr_store_running(pr_store *st, long run, const char *task, long pid, const char *dir);
int pr_store_finish_run(pr_store *st, long run, const char *status);
int pr_store_event(pr_store *st, long run, const char *task, int attempt, const char *from, const char *to,
		   const char *detail);
int pr_store_artifact(pr_store *st, long run, const char *task, const char *output, const char *path,
		      const char *hash, const char *value);
/* Sets a column of a task's row: text, or the number NUM when TEXT is NULL. */
int pr_store_set(pr_store *st, long run, const char *task, const char *column, const char *text, double num);
/* Records the newest checkpoint an attempt left. */
int pr_store_checkpoint(pr_store *st, long run, const char *task, int attempt, const char *path, double at);
/* The outputs JSON a cache key has, or NULL (new string). */
char *pr_store_cache_get(pr_store *st, const char *key);
int pr_store_cache_put(pr_store *st, const char *key, long run, const char *task, const char *parts,
		       const char *outputs);

#endif
