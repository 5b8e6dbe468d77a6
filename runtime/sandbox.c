/*
 * sandbox.c - the local sandbox a task's attempt runs in.
 *
 * Default-deny, in the manner of bubblewrap and nsjail.  The task's shell
 * is cloned into new user, mount, pid, ipc, uts and network namespaces
 * (network only `lo`, unless the stage says `sandbox: { network: true }`);
 * inside, before it runs anything:
 *
 *   - the whole mount tree is made read-only (mount_setattr, recursive);
 *     a private tmpfs, of a bounded size (tmpfs_options()), is mounted on
 *     /tmp, /run and /dev/shm, a /dev with only null, zero,
 *     full, random, urandom and tty (and the task's own GPUs' nodes), a
 *     /proc of its own pid namespace;
 *   - the attempt's directory (and its checkpoint directory) are put back
 *     writable, the state directory's work tree and the task's inputs
 *     read-only — clones of them taken before /tmp was covered, so a state
 *     directory under /tmp stays visible;
 *   - no_new_privs, a new session, every capability dropped (bounding set,
 *     and securebits so that uid 0 in the namespace gains none at exec);
 *   - a root runtime's task becomes PR_TASK_UID, an unprivileged uid the
 *     run's user namespace maps to itself (map_holder()), so the host's
 *     files keep their permissions against it (/etc/shadow, /root); its
 *     attempt's directories are chowned to it before it starts, and a
 *     directory above a kept path that it may not search (/root, 0700) is
 *     covered by an empty read-only tmpfs with the kept path put back
 *     under it, so it reaches what it is given and nothing else there;
 *   - the environment is the clean one the engine built (engine-start.c).
 *
 * Memory, pids and cpu are limited by cgroups (sandbox-cgroup.c), rlimits
 * as the last resort.  An attempt's cgroup is made before its process
 * starts and the process put in it before it is let go (the start
 * handshake of exec-local.c), so nothing the command runs escapes it; when
 * it ends, an out-of-memory kill is read from the cgroup and reported as
 * such.  A runtime that is killed
 * leaves the cgroups of the attempts it had made ready: the executor has
 * pr_sandbox_sweep() remove them when the state directory's next run or
 * resume starts.  The helpers it forks (the namespace holder, the probe)
 * die with it (a parent-death signal).
 *
 * What the host does not give is found once, by pr_sandbox_probe(), and
 * said once: the run goes on with the protections that remain.
 *
 * The clone shares the runtime's memory (CLONE_VM | CLONE_VFORK, as
 * posix_spawn does) so starting a task costs no copy of the runtime; the
 * child does only system calls on what the parent prepared, and reports a
 * failed step (and the kept path it was on) through that shared memory.
 * So everything the jail points to is read by the child, in the caller's
 * memory, while other threads run: it must be the caller's own and stay
 * unchanged until pr_sandbox_spawn() returns.  (The work tree's path was
 * once a static buffer that the loop rewrote for the next task while a
 * spawner thread's child read it; glibc's snprintf stores a NUL first, so
 * the child now and then read "": "cannot put back the attempt's
 * directories: No such file or directory", or, read by open_tree, a task
 * silently without the work tree.  A kept path that cannot be cloned now
 * fails the start, named, instead of being left out.)
 */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define STACK_FRESH(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define STACK_FRESH(p, n) ((void)(p), (void)(n))
#endif

const char *const sb_controllers[PR_CG_N] = {"memory", "pids", "cpu"};

/* ---- what the host gives ------------------------------------------------------ */

int sb_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

int sb_read_file(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	buf[r > 0 ? r : 0] = 0;
	return r < 0 ? -1 : 0;
}

/* Maps uid/gid of the parent namespace to themselves in a new user namespace (run in it). */
static int map_ids(const char *uid_map, const char *gid_map)
{
	if (sb_write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
		return -1;
	return sb_write_file("/proc/self/uid_map", uid_map) < 0 || sb_write_file("/proc/self/gid_map", gid_map) < 0 ? -1 : 0;
}

/* Brings up lo in this network namespace. */
static int lo_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, "lo", 3);
	int rc = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 &&
			 (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ioctl(s, SIOCSIFFLAGS, &ifr) == 0)
		 ? 0 : -1;
	if (s >= 0)
		close(s);
	return rc;
}

/*
 * The run's own user and network namespaces, made once: a network namespace
 * costs about half a millisecond to make and to tear down, so the tasks of a
 * run share one (only lo, up) instead of each making its own.  So do its ipc
 * and uts namespaces (hostname "pipec"), another ~0.08 ms a task: the tasks
 * of a run can see each other's System V and POSIX IPC, never the host's.
 * A forked child makes them; their /proc files, held open, keep them after
 * it is gone (the runtime kills it once it has them, and a runtime killed
 * before that takes it along: die_with()).
 */
