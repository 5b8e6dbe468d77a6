/*
 * lower-param.c - the entry pipeline's parameters from the command line.
 *
 * `-p name=value` is parsed by the parameter's type: scalars as literals
 * of the language (lexed and parsed as in a .pipe file), Strings, Files and
 * Dirs as they are, enum members by name, `none` for an optional, and
 * Lists, Maps and records as JSON.  A File or Dir, anywhere in the value,
 * is made absolute against the caller's directory (tasks run in
 * directories of their own) and must exist as a regular file or a
 * directory.  Every problem is one line naming the parameter (exit 2).
 */
#include "lower-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static lval *from_json(lowerer *L, json_t *j, const pc_type *t, pc_buf *why);

/* A parameter's value from its text on the command line (-p name=value). */
static lval *parse_param(lowerer *L, const char *text, const pc_type *t, pc_buf *why)
{
	const pc_type *b = pc_type_base(t);
	if (t->kind == PC_T_OPTIONAL) {
		if (strcmp(text, "none") == 0)
			return pc_lv_new(L, LV_NONE);
		return parse_param(L, text, t->elem, why);
	}
	switch (b->kind) {
	case PC_T_STRING: case PC_T_FILE: case PC_T_DIR:
		return pc_lv_str(L, text, strlen(text));
	case PC_T_INT: case PC_T_FLOAT: case PC_T_BOOL: case PC_T_SIZE: case PC_T_DURATION: {
		/* the literal, lexed as in a .pipe file */
		pc_ctx *tmp = pc_ctx_new();
		pc_buf src = {0};
		pc_buf_printf(&src, "pipeline p() { return %s }\n", text);
		pc_ast *m = pc_parse_buffer(tmp, "-p", src.data, src.len);
		pc_buf_free(&src);
		lval *v = NULL;
		if (!pc_error_count(tmp) && m->list.n == 1 && m->list.items[0]->c->list.n == 1) {
			pc_ast *e = m->list.items[0]->c->list.items[0]->a; /* NULL for an empty value */
			int neg = 0;
			if (e && e->kind == PC_AST_UNARY && e->op == PC_OP_NEG)
				neg = 1, e = e->a;
			int want = b->kind == PC_T_INT ? PC_AST_INT : b->kind == PC_T_FLOAT ? PC_AST_FLOAT
				   : b->kind == PC_T_BOOL ? PC_AST_BOOL : b->kind == PC_T_SIZE ? PC_AST_SIZE : PC_AST_DURATION;
			if (!e)
				;
			else if (e->kind == want || (want == PC_AST_FLOAT && e->kind == PC_AST_INT)) {
				if (want == PC_AST_FLOAT)
					v = pc_lv_float(L, e->kind == PC_AST_INT ? (double)e->v.i : e->v.f);
				else if (want == PC_AST_BOOL)
					v = neg ? NULL : pc_lv_bool(L, (int)e->v.i);
				else
					v = pc_lv_int(L, e->v.i, want == PC_AST_SIZE ? U_SIZE : want == PC_AST_DURATION ? U_DURATION : U_INT);
				if (v && neg) {
					if (v->kind == LV_FLOAT)
						v->f = -v->f;
					else
						v->i = -v->i;
				}
			}
		}
		pc_ctx_free(tmp);
		if (!v)
			pc_buf_printf(why, "%s", b->kind == PC_T_INT ? "an Int, such as 42" : b->kind == PC_T_FLOAT ? "a Float, such as 0.5"
						 : b->kind == PC_T_BOOL ? "true or false" : b->kind == PC_T_SIZE ? "a Size, such as 4GiB"
						 : "a Duration, such as 30m");
		return v;
	}
	case PC_T_ENUM:
		for (uint32_t i = 0; i < b->nmembers; i++)
			if (strcmp(b->members[i], text) == 0)
				return pc_lv_enum(L, b->members[i]);
		pc_buf_printf(why, "one of ");
		for (uint32_t i = 0; i < b->nmembers; i++)
			pc_buf_printf(why, "%s%s", i ? ", " : "", b->members[i]);
		return NULL;
	default: {
		json_error_t err;
		json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
		if (!j) {
			pc_buf_printf(why, "%s written as JSON (%s)", pc_type_str(L->ctx, t), err.text);
			return NULL;
		}
		lval *v = from_json(L, j, t, why);
		json_decref(j);
		return v;
	}
	}
}

