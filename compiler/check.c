/*
 * check.c - names and types (LANGUAGE.md sections 3-6 and 8).
 *
 * For every loaded module: the types of its type, record and enum
 * declarations and the signature of each stage and pipeline (resolved
 * lazily by resolve.c, so declaration order does not matter), and then
 * each body:
 *
 *   stage     every directive known, of its type (run: String, resources:
 *             { cpu, memory, ... }, ...); `run` present; interpolations
 *             only of names in scope (parameters, outputs, checkpoint_dir)
 *             with a text form
 *   pipeline  statements in order: `let` binds once and a name cannot be
 *             used before its let; calls match arguments to parameters
 *             (positional, then named, defaults fill the rest); `return`
 *             matches the outputs
 *   test      the same, plus `mock` (of a stage, naming its parameters)
 *             and `expect`
 *
 * Scopes are a chain of maps from interned names to bindings.  When a block
 * is entered, every name it will `let` is entered as FUTURE, so a use before
 * the let is reported as such rather than as an unknown name.
 *
 * Each check reports what it expected, what it found and, where a fix is
 * likely, a note (a conversion for distinct types, "did you mean" for
 * misspelt names, from suggest.c).  An expression whose error was reported
 * gets the type PC_T_ERROR, which is compatible with everything, so one
 * mistake is reported once.
 */
#include "sema-internal.h"

#include "constraint.h"
#include "profile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { B_PARAM, B_LET, B_FOR, B_OUTPUT, B_CHECKPOINT_DIR, B_FUTURE };

typedef struct binding {
	const char *name;
	const pc_type *type;
	const pc_ast *node; /* where it was bound */
	int kind;
	int allowed;        /* B_CHECKPOINT_DIR: the stage has checkpoint: true */
	pc_absval av;       /* what is known of its value at compile time */
} binding;

typedef struct scope {
	struct scope *parent;
	pc_map names; /* interned name -> binding */
} scope;

typedef struct checker {
	pc_sema *S;
	pc_ctx *ctx;
	pc_module *mod;
	scope *sc;
	const pc_type *result; /* a pipeline's outputs; NULL outside pipelines */
	int in_test;
	int nested;            /* inside an if/for block */
	int in_stage;          /* checking a stage's directives: no stage calls */
	struct fact {          /* relations known to hold: "l op r" from where and require */
		const pc_ast *l, *r;
		int op;
	} *facts;              /* malloc()ed; reset per pipeline */
	uint32_t nfacts, capfacts;
} checker;

#define ERR(C, code, span, ...) pc_diag_emit((C)->ctx, PC_SEV_ERROR, code, span, __VA_ARGS__)
#define T(k) pc_type_basic(PC_T_##k)

static const pc_type *expr(checker *C, pc_ast *e);
static const pc_type *block(checker *C, pc_ast *body, int value);

static const char *I(checker *C, const char *s)
{
	return pc_intern(C->ctx->names, s, strlen(s));
}

static const char *tstr(checker *C, const pc_type *t)
{
	return pc_type_str(C->ctx, t);
}

/* Source text of N, shortened, for messages and suggested fixes. */
static const char *text_of(checker *C, const pc_ast *n)
{
	const pc_source *s = C->ctx->files[n->span.file];
	uint32_t len = n->span.end - n->span.start;
	const char *p = s->text + n->span.start;
	if (len > 40 || memchr(p, '\n', len))
		return "...";
	return pc_arena_strndup(C->ctx->arena, p, len);
}

/* ---- scopes -------------------------------------------------------------- */

static void push_scope(checker *C, scope *s)
{
	memset(s, 0, sizeof *s);
	s->parent = C->sc;
	C->sc = s;
}

static void pop_scope(checker *C)
{
	scope *s = C->sc;
	C->sc = s->parent;
	pc_map_free(&s->names);
}

static binding *bind(checker *C, const char *name, const pc_type *t, const pc_ast *node, int kind)
{
	binding *b = pc_arena_alloc(C->ctx->arena, sizeof *b);
	b->name = name;
	b->type = t;
	b->node = node;
	b->kind = kind;
	b->av = pc_av_top();
	pc_map_put(&C->sc->names, name, b);
	return b;
}

/* The constraint evaluator's view of the scopes. */
static const pc_absval *av_lookup(void *ud, const char *name)
{
	checker *C = ud;
	for (scope *s = C->sc; s; s = s->parent) {
		binding *b = pc_map_get(&s->names, name);
		if (b)
			return b->kind == B_FUTURE ? NULL : &b->av;
	}
	return NULL;
}

static void av_narrow(void *ud, const char *name, pc_absval v)
{
	checker *C = ud;
	for (scope *s = C->sc; s; s = s->parent) {
		binding *b = pc_map_get(&s->names, name);
		if (b) {
			if (b->kind != B_FUTURE)
				b->av = v;
			return;
		}
	}
}

/* A fixed set of names and values: a callee's parameters at one call. */
typedef struct av_env {
	uint32_t n;
	const char **names;
	pc_absval *vals;
} av_env;

static const pc_absval *env_lookup(void *ud, const char *name)
{
	av_env *e = ud;
	for (uint32_t i = 0; i < e->n; i++)
		if (e->names[i] == name)
			return &e->vals[i];
	return NULL;
}

static binding *lookup(checker *C, const char *name)
{
	for (scope *s = C->sc; s; s = s->parent) {
		binding *b = pc_map_get(&s->names, name);
		if (b)
			return b;
	}
	return NULL;
}

/* ---- suggestions --------------------------------------------------------- */

static const char *const builtin_functions[] = {"len", "range", "file", "dir", "str", "int",
						"float", "flatten", "zip", "keys", "values"};
#define NBUILTINS (sizeof builtin_functions / sizeof builtin_functions[0])

static void note_suggestion(checker *C, pc_diag *d, const char *name, int want)
{
	pc_suggest s = {name, NULL, 99};
	if (want & PC_WANT_VALUE)
		for (scope *sc = C->sc; sc; sc = sc->parent)
			for (uint32_t i = 0; i < sc->names.cap; i++)
				if (sc->names.slots[i].key)
					pc_suggest_consider(&s, sc->names.slots[i].key);
	pc_suggest_symbols(&s, C->mod, want);
	if (want & PC_WANT_CALLABLE)
		for (size_t i = 0; i < NBUILTINS; i++)
			pc_suggest_consider(&s, builtin_functions[i]);
	pc_suggest_note(C->ctx, d, &s);
}

/* ---- type expectations --------------------------------------------------- */

/* Reports that E (of type GOT) is not a WANT, with a conversion note where one fits. */
static void mismatch(checker *C, const pc_ast *e, const pc_type *want, const pc_type *got,
		     const char *context)
{
	pc_diag *d = ERR(C, "E0301", e->span, "expected %s%s, found %s", tstr(C, want), context ? context : "",
			 tstr(C, got));
	pc_diag_label(C->ctx, d, "this is %s %s", strchr("AEIOU", tstr(C, got)[0]) ? "an" : "a", tstr(C, got));
	const pc_type *w = want->kind == PC_T_OPTIONAL ? want->elem : want;
	if (w->kind == PC_T_DISTINCT && pc_type_equal(pc_type_base(w), pc_type_base(got)))
		pc_diag_note(C->ctx, d, "%s is a distinct type over %s; convert with %s(%s)", w->name,
			     tstr(C, w->elem), w->name, text_of(C, e));
	else if (got->kind == PC_T_DISTINCT && pc_type_equal(pc_type_base(got), w))
		pc_diag_note(C->ctx, d, "%s is a distinct type over %s; convert with %s(%s)", got->name,
			     tstr(C, got->elem), tstr(C, w), text_of(C, e));
	else if (got->kind == PC_T_OPTIONAL && pc_type_assignable(w, got->elem))
		pc_diag_note(C->ctx, d, "the value may be none here");
	else if (w->kind == PC_T_INT && got->kind == PC_T_FLOAT)
		pc_diag_note(C->ctx, d, "Float does not convert to Int implicitly; use int(%s)", text_of(C, e));
	else if (w->kind == PC_T_RECORD && got->kind == PC_T_RECORD && got->anon) {
		for (uint32_t i = 0; i < w->nfields; i++)
			if (!pc_type_field(got, w->fields[i].name))
				pc_diag_note(C->ctx, d, "the field '%s' is missing", w->fields[i].name);
		for (uint32_t i = 0; i < got->nfields; i++)
			if (!pc_type_field(w, got->fields[i].name))
				pc_diag_note(C->ctx, d, "%s has no field '%s'", tstr(C, w), got->fields[i].name);
	}
}

/* Checks E against WANT; returns E's type. */
static const pc_type *expect(checker *C, pc_ast *e, const pc_type *want, const char *context)
{
	const pc_type *got = expr(C, e);
	if (!pc_type_assignable(want, got))
		mismatch(C, e, want, got, context);
	return got;
}

/* ---- paths: x, x.y, std.ml.split, E.member -------------------------------- */

