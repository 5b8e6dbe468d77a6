/*
 * lower-plan.c - writing the plan (docs/plan.md).
 *
 * The plan is JSON with sorted keys, one line per task, so the same source
 * and parameters always give the same bytes.  It is written as it is
 * serialized, by a small writer (jw) that produces two forms at once: the
 * pretty one, to OUT, and the canonical one (compact, without `loc`, the
 * hash or `source.file`) fed to BLAKE2b-256 for the plan's content hash.
 * The hash is written as a placeholder and patched in at the end where OUT
 * can seek; to a pipe the plan is hashed in a first pass.
 *
 * For the runtime's cache, each parameter, task input and output whose
 * resolved type holds File or Dir says where they are in its value
 * ("files", below).
 */
#include "lower-internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char *type_name(lowerer *L, const pc_type *t)
{
	return pc_type_str(L->ctx, t);
}

/* ---- writing the plan ---------------------------------------------------------------
 *
 * The plan is written as it is serialized, twice: once compact, without
 * source locations, into the hash; then indented, with them and the hash,
 * to the output.  Keys are written in sorted order, so the bytes depend only
 * on the content.
 */

typedef struct jw {
	FILE *out;                            /* the pretty form, or NULL */
	pc_buf buf;                           /* pending pretty text */
	long written;                         /* pretty bytes flushed to OUT so far */
	crypto_generichash_state *hash;       /* the canonical form, or NULL */
	pc_buf cbuf;                          /* pending canonical text */
	int canon_off;                        /* > 0: what is written now is not canonical */
	int depth, after_key, error;
	int flat_below;                       /* pretty: no new lines deeper than this */
	uint8_t *first, *cfirst;              /* per depth: nothing written yet (pretty, canonical); malloc()ed */
	int cap;                              /* entries in first and cfirst */
	long hash_at;                         /* offset of the hash's placeholder in OUT, or -1 */
} jw;

static void jw_flush(jw *w, int force)
{
	if (w->out && (force || w->buf.len >= (1u << 16))) {
		if (w->buf.len && fwrite(w->buf.data, 1, w->buf.len, w->out) != w->buf.len)
			w->error = 1;
		w->written += (long)w->buf.len;
		w->buf.len = 0;
	}
	if (w->hash && (force || w->cbuf.len >= (1u << 16))) {
		crypto_generichash_update(w->hash, (const unsigned char *)w->cbuf.data, w->cbuf.len);
		w->cbuf.len = 0;
	}
}

static inline void put(pc_buf *b, const char *s, size_t n)
{
	if (b->len + n < b->cap) { /* the common case, inline */
		memcpy(b->data + b->len, s, n);
		b->len += n;
	} else {
		pc_buf_add(b, s, n);
	}
}

/* Text of both forms. */
static inline void emit(jw *w, const char *s, size_t n)
{
	if (w->out)
		put(&w->buf, s, n);
	if (w->hash && !w->canon_off)
		put(&w->cbuf, s, n);
}

/* Layout of the pretty form only. */
static inline void emit_pretty(jw *w, const char *s, size_t n)
{
	if (w->out)
		put(&w->buf, s, n);
}

static void jw_newline(jw *w)
{
	if (!w->out || w->depth > w->flat_below)
		return;
	pc_buf_addc(&w->buf, '\n');
	for (int i = 0; i < w->depth; i++)
		pc_buf_add(&w->buf, "  ", 2);
}

/* Before a value: a comma and a new line unless it follows a key or is first. */
static void jw_value(jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->depth == 0)
		return;
	if (!w->first[w->depth])
		emit_pretty(w, ",", 1);
	w->first[w->depth] = 0;
	if (w->hash && !w->canon_off) {
		if (!w->cfirst[w->depth])
			pc_buf_addc(&w->cbuf, ',');
		w->cfirst[w->depth] = 0;
	}
	jw_newline(w);
}

