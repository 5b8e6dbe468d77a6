/*
 * engine-cache.c - the cache: a ready task's key, a hit, and a run that
 * repeats an earlier run.
 *
 * A task's key hashes (BLAKE2b) its stage, module, command (its constants:
 * what is interpolated at run time enters as inputs), image, env, declared
 * outputs and its inputs, where a file or directory counts by its content
 * hash; the key's parts are kept in the store so `pipec why` can say which
 * changed.  A hit is a cache entry whose artifacts are all still there.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Why a key could not be made: the first File or Dir refused (a FIFO, a device, a tree too large), or a cancellation. */
typedef struct key_fault {
	int rc;         /* 0, PE_HASH_REFUSED or PE_HASH_CANCELLED */
	char why[1000]; /* its reason */
} key_fault;

static json_t *by_content(runner *R, json_t *v, int consts_only, key_fault *kf)
{
	size_t k;
	const char *key;
	json_t *x, *r;
	if (json_is_array(v)) {
		r = json_array();
		json_array_foreach(v, k, x) json_array_append_new(r, by_content(R, x, consts_only, kf));
		return r;
	}
	if (json_is_object(v)) {
		r = json_object();
		json_object_foreach(v, key, x) json_object_set_new(r, key, by_content(R, x, consts_only && strcmp(key, "const"), kf));
		return r;
	}
	if (!consts_only && json_is_string(v) && json_string_value(v)[0] == '/') {
		char h[65], why[1000];
		int rc = kf->rc ? PE_HASH_REFUSED : pe_hash_path(json_string_value(v), h, why, sizeof why);
		int ok = rc == 0;
		if (rc < PE_HASH_ABSENT && !kf->rc) /* refused, not absent: the task fails (absent: as before, by its path) */
			kf->rc = rc, snprintf(kf->why, sizeof kf->why, "%s", why);
		if (!R->sources)
			R->sources = json_object();
		json_object_set_new(R->sources, json_string_value(v), json_string(ok ? h : ""));
		if (ok) {
			char tagged[80];
			snprintf(tagged, sizeof tagged, "content:%s", h);
			return json_string(tagged);
		}
	}
	return json_incref(v);
}

/* The record shapes around a point of a "files" shape, innermost first ({"cycle": N} names the Nth). */
typedef struct shape_stack {
	json_t *record;
	const struct shape_stack *out;
} shape_stack;

/*
 * V with each File or Dir that SHAPE (the plan's "files" of its type,
 * docs/plan.md) says it holds replaced by its content hash (new): "file" and
 * "dir", {"list": S}, {"map": S}, {"optional": S}, {"record": {FIELD: S}},
 * {"cycle": N} (the Nth record shape around it, for a record that holds
 * itself).  The type decides, never a value's look: a String that happens
 * to be a path is a String.
 */
static json_t *by_shape(runner *R, json_t *v, json_t *shape, const shape_stack *up, key_fault *kf)
{
	if (!v || json_is_null(v))
		return json_incref(v ? v : json_null());
	if (json_is_string(shape))
		return by_content(R, v, 0, kf); /* a File or Dir: its path, by its content */
	json_t *sub;
	if ((sub = json_object_get(shape, "cycle"))) {
		json_int_t n = json_integer_value(sub);
		while (up && --n > 0)
			up = up->out;
		return up ? by_shape(R, v, up->record, up->out, kf) : json_incref(v);
	}
	if ((sub = json_object_get(shape, "optional")))
		return by_shape(R, v, sub, up, kf);
	size_t k;
	const char *key;
	json_t *x, *r;
	if ((sub = json_object_get(shape, "list")) && json_is_array(v)) {
		r = json_array();
		json_array_foreach(v, k, x) json_array_append_new(r, by_shape(R, x, sub, up, kf));
		return r;
	}
	if ((sub = json_object_get(shape, "map")) && json_is_object(v)) {
		r = json_object();
		json_object_foreach(v, key, x) json_object_set_new(r, key, by_shape(R, x, sub, up, kf));
		return r;
	}
	if ((sub = json_object_get(shape, "record")) && json_is_object(v)) {
		shape_stack here = {shape, up};
		r = json_object();
		json_object_foreach(v, key, x) {
			json_t *f = json_object_get(sub, key);
			json_object_set_new(r, key, f ? by_shape(R, x, f, &here, kf) : json_incref(x));
		}
		return r;
	}
	return json_incref(v);
}

