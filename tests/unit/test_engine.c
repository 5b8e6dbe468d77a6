/*
 * The engine (runtime/engine-*.c) driven by the fake executor
 * (fake-exec.c): scheduling order, retries and backoff, timeouts, skips,
 * try/else, cancellation, attempts that never started, out-of-memory pauses,
 * and resume with adoption — a real plan (compiled from .pipe source), a
 * real store in a scratch directory, no processes, a virtual clock.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fake-exec.h"
#include "pipec-compiler.h"

static char state[64];

static void setup(void)
{
	snprintf(state, sizeof state, "/tmp/pipec-engine-XXXXXX");
	cr_assert_not_null(mkdtemp(state));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", state);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", state);
}

TestSuite(engine, .init = setup, .fini = teardown, .timeout = 60);

/* The plan of SRC (a .pipe program): a new string. */
static char *plan_of(const char *src)
{
	char path[128];
	snprintf(path, sizeof path, "%s/test.pipe", state);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(src, f);
	fclose(f);
	pc_ctx *ctx = pc_ctx_new();
	cr_assert_eq(pc_check_file(ctx, path), 0);
	if (pc_error_count(ctx))
		pc_diag_render(ctx, stderr, PC_FORMAT_HUMAN, 0);
	cr_assert_eq(pc_error_count(ctx), 0, "the test's program has errors");
	char *plan = NULL, *err = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&plan, &len);
	cr_assert_eq(pc_build_plan(ctx, path, "main", NULL, 0, out, &err), 0, "%s", err ? err : "");
	fclose(out);
	pc_ctx_free(ctx);
	return plan;
}

/* Runs SRC with F at JOBS slots: the exit status (0, 1, 2), *SUM filled. */
static int run(fake *f, const char *src, int jobs, pr_summary *sum)
{
	char *plan = plan_of(src), *err = NULL;
	pr_options o = {.state_dir = state, .jobs = jobs, .no_sandbox = 1};
	int rc = pe_run_with(plan, strlen(plan), &o, &f->x, sum, &err);
	cr_assert_null(err, "%s", err);
	free(plan);
	return rc;
}

static fake_fate quick(fake *f, const pr_attempt *a)
{
	(void)f, (void)a;
	return (fake_fate){.duration = 1};
}

/* The number of events of TASK in the store that went to state TO. */
static int events_to(const char *task, const char *to)
{
	char db[128];
	snprintf(db, sizeof db, "%s/.pipec/state.db", state);
	sqlite3 *h;
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *q;
	cr_assert_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM events WHERE task = ? AND to_state = ?", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, task, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, to, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
	int n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(h);
	return n;
}

Test(engine, ready_tasks_start_by_priority_then_longest_path)
{
	fake f;
	fake_init(&f);
	f.script = quick;
	pr_summary sum;
	int rc = run(&f,
		     "stage step(x: Int) -> Int { run: \"echo ${x} > ${out}\" }\n"
		     "stage urgent(x: Int) -> Int {\n  priority: 5\n  run: \"echo ${x} > ${out}\"\n}\n"
		     "pipeline main() -> (lone: Int, last: Int, u: Int) {\n"
		     "  let lone = step(0)\n  let a = step(1)\n  let b = step(a)\n  let c = step(b)\n  let u = urgent(9)\n"
		     "  return { lone: lone, last: c, u: u }\n}\n",
		     1, &sum);
	cr_assert_eq(rc, 0);
	cr_assert_eq(sum.succeeded, 5);
	cr_assert_str_eq(f.starts[0].id, "u", "priority first, not %s", f.starts[0].id);
	cr_assert_str_eq(f.starts[1].id, "a", "then the start of the longest path, not %s", f.starts[1].id);
	cr_assert_lt(fake_start_index(&f, "b", 1), fake_start_index(&f, "lone", 1));
	/* one slot: never two at once, each a second of virtual time */
	for (int k = 1; k < f.nstarts; k++)
		cr_assert_geq(f.starts[k].at, f.starts[k - 1].at + 1);
	pr_summary_free(&sum);
}

static fake_fate fails_twice(fake *f, const pr_attempt *a)
{
	(void)f;
	return (fake_fate){.duration = 1, .code = a->attempt < 3 ? 1 : 0};
}

