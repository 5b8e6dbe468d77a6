/*
 * sema.h - semantic analysis: types, modules and their symbols, the checker.
 *
 *   types.c    type representation, equality, assignability, display
 *   module.c   loading a module and what it imports; symbol tables
 *   resolve.c  declared types and signatures, resolved in their module
 *   check.c    names and types of every declaration, statement, expression
 *   suggest.c  "did you mean" for misspelt names
 *
 * Everything lives in the compilation arena and is freed with it.
 */
#ifndef PIPEC_SEMA_H
#define PIPEC_SEMA_H

#include "internal.h"

/* ---- a map from interned names to pointers ------------------------------- */

typedef struct pc_map {
	struct pc_map_slot {
		const char *key; /* interned; NULL = empty */
		void *value;
	} *slots;                /* malloc()ed */
	uint32_t cap, n;         /* cap is a power of two, or 0 */
} pc_map;

void *pc_map_get(const pc_map *m, const char *key);
/* Sets KEY; returns the previous value (NULL if none). */
void *pc_map_put(pc_map *m, const char *key, void *value);
void pc_map_free(pc_map *m);

/* ---- types --------------------------------------------------------------- */

typedef enum pc_type_kind {
	PC_T_ERROR,    /* an error was reported: compatible with everything */
	PC_T_UNIT,     /* no value (a stage without outputs) */
	PC_T_INT, PC_T_FLOAT, PC_T_BOOL, PC_T_STRING, PC_T_DURATION, PC_T_SIZE,
	PC_T_FILE, PC_T_DIR,
	PC_T_NONE,     /* the type of the literal none */
	PC_T_EMPTY,    /* the element type of [] */
	PC_T_LIST, PC_T_MAP, PC_T_OPTIONAL,
	PC_T_RECORD,   /* declared record, named outputs, or a record literal */
	PC_T_ENUM,
	PC_T_DISTINCT, /* type N = T */
	PC_T__COUNT
} pc_type_kind;

typedef struct pc_type pc_type;

typedef struct pc_field {
	const char *name;     /* interned */
	const pc_type *type;
	const pc_ast *node;   /* where it was declared or written */
} pc_field;

struct pc_type {
	pc_type_kind kind;
	const char *name;     /* RECORD, ENUM, DISTINCT: the declared name as users write it */
	const pc_type *elem;  /* LIST, MAP: element; OPTIONAL: inner; DISTINCT: base */
	pc_field *fields;     /* RECORD */
	uint32_t nfields;
	const char **members; /* ENUM, interned */
	uint32_t nmembers;
	const pc_ast *decl;   /* declaration, for "declared here" */
	uint8_t anon;         /* RECORD written as a literal: matches records by structure */
	uint8_t outputs;      /* RECORD: the named outputs of a stage or pipeline */
	const char *text;     /* pc_type_str's result, once computed (arena) */
};

const pc_type *pc_type_basic(pc_type_kind k);
/* A new type of kind K (a record, enum or distinct type) named NAME, declared at DECL; fields to fill in. */
pc_type *pc_type_new(pc_ctx *ctx, pc_type_kind k, const char *name, const pc_ast *decl);
const pc_type *pc_type_list(pc_ctx *ctx, const pc_type *elem);
const pc_type *pc_type_map(pc_ctx *ctx, const pc_type *value);
const pc_type *pc_type_optional(pc_ctx *ctx, const pc_type *inner);
int pc_type_equal(const pc_type *a, const pc_type *b);
/* Whether a value of type FROM may stand where TO is expected (Int -> Float,
 * T -> T?, none -> T?, a record literal -> a record with the same fields). */
int pc_type_assignable(const pc_type *to, const pc_type *from);
/* The type both A and B convert to (for list elements and if branches), or NULL. */
const pc_type *pc_type_join(pc_ctx *ctx, const pc_type *a, const pc_type *b);
/* Whether values of T have a text form (may be interpolated into a string). */
int pc_type_has_text(const pc_type *t);
/* T without distinct wrappers. */
const pc_type *pc_type_base(const pc_type *t);
/* Appends T as users write it ("List[Int]", "Stats", "{ a: Int }"). */
void pc_type_print(pc_buf *b, const pc_type *t);
/* T as text, in the arena (for messages). */
const char *pc_type_str(pc_ctx *ctx, const pc_type *t);
const pc_field *pc_type_field(const pc_type *t, const char *name);

/* ---- modules ------------------------------------------------------------- */

typedef enum pc_sym_kind {
	PC_SYM_STAGE, PC_SYM_PIPELINE, PC_SYM_TYPE, PC_SYM_RECORD, PC_SYM_ENUM, PC_SYM_IMPORT,
} pc_sym_kind;

typedef struct pc_module pc_module;

typedef struct pc_symbol {
	pc_sym_kind kind;
	const char *name;       /* interned */
	pc_ast *decl;           /* the declaration (IMPORT node for imports) */
	pc_module *owner;       /* module that declares it */
	pc_module *target;      /* IMPORT: the imported module (NULL if it failed) */
	const pc_type *type;    /* TYPE, RECORD, ENUM: the type, once resolved */
	int resolving;          /* cycle guard while resolving TYPE */
	int checked;            /* STAGE, PIPELINE: signature resolved */
	struct pc_sig *sig;     /* STAGE, PIPELINE: parameters and outputs */
} pc_symbol;

struct pc_module {
	const char *name;       /* "std.text", or the path as imported */
	const char *path;       /* the file */
	uint32_t file;          /* source index in ctx */
	pc_ast *ast;
	pc_map symbols;         /* interned name -> pc_symbol*; imports by their binding */
	int state;              /* 0 new, 1 being loaded (on the import stack), 2 loaded */
	int checked;
};

/* Parameters and outputs of a stage or pipeline, resolved. */
typedef struct pc_sig {
	uint32_t nparams;
	pc_field *params;       /* name, type, node (PARAM) */
	const pc_type *result;  /* UNIT, the single output's type, or an outputs RECORD */
} pc_sig;

typedef struct pc_sema pc_sema;

#endif
