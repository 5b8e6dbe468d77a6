/*
 * engine-values.c - run-time expressions: the values the plan leaves to the
 * runtime (docs/plan.md, Values): outputs of tasks, fields, operators,
 * built-in calls, interpolation, `if`, `try` (first_of), the lists a
 * run-time `for` gathers.  pe_eval() with FOR_KEY gives an output's content
 * hash instead of its value (what a cache key is made of); *MISSING is set
 * when a value depends on a task that did not succeed.  pe_text_of() is how
 * a value reads in a command (text.c quotes it as a shell word).
 */
#define _GNU_SOURCE
#include "engine.h"
#include "pipec-compiler.h"

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

static json_t *output_value(runner *R, uint32_t k, const char *name, int for_key)
{
	json_t *o = json_object_get(R->t[k].outputs, name);
	if (!o)
		return NULL;
	if (for_key)
		return json_incref(json_object_get(o, "hash"));
	return json_incref(json_object_get(o, "value"));
}

static double num(json_t *v)
{
	return json_is_integer(v) ? (double)json_integer_value(v) : json_number_value(v);
}

void pe_text_of(json_t *v, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);
	if (json_is_string(v))
		fwrite(json_string_value(v), 1, json_string_length(v), f);
	else if (json_is_integer(v))
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v)) {
		char num[40];
		pc_format_double(json_real_value(v), num, sizeof num); /* 0.1, not 0.10000000000000001 */
		fputs(num, f);
	}
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "true" : "false", f);
	else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			char *s;
			size_t n;
			pe_text_of(x, &s, &n);
			if (i)
				fputc(' ', f);
			fwrite(s, 1, n, f);
			free(s);
		}
	}
	fclose(f);
}

static json_t *apply_op(const char *op, json_t *a, json_t *b)
{
	if (!strcmp(op, "!"))
		return json_boolean(!json_is_true(a));
	if (!strcmp(op, "neg"))
		return json_is_integer(a) ? json_integer(-json_integer_value(a)) : json_real(-num(a));
	if (!strcmp(op, "&&"))
		return json_boolean(json_is_true(a) && json_is_true(b));
	if (!strcmp(op, "||"))
		return json_boolean(json_is_true(a) || json_is_true(b));
	if (!strcmp(op, "+") && json_is_string(a) && json_is_string(b)) {
		size_t n = json_string_length(a) + json_string_length(b);
		char *s = malloc(n + 1);
		memcpy(s, json_string_value(a), json_string_length(a));
		memcpy(s + json_string_length(a), json_string_value(b), json_string_length(b));
		json_t *r = json_stringn(s, n);
		free(s);
		return r;
	}
	if (!strcmp(op, "+") && json_is_array(a) && json_is_array(b)) {
		json_t *r = json_deep_copy(a);
		json_array_extend(r, b);
		return r;
	}
	if (!strcmp(op, "==") || !strcmp(op, "!="))
		return json_boolean(json_equal(a, b) == (op[0] == '='));
	if (json_is_string(a) && json_is_string(b)) {
		int c = strcmp(json_string_value(a), json_string_value(b));
		return json_boolean(!strcmp(op, "<") ? c < 0 : !strcmp(op, "<=") ? c <= 0 : !strcmp(op, ">") ? c > 0 : c >= 0);
	}
	if (!json_is_number(a) || !json_is_number(b))
		return NULL;
	if (!strcmp(op, "<")) return json_boolean(num(a) < num(b));
	if (!strcmp(op, "<=")) return json_boolean(num(a) <= num(b));
	if (!strcmp(op, ">")) return json_boolean(num(a) > num(b));
	if (!strcmp(op, ">=")) return json_boolean(num(a) >= num(b));
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);
		if (!strcmp(op, "+")) return json_integer(x + y);
		if (!strcmp(op, "-")) return json_integer(x - y);
		if (!strcmp(op, "*")) return json_integer(x * y);
		if (y == 0)
			return NULL;
		if (!strcmp(op, "/")) return json_integer(x / y);
		if (!strcmp(op, "%")) return json_integer(x % y);
	}
	double x = num(a), y = num(b);
	if (!strcmp(op, "+")) return json_real(x + y);
	if (!strcmp(op, "-")) return json_real(x - y);
	if (!strcmp(op, "*")) return json_real(x * y);
	if (!strcmp(op, "/")) return y == 0 ? NULL : json_real(x / y);
	return NULL;
}

static json_t *call_builtin(const char *fn, json_t *args)
{
	json_t *a = json_array_get(args, 0);
	if (!strcmp(fn, "len"))
		return json_integer(json_is_string(a) ? (json_int_t)json_string_length(a)
				    : json_is_array(a) ? (json_int_t)json_array_size(a) : (json_int_t)json_object_size(a));
	if (!strcmp(fn, "str")) {
		char *s;
		size_t n;
		pe_text_of(a, &s, &n);
		json_t *r = json_stringn(s, n);
		free(s);
		return r;
	}
	if (!strcmp(fn, "int"))
		return json_is_string(a) ? json_integer(strtoll(json_string_value(a), NULL, 10))
				      : json_integer((json_int_t)num(a));
	if (!strcmp(fn, "float"))
		return json_is_string(a) ? json_real(strtod(json_string_value(a), NULL)) : json_real(num(a));
	if (!strcmp(fn, "file") || !strcmp(fn, "dir"))
		return json_incref(a);
	if (!strcmp(fn, "keys") || !strcmp(fn, "values")) {
		json_t *r = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(a, k, v) json_array_append_new(r, fn[0] == 'k' ? json_string(k) : json_incref(v));
		return r;
	}
	if (!strcmp(fn, "flatten")) {
		json_t *r = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(a, i, v) json_array_extend(r, v);
		return r;
	}
	return NULL;
}

