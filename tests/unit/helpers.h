/* Shared by the Criterion unit tests: parse a string, look at the result. */
#ifndef PIPEC_TEST_HELPERS_H
#define PIPEC_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Parses SRC in a new context; the caller frees *CTX. */
static inline pc_ast *parse(pc_ctx **ctx, const char *src)
{
	*ctx = pc_ctx_new();
	return pc_parse_buffer(*ctx, "test.pipe", src, strlen(src));
}

/* The first diagnostic's message, or "" */
static inline const char *first_message(pc_ctx *ctx)
{
	return ctx->ndiags ? ctx->diags[0].message : "";
}

/* The dump of SRC's tree, or NULL if it has errors (new string). */
static inline char *dump_of(const char *src)
{
	pc_ctx *ctx;
	pc_ast *m = parse(&ctx, src);
	char *d = pc_error_count(ctx) ? NULL : pc_ast_dump(m, NULL);
	pc_ctx_free(ctx);
	return d;
}

/* The expression of `pipeline p() { return EXPR }` in a context. */
static inline pc_ast *parse_expr(pc_ctx **ctx, const char *expr)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "pipeline p() {\n  return %s\n}\n", expr);
	pc_ast *m = parse(ctx, buf);
	if (pc_error_count(*ctx) || m->list.n != 1)
		return NULL;
	return m->list.items[0]->c->list.items[0]->a;
}

#endif
