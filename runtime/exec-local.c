/*
 * exec-local.c - the local executor: attempts run as processes on this
 * machine, in the sandbox (sandbox.c) or without it.
 *
 * An attempt is `/bin/sh` running a small script: wait for the go-ahead on
 * fd 3 (a socket whose other end we keep: released once the attempt's
 * "running" event is durable, exec.h), an exit trap that says the
 * command's status back on fd 3 (or, when the runtime is gone, writes
 * .exit in the attempt's directory, which is how a resumed run learns it),
 * then the command, by eval.  Its stdout and stderr go to .stdout and
 * .stderr in its directory.  It is started one of four ways:
 *
 *   sandboxed           by a spawner thread (exec-local-spawn.c), possibly
 *                       ahead of its turn;
 *   without the sandbox in a standing shell (exec-local-shells.c), else by
 *                       a raw clone (exec-local-plain.c), else posix_spawn().
 *
 * Ends come in through one signalfd (SIGCHLD, also sent by the spawner
 * threads when they are done) and the standing shells' sockets, all in one
 * epoll that the engine's loop waits on (fd()); poll() reaps with
 * waitpid(), reads the shells, and reports each end, after removing the
 * attempt's cgroups (which say whether its memory limit killed it).  An
 * adopted attempt (started by a runtime that died: not our child) is
 * looked at every 0.1 s: its .exit, or its process group gone.  A pid read
 * back from the store is adopted or signalled only when the process that
 * has it now is the attempt's own (procid.c: its start time, recorded in
 * .NAME.pid beside it as the attempt started); another, or pid 1, is LOST.  What a
 * runtime of the same state directory that was killed left of cgroups (of
 * attempts it had started ahead or was starting: known to no one after) is
 * removed when a run or resume starts, and again when it ends, each empty
 * pipec-TAG-* cgroup that no live attempt holds (sweep_cgroups()).
 *
 * The per-task slots (lx_task) are indexed like the engine's tasks and
 * grow as run-time `for`s add tasks.
 */
#define _GNU_SOURCE
#include "exec-local.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

lx_task *lx_task_of(local *L, uint32_t task)
{
	if (task >= L->cap) {
		uint32_t cap = L->cap ? L->cap : 64;
		while (cap <= task)
			cap *= 2;
		lx_task *t = realloc(L->t, cap * sizeof *t);
		if (!t)
			abort();
		memset(t + L->cap, 0, (cap - L->cap) * sizeof *t);
		for (uint32_t k = L->cap; k < cap; k++)
			t[k].go_fd = t[k].mnt_fd = -1;
		L->t = t;
		L->cap = cap;
	}
	return &L->t[task];
}


/*
 * The last line of a task's script: its command, run by eval, so that what
 * the shell says of it (a syntax error, $LINENO) counts its lines from 1,
 * as `sh -c` would, not from the lines the runtime put before it.
 */
void lx_command_line(FILE *f, const char *cmd)
{
	fputs("eval ", f);
	pr_shell_quote(f, cmd, strlen(cmd));
	fputc('\n', f);
}

void lx_cgroup_name(const local *L, uint32_t task, int attempt, char *out, size_t n)
{
	snprintf(out, n, "%s-%ld-%u-%d", L->tag, L->run, task, attempt);
}

int lx_reap_cgroups(local *L, uint32_t task, int attempt, char *note, size_t n)
{
	char cg[128];
	lx_cgroup_name(L, task, attempt, cg, sizeof cg);
	return pr_sandbox_reap(&L->sb, cg, note, n);
}

/*
 * Whether the cgroup NAME (TAG-RUN-TASK-ATTEMPT) is one this runtime still
 * needs: any of its own run's until the resume has adopted what it adopts
 * (an adopted attempt's cgroup says, when it is reaped, whether its memory
 * limit killed it), then those of its live attempts.  Another run's, or an
 * attempt's that no one runs (started ahead by a runtime that was killed,
 * or being made when it was), is not.
 */
static int cgroup_claimed(const char *name, void *arg)
{
	local *L = arg;
	long run;
	unsigned task;
	int attempt;
	if (sscanf(name + strlen(L->tag), "-%ld-%u-%d", &run, &task, &attempt) != 3)
		return 1; /* not an attempt's: left alone */
	if (run != L->run)
		return 0;
	if (!L->swept)
		return 1;
	if (task >= L->cap)
		return 0;
	const lx_task *t = &L->t[task];
	return t->attempt == attempt && (t->pid > 0 || t->spawning || t->parked || t->adopted);
}

