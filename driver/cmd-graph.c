/*
 * cmd-graph.c - pipec graph: draw a pipeline's task graph.
 *
 * The pipeline is compiled exactly as pipec build compiles it
 * (build_compile()), and the plan's JSON is read back: a node per task,
 * labelled with its id, its stage and its resources, then an edge per
 * dependency, drawn by kind (data solid, `after` dashed, try/else dotted).
 * Nodes are named t0, t1, ... by their place in the plan's task list, so
 * the same plan always gives the same text, in dot (Graphviz) or mermaid.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

const char cmd_graph_usage[] =
	"usage: pipec graph FILE [-p name=value]... [--format dot|mermaid] [options]\n"
	"\n"
	"Print the task graph of FILE's pipeline: a node per task, labelled with its\n"
	"stage and resources; edges by kind: data (solid), control from after\n"
	"(dashed), error from try/else (dotted).\n"
	"\n"
	"options:\n"
	"  --format FORMAT   dot (default, for Graphviz) or mermaid\n"
	"  -p, --param NAME=VALUE, --pipeline NAME, --stdlib DIR  as for pipec build\n"
	"  -h, --help        show this help\n";

/* A label safe inside double quotes in dot and mermaid. */
static void put_label(FILE *out, const char *s)
{
	for (; *s; s++)
		fputs(*s == '"' ? "'" : *s == '\\' ? "/" : (char[]){*s, 0}, out);
}

static void resources_label(json_t *task, char *buf, size_t n)
{
	json_t *r = json_object_get(task, "resources");
	const char *k;
	json_t *v;
	size_t used = 0;
	buf[0] = 0;
	json_object_foreach(r, k, v) {
		char val[64];
		if (json_is_integer(v))
			snprintf(val, sizeof val, "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			snprintf(val, sizeof val, "%g", json_real_value(v));
		else if (json_is_string(v))
			snprintf(val, sizeof val, "%s", json_string_value(v));
		else
			continue;
		if (!strcmp(k, "memory") || !strcmp(k, "gpu_memory") || !strcmp(k, "disk")) {
			double b = (double)json_integer_value(v);
			const char *u = "B";
			if (b >= 1 << 30)
				b /= 1 << 30, u = "GiB";
			else if (b >= 1 << 20)
				b /= 1 << 20, u = "MiB";
			snprintf(val, sizeof val, "%g%s", b, u);
		}
		used += (size_t)snprintf(buf + used, used < n ? n - used : 0, "%s%s: %s", used ? ", " : "", k, val);
		if (used >= n)
			break;
	}
}

int cmd_graph(const char *name, int argc, char **argv)
{
	char *text;
	const char *format = "dot";
	int rc = build_compile(name, argc, argv, &format, &text);
	if (rc != 0 || !text)
		return rc;
	json_error_t jerr;
	json_t *plan = json_loads(text, 0, &jerr);
	free(text);
	if (!plan)
		return EXIT_USAGE;
	int dot = strcmp(format, "dot") == 0;
	json_t *tasks = json_object_get(plan, "tasks");
	size_t i;
	json_t *t;
	if (dot)
		printf("digraph pipeline {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
	else
		printf("flowchart LR\n");
	json_array_foreach(tasks, i, t) {
		char res[256];
		resources_label(t, res, sizeof res);
		const char *id = json_string_value(json_object_get(t, "id"));
		const char *stage = json_string_value(json_object_get(t, "stage"));
		if (dot) {
			printf("  t%zu [label=\"", i);
			put_label(stdout, id);
			printf("\\n");
			put_label(stdout, stage);
			if (*res) {
				printf("\\n");
				put_label(stdout, res);
			}
			printf("\"];\n");
		} else {
			printf("  t%zu[\"", i);
			put_label(stdout, id);
			printf("<br/>");
			put_label(stdout, stage);
			if (*res) {
				printf("<br/>");
				put_label(stdout, res);
			}
			printf("\"]\n");
		}
	}
	static const char *const kinds[] = {"deps", "after", "fallback_of"};
	json_array_foreach(tasks, i, t) {
		for (int k = 0; k < 3; k++) {
			size_t j;
			json_t *d;
			json_array_foreach(json_object_get(t, kinds[k]), j, d) {
				size_t from;
				json_t *u;
				json_array_foreach(tasks, from, u) {
					if (!json_equal(json_object_get(u, "id"), d))
						continue;
					if (dot)
						printf("  t%zu -> t%zu%s;\n", from, i,
						       k == 0 ? "" : k == 1 ? " [style=dashed, label=\"after\"]"
									    : " [style=dotted, color=red, label=\"else\"]");
					else
						printf("  t%zu %s t%zu\n", from, k == 0 ? "-->" : k == 1 ? "-. after .->" : "-. else .-x", i);
				}
			}
		}
	}
	if (dot)
		printf("}\n");
	json_decref(plan);
	return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}

