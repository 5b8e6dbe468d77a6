/*
 * exec-local-shells.c - standing shells: where tasks without the sandbox run.
 *
 * Without the sandbox, most of a short task's start is its shell's: the
 * clone, the exec (in a VM each exec's dynamic loader asks the CPU for its
 * features, a trap to the hypervisor each time: 0.6 ms of a core) and the
 * shell getting ready.  So tasks run in up to -j shells that stay: each
 * reads, on its fd 3, the number of a pipe the runtime holds the task's
 * script in and then the go-ahead, runs the script in a subshell (a fork,
 * no exec) that opens the pipe through /proc, and says the subshell's
 * status back on fd 3.  The script: into the attempt's directory, its
 * streams, `export`s of exactly the task's environment, the exit trap
 * (which says the command's own status, "eN", or writes .exit when the
 * runtime is gone), then the command.  The task's "running" event records
 * the shell's pid, its process group the task's; the go-ahead follows the
 * commit as for any task (exec.h: token, release).  A shell killed (a
 * timeout, a cancellation) ends its task as a killed task's would, and is
 * not reused.  The shells' sockets are in the executor's epoll, so what a
 * shell says wakes the loop.
 */
#define _GNU_SOURCE
#include "exec-local.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char shell_loop[] = "while read -r __pipec_fd <&3 && read -r __pipec_go <&3; do\n"
				 "(. /proc/%ld/fd/$__pipec_fd); echo s$? >&3 || exit 0\n"
				 "done; exit 125\n";

/* Whether another process can open a pipe of ours through /proc/PID/fd (no /proc, hidepid). */
int lx_proc_fds_open(void)
{
	int p[2], ok = 0;
	if (pipe2(p, O_CLOEXEC) != 0)
		return 0;
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/fd/%d", (long)getpid(), p[0]);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		ok = 1;
		close(fd);
	}
	close(p[0]);
	close(p[1]);
	return ok;
}

static void shell_free(local *L, lx_shell *sh, int reap)
{
	epoll_ctl(L->ep, EPOLL_CTL_DEL, sh->sock, NULL);
	close(sh->sock);
	if (sh->script >= 0)
		close(sh->script);
	if (reap)
		waitpid(sh->pid, NULL, 0);
	lx_plain_free(sh->p);
}

