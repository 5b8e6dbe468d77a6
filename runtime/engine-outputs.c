/*
 * engine-outputs.c - reading what a task left behind, as hostile input.
 *
 * A task writes its outputs with its own rights (in the sandbox, or not);
 * the runtime reads them with the host's.  So an output is opened relative
 * to the attempt's directory (opened once) and never through a symbolic
 * link, a tree is hashed without recursion and without following anything,
 * and a scalar is read only so far (see the essay below).  The finishing
 * protocol (engine-finish.c) and the cache key's content hashes of File and
 * Dir inputs (engine-cache.c) read through here.
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
int pe_open_beneath(int dirfd, const char *name, int flags)
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
char *pe_read_small(int fd)
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
	int fd = pe_open_beneath(dirfd, name, O_PATH);
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
	int fd = pe_open_beneath(dirfd, name, flags | O_RDONLY | O_NONBLOCK);
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
int pe_check_output(int dirfd, const char *dir, const char *name, const char *base, json_t **val, char hash[65],
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
	char *text = pe_read_small(fd);
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

