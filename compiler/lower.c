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
 *
 * This file evaluates; the values it works with are lower-value.c's, the
 * -p parameters are read by lower-param.c and the plan is written by
 * lower-plan.c (lower-internal.h).
 */
#include "lower-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "constraint.h"
#include "profile.h"

static lval *eval(lowerer *L, const pc_ast *e);

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
	return pc_lv_int(L, 0, U_INT);
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
		return pc_lv_rt_op(L, pc_op_text(e->op), a, eval(L, e->b));
	}
	lval *b = eval(L, e->b);
	if (!pc_lv_is_const(a) || !pc_lv_is_const(b))
		return pc_lv_rt_op(L, pc_op_text(e->op), a, b);
	int op = e->op;
	if (op == PC_OP_ADD && a->kind == LV_STR && b->kind == LV_STR) {
		lval *v = pc_lv_new(L, LV_STR);
		char *s = pc_arena_alloc(L->ctx->arena, a->n + b->n + 1);
		memcpy(s, a->s, a->n);
		memcpy(s + a->n, b->s, b->n);
		v->s = s;
		v->n = a->n + b->n;
		return v;
	}
	if (op == PC_OP_ADD && a->kind == LV_LIST && b->kind == LV_LIST) {
		lval *v = pc_lv_list(L, a->count + b->count);
		memcpy(v->items, a->items, a->count * sizeof *v->items);
		memcpy(v->items + a->count, b->items, b->count * sizeof *v->items);
		return v;
	}
	if (!is_num(a) || !is_num(b))
		return pc_lv_rt_op(L, pc_op_text(op), a, b);
	if (a->kind == LV_FLOAT || b->kind == LV_FLOAT) {
		double x = num(a), y = num(b), r;
		switch (op) {
		case PC_OP_ADD: r = x + y; break;
		case PC_OP_SUB: r = x - y; break;
		case PC_OP_MUL: r = x * y; break;
		case PC_OP_DIV:
			if (y == 0) {
				ERR(L, "E0602", e->span, "division by zero with the values of this build");
				return pc_lv_float(L, 0);
			}
			r = x / y;
			break;
		default: r = fmod(x, y); break;
		}
		return pc_lv_float(L, r);
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
			return pc_lv_int(L, 0, unit);
		}
		if (x == INT64_MIN && y == -1)
			return overflow(L, e);
		r = op == PC_OP_DIV ? x / y : x % y;
		break;
	}
	return pc_lv_int(L, r, unit);
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
		json_t *x = pc_lv_json(a), *y = pc_lv_json(b);
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
		if (pc_lv_is_const(left) && pc_lv_is_const(right) && compare_const(left, right, step->op, &res) == 0)
			r = pc_lv_bool(L, res);
		else
			r = pc_lv_rt_op(L, pc_op_text(step->op), left, right);
		if (!all) {
			all = r;
		} else if (all->kind == LV_BOOL && r->kind == LV_BOOL) {
			all = pc_lv_bool(L, all->i && r->i);
		} else if (all->kind == LV_BOOL) {
			if (all->i)
				all = r;
		} else if (!(r->kind == LV_BOOL && r->i)) {
			all = r->kind == LV_BOOL ? r : pc_lv_rt_op(L, "&&", all, r);
		}
		left = right;
	}
	return all ? all : pc_lv_bool(L, 1);
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
			vals[k] = pc_lv_new(L, LV_NONE);
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
			pc_lv_text(&b, vals[k]);
			const pc_source *src = L->ctx->files[w->span.file];
			pc_diag *d = ERR(L, "E0401", call->span, "%s requires %.*s, but %s is %s in this build", what,
					 (int)(w->span.end - w->span.start), src->text + w->span.start,
					 sig->params[k].name, b.data ? b.data : "none");
			pc_diag_secondary(L->ctx, d, w->span, "the constraint on '%s'", sig->params[k].name);
			pc_buf_free(&b);
		} else if (r->kind == LV_RT) {
			json_t *c = json_object();
			json_object_set_new(c, "expr", pc_lv_json(r));
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
	lval *r = pc_lv_new(L, LV_REC);
	r->items = pc_arena_alloc(L->ctx->arena, (rec->list.n + 1) * sizeof *r->items);
	r->keys = pc_arena_alloc(L->ctx->arena, (rec->list.n + 1) * sizeof *r->keys);
	for (uint32_t i = 0; i < rec->list.n; i++) {
		const pc_ast *en = rec->list.items[i];
		lval *v = eval(L, en->a);
		if (!pc_lv_is_const(v)) {
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
		if (pc_lv_is_const(v)) {
			if (v->kind == LV_LIST) {
				for (uint32_t k = 0; k < v->count; k++) {
					pc_buf t = {0};
					pc_lv_text(&t, v->items[k]);
					if (k)
						pc_buf_addc(&text, ' ');
					pc_lv_shell_quote(&text, t.data ? t.data : "", t.len);
					pc_buf_free(&t);
				}
			} else {
				pc_buf t = {0};
				pc_lv_text(&t, v);
				pc_lv_shell_quote(&text, t.data ? t.data : "", t.len);
				pc_buf_free(&t);
			}
			continue;
		}
		if (text.len)
			json_array_append_new(parts, json_stringn(text.data, text.len));
		text.len = 0;
		json_t *o = json_object();
		json_object_set_new(o, "value", pc_lv_json(v));
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
	pc_sig *sig = pc_resolve_sig(L->S, sym);
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
		if (!pc_lv_is_const(v)) {
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
		return pc_lv_new(L, LV_NONE);
	lval *ref = pc_lv_new(L, LV_REF);
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
		return pc_lv_new(L, LV_NONE);
	}
	pc_sig *sig = pc_resolve_sig(L->S, sym);
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
	return path ? pc_resolve_symbol(L->S, L->mod, path, NULL) : NULL;
}

static lval *field(lowerer *L, const pc_ast *e)
{
	/* E.member */
	const pc_ast *root = pc_ast_root_name(e);
	if (root && !lookup(L, root->name)) {
		const char *left = pc_ast_dotted(L->ctx, e->a);
		pc_symbol *sym = left ? pc_resolve_symbol(L->S, L->mod, left, NULL) : NULL;
		if (sym && sym->kind == PC_SYM_ENUM)
			return pc_lv_enum(L, e->name);
	}
	lval *v = eval(L, e->a);
	if (v->kind == LV_REC) {
		for (uint32_t i = 0; i < v->count; i++)
			if (v->keys[i] == e->name || strcmp(v->keys[i], e->name) == 0)
				return v->items[i];
		return pc_lv_new(L, LV_NONE);
	}
	if (v->kind == LV_REF && !v->out) {
		/* a task's named output */
		lval *r = pc_lv_new(L, LV_REF);
		r->s = v->s;
		r->out = e->name;
		return r;
	}
	if (v->kind == LV_RT || v->kind == LV_REF) {
		/* a field of a run-time record */
		json_t *j = json_object();
		json_object_set_new(j, "field", json_string(e->name));
		json_object_set_new(j, "of", pc_lv_operand(v));
		return pc_lv_rt(L, j);
	}
	return pc_lv_new(L, LV_NONE);
}

static lval *builtin(lowerer *L, const pc_ast *call, const char *fn)
{
	uint32_t n = call->list.n;
	lval *a[2] = {NULL, NULL};
	for (uint32_t i = 0; i < n && i < 2; i++)
		a[i] = eval(L, call->list.items[i]->a);
	int known = a[0] && pc_lv_is_const(a[0]) && (!a[1] || pc_lv_is_const(a[1]));
	if (!known) {
		json_t *args = json_array();
		for (uint32_t i = 0; i < n && i < 2; i++)
			json_array_append_new(args, pc_lv_operand(a[i]));
		json_t *j = json_object();
		json_object_set_new(j, "call", json_string(fn));
		json_object_set_new(j, "args", args);
		return pc_lv_rt(L, j);
	}
	lval *x = a[0];
	if (strcmp(fn, "len") == 0)
		return pc_lv_int(L, x->kind == LV_STR ? x->n : x->count, U_INT);
	if (strcmp(fn, "range") == 0) {
		int64_t lo = a[1] ? x->i : 0, hi = a[1] ? a[1]->i : x->i;
		if (hi - lo > 1000000) {
			ERR(L, "E0605", call->span, "range(%" PRId64 ", %" PRId64 ") has more than a million elements", lo, hi);
			return pc_lv_list(L, 0);
		}
		lval *v = pc_lv_list(L, hi > lo ? (uint32_t)(hi - lo) : 0);
		for (int64_t i = lo; i < hi; i++)
			v->items[i - lo] = pc_lv_int(L, i, U_INT);
		return v;
	}
	if (strcmp(fn, "str") == 0) {
		pc_buf b = {0};
		pc_lv_text(&b, x);
		lval *v = pc_lv_str(L, b.data ? b.data : "", b.len);
		pc_buf_free(&b);
		return v;
	}
	if (strcmp(fn, "int") == 0) {
		if (x->kind == LV_FLOAT)
			return pc_lv_int(L, (int64_t)x->f, U_INT);
		if (x->kind == LV_STR) {
			char *end;
			char *tmp = pc_arena_strndup(L->ctx->arena, x->s, x->n);
			errno = 0;
			long long v = strtoll(tmp, &end, 10);
			if (errno || *end || end == tmp)
				ERR(L, "E0606", call->span, "int(\"%s\"): not a whole number", tmp);
			return pc_lv_int(L, v, U_INT);
		}
		return pc_lv_int(L, x->i, U_INT);
	}
	if (strcmp(fn, "float") == 0) {
		if (x->kind == LV_STR) {
			char *tmp = pc_arena_strndup(L->ctx->arena, x->s, x->n), *end;
			double v = strtod(tmp, &end);
			if (*end || end == tmp)
				ERR(L, "E0606", call->span, "float(\"%s\"): not a number", tmp);
			return pc_lv_float(L, v);
		}
		return pc_lv_float(L, num(x));
	}
	if (strcmp(fn, "file") == 0 || strcmp(fn, "dir") == 0)
		return x;
	if (strcmp(fn, "flatten") == 0) {
		uint32_t total = 0;
		for (uint32_t i = 0; i < x->count; i++)
			total += x->items[i]->count;
		lval *v = pc_lv_list(L, total);
		total = 0;
		for (uint32_t i = 0; i < x->count; i++)
			for (uint32_t j = 0; j < x->items[i]->count; j++)
				v->items[total++] = x->items[i]->items[j];
		return v;
	}
	if (strcmp(fn, "zip") == 0) {
		uint32_t m = x->count < a[1]->count ? x->count : a[1]->count;
		lval *v = pc_lv_list(L, m);
		for (uint32_t i = 0; i < m; i++) {
			lval *r = pc_lv_new(L, LV_REC);
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
		lval *v = pc_lv_list(L, x->count);
		for (uint32_t i = 0; i < x->count; i++)
			v->items[i] = fn[0] == 'k' ? pc_lv_str(L, x->keys[i], strlen(x->keys[i])) : x->items[i];
		return v;
	}
	return pc_lv_new(L, LV_NONE);
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
			return pc_lv_new(L, LV_NONE);
		return e->c->kind == PC_AST_IF ? eval(L, e->c) : block(L, e->c);
	}
	/* a condition known only at run time: both branches, each guarded */
	json_t *yes = json_object();
	json_object_set_new(yes, "expr", pc_lv_json(c));
	json_object_set_new(yes, "is", json_true());
	lval *a = guarded(L, e->b, yes);
	lval *b = NULL;
	if (e->c) {
		json_t *no = json_object();
		json_object_set_new(no, "expr", pc_lv_json(c));
		json_object_set_new(no, "is", json_false());
		b = guarded(L, e->c, no);
		json_decref(no);
	}
	json_decref(yes);
	json_t *j = json_object();
	json_object_set_new(j, "if", pc_lv_json(c));
	json_object_set_new(j, "then", pc_lv_json(a));
	json_object_set_new(j, "else", b ? pc_lv_json(b) : json_null());
	return pc_lv_rt(L, j);
}

static lval *for_expr(lowerer *L, const pc_ast *e)
{
	lval *xs = eval(L, e->a);
	const char *saved_suffix = L->suffix;
	if (xs->kind == LV_LIST) {
		lval *out = pc_lv_list(L, xs->count);
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
	json_array_append_new(L->scatter_over, pc_lv_json(xs));
	if (!L->scatters)
		L->scatters = json_object();
	json_t *sc = json_object();
	json_object_set_new(sc, "over", pc_lv_json(xs));
	if (saved_scatter && json_array_size(saved_scatter)) /* the run-time fors it is inside */
		json_object_set_new(sc, "within", json_deep_copy(saved_scatter));
	json_object_set_new(L->scatters, sid, sc);
	pc_buf b = {0};
	pc_buf_printf(&b, "%s[*]", saved_suffix);
	L->suffix = pc_arena_strndup(L->ctx->arena, b.data, b.len);
	pc_buf_free(&b);
	env en;
	push_env(L, &en);
	bind(L, e->name, pc_lv_rt(L, item));
	lval *body = block(L, e->b);
	pop_env(L);
	json_decref(L->scatter);
	L->scatter = saved_scatter;
	json_decref(L->scatter_over);
	L->scatter_over = saved_over;
	L->suffix = saved_suffix;
	json_t *j = json_object();
	json_object_set_new(j, "gather", json_string(sid));
	json_object_set_new(j, "over", pc_lv_json(xs));
	json_object_set_new(j, "value", pc_lv_json(body));
	return pc_lv_rt(L, j);
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
	json_array_append_new(opts, pc_lv_json(a));
	json_array_append_new(opts, pc_lv_json(b));
	json_object_set_new(j, "first_of", opts);
	json_decref(first);
	json_decref(second);
	return pc_lv_rt(L, j);
}

static lval *after_expr(lowerer *L, const pc_ast *e)
{
	json_t *before;
	lval *d = capture(L, e->b, &before);
	/* what d's value refers to counts as well as the tasks it created */
	json_t *v = pc_lv_json(d);
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
	case PC_AST_INT: return pc_lv_int(L, e->v.i, U_INT);
	case PC_AST_SIZE: return pc_lv_int(L, e->v.i, U_SIZE);
	case PC_AST_DURATION: return pc_lv_int(L, e->v.i, U_DURATION);
	case PC_AST_FLOAT: return pc_lv_float(L, e->v.f);
	case PC_AST_BOOL: return pc_lv_bool(L, (int)e->v.i);
	case PC_AST_NONE: return pc_lv_new(L, LV_NONE);
	case PC_AST_STRING: {
		int known = 1;
		lval **parts = pc_arena_alloc(L->ctx->arena, (e->list.n + 1) * sizeof *parts);
		for (uint32_t i = 0; i < e->list.n; i++) {
			const pc_ast *p = e->list.items[i];
			parts[i] = p->kind == PC_AST_STR_TEXT ? pc_lv_str(L, p->name, (size_t)p->v.i) : eval(L, p);
			known &= pc_lv_is_const(parts[i]);
		}
		if (known) {
			pc_buf b = {0};
			for (uint32_t i = 0; i < e->list.n; i++) {
				if (parts[i]->kind == LV_LIST)
					for (uint32_t k = 0; k < parts[i]->count; k++) {
						if (k)
							pc_buf_addc(&b, ' ');
						pc_lv_text(&b, parts[i]->items[k]);
					}
				else
					pc_lv_text(&b, parts[i]);
			}
			lval *v = pc_lv_str(L, b.data ? b.data : "", b.len);
			pc_buf_free(&b);
			return v;
		}
		json_t *arr = json_array();
		for (uint32_t i = 0; i < e->list.n; i++)
			json_array_append_new(arr, pc_lv_operand(parts[i]));
		json_t *j = json_object();
		json_object_set_new(j, "concat", arr);
		return pc_lv_rt(L, j);
	}
	case PC_AST_NAME: {
		lval *v = lookup(L, e->name);
		if (v)
			return v;
		return pc_lv_enum(L, e->name); /* an unqualified enum member */
	}
	case PC_AST_FIELD: return field(L, e);
	case PC_AST_CALL: return call(L, e);
	case PC_AST_LIST: {
		lval *v = pc_lv_list(L, e->list.n);
		for (uint32_t i = 0; i < e->list.n; i++)
			v->items[i] = eval(L, e->list.items[i]);
		return v;
	}
	case PC_AST_RECORD: {
		lval *v = pc_lv_new(L, LV_REC);
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
			return pc_lv_bool(L, !a->i);
		if (e->op == PC_OP_NEG && a->kind == LV_INT) {
			if (a->i == INT64_MIN)
				return overflow(L, e);
			return pc_lv_int(L, -a->i, a->unit);
		}
		if (e->op == PC_OP_NEG && a->kind == LV_FLOAT)
			return pc_lv_float(L, -a->f);
		return pc_lv_rt_op(L, e->op == PC_OP_NOT ? "!" : "neg", a, NULL);
	}
	case PC_AST_BINARY: return binary(L, e);
	case PC_AST_COMPARE: return compare(L, e);
	case PC_AST_RANGE: {
		lval *a = eval(L, e->a), *b = eval(L, e->b);
		if (a->kind == LV_INT && b->kind == LV_INT) {
			if (b->i - a->i > 1000000) {
				ERR(L, "E0605", e->span, "the range %" PRId64 "..%" PRId64 " has more than a million elements", a->i, b->i);
				return pc_lv_list(L, 0);
			}
			lval *v = pc_lv_list(L, b->i > a->i ? (uint32_t)(b->i - a->i) : 0);
			for (int64_t i = a->i; i < b->i; i++)
				v->items[i - a->i] = pc_lv_int(L, i, U_INT);
			return v;
		}
		return pc_lv_rt_op(L, "..", a, b);
	}
	case PC_AST_IF: return if_expr(L, e);
	case PC_AST_FOR: return for_expr(L, e);
	case PC_AST_TRY: return try_expr(L, e);
	case PC_AST_AFTER: return after_expr(L, e);
	default: return pc_lv_new(L, LV_NONE);
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
			json_object_set_new(chk, "expr", pc_lv_json(c));
			if (msg)
				json_object_set_new(chk, "message", pc_lv_json(msg));
			json_object_set_new(chk, "loc", loc_of(L, s));
			json_array_append_new(L->checks, chk);
		}
		return NULL;
	}
	case PC_AST_RETURN:
		*returned = 1;
		return s->a ? eval(L, s->a) : pc_lv_new(L, LV_NONE);
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
	lval *last = pc_lv_new(L, LV_NONE);
	int returned = 0;
	for (uint32_t i = 0; i < body->list.n; i++) {
		lval *v = statement(L, body->list.items[i], &returned);
		last = v ? v : pc_lv_new(L, LV_NONE);
	}
	pop_env(L);
	return last;
}

static lval *pipeline_body(lowerer *L, const pc_ast *body, int *returned)
{
	lval *result = pc_lv_new(L, LV_NONE);
	for (uint32_t i = 0; i < body->list.n && !*returned; i++) {
		lval *v = statement(L, body->list.items[i], returned);
		if (*returned)
			result = v;
	}
	return result;
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
	pc_sig *sig = pc_resolve_sig(S, sym);

	/* parameters: -p name=value, else the defaults */
	lval **vals = pc_arena_alloc(ctx->arena, (sig->nparams + 1) * sizeof *vals);
	int rc = pc_param_read(L, sig, pipeline, params, nparams, vals, err);
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
			pc_lv_text(&v, vals[k]);
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
	if (rc == 0)
		rc = pc_plan_write(L, root->path, pipeline, sig, vals, result, out, err);
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