/* A module-level symbol that E names (not a local value), or NULL. */
static pc_symbol *path_symbol(checker *C, const pc_ast *e, int *broken)
{
	*broken = 0;
	const pc_ast *root = pc_ast_root_name(e);
	if (!root || lookup(C, root->name))
		return NULL;
	const char *path = pc_ast_dotted(C->ctx, e);
	return path ? pc_resolve_symbol(C->S, C->mod, path, broken) : NULL;
}

/* The enum of this module with a member NAME, if exactly one has it. */
static const pc_type *enum_with_member(checker *C, const char *name, int *ambiguous)
{
	const pc_type *found = NULL;
	*ambiguous = 0;
	pc_map *syms = &C->mod->symbols;
	for (uint32_t i = 0; i < syms->cap; i++) {
		pc_symbol *sym = syms->slots[i].value;
		if (!syms->slots[i].key || sym->kind != PC_SYM_ENUM)
			continue;
		const pc_type *t = pc_resolve_symbol_type(C->S, sym);
		for (uint32_t j = 0; j < t->nmembers; j++)
			if (t->members[j] == name) {
				if (found)
					*ambiguous = 1;
				found = t;
			}
	}
	return found;
}

static const pc_type *not_a_value(checker *C, const pc_ast *e, pc_symbol *sym)
{
	const char *what = sym->kind == PC_SYM_STAGE ? "stage" : sym->kind == PC_SYM_PIPELINE ? "pipeline"
			   : sym->kind == PC_SYM_IMPORT ? "module" : "type";
	pc_diag *d = ERR(C, "E0317", e->span, "'%s' is a %s, not a value", text_of(C, e), what);
	if (sym->kind == PC_SYM_STAGE || sym->kind == PC_SYM_PIPELINE)
		pc_diag_note(C->ctx, d, "call it: %s(...)", text_of(C, e));
	return T(ERROR);
}

static const pc_type *name_value(checker *C, pc_ast *e)
{
	binding *b = lookup(C, e->name);
	if (b && b->kind == B_FUTURE) {
		uint32_t line, col;
		pc_source_linecol(C->ctx->files[b->node->span.file], b->node->span.start, &line, &col);
		pc_diag *d = ERR(C, "E0307", e->span, "'%s' is used before its let", e->name);
		pc_diag_secondary(C->ctx, d, b->node->span, "bound here, on line %u", line);
		pc_diag_note(C->ctx, d, "names are bound in order, so a pipeline cannot contain a data cycle");
		return T(ERROR);
	}
	if (b && b->kind == B_CHECKPOINT_DIR && !b->allowed) {
		pc_diag *d = ERR(C, "E0302", e->span, "checkpoint_dir is only set for stages with checkpoint: true");
		pc_diag_note(C->ctx, d, "add the directive 'checkpoint: true'");
		return T(ERROR);
	}
	if (b)
		return b->type;
	int broken;
	pc_symbol *sym = pc_resolve_symbol(C->S, C->mod, e->name, &broken);
	if (sym)
		return not_a_value(C, e, sym);
	int ambiguous;
	const pc_type *en = enum_with_member(C, e->name, &ambiguous);
	if (en && !ambiguous)
		return en;
	if (en) {
		ERR(C, "E0302", e->span, "'%s' is a member of more than one enum; write Enum.%s", e->name, e->name);
		return T(ERROR);
	}
	for (size_t i = 0; i < NBUILTINS; i++)
		if (strcmp(builtin_functions[i], e->name) == 0) {
			ERR(C, "E0317", e->span, "'%s' is a built-in function, not a value; call it", e->name);
			return T(ERROR);
		}
	pc_diag *d = ERR(C, "E0302", e->span, "unknown name '%s'", e->name);
	note_suggestion(C, d, e->name, PC_WANT_VALUE | PC_WANT_CALLABLE);
	return T(ERROR);
}

static const pc_type *field_value(checker *C, pc_ast *e)
{
	int broken;
	pc_symbol *sym = path_symbol(C, e, &broken);
	if (broken)
		return T(ERROR);
	if (sym)
		return not_a_value(C, e, sym);
	/* E.member, std.ml.Split.train */
	if (!pc_ast_root_name(e) || !lookup(C, pc_ast_root_name(e)->name)) {
		const char *left = pc_ast_dotted(C->ctx, e->a);
		pc_symbol *es = left ? pc_resolve_symbol(C->S, C->mod, left, &broken) : NULL;
		if (broken)
			return T(ERROR);
		if (es && es->kind == PC_SYM_ENUM) {
			const pc_type *t = pc_resolve_symbol_type(C->S, es);
			for (uint32_t i = 0; i < t->nmembers; i++)
				if (t->members[i] == e->name)
					return t;
			pc_diag *d = ERR(C, "E0318", e->span, "enum '%s' has no member '%s'", t->name, e->name);
			pc_suggest s = {e->name, NULL, 99};
			for (uint32_t i = 0; i < t->nmembers; i++)
				pc_suggest_consider(&s, t->members[i]);
			if (s.name)
				pc_diag_note(C->ctx, d, "did you mean '%s'?", s.name);
			return T(ERROR);
		}
		if (es) {
			not_a_value(C, e->a, es);
			return T(ERROR);
		}
		/* an import alias followed by an unknown name */
		const pc_ast *root = pc_ast_root_name(e);
		pc_symbol *rs = root ? pc_map_get(&C->mod->symbols, root->name) : NULL;
		const char *path = pc_ast_dotted(C->ctx, e);
		for (const char *p = path; p && (p = strchr(p, '.')); p++) {
			pc_symbol *imp = pc_map_get(&C->mod->symbols,
						    pc_intern(C->ctx->names, path, (size_t)(p - path)));
			if (imp && imp->kind == PC_SYM_IMPORT) {
				if (!imp->target)
					return T(ERROR);
				pc_diag *d = ERR(C, "E0302", e->span, "module '%s' has no '%s'", imp->name, p + 1);
				pc_suggest s = {p + 1, NULL, 99};
				for (uint32_t i = 0; i < imp->target->symbols.cap; i++)
					pc_suggest_consider(&s, imp->target->symbols.slots[i].key);
				if (s.name)
					pc_diag_note(C->ctx, d, "did you mean '%s.%s'?", imp->name, s.name);
				return T(ERROR);
			}
		}
		(void)rs;
	}
	const pc_ast *root = pc_ast_root_name(e);
	if (root && !lookup(C, root->name) && strcmp(root->name, "std") == 0 &&
	    !pc_map_get(&C->mod->symbols, root->name)) {
		const pc_ast *mod = e;
		while (mod->a && mod->a->kind == PC_AST_FIELD)
			mod = mod->a;
		const char *name = pc_ast_dotted(C->ctx, mod);
		pc_diag *d = ERR(C, "E0302", e->span, "the module '%s' is not imported", name);
		pc_diag_note(C->ctx, d, "add 'import %s' at the top of the file", name);
		return T(ERROR);
	}
	const pc_type *t = expr(C, e->a);
	if (t->kind == PC_T_ERROR)
		return t;
	const pc_type *bt = t;
	if (bt->kind == PC_T_OPTIONAL) {
		pc_diag *d = ERR(C, "E0325", e->a->span, "'%s' may be none, so it has no field '%s'",
				 text_of(C, e->a), e->name);
		pc_diag_note(C->ctx, d, "its type is %s", tstr(C, t));
		return T(ERROR);
	}
	if (bt->kind != PC_T_RECORD) {
		ERR(C, "E0318", e->span, "a value of type %s has no fields; '%s' is not one", tstr(C, t), e->name);
		return T(ERROR);
	}
	const pc_field *f = pc_type_field(bt, e->name);
	if (!f) {
		pc_diag *d = ERR(C, "E0318", e->span, "%s has no field '%s'", tstr(C, t), e->name);
		pc_suggest s = {e->name, NULL, 99};
		for (uint32_t i = 0; i < bt->nfields; i++)
			pc_suggest_consider(&s, bt->fields[i].name);
		if (s.name)
			pc_diag_note(C->ctx, d, "did you mean '%s'?", s.name);
		return T(ERROR);
	}
	return f->type;
}

/* ---- calls --------------------------------------------------------------- */

/* Appends "n is 20000, m is between 1 and 5" for the names E mentions. */
static void describe_names(pc_buf *b, const pc_ast *e, av_env *env, const char **seen, int *nseen)
{
	if (!e)
		return;
	if (e->kind == PC_AST_NAME) {
		const pc_absval *v = env_lookup(env, e->name);
		for (int i = 0; i < *nseen; i++)
			if (seen[i] == e->name)
				return;
		if (!v || *nseen >= 16)
			return;
		seen[(*nseen)++] = e->name;
		pc_buf_printf(b, "%s%s is ", *nseen > 1 ? ", " : "", e->name);
		pc_av_describe(b, v);
		return;
	}
	describe_names(b, e->a, env, seen, nseen);
	describe_names(b, e->b, env, seen, nseen);
	describe_names(b, e->c, env, seen, nseen);
	for (uint32_t i = 0; i < e->list.n; i++)
		describe_names(b, e->list.items[i], env, seen, nseen);
}

