/*
 * ast.h - the abstract syntax tree.
 *
 * Every node is a pc_ast in the compilation arena, built only by the
 * constructors in ast.c (the parser's actions call nothing else).  A node has
 * a kind, a span, and a few generic slots whose meaning depends on the kind;
 * the table below is the contract every phase reads:
 *
 *   kind            name            a          b          c        list
 *   --------------- --------------- ---------- ---------- -------- -------------
 *   MODULE          -               -          -          -        decls
 *   IMPORT          path (dotted    alias NAME -          -        -
 *                   or file; FILE flag)
 *   TYPE_DECL       name            TYPE       -          -        -
 *   RECORD_DECL     name            -          -          -        FIELD_DECLs
 *   FIELD_DECL      name            TYPE       -          -        -
 *   ENUM_DECL       name            -          -          -        ENUM_MEMBERs
 *   ENUM_MEMBER     name            -          -          -        -
 *   STAGE           name            -          OUTPUTS?   BODY     PARAMs
 *   PIPELINE        name            -          OUTPUTS?   BODY     PARAMs
 *   TEST            -               STRING     -          BODY     -
 *   PARAM           name            TYPE       default?   where?   -
 *   OUTPUTS         -               TYPE (single) or -     -        OUTPUT (named)
 *   OUTPUT          name            TYPE       -          -        -
 *   BODY            -               -          -          -        DIRECTIVEs or statements
 *   DIRECTIVE       name            value      -          -        -
 *   TYPE            dotted name     -          -          -        type arguments
 *   LET             name            value      -          -        -
 *   REQUIRE/EXPECT  -               condition  message?   -        -
 *   RETURN          -               value?     -          -        -
 *   EXPR_STMT       -               expr       -          -        -
 *   MOCK            -               target     -          BODY     NAMEs (params)
 *   INT/DURATION/SIZE               v.i (ns for Duration, bytes for Size)
 *   FLOAT                           v.f
 *   BOOL                            v.i
 *   NONE
 *   STRING          -               -          -          -        STR_TEXT and exprs
 *   STR_TEXT        text (v.i bytes, may hold NULs)
 *   NAME            name
 *   FIELD           field name      object
 *   CALL            -               callee     -          -        ARGs
 *   ARG             name or NULL    value
 *   LIST            -               -          -          -        elements
 *   RECORD          -               -          -          -        ENTRYs
 *   ENTRY           key (STRKEY flag if quoted)  value
 *   UNARY/BINARY    op (pc_op)      operand(s) in a, b
 *   COMPARE         -               first      -          -        CMP_STEPs (op, a)
 *   RANGE           -               from       to
 *   IF              -               condition  then BODY  else (BODY or IF)?
 *   FOR             variable        iterable   BODY
 *   TRY             -               body       fallback
 *   AFTER           -               expr       dependency
 *   PAREN           -               inner
 *   ERROR           -               (a syntax error was reported here; op 1
 *                                   while the parser resumed reporting)
 *
 * Flags record layout the formatter keeps (MULTILINE) and lexical facts
 * (TEXTBLOCK, FILE, STRKEY); the dump and later phases ignore layout.
 */
#ifndef PIPEC_AST_H
#define PIPEC_AST_H

#define PC_AST_KINDS(X)                                                         \
	X(MODULE) X(IMPORT) X(TYPE_DECL) X(RECORD_DECL) X(FIELD_DECL)            \
	X(ENUM_DECL) X(ENUM_MEMBER) X(STAGE) X(PIPELINE) X(TEST) X(PARAM)        \
	X(OUTPUTS) X(OUTPUT) X(BODY) X(DIRECTIVE) X(TYPE) X(LET) X(REQUIRE)      \
	X(EXPECT) X(RETURN) X(EXPR_STMT) X(MOCK) X(INT) X(DURATION) X(SIZE)      \
	X(FLOAT) X(BOOL) X(NONE) X(STRING) X(STR_TEXT) X(NAME) X(FIELD) X(CALL)  \
	X(ARG) X(LIST) X(RECORD) X(ENTRY) X(UNARY) X(BINARY) X(COMPARE)         \
	X(CMP_STEP) X(RANGE) X(IF) X(FOR) X(TRY) X(AFTER) X(PAREN) X(ERROR)

