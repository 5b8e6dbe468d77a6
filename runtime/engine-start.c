/*
 * engine-start.c - starting an attempt: what the engine decides before the
 * executor takes over.
 *
 * A fresh attempt directory STATE/.pipec/work/RUN/TASK@ATTEMPT (and .tmp in
 * it for HOME and TMPDIR), the command rendered (outputs are paths in that
 * directory; run-time values shell-quoted), a clean environment (PATH,
 * HOME and TMPDIR inside the attempt, PIPEC_RUN_ID, PIPEC_TASK,
 * PIPEC_ATTEMPT, PIPEC_CHECKPOINT_DIR, CUDA_VISIBLE_DEVICES naming exactly
 * its devices, and the stage's env), the sandbox's terms (inputs kept
 * visible, network, pids, memory, cpu, device nodes) — all handed to the
 * executor as one pr_attempt (exec.h).  The attempt counter moves here, as
 * the "running" event that follows records.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The only PATH a task is given. */
static const char task_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";

int pe_mkdirs(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	char parent[8192];
	snprintf(parent, sizeof parent, "%s", path);
	char *slash = strrchr(parent, '/');
	while (slash && slash > parent && slash[-1] == '/')
		slash--;
	if (!slash || slash == parent)
		return -1;
	*slash = 0;
	if (pe_mkdirs(parent) < 0)
		return -1;
	return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static void safe_name(const char *id, char *out, size_t n)
{
	size_t k = 0;
	for (const char *p = id; *p && k + 1 < n; p++)
		out[k++] = (strchr("/ \t", *p) || *p == '*') ? '_' : *p;
	out[k] = 0;
}

/*
 * STATE/.pipec/checkpoints/KEY: where task I's checkpoints are kept, by the
 * key of its inputs and command (engine-cache.c), across attempts, resumes
 * and runs of the same key, and never seen by a task with another.
 */
void pe_checkpoint_dir(const runner *R, uint32_t i, char *out, size_t n)
{
	const rtask *t = &R->t[i];
	const char *key = t->cpkey ? t->cpkey : t->key;
	if (key[0]) {
		snprintf(out, n, "%s/checkpoints/%s", R->root, key);
		return;
	}
	char safe[1024];
	safe_name(t->id, safe, sizeof safe);
	snprintf(out, n, "%s/checkpoints/run-%ld-%s", R->root, R->run, safe);
}

/* The command of task I, with its outputs' paths and inputs' values. */
static char *render(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	char *cmd;
	size_t len;
	FILE *f = open_memstream(&cmd, &len);
	size_t k;
	json_t *part;
	json_array_foreach(t->plan.command, k, part) {
		if (json_is_string(part)) {
			fwrite(json_string_value(part), 1, json_string_length(part), f);
			continue;
		}
		json_t *v;
		if ((v = json_object_get(part, "output"))) {
			char path[8192];
			snprintf(path, sizeof path, "%s/%s", t->dir, json_string_value(v));
			pr_shell_quote(f, path, strlen(path));
		} else if (json_object_get(part, "checkpoint_dir")) {
			char path[8300];
			pe_checkpoint_dir(R, i, path, sizeof path);
			pr_shell_quote(f, path, strlen(path));
		} else if ((v = json_object_get(part, "value"))) {
			int missing = 0;
			json_t *val = pe_eval(R, v, 0, &missing);
			if (json_is_array(val)) {
				size_t j;
				json_t *x;
				json_array_foreach(val, j, x) {
					char *s;
					size_t n;
					pe_text_of(x, &s, &n);
					if (j)
						fputc(' ', f);
					pr_shell_quote(f, s, n);
					free(s);
				}
			} else if (val) {
				char *s;
				size_t n;
				pe_text_of(val, &s, &n);
				pr_shell_quote(f, s, n);
				free(s);
			}
			json_decref(val);
		}
	}
	fclose(f);
	return cmd;
}

/* "stage 'fetch' (quickstart.pipe:20:11)": the stage and where it was called. */
const char *pe_where(const rtask *t, char *buf, size_t n)
{
	if (t->plan.has_loc)
		snprintf(buf, n, "stage '%s' (%s:%lld:%lld)", t->stage, t->plan.file, (long long)t->plan.line,
			 (long long)t->plan.column);
	else
		snprintf(buf, n, "stage '%s'", t->stage);
	return buf;
}


int pe_start(runner *R, uint32_t i, int ahead)
{
	rtask *t = &R->t[i];
	t->attempt++;
	char safe[1024];
	safe_name(t->id, safe, sizeof safe);
	char dir[8192];
	/* one directory an attempt and one inside it for HOME and TMPDIR: on a busy filesystem each mkdir counts */
	snprintf(dir, sizeof dir, "%s/work/%ld/%s@%d", R->root, R->run, safe, t->attempt);
	pe_set_dir(t, dir);
	char tmp[8300];
	snprintf(tmp, sizeof tmp, "%s/.tmp", t->dir);
	if (pe_mkdirs(t->dir) < 0 || pe_mkdirs(tmp) < 0) {
		char why[8400];
		snprintf(why, sizeof why, "cannot create %s: %s", t->dir, strerror(errno));
		if (ahead) { /* it starts the ordinary way in its turn, and says so then */
			t->attempt--;
			t->no_park = 1;
			return -1;
		}
		pe_vacate(R, i);
		pe_transition(R, i, S_RUNNING, NULL);
		pe_transition(R, i, S_ERROR, why);
		return -1;
	}
	/* a List[File] output is a directory the command writes its files into: made for it */
	for (uint32_t o = 0; o < t->plan.nouts; o++) {
		const pr_plan_output *d = &R->outdecl[t->plan.outs + o];
		if (d->base && !strcmp(d->base, "List[File]")) { /* names are file names (the plan reader checks) */
			char od[8400];
			snprintf(od, sizeof od, "%s/%s", t->dir, d->name);
			mkdir(od, 0755);
		}
	}
	free(t->cmd);
	t->cmd = render(R, i);
	int checkpoint = t->plan.checkpoint;
	char cpdir[8300] = "";
	if (checkpoint) {
		pe_checkpoint_dir(R, i, cpdir, sizeof cpdir);
		pe_mkdirs(cpdir);
		char best[8600];
		t->checkpoint_before = pe_newest_checkpoint(R, i, best, sizeof best);
	}
	/* a clean environment: nothing of the host's but what is set here */
	size_t cap = 64 + json_object_size(t->plan.env);
	char **envp = calloc(cap + 1, sizeof *envp);
	size_t ne = 0;
	char buf[9000];
#define SETENV(...) (snprintf(buf, sizeof buf, __VA_ARGS__), envp[ne++] = strdup(buf))
	SETENV("%s", task_path);
	SETENV("HOME=%s", tmp);
	SETENV("TMPDIR=%s", tmp);
	SETENV("PIPEC_RUN_ID=%ld", R->run);
	SETENV("PIPEC_TASK=%s", t->id);
	SETENV("PIPEC_ATTEMPT=%d", t->attempt);
	if (checkpoint)
		SETENV("PIPEC_CHECKPOINT_DIR=%s", cpdir);
	/* exactly its devices: none for a task that asks for no GPU */
	const pr_node *nd = &R->nodes.v[t->place.node];
	int len = snprintf(buf, sizeof buf, "CUDA_VISIBLE_DEVICES=");
	for (int g = 0; g < t->place.ngpus; g++)
		len += snprintf(buf + len, sizeof buf - (size_t)len, "%s%s", g ? "," : "", nd->gpus[t->place.gpu[g]].uuid);
	envp[ne++] = strdup(buf);
	if (R->nodes.simulated)
		SETENV("PIPEC_NODE=%s", nd->name);
	const char *k;
	json_t *v;
	json_object_foreach(t->plan.env, k, v) if (json_is_string(v) && ne < cap) SETENV("%s=%s", k, json_string_value(v));
#undef SETENV
	envp[ne] = NULL;
	char work[4200];
	snprintf(work, sizeof work, "%s/work", R->root);
	pr_attempt a = {
		.task = i,
		.attempt = t->attempt,
		.id = t->id,
		.dir = t->dir,
		.command = t->cmd,
		.envp = envp,
		.inputs = t->inputs,
		.work = work,
		.cpdir = cpdir,
		.network = t->plan.network,
		.pids = t->plan.pids,
		.memory = t->req.memory,
		.cpu = t->req.cpu,
		.ahead = ahead,
	};
	for (int g = 0; g < t->place.ngpus && g < 16; g++)
		a.gpu_minor[a.ngpus++] = nd->gpus[t->place.gpu[g]].minor;
	/* the executor reports what became of it (STARTED, PARKED, ENDED): the loop acts on that */
	t->spawning = 1;
	t->go_on_spawn = !ahead;
	char why[2048];
	int rc = R->ex->ops->start(R->ex, &a, why, sizeof why);
	for (size_t x = 0; x < ne; x++)
		free(envp[x]);
	free(envp);
	if (rc < 0) {
		t->spawning = t->go_on_spawn = 0;
		if (ahead) {
			t->attempt--;
			t->no_park = 1;
			return -1;
		}
		pe_transition(R, i, S_RUNNING, NULL);
		char w[1200], msg[4000];
		snprintf(msg, sizeof msg, "%s: %s", pe_where(t, w, sizeof w), why);
		pe_vacate(R, i);
		pe_transition(R, i, S_ERROR, msg);
		return -1;
	}
	return 0;
}
