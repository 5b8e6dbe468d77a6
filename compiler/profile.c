/*
 * profile.c - pipec.yaml profiles and resource feasibility.
 *
 * pipec.yaml holds named profiles; a profile says where pipelines run and
 * which nodes it has, inline or in a resources file:
 *
 *   profiles:
 *     local:
 *       backend: local            # local | kubernetes | sim
 *       parallelism: 8
 *       nodes:
 *         - name: workstation
 *           cpu: 16
 *           memory: 64GiB
 *           gpus:
 *             - { type: A100, memory: 40GiB, count: 2 }
 *     cluster:
 *       backend: kubernetes
 *       context: prod
 *       namespace: ml
 *       volume: pipec-work
 *       resources: nodes.yaml     # a file whose top level is { nodes: [...] }
 *
 * The YAML is read with libyaml's event parser into a small tree whose
 * nodes keep their byte offsets, and the file is added to the compilation as
 * a source, so a malformed document, an unknown key (with "did you mean") or
 * a value of the wrong kind is a diagnostic with its line and column.
 *
 * With a profile chosen (`pipec check --profile P`), every stage's
 * `resources` request is compared with the nodes: a stage that no node can
 * hold is an error naming the stage, the request and the largest offer.
 * A request given by a parameter counts with the smallest value the
 * parameter's constraints allow.
 */
#include "profile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <yaml.h>

#include "constraint.h"

enum { YN_SCALAR, YN_MAP, YN_SEQ };

typedef struct ynode {
	int kind;
	uint32_t start, end;  /* byte offsets in the file */
	const char *text;     /* YN_SCALAR */
	struct ynode **items;    /* YN_MAP: key, value, key, value...; YN_SEQ: elements */
	uint32_t n;
} ynode;

typedef struct yreader {
	pc_ctx *ctx;
	uint32_t file;
	yaml_parser_t parser;
	int failed;
} yreader;

static pc_span yspan(yreader *r, const ynode *n)
{
	return (pc_span){r->file, n->start, n->end > n->start ? n->end : n->start + 1};
}

static ynode *new_node(yreader *r, int kind, const yaml_event_t *ev)
{
	ynode *n = pc_arena_alloc(r->ctx->arena, sizeof *n);
	n->kind = kind;
	n->start = (uint32_t)ev->start_mark.index;
	n->end = (uint32_t)ev->end_mark.index;
	return n;
}

static void add_item(yreader *r, ynode *parent, ynode *child, uint32_t *cap)
{
	if (parent->n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		ynode **items = pc_arena_alloc(r->ctx->arena, *cap * sizeof *items);
		if (parent->n)
			memcpy(items, parent->items, parent->n * sizeof *items);
		parent->items = items;
	}
	parent->items[parent->n++] = child;
}

static int next_event(yreader *r, yaml_event_t *ev)
{
	if (yaml_parser_parse(&r->parser, ev))
		return 1;
	const yaml_parser_t *p = &r->parser;
	uint32_t at = (uint32_t)p->problem_mark.index;
	pc_diag_emit(r->ctx, PC_SEV_ERROR, "E0502", (pc_span){r->file, at, at + 1}, "malformed YAML: %s%s%s",
		     p->problem ? p->problem : "syntax error", p->context ? " " : "", p->context ? p->context : "");
	r->failed = 1;
	return 0;
}