/* Starts a standing shell (L->shells), or none; its index, or -1. */
static int spawn_shell(local *L)
{
	int sp[2];
	if (!lx_plain_can_clone())
		return -1;
	if (L->nshells == (int)(sizeof L->shells / sizeof L->shells[0]) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
		return -1;
	/* what the shell says wakes the loop: its socket is in the executor's epoll (edge-triggered: an
	 * idle shell's end of file wakes it once, and its SIGCHLD says the rest) */
	fcntl(sp[1], F_SETFL, O_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 1};
	epoll_ctl(L->ep, EPOLL_CTL_ADD, sp[1], &ev);
	plain *p = lx_plain_new("/dev/null", "/dev/null", L->root, sp[0]);
	char loop[sizeof shell_loop + 32];
	snprintf(loop, sizeof loop, shell_loop, (long)getpid());
	if (p && (p->argv[2] = strdup(loop)) && (p->envp = calloc(2, sizeof *p->envp)) && (p->envp[0] = strdup(lx_task_path))) {
		pid_t pid = lx_plain_clone(p);
		close(sp[0]);
		if (pid > 0) {
			L->shells[L->nshells] = (lx_shell){.pid = pid, .sock = sp[1], .task = -1, .script = -1, .p = p};
			return L->nshells++;
		}
	} else {
		close(sp[0]);
	}
	close(sp[1]);
	lx_plain_free(p);
	return -1;
}

/* Lets go of every standing shell: each reads the end of its socket and exits. */
void lx_shells_stop(local *L)
{
	for (int k = 0; k < L->nshells; k++) {
		if (L->shells[k].task >= 0) /* still running a task (none should be, the run is over): it goes too */
			kill(-L->shells[k].pid, SIGKILL);
		shell_free(L, &L->shells[k], 1);
	}
	L->nshells = 0;
}

/* Shell K is gone: it is let go of; 1 if it was one. */
static int shell_drop(local *L, int k)
{
	shell_free(L, &L->shells[k], 0);
	L->shells[k] = L->shells[--L->nshells];
	return 1;
}

/*
 * Starts task I (its directory DIR, its environment ENVP, its command CMD)
 * in a standing shell, started now if none is free: the shell's pid, with
 * *GO its end of the handshake for the go-ahead (a copy of the shell's
 * socket); -1 when none can be had.
 */
pid_t lx_take_shell(local *L, uint32_t i, const char *dir, char *const *envp, const char *cmd, int *go,
		    unsigned long long *since)
{
	if (!L->pool)
		return -1;
	char *text;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	fputs("unset __pipec_fd __pipec_go\ncd ", f);
	pr_shell_quote(f, dir, strlen(dir));
	fputs(" || exit 127\nunset OLDPWD\nexec </dev/null >.stdout 2>.stderr || exit 127\n", f);
	for (char *const *e = envp; *e; e++) {
		const char *eq = strchr(*e, '=');
		size_t k = eq ? (size_t)(eq - *e) : 0;
		int name = k > 0 && !isdigit((unsigned char)**e);
		for (size_t c = 0; name && c < k; c++)
			name = isalnum((unsigned char)(*e)[c]) || (*e)[c] == '_';
		if (!name) { /* not a shell variable's name: only exec can set it */
			fclose(f);
			free(text);
			return -1;
		}
		fprintf(f, "export %.*s=", (int)k, *e);
		pr_shell_quote(f, eq + 1, strlen(eq + 1));
		fputc('\n', f);
	}
	fputs("trap 'st=$?; trap \"\" PIPE; { echo e$st >&3; } 2>/dev/null || echo $st > .exit' EXIT\n", f);
	lx_command_line(f, cmd);
	fclose(f);
	pid_t pid = -1;
	int sp[2] = {-1, -1};
	if (len < 60000 && pipe2(sp, O_CLOEXEC) == 0 && write(sp[1], text, len) == (ssize_t)len) { /* a pipe holds 64 KiB */
		close(sp[1]);
		sp[1] = -1;
		int want = L->jobs < 64 ? L->jobs : 64;
		while (pid < 0) {
			int k = 0;
			while (k < L->nshells && L->shells[k].task >= 0)
				k++;
			if (k == L->nshells && (L->nshells >= want || (k = spawn_shell(L)) < 0))
				break;
			lx_shell *sh = &L->shells[k];
			char msg[32];
			int n = snprintf(msg, sizeof msg, "%d\n", sp[0]);
			int d = -1;
			if (send(sh->sock, msg, (size_t)n, MSG_NOSIGNAL) != n || (d = fcntl(sh->sock, F_DUPFD_CLOEXEC, 3)) < 0) {
				kill(-sh->pid, SIGKILL); /* gone, or not to be trusted: its end is reaped */
				shell_drop(L, k);
				continue;
			}
			sh->task = i;
			sh->script = sp[0];
			sh->exited = 0;
			sh->blen = 0;
			sp[0] = -1;
			pid = sh->pid;
			*go = d;
			if (!sh->since)
				sh->since = pr_proc_start(sh->pid);
			*since = sh->since;
		}
	}
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	free(text);
	return pid;
}

/* What the standing shells said: each task whose subshell ended is finished. */
void lx_shells_read(local *L)
{
	for (int k = 0; k < L->nshells; k++) {
		lx_shell *sh = &L->shells[k];
		if (sh->task < 0)
			continue;
		ssize_t n;
		while (sh->task >= 0 && (n = recv(sh->sock, sh->buf + sh->blen, sizeof sh->buf - 1 - sh->blen, MSG_DONTWAIT)) > 0) {
			sh->blen += (size_t)n;
			sh->buf[sh->blen] = 0;
			char *nl;
			while (sh->task >= 0 && (nl = memchr(sh->buf, '\n', sh->blen))) {
				*nl = 0;
				long v = strtol(sh->buf + 1, NULL, 10) & 0xff;
				if (sh->buf[0] == 'e') {
					sh->exited = 1, sh->code = (int)v;
				} else if (sh->buf[0] == 's') {
					/* the command's own status; else the subshell's: 128+N when signal N killed it */
					int status = sh->exited ? sh->code << 8 : v > 128 ? (int)(v - 128) & 0x7f : (int)v << 8;
					uint32_t i = (uint32_t)sh->task;
					sh->task = -1;
					close(sh->script);
					sh->script = -1;
					if (i < L->cap && L->t[i].pid == sh->pid)
						lx_ended(L, i, status);
				}
				size_t used = (size_t)(nl + 1 - sh->buf);
				memmove(sh->buf, nl + 1, sh->blen - used);
				sh->blen -= used;
			}
			if (sh->blen == sizeof sh->buf - 1)
				sh->blen = 0; /* no line is that long: not ours */
		}
	}
}

/* A standing shell died (PID, STATUS): its task, if it ran one, ends so. 1 if it was one. */
int lx_shell_gone(local *L, pid_t pid, int status)
{
	for (int k = 0; k < L->nshells; k++)
		if (L->shells[k].pid == pid) {
			int64_t i = L->shells[k].task;
			if (i >= 0) /* what its task left running goes with it */
				kill(-pid, SIGKILL);
			shell_drop(L, k);
			if (i >= 0 && (uint32_t)i < L->cap && L->t[i].pid == pid)
				lx_ended(L, (uint32_t)i, status);
			return 1;
		}
	return 0;
}

