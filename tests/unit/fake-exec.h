/*
 * fake-exec.h - a fake executor (exec.h) that drives the real engine in
 * unit tests without processes, on a virtual clock.
 *
 * Each attempt's fate is decided by the test's script() when it starts:
 * how long it runs (virtual seconds) and how it ends (exit code, signal,
 * out of memory, never started).  An attempt that exits 0 has its output
 * `out` written (the attempt number, or the script's value), so the
 * engine's finishing protocol finds it; stages in these tests have one Int
 * output.  Every start, kill, adoption and release is logged for the test to
 * assert on.  A test can make the fake "crash" the whole process once a
 * chosen task's start is durable (the child of a fork: see test_engine.c).
 */
#ifndef PIPEC_FAKE_EXEC_H
#define PIPEC_FAKE_EXEC_H

#include <pthread.h>

#include "exec.h"

typedef struct fake_fate {
	double duration;       /* virtual seconds it runs */
	pr_end_kind kind;      /* how it ends */
	int code;              /* exit code or signal */
	long value;            /* what it writes to `out` when it exits 0 (default: its attempt) */
	int hang;              /* runs until killed */
} fake_fate;

typedef struct fake_start {    /* one start, as logged */
	char id[64];
	int attempt;
	double at;
} fake_start;

typedef struct fake {
	pr_executor x;
	double now;
	fake_fate (*script)(struct fake *f, const pr_attempt *a);
	fake_fate (*adopted)(struct fake *f, const char *id, int attempt, long handle); /* on resume */
	void *user;
	struct fake_run {
		uint32_t task;
		int attempt;
		double end;
		fake_fate fate;
		char dir[4096];
		char id[64];
		int live, killed;
		int released;  /* its start is durable: it runs (under MU) */
		int adopted;   /* not the fake's child: killed, it is found gone (LOST), as the local executor finds it */
	} run[256];
	int nrun;
	fake_start starts[4096];
	int nstarts;
	char adopts[16][64];   /* ids adopted */
	int nadopts;
	int kills;
	pthread_mutex_t mu;    /* release() runs on the store's writer thread */
	pthread_cond_t cv;     /* ... and signals this */
	int released;          /* tokens released */
	const char *crash_on;  /* _exit(0) once this task's start is durable (in release()) */
	uint32_t crash_task;
	double cancel_at;      /* raise SIGTERM when the clock passes this (0: never) */
	int cancelled;
} fake;

void fake_init(fake *f);
/* How many times task ID was started. */
int fake_started(const fake *f, const char *id);
/* The index in the start log of ID's attempt ATTEMPT, or -1. */
int fake_start_index(const fake *f, const char *id, int attempt);

#endif
