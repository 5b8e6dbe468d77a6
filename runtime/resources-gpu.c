/*
 * resources-gpu.c - this machine's GPUs: what they are, how much memory
 * each has, and which reach each other.
 *
 * NVML (libnvidia-ml.so.1) is asked first, then the CUDA driver
 * (libcuda.so.1); both are loaded with dlopen, so the same binary runs with
 * or without them, and a machine without either has no GPUs and says why
 * (pr_nodes.no_gpu).  At most 64 devices are listed.  Peer access (NVLink
 * or P2P) is a bit per device in pr_gpu.peers: all devices reach each other
 * unless the driver says a pair does not.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		abort();
	return p;
}

void pr_gpu_all_peers(pr_node *nd)
{
	for (int a = 0; a < nd->ngpus; a++)
		nd->gpus[a].peers = nd->ngpus >= 64 ? ~0ULL : (1ULL << nd->ngpus) - 1;
}

typedef struct {
	unsigned long long total, free, used;
} nvml_memory;

/* Asks NVML for the devices; 0, or -1 with WHY. */
static int gpus_nvml(pr_node *nd, char *why, size_t wn)
{
	void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, wn, "libnvidia-ml.so.1 cannot be loaded");
		return -1;
	}
	int (*init)(void) = (int (*)(void))dlsym(h, "nvmlInit_v2");
	int (*count)(unsigned *) = (int (*)(unsigned *))dlsym(h, "nvmlDeviceGetCount_v2");
	int (*handle)(unsigned, void **) = (int (*)(unsigned, void **))dlsym(h, "nvmlDeviceGetHandleByIndex_v2");
	int (*uuid)(void *, char *, unsigned) = (int (*)(void *, char *, unsigned))dlsym(h, "nvmlDeviceGetUUID");
	int (*name)(void *, char *, unsigned) = (int (*)(void *, char *, unsigned))dlsym(h, "nvmlDeviceGetName");
	int (*mem)(void *, nvml_memory *) = (int (*)(void *, nvml_memory *))dlsym(h, "nvmlDeviceGetMemoryInfo");
	int (*minor)(void *, unsigned *) = (int (*)(void *, unsigned *))dlsym(h, "nvmlDeviceGetMinorNumber");
	int (*p2p)(void *, void *, int, int *) = (int (*)(void *, void *, int, int *))dlsym(h, "nvmlDeviceGetP2PStatus");
	unsigned n = 0;
	if (!init || !count || !handle || !uuid || !name || !mem || init() != 0 || count(&n) != 0) {
		snprintf(why, wn, "NVML (libnvidia-ml.so.1) did not answer");
		return -1; /* the library stays loaded: harmless, and unloading NVML is not safe everywhere */
	}
	void *dev[64];
	if (n > 64)
		n = 64;
	nd->gpus = xcalloc(n, sizeof *nd->gpus);
	for (unsigned i = 0; i < n; i++) {
		pr_gpu *g = &nd->gpus[nd->ngpus];
		nvml_memory m = {0};
		if (handle(i, &dev[nd->ngpus]) != 0 || uuid(dev[nd->ngpus], g->uuid, sizeof g->uuid) != 0 ||
		    name(dev[nd->ngpus], g->type, sizeof g->type) != 0 || mem(dev[nd->ngpus], &m) != 0)
			continue;
		unsigned mn = i;
		if (minor)
			minor(dev[nd->ngpus], &mn);
		g->index = (int)i;
		g->minor = (int)mn;
		g->memory = (double)m.total;
		nd->ngpus++;
	}
	pr_gpu_all_peers(nd);
	if (p2p) /* 0: NVML_P2P_CAPS_INDEX_READ; status 0: NVML_P2P_STATUS_OK */
		for (int a = 0; a < nd->ngpus; a++)
			for (int b = 0; b < nd->ngpus; b++) {
				int st = 1;
				if (a != b && (p2p(dev[a], dev[b], 0, &st) != 0 || st != 0))
					nd->gpus[a].peers &= ~(1ULL << b);
			}
	return 0;
}

/* Asks the CUDA driver for the devices; 0, or -1 with WHY. */
static int gpus_cuda(pr_node *nd, char *why, size_t wn)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, wn, "neither libnvidia-ml.so.1 nor libcuda.so.1 can be loaded");
		return -1;
	}
	int (*init)(unsigned) = (int (*)(unsigned))dlsym(h, "cuInit");
	int (*count)(int *) = (int (*)(int *))dlsym(h, "cuDeviceGetCount");
	int (*get)(int *, int) = (int (*)(int *, int))dlsym(h, "cuDeviceGet");
	int (*name)(char *, int, int) = (int (*)(char *, int, int))dlsym(h, "cuDeviceGetName");
	int (*total)(size_t *, int) = (int (*)(size_t *, int))dlsym(h, "cuDeviceTotalMem_v2");
	int (*uuid)(unsigned char *, int) = (int (*)(unsigned char *, int))dlsym(h, "cuDeviceGetUuid");
	int (*peer)(int *, int, int) = (int (*)(int *, int, int))dlsym(h, "cuDeviceCanAccessPeer");
	int n = 0;
	if (!init || !count || !get || !name || !total || !uuid || init(0) != 0 || count(&n) != 0) {
		snprintf(why, wn, "the CUDA driver (libcuda.so.1) did not answer");
		return -1;
	}
	if (n > 64)
		n = 64;
	int dev[64];
	nd->gpus = xcalloc((size_t)n, sizeof *nd->gpus);
	for (int i = 0; i < n; i++) {
		pr_gpu *g = &nd->gpus[nd->ngpus];
		size_t bytes = 0;
		unsigned char u[16];
		if (get(&dev[nd->ngpus], i) != 0 || name(g->type, (int)sizeof g->type, dev[nd->ngpus]) != 0 ||
		    total(&bytes, dev[nd->ngpus]) != 0 || uuid(u, dev[nd->ngpus]) != 0)
			continue;
		snprintf(g->uuid, sizeof g->uuid,
			 "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
			 u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
		g->index = g->minor = i;
		g->memory = (double)bytes;
		nd->ngpus++;
	}
	pr_gpu_all_peers(nd);
	if (peer)
		for (int a = 0; a < nd->ngpus; a++)
			for (int b = 0; b < nd->ngpus; b++) {
				int can = 0;
				if (a != b && (peer(&can, dev[a], dev[b]) != 0 || !can))
					nd->gpus[a].peers &= ~(1ULL << b);
			}
	return 0;
}

int pr_gpu_discover(pr_node *nd, char *why, size_t n)
{
	return gpus_nvml(nd, why, n) < 0 && gpus_cuda(nd, why, n) < 0 ? -1 : 0;
}