/*
 * The cgroups a runtime of this state directory made and could not remove
 * (it was killed: the attempts it had started ahead, and those it was
 * starting, are known to no one after): the empty ones go when a run or a
 * resume starts — another run's at once, the run's own once the resume has
 * adopted its attempts (the first poll) — and again when it ends.
 */
static void sweep_cgroups(local *L)
{
	char prefix[32];
	snprintf(prefix, sizeof prefix, "%s-", L->tag);
	pr_sandbox_sweep(&L->sb, prefix, cgroup_claimed, L);
}

/* PATH stays visible in J's sandbox (a directory when DIR), writable when WRITABLE. */
static void keep(pr_jail *j, const char *path, int dir, int writable)
{
	j->keep[j->nkeep].path = path;
	j->keep[j->nkeep].dir = dir;
	j->keep[j->nkeep++].writable = writable;
}

/*
 * Adds the absolute paths the sandbox would cover in value V (an input) to
 * J's read-only paths, each a copy in KEPT (the job's own: jobs prepared
 * together each keep their own paths); and, where the task runs as an
 * unprivileged uid (SB), those it could not reach through a directory of
 * its ancestors that others may not search (a 0700 one: /root, mktemp -d).
 */
static void keep_inputs(const pr_sandbox *sb, pr_jail *j, char **kept, json_t *v, const char *work)
{
	if (json_is_array(v) || json_is_object(v)) {
		size_t k;
		json_t *x;
		const char *key;
		if (json_is_array(v))
			json_array_foreach(v, k, x) keep_inputs(sb, j, kept, x, work);
		else
			json_object_foreach(v, key, x) keep_inputs(sb, j, kept, x, work);
		return;
	}
	const char *p = json_string_value(v);
	struct stat st;
	size_t wl = strlen(work);
	if (!p || p[0] != '/' || (strncmp(p, work, wl) == 0 && p[wl] == '/') || j->nkeep >= PR_JAIL_KEEP - 2)
		return;
	size_t deep = 0;
	int n = pr_sandbox_covers(p);
	if (sb->task_uid && pr_sandbox_blocked(p, &deep) && deep + 1 > (size_t)n)
		n = (int)deep + 1; /* below the last directory it could not search, whose parents it can */
	else if (!n)
		return;
	/* what is kept is the directory right under the covered one (/tmp/data for /tmp/data/x/a.csv), so
	 * a task that reads many files there keeps one mount */
	const char *slash = strchr(p + n, '/');
	size_t len = slash ? (size_t)(slash - p) : strlen(p);
	for (int k = 0; k < j->nkeep; k++) {
		size_t kl = strlen(j->keep[k].path);
		if (!strncmp(p, j->keep[k].path, kl) && (p[kl] == '/' || p[kl] == 0) && kl <= len)
			return; /* under what is kept already */
	}
	char *copy = strndup(p, len);
	if (!copy)
		abort();
	if (stat(copy, &st) != 0) {
		free(copy);
		return;
	}
	kept[j->nkeep] = copy;
	keep(j, copy, S_ISDIR(st.st_mode), 0);
}

/*
 * What A's sandbox keeps: the state directory's work tree and the inputs
 * read-only where the private /tmp would hide them, or a directory of
 * their ancestors that the task's uid may not search (the sandbox covers
 * that directory, pr_sandbox_spawn()), the attempt's
 * directory and its checkpoint directory writable; its limits and its
 * devices.
 */
void lx_jail(local *L, const pr_attempt *a, pr_jail *j, char **kept)
{
	size_t deep;
	if (pr_sandbox_covers(L->root) || (L->sb.task_uid && pr_sandbox_blocked(L->work, &deep)))
		keep(j, L->work, 1, 0);
	keep_inputs(&L->sb, j, kept, a->inputs, L->work);
	keep(j, a->dir, 1, 1);
	if (a->cpdir[0])
		keep(j, a->cpdir, 1, 1);
	j->network = a->network;
	j->pids = a->pids > 0 ? a->pids : PR_DEFAULT_PIDS;
	j->memory = a->memory;
	j->cpu = a->cpu;
	for (int g = 0; g < a->ngpus && g < PR_JAIL_GPUS; g++)
		j->gpu_minor[j->ngpus++] = a->gpu_minor[g];
	/* parents before what is under them: shorter paths first (stable) */
	for (int x = 1; x < j->nkeep; x++)
		for (int b = x; b > 0 && strlen(j->keep[b - 1].path) > strlen(j->keep[b].path); b--) {
			__typeof__(j->keep[0]) y = j->keep[b];
			j->keep[b] = j->keep[b - 1];
			j->keep[b - 1] = y;
		}
}