static void jw_open(jw *w, char c)
{
	jw_value(w);
	emit(w, &c, 1);
	w->depth++;
	if (w->depth >= w->cap) { /* values and types nest as deep as the program says */
		w->cap = w->cap ? 2 * w->cap : 64;
		w->first = pc_xrealloc(w->first, (size_t)w->cap);
		w->cfirst = pc_xrealloc(w->cfirst, (size_t)w->cap);
	}
	w->first[w->depth] = 1;
	w->cfirst[w->depth] = 1;
}

static void jw_close(jw *w, char c)
{
	int empty = w->first[w->depth];
	w->depth--;
	if (!empty && w->depth + 1 <= w->flat_below)
		jw_newline(w);
	emit(w, &c, 1);
	jw_flush(w, 0);
}

static void jw_strn(jw *w, const char *s, size_t n)
{
	emit(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		size_t run = i;
		while (run < n && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			emit(w, s + i, run - i);
			i = run;
			if (i == n)
				break;
		}
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		switch (c) {
		case '"': emit(w, "\\\"", 2); break;
		case '\\': emit(w, "\\\\", 2); break;
		case '\n': emit(w, "\\n", 2); break;
		case '\t': emit(w, "\\t", 2); break;
		case '\r': emit(w, "\\r", 2); break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", c);
			emit(w, esc, 6);
		}
	}
	emit(w, "\"", 1);
}

static void jw_key(jw *w, const char *k)
{
	jw_value(w);
	jw_strn(w, k, strlen(k));
	emit(w, ":", 1);
	if (w->depth <= w->flat_below)
		emit_pretty(w, " ", 1);
	w->after_key = 1;
}

static void jw_string(jw *w, const char *s)
{
	jw_value(w);
	jw_strn(w, s, strlen(s));
}

static void jw_int(jw *w, int64_t v)
{
	jw_value(w);
	char tmp[24], *p = tmp + sizeof tmp;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	emit(w, p, (size_t)(tmp + sizeof tmp - p));
}

static void jw_real(jw *w, double v)
{
	jw_value(w);
	char tmp[64];
	pc_format_double(v, tmp, sizeof tmp - 2);
	if (!strpbrk(tmp, ".eEni"))
		strcat(tmp, ".0");
	emit(w, tmp, strlen(tmp));
}

static void jw_lit(jw *w, const char *lit)
{
	jw_value(w);
	emit(w, lit, strlen(lit));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A jansson value, keys sorted; "loc" only in the pretty pass. */
static void jw_json(jw *w, json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(j), k = 0;
		const char **keys = pc_xmalloc((n + 1) * sizeof *keys);
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v) keys[k++] = key;
		qsort(keys, n, sizeof *keys, cmp_str);
		jw_open(w, '{');
		for (k = 0; k < n; k++) {
			int loc = strcmp(keys[k], "loc") == 0;
			w->canon_off += loc;
			jw_key(w, keys[k]);
			jw_json(w, json_object_get(j, keys[k]));
			w->canon_off -= loc;
		}
		jw_close(w, '}');
		free(keys);
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *v;
		jw_open(w, '[');
		json_array_foreach(j, i, v) jw_json(w, v);
		jw_close(w, ']');
		break;
	}
	case JSON_STRING: jw_value(w); jw_strn(w, json_string_value(j), json_string_length(j)); break;
	case JSON_INTEGER: jw_int(w, json_integer_value(j)); break;
	case JSON_REAL: jw_real(w, json_real_value(j)); break;
	case JSON_TRUE: jw_lit(w, "true"); break;
	case JSON_FALSE: jw_lit(w, "false"); break;
	default: jw_lit(w, "null"); break;
	}
}

