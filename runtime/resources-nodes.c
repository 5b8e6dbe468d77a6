/*
 * resources-nodes.c - the nodes tasks run on and what each offers.
 *
 * Without a resources file there is one node, this machine: its cores and
 * memory from sysconf, its GPUs from resources-gpu.c.  A resources file
 * (--resources) gives other nodes instead, simulated: tasks still run
 * here, but are placed and reserved against those nodes' capacities
 * (resources-place.c).  A simulated device gets a UUID in CUDA's form made
 * from its node's and its own place in the file; devices that name a peer
 * group ("peers") reach only the devices of that group.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		abort();
	return p;
}

static pr_node *add_node(pr_nodes *ns, const char *name)
{
	ns->v = realloc(ns->v, (size_t)(ns->n + 1) * sizeof *ns->v);
	if (!ns->v)
		abort();
	pr_node *nd = &ns->v[ns->n++];
	memset(nd, 0, sizeof *nd);
	snprintf(nd->name, sizeof nd->name, "%s", name);
	return nd;
}

void pr_nodes_local(pr_nodes *ns)
{
	memset(ns, 0, sizeof *ns);
	char host[64] = "local";
	gethostname(host, sizeof host - 1);
	pr_node *nd = add_node(ns, host);
	long cores = sysconf(_SC_NPROCESSORS_ONLN), pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	nd->cpu = cores > 0 ? (double)cores : 1;
	nd->memory = pages > 0 && page > 0 ? (double)pages * (double)page : 1e18;
	char why[200];
	if (pr_gpu_discover(nd, why, sizeof why) < 0)
		snprintf(ns->no_gpu, sizeof ns->no_gpu, "%s", why);
	else if (nd->ngpus == 0)
		snprintf(ns->no_gpu, sizeof ns->no_gpu, "the GPU driver reports no devices");
}

int pr_nodes_from_json(pr_nodes *ns, const char *text, char **err)
{
	memset(ns, 0, sizeof *ns);
	ns->simulated = 1;
	json_error_t je;
	json_t *a = json_loads(text, 0, &je);
	if (!json_is_array(a) || json_array_size(a) == 0) {
		*err = strdup("the resources file gives no nodes");
		json_decref(a);
		return -1;
	}
	size_t i;
	json_t *o;
	json_array_foreach(a, i, o) {
		pr_node *nd = add_node(ns, json_string_value(json_object_get(o, "name")));
		nd->cpu = json_number_value(json_object_get(o, "cpu"));
		nd->memory = json_number_value(json_object_get(o, "memory"));
		json_t *gs = json_object_get(o, "gpus");
		nd->gpus = xcalloc(json_array_size(gs), sizeof *nd->gpus);
		size_t k;
		json_t *g;
		json_array_foreach(gs, k, g) {
			if (nd->ngpus == 64)
				break;
			pr_gpu *d = &nd->gpus[nd->ngpus];
			snprintf(d->type, sizeof d->type, "%s", json_string_value(json_object_get(g, "type")) ?: "");
			d->memory = json_number_value(json_object_get(g, "memory"));
			d->index = d->minor = nd->ngpus;
			/* a UUID in CUDA's form, made from the node's and the device's places */
			snprintf(d->uuid, sizeof d->uuid, "GPU-00000000-0000-4000-%04x-%012x", (unsigned)i, (unsigned)k);
			nd->ngpus++;
		}
		pr_gpu_all_peers(nd);
		/* devices that name a peer group reach only the devices of that group */
		for (int x = 0; x < nd->ngpus; x++)
			for (int y = 0; y < nd->ngpus; y++) {
				const char *gx = json_string_value(json_object_get(json_array_get(gs, (size_t)x), "peers"));
				const char *gy = json_string_value(json_object_get(json_array_get(gs, (size_t)y), "peers"));
				if (x != y && (gx || gy) && (!gx || !gy || strcmp(gx, gy) != 0))
					nd->gpus[x].peers &= ~(1ULL << y);
			}
	}
	json_decref(a);
	snprintf(ns->no_gpu, sizeof ns->no_gpu, "the resources file gives no GPUs");
	return 0;
}

void pr_nodes_free(pr_nodes *ns)
{
	for (int i = 0; i < ns->n; i++)
		free(ns->v[i].gpus);
	free(ns->v);
	memset(ns, 0, sizeof *ns);
}

int pr_nodes_gpus(const pr_nodes *ns)
{
	int n = 0;
	for (int i = 0; i < ns->n; i++)
		n += ns->v[i].ngpus;
	return n;
}
