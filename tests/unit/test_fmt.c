/* The formatter, on strings: layout decisions and round trips. */
#include "helpers.h"

static char *fmt(const char *src)
{
	pc_ctx *ctx;
	pc_ast *m = parse(&ctx, src);
	cr_assert_eq(pc_error_count(ctx), 0, "%s", first_message(ctx));
	char *out = pc_format(ctx, m, NULL);
	pc_ctx_free(ctx);
	return out;
}

static void round_trip(const char *src)
{
	char *once = fmt(src);
	char *twice = fmt(once);
	cr_expect_str_eq(once, twice, "not idempotent");
	char *a = dump_of(src), *b = dump_of(once);
	cr_assert(a && b);
	cr_expect_str_eq(a, b, "the tree changed:\n%s", once);
	free(once);
	free(twice);
	free(a);
	free(b);
}

Test(fmt, spacing_and_separators)
{
	char *s = fmt("pipeline p(a:Int,b:Int)->Int{let x=a+b*2;return x}\n");
	cr_expect_str_eq(s, "pipeline p(a: Int, b: Int) -> Int {\n  let x = a + b * 2\n  return x\n}\n");
	free(s);
}

Test(fmt, one_line_bodies_stay_on_one_line)
{
	char *s = fmt("stage s() -> File { run: \"x\" }\n");
	cr_expect_str_eq(s, "stage s() -> File { run: \"x\" }\n");
	free(s);
}

Test(fmt, literals_as_written)
{
	char *s = fmt("pipeline p() { return [1_000, 4GiB, 30m, 0.50, 3e-4] }\n");
	cr_expect_str_eq(s, "pipeline p() { return [1_000, 4GiB, 30m, 0.50, 3e-4] }\n");
	free(s);
}

Test(fmt, text_blocks_reindent)
{
	char *s = fmt("stage s() {\n        run: \"\"\"\n          a\n            b\n          \"\"\"\n}\n");
	cr_expect_str_eq(s, "stage s() {\n  run: \"\"\"\n    a\n      b\n  \"\"\"\n}\n");
	free(s);
}

Test(fmt, strings_are_escaped_back)
{
	round_trip("pipeline p() { return \"a\\tb\\\\c\\\"d\\${e} $f ${g}\" }\n");
	round_trip("stage s() {\n  run: \"\"\"\n    \\tx \"\"\\\" y\\\\ \\\n    z\"\n  \"\"\"\n}\n");
}

Test(fmt, round_trips)
{
	round_trip("import std.ml as m\nimport \"a b.pipe\" as c\ntype T = List[Int]?\n");
	round_trip("enum E {\n  a\n  b\n}\nrecord R { x: Int, y: Map[String, E] }\n");
	round_trip("pipeline p(xs: List[Int] = [], f: Bool = true where f) -> (a: Int, b: Int) {\n"
		   "  require 1 <= len(xs) < 10 && !f, \"msg\"\n"
		   "  let y = try g(xs) else h(xs) after k()\n"
		   "  let z = for x in 0..len(xs) { let w = x * 2; w }\n"
		   "  let q = if f { 1 } else if !f { 2 } else {\n    3\n  }\n"
		   "  return { a: -y, b: (z + 1) % 2 }\n}\n");
	round_trip("test \"t\" {\n  mock s(a, b) { run: \"x\"; retry: { attempts: 2, backoff: 1s } }\n  expect main().a == 1\n}\n");
}

Test(fmt, comments_are_kept)
{
	const char *src = "# head\nstage s() {  # opening\n  # before run\n  run: \"x\"  # after run\n  # tail\n}\n# end\n";
	char *s = fmt(src);
	const char *words[] = {"# head", "# opening", "# before run", "# after run", "# tail", "# end"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		cr_expect(strstr(s, words[i]), "lost '%s' in:\n%s", words[i], s);
	free(s);
	round_trip(src);
}