typedef enum pc_ast_kind {
#define PC_AST_ENUM(k) PC_AST_##k,
	PC_AST_KINDS(PC_AST_ENUM)
#undef PC_AST_ENUM
	PC_AST__COUNT
} pc_ast_kind;

/*
 * The operators of UNARY, BINARY and CMP_STEP nodes: the AST's own, not the
 * parser's token numbers (the parser's actions map tokens to these).  The
 * phases switch on them; pc_op_text() gives their source text.  Comparisons
 * (PC_OP_EQ .. PC_OP_GE) appear only in CMP_STEPs, PC_OP_NEG and PC_OP_NOT
 * only in UNARYs.  grep ORDER OP before changing the order: ast.c's text
 * table follows it.
 */
typedef enum pc_op {
	PC_OP_NONE,                                                /* not an operator node */
	PC_OP_ADD, PC_OP_SUB, PC_OP_MUL, PC_OP_DIV, PC_OP_MOD,     /* + - * / % */
	PC_OP_AND, PC_OP_OR,                                       /* && || */
	PC_OP_EQ, PC_OP_NE, PC_OP_LT, PC_OP_LE, PC_OP_GT, PC_OP_GE, /* == != < <= > >= */
	PC_OP_NEG, PC_OP_NOT,                                      /* prefix - ! */
	PC_OP__COUNT
} pc_op;

enum {
	PC_AF_MULTILINE = 1u << 0, /* the bracketed list or body spanned lines */
	PC_AF_TEXTBLOCK = 1u << 1, /* STRING written as """ ... """ */
	PC_AF_FILE = 1u << 2,      /* IMPORT of a "file.pipe" */
	PC_AF_STRKEY = 1u << 3,    /* ENTRY whose key was a quoted string */
	PC_AF_OPTIONAL = 1u << 4,  /* TYPE followed by '?' */
	PC_AF_NAMED = 1u << 5,     /* OUTPUTS as (name: T, ...) */
};

typedef struct pc_ast_list {
	pc_ast **items; /* arena */
	uint32_t n, cap;
} pc_ast_list;

struct pc_ast {
	uint16_t kind;     /* pc_ast_kind */
	uint16_t op;       /* pc_op for UNARY, BINARY, CMP_STEP (ERROR: see the table) */
	uint16_t flags;    /* PC_AF_* */
	uint16_t depth;    /* 1 + deepest child; bounded by PC_MAX_AST_DEPTH */
	pc_span span;
	uint32_t name_off; /* byte offset of NAME's token (declarations, params, lets) */
	const char *name;  /* interned identifier; text of STR_TEXT (not interned) */
	pc_ast *a, *b, *c; /* see the table above */
	pc_ast_list list;
	union {
		int64_t i;
		double f;
	} v;
};

const char *pc_ast_kind_name(pc_ast_kind k);
/* The source text of operator OP ("<="; "-" for PC_OP_NEG), "?" for none. */
const char *pc_op_text(int op);

pc_ast *pc_ast_new(pc_ctx *ctx, pc_ast_kind kind, pc_span span);
/* Sets the a/b/c slots and recomputes depth (reports E0202 when too deep). */
pc_ast *pc_ast_make(pc_ctx *ctx, pc_ast_kind kind, pc_span span, pc_ast *a, pc_ast *b,
		    pc_ast *c);
/* Sets N's a/b/c slots and folds their depth into N's. */
void pc_ast_set_children(pc_ctx *ctx, pc_ast *n, pc_ast *a, pc_ast *b, pc_ast *c);
void pc_ast_list_push(pc_ctx *ctx, pc_ast_list *l, pc_ast *item);
/* Attaches LIST to N (taking it) and folds the items' depth into N's. */
void pc_ast_set_list(pc_ctx *ctx, pc_ast *n, pc_ast_list *list);
/* The dotted text of a NAME/FIELD chain ("std.ml.split", interned), or NULL if E is anything else. */
const char *pc_ast_dotted(pc_ctx *ctx, const pc_ast *e);
/* The NAME at the root of a NAME/FIELD chain, or NULL. */
const pc_ast *pc_ast_root_name(const pc_ast *e);

#endif