/* Indices 0..n-1 ordered by KEYS (for writing records with sorted keys). */
static uint32_t *sorted_order(const char *const *keys, uint32_t n)
{
	uint32_t *o = pc_xmalloc((n + 1) * sizeof *o);
	for (uint32_t i = 0; i < n; i++)
		o[i] = i;
	for (uint32_t i = 1; i < n; i++) /* insertion sort: records are small */
		for (uint32_t j = i; j > 0 && strcmp(keys[o[j - 1]], keys[o[j]]) > 0; j--) {
			uint32_t t = o[j];
			o[j] = o[j - 1];
			o[j - 1] = t;
		}
	return o;
}

static void jw_lval(jw *w, const lval *v)
{
	switch (v->kind) {
	case LV_INT: jw_int(w, v->i); break;
	case LV_FLOAT: jw_real(w, v->f); break;
	case LV_BOOL: jw_lit(w, v->i ? "true" : "false"); break;
	case LV_STR: jw_value(w); jw_strn(w, v->s, v->n); break;
	case LV_ENUM: jw_string(w, v->s); break;
	case LV_NONE: jw_lit(w, "null"); break;
	case LV_REF:
		jw_open(w, '{');
		if (v->out) {
			jw_key(w, "output");
			jw_string(w, v->out);
		}
		jw_key(w, "ref");
		jw_string(w, v->s);
		jw_close(w, '}');
		break;
	case LV_LIST:
		jw_open(w, '[');
		for (uint32_t i = 0; i < v->count; i++)
			jw_lval(w, v->items[i]);
		jw_close(w, ']');
		break;
	case LV_REC: {
		uint32_t *o = sorted_order(v->keys, v->count);
		jw_open(w, '{');
		for (uint32_t i = 0; i < v->count; i++) {
			jw_key(w, v->keys[o[i]]);
			jw_lval(w, v->items[o[i]]);
		}
		jw_close(w, '}');
		free(o);
		break;
	}
	default: jw_json(w, v->rt); break;
	}
}

/* ---- where files are, for the runtime ------------------------------------------------
 *
 * A value holds files (whose content, not path, is the cache's business)
 * when its resolved type reaches File or Dir: through distinct types,
 * records, lists, maps and optionals, at any depth.  "files" describes
 * where: "file" | "dir" | {"list": S} | {"map": S} | {"optional": S} |
 * {"record": {FIELD: S, ...}} with only the fields that hold files, and
 * {"cycle": N} where a record holds itself (record Tree { f: File, kids:
 * List[Tree] }): the shape of the N-th record shape around it, 1 the
 * innermost.  It is written only for types that hold files.
 */

/* The record types being walked, innermost last (records may hold themselves). */
typedef struct type_path {
	const pc_type **t; /* malloc()ed */
	uint32_t n, cap;
} type_path;

static int on_path(const type_path *p, const pc_type *t)
{
	for (uint32_t i = 0; i < p->n; i++)
		if (p->t[i] == t)
			return 1;
	return 0;
}

static void path_push(type_path *p, const pc_type *t)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 8;
		p->t = pc_xrealloc(p->t, p->cap * sizeof *p->t);
	}
	p->t[p->n++] = t;
}

/* Whether T reaches File or Dir; SEEN holds the records visited (each once). */
static int reaches_files(const pc_type *t, type_path *seen)
{
	t = pc_type_base(t);
	switch (t->kind) {
	case PC_T_FILE: case PC_T_DIR:
		return 1;
	case PC_T_LIST: case PC_T_MAP: case PC_T_OPTIONAL:
		return reaches_files(t->elem, seen);
	case PC_T_RECORD:
		if (on_path(seen, t))
			return 0; /* visited: had it reached files, the walk would have stopped */
		path_push(seen, t);
		for (uint32_t i = 0; i < t->nfields; i++)
			if (reaches_files(t->fields[i].type, seen))
				return 1;
		return 0;
	default:
		return 0;
	}
}

static int holds_files(const pc_type *t)
{
	type_path seen = {0};
	int r = reaches_files(t, &seen);
	free(seen.t);
	return r;
}