/* ---- reporting ------------------------------------------------------------------- */

/* TASK has a process now: listed among those a reaped pid may be (poll() drops the ones gone). */
void lx_live(local *L, uint32_t task)
{
	lx_task *t = lx_task_of(L, task);
	if (t->in_live)
		return;
	pr_room(&L->live, L->nlive, &L->caplive, sizeof *L->live, 64);
	L->live[L->nlive++] = task;
	t->in_live = 1;
}

void lx_started(local *L, uint32_t task, pid_t pid, int go, unsigned long long since)
{
	lx_task *t = lx_task_of(L, task);
	t->pid = pid;
	t->since = since ? since : pr_proc_start(pid);
	t->go_fd = go;
	t->spawning = t->go_on_spawn = t->parked = t->adopted = t->killed = 0;
	lx_live(L, task);
	/* with its start time, which the store keeps beside the pid: a resume knows the process by both (procid.c) */
	pr_exec_event ev = {.ev = PR_EV_STARTED, .task = task, .attempt = t->attempt, .handle = pid, .since = t->since};
	pr_exec_report(&L->x, &ev);
	for (unsigned k = 0; k < 64 && k < L->nlost; k++)
		if (L->lost[k].pid == pid) { /* it died before it was known: it ends now */
			L->lost[k].pid = 0;
			lx_ended(L, task, L->lost[k].status);
			return;
		}
	if (kill(pid, 0) != 0 && errno == ESRCH) /* ... and was reaped so long ago that its status is gone */
		lx_ended(L, task, SIGKILL);
}

/* Lets go of what attempt T held: its end of the handshake, its mount namespace, its plain start. */
static void let_go(local *L, lx_task *t)
{
	if (t->go_fd >= 0)
		close(t->go_fd);
	t->go_fd = -1;
	pr_sandbox_let_go(&L->sb, t->mnt_fd);
	t->mnt_fd = -1;
	lx_plain_free(t->plain);
	t->plain = NULL;
	free(t->dir);
	t->dir = NULL;
	t->pid = 0;
}

void lx_ended(local *L, uint32_t task, int status)
{
	lx_task *t = lx_task_of(L, task);
	if (t->adopted)
		L->nadopted--;
	t->adopted = 0;
	let_go(L, t);
	pr_exec_event ev = {.ev = PR_EV_ENDED, .task = task, .attempt = t->attempt};
	int oom = lx_reap_cgroups(L, task, t->attempt, ev.note, sizeof ev.note); /* its cgroups go, whatever happened */
	if (oom)
		ev.kind = PR_END_OOM, ev.code = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
	else if (WIFSIGNALED(status))
		ev.kind = PR_END_SIGNALED, ev.code = WTERMSIG(status);
	else
		ev.kind = PR_END_EXITED, ev.code = WEXITSTATUS(status);
	pr_exec_report(&L->x, &ev);
}

void lx_not_started(local *L, uint32_t task, const char *why)
{
	lx_task *t = lx_task_of(L, task);
	let_go(L, t);
	t->spawning = t->go_on_spawn = t->parked = 0;
	lx_reap_cgroups(L, task, t->attempt, NULL, 0);
	pr_exec_event ev = {.ev = PR_EV_ENDED, .task = task, .attempt = t->attempt, .kind = PR_END_NOT_STARTED};
	snprintf(ev.note, sizeof ev.note, "%s", why);
	pr_exec_report(&L->x, &ev);
}

/* ---- the operations --------------------------------------------------------------- */

