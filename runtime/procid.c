/*
 * procid.c - knowing a process by more than its pid.
 *
 * A pid is reused once its process is gone, so a pid read back from the
 * store or the lock after the runtime that wrote it died may name anyone:
 * an unrelated process that resume would wait on for ever and `pipec
 * cancel` would kill.  A process is known here by its pid and its start
 * time (field 22 of /proc/PID/stat, clock ticks since boot), which two
 * processes of one boot never share under one pid.  The runtime writes
 * both as it learns them: an attempt's in .NAME.pid beside the attempt's
 * directory PARENT/NAME (the directory is the task's to write, the one above it
 * is not), and its own in the lock (store-lock.c).  Whoever reads a pid
 * back signals or waits on it only when the process that has that pid now
 * started at the recorded time; pid 1 and below never.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned long long pr_proc_start(long pid)
{
	if (pid <= 1)
		return 0;
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* the command's name may hold spaces and parentheses */
	if (!p)
		return 0;
	p++;
	/* after the name: field 3 (state) ... field 22 (starttime) */
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (field == 22)
			return strtoull(p, NULL, 10);
		p = strchr(p, ' ');
		if (!p)
			return 0;
	}
	return 0;
}

int pr_proc_is(long pid, unsigned long long start)
{
	return pid > 1 && start && pr_proc_start(pid) == start;
}

/* DIR's record: .NAME.pid beside DIR (PARENT/NAME), hidden from a listing of the run's attempts. */
static void record_path(const char *dir, char *out, size_t n)
{
	const char *slash = strrchr(dir, '/');
	if (slash)
		snprintf(out, n, "%.*s/.%s.pid", (int)(slash - dir), dir, slash + 1);
	else
		snprintf(out, n, ".%s.pid", dir);
}

int pr_proc_record(const char *dir, long pid)
{
	unsigned long long start = pr_proc_start(pid);
	if (!start)
		return -1;
	char path[8300], line[64];
	record_path(dir, path, sizeof path);
	int n = snprintf(line, sizeof line, "%ld %llu\n", pid, start);
	unlink(path); /* a new attempt's: one left by another runtime is not trusted */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int ok = write(fd, line, (size_t)n) == n;
	close(fd);
	return ok ? 0 : -1;
}

int pr_proc_attempt(long pid, const char *dir)
{
	if (pid <= 1 || !dir || !*dir)
		return 0;
	char path[8300], buf[64];
	record_path(dir, path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	long rpid;
	unsigned long long start;
	if (sscanf(buf, "%ld %llu", &rpid, &start) != 2 || rpid != pid)
		return 0;
	return pr_proc_is(pid, start);
}
