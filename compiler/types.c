/*
 * types.c - the types of the language (LANGUAGE.md section 3).
 *
 * Basic types are static singletons; List, Map and optional types are built
 * in the arena and compared structurally.  Declared records, enums and
 * distinct types are nominal: two are equal only if they are the same
 * declaration.  A record literal gets an anonymous record type that matches
 * a declared record (or a Map[String, T]) by its fields.
 *
 * The only implicit conversions are Int -> Float and T -> T? (and none ->
 * T?).  PC_T_ERROR stands for an expression whose error was reported already;
 * it is compatible with everything so that one mistake is reported once.
 */
#include "sema.h"

#include <string.h>

static const pc_type basics[PC_T__COUNT] = {
	[PC_T_ERROR] = {.kind = PC_T_ERROR},
	[PC_T_UNIT] = {.kind = PC_T_UNIT},
	[PC_T_INT] = {.kind = PC_T_INT},
	[PC_T_FLOAT] = {.kind = PC_T_FLOAT},
	[PC_T_BOOL] = {.kind = PC_T_BOOL},
	[PC_T_STRING] = {.kind = PC_T_STRING},
	[PC_T_DURATION] = {.kind = PC_T_DURATION},
	[PC_T_SIZE] = {.kind = PC_T_SIZE},
	[PC_T_FILE] = {.kind = PC_T_FILE},
	[PC_T_DIR] = {.kind = PC_T_DIR},
	[PC_T_NONE] = {.kind = PC_T_NONE},
	[PC_T_EMPTY] = {.kind = PC_T_EMPTY},
};

const pc_type *pc_type_basic(pc_type_kind k)
{
	PC_ASSERT(k <= PC_T_EMPTY);
	return &basics[k];
}

static pc_type *new_type(pc_ctx *ctx, pc_type_kind k, const pc_type *elem)
{
	pc_type *t = pc_arena_alloc(ctx->arena, sizeof *t);
	t->kind = k;
	t->elem = elem;
	return t;
}

pc_type *pc_type_new(pc_ctx *ctx, pc_type_kind k, const char *name, const pc_ast *decl)
{
	pc_type *t = pc_arena_alloc(ctx->arena, sizeof *t);
	t->kind = k;
	t->name = name;
	t->decl = decl;
	return t;
}

const pc_type *pc_type_list(pc_ctx *ctx, const pc_type *elem)
{
	return new_type(ctx, PC_T_LIST, elem);
}

const pc_type *pc_type_map(pc_ctx *ctx, const pc_type *value)
{
	return new_type(ctx, PC_T_MAP, value);
}

const pc_type *pc_type_optional(pc_ctx *ctx, const pc_type *inner)
{
	if (inner->kind == PC_T_OPTIONAL || inner->kind == PC_T_ERROR)
		return inner;
	return new_type(ctx, PC_T_OPTIONAL, inner);
}

const pc_type *pc_type_base(const pc_type *t)
{
	while (t->kind == PC_T_DISTINCT)
		t = t->elem;
	return t;
}

const pc_field *pc_type_field(const pc_type *t, const char *name)
{
	if (t->kind != PC_T_RECORD)
		return NULL;
	for (uint32_t i = 0; i < t->nfields; i++)
		if (t->fields[i].name == name)
			return &t->fields[i];
	return NULL;
}

int pc_type_equal(const pc_type *a, const pc_type *b)
{
	if (a == b)
		return 1;
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case PC_T_LIST: case PC_T_MAP: case PC_T_OPTIONAL:
		return pc_type_equal(a->elem, b->elem);
	case PC_T_RECORD:
		if (a->anon != b->anon || a->outputs != b->outputs)
			return 0;
		if (!a->anon && !a->outputs)
			return a->decl == b->decl;
		if (a->nfields != b->nfields)
			return 0;
		for (uint32_t i = 0; i < a->nfields; i++) {
			const pc_field *f = pc_type_field(b, a->fields[i].name);
			if (!f || !pc_type_equal(a->fields[i].type, f->type))
				return 0;
		}
		return 1;
	case PC_T_ENUM: case PC_T_DISTINCT:
		return a->decl == b->decl;
	default:
		return 1;
	}
}

/* A record literal FROM fits record TO: the same field names, each assignable. */
static int record_fits(const pc_type *to, const pc_type *from)
{
	if (to->nfields != from->nfields)
		return 0;
	for (uint32_t i = 0; i < to->nfields; i++) {
		const pc_field *f = pc_type_field(from, to->fields[i].name);
		if (!f || !pc_type_assignable(to->fields[i].type, f->type))
			return 0;
	}
	return 1;
}

