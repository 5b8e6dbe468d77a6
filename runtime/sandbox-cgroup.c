/*
 * sandbox-cgroup.c - the sandbox's limits: memory, pids and cpu by cgroup.
 *
 * v2 where the host has a controller there, v1 where that is what it has
 * (sb_cgroup_base() finds, per controller, the directory this process may
 * make children in, moving the runtime into a leaf of its own where v2
 * needs that), rlimits as the last resort (sandbox.c).  An attempt's
 * cgroups (named TAG-RUN-TASK-ATTEMPT by the executor) are made before its
 * process starts (sb_cg_make()) and the process put in them before it is
 * let go (sb_cg_join()), so nothing its command runs escapes them; when it
 * ends, pr_sandbox_reap() reads whether the memory limit killed it and
 * whether the pids limit refused forks, and removes them.
 * pr_sandbox_sweep() removes the empty ones a killed runtime left.
 */
#define _GNU_SOURCE
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether WORD is one of the words of LIST separated by any of SEPS ("cpu" is not in "cpuset memory"). */
static int in_list(const char *list, const char *seps, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; *p; p += strcspn(p, seps), p += strspn(p, seps))
		if (strcspn(p, seps) == n && !strncmp(p, word, n))
			return 1;
	return 0;
}

/* The directory of this process's cgroup for CONTROLLER, ready for children, in DIR; the version or 0. */
int sb_cgroup_base(const char *controller, char *dir, size_t n, char *why, size_t wn)
{
	char mi[65536], cg[8192];
	if (sb_read_file("/proc/self/mountinfo", mi, sizeof mi) < 0 || sb_read_file("/proc/self/cgroup", cg, sizeof cg) < 0) {
		snprintf(why, wn, "cannot read /proc/self/cgroup");
		return 0;
	}
	/* a cgroup2 mount, or a v1 cgroup mount whose options name the controller, and our path there */
	for (char *line = strtok(mi, "\n"); line; line = strtok(NULL, "\n")) {
		char mnt[4096], fstype[64], opts[1024];
		char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 || sscanf(sep, " - %63s %*s %1023s", fstype, opts) != 2)
			continue;
		int v2 = strcmp(fstype, "cgroup2") == 0;
		if (!v2 && strcmp(fstype, "cgroup") != 0)
			continue;
		if (!v2 && !in_list(opts, ",", controller))
			continue;
		/* our place in this hierarchy: "0::/p" for v2, "N:ctl,...:/p" for v1 */
		char path[4096] = "";
		char cgc[8192];
		snprintf(cgc, sizeof cgc, "%s", cg);
		char *save = NULL;
		for (char *l = strtok_r(cgc, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
			if (!c2)
				continue;
			*c2 = 0;
			if (v2 ? c1[1] == 0 : in_list(c1 + 1, ",", controller))
				snprintf(path, sizeof path, "%s", c2 + 1);
		}
		if (!path[0])
			continue;
		char base[8300], file[8400], text[512];
		snprintf(base, sizeof base, "%s%s", mnt, strcmp(path, "/") ? path : "");
		if (v2) {
			snprintf(file, sizeof file, "%s/cgroup.sb_controllers", base);
			if (sb_read_file(file, text, sizeof text) < 0 || !in_list(text, " \n", controller))
				continue;
			/* children get the controller only if our cgroup hands it down: a cgroup
			 * with processes cannot, so the runtime moves into a leaf of its own */
			char want[64];
			snprintf(want, sizeof want, "+%s", controller);
			snprintf(file, sizeof file, "%s/cgroup.subtree_control", base);
			if (sb_write_file(file, want) < 0 && errno == EBUSY) {
				char leaf[8400], pid[32];
				snprintf(leaf, sizeof leaf, "%s/pipec-runtime-%ld", base, (long)getpid());
				snprintf(pid, sizeof pid, "%ld", (long)getpid());
				char procs[8500];
				snprintf(procs, sizeof procs, "%s/cgroup.procs", leaf);
				if ((mkdir(leaf, 0755) == 0 || errno == EEXIST) && sb_write_file(procs, pid) == 0)
					sb_write_file(file, want);
			}
			if (sb_read_file(file, text, sizeof text) < 0 || !in_list(text, " \n", controller))
				continue;
		}
		/* can we make a child here? */
		char probe[8400];
		snprintf(probe, sizeof probe, "%s/pipec-probe-%ld", base, (long)getpid());
		if (mkdir(probe, 0755) != 0) {
			snprintf(why, wn, "cannot create a cgroup under %s: %s", base, strerror(errno));
			continue;
		}
		rmdir(probe);
		snprintf(dir, n, "%s", base);
		return v2 ? 2 : 1;
	}
	if (!why[0])
		snprintf(why, wn, "no cgroup hierarchy with the %s controller", controller);
	return 0;
}

/* ---- one attempt ------------------------------------------------------------------ */

/* The cgroup directory of controller C for an attempt named NAME. */
static void cg_dir(const pr_sandbox *sb, int c, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/pipec-%s", sb->cg_base[c], name);
}

static void cg_set(const char *dir, const char *file, const char *value)
{
	char path[8400];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	sb_write_file(path, value);
}

/* Makes the attempt's cgroups with its limits; 0, or -1 with WHY. */
/*
 * Whether the attempt gets a cgroup of controller C: only for a limit it has
 * (memory and cpu when its resources ask for them; pids always) — a cgroup
 * costs a few directory operations in each hierarchy, and a memory cgroup
 * without a limit would kill nothing.
 */
static int cg_wanted(const pr_sandbox *sb, const pr_jail *j, int c)
{
	if (!sb->cg_version[c])
		return 0;
	return c == PR_CG_MEMORY ? j->memory > 0 : c == PR_CG_CPU ? j->cpu > 0 : j->pids > 0;
}

