/*
 * resources-place.c - placing a task on a node: where its request fits,
 * reserving it, and saying why it never can.
 *
 * A task fits a node when the node's free cores and memory hold its
 * request and, for `gpu: N`, N devices of its type (and at least its
 * gpu_memory) are wholly free — chosen best-fit (the smallest that hold it),
 * devices with peer access to each other preferred; for a fraction `gpu: f`,
 * one device that is not held whole, whose shares stay within 1 and whose
 * free memory holds gpu_memory (or f of the device) — again the one with
 * the least free memory that holds it.  A device's type matches by whole
 * words of its name ("H100" is an "NVIDIA H100 80GB HBM3", "A10" is not an
 * "A100-SXM4-80GB").  A placement is kept in the store as JSON
 * (pr_place_json()) and read back on resume (pr_place_parse()).
 */
#define _GNU_SOURCE
#include "runtime.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Whether device G is of the type R asks for (words of its name: "H100" is an "NVIDIA H100 80GB HBM3"). */
static int type_ok(const pr_gpu *g, const pr_request *r)
{
	if (!r->gpu_type || !*r->gpu_type)
		return 1;
	size_t n = strlen(r->gpu_type);
	for (const char *p = g->type; *p; p++)
		if ((p == g->type || p[-1] == ' ' || p[-1] == '-') && !strncasecmp(p, r->gpu_type, n) &&
		    (!p[n] || p[n] == ' ' || p[n] == '-'))
			return 1; /* a whole word: "A10" is not an "A100-SXM4-80GB" */
	return 0;
}

static int whole(const pr_request *r)
{
	return r->gpu >= 1;
}

/* The memory a share of device G takes. */
static double share_memory(const pr_gpu *g, const pr_request *r)
{
	return r->gpu_memory > 0 ? r->gpu_memory : r->gpu * g->memory;
}

/* Whether device G can ever hold (EVER) or holds now R's part of it. */
static int gpu_ok(const pr_gpu *g, const pr_request *r, int ever)
{
	if (!type_ok(g, r) || g->memory < r->gpu_memory)
		return 0;
	if (whole(r))
		return ever || (!g->held && g->share == 0);
	if (ever)
		return share_memory(g, r) <= g->memory;
	return !g->held && g->share + r->gpu <= 1 + 1e-9 && g->used_memory + share_memory(g, r) <= g->memory;
}

static int cmp_free(const void *a, const void *b, void *arg)
{
	const pr_gpu *g = arg;
	int x = *(const int *)a, y = *(const int *)b;
	double fx = g[x].memory - g[x].used_memory, fy = g[y].memory - g[y].used_memory;
	return fx < fy ? -1 : fx > fy ? 1 : x - y;
}

/*
 * Chooses devices of node ND for R now (EVER: on an empty node) into P;
 * returns the free memory of the chosen ones (smaller is a better fit), or -1.
 */
static double choose(const pr_node *nd, const pr_request *r, int ever, pr_place *p)
{
	int cand[64], nc = 0;
	for (int k = 0; k < nd->ngpus; k++)
		if (gpu_ok(&nd->gpus[k], r, ever))
			cand[nc++] = k;
	int want = whole(r) ? (int)(r->gpu + 0.5) : 1;
	if (want > (int)sizeof p->gpu || nc < want)
		return -1;
	qsort_r(cand, (size_t)nc, sizeof *cand, cmp_free, nd->gpus);
	/* the first set, in best-fit order, whose devices all reach each other; else the best-fit ones */
	int found = 0;
	for (int s = 0; s < nc && !found && want > 1; s++) {
		int set[64], ns = 0;
		uint64_t reach = ~0ULL;
		for (int k = s; k < nc && ns < want; k++) {
			const pr_gpu *g = &nd->gpus[cand[k]];
			if ((reach >> cand[k]) & 1) {
				set[ns++] = cand[k];
				reach &= g->peers | (1ULL << cand[k]);
			}
		}
		if (ns == want) {
			memcpy(cand, set, sizeof(int) * (size_t)want);
			found = 1;
		}
	}
	double free_sum = 0;
	p->ngpus = (uint8_t)want;
	for (int k = 0; k < want; k++) {
		p->gpu[k] = (uint8_t)cand[k];
		free_sum += nd->gpus[cand[k]].memory - nd->gpus[cand[k]].used_memory;
	}
	return free_sum;
}

int pr_place_now(const pr_nodes *ns, const pr_request *r, pr_place *out)
{
	double best = -1;
	for (int i = 0; i < ns->n; i++) {
		const pr_node *nd = &ns->v[i];
		if (nd->used_cpu + r->cpu > nd->cpu + 1e-9 || nd->used_memory + r->memory > nd->memory)
			continue;
		pr_place p = {.node = i};
		if (r->gpu > 0) {
			double f = choose(nd, r, 0, &p);
			if (f < 0 || (best >= 0 && f >= best))
				continue;
			best = f;
			*out = p;
			continue;
		}
		*out = p; /* no GPU: the first node with room */
		return 0;
	}
	return best >= 0 ? 0 : -1;
}

void pr_take(pr_nodes *ns, const pr_request *r, const pr_place *p, int sign)
{
	if (p->node < 0 || p->node >= ns->n)
		return;
	pr_node *nd = &ns->v[p->node];
	nd->used_cpu += sign * r->cpu;
	nd->used_memory += sign * r->memory;
	for (int k = 0; k < p->ngpus; k++) {
		pr_gpu *g = &nd->gpus[p->gpu[k]];
		if (whole(r)) {
			g->held += sign;
			g->used_memory += sign * g->memory;
		} else {
			g->share += sign * r->gpu;
			g->used_memory += sign * share_memory(g, r);
		}
		if (g->held <= 0 && g->share < 1e-9)
			g->share = g->used_memory = g->held = 0; /* nothing on it: no drift from the sums */
	}
	if (nd->used_cpu < 1e-9)
		nd->used_cpu = 0;
	if (nd->used_memory < 1)
		nd->used_memory = 0;
}

