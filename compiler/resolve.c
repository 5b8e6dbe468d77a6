/*
 * resolve.c - the declared types and the signatures of a module.
 *
 * A type written in the source (`List[Sample]`, `std.ml.Dataset`, `Int?`)
 * is resolved to a pc_type in the scope of its module: the basic types by
 * name, List and Map with their arguments, and symbols through the
 * module's table and its imports (an import is not re-exported).  Declared
 * types are resolved lazily and once, so declaration order does not
 * matter: a record's type exists before its fields (records may hold
 * themselves), a distinct type found while it is being resolved is a
 * cycle (E0303).  A stage's or pipeline's signature is its parameters and
 * outputs, resolved the same way.  The checker (check.c) and the lowering
 * use these; nothing here looks inside bodies.
 */
#include "sema-internal.h"

#include <stdio.h>
#include <string.h>

#define T(k) pc_type_basic(PC_T_##k)

static void add_field(pc_sema *S, pc_module *m, pc_field *fields, uint32_t *n, const pc_ast *node,
		      const char *dup);

/*
 * A module-level symbol named by DOTTED ("x", "alias.x", "std.text.x") as
 * seen from module M.  Imports are not re-exported.  *BROKEN is set when the
 * name goes through an import that failed (already reported).
 */
pc_symbol *pc_resolve_symbol(pc_sema *S, pc_module *m, const char *dotted, int *broken)
{
	int ignored;
	if (!broken)
		broken = &ignored;
	*broken = 0;
	const char *dot = strrchr(dotted, '.');
	if (!dot) {
		pc_symbol *sym = pc_map_get(&m->symbols, dotted);
		return sym;
	}
	for (const char *d = dot; d; ) {
		const char *prefix = pc_intern(S->ctx->names, dotted, (size_t)(d - dotted));
		pc_symbol *imp = pc_map_get(&m->symbols, prefix);
		if (imp && imp->kind == PC_SYM_IMPORT) {
			if (!imp->target) {
				*broken = 1;
				return NULL;
			}
			const char *rest = pc_intern(S->ctx->names, d + 1, strlen(d + 1));
			pc_symbol *sym = strchr(rest, '.') ? NULL : pc_map_get(&imp->target->symbols, rest);
			return sym && sym->kind != PC_SYM_IMPORT ? sym : NULL;
		}
		/* the next dot to the left */
		const char *p = d;
		d = NULL;
		while (p > dotted) {
			p--;
			if (*p == '.') {
				d = p;
				break;
			}
		}
	}
	return NULL;
}

const pc_type *pc_resolve_symbol_type(pc_sema *S, pc_symbol *sym)
{
	pc_ctx *ctx = S->ctx;
	if (sym->type)
		return sym->type;
	pc_ast *d = sym->decl;
	switch (sym->kind) {
	case PC_SYM_TYPE: {
		if (sym->resolving) {
			pc_diag_emit(ctx, PC_SEV_ERROR, "E0303", pc_sema_name_span(sym->owner, d),
			    "type '%s' is defined in terms of itself", sym->name);
			return sym->type = T(ERROR);
		}
		sym->resolving = 1;
		const pc_type *base = pc_resolve_type(S, sym->owner, d->a);
		sym->resolving = 0;
		if (sym->type) /* set by the cycle report */
			return sym->type;
		pc_type *t = pc_type_new(ctx, PC_T_DISTINCT, sym->name, d);
		t->elem = base;
		return sym->type = t;
	}
	case PC_SYM_RECORD: {
		pc_type *t = pc_type_new(ctx, PC_T_RECORD, sym->name, d);
		sym->type = t; /* before the fields: records may refer to themselves */
		t->fields = pc_arena_alloc(ctx->arena, (d->list.n + 1) * sizeof *t->fields);
		char dup[256];
		snprintf(dup, sizeof dup, "record '%s' has two fields", sym->name);
		for (uint32_t i = 0; i < d->list.n; i++)
			if (d->list.items[i]->kind == PC_AST_FIELD_DECL)
				add_field(S, sym->owner, t->fields, &t->nfields, d->list.items[i], dup);
		return t;
	}
	case PC_SYM_ENUM: {
		pc_type *t = pc_type_new(ctx, PC_T_ENUM, sym->name, d);
		t->members = pc_arena_alloc(ctx->arena, (d->list.n + 1) * sizeof *t->members);
		for (uint32_t i = 0; i < d->list.n; i++) {
			pc_ast *mb = d->list.items[i];
			if (mb->kind != PC_AST_ENUM_MEMBER)
				continue;
			int dup = 0;
			for (uint32_t j = 0; j < t->nmembers; j++)
				dup |= t->members[j] == mb->name;
			if (dup) {
				pc_diag_emit(ctx, PC_SEV_ERROR, "E0315", pc_sema_name_span(sym->owner, mb),
				    "enum '%s' has two members named '%s'", sym->name, mb->name);
				continue;
			}
			t->members[t->nmembers++] = mb->name;
		}
		return sym->type = t;
	}
	default:
		return T(ERROR);
	}
}

static const struct {
	const char *name;
	pc_type_kind kind;
} basic_names[] = {
	{"Int", PC_T_INT}, {"Float", PC_T_FLOAT}, {"Bool", PC_T_BOOL}, {"String", PC_T_STRING},
	{"Duration", PC_T_DURATION}, {"Size", PC_T_SIZE}, {"File", PC_T_FILE}, {"Dir", PC_T_DIR},
};

