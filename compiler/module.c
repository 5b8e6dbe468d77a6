/*
 * module.c - loading modules and the names they declare.
 *
 * A compilation loads one or more root files; each `import` loads another
 * module, once per file however often it is imported:
 *
 *   import std.text              -> <stdlib dir>/text.pipe, bound as std.text
 *   import std.text as t         -> the same, bound as t
 *   import "lib/x.pipe" as x     -> relative to the importing file, bound as x
 *   import "lib/x.pipe"          -> bound as x (the file's stem)
 *
 * The standard library is searched in the directories given by --stdlib,
 * then PIPEC_PATH, then the installed data directory (see the driver).
 * Modules are keyed by their real path; a module met again while it is
 * still on the import stack is an import cycle, reported with its path.
 *
 * Each module's symbol table maps a declared name (and each import's
 * binding) to a pc_symbol; module-level names may be used before their
 * declaration.  A name declared twice, or that shadows a built-in type, is
 * reported with a pointer to the first declaration.
 */
#include "sema-internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const builtin_types[] = {"Int", "Float", "Bool", "String", "Duration",
					    "Size", "File", "Dir", "List", "Map"};

int pc_is_builtin_type(const char *name)
{
	for (size_t i = 0; i < sizeof builtin_types / sizeof builtin_types[0]; i++)
		if (strcmp(builtin_types[i], name) == 0)
			return 1;
	return 0;
}

pc_sema *pc_sema_new(pc_ctx *ctx)
{
	pc_sema *S = pc_xcalloc(1, sizeof *S);
	S->ctx = ctx;
	return S;
}

void pc_sema_free(pc_sema *S)
{
	if (!S)
		return;
	for (size_t i = 0; i < S->nmodules; i++)
		pc_map_free(&S->modules[i]->symbols);
	free(S->modules);
	free(S->stack);
	free(S->stdlib);
	pc_map_free(&S->by_path);
	free(S);
}

void pc_sema_add_stdlib(pc_sema *S, const char *dir)
{
	S->stdlib = pc_xrealloc(S->stdlib, (S->nstdlib + 1) * sizeof *S->stdlib);
	S->stdlib[S->nstdlib++] = pc_arena_strndup(S->ctx->arena, dir, strlen(dir));
}

static pc_span name_span(const pc_module *m, const pc_ast *n)
{
	uint32_t len = n->name ? (uint32_t)strlen(n->name) : 0;
	if (n->kind == PC_AST_IMPORT)
		return n->span;
	return (pc_span){m->file, n->name_off, n->name_off + len};
}