/* Records the comparisons of E (a where or a require) as facts. */
static void add_facts(checker *C, const pc_ast *e)
{
	if (e->kind == PC_AST_PAREN) {
		add_facts(C, e->a);
		return;
	}
	if (e->kind == PC_AST_BINARY && e->op == PC_OP_AND) {
		add_facts(C, e->a);
		add_facts(C, e->b);
		return;
	}
	if (e->kind != PC_AST_COMPARE)
		return;
	const pc_ast *l = e->a;
	for (uint32_t i = 0; i < e->list.n; i++) {
		if (C->nfacts == C->capfacts) {
			C->capfacts = C->capfacts ? 2 * C->capfacts : 16;
			C->facts = pc_xrealloc(C->facts, C->capfacts * sizeof *C->facts);
		}
		C->facts[C->nfacts++] = (struct fact){l, e->list.items[i]->a, e->list.items[i]->op};
		l = e->list.items[i]->a;
	}
}

/* Whether callee expression A, its parameters replaced by the arguments in
 * ENV_ARGS, is the caller's expression B (structurally). */
static int same_expr(const pc_ast *a, const pc_sig *sig, const pc_ast **args, const pc_ast *b)
{
	while (a->kind == PC_AST_PAREN)
		a = a->a;
	while (b->kind == PC_AST_PAREN)
		b = b->a;
	if (a->kind == PC_AST_NAME && sig) {
		for (uint32_t k = 0; k < sig->nparams; k++)
			if (sig->params[k].name == a->name)
				return args[k] && same_expr(args[k], NULL, NULL, b);
	}
	if (a->kind != b->kind || a->op != b->op || a->list.n != b->list.n)
		return 0;
	switch (a->kind) {
	case PC_AST_NAME: return a->name == b->name;
	case PC_AST_INT: case PC_AST_SIZE: case PC_AST_DURATION: case PC_AST_BOOL: return a->v.i == b->v.i;
	case PC_AST_FLOAT: return a->v.f == b->v.f;
	case PC_AST_FIELD: return a->name == b->name && same_expr(a->a, sig, args, b->a);
	case PC_AST_UNARY: return same_expr(a->a, sig, args, b->a);
	case PC_AST_BINARY: return same_expr(a->a, sig, args, b->a) && same_expr(a->b, sig, args, b->b);
	default: return 0;
	}
}

static int flip_op(int op)
{
	return op == PC_OP_LT ? PC_OP_GT : op == PC_OP_GT ? PC_OP_LT : op == PC_OP_LE ? PC_OP_GE : op == PC_OP_GE ? PC_OP_LE : op;
}

/* Whether "l op r" (callee terms, arguments substituted) is a known fact,
 * or follows from one (a < b gives a <= b and a != b). */
static const struct fact *known(checker *C, const pc_ast *l, int op, const pc_ast *r, const pc_sig *sig,
				const pc_ast **args)
{
	for (uint32_t i = 0; i < C->nfacts; i++) {
		const struct fact *f = &C->facts[i];
		for (int side = 0; side < 2; side++) {
			const pc_ast *fl = side ? f->r : f->l, *fr = side ? f->l : f->r;
			int fop = side ? flip_op(f->op) : f->op;
			if (!same_expr(l, sig, args, fl) || !same_expr(r, sig, args, fr))
				continue;
			if (fop == op || (op == PC_OP_LE && (fop == PC_OP_LT || fop == PC_OP_EQ)) || (op == PC_OP_GE && (fop == PC_OP_GT || fop == PC_OP_EQ)) ||
			    (op == PC_OP_NE && (fop == PC_OP_LT || fop == PC_OP_GT)))
				return f;
		}
	}
	return NULL;
}

/* Whether the callee constraint W holds by the caller's relational facts. */
static int proven_by_facts(checker *C, const pc_ast *w, const pc_sig *sig, const pc_ast **args)
{
	while (w->kind == PC_AST_PAREN)
		w = w->a;
	if (w->kind == PC_AST_BINARY && w->op == PC_OP_AND)
		return proven_by_facts(C, w->a, sig, args) && proven_by_facts(C, w->b, sig, args);
	if (w->kind != PC_AST_COMPARE)
		return 0;
	const pc_ast *l = w->a;
	for (uint32_t i = 0; i < w->list.n; i++) {
		if (!known(C, l, w->list.items[i]->op, w->list.items[i]->a, sig, args))
			return 0;
		l = w->list.items[i]->a;
	}
	return 1;
}

/* The caller's fact that contradicts W (the opposite of one of its steps), or NULL. */
static const struct fact *refuted_by_facts(checker *C, const pc_ast *w, const pc_sig *sig, const pc_ast **args)
{
	while (w->kind == PC_AST_PAREN)
		w = w->a;
	if (w->kind == PC_AST_BINARY && w->op == PC_OP_AND) {
		const struct fact *f = refuted_by_facts(C, w->a, sig, args);
		return f ? f : refuted_by_facts(C, w->b, sig, args);
	}
	if (w->kind != PC_AST_COMPARE)
		return NULL;
	const pc_ast *l = w->a;
	for (uint32_t i = 0; i < w->list.n; i++) {
		int op = w->list.items[i]->op;
		int neg = op == PC_OP_LT ? PC_OP_GE : op == PC_OP_LE ? PC_OP_GT : op == PC_OP_GT ? PC_OP_LE : op == PC_OP_GE ? PC_OP_LT : op == PC_OP_EQ ? PC_OP_NE : PC_OP_EQ;
		const struct fact *f = known(C, l, neg, w->list.items[i]->a, sig, args);
		if (f)
			return f;
		l = w->list.items[i]->a;
	}
	return NULL;
}

/*
 * The callee's `where` constraints at one call: proven, refuted (E0401), or
 * undecided (a run-time check; E0402 with --strict).  GIVEN holds the
 * argument for each parameter, or NULL where the default applies.
 */
static void call_constraints(checker *C, pc_ast *call, const pc_sig *sig, const pc_ast **given,
			     const char *what)
{
	av_env env = {sig->nparams, pc_xcalloc(sig->nparams + 1, sizeof(char *)),
		      pc_xcalloc(sig->nparams + 1, sizeof(pc_absval))};
	for (uint32_t k = 0; k < sig->nparams; k++) {
		env.names[k] = sig->params[k].name;
		const pc_ast *p = sig->params[k].node;
		env.vals[k] = given[k] ? pc_av_eval(given[k]->a, av_lookup, C)
			      : p->b ? pc_av_eval(p->b, NULL, NULL) : pc_av_top();
	}
	for (uint32_t k = 0; k < sig->nparams; k++) {
		const pc_ast *w = sig->params[k].node->c;
		if (!w)
			continue;
		pc_truth t = pc_av_truth(w, env_lookup, &env);
		const struct fact *contra = NULL;
		if (t == PC_UNKNOWN) {
			/* relations the caller knows: where lo < hi proves the callee's a < b */
			const pc_ast **args = pc_xcalloc(sig->nparams + 1, sizeof *args);
			for (uint32_t j = 0; j < sig->nparams; j++)
				args[j] = given[j] ? given[j]->a : sig->params[j].node->b;
			if (proven_by_facts(C, w, sig, args))
				t = PC_TRUE;
			else if ((contra = refuted_by_facts(C, w, sig, args)))
				t = PC_FALSE;
			free(args);
		}
		if (t == PC_TRUE || (t == PC_UNKNOWN && !C->ctx->strict))
			continue;
		pc_buf vals = {0};
		const char *seen[16];
		int nseen = 0;
		describe_names(&vals, w, &env, seen, &nseen);
		pc_span at = given[k] ? given[k]->span : call->span;
		pc_diag *d;
		if (t == PC_FALSE && contra) {
			d = ERR(C, "E0401", at, "%s requires %s, but here %s %s %s", what, text_of(C, w), text_of(C, contra->l),
				pc_op_text(contra->op), text_of(C, contra->r));
			pc_diag_label(C->ctx, d, "breaks the constraint");
		} else if (t == PC_FALSE) {
			d = ERR(C, "E0401", at, "%s requires %s, but here %s", what, text_of(C, w), vals.data ? vals.data : "");
			pc_diag_label(C->ctx, d, "breaks the constraint");
		} else {
			d = ERR(C, "E0402", at, "cannot prove that %s holds here (%s)", text_of(C, w),
				vals.data ? vals.data : "");
			pc_diag_note(C->ctx, d, "--strict makes this an error; without it the constraint is checked when the run starts");
			pc_diag_note(C->ctx, d, "constrain the caller's own parameters (where ...) or add a require before the call");
		}
		pc_diag_secondary(C->ctx, d, w->span, "the constraint on '%s'", sig->params[k].name);
		pc_buf_free(&vals);
	}
	free(env.names);
	free(env.vals);
}

/* Matches the arguments of CALL to the parameters of SIG (for WHAT, e.g.
 * "stage 'fetch'"). */
