/*
 * cmd-run.c - pipec run and pipec resume: run a pipeline here, or go on
 * with a run whose runtime died.
 *
 * pipec run takes a FILE.pipe, which it checks and builds in memory as
 * pipec build would, or a PLAN (a plan's JSON, read as it is).  Both
 * commands share their run flags (run_flags: jobs, the state directory,
 * the resources file, the sandbox, how progress is shown) and hand the
 * plan or the run number to the runtime (pr_run, pr_resume), then print
 * its summary: a line on standard error and the result on standard
 * output, or one JSON object with --format json.  The runtime's exit
 * status is the command's, except that a plan or store it cannot use is 2.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "pipec-runtime.h"

const char cmd_run_usage[] =
	"usage: pipec run FILE.pipe|PLAN [-p name=value]... [-j N] [--state-dir DIR]\n"
	"                 [--resources FILE] [--no-sandbox] [--format json]\n"
	"\n"
	"Run a pipeline on this machine: FILE.pipe is checked and built first (as by\n"
	"pipec build), a PLAN (JSON from pipec build) is run as it is. Each task's\n"
	"transitions are recorded in DIR/.pipec/state.db; results whose inputs,\n"
	"command and stage are unchanged are taken from the cache. A run of the same\n"
	"plan as the last run, which succeeded, with every result it needs still in\n"
	"the cache and its input files unchanged, repeats it: one row in the store,\n"
	"every task cached (docs/running.md).\n"
	"\n"
	"options:\n"
	"  -p, --param NAME=VALUE  a parameter (FILE.pipe only), as for pipec build\n"
	"  -j, --jobs N      tasks at once (default: the number of cores)\n"
	"  --state-dir DIR   where .pipec/ lives (default: the current directory);\n"
	"                    made, with its parents, if it is missing\n"
	"  --resources FILE  place tasks on the nodes and GPUs this resources file\n"
	"                    describes (simulated: the tasks still run here) instead of\n"
	"                    this machine's cores, memory and GPUs\n"
	"  --no-sandbox      run tasks as plain processes: no namespaces, no read-only\n"
	"                    root, no cgroup limits (docs/running.md, \"The sandbox\")\n"
	"  --format json     print one JSON object at the end: run, status, result, and\n"
	"                    the number of tasks in each final state\n"
	"  --progress WHEN   auto (default), live or lines: live redraws a compact view\n"
	"                    on standard error (a bar, the count in each state, the\n"
	"                    running tasks and how long each has run) and prints a line\n"
	"                    only for failures and retries; lines prints one line per\n"
	"                    transition; auto is live when standard error is a terminal\n"
	"  --quiet           neither: nothing on standard error but the final summary\n"
	"  --pipeline NAME, --stdlib DIR  as for pipec build\n"
	"  -h, --help        show this help\n"
	"\n"
	"exit status: 0 succeeded, 1 failed or cancelled, 2 usage or environment error.\n";

/* The largest plan pipec run reads (a plan of 100,000 tasks is some 50 MiB). */
#define MAX_PLAN ((size_t)1 << 30)

enum { OPT_STATE_DIR = 256, OPT_RFORMAT, OPT_QUIET, OPT_PROGRESS, OPT_RESOURCES, OPT_NO_SANDBOX, OPT_PIPELINE, OPT_STDLIB };

/* --progress WHEN: 1 for the live view, 0 for a line per transition, -1 unknown. */
static int parse_progress(const char *when)
{
	if (strcmp(when, "live") == 0)
		return 1;
	if (strcmp(when, "lines") == 0)
		return 0;
	if (strcmp(when, "auto") == 0) {
		const char *term = getenv("TERM");
		return isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
	}
	return -1;
}

/* The options pipec run and pipec resume share. */
typedef struct run_flags {
	const char *state;
	long jobs;
	int json, quiet, live;
	int no_sandbox;
	const char *resources; /* --resources FILE */
	char *nodes;           /* its nodes as JSON (load_resources) */
} run_flags;

/* The long options run and resume share (the ones run_flag() takes). */
#define RUN_FLAG_OPTIONS                                                                                      \
	{"jobs", required_argument, NULL, 'j'}, {"state-dir", required_argument, NULL, OPT_STATE_DIR},            \
		{"format", required_argument, NULL, OPT_RFORMAT}, {"quiet", no_argument, NULL, OPT_QUIET},        \
		{"progress", required_argument, NULL, OPT_PROGRESS},                                              \
		{"resources", required_argument, NULL, OPT_RESOURCES}, {"no-sandbox", no_argument, NULL, OPT_NO_SANDBOX}

static run_flags run_flags_default(void)
{
	return (run_flags){.state = ".", .jobs = sysconf(_SC_NPROCESSORS_ONLN), .live = parse_progress("auto")};
}

