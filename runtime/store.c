/*
 * store.c - the SQLite store: runs, tasks, their events, artifacts, cache.
 *
 * Schema (STATE/.pipec/state.db):
 *
 *   runs(id, plan_hash, started, finished, status, plan)  -- the plan, for resume
 *   tasks(run, id, stage, state, attempts, cache_key, pid, dir, parts, inputs, command,
 *         exit_code, started, finished)                   -- state = fold of events; the rest
 *                                                         -- is what show, why and lineage read
 *   events(seq, run, task, attempt, from_state, to_state, at, detail)
 *   artifacts(run, task, output, path, hash, value)       -- what each task made
 *   cache(key, run, task, parts, outputs)                 -- results by what made them
 *   checkpoints(run, task, attempt, path, at)             -- the newest checkpoint an attempt left
 *
 * The database is opened with journal_mode=WAL, synchronous=FULL and a busy
 * timeout; `quick_check` must pass or the file is refused (and left as it
 * is).  Writers take BEGIN IMMEDIATE.  Transitions are appended in batches:
 * the scheduler collects the transitions of one loop iteration and commits
 * them, with the task rows they change, in one transaction.
 *
 * One runtime owns a state directory at a time: STATE/.pipec/lock holds the
 * owner's pid; a lock whose process is gone is taken over.
 */
#include "runtime.h"

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, plan_hash TEXT, started REAL,"
	" finished REAL, status TEXT, plan TEXT, plan_key TEXT, nodes TEXT);"
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
	if (sqlite3_open_v2(db, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
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
	return 0;
}

void pr_store_close(pr_store *st)
{
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

long pr_store_new_run(pr_store *st, const char *plan_hash, const char *plan, size_t len)
{
	/* the plan is kept once however many runs it has (runs.plan only for one a run-time for changed) */
	unsigned char h[32];
	char key[65];
	crypto_generichash(h, sizeof h, (const unsigned char *)plan, len, NULL, 0);
	sodium_bin2hex(key, sizeof key, h, sizeof h);
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

int pr_store_run_nodes(pr_store *st, long run, const char *nodes)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "UPDATE runs SET nodes = ? WHERE id = ?", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, nodes, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, run);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

int pr_store_plan(pr_store *st, long run, const char *plan)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "UPDATE runs SET plan = ? WHERE id = ?", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, plan, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, run);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

int pr_store_finish_run(pr_store *st, long run, const char *status)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "UPDATE runs SET finished = ?, status = ? WHERE id = ?", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_double(q, 1, pr_now());
	sqlite3_bind_text(q, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, run);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

int pr_store_event(pr_store *st, long run, const char *task, int attempt, const char *from, const char *to,
		   const char *detail)
{
	if (!st->ev) {
		if (sqlite3_prepare_v2(st->db, "INSERT INTO events(run, task, attempt, from_state, to_state, at, detail)"
					       " VALUES(?, ?, ?, ?, ?, ?, ?)", -1, &st->ev, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(st->db, "INSERT INTO tasks(run, id, stage, state, attempts) VALUES(?, ?, '', ?, ?)"
					       " ON CONFLICT(run, id) DO UPDATE SET state = excluded.state,"
					       " attempts = excluded.attempts", -1, &st->up, NULL) != SQLITE_OK)
			return -1;
	}
	sqlite3_reset(st->ev);
	sqlite3_bind_int64(st->ev, 1, run);
	sqlite3_bind_text(st->ev, 2, task, -1, SQLITE_STATIC);
	sqlite3_bind_int(st->ev, 3, attempt);
	sqlite3_bind_text(st->ev, 4, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st->ev, 5, to, -1, SQLITE_STATIC);
	sqlite3_bind_double(st->ev, 6, pr_now());
	if (detail)
		sqlite3_bind_text(st->ev, 7, detail, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st->ev, 7);
	if (sqlite3_step(st->ev) != SQLITE_DONE)
		return -1;
	if (st->defer_rows)
		return 0; /* the caller writes the task's row before it commits (pr_store_row) */
	sqlite3_reset(st->up);
	sqlite3_bind_int64(st->up, 1, run);
	sqlite3_bind_text(st->up, 2, task, -1, SQLITE_STATIC);
	sqlite3_bind_text(st->up, 3, to, -1, SQLITE_STATIC);
	sqlite3_bind_int(st->up, 4, attempt);
	return sqlite3_step(st->up) == SQLITE_DONE ? 0 : -1;
}

int pr_store_row(pr_store *st, long run, const char *task, const char *state, int attempts, const char *inputs,
		 const char *key, const char *parts)
{
	sqlite3_stmt *q = stmt(st, "UPDATE tasks SET state = ?, attempts = ?, inputs = coalesce(?, inputs),"
				   " cache_key = coalesce(?, cache_key) WHERE run = ? AND id = ?");
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, attempts);
	if (inputs)
		sqlite3_bind_text(q, 3, inputs, -1, SQLITE_STATIC);
	if (key && *key)
		sqlite3_bind_text(q, 4, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, run);
	sqlite3_bind_text(q, 6, task, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		return -1;
	if (!key || !*key || !parts)
		return 0;
	/* a key's parts are kept once, however many tasks and runs had it */
	q = stmt(st, "INSERT OR IGNORE INTO keys(key, parts) VALUES(?, ?)");
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, parts, -1, SQLITE_STATIC);
	return sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
}

int pr_store_new_task(pr_store *st, long run, const char *task, const char *stage)
{
	sqlite3_stmt *q = stmt(st, "INSERT OR REPLACE INTO tasks(run, id, stage, state, attempts) VALUES(?, ?, ?, 'pending', 0)");
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, run);
	sqlite3_bind_text(q, 2, task, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, stage, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		return -1;
	q = stmt(st, "INSERT INTO events(run, task, attempt, from_state, to_state, at) VALUES(?, ?, 0, '', 'pending', ?)");
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, run);
	sqlite3_bind_text(q, 2, task, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 3, pr_now());
	return sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
}

