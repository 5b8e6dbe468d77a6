/*
 * engine-values.c - run-time expressions: the values the plan leaves to the
 * runtime (docs/plan.md, Values): outputs of tasks, fields, operators,
 * built-in calls, interpolation, `if`, `try` (first_of), the lists a
 * run-time `for` gathers.  pe_eval() with FOR_KEY gives an output's content
 * hash instead of its value (what a cache key is made of); *MISSING is set
 * when a value depends on a task that did not succeed, or an operation on
 * values failed (checked as the compiler checks what it folds: an Int that
 * overflows, a division by zero; never a trap).  pe_text_of() is how
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

/* A failed operation's reason into WHY ("A OP B ..."), for the task whose input or condition it was. */
static json_t *op_failed(char *why, size_t wn, json_t *a, const char *op, json_t *b, const char *what)
{
	char *x = NULL, *y = NULL;
	size_t xn = 0, yn = 0;
	if (a)
		pe_text_of(a, &x, &xn);
	if (b)
		pe_text_of(b, &y, &yn);
	if (!strcmp(op, "neg"))
		snprintf(why, wn, "-(%.60s) %s", x ? x : "", what);
	else
		snprintf(why, wn, "%.60s %s %.60s %s", x ? x : "", op, y ? y : "", what);
	free(x);
	free(y);
	return NULL;
}

/* A finite Float, or the reason it is not (json_real() has no NaN nor infinity). */
static json_t *real_or_fail(double r, char *why, size_t wn, json_t *a, const char *op, json_t *b)
{
	if (!isfinite(r))
		return op_failed(why, wn, a, op, b, "is not a finite Float");
	return json_real(r);
}

/*
 * OP applied to A (and B): a new value, or NULL with the reason in WHY: an
 * Int that overflows 64 bits, a division (or %) by zero, a Float that is
 * not finite, operands OP does not take -- checked as the compiler checks
 * the constants it folds (compiler/lower.c), never a trap.
 */
static json_t *apply_op(const char *op, json_t *a, json_t *b, char *why, size_t wn)
{
	if (!strcmp(op, "!"))
		return json_boolean(!json_is_true(a));
	if (!strcmp(op, "neg")) {
		if (json_is_integer(a)) {
			if (json_integer_value(a) == INT64_MIN)
				return op_failed(why, wn, a, op, NULL, "overflows a 64-bit Int");
			return json_integer(-json_integer_value(a));
		}
		if (json_is_number(a))
			return json_real(-num(a));
		return op_failed(why, wn, a, op, NULL, "is not a number");
	}
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
		return op_failed(why, wn, a, op, b, "cannot be computed: an operand is not a number");
	if (!strcmp(op, "<")) return json_boolean(num(a) < num(b));
	if (!strcmp(op, "<=")) return json_boolean(num(a) <= num(b));
	if (!strcmp(op, ">")) return json_boolean(num(a) > num(b));
	if (!strcmp(op, ">=")) return json_boolean(num(a) >= num(b));
	if (json_is_integer(a) && json_is_integer(b)) {
		int64_t x = json_integer_value(a), y = json_integer_value(b), r = 0;
		int over = 0;
		if (!strcmp(op, "+"))
			over = __builtin_add_overflow(x, y, &r);
		else if (!strcmp(op, "-"))
			over = __builtin_sub_overflow(x, y, &r);
		else if (!strcmp(op, "*"))
			over = __builtin_mul_overflow(x, y, &r);
		else if (!strcmp(op, "/") || !strcmp(op, "%")) {
			if (y == 0)
				return op_failed(why, wn, a, op, b, "is a division by zero");
			if (x == INT64_MIN && y == -1)
				over = 1; /* the one quotient that does not fit: a SIGFPE on x86 */
			else
				r = op[0] == '/' ? x / y : x % y;
		} else
			return op_failed(why, wn, a, op, b, "cannot be computed: an unknown operator");
		if (over)
			return op_failed(why, wn, a, op, b, "overflows a 64-bit Int");
		return json_integer(r);
	}
	double x = num(a), y = num(b);
	if (!strcmp(op, "+")) return real_or_fail(x + y, why, wn, a, op, b);
	if (!strcmp(op, "-")) return real_or_fail(x - y, why, wn, a, op, b);
	if (!strcmp(op, "*")) return real_or_fail(x * y, why, wn, a, op, b);
	if (!strcmp(op, "/") || !strcmp(op, "%")) {
		if (y == 0)
			return op_failed(why, wn, a, op, b, "is a division by zero");
		return real_or_fail(op[0] == '/' ? x / y : fmod(x, y), why, wn, a, op, b);
	}
	return op_failed(why, wn, a, op, b, "cannot be computed: an unknown operator");
}

static json_t *call_builtin(const char *fn, json_t *args, char *why, size_t wn)
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
	if (!strcmp(fn, "int")) {
		if (json_is_string(a))
			return json_integer(strtoll(json_string_value(a), NULL, 10));
		double d = num(a); /* a double out of range converted to an Int is undefined: said instead */
		if (json_is_integer(a))
			return json_integer(json_integer_value(a));
		if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
			char *x;
			size_t xn;
			pe_text_of(a, &x, &xn);
			snprintf(why, wn, "int(%.60s) is out of the range of a 64-bit Int", x);
			free(x);
			return NULL;
		}
		return json_integer((json_int_t)d);
	}
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
	snprintf(why, wn, "%.60s() is not a built-in this runtime knows", fn);
	return NULL;
}

/*
 * The value of plan expression E now (a new reference, or NULL).  *MISSING
 * gets PE_MISSING when it refers to a task that did not succeed, and
 * PE_EVAL_FAILED when an operation or a built-in failed (an Int overflow, a
 * division by zero: the reason in R->eval_why) -- the task whose input or
 * condition it is then fails; a `try` does not catch it.  With FOR_KEY, a
 * task output is its content hash rather than its path, so the value can
 * go into a cache key.
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
			*missing |= PE_MISSING;
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
		json_t *r = NULL;
		if (!*missing && !(r = apply_op(json_string_value(v), json_array_get(args, 0), json_array_get(args, 1),
					       R->eval_why, sizeof R->eval_why)))
			*missing |= PE_EVAL_FAILED;
		json_decref(args);
		return r;
	}
	if ((v = json_object_get(e, "call"))) {
		json_t *args = pe_eval(R, json_object_get(e, "args"), for_key, missing);
		json_t *r = NULL;
		R->eval_why[0] = 0;
		if (!*missing && !(r = call_builtin(json_string_value(v), args, R->eval_why, sizeof R->eval_why))) {
			*missing |= PE_EVAL_FAILED;
			if (!R->eval_why[0])
				snprintf(R->eval_why, sizeof R->eval_why, "%.60s() has no value here", json_string_value(v));
		}
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
			if (miss & PE_EVAL_FAILED) { /* try is for tasks that did not succeed, not for arithmetic */
				*missing |= miss;
				return NULL;
			}
		}
		*missing |= PE_MISSING;
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
		*missing |= PE_MISSING;
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