static int base_tree(const int *gpu_minor, int ngpus);

/*
 * In a helper the runtime forks (the namespace holder, the probe): it dies
 * with the runtime (the thread that forked it), also when that is killed
 * before it can kill the helper; 0, or -1 when the runtime is gone already.
 */
static int die_with(pid_t parent)
{
	return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0 && getppid() == parent ? 0 : -1;
}

/*
 * The run's user namespace maps the runtime's uid and gid to themselves; a
 * root runtime's also maps PR_TASK_UID, the unprivileged uid its tasks run
 * as (child_main()).  A map of more than one's own uid must be written from
 * the parent namespace by a process that may (CAP_SETUID there): the
 * runtime writes it for the holder, which waits for it (MAPS on the pipe
 * GO).  0 or -1.
 */
static int map_holder(pid_t h, unsigned task)
{
	char path[64], map[96];
	snprintf(map, sizeof map, "0 0 1\n%u %u 1\n", task, task);
	snprintf(path, sizeof path, "/proc/%ld/uid_map", (long)h);
	if (sb_write_file(path, map) < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/gid_map", (long)h);
	return sb_write_file(path, map);
}

static void make_holder(pr_sandbox *sb)
{
	int p[2], go[2];
	sb->user_fd = sb->net_fd = sb->ipc_fd = sb->uts_fd = sb->mnt_fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	if (pipe2(go, O_CLOEXEC) < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	int more = sb->flags & (CLONE_NEWIPC | CLONE_NEWUTS);
	unsigned task = sb->task_uid;
	pid_t runtime = getpid();
	pid_t h = fork();
	if (h == 0) {
		close(p[0]);
		close(go[1]);
		if (die_with(runtime) < 0)
			_exit(0);
		char y = 0;
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 &&
		    (task ? write(p[1], "u", 1) == 1 && read(go[0], &y, 1) == 1 && y == 'y'
			  : map_ids(sb->uid_map, sb->gid_map) == 0) &&
		    lo_up() == 0 &&
		    die_with(runtime) == 0 /* again: a change of credentials may clear it */) {
			char k = more && unshare(more) == 0 && (!(more & CLONE_NEWUTS) || sethostname("pipec", 5) == 0) ? 'a' : 'k';
			/* the mount template: what every task's mount namespace has, made once */
			char m = sb->rdonly && (sb->flags & CLONE_NEWNS) && unshare(CLONE_NEWNS) == 0 &&
					 mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 && base_tree(NULL, 0) == 0
				 ? 'm' : '-';
			if (write(p[1], &k, 1) == 1 && write(p[1], &m, 1) == 1)
				pause();
		}
		_exit(0);
	}
	close(p[1]);
	close(go[0]);
	char k, m = '-', u;
	if (h > 0 && task && read(p[0], &u, 1) == 1)
		(void)!write(go[1], map_holder(h, task) == 0 ? "y" : "n", 1);
	close(go[1]);
	if (h > 0 && read(p[0], &k, 1) == 1 && read(p[0], &m, 1) == 1) {
		const struct {
			const char *name;
			int made;
			int *fd;
		} ns[] = {
			{"user", 1, &sb->user_fd},
			{"net", 1, &sb->net_fd},
			{"ipc", k == 'a' && (more & CLONE_NEWIPC), &sb->ipc_fd},
			{"uts", k == 'a' && (more & CLONE_NEWUTS), &sb->uts_fd},
			{"mnt", m == 'm', &sb->mnt_fd},
		};
		for (size_t x = 0; x < sizeof ns / sizeof ns[0]; x++) {
			char path[64];
			snprintf(path, sizeof path, "/proc/%ld/ns/%s", (long)h, ns[x].name);
			if (ns[x].made)
				*ns[x].fd = open(path, O_RDONLY | O_CLOEXEC);
		}
	}
	close(p[0]);
	if (h > 0) {
		kill(h, SIGKILL);
		waitpid(h, NULL, 0);
	}
	/* a task is the holder-entering child's child: the runtime adopts it when that child exits */
	if (sb->user_fd < 0 || sb->net_fd < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		pr_sandbox_free(sb);
}

enum { PB_USER = 1, PB_MOUNT = 2, PB_PID = 4, PB_NET = 8, PB_IPC = 16, PB_UTS = 32, PB_PROC = 64, PB_RDONLY = 128 };

/* In a forked child: which namespaces and mount operations work (a bit set, as the exit status). */
static int probe_child(const pr_sandbox *sb)
{
	int got = 0;
	if (unshare(CLONE_NEWUSER) == 0 && map_ids(sb->uid_map, sb->gid_map) == 0)
		got |= PB_USER;
	else if (geteuid() != 0)
		return 0; /* neither a user namespace nor root: no namespace at all */
	static const struct {
		int flag, bit;
	} ns[] = {{CLONE_NEWNS, PB_MOUNT}, {CLONE_NEWNET, PB_NET}, {CLONE_NEWIPC, PB_IPC}, {CLONE_NEWUTS, PB_UTS}};
	for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
		if (unshare(ns[k].flag) == 0)
			got |= ns[k].bit;
	if (got & PB_MOUNT) {
		struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		    mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro) == 0)
			got |= PB_RDONLY;
	}
	if (unshare(CLONE_NEWPID) == 0) {
		got |= PB_PID;
		pid_t p = fork(); /* the first child is pid 1 of the new namespace */
		if (p == 0)
			_exit((got & PB_MOUNT) && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0 ? 0 : 1);
		int st;
		if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			got |= PB_PROC;
	}
	return got;
}

