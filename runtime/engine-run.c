/*
 * engine-run.c - a run from beginning to end: pr_run() and pr_resume().
 *
 * pr_run(): the store opened (and locked), a repeat of the last run of the
 * same plan tried first (engine-cache.c), else the plan loaded, the run and
 * its tasks recorded, the executor made (exec-local.c, unless a test gives
 * its own), the tasks with nothing to wait for looked at, and the loop
 * driven to the end (engine-loop.c); then the outcome: counts, status,
 * result, committed.
 *
 * pr_resume(): a run that did not finish goes on.  Each task's state is the
 * fold of its events (the last state it entered, its latest attempt), its
 * outputs its artifacts; a task that was running is handed to the executor
 * to adopt (exec.h): it ends when its process does, at once when it ended
 * meanwhile, or is LOST and tried again.  A ready task goes back on the
 * heap; a pending one whose waits have ended is looked at.  Nothing that
 * committed runs again.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

char pe_no_dir[] = "";

static void free_runner(runner *R)
{
	if (R->exiting) /* the process ends next: the plan and tasks go with it */
		return;
	pe_unload(R);
	free(R->active);
	free(R->dirty);
	free(R->ended);
	free(R->events);
	pr_nodes_free(&R->nodes);
	json_decref(R->expand);
	json_decref(R->sources);
}

/* The executor goes (its processes, threads and namespaces), unless it was the caller's. */
static void close_executor(runner *R)
{
	if (R->ex && R->own_ex)
		R->ex->ops->close(R->ex);
	R->ex = NULL;
}

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
				json_array_foreach(f->plan.fallback_of, k, x)
					handled |= !strcmp(json_string_value(x), t->id) && pe_ok_state(f->st);
			}
			bad |= !handled;
			break;
		}
		default: break;
		}
	}
	int missing = 0;
	json_t *result = pe_eval(R, R->result, 0, &missing);
	if ((missing & PE_EVAL_FAILED) && !R->cancelled) { /* its tasks succeeded, and its value cannot be computed */
		if (R->log)
			fprintf(R->log, "pipec: the pipeline's result: %s\n", R->eval_why);
		bad = 1;
	}
	sum->status = R->cancelled ? "cancelled" : bad ? "failed" : "succeeded";
	sum->result = pr_json_text(result);
	json_decref(result);
	if (!R->store_failed) { /* else it stays "running": a resume finishes it */
		pe_begin(R);
		pr_store_finish_run(&R->store, R->run, sum->status);
		pe_keep_replay(R, sum);
		pe_commit(R);
	}
	close_executor(R);
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
	if (pe_mkdirs(dir) < 0)
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

/* What pr_run() and pr_resume() begin with: the options, and the nodes tasks run on. */
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
	R->no_sandbox = opt->no_sandbox;
	if (!opt->nodes) {
		pr_nodes_local(&R->nodes);
		return 0;
	}
	return pr_nodes_from_json(&R->nodes, opt->nodes, err);
}

/* The executor: X, the caller's, or the local one (which says once what the sandbox here lacks). */
static void make_executor(runner *R, pr_executor *x)
{
	if (!x) {
		char missing[2048];
		x = pr_local_new(!R->no_sandbox, R->jobs, R->root, R->tag, R->run, R->exiting, missing, sizeof missing);
		if (missing[0])
			fprintf(stderr, "pipec: the sandbox here is partial: %s\n", missing);
		R->own_ex = 1;
	}
	x->report = pe_report;
	x->engine = R;
	R->ex = x;
}

