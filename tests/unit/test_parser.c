/* The parser: tree shapes, precedence, recovery. */
#include "helpers.h"

static pc_ctx *ctx;

static void teardown(void)
{
	pc_ctx_free(ctx);
	ctx = NULL;
}

TestSuite(parser, .fini = teardown);

Test(parser, quickstart_shape)
{
	pc_ast *m = parse(&ctx,
		"import std.text\n"
		"type Corpus = File\n"
		"record Stats { words: Int, lines: Int }\n"
		"stage fetch(n: Int where 1 <= n <= 10_000) -> Corpus {\n"
		"  run: \"seq ${n} > ${out}\"\n"
		"}\n"
		"pipeline main(n: Int = 100) -> Stats {\n"
		"  let c = fetch(n)\n"
		"  return { words: 1, lines: 2 }\n"
		"}\n");
	cr_assert_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
	cr_assert_eq(m->list.n, 5);
	cr_expect_eq(m->list.items[0]->kind, PC_AST_IMPORT);
	cr_expect_str_eq(m->list.items[0]->name, "std.text");
	cr_expect_eq(m->list.items[1]->kind, PC_AST_TYPE_DECL);
	cr_expect_eq(m->list.items[2]->kind, PC_AST_RECORD_DECL);
	cr_expect_eq(m->list.items[2]->list.n, 2);
	pc_ast *st = m->list.items[3];
	cr_expect_eq(st->kind, PC_AST_STAGE);
	cr_expect_str_eq(st->name, "fetch");
	cr_assert_eq(st->list.n, 1);
	pc_ast *param = st->list.items[0];
	cr_expect_str_eq(param->a->name, "Int");
	cr_expect_eq(param->c->kind, PC_AST_COMPARE);
	cr_expect_eq(param->c->list.n, 2, "1 <= n <= 10_000 is one chain of two steps");
	pc_ast *pl = m->list.items[4];
	cr_expect_eq(pl->kind, PC_AST_PIPELINE);
	cr_expect_eq(pl->list.items[0]->b->v.i, 100);
	cr_expect_eq(pl->c->list.n, 2);
}

Test(parser, names_are_interned)
{
	pc_ast *m = parse(&ctx, "pipeline p(n: Int) { return n }\n");
	cr_assert_eq(pc_error_count(ctx), 0);
	cr_expect_eq(m->list.items[0]->list.items[0]->name, m->list.items[0]->c->list.items[0]->a->name);
}

Test(parser, precedence)
{
	pc_ast *e = parse_expr(&ctx, "1 + 2 * 3 - 4");
	cr_assert(e);
	/* (1 + (2 * 3)) - 4 */
	cr_expect_eq(e->op, PC_OP_SUB);
	cr_expect_eq(e->a->op, PC_OP_ADD);
	cr_expect_eq(e->a->b->op, PC_OP_MUL);
}

Test(parser, logic_binds_looser_than_comparison)
{
	pc_ast *e = parse_expr(&ctx, "a < b && c || !d");
	cr_assert(e);
	cr_expect_eq(e->op, PC_OP_OR);
	cr_expect_eq(e->a->op, PC_OP_AND);
	cr_expect_eq(e->a->a->list.items[0]->op, PC_OP_LT);
	cr_expect_eq(e->a->a->kind, PC_AST_COMPARE);
	cr_expect_eq(e->b->kind, PC_AST_UNARY);
	cr_expect_eq(e->b->op, PC_OP_NOT);
}

Test(parser, parenthesized_comparison_does_not_chain)
{
	pc_ast *e = parse_expr(&ctx, "(a < b) == c");
	cr_assert(e);
	cr_expect_eq(e->kind, PC_AST_COMPARE);
	cr_expect_eq(e->list.n, 1);
	cr_expect_eq(e->a->kind, PC_AST_PAREN);
}

Test(parser, try_else_and_after)
{
	pc_ast *e = parse_expr(&ctx, "try f(x) else g(x) after h()");
	cr_assert(e, "%s", first_message(ctx));
	cr_expect_eq(e->kind, PC_AST_TRY);
	cr_expect_eq(e->b->kind, PC_AST_AFTER, "after binds tighter than try's else");
}

Test(parser, calls_with_named_arguments_and_fields)
{
	pc_ast *e = parse_expr(&ctx, "std.ml.split(d, seed: 1).train");
	cr_assert(e, "%s", first_message(ctx));
	cr_expect_eq(e->kind, PC_AST_FIELD);
	cr_expect_str_eq(e->name, "train");
	pc_ast *call = e->a;
	cr_expect_eq(call->kind, PC_AST_CALL);
	cr_assert_eq(call->list.n, 2);
	cr_expect_null(call->list.items[0]->name);
	cr_expect_str_eq(call->list.items[1]->name, "seed");
	cr_expect_eq(call->a->kind, PC_AST_FIELD);
}