void pr_bytes_text(double b, char *out, size_t n)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	int u = 0;
	while (b >= 1024 && u < 6)
		b /= 1024, u++;
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

int pr_never_fits(const pr_nodes *ns, const pr_request *r, char *why, size_t n)
{
	double most_cpu = 0, most_mem = 0;
	int most_gpus = 0;
	for (int i = 0; i < ns->n; i++) {
		const pr_node *nd = &ns->v[i];
		pr_place p;
		if (r->cpu <= nd->cpu + 1e-9 && r->memory <= nd->memory && (r->gpu <= 0 || choose(nd, r, 1, &p) >= 0))
			return 0;
		most_cpu = nd->cpu > most_cpu ? nd->cpu : most_cpu;
		most_mem = nd->memory > most_mem ? nd->memory : most_mem;
		int k = 0;
		for (int g = 0; g < nd->ngpus; g++)
			k += gpu_ok(&nd->gpus[g], r, 1);
		most_gpus = k > most_gpus ? k : most_gpus;
	}
	const char *on = ns->simulated ? "no node of the resources file has more than" : "this machine has";
	char a[32], b[32];
	if (r->gpu > 0 && pr_nodes_gpus(ns) == 0)
		snprintf(why, n, "%g GPU, and no GPU was found (%s)", r->gpu, ns->no_gpu);
	else if (r->cpu > most_cpu + 1e-9)
		snprintf(why, n, "%g cpu, and %s %g cores", r->cpu, on, most_cpu);
	else if (r->memory > most_mem) {
		pr_bytes_text(r->memory, a, sizeof a);
		pr_bytes_text(most_mem, b, sizeof b);
		snprintf(why, n, "%s of memory, and %s %s", a, on, b);
	} else {
		/* the GPUs offered, to say what is there: "A100 40.0 GiB" once per kind */
		char offer[256] = "";
		size_t ol = 0;
		for (int i = 0; i < ns->n; i++)
			for (int g = 0; g < ns->v[i].ngpus; g++) {
				char kind[160];
				pr_bytes_text(ns->v[i].gpus[g].memory, b, sizeof b);
				snprintf(kind, sizeof kind, "%s %s", ns->v[i].gpus[g].type, b);
				if (!strstr(offer, kind) && ol + strlen(kind) + 3 < sizeof offer)
					ol += (size_t)snprintf(offer + ol, sizeof offer - ol, "%s%s", ol ? ", " : "", kind);
			}
		int len = snprintf(why, n, "%g GPU", r->gpu);
		if (r->gpu_type && *r->gpu_type && len > 0 && (size_t)len < n)
			len += snprintf(why + len, n - (size_t)len, " of type %s", r->gpu_type);
		if (r->gpu_memory > 0 && len > 0 && (size_t)len < n) {
			pr_bytes_text(r->gpu_memory, a, sizeof a);
			len += snprintf(why + len, n - (size_t)len, " with %s", a);
		}
		if (len > 0 && (size_t)len < n && most_gpus == 0)
			snprintf(why + len, n - (size_t)len, ", and %s (there: %s)",
				 ns->simulated ? "no node of the resources file has such a device" : "this machine has no such device",
				 offer);
		else if (len > 0 && (size_t)len < n)
			snprintf(why + len, n - (size_t)len, ", and %s %d such devices (there: %s)",
				 ns->simulated ? "no node of the resources file has more than" : "this machine has only",
				 most_gpus, offer);
	}
	return 1;
}

char *pr_place_json(const pr_nodes *ns, const pr_request *r, const pr_place *p)
{
	const pr_node *nd = &ns->v[p->node];
	json_t *o = json_object();
	json_object_set_new(o, "node", json_string(nd->name));
	json_object_set_new(o, "node_index", json_integer(p->node));
	json_object_set_new(o, "cpu", json_real(r->cpu));
	json_object_set_new(o, "memory", json_real(r->memory));
	json_t *gs = json_array();
	for (int k = 0; k < p->ngpus; k++) {
		const pr_gpu *g = &nd->gpus[p->gpu[k]];
		json_t *x = json_object();
		json_object_set_new(x, "index", json_integer(g->index));
		json_object_set_new(x, "uuid", json_string(g->uuid));
		json_object_set_new(x, "share", json_real(whole(r) ? 1 : r->gpu));
		json_object_set_new(x, "memory", json_real(whole(r) ? g->memory : share_memory(g, r)));
		json_array_append_new(gs, x);
	}
	json_object_set_new(o, "gpus", gs);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

int pr_place_parse(const pr_nodes *ns, const char *text, pr_place *p)
{
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	if (!o)
		return -1;
	memset(p, 0, sizeof *p);
	p->node = (int)json_integer_value(json_object_get(o, "node_index"));
	int ok = p->node >= 0 && p->node < ns->n;
	size_t k;
	json_t *g;
	json_array_foreach(json_object_get(o, "gpus"), k, g) {
		int idx = (int)json_integer_value(json_object_get(g, "index"));
		if (!ok || k >= sizeof p->gpu)
			break;
		for (int d = 0; d < ns->v[p->node].ngpus; d++)
			if (ns->v[p->node].gpus[d].index == idx)
				p->gpu[p->ngpus++] = (uint8_t)d;
	}
	json_decref(o);
	return ok ? 0 : -1;
}
