/* The lexer: literal values, units, strings, text blocks, separators. */
#include "helpers.h"

#include "parser.h"

static pc_ctx *ctx;

static void teardown(void)
{
	pc_ctx_free(ctx);
	ctx = NULL;
}

TestSuite(lexer, .fini = teardown);

static int64_t int_value(const char *lit)
{
	pc_ast *e = parse_expr(&ctx, lit);
	cr_assert(e, "'%s' should parse: %s", lit, first_message(ctx));
	int64_t v = e->v.i;
	pc_ctx_free(ctx);
	ctx = NULL;
	return v;
}

Test(lexer, integers_with_separators)
{
	cr_expect_eq(int_value("42"), 42);
	cr_expect_eq(int_value("1_000_000"), 1000000);
	cr_expect_eq(int_value("9223372036854775807"), INT64_MAX);
}

Test(lexer, durations_are_nanoseconds)
{
	cr_expect_eq(int_value("500ms"), 500000000LL);
	cr_expect_eq(int_value("30s"), 30000000000LL);
	cr_expect_eq(int_value("5m"), 300000000000LL);
	cr_expect_eq(int_value("2h"), 7200000000000LL);
	cr_expect_eq(int_value("1d"), 86400000000000LL);
	cr_expect_eq(int_value("7us"), 7000LL);
}

Test(lexer, sizes_are_bytes_decimal_and_binary)
{
	cr_expect_eq(int_value("512B"), 512);
	cr_expect_eq(int_value("4KB"), 4000);
	cr_expect_eq(int_value("4KiB"), 4096);
	cr_expect_eq(int_value("16MiB"), 16LL << 20);
	cr_expect_eq(int_value("1GB"), 1000000000LL);
	cr_expect_eq(int_value("40GiB"), 40LL << 30);
	cr_expect_eq(int_value("2TiB"), 2LL << 40);
}

Test(lexer, floats)
{
	pc_ast *e = parse_expr(&ctx, "3e-4");
	cr_assert(e);
	cr_expect_eq(e->kind, PC_AST_FLOAT);
	cr_expect_float_eq(e->v.f, 3e-4, 1e-12);
	pc_ctx_free(ctx);
	ctx = NULL;
	e = parse_expr(&ctx, "0.5");
	cr_expect_float_eq(e->v.f, 0.5, 1e-12);
}

Test(lexer, range_is_not_a_float)
{
	pc_ast *e = parse_expr(&ctx, "0..10");
	cr_assert(e, "%s", first_message(ctx));
	cr_expect_eq(e->kind, PC_AST_RANGE);
	cr_expect_eq(e->a->v.i, 0);
	cr_expect_eq(e->b->v.i, 10);
}

Test(lexer, overflow_is_an_error_not_a_wrap)
{
	parse(&ctx, "pipeline p() { return 9223372036854775808 }\n");
	cr_expect_eq(pc_error_count(ctx), 1);
	cr_expect_str_eq(ctx->diags[0].code, "E0107");
	pc_ctx_free(ctx);
	parse(&ctx, "pipeline p() { return 106752d }\n");
	cr_expect_str_eq(ctx->diags[0].code, "E0108");
	pc_ctx_free(ctx);
	parse(&ctx, "pipeline p() { return 106751d }\n");
	cr_expect_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
}

/* The decoded text of a one-piece string expression. */
static const char *text_of(pc_ast *s)
{
	cr_assert(s && s->kind == PC_AST_STRING);
	cr_assert_eq(s->list.n, 1, "expected one piece, got %u", s->list.n);
	return s->list.items[0]->name;
}

Test(lexer, string_escapes)
{
	pc_ast *e = parse_expr(&ctx, "\"a\\tb\\nc\\\"d\\\\e\\$f\\${g}\"");
	cr_assert(e, "%s", first_message(ctx));
	cr_expect_str_eq(text_of(e), "a\tb\nc\"d\\e$f${g}");
}

Test(lexer, dollar_without_brace_is_text)
{
	pc_ast *e = parse_expr(&ctx, "\"echo $HOME\"");
	cr_assert(e);
	cr_expect_str_eq(text_of(e), "echo $HOME");
}