void pr_sandbox_probe(pr_sandbox *sb, int on)
{
	memset(sb, 0, sizeof *sb);
	sb->user_fd = sb->net_fd = sb->ipc_fd = sb->uts_fd = sb->mnt_fd = -1;
	sb->let_go[0] = sb->let_go[1] = -1;
	sb->on = on;
	if (!on)
		return;
	snprintf(sb->uid_map, sizeof sb->uid_map, "%ld %ld 1", (long)geteuid(), (long)geteuid());
	snprintf(sb->gid_map, sizeof sb->gid_map, "%ld %ld 1", (long)getegid(), (long)getegid());
	sb->task_uid = geteuid() == 0 ? PR_TASK_UID : 0;
	pid_t runtime = getpid();
	pid_t p = fork();
	int got = 0, st;
	if (p == 0)
		_exit(die_with(runtime) == 0 ? probe_child(sb) : 0);
	if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st))
		got = WEXITSTATUS(st);
	sb->flags = (got & PB_USER ? CLONE_NEWUSER : 0) | (got & PB_MOUNT ? CLONE_NEWNS : 0) |
		    (got & PB_PID ? CLONE_NEWPID : 0) | (got & PB_NET ? CLONE_NEWNET : 0) | (got & PB_IPC ? CLONE_NEWIPC : 0) |
		    (got & PB_UTS ? CLONE_NEWUTS : 0);
	sb->own_proc = (got & PB_PROC) != 0;
	sb->rdonly = (got & PB_RDONLY) != 0;
	if ((sb->flags & (CLONE_NEWUSER | CLONE_NEWNET)) == (CLONE_NEWUSER | CLONE_NEWNET))
		make_holder(sb);
	if (sb->user_fd < 0)
		sb->task_uid = 0; /* without the run's user namespace, a task's own maps only its creator's uid */
	size_t len = 0;
#define MISSING(...) (len += (size_t)snprintf(sb->missing + len, len < sizeof sb->missing ? sizeof sb->missing - len : 0, \
					     __VA_ARGS__))
	if (!(got & (PB_USER | PB_MOUNT)))
		MISSING("no namespaces (neither a user namespace nor root): no read-only root filesystem and no private /tmp;"
			" no pid namespace; no network namespace: tasks see the host's filesystem, processes and network");
	else {
		if (!(got & PB_MOUNT) || !(got & PB_RDONLY))
			MISSING("%sno read-only root filesystem and no private /tmp", len ? "; " : "");
		if (!(got & PB_PID))
			MISSING("%sno pid namespace: tasks see the host's processes", len ? "; " : "");
		else if (!(got & PB_PROC))
			MISSING("%sno /proc of its own: tasks see the host's /proc", len ? "; " : "");
		if (!(got & PB_NET))
			MISSING("%sno network namespace: tasks can reach the network", len ? "; " : "");
		if (!(got & PB_IPC))
			MISSING("%sno ipc namespace", len ? "; " : "");
		if (geteuid() == 0 && !sb->task_uid)
			MISSING("%sno unprivileged uid: tasks run as root without capabilities and read what root may",
				len ? "; " : "");
	}
	for (int c = 0; c < PR_CG_N; c++) {
		char why[512] = "";
		sb->cg_version[c] = sb_cgroup_base(sb_controllers[c], sb->cg_base[c], sizeof sb->cg_base[c], why, sizeof why);
		if (!sb->cg_version[c] && c == PR_CG_CPU)
			MISSING("%sno cpu limit (%s)", len ? "; " : "", why);
		else if (!sb->cg_version[c])
			MISSING("%s%s limits by rlimit only (%s)", len ? "; " : "", sb_controllers[c], why);
	}
#undef MISSING
}

/* The ancestors of PATH (N bytes) up to and with its directory P[0..end): the first and deepest that
 * the task's uid may not search (0: none), by stat. */
