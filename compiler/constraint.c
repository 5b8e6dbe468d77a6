/*
 * constraint.c - value constraints (LANGUAGE.md section 7).
 *
 * `where` on a parameter and `require` in a pipeline are Bool expressions
 * over parameters and literals.  The checker calls this module at every call
 * site to *prove* the callee's constraints from the arguments, *refute* them
 * (an error naming the values that break them), or leave them *undecided*
 * (a run-time check; --strict makes it an error).
 *
 * The abstract domain is an interval per numeric value (Int, Float, Size in
 * bytes, Duration in ns; long double holds every int64 exactly), plus
 * constant Bools and Strings.  An expression is evaluated over intervals
 * (linear arithmetic: + - * / by constants, and products of intervals); a
 * comparison of two intervals is true when it holds for every pair of values,
 * false when it holds for none, and unknown otherwise; && || ! follow Kleene's
 * three-valued logic.  What a caller knows about its own parameters comes
 * from its own `where` clauses and the `require`s before the call: each
 * comparison of a name with a constant narrows that name's interval.
 *
 * Everything here over-approximates: an interval may hold values that cannot
 * occur, never the other way round.  So "proven" and "refuted" are sound, and
 * what cannot be decided is left to run time.
 */
#include "constraint.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

pc_absval pc_av_top(void)
{
	return (pc_absval){.kind = PC_AV_TOP};
}

pc_absval pc_av_num(pc_type_kind tk, long double lo, long double hi)
{
	return (pc_absval){.kind = PC_AV_NUM, .tk = (uint8_t)tk, .lo = lo, .hi = hi};
}

static int is_int_kind(int tk)
{
	return tk == PC_T_INT || tk == PC_T_SIZE || tk == PC_T_DURATION;
}

static pc_absval num_range(int tk)
{
	/* an Int-like value without bounds */
	return pc_av_num((pc_type_kind)tk, -INFINITY, INFINITY);
}

static pc_absval arith(int op, pc_absval a, pc_absval b)
{
	if (a.kind != PC_AV_NUM || b.kind != PC_AV_NUM)
		return pc_av_top();
	int tk = a.tk;
	if (a.tk == PC_T_FLOAT || b.tk == PC_T_FLOAT)
		tk = PC_T_FLOAT;
	else if (a.tk == PC_T_INT && b.tk != PC_T_INT)
		tk = b.tk; /* Int * Size */
	long double c[4];
	switch (op) {
	case PC_OP_ADD:
		return pc_av_num((pc_type_kind)tk, a.lo + b.lo, a.hi + b.hi);
	case PC_OP_SUB:
		return pc_av_num((pc_type_kind)tk, a.lo - b.hi, a.hi - b.lo);
	case PC_OP_MUL:
		c[0] = a.lo * b.lo, c[1] = a.lo * b.hi, c[2] = a.hi * b.lo, c[3] = a.hi * b.hi;
		break;
	case PC_OP_DIV:
		if (b.lo <= 0 && b.hi >= 0)
			return num_range(tk);
		c[0] = a.lo / b.lo, c[1] = a.lo / b.hi, c[2] = a.hi / b.lo, c[3] = a.hi / b.hi;
		if (is_int_kind(tk))
			for (int i = 0; i < 4; i++)
				c[i] = truncl(c[i]);
		break;
	case PC_OP_MOD:
		if (b.lo == b.hi && b.lo > 0 && a.lo >= 0)
			return pc_av_num((pc_type_kind)tk, 0, fminl(b.lo - 1, a.hi));
		return num_range(tk);
	default:
		return pc_av_top();
	}
	long double lo = c[0], hi = c[0];
	for (int i = 1; i < 4; i++) {
		if (isnan(c[i]))
			return num_range(tk);
		lo = fminl(lo, c[i]);
		hi = fmaxl(hi, c[i]);
	}
	if (isnan(lo) || isnan(hi))
		return num_range(tk);
	return pc_av_num((pc_type_kind)tk, lo, hi);
}