int pr_store_artifact(pr_store *st, long run, const char *task, const char *output, const char *path,
		      const char *hash, const char *value)
{
	sqlite3_stmt *q = stmt(st, "INSERT OR REPLACE INTO artifacts VALUES(?, ?, ?, ?, ?, ?)");
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, run);
	sqlite3_bind_text(q, 2, task, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, output, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, hash, -1, SQLITE_STATIC);
	if (value)
		sqlite3_bind_text(q, 6, value, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 6);
	return sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
}

char *pr_store_cache_get(pr_store *st, const char *key)
{
	sqlite3_stmt *q = stmt(st, "SELECT outputs FROM cache WHERE key = ?");
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
	sqlite3_stmt *q = stmt(st, "INSERT OR REPLACE INTO cache VALUES(?, ?, ?, ?, ?)");
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, run);
	sqlite3_bind_text(q, 3, task, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, parts, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, outputs, -1, SQLITE_STATIC);
	return sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
}

void pr_store_finalize(pr_store *st)
{
	sqlite3_finalize(st->ev);
	sqlite3_finalize(st->up);
	st->ev = st->up = NULL;
	for (int i = 0; i < st->nstmts; i++)
		sqlite3_finalize(st->stmts[i].q);
	st->nstmts = 0;
}

int pr_store_running(pr_store *st, long run, const char *task, int attempt, long pid, const char *dir, double started,
		     const char *command, const char *placement)
{
	sqlite3_stmt *q = stmt(st, "UPDATE tasks SET pid = ?, dir = ?, started = ?, command = ?, placement = ?,"
				   " finished = NULL, exit_code = NULL WHERE run = ? AND id = ?");
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, pid);
	sqlite3_bind_text(q, 2, dir, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 3, started);
	sqlite3_bind_text(q, 4, command, -1, SQLITE_STATIC);
	if (placement)
		sqlite3_bind_text(q, 5, placement, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, run);
	sqlite3_bind_text(q, 7, task, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		return -1;
	q = stmt(st, "INSERT OR REPLACE INTO attempts(run, task, attempt, pid, dir, started, placement)"
		     " VALUES(?, ?, ?, ?, ?, ?, ?)");
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, run);
	sqlite3_bind_text(q, 2, task, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, attempt);
	sqlite3_bind_int64(q, 4, pid);
	sqlite3_bind_text(q, 5, dir, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 6, started);
	if (placement)
		sqlite3_bind_text(q, 7, placement, -1, SQLITE_STATIC);
	return sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
}

int pr_store_finished(pr_store *st, long run, const char *task, int attempt, double finished, int exit_code, int signal)
{
	static const char *const sqls[] = {
		"UPDATE tasks SET finished = ?, exit_code = ? WHERE run = ? AND id = ?",
		"UPDATE attempts SET finished = ?, exit_code = ?, signal = ? WHERE run = ? AND task = ? AND attempt = ?",
	};
	for (int k = 0; k < 2; k++) {
		sqlite3_stmt *q = stmt(st, sqls[k]);
		if (!q)
			return -1;
		int n = 1;
		sqlite3_bind_double(q, n++, finished);
		if (exit_code >= 0)
			sqlite3_bind_int(q, n, exit_code);
		n++;
		if (k == 1 && signal > 0)
			sqlite3_bind_int(q, n, signal);
		if (k == 1)
			n++;
		sqlite3_bind_int64(q, n++, run);
		sqlite3_bind_text(q, n++, task, -1, SQLITE_STATIC);
		if (k == 1)
			sqlite3_bind_int(q, n, attempt);
		if (sqlite3_step(q) != SQLITE_DONE)
			return -1;
	}
	return 0;
}

int pr_store_set(pr_store *st, long run, const char *task, const char *column, const char *text)
{
	static const char *const allowed[] = {"stage", "cache_key", "parts", "inputs"};
	static const char *const sqls[] = {
		"UPDATE tasks SET stage = ? WHERE run = ? AND id = ?",
		"UPDATE tasks SET cache_key = ? WHERE run = ? AND id = ?",
		"UPDATE tasks SET parts = ? WHERE run = ? AND id = ?",
		"UPDATE tasks SET inputs = ? WHERE run = ? AND id = ?",
	};
	size_t k = 0;
	while (k < sizeof allowed / sizeof allowed[0] && strcmp(allowed[k], column) != 0)
		k++;
	if (k == sizeof allowed / sizeof allowed[0])
		return -1;
	sqlite3_stmt *q = stmt(st, sqls[k]);
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, run);
	sqlite3_bind_text(q, 3, task, -1, SQLITE_STATIC);
	return sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
}

char *pr_store_get(pr_store *st, long run, const char *task, const char *column)
{
	if (strcmp(column, "placement") != 0)
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
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO checkpoints VALUES(?, ?, ?, ?, ?)", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, run);
	sqlite3_bind_text(q, 2, task, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, attempt);
	sqlite3_bind_text(q, 4, path, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 5, at);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : -1;
}