static void jw_files_shape(jw *w, const pc_type *t, type_path *path)
{
	t = pc_type_base(t);
	switch (t->kind) {
	case PC_T_FILE: jw_string(w, "file"); break;
	case PC_T_DIR: jw_string(w, "dir"); break;
	case PC_T_LIST: case PC_T_MAP: case PC_T_OPTIONAL:
		jw_open(w, '{');
		jw_key(w, t->kind == PC_T_LIST ? "list" : t->kind == PC_T_MAP ? "map" : "optional");
		jw_files_shape(w, t->elem, path);
		jw_close(w, '}');
		break;
	case PC_T_RECORD: {
		jw_open(w, '{');
		if (on_path(path, t)) {
			uint32_t up = 1;
			while (path->t[path->n - up] != t)
				up++;
			jw_key(w, "cycle");
			jw_int(w, up);
			jw_close(w, '}');
			break;
		}
		const char **names = pc_xmalloc((t->nfields + 1) * sizeof *names);
		for (uint32_t k = 0; k < t->nfields; k++)
			names[k] = t->fields[k].name;
		uint32_t *o = sorted_order(names, t->nfields);
		path_push(path, t);
		jw_key(w, "record");
		jw_open(w, '{');
		for (uint32_t k = 0; k < t->nfields; k++)
			if (holds_files(t->fields[o[k]].type)) {
				jw_key(w, t->fields[o[k]].name);
				jw_files_shape(w, t->fields[o[k]].type, path);
			}
		jw_close(w, '}');
		path->n--;
		jw_close(w, '}');
		free(o);
		free(names);
		break;
	}
	default: PC_UNREACHABLE();
	}
}

/* The key "files" for a value of type T, when T holds files. */
static void jw_files(jw *w, const pc_type *t)
{
	if (!holds_files(t))
		return;
	type_path path = {0};
	jw_key(w, "files");
	jw_files_shape(w, t, &path);
	free(path.t);
}

/* An output's type: as declared, and the base the runtime checks ("Corpus" is a File). */
static void jw_type(jw *w, lowerer *L, const pc_type *t)
{
	jw_open(w, '{');
	jw_key(w, "base");
	jw_string(w, type_name(L, pc_type_base(t)));
	jw_files(w, t);
	jw_key(w, "type");
	jw_string(w, type_name(L, t));
	jw_close(w, '}');
}

static void jw_loc(jw *w, lowerer *L, const pc_ast *n)
{
	if (!w->out)
		return;
	w->canon_off++;
	const pc_source *s = L->ctx->files[n->span.file];
	uint32_t line, col;
	pc_source_linecol(s, n->span.start, &line, &col);
	jw_key(w, "loc");
	jw_open(w, '{');
	jw_key(w, "column");
	jw_int(w, col);
	jw_key(w, "file");
	jw_string(w, s->path);
	jw_key(w, "line");
	jw_int(w, line);
	jw_close(w, '}');
	w->canon_off--;
}

/* KEY: each parameter of SIG by name, {files, type, value} with its value in VALUES. */
static void jw_params(jw *w, lowerer *L, const char *key, const pc_sig *sig, lval **values)
{
	const char **names = pc_xmalloc((sig->nparams + 1) * sizeof *names);
	for (uint32_t k = 0; k < sig->nparams; k++)
		names[k] = sig->params[k].name;
	uint32_t *o = sorted_order(names, sig->nparams);
	jw_key(w, key);
	jw_open(w, '{');
	for (uint32_t k = 0; k < sig->nparams; k++) {
		jw_key(w, sig->params[o[k]].name);
		jw_open(w, '{');
		jw_files(w, sig->params[o[k]].type);
		jw_key(w, "type");
		jw_string(w, type_name(L, sig->params[o[k]].type));
		jw_key(w, "value");
		jw_lval(w, values[o[k]]);
		jw_close(w, '}');
	}
	jw_close(w, '}');
	free(o);
	free(names);
}

