/*
 * suggest.c - "did you mean" for misspelt names.
 *
 * A suggestion is the candidate nearest to the name written, by edit
 * distance: at most 1 for names of up to 3 characters, 2 for longer ones
 * (names over 32 characters are not compared).  The caller offers the
 * candidates (names in scope, the module's symbols, the basic types, the
 * built-in functions, fields, members...) and a later one wins only when
 * strictly nearer, so the first of equally near candidates is kept.
 */
#include "sema-internal.h"

#include <string.h>

static int distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > 32 || m > 32)
		return 99;
	int d[33][33];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			d[i][j] = c;
		}
	return d[n][m];
}

void pc_suggest_consider(pc_suggest *s, const char *cand)
{
	if (!cand || strcmp(cand, s->want) == 0)
		return;
	int d = distance(s->want, cand);
	int limit = strlen(s->want) <= 3 ? 1 : 2;
	if (d <= limit && d < s->dist) {
		s->dist = d;
		s->name = cand;
	}
}

void pc_suggest_symbols(pc_suggest *s, const pc_module *m, int want)
{
	const pc_map *syms = &m->symbols;
	for (uint32_t i = 0; i < syms->cap; i++) {
		pc_symbol *sym = syms->slots[i].value;
		if (!syms->slots[i].key)
			continue;
		int is_type = sym->kind == PC_SYM_TYPE || sym->kind == PC_SYM_RECORD || sym->kind == PC_SYM_ENUM;
		int is_call = sym->kind == PC_SYM_STAGE || sym->kind == PC_SYM_PIPELINE;
		if (((want & PC_WANT_TYPE) && is_type) || ((want & PC_WANT_CALLABLE) && (is_call || is_type)) ||
		    ((want & PC_WANT_VALUE) && sym->kind == PC_SYM_ENUM))
			pc_suggest_consider(s, sym->name);
	}
	static const char *const types[] = {"Int", "Float", "Bool", "String", "Duration",
					    "Size", "File", "Dir", "List", "Map"};
	if (want & PC_WANT_TYPE)
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			pc_suggest_consider(s, types[i]);
}

void pc_suggest_note(pc_ctx *ctx, pc_diag *d, const pc_suggest *s)
{
	if (s->name && d)
		pc_diag_note(ctx, d, "did you mean '%s'?", s->name);
}