pc_absval pc_av_eval(const pc_ast *e, pc_av_lookup lookup, void *ud)
{
	switch ((pc_ast_kind)e->kind) {
	case PC_AST_INT: return pc_av_num(PC_T_INT, (long double)e->v.i, (long double)e->v.i);
	case PC_AST_SIZE: return pc_av_num(PC_T_SIZE, (long double)e->v.i, (long double)e->v.i);
	case PC_AST_DURATION: return pc_av_num(PC_T_DURATION, (long double)e->v.i, (long double)e->v.i);
	case PC_AST_FLOAT: return pc_av_num(PC_T_FLOAT, e->v.f, e->v.f);
	case PC_AST_BOOL: return (pc_absval){.kind = PC_AV_BOOL, .b = (int)e->v.i};
	case PC_AST_STRING:
		if (e->list.n == 0)
			return (pc_absval){.kind = PC_AV_STR, .s = "", .slen = 0};
		if (e->list.n == 1 && e->list.items[0]->kind == PC_AST_STR_TEXT)
			return (pc_absval){.kind = PC_AV_STR, .s = e->list.items[0]->name,
					   .slen = (uint32_t)e->list.items[0]->v.i};
		return pc_av_top();
	case PC_AST_NAME: {
		const pc_absval *v = lookup ? lookup(ud, e->name) : NULL;
		return v ? *v : pc_av_top();
	}
	case PC_AST_PAREN:
		return pc_av_eval(e->a, lookup, ud);
	case PC_AST_UNARY: {
		pc_absval a = pc_av_eval(e->a, lookup, ud);
		if (e->op == PC_OP_NEG && a.kind == PC_AV_NUM)
			return pc_av_num((pc_type_kind)a.tk, -a.hi, -a.lo);
		if (e->op == PC_OP_NOT && a.kind == PC_AV_BOOL)
			return (pc_absval){.kind = PC_AV_BOOL, .b = !a.b};
		return pc_av_top();
	}
	case PC_AST_BINARY: {
		if (e->op == PC_OP_AND || e->op == PC_OP_OR) {
			pc_truth t = pc_av_truth(e, lookup, ud);
			return t == PC_UNKNOWN ? pc_av_top() : (pc_absval){.kind = PC_AV_BOOL, .b = t == PC_TRUE};
		}
		return arith(e->op, pc_av_eval(e->a, lookup, ud), pc_av_eval(e->b, lookup, ud));
	}
	case PC_AST_COMPARE: {
		pc_truth t = pc_av_truth(e, lookup, ud);
		return t == PC_UNKNOWN ? pc_av_top() : (pc_absval){.kind = PC_AV_BOOL, .b = t == PC_TRUE};
	}
	default:
		return pc_av_top();
	}
}

static pc_truth cmp(int op, pc_absval a, pc_absval b)
{
	if (a.kind == PC_AV_STR && b.kind == PC_AV_STR && (op == PC_OP_EQ || op == PC_OP_NE)) {
		int eq = a.slen == b.slen && memcmp(a.s, b.s, a.slen) == 0;
		return (op == PC_OP_EQ) == eq ? PC_TRUE : PC_FALSE;
	}
	if (a.kind == PC_AV_BOOL && b.kind == PC_AV_BOOL && (op == PC_OP_EQ || op == PC_OP_NE))
		return (op == PC_OP_EQ) == (a.b == b.b) ? PC_TRUE : PC_FALSE;
	if (a.kind != PC_AV_NUM || b.kind != PC_AV_NUM)
		return PC_UNKNOWN;
	switch (op) {
	case PC_OP_LT:
		return a.hi < b.lo ? PC_TRUE : a.lo >= b.hi ? PC_FALSE : PC_UNKNOWN;
	case PC_OP_LE:
		return a.hi <= b.lo ? PC_TRUE : a.lo > b.hi ? PC_FALSE : PC_UNKNOWN;
	case PC_OP_GT:
		return cmp(PC_OP_LT, b, a);
	case PC_OP_GE:
		return cmp(PC_OP_LE, b, a);
	case PC_OP_EQ:
		if (a.lo == a.hi && b.lo == b.hi && a.lo == b.lo)
			return PC_TRUE;
		return a.hi < b.lo || b.hi < a.lo ? PC_FALSE : PC_UNKNOWN;
	case PC_OP_NE: {
		pc_truth t = cmp(PC_OP_EQ, a, b);
		return t == PC_UNKNOWN ? t : t == PC_TRUE ? PC_FALSE : PC_TRUE;
	}
	}
	return PC_UNKNOWN;
}

