/*
 * store-query.c - the store's read side: what the reports (runs, show, why,
 * lineage) ask of it, each question a named function.
 *
 * A pr_query is a read-only connection to STATE/.pipec/state.db, opened
 * without the lock so that the reports work while a run writes: SQLite's
 * WAL gives the reader a consistent snapshot per statement.  Every SQL
 * statement the reports use lives here (and pipec cancel's three reads,
 * on the store it holds: cancel.c); report-*.c only format what these
 * functions return.
 *
 * A damaged store is never read as an empty or a partial one.  Opening
 * checks it (pr_query_check(): integrity_check, or quick_check on a
 * store of PR_STORE_FULL_CHECK bytes or more, and the tables a store has, so
 * that a file truncated to 0 bytes, a valid empty database, is refused);
 * what cannot be opened or is damaged is said in the words `pipec run`
 * uses (store.c, pr_store_open()).  Afterwards the first statement that
 * fails for any reason but a table or column an older store lacks is
 * kept, and pr_query_failed() tells the report not to show its answer.
 *
 * Answers are jansson values (new references, the caller decrefs) whose
 * keys each function's comment in runtime.h lists; a SQL NULL is JSON null
 * where the reports tell "none" apart from a value, and otherwise the
 * column's zero ("" for text, 0 for numbers), as the reports always read
 * it.
 *
 * The tasks of a run, as the reports see them, come from a TEMP VIEW
 * `tasks` that shadows main.tasks on this connection: a run that repeated
 * another (runs.replay_of) has that run's tasks, each taken from the cache
 * ('cached' where it succeeded with a key).  A store from before runs
 * could repeat has only its own.  The view's ORD keeps the plan's order.
 */
#include "store.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pr_query {
	sqlite3 *db;   /* read-only, with the TEMP VIEW tasks */
	char *path;    /* STATE/.pipec/state.db */
	char *failed;  /* why the first statement that failed did (a new message), or NULL */
};

/* The columns of main.tasks the reports read, named (a column added later, pid_start, is not theirs). */
#define TASK_COLUMNS "run, id, stage, state, attempts, cache_key, pid, dir, parts, inputs, command, exit_code, started," \
		     " finished, placement"

/* A text column, "" for NULL. */
static const char *col(sqlite3_stmt *q, int i)
{
	const char *s = (const char *)sqlite3_column_text(q, i);
	return s ? s : "";
}

/* A column as JSON: null for SQL NULL, else a real (REAL) or an integer (INT). */
static json_t *real_or_null(sqlite3_stmt *q, int i)
{
	return sqlite3_column_type(q, i) == SQLITE_NULL ? json_null() : json_real(sqlite3_column_double(q, i));
}
static json_t *int_or_null(sqlite3_stmt *q, int i)
{
	return sqlite3_column_type(q, i) == SQLITE_NULL ? json_null() : json_integer(sqlite3_column_int64(q, i));
}
static json_t *text_or_null(sqlite3_stmt *q, int i)
{
	return sqlite3_column_type(q, i) == SQLITE_NULL ? json_null() : json_string(col(q, i));
}

/* A new message: "the store PATH " followed by FMT with A. */
static char *says(const char *path, const char *fmt, const char *a)
{
	const char *head = "the store ";
	size_t n = strlen(head) + strlen(path) + strlen(fmt) + strlen(a) + 1;
	char *m = malloc(n);
	if (!m)
		abort();
	int k = snprintf(m, n, "%s%s", head, path);
	snprintf(m + k, n - (size_t)k, fmt, a);
	return m;
}

/* The store is damaged: what `pipec run` says of it (store.c, pr_store_open()), with WHY in the brackets. */
static char *damaged(const char *path, const char *why)
{
	return says(path, " is damaged (%s); it is left as it is: move it away to start afresh", why);
}

/* Notes why a statement failed with RC, the first time. */
static void failed(pr_query *qy, int rc)
{
	if (qy->failed)
		return;
	int code = rc & 0xff;
	qy->failed = code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? damaged(qy->path, sqlite3_errstr(rc))
								  : says(qy->path, " cannot be read: %s", sqlite3_errstr(rc));
}

/* SQL prepared on QY's connection, or NULL (a store from before the table or column it reads). */
static sqlite3_stmt *prep(pr_query *qy, const char *sql)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(qy->db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK) {
		if (rc != SQLITE_ERROR) /* SQLITE_ERROR: no such table or column, in an older store */
			failed(qy, rc);
		sqlite3_finalize(q);
		return NULL;
	}
	return q;
}

