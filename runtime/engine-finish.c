/*
 * engine-finish.c - the finishing protocol: what becomes of a task whose
 * attempt ended (an ENDED event of its executor, exec.h).
 *
 * Exit 0 is not enough: every declared output must exist in the attempt's
 * directory and parse as its type, read without leaving that directory and
 * never through a link (below, "reading what a task left").  Then the
 * outputs are content-hashed (BLAKE2b) and the artifacts, the cache entry
 * and `succeeded` are committed together; a SIGINT or SIGTERM that comes
 * while they are hashed cancels the run there.  Otherwise the attempt failed (its exit status, the
 * signal that killed it, its timeout, an output missing or ill-typed) and,
 * with attempts left, the task waits its backoff in `retrying`.  Out of
 * memory after writing a checkpoint in this attempt pauses it (`paused`,
 * then `ready`, going on from the checkpoint) without spending a retry, up
 * to PE_OOM_PAUSES times.  An attempt that never ran (NOT_STARTED: the
 * sandbox could not be made) is an infrastructure error: tried again up to
 * PE_NOT_STARTED_RETRIES times without spending a retry, then `error`.  An
 * attempt lost with its runtime (LOST, found on resume) is tried again, not
 * counted against its retries.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum {
	PE_OOM_PAUSES = 8,          /* out-of-memory pauses a task may take before it fails */
	PE_NOT_STARTED_RETRIES = 2, /* attempts that never ran tried again, not counted as retries */
};

void pe_hex_of(const unsigned char *h, char *out)
{
	sodium_bin2hex(out, 65, h, 32);
}

/* ---- reading what a task left, never leaving its directory -------------------------- */

/*
 * A task writes its outputs with its own rights (in the sandbox, or not);
 * the runtime reads them with the host's.  So an output is opened relative
 * to the attempt's directory (opened once) and never through a symbolic
 * link: openat2() with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_SYMLINKS where the kernel has it, else a walk of its
 * components with openat(O_NOFOLLOW) that refuses "..".  An output that is
 * a link, or is reached through one, fails its task whatever the link
 * points at (simpler and safer than judging where it points).  Inside a
 * Dir output nothing is followed either: a link is hashed as a link (its
 * target's text), a regular file by its bytes, a directory by its sorted
 * entries; a FIFO, a device or a socket fails the output.  The walk keeps
 * its directories on an explicit stack (no recursion on the C stack),
 * at most PE_WALK_DEPTH deep and PE_WALK_ENTRIES entries in all, and looks
 * every PE_CANCEL_EVERY reads or entries for a SIGINT or SIGTERM pending
 * for the loop's signalfd, so a huge output does not hold a cancellation.
 */

/* openat2(2)'s argument and flags (linux/openat2.h), here so older headers build. */
struct pe_open_how {
	uint64_t flags, mode, resolve;
};
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define PE_RESOLVE_NO_MAGICLINKS 0x02
#define PE_RESOLVE_NO_SYMLINKS 0x04
#define PE_RESOLVE_BENEATH 0x08

enum {
	PE_WALK_DEPTH = 128,        /* directories inside one another a hashed tree may have */
	PE_WALK_ENTRIES = 1000000,  /* entries a hashed tree (or a List[File] output) may hold */
	PE_CANCEL_EVERY = 1024,     /* reads (64 KiB) or entries between two looks for a cancellation */
	PE_READ_SCALAR = 65536,     /* bytes of a scalar output read */
};

static int no_openat2; /* the kernel (or a seccomp filter) said no once: walk instead */

