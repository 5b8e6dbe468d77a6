/*
 * sema-internal.h - what module.c and check.c share.
 */
#ifndef PIPEC_SEMA_INTERNAL_H
#define PIPEC_SEMA_INTERNAL_H

#include "sema.h"

struct pc_sema {
	pc_ctx *ctx;
	const char **stdlib;    /* directories searched for std.* modules, in order */
	size_t nstdlib;
	pc_module **modules;    /* every module loaded, in load order */
	size_t nmodules;
	pc_map by_path;         /* interned real path -> pc_module */
	pc_module **stack;      /* modules being loaded (import cycle detection) */
	size_t depth;
};

pc_sema *pc_sema_new(pc_ctx *ctx);
void pc_sema_free(pc_sema *S);
void pc_sema_add_stdlib(pc_sema *S, const char *dir);
/* Loads a root file and what it imports; NULL with errno if it cannot be read. */
pc_module *pc_sema_load(pc_sema *S, const char *path);
/* Checks every loaded module not yet checked. */
void pc_sema_check(pc_sema *S);
/* The span of a declaration's name. */
pc_span pc_sema_name_span(const pc_module *m, const pc_ast *n);
int pc_is_builtin_type(const char *name);

/* ---- resolve.c: declared types and signatures ----------------------------- */

/*
 * The module-level symbol DOTTED names from module M ("x", "alias.x",
 * "std.text.x"), or NULL.  *BROKEN (when BROKEN is not NULL) is set when
 * the name goes through an import that failed (already reported).
 */
pc_symbol *pc_resolve_symbol(pc_sema *S, pc_module *m, const char *dotted, int *broken);
/* The type a type, record or enum symbol declares (resolved once; errors reported). */
const pc_type *pc_resolve_symbol_type(pc_sema *S, pc_symbol *sym);
/* The type the TYPE node T denotes in module M (PC_T_ERROR, reported, when it names none). */
const pc_type *pc_resolve_type(pc_sema *S, pc_module *m, const pc_ast *t);
/* The basic type named NAME ("Int", "File", ...), or NULL. */
const pc_type *pc_resolve_basic(const char *name);
/* The resolved signature of a stage or pipeline symbol (once; errors reported). */
pc_sig *pc_resolve_sig(pc_sema *S, pc_symbol *sym);

/* ---- suggest.c: "did you mean" -------------------------------------------- */

enum { PC_WANT_VALUE = 1, PC_WANT_TYPE = 2, PC_WANT_CALLABLE = 4 };

typedef struct pc_suggest {
	const char *want;       /* the name written */
	const char *name;       /* the nearest candidate so far, or NULL */
	int dist;               /* its edit distance (start at 99) */
} pc_suggest;

/* Offers CAND (may be NULL) for S->want. */
void pc_suggest_consider(pc_suggest *s, const char *cand);
/* Offers the symbols of module M that WANT (PC_WANT_*) asks for, then the
 * basic type names when it asks for types. */
void pc_suggest_symbols(pc_suggest *s, const pc_module *m, int want);
/* Adds "did you mean 'X'?" to D when S found a candidate (D may be NULL). */
void pc_suggest_note(pc_ctx *ctx, pc_diag *d, const pc_suggest *s);

#endif
