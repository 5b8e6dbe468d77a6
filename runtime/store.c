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
 *   expansions(seq, run, kind, id, body)                  -- what run-time fors added to the run's
 *                                                         -- plan, in order: an instance (task,
 *                                                         -- its JSON), a template's instances
 *                                                         -- (group), an inner for (scatter); the
 *                                                         -- plan kept is never rewritten
 *
 * The database is opened with journal_mode=WAL, synchronous=FULL and a busy
 * timeout; `integrity_check` (`quick_check` on a store of PR_STORE_FULL_CHECK
 * bytes or more) must pass or the file is refused (and left as it is).  So
 * is an empty state.db where work/ or a dead runtime's lock shows runs (a
 * truncated store), and one without the run a dead runtime's lock names
 * (its WAL lost under it: store-lock.c).  Writers take BEGIN IMMEDIATE.  Transitions are appended in batches:
 * the scheduler collects the transitions of one loop iteration, with the
 * task rows they change, and hands them to a writer thread, which commits
 * all it was handed since its last commit in one transaction (group commit)
 * and lets the tasks started in them go once the transaction's frames are
 * in the WAL (store-writer.c, store-wal.c).
 *
 * One runtime owns a state directory at a time (store-lock.c).  This file
 * opens and closes the store, keeps its schema, and holds the named
 * statements the engine writes and reads back; each write goes through
 * pr_store_put() (store-writer.c), which runs it now or hands it to the
 * writer thread.
 */
#include "store.h"

#include <dirent.h>
#include <sys/stat.h>

#include <jansson.h>

#include <sodium.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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
	"CREATE TABLE IF NOT EXISTS expansions(seq INTEGER PRIMARY KEY, run INTEGER, kind TEXT, id TEXT, body TEXT);"
	"CREATE INDEX IF NOT EXISTS expansions_run ON expansions(run);"
	"CREATE TABLE IF NOT EXISTS attempts(run INTEGER, task TEXT, attempt INTEGER, pid INTEGER, dir TEXT,"
	" started REAL, finished REAL, exit_code INTEGER, signal INTEGER, placement TEXT,"
	" PRIMARY KEY(run, task, attempt));";

/* The cache lookup: one string, so that pr_store_stmt() caches it and the writer's read connection prepares the same. */
const char pr_store_cache_get_sql[] = "SELECT outputs FROM cache WHERE key = ?";

sqlite3_stmt *pr_store_stmt(pr_store *st, const char *sql)
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

/* The store's clock (wall time, seconds since the epoch) for the times it records; the engine reads it too. */
double pr_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pr_store_fail(char **err, const char *fmt, const char *a, const char *b)
{
	size_t n = strlen(fmt) + (a ? strlen(a) : 0) + (b ? strlen(b) : 0) + 1;
	*err = malloc(n);
	if (*err)
		snprintf(*err, n, fmt, a ? a : "", b ? b : "");
	return -1;
}

/* 1 when the state directory DIR (STATE/.pipec) shows runs: a dead runtime's lock names one, or work/ has any. */
static int held_runs(pr_store *st, const char *dir)
{
	if (st->stale_run)
		return 1;
	char work[4200];
	snprintf(work, sizeof work, "%s/work", dir);
	DIR *d = opendir(work);
	if (!d)
		return 0;
	struct dirent *e;
	int any = 0;
	while (!any && (e = readdir(d)))
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return any;
}

/* Refuses the store: *ERR from FMT (A, B), the lock put back as the dead runtime left it (the next open says
 * it again); -1. */
static int refuse(pr_store *st, char **err, const char *fmt, const char *a, const char *b)
{
	pr_store_fail(err, fmt, a, b);
	pr_store_lock_restore(st);
	pr_store_close(st);
	return -1;
}

/* 1 when the store has run RUN. */
static int has_run(pr_store *st, long run)
{
	sqlite3_stmt *q;
	int found = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM runs WHERE id = ?", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, run);
		found = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	return found;
}