/* NAME (relative) under DIRFD with FLAGS, never through a link nor out of DIRFD; -1 with errno. */
static int open_beneath(int dirfd, const char *name, int flags)
{
	flags |= O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY); /* openat2 refuses O_PATH with others */
	if (!no_openat2) {
		struct pe_open_how how = {(uint64_t)flags, 0,
					  PE_RESOLVE_BENEATH | PE_RESOLVE_NO_MAGICLINKS | PE_RESOLVE_NO_SYMLINKS};
		long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof how);
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return (int)fd;
		no_openat2 = 1;
	}
	if (name[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	char comp[NAME_MAX + 1];
	int cur = dirfd;
	const char *p = name;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n > NAME_MAX) {
			errno = ENAMETOOLONG;
			break;
		}
		memcpy(comp, p, n);
		comp[n] = 0;
		if (!strcmp(comp, "..")) {
			errno = EXDEV;
			break;
		}
		int last = !slash || !slash[strspn(slash, "/")];
		if (last) {
			int fd = openat(cur, n ? comp : ".", flags | O_NOFOLLOW);
			struct stat sb;
			if (fd >= 0 && (flags & O_PATH) && fstat(fd, &sb) == 0 && S_ISLNK(sb.st_mode)) {
				close(fd); /* O_PATH | O_NOFOLLOW opens the link itself */
				fd = -1;
				errno = ELOOP;
			}
			int e = errno;
			if (cur != dirfd)
				close(cur);
			errno = e;
			return fd;
		}
		if (n && strcmp(comp, ".")) {
			int next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0)
				break;
			if (cur != dirfd)
				close(cur);
			cur = next;
		}
		p = slash + 1;
	}
	int e = errno;
	if (cur != dirfd)
		close(cur);
	errno = e;
	return -1;
}

/* Whether a SIGINT or SIGTERM waits for the loop's signalfd (the loop blocks them). */
static int cancel_pending(void)
{
	sigset_t s;
	if (sigpending(&s) != 0)
		return 0;
	return sigismember(&s, SIGINT) == 1 || sigismember(&s, SIGTERM) == 1;
}

/* What a hash of a tree is after: messages, the entries seen, and when to look for a cancellation. */
typedef struct walk {
	const char *top;  /* how the tree's top is named in a message (an output's name, or a path) */
	size_t entries;   /* entries seen so far */
	unsigned ticks;   /* reads and entries, for PE_CANCEL_EVERY */
	char *why;        /* the reason of a failure (WN bytes) */
	size_t wn;
} walk;

static int tick(walk *w)
{
	if (++w->ticks % PE_CANCEL_EVERY || !cancel_pending())
		return 0;
	snprintf(w->why, w->wn, "the run was cancelled while %s was hashed", w->top);
	return PE_HASH_CANCELLED;
}

static const char *kind_of(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
	       : S_ISSOCK(m) ? "a socket" : S_ISLNK(m) ? "a symbolic link" : S_ISDIR(m) ? "a directory" : "not a regular file";
}

/* BLAKE2b of the bytes of FD (a regular file, read to its end) into H. */
static int hash_file(int fd, walk *w, const char *shown, unsigned char h[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	unsigned char buf[65536];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			snprintf(w->why, w->wn, "%s cannot be read: %s", shown, strerror(errno));
			return PE_HASH_REFUSED;
		}
		crypto_generichash_update(&st, buf, (size_t)r);
		int c = tick(w);
		if (c)
			return c;
	}
	crypto_generichash_final(&st, h, 32);
	return 0;
}

/* One directory of a walk: its entries' names, sorted, and the hash of those done. */
typedef struct frame {
	DIR *d;
	char **names;
	size_t n, next;   /* NAMES[NEXT - 1] is the entry being looked at */
	crypto_generichash_state st;
} frame;

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* F's entries (not . and ..), sorted by name (as alphasort in the C locale); consumes FD. */
static int open_frame(frame *f, int fd, walk *w, const char *shown)
{
	memset(f, 0, sizeof *f);
	f->d = fdopendir(fd);
	if (!f->d) {
		snprintf(w->why, w->wn, "%s cannot be read: %s", shown, strerror(errno));
		close(fd);
		return PE_HASH_REFUSED;
	}
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(f->d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (++w->entries > PE_WALK_ENTRIES) {
			snprintf(w->why, w->wn, "%s holds more than %d entries (the most a tree is hashed with)", w->top,
				 PE_WALK_ENTRIES);
			return PE_HASH_REFUSED;
		}
		int c = tick(w);
		if (c)
			return c;
		if (f->n == cap) {
			cap = cap ? 2 * cap : 16;
			f->names = realloc(f->names, cap * sizeof *f->names);
		}
		f->names[f->n++] = strdup(e->d_name);
	}
	if (f->n)
		qsort(f->names, f->n, sizeof *f->names, by_name);
	crypto_generichash_init(&f->st, NULL, 0, 32);
	return 0;
}

static int fd_of(DIR *d)
{
	return dirfd(d);
}

static void close_frame(frame *f)
{
	if (f->d)
		closedir(f->d);
	for (size_t k = 0; k < f->n; k++)
		free(f->names[k]);
	free(f->names);
	f->d = NULL, f->names = NULL;
}