/* Reads one node whose first event is EV (consumed). */
static ynode *read_node(yreader *r, yaml_event_t *ev, int depth)
{
	if (depth > 64) {
		pc_diag_emit(r->ctx, PC_SEV_ERROR, "E0502", (pc_span){r->file, (uint32_t)ev->start_mark.index,
								      (uint32_t)ev->start_mark.index + 1},
			     "malformed YAML: nested too deeply");
		r->failed = 1;
		return NULL;
	}
	ynode *n;
	uint32_t cap = 0;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = new_node(r, YN_SCALAR, ev);
		n->text = pc_arena_strndup(r->ctx->arena, (const char *)ev->data.scalar.value, ev->data.scalar.length);
		return n;
	case YAML_ALIAS_EVENT:
		pc_diag_emit(r->ctx, PC_SEV_ERROR, "E0502", (pc_span){r->file, (uint32_t)ev->start_mark.index,
								      (uint32_t)ev->end_mark.index},
			     "YAML aliases are not supported in pipec.yaml");
		r->failed = 1;
		return NULL;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT: {
		int map = ev->type == YAML_MAPPING_START_EVENT;
		n = new_node(r, map ? YN_MAP : YN_SEQ, ev);
		for (;;) {
			yaml_event_t e;
			if (!next_event(r, &e))
				return NULL;
			if (e.type == YAML_MAPPING_END_EVENT || e.type == YAML_SEQUENCE_END_EVENT) {
				n->end = (uint32_t)e.end_mark.index;
				yaml_event_delete(&e);
				return n;
			}
			ynode *child = read_node(r, &e, depth + 1);
			yaml_event_delete(&e);
			if (!child)
				return NULL;
			add_item(r, n, child, &cap);
		}
	}
	default:
		return NULL;
	}
}

/* Parses the YAML in source FILE; NULL if it is malformed (reported). */
static ynode *read_yaml(pc_ctx *ctx, uint32_t file)
{
	const pc_source *src = ctx->files[file];
	yreader r = {.ctx = ctx, .file = file};
	yaml_parser_initialize(&r.parser);
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)src->text, src->len);
	ynode *root = NULL;
	yaml_event_t ev;
	while (!r.failed && next_event(&r, &ev)) {
		int type = ev.type;
		if (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT || type == YAML_SCALAR_EVENT) {
			if (!root)
				root = read_node(&r, &ev, 0);
		}
		yaml_event_delete(&ev);
		if (type == YAML_STREAM_END_EVENT || type == YAML_DOCUMENT_END_EVENT)
			break;
	}
	yaml_parser_delete(&r.parser);
	return r.failed ? NULL : root;
}

/* ---- validating the tree --------------------------------------------------- */

typedef struct loader {
	pc_ctx *ctx;
	uint32_t file;
	const char *dir; /* of the file, for relative resources files */
} loader;

static int yerr(loader *L, const ynode *n, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int yerr(loader *L, const ynode *n, const char *code, const char *fmt, ...)
{
	pc_buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	pc_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	pc_span sp = {L->file, n->start, n->end > n->start ? n->end : n->start + 1};
	pc_diag_emit(L->ctx, PC_SEV_ERROR, code, sp, "%s", b.data);
	pc_buf_free(&b);
	return -1;
}

/* Checks that every key of map N is in KEYS; reports the others. */
static int known_keys(loader *L, const ynode *n, const char *what, const char *const *keys, size_t nkeys)
{
	int rc = 0;
	for (uint32_t i = 0; i + 1 < n->n; i += 2) {
		const ynode *k = n->items[i];
		if (k->kind != YN_SCALAR) {
			rc = yerr(L, k, "E0503", "the keys of %s are names", what);
			continue;
		}
		size_t j = 0;
		while (j < nkeys && strcmp(keys[j], k->text) != 0)
			j++;
		if (j < nkeys)
			continue;
		pc_buf all = {0};
		const char *best = NULL;
		size_t bestd = 3;
		for (j = 0; j < nkeys; j++) {
			pc_buf_printf(&all, "%s%s", j ? ", " : "", keys[j]);
			/* a cheap "did you mean": same first letter and close length */
			size_t a = strlen(keys[j]), b = strlen(k->text);
			size_t d = a > b ? a - b : b - a;
			if (keys[j][0] == k->text[0] && d < bestd && strncmp(keys[j], k->text, 3) == 0)
				best = keys[j], bestd = d;
		}
		pc_span sp = {L->file, k->start, k->end};
		pc_diag *d = pc_diag_emit(L->ctx, PC_SEV_ERROR, "E0503", sp, "unknown key '%s' in %s", k->text, what);
		if (best)
			pc_diag_note(L->ctx, d, "did you mean '%s'?", best);
		pc_diag_note(L->ctx, d, "the keys of %s are %s", what, all.data);
		pc_buf_free(&all);
		rc = -1;
	}
	return rc;
}

static const ynode *get(const ynode *map, const char *key)
{
	for (uint32_t i = 0; i + 1 < map->n; i += 2)
		if (map->items[i]->kind == YN_SCALAR && strcmp(map->items[i]->text, key) == 0)
			return map->items[i + 1];
	return NULL;
}

/* A Size written as 64GiB / 16GB / a byte count. */
static int parse_size(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || errno || v < 0)
		return -1;
	if (!*end) {
		*out = v;
		return 0;
	}
	int64_t f = pc_size_unit(end, strlen(end));
	if (f) {
		if (v > INT64_MAX / f)
			return -1;
		*out = v * f;
		return 0;
	}
	return -1;
}

