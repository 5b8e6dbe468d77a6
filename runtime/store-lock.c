/*
 * store-lock.c - one runtime owns a state directory at a time, and only
 * on a local disk.
 *
 * STATE/.pipec/lock holds the owner's pid and its start time ("PID
 * START\n", procid.c), created with O_EXCL; a lock whose process is gone
 * is taken over, and so is one whose pid another process has now (its
 * start time differs).  Once its run is in the store the runtime adds its
 * number ("PID START RUN"): a runtime that takes over the lock of one that
 * died and finds no such run in the store knows that the store lost what
 * that run wrote (its WAL deleted under it), and says so (store.c).  `pipec cancel` asks who holds it
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

/*
 * What the lock at PATH says: the pid it names, or 0 (no lock, or not a
 * pid), and *LIVE: 1 when that process is alive and is the one that wrote
 * the lock (its start time is the recorded one), 0 when it is gone or its
 * pid is another process's now, -1 when the lock records no start time
 * (an older pipec's) and the pid is alive: it cannot be told.
 */
static long lock_read(const char *path, int *live)
{
	*live = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	char buf[128];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	long pid = 0;
	unsigned long long start = 0;
	int got = sscanf(buf, "%ld %llu", &pid, &start);
	if (got < 1 || pid <= 1)
		return 0;
	if (got == 2)
		*live = pr_proc_is(pid, start);
	else
		*live = kill((pid_t)pid, 0) == 0 || errno == EPERM ? -1 : 0;
	return pid;
}

long pr_store_lock_owner(const char *state_dir)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/.pipec/lock", state_dir);
	int live;
	long pid = lock_read(path, &live);
	return live == 1 ? pid : 0;
}

/* Keeps what the lock ST is about to take over says (its text; the run it names: "PID START RUN"). */
static void stale(pr_store *st)
{
	st->stale_run = 0;
	st->stale_lock[0] = 0;
	int fd = open(st->lock_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return;
	ssize_t n = read(fd, st->stale_lock, sizeof st->stale_lock - 1);
	close(fd);
	st->stale_lock[n > 0 ? n : 0] = 0;
	long pid, run;
	unsigned long long start;
	if (sscanf(st->stale_lock, "%ld %llu %ld", &pid, &start, &run) == 3 && run > 0)
		st->stale_run = run;
}

/* Replaces the lock at ST->lock_path with TEXT (a new file renamed over it): 0, or -1. */
static int rewrite(pr_store *st, const char *text)
{
	char tmp[4300];
	snprintf(tmp, sizeof tmp, "%s.new", st->lock_path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	int ok = write(fd, text, n) == (ssize_t)n;
	close(fd);
	if (!ok || rename(tmp, st->lock_path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

void pr_store_lock_note_run(pr_store *st, long run)
{
	char text[96];
	snprintf(text, sizeof text, "%ld %llu %ld\n", (long)getpid(), pr_proc_start((long)getpid()), run);
	if (st->locked)
		rewrite(st, text);
}

void pr_store_lock_restore(pr_store *st)
{
	if (st->locked && st->stale_lock[0] && rewrite(st, st->stale_lock) == 0)
		st->locked = 0;
}

int pr_store_lock_take(pr_store *st, const char *dir, char **err)
{
	snprintf(st->lock_path, sizeof st->lock_path, "%s/lock", dir);
	for (int tries = 0; tries < 2; tries++) {
		int fd = open(st->lock_path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0) {
			char pid[64];
			int n = snprintf(pid, sizeof pid, "%ld %llu\n", (long)getpid(), pr_proc_start((long)getpid()));
			int ok = write(fd, pid, (size_t)n) == n;
			close(fd);
			if (!ok)
				return pr_store_fail(err, "cannot write the lock %s%s", st->lock_path, "");
			st->locked = 1;
			return 0;
		}
		if (errno != EEXIST)
			return pr_store_fail(err, "cannot create the lock %s: %s", st->lock_path, strerror(errno));
		int live;
		long pid = lock_read(st->lock_path, &live);
		stale(st);
		if (live) { /* its owner lives (or an older pipec's lock names a live pid) */
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
