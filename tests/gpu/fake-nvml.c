/*
 * fake-nvml.c - a stand-in for NVML (libnvidia-ml.so.1) for tests/gpu.sh,
 * so that the runtime's own discovery (runtime/resources-gpu.c: dlopen, the
 * NVML calls, UUIDs, memory, minor numbers, peer access) runs on a machine
 * with no GPU.  It answers the calls the runtime makes with the devices
 * PIPEC_FAKE_NVML describes: "TYPE:GiB[:GROUP],..." — devices of the same
 * GROUP report P2P access to each other, devices of different groups do
 * not.  It is not a test of a real GPU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	unsigned long long total, free, used;
} nvml_memory;

typedef struct {
	char name[64], group[32];
	unsigned long long bytes;
} device;

static device devs[16];
static unsigned ndevs;

int nvmlInit_v2(void);
int nvmlDeviceGetCount_v2(unsigned *n);
int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **h);
int nvmlDeviceGetUUID(void *h, char *out, unsigned n);
int nvmlDeviceGetName(void *h, char *out, unsigned n);
int nvmlDeviceGetMemoryInfo(void *h, nvml_memory *m);
int nvmlDeviceGetMinorNumber(void *h, unsigned *minor);
int nvmlDeviceGetP2PStatus(void *a, void *b, int index, int *status);

int nvmlInit_v2(void)
{
	const char *spec = getenv("PIPEC_FAKE_NVML");
	if (!spec)
		return 1; /* NVML_ERROR_UNINITIALIZED: no devices described */
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", spec);
	ndevs = 0;
	for (char *save = NULL, *d = strtok_r(buf, ",", &save); d && ndevs < 16; d = strtok_r(NULL, ",", &save)) {
		device *x = &devs[ndevs++];
		char *gib = strchr(d, ':');
		char *group = gib ? strchr(gib + 1, ':') : NULL;
		if (gib)
			*gib++ = 0;
		if (group)
			*group++ = 0;
		snprintf(x->name, sizeof x->name, "NVIDIA %s", d);
		snprintf(x->group, sizeof x->group, "%s", group ? group : "");
		x->bytes = (unsigned long long)(gib ? atof(gib) : 16) << 30;
	}
	return 0;
}

int nvmlDeviceGetCount_v2(unsigned *n)
{
	*n = ndevs;
	return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **h)
{
	if (i >= ndevs)
		return 2; /* NVML_ERROR_INVALID_ARGUMENT */
	*h = &devs[i];
	return 0;
}

int nvmlDeviceGetUUID(void *h, char *out, unsigned n)
{
	snprintf(out, n, "GPU-fa4e0000-0000-4000-8000-%012u", (unsigned)((device *)h - devs));
	return 0;
}

int nvmlDeviceGetName(void *h, char *out, unsigned n)
{
	snprintf(out, n, "%s", ((device *)h)->name);
	return 0;
}

int nvmlDeviceGetMemoryInfo(void *h, nvml_memory *m)
{
	m->total = m->free = ((device *)h)->bytes;
	m->used = 0;
	return 0;
}

int nvmlDeviceGetMinorNumber(void *h, unsigned *minor)
{
	*minor = (unsigned)((device *)h - devs);
	return 0;
}

int nvmlDeviceGetP2PStatus(void *a, void *b, int index, int *status)
{
	(void)index;
	*status = strcmp(((device *)a)->group, ((device *)b)->group) == 0 ? 0 : 1;
	return 0;
}
