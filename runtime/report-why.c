/*
 * report-why.c - `pipec why TASK`: why a task ran rather than being taken
 * from the cache.
 *
 * A task's cache key is made of parts (command, env, each input's value or
 * content, ...), kept in the store.  why compares the task's parts with
 * those of the same task in the latest earlier run that had a key, and
 * says which parts changed; with none changed, the earlier result was not
 * usable.  One JSON object carries the answer (pr_report_why_format()); the
 * text is written from it.  A long changed value shows a window around
 * its first difference, cut at whole UTF-8 characters, the same window on
 * both sides.
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

/* How much of a changed value `why` shows (bytes a side); longer values show a window around where they differ. */
enum { WHY_SHOWN = 200, WHY_BEFORE = 60 };

/* The start of the UTF-8 character that byte I of S is in. */
static size_t char_start(const char *s, size_t i)
{
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	return i;
}

/* Writes S from byte FROM, at most WHY_SHOWN bytes (whole characters), with "..." where it is cut. */
static void window(FILE *out, const char *s, size_t from)
{
	size_t n = strlen(s), end = n - from > WHY_SHOWN ? char_start(s, from + WHY_SHOWN) : n;
	fprintf(out, "%s%.*s%s", from ? "..." : "", (int)(end - from), s + from, end < n ? "..." : "");
}

/* Writes "A -> B" (JSON texts of a changed value): whole when both are short, else both from a little
 * before their first difference, so that what differs shows on each side. */
static void changed(FILE *out, const char *a, const char *b)
{
	size_t from = 0;
	if (strlen(a) > WHY_SHOWN || strlen(b) > WHY_SHOWN) {
		size_t d = 0;
		while (a[d] && a[d] == b[d])
			d++;
		from = char_start(a, d > WHY_BEFORE ? d - WHY_BEFORE : 0);
	}
	window(out, a, from);
	fputs(" -> ", out);
	window(out, b, from);
}

/* Appends {part, [input,] before, after} to CHANGES (before/after borrowed; NULL: none). */
static void add_change(json_t *changes, const char *part, const char *input, json_t *before, json_t *after)
{
	json_t *c = json_object();
	json_object_set_new(c, "part", json_string(part));
	if (input)
		json_object_set_new(c, "input", json_string(input));
	json_object_set(c, "before", before ? before : json_null());
	json_object_set(c, "after", after ? after : json_null());
	json_array_append_new(changes, c);
}

/* The parts of key B that differ from key A, as add_change() entries: an input each, else the part. */
static json_t *key_changes(json_t *a, json_t *b)
{
	json_t *changes = json_array(), *v, *x;
	const char *k, *in;
	json_object_foreach(b, k, v) {
		json_t *w = json_object_get(a, k);
		if (w && json_equal(v, w))
			continue;
		if (!strcmp(k, "inputs") && w) {
			json_object_foreach(v, in, x) {
				json_t *y = json_object_get(w, in);
				if (!y || !json_equal(x, y))
					add_change(changes, "input", in, y, x);
			}
			json_object_foreach(w, in, x) if (!json_object_get(v, in)) add_change(changes, "input", in, x, NULL);
			continue;
		}
		add_change(changes, k, NULL, w, v);
	}
	return changes;
}