static int get_size(loader *L, const ynode *v, const char *what, int64_t *out)
{
	if (v->kind != YN_SCALAR || parse_size(v->text, out) < 0)
		return yerr(L, v, "E0504", "%s must be a size such as 64GiB or 16GB%s%s", what,
			    v->kind == YN_SCALAR ? ", not " : "", v->kind == YN_SCALAR ? v->text : "");
	return 0;
}

static int get_number(loader *L, const ynode *v, const char *what, double *out, int integer)
{
	char *end = NULL;
	if (v->kind == YN_SCALAR) {
		errno = 0;
		*out = strtod(v->text, &end);
	}
	if (v->kind != YN_SCALAR || !end || end == v->text || *end || errno || *out < 0 ||
	    (integer && *out != floor(*out)))
		return yerr(L, v, "E0504", "%s must be a %snumber%s%s", what, integer ? "whole " : "",
			    v->kind == YN_SCALAR ? ", not " : "", v->kind == YN_SCALAR ? v->text : "");
	return 0;
}

static int load_gpu(loader *L, const ynode *g, pc_node *node)
{
	static const char *const keys[] = {"type", "memory", "count", "peers"};
	if (g->kind != YN_MAP)
		return yerr(L, g, "E0504", "a GPU is a mapping: { type: A100, memory: 40GiB, count: 1 }");
	int rc = known_keys(L, g, "a GPU", keys, 4);
	pc_gpu gpu = {.type = "", .count = 1};
	const ynode *v;
	if ((v = get(g, "type"))) {
		if (v->kind != YN_SCALAR)
			rc = yerr(L, v, "E0504", "a GPU's type is a name such as A100");
		else
			gpu.type = v->text;
	}
	if ((v = get(g, "memory")) && get_size(L, v, "a GPU's memory", &gpu.memory) < 0)
		rc = -1;
	if ((v = get(g, "peers"))) {
		if (v->kind != YN_SCALAR)
			rc = yerr(L, v, "E0504", "a GPU's peers is the name of the group of devices it reaches (NVLink)");
		else
			gpu.peers = v->text;
	}
	double count;
	if ((v = get(g, "count"))) {
		if (get_number(L, v, "a GPU count", &count, 1) < 0)
			rc = -1;
		else
			gpu.count = (int)count;
	}
	if (rc == 0) {
		node->gpus = pc_xrealloc(node->gpus, (node->ngpus + 1) * sizeof *node->gpus);
		node->gpus[node->ngpus++] = gpu;
	}
	return rc;
}

