/*
 * fuzz_check.c - libFuzzer target for the type checker and lowering, fed
 * whole programs that parse.
 *
 * An input that does not parse is dropped at once (fuzz_parse covers the
 * parser).  One that parses is written to a file of its own (the checker
 * loads modules by path: imports are relative to it, std.* from the
 * source tree's stdlib/), checked as `pipec check` does, and when the check
 * finds no error its pipeline `main` is lowered, with no parameters, as
 * `pipec build` does: once to a seekable stream and once to a pipe's kind
 * (the plan hashed first, then written).  Both must give the same bytes,
 * and the runtime's plan loader (pe_load) must accept the plan: a plan the
 * compiler writes and the runtime refuses is a bug in one of them.
 *
 *   ./configure CC=clang --enable-fuzzing && make tests/fuzz/fuzz_check
 *   tests/fuzz/fuzz_check -max_len=4096 CORPUS/   (seeds: examples, stdlib, tests/lang, tests/golden)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "pipec-compiler.h"

static char dir[4096], path[4200];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof dir, "%s/fuzz_check.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("fuzz_check: mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof path, "%s/fuzz.pipe", dir);
	atexit(cleanup);
	return 0;
}

/* A stream that cannot seek (ftell() fails, as on `pipec build | cat`),
 * keeping what is written in memory. */
typedef struct sink {
	char *data;
	size_t len, cap;
} sink;

static ssize_t sink_write(void *c, const char *buf, size_t n)
{
	sink *s = c;
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->data = realloc(s->data, s->cap);
		if (!s->data)
			abort();
	}
	memcpy(s->data + s->len, buf, n);
	s->len += n;
	return (ssize_t)n;
}

/* Lowers `main` of the checked CTX to a memory stream (SEEKABLE) or to a
 * stream that cannot seek; returns pc_build_plan()'s status, *OUT the plan. */
static int lower(pc_ctx *ctx, int seekable, char **out, size_t *len)
{
	char *err = NULL;
	int rc;
	sink s = {0};
	FILE *f = seekable ? open_memstream(out, len)
			   : fopencookie(&s, "w", (cookie_io_functions_t){.write = sink_write});
	if (!f)
		abort();
	rc = pc_build_plan(ctx, path, "main", NULL, 0, f, &err);
	fclose(f);
	if (!seekable) {
		*out = s.data;
		*len = s.len;
	}
	free(err);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pc_ctx *ctx = pc_ctx_new();
	pc_parse_buffer(ctx, "fuzz.pipe", (const char *)data, size);
	size_t errors = pc_error_count(ctx);
	pc_ctx_free(ctx);
	if (errors)
		return 0;

	FILE *f = fopen(path, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	ctx = pc_ctx_new();
	const char *std = PIPEC_SOURCE_STDLIB;
	pc_set_stdlib_dirs(ctx, &std, 1);
	if (pc_check_file(ctx, path) == 0 && pc_error_count(ctx) == 0) {
		char *plan, *piped;
		size_t len, plen;
		int rc = lower(ctx, 1, &plan, &len);
		if (lower(ctx, 0, &piped, &plen) != rc || (rc == 0 && (plen != len || memcmp(plan, piped, len) != 0))) {
			fprintf(stderr, "fuzz_check: the plan written to a pipe differs from the one written to a file\n");
			abort();
		}
		free(piped);
		if (rc == 0) {
			runner R = {0};
			char *err = NULL;
			if (pe_load(&R, plan, len, &err) < 0) {
				fprintf(stderr, "fuzz_check: the runtime refused the compiler's plan: %s\n", err);
				abort();
			}
			free(err);
			for (uint32_t i = 0; i < R.n; i++) {
				free(R.t[i].waits);
				free(R.t[i].users);
			}
			free(R.t);
			free(R.heap);
			free(R.outdecl);
			json_decref(R.index);
			json_decref(R.plan);
		}
		free(plan);
	}
	FILE *null = fopen("/dev/null", "w");
	if (null) {
		pc_diag_render(ctx, null, PC_FORMAT_HUMAN, 0);
		fclose(null);
	}
	pc_ctx_free(ctx);
	return 0;
}