int pe_run_with(const char *plan, size_t len, const pr_options *opt, pr_executor *x, pr_summary *sum, char **err)
{
	runner r = {0}, *R = &r;
	if (setup(R, opt, sum, err) < 0) {
		free_runner(R);
		return 2;
	}
	const char *state = opt->state_dir ? opt->state_dir : ".";
	char key[65];
	pr_plan_key(plan, len, key);
	if (pr_store_open(&R->store, state, err) < 0) {
		free_runner(R);
		return 2;
	}
	if (pe_try_replay(R, key, sum)) {
		pr_store_close(&R->store);
		free_runner(R);
		return 0;
	}
	if (pe_load(R, plan, len, err) < 0) {
		pr_store_close(&R->store);
		free_runner(R);
		return 2;
	}
	R->store.defer_rows = 1;
	set_root(R);
	R->run = pr_store_new_run(&R->store, R->hash, plan, len, key);
	if (R->run < 0) {
		if (asprintf(err, "cannot record the run in the store %s/state.db: %s", R->store.dir,
			     pr_store_errmsg(&R->store)) < 0)
			*err = NULL;
		pr_store_close(&R->store);
		free_runner(R);
		return 2;
	}
	sum->run = R->run;
	if (opt->nodes) /* a resume places on the same nodes */
		pr_store_run_nodes(&R->store, R->run, opt->nodes);
	make_executor(R, x);
	make_run_dir(R);
	pe_begin(R);
	for (uint32_t i = 0; i < R->n; i++)
		pr_store_new_task(&R->store, R->run, R->t[i].id, R->t[i].stage);
	for (uint32_t i = 0; i < R->n; i++)
		if (R->t[i].pending == 0)
			pe_consider(R, i);
	pe_drive(R);
	return outcome(R, sum);
}

int pr_run(const char *plan, size_t len, const pr_options *opt, pr_summary *sum, char **err)
{
	return pe_run_with(plan, len, opt, NULL, sum, err);
}

void pr_summary_free(pr_summary *s)
{
	free(s->result);
	s->result = NULL;
}

/* ---- resume --------------------------------------------------------------------------- */

static rtask *task_named(runner *R, const char *id)
{
	json_t *ix = id ? json_object_get(R->index, id) : NULL;
	return ix ? &R->t[json_integer_value(ix)] : NULL;
}

/*
 * An event of the run: a task's state is the last state it entered, its
 * attempt the latest; each pause (out of memory after a checkpoint) and
 * each retry that spent none (PE_NOT_COUNTED) gives it one attempt more.
 */
static void fold_event(void *ctx, const char *task, int attempt, const char *to, const char *detail)
{
	rtask *t = task_named(ctx, task);
	int s = pe_state_of(to);
	if (!t || s < 0)
		return;
	t->st = (tstate)s;
	if (attempt > t->attempt)
		t->attempt = attempt;
	size_t dl = detail ? strlen(detail) : 0, ml = strlen(PE_NOT_COUNTED);
	if (s == S_PAUSED) {
		t->oom_pauses++;
		t->attempts++;
	} else if (s == S_RETRYING && dl >= ml && !strcmp(detail + dl - ml, PE_NOT_COUNTED)) {
		t->attempts++;
		t->not_started += strstr(detail, PE_DID_NOT_START) != NULL;
	}
}

/* An attempt of the run: the latest one's process, directory and placement are the task's. */
static void fold_attempt(void *ctx, const char *task, int attempt, long pid, unsigned long long pid_start, const char *dir,
			 const char *placement)
{
	runner *R = ctx;
	rtask *t = task_named(R, task);
	if (!t || attempt != t->attempt)
		return;
	t->handle = pid;
	t->since = pid_start;
	if (dir)
		pe_set_dir(t, dir);
	if (pr_place_parse(&R->nodes, placement, &t->place) < 0)
		memset(&t->place, 0, sizeof t->place);
}

static void fold_artifact(void *ctx, const char *task, const char *output, const char *path, const char *hash,
			  const char *value)
{
	rtask *t = task_named(ctx, task);
	if (!t || !output)
		return;
	if (!t->outputs)
		t->outputs = json_object();
	json_t *o = json_object();
	json_object_set_new(o, "path", json_string(path ? path : ""));
	json_object_set_new(o, "hash", json_string(hash ? hash : ""));
	json_t *v = value ? json_loads(value, JSON_DECODE_ANY, NULL) : NULL;
	json_object_set_new(o, "value", v ? v : json_null());
	json_object_set_new(t->outputs, output, o);
}