static int load_nodes(loader *L, const ynode *seq, pc_profile *p)
{
	static const char *const keys[] = {"name", "cpu", "memory", "disk", "gpus", "count"};
	if (seq->kind != YN_SEQ)
		return yerr(L, seq, "E0504", "nodes is a list of nodes");
	int rc = 0;
	for (uint32_t i = 0; i < seq->n; i++) {
		const ynode *m = seq->items[i];
		if (m->kind != YN_MAP) {
			rc = yerr(L, m, "E0504", "a node is a mapping with name, cpu, memory, gpus");
			continue;
		}
		if (known_keys(L, m, "a node", keys, sizeof keys / sizeof keys[0]) < 0)
			rc = -1;
		pc_node node = {0};
		char name[32];
		snprintf(name, sizeof name, "node %u", i + 1);
		node.name = pc_arena_strndup(L->ctx->arena, name, strlen(name));
		const ynode *v;
		if ((v = get(m, "name")) && v->kind == YN_SCALAR)
			node.name = v->text;
		if ((v = get(m, "cpu")) && get_number(L, v, "cpu", &node.cpu, 0) < 0)
			rc = -1;
		if ((v = get(m, "memory")) && get_size(L, v, "memory", &node.memory) < 0)
			rc = -1;
		if ((v = get(m, "disk")) && get_size(L, v, "disk", &node.disk) < 0)
			rc = -1;
		double count = 1;
		if ((v = get(m, "count")) && get_number(L, v, "count", &count, 1) < 0)
			rc = -1;
		node.count = (int)count;
		if ((v = get(m, "gpus"))) {
			if (v->kind != YN_SEQ)
				rc = yerr(L, v, "E0504", "gpus is a list of GPUs");
			else
				for (uint32_t j = 0; j < v->n; j++)
					if (load_gpu(L, v->items[j], &node) < 0)
						rc = -1;
		}
		p->nodes = pc_xrealloc(p->nodes, (p->nnodes + 1) * sizeof *p->nodes);
		p->nodes[p->nnodes++] = node;
	}
	return rc;
}

static uint32_t add_file(pc_ctx *ctx, const char *path, int *ok)
{
	FILE *f = fopen(path, "rb");
	*ok = 0;
	if (!f)
		return 0;
	pc_buf b = {0};
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		pc_buf_add(&b, tmp, n);
	int err = ferror(f);
	fclose(f);
	if (err) {
		pc_buf_free(&b);
		return 0;
	}
	uint32_t file = pc_ctx_add_source(ctx, path, b.data ? b.data : "", b.len);
	pc_buf_free(&b);
	*ok = 1;
	return file;
}

/* The nodes of a resources file whose YAML is ROOT into P: 0, or -1 (reported). */
static int resources_nodes(loader *L, const ynode *root, pc_profile *p)
{
	static const char *const keys[] = {"nodes"};
	if (root->kind != YN_MAP)
		return yerr(L, root, "E0504", "a resources file is a mapping with a list of nodes: nodes: [...]");
	int rc = known_keys(L, root, "a resources file", keys, 1);
	const ynode *nodes = get(root, "nodes");
	if (!nodes)
		return yerr(L, root, "E0504", "a resources file needs nodes: [...]");
	if (load_nodes(L, nodes, p) < 0)
		return -1;
	if (p->nnodes == 0)
		return yerr(L, nodes, "E0504", "a resources file needs at least one node");
	return rc;
}

/* Reads the YAML file at PATH into *ROOT with its loader L: 0, -1 (reported), -2 (unreadable, errno). */
static int open_yaml(pc_ctx *ctx, const char *path, loader *L, ynode **root)
{
	int ok;
	uint32_t file = add_file(ctx, path, &ok);
	if (!ok)
		return -2;
	if (!(*root = read_yaml(ctx, file)))
		return -1;
	const char *slash = strrchr(path, '/');
	*L = (loader){ctx, file, slash ? pc_arena_strndup(ctx->arena, path, (size_t)(slash - path)) : "."};
	return 0;
}