static int local_start(pr_executor *x, const pr_attempt *a, char *why, size_t wn)
{
	local *L = (local *)x;
	lx_task *t = lx_task_of(L, a->task);
	t->attempt = a->attempt;
	t->killed = 0;
	free(t->dir);
	t->dir = strdup(a->dir);
	int go[2];
	pid_t pid = -1;
	unsigned long long shell_since = 0;
	if (!L->sb.on && (pid = lx_take_shell(L, a->task, a->dir, a->envp, a->command, &go[1], &shell_since)) > 0) {
		lx_started(L, a->task, pid, go[1], shell_since); /* a standing shell has its script (its exports) */
		return 0;
	}
	/* its environment, a copy the start keeps until the task is reaped */
	size_t ne = 0;
	while (a->envp[ne])
		ne++;
	char **envp = calloc(ne + 1, sizeof *envp);
	if (!envp)
		abort();
	for (size_t k = 0; k < ne; k++)
		if (!(envp[k] = strdup(a->envp[k])))
			abort();
	char out[8300], err[8300];
	snprintf(out, sizeof out, "%s/.stdout", a->dir);
	snprintf(err, sizeof err, "%s/.stderr", a->dir);
	/*
	 * The task's shell first waits for the go-ahead on fd 3, a socket (a
	 * runtime that dies first closes it and nothing runs).  At its end it
	 * says its exit status back on that socket, or, when the runtime is
	 * gone (the write fails), in .exit, so the runtime that resumes the run
	 * learns it: the file is only made when it is needed.
	 */
	char *script;
	size_t slen;
	FILE *sf = open_memstream(&script, &slen);
	fputs("read -r _ <&3 || exit 125\n"
	      "trap 'st=$?; trap \"\" PIPE; { echo $st >&3; } 2>/dev/null || echo $st > .exit' EXIT\n", sf);
	lx_command_line(sf, a->command);
	fclose(sf);
	snprintf(why, wn, "cannot start a process: %s", strerror(errno));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) != 0) {
		snprintf(why, wn, "cannot make its handshake socket: %s", strerror(errno));
	} else if (L->sb.on) {
		t->spawning = 1;
		t->go_on_spawn = !a->ahead;
		if (lx_spawn(L, a, envp, script, go, why, wn) == 0)
			return 0; /* STARTED or PARKED once its shell is ready: lx_spawns_done() */
		t->spawning = t->go_on_spawn = 0;
		close(go[0]);
		close(go[1]);
	} else if (lx_plain_can_clone() && (t->plain = lx_plain_new(out, err, a->dir, go[0]))) {
		t->plain->argv[2] = script, t->plain->envp = envp;
		script = NULL; /* the struct has them until the task is reaped */
		envp = NULL;
		pid = lx_plain_clone(t->plain);
		close(go[0]);
		if (pid < 0) {
			close(go[1]);
			lx_plain_free(t->plain);
			t->plain = NULL;
		}
	} else {
		posix_spawn_file_actions_t fa;
		posix_spawnattr_t at;
		posix_spawn_file_actions_init(&fa);
		posix_spawnattr_init(&at);
		sigset_t none;
		sigemptyset(&none);
		posix_spawnattr_setsigmask(&at, &none);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
		posix_spawn_file_actions_addchdir_np(&fa, a->dir);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		posix_spawn_file_actions_adddup2(&fa, go[0], 3);
		char *argv[] = {"sh", "-c", script, NULL};
		if (posix_spawn(&pid, "/bin/sh", &fa, &at, argv, envp) != 0)
			pid = -1;
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&at);
		close(go[0]);
		if (pid < 0)
			close(go[1]);
	}
	free(script);
	for (size_t k = 0; envp && envp[k]; k++)
		free(envp[k]);
	free(envp);
	if (pid < 0) {
		lx_not_started(L, a->task, why);
		return 0;
	}
	lx_started(L, a->task, pid, go[1], 0);
	return 0;
}

static void local_go(pr_executor *x, uint32_t task)
{
	local *L = (local *)x;
	lx_task *t = lx_task_of(L, task);
	if (t->parked) { /* its shell waits already: only its "running" is left to commit */
		t->parked = 0;
		lx_started(L, task, t->pid, t->go_fd, t->since);
	} else if (t->spawning) { /* being started: it runs once it is */
		t->go_on_spawn = 1;
	}
}

static void local_drop(pr_executor *x, uint32_t task)
{
	local *L = (local *)x;
	lx_task *t = lx_task_of(L, task);
	if (t->parked) { /* its shell reads the end of its handshake and exits; it is reaped as a stranger */
		t->parked = 0;
		pid_t pid = t->pid;
		close(t->go_fd);
		t->go_fd = -1;
		kill(-pid, SIGKILL);
		lx_not_started(L, task, "dropped before it ran");
	}
}