/*
 * The value of plan expression E now.  *MISSING is set when it refers to a
 * task that did not succeed.  With FOR_KEY, a task output is its content
 * hash rather than its path, so the value can go into a cache key.
 */
json_t *pe_eval(runner *R, json_t *e, int for_key, int *missing)
{
	if (json_is_array(e)) {
		json_t *r = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(e, i, x) {
			json_t *v = pe_eval(R, x, for_key, missing);
			json_array_append_new(r, v ? v : json_null());
		}
		return r;
	}
	if (!json_is_object(e))
		return json_incref(e);
	json_t *v;
	if ((v = json_object_get(e, "ref"))) {
		json_t *k = json_object_get(R->index, json_string_value(v));
		uint32_t ti = k ? (uint32_t)json_integer_value(k) : 0;
		if (!k || !pe_ok_state(R->t[ti].st)) {
			*missing = 1;
			return NULL;
		}
		json_t *out = json_object_get(e, "output");
		if (out)
			return output_value(R, ti, json_string_value(out), for_key);
		json_t *r = json_object();
		const char *name;
		json_t *o;
		json_object_foreach(R->t[ti].outputs, name, o) json_object_set_new(r, name, output_value(R, ti, name, for_key));
		return r;
	}
	if ((v = json_object_get(e, "const")))
		return json_incref(v);
	if ((v = json_object_get(e, "op"))) {
		json_t *args = pe_eval(R, json_object_get(e, "args"), for_key, missing);
		json_t *r = *missing ? NULL : apply_op(json_string_value(v), json_array_get(args, 0), json_array_get(args, 1));
		json_decref(args);
		return r;
	}
	if ((v = json_object_get(e, "call"))) {
		json_t *args = pe_eval(R, json_object_get(e, "args"), for_key, missing);
		json_t *r = *missing ? NULL : call_builtin(json_string_value(v), args);
		json_decref(args);
		return r;
	}
	if ((v = json_object_get(e, "field"))) {
		json_t *of = pe_eval(R, json_object_get(e, "of"), for_key, missing);
		json_t *r = of ? json_incref(json_object_get(of, json_string_value(v))) : NULL;
		json_decref(of);
		return r;
	}
	if ((v = json_object_get(e, "concat"))) {
		json_t *parts = pe_eval(R, v, for_key, missing);
		char *s;
		size_t n;
		FILE *f = open_memstream(&s, &n);
		size_t i;
		json_t *x;
		json_array_foreach(parts, i, x) {
			char *t;
			size_t tn;
			pe_text_of(x, &t, &tn);
			fwrite(t, 1, tn, f);
			free(t);
		}
		fclose(f);
		json_t *r = json_stringn(s, n);
		free(s);
		json_decref(parts);
		return r;
	}
	if ((v = json_object_get(e, "if"))) {
		json_t *c = pe_eval(R, v, for_key, missing);
		if (!c)
			return NULL;
		int yes = json_is_true(c);
		json_decref(c);
		return pe_eval(R, json_object_get(e, yes ? "then" : "else"), for_key, missing);
	}
	if ((v = json_object_get(e, "first_of"))) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			int miss = 0;
			json_t *r = pe_eval(R, x, for_key, &miss);
			if (!miss)
				return r;
			json_decref(r);
		}
		*missing = 1;
		return NULL;
	}
	if ((v = json_object_get(e, "gather"))) { /* the list a run-time for made: one value per instance */
		const char *sid = json_string_value(v);
		json_t *list = pe_scatter_list(R, sid, missing);
		if (!list)
			return NULL;
		json_t *r = json_array();
		size_t k;
		json_t *elem;
		json_array_foreach(list, k, elem) {
			json_t *vk = pe_for_element(R, json_object_get(e, "value"), sid, k, elem);
			json_t *x = pe_eval(R, vk, for_key, missing);
			json_decref(vk);
			if (*missing) {
				json_decref(x);
				break;
			}
			json_array_append_new(r, x ? x : json_null());
		}
		json_decref(list);
		if (*missing) {
			json_decref(r);
			return NULL;
		}
		return r;
	}
	if (json_object_get(e, "item")) { /* outside its instance: no value */
		*missing = 1;
		return NULL;
	}
	/* a record constant whose fields may hold references */
	json_t *r = json_object();
	const char *k;
	json_object_foreach(e, k, v) {
		json_t *x = pe_eval(R, v, for_key, missing);
		json_object_set_new(r, k, x ? x : json_null());
	}
	return r;
}

/* ---- hashing and outputs ---------------------------------------------------------- */