static int load_resources_file(loader *L, const ynode *v, pc_profile *p)
{
	if (v->kind != YN_SCALAR)
		return yerr(L, v, "E0504", "resources is the path of a resources file");
	pc_buf path = {0};
	if (v->text[0] != '/' && strcmp(L->dir, ".") != 0)
		pc_buf_printf(&path, "%s/", L->dir);
	pc_buf_adds(&path, v->text);
	int ok;
	uint32_t file = add_file(L->ctx, path.data, &ok);
	if (!ok) {
		int e = errno;
		yerr(L, v, "E0505", "cannot read the resources file %s: %s", path.data, strerror(e));
		pc_buf_free(&path);
		return -1;
	}
	pc_buf_free(&path);
	ynode *root = read_yaml(L->ctx, file);
	if (!root)
		return -1;
	loader sub = {L->ctx, file, L->dir};
	return resources_nodes(&sub, root, p);
}

int pc_profile_load(pc_ctx *ctx, const char *path, const char *name, pc_profile *out)
{
	memset(out, 0, sizeof *out);
	loader L;
	ynode *root;
	int opened = open_yaml(ctx, path, &L, &root);
	if (opened < 0)
		return opened;
	uint32_t file = L.file;
	static const char *const top_keys[] = {"profiles"};
	if (root->kind != YN_MAP)
		return yerr(&L, root, "E0504", "pipec.yaml is a mapping with profiles: { NAME: {...} }");
	/* problems anywhere in the file are reported; only the chosen profile's
	 * own problems keep it from being used */
	known_keys(&L, root, "pipec.yaml", top_keys, 1);
	int rc = 0;
	const ynode *profiles = get(root, "profiles");
	if (!profiles || profiles->kind != YN_MAP)
		return yerr(&L, profiles ? profiles : root, "E0504", "pipec.yaml needs profiles: { NAME: {...} }");
	static const char *const keys[] = {"backend", "parallelism", "nodes", "resources", "context",
					   "namespace", "volume"};
	const ynode *chosen = NULL;
	pc_buf names = {0};
	for (uint32_t i = 0; i + 1 < profiles->n; i += 2) {
		const ynode *k = profiles->items[i], *v = profiles->items[i + 1];
		if (k->kind != YN_SCALAR)
			continue;
		pc_buf_printf(&names, "%s%s", names.len ? ", " : "", k->text);
		if (v->kind != YN_MAP) {
			yerr(&L, v, "E0504", "profile '%s' is a mapping of settings", k->text);
			if (strcmp(k->text, name) == 0)
				rc = -1, chosen = v;
			continue;
		}
		char what[128];
		snprintf(what, sizeof what, "profile '%s'", k->text);
		int bad = known_keys(&L, v, what, keys, sizeof keys / sizeof keys[0]) < 0;
		if (strcmp(k->text, name) == 0) {
			chosen = v;
			if (bad)
				rc = -1;
		}
	}
	if (chosen && chosen->kind != YN_MAP)
		return -1;
	if (!chosen) {
		pc_diag *d = pc_diag_emit(ctx, PC_SEV_ERROR, "E0505", yspan(&(yreader){.file = file}, profiles),
					  "no profile '%s' in %s", name, path);
		pc_diag_note(ctx, d, "the profiles are %s", names.len ? names.data : "(none)");
		pc_buf_free(&names);
		return -1;
	}
	pc_buf_free(&names);
	out->name = pc_arena_strndup(ctx->arena, name, strlen(name));
	out->backend = "local";
	const ynode *v;
	if ((v = get(chosen, "backend"))) {
		if (v->kind != YN_SCALAR || (strcmp(v->text, "local") && strcmp(v->text, "kubernetes") && strcmp(v->text, "sim")))
			rc = yerr(&L, v, "E0504", "backend is local, kubernetes or sim");
		else
			out->backend = v->text;
	}
	double par;
	if ((v = get(chosen, "parallelism"))) {
		if (get_number(&L, v, "parallelism", &par, 1) < 0 || par < 1)
			rc = -1;
		else
			out->parallelism = (int)par;
	}
	if ((v = get(chosen, "nodes")) && load_nodes(&L, v, out) < 0)
		rc = -1;
	if ((v = get(chosen, "resources")) && load_resources_file(&L, v, out) < 0)
		rc = -1;
	if (rc == 0 && out->nnodes == 0)
		rc = yerr(&L, chosen, "E0504", "profile '%s' has no nodes (give nodes: or resources:)", name);
	return rc;
}

