/*
 * dump.c - an S-expression dump of an AST, for tests.
 *
 * The dump leaves out source locations and layout (which brackets spanned
 * lines, whether a string was a text block) so that two parses of the same
 * program in different layouts dump the same: `pipec check --dump-ast`
 * before and after `pipec fmt` must agree.  Adjacent string pieces are
 * merged for the same reason.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static void quoted(pc_buf *b, const char *s, size_t n)
{
	pc_buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			pc_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			pc_buf_adds(b, "\\n");
		else if (c < 0x20 || c == 0x7f)
			pc_buf_printf(b, "\\x%02x", c);
		else
			pc_buf_addc(b, (char)c);
	}
	pc_buf_addc(b, '"');
}

static void node(pc_buf *b, const pc_ast *n, int depth);

static void child(pc_buf *b, const char *label, const pc_ast *n, int depth)
{
	if (!n)
		return;
	pc_buf_printf(b, "\n%*s%s ", depth * 2, "", label);
	node(b, n, depth);
}

static void node(pc_buf *b, const pc_ast *n, int depth)
{
	pc_buf_printf(b, "(%s", pc_ast_kind_name((pc_ast_kind)n->kind));
	if (n->kind == PC_AST_STR_TEXT) {
		pc_buf_addc(b, ' ');
		quoted(b, n->name, (size_t)n->v.i);
	} else if (n->name) {
		pc_buf_printf(b, " %s", n->name);
	}
	if (n->op && (n->kind == PC_AST_UNARY || n->kind == PC_AST_BINARY || n->kind == PC_AST_CMP_STEP))
		pc_buf_printf(b, " op=%s", pc_op_text(n->op));
	else if (n->op)
		pc_buf_printf(b, " op=%d", n->op);
	switch (n->kind) {
	case PC_AST_INT: case PC_AST_DURATION: case PC_AST_SIZE: case PC_AST_BOOL:
		pc_buf_printf(b, " %lld", (long long)n->v.i);
		break;
	case PC_AST_FLOAT:
		pc_buf_printf(b, " %.17g", n->v.f);
		break;
	}
	unsigned flags = n->flags & ~(unsigned)(PC_AF_MULTILINE | PC_AF_TEXTBLOCK);
	if (flags)
		pc_buf_printf(b, " flags=%u", flags);
	child(b, "a:", n->a, depth + 1);
	child(b, "b:", n->b, depth + 1);
	child(b, "c:", n->c, depth + 1);
	for (uint32_t i = 0; i < n->list.n; i++) {
		const pc_ast *it = n->list.items[i];
		if (n->kind == PC_AST_STRING && it->kind == PC_AST_STR_TEXT) {
			/* merge adjacent text pieces */
			pc_buf text = {0};
			while (i < n->list.n && n->list.items[i]->kind == PC_AST_STR_TEXT) {
				pc_buf_add(&text, n->list.items[i]->name, (size_t)n->list.items[i]->v.i);
				i++;
			}
			i--;
			pc_buf_printf(b, "\n%*s(STR_TEXT ", (depth + 1) * 2, "");
			quoted(b, text.data ? text.data : "", text.len);
			pc_buf_addc(b, ')');
			pc_buf_free(&text);
			continue;
		}
		pc_buf_printf(b, "\n%*s", (depth + 1) * 2, "");
		node(b, it, depth + 1);
	}
	pc_buf_addc(b, ')');
}

char *pc_ast_dump(const pc_ast *module, size_t *len)
{
	pc_buf b = {0};
	node(&b, module, 0);
	pc_buf_addc(&b, '\n');
	return pc_buf_steal(&b, len);
}