int pe_cache_key(runner *R, uint32_t i, char *why, size_t wn)
{
	rtask *t = &R->t[i];
	int cache = t->plan.cache, checkpoint = t->plan.checkpoint;
	if (!cache && !checkpoint)
		return 0;
	key_fault kf = {0, ""};
	json_t *parts = json_object();
	/*
	 * Format 2: the stage's module (its file's name) is not a part: what
	 * the stage does is its command, image, env and outputs, so renaming or
	 * moving the .pipe file keeps its results.
	 */
	json_object_set_new(parts, "format", json_integer(2));
	json_object_set_new(parts, "stage", json_string(t->stage));
	/* an element of a run-time for's list is a constant of its instance's command */
	json_object_set_new(parts, "command", by_content(R, t->plan.command, 1, &kf));
	json_object_set_new(parts, "image", t->plan.image ? json_string(t->plan.image) : json_null());
	json_object_set(parts, "env", t->plan.env);
	json_object_set(parts, "outputs", t->plan.outputs);
	json_t *ins = json_object();
	const char *k;
	json_t *in;
	json_object_foreach(t->plan.inputs, k, in) {
		int missing = 0;
		json_t *v = pe_eval(R, json_object_get(in, "value"), 1, &missing);
		/* the Files and Dirs in it, wherever its resolved type puts them (the plan's "files"), count by
		 * their content, as task outputs do: a parameter's, an element of a run-time for's list */
		json_t *shape = json_object_get(in, "files");
		if (v && shape) {
			int before = kf.rc;
			json_t *c = by_shape(R, v, shape, NULL, &kf);
			json_decref(v);
			v = c;
			if (kf.rc && !before && why) /* the first refused: named by its input */
				snprintf(why, wn, "input '%s': %s", k, kf.why);
		}
		json_object_set_new(ins, k, v ? v : json_null());
	}
	json_object_set_new(parts, "inputs", ins);
	char *text = pr_json_text(parts);
	unsigned char h[32];
	crypto_generichash(h, 32, (const unsigned char *)text, strlen(text), NULL, 0);
	/* its checkpoints belong to what made it: kept across its attempts and resumes, never offered to
	 * a task with other inputs or another command (stage) */
	char hex[65];
	pe_hex_of(h, hex);
	if (!cache) {
		free(t->cpkey);
		if (!(t->cpkey = strdup(hex)))
			abort();
		free(text);
		json_decref(parts);
		return kf.rc;
	}
	memcpy(t->key, hex, sizeof t->key);
	free(t->parts);
	t->parts = text;
	json_decref(parts);
	return kf.rc;
}

int pe_try_cache(runner *R, uint32_t i)
{
	rtask *t = &R->t[i];
	if (!t->key[0])
		return 0;
	char *o = pr_store_cache_get(&R->store, t->key);
	if (!o)
		return 0;
	json_t *outs = json_loads(o, 0, NULL);
	free(o);
	if (!outs)
		return 0;
	const char *name;
	json_t *out;
	int present = 1;
	json_object_foreach(outs, name, out) {
		struct stat sb; /* not followed: an output was never a link, and one there now is not it */
		present &= lstat(json_string_value(json_object_get(out, "path")), &sb) == 0 && !S_ISLNK(sb.st_mode);
	}
	if (!present) {
		json_decref(outs);
		return 0;
	}
	json_decref(t->outputs);
	t->outputs = outs;
	pe_begin(R);
	json_object_foreach(outs, name, out) {
		char *v = pr_json_text(json_object_get(out, "value"));
		pr_store_artifact(&R->store, R->run, t->id, name, json_string_value(json_object_get(out, "path")),
				  json_string_value(json_object_get(out, "hash")), v);
		free(v);
	}
	pe_transition(R, i, S_CACHED, NULL);
	return 1;
}

