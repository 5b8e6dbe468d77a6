/*
 * parse.h - what the lexer and the parser share (not the rest of the
 * compiler): the parser context, the lexer's interface, and recovery.
 */
#ifndef PIPEC_PARSE_H
#define PIPEC_PARSE_H

#include "internal.h"

typedef struct pc_loc {
	uint32_t start, end; /* byte offsets in the file being parsed */
} pc_loc;

typedef struct pc_strval {
	const char *p; /* decoded text in the arena (not NUL-safe: use n) */
	uint32_t n;
} pc_strval;

/* How far error recovery skips (see pc_lex_recover). */
typedef enum pc_sync {
	PC_SYNC_TOP,     /* to the next line at top level */
	PC_SYNC_STMT,    /* to the next statement/directive of the enclosing { } */
	PC_SYNC_FIELD,   /* to the next ',' or line of the enclosing { } */
	PC_SYNC_PAREN,   /* to the next ',' or the ')' of the enclosing ( ) */
	PC_SYNC_BRACKET, /* to the next ',' or the ']' of the enclosing [ ] */
} pc_sync;

struct pc_parser {
	pc_ctx *ctx;
	uint32_t file;
	pc_source *src;
	pc_lexer *lex;
	pc_ast *module;          /* the result */
	uint32_t last_recover;   /* offset of the lookahead at the last recovery + 1, or 0 */
	uint32_t last_error;     /* offset of the last syntax error reported + 1, or 0 */
	size_t errors_at_start;  /* ctx->nerrors when this file began */
	int too_many;            /* stopped reporting: error limit reached */
	const char *decl_kind;   /* "stage", "pipeline", ... being parsed, for messages */
	const char *decl_name;   /* its name (interned), or NULL */
};

pc_lexer *pc_lex_new(pc_parser *P);
void pc_lex_free(pc_lexer *lx);
/* The next token for Bison; fills *VAL and *LOC. */
union PC_YYSTYPE;
int pc_lex_next(pc_lexer *lx, union PC_YYSTYPE *val, pc_loc *loc);
/* The source text of the token before the lookahead, and of the lookahead. */
pc_loc pc_lex_prev(const pc_lexer *lx);
int pc_lex_prev_kind(const pc_lexer *lx);
pc_loc pc_lex_cur(const pc_lexer *lx);
/* The innermost open ( or [ (or also { with BRACES): its offset and character. */
int pc_lex_open_bracket(const pc_lexer *lx, int braces, uint32_t *off, char *ch);
/* Whether lexing stopped early (nesting too deep); later syntax errors are noise. */
int pc_lex_aborted(const pc_lexer *lx);
/* Whether the lexer already reported a construct that ran to the end of the file. */
int pc_lex_eof_reported(const pc_lexer *lx);
/*
 * Error recovery: discards tokens until one at which parsing of the
 * construct SYNC names can resume, and makes it the next token.  LA is the
 * current lookahead's kind (or -2, none); returns 1 if that lookahead must be
 * dropped (the parser clears it), 0 if it stays.
 */
int pc_lex_recover(pc_lexer *lx, pc_sync sync, int la, union PC_YYSTYPE *la_val);

/* Diagnostics of the parser that the lexer may also raise. */
pc_span pc_span_of(const pc_parser *P, pc_loc l);
/* Whether the parser still reports errors for this file. */
int pc_parse_reporting(pc_parser *P);

#endif
