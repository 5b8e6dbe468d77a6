/*
 * fmt.c - the canonical layout (`pipec fmt`).
 *
 * The formatter prints a module from its AST, so the output always parses to
 * the same tree (tests/fmt.sh checks this for every input, with the dump in
 * dump.c).  What it decides:
 *
 *   - two spaces of indentation per level; one item (declaration,
 *     statement, directive, field) per line; `;` separators become newlines;
 *   - single spaces around binary operators, after ',' and ':', inside
 *     `{ }` of one-line records; none inside ( ) and [ ];
 *   - a bracketed list keeps the choice the author made: on one line if it
 *     was written on one line, else one item per line (with a trailing comma
 *     inside ( ) and [ ], none inside { });
 *   - at most one blank line between items, none after an opening brace;
 *   - text blocks re-indented one level deeper than their line, the closing
 *     quotes at the line's own level;
 *   - literals are kept as written (1_000, 4GiB, 30m), parentheses too.
 *
 * Comments are not in the AST: the lexer records every comment's span in
 * the source, and the printer emits them by position.  Before each item it
 * prints the comments that start before the item (each on its own line);
 * after an item, a comment that starts on the item's last line stays at the
 * end of that line.  A comment somewhere the layout has no line for (inside
 * a multi-line expression) moves to just before the next item.  No comment
 * is ever dropped: whatever is left is printed at the end of the file.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

typedef struct printer {
	pc_ctx *ctx;
	const pc_source *src;
	pc_buf out;
	int indent;      /* nesting level of the current line (2 spaces each) */
	int bol;         /* at the beginning of an output line */
	int flat;        /* inside an interpolation: everything on one line */
	uint32_t next;   /* first comment not printed yet */
} printer;

static void expr(printer *p, const pc_ast *n);
static void type(printer *p, const pc_ast *t);

/* ---- output -------------------------------------------------------------- */

static void put(printer *p, const char *s, size_t n)
{
	if (p->bol && n) {
		for (int i = 0; i < p->indent; i++)
			pc_buf_add(&p->out, "  ", 2);
		p->bol = 0;
	}
	pc_buf_add(&p->out, s, n);
}

static void puts_(printer *p, const char *s)
{
	put(p, s, strlen(s));
}

static void newline(printer *p)
{
	/* no trailing blanks */
	while (p->out.len && p->out.data[p->out.len - 1] == ' ')
		p->out.len--;
	pc_buf_addc(&p->out, '\n');
	p->bol = 1;
}

static void blank_line(printer *p)
{
	if (p->out.len >= 2 && p->out.data[p->out.len - 1] == '\n' && p->out.data[p->out.len - 2] == '\n')
		return;
	if (p->out.len == 0)
		return;
	pc_buf_addc(&p->out, '\n');
}

/* Begins a line indented EXTRA levels deeper than the current one. */
static void start_line(printer *p, int extra)
{
	for (int i = 0; i < p->indent + extra; i++)
		pc_buf_add(&p->out, "  ", 2);
	p->bol = 0;
}

static void source_text(printer *p, pc_span sp)
{
	put(p, p->src->text + sp.start, sp.end - sp.start);
}

/* ---- comments and blank lines -------------------------------------------- */

static int newlines_between(const printer *p, uint32_t a, uint32_t b)
{
	int n = 0;
	for (uint32_t i = a; i < b && i < p->src->len; i++)
		n += p->src->text[i] == '\n';
	return n;
}

static const pc_comment *pending(const printer *p)
{
	return p->next < p->src->ncomments ? &p->src->comments[p->next] : NULL;
}

static void print_comment(printer *p, const pc_comment *c)
{
	put(p, p->src->text + c->start, c->end - c->start);
}

/*
 * The comments that start before offset START, each on its own line, with
 * the blank lines the author left between them (at most one each).  LAST is
 * where the previous item ended; FIRST says there is none in this block (no
 * blank line after an opening brace).  Returns where the last comment ended.
 */