pc_truth pc_av_truth(const pc_ast *e, pc_av_lookup lookup, void *ud)
{
	switch ((pc_ast_kind)e->kind) {
	case PC_AST_PAREN:
		return pc_av_truth(e->a, lookup, ud);
	case PC_AST_UNARY:
		if (e->op == PC_OP_NOT) {
			pc_truth t = pc_av_truth(e->a, lookup, ud);
			return t == PC_UNKNOWN ? t : t == PC_TRUE ? PC_FALSE : PC_TRUE;
		}
		return PC_UNKNOWN;
	case PC_AST_BINARY:
		if (e->op == PC_OP_AND || e->op == PC_OP_OR) {
			pc_truth a = pc_av_truth(e->a, lookup, ud), b = pc_av_truth(e->b, lookup, ud);
			if (e->op == PC_OP_AND)
				return a == PC_FALSE || b == PC_FALSE ? PC_FALSE
				       : a == PC_TRUE && b == PC_TRUE ? PC_TRUE : PC_UNKNOWN;
			return a == PC_TRUE || b == PC_TRUE ? PC_TRUE
			       : a == PC_FALSE && b == PC_FALSE ? PC_FALSE : PC_UNKNOWN;
		}
		return PC_UNKNOWN;
	case PC_AST_COMPARE: {
		pc_absval left = pc_av_eval(e->a, lookup, ud);
		pc_truth all = PC_TRUE;
		for (uint32_t i = 0; i < e->list.n; i++) {
			pc_absval right = pc_av_eval(e->list.items[i]->a, lookup, ud);
			pc_truth t = cmp(e->list.items[i]->op, left, right);
			if (t == PC_FALSE)
				return PC_FALSE;
			if (t == PC_UNKNOWN)
				all = PC_UNKNOWN;
			left = right;
		}
		return all;
	}
	default: {
		pc_absval v = pc_av_eval(e, lookup, ud);
		return v.kind == PC_AV_BOOL ? (v.b ? PC_TRUE : PC_FALSE) : PC_UNKNOWN;
	}
	}
}

/* Narrows NAME's value by "NAME op c" where C is the interval of a constant side. */
static void narrow(pc_av_narrow set, void *ud, pc_av_lookup lookup, const char *name, int op,
		   pc_absval c)
{
	if (c.kind != PC_AV_NUM)
		return;
	const pc_absval *cur = lookup(ud, name);
	pc_absval v = cur && cur->kind == PC_AV_NUM ? *cur : num_range(c.tk);
	if (cur && cur->kind == PC_AV_NUM)
		v.tk = cur->tk;
	int ints = is_int_kind(v.tk);
	switch (op) {
	case PC_OP_LT: v.hi = fminl(v.hi, ints ? c.hi - 1 : c.hi); break;
	case PC_OP_LE: v.hi = fminl(v.hi, c.hi); break;
	case PC_OP_GT: v.lo = fmaxl(v.lo, ints ? c.lo + 1 : c.lo); break;
	case PC_OP_GE: v.lo = fmaxl(v.lo, c.lo); break;
	case PC_OP_EQ:
		v.lo = fmaxl(v.lo, c.lo);
		v.hi = fminl(v.hi, c.hi);
		break;
	default: return;
	}
	set(ud, name, v);
}