int pc_resources_json(pc_ctx *ctx, const char *path, char **json)
{
	*json = NULL;
	loader L;
	ynode *root;
	int opened = open_yaml(ctx, path, &L, &root);
	if (opened < 0)
		return opened;
	pc_profile p = {0};
	if (resources_nodes(&L, root, &p) < 0) {
		pc_profile_free(&p);
		return -1;
	}
	/* one entry per node and per device: counts expanded, names made unique */
	json_t *a = json_array();
	for (uint32_t i = 0; i < p.nnodes; i++) {
		const pc_node *n = &p.nodes[i];
		for (int c = 0; c < n->count; c++) {
			json_t *o = json_object();
			char name[512];
			if (n->count > 1)
				snprintf(name, sizeof name, "%s-%d", n->name, c + 1);
			else
				snprintf(name, sizeof name, "%s", n->name);
			json_object_set_new(o, "name", json_string(name));
			json_object_set_new(o, "cpu", json_real(n->cpu));
			json_object_set_new(o, "memory", json_real((double)n->memory));
			json_t *gs = json_array();
			for (uint32_t g = 0; g < n->ngpus; g++)
				for (int k = 0; k < n->gpus[g].count; k++) {
					json_t *d = json_object();
					json_object_set_new(d, "type", json_string(n->gpus[g].type));
					json_object_set_new(d, "memory", json_real((double)n->gpus[g].memory));
					if (n->gpus[g].peers)
						json_object_set_new(d, "peers", json_string(n->gpus[g].peers));
					json_array_append_new(gs, d);
				}
			json_object_set_new(o, "gpus", gs);
			json_array_append_new(a, o);
		}
	}
	pc_profile_free(&p);
	*json = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return 0;
}

void pc_profile_free(pc_profile *p)
{
	for (uint32_t i = 0; i < p->nnodes; i++)
		free(p->nodes[i].gpus);
	free(p->nodes);
	memset(p, 0, sizeof *p);
}

/* ---- feasibility ------------------------------------------------------------ */

/* Whether node N can ever hold request R. */
static int fits(const pc_node *n, const pc_request *r)
{
	if (r->cpu > n->cpu + 1e-9 || r->memory > n->memory || (r->disk && n->disk && r->disk > n->disk))
		return 0;
	if (r->gpu <= 0)
		return 1;
	int need = r->gpu < 1 ? 1 : (int)ceil(r->gpu);
	int have = 0;
	for (uint32_t i = 0; i < n->ngpus; i++) {
		const pc_gpu *g = &n->gpus[i];
		if (r->gpu_type && *r->gpu_type && strcmp(r->gpu_type, g->type) != 0)
			continue;
		if (r->gpu_memory > g->memory)
			continue;
		have += g->count;
	}
	return have >= need;
}

static void size_text(pc_buf *b, int64_t v)
{
	pc_av_print_value(b, PC_T_SIZE, (long double)v);
}