static void blocked_walk(char *p, size_t end, size_t *first, size_t *deepest)
{
	*first = *deepest = 0;
	for (size_t k = 1; k <= end; k++) {
		if (k < end && p[k] != '/')
			continue;
		char c = p[k];
		p[k] = 0;
		struct stat st;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && !(st.st_mode & S_IXOTH)) {
			if (!*first)
				*first = k;
			*deepest = k;
		}
		p[k] = c;
	}
}

/*
 * The answers for a few directories, per thread (spawner threads ask at
 * once): every attempt of a run is in the same directory, so its
 * ancestors are looked at once, not at every start.  The runtime made
 * them; a task cannot change their modes.
 */
static __thread struct blocked_memo {
	char dir[512];
	size_t first, deepest;
} memo[4];
static __thread unsigned memo_next;

size_t pr_sandbox_blocked(const char *path, size_t *deepest)
{
	char p[4096];
	size_t n = strlen(path), first = 0;
	*deepest = 0;
	if (n >= sizeof p || path[0] != '/')
		return 0;
	memcpy(p, path, n + 1);
	char *slash = strrchr(p, '/');
	size_t end = (size_t)(slash - p); /* PATH's directory: P[0..end) */
	if (end == 0)
		return 0;
	for (unsigned k = 0; k < 4; k++)
		if (end < sizeof memo[k].dir && !strncmp(memo[k].dir, p, end) && memo[k].dir[end] == 0) {
			*deepest = memo[k].deepest;
			return memo[k].first;
		}
	blocked_walk(p, end, &first, deepest);
	if (end < sizeof memo[0].dir) {
		struct blocked_memo *m = &memo[memo_next++ % 4];
		memcpy(m->dir, p, end);
		m->dir[end] = 0;
		m->first = first;
		m->deepest = *deepest;
	}
	return first;
}

int pr_sandbox_covers(const char *path)
{
	static const char *const covered[] = {"/tmp/", "/run/", "/var/run/", "/dev/shm/", "/dev/"};
	for (size_t k = 0; k < sizeof covered / sizeof covered[0]; k++)
		if (!strncmp(path, covered[k], strlen(covered[k])))
			return (int)strlen(covered[k]);
	return 0;
}

void pr_sandbox_free(pr_sandbox *sb)
{
	int *fds[] = {&sb->user_fd, &sb->net_fd, &sb->ipc_fd, &sb->uts_fd, &sb->mnt_fd};
	for (size_t k = 0; k < sizeof fds / sizeof fds[0]; k++) {
		if (*fds[k] >= 0)
			close(*fds[k]);
		*fds[k] = -1;
	}
}

/*
 * A task's mount namespace outlives the task by a moment.  Whoever drops the
 * last reference to a mount namespace waits for an RCU grace period
 * (namespace_unlock), and the task's own exit would: the runtime would hear
 * of its end that much later, a wait on every task's critical path.  So the
 * runtime holds each task's namespace (its /proc file, opened once the task
 * has started) and hands it, once the task is gone, to a thread that only
 * closes what it is given.
 */