/* The path of the entry being looked at in frames 0..DEPTH, as a message shows it. */
static const char *shown_path(const walk *w, const frame *fr, int depth, char *buf, size_t n)
{
	size_t len = (size_t)snprintf(buf, n, "%s", w->top);
	for (int k = 0; k <= depth && len < n; k++)
		len += (size_t)snprintf(buf + len, n - len, "/%s", fr[k].names[fr[k].next - 1]);
	return buf;
}

/*
 * BLAKE2b of the tree whose top directory is FD (consumed) into H: of each
 * entry, sorted by name, its name, a NUL and its hash in hex (as it always
 * was); a link's hash is its target's text hashed with the key "symlink".
 */
static int hash_tree(int fd, walk *w, unsigned char h[32])
{
	frame *fr = calloc(PE_WALK_DEPTH, sizeof *fr);
	int depth = 0, rc = open_frame(&fr[0], fd, w, w->top);
	char shown[4096];
	while (!rc && depth >= 0) {
		frame *f = &fr[depth];
		if (f->next == f->n) {
			unsigned char sub[32];
			crypto_generichash_final(&f->st, sub, 32);
			close_frame(f);
			if (--depth < 0) {
				memcpy(h, sub, 32);
				break;
			}
			char hex[65];
			pe_hex_of(sub, hex);
			crypto_generichash_update(&fr[depth].st, (const unsigned char *)hex, 64);
			continue;
		}
		const char *name = f->names[f->next++];
		crypto_generichash_update(&f->st, (const unsigned char *)name, strlen(name) + 1);
		int dfd = dirfd(f->d);
		struct stat sb;
		unsigned char sub[32];
		char hex[65];
		if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			snprintf(w->why, w->wn, "%s cannot be read: %s", shown_path(w, fr, depth, shown, sizeof shown),
				 strerror(errno));
			rc = PE_HASH_REFUSED;
		} else if (S_ISLNK(sb.st_mode)) {
			char target[PATH_MAX];
			ssize_t tn = readlinkat(dfd, name, target, sizeof target);
			if (tn < 0) {
				snprintf(w->why, w->wn, "%s cannot be read: %s", shown_path(w, fr, depth, shown, sizeof shown),
					 strerror(errno));
				rc = PE_HASH_REFUSED;
			} else {
				crypto_generichash(sub, 32, (const unsigned char *)target, (size_t)tn, (const unsigned char *)"symlink", 7);
				pe_hex_of(sub, hex);
				crypto_generichash_update(&f->st, (const unsigned char *)hex, 64);
			}
		} else if (S_ISREG(sb.st_mode)) {
			int ffd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
			struct stat fs;
			shown_path(w, fr, depth, shown, sizeof shown);
			if (ffd < 0 || fstat(ffd, &fs) != 0 || !S_ISREG(fs.st_mode)) {
				snprintf(w->why, w->wn, "%s cannot be read as a regular file: %s", shown,
					 ffd < 0 ? strerror(errno) : "it changed while it was read");
				rc = PE_HASH_REFUSED;
			} else if (!(rc = hash_file(ffd, w, shown, sub))) {
				pe_hex_of(sub, hex);
				crypto_generichash_update(&f->st, (const unsigned char *)hex, 64);
			}
			if (ffd >= 0)
				close(ffd);
		} else if (S_ISDIR(sb.st_mode)) {
			shown_path(w, fr, depth, shown, sizeof shown);
			if (depth + 1 >= PE_WALK_DEPTH) {
				snprintf(w->why, w->wn, "%s is more than %d directories deep (the most a tree is hashed with)", shown,
					 PE_WALK_DEPTH);
				rc = PE_HASH_REFUSED;
			} else {
				int dfd2 = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (dfd2 < 0) {
					snprintf(w->why, w->wn, "%s cannot be read: %s", shown, strerror(errno));
					rc = PE_HASH_REFUSED;
				} else {
					rc = open_frame(&fr[depth + 1], dfd2, w, shown);
					depth++;
				}
			}
		} else {
			snprintf(w->why, w->wn, "%s is %s: only regular files, directories and symbolic links are hashed",
				 shown_path(w, fr, depth, shown, sizeof shown), kind_of(sb.st_mode));
			rc = PE_HASH_REFUSED;
		}
		if (!rc)
			rc = tick(w);
	}
	for (int k = 0; k < PE_WALK_DEPTH && k <= depth; k++)
		close_frame(&fr[k]);
	free(fr);
	return rc;
}

