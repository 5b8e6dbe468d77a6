/*
 * arena.c - the compilation arena and the identifier interner.
 *
 * The arena is a list of chunks; allocation bumps a pointer and nothing is
 * freed until the whole compilation is.  Chunks are calloc()ed, so every
 * allocation is zeroed without a memset.  Chunks grow geometrically so that a
 * 100k-task pipeline costs a few dozen mallocs.  A request larger than a
 * chunk gets a chunk of its own.
 *
 * The interner is an open-addressing hash table (linear probing, power-of-two
 * size, at most half full) of arena strings, so equal identifiers share one
 * pointer and the later phases compare names with ==.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct chunk {
	struct chunk *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct pc_arena {
	struct chunk *head;
	size_t next_size; /* size of the next chunk */
	size_t total;     /* bytes taken from malloc */
};

pc_arena *pc_arena_new(void)
{
	pc_arena *a = pc_xcalloc(1, sizeof *a);
	a->next_size = 64 * 1024;
	return a;
}

void pc_arena_free(pc_arena *a)
{
	if (!a)
		return;
	for (struct chunk *c = a->head, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	free(a);
}

void *pc_arena_alloc(pc_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct chunk *c = a->head;
	if (!c || c->size - c->used < n) {
		size_t size = a->next_size;
		if (size < n)
			size = n;
		else if (a->next_size < 16 * 1024 * 1024)
			a->next_size *= 2;
		/* calloc: large chunks come zeroed from mmap, so nothing below
		 * needs clearing and untouched pages cost nothing */
		c = pc_xcalloc(1, sizeof *c + size);
		c->size = size;
		c->used = 0;
		a->total += sizeof *c + size;
		if (a->head && size == n) {
			/* an oversized request: keep the current chunk on top */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = c->data + c->used; /* zero: chunks are calloc()ed and never reused */
	c->used += n;
	return p;
}

char *pc_arena_strndup(pc_arena *a, const char *s, size_t n)
{
	char *p = pc_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

size_t pc_arena_bytes(const pc_arena *a)
{
	return a->total;
}

struct pc_interner {
	pc_arena *arena;
	struct slot {
		const char *s;
		uint32_t len;
		uint32_t hash;
	} *slots;
	size_t cap; /* power of two */
	size_t n;
};

static uint32_t hash_bytes(const char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

pc_interner *pc_interner_new(pc_arena *a)
{
	pc_interner *in = pc_xcalloc(1, sizeof *in);
	in->arena = a;
	in->cap = 1024;
	in->slots = pc_xcalloc(in->cap, sizeof *in->slots);
	return in;
}

void pc_interner_free(pc_interner *in)
{
	if (!in)
		return;
	free(in->slots);
	free(in);
}

static void rehash(pc_interner *in)
{
	size_t cap = in->cap * 2;
	struct slot *slots = pc_xcalloc(cap, sizeof *slots);
	for (size_t i = 0; i < in->cap; i++) {
		if (!in->slots[i].s)
			continue;
		size_t j = in->slots[i].hash & (cap - 1);
		while (slots[j].s)
			j = (j + 1) & (cap - 1);
		slots[j] = in->slots[i];
	}
	free(in->slots);
	in->slots = slots;
	in->cap = cap;
}

const char *pc_intern(pc_interner *in, const char *s, size_t n)
{
	uint32_t h = hash_bytes(s, n);
	size_t j = h & (in->cap - 1);
	for (; in->slots[j].s; j = (j + 1) & (in->cap - 1)) {
		struct slot *sl = &in->slots[j];
		if (sl->hash == h && sl->len == n && memcmp(sl->s, s, n) == 0)
			return sl->s;
	}
	const char *p = pc_arena_strndup(in->arena, s, n);
	in->slots[j] = (struct slot){p, (uint32_t)n, h};
	if (++in->n * 2 > in->cap)
		rehash(in);
	return p;
}
