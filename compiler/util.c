/*
 * util.c - the allocation funnel, the growable buffer, UTF-8 decoding and
 * the text of a double.
 *
 * Every heap allocation in the compiler passes through pc_xmalloc() and
 * friends, so that running out of memory is handled in exactly one place
 * (pc_oom_hook, which tests may replace) and no caller checks for NULL.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void default_oom(size_t n)
{
	fprintf(stderr, "pipec: out of memory (allocating %zu bytes)\n", n);
	abort();
}

void (*pc_oom_hook)(size_t n) = default_oom;

void pc_panic(const char *file, int line, const char *what)
{
	fprintf(stderr, "pipec: internal error at %s:%d: %s\n", file, line, what);
	abort();
}

void *pc_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		pc_oom_hook(n);
		abort();
	}
	return p;
}

void *pc_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		pc_oom_hook(n * size);
		abort();
	}
	return p;
}

void *pc_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		pc_oom_hook(n);
		abort();
	}
	return q;
}

char *pc_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(pc_xmalloc(n), s, n);
}

void pc_buf_grow(pc_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = pc_xrealloc(b->data, cap);
	b->cap = cap;
}

void pc_buf_add(pc_buf *b, const void *p, size_t n)
{
	pc_buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
}

void pc_buf_addc(pc_buf *b, char c)
{
	pc_buf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = 0;
}

void pc_buf_adds(pc_buf *b, const char *s)
{
	pc_buf_add(b, s, strlen(s));
}

void pc_buf_vprintf(pc_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	PC_ASSERT(n >= 0);
	pc_buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void pc_buf_printf(pc_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pc_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *pc_buf_steal(pc_buf *b, size_t *len)
{
	if (!b->data)
		pc_buf_grow(b, 0), b->data[0] = 0;
	char *s = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void pc_buf_free(pc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int pc_utf8_len(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
	if (p >= end)
		return 0;
	unsigned c = p[0];
	int n;
	uint32_t v, min;
	if (c < 0x80) {
		if (cp)
			*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (end - p < n)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	if (cp)
		*cp = v;
	return n;
}

/* ---- pc_map: interned names to pointers (sema.h) ------------------------- */

#include "sema.h"

static uint32_t ptr_hash(const void *p)
{
	uintptr_t x = (uintptr_t)p;
	x ^= x >> 17;
	x *= 0xed5ad4bbU;
	x ^= x >> 11;
	return (uint32_t)x;
}

void *pc_map_get(const pc_map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	for (uint32_t i = ptr_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == key)
			return m->slots[i].value;
		if (!m->slots[i].key)
			return NULL;
	}
}

void *pc_map_put(pc_map *m, const char *key, void *value)
{
	if ((m->n + 1) * 2 > m->cap) {
		uint32_t cap = m->cap ? m->cap * 2 : 16;
		struct pc_map_slot *slots = pc_xcalloc(cap, sizeof *slots);
		for (uint32_t i = 0; i < m->cap; i++) {
			if (!m->slots[i].key)
				continue;
			uint32_t j = ptr_hash(m->slots[i].key) & (cap - 1);
			while (slots[j].key)
				j = (j + 1) & (cap - 1);
			slots[j] = m->slots[i];
		}
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
	}
	uint32_t i = ptr_hash(key) & (m->cap - 1);
	while (m->slots[i].key && m->slots[i].key != key)
		i = (i + 1) & (m->cap - 1);
	void *old = m->slots[i].key ? m->slots[i].value : NULL;
	if (!m->slots[i].key)
		m->n++;
	m->slots[i].key = key;
	m->slots[i].value = value;
	return old;
}

void pc_map_free(pc_map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

/*
 * The shortest of %.15g, %.16g and %.17g that strtod() reads back to V:
 * 15 significant digits are exact for every decimal of that length and %g
 * drops trailing zeros, so no shorter text can read back where %.15g
 * does not; 17 always does.
 */
int pc_format_double(double v, char *buf, size_t n)
{
	int len = 0;
	for (int prec = 15; prec <= 17; prec++) {
		len = snprintf(buf, n, "%.*g", prec, v);
		if (prec == 17 || isnan(v) || (len > 0 && (size_t)len < n && strtod(buf, NULL) == v))
			break;
	}
	return len;
}