/* The hash of FD, open on a regular file or a directory (consumed), into OUT (hex). */
static int hash_fd(int fd, walk *w, char out[65])
{
	struct stat sb;
	unsigned char h[32];
	int rc;
	if (fstat(fd, &sb) != 0) {
		snprintf(w->why, w->wn, "%s cannot be read: %s", w->top, strerror(errno));
		close(fd);
		return PE_HASH_REFUSED;
	}
	if (S_ISDIR(sb.st_mode))
		rc = hash_tree(fd, w, h); /* consumes FD */
	else if (S_ISREG(sb.st_mode)) {
		rc = hash_file(fd, w, w->top, h);
		close(fd);
	} else {
		snprintf(w->why, w->wn, "%s is %s: only a regular file or a directory is hashed", w->top, kind_of(sb.st_mode));
		close(fd);
		return PE_HASH_REFUSED;
	}
	if (!rc)
		pe_hex_of(h, out);
	return rc;
}

int pe_hash_path(const char *path, char out[65], char *why, size_t wn)
{
	char spare[8];
	walk w = {path, 0, 0, why ? why : spare, why ? wn : sizeof spare};
	/* the path itself may be a link (a user's); what it holds is never followed */
	int fd = open(path, O_PATH | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		snprintf(w.why, w.wn, "%s cannot be read: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return errno == ENOENT || errno == ENOTDIR ? PE_HASH_ABSENT : PE_HASH_REFUSED;
	}
	close(fd);
	if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
		snprintf(w.why, w.wn, "%s is %s, not a regular file or a directory", path, kind_of(sb.st_mode));
		return PE_HASH_REFUSED;
	}
	/* opened again to be read: O_NONBLOCK, so what became a FIFO meanwhile does not block (hash_fd refuses it) */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(w.why, w.wn, "%s cannot be read: %s", path, strerror(errno));
		return PE_HASH_REFUSED;
	}
	return hash_fd(fd, &w, out);
}

/* Up to PE_READ_SCALAR bytes of FD (consumed), NUL-terminated: a new string. */
static char *read_small(int fd)
{
	char *text = malloc(PE_READ_SCALAR + 1);
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, text + len, PE_READ_SCALAR - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (len += (size_t)r) == PE_READ_SCALAR)
			break;
	}
	close(fd);
	text[len] = 0;
	return text;
}

/* Opens output NAME under DIRFD (O_PATH) into *SB; -1 with the reason in WHY. */
static int open_output(int dirfd, const char *dir, const char *name, const char *base, struct stat *sb, char *why, size_t wn)
{
	int fd = open_beneath(dirfd, name, O_PATH);
	if (fd >= 0 && fstat(fd, sb) == 0)
		return fd;
	int e = errno;
	if (fd >= 0)
		close(fd);
	char target[PATH_MAX];
	ssize_t tn = -1;
	if (e == ENOENT)
		snprintf(why, wn, "output '%s' (%s) was not written: no %s/%s", name, base, dir, name);
	else if ((e == ELOOP || e == EXDEV) && !strchr(name, '/') &&
		 (tn = readlinkat(dirfd, name, target, sizeof target - 1)) >= 0)
		snprintf(why, wn, "output '%s' is a symbolic link to %.*s: a task's outputs are read from its attempt's "
			 "directory, never through a link", name, (int)tn, target);
	else if (e == ELOOP)
		snprintf(why, wn, "output '%s' is reached through a symbolic link: a task's outputs are read from its "
			 "attempt's directory, never through a link", name);
	else if (e == EXDEV)
		snprintf(why, wn, "output '%s' names a path outside the attempt's directory", name);
	else
		snprintf(why, wn, "output '%s' cannot be read: %s", name, strerror(e));
	return -1;
}