/* ---- a run that repeats an earlier one ------------------------------------------------- */

/*
 * A run may be repeated by a later run of the same plan (pe_try_replay())
 * when it succeeded, no task in it failed, and every task that ran put its
 * result in the cache: a new run of its plan would then take each task
 * from the cache, as long as the cache still has those results, their
 * files are there, and the files outside the store whose content went into
 * its keys are unchanged.  Such a run keeps its replay record: its result,
 * its counts and those files' hashes.  Not a resumed run: its keys were
 * made by more than one process.
 */
void pe_keep_replay(runner *R, const pr_summary *sum)
{
	if (R->resumed || strcmp(sum->status, "succeeded") || sum->failed || sum->error || sum->cancelled)
		return;
	for (uint32_t i = 0; i < R->n; i++) {
		rtask *t = &R->t[i];
		if (t->st == S_SUCCEEDED && !t->group && !t->key[0])
			return; /* it ran, and runs again each time: its stage is not cached */
		if (t->st != S_SUCCEEDED && t->st != S_CACHED && t->st != S_SKIPPED)
			return;
	}
	json_t *info = json_pack("{s:s, s:i, s:i, s:i, s:o}", "result", sum->result, "succeeded", sum->succeeded,
				 "cached", sum->cached, "skipped", sum->skipped, "sources",
				 R->sources ? json_incref(R->sources) : json_object());
	char *text = json_dumps(info, JSON_COMPACT);
	pr_store_replayable(&R->store, R->run, text);
	free(text);
	json_decref(info);
}

/* The summary of a run that repeats the run whose replay record is INFO. */
void pe_replay_summary(json_t *info, pr_summary *sum)
{
	sum->status = "succeeded";
	sum->cached = (int)(json_integer_value(json_object_get(info, "succeeded")) +
			    json_integer_value(json_object_get(info, "cached")));
	sum->skipped = (int)json_integer_value(json_object_get(info, "skipped"));
	const char *result = json_string_value(json_object_get(info, "result"));
	sum->result = strdup(result ? result : "null");
}

/* A task the repeat takes from the cache (or skips, as BASE did), said as a run would. */
static void replayed_line(void *ctx, const char *task, const char *state)
{
	runner *R = ctx;
	fprintf(R->log, "%-10s %s\n", state && !strcmp(state, "skipped") ? "skipped" : "cached", task ? task : "");
}

/*
 * When the plan (its text, KEY) is that of an earlier run that can be
 * repeated and nothing it depends on changed, the run is recorded as
 * repeating it, every task cached, without loading the plan: returns 1
 * with *SUM.  Otherwise 0, and the run goes on as any other.
 */
int pe_try_replay(runner *R, const char *key, pr_summary *sum)
{
	long base = 0;
	char *text = pr_store_replay_base(&R->store, key, &base);
	json_t *info = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (!info)
		return 0;
	const char *path;
	json_t *was;
	int same = 1;
	json_object_foreach(json_object_get(info, "sources"), path, was) {
		char h[65];
		if (strcmp(pe_hash_path(path, h, NULL, 0) == 0 ? h : "", json_string_value(was) ? json_string_value(was) : "")) {
			same = 0;
			break;
		}
	}
	if (!same || pr_store_replay_valid(&R->store, base) < 0 || (R->run = pr_store_replay_run(&R->store, base, R->began)) < 0) {
		R->run = 0;
		json_decref(info);
		return 0;
	}
	pe_replay_summary(info, sum);
	sum->run = R->run;
	json_decref(info);
	if (R->log) {
		/* what a run taking each task from the cache would say */
		if (!R->live)
			pr_store_each_replayed(&R->store, base, replayed_line, R);
		fprintf(R->log, "pipec: run %ld repeats run %ld: the same plan, and every result it needs is in the cache\n",
			R->run, base);
	}
	return 1;
}

