/*
 * fuzz_parse.c - libFuzzer target for the lexer and parser (and, for inputs
 * that parse, the formatter and the diagnostic renderers).
 *
 *   ./configure CC=clang --enable-fuzzing && make tests/fuzz/fuzz_parse
 *   tests/fuzz/fuzz_parse -max_len=4096 tests/fuzz/corpus/
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pipec-compiler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pc_ctx *ctx = pc_ctx_new();
	pc_ast *m = pc_parse_buffer(ctx, "fuzz.pipe", (const char *)data, size);
	FILE *null = fopen("/dev/null", "w");
	if (null) {
		pc_diag_render(ctx, null, PC_FORMAT_HUMAN, 1);
		pc_diag_render(ctx, null, PC_FORMAT_SARIF, 0);
		fclose(null);
	}
	if (pc_error_count(ctx) == 0) {
		size_t n;
		char *out = pc_format(ctx, m, &n);
		pc_ctx *again = pc_ctx_new();
		pc_parse_buffer(again, "formatted.pipe", out, n);
		if (pc_error_count(again) != 0)
			abort(); /* the formatter's output must parse */
		pc_ctx_free(again);
		free(out);
	}
	pc_ctx_free(ctx);
	return 0;
}
