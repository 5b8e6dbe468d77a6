/*
 * kill-at-sync.c - preloaded by tests/crash.sh to kill the runtime at two
 * moments of a commit of the store's writer thread (any thread but the
 * main one), where a kill at a random moment rarely lands.  The C library's
 * fdatasync(), fsync(), pwrite() and pwrite64(), except:
 *
 *   PIPEC_TEST_KILL_AT_WAL_SYNC=N   the writer's Nth sync of the WAL (a file
 *                                   whose name ends in "-wal") waits 0.1 s
 *                                   and then kills the process (SIGKILL):
 *                                   the commit's frames are written, not
 *                                   yet synced;
 *   PIPEC_TEST_KILL_AT_WAL_WRITE=N  its first write to the WAL after its
 *                                   (N-1)th sync does: the Nth commit has
 *                                   written nothing;
 *   PIPEC_TEST_KILL_AT_WAL_HEADER=1 its first sync after it wrote the WAL's
 *                                   header (a WAL started again after a
 *                                   checkpoint: SQLite syncs the header
 *                                   before it writes the commit's frames).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static int syncs, header;

/* Whether FD is the WAL and this is not the main thread. */
static int writer_wal(int fd)
{
	char link[64], path[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n < 4 || syscall(SYS_gettid) == getpid())
		return 0;
	path[n] = 0;
	return strcmp(path + n - 4, "-wal") == 0;
}

static void die(void)
{
	usleep(100000);
	raise(SIGKILL);
}

static void at_sync(int fd)
{
	const char *at = getenv("PIPEC_TEST_KILL_AT_WAL_SYNC");
	if (!writer_wal(fd))
		return;
	if (__atomic_add_fetch(&syncs, 1, __ATOMIC_SEQ_CST) == (at ? atoi(at) : 0) ||
	    (header && getenv("PIPEC_TEST_KILL_AT_WAL_HEADER")))
		die();
}

static void at_write(int fd, off64_t off)
{
	const char *at = getenv("PIPEC_TEST_KILL_AT_WAL_WRITE");
	if (!writer_wal(fd))
		return;
	if (off == 0)
		header = 1;
	if (at && __atomic_load_n(&syncs, __ATOMIC_SEQ_CST) == atoi(at) - 1)
		die();
}

#define SYNC(name) \
	int name(int fd) \
	{ \
		static int (*real)(int); \
		if (!real) \
			*(void **)&real = dlsym(RTLD_NEXT, #name); \
		at_sync(fd); \
		return real(fd); \
	}
SYNC(fdatasync)
SYNC(fsync)

#define WRITE(name, off_type) \
	ssize_t name(int fd, const void *buf, size_t n, off_type off) \
	{ \
		static ssize_t (*real)(int, const void *, size_t, off_type); \
		if (!real) \
			*(void **)&real = dlsym(RTLD_NEXT, #name); \
		at_write(fd, (off64_t)off); \
		return real(fd, buf, n, off); \
	}
WRITE(pwrite, off_t)
WRITE(pwrite64, off64_t)
