/*
 * no-openat2.so - LD_PRELOAD'ed by tests/hostile-task.sh: syscall(SYS_openat2)
 * answers ENOSYS, as on a kernel before 5.6, so the runtime reads outputs
 * with its O_NOFOLLOW walk instead.  It touches $NO_OPENAT2_SEEN when it
 * did (the test knows the walk was taken).  Any other system call goes to
 * libc's syscall() with six arguments (how many it was given is not known:
 * the extra ones are ignored by the kernel; x86-64 and aarch64 pass them in
 * registers).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

long syscall(long n, ...)
{
	va_list ap;
	va_start(ap, n);
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_openat2) {
		const char *seen = getenv("NO_OPENAT2_SEEN");
		int fd = seen ? open(seen, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) : -1;
		if (fd >= 0)
			close(fd);
		errno = ENOSYS;
		return -1;
	}
	static long (*real)(long, ...);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