static uint32_t comments_before(printer *p, uint32_t last, uint32_t start, int *first)
{
	const pc_comment *c;
	while ((c = pending(p)) && c->start < start) {
		if (!*first && newlines_between(p, last, c->start) >= 2)
			blank_line(p);
		print_comment(p, c);
		newline(p);
		*first = 0;
		last = c->end;
		p->next++;
	}
	return last;
}

/* Before an item starting at START: its comments and blank lines. */
static void item_start(printer *p, uint32_t last, uint32_t start, int first)
{
	last = comments_before(p, last, start, &first);
	if (!first && newlines_between(p, last, start) >= 2)
		blank_line(p);
}

/* After an item ending at END: a comment on the same line stays there.
 * Returns where the item (with its comment) ends in the source. */
static uint32_t item_end(printer *p, uint32_t end)
{
	const pc_comment *c = pending(p);
	if (c && c->start >= end && newlines_between(p, end, c->start) == 0) {
		/* keep the author's spacing before it (alignment), at least one */
		uint32_t ws = c->start - end;
		put(p, "                                                                ",
		    ws == 0 ? 1 : ws > 64 ? 64 : ws);
		print_comment(p, c);
		p->next++;
		return c->end;
	}
	return end;
}

/* Comments left before a closing bracket at CLOSE, inside the block. */
static void block_tail(printer *p, uint32_t last, uint32_t close, int first)
{
	comments_before(p, last, close, &first);
}

/* ---- strings ------------------------------------------------------------- */

static void string_text(printer *p, const char *s, size_t n, int textblock, int last_part,
			int *bol)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (textblock) {
			if (c == '\n') {
				/* trailing blanks in a text block are part of its value */
				pc_buf_addc(&p->out, '\n');
				p->bol = 1;
				*bol = 1;
				continue;
			}
			if (*bol) {
				start_line(p, 1);
				*bol = 0;
				if (c == '\t') {
					put(p, "\\t", 2);
					continue;
				}
			}
		}
		switch (c) {
		case '\\':
			/* a backslash ending a text block line reads as itself */
			if (textblock && i + 1 < n && s[i + 1] == '\n')
				put(p, "\\", 1);
			else
				put(p, "\\\\", 2);
			break;
		case '\r': put(p, "\\r", 2); break;
		case '\t': put(p, textblock ? "\t" : "\\t", 2 - textblock); break;
		case '\n': put(p, "\\n", 2); break;
		case '$':
			if (i + 1 < n && s[i + 1] == '{')
				put(p, "\\$", 2);
			else
				put(p, "$", 1);
			break;
		case '"':
			if (!textblock || (i + 1 < n && s[i + 1] == '"') || (i + 1 == n && last_part))
				put(p, "\\\"", 2);
			else
				put(p, "\"", 1);
			break;
		default:
			put(p, &c, 1);
		}
	}
}

static void string(printer *p, const pc_ast *n)
{
	int tb = (n->flags & PC_AF_TEXTBLOCK) && !p->flat;
	int bol = 0;
	int ends_nl = 0;
	if (tb) {
		puts_(p, "\"\"\"");
		newline(p);
		bol = 1;
	} else {
		puts_(p, "\"");
	}
	for (uint32_t i = 0; i < n->list.n; i++) {
		const pc_ast *part = n->list.items[i];
		if (part->kind == PC_AST_STR_TEXT) {
			string_text(p, part->name, (size_t)part->v.i, tb, i + 1 == n->list.n, &bol);
			ends_nl = part->v.i > 0 && part->name[part->v.i - 1] == '\n';
			continue;
		}
		if (tb && bol) {
			start_line(p, 1);
			bol = 0;
		}
		put(p, "${", 2);
		int flat = p->flat;
		p->flat = 1;
		expr(p, part);
		p->flat = flat;
		put(p, "}", 1);
		ends_nl = 0;
	}
	if (tb) {
		if (!ends_nl && n->list.n) {
			put(p, "\"\"\"", 3);
		} else {
			p->bol = 1;
			puts_(p, "\"\"\"");
		}
	} else {
		puts_(p, "\"");
	}
}

/* ---- lists --------------------------------------------------------------- */

typedef void (*item_fn)(printer *p, const pc_ast *n);