Test(engine, a_failure_is_retried_after_its_backoff)
{
	fake f;
	fake_init(&f);
	f.script = fails_twice;
	pr_summary sum;
	int rc = run(&f,
		     "stage flaky() -> Int {\n  retry: { attempts: 2, backoff: 10s }\n  run: \"echo 1 > ${out}\"\n}\n"
		     "pipeline main() -> Int { return flaky() }\n",
		     2, &sum);
	cr_assert_eq(rc, 0);
	cr_assert_eq(f.nstarts, 3);
	cr_assert_eq(f.starts[2].attempt, 3);
	cr_assert_geq(f.starts[1].at - f.starts[0].at, 11.0, "attempt 2 after its backoff: %g", f.starts[1].at - f.starts[0].at);
	cr_assert_geq(f.starts[2].at - f.starts[1].at, 11.0);
	cr_assert_str_eq(sum.result, "3");
	cr_assert_eq(events_to("flaky", "retrying"), 2);
	pr_summary_free(&sum);
}

Test(engine, retries_run_out)
{
	fake f;
	fake_init(&f);
	f.script = fails_twice;
	pr_summary sum;
	int rc = run(&f,
		     "stage flaky() -> Int {\n  retry: 1\n  run: \"echo 1 > ${out}\"\n}\n"
		     "pipeline main() -> Int { return flaky() }\n",
		     2, &sum);
	cr_assert_eq(rc, 1);
	cr_assert_eq(f.nstarts, 2);
	cr_assert_eq(sum.failed, 1);
	cr_assert_str_eq(sum.status, "failed");
	pr_summary_free(&sum);
}

static fake_fate hangs(fake *f, const pr_attempt *a)
{
	(void)f, (void)a;
	return (fake_fate){.hang = 1};
}

Test(engine, a_timeout_kills_the_attempt)
{
	fake f;
	fake_init(&f);
	f.script = hangs;
	pr_summary sum;
	int rc = run(&f,
		     "stage stuck() -> Int {\n  timeout: 5s\n  run: \"sleep 100\"\n}\n"
		     "pipeline main() -> Int { return stuck() }\n",
		     1, &sum);
	cr_assert_eq(rc, 1);
	cr_assert_eq(f.kills, 1);
	cr_assert_geq(f.now, 1005.0, "killed at its deadline, not before: %g", f.now);
	cr_assert_eq(sum.failed, 1);
	pr_summary_free(&sum);
}

static fake_fate first_fails(fake *f, const pr_attempt *a)
{
	(void)f;
	return (fake_fate){.duration = 1, .code = !strcmp(a->id, "t0") || !strcmp(a->id, "bad") ? 2 : 0,
			   .value = !strcmp(a->id, "good") ? 5 : 0};
}

Test(engine, a_failure_skips_a_long_chain_without_recursion)
{
	enum { N = 20000 };
	char *src;
	size_t len;
	FILE *s = open_memstream(&src, &len);
	fputs("stage step(x: Int) -> Int { run: \"echo ${x} > ${out}\" }\n"
	      "stage first() -> Int { run: \"exit 3\" }\n"
	      "pipeline main() -> Int {\n  let t0 = first()\n", s);
	for (int i = 1; i < N; i++)
		fprintf(s, "  let t%d = step(t%d)\n", i, i - 1);
	fprintf(s, "  return t%d\n}\n", N - 1);
	fclose(s);
	fake f;
	fake_init(&f);
	f.script = first_fails;
	pr_summary sum;
	int rc = run(&f, src, 4, &sum);
	free(src);
	cr_assert_eq(rc, 1);
	cr_assert_eq(f.nstarts, 1);
	cr_assert_eq(sum.failed, 1);
	cr_assert_eq(sum.skipped, N - 1);
	pr_summary_free(&sum);
}

Test(engine, try_else_runs_the_fallback_and_the_run_succeeds)
{
	fake f;
	fake_init(&f);
	f.script = first_fails;
	pr_summary sum;
	int rc = run(&f,
		     "stage bad() -> Int { run: \"exit 1\" }\n"
		     "stage good(x: Int) -> Int { run: \"echo ${x} > ${out}\" }\n"
		     "pipeline main() -> Int {\n  let safe = try bad() else good(5)\n  return safe\n}\n",
		     2, &sum);
	cr_assert_eq(rc, 0);
	cr_assert_eq(fake_started(&f, "bad"), 1);
	cr_assert_gt(fake_start_index(&f, "safe", 1) >= 0 ? 1 : fake_started(&f, "good"), 0, "the fallback ran");
	cr_assert_str_eq(sum.result, "5");
	cr_assert_eq(sum.failed, 1);
	cr_assert_str_eq(sum.status, "succeeded");
	pr_summary_free(&sum);
}