static int flip(int op)
{
	switch (op) {
	case PC_OP_LT: return PC_OP_GT;
	case PC_OP_GT: return PC_OP_LT;
	case PC_OP_LE: return PC_OP_GE;
	case PC_OP_GE: return PC_OP_LE;
	default: return op;
	}
}

void pc_av_assume(const pc_ast *e, pc_av_lookup lookup, pc_av_narrow set, void *ud)
{
	switch ((pc_ast_kind)e->kind) {
	case PC_AST_PAREN:
		pc_av_assume(e->a, lookup, set, ud);
		return;
	case PC_AST_BINARY:
		if (e->op == PC_OP_AND) {
			pc_av_assume(e->a, lookup, set, ud);
			pc_av_assume(e->b, lookup, set, ud);
		}
		return;
	case PC_AST_COMPARE: {
		const pc_ast *left = e->a;
		for (uint32_t i = 0; i < e->list.n; i++) {
			const pc_ast *right = e->list.items[i]->a;
			int op = e->list.items[i]->op;
			if (left->kind == PC_AST_NAME)
				narrow(set, ud, lookup, left->name, op, pc_av_eval(right, lookup, ud));
			if (right->kind == PC_AST_NAME)
				narrow(set, ud, lookup, right->name, flip(op), pc_av_eval(left, lookup, ud));
			left = right;
		}
		return;
	}
	default:
		return;
	}
}

static void print_scaled(pc_buf *b, long double v, const char *const *names, const long double *scale,
			 int n)
{
	for (int i = 0; i < n; i++) {
		long double q = v / scale[i];
		if (v != 0 && q == truncl(q)) {
			pc_buf_printf(b, "%.0Lf%s", q, names[i]);
			return;
		}
	}
	pc_buf_printf(b, "%.0Lf%s", v, names[n - 1]);
}

void pc_av_print_value(pc_buf *b, int tk, long double v)
{
	if (isinf(v)) {
		pc_buf_adds(b, v < 0 ? "-inf" : "inf");
		return;
	}
	if (tk == PC_T_SIZE) {
		static const char *const names[] = {"PiB", "TiB", "GiB", "MiB", "KiB", "PB", "TB", "GB", "MB", "KB", "B"};
		static const long double scale[] = {1125899906842624.0L, 1099511627776.0L, 1073741824.0L,
						    1048576.0L, 1024.0L, 1e15L, 1e12L, 1e9L, 1e6L, 1e3L, 1.0L};
		print_scaled(b, v, names, scale, 11);
	} else if (tk == PC_T_DURATION) {
		static const char *const names[] = {"d", "h", "m", "s", "ms", "us", "ns"};
		static const long double scale[] = {86400e9L, 3600e9L, 60e9L, 1e9L, 1e6L, 1e3L, 1.0L};
		print_scaled(b, v, names, scale, 7);
	} else if (tk == PC_T_FLOAT) {
		pc_buf_printf(b, "%.17Lg", v);
	} else {
		pc_buf_printf(b, "%.0Lf", v);
	}
}

void pc_av_describe(pc_buf *b, const pc_absval *v)
{
	switch (v->kind) {
	case PC_AV_NUM:
		if (v->lo == v->hi) {
			pc_av_print_value(b, v->tk, v->lo);
		} else if (isinf(v->lo)) {
			pc_buf_adds(b, "at most ");
			pc_av_print_value(b, v->tk, v->hi);
		} else if (isinf(v->hi)) {
			pc_buf_adds(b, "at least ");
			pc_av_print_value(b, v->tk, v->lo);
		} else {
			pc_buf_adds(b, "between ");
			pc_av_print_value(b, v->tk, v->lo);
			pc_buf_adds(b, " and ");
			pc_av_print_value(b, v->tk, v->hi);
		}
		break;
	case PC_AV_BOOL:
		pc_buf_adds(b, v->b ? "true" : "false");
		break;
	case PC_AV_STR:
		pc_buf_printf(b, "\"%.*s\"", (int)v->slen, v->s);
		break;
	default:
		pc_buf_adds(b, "unconstrained");
	}
}