static lval *from_json(lowerer *L, json_t *j, const pc_type *t, pc_buf *why)
{
	const pc_type *b = pc_type_base(t);
	if (t->kind == PC_T_OPTIONAL) {
		if (json_is_null(j))
			return pc_lv_new(L, LV_NONE);
		return from_json(L, j, t->elem, why);
	}
	switch (b->kind) {
	case PC_T_INT:
		if (json_is_integer(j))
			return pc_lv_int(L, json_integer_value(j), U_INT);
		break;
	case PC_T_FLOAT:
		if (json_is_number(j))
			return pc_lv_float(L, json_number_value(j));
		break;
	case PC_T_BOOL:
		if (json_is_boolean(j))
			return pc_lv_bool(L, json_is_true(j));
		break;
	case PC_T_STRING: case PC_T_FILE: case PC_T_DIR: case PC_T_SIZE: case PC_T_DURATION: case PC_T_ENUM:
		if (json_is_string(j))
			return parse_param(L, json_string_value(j), b, why);
		if (json_is_integer(j) && (b->kind == PC_T_SIZE || b->kind == PC_T_DURATION))
			return pc_lv_int(L, json_integer_value(j), b->kind == PC_T_SIZE ? U_SIZE : U_DURATION);
		break;
	case PC_T_LIST:
		if (json_is_array(j)) {
			lval *v = pc_lv_list(L, (uint32_t)json_array_size(j));
			for (size_t i = 0; i < json_array_size(j); i++) {
				v->items[i] = from_json(L, json_array_get(j, i), b->elem, why);
				if (!v->items[i])
					return NULL;
			}
			return v;
		}
		break;
	case PC_T_MAP: case PC_T_RECORD:
		if (json_is_object(j)) {
			lval *v = pc_lv_new(L, LV_REC);
			size_t n = json_object_size(j);
			v->items = pc_arena_alloc(L->ctx->arena, (n + 1) * sizeof *v->items);
			v->keys = pc_arena_alloc(L->ctx->arena, (n + 1) * sizeof *v->keys);
			if (b->kind == PC_T_RECORD) {
				for (uint32_t i = 0; i < b->nfields; i++) {
					json_t *f = json_object_get(j, b->fields[i].name);
					if (!f) {
						pc_buf_printf(why, "%s with the field '%s'", pc_type_str(L->ctx, t), b->fields[i].name);
						return NULL;
					}
					v->keys[v->count] = b->fields[i].name;
					v->items[v->count] = from_json(L, f, b->fields[i].type, why);
					if (!v->items[v->count++])
						return NULL;
				}
				if (json_object_size(j) != b->nfields) {
					pc_buf_printf(why, "%s with only its fields", pc_type_str(L->ctx, t));
					return NULL;
				}
				return v;
			}
			const char *k;
			json_t *val;
			json_object_foreach(j, k, val) {
				v->keys[v->count] = pc_arena_strndup(L->ctx->arena, k, strlen(k));
				v->items[v->count] = from_json(L, val, b->elem, why);
				if (!v->items[v->count++])
					return NULL;
			}
			return v;
		}
		break;
	default:
		break;
	}
	if (!why->len)
		pc_buf_printf(why, "%s", pc_type_str(L->ctx, t));
	return NULL;
}

/*
 * Makes the File and Dir paths in V, a parameter's value of type T, absolute
 * against the caller's directory CWD (a task runs in a directory of its
 * own), and checks that each exists and is a regular file (File) or a
 * directory (Dir), through distinct types, records, lists, maps and
 * optionals, following the value (so a recursive record ends where its
 * value does).  WHERE is the path of V in the parameter ("ls[1].reads").
 * Returns 0, or -1 with the reason in WHY.
 */