/* Output NAME opened again to be read (FLAGS), the same file as *WAS; -1 with the reason in WHY. */
static int reopen_output(int dirfd, const char *name, int flags, const struct stat *was, char *why, size_t wn)
{
	int fd = open_beneath(dirfd, name, flags | O_RDONLY | O_NONBLOCK);
	struct stat sb;
	if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_dev == was->st_dev && sb.st_ino == was->st_ino)
		return fd;
	snprintf(why, wn, "output '%s' cannot be read: %s", name, fd < 0 ? strerror(errno) : "it changed while it was read");
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * Checks output NAME of base type BASE in the attempt's directory DIR (open
 * as DIRFD): sets *VAL, and HASH for a File or a Dir (its content's); else
 * a reason in WHY and PE_HASH_REFUSED, or PE_HASH_CANCELLED.
 */
static int check_output(int dirfd, const char *dir, const char *name, const char *base, json_t **val, char hash[65],
			char *why, size_t wn)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct stat sb;
	int pfd = open_output(dirfd, dir, name, base, &sb, why, wn);
	if (pfd < 0)
		return PE_HASH_REFUSED;
	close(pfd);
	int is_file = !strcmp(base, "File"), is_dir = !strcmp(base, "Dir"), is_list = !strcmp(base, "List[File]");
	if ((is_dir || is_list) && !S_ISDIR(sb.st_mode)) {
		snprintf(why, wn, "output '%s' must be a directory: %s is %s", name, path, kind_of(sb.st_mode));
		return PE_HASH_REFUSED;
	}
	if (!is_dir && !is_list && !S_ISREG(sb.st_mode)) {
		snprintf(why, wn, "output '%s' must be a regular file: %s is %s", name, path, kind_of(sb.st_mode));
		return PE_HASH_REFUSED;
	}
	int fd = reopen_output(dirfd, name, is_dir || is_list ? O_DIRECTORY : 0, &sb, why, wn);
	if (fd < 0)
		return PE_HASH_REFUSED;
	if (is_file || is_dir) {
		char shown[600];
		snprintf(shown, sizeof shown, "output '%s'", name);
		walk w = {shown, 0, 0, why, wn};
		int rc = hash_fd(fd, &w, hash); /* consumes FD */
		if (!rc)
			*val = json_string(path);
		return rc;
	}
	if (is_list) { /* its regular files, sorted by name; a directory in it is not one of them */
		char shown[600];
		snprintf(shown, sizeof shown, "output '%s'", name);
		walk w = {shown, 0, 0, why, wn};
		frame f;
		int rc = open_frame(&f, fd, &w, shown);
		json_t *list = json_array();
		while (!rc && f.next < f.n) {
			const char *e = f.names[f.next++];
			struct stat es;
			if (fstatat(fd_of(f.d), e, &es, AT_SYMLINK_NOFOLLOW) != 0) {
				snprintf(why, wn, "output '%s' holds %s, which cannot be read: %s", name, e, strerror(errno));
				rc = PE_HASH_REFUSED;
			} else if (S_ISREG(es.st_mode)) {
				char sub[8600];
				snprintf(sub, sizeof sub, "%s/%s", path, e);
				json_array_append_new(list, json_string(sub));
			} else if (!S_ISDIR(es.st_mode)) {
				snprintf(why, wn, "output '%s' holds %s, %s: a List[File] holds regular files, never a link", name, e,
					 kind_of(es.st_mode));
				rc = PE_HASH_REFUSED;
			}
		}
		close_frame(&f);
		if (rc) {
			json_decref(list);
			return rc;
		}
		*val = list;
		return 0;
	}
	char *text = read_small(fd);
	size_t len = strlen(text);
	if (!strcmp(base, "String")) {
		if (len && text[len - 1] == '\n')
			text[--len] = 0;
		*val = json_stringn(text, len);
		free(text);
		return 0;
	}
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r'))
		text[--len] = 0;
	char *p = text;
	while (*p == ' ' || *p == '\t')
		p++;
	char *end = NULL;
	int ok = 0;
	if (!strcmp(base, "Int") || !strcmp(base, "Size") || !strcmp(base, "Duration")) {
		errno = 0;
		long long v = strtoll(p, &end, 10);
		ok = *p && end && !*end && !errno;
		if (ok)
			*val = json_integer(v);
	} else if (!strcmp(base, "Float")) {
		double v = strtod(p, &end);
		ok = *p && end && !*end;
		if (ok)
			*val = json_real(v);
	} else if (!strcmp(base, "Bool")) {
		ok = !strcmp(p, "true") || !strcmp(p, "false");
		if (ok)
			*val = json_boolean(p[0] == 't');
	} else {
		snprintf(why, wn, "output '%s' has type %s, which this runtime cannot read yet", name, base);
		free(text);
		return -1;
	}
	if (!ok)
		snprintf(why, wn, "output '%s' is \"%.40s\", not a%s %s", name, p, strchr("AEIOU", base[0]) ? "n" : "", base);
	free(text);
	return ok ? 0 : -1;
}