/*
 * Items of a bracketed list between OPEN and CLOSE (e.g. "(" and ")").
 * Multi-line lists put each item on its own line, with a trailing comma when
 * COMMA; one-line lists separate items with ", ".  PAD puts spaces inside
 * one-line brackets.  CLOSE_OFF is the source offset of the closing bracket.
 */
static void list(printer *p, const pc_ast_list *l, int multiline, const char *open,
		 const char *close, int comma, int pad, uint32_t open_end, uint32_t close_off,
		 item_fn fn)
{
	puts_(p, open);
	if (multiline && !p->flat) {
		newline(p);
		p->indent++;
		uint32_t last = open_end;
		for (uint32_t i = 0; i < l->n; i++) {
			const pc_ast *it = l->items[i];
			item_start(p, last, it->span.start, i == 0);
			fn(p, it);
			uint32_t end = it->span.end;
			if (comma) {
				puts_(p, ",");
				/* a comment's spacing counts from the author's comma */
				uint32_t q = end;
				while (q < p->src->len && (p->src->text[q] == ' ' || p->src->text[q] == '\t'))
					q++;
				if (q < p->src->len && p->src->text[q] == ',')
					end = q + 1;
			}
			last = item_end(p, end);
			newline(p);
		}
		block_tail(p, last, close_off, l->n == 0);
		p->indent--;
		puts_(p, close);
		return;
	}
	if (pad && l->n)
		puts_(p, " ");
	for (uint32_t i = 0; i < l->n; i++) {
		if (i)
			puts_(p, ", ");
		fn(p, l->items[i]);
	}
	if (pad && l->n)
		puts_(p, " ");
	puts_(p, close);
}

/* ---- expressions --------------------------------------------------------- */

#define op_text pc_op_text

static void stmt(printer *p, const pc_ast *n);

static void arg(printer *p, const pc_ast *n)
{
	if (n->kind == PC_AST_ERROR)
		return;
	if (n->name) {
		puts_(p, n->name);
		puts_(p, ": ");
	}
	expr(p, n->a);
}

static void entry(printer *p, const pc_ast *n)
{
	if (n->flags & PC_AF_STRKEY)
		string(p, n->b);
	else
		puts_(p, n->name);
	puts_(p, ": ");
	expr(p, n->a);
}

/* A { } block of statements in an expression (if, for) or a body. */
static void block(printer *p, const pc_ast *body, item_fn fn)
{
	int inline_ok = !(body->flags & PC_AF_MULTILINE) && body->list.n <= 1;
	if (p->flat || inline_ok) {
		if (!body->list.n) {
			puts_(p, "{}");
			return;
		}
		puts_(p, "{ ");
		for (uint32_t i = 0; i < body->list.n; i++) {
			if (i)
				puts_(p, "; ");
			fn(p, body->list.items[i]);
		}
		puts_(p, " }");
		return;
	}
	puts_(p, "{");
	newline(p);
	p->indent++;
	uint32_t last = body->span.start + 1;
	for (uint32_t i = 0; i < body->list.n; i++) {
		const pc_ast *it = body->list.items[i];
		item_start(p, last, it->span.start, i == 0);
		fn(p, it);
		last = item_end(p, it->span.end);
		newline(p);
	}
	block_tail(p, last, body->span.end - 1, body->list.n == 0);
	p->indent--;
	puts_(p, "}");
}