const pc_type *pc_resolve_basic(const char *name)
{
	for (size_t i = 0; i < sizeof basic_names / sizeof basic_names[0]; i++)
		if (strcmp(basic_names[i].name, name) == 0)
			return pc_type_basic(basic_names[i].kind);
	return NULL;
}

const pc_type *pc_resolve_type(pc_sema *S, pc_module *m, const pc_ast *t)
{
	pc_ctx *ctx = S->ctx;
	const pc_type *r = NULL;
	if (!t || t->kind != PC_AST_TYPE)
		return T(ERROR);
	uint32_t nargs = t->list.n;
	const pc_type *basic = pc_resolve_basic(t->name);
	if (basic) {
		r = basic;
		if (nargs) {
			pc_diag_emit(ctx, PC_SEV_ERROR, "E0324", t->span, "%s takes no type arguments", t->name);
			r = T(ERROR);
		}
	} else if (strcmp(t->name, "List") == 0) {
		if (nargs != 1) {
			pc_diag_emit(ctx, PC_SEV_ERROR, "E0324", t->span, "List takes one type argument, as in List[File]; found %u", nargs);
			r = T(ERROR);
		} else {
			r = pc_type_list(ctx, pc_resolve_type(S, m, t->list.items[0]));
		}
	} else if (strcmp(t->name, "Map") == 0) {
		if (nargs != 2) {
			pc_diag_emit(ctx, PC_SEV_ERROR, "E0324", t->span, "Map takes two type arguments, as in Map[String, Int]; found %u", nargs);
			r = T(ERROR);
		} else {
			const pc_type *k = pc_resolve_type(S, m, t->list.items[0]);
			if (k->kind != PC_T_STRING && k->kind != PC_T_ERROR)
				pc_diag_emit(ctx, PC_SEV_ERROR, "E0324", t->list.items[0]->span, "the keys of a Map are Strings; found %s",
				    pc_type_str(ctx, k));
			r = pc_type_map(ctx, pc_resolve_type(S, m, t->list.items[1]));
		}
	} else {
		int broken;
		pc_symbol *sym = pc_resolve_symbol(S, m, t->name, &broken);
		if (broken) {
			r = T(ERROR);
		} else if (!sym || sym->kind == PC_SYM_STAGE || sym->kind == PC_SYM_PIPELINE ||
			   sym->kind == PC_SYM_IMPORT) {
			pc_diag *d = pc_diag_emit(ctx, PC_SEV_ERROR, "E0303", t->span,
					 sym ? "'%s' is a %s, not a type" : "unknown type '%s'", t->name,
					 sym && sym->kind == PC_SYM_STAGE ? "stage"
					 : sym && sym->kind == PC_SYM_PIPELINE ? "pipeline" : "module");
			if (!sym) {
				pc_suggest s = {t->name, NULL, 99};
				pc_suggest_symbols(&s, m, PC_WANT_TYPE);
				pc_suggest_note(ctx, d, &s);
			}
			r = T(ERROR);
		} else {
			r = pc_resolve_symbol_type(S, sym);
			if (nargs) {
				pc_diag_emit(ctx, PC_SEV_ERROR, "E0324", t->span, "%s takes no type arguments", t->name);
				r = T(ERROR);
			}
		}
	}
	if (t->flags & PC_AF_OPTIONAL)
		r = pc_type_optional(ctx, r);
	return r;
}

/*
 * Appends the field NODE (a FIELD_DECL, PARAM or OUTPUT) declares, of type
 * resolved in module M, unless the name is taken; DUP says what then, as in
 * "record 'R' has two fields".
 */
static void add_field(pc_sema *S, pc_module *m, pc_field *fields, uint32_t *n, const pc_ast *node,
		      const char *dup)
{
	for (uint32_t j = 0; j < *n; j++)
		if (fields[j].name == node->name) {
			pc_diag_emit(S->ctx, PC_SEV_ERROR, "E0315", pc_sema_name_span(m, node), "%s named '%s'", dup,
			    node->name);
			return;
		}
	pc_field *f = &fields[(*n)++];
	f->name = node->name;
	f->node = node;
	f->type = T(ERROR);
	f->type = pc_resolve_type(S, m, node->a);
}

pc_sig *pc_resolve_sig(pc_sema *S, pc_symbol *sym)
{
	if (sym->sig)
		return sym->sig;
	pc_ctx *ctx = S->ctx;
	pc_ast *d = sym->decl;
	pc_sig *sig = pc_arena_alloc(ctx->arena, sizeof *sig);
	sym->sig = sig;
	sig->params = pc_arena_alloc(ctx->arena, (d->list.n + 1) * sizeof *sig->params);
	for (uint32_t i = 0; i < d->list.n; i++)
		if (d->list.items[i]->kind == PC_AST_PARAM)
			add_field(S, sym->owner, sig->params, &sig->nparams, d->list.items[i], "two parameters");
	pc_ast *out = d->b;
	if (!out) {
		sig->result = T(UNIT);
	} else if (!(out->flags & PC_AF_NAMED)) {
		sig->result = pc_resolve_type(S, sym->owner, out->a);
	} else {
		pc_type *r = pc_type_new(ctx, PC_T_RECORD, NULL, out);
		r->outputs = 1;
		r->fields = pc_arena_alloc(ctx->arena, (out->list.n + 1) * sizeof *r->fields);
		for (uint32_t i = 0; i < out->list.n; i++)
			add_field(S, sym->owner, r->fields, &r->nfields, out->list.items[i], "two outputs");
		sig->result = r;
	}
	return sig;
}
