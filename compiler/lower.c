/*
 * lower.c - lowering a checked pipeline to the plan (docs/plan.md).
 *
 * The entry pipeline is evaluated at compile time with its parameters.
 * Values known then (literals, parameters, arithmetic on them, records,
 * lists, compile-time ranges) are folded; a stage call becomes a task whose
 * value is a reference to its outputs; anything computed from task outputs
 * is a run-time expression (JSON) the runtime evaluates when its inputs
 * exist.  The constructs whose shape depends on run-time values become the
 * plan's run-time pieces:
 *
 *   if c {..} else {..}  c known: only the branch taken is lowered.  c at
 *                        run time: both are, each task carrying a `when`.
 *   for x in xs {..}     xs known: unrolled, ids suffixed [i].  xs at run
 *                        time: the body is lowered once as a `scatter`
 *                        template the runtime expands per element.
 *   try e1 else e2       e2's tasks run only if one of e1's failed
 *                        (`fallback_of`); the value is the first that exists.
 *   e after d            e's tasks wait for d's (`after`: control edges).
 *   where / require      decided now when the values are known (a refuted
 *                        one is an error), else a run-time `check`.
 *
 * Task ids come from the statements that made them (`let c = fetch(n)` is
 * task "c"; a call not bound by let is named after its stage), prefixed by
 * the sub-pipeline they are in and suffixed for loops and repeats, so they
 * follow the pipeline's statements, not the order of declarations.  The
 * plan is written with sorted keys; its content hash is over the plan
 * without source locations, so moving declarations changes nothing but
 * the locations.
 */
#include "lower.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "constraint.h"
#include "profile.h"

enum { LV_INT, LV_FLOAT, LV_BOOL, LV_STR, LV_NONE, LV_LIST, LV_REC, LV_ENUM, LV_REF, LV_RT };
enum { U_INT, U_SIZE, U_DURATION };

typedef struct lval lval;
struct lval {
	uint8_t kind;     /* LV_* */
	uint8_t unit;     /* LV_INT: U_* */
	int64_t i;
	double f;
	const char *s;    /* LV_STR (s, n), LV_ENUM member */
	uint32_t n;
	lval **items;     /* LV_LIST, LV_REC */
	const char **keys;/* LV_REC */
	uint32_t count;
	json_t *rt;       /* LV_RT: a run-time expression; owned by the lowerer's pool */
	const char *out;  /* LV_REF: the output (NULL: all named outputs); s is the task id */
};

typedef struct env {
	struct env *parent;
	pc_map names; /* interned name -> lval */
} env;

/* One task of the plan, kept as C data until the plan is written. */
typedef struct task {
	const char *id, *stage, *module;
	const pc_ast *call;     /* where it was called (loc) */
	const pc_sig *sig;      /* inputs and outputs: names and types */
	lval **inputs;          /* one per parameter */
	json_t *command;        /* array of text and pieces */
	lval *resources;        /* a record, or NULL */
	int64_t attempts, backoff_ns, priority;
	lval *timeout, *image, *env; /* NULL: not given */
	int cache, checkpoint, network;
	int64_t pids;          /* sandbox: most processes at once (0: the default) */
	const char **deps;      /* interned ids */
	uint32_t ndeps;
	json_t *after, *when, *fallback, *scatter, *checks; /* arrays, or NULL */
} task;

typedef struct lowerer {
	pc_ctx *ctx;
	pc_sema *S;
	pc_module *mod;     /* module of the code being lowered */
	env *e;
	task *tasks;        /* malloc()ed */
	uint32_t ntasks, captasks;
	json_t *checks;     /* plan-level run-time checks (require) */
	json_t *pool;       /* every run-time expression made, for release */
	pc_map ids;         /* interned task id -> (void *)1 */
	const char *prefix; /* "" or "sub." */
	const char *suffix; /* "" or "[3]" */
	const char *let_name; /* the let a call is bound to, for its id */
	json_t *when;       /* array of run-time conditions on new tasks, or NULL */
	json_t *fallback;   /* array of ids new tasks are the fallback of, or NULL */
	json_t *after;      /* array of ids new tasks wait for, or NULL */
	json_t *scatter;    /* array of scatter ids new tasks belong to, or NULL */
	json_t *scatter_over; /* array of the lists those scatters expand, or NULL */
	json_t *created;    /* ids of tasks created while capturing, or NULL */
	json_t *scatters;   /* scatter id -> {"over": the list it expands}, or NULL */
	int nscatter;
	int failed;
	int depth;
} lowerer;

static lval *eval(lowerer *L, const pc_ast *e);

#define ERR(L, code, span, ...) ((L)->failed = 1, pc_diag_emit((L)->ctx, PC_SEV_ERROR, code, span, __VA_ARGS__))

/* ---- values ---------------------------------------------------------------- */

static lval *lv_new(lowerer *L, int kind)
{
	lval *v = pc_arena_alloc(L->ctx->arena, sizeof *v);
	v->kind = (uint8_t)kind;
	return v;
}

static lval *lv_int(lowerer *L, int64_t i, int unit)
{
	lval *v = lv_new(L, LV_INT);
	v->i = i;
	v->unit = (uint8_t)unit;
	return v;
}

static lval *lv_float(lowerer *L, double f)
{
	lval *v = lv_new(L, LV_FLOAT);
	v->f = f;
	return v;
}

static lval *lv_bool(lowerer *L, int b)
{
	lval *v = lv_new(L, LV_BOOL);
	v->i = b != 0;
	return v;
}

static lval *lv_str(lowerer *L, const char *s, size_t n)
{
	lval *v = lv_new(L, LV_STR);
	v->s = pc_arena_strndup(L->ctx->arena, s, n);
	v->n = (uint32_t)n;
	return v;
}

/* A run-time expression; takes the reference to J. */
static lval *lv_rt(lowerer *L, json_t *j)
{
	lval *v = lv_new(L, LV_RT);
	json_array_append_new(L->pool, j);
	v->rt = j;
	return v;
}

static lval *lv_list(lowerer *L, uint32_t n)
{
	lval *v = lv_new(L, LV_LIST);
	v->items = pc_arena_alloc(L->ctx->arena, (n + 1) * sizeof *v->items);
	v->count = n;
	return v;
}

static int is_const(const lval *v)
{
	if (v->kind == LV_RT || v->kind == LV_REF)
		return 0;
	for (uint32_t i = 0; i < v->count; i++)
		if (!is_const(v->items[i]))
			return 0;
	return 1;
}

/* The JSON of a value: constants as JSON, run-time expressions as they are. New reference. */
static json_t *to_json(const lval *v)
{
	switch (v->kind) {
	case LV_INT: return json_integer(v->i);
	case LV_FLOAT: return json_real(v->f);
	case LV_BOOL: return json_boolean(v->i);
	case LV_STR: {
		json_t *s = json_stringn(v->s, v->n);
		return s ? s : json_string("");
	}
	case LV_ENUM: return json_string(v->s);
	case LV_NONE: return json_null();
	case LV_REF: {
		json_t *o = json_object();
		json_object_set_new(o, "ref", json_string(v->s));
		if (v->out)
			json_object_set_new(o, "output", json_string(v->out));
		return o;
	}
	case LV_LIST: {
		json_t *a = json_array();
		for (uint32_t i = 0; i < v->count; i++)
			json_array_append_new(a, to_json(v->items[i]));
		return a;
	}
	case LV_REC: {
		json_t *o = json_object();
		for (uint32_t i = 0; i < v->count; i++)
			json_object_set_new(o, v->keys[i], to_json(v->items[i]));
		return o;
	}
	default:
		return json_incref(v->rt);
	}
}

/* A value as a run-time operand: constants become {"const": ...}; a list or
 * record holding run-time values is a value the runtime evaluates item by item. */
static json_t *operand(const lval *v)
{
	if (v->kind == LV_RT)
		return json_incref(v->rt);
	if (!is_const(v))
		return to_json(v);
	json_t *o = json_object();
	json_object_set_new(o, "const", to_json(v));
	return o;
}

static lval *rt_op(lowerer *L, const char *op, const lval *a, const lval *b)
{
	json_t *args = json_array();
	json_array_append_new(args, operand(a));
	if (b)
		json_array_append_new(args, operand(b));
	json_t *j = json_object();
	json_object_set_new(j, "op", json_string(op));
	json_object_set_new(j, "args", args);
	return lv_rt(L, j);
}

/* The ids of the tasks a value refers to, added to DEPS (a JSON array) unless
 * SEEN (interned ids) has them already. */
static void collect(pc_ctx *ctx, json_t *j, json_t *deps, pc_map *seen)
{
	if (json_is_object(j)) {
		json_t *r = json_object_get(j, "ref");
		if (json_is_string(r)) {
			const char *id = pc_intern(ctx->names, json_string_value(r), json_string_length(r));
			if (!pc_map_get(seen, id)) {
				pc_map_put(seen, id, (void *)1);
				json_array_append(deps, r);
			}
		}
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) collect(ctx, v, deps, seen);
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) collect(ctx, v, deps, seen);
	}
}

/* Adds the ids J refers to to DEPS, each once (DEPS' own ids count as seen). */
static void collect_refs_ctx(pc_ctx *ctx, json_t *j, json_t *deps)
{
	pc_map seen = {0};
	size_t i;
	json_t *d;
	json_array_foreach(deps, i, d)
		pc_map_put(&seen, pc_intern(ctx->names, json_string_value(d), json_string_length(d)), (void *)1);
	collect(ctx, j, deps, &seen);
	pc_map_free(&seen);
}

#define collect_refs(j, deps) collect_refs_ctx(L->ctx, (j), (deps))

static void add_dep(lowerer *L, task *t, pc_map *seen, const char *id);

/* The task ids a JSON value refers to, appended to T's deps once each. */
static void deps_of_json(lowerer *L, task *t, pc_map *seen, json_t *j)
{
	if (json_is_object(j)) {
		json_t *r = json_object_get(j, "ref");
		if (json_is_string(r)) {
			add_dep(L, t, seen, pc_intern(L->ctx->names, json_string_value(r), json_string_length(r)));
		}
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) deps_of_json(L, t, seen, v);
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) deps_of_json(L, t, seen, v);
	}
}

static void add_dep(lowerer *L, task *t, pc_map *seen, const char *id)
{
	/* few dependencies: a scan; many (a fan-in): the map */
	if (t->ndeps < 16) {
		for (uint32_t i = 0; i < t->ndeps; i++)
			if (t->deps[i] == id)
				return;
		if (t->ndeps == 15)
			for (uint32_t i = 0; i < t->ndeps; i++)
				pc_map_put(seen, t->deps[i], (void *)1);
	} else if (pc_map_get(seen, id)) {
		return;
	}
	if (t->ndeps >= 15)
		pc_map_put(seen, id, (void *)1);
	if ((t->ndeps & (t->ndeps - 1)) == 0) { /* grow at powers of two */
		const char **d = pc_arena_alloc(L->ctx->arena, (t->ndeps ? 2 * t->ndeps : 1) * sizeof *d);
		if (t->ndeps)
			memcpy(d, t->deps, t->ndeps * sizeof *d);
		t->deps = d;
	}
	t->deps[t->ndeps++] = id;
}

static void deps_of(lowerer *L, task *t, pc_map *seen, const lval *v)
{
	if (v->kind == LV_REF) {
		add_dep(L, t, seen, v->s);
		return;
	}
	if (v->kind == LV_RT) {
		deps_of_json(L, t, seen, v->rt);
		return;
	}
	for (uint32_t i = 0; i < v->count; i++)
		deps_of(L, t, seen, v->items[i]);
}