pc_span pc_sema_name_span(const pc_module *m, const pc_ast *n)
{
	return name_span(m, n);
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directory part of PATH ("." if none), in the arena. */
static const char *dir_of(pc_ctx *ctx, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return ".";
	if (slash == path)
		return "/";
	return pc_arena_strndup(ctx->arena, path, (size_t)(slash - path));
}

static const char *stem_of(pc_ctx *ctx, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
	return pc_intern(ctx->names, base, n);
}

static void add_symbol(pc_sema *S, pc_module *m, pc_sym_kind kind, const char *name, pc_ast *decl,
		       pc_module *target)
{
	pc_ctx *ctx = S->ctx;
	if (kind != PC_SYM_IMPORT && pc_is_builtin_type(name)) {
		pc_diag_emit(ctx, PC_SEV_ERROR, "E0304", name_span(m, decl),
			     "'%s' is a built-in type and cannot be declared again", name);
		return;
	}
	pc_symbol *sym = pc_arena_alloc(ctx->arena, sizeof *sym);
	sym->kind = kind;
	sym->name = name;
	sym->decl = decl;
	sym->owner = m;
	sym->target = target;
	pc_symbol *old = pc_map_get(&m->symbols, name);
	if (old) {
		pc_diag *d = pc_diag_emit(ctx, PC_SEV_ERROR, "E0304", name_span(m, decl),
					  "'%s' is declared twice in this module", name);
		pc_diag_secondary(ctx, d, name_span(m, old->decl), "first declared here");
		return;
	}
	pc_map_put(&m->symbols, name, sym);
}

static pc_module *load(pc_sema *S, const char *path, const char *name, pc_module *from,
		       const pc_ast *import);

/* Resolves and loads the module an IMPORT node names. */
static void load_import(pc_sema *S, pc_module *m, pc_ast *imp)
{
	pc_ctx *ctx = S->ctx;
	const char *bind;
	pc_module *target = NULL;
	if (imp->flags & PC_AF_FILE) {
		const char *rel = imp->name;
		pc_buf p = {0};
		if (rel[0] != '/' && strcmp(dir_of(ctx, m->path), ".") != 0)
			pc_buf_printf(&p, "%s/", dir_of(ctx, m->path));
		pc_buf_adds(&p, rel);
		if (!rel[0]) {
			pc_diag_emit(ctx, PC_SEV_ERROR, "E0305", imp->span, "an import path cannot be empty");
		} else if (!is_file(p.data)) {
			pc_diag *d = pc_diag_emit(ctx, PC_SEV_ERROR, "E0305", imp->span,
						  "cannot import \"%s\": %s", rel,
						  errno == ENOENT || !errno ? "no such file" : strerror(errno));
			pc_diag_note(ctx, d, "file imports are relative to the importing file: looked for %s", p.data);
		} else {
			target = load(S, p.data, rel, m, imp);
		}
		pc_buf_free(&p);
		bind = imp->a ? imp->a->name : stem_of(ctx, rel);
	} else {
		const char *name = imp->name;
		bind = imp->a ? imp->a->name : name;
		if (strncmp(name, "std.", 4) != 0) {
			pc_diag *d = pc_diag_emit(ctx, PC_SEV_ERROR, "E0305", imp->span,
						  "no module '%s': only std.* modules come from the standard library", name);
			pc_buf file = {0};
			for (const char *c = name; *c; c++)
				pc_buf_addc(&file, *c == '.' ? '/' : *c);
			const char *last = strrchr(name, '.');
			pc_diag_note(ctx, d, "import a file with: import \"%s.pipe\" as %s", file.data,
				     last ? last + 1 : name);
			pc_buf_free(&file);
		} else {
			pc_buf rel = {0};
			for (const char *c = name + 4; *c; c++)
				pc_buf_addc(&rel, *c == '.' ? '/' : *c);
			pc_buf_adds(&rel, ".pipe");
			pc_buf tried = {0};
			int found = 0;
			for (size_t i = 0; i < S->nstdlib && !found; i++) {
				pc_buf p = {0};
				pc_buf_printf(&p, "%s/%s", S->stdlib[i], rel.data);
				if (is_file(p.data)) {
					found = 1;
					target = load(S, p.data, name, m, imp);
				} else {
					pc_buf_printf(&tried, "%s%s", tried.len ? ", " : "", p.data);
				}
				pc_buf_free(&p);
			}
			if (!found && !S->nstdlib) {
				pc_diag_emit(ctx, PC_SEV_ERROR, "E0305", imp->span,
					     "no standard library directory to find '%s' in (use --stdlib DIR)", name);
			} else if (!found) {
				pc_diag *d = pc_diag_emit(ctx, PC_SEV_ERROR, "E0305", imp->span,
							  "no module '%s' in the standard library", name);
				pc_diag_note(ctx, d, "looked for %s", tried.data);
				pc_diag_note(ctx, d, "--stdlib DIR or PIPEC_PATH add directories to search");
			}
			pc_buf_free(&rel);
			pc_buf_free(&tried);
		}
	}
	add_symbol(S, m, PC_SYM_IMPORT, bind, imp, target);
}

static pc_module *load(pc_sema *S, const char *path, const char *name, pc_module *from,
		       const pc_ast *import)
{
	pc_ctx *ctx = S->ctx;
	char real[PATH_MAX];
	const char *key = realpath(path, real) ? real : path;
	const char *ikey = pc_intern(ctx->names, key, strlen(key));
	pc_module *m = pc_map_get(&S->by_path, ikey);
	if (m) {
		if (m->state == 1) {
			pc_buf cyc = {0};
			size_t start = 0;
			while (start < S->depth && S->stack[start] != m)
				start++;
			for (size_t i = start; i < S->depth; i++)
				pc_buf_printf(&cyc, "%s -> ", S->stack[i]->name);
			pc_buf_adds(&cyc, m->name);
			pc_diag *d = pc_diag_emit(ctx, PC_SEV_ERROR, "E0306", import->span,
						  "import cycle: %s", cyc.data);
			pc_diag_note(ctx, d, "modules cannot import each other; move what both need into a third module");
			pc_buf_free(&cyc);
			return NULL;
		}
		return m;
	}
	pc_ast *ast = pc_parse_file(ctx, path);
	if (!ast) {
		if (from)
			pc_diag_emit(ctx, PC_SEV_ERROR, "E0305", import->span, "cannot read module %s: %s", path,
				     strerror(errno));
		return NULL;
	}
	m = pc_arena_alloc(ctx->arena, sizeof *m);
	m->name = pc_arena_strndup(ctx->arena, name, strlen(name));
	m->path = pc_arena_strndup(ctx->arena, path, strlen(path));
	m->file = ast->span.file;
	m->ast = ast;
	m->state = 1;
	pc_map_put(&S->by_path, ikey, m);
	S->modules = pc_xrealloc(S->modules, (S->nmodules + 1) * sizeof *S->modules);
	S->modules[S->nmodules++] = m;
	S->stack = pc_xrealloc(S->stack, (S->depth + 1) * sizeof *S->stack);
	S->stack[S->depth++] = m;

	for (uint32_t i = 0; i < ast->list.n; i++) {
		pc_ast *d = ast->list.items[i];
		switch (d->kind) {
		case PC_AST_IMPORT: load_import(S, m, d); break;
		case PC_AST_STAGE: add_symbol(S, m, PC_SYM_STAGE, d->name, d, NULL); break;
		case PC_AST_PIPELINE: add_symbol(S, m, PC_SYM_PIPELINE, d->name, d, NULL); break;
		case PC_AST_TYPE_DECL: add_symbol(S, m, PC_SYM_TYPE, d->name, d, NULL); break;
		case PC_AST_RECORD_DECL: add_symbol(S, m, PC_SYM_RECORD, d->name, d, NULL); break;
		case PC_AST_ENUM_DECL: add_symbol(S, m, PC_SYM_ENUM, d->name, d, NULL); break;
		default: break;
		}
	}
	S->depth--;
	m->state = 2;
	return m;
}

pc_module *pc_sema_load(pc_sema *S, const char *path)
{
	return load(S, path, path, NULL, NULL);
}