/* Steps Q (NULL: a statement that could not be prepared): 1 on a row, 0 when done or it failed (noted). */
static int row(pr_query *qy, sqlite3_stmt *q)
{
	if (!q)
		return 0;
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		failed(qy, rc);
	return 0;
}

int pr_query_check(sqlite3 *db, const char *path, char **err)
{
	sqlite3_stmt *q = NULL;
	/* as pr_store_open() checks it: integrity_check (an index against its table too) unless it is large */
	struct stat sb;
	int full = stat(path, &sb) == 0 && sb.st_size < PR_STORE_FULL_CHECK;
	int ok = sqlite3_prepare_v2(db, full ? "PRAGMA integrity_check" : "PRAGMA quick_check", -1, &q, NULL) == SQLITE_OK &&
		 sqlite3_step(q) == SQLITE_ROW &&
		 sqlite3_column_text(q, 0) && strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0;
	sqlite3_finalize(q);
	if (!ok) {
		*err = damaged(path, full ? "integrity_check failed" : "quick_check failed");
		return -1;
	}
	/* a file of 0 bytes is a valid empty database: it is not a store */
	q = NULL;
	ok = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('runs', 'tasks')",
				-1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 2;
	sqlite3_finalize(q);
	if (!ok) {
		*err = damaged(path, "it is empty: it has no table of runs or of tasks");
		return -1;
	}
	return 0;
}

pr_query *pr_query_open(const char *state_dir, char **err)
{
	size_t n = strlen(state_dir) + sizeof "/.pipec/state.db";
	char *path = malloc(n);
	if (!path)
		abort();
	snprintf(path, n, "%s/.pipec/state.db", state_dir);
	sqlite3 *db = NULL;
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		const char *fmt = "no store at %s (nothing has run there)";
		size_t m = strlen(fmt) + strlen(path);
		*err = malloc(m);
		if (!*err)
			abort();
		snprintf(*err, m, fmt, path);
		free(path);
		return NULL;
	}
	/* what `pipec run` says of a store it cannot open (store.c, pr_store_open()) */
	struct stat sb;
	const char *why = access(path, R_OK) != 0 ? strerror(errno)
			: stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ? sqlite3_errstr(SQLITE_CANTOPEN) /* as run's, opening it to write */
			: sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ? (db ? sqlite3_errmsg(db) : "out of memory")
			: NULL;
	if (why || pr_query_check(db, path, err) < 0) {
		if (why) {
			size_t m = strlen("cannot open the store : ") + strlen(path) + strlen(why) + 1;
			*err = malloc(m);
			if (!*err)
				abort();
			snprintf(*err, m, "cannot open the store %s: %s", path, why);
		}
		sqlite3_close(db);
		free(path);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_stmt *q;
	int replays = sqlite3_prepare_v2(db, "SELECT replay_of FROM runs", -1, &q, NULL) == SQLITE_OK;
	sqlite3_finalize(q);
	sqlite3_exec(db, replays
		     ? "CREATE TEMP VIEW tasks AS SELECT rowid AS ord, " TASK_COLUMNS " FROM main.tasks UNION ALL"
		       " SELECT t.rowid, r.id, t.id, t.stage,"
		       " CASE WHEN t.state = 'succeeded' AND coalesce(t.cache_key, '') <> '' THEN 'cached' ELSE t.state END,"
		       " 0, t.cache_key, NULL, NULL, t.parts, t.inputs, t.command, NULL, NULL, NULL, NULL"
		       " FROM main.runs r JOIN main.tasks t ON t.run = r.replay_of"
		     : "CREATE TEMP VIEW tasks AS SELECT rowid AS ord, " TASK_COLUMNS " FROM main.tasks", NULL, NULL, NULL);
	pr_query *qy = calloc(1, sizeof *qy);
	if (!qy)
		abort();
	qy->db = db;
	qy->path = path;
	return qy;
}

int pr_query_failed(pr_query *qy, char **err)
{
	if (!qy->failed)
		return 0;
	*err = strdup(qy->failed);
	return 1;
}

void pr_query_close(pr_query *qy)
{
	if (!qy)
		return;
	sqlite3_close(qy->db);
	free(qy->path);
	free(qy->failed);
	free(qy);
}