/* ---- environments ------------------------------------------------------------ */

static void push_env(lowerer *L, env *e)
{
	memset(e, 0, sizeof *e);
	e->parent = L->e;
	L->e = e;
}

static void pop_env(lowerer *L)
{
	env *e = L->e;
	L->e = e->parent;
	pc_map_free(&e->names);
}

static void bind(lowerer *L, const char *name, lval *v)
{
	pc_map_put(&L->e->names, name, v);
}

static lval *lookup(lowerer *L, const char *name)
{
	for (env *e = L->e; e; e = e->parent) {
		lval *v = pc_map_get(&e->names, name);
		if (v)
			return v;
	}
	return NULL;
}

/* ---- text forms, for commands --------------------------------------------------- */

static void text_of(pc_buf *b, const lval *v)
{
	switch (v->kind) {
	case LV_INT:
		if (v->unit == U_DURATION) {
			/* seconds, the unit commands take */
			if (v->i % 1000000000 == 0)
				pc_buf_printf(b, "%" PRId64, v->i / 1000000000);
			else
				pc_buf_printf(b, "%.9g", (double)v->i / 1e9);
		} else {
			pc_buf_printf(b, "%" PRId64, v->i);
		}
		break;
	case LV_FLOAT: {
		char tmp[32];
		pc_format_double(v->f, tmp, sizeof tmp);
		pc_buf_adds(b, tmp);
		break;
	}
	case LV_BOOL: pc_buf_adds(b, v->i ? "true" : "false"); break;
	case LV_STR: pc_buf_add(b, v->s, v->n); break;
	case LV_ENUM: pc_buf_adds(b, v->s); break;
	case LV_NONE: break;
	default: break;
	}
}

/* Appends S quoted for /bin/sh, unless it needs no quotes. */
static void shell_quote(pc_buf *b, const char *s, size_t n)
{
	int plain = n > 0;
	for (size_t i = 0; i < n && plain; i++) {
		unsigned char c = (unsigned char)s[i];
		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			strchr("_-./:=@%+,", c);
	}
	if (plain) {
		pc_buf_add(b, s, n);
		return;
	}
	pc_buf_addc(b, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			pc_buf_adds(b, "'\\''");
		else
			pc_buf_addc(b, s[i]);
	}
	pc_buf_addc(b, '\'');
}

/* ---- arithmetic ------------------------------------------------------------------- */

static int is_num(const lval *v)
{
	return v->kind == LV_INT || v->kind == LV_FLOAT;
}

static double num(const lval *v)
{
	return v->kind == LV_INT ? (double)v->i : v->f;
}

static lval *overflow(lowerer *L, const pc_ast *e)
{
	ERR(L, "E0601", e->span, "this arithmetic overflows a 64-bit Int with the values of this build");
	return lv_int(L, 0, U_INT);
}

static lval *binary(lowerer *L, const pc_ast *e)
{
	lval *a = eval(L, e->a);
	if (e->op == PC_OP_AND || e->op == PC_OP_OR) {
		if (a->kind == LV_BOOL) {
			if ((e->op == PC_OP_AND && !a->i) || (e->op == PC_OP_OR && a->i))
				return a;
			return eval(L, e->b);
		}
		return rt_op(L, pc_op_text(e->op), a, eval(L, e->b));
	}
	lval *b = eval(L, e->b);
	if (!is_const(a) || !is_const(b))
		return rt_op(L, pc_op_text(e->op), a, b);
	int op = e->op;
	if (op == PC_OP_ADD && a->kind == LV_STR && b->kind == LV_STR) {
		lval *v = lv_new(L, LV_STR);
		char *s = pc_arena_alloc(L->ctx->arena, a->n + b->n + 1);
		memcpy(s, a->s, a->n);
		memcpy(s + a->n, b->s, b->n);
		v->s = s;
		v->n = a->n + b->n;
		return v;
	}
	if (op == PC_OP_ADD && a->kind == LV_LIST && b->kind == LV_LIST) {
		lval *v = lv_list(L, a->count + b->count);
		memcpy(v->items, a->items, a->count * sizeof *v->items);
		memcpy(v->items + a->count, b->items, b->count * sizeof *v->items);
		return v;
	}
	if (!is_num(a) || !is_num(b))
		return rt_op(L, pc_op_text(op), a, b);
	if (a->kind == LV_FLOAT || b->kind == LV_FLOAT) {
		double x = num(a), y = num(b), r;
		switch (op) {
		case PC_OP_ADD: r = x + y; break;
		case PC_OP_SUB: r = x - y; break;
		case PC_OP_MUL: r = x * y; break;
		case PC_OP_DIV:
			if (y == 0) {
				ERR(L, "E0602", e->span, "division by zero with the values of this build");
				return lv_float(L, 0);
			}
			r = x / y;
			break;
		default: r = fmod(x, y); break;
		}
		return lv_float(L, r);
	}
	int64_t x = a->i, y = b->i, r = 0;
	int unit = a->unit != U_INT ? a->unit : b->unit;
	switch (op) {
	case PC_OP_ADD: if (__builtin_add_overflow(x, y, &r)) return overflow(L, e); break;
	case PC_OP_SUB: if (__builtin_sub_overflow(x, y, &r)) return overflow(L, e); break;
	case PC_OP_MUL: if (__builtin_mul_overflow(x, y, &r)) return overflow(L, e); break;
	case PC_OP_DIV:
	case PC_OP_MOD:
		if (y == 0) {
			ERR(L, "E0602", e->span, "division by zero with the values of this build");
			return lv_int(L, 0, unit);
		}
		if (x == INT64_MIN && y == -1)
			return overflow(L, e);
		r = op == PC_OP_DIV ? x / y : x % y;
		break;
	}
	return lv_int(L, r, unit);
}

static int compare_const(const lval *a, const lval *b, int op, int *result)
{
	int c;
	if (is_num(a) && is_num(b)) {
		if (a->kind == LV_INT && b->kind == LV_INT)
			c = a->i < b->i ? -1 : a->i > b->i;
		else
			c = num(a) < num(b) ? -1 : num(a) > num(b);
	} else if (a->kind == LV_STR && b->kind == LV_STR) {
		size_t n = a->n < b->n ? a->n : b->n;
		c = memcmp(a->s, b->s, n);
		if (!c)
			c = a->n < b->n ? -1 : a->n > b->n;
	} else if (op == PC_OP_EQ || op == PC_OP_NE) {
		json_t *x = to_json(a), *y = to_json(b);
		c = !json_equal(x, y);
		json_decref(x);
		json_decref(y);
	} else {
		return -1;
	}
	switch (op) {
	case PC_OP_LT: *result = c < 0; break;
	case PC_OP_LE: *result = c <= 0; break;
	case PC_OP_GT: *result = c > 0; break;
	case PC_OP_GE: *result = c >= 0; break;
	case PC_OP_EQ: *result = c == 0; break;
	default: *result = c != 0; break;
	}
	return 0;
}

static lval *compare(lowerer *L, const pc_ast *e)
{
	lval *left = eval(L, e->a);
	lval *all = NULL;
	for (uint32_t i = 0; i < e->list.n; i++) {
		const pc_ast *step = e->list.items[i];
		lval *right = eval(L, step->a);
		lval *r;
		int res;
		if (is_const(left) && is_const(right) && compare_const(left, right, step->op, &res) == 0)
			r = lv_bool(L, res);
		else
			r = rt_op(L, pc_op_text(step->op), left, right);
		if (!all) {
			all = r;
		} else if (all->kind == LV_BOOL && r->kind == LV_BOOL) {
			all = lv_bool(L, all->i && r->i);
		} else if (all->kind == LV_BOOL) {
			if (all->i)
				all = r;
		} else if (!(r->kind == LV_BOOL && r->i)) {
			all = r->kind == LV_BOOL ? r : rt_op(L, "&&", all, r);
		}
		left = right;
	}
	return all ? all : lv_bool(L, 1);
}

/* ---- tasks ------------------------------------------------------------------------- */

/* A task id not used yet: BASE, BASE-2, BASE-3... with the loop suffix. */
static const char *new_id(lowerer *L, const char *base)
{
	pc_buf b = {0};
	for (int k = 1;; k++) {
		b.len = 0;
		pc_buf_adds(&b, L->prefix);
		pc_buf_adds(&b, base);
		pc_buf_adds(&b, L->suffix);
		if (k > 1)
			pc_buf_printf(&b, "-%d", k);
		const char *id = pc_intern(L->ctx->names, b.data, b.len);
		if (!pc_map_get(&L->ids, id)) {
			pc_map_put(&L->ids, id, (void *)1);
			pc_buf_free(&b);
			return id;
		}
	}
}

static const char *type_name(lowerer *L, const pc_type *t)
{
	return pc_type_str(L->ctx, t);
}

static json_t *loc_of(lowerer *L, const pc_ast *n)
{
	const pc_source *s = L->ctx->files[n->span.file];
	uint32_t line, col;
	pc_source_linecol(s, n->span.start, &line, &col);
	json_t *o = json_object();
	json_object_set_new(o, "file", json_string(s->path));
	json_object_set_new(o, "line", json_integer(line));
	json_object_set_new(o, "column", json_integer(col));
	return o;
}

/* How the plan names a module: std.NAME, or a file's name without its directory
 * (so the plan does not depend on where pipec was run from). */
static const char *module_label(const pc_module *m)
{
	if (strncmp(m->name, "std.", 4) == 0)
		return m->name;
	const char *slash = strrchr(m->path, '/');
	return slash ? slash + 1 : m->path;
}

/* The value of a callee's parameters at a call: positional, named, defaults. */
static lval **bind_args(lowerer *L, const pc_ast *call, const pc_sig *sig, pc_module *callee_mod)
{
	lval **vals = pc_arena_alloc(L->ctx->arena, (sig->nparams + 1) * sizeof *vals);
	uint32_t pos = 0;
	for (uint32_t i = 0; i < call->list.n; i++) {
		const pc_ast *a = call->list.items[i];
		if (!a->name) {
			if (pos < sig->nparams)
				vals[pos] = eval(L, a->a);
			pos++;
			continue;
		}
		for (uint32_t k = 0; k < sig->nparams; k++)
			if (sig->params[k].name == a->name)
				vals[k] = eval(L, a->a);
	}
	/* defaults are evaluated in the callee's module, with the parameters before them */
	pc_module *saved = L->mod;
	env e;
	push_env(L, &e);
	L->mod = callee_mod;
	for (uint32_t k = 0; k < sig->nparams; k++) {
		if (!vals[k] && sig->params[k].node->b)
			vals[k] = eval(L, sig->params[k].node->b);
		if (!vals[k])
			vals[k] = lv_new(L, LV_NONE);
		bind(L, sig->params[k].name, vals[k]);
	}
	L->mod = saved;
	pop_env(L);
	return vals;
}

/* Checks the callee's where clauses with the values of this call; a run-time
 * one goes into CHECKS (may be NULL: then it is a plan-level check). */