static void expr(printer *p, const pc_ast *n)
{
	switch ((pc_ast_kind)n->kind) {
	case PC_AST_INT: case PC_AST_FLOAT: case PC_AST_DURATION: case PC_AST_SIZE:
		source_text(p, n->span);
		break;
	case PC_AST_BOOL:
		puts_(p, n->v.i ? "true" : "false");
		break;
	case PC_AST_NONE:
		puts_(p, "none");
		break;
	case PC_AST_STRING:
		string(p, n);
		break;
	case PC_AST_NAME:
		puts_(p, n->name);
		break;
	case PC_AST_FIELD:
		expr(p, n->a);
		puts_(p, ".");
		puts_(p, n->name);
		break;
	case PC_AST_CALL:
		expr(p, n->a);
		list(p, &n->list, n->flags & PC_AF_MULTILINE, "(", ")", 1, 0,
		     n->a->span.end + 1, n->span.end - 1, arg);
		break;
	case PC_AST_LIST:
		list(p, &n->list, n->flags & PC_AF_MULTILINE, "[", "]", 1, 0, n->span.start + 1,
		     n->span.end - 1, expr);
		break;
	case PC_AST_RECORD:
		list(p, &n->list, n->flags & PC_AF_MULTILINE, "{", "}", 0, 1, n->span.start + 1,
		     n->span.end - 1, entry);
		break;
	case PC_AST_UNARY:
		puts_(p, op_text(n->op));
		expr(p, n->a);
		break;
	case PC_AST_BINARY:
		expr(p, n->a);
		puts_(p, " ");
		puts_(p, op_text(n->op));
		puts_(p, " ");
		expr(p, n->b);
		break;
	case PC_AST_COMPARE:
		expr(p, n->a);
		for (uint32_t i = 0; i < n->list.n; i++) {
			puts_(p, " ");
			puts_(p, op_text(n->list.items[i]->op));
			puts_(p, " ");
			expr(p, n->list.items[i]->a);
		}
		break;
	case PC_AST_RANGE:
		expr(p, n->a);
		puts_(p, "..");
		expr(p, n->b);
		break;
	case PC_AST_IF:
		puts_(p, "if ");
		expr(p, n->a);
		puts_(p, " ");
		block(p, n->b, stmt);
		if (n->c) {
			puts_(p, " else ");
			if (n->c->kind == PC_AST_IF)
				expr(p, n->c);
			else
				block(p, n->c, stmt);
		}
		break;
	case PC_AST_FOR:
		puts_(p, "for ");
		puts_(p, n->name);
		puts_(p, " in ");
		expr(p, n->a);
		puts_(p, " ");
		block(p, n->b, stmt);
		break;
	case PC_AST_TRY:
		puts_(p, "try ");
		expr(p, n->a);
		puts_(p, " else ");
		expr(p, n->b);
		break;
	case PC_AST_AFTER:
		expr(p, n->a);
		puts_(p, " after ");
		expr(p, n->b);
		break;
	case PC_AST_PAREN:
		puts_(p, "(");
		expr(p, n->a);
		puts_(p, ")");
		break;
	default:
		break; /* ERROR and non-expressions: a file with errors is not formatted */
	}
}

/* ---- types, parameters, statements --------------------------------------- */

static void type(printer *p, const pc_ast *t)
{
	puts_(p, t->name);
	if (t->list.n) {
		puts_(p, "[");
		for (uint32_t i = 0; i < t->list.n; i++) {
			if (i)
				puts_(p, ", ");
			type(p, t->list.items[i]);
		}
		puts_(p, "]");
	}
	if (t->flags & PC_AF_OPTIONAL)
		puts_(p, "?");
}

static void param(printer *p, const pc_ast *n)
{
	puts_(p, n->name);
	puts_(p, ": ");
	type(p, n->a);
	if (n->b) {
		puts_(p, " = ");
		expr(p, n->b);
	}
	if (n->c) {
		puts_(p, " where ");
		expr(p, n->c);
	}
}

static void output(printer *p, const pc_ast *n)
{
	puts_(p, n->name);
	puts_(p, ": ");
	type(p, n->a);
}

static void name_item(printer *p, const pc_ast *n)
{
	puts_(p, n->name);
}

static void directive(printer *p, const pc_ast *n)
{
	puts_(p, n->name);
	puts_(p, ": ");
	expr(p, n->a);
}