/*
 * Takes option C (from getopt_long) into F if it is one of the shared ones.
 * Returns 1 taken, 0 not a shared option, or -1 after saying what is wrong
 * with its argument (as a usage error of command NAME).
 */
static int run_flag(run_flags *f, int c, const char *name)
{
	char *end;
	switch (c) {
	case 'j':
		f->jobs = strtol(optarg, &end, 10);
		if (*end || f->jobs < 1 || f->jobs > 4096)
			return cli_usage_error(name, "-j '%s': give a number of tasks from 1 to 4096", optarg), -1;
		return 1;
	case OPT_STATE_DIR: f->state = optarg; return 1;
	case OPT_RFORMAT:
		if (strcmp(optarg, "json") != 0)
			return cli_usage_error(name, "unknown --format '%s' (expected json)", optarg), -1;
		f->json = 1;
		return 1;
	case OPT_QUIET: f->quiet = 1; return 1;
	case OPT_RESOURCES: f->resources = optarg; return 1;
	case OPT_NO_SANDBOX: f->no_sandbox = 1; return 1;
	case OPT_PROGRESS:
		if ((f->live = parse_progress(optarg)) < 0)
			return cli_usage_error(name, "unknown --progress '%s' (expected auto, live or lines)", optarg), -1;
		return 1;
	default: return 0;
	}
}

/* Reads --resources FILE into F->nodes; 0, or EXIT_USAGE after saying what is wrong with it. */
static int load_resources(run_flags *f)
{
	if (!f->resources)
		return 0;
	const char *why = cli_unreadable(f->resources, PC_MAX_SOURCE);
	if (why) {
		fprintf(stderr, "pipec: cannot read the resources file '%s': %s\n", f->resources, why);
		return EXIT_USAGE;
	}
	pc_ctx *ctx = pc_ctx_new();
	int rc = pc_resources_json(ctx, f->resources, &f->nodes);
	if (rc == -2)
		fprintf(stderr, "pipec: cannot read the resources file '%s': %s\n", f->resources, strerror(errno));
	else if (rc != 0 && !pc_error_count(ctx)) /* nothing in it, not even a mistake */
		fprintf(stderr, "pipec: the resources file '%s' is empty: it needs nodes: [...]\n", f->resources);
	if (pc_diag_count(ctx))
		pc_diag_render(ctx, stderr, PC_FORMAT_HUMAN, cli_want_color("auto"));
	pc_ctx_free(ctx);
	return rc == 0 ? 0 : EXIT_USAGE;
}

static pr_options run_flags_options(const run_flags *f)
{
	return (pr_options){.state_dir = f->state, .jobs = (int)f->jobs, .log = f->quiet ? NULL : stderr, .live = f->live,
			    .nodes = f->nodes, .no_sandbox = f->no_sandbox,
#if !defined(__SANITIZE_ADDRESS__) /* where leaks are looked for, everything is freed */
			    .exiting = 1
#endif
	};
}

static void print_summary(const pr_summary *sum, int json)
{
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "run", json_integer(sum->run));
		json_object_set_new(o, "status", json_string(sum->status));
		json_t *res = json_loads(sum->result ? sum->result : "null", JSON_DECODE_ANY, NULL);
		json_object_set_new(o, "result", res ? res : json_null());
		json_t *t = json_object();
		json_object_set_new(t, "succeeded", json_integer(sum->succeeded));
		json_object_set_new(t, "cached", json_integer(sum->cached));
		json_object_set_new(t, "failed", json_integer(sum->failed));
		json_object_set_new(t, "error", json_integer(sum->error));
		json_object_set_new(t, "skipped", json_integer(sum->skipped));
		json_object_set_new(t, "cancelled", json_integer(sum->cancelled));
		json_object_set_new(o, "tasks", t);
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		fprintf(stderr, "pipec: run %ld %s: %d succeeded, %d cached, %d failed, %d error, %d skipped, %d cancelled\n",
			sum->run, sum->status, sum->succeeded, sum->cached, sum->failed, sum->error, sum->skipped,
			sum->cancelled);
		printf("%s\n", sum->result ? sum->result : "null");
	}
}

const char cmd_resume_usage[] =
	"usage: pipec resume [RUN] [-j N] [--state-dir DIR] [--resources FILE]\n"
	"                    [--no-sandbox] [--format json] [--progress WHEN] [--quiet]\n"
	"\n"
	"Resume run RUN (default: the latest that did not finish) of the store in\n"
	"DIR/.pipec: what committed keeps its results and never runs again; a task\n"
	"that was running is adopted if its process still lives, accepted if it\n"
	"finished meanwhile, and tried again otherwise.\n"
	"\n"
	"options: -j N, --state-dir DIR, --resources FILE, --no-sandbox, --format json,\n"
	"--progress WHEN, --quiet as for pipec run.\n"
	"exit status: 0 succeeded, 1 failed or cancelled, 2 usage or environment error.\n";