static void where_checks(lowerer *L, const pc_ast *call, const pc_sig *sig, lval **vals, pc_module *m,
			 const char *what, json_t *checks)
{
	env e;
	push_env(L, &e);
	pc_module *saved = L->mod;
	L->mod = m;
	for (uint32_t k = 0; k < sig->nparams; k++)
		bind(L, sig->params[k].name, vals[k]);
	for (uint32_t k = 0; k < sig->nparams; k++) {
		const pc_ast *w = sig->params[k].node->c;
		if (!w)
			continue;
		lval *r = eval(L, w);
		if (r->kind == LV_BOOL && !r->i) {
			pc_buf b = {0};
			text_of(&b, vals[k]);
			const pc_source *src = L->ctx->files[w->span.file];
			pc_diag *d = ERR(L, "E0401", call->span, "%s requires %.*s, but %s is %s in this build", what,
					 (int)(w->span.end - w->span.start), src->text + w->span.start,
					 sig->params[k].name, b.data ? b.data : "none");
			pc_diag_secondary(L->ctx, d, w->span, "the constraint on '%s'", sig->params[k].name);
			pc_buf_free(&b);
		} else if (r->kind == LV_RT) {
			json_t *c = json_object();
			json_object_set_new(c, "expr", to_json(r));
			const pc_source *src = L->ctx->files[w->span.file];
			json_object_set_new(c, "constraint", json_stringn(src->text + w->span.start, w->span.end - w->span.start));
			json_object_set_new(c, "loc", loc_of(L, w));
			json_array_append_new(checks, c);
		}
	}
	L->mod = saved;
	pop_env(L);
}

static lval *resources_of(lowerer *L, const pc_ast *rec)
{
	if (rec->kind != PC_AST_RECORD)
		return NULL;
	lval *r = lv_new(L, LV_REC);
	r->items = pc_arena_alloc(L->ctx->arena, (rec->list.n + 1) * sizeof *r->items);
	r->keys = pc_arena_alloc(L->ctx->arena, (rec->list.n + 1) * sizeof *r->keys);
	for (uint32_t i = 0; i < rec->list.n; i++) {
		const pc_ast *en = rec->list.items[i];
		lval *v = eval(L, en->a);
		if (!is_const(v)) {
			ERR(L, "E0603", en->a->span, "resources must be known when the plan is built");
			continue;
		}
		r->keys[r->count] = en->name;
		r->items[r->count++] = v;
	}
	return r;
}

/* The command of a stage: literal text and the pieces the runtime fills in. */
static json_t *command_of(lowerer *L, const pc_ast *run, const pc_sig *sig)
{
	json_t *parts = json_array();
	pc_buf text = {0};
	for (uint32_t i = 0; i < run->list.n; i++) {
		const pc_ast *p = run->list.items[i];
		if (p->kind == PC_AST_STR_TEXT) {
			pc_buf_add(&text, p->name, (size_t)p->v.i);
			continue;
		}
		/* an output or the checkpoint directory: a path the runtime chooses */
		if (p->kind == PC_AST_NAME && !lookup(L, p->name)) {
			int out = 0;
			if (sig->result->kind == PC_T_RECORD && sig->result->outputs)
				out = pc_type_field(sig->result, p->name) != NULL;
			else
				out = strcmp(p->name, "out") == 0;
			if (out || strcmp(p->name, "checkpoint_dir") == 0) {
				if (text.len)
					json_array_append_new(parts, json_stringn(text.data, text.len));
				text.len = 0;
				json_t *o = json_object();
				if (out)
					json_object_set_new(o, "output", json_string(p->name));
				else
					json_object_set_new(o, "checkpoint_dir", json_true());
				json_array_append_new(parts, o);
				continue;
			}
		}
		lval *v = eval(L, p);
		if (is_const(v)) {
			if (v->kind == LV_LIST) {
				for (uint32_t k = 0; k < v->count; k++) {
					pc_buf t = {0};
					text_of(&t, v->items[k]);
					if (k)
						pc_buf_addc(&text, ' ');
					shell_quote(&text, t.data ? t.data : "", t.len);
					pc_buf_free(&t);
				}
			} else {
				pc_buf t = {0};
				text_of(&t, v);
				shell_quote(&text, t.data ? t.data : "", t.len);
				pc_buf_free(&t);
			}
			continue;
		}
		if (text.len)
			json_array_append_new(parts, json_stringn(text.data, text.len));
		text.len = 0;
		json_t *o = json_object();
		json_object_set_new(o, "value", to_json(v));
		json_object_set_new(o, "quote", json_true());
		json_array_append_new(parts, o);
	}
	if (text.len || json_array_size(parts) == 0)
		json_array_append_new(parts, json_stringn(text.data ? text.data : "", text.len));
	pc_buf_free(&text);
	return parts;
}

static json_t *copy_or_null(json_t *arr)
{
	return arr && json_array_size(arr) ? json_deep_copy(arr) : NULL;
}

/* A stage call: one task; its value refers to the task's outputs. */
static lval *stage_call(lowerer *L, const pc_ast *call, pc_symbol *sym)
{
	pc_sig *sig = pc_sema_sig(L->S, sym);
	const char *base = L->let_name ? L->let_name : sym->name;
	L->let_name = NULL;
	lval **vals = bind_args(L, call, sig, sym->owner);
	const char *id = new_id(L, base);
	char what[256];
	snprintf(what, sizeof what, "stage '%s'", sym->name);
	json_t *checks = json_array();
	where_checks(L, call, sig, vals, sym->owner, what, checks);

	if (L->ntasks == L->captasks) {
		L->captasks = L->captasks ? 2 * L->captasks : 64;
		L->tasks = pc_xrealloc(L->tasks, L->captasks * sizeof *L->tasks);
	}
	task *t = &L->tasks[L->ntasks++];
	memset(t, 0, sizeof *t);
	t->id = id;
	t->stage = sym->name;
	t->module = module_label(sym->owner);
	t->call = call;
	t->sig = sig;
	t->inputs = vals;
	t->cache = 1;
	pc_map seen = {0};
	for (uint32_t k = 0; k < sig->nparams; k++)
		deps_of(L, t, &seen, vals[k]);

	/* the directives, evaluated with the parameters' values */
	env e;
	push_env(L, &e);
	pc_module *saved = L->mod;
	L->mod = sym->owner;
	for (uint32_t k = 0; k < sig->nparams; k++)
		bind(L, sig->params[k].name, vals[k]);
	const pc_ast *body = sym->decl->c;
	for (uint32_t i = 0; i < body->list.n; i++) {
		const pc_ast *d = body->list.items[i];
		if (d->kind != PC_AST_DIRECTIVE)
			continue;
		const char *n = d->name;
		if (strcmp(n, "run") == 0) {
			t->command = command_of(L, d->a, sig);
			continue;
		}
		if (strcmp(n, "resources") == 0) {
			t->resources = resources_of(L, d->a);
			continue;
		}
		if (strcmp(n, "retry") == 0 && d->a->kind == PC_AST_RECORD) {
			for (uint32_t k = 0; k < d->a->list.n; k++) {
				const pc_ast *en = d->a->list.items[k];
				lval *v = eval(L, en->a);
				if (v->kind == LV_INT && strcmp(en->name, "backoff") == 0)
					t->backoff_ns = v->i;
				else if (v->kind == LV_INT)
					t->attempts = v->i;
			}
			continue;
		}
		lval *v = eval(L, d->a);
		if (!is_const(v)) {
			ERR(L, "E0603", d->a->span, "the directive '%s' must be known when the plan is built", n);
			continue;
		}
		if (strcmp(n, "retry") == 0)
			t->attempts = v->i;
		else if (strcmp(n, "timeout") == 0)
			t->timeout = v;
		else if (strcmp(n, "cache") == 0)
			t->cache = (int)v->i;
		else if (strcmp(n, "checkpoint") == 0)
			t->checkpoint = (int)v->i;
		else if (strcmp(n, "priority") == 0)
			t->priority = v->i;
		else if (strcmp(n, "image") == 0)
			t->image = v;
		else if (strcmp(n, "env") == 0)
			t->env = v;
		else if (strcmp(n, "sandbox") == 0)
			for (uint32_t k = 0; k < v->count; k++) {
				if (strcmp(v->keys[k], "network") == 0)
					t->network = (int)v->items[k]->i;
				else if (strcmp(v->keys[k], "pids") == 0)
					t->pids = v->items[k]->i;
			}
	}
	L->mod = saved;
	pop_env(L);

	t->when = copy_or_null(L->when);
	t->fallback = copy_or_null(L->fallback);
	t->scatter = copy_or_null(L->scatter);
	t->after = copy_or_null(L->after);
	if (L->when)
		deps_of_json(L, t, &seen, L->when);
	if (L->scatter_over)
		deps_of_json(L, t, &seen, L->scatter_over);
	pc_map_free(&seen);
	if (json_array_size(checks))
		t->checks = checks;
	else
		json_decref(checks);
	if (L->created)
		json_array_append_new(L->created, json_string(id));

	const pc_type *r = sig->result;
	if (r->kind == PC_T_UNIT)
		return lv_new(L, LV_NONE);
	lval *ref = lv_new(L, LV_REF);
	ref->s = id;
	/* named outputs are read as fields: {"ref", "output"} */
	ref->out = r->kind == PC_T_RECORD && r->outputs ? NULL : "out";
	return ref;
}

static lval *pipeline_body(lowerer *L, const pc_ast *body, int *returned);

static lval *pipeline_call(lowerer *L, const pc_ast *call, pc_symbol *sym)
{
	if (L->depth > 64) {
		ERR(L, "E0604", call->span, "pipelines call each other more than 64 deep (a recursion?)");
		return lv_new(L, LV_NONE);
	}
	pc_sig *sig = pc_sema_sig(L->S, sym);
	const char *name = L->let_name ? L->let_name : sym->name;
	L->let_name = NULL;
	lval **vals = bind_args(L, call, sig, sym->owner);
	char what[256];
	snprintf(what, sizeof what, "pipeline '%s'", sym->name);
	where_checks(L, call, sig, vals, sym->owner, what, L->checks);
	const char *saved_prefix = L->prefix;
	pc_buf p = {0};
	pc_buf_printf(&p, "%s%s%s.", L->prefix, name, L->suffix);
	L->prefix = pc_arena_strndup(L->ctx->arena, p.data, p.len);
	pc_buf_free(&p);
	const char *saved_suffix = L->suffix;
	L->suffix = "";
	env *saved_env = L->e;
	L->e = NULL;
	env e;
	push_env(L, &e);
	pc_module *saved_mod = L->mod;
	L->mod = sym->owner;
	for (uint32_t k = 0; k < sig->nparams; k++)
		bind(L, sig->params[k].name, vals[k]);
	L->depth++;
	int returned = 0;
	lval *r = pipeline_body(L, sym->decl->c, &returned);
	L->depth--;
	pop_env(L);
	L->e = saved_env;
	L->mod = saved_mod;
	L->prefix = saved_prefix;
	L->suffix = saved_suffix;
	return r;
}

/* ---- expressions ----------------------------------------------------------------- */

static pc_symbol *path_symbol(lowerer *L, const pc_ast *e)
{
	const pc_ast *root = pc_ast_root_name(e);
	if (!root || lookup(L, root->name))
		return NULL;
	const char *path = pc_ast_dotted(L->ctx, e);
	return path ? pc_sema_lookup(L->S, L->mod, path) : NULL;
}

static lval *enum_value(lowerer *L, const char *member)
{
	lval *v = lv_new(L, LV_ENUM);
	v->s = member;
	return v;
}