int pe_resume_with(long run, const pr_options *opt, pr_executor *x, pr_summary *sum, char **err)
{
	runner r = {0}, *R = &r;
	if (setup(R, opt, sum, err) < 0) {
		free_runner(R);
		return 2;
	}
	if (pr_store_open(&R->store, opt->state_dir ? opt->state_dir : ".", err) < 0) {
		free_runner(R);
		return 2;
	}
	R->store.defer_rows = 1;
	char *plan = NULL, *nodes = NULL;
	size_t len = 0;
	if (pr_store_run_plan(&R->store, run, &R->run, &plan, &len, &nodes) == 0 && nodes && !opt->nodes) {
		/* the run's simulated nodes, unless --resources says otherwise */
		pr_nodes_free(&R->nodes);
		if (pr_nodes_from_json(&R->nodes, nodes, err) < 0)
			R->run = 0;
	}
	free(nodes);
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
	char *replay = pr_store_replay_of(&R->store, R->run);
	json_t *info = replay ? json_loads(replay, 0, NULL) : NULL;
	free(replay);
	if (info) {
		pe_replay_summary(info, sum);
		sum->run = R->run;
		json_decref(info);
		free(plan);
		pr_store_close(&R->store);
		free_runner(R);
		return 0;
	}
	int rc = pe_load(R, plan, len, err);
	free(plan);
	if (rc < 0) {
		pr_store_close(&R->store);
		free_runner(R);
		return 2;
	}
	sum->run = R->run;
	set_root(R);
	/* each task's state is the fold of its events; its running attempt, and its outputs */
	pr_store_each_event(&R->store, R->run, fold_event, R);
	pr_store_each_attempt(&R->store, R->run, fold_attempt, R);
	pr_store_each_artifact(&R->store, R->run, fold_artifact, R);
	for (uint32_t i = 0; i < R->n; i++) {
		rtask *t = &R->t[i];
		t->pending = 0;
		for (uint32_t k = 0; k < t->nwaits; k++)
			t->pending += !pe_terminal(R->t[t->waits[k]].st);
	}
	make_executor(R, x);
	make_run_dir(R);
	pe_begin(R);
	pr_store_reopen_run(&R->store, R->run);
	/* a task that was running: adopted (it ends when its process does), accepted, or retried */
	for (uint32_t i = 0; i < R->n; i++) {
		rtask *t = &R->t[i];
		if (t->st == S_RUNNING || t->st == S_RETRYING || t->st == S_PAUSED)
			pe_activate(R, i);
		if (t->st == S_RETRYING || t->st == S_PAUSED)
			t->not_before = pe_now(R);
		if (t->st != S_RUNNING)
			continue;
		pe_occupy(R, i);
		pe_cache_key(R, i, NULL, 0); /* where its checkpoints are, for its end */
		t->token_sent = 1; /* its go-ahead went, or it never runs */
		if (R->log && t->handle > 0)
			fprintf(R->log, "%-10s %s: adopting (pid %ld)\n", "running", t->id, t->handle);
		R->ex->ops->adopt(R->ex, i, t->attempt, t->handle, t->since, t->dir != pe_no_dir ? t->dir : "");
	}
	for (uint32_t i = 0; i < R->n; i++) {
		rtask *t = &R->t[i];
		if (t->st == S_READY) { /* its inputs again (the sandbox keeps them visible), and its key */
			pe_inputs(R, i);
			pe_cache_key(R, i, NULL, 0);
			pe_heap_push(R, i);
		} else if (t->st == S_PENDING && t->pending == 0) {
			pe_consider(R, i);
		}
	}
	pe_drive(R);
	return outcome(R, sum);
}

int pr_resume(long run, const pr_options *opt, pr_summary *sum, char **err)
{
	return pe_resume_with(run, opt, NULL, sum, err);
}