int pc_profile_check(pc_ctx *ctx, const pc_profile *p, const pc_request *r, pc_span at,
		     const char *stage)
{
	for (uint32_t i = 0; i < p->nnodes; i++)
		if (fits(&p->nodes[i], r))
			return 0;
	pc_buf req = {0};
	if (r->cpu > 0)
		pc_buf_printf(&req, "cpu: %g", r->cpu);
	if (r->memory) {
		pc_buf_adds(&req, req.len ? ", memory: " : "memory: ");
		size_text(&req, r->memory);
	}
	if (r->gpu > 0)
		pc_buf_printf(&req, "%sgpu: %g", req.len ? ", " : "", r->gpu);
	if (r->gpu_memory) {
		pc_buf_adds(&req, req.len ? ", gpu_memory: " : "gpu_memory: ");
		size_text(&req, r->gpu_memory);
	}
	if (r->gpu_type && *r->gpu_type)
		pc_buf_printf(&req, "%sgpu_type: \"%s\"", req.len ? ", " : "", r->gpu_type);
	pc_diag *d = pc_diag_emit(ctx, PC_SEV_ERROR, "E0501", at,
				  "stage '%s' asks for { %s }, which no node of profile '%s' can hold", stage,
				  req.data ? req.data : "", p->name);
	pc_buf_free(&req);
	/* the largest offer of each dimension that is short */
	const pc_node *cpu = NULL, *mem = NULL;
	const pc_gpu *gmem = NULL;
	const pc_node *gmem_node = NULL, *gcount_node = NULL;
	int gcount = -1;
	for (uint32_t i = 0; i < p->nnodes; i++) {
		const pc_node *n = &p->nodes[i];
		if (!cpu || n->cpu > cpu->cpu)
			cpu = n;
		if (!mem || n->memory > mem->memory)
			mem = n;
		int have = 0;
		for (uint32_t j = 0; j < n->ngpus; j++) {
			const pc_gpu *g = &n->gpus[j];
			if (r->gpu_type && *r->gpu_type && strcmp(r->gpu_type, g->type) != 0)
				continue;
			if (!gmem || g->memory > gmem->memory)
				gmem = g, gmem_node = n;
			if (r->gpu_memory <= g->memory)
				have += g->count;
		}
		if (have > gcount)
			gcount = have, gcount_node = n;
	}
	int explained = 0;
	if (cpu && r->cpu > cpu->cpu) {
		pc_diag_note(ctx, d, "cpu: %g is more than the largest offer, %g on node '%s'", r->cpu, cpu->cpu, cpu->name);
		explained = 1;
	}
	if (mem && r->memory > mem->memory) {
		pc_buf a = {0}, b = {0};
		size_text(&a, r->memory);
		size_text(&b, mem->memory);
		pc_diag_note(ctx, d, "memory: %s is more than the largest offer, %s on node '%s'", a.data, b.data, mem->name);
		pc_buf_free(&a);
		pc_buf_free(&b);
		explained = 1;
	}
	if (r->gpu > 0) {
		if (!gmem) {
			pc_diag_note(ctx, d, "no node of profile '%s' has a GPU%s%s", p->name,
				     r->gpu_type && *r->gpu_type ? " of type " : "", r->gpu_type ? r->gpu_type : "");
			explained = 1;
		} else if (r->gpu_memory > gmem->memory) {
			pc_buf a = {0}, b = {0};
			size_text(&a, r->gpu_memory);
			size_text(&b, gmem->memory);
			pc_diag_note(ctx, d, "gpu_memory: %s is more than the largest GPU, %s (%s on node '%s')", a.data, b.data,
				     gmem->type, gmem_node->name);
			pc_buf_free(&a);
			pc_buf_free(&b);
			explained = 1;
		} else {
			int need = r->gpu < 1 ? 1 : (int)ceil(r->gpu);
			if (gcount < need) {
				pc_diag_note(ctx, d, "gpu: %g is more than the most GPUs one node offers, %d on node '%s'",
					     r->gpu, gcount, gcount_node ? gcount_node->name : "?");
				explained = 1;
			}
		}
	}
	if (!explained)
		pc_diag_note(ctx, d, "each part fits some node, but no single node offers all of them together");
	return -1;
}