static int local_token(pr_executor *x, uint32_t task)
{
	local *L = (local *)x;
	lx_task *t = lx_task_of(L, task);
	if (t->go_fd < 0)
		return -1;
	/* the store hands a copy back to release(), which closes it; this end stays open while it runs */
	return fcntl(t->go_fd, F_DUPFD_CLOEXEC, 3);
}

static void local_release(pr_executor *x, const int *tokens, size_t n, int ok)
{
	(void)x;
	for (size_t k = 0; k < n; k++) {
		/* a task gone already is reaped as usual: EPIPE, never SIGPIPE */
		if (ok && send(tokens[k], "g\n", 2, MSG_NOSIGNAL) != 2) {
		}
		close(tokens[k]);
	}
}

/* The status an adopted attempt wrote to DIR/.exit (as waitpid would), or -1. */
static int exit_file(const char *dir)
{
	char path[8300];
	snprintf(path, sizeof path, "%s/.exit", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -1;
	char buf[32];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *end;
	long v = strtol(buf, &end, 10);
	return end != buf && *end == '\n' ? (int)((v & 0xff) << 8) : -1;
}

static void local_adopt(pr_executor *x, uint32_t task, int attempt, long handle, unsigned long long since, const char *dir)
{
	local *L = (local *)x;
	lx_task *t = lx_task_of(L, task);
	t->attempt = attempt;
	t->pid = (pid_t)handle;
	t->since = since;
	free(t->dir);
	t->dir = strdup(dir);
	int st = exit_file(dir);
	if (st >= 0) { /* it ended meanwhile: accepted */
		lx_ended(L, task, st);
	} else if (pr_proc_is(handle, since) && kill(-(pid_t)handle, 0) == 0) { /* the very process it started */
		t->adopted = 1;
		L->nadopted++;
		lx_live(L, task);
	} else { /* gone without a trace (its pid, if alive, is another process's now) */
		let_go(L, t);
		lx_reap_cgroups(L, task, attempt, NULL, 0); /* its attempt's, left by the runtime that died */
		pr_exec_event ev = {.ev = PR_EV_ENDED, .task = task, .attempt = attempt, .kind = PR_END_LOST};
		pr_exec_report(&L->x, &ev);
	}
}

static void local_kill(pr_executor *x, uint32_t task)
{
	local *L = (local *)x;
	lx_task *t = lx_task_of(L, task);
	if (t->pid > 0 && !t->parked) {
		t->killed = 1;
		if (t->adopted && !pr_proc_is(t->pid, t->since))
			return; /* not our child, and gone: poll() finds it LOST */
		kill(-t->pid, SIGKILL);
	}
}

static void local_poll(pr_executor *x)
{
	local *L = (local *)x;
	struct signalfd_siginfo si[16];
	while (read(L->sfd, si, sizeof si) == (ssize_t)sizeof si) /* what woke us is looked at below, all of it */
		; /* (a short read emptied it) */
	if (!L->swept) { /* the resume has adopted what it adopts */
		L->swept = 1;
		sweep_cgroups(L);
	}
	lx_spawns_done(L);
	lx_shells_read(L);
	pid_t pid;
	int status;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (lx_shell_gone(L, pid, status))
			continue;
		uint32_t j = 0;
		for (; j < L->nlive; j++) {
			uint32_t k = L->live[j];
			if (L->t[k].pid == pid && !L->t[k].adopted && !L->t[k].parked) {
				lx_ended(L, k, status);
				break;
			}
		}
		if (j == L->nlive && L->sp_n) /* maybe a task a spawner started, not yet known here: kept */
			L->lost[L->nlost++ % 64] = (struct lost){pid, status};
	}
	uint32_t kept = 0;
	for (uint32_t j = 0; j < L->nlive; j++) { /* those gone leave the list */
		lx_task *t = &L->t[L->live[j]];
		if (t->pid > 0)
			L->live[kept++] = L->live[j];
		else
			t->in_live = 0;
	}
	L->nlive = kept;
	for (uint32_t j = 0; L->nadopted && j < L->nlive; j++) {
		uint32_t k = L->live[j];
		lx_task *t = &L->t[k];
		if (!t->adopted)
			continue;
		/* not our child: its .exit says when it ends */
		int st = exit_file(t->dir);
		if (st >= 0) {
			lx_ended(L, k, st);
		} else if (!pr_proc_is(t->pid, t->since) || (kill(-t->pid, 0) != 0 && errno == ESRCH)) {
			t->adopted = 0;
			L->nadopted--;
			let_go(L, t);
			lx_reap_cgroups(L, k, t->attempt, NULL, 0);
			pr_exec_event ev = {.ev = PR_EV_ENDED, .task = k, .attempt = t->attempt, .kind = PR_END_LOST};
			pr_exec_report(&L->x, &ev);
		}
	}
}

