/*
 * store-lock.c - one runtime owns a state directory at a time, and only
 * on a local disk.
 *
 * STATE/.pipec/lock holds the owner's pid, created with O_EXCL; a lock
 * whose process is gone is taken over.  `pipec cancel` asks who holds it
 * (pr_store_lock_owner()) to find the runtime to signal (cancel.c).  A
 * state directory on a network filesystem (NFS, SMB/CIFS, AFS, Ceph,
 * Lustre, known by statfs's magic number) is refused: SQLite's locks and
 * its WAL do not hold there.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

/* The pid the lock at PATH names, or 0 (no lock, or not a pid). */
static long lock_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1 || pid < 0)
			pid = 0;
		fclose(f);
	}
	return pid;
}

long pr_store_lock_owner(const char *state_dir)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/.pipec/lock", state_dir);
	return lock_pid(path);
}

int pr_store_lock_take(pr_store *st, const char *dir, char **err)
{
	snprintf(st->lock_path, sizeof st->lock_path, "%s/lock", dir);
	for (int tries = 0; tries < 2; tries++) {
		int fd = open(st->lock_path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0) {
			char pid[32];
			int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
			int ok = write(fd, pid, (size_t)n) == n;
			close(fd);
			if (!ok)
				return pr_store_fail(err, "cannot write the lock %s%s", st->lock_path, "");
			st->locked = 1;
			return 0;
		}
		if (errno != EEXIST)
			return pr_store_fail(err, "cannot create the lock %s: %s", st->lock_path, strerror(errno));
		long pid = lock_pid(st->lock_path);
		if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
			char who[32];
			snprintf(who, sizeof who, "%ld", pid);
			return pr_store_fail(err, "the state directory is in use by pipec (pid %s); lock %s", who, st->lock_path);
		}
		unlink(st->lock_path); /* its owner is gone: take it over */
	}
	return pr_store_fail(err, "cannot take the lock %s%s", st->lock_path, "");
}

const char *pr_store_lock_remote(const char *dir)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} remote[] = {
		{0x6969, "NFS"}, {0x517B, "SMB"}, {0xFF534D42, "CIFS"}, {0xFE534D42, "SMB2"}, {0x5346414F, "AFS"},
		{0x6B414653, "AFS"}, {0x00C36400, "Ceph"}, {0x0BD00BD0, "Lustre"},
	};
	struct statfs sf;
	if (statfs(dir, &sf) != 0)
		return NULL;
	for (size_t k = 0; k < sizeof remote / sizeof remote[0]; k++)
		if ((unsigned long)sf.f_type == remote[k].magic)
			return remote[k].name;
	return NULL;
}

void pr_store_lock_release(pr_store *st)
{
	if (st->locked)
		unlink(st->lock_path);
	st->locked = 0;
}