static void jw_task(jw *w, lowerer *L, const task *t)
{
	const pc_sig *sig = t->sig;
	jw_open(w, '{');
	jw_key(w, "after");
	jw_open(w, '[');
	if (t->after)
		for (size_t i = 0; i < json_array_size(t->after); i++)
			jw_json(w, json_array_get(t->after, i));
	jw_close(w, ']');
	jw_key(w, "cache");
	jw_lit(w, t->cache ? "true" : "false");
	jw_key(w, "checkpoint");
	jw_lit(w, t->checkpoint ? "true" : "false");
	if (t->checks) {
		jw_key(w, "checks");
		jw_json(w, t->checks);
	}
	jw_key(w, "command");
	if (t->command)
		jw_json(w, t->command);
	else
		jw_lit(w, "null");
	jw_key(w, "deps");
	jw_open(w, '[');
	for (uint32_t i = 0; i < t->ndeps; i++)
		jw_string(w, t->deps[i]);
	jw_close(w, ']');
	jw_key(w, "env");
	if (t->env)
		jw_lval(w, t->env);
	else {
		jw_open(w, '{');
		jw_close(w, '}');
	}
	if (t->fallback) {
		jw_key(w, "fallback_of");
		jw_json(w, t->fallback);
	}
	jw_key(w, "id");
	jw_string(w, t->id);
	jw_key(w, "image");
	if (t->image)
		jw_lval(w, t->image);
	else
		jw_lit(w, "null");
	jw_params(w, L, "inputs", sig, t->inputs);
	jw_loc(w, L, t->call);
	jw_key(w, "module");
	jw_string(w, t->module);
	jw_key(w, "outputs");
	jw_open(w, '{');
	const pc_type *r = sig->result;
	if (r->kind == PC_T_RECORD && r->outputs) {
		const char **on = pc_xmalloc((r->nfields + 1) * sizeof *on);
		for (uint32_t k = 0; k < r->nfields; k++)
			on[k] = r->fields[k].name;
		uint32_t *oo = sorted_order(on, r->nfields);
		for (uint32_t k = 0; k < r->nfields; k++) {
			jw_key(w, r->fields[oo[k]].name);
			jw_type(w, L, r->fields[oo[k]].type);
		}
		free(oo);
		free(on);
	} else if (r->kind != PC_T_UNIT) {
		jw_key(w, "out");
		jw_type(w, L, r);
	}
	jw_close(w, '}');
	jw_key(w, "priority");
	jw_int(w, t->priority);
	jw_key(w, "resources");
	if (t->resources)
		jw_lval(w, t->resources);
	else {
		jw_open(w, '{');
		jw_close(w, '}');
	}
	jw_key(w, "retry");
	jw_open(w, '{');
	jw_key(w, "attempts");
	jw_int(w, t->attempts);
	jw_key(w, "backoff_ns");
	jw_int(w, t->backoff_ns);
	jw_close(w, '}');
	jw_key(w, "sandbox");
	jw_open(w, '{');
	jw_key(w, "network");
	jw_lit(w, t->network ? "true" : "false");
	if (t->pids) {
		jw_key(w, "pids");
		jw_int(w, t->pids);
	}
	jw_close(w, '}');
	if (t->scatter) {
		jw_key(w, "scatter");
		jw_json(w, t->scatter);
	}
	jw_key(w, "stage");
	jw_string(w, t->stage);
	jw_key(w, "timeout_ns");
	if (t->timeout)
		jw_lval(w, t->timeout);
	else
		jw_lit(w, "null");
	if (t->when) {
		jw_key(w, "when");
		jw_json(w, t->when);
	}
	jw_close(w, '}');
}

typedef struct plan_top {
	const char *file, *pipeline, *hash;
	const pc_sig *sig;
	lval **params;
	lval *result;
} plan_top;

