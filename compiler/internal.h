/*
 * internal.h - what the compiler's modules share with each other.
 *
 * Not for the driver: it uses pipec-compiler.h only.  The pieces here:
 *
 *   util.c     allocation funnel (pc_xmalloc), growable byte buffer (pc_buf)
 *   arena.c    the compilation arena and identifier interning
 *   source.c   loaded files and their line index (offset -> line, column)
 *   diag.c     collecting diagnostics and rendering them
 *   lexer.re   re2c lexer: bytes -> tokens, with the separator rule
 *   parser.y   Bison grammar: tokens -> AST, with error recovery
 *   ast.c      AST constructors (the only way the parser builds nodes)
 *   fmt.c      the canonical formatter
 *   dump.c     S-expression dump of an AST, for tests
 */
#ifndef PIPEC_INTERNAL_H
#define PIPEC_INTERNAL_H

#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipec-compiler.h"

/* ---- programmer errors -------------------------------------------------- */

void pc_panic(const char *file, int line, const char *what) __attribute__((noreturn));
#define PC_ASSERT(c) ((c) ? (void)0 : pc_panic(__FILE__, __LINE__, "assertion failed: " #c))
#define PC_UNREACHABLE() pc_panic(__FILE__, __LINE__, "unreachable")

/* ---- allocation funnel (util.c) ------------------------------------------ */

/* All heap allocation goes through these; failure calls the OOM hook and aborts. */
void *pc_xmalloc(size_t n);
void *pc_xcalloc(size_t n, size_t size);
void *pc_xrealloc(void *p, size_t n);
char *pc_xstrdup(const char *s);
/* Tests may replace what happens when memory runs out (default: message, abort). */
extern void (*pc_oom_hook)(size_t n);

/* A growable byte buffer; always NUL-terminated after the first append. */
typedef struct pc_buf {
	char *data; /* malloc()ed, owned */
	size_t len; /* bytes used, not counting the NUL */
	size_t cap; /* bytes allocated */
} pc_buf;