Test(lexer, interpolation_splits_the_string)
{
	pc_ast *e = parse_expr(&ctx, "\"seq ${n} | head -n ${r.f + 1}\"");
	cr_assert(e, "%s", first_message(ctx));
	cr_assert_eq(e->list.n, 4);
	cr_expect_str_eq(e->list.items[0]->name, "seq ");
	cr_expect_eq(e->list.items[1]->kind, PC_AST_NAME);
	cr_expect_str_eq(e->list.items[2]->name, " | head -n ");
	cr_expect_eq(e->list.items[3]->kind, PC_AST_BINARY);
}

Test(lexer, nested_strings_in_interpolation)
{
	pc_ast *e = parse_expr(&ctx, "\"a ${f(\"b ${c}\")} d\"");
	cr_assert(e, "%s", first_message(ctx));
	cr_assert_eq(e->list.n, 3);
	pc_ast *call = e->list.items[1];
	cr_expect_eq(call->kind, PC_AST_CALL);
	cr_expect_eq(call->list.items[0]->a->kind, PC_AST_STRING);
}

Test(lexer, text_block_removes_common_indentation)
{
	pc_ast *m = parse(&ctx, "stage s() {\n  run: \"\"\"\n    a\n      b\n\n    c\n  \"\"\"\n}\n");
	cr_assert_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
	pc_ast *s = m->list.items[0]->c->list.items[0]->a;
	cr_expect_str_eq(text_of(s), "a\n  b\n\nc\n");
	cr_expect(s->flags & PC_AF_TEXTBLOCK);
}

Test(lexer, text_block_without_final_newline)
{
	pc_ast *m = parse(&ctx, "stage s() {\n  run: \"\"\"\n    a\n    b\"\"\"\n}\n");
	cr_assert_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
	cr_expect_str_eq(text_of(m->list.items[0]->c->list.items[0]->a), "a\nb");
}

Test(lexer, text_block_with_interpolation_and_quotes)
{
	pc_ast *m = parse(&ctx, "stage s() {\n  run: \"\"\"\n    echo \"${x}\" '\"'\n  \"\"\"\n}\n");
	cr_assert_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
	pc_ast *s = m->list.items[0]->c->list.items[0]->a;
	cr_assert_eq(s->list.n, 3);
	cr_expect_str_eq(s->list.items[0]->name, "echo \"");
	cr_expect_str_eq(s->list.items[2]->name, "\" '\"'\n");
}

Test(lexer, newlines_inside_parentheses_are_ignored)
{
	parse(&ctx, "pipeline p() {\n  let x = f(\n    1,\n    2\n  )\n  return x\n}\n");
	cr_expect_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
}

Test(lexer, operator_at_line_end_continues)
{
	pc_ast *m = parse(&ctx, "pipeline p() {\n  let x = 1 +\n    2\n  return x\n}\n");
	cr_assert_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
	cr_expect_eq(m->list.items[0]->c->list.n, 2);
}

Test(lexer, else_on_the_next_line)
{
	parse(&ctx, "pipeline p() {\n  return if c {\n    1\n  }\n  else {\n    2\n  }\n}\n");
	cr_expect_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
}

Test(lexer, semicolons_separate)
{
	pc_ast *m = parse(&ctx, "stage s() { run: \"x\"; retry: 2; }\n");
	cr_assert_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
	cr_expect_eq(m->list.items[0]->c->list.n, 2);
}

Test(lexer, comments_are_recorded)
{
	parse(&ctx, "# one\nstage s() { run: \"# not a comment\" }  # two\n");
	cr_assert_eq(pc_error_count(ctx), 0);
	cr_expect_eq(ctx->files[0]->ncomments, 2);
}

Test(lexer, keywords_as_names_where_only_names_fit)
{
	parse(&ctx, "enum Split { train, test }\nrecord R { type: Int, in: Int }\n"
		    "pipeline p() { let r = { test: 1 }; return r.test + \"${test}\" }\n");
	cr_expect_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
}

Test(lexer, invalid_utf8_and_nul_are_diagnostics)
{
	static const char src[] = "stage s() { run: \"\xff\" }\n\0\n";
	ctx = pc_ctx_new();
	pc_parse_buffer(ctx, "t.pipe", src, sizeof src - 1);
	cr_expect_eq(pc_error_count(ctx), 2);
	cr_expect_str_eq(ctx->diags[0].code, "E0102");
	cr_expect_str_eq(ctx->diags[1].code, "E0103");
}
