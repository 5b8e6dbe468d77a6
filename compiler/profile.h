/*
 * profile.h - pipec.yaml profiles and the nodes they offer (profile.c).
 */
#ifndef PIPEC_PROFILE_H
#define PIPEC_PROFILE_H

#include "internal.h"

typedef struct pc_gpu {
	const char *type;  /* "A100", or "" */
	const char *peers; /* devices with the same name reach each other (NVLink/P2P); NULL: all do */
	int64_t memory;    /* bytes per device */
	int count;         /* identical devices */
} pc_gpu;

typedef struct pc_node {
	const char *name;
	double cpu;        /* cores */
	int64_t memory;    /* bytes */
	int64_t disk;      /* bytes, 0 = not said */
	int count;         /* identical nodes */
	pc_gpu *gpus;      /* malloc()ed */
	uint32_t ngpus;
} pc_node;

typedef struct pc_profile {
	const char *name;
	const char *backend;  /* local, kubernetes, sim */
	int parallelism;      /* 0 = not said */
	pc_node *nodes;       /* malloc()ed */
	uint32_t nnodes;
} pc_profile;

/* What one task asks for (0 = nothing). */
typedef struct pc_request {
	double cpu;
	int64_t memory;
	double gpu;           /* count, or a fraction of one device */
	int64_t gpu_memory;   /* per device */
	const char *gpu_type; /* NULL = any */
	int64_t disk;
} pc_request;

/* Loads profile NAME of the pipec.yaml at PATH: 0, -1 (reported), -2 (unreadable, errno). */
int pc_profile_load(pc_ctx *ctx, const char *path, const char *name, pc_profile *out);
void pc_profile_free(pc_profile *p);
/* 0 if some node can hold R; else reports E0501 at AT for STAGE and returns -1. */
int pc_profile_check(pc_ctx *ctx, const pc_profile *p, const pc_request *r, pc_span at, const char *stage);

#endif