json_t *pr_query_runs(pr_query *qy)
{
	json_t *arr = json_array();
	sqlite3_stmt *q = prep(qy, "SELECT r.id, r.status, r.started, r.finished, r.plan_hash,"
				   " (SELECT count(*) FROM tasks t WHERE t.run = r.id),"
				   " (SELECT count(*) FROM tasks t WHERE t.run = r.id AND t.state IN ('succeeded', 'cached')),"
				   " (SELECT count(*) FROM tasks t WHERE t.run = r.id AND t.state IN ('failed', 'error'))"
				   " FROM runs r ORDER BY r.id");
	while (row(qy, q)) {
		json_t *o = json_object();
		json_object_set_new(o, "run", json_integer(sqlite3_column_int64(q, 0)));
		json_object_set_new(o, "status", json_string(col(q, 1)));
		json_object_set_new(o, "started", json_real(sqlite3_column_double(q, 2)));
		json_object_set_new(o, "finished", real_or_null(q, 3));
		json_object_set_new(o, "plan_hash", json_string(col(q, 4)));
		json_object_set_new(o, "tasks", json_integer(sqlite3_column_int(q, 5)));
		json_object_set_new(o, "ok", json_integer(sqlite3_column_int(q, 6)));
		json_object_set_new(o, "failed", json_integer(sqlite3_column_int(q, 7)));
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(q);
	return arr;
}

long pr_query_latest_run(pr_query *qy)
{
	long run = 0;
	sqlite3_stmt *q = prep(qy, "SELECT max(id) FROM runs");
	if (row(qy, q))
		run = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return run;
}

json_t *pr_query_run(pr_query *qy, long run)
{
	sqlite3_stmt *q = prep(qy, "SELECT status, started, finished FROM runs WHERE id = ?");
	json_t *o = NULL;
	if (q) {
		sqlite3_bind_int64(q, 1, run);
		if (row(qy, q)) {
			o = json_object();
			json_object_set_new(o, "status", json_string(col(q, 0)));
			json_object_set_new(o, "started", real_or_null(q, 1));
			json_object_set_new(o, "finished", real_or_null(q, 2));
		}
	}
	sqlite3_finalize(q);
	return o;
}

json_t *pr_query_tasks(pr_query *qy, long run)
{
	json_t *arr = json_array();
	sqlite3_stmt *q = prep(qy, "SELECT t.id, t.stage, t.state, t.attempts, t.exit_code, t.started, t.finished,"
				   " (SELECT detail FROM events e WHERE e.run = t.run AND e.task = t.id AND e.detail IS NOT NULL"
				   "  AND e.to_state <> 'running' ORDER BY seq DESC LIMIT 1), t.placement"
				   " FROM tasks t WHERE t.run = ? ORDER BY t.ord");
	if (q)
		sqlite3_bind_int64(q, 1, run);
	while (row(qy, q)) {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(col(q, 0)));
		json_object_set_new(o, "stage", json_string(col(q, 1)));
		json_object_set_new(o, "state", json_string(col(q, 2)));
		json_object_set_new(o, "attempts", json_integer(sqlite3_column_int(q, 3)));
		json_object_set_new(o, "exit_code", int_or_null(q, 4));
		json_object_set_new(o, "started", json_real(sqlite3_column_double(q, 5)));
		json_object_set_new(o, "finished", json_real(sqlite3_column_double(q, 6)));
		json_object_set_new(o, "detail", text_or_null(q, 7));
		json_object_set_new(o, "placement", text_or_null(q, 8));
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(q);
	return arr;
}

json_t *pr_query_attempts(pr_query *qy, long run, const char *task)
{
	json_t *arr = json_array();
	sqlite3_stmt *q = prep(qy, "SELECT attempt, started, finished, exit_code, signal, placement, pid FROM attempts"
				   " WHERE run = ? AND task = ? ORDER BY attempt");
	if (!q)
		return arr; /* a store from before attempts were kept */
	sqlite3_bind_int64(q, 1, run);
	sqlite3_bind_text(q, 2, task, -1, SQLITE_STATIC);
	while (row(qy, q)) {
		json_t *o = json_object();
		json_object_set_new(o, "attempt", json_integer(sqlite3_column_int(q, 0)));
		json_object_set_new(o, "started", json_real(sqlite3_column_double(q, 1)));
		json_object_set_new(o, "finished", real_or_null(q, 2));
		json_object_set_new(o, "exit_code", sqlite3_column_type(q, 3) == SQLITE_NULL ? json_null()
											  : json_integer(sqlite3_column_int(q, 3)));
		json_object_set_new(o, "signal", sqlite3_column_type(q, 4) == SQLITE_NULL ? json_null()
											: json_integer(sqlite3_column_int(q, 4)));
		json_object_set_new(o, "placement", text_or_null(q, 5));
		json_object_set_new(o, "pid", int_or_null(q, 6));
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(q);
	return arr;
}

/* A task's run, state, cache key parts (kept once per key; in the row in older stores) and key. */
#define TASK_PARTS "SELECT t.run, t.state, coalesce(t.parts, k.parts), t.cache_key FROM tasks t" \
		   " LEFT JOIN keys k ON k.key = t.cache_key"

/* The row Q stepped to, as {run, state, parts, key}. */
static json_t *parts_row(sqlite3_stmt *q)
{
	json_t *o = json_object();
	json_object_set_new(o, "run", json_integer(sqlite3_column_int64(q, 0)));
	json_object_set_new(o, "state", json_string(col(q, 1)));
	json_object_set_new(o, "parts", json_string(col(q, 2)));
	json_object_set_new(o, "key", json_string(col(q, 3)));
	return o;
}

json_t *pr_query_key_parts(pr_query *qy, const char *task, long run)
{
	sqlite3_stmt *q = prep(qy, run ? TASK_PARTS " WHERE t.id = ?1 AND t.run = ?2"
				       : TASK_PARTS " WHERE t.id = ?1 ORDER BY t.run DESC LIMIT 1");
	json_t *o = NULL;
	if (q) {
		sqlite3_bind_text(q, 1, task, -1, SQLITE_STATIC);
		if (run)
			sqlite3_bind_int64(q, 2, run);
		if (row(qy, q))
			o = parts_row(q);
	}
	sqlite3_finalize(q);
	return o;
}

json_t *pr_query_key_parts_before(pr_query *qy, const char *task, long run)
{
	sqlite3_stmt *q = prep(qy, TASK_PARTS " WHERE t.id = ? AND t.run < ? AND coalesce(t.parts, k.parts) IS NOT NULL"
					      " ORDER BY t.run DESC LIMIT 1");
	json_t *o = NULL;
	if (q) {
		sqlite3_bind_text(q, 1, task, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, run);
		if (row(qy, q))
			o = parts_row(q);
	}
	sqlite3_finalize(q);
	return o;
}

json_t *pr_query_lineage_of(pr_query *qy, const char *path)
{
	/*
	 * The output at PATH; else one in the directory PATH; else the Dir or List[File] output PATH is in
	 * (under its directory, or one of the List's files).  Of those, the run that made the file rather
	 * than a later one that took it from the cache.  Paths are compared as strings: no LIKE patterns.
	 */
	sqlite3_stmt *q = prep(qy, "SELECT a.run, a.task, a.output, CASE WHEN a.path = ?1 THEN 0"
				   " WHEN length(?1) > 0 AND substr(a.path, 1, length(?1) + 1) = ?1 || '/' THEN 1 ELSE 2 END AS how"
				   " FROM artifacts a"
				   " JOIN tasks t ON t.run = a.run AND t.id = a.task"
				   " WHERE a.path = ?1 OR (length(?1) > 0 AND substr(a.path, 1, length(?1) + 1) = ?1 || '/')"
				   " OR (length(a.path) > 0 AND substr(?1, 1, length(a.path) + 1) = a.path || '/')"
				   " OR (a.value LIKE '[%' AND json_valid(a.value) AND EXISTS (SELECT 1 FROM json_each(a.value) f"
				   "     WHERE f.value = ?1))"
				   " ORDER BY how, (t.state = 'succeeded') DESC, a.run DESC LIMIT 1");
	json_t *o = NULL;
	if (q) {
		sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
		if (row(qy, q)) {
			o = json_object();
			json_object_set_new(o, "run", json_integer(sqlite3_column_int64(q, 0)));
			json_object_set_new(o, "task", json_string(col(q, 1)));
			json_object_set_new(o, "output", json_string(col(q, 2)));
			json_object_set_new(o, "inside", json_boolean(sqlite3_column_int(q, 3) == 2));
		}
	}
	sqlite3_finalize(q);
	return o;
}

long pr_query_task_run(pr_query *qy, const char *task)
{
	long run = 0;
	sqlite3_stmt *q = prep(qy, "SELECT run FROM tasks WHERE id = ? ORDER BY run DESC LIMIT 1");
	if (q) {
		sqlite3_bind_text(q, 1, task, -1, SQLITE_STATIC);
		if (row(qy, q))
			run = sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	return run;
}

json_t *pr_query_plan(pr_query *qy, long run)
{
	/* a run that repeated another has its plan (with what its run-time fors added) */
	long planned = run;
	sqlite3_stmt *q = prep(qy, "SELECT replay_of FROM runs WHERE id = ? AND replay_of IS NOT NULL");
	if (q) { /* no replay_of in a store from before runs could repeat */
		sqlite3_bind_int64(q, 1, run);
		if (row(qy, q))
			planned = sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	/* the plan a run-time for changed, else the one kept once for every run of it */
	q = prep(qy, "SELECT coalesce(r.plan, p.plan) FROM runs r LEFT JOIN plans p ON p.key = r.plan_key WHERE r.id = ?");
	json_t *plan = NULL;
	if (q) {
		sqlite3_bind_int64(q, 1, planned);
		if (row(qy, q))
			plan = json_loads(col(q, 0), 0, NULL);
	}
	sqlite3_finalize(q);
	/* with what its run-time fors added, kept in their own form */
	if (plan && pr_store_has_expansions(qy->db, planned))
		pr_store_apply_expansions(qy->db, planned, plan);
	return plan;
}

json_t *pr_query_task(pr_query *qy, long run, const char *task)
{
	sqlite3_stmt *q = prep(qy, "SELECT stage, state, command, inputs FROM tasks WHERE run = ? AND id = ?");
	json_t *o = NULL;
	if (q) {
		sqlite3_bind_int64(q, 1, run);
		sqlite3_bind_text(q, 2, task, -1, SQLITE_STATIC);
		if (row(qy, q)) {
			o = json_object();
			json_object_set_new(o, "stage", json_string(col(q, 0)));
			json_object_set_new(o, "state", json_string(col(q, 1)));
			json_object_set_new(o, "command", json_string(col(q, 2)));
			json_object_set_new(o, "inputs", json_string(col(q, 3)));
		}
	}
	sqlite3_finalize(q);
	return o;
}

json_t *pr_query_made_by(pr_query *qy, long run, const char *task)
{
	sqlite3_stmt *q = prep(qy, "SELECT t.run, t.command FROM cache k JOIN tasks t ON t.run = k.run AND t.id = k.task"
				   " WHERE k.key = (SELECT cache_key FROM tasks WHERE run = ? AND id = ?)");
	json_t *o = NULL;
	if (q) {
		sqlite3_bind_int64(q, 1, run);
		sqlite3_bind_text(q, 2, task, -1, SQLITE_STATIC);
		if (row(qy, q)) {
			o = json_object();
			json_object_set_new(o, "run", json_integer(sqlite3_column_int64(q, 0)));
			json_object_set_new(o, "command", json_string(col(q, 1)));
		}
	}
	sqlite3_finalize(q);
	return o;
}

long pr_query_live_run(pr_store *st)
{
	long run = 0;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT max(id) FROM runs WHERE status = 'running'", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		run = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return run;
}

char *pr_query_run_status(pr_store *st, long run)
{
	char *status = NULL;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT coalesce(status, '') FROM runs WHERE id = ?", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, run);
		if (sqlite3_step(q) == SQLITE_ROW && !(status = strdup(col(q, 0))))
			abort();
	}
	sqlite3_finalize(q);
	return status;
}

json_t *pr_query_task_states(pr_store *st, long run)
{
	json_t *arr = json_array();
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT id, state, attempts, pid, pid_start FROM tasks WHERE run = ? ORDER BY rowid",
			       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, run);
		while (sqlite3_step(q) == SQLITE_ROW) {
			json_t *o = json_object();
			json_object_set_new(o, "id", json_string(col(q, 0)));
			json_object_set_new(o, "state", json_string(col(q, 1)));
			json_object_set_new(o, "attempts", json_integer(sqlite3_column_int(q, 2)));
			json_object_set_new(o, "pid", json_integer(sqlite3_column_int64(q, 3)));
			json_object_set_new(o, "pid_start", json_integer(sqlite3_column_int64(q, 4)));
			json_array_append_new(arr, o);
		}
	}
	sqlite3_finalize(q);
	return arr;
}
