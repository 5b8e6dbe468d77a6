/*
 * ast.c - AST constructors.
 *
 * The parser builds nodes only through these functions.  Each constructor
 * keeps the node's depth (1 + its deepest child); a node deeper than
 * PC_MAX_AST_DEPTH is reported once (E0202) so that no later recursive walk
 * can exhaust the C stack on hostile input such as 100 000 chained
 * additions.
 */
#include "internal.h"

#include <string.h>

static const char *const kind_names[] = {
#define PC_AST_NAME_STR(k) #k,
	PC_AST_KINDS(PC_AST_NAME_STR)
#undef PC_AST_NAME_STR
};

const char *pc_ast_kind_name(pc_ast_kind k)
{
	return k < PC_AST__COUNT ? kind_names[k] : "?";
}

pc_ast *pc_ast_new(pc_ctx *ctx, pc_ast_kind kind, pc_span span)
{
	pc_ast *n = pc_arena_alloc(ctx->arena, sizeof *n);
	n->kind = (uint16_t)kind;
	n->span = span;
	n->depth = 1;
	return n;
}

static void fold_depth(pc_ctx *ctx, pc_ast *n, const pc_ast *child)
{
	if (!child || child->depth < n->depth)
		return;
	if (child->depth >= PC_MAX_AST_DEPTH) {
		/* report once, where the limit is first crossed */
		if (child->depth == PC_MAX_AST_DEPTH)
			pc_diag_emit(ctx, PC_SEV_ERROR, "E0202", n->span,
				     "expression nested too deeply (more than %d levels)",
				     PC_MAX_AST_DEPTH);
		n->depth = PC_MAX_AST_DEPTH + 1;
		return;
	}
	n->depth = (uint16_t)(child->depth + 1);
}

pc_ast *pc_ast_make(pc_ctx *ctx, pc_ast_kind kind, pc_span span, pc_ast *a, pc_ast *b,
		    pc_ast *c)
{
	pc_ast *n = pc_ast_new(ctx, kind, span);
	pc_ast_set_children(ctx, n, a, b, c);
	return n;
}

void pc_ast_set_children(pc_ctx *ctx, pc_ast *n, pc_ast *a, pc_ast *b, pc_ast *c)
{
	n->a = a;
	n->b = b;
	n->c = c;
	fold_depth(ctx, n, a);
	fold_depth(ctx, n, b);
	fold_depth(ctx, n, c);
}

void pc_ast_list_push(pc_ctx *ctx, pc_ast_list *l, pc_ast *item)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 4;
		pc_ast **items = pc_arena_alloc(ctx->arena, cap * sizeof *items);
		if (l->n)
			memcpy(items, l->items, l->n * sizeof *items);
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = item;
}

void pc_ast_set_list(pc_ctx *ctx, pc_ast *n, pc_ast_list *list)
{
	n->list = *list;
	for (uint32_t i = 0; i < list->n; i++)
		fold_depth(ctx, n, list->items[i]);
}

const char *pc_op_text(int op)
{
	static const char *const text[PC_OP__COUNT] = { /* ORDER OP */
		[PC_OP_ADD] = "+", [PC_OP_SUB] = "-", [PC_OP_MUL] = "*", [PC_OP_DIV] = "/", [PC_OP_MOD] = "%",
		[PC_OP_AND] = "&&", [PC_OP_OR] = "||", [PC_OP_EQ] = "==", [PC_OP_NE] = "!=", [PC_OP_LT] = "<",
		[PC_OP_LE] = "<=", [PC_OP_GT] = ">", [PC_OP_GE] = ">=", [PC_OP_NEG] = "-", [PC_OP_NOT] = "!",
	};
	return op > PC_OP_NONE && op < PC_OP__COUNT ? text[op] : "?";
}

const char *pc_ast_dotted(pc_ctx *ctx, const pc_ast *e)
{
	if (e->kind == PC_AST_NAME)
		return e->name;
	if (e->kind != PC_AST_FIELD)
		return NULL;
	const char *left = pc_ast_dotted(ctx, e->a);
	if (!left)
		return NULL;
	pc_buf b = {0};
	pc_buf_printf(&b, "%s.%s", left, e->name);
	const char *s = pc_intern(ctx->names, b.data, b.len);
	pc_buf_free(&b);
	return s;
}

const pc_ast *pc_ast_root_name(const pc_ast *e)
{
	while (e->kind == PC_AST_FIELD)
		e = e->a;
	return e->kind == PC_AST_NAME ? e : NULL;
}