/* WHY (pr_report_why_format()'s object) as the sentences `pipec why` writes. */
static void why_text(FILE *out, const json_t *why)
{
	const char *task = report_str(why, "task"), *reason = report_str(why, "reason");
	long run = (long)json_integer_value(json_object_get(why, "run"));
	if (!strcmp(reason, "cached")) {
		fprintf(out, "%s (run %ld) did not run: its result was in the cache under key %.16s\n", task, run,
			report_str(why, "key"));
		return;
	}
	if (!strcmp(reason, "no_key")) {
		fprintf(out, "%s (run %ld) is %s: it never got as far as its cache key (its inputs or conditions decided)\n",
			task, run, report_str(why, "state"));
		return;
	}
	if (!strcmp(reason, "first")) {
		fprintf(out, "%s (run %ld) ran: no earlier run had a task '%s'\n", task, run, task);
		return;
	}
	fprintf(out, "%s (run %ld) ran rather than being cached; compared with run %lld:\n", task, run,
		(long long)json_integer_value(json_object_get(why, "compared_with")));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(why, "changed"), i, c) {
		json_t *before = json_object_get(c, "before"), *after = json_object_get(c, "after");
		char *s1 = json_is_null(before) ? strdup("(none)") : pr_json_text(before);
		char *s2 = json_is_null(after) ? strdup("(none)") : pr_json_text(after);
		if (json_object_get(c, "input"))
			fprintf(out, "  input '%s' changed: ", report_str(c, "input"));
		else
			fprintf(out, "  its %s changed: ", report_str(c, "part"));
		changed(out, s1, s2);
		fputc('\n', out);
		free(s1);
		free(s2);
	}
	if (!strcmp(reason, "unusable"))
		fprintf(out, "  nothing that makes its key changed: the earlier result was not usable (it did not succeed, "
			     "or its files were gone)\n");
}

int pr_report_why(const char *state_dir, const char *task, long run, FILE *out, char **err)
{
	return pr_report_why_format(state_dir, task, run, 0, out, err);
}

int pr_report_why_format(const char *state_dir, const char *task, long run, int json, FILE *out, char **err)
{
	pr_query *qy;
	if (report_open(state_dir, &qy, err))
		return 2;
	json_t *now = pr_query_key_parts(qy, task, run);
	if (pr_query_failed(qy, err)) {
		json_decref(now);
		pr_query_close(qy);
		return 2;
	}
	if (!now) {
		char msg[512];
		snprintf(msg, sizeof msg, "no task '%s' in the store%s", task, run ? " for that run" : "");
		*err = strdup(msg);
		pr_query_close(qy);
		return 2;
	}
	run = (long)json_integer_value(json_object_get(now, "run"));
	const char *state = report_str(now, "state"), *parts = report_str(now, "parts"), *key = report_str(now, "key");
	/* {task, run, state, cached, ran, key, reason, compared_with, changed}: reason is cached (not run),
	 * no_key (it never had one), first (no earlier run had it), changed (CHANGED says what), unusable
	 * (the same key, but the earlier result could not be used) */
	json_t *why = json_object(), *earlier = NULL;
	json_object_set_new(why, "task", json_string(task));
	json_object_set_new(why, "run", json_integer(run));
	json_object_set_new(why, "state", json_string(state));
	json_object_set_new(why, "cached", json_boolean(!strcmp(state, "cached")));
	json_object_set_new(why, "ran", json_boolean(strcmp(state, "cached") && *parts));
	json_object_set_new(why, "key", *key ? json_string(key) : json_null());
	const char *reason = !strcmp(state, "cached") ? "cached" : !*parts ? "no_key" : NULL;
	if (!reason) { /* the same task in the run before that had it */
		earlier = pr_query_key_parts_before(qy, task, run);
		if (pr_query_failed(qy, err)) {
			json_decref(earlier);
			json_decref(why);
			json_decref(now);
			pr_query_close(qy);
			return 2;
		}
		if (!earlier)
			reason = "first";
	}
	json_t *changes = json_array();
	if (earlier) {
		json_t *a = json_loads(report_str(earlier, "parts"), 0, NULL), *b = json_loads(parts, 0, NULL);
		json_decref(changes);
		changes = key_changes(a, b);
		reason = json_array_size(changes) ? "changed" : "unusable";
		json_decref(a);
		json_decref(b);
	}
	json_object_set_new(why, "reason", json_string(reason));
	json_object_set(why, "compared_with", earlier ? json_object_get(earlier, "run") : json_null());
	json_object_set_new(why, "changed", changes);
	if (json) {
		char *s = pr_json_text_as(why, 0);
		fprintf(out, "%s\n", s);
		free(s);
	} else {
		why_text(out, why);
	}
	json_decref(earlier);
	json_decref(why);
	json_decref(now);
	pr_query_close(qy);
	return 0;
}
