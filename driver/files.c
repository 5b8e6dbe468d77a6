/*
 * files.c - how the driver writes a file: files_write(), used by every
 * command that writes one (build -o, fmt -w).
 *
 * A reader of the file must see the old contents or the new, never half of
 * either, and the file must stay what it was.  So:
 *
 *   - a symbolic link is followed, link by link (it may dangle: the file it
 *     names is then made), and its target written; the link stays a link;
 *   - a regular file (or a new one) is replaced atomically: the contents go
 *     to a temporary file beside it (same directory, so same filesystem),
 *     which gets the old file's mode (and, for root, its owner) or, for a
 *     new file, 0666 less the umask; it is synced, renamed over the target,
 *     and the directory synced; on any failure the temporary file is
 *     removed;
 *   - anything else (a device such as /dev/null, a FIFO) is written in
 *     place: opened for writing and truncated, never created or replaced
 *     (replacing /dev/null as root would turn it into a regular file);
 *   - a directory is refused (EISDIR).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* PATH with its symbolic links followed to what they name (maybe nothing yet): a new string, or NULL with errno. */
static char *follow_links(const char *path)
{
	char *p = strdup(path);
	for (int hops = 0; p; hops++) {
		char link[PATH_MAX];
		ssize_t n = readlink(p, link, sizeof link - 1);
		if (n < 0 && (errno == EINVAL || errno == ENOENT))
			return p; /* not a link, or nothing there: the file to write */
		if (n < 0 || hops == 40) {
			int e = n < 0 ? errno : ELOOP;
			free(p);
			errno = e;
			return NULL;
		}
		link[n] = 0;
		const char *slash = strrchr(p, '/');
		size_t dir = link[0] == '/' || !slash ? 0 : (size_t)(slash - p) + 1; /* relative to the link's directory */
		char *next = malloc(dir + (size_t)n + 1);
		if (next) {
			memcpy(next, p, dir);
			memcpy(next + dir, link, (size_t)n + 1);
		}
		free(p);
		p = next;
	}
	errno = ENOMEM;
	return NULL;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes DATA into the existing non-regular file TARGET (a device, a FIFO) in place. */
static int write_in_place(const char *target, const char *data, size_t len)
{
	int fd = open(target, O_WRONLY | O_TRUNC | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, data, len);
	int e = errno;
	if (close(fd) != 0 && rc == 0)
		return -1;
	errno = e;
	return rc;
}

/* Replaces (or makes) the regular file TARGET with DATA through a temporary file beside it; OLD is its stat, or NULL. */
static int replace(const char *target, const struct stat *old, const char *data, size_t len)
{
	const char *slash = strrchr(target, '/');
	size_t dir = slash ? (size_t)(slash - target) + 1 : 0;
	size_t n = strlen(target);
	char *tmp = malloc(n + 16);
	if (!tmp)
		return -1;
	/* DIR/.NAME.XXXXXX: hidden, and beside the file it replaces */
	snprintf(tmp, n + 16, "%.*s.%s.XXXXXX", (int)dir, target, target + dir);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	mode_t mode;
	if (old) {
		mode = old->st_mode & 07777;
		if (geteuid() == 0 && fchown(fd, old->st_uid, old->st_gid) != 0) {
			/* the owner is kept where it can be; the mode always */
		}
	} else {
		mode_t mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	int ok = fchmod(fd, mode) == 0 && write_all(fd, data, len) == 0 && fsync(fd) == 0;
	int e = errno;
	ok = close(fd) == 0 && ok;
	if (ok && rename(tmp, target) != 0) {
		e = errno;
		ok = 0;
	}
	if (!ok) {
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	free(tmp);
	/* the rename itself made durable: sync the directory (best effort) */
	char *d = dir ? strndup(target, dir) : strdup(".");
	int dfd = d ? open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd >= 0) {
		if (fsync(dfd) != 0) {
			/* some filesystems cannot sync a directory; the data is synced */
		}
		close(dfd);
	}
	free(d);
	return 0;
}

int files_write(const char *path, const char *data, size_t len)
{
	char *target = follow_links(path);
	if (!target)
		return -1;
	struct stat st;
	int rc;
	if (stat(target, &st) != 0) {
		rc = errno == ENOENT ? replace(target, NULL, data, len) : -1;
	} else if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		rc = -1;
	} else if (!S_ISREG(st.st_mode)) {
		rc = write_in_place(target, data, len);
	} else {
		rc = replace(target, &st, data, len);
	}
	int e = errno;
	free(target);
	errno = e;
	return rc;
}