int pr_sandbox_hold(const pr_sandbox *sb, pid_t pid)
{
	if (!sb->on || !(sb->flags & CLONE_NEWNS) || pid <= 0)
		return -1;
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/ns/mnt", (long)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static void *let_go_main(void *arg)
{
	int in = (int)(intptr_t)arg, fd;
	while (read(in, &fd, sizeof fd) == (ssize_t)sizeof fd)
		close(fd);
	close(in);
	return NULL;
}

void pr_sandbox_let_go(pr_sandbox *sb, int fd)
{
	if (fd < 0)
		return;
	if (sb->let_go[1] < 0 && pipe2(sb->let_go, O_CLOEXEC) == 0) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old); /* signals are the loop's */
		if (pthread_create(&sb->let_go_th, NULL, let_go_main, (void *)(intptr_t)sb->let_go[0]) != 0) {
			close(sb->let_go[0]);
			close(sb->let_go[1]);
			sb->let_go[0] = sb->let_go[1] = -1;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (sb->let_go[1] < 0 || write(sb->let_go[1], &fd, sizeof fd) != (ssize_t)sizeof fd)
		close(fd);
}

void pr_sandbox_end(pr_sandbox *sb)
{
	pr_sandbox_free(sb);
	if (sb->let_go[1] >= 0) {
		close(sb->let_go[1]); /* the thread reads to the end, closing each, and ends */
		pthread_join(sb->let_go_th, NULL);
		sb->let_go[0] = sb->let_go[1] = -1;
	}
}

/* ---- the child ------------------------------------------------------------------ */

typedef struct child {
	const pr_sandbox *sb;
	const pr_jail *j;
	int flags;
	int fd_null;             /* /dev/null of the host, opened before */
	int step, err;           /* where the child failed, and errno (shared memory: read by the parent) */
	const char *what;        /* ... and the kept path that step was on, or NULL */
	pid_t task;              /* entering the run's namespaces: the task's pid */
	char *stack;             /* ... and the stack it runs on */
	int tree[PR_JAIL_KEEP];  /* clones of the kept paths */
	int from_template;       /* its mount namespace is a copy of the run's template (sb->mnt_fd) */
	unsigned uid;            /* the uid and gid it runs as (sb->task_uid), or 0: the one it has */
	struct {
		int k, len;
	} cover[PR_JAIL_KEEP];   /* a tmpfs over each directory it may not search above a kept path (keep[k]'s
				  * first LEN bytes), so that what is kept under it is reached */
	int ncover;
	char tmp_opt[64], run_opt[64], shm_opt[64]; /* its tmpfs' mount options (tmpfs_options()) */
} child;

enum { ST_MAPS = 1, ST_PRIVATE, ST_CLONE, ST_RDONLY, ST_TMP, ST_DEV, ST_PROC, ST_KEEP, ST_NET, ST_CAPS, ST_CHDIR, ST_EXEC,
       ST_ENTER, ST_UID };

static const char *const steps[] = {
	"", "map the user ids", "make the mounts private", "clone a kept path", "make the root read-only",
	"mount a private /tmp", "make /dev", "mount /proc", "put back the attempt's directories", "bring up lo",
	"drop privileges", "enter the attempt's directory", "run /bin/sh", "enter the run's namespaces",
	"become the unprivileged uid",
};

/* mkdir -p of PATH's directories (the last too when DIR), on the stack: the child shares the runtime's memory. */
static void mkpath(const char *path, int dir)
{
	char p[4096];
	size_t n = strlen(path);
	if (n >= sizeof p)
		return;
	memcpy(p, path, n + 1);
	for (size_t k = 1; k <= n; k++)
		if (p[k] == '/' || (p[k] == 0 && dir)) {
			char c = p[k];
			p[k] = 0;
			mkdir(p, 0755);
			p[k] = c;
		}
	if (!dir) {
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
}

#define FAIL(s) \
	do { \
		c->step = (s); \
		c->err = errno; \
		_exit(127); \
	} while (0)

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
enum { NDEV = sizeof dev_nodes / sizeof dev_nodes[0] };

/*
 * What every task's mount namespace has, made in the current one: a
 * read-only root and a read-only /dev with only the harmless device nodes
 * and the GPUs given (GPU_MINOR).  0, or the step that failed (errno says
 * why).  Made once a run in the mount template (make_holder()), which each
 * task's namespace starts as a copy of, or by each task itself (a task
 * with GPUs, or that keeps a path under /run or /dev); then each task
 * mounts its own /tmp, /run and /dev/shm (private_mounts()).
 */
static int base_tree(const int *gpu_minor, int ngpus)
{
	/* the device nodes, cloned before anything covers them */
	int devs[NDEV + PR_JAIL_GPUS + 3];
	char path[64];
	int nd = 0;
	for (int k = 0; k < NDEV; k++) {
		snprintf(path, sizeof path, "/dev/%s", dev_nodes[k]);
		devs[nd++] = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	}
	static const char *const gpu_common[] = {"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"};
	for (int k = 0; k < (ngpus ? 3 : 0); k++) {
		snprintf(path, sizeof path, "/dev/%s", gpu_common[k]);
		devs[nd++] = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	}
	for (int k = 0; k < ngpus; k++) {
		snprintf(path, sizeof path, "/dev/nvidia%d", gpu_minor[k]);
		devs[nd++] = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	}
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
	if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro) < 0)
		return ST_RDONLY;
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755") < 0)
		return ST_DEV;
	nd = 0;
	for (int k = 0; k < NDEV + (ngpus ? 3 : 0) + ngpus; k++) {
		const char *name = k < NDEV ? dev_nodes[k] : k < NDEV + 3 ? gpu_common[k - NDEV] : NULL;
		if (name)
			snprintf(path, sizeof path, "/dev/%s", name);
		else
			snprintf(path, sizeof path, "/dev/nvidia%d", gpu_minor[k - NDEV - 3]);
		int fd = devs[nd++];
		if (fd < 0)
			continue;
		mkpath(path, 0);
		if (move_mount(fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return ST_DEV;
		close(fd);
	}
	symlink("/proc/self/fd", "/dev/fd");
	symlink("/proc/self/fd/0", "/dev/stdin");
	symlink("/proc/self/fd/1", "/dev/stdout");
	symlink("/proc/self/fd/2", "/dev/stderr");
	mkdir("/dev/shm", 01777);
	/* nothing more is made in /dev (the device nodes stay writable: they are not its files) */
	struct mount_attr dev_ro = {.attr_set = MOUNT_ATTR_RDONLY};
	if (mount_setattr(AT_FDCWD, "/dev", 0, &dev_ro, sizeof dev_ro) < 0)
		return ST_DEV;
	return 0;
}

/* A task's own writable scratch: /tmp, /run (where the host's sockets were) and /dev/shm, each a fresh tmpfs. */
static int private_mounts(const child *c)
{
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, c->tmp_opt) < 0)
		return ST_TMP;
	/* the host's sockets (docker.sock, dbus, agents) are in /run: not reachable */
	if (access("/run", F_OK) == 0 && mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, c->run_opt) < 0)
		return ST_TMP;
	if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, c->shm_opt) < 0)
		return ST_DEV;
	return 0;
}