static lval *field(lowerer *L, const pc_ast *e)
{
	/* E.member */
	const pc_ast *root = pc_ast_root_name(e);
	if (root && !lookup(L, root->name)) {
		const char *left = pc_ast_dotted(L->ctx, e->a);
		pc_symbol *sym = left ? pc_sema_lookup(L->S, L->mod, left) : NULL;
		if (sym && sym->kind == PC_SYM_ENUM)
			return enum_value(L, e->name);
	}
	lval *v = eval(L, e->a);
	if (v->kind == LV_REC) {
		for (uint32_t i = 0; i < v->count; i++)
			if (v->keys[i] == e->name || strcmp(v->keys[i], e->name) == 0)
				return v->items[i];
		return lv_new(L, LV_NONE);
	}
	if (v->kind == LV_REF && !v->out) {
		/* a task's named output */
		lval *r = lv_new(L, LV_REF);
		r->s = v->s;
		r->out = e->name;
		return r;
	}
	if (v->kind == LV_RT || v->kind == LV_REF) {
		/* a field of a run-time record */
		json_t *j = json_object();
		json_object_set_new(j, "field", json_string(e->name));
		json_object_set_new(j, "of", operand(v));
		return lv_rt(L, j);
	}
	return lv_new(L, LV_NONE);
}

static lval *builtin(lowerer *L, const pc_ast *call, const char *fn)
{
	uint32_t n = call->list.n;
	lval *a[2] = {NULL, NULL};
	for (uint32_t i = 0; i < n && i < 2; i++)
		a[i] = eval(L, call->list.items[i]->a);
	int known = a[0] && is_const(a[0]) && (!a[1] || is_const(a[1]));
	if (!known) {
		json_t *args = json_array();
		for (uint32_t i = 0; i < n && i < 2; i++)
			json_array_append_new(args, operand(a[i]));
		json_t *j = json_object();
		json_object_set_new(j, "call", json_string(fn));
		json_object_set_new(j, "args", args);
		return lv_rt(L, j);
	}
	lval *x = a[0];
	if (strcmp(fn, "len") == 0)
		return lv_int(L, x->kind == LV_STR ? x->n : x->count, U_INT);
	if (strcmp(fn, "range") == 0) {
		int64_t lo = a[1] ? x->i : 0, hi = a[1] ? a[1]->i : x->i;
		if (hi - lo > 1000000) {
			ERR(L, "E0605", call->span, "range(%" PRId64 ", %" PRId64 ") has more than a million elements", lo, hi);
			return lv_list(L, 0);
		}
		lval *v = lv_list(L, hi > lo ? (uint32_t)(hi - lo) : 0);
		for (int64_t i = lo; i < hi; i++)
			v->items[i - lo] = lv_int(L, i, U_INT);
		return v;
	}
	if (strcmp(fn, "str") == 0) {
		pc_buf b = {0};
		text_of(&b, x);
		lval *v = lv_str(L, b.data ? b.data : "", b.len);
		pc_buf_free(&b);
		return v;
	}
	if (strcmp(fn, "int") == 0) {
		if (x->kind == LV_FLOAT)
			return lv_int(L, (int64_t)x->f, U_INT);
		if (x->kind == LV_STR) {
			char *end;
			char *tmp = pc_arena_strndup(L->ctx->arena, x->s, x->n);
			errno = 0;
			long long v = strtoll(tmp, &end, 10);
			if (errno || *end || end == tmp)
				ERR(L, "E0606", call->span, "int(\"%s\"): not a whole number", tmp);
			return lv_int(L, v, U_INT);
		}
		return lv_int(L, x->i, U_INT);
	}
	if (strcmp(fn, "float") == 0) {
		if (x->kind == LV_STR) {
			char *tmp = pc_arena_strndup(L->ctx->arena, x->s, x->n), *end;
			double v = strtod(tmp, &end);
			if (*end || end == tmp)
				ERR(L, "E0606", call->span, "float(\"%s\"): not a number", tmp);
			return lv_float(L, v);
		}
		return lv_float(L, num(x));
	}
	if (strcmp(fn, "file") == 0 || strcmp(fn, "dir") == 0)
		return x;
	if (strcmp(fn, "flatten") == 0) {
		uint32_t total = 0;
		for (uint32_t i = 0; i < x->count; i++)
			total += x->items[i]->count;
		lval *v = lv_list(L, total);
		total = 0;
		for (uint32_t i = 0; i < x->count; i++)
			for (uint32_t j = 0; j < x->items[i]->count; j++)
				v->items[total++] = x->items[i]->items[j];
		return v;
	}
	if (strcmp(fn, "zip") == 0) {
		uint32_t m = x->count < a[1]->count ? x->count : a[1]->count;
		lval *v = lv_list(L, m);
		for (uint32_t i = 0; i < m; i++) {
			lval *r = lv_new(L, LV_REC);
			r->count = 2;
			r->keys = pc_arena_alloc(L->ctx->arena, 2 * sizeof *r->keys);
			r->items = pc_arena_alloc(L->ctx->arena, 2 * sizeof *r->items);
			r->keys[0] = "first", r->keys[1] = "second";
			r->items[0] = x->items[i], r->items[1] = a[1]->items[i];
			v->items[i] = r;
		}
		return v;
	}
	if (strcmp(fn, "keys") == 0 || strcmp(fn, "values") == 0) {
		lval *v = lv_list(L, x->count);
		for (uint32_t i = 0; i < x->count; i++)
			v->items[i] = fn[0] == 'k' ? lv_str(L, x->keys[i], strlen(x->keys[i])) : x->items[i];
		return v;
	}
	return lv_new(L, LV_NONE);
}

static lval *call(lowerer *L, const pc_ast *e)
{
	pc_symbol *sym = path_symbol(L, e->a);
	if (sym && sym->kind == PC_SYM_STAGE)
		return stage_call(L, e, sym);
	if (sym && sym->kind == PC_SYM_PIPELINE)
		return pipeline_call(L, e, sym);
	L->let_name = NULL;
	if (sym) /* a conversion to a distinct type: the same value */
		return eval(L, e->list.items[0]->a);
	const char *fn = e->a->kind == PC_AST_NAME ? e->a->name : "";
	static const char *const conversions[] = {"Int", "Float", "Bool", "String", "Duration", "Size", "File", "Dir"};
	for (size_t i = 0; i < sizeof conversions / sizeof conversions[0]; i++)
		if (strcmp(fn, conversions[i]) == 0)
			return eval(L, e->list.items[0]->a);
	return builtin(L, e, fn);
}

/* Lowers E while recording the ids of the tasks it creates into *CREATED (new array). */
static lval *capture(lowerer *L, const pc_ast *e, json_t **created)
{
	json_t *saved = L->created;
	L->created = json_array();
	lval *v = eval(L, e);
	*created = L->created;
	if (saved)
		json_array_extend(saved, *created);
	L->created = saved;
	return v;
}

static lval *block(lowerer *L, const pc_ast *body);

/* Lowers BODY (an if branch) with COND added to the conditions of its tasks. */
static lval *guarded(lowerer *L, const pc_ast *body, json_t *cond)
{
	json_t *saved = L->when;
	L->when = saved ? json_deep_copy(saved) : json_array();
	json_array_append(L->when, cond);
	lval *v = body->kind == PC_AST_IF ? eval(L, body) : block(L, body);
	json_decref(L->when);
	L->when = saved;
	return v;
}

static lval *if_expr(lowerer *L, const pc_ast *e)
{
	lval *c = eval(L, e->a);
	if (c->kind == LV_BOOL) {
		if (c->i)
			return block(L, e->b);
		if (!e->c)
			return lv_new(L, LV_NONE);
		return e->c->kind == PC_AST_IF ? eval(L, e->c) : block(L, e->c);
	}
	/* a condition known only at run time: both branches, each guarded */
	json_t *yes = json_object();
	json_object_set_new(yes, "expr", to_json(c));
	json_object_set_new(yes, "is", json_true());
	lval *a = guarded(L, e->b, yes);
	lval *b = NULL;
	if (e->c) {
		json_t *no = json_object();
		json_object_set_new(no, "expr", to_json(c));
		json_object_set_new(no, "is", json_false());
		b = guarded(L, e->c, no);
		json_decref(no);
	}
	json_decref(yes);
	json_t *j = json_object();
	json_object_set_new(j, "if", to_json(c));
	json_object_set_new(j, "then", to_json(a));
	json_object_set_new(j, "else", b ? to_json(b) : json_null());
	return lv_rt(L, j);
}

static lval *for_expr(lowerer *L, const pc_ast *e)
{
	lval *xs = eval(L, e->a);
	const char *saved_suffix = L->suffix;
	if (xs->kind == LV_LIST) {
		lval *out = lv_list(L, xs->count);
		for (uint32_t i = 0; i < xs->count; i++) {
			pc_buf b = {0};
			pc_buf_printf(&b, "%s[%u]", saved_suffix, i);
			L->suffix = pc_arena_strndup(L->ctx->arena, b.data, b.len);
			pc_buf_free(&b);
			env en;
			push_env(L, &en);
			bind(L, e->name, xs->items[i]);
			out->items[i] = block(L, e->b);
			pop_env(L);
		}
		L->suffix = saved_suffix;
		return out;
	}
	/* a list known only at run time: a scatter the runtime expands */
	char sid[32];
	snprintf(sid, sizeof sid, "scatter-%d", ++L->nscatter);
	json_t *item = json_object();
	json_object_set_new(item, "item", json_string(sid));
	json_t *saved_scatter = L->scatter, *saved_over = L->scatter_over;
	L->scatter = saved_scatter ? json_deep_copy(saved_scatter) : json_array();
	json_array_append_new(L->scatter, json_string(sid));
	L->scatter_over = saved_over ? json_deep_copy(saved_over) : json_array();
	json_array_append_new(L->scatter_over, to_json(xs));
	if (!L->scatters)
		L->scatters = json_object();
	json_t *sc = json_object();
	json_object_set_new(sc, "over", to_json(xs));
	if (saved_scatter && json_array_size(saved_scatter)) /* the run-time fors it is inside */
		json_object_set_new(sc, "within", json_deep_copy(saved_scatter));
	json_object_set_new(L->scatters, sid, sc);
	pc_buf b = {0};
	pc_buf_printf(&b, "%s[*]", saved_suffix);
	L->suffix = pc_arena_strndup(L->ctx->arena, b.data, b.len);
	pc_buf_free(&b);
	env en;
	push_env(L, &en);
	bind(L, e->name, lv_rt(L, item));
	lval *body = block(L, e->b);
	pop_env(L);
	json_decref(L->scatter);
	L->scatter = saved_scatter;
	json_decref(L->scatter_over);
	L->scatter_over = saved_over;
	L->suffix = saved_suffix;
	json_t *j = json_object();
	json_object_set_new(j, "gather", json_string(sid));
	json_object_set_new(j, "over", to_json(xs));
	json_object_set_new(j, "value", to_json(body));
	return lv_rt(L, j);
}

static lval *try_expr(lowerer *L, const pc_ast *e)
{
	json_t *first;
	lval *a = capture(L, e->a, &first);
	json_t *saved = L->fallback;
	L->fallback = first;
	json_t *second;
	lval *b = capture(L, e->b, &second);
	L->fallback = saved;
	json_t *j = json_object();
	json_t *opts = json_array();
	json_array_append_new(opts, to_json(a));
	json_array_append_new(opts, to_json(b));
	json_object_set_new(j, "first_of", opts);
	json_decref(first);
	json_decref(second);
	return lv_rt(L, j);
}

