/*
 * engine-finish.c - the finishing protocol: what becomes of a task whose
 * attempt ended (an ENDED event of its executor, exec.h).
 *
 * Exit 0 is not enough: every declared output must exist in the attempt's
 * directory and parse as its type.  Then the outputs are content-hashed
 * (BLAKE2b) and the artifacts, the cache entry and `succeeded` are
 * committed together.  Otherwise the attempt failed (its exit status, the
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
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	PE_OOM_PAUSES = 8,          /* out-of-memory pauses a task may take before it fails */
	PE_NOT_STARTED_RETRIES = 2, /* attempts that never ran tried again, not counted as retries */
};

void pe_hex_of(const unsigned char *h, char *out)
{
	sodium_bin2hex(out, 65, h, 32);
}

/* BLAKE2b of a file's bytes, or of a directory's sorted entries. */
int pe_hash_path(const char *path, char out[65])
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return -1;
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	if (S_ISDIR(sb.st_mode)) {
		struct dirent **ents;
		int n = scandir(path, &ents, NULL, alphasort);
		if (n < 0)
			return -1;
		for (int i = 0; i < n; i++) {
			const char *name = ents[i]->d_name;
			if (strcmp(name, ".") && strcmp(name, "..")) {
				char sub[8192], h[65];
				snprintf(sub, sizeof sub, "%s/%s", path, name);
				crypto_generichash_update(&st, (const unsigned char *)name, strlen(name) + 1);
				if (pe_hash_path(sub, h) == 0)
					crypto_generichash_update(&st, (const unsigned char *)h, 64);
			}
			free(ents[i]);
		}
		free(ents);
	} else {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return -1;
		unsigned char buf[65536];
		ssize_t r;
		while ((r = read(fd, buf, sizeof buf)) > 0)
			crypto_generichash_update(&st, buf, (size_t)r);
		close(fd);
	}
	unsigned char h[32];
	crypto_generichash_final(&st, h, 32);
	pe_hex_of(h, out);
	return 0;
}

static char *read_small(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(65537);
	size_t n = fread(buf, 1, 65536, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

/* Checks output NAME of base type BASE in DIR; sets *VAL or a reason in WHY. */
static int check_output(const char *dir, const char *name, const char *base, json_t **val, char *why, size_t wn)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct stat sb;
	if (stat(path, &sb) != 0) {
		snprintf(why, wn, "output '%s' (%s) was not written: no %s", name, base, path);
		return -1;
	}
	if (!strcmp(base, "File")) {
		if (!S_ISREG(sb.st_mode)) {
			snprintf(why, wn, "output '%s' must be a regular file: %s", name, path);
			return -1;
		}
		*val = json_string(path);
		return 0;
	}
	if (!strcmp(base, "Dir") || !strcmp(base, "List[File]")) {
		if (!S_ISDIR(sb.st_mode)) {
			snprintf(why, wn, "output '%s' must be a directory: %s", name, path);
			return -1;
		}
		if (!strcmp(base, "Dir")) {
			*val = json_string(path);
			return 0;
		}
		struct dirent **ents;
		int n = scandir(path, &ents, NULL, alphasort);
		json_t *list = json_array();
		for (int i = 0; i < n; i++) {
			char sub[8192];
			snprintf(sub, sizeof sub, "%s/%s", path, ents[i]->d_name);
			struct stat es;
			if (stat(sub, &es) == 0 && S_ISREG(es.st_mode))
				json_array_append_new(list, json_string(sub));
			free(ents[i]);
		}
		free(ents);
		*val = list;
		return 0;
	}
	char *text = read_small(path);
	if (!text) {
		snprintf(why, wn, "output '%s' cannot be read: %s", name, path);
		return -1;
	}
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
	char path[8300];
	snprintf(path, sizeof path, "%s/.stderr", dir);
	char *s = read_small(path);
	out[0] = 0;
	if (!s)
		return;
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
	/* the finishing protocol: every output exists and parses, then hash and commit */
	json_t *outs = json_object();
	for (uint32_t o = 0; o < t->plan.nouts; o++) {
		const char *name = R->outdecl[t->plan.outs + o].name;
		json_t *val = NULL;
		char reason[1000];
		if (check_output(t->dir, name, R->outdecl[t->plan.outs + o].base, &val, reason, sizeof reason) < 0) {
			snprintf(why, sizeof why, "%s: %s", pe_where(t, w, sizeof w), reason);
			json_decref(outs);
			fail_or_retry(R, i, why);
			return;
		}
		char path[8300], h[65];
		snprintf(path, sizeof path, "%s/%s", t->dir, name);
		pe_hash_path(path, h);
		if (!json_is_string(val) || strcmp(json_string_value(val), path) != 0) {
			/* a scalar: its hash is of its value */
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