static void stmt(printer *p, const pc_ast *n)
{
	switch ((pc_ast_kind)n->kind) {
	case PC_AST_LET:
		puts_(p, "let ");
		puts_(p, n->name);
		puts_(p, " = ");
		expr(p, n->a);
		break;
	case PC_AST_REQUIRE:
	case PC_AST_EXPECT:
		puts_(p, n->kind == PC_AST_REQUIRE ? "require " : "expect ");
		expr(p, n->a);
		if (n->b) {
			puts_(p, ", ");
			expr(p, n->b);
		}
		break;
	case PC_AST_RETURN:
		puts_(p, "return");
		if (n->a) {
			puts_(p, " ");
			expr(p, n->a);
		}
		break;
	case PC_AST_EXPR_STMT:
		expr(p, n->a);
		break;
	case PC_AST_MOCK:
		puts_(p, "mock ");
		puts_(p, n->a->name);
		if (n->list.n) {
			puts_(p, "(");
			for (uint32_t i = 0; i < n->list.n; i++) {
				if (i)
					puts_(p, ", ");
				name_item(p, n->list.items[i]);
			}
			puts_(p, ")");
		}
		puts_(p, " ");
		block(p, n->c, directive);
		break;
	default:
		break;
	}
}

static void header_params(printer *p, const pc_ast *n)
{
	uint32_t open = n->name_off + (uint32_t)strlen(n->name);
	uint32_t close = n->b ? n->b->span.start : n->c->span.start;
	/* the ')' is the last one before the outputs or body */
	while (close > open && p->src->text[close - 1] != ')')
		close--;
	list(p, &n->list, n->flags & PC_AF_MULTILINE, "(", ")", 1, 0, open + 1,
	     close ? close - 1 : close, param);
	if (n->b) {
		puts_(p, " -> ");
		if (n->b->flags & PC_AF_NAMED)
			list(p, &n->b->list, n->b->flags & PC_AF_MULTILINE, "(", ")", 1, 0,
			     n->b->span.start + 3, n->b->span.end - 1, output);
		else
			type(p, n->b->a);
	}
	puts_(p, " ");
}

static void decl(printer *p, const pc_ast *n)
{
	switch ((pc_ast_kind)n->kind) {
	case PC_AST_IMPORT:
		puts_(p, "import ");
		if (n->flags & PC_AF_FILE) {
			puts_(p, "\"");
			string_text(p, n->name, strlen(n->name), 0, 1, &(int){0});
			puts_(p, "\"");
		} else {
			puts_(p, n->name);
		}
		if (n->a) {
			puts_(p, " as ");
			puts_(p, n->a->name);
		}
		break;
	case PC_AST_TYPE_DECL:
		puts_(p, "type ");
		puts_(p, n->name);
		puts_(p, " = ");
		type(p, n->a);
		break;
	case PC_AST_RECORD_DECL:
	case PC_AST_ENUM_DECL: {
		puts_(p, n->kind == PC_AST_RECORD_DECL ? "record " : "enum ");
		puts_(p, n->name);
		puts_(p, " ");
		uint32_t open = n->name_off + (uint32_t)strlen(n->name);
		while (open < n->span.end && p->src->text[open] != '{')
			open++;
		list(p, &n->list, n->flags & PC_AF_MULTILINE, "{", "}", 0, 1, open + 1,
		     n->span.end - 1, n->kind == PC_AST_RECORD_DECL ? output : name_item);
		break;
	}
	case PC_AST_STAGE:
		puts_(p, "stage ");
		puts_(p, n->name);
		header_params(p, n);
		block(p, n->c, directive);
		break;
	case PC_AST_PIPELINE:
		puts_(p, "pipeline ");
		puts_(p, n->name);
		header_params(p, n);
		block(p, n->c, stmt);
		break;
	case PC_AST_TEST:
		puts_(p, "test ");
		string(p, n->a);
		puts_(p, " ");
		block(p, n->c, stmt);
		break;
	default:
		break;
	}
}

char *pc_format(pc_ctx *ctx, const pc_ast *module, size_t *len)
{
	printer p = {0};
	p.ctx = ctx;
	p.src = ctx->files[module->span.file];
	p.bol = 1;
	uint32_t last = 0;
	for (uint32_t i = 0; i < module->list.n; i++) {
		const pc_ast *d = module->list.items[i];
		item_start(&p, last, d->span.start, i == 0);
		decl(&p, d);
		last = item_end(&p, d->span.end);
		newline(&p);
	}
	block_tail(&p, last, p.src->len + 1, module->list.n == 0);
	return pc_buf_steal(&p.out, len);
}
