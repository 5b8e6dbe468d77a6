/*
 * lower-value.c - the values of lowering (pc_lv_*) and their text forms.
 *
 * A value (lval) is what an expression of the entry pipeline evaluates to
 * at build time: a constant (Int with its unit, Float, Bool, String, enum
 * member, none, list, record or map), a reference to a task's outputs
 * (LV_REF), or a run-time expression (LV_RT: JSON the runtime evaluates,
 * docs/plan.md "Values").  A list or record is constant only when all it
 * holds is.  Text forms are those of the language (docs/language.md "Text
 * forms"): Durations in seconds, Floats in their shortest exact text.
 */
#include "lower-internal.h"

#include <inttypes.h>
#include <string.h>

/* ---- values ---------------------------------------------------------------- */

lval *pc_lv_new(lowerer *L, int kind)
{
	lval *v = pc_arena_alloc(L->ctx->arena, sizeof *v);
	v->kind = (uint8_t)kind;
	return v;
}

lval *pc_lv_int(lowerer *L, int64_t i, int unit)
{
	lval *v = pc_lv_new(L, LV_INT);
	v->i = i;
	v->unit = (uint8_t)unit;
	return v;
}

lval *pc_lv_float(lowerer *L, double f)
{
	lval *v = pc_lv_new(L, LV_FLOAT);
	v->f = f;
	return v;
}

lval *pc_lv_bool(lowerer *L, int b)
{
	lval *v = pc_lv_new(L, LV_BOOL);
	v->i = b != 0;
	return v;
}

lval *pc_lv_str(lowerer *L, const char *s, size_t n)
{
	lval *v = pc_lv_new(L, LV_STR);
	v->s = pc_arena_strndup(L->ctx->arena, s, n);
	v->n = (uint32_t)n;
	return v;
}

/* A run-time expression; takes the reference to J. */
lval *pc_lv_rt(lowerer *L, json_t *j)
{
	lval *v = pc_lv_new(L, LV_RT);
	json_array_append_new(L->pool, j);
	v->rt = j;
	return v;
}

lval *pc_lv_list(lowerer *L, uint32_t n)
{
	lval *v = pc_lv_new(L, LV_LIST);
	v->items = pc_arena_alloc(L->ctx->arena, (n + 1) * sizeof *v->items);
	v->count = n;
	return v;
}

int pc_lv_is_const(const lval *v)
{
	if (v->kind == LV_RT || v->kind == LV_REF)
		return 0;
	for (uint32_t i = 0; i < v->count; i++)
		if (!pc_lv_is_const(v->items[i]))
			return 0;
	return 1;
}

/* The JSON of a value: constants as JSON, run-time expressions as they are. New reference. */
json_t *pc_lv_json(const lval *v)
{
	switch (v->kind) {
	case LV_INT: return json_integer(v->i);
	case LV_FLOAT: return json_real(v->f);
	case LV_BOOL: return json_boolean(v->i);
	case LV_STR: {
		json_t *s = json_stringn(v->s, v->n);
		return s ? s : json_string("");
	}
	case LV_ENUM: return json_string(v->s);
	case LV_NONE: return json_null();
	case LV_REF: {
		json_t *o = json_object();
		json_object_set_new(o, "ref", json_string(v->s));
		if (v->out)
			json_object_set_new(o, "output", json_string(v->out));
		return o;
	}
	case LV_LIST: {
		json_t *a = json_array();
		for (uint32_t i = 0; i < v->count; i++)
			json_array_append_new(a, pc_lv_json(v->items[i]));
		return a;
	}
	case LV_REC: {
		json_t *o = json_object();
		for (uint32_t i = 0; i < v->count; i++)
			json_object_set_new(o, v->keys[i], pc_lv_json(v->items[i]));
		return o;
	}
	default:
		return json_incref(v->rt);
	}
}

/* A value as a run-time operand: constants become {"const": ...}; a list or
 * record holding run-time values is a value the runtime evaluates item by item. */
json_t *pc_lv_operand(const lval *v)
{
	if (v->kind == LV_RT)
		return json_incref(v->rt);
	if (!pc_lv_is_const(v))
		return pc_lv_json(v);
	json_t *o = json_object();
	json_object_set_new(o, "const", pc_lv_json(v));
	return o;
}

lval *pc_lv_rt_op(lowerer *L, const char *op, const lval *a, const lval *b)
{
	json_t *args = json_array();
	json_array_append_new(args, pc_lv_operand(a));
	if (b)
		json_array_append_new(args, pc_lv_operand(b));
	json_t *j = json_object();
	json_object_set_new(j, "op", json_string(op));
	json_object_set_new(j, "args", args);
	return pc_lv_rt(L, j);
}

lval *pc_lv_enum(lowerer *L, const char *member)
{
	lval *v = pc_lv_new(L, LV_ENUM);
	v->s = member;
	return v;
}

/* ---- text forms, for commands --------------------------------------------------- */

void pc_lv_text(pc_buf *b, const lval *v)
{
	switch (v->kind) {
	case LV_INT:
		if (v->unit == U_DURATION) {
			/* seconds, the unit commands take */
			if (v->i % 1000000000 == 0)
				pc_buf_printf(b, "%" PRId64, v->i / 1000000000);
			else
				pc_buf_printf(b, "%.9g", (double)v->i / 1e9);
		} else {
			pc_buf_printf(b, "%" PRId64, v->i);
		}
		break;
	case LV_FLOAT: {
		char tmp[32];
		pc_format_double(v->f, tmp, sizeof tmp);
		pc_buf_adds(b, tmp);
		break;
	}
	case LV_BOOL: pc_buf_adds(b, v->i ? "true" : "false"); break;
	case LV_STR: pc_buf_add(b, v->s, v->n); break;
	case LV_ENUM: pc_buf_adds(b, v->s); break;
	case LV_NONE: break;
	default: break;
	}
}

/* Appends S quoted for /bin/sh, unless it needs no quotes. */
void pc_lv_shell_quote(pc_buf *b, const char *s, size_t n)
{
	int plain = n > 0;
	for (size_t i = 0; i < n && plain; i++) {
		unsigned char c = (unsigned char)s[i];
		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			strchr("_-./:=@%+,", c);
	}
	if (plain) {
		pc_buf_add(b, s, n);
		return;
	}
	pc_buf_addc(b, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			pc_buf_adds(b, "'\\''");
		else
			pc_buf_addc(b, s[i]);
	}
	pc_buf_addc(b, '\'');
}