int pc_type_assignable(const pc_type *to, const pc_type *from)
{
	if (to->kind == PC_T_ERROR || from->kind == PC_T_ERROR)
		return 1;
	if (pc_type_equal(to, from))
		return 1;
	switch (to->kind) {
	case PC_T_FLOAT:
		return from->kind == PC_T_INT;
	case PC_T_OPTIONAL:
		return from->kind == PC_T_NONE || pc_type_assignable(to->elem, from);
	case PC_T_LIST:
		return from->kind == PC_T_LIST &&
		       (from->elem->kind == PC_T_EMPTY || pc_type_assignable(to->elem, from->elem));
	case PC_T_MAP:
		if (from->kind == PC_T_MAP)
			return pc_type_assignable(to->elem, from->elem);
		if (from->kind == PC_T_RECORD && from->anon) {
			for (uint32_t i = 0; i < from->nfields; i++)
				if (!pc_type_assignable(to->elem, from->fields[i].type))
					return 0;
			return 1;
		}
		return 0;
	case PC_T_RECORD:
		return from->kind == PC_T_RECORD && (from->anon || to->anon) && record_fits(to, from);
	default:
		return 0;
	}
}

const pc_type *pc_type_join(pc_ctx *ctx, const pc_type *a, const pc_type *b)
{
	if (a->kind == PC_T_ERROR)
		return b;
	if (b->kind == PC_T_ERROR)
		return a;
	if (a->kind == PC_T_EMPTY)
		return b;
	if (b->kind == PC_T_EMPTY)
		return a;
	if (pc_type_assignable(a, b) && !(a->kind == PC_T_RECORD && a->anon && !b->anon))
		return a;
	if (pc_type_assignable(b, a))
		return b;
	if (a->kind == PC_T_NONE)
		return pc_type_optional(ctx, b);
	if (b->kind == PC_T_NONE)
		return pc_type_optional(ctx, a);
	if (a->kind == PC_T_LIST && b->kind == PC_T_LIST) {
		const pc_type *e = pc_type_join(ctx, a->elem, b->elem);
		return e ? pc_type_list(ctx, e) : NULL;
	}
	return NULL;
}

int pc_type_has_text(const pc_type *t)
{
	t = pc_type_base(t);
	switch (t->kind) {
	case PC_T_ERROR: case PC_T_INT: case PC_T_FLOAT: case PC_T_BOOL: case PC_T_STRING:
	case PC_T_DURATION: case PC_T_SIZE: case PC_T_FILE: case PC_T_DIR: case PC_T_ENUM:
		return 1;
	case PC_T_LIST:
		return t->elem->kind == PC_T_EMPTY || pc_type_has_text(t->elem);
	default:
		return 0;
	}
}

void pc_type_print(pc_buf *b, const pc_type *t)
{
	static const char *const names[] = {
		[PC_T_ERROR] = "?", [PC_T_UNIT] = "nothing", [PC_T_INT] = "Int",
		[PC_T_FLOAT] = "Float", [PC_T_BOOL] = "Bool", [PC_T_STRING] = "String",
		[PC_T_DURATION] = "Duration", [PC_T_SIZE] = "Size", [PC_T_FILE] = "File",
		[PC_T_DIR] = "Dir", [PC_T_NONE] = "none", [PC_T_EMPTY] = "?",
	};
	switch (t->kind) {
	case PC_T_LIST:
		pc_buf_adds(b, "List[");
		pc_type_print(b, t->elem);
		pc_buf_addc(b, ']');
		break;
	case PC_T_MAP:
		pc_buf_adds(b, "Map[String, ");
		pc_type_print(b, t->elem);
		pc_buf_addc(b, ']');
		break;
	case PC_T_OPTIONAL:
		pc_type_print(b, t->elem);
		pc_buf_addc(b, '?');
		break;
	case PC_T_RECORD:
		if (t->name && !t->anon && !t->outputs) {
			pc_buf_adds(b, t->name);
			break;
		}
		if (t->outputs) {
			pc_buf_addc(b, '(');
			for (uint32_t i = 0; i < t->nfields; i++) {
				if (i)
					pc_buf_adds(b, ", ");
				pc_buf_printf(b, "%s: ", t->fields[i].name);
				pc_type_print(b, t->fields[i].type);
			}
			pc_buf_addc(b, ')');
			break;
		}
		pc_buf_adds(b, t->nfields ? "{ " : "{");
		for (uint32_t i = 0; i < t->nfields; i++) {
			if (i)
				pc_buf_adds(b, ", ");
			pc_buf_printf(b, "%s: ", t->fields[i].name);
			pc_type_print(b, t->fields[i].type);
		}
		pc_buf_adds(b, t->nfields ? " }" : "}");
		break;
	case PC_T_ENUM: case PC_T_DISTINCT:
		pc_buf_adds(b, t->name);
		break;
	default:
		pc_buf_adds(b, names[t->kind]);
	}
}

const char *pc_type_str(pc_ctx *ctx, const pc_type *t)
{
	if (t->text)
		return t->text;
	pc_buf b = {0};
	pc_type_print(&b, t);
	const char *s = pc_arena_strndup(ctx->arena, b.data ? b.data : "", b.len);
	pc_buf_free(&b);
	if (t->kind > PC_T_EMPTY) /* the basic types are shared and read-only */
		((pc_type *)t)->text = s;
	return s;
}
