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
/* The module-level symbol DOTTED names from module M ("x", "alias.x"), or NULL. */
pc_symbol *pc_sema_lookup(pc_sema *S, pc_module *m, const char *dotted);
/* The resolved signature of a stage or pipeline symbol. */
pc_sig *pc_sema_sig(pc_sema *S, pc_symbol *sym);
/* The type a type, record or enum symbol declares. */
const pc_type *pc_sema_symbol_type(pc_sema *S, pc_symbol *sym);

#endif