Test(engine, a_cancelled_run_kills_what_runs_and_cancels_the_rest)
{
	fake f;
	fake_init(&f);
	f.script = hangs;
	f.cancel_at = 1010;
	pr_summary sum;
	int rc = run(&f,
		     "stage wait(x: Int) -> Int { run: \"sleep 100\" }\n"
		     "pipeline main() -> List[Int] {\n  let a = wait(1)\n  let b = wait(2)\n  let c = wait(a)\n  return [a, b, c]\n}\n",
		     2, &sum);
	cr_assert_eq(rc, 1);
	cr_assert_str_eq(sum.status, "cancelled");
	cr_assert_eq(f.kills, 2);
	cr_assert_eq(sum.cancelled, 3);
	cr_assert_eq(f.nstarts, 2, "nothing starts once cancelled");
	pr_summary_free(&sum);
}

static fake_fate not_at_first(fake *f, const pr_attempt *a)
{
	(void)f;
	return (fake_fate){.duration = 1, .kind = a->attempt == 1 ? PR_END_NOT_STARTED : PR_END_EXITED};
}

Test(engine, an_attempt_that_never_started_is_tried_again_without_spending_a_retry)
{
	fake f;
	fake_init(&f);
	f.script = not_at_first;
	pr_summary sum;
	int rc = run(&f, "stage s() -> Int { run: \"echo 1 > ${out}\" }\npipeline main() -> Int { return s() }\n", 1, &sum);
	cr_assert_eq(rc, 0, "no retries declared, and still it succeeds");
	cr_assert_eq(f.nstarts, 2);
	cr_assert_eq(sum.error, 0);
	pr_summary_free(&sum);
}

static fake_fate oom_after_checkpoint(fake *f, const pr_attempt *a)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/step-%d", a->cpdir, a->attempt);
	FILE *c = fopen(path, "w");
	if (c)
		fclose(c);
	/* written during the attempt, by the virtual clock (the engine compares checkpoints' times) */
	struct timespec t[2] = {{(time_t)f->now + 1, 0}, {(time_t)f->now + 1, 0}};
	utimensat(AT_FDCWD, path, t, 0);
	return (fake_fate){.duration = 1, .kind = PR_END_OOM, .code = SIGKILL};
}

Test(engine, out_of_memory_pauses_are_bounded)
{
	fake f;
	fake_init(&f);
	f.script = oom_after_checkpoint;
	pr_summary sum;
	int rc = run(&f,
		     "stage hog() -> Int {\n  resources: { memory: 32MiB }\n  checkpoint: true\n  run: \"echo 1 > ${out}\"\n}\n"
		     "pipeline main() -> Int { return hog() }\n",
		     1, &sum);
	cr_assert_eq(rc, 1);
	cr_assert_eq(f.nstarts, 9, "8 pauses, then failed: %d starts", f.nstarts);
	cr_assert_eq(events_to("hog", "paused"), 8);
	cr_assert_eq(sum.failed, 1);
	pr_summary_free(&sum);
}

static const char chain3[] = "stage step(x: Int) -> Int { run: \"echo ${x} > ${out}\" }\n"
			     "pipeline main() -> Int {\n  let a = step(1)\n  let b = step(a)\n  let c = step(b)\n  return c\n}\n";

/* A run of chain3 in a child that dies once b's start is durable (b "runs on"). */
static void crash_at_b(void)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		fake f;
		fake_init(&f);
		f.crash_on = "b";
		f.script = quick;
		pr_summary sum;
		run(&f, chain3, 1, &sum);
		_exit(3); /* b's release should have ended the process */
	}
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child died at b's durable start (status %d)", status);
}

static fake_fate alive_then_done(fake *f, const char *id, int attempt, long handle)
{
	(void)f, (void)id, (void)attempt, (void)handle;
	return (fake_fate){.duration = 2, .value = 7};
}

Test(engine, resume_adopts_an_attempt_that_still_runs)
{
	crash_at_b();
	fake f;
	fake_init(&f);
	f.script = quick;
	f.adopted = alive_then_done;
	pr_summary sum;
	char *err = NULL;
	pr_options o = {.state_dir = state, .jobs = 1, .no_sandbox = 1};
	int rc = pe_resume_with(0, &o, &f.x, &sum, &err);
	cr_assert_eq(rc, 0, "%s", err ? err : "");
	cr_assert_eq(f.nadopts, 1);
	cr_assert_eq(fake_started(&f, "a"), 0, "a committed: it does not run again");
	cr_assert_eq(fake_started(&f, "b"), 0, "b was adopted, not started again");
	cr_assert_eq(fake_started(&f, "c"), 1);
	cr_assert_str_eq(sum.status, "succeeded");
	pr_summary_free(&sum);
}

