/*
 * text.c - values as text: as JSON, the way the store and the reports keep
 * them (compact, keys sorted, each Float the shortest text that reads back
 * to the same double — pc_format_double(): 0.1, where jansson writes
 * 0.10000000000000001; a value without Floats is jansson's own output);
 * and as a word of a shell command, quoted (the engine renders commands
 * with it, the local executor the scripts that run them).
 */
#define _GNU_SOURCE
#include "runtime.h"
#include "pipec-compiler.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void json_text(FILE *f, json_t *v, int sort)
{
	size_t k;
	json_t *x;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), c = 0;
		const char **keys = malloc((n + 1) * sizeof *keys);
		const char *key;
		json_object_foreach(v, key, x) keys[c++] = key;
		if (sort)
			qsort(keys, c, sizeof *keys, by_key);
		fputc('{', f);
		for (k = 0; k < c; k++) {
			if (k)
				fputc(',', f);
			json_t *s = json_string(keys[k]);
			json_text(f, s, sort);
			json_decref(s);
			fputc(':', f);
			json_text(f, json_object_get(v, keys[k]), sort);
		}
		fputc('}', f);
		free(keys);
		break;
	}
	case JSON_ARRAY:
		fputc('[', f);
		json_array_foreach(v, k, x) {
			if (k)
				fputc(',', f);
			json_text(f, x, sort);
		}
		fputc(']', f);
		break;
	case JSON_REAL: {
		char num[48];
		double d = json_real_value(v);
		if (!isfinite(d)) {
			fputs("null", f); /* as jansson: JSON has no infinities */
			break;
		}
		pc_format_double(d, num, sizeof num);
		fputs(num, f);
		if (!strpbrk(num, ".eE"))
			fputs(".0", f); /* still reads back as a Float */
		break;
	}
	default: { /* strings, integers, true, false, null: as jansson writes them */
		char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (t)
			fputs(t, f);
		free(t);
	}
	}
}

static int has_real(json_t *v)
{
	size_t k;
	const char *key;
	json_t *x;
	if (json_is_real(v))
		return 1;
	if (json_is_array(v))
		json_array_foreach(v, k, x) if (has_real(x)) return 1;
	if (json_is_object(v))
		json_object_foreach(v, key, x) if (has_real(x)) return 1;
	return 0;
}

char *pr_json_text(json_t *v)
{
	return pr_json_text_as(v, 1);
}

char *pr_json_text_as(json_t *v, int sort)
{
	if (!v)
		v = json_null();
	if (!has_real(v)) /* jansson writes all else as we would */
		return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | (sort ? JSON_SORT_KEYS : JSON_PRESERVE_ORDER));
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		abort();
	json_text(f, v, sort);
	fclose(f);
	return out;
}


void pr_shell_quote(FILE *f, const char *s, size_t n)
{
	int plain = n > 0;
	for (size_t i = 0; i < n && plain; i++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,", s[i]) && s[i];
	if (plain) {
		fwrite(s, 1, n, f);
		return;
	}
	fputc('\'', f);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\'')
			fputs("'\\''", f);
		else
			fputc(s[i], f);
	fputc('\'', f);
}