int sb_cg_make(const pr_sandbox *sb, const pr_jail *j, char *why, size_t wn)
{
	for (int c = 0; c < PR_CG_N; c++) {
		if (!cg_wanted(sb, j, c))
			continue;
		int v2 = sb->cg_version[c] == 2;
		char dir[8400], val[64];
		cg_dir(sb, c, j->cgroup, dir, sizeof dir);
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			snprintf(why, wn, "cannot create the cgroup %s: %s", dir, strerror(errno));
			return -1;
		}
		if (c == PR_CG_MEMORY && j->memory > 0) {
			snprintf(val, sizeof val, "%.0f", j->memory);
			cg_set(dir, v2 ? "memory.max" : "memory.limit_in_bytes", val);
			if (v2)
				cg_set(dir, "memory.swap.max", "0");
			else
				cg_set(dir, "memory.memsw.limit_in_bytes", val);
		} else if (c == PR_CG_PIDS && j->pids > 0) {
			snprintf(val, sizeof val, "%ld", j->pids);
			cg_set(dir, "pids.max", val);
		} else if (c == PR_CG_CPU && j->cpu > 0) {
			long quota = (long)(j->cpu * 100000);
			if (v2) {
				snprintf(val, sizeof val, "%ld 100000", quota);
				cg_set(dir, "cpu.max", val);
			} else {
				cg_set(dir, "cpu.cfs_period_us", "100000");
				snprintf(val, sizeof val, "%ld", quota);
				cg_set(dir, "cpu.cfs_quota_us", val);
			}
		}
	}
	return 0;
}

int sb_cg_join(const pr_sandbox *sb, const pr_jail *j, pid_t pid)
{
	const char *name = j->cgroup;
	char pidtext[32];
	snprintf(pidtext, sizeof pidtext, "%ld", (long)pid);
	for (int c = 0; c < PR_CG_N; c++) {
		if (!cg_wanted(sb, j, c))
			continue;
		char dir[8400], procs[8500];
		cg_dir(sb, c, name, dir, sizeof dir);
		snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
		if (sb_write_file(procs, pidtext) < 0)
			return -1;
	}
	return 0;
}

/* A number after KEY in a cgroup file ("oom_kill 1"), or 0. */
static long cg_count(const pr_sandbox *sb, int c, const char *name, const char *file, const char *key)
{
	char dir[8400], path[8500], text[4096];
	cg_dir(sb, c, name, dir, sizeof dir);
	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (sb_read_file(path, text, sizeof text) < 0)
		return 0;
	size_t kl = strlen(key);
	for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, kl) == 0 && l[kl] == ' ')
			return strtol(l + kl + 1, NULL, 10);
	return 0;
}

int pr_sandbox_reap(const pr_sandbox *sb, const char *name, char *note, size_t n)
{
	int oom = 0;
	if (note && n)
		note[0] = 0;
	if (!sb->on)
		return 0;
	if (sb->cg_version[PR_CG_MEMORY]) {
		int v2 = sb->cg_version[PR_CG_MEMORY] == 2;
		oom = cg_count(sb, PR_CG_MEMORY, name, v2 ? "memory.events" : "memory.oom_control", "oom_kill") > 0;
	}
	long refused = sb->cg_version[PR_CG_PIDS] ? cg_count(sb, PR_CG_PIDS, name, "pids.events", "max") : 0;
	if (note && n && refused > 0)
		snprintf(note, n, "the pids limit refused %ld fork%s", refused, refused == 1 ? "" : "s");
	for (int c = 0; c < PR_CG_N; c++) {
		if (!sb->cg_version[c])
			continue;
		char dir[8400], path[8500];
		cg_dir(sb, c, name, dir, sizeof dir);
		if (rmdir(dir) == 0 || errno != EBUSY)
			continue; /* gone (the pid namespace took everything with it), or never made */
		/* something is left in it (no pid namespace): killed first */
		snprintf(path, sizeof path, "%s/cgroup.kill", dir);
		if (sb_write_file(path, "1") < 0) {
			char procs[4096];
			snprintf(path, sizeof path, "%s/cgroup.procs", dir);
			if (sb_read_file(path, procs, sizeof procs) == 0)
				for (char *p = procs; *p;) {
					long pid = strtol(p, &p, 10);
					if (pid > 0)
						kill((pid_t)pid, SIGKILL);
					while (*p == '\n')
						p++;
					if (!pid)
						break;
				}
		}
		for (int tries = 0; rmdir(dir) != 0 && errno == EBUSY && tries < 100; tries++)
			usleep(1000);
	}
	return oom;
}

void pr_sandbox_sweep(const pr_sandbox *sb, const char *prefix, int (*claimed)(const char *name, void *arg), void *arg)
{
	if (!sb->on)
		return;
	size_t pl = strlen(prefix);
	for (int c = 0; c < PR_CG_N; c++) {
		int seen = 0; /* v2: the sb_controllers share one directory, looked at once */
		for (int b = 0; b < c; b++)
			seen |= sb->cg_version[b] && !strcmp(sb->cg_base[b], sb->cg_base[c]);
		DIR *d = sb->cg_version[c] && !seen ? opendir(sb->cg_base[c]) : NULL;
		if (!d)
			continue;
		for (struct dirent *e; (e = readdir(d));) {
			const char *name = e->d_name;
			if (strncmp(name, "pipec-", 6) || strncmp(name + 6, prefix, pl) || (claimed && claimed(name + 6, arg)))
				continue;
			char dir[8400];
			cg_dir(sb, c, name + 6, dir, sizeof dir);
			rmdir(dir); /* an empty one goes; one with a process in it stays (EBUSY) */
		}
		closedir(d);
	}
}