void pc_buf_grow(pc_buf *b, size_t extra);
void pc_buf_add(pc_buf *b, const void *p, size_t n);
void pc_buf_addc(pc_buf *b, char c);
void pc_buf_adds(pc_buf *b, const char *s);
void pc_buf_printf(pc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pc_buf_vprintf(pc_buf *b, const char *fmt, va_list ap);
/* Hands the contents to the caller (a new string) and empties B. */
char *pc_buf_steal(pc_buf *b, size_t *len);
void pc_buf_free(pc_buf *b);

/* UTF-8: length of the valid sequence at P (before END), or 0 if invalid. */
int pc_utf8_len(const unsigned char *p, const unsigned char *end, uint32_t *cp);

/* The bytes in one Size unit NAME ("B", "KB", ..., "PiB", as the language
 * writes them: lexer.re), or 0 when NAME is not one. */
int64_t pc_size_unit(const char *name, size_t n);

/* ---- arena (arena.c) ----------------------------------------------------- */

typedef struct pc_arena pc_arena;

pc_arena *pc_arena_new(void);
void pc_arena_free(pc_arena *a);
/* N zeroed bytes, 16-byte aligned, freed with the arena. */
void *pc_arena_alloc(pc_arena *a, size_t n);
char *pc_arena_strndup(pc_arena *a, const char *s, size_t n);
/* Total bytes the arena has taken from the heap. */
size_t pc_arena_bytes(const pc_arena *a);

/* Interned strings: equal contents give the same pointer. */
typedef struct pc_interner pc_interner;
pc_interner *pc_interner_new(pc_arena *a);
void pc_interner_free(pc_interner *in);
const char *pc_intern(pc_interner *in, const char *s, size_t n);

/* ---- sources and spans (source.c) ---------------------------------------- */

/* A location in a source: byte offsets, END exclusive. */
typedef struct pc_span {
	uint32_t file;  /* index into ctx->files */
	uint32_t start; /* byte offset of the first byte */
	uint32_t end;   /* byte offset one past the last byte */
} pc_span;

typedef struct pc_source {
	const char *path;     /* as the user named it; arena */
	char *text;           /* contents plus a NUL; arena */
	uint32_t len;         /* bytes, not counting the NUL */
	uint32_t *lines;      /* byte offset of each line's start; arena */
	uint32_t nlines;      /* entries in lines (>= 1) */
	struct pc_comment *comments; /* every comment, in source order; malloc */
	uint32_t ncomments, capcomments;
} pc_source;

typedef struct pc_comment {
	uint32_t start, end; /* byte offsets of "#" and of the line's end */
} pc_comment;

/* 1-based line and 1-based column in characters (UTF-8 code points). */
void pc_source_linecol(const pc_source *s, uint32_t off, uint32_t *line, uint32_t *col);
uint32_t pc_source_line(const pc_source *s, uint32_t off);
/* Byte offset where LINE's text begins (after a byte order mark on line 1). */
uint32_t pc_source_line_start(const pc_source *s, uint32_t line);

/* ---- the compilation ----------------------------------------------------- */

typedef enum pc_severity { PC_SEV_ERROR, PC_SEV_WARNING, PC_SEV_NOTE } pc_severity;

typedef struct pc_label {
	pc_span span;
	const char *text; /* may be NULL; arena */
} pc_label;

typedef struct pc_diag {
	pc_severity sev;
	const char *code;     /* "E0201"; static */
	pc_span span;         /* primary span */
	const char *message;  /* arena */
	const char *label;    /* text under the primary carets, or NULL */
	pc_label *secondary;  /* secondary spans; arena */
	uint32_t nsecondary;
	const char **notes;   /* arena */
	uint32_t nnotes;
} pc_diag;

struct pc_ctx {
	pc_arena *arena;       /* AST, interned names, sources, diagnostic text */
	pc_interner *names;
	pc_source **files;     /* malloc()ed array of arena sources */
	uint32_t nfiles, capfiles;
	pc_diag *diags;        /* malloc()ed array */
	size_t ndiags, capdiags;
	size_t nerrors;
	size_t max_errors;     /* per file, after which a file stops reporting */
	int strict;            /* undecided constraints are errors (--strict) */
	struct pc_profile *profile; /* nodes stages must fit (--profile), or NULL; malloc()ed */
	struct pc_sema *sema;  /* modules and symbols, once pc_check_file() ran */
	char **stdlib_dirs;    /* malloc()ed copies */
	size_t nstdlib_dirs;
};

/* Adds a copy of DATA as a new source; returns its index. */
uint32_t pc_ctx_add_source(pc_ctx *ctx, const char *path, const char *data, size_t len);

/* ---- diagnostics (diag.c) ------------------------------------------------ */

/* Collects a diagnostic and returns it so that notes and spans can be added. */
pc_diag *pc_diag_emit(pc_ctx *ctx, pc_severity sev, const char *code, pc_span span,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void pc_diag_label(pc_ctx *ctx, pc_diag *d, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pc_diag_note(pc_ctx *ctx, pc_diag *d, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pc_diag_secondary(pc_ctx *ctx, pc_diag *d, pc_span span, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* One-line description of a diagnostic code, for SARIF rules and docs. */
const char *pc_diag_describe(const char *code);

/* ---- lexer (lexer.re) and parser (parser.y) ------------------------------ */

#define PC_MAX_NESTING 128 /* brackets, strings and interpolations, nested */
#define PC_MAX_AST_DEPTH 400

typedef struct pc_lexer pc_lexer;
typedef struct pc_parser pc_parser;

/* Keyword table: text and Bison token kind, in one place (keywords.c). */
typedef struct pc_keyword {
	const char *text;
	int token;
} pc_keyword;
extern const pc_keyword pc_keyword_table[];
extern const size_t pc_keyword_count;
/* The token kind of keyword S (N bytes), or 0 if S is no keyword. */
int pc_keyword_lookup(const char *s, size_t n);

/* Parses source FILE of ctx; returns the module (never NULL). */
pc_ast *pc_parse_source(pc_ctx *ctx, uint32_t file);

#include "ast.h"

#endif