Test(parser, if_for_lists_records)
{
	pc_ast *e = parse_expr(&ctx, "for x in [1, 2] { if x > 1 { { a: x } } else if x == 1 { none } }");
	cr_assert(e, "%s", first_message(ctx));
	cr_expect_eq(e->kind, PC_AST_FOR);
	cr_expect_eq(e->a->kind, PC_AST_LIST);
	pc_ast *iff = e->b->list.items[0]->a;
	cr_expect_eq(iff->kind, PC_AST_IF);
	cr_expect_eq(iff->c->kind, PC_AST_IF, "else if nests");
	cr_expect_eq(iff->b->list.items[0]->a->kind, PC_AST_RECORD);
}

Test(parser, types)
{
	pc_ast *m = parse(&ctx, "stage s(a: List[Map[String, std.ml.Model]]?, b: Int?) -> (x: Int, y: File) { run: \"\" }\n");
	cr_assert_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
	pc_ast *t = m->list.items[0]->list.items[0]->a;
	cr_expect_str_eq(t->name, "List");
	cr_expect(t->flags & PC_AF_OPTIONAL);
	cr_expect_str_eq(t->list.items[0]->list.items[1]->name, "std.ml.Model");
	cr_expect(m->list.items[0]->b->flags & PC_AF_NAMED);
}

Test(parser, tests_and_mocks)
{
	pc_ast *m = parse(&ctx, "test \"t\" {\n  mock fetch(n) { run: \"x\" }\n  let s = main(n: 2)\n  expect s.words == 3, \"why\"\n}\n");
	cr_assert_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
	pc_ast *body = m->list.items[0]->c;
	cr_expect_eq(body->list.items[0]->kind, PC_AST_MOCK);
	cr_expect_eq(body->list.items[0]->list.n, 1);
	cr_expect_eq(body->list.items[2]->kind, PC_AST_EXPECT);
	cr_expect_not_null(body->list.items[2]->b);
}

Test(parser, every_syntax_error_is_reported)
{
	parse(&ctx, "stage a() -> File {\n  run \"x\"\n}\nstage b() -> File {\n  retry = 1\n}\n"
		    "pipeline p() {\n  let = 1\n  return 2 3\n}\n");
	cr_expect_eq(pc_error_count(ctx), 4, "got %zu", pc_error_count(ctx));
	for (size_t i = 0; i < ctx->ndiags; i++) {
		cr_expect_str_eq(ctx->diags[i].code, "E0201");
		cr_expect(strncmp(ctx->diags[i].message, "expected ", 9) == 0, "%s", ctx->diags[i].message);
		cr_expect(strstr(ctx->diags[i].message, "syntax error") == NULL);
	}
}

Test(parser, the_directive_message)
{
	parse(&ctx, "stage fetch() -> File {\n  run \"x\"\n}\n");
	cr_assert_eq(pc_error_count(ctx), 1);
	cr_expect(strstr(first_message(ctx), "expected ':' after directive name 'run'"), "%s", first_message(ctx));
}

Test(parser, error_nodes_stand_for_bad_statements)
{
	pc_ast *m = parse(&ctx, "pipeline p() {\n  let x = 1 2\n  let y = 3\n}\n");
	cr_assert_eq(pc_error_count(ctx), 1);
	pc_ast *body = m->list.items[0]->c;
	cr_assert_eq(body->list.n, 2);
	cr_expect_eq(body->list.items[1]->kind, PC_AST_LET, "parsing resumed at the next statement");
}

Test(parser, deep_nesting_is_bounded)
{
	char *src = malloc(200000);
	strcpy(src, "pipeline p() { return ");
	size_t at = strlen(src);
	memset(src + at, '-', 50000);
	strcpy(src + at + 50000, "1 }\n");
	parse(&ctx, src);
	free(src);
	cr_expect_gt(pc_error_count(ctx), 0);
	cr_expect_str_eq(ctx->diags[0].code, "E0202");
}

Test(parser, long_flat_sums_are_fine_up_to_the_bound)
{
	char src[8192] = "pipeline p() { return 1";
	for (int i = 0; i < 300; i++)
		strcat(src, "+1");
	strcat(src, " }\n");
	parse(&ctx, src);
	cr_expect_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
}