static void match_args(checker *C, pc_ast *call, const pc_sig *sig, const char *what)
{
	size_t errors = C->ctx->nerrors;
	const pc_ast **given = pc_xcalloc(sig->nparams + 1, sizeof *given);
	uint32_t npos = 0;
	int named_seen = 0;
	for (uint32_t i = 0; i < call->list.n; i++) {
		pc_ast *a = call->list.items[i];
		if (a->kind != PC_AST_ARG) {
			continue;
		}
		if (!a->name) {
			if (named_seen) {
				ERR(C, "E0309", a->span, "a positional argument cannot follow named ones");
				expr(C, a->a);
				continue;
			}
			if (npos >= sig->nparams) {
				pc_diag *d = ERR(C, "E0309", a->span, "too many arguments: %s takes %u", what, sig->nparams);
				(void)d;
				expr(C, a->a);
				npos++;
				continue;
			}
			given[npos] = a;
			expect(C, a->a, sig->params[npos].type, NULL);
			npos++;
			continue;
		}
		named_seen = 1;
		uint32_t k = 0;
		while (k < sig->nparams && sig->params[k].name != a->name)
			k++;
		if (k == sig->nparams) {
			pc_diag *d = ERR(C, "E0310", pc_sema_name_span(C->mod, a), "%s has no parameter '%s'", what, a->name);
			pc_suggest s = {a->name, NULL, 99};
			for (uint32_t j = 0; j < sig->nparams; j++)
				pc_suggest_consider(&s, sig->params[j].name);
			if (s.name)
				pc_diag_note(C->ctx, d, "did you mean '%s'?", s.name);
			expr(C, a->a);
			continue;
		}
		if (given[k]) {
			pc_diag *d = ERR(C, "E0311", a->span, "'%s' is given twice", a->name);
			pc_diag_secondary(C->ctx, d, given[k]->span, "first given here");
			expr(C, a->a);
			continue;
		}
		given[k] = a;
		expect(C, a->a, sig->params[k].type, NULL);
	}
	pc_buf missing = {0};
	int nmissing = 0;
	for (uint32_t k = 0; k < sig->nparams; k++)
		if (!given[k] && !sig->params[k].node->b) {
			pc_buf_printf(&missing, "%s'%s: %s'", nmissing ? ", " : "", sig->params[k].name,
				      tstr(C, sig->params[k].type));
			nmissing++;
		}
	if (nmissing)
		ERR(C, "E0312", call->span, "%s needs %s %s, which %s not given", what,
		    nmissing == 1 ? "the argument" : "the arguments", missing.data, nmissing == 1 ? "is" : "are");
	pc_buf_free(&missing);
	if (C->ctx->nerrors == errors)
		call_constraints(C, call, sig, given, what);
	free(given);
}

static const pc_type *check_arg_count(checker *C, pc_ast *call, const char *fn, uint32_t lo, uint32_t hi)
{
	for (uint32_t i = 0; i < call->list.n; i++)
		if (call->list.items[i]->kind == PC_AST_ARG && call->list.items[i]->name) {
			ERR(C, "E0310", call->list.items[i]->span, "%s takes positional arguments only", fn);
			return T(ERROR);
		}
	if (call->list.n < lo || call->list.n > hi) {
		if (lo == hi)
			ERR(C, "E0309", call->span, "%s takes %u argument%s, found %u", fn, lo, lo == 1 ? "" : "s", call->list.n);
		else
			ERR(C, "E0309", call->span, "%s takes %u to %u arguments, found %u", fn, lo, hi, call->list.n);
		return T(ERROR);
	}
	return NULL;
}

static const pc_type *builtin_call(checker *C, pc_ast *call, const char *fn)
{
	pc_ctx *ctx = C->ctx;
	uint32_t lo = 1, hi = 1;
	if (strcmp(fn, "range") == 0)
		hi = 2;
	else if (strcmp(fn, "zip") == 0)
		lo = hi = 2;
	const pc_type *bad = check_arg_count(C, call, fn, lo, hi);
	pc_ast *a0 = call->list.items[0]->a;
	if (bad) {
		for (uint32_t i = 0; i < call->list.n; i++)
			if (call->list.items[i]->kind == PC_AST_ARG)
				expr(C, call->list.items[i]->a);
		return bad;
	}
	if (strcmp(fn, "range") == 0) {
		for (uint32_t i = 0; i < call->list.n; i++)
			expect(C, call->list.items[i]->a, T(INT), NULL);
		return pc_type_list(ctx, T(INT));
	}
	const pc_type *t = expr(C, a0);
	const pc_type *b = pc_type_base(t);
	if (t->kind == PC_T_ERROR)
		return strcmp(fn, "len") == 0 || strcmp(fn, "int") == 0 ? T(INT) : T(ERROR);
	const char *want = NULL;
	const pc_type *r = NULL;
	if (strcmp(fn, "len") == 0) {
		if (b->kind == PC_T_LIST || b->kind == PC_T_MAP || b->kind == PC_T_STRING)
			r = T(INT);
		want = "a List, a Map or a String";
	} else if (strcmp(fn, "file") == 0 || strcmp(fn, "dir") == 0) {
		if (b->kind == PC_T_STRING)
			r = fn[0] == 'f' ? T(FILE) : T(DIR);
		want = "a String";
	} else if (strcmp(fn, "str") == 0) {
		if (pc_type_has_text(t))
			r = T(STRING);
		want = "a value with a text form";
	} else if (strcmp(fn, "int") == 0) {
		if (b->kind == PC_T_INT || b->kind == PC_T_FLOAT || b->kind == PC_T_STRING ||
		    b->kind == PC_T_SIZE || b->kind == PC_T_DURATION || b->kind == PC_T_BOOL)
			r = T(INT);
		want = "a number, a String, a Size, a Duration or a Bool";
	} else if (strcmp(fn, "float") == 0) {
		if (b->kind == PC_T_INT || b->kind == PC_T_FLOAT || b->kind == PC_T_STRING)
			r = T(FLOAT);
		want = "a number or a String";
	} else if (strcmp(fn, "flatten") == 0) {
		if (b->kind == PC_T_LIST && (b->elem->kind == PC_T_EMPTY || b->elem->kind == PC_T_LIST))
			r = b->elem->kind == PC_T_EMPTY ? b : b->elem;
		want = "a List of Lists";
	} else if (strcmp(fn, "keys") == 0 || strcmp(fn, "values") == 0) {
		if (b->kind == PC_T_MAP || (b->kind == PC_T_RECORD && b->anon))
			r = fn[0] == 'k' ? pc_type_list(ctx, T(STRING))
					 : pc_type_list(ctx, b->kind == PC_T_MAP ? b->elem : T(ERROR));
		want = "a Map";
	} else if (strcmp(fn, "zip") == 0) {
		const pc_type *t2 = expr(C, call->list.items[1]->a);
		if (b->kind == PC_T_LIST && pc_type_base(t2)->kind == PC_T_LIST) {
			pc_type *rec = pc_type_new(ctx, PC_T_RECORD, NULL, call);
			rec->anon = 1;
			rec->fields = pc_arena_alloc(ctx->arena, 2 * sizeof *rec->fields);
			rec->fields[0] = (pc_field){I(C, "first"), b->elem, call};
			rec->fields[1] = (pc_field){I(C, "second"), pc_type_base(t2)->elem, call};
			rec->nfields = 2;
			return pc_type_list(ctx, rec);
		}
		if (t2->kind == PC_T_ERROR)
			return T(ERROR);
		want = "two Lists";
	}
	if (r)
		return r;
	ERR(C, "E0301", a0->span, "%s takes %s, found %s", fn, want, tstr(C, t));
	return T(ERROR);
}

/* T(x): a conversion between a distinct type and its base. */
static const pc_type *conversion(checker *C, pc_ast *call, const pc_type *to, const char *name)
{
	const pc_type *bad = check_arg_count(C, call, name, 1, 1);
	if (bad)
		return bad == T(ERROR) ? to : to;
	pc_ast *a = call->list.items[0]->a;
	const pc_type *from = expr(C, a);
	if (from->kind == PC_T_ERROR)
		return to;
	if (pc_type_assignable(to, from) || pc_type_equal(pc_type_base(to), pc_type_base(from)))
		return to;
	pc_diag *d = ERR(C, "E0301", a->span, "cannot convert %s to %s", tstr(C, from), tstr(C, to));
	if (to->kind == PC_T_DISTINCT)
		pc_diag_note(C->ctx, d, "%s converts from %s", tstr(C, to), tstr(C, to->elem));
	else if (to->kind == PC_T_INT || to->kind == PC_T_FLOAT || to->kind == PC_T_STRING)
		pc_diag_note(C->ctx, d, "to convert between basic types use int(), float() or str()");
	return to;
}

