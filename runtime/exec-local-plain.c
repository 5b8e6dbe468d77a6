/*
 * exec-local-plain.c - starting a task without the sandbox: a raw clone.
 *
 * posix_spawn() holds the loop until the child has exec'd (0.33 ms a task
 * on a busy 2-core machine: the child waits for a core).  On x86-64 the
 * child is cloned into the runtime's memory without CLONE_VFORK instead,
 * so the loop goes on at once: it makes only raw system calls (no errno,
 * no thread-local state, no allocation), on a stack of its own, reading a
 * struct plain that is kept until the task is reaped.  Elsewhere
 * lx_plain_clone() fails and exec-local.c uses posix_spawn().  The
 * standing shells (exec-local-shells.c) are started the same way.
 */
#define _GNU_SOURCE
#include "exec-local.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

const char lx_task_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";

enum { PLAIN_STACK = 64 * 1024 };

void lx_plain_free(plain *p)
{
	if (!p)
		return;
	free(p->stack);
	free(p->argv[2]);
	free(p->dir);
	for (size_t x = 0; p->envp && p->envp[x]; x++)
		free(p->envp[x]);
	free(p->envp);
	free(p);
}

#if defined(__x86_64__) && defined(__linux__)
#define PLAIN_CLONE 1
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define PR_CLOSE_RANGE_CLOEXEC (1L << 2)
static long raw_syscall(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return r;
}

/* not instrumented: the sanitizers' runtimes keep thread-local state the loop is using */
__attribute__((no_sanitize("address", "undefined"))) static int plain_main(void *arg)
{
	plain *p = arg;
	raw_syscall(SYS_setsid, 0, 0, 0, 0);
	/* fd 0, 1, 2: /dev/null, .stdout, .stderr */
	const char *std[3] = {"/dev/null", p->out, p->err};
	for (long k = 0; k < 3; k++) {
		long fd = raw_syscall(SYS_openat, AT_FDCWD, (long)std[k], k ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0644);
		if (fd < 0 || raw_syscall(SYS_dup2, fd, k, 0, 0) < 0)
			raw_syscall(SYS_exit, 127, 0, 0, 0);
		raw_syscall(SYS_close, fd, 0, 0, 0);
	}
	if (raw_syscall(SYS_dup2, p->go, 3, 0, 0) < 0 || raw_syscall(SYS_chdir, (long)p->dir, 0, 0, 0) < 0)
		raw_syscall(SYS_exit, 127, 0, 0, 0);
	/* nothing else the runtime has open, or was given, goes with it (a kernel before 5.11: it may) */
	raw_syscall(SYS_close_range, 4, ~0L, PR_CLOSE_RANGE_CLOEXEC, 0);
	raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&p->none, 0, sizeof p->none);
	raw_syscall(SYS_execve, (long)"/bin/sh", (long)p->argv, (long)p->envp, 0);
	raw_syscall(SYS_exit, 127, 0, 0, 0);
	return 127;
}
#endif

int lx_plain_can_clone(void)
{
#ifdef PLAIN_CLONE
	return 1;
#else
	return 0;
#endif
}

/*
 * A plain start of "sh -c" with its streams OUT and ERR, in DIR, GO made
 * its fd 3; the caller sets its script (argv[2]) and environment, both
 * freed with it.  NULL when out of memory.
 */
plain *lx_plain_new(const char *out, const char *err, const char *dir, int go)
{
	plain *p = calloc(1, sizeof *p);
	if (!p || !(p->stack = malloc(PLAIN_STACK)) || !(p->dir = strdup(dir))) {
		if (p)
			free(p->stack);
		free(p);
		return NULL;
	}
	p->argv[0] = "sh", p->argv[1] = "-c";
	snprintf(p->out, sizeof p->out, "%s", out);
	snprintf(p->err, sizeof p->err, "%s", err);
	p->go = go;
	return p;
}

pid_t lx_plain_clone(plain *p)
{
#ifdef PLAIN_CLONE
	return clone(plain_main, p->stack + PLAIN_STACK, CLONE_VM | SIGCHLD, p);
#else
	(void)p;
	return -1;
#endif
}