/*
 * The sizes of a task's tmpfs, which are memory: without a bound each
 * would be half the host's RAM.  With a memory limit, /tmp and /dev/shm
 * may each hold that much (what is in them is charged to the task's
 * memory cgroup, so together they cannot pass it either), /run the
 * smaller of it and PR_TMPFS_SMALL; without one, /tmp holds PR_TMPFS_TMP
 * and /run and /dev/shm PR_TMPFS_SMALL.  Past its size a write fails with
 * ENOSPC.  (docs/running.md, "The sandbox".)
 */
#define PR_TMPFS_TMP (1LL << 30)
#define PR_TMPFS_SMALL (64LL << 20)
static void tmpfs_options(child *c, double memory)
{
	long long lim = memory >= 4096 ? (long long)memory : 0;
	long long tmp = lim ? lim : PR_TMPFS_TMP, small = lim && lim < PR_TMPFS_SMALL ? lim : PR_TMPFS_SMALL;
	snprintf(c->tmp_opt, sizeof c->tmp_opt, "mode=1777,size=%lld", tmp);
	snprintf(c->run_opt, sizeof c->run_opt, "mode=1777,size=%lld", small);
	snprintf(c->shm_opt, sizeof c->shm_opt, "mode=1777,size=%lld", lim ? lim : PR_TMPFS_SMALL);
}

