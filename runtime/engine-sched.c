/*
 * engine-sched.c - scheduling: the ready heap and the places tasks run on.
 *
 * Ready tasks are ordered by priority, then by the longest remaining path
 * to the end of the DAG (pe_critical_paths()), then by plan order; the
 * loop starts the top of the heap when a slot (-j) is free and the nodes
 * have all it asks for (resources-place.c places it: best-fit GPUs).  A task no
 * node can ever hold is an error at once.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pe_placed(const runner *R, uint32_t i)
{
	return R->t[i].req.gpu > 0 || R->nodes.n > 1 || R->nodes.simulated;
}

static int before(const runner *R, uint32_t a, uint32_t b)
{
	if (R->t[a].priority != R->t[b].priority)
		return R->t[a].priority > R->t[b].priority;
	if (R->t[a].remaining != R->t[b].remaining)
		return R->t[a].remaining > R->t[b].remaining;
	return a < b;
}

void pe_heap_push(runner *R, uint32_t i)
{
	uint32_t k = R->nheap++;
	R->heap[k] = i;
	while (k && before(R, R->heap[k], R->heap[(k - 1) / 2])) {
		uint32_t p = (k - 1) / 2, x = R->heap[k];
		R->heap[k] = R->heap[p];
		R->heap[p] = x;
		k = p;
	}
}

uint32_t pe_heap_pop(runner *R)
{
	uint32_t top = R->heap[0];
	R->heap[0] = R->heap[--R->nheap];
	for (uint32_t k = 0;;) {
		uint32_t l = 2 * k + 1, r = l + 1, m = k;
		if (l < R->nheap && before(R, R->heap[l], R->heap[m]))
			m = l;
		if (r < R->nheap && before(R, R->heap[r], R->heap[m]))
			m = r;
		if (m == k)
			break;
		uint32_t x = R->heap[k];
		R->heap[k] = R->heap[m];
		R->heap[m] = x;
		k = m;
	}
	return top;
}

/* A task starts on its place: its slot and what it asks for are taken; pe_vacate() gives them back. */
void pe_occupy(runner *R, uint32_t i)
{
	if (R->t[i].holds)
		return;
	R->t[i].holds = 1;
	R->running++;
	pr_take(&R->nodes, &R->t[i].req, &R->t[i].place, 1);
}

/* Task I's attempt is over: what it held is given back. */
void pe_vacate(runner *R, uint32_t i)
{
	if (!R->t[i].holds)
		return;
	R->t[i].holds = 0;
	R->running--;
	pr_take(&R->nodes, &R->t[i].req, &R->t[i].place, -1);
}

/* Why task I can never start on any node (into WHY), or 0 when it can. */
int pe_never_fits(runner *R, uint32_t i, char *why, size_t n)
{
	char w[1200], short_[1024];
	if (!pr_never_fits(&R->nodes, &R->t[i].req, short_, sizeof short_))
		return 0;
	snprintf(why, n, "%s asks for %s", pe_where(&R->t[i], w, sizeof w), short_);
	return 1;
}

/* The placement of task I as " on NODE, GPU 0,1" for a log line. */
void pe_place_text(runner *R, uint32_t i, char *out, size_t n)
{
	const pr_place *p = &R->t[i].place;
	const pr_node *nd = &R->nodes.v[p->node];
	int len = snprintf(out, n, " on %s", nd->name);
	for (int k = 0; k < p->ngpus && len > 0 && (size_t)len < n; k++)
		len += snprintf(out + len, n - (size_t)len, "%s%d", k ? "," : ", GPU ", nd->gpus[p->gpu[k]].index);
	if (p->ngpus && R->t[i].req.gpu < 1 && len > 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, " (%g of it)", R->t[i].req.gpu);
}
/*
 * Each task's longest remaining path (in tasks, itself included) to the end
 * of the DAG, from the ends backwards: the scheduler's order after priority.
 */
void pe_critical_paths(runner *R)
{
	uint32_t *left = malloc((R->n + 1) * sizeof *left), *queue = malloc((R->n + 1) * sizeof *queue);
	uint32_t head = 0, tail = 0;
	for (uint32_t i = 0; i < R->n; i++) {
		left[i] = R->t[i].nusers;
		R->t[i].remaining = 1;
		if (!left[i])
			queue[tail++] = i;
	}
	while (head < tail) {
		rtask *t = &R->t[queue[head++]];
		for (uint32_t k = 0; k < t->nwaits; k++) {
			rtask *w = &R->t[t->waits[k]];
			if (w->remaining < t->remaining + 1)
				w->remaining = t->remaining + 1;
			if (--left[t->waits[k]] == 0)
				queue[tail++] = t->waits[k];
		}
	}
	free(left);
	free(queue);
}