static const pc_type *call_expr(checker *C, pc_ast *e)
{
	pc_ast *callee = e->a;
	int broken;
	pc_symbol *sym = path_symbol(C, callee, &broken);
	if (broken) {
		for (uint32_t i = 0; i < e->list.n; i++)
			if (e->list.items[i]->kind == PC_AST_ARG)
				expr(C, e->list.items[i]->a);
		return T(ERROR);
	}
	if (sym && (sym->kind == PC_SYM_STAGE || sym->kind == PC_SYM_PIPELINE)) {
		pc_sig *sig = pc_resolve_sig(C->S, sym);
		char what[256];
		snprintf(what, sizeof what, "%s '%s'", sym->kind == PC_SYM_STAGE ? "stage" : "pipeline",
			 text_of(C, callee));
		if (C->in_stage) {
			ERR(C, "E0317", e->span, "a stage's directives cannot call %s", what);
			return T(ERROR);
		}
		match_args(C, e, sig, what);
		return sig->result;
	}
	if (sym && (sym->kind == PC_SYM_TYPE || sym->kind == PC_SYM_RECORD || sym->kind == PC_SYM_ENUM)) {
		const pc_type *t = pc_resolve_symbol_type(C->S, sym);
		if (t->kind != PC_T_DISTINCT) {
			pc_diag *d = ERR(C, "E0317", callee->span, "'%s' is a %s; only distinct types convert with %s(...)",
					 sym->name, sym->kind == PC_SYM_RECORD ? "record" : "enum", sym->name);
			if (sym->kind == PC_SYM_RECORD)
				pc_diag_note(C->ctx, d, "write a record as a literal: { field: value, ... }");
			return T(ERROR);
		}
		return conversion(C, e, t, sym->name);
	}
	if (sym) {
		return not_a_value(C, callee, sym);
	}
	if (callee->kind == PC_AST_NAME && !lookup(C, callee->name)) {
		for (size_t i = 0; i < NBUILTINS; i++)
			if (strcmp(builtin_functions[i], callee->name) == 0)
				return builtin_call(C, e, callee->name);
		const pc_type *basic = pc_resolve_basic(callee->name);
		if (basic)
			return conversion(C, e, basic, callee->name);
		pc_diag *d = ERR(C, "E0302", callee->span, "unknown stage, pipeline or function '%s'", callee->name);
		note_suggestion(C, d, callee->name, PC_WANT_CALLABLE);
		for (uint32_t i = 0; i < e->list.n; i++)
			if (e->list.items[i]->kind == PC_AST_ARG)
				expr(C, e->list.items[i]->a);
		return T(ERROR);
	}
	const pc_type *t = expr(C, callee);
	if (t->kind != PC_T_ERROR)
		ERR(C, "E0317", callee->span, "a value of type %s cannot be called", tstr(C, t));
	return T(ERROR);
}

/* ---- operators ----------------------------------------------------------- */

static int is_num(const pc_type *t)
{
	return t->kind == PC_T_INT || t->kind == PC_T_FLOAT;
}

#define op_name pc_op_text

static const pc_type *binary(checker *C, pc_ast *e)
{
	const pc_type *a = expr(C, e->a), *b = expr(C, e->b);
	if (a->kind == PC_T_ERROR || b->kind == PC_T_ERROR)
		return T(ERROR);
	int op = e->op;
	const pc_type *r = NULL;
	switch (op) {
	case PC_OP_AND: case PC_OP_OR:
		if (a->kind == PC_T_BOOL && b->kind == PC_T_BOOL)
			r = T(BOOL);
		break;
	case PC_OP_ADD:
		if (a->kind == PC_T_STRING && b->kind == PC_T_STRING)
			r = T(STRING);
		else if (a->kind == PC_T_LIST && b->kind == PC_T_LIST)
			r = pc_type_join(C->ctx, a, b);
		/* fall through */
	case PC_OP_SUB:
		if (r)
			break;
		if (is_num(a) && is_num(b))
			r = a->kind == PC_T_FLOAT || b->kind == PC_T_FLOAT ? T(FLOAT) : T(INT);
		else if ((a->kind == PC_T_SIZE || a->kind == PC_T_DURATION) && a->kind == b->kind)
			r = a;
		break;
	case PC_OP_MUL:
		if (is_num(a) && is_num(b))
			r = a->kind == PC_T_FLOAT || b->kind == PC_T_FLOAT ? T(FLOAT) : T(INT);
		else if ((a->kind == PC_T_SIZE || a->kind == PC_T_DURATION) && b->kind == PC_T_INT)
			r = a;
		else if ((b->kind == PC_T_SIZE || b->kind == PC_T_DURATION) && a->kind == PC_T_INT)
			r = b;
		break;
	case PC_OP_DIV:
		if (is_num(a) && is_num(b))
			r = a->kind == PC_T_FLOAT || b->kind == PC_T_FLOAT ? T(FLOAT) : T(INT);
		else if ((a->kind == PC_T_SIZE || a->kind == PC_T_DURATION) && b->kind == PC_T_INT)
			r = a;
		break;
	case PC_OP_MOD:
		if (a->kind == PC_T_INT && b->kind == PC_T_INT)
			r = T(INT);
		break;
	}
	if (r)
		return r;
	pc_diag *d = ERR(C, "E0320", e->span, "'%s' does not apply to %s and %s", op_name(op), tstr(C, a), tstr(C, b));
	if ((op == PC_OP_AND || op == PC_OP_OR))
		pc_diag_note(C->ctx, d, "'%s' takes two Bools", op_name(op));
	else if (a->kind == PC_T_OPTIONAL || b->kind == PC_T_OPTIONAL)
		pc_diag_note(C->ctx, d, "an optional value may be none here");
	else if (op == PC_OP_ADD && (a->kind == PC_T_STRING || b->kind == PC_T_STRING))
		pc_diag_note(C->ctx, d, "'+' joins two Strings; convert with str(...) or interpolate: \"...${x}\"");
	return T(ERROR);
}

static int ordered(const pc_type *a, const pc_type *b)
{
	if (is_num(a) && is_num(b))
		return 1;
	return a->kind == b->kind &&
	       (a->kind == PC_T_SIZE || a->kind == PC_T_DURATION || a->kind == PC_T_STRING);
}

static const pc_type *compare(checker *C, pc_ast *e)
{
	const pc_type *left = expr(C, e->a);
	const pc_ast *left_node = e->a;
	int bad = 0;
	for (uint32_t i = 0; i < e->list.n; i++) {
		pc_ast *step = e->list.items[i];
		const pc_type *right = expr(C, step->a);
		if (left->kind != PC_T_ERROR && right->kind != PC_T_ERROR) {
			int ok = step->op == PC_OP_EQ || step->op == PC_OP_NE
				 ? pc_type_assignable(left, right) || pc_type_assignable(right, left)
				 : ordered(left, right);
			if (!ok && !bad) {
				pc_diag *d = ERR(C, "E0320", (pc_span){e->span.file, left_node->span.start, step->span.end},
						 "cannot compare %s %s %s", tstr(C, left), op_name(step->op), tstr(C, right));
				if (step->op != PC_OP_EQ && step->op != PC_OP_NE)
					pc_diag_note(C->ctx, d, "ordering compares numbers, Sizes, Durations or Strings, each with its own kind");
				bad = 1;
			}
		}
		left = right;
		left_node = step->a;
	}
	return T(BOOL);
}

/* ---- expressions --------------------------------------------------------- */

static const pc_type *string_expr(checker *C, pc_ast *e)
{
	for (uint32_t i = 0; i < e->list.n; i++) {
		pc_ast *p = e->list.items[i];
		if (p->kind == PC_AST_STR_TEXT || p->kind == PC_AST_ERROR)
			continue;
		const pc_type *t = expr(C, p);
		if (!pc_type_has_text(t)) {
			pc_diag *d = ERR(C, "E0316", p->span, "a value of type %s cannot be interpolated into a string",
					 tstr(C, t));
			if (t->kind == PC_T_RECORD && t->nfields)
				pc_diag_note(C->ctx, d, "interpolate one of its fields, as in ${%s.%s}", text_of(C, p),
					     t->fields[0].name);
			else if (t->kind == PC_T_OPTIONAL)
				pc_diag_note(C->ctx, d, "it may be none here");
			else
				pc_diag_note(C->ctx, d, "numbers, Bools, Strings, Sizes, Durations, Files, Dirs, enums and Lists of them can be");
		}
	}
	return T(STRING);
}

static const pc_type *list_expr(checker *C, pc_ast *e)
{
	const pc_type *elem = T(EMPTY);
	for (uint32_t i = 0; i < e->list.n; i++) {
		pc_ast *it = e->list.items[i];
		if (it->kind == PC_AST_ERROR)
			continue;
		const pc_type *t = expr(C, it);
		const pc_type *j = pc_type_join(C->ctx, elem, t);
		if (!j) {
			pc_diag *d = ERR(C, "E0301", it->span, "the elements of a list have one type: expected %s, found %s",
					 tstr(C, elem), tstr(C, t));
			(void)d;
			continue;
		}
		elem = j;
	}
	return pc_type_list(C->ctx, elem);
}

static const pc_type *record_expr(checker *C, pc_ast *e)
{
	pc_ctx *ctx = C->ctx;
	pc_type *t = pc_type_new(ctx, PC_T_RECORD, NULL, e);
	t->anon = 1;
	t->fields = pc_arena_alloc(ctx->arena, (e->list.n + 1) * sizeof *t->fields);
	for (uint32_t i = 0; i < e->list.n; i++) {
		pc_ast *en = e->list.items[i];
		if (en->kind != PC_AST_ENTRY)
			continue;
		const char *key = en->name;
		if (en->flags & PC_AF_STRKEY) {
			pc_ast *s = en->b;
			int plain = s->list.n <= 1 && (!s->list.n || s->list.items[0]->kind == PC_AST_STR_TEXT);
			if (!plain) {
				ERR(C, "E0301", s->span, "a record key is a plain string, without interpolation");
				expr(C, en->a);
				continue;
			}
			key = s->list.n ? pc_intern(ctx->names, s->list.items[0]->name, (size_t)s->list.items[0]->v.i)
					: I(C, "");
		}
		const pc_type *ft = expr(C, en->a);
		if (pc_type_field(t, key)) {
			ERR(C, "E0315", en->span, "the field '%s' is written twice", key);
			continue;
		}
		t->fields[t->nfields++] = (pc_field){key, ft, en};
	}
	return t;
}