/* The newest checkpoint task I has (into BEST, BN bytes) and its time, or -1. */
double pe_newest_checkpoint(runner *R, uint32_t i, char *best, size_t bn)
{
	rtask *t = &R->t[i];
	*best = 0;
	if (!t->plan.checkpoint)
		return -1;
	char dir[8300];
	pe_checkpoint_dir(R, i, dir, sizeof dir);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	double newest = -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[8600];
		struct stat sb;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (stat(path, &sb) == 0) {
			double m = (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec / 1e9;
			if (m > newest)
				newest = m, snprintf(best, bn, "%s", path);
		}
	}
	closedir(d);
	return newest;
}

/* Records the newest checkpoint task I has; returns its time (-1: none). */
double pe_note_checkpoint(runner *R, uint32_t i)
{
	char best[8600];
	double newest = pe_newest_checkpoint(R, i, best, sizeof best);
	if (*best) {
		pe_begin(R);
		pr_store_checkpoint(&R->store, R->run, R->t[i].id, R->t[i].attempt, best, newest);
	}
	return newest;
}

/* The tail of an attempt's stderr, for a failure message. */
static void stderr_tail(const char *dir, char *out, size_t n)
{
	out[0] = 0;
	/* the task could have made it a link or a FIFO: read as an output is, a regular file or nothing */
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = dfd < 0 ? -1 : open_beneath(dfd, ".stderr", O_RDONLY | O_NONBLOCK);
	struct stat sb;
	if (dfd >= 0)
		close(dfd);
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char *s = read_small(fd);
	size_t len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
		s[--len] = 0; /* the message ends the line itself */
	const char *tail = len > 300 ? s + len - 300 : s;
	snprintf(out, n, "%s", tail);
	free(s);
}

static void fail_or_retry(runner *R, uint32_t i, const char *why)
{
	rtask *t = &R->t[i];
	if (t->attempt < t->attempts && !R->cancelled) {
		pe_transition(R, i, S_RETRYING, why);
		t->not_before = pe_now(R) + (double)t->backoff_ns / 1e9;
		return;
	}
	pe_transition(R, i, S_FAILED, why);
}


