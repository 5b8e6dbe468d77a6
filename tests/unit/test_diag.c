/* Diagnostics: positions, the four formats. */
#include "helpers.h"

#include <jansson.h>

static pc_ctx *ctx;

static void teardown(void)
{
	pc_ctx_free(ctx);
	ctx = NULL;
}

TestSuite(diag, .fini = teardown);

static char *render(pc_diag_format f, int color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	cr_assert_eq(pc_diag_render(ctx, out, f, color), 0);
	fclose(out);
	return buf;
}

Test(diag, columns_count_characters_not_bytes)
{
	/* "é" and "日" are 2 and 3 bytes: the 'x' after them is still column 12 */
	parse(&ctx, "# é\nstage s() {\n  run: \"é日\" x\n}\n");
	cr_assert_eq(pc_error_count(ctx), 1);
	char *s = render(PC_FORMAT_JSON, 0);
	json_t *j = json_loads(s, 0, NULL);
	cr_assert(j, "not JSON: %s", s);
	cr_expect_eq(json_integer_value(json_object_get(j, "line")), 3);
	cr_expect_eq(json_integer_value(json_object_get(j, "column")), 13);
	cr_expect_eq(json_integer_value(json_object_get(j, "end_column")), 14);
	json_decref(j);
	free(s);
}

Test(diag, human_format_has_location_code_line_and_caret)
{
	parse(&ctx, "stage s() {\n  run \"x\"\n}\n");
	char *s = render(PC_FORMAT_HUMAN, 0);
	cr_expect(strstr(s, "test.pipe:2:7: error[E0201]: expected ':' after directive name 'run'"), "%s", s);
	cr_expect(strstr(s, "    2 |   run \"x\"\n      |       ^\n"), "%s", s);
	cr_expect(!strchr(s, '\033'), "no colour unless asked");
	free(s);
	s = render(PC_FORMAT_HUMAN, 1);
	cr_expect(strchr(s, '\033'), "colour when asked");
	free(s);
}

Test(diag, sorted_by_position)
{
	ctx = pc_ctx_new();
	uint32_t f = pc_ctx_add_source(ctx, "a.pipe", "abc\ndef\n", 8);
	pc_diag_emit(ctx, PC_SEV_ERROR, "E0201", (pc_span){f, 5, 6}, "second");
	pc_diag_emit(ctx, PC_SEV_WARNING, "E0201", (pc_span){f, 1, 2}, "first");
	char *s = render(PC_FORMAT_JSON, 0);
	cr_expect(strstr(s, "first") < strstr(s, "second"), "%s", s);
	cr_expect(strstr(s, "\"severity\":\"warning\""));
	cr_expect_eq(pc_error_count(ctx), 1, "warnings are not errors");
	free(s);
}

Test(diag, notes_and_secondary_spans)
{
	ctx = pc_ctx_new();
	uint32_t f = pc_ctx_add_source(ctx, "a.pipe", "let s = count(raw)\n", 19);
	pc_diag *d = pc_diag_emit(ctx, PC_SEV_ERROR, "E0201", (pc_span){f, 14, 17}, "expected Corpus, found File");
	pc_diag_label(ctx, d, "this is a File");
	pc_diag_note(ctx, d, "convert with Corpus(raw)");
	pc_diag_secondary(ctx, d, (pc_span){f, 4, 5}, "bound here");
	char *s = render(PC_FORMAT_HUMAN, 0);
	cr_expect(strstr(s, "|               ^^^ this is a File\n"), "%s", s);
	cr_expect(strstr(s, "note: convert with Corpus(raw)\n"), "%s", s);
	cr_expect(strstr(s, "  --> a.pipe:1:5\n"), "%s", s);
	free(s);
	s = render(PC_FORMAT_JSON, 0);
	cr_expect(strstr(s, "\"notes\":[\"convert with Corpus(raw)\"]"), "%s", s);
	cr_expect(strstr(s, "\"related\":[{\"file\":\"a.pipe\",\"line\":1,\"column\":5"), "%s", s);
	free(s);
}

Test(diag, github_escapes_data_and_properties)
{
	ctx = pc_ctx_new();
	uint32_t f = pc_ctx_add_source(ctx, "a,b:c.pipe", "x\n", 2);
	pc_diag_emit(ctx, PC_SEV_ERROR, "E0201", (pc_span){f, 0, 1}, "100%% wrong:\nreally");
	char *s = render(PC_FORMAT_GITHUB, 0);
	cr_expect_str_eq(s, "::error file=a%2Cb%3Ac.pipe,line=1,col=1,endLine=1,endColumn=2,title=E0201::100%25 wrong:%0Areally\n");
	free(s);
}

Test(diag, sarif_has_rules_and_results)
{
	parse(&ctx, "stage s() {\n  run \"x\"\n  retry = 1\n}\n");
	char *s = render(PC_FORMAT_SARIF, 0);
	json_t *j = json_loads(s, 0, NULL);
	cr_assert(j);
	cr_expect_str_eq(json_string_value(json_object_get(j, "version")), "2.1.0");
	json_t *run = json_array_get(json_object_get(j, "runs"), 0);
	cr_expect_eq(json_array_size(json_object_get(run, "results")), 2);
	json_t *rules = json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
	cr_expect_eq(json_array_size(rules), 1, "one rule per distinct code");
	json_decref(j);
	free(s);
}

Test(diag, byte_order_mark_is_skipped_and_takes_no_column)
{
	parse(&ctx, "\xEF\xBB\xBFstage s() {\n  run: \"x\"\n");
	cr_assert_eq(pc_error_count(ctx), 1, "only the missing '}', not the BOM");
	char *s = render(PC_FORMAT_HUMAN, 0);
	cr_expect(strstr(s, "test.pipe:2:11: error[E0201]"), "%s", s);
	cr_expect(strstr(s, "  --> test.pipe:1:11\n"), "the '{' is column 11: %s", s);
	cr_expect(strstr(s, "this '{' is not closed"), "%s", s);
	free(s);
}