int pr_store_open(pr_store *st, const char *state_dir, char **err)
{
	memset(st, 0, sizeof *st);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/.pipec", state_dir);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return pr_store_fail(err, "cannot create %s: %s", dir, strerror(errno));
	snprintf(st->dir, sizeof st->dir, "%s", dir);
	const char *remote = pr_store_lock_remote(dir);
	if (remote)
		return pr_store_fail(err, "the state directory %s is on a network filesystem (%s), where SQLite's locks and its WAL "
			    "do not hold: put it on a local disk (--state-dir)", dir, remote);
	if (pr_store_lock_take(st, dir, err) < 0)
		return -1;
	char db[4200];
	snprintf(db, sizeof db, "%s/state.db", dir);
	struct stat sb;
	int have = stat(db, &sb) == 0;
	if (have && sb.st_size == 0 && held_runs(st, dir)) {
		refuse(st, err, "the store %s is empty, but %s shows it held runs: it was truncated; it is left as it is: "
		       "move it away to start afresh", db, st->stale_run ? st->lock_path : dir);
		return -1;
	}
	if (sqlite3_open_v2(db, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, pr_store_wal_vfs()) != SQLITE_OK) {
		pr_store_fail(err, "cannot open the store %s: %s", db, st->db ? sqlite3_errmsg(st->db) : "out of memory");
		pr_store_close(st);
		return -1;
	}
	sqlite3_busy_timeout(st->db, 10000);
	sqlite3_stmt *q;
	/* integrity_check also matches each index with its table; on a large store it takes long */
	const char *check = have && sb.st_size < PR_STORE_FULL_CHECK ? "integrity_check" : "quick_check";
	char pragma[64];
	snprintf(pragma, sizeof pragma, "PRAGMA %s", check);
	int ok = sqlite3_prepare_v2(st->db, pragma, -1, &q, NULL) == SQLITE_OK &&
		 sqlite3_step(q) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0;
	sqlite3_finalize(q);
	if (!ok) {
		pr_store_fail(err, "the store %s is damaged (%s failed); it is left as it is: move it away to start afresh",
		     db, check);
		pr_store_close(st);
		return -1;
	}
	char *msg = NULL;
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		pr_store_fail(err, "cannot set up the store %s: %s", db, msg ? msg : "");
		sqlite3_free(msg);
		pr_store_close(st);
		return -1;
	}
	/* a store made before tasks had a placement: add the column (an error when it is there) */
	sqlite3_exec(st->db, "ALTER TABLE tasks ADD COLUMN placement TEXT", NULL, NULL, NULL);
	sqlite3_exec(st->db, "ALTER TABLE runs ADD COLUMN plan_key TEXT", NULL, NULL, NULL);
	sqlite3_exec(st->db, "ALTER TABLE runs ADD COLUMN nodes TEXT", NULL, NULL, NULL);
	sqlite3_exec(st->db, "ALTER TABLE runs ADD COLUMN replay TEXT", NULL, NULL, NULL);
	/* when an attempt's process started (with its pid, it names the process: a pid is reused) */
	sqlite3_exec(st->db, "ALTER TABLE tasks ADD COLUMN pid_start INTEGER", NULL, NULL, NULL);
	sqlite3_exec(st->db, "ALTER TABLE attempts ADD COLUMN pid_start INTEGER", NULL, NULL, NULL);
	sqlite3_exec(st->db, "ALTER TABLE runs ADD COLUMN replay_of INTEGER", NULL, NULL, NULL);
	if (have && st->stale_run && !has_run(st, st->stale_run)) { /* (a store moved away is a new one) */
		char run[32];
		snprintf(run, sizeof run, "%ld", st->stale_run);
		long pid = atol(st->stale_lock);
		char msg[5000];
		snprintf(msg, sizeof msg, "the store %s has no record of run %s, which the runtime that stopped (pid %ld) was "
			 "running: its write-ahead log (state.db-wal) was lost, and with it what the run recorded; "
			 "the files are left as they are: move them away to start afresh", db, run, pid);
		*err = strdup(msg);
		pr_store_lock_restore(st);
		pr_store_close(st);
		return -1;
	}
	return 0;
}

void pr_store_close(pr_store *st)
{
	pr_store_async(st, 0);
	pr_store_finalize(st);
	if (st->db)
		sqlite3_close(st->db);
	st->db = NULL;
	pr_store_lock_release(st);
}

int pr_store_exec(pr_store *st, const char *sql)
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
	long run = rc == SQLITE_DONE ? (long)sqlite3_last_insert_rowid(st->db) : -1;
	if (run > 0 && !st->in_tx) /* committed: a runtime that takes over our lock expects to find it */
		pr_store_lock_note_run(st, run);
	return run;
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
	return pr_store_put(st, "UPDATE runs SET replay = ? WHERE id = ?", "tl", info, run);
}

