/*
 * cmd-build.c - pipec build: check a .pipe file and compile its pipeline to
 * a plan.
 *
 * build_compile() is the whole of the work, and pipec graph shares it: it
 * parses the options both take, loads the profile (--profile), checks the
 * file and the modules it imports, and lowers the chosen pipeline with the
 * -p parameters.  The plan goes to standard output, or is built in memory
 * and written whole to -o PLAN by files_write() (a reader never sees half a
 * plan; a link, a device or a file's mode stays what it was); for graph it
 * is kept in memory instead.  Diagnostics are rendered once, at the end,
 * and an error count closes them.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char cmd_build_usage[] =
	"usage: pipec build FILE [-p name=value]... [-o PLAN] [options]\n"
	"\n"
	"Check FILE and compile its pipeline, with the given parameters, to a plan:\n"
	"versioned JSON with the tasks, their commands, inputs, outputs, resources\n"
	"and dependencies, and the run-time pieces (see docs/plan.md). The same\n"
	"source and parameters always give the same bytes.\n"
	"\n"
	"options:\n"
	"  -p, --param NAME=VALUE  a parameter of the pipeline, parsed by its type\n"
	"                    (42, 0.5, true, 4GiB, 30m, text; lists and records as JSON);\n"
	"                    parameters not given take their defaults\n"
	"  -o, --output PLAN write the plan to PLAN (default: standard output)\n"
	"  --pipeline NAME   the pipeline to build (default: main)\n"
	"  --strict, --profile NAME, --config FILE, --stdlib DIR, --color WHEN\n"
	"                    as for pipec check\n"
	"  -h, --help        show this help\n"
	"\n"
	"exit status: 0 built, 1 errors in the program, 2 a bad parameter, usage or I/O error.\n";

enum { OPT_PIPELINE = 256, OPT_GFORMAT, OPT_STRICT, OPT_PROFILE, OPT_CONFIG, OPT_STDLIB, OPT_COLOR };

int build_compile(const char *name, int argc, char **argv, const char **graph_format, char **plan)
{
	static const struct option opts[] = {
		{"param", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"pipeline", required_argument, NULL, OPT_PIPELINE},
		{"format", required_argument, NULL, OPT_GFORMAT},
		{"strict", no_argument, NULL, OPT_STRICT},
		{"profile", required_argument, NULL, OPT_PROFILE},
		{"config", required_argument, NULL, OPT_CONFIG},
		{"stdlib", required_argument, NULL, OPT_STDLIB},
		{"color", required_argument, NULL, OPT_COLOR},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *params[256];
	size_t nparams = 0;
	char *stdlib[32];
	size_t nstdlib = 0;
	const char *pipeline = "main", *profile = NULL, *config = NULL, *color = "auto";
	const char *output = NULL; /* -o */
	int graph = graph_format != NULL, strict = 0, c;
	*plan = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hp:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (nparams < 256)
				params[nparams++] = optarg;
			break;
		case 'o':
			if (graph)
				return cli_usage_error(name, "unknown option '%s'", "-o");
			output = optarg;
			break;
		case OPT_PIPELINE: pipeline = optarg; break;
		case OPT_GFORMAT:
			if (!graph)
				return cli_usage_error(name, "unknown option '%s'", "--format");
			if (strcmp(optarg, "dot") != 0 && strcmp(optarg, "mermaid") != 0)
				return cli_usage_error(name, "unknown --format '%s' (expected dot or mermaid)", optarg);
			*graph_format = optarg;
			break;
		case OPT_STRICT: strict = 1; break;
		case OPT_PROFILE: profile = optarg; break;
		case OPT_CONFIG: config = optarg; break;
		case OPT_STDLIB:
			if (cli_add_stdlib(name, stdlib, &nstdlib))
				return EXIT_USAGE;
			break;
		case OPT_COLOR:
			if (cli_take_color(name, &color))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(main_command(name)->usage, stdout);
			return 0;
		default:
			return cli_bad_option(name, argv, opts, c);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(name, "%s", "give one FILE");
	const char *file = argv[optind];
	pc_ctx *ctx = pc_ctx_new();
	cli_set_stdlib(ctx, stdlib, nstdlib);
	pc_set_strict(ctx, strict);
	if (profile && cli_use_profile(ctx, config ? config : "pipec.yaml", profile, "")) {
		pc_ctx_free(ctx);
		return EXIT_USAGE;
	}
	if (pc_check_file(ctx, file) != 0) {
		fprintf(stderr, "pipec: cannot read '%s': %s\n", file, cli_read_why(file, PC_MAX_SOURCE));
		pc_ctx_free(ctx);
		return EXIT_USAGE;
	}
	int rc = EXIT_ERRORS;
	if (!pc_error_count(ctx)) {
		char *err = NULL, *mem = NULL;
		size_t memlen = 0;
		/* graph, and a plan for a file (written whole once complete), are built in memory */
		int to_file = !graph && output && strcmp(output, "-") != 0;
		FILE *out = graph || to_file ? open_memstream(&mem, &memlen) : stdout;
		rc = out ? pc_build_plan(ctx, file, pipeline, params, nparams, out, &err) : EXIT_USAGE;
		if (err) {
			fprintf(stderr, "pipec: %s\n", err);
			free(err);
		}
		if (out != stdout && out && fclose(out) != 0 && rc == 0)
			rc = EXIT_USAGE;
		if (graph && rc == 0) {
			*plan = mem;
			mem = NULL;
		} else if (to_file && rc == 0 && files_write(output, mem, memlen) != 0) {
			fprintf(stderr, "pipec: cannot write '%s': %s\n", output, strerror(errno));
			rc = EXIT_USAGE;
		}
		free(mem);
	}
	if (pc_diag_count(ctx))
		pc_diag_render(ctx, stderr, PC_FORMAT_HUMAN, cli_want_color(color));
	if (pc_error_count(ctx)) {
		size_t n = pc_error_count(ctx);
		fprintf(stderr, "pipec: %zu error%s\n", n, n == 1 ? "" : "s");
		rc = EXIT_ERRORS;
	}
	pc_ctx_free(ctx);
	return rc;
}

int cmd_build(const char *name, int argc, char **argv)
{
	char *unused;
	return build_compile(name, argc, argv, NULL, &unused);
}

