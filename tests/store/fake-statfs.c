/*
 * fake-statfs.c - preloaded by tests/crash.sh: statfs() as the C library
 * gives it, except that a path under a directory named "nfs-export" is
 * said to be on NFS.  No network filesystem can be mounted where the tests
 * run; this lets the store's refusal of one be checked through the same
 * call the runtime makes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/vfs.h>

#define NFS_MAGIC 0x6969

/* NAME(path, struct TYPE *): the real one's answer, with NFS under nfs-export/ */
#define FAKE(name, type) \
	int name(const char *path, struct type *buf) \
	{ \
		static int (*real)(const char *, struct type *); \
		if (!real) \
			*(void **)&real = dlsym(RTLD_NEXT, #name); \
		int rc = real(path, buf); \
		if (rc == 0 && strstr(path, "/nfs-export")) \
			buf->f_type = NFS_MAGIC; \
		return rc; \
	}

FAKE(statfs, statfs)
FAKE(statfs64, statfs64)