static const pc_type *expr_inner(checker *C, pc_ast *e)
{
	switch ((pc_ast_kind)e->kind) {
	case PC_AST_INT: return T(INT);
	case PC_AST_FLOAT: return T(FLOAT);
	case PC_AST_BOOL: return T(BOOL);
	case PC_AST_NONE: return T(NONE);
	case PC_AST_DURATION: return T(DURATION);
	case PC_AST_SIZE: return T(SIZE);
	case PC_AST_STRING: return string_expr(C, e);
	case PC_AST_NAME: return name_value(C, e);
	case PC_AST_FIELD: return field_value(C, e);
	case PC_AST_CALL: return call_expr(C, e);
	case PC_AST_LIST: return list_expr(C, e);
	case PC_AST_RECORD: return record_expr(C, e);
	case PC_AST_PAREN: return expr(C, e->a);
	case PC_AST_BINARY: return binary(C, e);
	case PC_AST_COMPARE: return compare(C, e);
	case PC_AST_UNARY: {
		const pc_type *t = expr(C, e->a);
		if (t->kind == PC_T_ERROR)
			return t;
		if (e->op == PC_OP_NOT && t->kind == PC_T_BOOL)
			return t;
		if (e->op == PC_OP_NEG && is_num(t))
			return t;
		ERR(C, "E0320", e->span, "'%s' does not apply to %s", op_name(e->op), tstr(C, t));
		return T(ERROR);
	}
	case PC_AST_RANGE:
		expect(C, e->a, T(INT), " as the start of a range");
		expect(C, e->b, T(INT), " as the end of a range");
		return pc_type_list(C->ctx, T(INT));
	case PC_AST_IF: {
		expect(C, e->a, T(BOOL), " as the condition");
		const pc_type *a = block(C, e->b, 1);
		if (!e->c)
			return a->kind == PC_T_UNIT || a->kind == PC_T_ERROR ? a : pc_type_optional(C->ctx, a);
		const pc_type *b = e->c->kind == PC_AST_IF ? expr(C, e->c) : block(C, e->c, 1);
		const pc_type *j = pc_type_join(C->ctx, a, b);
		if (!j) {
			pc_diag *d = ERR(C, "E0301", e->span, "the branches of this if have different types: %s and %s",
					 tstr(C, a), tstr(C, b));
			pc_diag_note(C->ctx, d, "both branches must give one type");
			return T(ERROR);
		}
		return j;
	}
	case PC_AST_FOR: {
		const pc_type *t = expr(C, e->a);
		const pc_type *elem = T(ERROR);
		if (pc_type_base(t)->kind == PC_T_LIST)
			elem = pc_type_base(t)->elem;
		else if (t->kind != PC_T_ERROR)
			ERR(C, "E0301", e->a->span, "for takes a List or a range, found %s", tstr(C, t));
		scope s;
		push_scope(C, &s);
		binding *v = bind(C, e->name, elem, e, B_FOR);
		if (e->a->kind == PC_AST_RANGE) {
			pc_absval lo = pc_av_eval(e->a->a, av_lookup, C), hi = pc_av_eval(e->a->b, av_lookup, C);
			if (lo.kind == PC_AV_NUM && hi.kind == PC_AV_NUM)
				v->av = pc_av_num(PC_T_INT, lo.lo, hi.hi - 1);
		}
		const pc_type *body = block(C, e->b, 1);
		pop_scope(C);
		return pc_type_list(C->ctx, body);
	}
	case PC_AST_TRY: {
		const pc_type *a = expr(C, e->a), *b = expr(C, e->b);
		const pc_type *j = pc_type_join(C->ctx, a, b);
		if (!j) {
			ERR(C, "E0301", e->b->span, "the fallback of try gives %s, but the body gives %s", tstr(C, b),
			    tstr(C, a));
			return T(ERROR);
		}
		return j;
	}
	case PC_AST_AFTER:
		expr(C, e->b);
		return expr(C, e->a);
	case PC_AST_ERROR:
		return T(ERROR);
	default:
		return T(ERROR);
	}
}

static const pc_type *expr(checker *C, pc_ast *e)
{
	return expr_inner(C, e);
}

/* ---- statements ---------------------------------------------------------- */

static void stage_directives(checker *C, pc_ast *body, const pc_sig *sig, const char *what);
static void mock_stmt(checker *C, pc_ast *m);

/* Enters every name the statements of BODY will let, as FUTURE. */
static void declare_future(checker *C, pc_ast *body)
{
	for (uint32_t i = 0; i < body->list.n; i++) {
		pc_ast *s = body->list.items[i];
		if (s->kind == PC_AST_LET && strcmp(s->name, "_") != 0 && !pc_map_get(&C->sc->names, s->name))
			bind(C, s->name, T(ERROR), s, B_FUTURE);
	}
}

static const pc_type *stmt(checker *C, pc_ast *s, int last_is_value, int is_last)
{
	switch ((pc_ast_kind)s->kind) {
	case PC_AST_LET: {
		const pc_type *t = expr(C, s->a);
		if (t->kind == PC_T_UNIT)
			ERR(C, "E0301", s->a->span, "this call has no outputs, so there is no value to bind");
		if (strcmp(s->name, "_") == 0)
			return T(UNIT);
		binding *b = pc_map_get(&C->sc->names, s->name);
		if (b && b->kind != B_FUTURE) {
			pc_diag *d = ERR(C, "E0308", pc_sema_name_span(C->mod, s), "'%s' is already bound", s->name);
			pc_diag_secondary(C->ctx, d, b->node->span, "bound here");
			pc_diag_note(C->ctx, d, "a name is bound once; choose another name");
			return T(UNIT);
		}
		if (b && b->node != s) {
			/* FUTURE of an earlier let of the same name was replaced already */
		}
		binding *nb = bind(C, s->name, t, s, B_LET);
		nb->av = pc_av_eval(s->a, av_lookup, C);
		return T(UNIT);
	}
	case PC_AST_REQUIRE:
	case PC_AST_EXPECT: {
		if (s->kind == PC_AST_EXPECT && !C->in_test)
			ERR(C, "E0323", s->span, "expect is only allowed in tests");
		size_t errors = C->ctx->nerrors;
		expect(C, s->a, T(BOOL), s->kind == PC_AST_REQUIRE ? " (the condition of require)" : " (the condition of expect)");
		if (s->b)
			expect(C, s->b, T(STRING), " as the message");
		if (s->kind == PC_AST_REQUIRE && C->ctx->nerrors == errors) {
			if (pc_av_truth(s->a, av_lookup, C) == PC_FALSE) {
				pc_diag *d = ERR(C, "E0404", s->a->span, "this requirement can never hold");
				pc_diag_note(C->ctx, d, "the parameters' own constraints rule it out");
			}
			pc_av_assume(s->a, av_lookup, av_narrow, C);
			add_facts(C, s->a);
		}
		return T(UNIT);
	}
	case PC_AST_RETURN:
		if (!C->result) {
			ERR(C, "E0323", s->span, "return is only allowed in a pipeline");
			if (s->a)
				expr(C, s->a);
		} else if (C->nested) {
			ERR(C, "E0323", s->span, "return must be a statement of the pipeline's body, not inside if or for");
			if (s->a)
				expr(C, s->a);
			return T(ERROR);
		} else if (C->result->kind == PC_T_UNIT) {
			if (s->a) {
				ERR(C, "E0321", s->a->span, "this pipeline declares no outputs, so it returns no value");
				expr(C, s->a);
			}
		} else if (!s->a) {
			ERR(C, "E0321", s->span, "this pipeline returns %s; return a value", tstr(C, C->result));
		} else {
			expect(C, s->a, C->result, " (the pipeline's outputs)");
		}
		return T(UNIT);
	case PC_AST_EXPR_STMT: {
		const pc_type *t = expr(C, s->a);
		if (last_is_value && is_last)
			return t;
		if (t->kind != PC_T_UNIT && t->kind != PC_T_ERROR && s->a->kind == PC_AST_CALL) {
			pc_diag *d = pc_diag_emit(C->ctx, PC_SEV_WARNING, "W0301", s->span, "the value of this call is not used");
			pc_diag_note(C->ctx, d, "the stage still runs; bind the value to _ to say that is intended: let _ = ...");
		} else if (t->kind != PC_T_UNIT && t->kind != PC_T_ERROR && s->a->kind != PC_AST_IF &&
			   s->a->kind != PC_AST_FOR) {
			pc_diag_emit(C->ctx, PC_SEV_WARNING, "W0301", s->span, "this value is not used");
		}
		return T(UNIT);
	}
	case PC_AST_MOCK:
		if (!C->in_test)
			ERR(C, "E0323", s->span, "mock is only allowed in tests");
		else
			mock_stmt(C, s);
		return T(UNIT);
	default:
		return T(UNIT);
	}
}

