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
 * Work is bounded so that a timeout means a hang, not a big program: a
 * 144-byte program (`for i in 0..200*400`) lowers to 80,000 tasks and a
 * 40 MB plan, past the 10 s limit under the sanitizers.  So a program
 * whose `for`s may make more than LOWER_BUDGET tasks (the product of their
 * iterables' sizes: constant ranges as written, a list's length, anything
 * else as large as the largest list or range in the program, a range whose
 * bound is not constant as large as the largest integer literal) is
 * checked but not lowered, and a plan over PLAN_MAX bytes is neither
 * written again nor loaded (fuzz_plan feeds the loader).  Work the
 * estimate does not see (pipelines calling pipelines twice over, imported
 * modules) can still make a legitimate input slow.
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
#include "internal.h" /* ast.h: the parsed module, to bound the work of lowering it */

enum { LOWER_BUDGET = 5000, PLAN_MAX = 1 << 20 };

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

/* The largest integer literal under N (at least 2). */
static double max_literal(const pc_ast *n)
{
	double m = 2;
	if (!n)
		return m;
	if (n->kind == PC_AST_INT && (double)n->v.i > m)
		m = (double)n->v.i;
	const pc_ast *kids[] = {n->a, n->b, n->c};
	for (int k = 0; k < 3; k++) {
		double x = max_literal(kids[k]);
		m = x > m ? x : m;
	}
	for (uint32_t k = 0; k < n->list.n; k++) {
		double x = max_literal(n->list.items[k]);
		m = x > m ? x : m;
	}
	return m;
}

/* E's value when it is an integer constant (literals, + - * /, parentheses); else UNKNOWN. */
static double constant(const pc_ast *e, double unknown)
{
	if (!e)
		return unknown;
	switch (e->kind) {
	case PC_AST_INT: return (double)e->v.i;
	case PC_AST_PAREN: return constant(e->a, unknown);
	case PC_AST_UNARY: return e->op == PC_OP_NEG ? -constant(e->a, -unknown) : unknown;
	case PC_AST_BINARY: {
		double a = constant(e->a, unknown), b = constant(e->b, unknown);
		switch (e->op) {
		case PC_OP_ADD: return a + b;
		case PC_OP_SUB: return a - constant(e->b, 0);
		case PC_OP_MUL: return a * b;
		case PC_OP_DIV: return a;
		default: return unknown;
		}
	}
	default: return unknown;
	}
}

static int is_range_call(const pc_ast *e)
{
	return e->kind == PC_AST_CALL && e->a && e->a->kind == PC_AST_NAME && e->a->name &&
	       !strcmp(e->a->name, "range") && (e->list.n == 1 || e->list.n == 2) && e->list.items[0]->a &&
	       e->list.items[e->list.n - 1]->a;
}

/* How many elements the iterable E may have at most (M: a stand-in for what is not constant). */
static double elements(const pc_ast *e, double m)
{
	if (e->kind == PC_AST_LIST)
		return e->list.n;
	if (e->kind == PC_AST_RANGE)
		return constant(e->b, m) - constant(e->a, 0);
	if (is_range_call(e))
		return e->list.n == 1 ? constant(e->list.items[0]->a, m)
				      : constant(e->list.items[1]->a, m) - constant(e->list.items[0]->a, 0);
	return m;
}

/* The largest list N may make: its list literals' lengths, its ranges' sizes
 * (a bound that is not constant taken as LIT, the largest integer literal); at least 2. */
static double largest_list(const pc_ast *n, double lit)
{
	double m = 2;
	if (!n)
		return m;
	if (n->kind == PC_AST_LIST || n->kind == PC_AST_RANGE || is_range_call(n)) {
		double x = elements(n, lit);
		m = x > m ? x : m;
	}
	const pc_ast *kids[] = {n->a, n->b, n->c};
	for (int k = 0; k < 3; k++) {
		double x = largest_list(kids[k], lit);
		m = x > m ? x : m;
	}
	for (uint32_t k = 0; k < n->list.n; k++) {
		double x = largest_list(n->list.items[k], lit);
		m = x > m ? x : m;
	}
	return m;
}

/* The product over the `for`s under N of their iterables' sizes (each at least 2): a bound on the tasks they make. */
static double fan_out(const pc_ast *n, double m)
{
	if (!n)
		return 1;
	double f = 1;
	if (n->kind == PC_AST_FOR && n->a) {
		double k = elements(n->a, m);
		f = k > 2 ? k : 2;
	}
	const pc_ast *kids[] = {n->a, n->b, n->c};
	for (int k = 0; k < 3 && f <= LOWER_BUDGET; k++)
		f *= fan_out(kids[k], m);
	for (uint32_t k = 0; k < n->list.n && f <= LOWER_BUDGET; k++)
		f *= fan_out(n->list.items[k], m);
	return f;
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
	pc_ast *m = pc_parse_buffer(ctx, "fuzz.pipe", (const char *)data, size);
	size_t errors = pc_error_count(ctx);
	int lower_it = !errors && fan_out(m, largest_list(m, max_literal(m))) <= LOWER_BUDGET;
	pc_ctx_free(ctx);
	if (errors)
		return 0;

	FILE *f = fopen(path, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	ctx = pc_ctx_new();
	const char *std = PIPEC_SOURCE_STDLIB;
	pc_set_stdlib_dirs(ctx, &std, 1);
	if (pc_check_file(ctx, path) == 0 && pc_error_count(ctx) == 0 && lower_it) {
		char *plan, *piped;
		size_t len, plen;
		int rc = lower(ctx, 1, &plan, &len);
		if (rc == 0 && len <= PLAN_MAX) {
			if (lower(ctx, 0, &piped, &plen) != rc || plen != len || memcmp(plan, piped, len) != 0) {
				fprintf(stderr, "fuzz_check: the plan written to a pipe differs from the one written to a file\n");
				abort();
			}
			free(piped);
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
