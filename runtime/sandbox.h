/*
 * sandbox.h - what the sandbox's files share (sandbox.c: namespaces,
 * mounts, the child; sandbox-cgroup.c: the limits).
 */
#ifndef PIPEC_SANDBOX_H
#define PIPEC_SANDBOX_H

#include "runtime.h"

#include <stddef.h>
#include <sys/types.h>

/* The cgroup controllers by PR_CG_*: "memory", "pids", "cpu". */
extern const char *const sb_controllers[PR_CG_N];
/* Writes TEXT to PATH (a /proc or cgroup file); 0 or -1 with errno. */
int sb_write_file(const char *path, const char *text);
/* Reads PATH into BUF (N bytes, NUL-terminated); 0 or -1. */
int sb_read_file(const char *path, char *buf, size_t n);
/* The directory of this process's cgroup for CONTROLLER, ready for children, in DIR; its version (2, 1) or 0 with WHY. */
int sb_cgroup_base(const char *controller, char *dir, size_t n, char *why, size_t wn);
/* Makes J's cgroups (the limits it asks for); 0, or -1 with WHY. */
int sb_cg_make(const pr_sandbox *sb, const pr_jail *j, char *why, size_t wn);
/* Puts PID in J's cgroups; 0 or -1. */
int sb_cg_join(const pr_sandbox *sb, const pr_jail *j, pid_t pid);

#endif