static const pc_type *block(checker *C, pc_ast *body, int value)
{
	scope s;
	push_scope(C, &s);
	C->nested++;
	declare_future(C, body);
	const pc_type *t = T(UNIT);
	for (uint32_t i = 0; i < body->list.n; i++)
		t = stmt(C, body->list.items[i], value, i + 1 == body->list.n);
	C->nested--;
	pop_scope(C);
	return t;
}

/* The statements of a pipeline's or test's body, in the current scope. */
static void body_statements(checker *C, pc_ast *body)
{
	scope s;
	push_scope(C, &s);
	declare_future(C, body);
	for (uint32_t i = 0; i < body->list.n; i++)
		stmt(C, body->list.items[i], 0, 0);
	pop_scope(C);
}

/* ---- stages -------------------------------------------------------------- */

enum dkind { D_STRING, D_RUN, D_BOOL, D_INT, D_DURATION, D_SIZE, D_NUM, D_ENV, D_RESOURCES, D_RETRY, D_SANDBOX };

typedef struct dfield {
	const char *name;
	enum dkind kind;
} dfield;

static const dfield directives[] = {
	{"run", D_RUN}, {"resources", D_RESOURCES}, {"retry", D_RETRY}, {"timeout", D_DURATION},
	{"cache", D_BOOL}, {"image", D_STRING}, {"env", D_ENV}, {"checkpoint", D_BOOL},
	{"priority", D_INT}, {"sandbox", D_SANDBOX},
};
static const dfield resource_fields[] = {
	{"cpu", D_NUM}, {"memory", D_SIZE}, {"gpu", D_NUM}, {"gpu_memory", D_SIZE},
	{"gpu_type", D_STRING}, {"disk", D_SIZE},
};
static const dfield retry_fields[] = {{"attempts", D_INT}, {"backoff", D_DURATION}};
static const dfield sandbox_fields[] = {{"network", D_BOOL}, {"pids", D_INT}};

static void check_value(checker *C, pc_ast *v, enum dkind k, const char *what);

static void record_directive(checker *C, pc_ast *v, const dfield *fields, size_t n, const char *what)
{
	if (v->kind != PC_AST_RECORD) {
		const pc_type *t = expr(C, v);
		if (t->kind != PC_T_ERROR)
			ERR(C, "E0301", v->span, "expected a record { ... } for %s, found %s", what, tstr(C, t));
		return;
	}
	for (uint32_t i = 0; i < v->list.n; i++) {
		pc_ast *en = v->list.items[i];
		if (en->kind != PC_AST_ENTRY)
			continue;
		if (en->flags & PC_AF_STRKEY) {
			ERR(C, "E0318", en->b->span, "the fields of %s are names, not strings", what);
			continue;
		}
		size_t k = 0;
		while (k < n && strcmp(fields[k].name, en->name) != 0)
			k++;
		for (uint32_t j = 0; j < i; j++)
			if (v->list.items[j]->kind == PC_AST_ENTRY && v->list.items[j]->name == en->name) {
				ERR(C, "E0315", en->span, "'%s' is given twice in %s", en->name, what);
				k = n + 1;
				break;
			}
		if (k == n + 1)
			continue;
		if (k == n) {
			pc_diag *d = ERR(C, "E0318", pc_sema_name_span(C->mod, en), "%s has no field '%s'", what, en->name);
			pc_suggest s = {en->name, NULL, 99};
			pc_buf all = {0};
			for (size_t j = 0; j < n; j++) {
				pc_suggest_consider(&s, fields[j].name);
				pc_buf_printf(&all, "%s%s", j ? ", " : "", fields[j].name);
			}
			if (s.name)
				pc_diag_note(C->ctx, d, "did you mean '%s'?", s.name);
			else
				pc_diag_note(C->ctx, d, "its fields are %s", all.data);
			pc_buf_free(&all);
			expr(C, en->a);
			continue;
		}
		char sub[128];
		snprintf(sub, sizeof sub, "%s.%s", what, en->name);
		check_value(C, en->a, fields[k].kind, sub);
		/* accepted and not enforced would be silently ignored: refused until the sandbox bounds it */
		if (fields == resource_fields && strcmp(en->name, "disk") == 0) {
			pc_diag *d = ERR(C, "E0326", pc_sema_name_span(C->mod, en), "resources.disk is not enforced by the runtime yet");
			pc_diag_note(C->ctx, d, "a task's attempt directory is not bounded; its /tmp holds 1 GiB, or its memory limit "
						"(resources: { memory }): remove disk");
		}
	}
}

static void check_value(checker *C, pc_ast *v, enum dkind k, const char *what)
{
	char ctx[160];
	snprintf(ctx, sizeof ctx, " for %s", what);
	switch (k) {
	case D_STRING: case D_RUN: expect(C, v, T(STRING), ctx); break;
	case D_BOOL: expect(C, v, T(BOOL), ctx); break;
	case D_INT: expect(C, v, T(INT), ctx); break;
	case D_DURATION: expect(C, v, T(DURATION), ctx); break;
	case D_SIZE: {
		const pc_type *t = expect(C, v, T(SIZE), ctx);
		(void)t;
		break;
	}
	case D_NUM: {
		const pc_type *t = expr(C, v);
		if (t->kind != PC_T_ERROR && !is_num(t))
			ERR(C, "E0301", v->span, "expected Int or Float%s, found %s", ctx, tstr(C, t));
		break;
	}
	case D_ENV: expect(C, v, pc_type_map(C->ctx, T(STRING)), ctx); break;
	case D_RESOURCES:
		record_directive(C, v, resource_fields, sizeof resource_fields / sizeof resource_fields[0], what);
		break;
	case D_RETRY:
		if (v->kind == PC_AST_RECORD)
			record_directive(C, v, retry_fields, 2, what);
		else {
			const pc_type *t = expr(C, v);
			if (t->kind != PC_T_ERROR && t->kind != PC_T_INT)
				ERR(C, "E0301", v->span, "expected an Int or { attempts: Int, backoff: Duration } for retry, found %s",
				    tstr(C, t));
		}
		break;
	case D_SANDBOX:
		record_directive(C, v, sandbox_fields, 2, what);
		break;
	}
}

/* Checks the directives of a stage or mock body against SIG. */
static void stage_directives(checker *C, pc_ast *body, const pc_sig *sig, const char *what)
{
	pc_ast *run = NULL;
	int checkpoint = 0;
	for (uint32_t i = 0; i < body->list.n; i++) {
		pc_ast *d = body->list.items[i];
		if (d->kind == PC_AST_DIRECTIVE && strcmp(d->name, "checkpoint") == 0 && d->a->kind == PC_AST_BOOL)
			checkpoint = (int)d->a->v.i;
	}
	C->in_stage = 1;
	for (uint32_t i = 0; i < body->list.n; i++) {
		pc_ast *d = body->list.items[i];
		if (d->kind != PC_AST_DIRECTIVE)
			continue;
		size_t k = 0, n = sizeof directives / sizeof directives[0];
		while (k < n && strcmp(directives[k].name, d->name) != 0)
			k++;
		int dup = 0;
		for (uint32_t j = 0; j < i; j++)
			if (body->list.items[j]->kind == PC_AST_DIRECTIVE && body->list.items[j]->name == d->name) {
				pc_diag *e = ERR(C, "E0315", pc_sema_name_span(C->mod, d), "the directive '%s' is given twice", d->name);
				pc_diag_secondary(C->ctx, e, body->list.items[j]->span, "first given here");
				dup = 1;
				break;
			}
		if (dup)
			continue;
		if (k == n) {
			pc_diag *e = ERR(C, "E0313", pc_sema_name_span(C->mod, d), "unknown directive '%s' in %s", d->name, what);
			pc_suggest s = {d->name, NULL, 99};
			for (size_t j = 0; j < n; j++)
				pc_suggest_consider(&s, directives[j].name);
			int resource = 0;
			for (size_t j = 0; j < sizeof resource_fields / sizeof resource_fields[0]; j++)
				resource |= strcmp(resource_fields[j].name, d->name) == 0;
			if (resource)
				pc_diag_note(C->ctx, e, "%s is a field of resources: resources: { %s: %s }", d->name,
					     d->name, text_of(C, d->a));
			else if (s.name)
				pc_diag_note(C->ctx, e, "did you mean '%s'?", s.name);
			else
				pc_diag_note(C->ctx, e, "the directives are run, resources, retry, timeout, cache, image, env, checkpoint, priority and sandbox");
			continue;
		}
		if (directives[k].kind == D_RUN) {
			run = d;
			/* outputs and checkpoint_dir are visible in run only */
			scope s;
			push_scope(C, &s);
			if (sig->result->kind == PC_T_RECORD && sig->result->outputs) {
				for (uint32_t j = 0; j < sig->result->nfields; j++)
					bind(C, sig->result->fields[j].name, T(FILE), sig->result->fields[j].node, B_OUTPUT);
			} else if (sig->result->kind != PC_T_UNIT) {
				bind(C, I(C, "out"), T(FILE), d, B_OUTPUT);
			}
			binding *cd = bind(C, I(C, "checkpoint_dir"), T(DIR), d, B_CHECKPOINT_DIR);
			cd->allowed = checkpoint;
			check_value(C, d->a, D_RUN, "run");
			pop_scope(C);
			continue;
		}
		check_value(C, d->a, directives[k].kind, d->name);
	}
	C->in_stage = 0;
	if (!run && body->kind == PC_AST_BODY) {
		pc_diag *e = ERR(C, "E0314", body->span, "%s has no run directive", what);
		pc_diag_note(C->ctx, e, "a stage runs one command: run: \"...\"");
	}
}

