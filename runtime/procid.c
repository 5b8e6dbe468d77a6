/*
 * procid.c - knowing a process by more than its pid.
 *
 * A pid is reused once its process is gone, so a pid read back from the
 * store or the lock after the runtime that wrote it died may name anyone:
 * an unrelated process that resume would wait on for ever and `pipec
 * cancel` would kill.  A process is known here by its pid and its start
 * time (field 22 of /proc/PID/stat, clock ticks since boot), which two
 * processes of one boot never share under one pid.  The runtime keeps
 * both as it learns them: an attempt's in the store beside its pid (the
 * executor reports the start time with the pid: exec.h, since), its own in
 * the lock (store-lock.c).  A pid kept without its start time (a store
 * from before they were kept) names no process that can be proved ours.  Whoever reads a pid
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