static fake_fate lost(fake *f, const char *id, int attempt, long handle)
{
	(void)f, (void)id, (void)attempt, (void)handle;
	return (fake_fate){.kind = PR_END_LOST};
}

Test(engine, resume_retries_a_lost_attempt_without_spending_a_retry)
{
	crash_at_b();
	fake f;
	fake_init(&f);
	f.script = quick;
	f.adopted = lost;
	pr_summary sum;
	char *err = NULL;
	pr_options o = {.state_dir = state, .jobs = 1, .no_sandbox = 1};
	int rc = pe_resume_with(0, &o, &f.x, &sum, &err);
	cr_assert_eq(rc, 0, "%s", err ? err : "");
	cr_assert_eq(fake_start_index(&f, "b", 2), 0, "b is tried again, as its attempt 2");
	cr_assert_eq(fake_started(&f, "c"), 1);
	cr_assert_str_eq(sum.status, "succeeded");
	cr_assert_eq(events_to("b", "retrying"), 1);
	pr_summary_free(&sum);
}

static fake_fate not_started_then_ok(fake *f, const pr_attempt *a)
{
	(void)f;
	return (fake_fate){.duration = 1, .kind = a->attempt == 1 ? PR_END_NOT_STARTED : PR_END_EXITED};
}

static fake_fate adopted_fails(fake *f, const char *id, int attempt, long handle)
{
	(void)f, (void)id, (void)attempt, (void)handle;
	return (fake_fate){.duration = 1, .code = 1};
}

/* Attempt 1 never started (no retry spent), attempt 2 runs when the process dies; resumed, attempt 2
 * fails: its one retry is left, as the events say (a count kept only in memory would say none). */
Test(engine, resume_folds_the_attempts_a_task_has_left_from_its_events)
{
	static const char src[] = "stage s() -> Int {\n  retry: 1\n  run: \"echo 1 > ${out}\"\n}\n"
				  "pipeline main() -> Int {\n  let b = s()\n  return b\n}\n";
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		fake f;
		fake_init(&f);
		f.crash_on = "b";
		f.script = not_started_then_ok;
		pr_summary sum;
		run(&f, src, 1, &sum);
		_exit(3);
	}
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child died at b's durable start (status %d)", status);
	fake f;
	fake_init(&f);
	f.script = not_started_then_ok;
	f.adopted = adopted_fails;
	pr_summary sum;
	char *err = NULL;
	pr_options o = {.state_dir = state, .jobs = 1, .no_sandbox = 1};
	int rc = pe_resume_with(0, &o, &f.x, &sum, &err);
	cr_assert_eq(rc, 0, "%s", err ? err : "");
	cr_assert_eq(fake_start_index(&f, "b", 3), 0, "b's retry: its attempt 3");
	cr_assert_str_eq(sum.status, "succeeded");
	pr_summary_free(&sum);
}

static fake_fate adopted_hangs(fake *f, const char *id, int attempt, long handle)
{
	(void)f, (void)id, (void)attempt, (void)handle;
	return (fake_fate){.hang = 1};
}

/* A resume cancelled while it waits for an adopted attempt: the attempt, killed, is found gone (lost),
 * and the run ends cancelled (it once went on retrying inside the cancelled run, spinning). */
Test(engine, a_cancelled_resume_ends_though_its_adopted_attempt_is_lost)
{
	crash_at_b();
	fake f;
	fake_init(&f);
	f.script = quick;
	f.adopted = adopted_hangs;
	f.cancel_at = 1005;
	pr_summary sum;
	char *err = NULL;
	pr_options o = {.state_dir = state, .jobs = 1, .no_sandbox = 1};
	int rc = pe_resume_with(0, &o, &f.x, &sum, &err);
	cr_assert_eq(rc, 1, "%s", err ? err : "");
	cr_assert_str_eq(sum.status, "cancelled");
	cr_assert_eq(f.kills, 1);
	cr_assert_eq(fake_started(&f, "b"), 0, "nothing is started in a cancelled run");
	pr_summary_free(&sum);
}