static void jw_plan(jw *w, lowerer *L, const plan_top *p)
{
	pc_buf_grow(&w->buf, 1u << 17);
	pc_buf_grow(&w->cbuf, 1u << 17);
	jw_open(w, '{');
	jw_key(w, "checks");
	jw_json(w, L->checks);
	if (w->out) {
		/* the hash, or a placeholder of its length patched at the end */
		w->canon_off++;
		jw_key(w, "hash");
		jw_value(w);
		emit(w, "\"", 1);
		if (!p->hash)
			w->hash_at = w->written + (long)w->buf.len;
		emit(w, p->hash ? p->hash : "blake2b-256:0000000000000000000000000000000000000000000000000000000000000000",
		     strlen("blake2b-256:") + 64);
		emit(w, "\"", 1);
		w->canon_off--;
	}
	const pc_sig *sig = p->sig;
	jw_params(w, L, "params", sig, p->params);
	jw_key(w, "pipec_plan");
	jw_int(w, PC_PLAN_VERSION);
	jw_key(w, "result");
	jw_lval(w, p->result);
	jw_key(w, "result_type");
	jw_string(w, type_name(L, sig->result));
	if (L->scatters) {
		jw_key(w, "scatters");
		jw_json(w, L->scatters);
	}
	jw_key(w, "source");
	jw_open(w, '{');
	w->canon_off++;
	jw_key(w, "file");
	jw_string(w, p->file);
	w->canon_off--;
	jw_key(w, "pipeline");
	jw_string(w, p->pipeline);
	jw_close(w, '}');
	jw_key(w, "tasks");
	jw_open(w, '[');
	for (uint32_t i = 0; i < L->ntasks; i++)
		jw_task(w, L, &L->tasks[i]);
	jw_close(w, ']');
	jw_close(w, '}');
	emit_pretty(w, "\n", 1);
	jw_flush(w, 1);
}

int pc_plan_write(lowerer *L, const char *file, const char *pipeline, const pc_sig *sig, lval **params,
		  lval *result, FILE *out, pc_buf *err)
{
	plan_top top = {file, pipeline, NULL, sig, params, result};
	int rc = 0;
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
	long start = ftell(out);
	int seekable = start >= 0 && fseek(out, start, SEEK_SET) == 0;
	jw w = {.out = out, .hash = &st, .flat_below = 2, .hash_at = -1};
	if (!seekable) {
		/* a pipe: hash first, then write with the hash known */
		jw hw = {.hash = &st};
		jw_plan(&hw, L, &top);
		pc_buf_free(&hw.buf);
		pc_buf_free(&hw.cbuf);
		free(hw.first);
		free(hw.cfirst);
		w.hash = NULL;
	}
	unsigned char h[crypto_generichash_BYTES];
	char hex[2 * sizeof h + 1];
	pc_buf hb = {0};
	if (!seekable) {
		crypto_generichash_final(&st, h, sizeof h);
		sodium_bin2hex(hex, sizeof hex, h, sizeof h);
		pc_buf_printf(&hb, "blake2b-256:%s", hex);
		top.hash = hb.data;
	}
	/* one line per task: readable, diffable, and half the size */
	jw_plan(&w, L, &top);
	if (seekable) {
		crypto_generichash_final(&st, h, sizeof h);
		sodium_bin2hex(hex, sizeof hex, h, sizeof h);
		long end = ftell(out);
		if (w.hash_at < 0 || fseek(out, start + w.hash_at + (long)strlen("blake2b-256:"), SEEK_SET) != 0 ||
		    fwrite(hex, 1, 64, out) != 64 || fseek(out, end, SEEK_SET) != 0)
			w.error = 1;
	}
	pc_buf_free(&w.buf);
	pc_buf_free(&w.cbuf);
	free(w.first);
	free(w.cfirst);
	pc_buf_free(&hb);
	if (w.error || fflush(out) != 0) {
		pc_buf_printf(err, "cannot write the plan: %s", strerror(errno));
		rc = 2;
	}
	return rc;
}