/* What pr_run() or pr_resume() returned (RC, *SUM, ERR: freed), said as the command's end: its exit status. */
static int outcome(int rc, pr_summary *sum, char *err, int json)
{
	if (rc == 2) {
		if (err) /* without one the runtime has said what went wrong */
			fprintf(stderr, "pipec: %s\n", err);
		free(err);
		free(sum->result);
		return EXIT_USAGE;
	}
	print_summary(sum, json);
	pr_summary_free(sum);
	return rc;
}

int cmd_resume(const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
		RUN_FLAG_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	run_flags f = run_flags_default();
	long run = 0;
	int c, taken;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hj:", opts, NULL)) != -1) {
		if ((taken = run_flag(&f, c, name)) < 0)
			return EXIT_USAGE;
		if (taken)
			continue;
		if (c == 'h') {
			fputs(cmd_resume_usage, stdout);
			return 0;
		}
		return cli_bad_option(name, argv, opts, c);
	}
	if (optind < argc) {
		char *end;
		run = strtol(argv[optind], &end, 10);
		if (*end || run < 1 || optind + 1 < argc)
			return cli_usage_error(name, "'%s' is not a run number", argv[optind]);
	}
	if (cli_state_dir(name, f.state, 0))
		return EXIT_USAGE;
	if (load_resources(&f))
		return EXIT_USAGE;
	pr_options opt = run_flags_options(&f);
	pr_summary sum = {0};
	char *err = NULL;
	int rc = pr_resume(run, &opt, &sum, &err);
	free(f.nodes);
	return outcome(rc, &sum, err, f.json);
}

int cmd_run(const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
		{"param", required_argument, NULL, 'p'},
		RUN_FLAG_OPTIONS,
		{"pipeline", required_argument, NULL, OPT_PIPELINE},
		{"stdlib", required_argument, NULL, OPT_STDLIB},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *params[256];
	size_t nparams = 0;
	char *stdlib[32];
	size_t nstdlib = 0;
	const char *pipeline = "main";
	run_flags f = run_flags_default();
	int c, taken;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hp:j:", opts, NULL)) != -1) {
		if ((taken = run_flag(&f, c, name)) < 0)
			return EXIT_USAGE;
		if (taken)
			continue;
		switch (c) {
		case 'p':
			if (nparams < 256)
				params[nparams++] = optarg;
			break;
		case OPT_PIPELINE: pipeline = optarg; break;
		case OPT_STDLIB:
			if (cli_add_stdlib(name, stdlib, &nstdlib))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(cmd_run_usage, stdout);
			return 0;
		default:
			return cli_bad_option(name, argv, opts, c);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(name, "%s", "give one FILE.pipe or PLAN");
	const char *file = argv[optind];
	if (cli_state_dir(name, f.state, 1))
		return EXIT_USAGE;
	char *plan = NULL;
	size_t len = 0;
	size_t flen = strlen(file);
	if (flen > 5 && strcmp(file + flen - 5, ".pipe") == 0) {
		pc_ctx *ctx = pc_ctx_new();
		cli_set_stdlib(ctx, stdlib, nstdlib);
		if (pc_check_file(ctx, file) != 0) {
			fprintf(stderr, "pipec: cannot read '%s': %s\n", file, cli_read_why(file, PC_MAX_SOURCE));
			pc_ctx_free(ctx);
			return EXIT_USAGE;
		}
		int rc = EXIT_ERRORS;
		if (!pc_error_count(ctx)) {
			FILE *mem = open_memstream(&plan, &len);
			char *err = NULL;
			rc = pc_build_plan(ctx, file, pipeline, params, nparams, mem, &err);
			fclose(mem);
			if (err) {
				fprintf(stderr, "pipec: %s\n", err);
				free(err);
			}
		}
		if (pc_diag_count(ctx))
			pc_diag_render(ctx, stderr, PC_FORMAT_HUMAN, cli_want_color("auto"));
		pc_ctx_free(ctx);
		if (rc != 0) {
			free(plan);
			return rc;
		}
	} else {
		if (nparams)
			return cli_usage_error(name, "%s", "-p applies to a FILE.pipe; a plan has its parameters");
		const char *why;
		if (pc_read_file(file, MAX_PLAN, &plan, &len, &why) != 0) {
			fprintf(stderr, "pipec: cannot read '%s': %s\n", file, why);
			return EXIT_USAGE;
		}
	}
	if (load_resources(&f)) {
		free(plan);
		return EXIT_USAGE;
	}
	pr_options opt = run_flags_options(&f);
	pr_summary sum = {0};
	char *err = NULL;
	int rc = pr_run(plan, len, &opt, &sum, &err);
	free(plan);
	free(f.nodes);
	return outcome(rc, &sum, err, f.json);
}

