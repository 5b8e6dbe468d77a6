/*
 * pipec-compiler.h - the compiler library's public interface.
 *
 * This is the one header the driver (and anything else outside compiler/)
 * may include.  A compilation is a pc_ctx: it owns the arena that holds every
 * AST node, interned identifier and loaded source file, and the list of
 * diagnostics the phases collected.  Nothing is printed while compiling; the
 * caller renders the diagnostics at the end in the format the user asked for.
 *
 * Ownership: every pointer returned into a pc_ctx (an AST, a source) is
 * borrowed and lives until pc_ctx_free().  Strings documented as "new" are
 * malloc()ed and the caller frees them.
 */
#ifndef PIPEC_COMPILER_H
#define PIPEC_COMPILER_H

#include <stddef.h>
#include <stdio.h>

typedef struct pc_ctx pc_ctx;
typedef struct pc_ast pc_ast;

typedef enum pc_diag_format {
	PC_FORMAT_HUMAN,  /* file:line:col: error[CODE]: message, source line, carets */
	PC_FORMAT_JSON,   /* one JSON object per line */
	PC_FORMAT_SARIF,  /* one SARIF 2.1.0 log */
	PC_FORMAT_GITHUB, /* GitHub Actions workflow commands */
} pc_diag_format;

/* A new, empty compilation.  Never returns NULL (allocation failure aborts). */
pc_ctx *pc_ctx_new(void);
void pc_ctx_free(pc_ctx *ctx);

/*
 * Reads PATH ("-" reads standard input) and parses it into a module AST.
 * Returns NULL, with errno set, only when the file cannot be read; syntax
 * errors are collected as diagnostics and the returned AST holds error nodes
 * where the input was malformed.  The AST is borrowed from ctx.
 */
pc_ast *pc_parse_file(pc_ctx *ctx, const char *path);

/*
 * Reads the whole of PATH ("-": standard input, whatever it is) into *DATA
 * (new, with a NUL after its *LEN bytes), refusing without blocking what is
 * not a regular file (a FIFO, a device, a directory) and more than MAX
 * bytes.  With DATA NULL it only checks.  Returns 0, or -1 with errno set
 * and, when WHY is not NULL, *WHY (static text, good until the next call)
 * to end "cannot read 'PATH': ": strerror(errno), "not a regular file (a
 * FIFO)", "larger than 64 MiB".
 */
int pc_read_file(const char *path, size_t max, char **data, size_t *len, const char **why);
/* The largest .pipe file pipec reads (pc_parse_file, pc_check_file). */
#define PC_MAX_SOURCE ((size_t)64 << 20)

/* Parses LEN bytes of DATA (copied) as if read from a file named NAME. */
pc_ast *pc_parse_buffer(pc_ctx *ctx, const char *name, const char *data, size_t len);

/*
 * Directories searched, in order, for `import std.NAME` (NAME.pipe).  The
 * strings are copied.  Call before pc_check_file().
 */
void pc_set_stdlib_dirs(pc_ctx *ctx, const char *const *dirs, size_t n);

/*
 * Reads PATH ("-" reads standard input), loads the modules it imports, and
 * checks everything not checked yet in ctx: syntax, names and types.
 * Problems are collected as diagnostics.  Returns 0, or -1 with errno set
 * when PATH itself cannot be read.
 */
int pc_check_file(pc_ctx *ctx, const char *path);

/* With STRICT, a constraint that cannot be proven or refuted at compile time
 * is an error instead of a run-time check. */
void pc_set_strict(pc_ctx *ctx, int strict);

/*
 * Loads profile NAME from the pipec.yaml at PATH; the stages checked after
 * this must fit its nodes.  Returns 0; -1 when the file has problems (they
 * are diagnostics) or has no such profile; -2 with errno when PATH cannot be
 * read.
 */
int pc_use_profile(pc_ctx *ctx, const char *path, const char *name);

/*
 * Reads the resources file at PATH (nodes: [...], as in a profile) into
 * *JSON, a new string: [{name, cpu, memory, gpus: [{type, memory}]}] with
 * counts expanded (a node of count 2 named "a" is "a-1" and "a-2").
 * Returns 0; -1 when the file has problems (diagnostics); -2 with errno when
 * it cannot be read.
 */
int pc_resources_json(pc_ctx *ctx, const char *path, char **json);

/*
 * Lowers PIPELINE of FILE (checked with pc_check_file, without errors) to a
 * plan, with PARAMS as "name=value" strings parsed by the parameters' types,
 * and writes its JSON to OUT.  Returns 0; 1 when lowering found errors
 * (diagnostics; nothing is written); 2 for a bad parameter, an unknown
 * pipeline or a write error, with *ERR a new message naming it.
 */
int pc_build_plan(pc_ctx *ctx, const char *file, const char *pipeline, const char *const *params,
		  size_t nparams, FILE *out, char **err);

/* Number of error-severity diagnostics collected so far. */
size_t pc_error_count(const pc_ctx *ctx);
/* Number of diagnostics of any severity collected so far. */
size_t pc_diag_count(const pc_ctx *ctx);

/*
 * Renders every collected diagnostic to OUT in FORMAT.  COLOR (0/1) applies
 * to PC_FORMAT_HUMAN only.  Returns 0, or -1 on a write error.
 */
int pc_diag_render(const pc_ctx *ctx, FILE *out, pc_diag_format format, int color);

/*
 * The canonical layout of MODULE (parsed from its file in ctx, without
 * errors), comments kept.  Returns a new NUL-terminated string; *LEN gets its
 * length.
 */
char *pc_format(pc_ctx *ctx, const pc_ast *module, size_t *len);

/*
 * A textual dump of MODULE's AST (S-expressions, no source locations or
 * layout), for comparing two parses.  Returns a new string.
 */
char *pc_ast_dump(const pc_ast *module, size_t *len);

/*
 * Writes into BUF (N bytes; 32 hold any double) the shortest text that
 * strtod() reads back to V, in %g's form: "0.1", "1e+300", "-0", "3" (an
 * integral value has no ".0": add it where the text must look like a
 * Float, as the plan's JSON does).  Returns what snprintf() returns.
 */
int pc_format_double(double v, char *buf, size_t n);

/* The language's reserved words, in the lexer's table order. */
const char *const *pc_keywords(size_t *count);

/* The program version, "0.1.0". */
const char *pc_version(void);

#endif