static int local_fd(pr_executor *x)
{
	return ((local *)x)->ep;
}

static double real_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double local_wake(pr_executor *x)
{
	return ((local *)x)->nadopted ? real_now() + 0.1 : 0;
}

static double local_now(pr_executor *x)
{
	(void)x;
	return real_now();
}

static void local_close(pr_executor *x)
{
	local *L = (local *)x;
	L->pool = 0;
	lx_shells_stop(L);
	lx_spawners_stop(L);
	for (uint32_t k = 0; k < L->cap; k++) {
		lx_task *t = &L->t[k];
		if (t->pid > 0 && !t->adopted) /* none should be left: the run is over */
			kill(-t->pid, SIGKILL);
		let_go(L, t);
	}
	L->swept = 1;
	sweep_cgroups(L); /* what no attempt of the run holds now: none of its own is live */
	free(L->t);
	free(L->live);
	if (L->exiting) /* the process ends next: its namespaces are let go of without waiting */
		pr_sandbox_free(&L->sb);
	else
		pr_sandbox_end(&L->sb);
	/*
	 * What is still pending and only meant for the loop goes: a SIGPIPE a
	 * gone shell raised, a child's SIGCHLD: unblocked, a SIGPIPE's default
	 * action would end the process.
	 */
	struct timespec none = {0, 0};
	sigset_t loop_only;
	sigemptyset(&loop_only);
	sigaddset(&loop_only, SIGPIPE);
	sigaddset(&loop_only, SIGCHLD);
	while (sigtimedwait(&loop_only, NULL, &none) > 0)
		;
	close(L->sfd);
	close(L->ep);
	pthread_sigmask(SIG_SETMASK, &L->old_mask, NULL);
	free(L);
}

static const pr_exec_ops local_ops = {
	.name = "local",
	.start = local_start,
	.go = local_go,
	.drop = local_drop,
	.token = local_token,
	.release = local_release,
	.adopt = local_adopt,
	.kill = local_kill,
	.poll = local_poll,
	.fd = local_fd,
	.wake = local_wake,
	.now = local_now,
	.close = local_close,
};

pr_executor *pr_local_new(int sandbox, int jobs, const char *root, const char *tag, long run, int exiting, char *missing,
			  size_t mn)
{
	local *L = calloc(1, sizeof *L);
	if (!L)
		abort();
	L->x.ops = &local_ops;
	L->jobs = jobs > 0 ? jobs : 1;
	snprintf(L->root, sizeof L->root, "%s", root);
	snprintf(L->work, sizeof L->work, "%s/work", root);
	snprintf(L->tag, sizeof L->tag, "%s", tag);
	L->run = run;
	L->exiting = exiting;
	pr_sandbox_probe(&L->sb, sandbox);
	snprintf(missing, mn, "%s", L->sb.missing);
	sweep_cgroups(L); /* other runs' leftovers; the run's own after the resume's adoptions */
	L->pool = !L->sb.on && lx_proc_fds_open(); /* a standing shell reads a task's script through /proc */
	/* started ahead, while tasks run: up to 4 × -j (at most 16) sandboxed attempts */
	L->x.ahead = L->sb.on ? (4 * L->jobs < 16 ? 4 * L->jobs : 16) : 0;
	/* children's ends and the spawners' wake-ups come through a signalfd; a gone shell is EPIPE, not SIGPIPE */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &L->old_mask);
	sigdelset(&set, SIGPIPE);
	L->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	L->ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
	if (L->sfd < 0 || L->ep < 0 || epoll_ctl(L->ep, EPOLL_CTL_ADD, L->sfd, &ev) != 0)
		abort(); /* no descriptors left at the start of a run */
	return &L->x;
}