static lval *after_expr(lowerer *L, const pc_ast *e)
{
	json_t *before;
	lval *d = capture(L, e->b, &before);
	/* what d's value refers to counts as well as the tasks it created */
	json_t *v = to_json(d);
	collect_refs(v, before);
	json_decref(v);
	json_t *saved = L->after;
	L->after = saved ? json_deep_copy(saved) : json_array();
	json_array_extend(L->after, before);
	json_decref(before);
	lval *r = eval(L, e->a);
	json_decref(L->after);
	L->after = saved;
	return r;
}

static lval *eval(lowerer *L, const pc_ast *e)
{
	switch ((pc_ast_kind)e->kind) {
	case PC_AST_INT: return lv_int(L, e->v.i, U_INT);
	case PC_AST_SIZE: return lv_int(L, e->v.i, U_SIZE);
	case PC_AST_DURATION: return lv_int(L, e->v.i, U_DURATION);
	case PC_AST_FLOAT: return lv_float(L, e->v.f);
	case PC_AST_BOOL: return lv_bool(L, (int)e->v.i);
	case PC_AST_NONE: return lv_new(L, LV_NONE);
	case PC_AST_STRING: {
		int known = 1;
		lval **parts = pc_arena_alloc(L->ctx->arena, (e->list.n + 1) * sizeof *parts);
		for (uint32_t i = 0; i < e->list.n; i++) {
			const pc_ast *p = e->list.items[i];
			parts[i] = p->kind == PC_AST_STR_TEXT ? lv_str(L, p->name, (size_t)p->v.i) : eval(L, p);
			known &= is_const(parts[i]);
		}
		if (known) {
			pc_buf b = {0};
			for (uint32_t i = 0; i < e->list.n; i++) {
				if (parts[i]->kind == LV_LIST)
					for (uint32_t k = 0; k < parts[i]->count; k++) {
						if (k)
							pc_buf_addc(&b, ' ');
						text_of(&b, parts[i]->items[k]);
					}
				else
					text_of(&b, parts[i]);
			}
			lval *v = lv_str(L, b.data ? b.data : "", b.len);
			pc_buf_free(&b);
			return v;
		}
		json_t *arr = json_array();
		for (uint32_t i = 0; i < e->list.n; i++)
			json_array_append_new(arr, operand(parts[i]));
		json_t *j = json_object();
		json_object_set_new(j, "concat", arr);
		return lv_rt(L, j);
	}
	case PC_AST_NAME: {
		lval *v = lookup(L, e->name);
		if (v)
			return v;
		return enum_value(L, e->name); /* an unqualified enum member */
	}
	case PC_AST_FIELD: return field(L, e);
	case PC_AST_CALL: return call(L, e);
	case PC_AST_LIST: {
		lval *v = lv_list(L, e->list.n);
		for (uint32_t i = 0; i < e->list.n; i++)
			v->items[i] = eval(L, e->list.items[i]);
		return v;
	}
	case PC_AST_RECORD: {
		lval *v = lv_new(L, LV_REC);
		v->count = e->list.n;
		v->items = pc_arena_alloc(L->ctx->arena, (e->list.n + 1) * sizeof *v->items);
		v->keys = pc_arena_alloc(L->ctx->arena, (e->list.n + 1) * sizeof *v->keys);
		for (uint32_t i = 0; i < e->list.n; i++) {
			const pc_ast *en = e->list.items[i];
			if (en->flags & PC_AF_STRKEY) {
				const pc_ast *k = en->b;
				v->keys[i] = k->list.n ? pc_arena_strndup(L->ctx->arena, k->list.items[0]->name, (size_t)k->list.items[0]->v.i) : "";
			} else {
				v->keys[i] = en->name;
			}
			v->items[i] = eval(L, en->a);
		}
		return v;
	}
	case PC_AST_PAREN: return eval(L, e->a);
	case PC_AST_UNARY: {
		lval *a = eval(L, e->a);
		if (e->op == PC_OP_NOT && a->kind == LV_BOOL)
			return lv_bool(L, !a->i);
		if (e->op == PC_OP_NEG && a->kind == LV_INT) {
			if (a->i == INT64_MIN)
				return overflow(L, e);
			return lv_int(L, -a->i, a->unit);
		}
		if (e->op == PC_OP_NEG && a->kind == LV_FLOAT)
			return lv_float(L, -a->f);
		return rt_op(L, e->op == PC_OP_NOT ? "!" : "neg", a, NULL);
	}
	case PC_AST_BINARY: return binary(L, e);
	case PC_AST_COMPARE: return compare(L, e);
	case PC_AST_RANGE: {
		lval *a = eval(L, e->a), *b = eval(L, e->b);
		if (a->kind == LV_INT && b->kind == LV_INT) {
			if (b->i - a->i > 1000000) {
				ERR(L, "E0605", e->span, "the range %" PRId64 "..%" PRId64 " has more than a million elements", a->i, b->i);
				return lv_list(L, 0);
			}
			lval *v = lv_list(L, b->i > a->i ? (uint32_t)(b->i - a->i) : 0);
			for (int64_t i = a->i; i < b->i; i++)
				v->items[i - a->i] = lv_int(L, i, U_INT);
			return v;
		}
		return rt_op(L, "..", a, b);
	}
	case PC_AST_IF: return if_expr(L, e);
	case PC_AST_FOR: return for_expr(L, e);
	case PC_AST_TRY: return try_expr(L, e);
	case PC_AST_AFTER: return after_expr(L, e);
	default: return lv_new(L, LV_NONE);
	}
}

/* ---- statements ----------------------------------------------------------------- */

static lval *statement(lowerer *L, const pc_ast *s, int *returned)
{
	switch ((pc_ast_kind)s->kind) {
	case PC_AST_LET:
		/* a call bound directly by let names its task after the let */
		{
			const pc_ast *principal = s->a;
			while (principal->kind == PC_AST_AFTER || principal->kind == PC_AST_PAREN)
				principal = principal->a;
			L->let_name = strcmp(s->name, "_") == 0 || principal->kind != PC_AST_CALL ? NULL : s->name;
		}
		lval *v = eval(L, s->a);
		L->let_name = NULL;
		bind(L, s->name, v);
		return NULL;
	case PC_AST_REQUIRE: {
		lval *c = eval(L, s->a);
		lval *msg = s->b ? eval(L, s->b) : NULL;
		if (c->kind == LV_BOOL && !c->i) {
			pc_diag *d = ERR(L, "E0404", s->a->span, "this requirement does not hold for the parameters of this build%s%.*s",
					 msg && msg->kind == LV_STR ? ": " : "", msg && msg->kind == LV_STR ? (int)msg->n : 0,
					 msg && msg->kind == LV_STR ? msg->s : "");
			(void)d;
		} else if (c->kind == LV_RT) {
			json_t *chk = json_object();
			json_object_set_new(chk, "expr", to_json(c));
			if (msg)
				json_object_set_new(chk, "message", to_json(msg));
			json_object_set_new(chk, "loc", loc_of(L, s));
			json_array_append_new(L->checks, chk);
		}
		return NULL;
	}
	case PC_AST_RETURN:
		*returned = 1;
		return s->a ? eval(L, s->a) : lv_new(L, LV_NONE);
	case PC_AST_EXPR_STMT:
		return eval(L, s->a);
	default:
		return NULL;
	}
}

static lval *block(lowerer *L, const pc_ast *body)
{
	env e;
	push_env(L, &e);
	lval *last = lv_new(L, LV_NONE);
	int returned = 0;
	for (uint32_t i = 0; i < body->list.n; i++) {
		lval *v = statement(L, body->list.items[i], &returned);
		last = v ? v : lv_new(L, LV_NONE);
	}
	pop_env(L);
	return last;
}

static lval *pipeline_body(lowerer *L, const pc_ast *body, int *returned)
{
	lval *result = lv_new(L, LV_NONE);
	for (uint32_t i = 0; i < body->list.n && !*returned; i++) {
		lval *v = statement(L, body->list.items[i], returned);
		if (*returned)
			result = v;
	}
	return result;
}

/* ---- parameters ----------------------------------------------------------------- */

static lval *from_json(lowerer *L, json_t *j, const pc_type *t, pc_buf *why);

/* A parameter's value from its text on the command line (-p name=value). */
static lval *parse_param(lowerer *L, const char *text, const pc_type *t, pc_buf *why)
{
	const pc_type *b = pc_type_base(t);
	if (t->kind == PC_T_OPTIONAL) {
		if (strcmp(text, "none") == 0)
			return lv_new(L, LV_NONE);
		return parse_param(L, text, t->elem, why);
	}
	switch (b->kind) {
	case PC_T_STRING: case PC_T_FILE: case PC_T_DIR:
		return lv_str(L, text, strlen(text));
	case PC_T_INT: case PC_T_FLOAT: case PC_T_BOOL: case PC_T_SIZE: case PC_T_DURATION: {
		/* the literal, lexed as in a .pipe file */
		pc_ctx *tmp = pc_ctx_new();
		pc_buf src = {0};
		pc_buf_printf(&src, "pipeline p() { return %s }\n", text);
		pc_ast *m = pc_parse_buffer(tmp, "-p", src.data, src.len);
		pc_buf_free(&src);
		lval *v = NULL;
		if (!pc_error_count(tmp) && m->list.n == 1 && m->list.items[0]->c->list.n == 1) {
			pc_ast *e = m->list.items[0]->c->list.items[0]->a; /* NULL for an empty value */
			int neg = 0;
			if (e && e->kind == PC_AST_UNARY && e->op == PC_OP_NEG)
				neg = 1, e = e->a;
			int want = b->kind == PC_T_INT ? PC_AST_INT : b->kind == PC_T_FLOAT ? PC_AST_FLOAT
				   : b->kind == PC_T_BOOL ? PC_AST_BOOL : b->kind == PC_T_SIZE ? PC_AST_SIZE : PC_AST_DURATION;
			if (!e)
				;
			else if (e->kind == want || (want == PC_AST_FLOAT && e->kind == PC_AST_INT)) {
				if (want == PC_AST_FLOAT)
					v = lv_float(L, e->kind == PC_AST_INT ? (double)e->v.i : e->v.f);
				else if (want == PC_AST_BOOL)
					v = neg ? NULL : lv_bool(L, (int)e->v.i);
				else
					v = lv_int(L, e->v.i, want == PC_AST_SIZE ? U_SIZE : want == PC_AST_DURATION ? U_DURATION : U_INT);
				if (v && neg) {
					if (v->kind == LV_FLOAT)
						v->f = -v->f;
					else
						v->i = -v->i;
				}
			}
		}
		pc_ctx_free(tmp);
		if (!v)
			pc_buf_printf(why, "%s", b->kind == PC_T_INT ? "an Int, such as 42" : b->kind == PC_T_FLOAT ? "a Float, such as 0.5"
						 : b->kind == PC_T_BOOL ? "true or false" : b->kind == PC_T_SIZE ? "a Size, such as 4GiB"
						 : "a Duration, such as 30m");
		return v;
	}
	case PC_T_ENUM:
		for (uint32_t i = 0; i < b->nmembers; i++)
			if (strcmp(b->members[i], text) == 0)
				return enum_value(L, b->members[i]);
		pc_buf_printf(why, "one of ");
		for (uint32_t i = 0; i < b->nmembers; i++)
			pc_buf_printf(why, "%s%s", i ? ", " : "", b->members[i]);
		return NULL;
	default: {
		json_error_t err;
		json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
		if (!j) {
			pc_buf_printf(why, "%s written as JSON (%s)", pc_type_str(L->ctx, t), err.text);
			return NULL;
		}
		lval *v = from_json(L, j, t, why);
		json_decref(j);
		return v;
	}
	}
}