int pr_store_run_nodes(pr_store *st, long run, const char *nodes)
{
	return pr_store_put(st, "UPDATE runs SET nodes = ? WHERE id = ?", "tl", nodes, run);
}


int pr_store_finish_run(pr_store *st, long run, const char *status)
{
	return pr_store_put(st, "UPDATE runs SET finished = ?, status = ? WHERE id = ?", "dtl", pr_now(), status, run);
}

int pr_store_event(pr_store *st, long run, const char *task, int attempt, const char *from, const char *to,
		   const char *detail)
{
	if (pr_store_put(st, "INSERT INTO events(run, task, attempt, from_state, to_state, at, detail) VALUES(?, ?, ?, ?, ?, ?, ?)",
		"ltittdt", run, task, attempt, from, to, pr_now(), detail) < 0)
		return -1;
	if (st->defer_rows)
		return 0; /* the caller writes the task's row before it commits (pr_store_row) */
	return pr_store_put(st, "INSERT INTO tasks(run, id, stage, state, attempts) VALUES(?, ?, '', ?, ?)"
		       " ON CONFLICT(run, id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts",
		   "ltti", run, task, to, attempt);
}

int pr_store_row(pr_store *st, long run, const char *task, const char *state, int attempts, const char *inputs,
		 const char *key, const char *parts)
{
	if (key && !*key)
		key = NULL;
	if (pr_store_put(st, "UPDATE tasks SET state = ?, attempts = ?, inputs = coalesce(?, inputs),"
		    " cache_key = coalesce(?, cache_key) WHERE run = ? AND id = ?",
		"tittlt", state, attempts, inputs, key, run, task) < 0)
		return -1;
	if (!key || !parts)
		return 0;
	/* a key's parts are kept once, however many tasks and runs had it */
	return pr_store_put(st, "INSERT OR IGNORE INTO keys(key, parts) VALUES(?, ?)", "tt", key, parts);
}

int pr_store_new_task(pr_store *st, long run, const char *task, const char *stage)
{
	if (pr_store_put(st, "INSERT OR REPLACE INTO tasks(run, id, stage, state, attempts) VALUES(?, ?, ?, 'pending', 0)", "ltt",
		run, task, stage) < 0)
		return -1;
	return pr_store_put(st, "INSERT INTO events(run, task, attempt, from_state, to_state, at) VALUES(?, ?, 0, '', 'pending', ?)",
		   "ltd", run, task, pr_now());
}

int pr_store_artifact(pr_store *st, long run, const char *task, const char *output, const char *path,
		      const char *hash, const char *value)
{
	return pr_store_put(st, "INSERT OR REPLACE INTO artifacts VALUES(?, ?, ?, ?, ?, ?)", "lttttt", run, task, output, path,
		   hash, value);
}

char *pr_store_cache_get(pr_store *st, const char *key)
{
	/* while the writer thread has the connection, reads go through a read-only one of their own */
	int none = 0;
	sqlite3_stmt *q = st->w ? pr_store_writer_lookup(st, &none) : pr_store_stmt(st, pr_store_cache_get_sql);
	char *out = NULL;
	if (none || !q)
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
	return pr_store_put(st, "INSERT OR REPLACE INTO cache VALUES(?, ?, ?, ?, ?)", "tlttt", key, run, task, parts, outputs);
}

void pr_store_finalize(pr_store *st)
{
	for (int i = 0; i < st->nstmts; i++)
		sqlite3_finalize(st->stmts[i].q);
	st->nstmts = 0;
}

int pr_store_running(pr_store *st, long run, const char *task, int attempt, long pid, unsigned long long pid_start,
		     const char *dir, double started, const char *command, const char *placement)
{
	if (pr_store_put(st, "UPDATE tasks SET pid = ?, pid_start = ?, dir = ?, started = ?, command = ?, placement = ?,"
		    " finished = NULL, exit_code = NULL WHERE run = ? AND id = ?",
		"lltdttlt", pid, (long)pid_start, dir, started, command, placement, run, task) < 0)
		return -1;
	return pr_store_put(st, "INSERT OR REPLACE INTO attempts(run, task, attempt, pid, pid_start, dir, started, placement)"
		       " VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
		   "ltilltdt", run, task, attempt, pid, (long)pid_start, dir, started, placement);
}