void pe_finish(runner *R, uint32_t i, const pr_exec_event *ev)
{
	rtask *t = &R->t[i];
	pe_vacate(R, i);
	t->handle = 0;
	t->killed = 0;
	double checkpointed = pe_note_checkpoint(R, i);
	char why[1600], w[600];
	const char *note = ev->note;
	pe_begin(R);
	if (ev->kind == PR_END_NOT_STARTED) {
		/* an infrastructure hiccup: tried again, a few times, without spending a retry */
		snprintf(why, sizeof why, "%s: %s", pe_where(t, w, sizeof w), note);
		pr_store_finished(&R->store, R->run, t->id, t->attempt, pe_now(R), -1, 0);
		if (R->cancelled) {
			pe_transition(R, i, S_CANCELLED, NULL);
		} else if (t->not_started < PE_NOT_STARTED_RETRIES) {
			t->not_started++;
			t->attempts++;
			size_t wl = strlen(why);
			snprintf(why + wl, sizeof why - wl, "; " PE_DID_NOT_START PE_NOT_COUNTED);
			pe_transition(R, i, S_RETRYING, why);
			t->not_before = pe_now(R);
		} else {
			pe_transition(R, i, S_ERROR, why);
		}
		return;
	}
	if (ev->kind == PR_END_LOST) {
		/* running when a runtime died, and ended without an exit status: failed by the crash, and tried
		 * again (not counted against its retries) */
		t->attempts++;
		pe_transition(R, i, S_RETRYING, "the runtime stopped while it ran and it left no exit status" PE_NOT_COUNTED);
		t->not_before = pe_now(R);
		return;
	}
	int exited = ev->kind == PR_END_EXITED;
	pr_store_finished(&R->store, R->run, t->id, t->attempt, pe_now(R), exited ? ev->code : -1, exited ? 0 : ev->code);
	if (R->cancelled) {
		pe_transition(R, i, S_CANCELLED, NULL);
		return;
	}
	if (ev->kind == PR_END_OOM && !t->timed_out) {
		char lim[32];
		pr_bytes_text(t->req.memory, lim, sizeof lim);
		snprintf(why, sizeof why, "%s ran out of memory: its limit is %s (resources: memory)", pe_where(t, w, sizeof w), lim);
		if (checkpointed > t->checkpoint_before && t->oom_pauses < PE_OOM_PAUSES) {
			/* it wrote a checkpoint in this attempt: paused, and on again from it, after a backoff */
			t->oom_pauses++;
			size_t wl = strlen(why);
			snprintf(why + wl, sizeof why - wl, "; it goes on from its checkpoint");
			pe_transition(R, i, S_PAUSED, why);
			t->attempts++;
			t->not_before = pe_now(R) + 0.1 * (double)(1 << (t->oom_pauses < 6 ? t->oom_pauses : 6));
			return;
		}
		if (t->oom_pauses >= PE_OOM_PAUSES) {
			size_t wl = strlen(why);
			snprintf(why + wl, sizeof why - wl, "; it was paused %d times going on from its checkpoint, and still ran out",
				 t->oom_pauses);
			pe_transition(R, i, S_FAILED, why);
			return;
		}
		fail_or_retry(R, i, why);
		return;
	}
	if (t->timed_out) {
		snprintf(why, sizeof why, "%s ran past its timeout", pe_where(t, w, sizeof w));
		fail_or_retry(R, i, why);
		return;
	}
	if (!exited || ev->code != 0) {
		char tail[400];
		stderr_tail(t->dir, tail, sizeof tail);
		if (!exited)
			snprintf(why, sizeof why, "%s was killed by signal %d%s%s%s%s", pe_where(t, w, sizeof w), ev->code,
				 *note ? " (" : "", note, *note ? ")" : "", *tail ? "; stderr: " : "");
		else
			snprintf(why, sizeof why, "%s exited with status %d%s%s%s%s", pe_where(t, w, sizeof w), ev->code,
				 *note ? " (" : "", note, *note ? ")" : "", *tail ? "; stderr: " : "");
		size_t wl = strlen(why);
		snprintf(why + wl, sizeof why - wl, "%s", tail);
		fail_or_retry(R, i, why);
		return;
	}
	/* the finishing protocol: every output exists and parses, then hash and commit; read from the attempt's
	 * directory, opened once, never leaving it */
	int dfd = open(t->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(why, sizeof why, "%s: its directory %s cannot be opened: %s", pe_where(t, w, sizeof w), t->dir,
			 strerror(errno));
		fail_or_retry(R, i, why);
		return;
	}
	json_t *outs = json_object();
	for (uint32_t o = 0; o < t->plan.nouts; o++) {
		const char *name = R->outdecl[t->plan.outs + o].name;
		json_t *val = NULL;
		char reason[1000], path[8300], h[65] = "";
		int rc = check_output(dfd, t->dir, name, R->outdecl[t->plan.outs + o].base, &val, h, reason, sizeof reason);
		if (rc < 0) {
			close(dfd);
			json_decref(outs);
			if (rc == PE_HASH_CANCELLED) { /* a SIGTERM came while it was hashed: the run is cancelled now */
				pe_cancel_all(R);
				pe_transition(R, i, S_CANCELLED, reason);
				return;
			}
			snprintf(why, sizeof why, "%s: %s", pe_where(t, w, sizeof w), reason);
			fail_or_retry(R, i, why);
			return;
		}
		snprintf(path, sizeof path, "%s/%s", t->dir, name);
		if (!*h) {
			/* a scalar or a List[File]: its hash is of its value */
			char *txt = pr_json_text(val);
			unsigned char hb[32];
			crypto_generichash(hb, 32, (const unsigned char *)txt, strlen(txt), NULL, 0);
			pe_hex_of(hb, h);
			free(txt);
		}
		json_t *o = json_object();
		json_object_set_new(o, "path", json_string(path));
		json_object_set_new(o, "hash", json_string(h));
		json_object_set_new(o, "value", val);
		json_object_set_new(outs, name, o);
		char *vtxt = pr_json_text(val);
		pe_begin(R);
		pr_store_artifact(&R->store, R->run, t->id, name, path, h, vtxt);
		free(vtxt);
	}
	close(dfd);
	json_decref(t->outputs);
	t->outputs = outs;
	if (t->key[0]) {
		char *o = pr_json_text(outs);
		pe_begin(R);
		pr_store_cache_put(&R->store, t->key, R->run, t->id, NULL, o); /* its parts are in keys */
		free(o);
	}
	pe_transition(R, i, S_SUCCEEDED, NULL);
}