static lval *from_json(lowerer *L, json_t *j, const pc_type *t, pc_buf *why)
{
	const pc_type *b = pc_type_base(t);
	if (t->kind == PC_T_OPTIONAL) {
		if (json_is_null(j))
			return lv_new(L, LV_NONE);
		return from_json(L, j, t->elem, why);
	}
	switch (b->kind) {
	case PC_T_INT:
		if (json_is_integer(j))
			return lv_int(L, json_integer_value(j), U_INT);
		break;
	case PC_T_FLOAT:
		if (json_is_number(j))
			return lv_float(L, json_number_value(j));
		break;
	case PC_T_BOOL:
		if (json_is_boolean(j))
			return lv_bool(L, json_is_true(j));
		break;
	case PC_T_STRING: case PC_T_FILE: case PC_T_DIR: case PC_T_SIZE: case PC_T_DURATION: case PC_T_ENUM:
		if (json_is_string(j))
			return parse_param(L, json_string_value(j), b, why);
		if (json_is_integer(j) && (b->kind == PC_T_SIZE || b->kind == PC_T_DURATION))
			return lv_int(L, json_integer_value(j), b->kind == PC_T_SIZE ? U_SIZE : U_DURATION);
		break;
	case PC_T_LIST:
		if (json_is_array(j)) {
			lval *v = lv_list(L, (uint32_t)json_array_size(j));
			for (size_t i = 0; i < json_array_size(j); i++) {
				v->items[i] = from_json(L, json_array_get(j, i), b->elem, why);
				if (!v->items[i])
					return NULL;
			}
			return v;
		}
		break;
	case PC_T_MAP: case PC_T_RECORD:
		if (json_is_object(j)) {
			lval *v = lv_new(L, LV_REC);
			size_t n = json_object_size(j);
			v->items = pc_arena_alloc(L->ctx->arena, (n + 1) * sizeof *v->items);
			v->keys = pc_arena_alloc(L->ctx->arena, (n + 1) * sizeof *v->keys);
			if (b->kind == PC_T_RECORD) {
				for (uint32_t i = 0; i < b->nfields; i++) {
					json_t *f = json_object_get(j, b->fields[i].name);
					if (!f) {
						pc_buf_printf(why, "%s with the field '%s'", pc_type_str(L->ctx, t), b->fields[i].name);
						return NULL;
					}
					v->keys[v->count] = b->fields[i].name;
					v->items[v->count] = from_json(L, f, b->fields[i].type, why);
					if (!v->items[v->count++])
						return NULL;
				}
				if (json_object_size(j) != b->nfields) {
					pc_buf_printf(why, "%s with only its fields", pc_type_str(L->ctx, t));
					return NULL;
				}
				return v;
			}
			const char *k;
			json_t *val;
			json_object_foreach(j, k, val) {
				v->keys[v->count] = pc_arena_strndup(L->ctx->arena, k, strlen(k));
				v->items[v->count] = from_json(L, val, b->elem, why);
				if (!v->items[v->count++])
					return NULL;
			}
			return v;
		}
		break;
	default:
		break;
	}
	if (!why->len)
		pc_buf_printf(why, "%s", pc_type_str(L->ctx, t));
	return NULL;
}

/*
 * Makes the File and Dir paths in V, a parameter's value of type T, absolute
 * against the caller's directory CWD (a task runs in a directory of its
 * own), and checks that each exists and is a regular file (File) or a
 * directory (Dir), through distinct types, records, lists, maps and
 * optionals, following the value (so a recursive record ends where its
 * value does).  WHERE is the path of V in the parameter ("ls[1].reads").
 * Returns 0, or -1 with the reason in WHY.
 */
static int resolve_paths(lowerer *L, const pc_type *t, lval *v, const char *cwd, pc_buf *where, pc_buf *why)
{
	if (t->kind == PC_T_OPTIONAL) {
		if (v->kind == LV_NONE)
			return 0;
		return resolve_paths(L, t->elem, v, cwd, where, why);
	}
	const pc_type *b = pc_type_base(t);
	size_t mark = where->len;
	int rc = 0;
	switch (b->kind) {
	case PC_T_FILE: case PC_T_DIR: {
		if (v->kind != LV_STR)
			return 0;
		int dir = b->kind == PC_T_DIR;
		pc_buf abs = {0};
		if (v->n && v->s[0] == '/') {
			pc_buf_add(&abs, v->s, v->n);
		} else {
			/* CWD, then the path's components without "." and empty ones */
			pc_buf_adds(&abs, cwd);
			const char *p = v->s, *end = v->s + v->n;
			while (p < end) {
				const char *q = memchr(p, '/', (size_t)(end - p));
				if (!q)
					q = end;
				if (q - p && !(q - p == 1 && *p == '.')) {
					if (!abs.len || abs.data[abs.len - 1] != '/')
						pc_buf_addc(&abs, '/');
					pc_buf_add(&abs, p, (size_t)(q - p));
				}
				p = q + 1;
			}
		}
		struct stat st;
		const char *bad = NULL;
		if (stat(abs.data, &st) != 0)
			bad = errno == ENOENT || errno == ENOTDIR ? (dir ? "no such directory" : "no such file") : strerror(errno);
		else if (dir && !S_ISDIR(st.st_mode))
			bad = "not a directory";
		else if (!dir && !S_ISREG(st.st_mode))
			bad = "not a regular file";
		if (bad) {
			if (strchr(where->data, '.') || strchr(where->data, '['))
				pc_buf_printf(why, "%s: ", where->data);
			pc_buf_printf(why, "%s: %.*s", bad, (int)v->n, v->s);
			if (strcmp(abs.data, v->s) != 0)
				pc_buf_printf(why, " (%s)", abs.data);
			rc = -1;
		} else {
			v->s = pc_arena_strndup(L->ctx->arena, abs.data, abs.len);
			v->n = (uint32_t)abs.len;
		}
		pc_buf_free(&abs);
		return rc;
	}
	case PC_T_LIST:
		if (v->kind != LV_LIST)
			return 0;
		for (uint32_t i = 0; i < v->count && rc == 0; i++) {
			pc_buf_printf(where, "[%" PRIu32 "]", i);
			rc = resolve_paths(L, b->elem, v->items[i], cwd, where, why);
			where->len = mark;
			where->data[mark] = 0;
		}
		return rc;
	case PC_T_MAP: case PC_T_RECORD:
		if (v->kind != LV_REC)
			return 0;
		for (uint32_t i = 0; i < v->count && rc == 0; i++) {
			const pc_field *f = b->kind == PC_T_RECORD ? pc_type_field(b, v->keys[i]) : NULL;
			if (b->kind == PC_T_RECORD && !f)
				continue;
			if (f)
				pc_buf_printf(where, ".%s", v->keys[i]);
			else
				pc_buf_printf(where, "[\"%s\"]", v->keys[i]);
			rc = resolve_paths(L, f ? f->type : b->elem, v->items[i], cwd, where, why);
			where->len = mark;
			where->data[mark] = 0;
		}
		return rc;
	default:
		return 0;
	}
}

/* ---- writing the plan ---------------------------------------------------------------
 *
 * The plan is written as it is serialized, twice: once compact, without
 * source locations, into the hash; then indented, with them and the hash,
 * to the output.  Keys are written in sorted order, so the bytes depend only
 * on the content.
 */

typedef struct jw {
	FILE *out;                            /* the pretty form, or NULL */
	pc_buf buf;                           /* pending pretty text */
	long written;                         /* pretty bytes flushed to OUT so far */
	crypto_generichash_state *hash;       /* the canonical form, or NULL */
	pc_buf cbuf;                          /* pending canonical text */
	int canon_off;                        /* > 0: what is written now is not canonical */
	int depth, after_key, error;
	int flat_below;                       /* pretty: no new lines deeper than this */
	uint8_t first[128], cfirst[128];      /* per depth: nothing written yet (pretty, canonical) */
	long hash_at;                         /* offset of the hash's placeholder in OUT, or -1 */
} jw;

static void jw_flush(jw *w, int force)
{
	if (w->out && (force || w->buf.len >= (1u << 16))) {
		if (w->buf.len && fwrite(w->buf.data, 1, w->buf.len, w->out) != w->buf.len)
			w->error = 1;
		w->written += (long)w->buf.len;
		w->buf.len = 0;
	}
	if (w->hash && (force || w->cbuf.len >= (1u << 16))) {
		crypto_generichash_update(w->hash, (const unsigned char *)w->cbuf.data, w->cbuf.len);
		w->cbuf.len = 0;
	}
}

static inline void put(pc_buf *b, const char *s, size_t n)
{
	if (b->len + n < b->cap) { /* the common case, inline */
		memcpy(b->data + b->len, s, n);
		b->len += n;
	} else {
		pc_buf_add(b, s, n);
	}
}

/* Text of both forms. */
static inline void emit(jw *w, const char *s, size_t n)
{
	if (w->out)
		put(&w->buf, s, n);
	if (w->hash && !w->canon_off)
		put(&w->cbuf, s, n);
}

/* Layout of the pretty form only. */
static inline void emit_pretty(jw *w, const char *s, size_t n)
{
	if (w->out)
		put(&w->buf, s, n);
}

static void jw_newline(jw *w)
{
	if (!w->out || w->depth > w->flat_below)
		return;
	pc_buf_addc(&w->buf, '\n');
	for (int i = 0; i < w->depth; i++)
		pc_buf_add(&w->buf, "  ", 2);
}

/* Before a value: a comma and a new line unless it follows a key or is first. */
static void jw_value(jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->depth == 0)
		return;
	if (!w->first[w->depth])
		emit_pretty(w, ",", 1);
	w->first[w->depth] = 0;
	if (w->hash && !w->canon_off) {
		if (!w->cfirst[w->depth])
			pc_buf_addc(&w->cbuf, ',');
		w->cfirst[w->depth] = 0;
	}
	jw_newline(w);
}

static void jw_open(jw *w, char c)
{
	jw_value(w);
	emit(w, &c, 1);
	w->depth++;
	w->first[w->depth] = 1;
	w->cfirst[w->depth] = 1;
}

static void jw_close(jw *w, char c)
{
	int empty = w->first[w->depth];
	w->depth--;
	if (!empty && w->depth + 1 <= w->flat_below)
		jw_newline(w);
	emit(w, &c, 1);
	jw_flush(w, 0);
}

static void jw_strn(jw *w, const char *s, size_t n)
{
	emit(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		size_t run = i;
		while (run < n && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			emit(w, s + i, run - i);
			i = run;
			if (i == n)
				break;
		}
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		switch (c) {
		case '"': emit(w, "\\\"", 2); break;
		case '\\': emit(w, "\\\\", 2); break;
		case '\n': emit(w, "\\n", 2); break;
		case '\t': emit(w, "\\t", 2); break;
		case '\r': emit(w, "\\r", 2); break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", c);
			emit(w, esc, 6);
		}
	}
	emit(w, "\"", 1);
}

static void jw_key(jw *w, const char *k)
{
	jw_value(w);
	jw_strn(w, k, strlen(k));
	emit(w, ":", 1);
	if (w->depth <= w->flat_below)
		emit_pretty(w, " ", 1);
	w->after_key = 1;
}