static int resolve_paths(lowerer *L, const pc_type *t, lval *v, const char *cwd, pc_buf *where, pc_buf *why)
{
	if (t->kind == PC_T_OPTIONAL) {
		if (v->kind == LV_NONE)
			return 0;
		return resolve_paths(L, t->elem, v, cwd, where, why);
	}
	const pc_type *b = pc_type_base(t);
	size_t mark = where->len;
	int rc = 0;
	switch (b->kind) {
	case PC_T_FILE: case PC_T_DIR: {
		if (v->kind != LV_STR)
			return 0;
		int dir = b->kind == PC_T_DIR;
		pc_buf abs = {0};
		if (v->n && v->s[0] == '/') {
			pc_buf_add(&abs, v->s, v->n);
		} else {
			/* CWD, then the path's components without "." and empty ones */
			pc_buf_adds(&abs, cwd);
			const char *p = v->s, *end = v->s + v->n;
			while (p < end) {
				const char *q = memchr(p, '/', (size_t)(end - p));
				if (!q)
					q = end;
				if (q - p && !(q - p == 1 && *p == '.')) {
					if (!abs.len || abs.data[abs.len - 1] != '/')
						pc_buf_addc(&abs, '/');
					pc_buf_add(&abs, p, (size_t)(q - p));
				}
				p = q + 1;
			}
		}
		struct stat st;
		const char *bad = NULL;
		if (stat(abs.data, &st) != 0)
			bad = errno == ENOENT || errno == ENOTDIR ? (dir ? "no such directory" : "no such file") : strerror(errno);
		else if (dir && !S_ISDIR(st.st_mode))
			bad = "not a directory";
		else if (!dir && !S_ISREG(st.st_mode))
			bad = "not a regular file";
		if (bad) {
			if (strchr(where->data, '.') || strchr(where->data, '['))
				pc_buf_printf(why, "%s: ", where->data);
			pc_buf_printf(why, "%s: %.*s", bad, (int)v->n, v->s);
			if (strcmp(abs.data, v->s) != 0)
				pc_buf_printf(why, " (%s)", abs.data);
			rc = -1;
		} else {
			v->s = pc_arena_strndup(L->ctx->arena, abs.data, abs.len);
			v->n = (uint32_t)abs.len;
		}
		pc_buf_free(&abs);
		return rc;
	}
	case PC_T_LIST:
		if (v->kind != LV_LIST)
			return 0;
		for (uint32_t i = 0; i < v->count && rc == 0; i++) {
			pc_buf_printf(where, "[%" PRIu32 "]", i);
			rc = resolve_paths(L, b->elem, v->items[i], cwd, where, why);
			where->len = mark;
			where->data[mark] = 0;
		}
		return rc;
	case PC_T_MAP: case PC_T_RECORD:
		if (v->kind != LV_REC)
			return 0;
		for (uint32_t i = 0; i < v->count && rc == 0; i++) {
			const pc_field *f = b->kind == PC_T_RECORD ? pc_type_field(b, v->keys[i]) : NULL;
			if (b->kind == PC_T_RECORD && !f)
				continue;
			if (f)
				pc_buf_printf(where, ".%s", v->keys[i]);
			else
				pc_buf_printf(where, "[\"%s\"]", v->keys[i]);
			rc = resolve_paths(L, f ? f->type : b->elem, v->items[i], cwd, where, why);
			where->len = mark;
			where->data[mark] = 0;
		}
		return rc;
	default:
		return 0;
	}
}

int pc_param_read(lowerer *L, const pc_sig *sig, const char *pipeline, const char *const *params,
		  size_t nparams, lval **vals, pc_buf *err)
{
	pc_ctx *ctx = L->ctx;
	int rc = 0;
	char *cwd = NULL; /* the caller's directory, for relative File and Dir values */
	for (size_t i = 0; i < nparams; i++) {
		const char *eq = strchr(params[i], '=');
		if (!eq) {
			pc_buf_printf(err, "-p %s: write -p name=value", params[i]);
			rc = 2;
			break;
		}
		const char *name = pc_intern(ctx->names, params[i], (size_t)(eq - params[i]));
		uint32_t k = 0;
		while (k < sig->nparams && sig->params[k].name != name)
			k++;
		if (k == sig->nparams) {
			pc_buf_printf(err, "-p %s: pipeline '%s' has no parameter '%s'", params[i], pipeline, name);
			if (sig->nparams) {
				pc_buf_adds(err, " (its parameters: ");
				for (uint32_t j = 0; j < sig->nparams; j++)
					pc_buf_printf(err, "%s%s: %s", j ? ", " : "", sig->params[j].name,
						      pc_type_str(ctx, sig->params[j].type));
				pc_buf_adds(err, ")");
			}
			rc = 2;
			break;
		}
		pc_buf why = {0};
		vals[k] = parse_param(L, eq + 1, sig->params[k].type, &why);
		if (!vals[k]) {
			pc_buf_printf(err, "-p %s: '%s' is not %s", name, eq + 1, why.data ? why.data : "valid");
			pc_buf_free(&why);
			rc = 2;
			break;
		}
		pc_buf_free(&why);
		if (!cwd) {
			cwd = getcwd(NULL, 0);
			if (!cwd) {
				pc_buf_printf(err, "-p %s: cannot know the current directory: %s", name, strerror(errno));
				rc = 2;
				break;
			}
		}
		pc_buf where = {0};
		pc_buf_adds(&where, name);
		if (resolve_paths(L, sig->params[k].type, vals[k], cwd, &where, &why) != 0) {
			pc_buf_printf(err, "-p %s: %s", name, why.data);
			rc = 2;
		}
		pc_buf_free(&where);
		pc_buf_free(&why);
		if (rc)
			break;
	}
	free(cwd);
	return rc;
}