int pr_store_finished(pr_store *st, long run, const char *task, int attempt, double finished, int exit_code, int signal)
{
	/* an exit code of -1 and a signal of 0 are NULL */
	if (pr_store_put(st, "UPDATE tasks SET finished = ?, exit_code = nullif(?, -1) WHERE run = ? AND id = ?", "dilt",
		finished, exit_code, run, task) < 0)
		return -1;
	return pr_store_put(st, "UPDATE attempts SET finished = ?, exit_code = nullif(?, -1), signal = nullif(?, 0)"
		       " WHERE run = ? AND task = ? AND attempt = ?",
		   "diilti", finished, exit_code, signal, run, task, attempt);
}

char *pr_store_get(pr_store *st, long run, const char *task, const char *column)
{
	if (strcmp(column, "placement") != 0 || st->w)
		return NULL;
	sqlite3_stmt *q = pr_store_stmt(st, "SELECT placement FROM tasks WHERE run = ? AND id = ?");
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
	return pr_store_put(st, "INSERT INTO checkpoints VALUES(?, ?, ?, ?, ?)", "ltitd", run, task, attempt, path, at);
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
	if (rc == 0 && pr_store_has_expansions(st->db, *id)) { /* the plan with what its run-time fors added */
		json_t *p = json_loadb(*plan, *len, 0, NULL);
		if (p && pr_store_apply_expansions(st->db, *id, p) == 0) {
			char *text = json_dumps(p, JSON_COMPACT);
			if (text) {
				free(*plan);
				*plan = text;
				*len = strlen(text);
			}
		}
		json_decref(p);
	}
	return rc;
}

int pr_store_expansion(pr_store *st, long run, const char *kind, const char *id, const char *body)
{
	return pr_store_put(st, "INSERT INTO expansions(run, kind, id, body) VALUES(?, ?, ?, ?)", "ltt" "t", run, kind, id,
			    body);
}

int pr_store_has_expansions(sqlite3 *db, long run)
{
	sqlite3_stmt *q;
	int any = 0;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM expansions WHERE run = ? LIMIT 1", -1, &q, NULL) != SQLITE_OK)
		return 0; /* a store from before there were expansions: its runs rewrote their plans */
	sqlite3_bind_int64(q, 1, run);
	any = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return any;
}

int pr_store_apply_expansions(sqlite3 *db, long run, json_t *plan)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(db, "SELECT kind, id, body FROM expansions WHERE run = ? ORDER BY seq", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, run);
	json_t *tasks = json_object_get(plan, "tasks"), *byid = json_object();
	size_t k;
	json_t *t;
	json_array_foreach(tasks, k, t) if (json_is_string(json_object_get(t, "id")))
		json_object_set(byid, json_string_value(json_object_get(t, "id")), t);
	int rc = json_is_array(tasks) ? 0 : -1;
	while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(q, 0), *id = (const char *)sqlite3_column_text(q, 1);
		json_t *body = sqlite3_column_text(q, 2) ? json_loads((const char *)sqlite3_column_text(q, 2), JSON_DECODE_ANY, NULL)
							  : NULL;
		if (!kind || !id || !body) {
			rc = -1;
		} else if (!strcmp(kind, "task")) {
			json_array_append(tasks, body);
			json_object_set(byid, id, body);
		} else if (!strcmp(kind, "group")) {
			json_t *tmpl = json_object_get(byid, id);
			if (tmpl)
				json_object_set(tmpl, "group", body);
		} else if (!strcmp(kind, "scatter")) {
			if (!json_object_get(plan, "scatters"))
				json_object_set_new(plan, "scatters", json_object());
			json_object_set(json_object_get(plan, "scatters"), id, body);
		}
		json_decref(body);
	}
	json_decref(byid);
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
								     unsigned long long pid_start, const char *dir,
								     const char *placement), void *ctx)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "SELECT task, attempt, pid, dir, placement, pid_start FROM attempts WHERE run = ?"
				       " ORDER BY attempt", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, run);
	while (sqlite3_step(q) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(q, 0), sqlite3_column_int(q, 1), (long)sqlite3_column_int64(q, 2),
		   (unsigned long long)sqlite3_column_int64(q, 5), (const char *)sqlite3_column_text(q, 3),
		   (const char *)sqlite3_column_text(q, 4));
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
	pr_store_lock_note_run(st, run); /* it is in the store: resume found it there */
	return pr_store_put(st, "UPDATE runs SET status = 'running', finished = NULL WHERE id = ?", "l", run);
}

const char *pr_store_errmsg(pr_store *st)
{
	return sqlite3_errmsg(st->db);
}