static void jw_string(jw *w, const char *s)
{
	jw_value(w);
	jw_strn(w, s, strlen(s));
}

static void jw_int(jw *w, int64_t v)
{
	jw_value(w);
	char tmp[24], *p = tmp + sizeof tmp;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	emit(w, p, (size_t)(tmp + sizeof tmp - p));
}

static void jw_real(jw *w, double v)
{
	jw_value(w);
	char tmp[64];
	pc_format_double(v, tmp, sizeof tmp - 2);
	if (!strpbrk(tmp, ".eEni"))
		strcat(tmp, ".0");
	emit(w, tmp, strlen(tmp));
}

static void jw_lit(jw *w, const char *lit)
{
	jw_value(w);
	emit(w, lit, strlen(lit));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A jansson value, keys sorted; "loc" only in the pretty pass. */
static void jw_json(jw *w, json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(j), k = 0;
		const char **keys = pc_xmalloc((n + 1) * sizeof *keys);
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v) keys[k++] = key;
		qsort(keys, n, sizeof *keys, cmp_str);
		jw_open(w, '{');
		for (k = 0; k < n; k++) {
			int loc = strcmp(keys[k], "loc") == 0;
			w->canon_off += loc;
			jw_key(w, keys[k]);
			jw_json(w, json_object_get(j, keys[k]));
			w->canon_off -= loc;
		}
		jw_close(w, '}');
		free(keys);
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *v;
		jw_open(w, '[');
		json_array_foreach(j, i, v) jw_json(w, v);
		jw_close(w, ']');
		break;
	}
	case JSON_STRING: jw_value(w); jw_strn(w, json_string_value(j), json_string_length(j)); break;
	case JSON_INTEGER: jw_int(w, json_integer_value(j)); break;
	case JSON_REAL: jw_real(w, json_real_value(j)); break;
	case JSON_TRUE: jw_lit(w, "true"); break;
	case JSON_FALSE: jw_lit(w, "false"); break;
	default: jw_lit(w, "null"); break;
	}
}

/* Indices 0..n-1 ordered by KEYS (for writing records with sorted keys). */
static uint32_t *sorted_order(const char *const *keys, uint32_t n)
{
	uint32_t *o = pc_xmalloc((n + 1) * sizeof *o);
	for (uint32_t i = 0; i < n; i++)
		o[i] = i;
	for (uint32_t i = 1; i < n; i++) /* insertion sort: records are small */
		for (uint32_t j = i; j > 0 && strcmp(keys[o[j - 1]], keys[o[j]]) > 0; j--) {
			uint32_t t = o[j];
			o[j] = o[j - 1];
			o[j - 1] = t;
		}
	return o;
}

static void jw_lval(jw *w, const lval *v)
{
	switch (v->kind) {
	case LV_INT: jw_int(w, v->i); break;
	case LV_FLOAT: jw_real(w, v->f); break;
	case LV_BOOL: jw_lit(w, v->i ? "true" : "false"); break;
	case LV_STR: jw_value(w); jw_strn(w, v->s, v->n); break;
	case LV_ENUM: jw_string(w, v->s); break;
	case LV_NONE: jw_lit(w, "null"); break;
	case LV_REF:
		jw_open(w, '{');
		if (v->out) {
			jw_key(w, "output");
			jw_string(w, v->out);
		}
		jw_key(w, "ref");
		jw_string(w, v->s);
		jw_close(w, '}');
		break;
	case LV_LIST:
		jw_open(w, '[');
		for (uint32_t i = 0; i < v->count; i++)
			jw_lval(w, v->items[i]);
		jw_close(w, ']');
		break;
	case LV_REC: {
		uint32_t *o = sorted_order(v->keys, v->count);
		jw_open(w, '{');
		for (uint32_t i = 0; i < v->count; i++) {
			jw_key(w, v->keys[o[i]]);
			jw_lval(w, v->items[o[i]]);
		}
		jw_close(w, '}');
		free(o);
		break;
	}
	default: jw_json(w, v->rt); break;
	}
}

/* ---- where files are, for the runtime ------------------------------------------------
 *
 * A value holds files (whose content, not path, is the cache's business)
 * when its resolved type reaches File or Dir: through distinct types,
 * records, lists, maps and optionals, at any depth.  "files" describes
 * where: "file" | "dir" | {"list": S} | {"map": S} | {"optional": S} |
 * {"record": {FIELD: S, ...}} with only the fields that hold files, and
 * {"cycle": N} where a record holds itself (record Tree { f: File, kids:
 * List[Tree] }): the shape of the N-th record shape around it, 1 the
 * innermost.  It is written only for types that hold files.
 */

/* The record types being walked, innermost last (records may hold themselves). */
typedef struct type_path {
	const pc_type **t; /* malloc()ed */
	uint32_t n, cap;
} type_path;

static int on_path(const type_path *p, const pc_type *t)
{
	for (uint32_t i = 0; i < p->n; i++)
		if (p->t[i] == t)
			return 1;
	return 0;
}

static void path_push(type_path *p, const pc_type *t)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 8;
		p->t = pc_xrealloc(p->t, p->cap * sizeof *p->t);
	}
	p->t[p->n++] = t;
}

/* Whether T reaches File or Dir; SEEN holds the records visited (each once). */
static int reaches_files(const pc_type *t, type_path *seen)
{
	t = pc_type_base(t);
	switch (t->kind) {
	case PC_T_FILE: case PC_T_DIR:
		return 1;
	case PC_T_LIST: case PC_T_MAP: case PC_T_OPTIONAL:
		return reaches_files(t->elem, seen);
	case PC_T_RECORD:
		if (on_path(seen, t))
			return 0; /* visited: had it reached files, the walk would have stopped */
		path_push(seen, t);
		for (uint32_t i = 0; i < t->nfields; i++)
			if (reaches_files(t->fields[i].type, seen))
				return 1;
		return 0;
	default:
		return 0;
	}
}

static int holds_files(const pc_type *t)
{
	type_path seen = {0};
	int r = reaches_files(t, &seen);
	free(seen.t);
	return r;
}

static void jw_files_shape(jw *w, const pc_type *t, type_path *path)
{
	t = pc_type_base(t);
	switch (t->kind) {
	case PC_T_FILE: jw_string(w, "file"); break;
	case PC_T_DIR: jw_string(w, "dir"); break;
	case PC_T_LIST: case PC_T_MAP: case PC_T_OPTIONAL:
		jw_open(w, '{');
		jw_key(w, t->kind == PC_T_LIST ? "list" : t->kind == PC_T_MAP ? "map" : "optional");
		jw_files_shape(w, t->elem, path);
		jw_close(w, '}');
		break;
	case PC_T_RECORD: {
		jw_open(w, '{');
		if (on_path(path, t)) {
			uint32_t up = 1;
			while (path->t[path->n - up] != t)
				up++;
			jw_key(w, "cycle");
			jw_int(w, up);
			jw_close(w, '}');
			break;
		}
		const char **names = pc_xmalloc((t->nfields + 1) * sizeof *names);
		for (uint32_t k = 0; k < t->nfields; k++)
			names[k] = t->fields[k].name;
		uint32_t *o = sorted_order(names, t->nfields);
		path_push(path, t);
		jw_key(w, "record");
		jw_open(w, '{');
		for (uint32_t k = 0; k < t->nfields; k++)
			if (holds_files(t->fields[o[k]].type)) {
				jw_key(w, t->fields[o[k]].name);
				jw_files_shape(w, t->fields[o[k]].type, path);
			}
		jw_close(w, '}');
		path->n--;
		jw_close(w, '}');
		free(o);
		free(names);
		break;
	}
	default: PC_UNREACHABLE();
	}
}

/* The key "files" for a value of type T, when T holds files. */
static void jw_files(jw *w, const pc_type *t)
{
	if (!holds_files(t))
		return;
	type_path path = {0};
	jw_key(w, "files");
	jw_files_shape(w, t, &path);
	free(path.t);
}

/* An output's type: as declared, and the base the runtime checks ("Corpus" is a File). */
static void jw_type(jw *w, lowerer *L, const pc_type *t)
{
	jw_open(w, '{');
	jw_key(w, "base");
	jw_string(w, type_name(L, pc_type_base(t)));
	jw_files(w, t);
	jw_key(w, "type");
	jw_string(w, type_name(L, t));
	jw_close(w, '}');
}

static void jw_loc(jw *w, lowerer *L, const pc_ast *n)
{
	if (!w->out)
		return;
	w->canon_off++;
	const pc_source *s = L->ctx->files[n->span.file];
	uint32_t line, col;
	pc_source_linecol(s, n->span.start, &line, &col);
	jw_key(w, "loc");
	jw_open(w, '{');
	jw_key(w, "column");
	jw_int(w, col);
	jw_key(w, "file");
	jw_string(w, s->path);
	jw_key(w, "line");
	jw_int(w, line);
	jw_close(w, '}');
	w->canon_off--;
}

/* KEY: each parameter of SIG by name, {files, type, value} with its value in VALUES. */
static void jw_params(jw *w, lowerer *L, const char *key, const pc_sig *sig, lval **values)
{
	const char **names = pc_xmalloc((sig->nparams + 1) * sizeof *names);
	for (uint32_t k = 0; k < sig->nparams; k++)
		names[k] = sig->params[k].name;
	uint32_t *o = sorted_order(names, sig->nparams);
	jw_key(w, key);
	jw_open(w, '{');
	for (uint32_t k = 0; k < sig->nparams; k++) {
		jw_key(w, sig->params[o[k]].name);
		jw_open(w, '{');
		jw_files(w, sig->params[o[k]].type);
		jw_key(w, "type");
		jw_string(w, type_name(L, sig->params[o[k]].type));
		jw_key(w, "value");
		jw_lval(w, values[o[k]]);
		jw_close(w, '}');
	}
	jw_close(w, '}');
	free(o);
	free(names);
}