static int child_main(void *arg)
{
	child *c = arg;
	const pr_jail *j = c->j;
	const pr_sandbox *sb = c->sb;
	if ((c->flags & CLONE_NEWUSER) && map_ids(sb->uid_map, sb->gid_map) < 0)
		FAIL(ST_MAPS);
	if (c->flags & CLONE_NEWNS) {
		if (!c->from_template && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			FAIL(ST_PRIVATE);
		if (sb->rdonly) {
			/* the paths that stay visible, cloned before anything covers them: each is there (the
			 * caller looked), and one that is not fails the start rather than run without it */
			for (int k = 0; k < j->nkeep; k++)
				if ((c->tree[k] = open_tree(AT_FDCWD, j->keep[k].path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)) < 0) {
					c->what = j->keep[k].path;
					FAIL(ST_CLONE);
				}
			int st = c->from_template ? 0 : base_tree(j->gpu_minor, j->ngpus);
			if (st || (st = private_mounts(c)))
				FAIL(st);
			char cover[4096];
			for (int k = 0; k < c->ncover; k++) {
				memcpy(cover, j->keep[c->cover[k].k].path, (size_t)c->cover[k].len);
				cover[c->cover[k].len] = 0;
				c->what = j->keep[c->cover[k].k].path;
				if (mount("tmpfs", cover, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m") < 0)
					FAIL(ST_KEEP);
			}
			/* the kept paths, parents first (they are listed so), read-only unless writable */
			for (int k = 0; k < j->nkeep; k++) {
				c->what = j->keep[k].path;
				mkpath(j->keep[k].path, j->keep[k].dir);
				if (move_mount(c->tree[k], "", AT_FDCWD, j->keep[k].path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
					FAIL(ST_KEEP);
				struct mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID};
				if (j->keep[k].writable)
					a.attr_clr = MOUNT_ATTR_RDONLY;
				else
					a.attr_set |= MOUNT_ATTR_RDONLY;
				if (mount_setattr(AT_FDCWD, j->keep[k].path, 0, &a, sizeof a) < 0)
					FAIL(ST_KEEP);
				close(c->tree[k]);
			}
			struct mount_attr cro = {.attr_set = MOUNT_ATTR_RDONLY};
			for (int k = 0; k < c->ncover; k++) {
				memcpy(cover, j->keep[c->cover[k].k].path, (size_t)c->cover[k].len);
				cover[c->cover[k].len] = 0;
				if (mount_setattr(AT_FDCWD, cover, 0, &cro, sizeof cro) < 0)
					FAIL(ST_KEEP);
			}
			c->what = NULL;
		}
		if ((c->flags & CLONE_NEWPID) && sb->own_proc) {
			if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
				FAIL(ST_PROC);
			/* what in a /proc of its own still reaches the host: read-only */
			static const char *const host[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus",
							   "/proc/fs"};
			struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
			for (size_t k = 0; k < sizeof host / sizeof host[0]; k++) {
				if (access(host[k], F_OK) != 0)
					continue;
				if (mount(host[k], host[k], NULL, MS_BIND | MS_REC, NULL) < 0 ||
				    mount_setattr(AT_FDCWD, host[k], AT_RECURSIVE, &ro, sizeof ro) < 0)
					FAIL(ST_PROC);
			}
		}
	}
	if ((c->flags & CLONE_NEWNET) && lo_up() < 0) /* 127.0.0.1 is the task's own */
		FAIL(ST_NET);
	if (c->flags & CLONE_NEWUTS)
		sethostname("pipec", 5);
	if (chdir(j->dir) < 0)
		FAIL(ST_CHDIR);
	if (!sb->cg_version[PR_CG_MEMORY] && j->memory > 0) {
		struct rlimit rl = {(rlim_t)j->memory, (rlim_t)j->memory};
		setrlimit(RLIMIT_AS, &rl);
	}
	if (!sb->cg_version[PR_CG_PIDS] && j->pids > 0) {
		struct rlimit rl = {(rlim_t)j->pids, (rlim_t)j->pids};
		setrlimit(RLIMIT_NPROC, &rl);
	}
	/* standard streams and the start handshake */
	if (dup2(c->fd_null, 0) < 0 || dup2(j->fd_out, 1) < 0 || dup2(j->fd_err, 2) < 0 || dup2(j->fd_go, 3) < 0)
		FAIL(ST_CHDIR);
	/* nothing else the runtime has open, or was given, goes with it (a kernel before 5.11: it may) */
	syscall(SYS_close_range, 4, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
	setsid();
	/* no privileges: no_new_privs, no capabilities now or after exec */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		FAIL(ST_CAPS);
	if ((sb->flags & CLONE_NEWUSER) || geteuid() == 0) {
		for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
			prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
		if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
						      SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED,
			  0, 0, 0) < 0)
			FAIL(ST_CAPS);
		/* an unprivileged uid: the host's files keep their permissions (/etc/shadow, /root).  Raw system
		 * calls: glibc's wrappers signal every thread of the runtime, whose memory this child shares */
		if (c->uid && (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, c->uid, c->uid, c->uid) < 0 ||
			       syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0))
			FAIL(ST_UID);
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];
		memset(d, 0, sizeof d);
		if (syscall(SYS_capset, &h, d) < 0)
			FAIL(ST_CAPS);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve("/bin/sh", j->argv, j->envp);
	FAIL(ST_EXEC);
}

enum { STACK = 256 * 1024 };

/* The child that joins the run's user and network namespaces and starts the task in the rest. */
static int enter_main(void *arg)
{
	child *c = arg;
	if (setns(c->sb->user_fd, CLONE_NEWUSER) < 0 || (!c->j->network && setns(c->sb->net_fd, CLONE_NEWNET) < 0) ||
	    (c->sb->ipc_fd >= 0 && setns(c->sb->ipc_fd, CLONE_NEWIPC) < 0) ||
	    (c->sb->uts_fd >= 0 && setns(c->sb->uts_fd, CLONE_NEWUTS) < 0) ||
	    (c->from_template && setns(c->sb->mnt_fd, CLONE_NEWNS) < 0))
		FAIL(ST_ENTER);
	c->task = clone(child_main, c->stack + STACK, c->flags | CLONE_VM | CLONE_VFORK | SIGCHLD, c);
	if (c->task < 0)
		FAIL(ST_ENTER);
	_exit(0);
}

/* The stacks of a thread's children (one at a time: each is a vfork). */
static __thread char *thread_stacks[2];

void pr_sandbox_thread_end(void)
{
	for (int k = 0; k < 2; k++) {
		free(thread_stacks[k]);
		thread_stacks[k] = NULL;
	}
}

/*
 * Gives the writable directory PATH (the attempt's directory, its
 * checkpoint directory) and the directories in it (its .tmp, a list
 * output's) to PR_TASK_UID.  One level, never following a link, no file:
 * what the runtime made there beside them is read and written through the
 * descriptors it holds (.stdout, .stderr), and what is in a checkpoint
 * directory the task made (a hard link it left there to a file of root's is
 * never handed over).  The runtime made these directories and a task
 * cannot put another's in their place, so no stat is needed before each
 * chown: this runs at every start.  0, or -1 with errno.
 */
static int give_task(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fchown(fd, PR_TASK_UID, PR_TASK_UID) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int dir = e->d_type == DT_DIR;
		if (e->d_type == DT_UNKNOWN) { /* a filesystem that does not say: asked */
			struct stat st;
			dir = fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		}
		if (dir && fchownat(fd, e->d_name, PR_TASK_UID, PR_TASK_UID, AT_SYMLINK_NOFOLLOW) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

/* J and the strings it points to are read by the child until this returns: the caller's own, unchanged meanwhile. */
pid_t pr_sandbox_spawn(pr_sandbox *sb, const pr_jail *j, char *why, size_t wn)
{
	if (sb_cg_make(sb, j, why, wn) < 0)
		return -1;
	char **stack = thread_stacks; /* CLONE_VFORK returns only once the child has exec'd or died */
	for (int k = 0; k < 2; k++) {
		if (!stack[k] && !(stack[k] = malloc(STACK)))
			abort();
		STACK_FRESH(stack[k], STACK); /* the last child left its frames' marks: it never returned */
	}
	child c = {.sb = sb, .j = j, .flags = sb->flags, .stack = stack[1], .task = -1};
	if (j->network)
		c.flags &= ~CLONE_NEWNET;
	/* a task with the network joins the run's user namespace (its uids), not its network */
	int enter = sb->user_fd >= 0;
	if (enter) /* joined, not made */
		c.flags &= ~(CLONE_NEWUSER | CLONE_NEWNET | (sb->ipc_fd >= 0 ? CLONE_NEWIPC : 0) |
			     (sb->uts_fd >= 0 ? CLONE_NEWUTS : 0));
	for (int k = 0; k < PR_JAIL_KEEP; k++)
		c.tree[k] = -1;
	/* from the run's template, unless the task needs a /dev of its own or keeps a path it covers */
	c.from_template = enter && sb->mnt_fd >= 0 && sb->rdonly && !j->ngpus;
	for (int k = 0; k < j->nkeep && c.from_template; k++) /* /tmp is the task's own either way */
		c.from_template = !pr_sandbox_covers(j->keep[k].path) || !strncmp(j->keep[k].path, "/tmp/", 5);
	tmpfs_options(&c, j->memory);
	/* the task's uid, where it has one of its own, owns what it writes to: the attempt's directories */
	c.uid = enter ? sb->task_uid : 0;
	for (int k = 0; k < j->nkeep && c.uid; k++) {
		if (j->keep[k].writable && give_task(j->keep[k].path) < 0) {
			snprintf(why, wn, "sandbox: cannot give %s to the task's uid: %s", j->keep[k].path, strerror(errno));
			pr_sandbox_reap(sb, j->cgroup, NULL, 0);
			return -1;
		}
		/* a directory above it that the uid may not search (/root, 0700): covered, once, by a tmpfs */
		size_t deep, len = pr_sandbox_covers(j->keep[k].path) ? 0 : pr_sandbox_blocked(j->keep[k].path, &deep);
		int seen = !len;
		for (int x = 0; x < c.ncover && !seen; x++)
			seen = (size_t)c.cover[x].len == len && !strncmp(j->keep[c.cover[x].k].path, j->keep[k].path, len);
		if (!seen) {
			c.cover[c.ncover].k = k;
			c.cover[c.ncover++].len = (int)len;
		}
	}
	c.fd_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* signals: the child must not run the runtime's handlers on the shared memory */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	/* the entering child tells no one of its end (no exit signal): only this thread waits for it */
	pid_t pid = enter ? clone(enter_main, stack[0] + STACK, CLONE_VM | CLONE_VFORK, &c)
			  : clone(child_main, stack[0] + STACK, c.flags | CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	int e = errno;
	if (enter && pid > 0) { /* the entering child is done: the task is its child, now the runtime's */
		waitpid(pid, NULL, __WALL);
		if (c.step && c.task > 0)
			waitpid(c.task, NULL, 0);
		pid = c.step == ST_ENTER && c.task < 0 ? pid : c.task;
		if (c.step == ST_ENTER) { /* the run's namespaces cannot be joined: each task makes its own */
			static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER; /* spawner threads: one lets go */
			pthread_mutex_lock(&once);
			pr_sandbox_free(sb);
			pthread_mutex_unlock(&once);
			close(c.fd_null);
			sigprocmask(SIG_SETMASK, &old, NULL);
			return pr_sandbox_spawn(sb, j, why, wn);
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(c.fd_null);
	if (pid < 0) {
		snprintf(why, wn, "cannot start the sandbox: clone: %s", strerror(e));
		pr_sandbox_reap(sb, j->cgroup, NULL, 0);
		return -1;
	}
	if (c.step) {
		if (c.what)
			snprintf(why, wn, "sandbox: cannot %s (%s): %s", steps[c.step], c.what, strerror(c.err));
		else
			snprintf(why, wn, "sandbox: cannot %s: %s", steps[c.step], strerror(c.err));
		if (!enter)
			waitpid(pid, NULL, 0);
		pr_sandbox_reap(sb, j->cgroup, NULL, 0);
		return -1;
	}
	if (sb_cg_join(sb, j, pid) < 0) {
		snprintf(why, wn, "sandbox: cannot put the task in its cgroup: %s", strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pr_sandbox_reap(sb, j->cgroup, NULL, 0);
		return -1;
	}
	return pid;
}