/* The smallest value E may have here, or 0 when nothing bounds it below. */
static long double least(checker *C, const pc_ast *e)
{
	pc_absval v = pc_av_eval(e, av_lookup, C);
	return v.kind == PC_AV_NUM && isfinite(v.lo) && v.lo > 0 ? v.lo : 0;
}

/* A stage's resources against the profile's nodes (--profile). */
static void stage_feasible(checker *C, const pc_ast *stage)
{
	const pc_ast *body = stage->c, *res = NULL;
	for (uint32_t i = 0; i < body->list.n; i++)
		if (body->list.items[i]->kind == PC_AST_DIRECTIVE && strcmp(body->list.items[i]->name, "resources") == 0)
			res = body->list.items[i];
	if (!res || res->a->kind != PC_AST_RECORD)
		return;
	pc_request r = {0};
	for (uint32_t i = 0; i < res->a->list.n; i++) {
		const pc_ast *en = res->a->list.items[i];
		if (en->kind != PC_AST_ENTRY || (en->flags & PC_AF_STRKEY))
			continue;
		if (strcmp(en->name, "cpu") == 0)
			r.cpu = (double)least(C, en->a);
		else if (strcmp(en->name, "memory") == 0)
			r.memory = (int64_t)least(C, en->a);
		else if (strcmp(en->name, "gpu") == 0)
			r.gpu = (double)least(C, en->a);
		else if (strcmp(en->name, "gpu_memory") == 0)
			r.gpu_memory = (int64_t)least(C, en->a);
		else if (strcmp(en->name, "disk") == 0)
			r.disk = (int64_t)least(C, en->a);
		else if (strcmp(en->name, "gpu_type") == 0) {
			pc_absval v = pc_av_eval(en->a, av_lookup, C);
			if (v.kind == PC_AV_STR)
				r.gpu_type = pc_arena_strndup(C->ctx->arena, v.s, v.slen);
		}
	}
	pc_profile_check(C->ctx, C->ctx->profile, &r, res->span, stage->name);
}

static void params_scope(checker *C, const pc_sig *sig)
{
	for (uint32_t i = 0; i < sig->nparams; i++)
		bind(C, sig->params[i].name, sig->params[i].type, sig->params[i].node, B_PARAM);
	/* defaults and constraints, with every parameter in scope */
	for (uint32_t i = 0; i < sig->nparams; i++) {
		const pc_ast *p = sig->params[i].node;
		size_t errors = C->ctx->nerrors;
		if (p->b)
			expect(C, p->b, sig->params[i].type, " as the default");
		if (p->c)
			expect(C, p->c, T(BOOL), " (a where constraint)");
		if (!p->b || !p->c || C->ctx->nerrors != errors)
			continue;
		/* a default must satisfy its own constraint */
		av_env env = {1, &sig->params[i].name, &(pc_absval){0}};
		env.vals[0] = pc_av_eval(p->b, NULL, NULL);
		if (pc_av_truth(p->c, env_lookup, &env) == PC_FALSE) {
			pc_buf v = {0};
			pc_av_describe(&v, &env.vals[0]);
			pc_diag *d = ERR(C, "E0403", p->b->span, "the default %s = %s breaks its own constraint %s",
					 p->name, v.data, text_of(C, p->c));
			pc_diag_secondary(C->ctx, d, p->c->span, "the constraint");
			pc_buf_free(&v);
		}
	}
	/* what the constraints say about the parameters holds in the body */
	for (uint32_t i = 0; i < sig->nparams; i++)
		if (sig->params[i].node->c) {
			pc_av_assume(sig->params[i].node->c, av_lookup, av_narrow, C);
			add_facts(C, sig->params[i].node->c);
		}
}

static void mock_stmt(checker *C, pc_ast *m)
{
	int broken;
	pc_symbol *sym = pc_resolve_symbol(C->S, C->mod, m->a->name, &broken);
	if (broken)
		return;
	if (!sym || sym->kind != PC_SYM_STAGE) {
		pc_diag *d = ERR(C, "E0322", m->a->span, sym ? "'%s' is not a stage; only stages can be mocked"
							     : "unknown stage '%s'", m->a->name);
		if (!sym)
			note_suggestion(C, d, m->a->name, PC_WANT_CALLABLE);
		return;
	}
	pc_sig *sig = pc_resolve_sig(C->S, sym);
	pc_sig view = *sig;
	view.params = pc_arena_alloc(C->ctx->arena, (m->list.n + 1) * sizeof *view.params);
	view.nparams = 0;
	for (uint32_t i = 0; i < m->list.n; i++) {
		pc_ast *n = m->list.items[i];
		uint32_t k = 0;
		while (k < sig->nparams && sig->params[k].name != n->name)
			k++;
		if (k == sig->nparams) {
			pc_diag *d = ERR(C, "E0322", n->span, "stage '%s' has no parameter '%s'", m->a->name, n->name);
			pc_suggest s = {n->name, NULL, 99};
			for (uint32_t j = 0; j < sig->nparams; j++)
				pc_suggest_consider(&s, sig->params[j].name);
			if (s.name)
				pc_diag_note(C->ctx, d, "did you mean '%s'?", s.name);
			continue;
		}
		view.params[view.nparams++] = sig->params[k];
	}
	scope s;
	push_scope(C, &s);
	for (uint32_t i = 0; i < view.nparams; i++)
		bind(C, view.params[i].name, view.params[i].type, view.params[i].node, B_PARAM);
	char what[256];
	snprintf(what, sizeof what, "the mock of '%s'", m->a->name);
	stage_directives(C, m->c, &view, what);
	pop_scope(C);
}

/* ---- declarations -------------------------------------------------------- */

static int has_return(const pc_ast *body)
{
	for (uint32_t i = 0; i < body->list.n; i++)
		if (body->list.items[i]->kind == PC_AST_RETURN)
			return 1;
	return 0;
}

static void check_module(pc_sema *S, pc_module *m)
{
	checker c = {.S = S, .ctx = S->ctx, .mod = m};
	checker *C = &c;
	for (uint32_t i = 0; i < m->ast->list.n; i++) {
		pc_ast *d = m->ast->list.items[i];
		C->nfacts = 0; /* facts hold within one declaration */
		pc_symbol *sym = d->name ? pc_map_get(&m->symbols, d->name) : NULL;
		if (sym && sym->decl != d)
			sym = NULL; /* a duplicate: reported when loading */
		switch (d->kind) {
		case PC_AST_TYPE_DECL: case PC_AST_RECORD_DECL: case PC_AST_ENUM_DECL:
			if (sym)
				pc_resolve_symbol_type(S, sym);
			break;
		case PC_AST_STAGE: {
			if (!sym)
				break;
			pc_sig *sig = pc_resolve_sig(S, sym);
			scope s;
			push_scope(C, &s);
			params_scope(C, sig);
			char what[256];
			snprintf(what, sizeof what, "stage '%s'", d->name);
			size_t errors = C->ctx->nerrors;
			stage_directives(C, d->c, sig, what);
			if (C->ctx->profile && C->ctx->nerrors == errors)
				stage_feasible(C, d);
			pop_scope(C);
			break;
		}
		case PC_AST_PIPELINE: {
			if (!sym)
				break;
			pc_sig *sig = pc_resolve_sig(S, sym);
			scope s;
			push_scope(C, &s);
			params_scope(C, sig);
			C->result = sig->result;
			body_statements(C, d->c);
			C->result = NULL;
			pop_scope(C);
			if (sig->result->kind != PC_T_UNIT && !has_return(d->c)) {
				pc_diag *e = ERR(C, "E0321", pc_sema_name_span(m, d),
						 "pipeline '%s' declares outputs (%s) but has no return", d->name,
						 tstr(C, sig->result));
				pc_diag_note(C->ctx, e, "end its body with: return ...");
			}
			break;
		}
		case PC_AST_TEST: {
			expect(C, d->a, T(STRING), " as the test's description");
			C->in_test = 1;
			body_statements(C, d->c);
			C->in_test = 0;
			break;
		}
		default:
			break;
		}
	}
	free(C->facts);
}

void pc_sema_check(pc_sema *S)
{
	for (size_t i = 0; i < S->nmodules; i++) {
		pc_module *m = S->modules[i];
		if (m->checked)
			continue;
		m->checked = 1;
		check_module(S, m);
	}
}