static void jw_task(jw *w, lowerer *L, const task *t)
{
	const pc_sig *sig = t->sig;
	jw_open(w, '{');
	jw_key(w, "after");
	jw_open(w, '[');
	if (t->after)
		for (size_t i = 0; i < json_array_size(t->after); i++)
			jw_json(w, json_array_get(t->after, i));
	jw_close(w, ']');
	jw_key(w, "cache");
	jw_lit(w, t->cache ? "true" : "false");
	jw_key(w, "checkpoint");
	jw_lit(w, t->checkpoint ? "true" : "false");
	if (t->checks) {
		jw_key(w, "checks");
		jw_json(w, t->checks);
	}
	jw_key(w, "command");
	if (t->command)
		jw_json(w, t->command);
	else
		jw_lit(w, "null");
	jw_key(w, "deps");
	jw_open(w, '[');
	for (uint32_t i = 0; i < t->ndeps; i++)
		jw_string(w, t->deps[i]);
	jw_close(w, ']');
	jw_key(w, "env");
	if (t->env)
		jw_lval(w, t->env);
	else {
		jw_open(w, '{');
		jw_close(w, '}');
	}
	if (t->fallback) {
		jw_key(w, "fallback_of");
		jw_json(w, t->fallback);
	}
	jw_key(w, "id");
	jw_string(w, t->id);
	jw_key(w, "image");
	if (t->image)
		jw_lval(w, t->image);
	else
		jw_lit(w, "null");
	jw_params(w, L, "inputs", sig, t->inputs);
	jw_loc(w, L, t->call);
	jw_key(w, "module");
	jw_string(w, t->module);
	jw_key(w, "outputs");
	jw_open(w, '{');
	const pc_type *r = sig->result;
	if (r->kind == PC_T_RECORD && r->outputs) {
		const char **on = pc_xmalloc((r->nfields + 1) * sizeof *on);
		for (uint32_t k = 0; k < r->nfields; k++)
			on[k] = r->fields[k].name;
		uint32_t *oo = sorted_order(on, r->nfields);
		for (uint32_t k = 0; k < r->nfields; k++) {
			jw_key(w, r->fields[oo[k]].name);
			jw_type(w, L, r->fields[oo[k]].type);
		}
		free(oo);
		free(on);
	} else if (r->kind != PC_T_UNIT) {
		jw_key(w, "out");
		jw_type(w, L, r);
	}
	jw_close(w, '}');
	jw_key(w, "priority");
	jw_int(w, t->priority);
	jw_key(w, "resources");
	if (t->resources)
		jw_lval(w, t->resources);
	else {
		jw_open(w, '{');
		jw_close(w, '}');
	}
	jw_key(w, "retry");
	jw_open(w, '{');
	jw_key(w, "attempts");
	jw_int(w, t->attempts);
	jw_key(w, "backoff_ns");
	jw_int(w, t->backoff_ns);
	jw_close(w, '}');
	jw_key(w, "sandbox");
	jw_open(w, '{');
	jw_key(w, "network");
	jw_lit(w, t->network ? "true" : "false");
	if (t->pids) {
		jw_key(w, "pids");
		jw_int(w, t->pids);
	}
	jw_close(w, '}');
	if (t->scatter) {
		jw_key(w, "scatter");
		jw_json(w, t->scatter);
	}
	jw_key(w, "stage");
	jw_string(w, t->stage);
	jw_key(w, "timeout_ns");
	if (t->timeout)
		jw_lval(w, t->timeout);
	else
		jw_lit(w, "null");
	if (t->when) {
		jw_key(w, "when");
		jw_json(w, t->when);
	}
	jw_close(w, '}');
}

typedef struct plan_top {
	const char *file, *pipeline, *hash;
	const pc_sig *sig;
	lval **params;
	lval *result;
} plan_top;

static void jw_plan(jw *w, lowerer *L, const plan_top *p)
{
	pc_buf_grow(&w->buf, 1u << 17);
	pc_buf_grow(&w->cbuf, 1u << 17);
	jw_open(w, '{');
	jw_key(w, "checks");
	jw_json(w, L->checks);
	if (w->out) {
		/* the hash, or a placeholder of its length patched at the end */
		w->canon_off++;
		jw_key(w, "hash");
		jw_value(w);
		emit(w, "\"", 1);
		if (!p->hash)
			w->hash_at = w->written + (long)w->buf.len;
		emit(w, p->hash ? p->hash : "blake2b-256:0000000000000000000000000000000000000000000000000000000000000000",
		     strlen("blake2b-256:") + 64);
		emit(w, "\"", 1);
		w->canon_off--;
	}
	const pc_sig *sig = p->sig;
	jw_params(w, L, "params", sig, p->params);
	jw_key(w, "pipec_plan");
	jw_int(w, PC_PLAN_VERSION);
	jw_key(w, "result");
	jw_lval(w, p->result);
	jw_key(w, "result_type");
	jw_string(w, type_name(L, sig->result));
	if (L->scatters) {
		jw_key(w, "scatters");
		jw_json(w, L->scatters);
	}
	jw_key(w, "source");
	jw_open(w, '{');
	w->canon_off++;
	jw_key(w, "file");
	jw_string(w, p->file);
	w->canon_off--;
	jw_key(w, "pipeline");
	jw_string(w, p->pipeline);
	jw_close(w, '}');
	jw_key(w, "tasks");
	jw_open(w, '[');
	for (uint32_t i = 0; i < L->ntasks; i++)
		jw_task(w, L, &L->tasks[i]);
	jw_close(w, ']');
	jw_close(w, '}');
	emit_pretty(w, "\n", 1);
	jw_flush(w, 1);
}

int pc_lower(pc_ctx *ctx, const char *file, const char *pipeline, const char *const *params,
	     size_t nparams, FILE *out, pc_buf *err)
{
	pc_sema *S = ctx->sema;
	if (!S || !S->nmodules || pc_error_count(ctx))
		return 1;
	pc_module *root = NULL;
	for (size_t i = 0; i < S->nmodules; i++)
		if (strcmp(S->modules[i]->path, file) == 0 || strcmp(S->modules[i]->name, file) == 0)
			root = S->modules[i];
	if (!root)
		root = S->modules[0];
	const char *pname = pc_intern(ctx->names, pipeline, strlen(pipeline));
	pc_symbol *sym = pc_map_get(&root->symbols, pname);
	if (!sym || sym->kind != PC_SYM_PIPELINE) {
		pc_buf_printf(err, "%s has no pipeline '%s'", root->path, pipeline);
		return 2;
	}
	if (sodium_init() < 0) {
		pc_buf_printf(err, "libsodium could not be initialized");
		return 2;
	}
	lowerer lw = {.ctx = ctx, .S = S, .mod = root, .prefix = "", .suffix = ""};
	lowerer *L = &lw;
	L->checks = json_array();
	L->pool = json_array();
	pc_sig *sig = pc_sema_sig(S, sym);

	/* parameters: -p name=value, else the defaults */
	lval **vals = pc_arena_alloc(ctx->arena, (sig->nparams + 1) * sizeof *vals);
	int rc = 0;
	char *cwd = NULL; /* the caller's directory, for relative File and Dir values */
	for (size_t i = 0; i < nparams; i++) {
		const char *eq = strchr(params[i], '=');
		if (!eq) {
			pc_buf_printf(err, "-p %s: write -p name=value", params[i]);
			rc = 2;
			break;
		}
		const char *name = pc_intern(ctx->names, params[i], (size_t)(eq - params[i]));
		uint32_t k = 0;
		while (k < sig->nparams && sig->params[k].name != name)
			k++;
		if (k == sig->nparams) {
			pc_buf_printf(err, "-p %s: pipeline '%s' has no parameter '%s'", params[i], pipeline, name);
			if (sig->nparams) {
				pc_buf_adds(err, " (its parameters: ");
				for (uint32_t j = 0; j < sig->nparams; j++)
					pc_buf_printf(err, "%s%s: %s", j ? ", " : "", sig->params[j].name,
						      pc_type_str(ctx, sig->params[j].type));
				pc_buf_adds(err, ")");
			}
			rc = 2;
			break;
		}
		pc_buf why = {0};
		vals[k] = parse_param(L, eq + 1, sig->params[k].type, &why);
		if (!vals[k]) {
			pc_buf_printf(err, "-p %s: '%s' is not %s", name, eq + 1, why.data ? why.data : "valid");
			pc_buf_free(&why);
			rc = 2;
			break;
		}
		pc_buf_free(&why);
		if (!cwd) {
			cwd = getcwd(NULL, 0);
			if (!cwd) {
				pc_buf_printf(err, "-p %s: cannot know the current directory: %s", name, strerror(errno));
				rc = 2;
				break;
			}
		}
		pc_buf where = {0};
		pc_buf_adds(&where, name);
		if (resolve_paths(L, sig->params[k].type, vals[k], cwd, &where, &why) != 0) {
			pc_buf_printf(err, "-p %s: %s", name, why.data);
			rc = 2;
		}
		pc_buf_free(&where);
		pc_buf_free(&why);
		if (rc)
			break;
	}
	free(cwd);
	env e;
	push_env(L, &e);
	for (uint32_t k = 0; rc == 0 && k < sig->nparams; k++) {
		if (!vals[k] && sig->params[k].node->b)
			vals[k] = eval(L, sig->params[k].node->b);
		if (!vals[k]) {
			pc_buf_printf(err, "pipeline '%s' needs -p %s=VALUE (a %s)", pipeline, sig->params[k].name,
				      pc_type_str(ctx, sig->params[k].type));
			rc = 2;
			break;
		}
		bind(L, sig->params[k].name, vals[k]);
	}
	/* the entry pipeline's own constraints, with the values of this build */
	for (uint32_t k = 0; rc == 0 && k < sig->nparams; k++) {
		const pc_ast *w = sig->params[k].node->c;
		if (!w)
			continue;
		lval *r = eval(L, w);
		if (r->kind == LV_BOOL && !r->i) {
			pc_buf v = {0};
			text_of(&v, vals[k]);
			const pc_source *src = ctx->files[w->span.file];
			pc_buf_printf(err, "-p %s: %s breaks the constraint %.*s", sig->params[k].name, v.data ? v.data : "none",
				      (int)(w->span.end - w->span.start), src->text + w->span.start);
			pc_buf_free(&v);
			rc = 2;
		}
	}
	lval *result = NULL;
	if (rc == 0) {
		int returned = 0;
		result = pipeline_body(L, sym->decl->c, &returned);
	}
	pop_env(L);
	if (rc == 0 && (L->failed || pc_error_count(ctx)))
		rc = 1;
	if (rc == 0) {
		plan_top top = {root->path, pipeline, NULL, sig, vals, result};
		crypto_generichash_state st;
		crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
		long start = ftell(out);
		int seekable = start >= 0 && fseek(out, start, SEEK_SET) == 0;
		jw w = {.out = out, .hash = &st, .flat_below = 2, .hash_at = -1};
		if (!seekable) {
			/* a pipe: hash first, then write with the hash known */
			jw hw = {.hash = &st};
			jw_plan(&hw, L, &top);
			pc_buf_free(&hw.cbuf);
			w.hash = NULL;
		}
		unsigned char h[crypto_generichash_BYTES];
		char hex[2 * sizeof h + 1];
		pc_buf hb = {0};
		if (!seekable) {
			crypto_generichash_final(&st, h, sizeof h);
			sodium_bin2hex(hex, sizeof hex, h, sizeof h);
			pc_buf_printf(&hb, "blake2b-256:%s", hex);
			top.hash = hb.data;
		}
		/* one line per task: readable, diffable, and half the size */
		jw_plan(&w, L, &top);
		if (seekable) {
			crypto_generichash_final(&st, h, sizeof h);
			sodium_bin2hex(hex, sizeof hex, h, sizeof h);
			long end = ftell(out);
			if (w.hash_at < 0 || fseek(out, start + w.hash_at + (long)strlen("blake2b-256:"), SEEK_SET) != 0 ||
			    fwrite(hex, 1, 64, out) != 64 || fseek(out, end, SEEK_SET) != 0)
				w.error = 1;
		}
		pc_buf_free(&w.buf);
		pc_buf_free(&w.cbuf);
		pc_buf_free(&hb);
		if (w.error || fflush(out) != 0) {
			pc_buf_printf(err, "cannot write the plan: %s", strerror(errno));
			rc = 2;
		}
	}
	for (uint32_t i = 0; i < L->ntasks; i++) {
		task *t = &L->tasks[i];
		json_decref(t->command);
		json_decref(t->after);
		json_decref(t->when);
		json_decref(t->fallback);
		json_decref(t->scatter);
		json_decref(t->checks);
	}
	free(L->tasks);
	json_decref(L->checks);
	json_decref(L->scatters);
	json_decref(L->pool);
	pc_map_free(&L->ids);
	return rc;
}
