/*
 * engine-finish.c - the finishing protocol: what becomes of a task whose
 * attempt ended (an ENDED event of its executor, exec.h).
 *
 * Exit 0 is not enough: every declared output must exist in the attempt's
 * directory and parse as its type, read without leaving that directory and
 * never through a link (engine-outputs.c).  Then the
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
	int fd = dfd < 0 ? -1 : pe_open_beneath(dfd, ".stderr", O_RDONLY | O_NONBLOCK);
	struct stat sb;
	if (dfd >= 0)
		close(dfd);
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char *s = pe_read_small(fd);
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
	if (ev->kind == PR_END_LOST && R->cancelled) { /* found gone while the run is cancelled: it ends so */
		pe_transition(R, i, S_CANCELLED, "the run was cancelled");
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
		int rc = pe_check_output(dfd, t->dir, name, R->outdecl[t->plan.outs + o].base, &val, h, reason, sizeof reason);
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
