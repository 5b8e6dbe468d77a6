/*
 * cmd-report.c - pipec runs, show, why, lineage and cancel: the commands
 * that read a run's store (DIR/.pipec) rather than run anything.
 *
 * They share their options (--state-dir, --format json, --run) and their
 * usage text; this file checks the arguments each takes (a run number, a
 * task, a path) and hands the rest to the runtime's report functions,
 * which print to standard output.  pipec cancel is here too: it asks a
 * run's runtime to stop, or records the run as cancelled when the runtime
 * is gone; a run number that the store does not have is refused first.
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

enum { OPT_STATE_DIR = 256, OPT_RFORMAT };

const char cmd_report_usage[] =
	"usage: pipec runs [--state-dir DIR] [--format json]\n"
	"       pipec show [RUN] [--state-dir DIR] [--format json]\n"
	"       pipec why TASK [--run RUN] [--state-dir DIR] [--format json]\n"
	"       pipec lineage PATH|TASK [--state-dir DIR] [--format json]\n"
	"       pipec cancel [RUN] [--state-dir DIR]\n"
	"\n"
	"Read the store in DIR/.pipec (default: the current directory):\n"
	"  runs     every run: status, times, tasks\n"
	"  show     the tasks of a run (default: the latest): state, attempts, exit\n"
	"           code, seconds, and the last detail (a failure's reason)\n"
	"  why      why a task ran rather than being taken from the cache: which part\n"
	"           of its key (command, an input's content, ...) changed since the\n"
	"           last run that had it\n"
	"  lineage  what made an output file (or a task): the tasks upstream, their\n"
	"           commands and inputs, the run's parameters; and what it fed\n"
	"  cancel   stop a run: its runtime kills its tasks and records the run as\n"
	"           cancelled (or, if the runtime is gone, pipec cancel does)\n";

/*
 * Whether the store in STATE has run RUN, asked through the runs report:
 * 1 yes, 0 no, or 2 with *ERR when the store cannot be read.  (pr_cancel()
 * takes any number: for one that is not there it would signal the live
 * runtime of another run, or say nothing.)
 */
static int run_exists(const char *state, long run, char **err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem)
		return *err = strdup("out of memory"), 2;
	int rc = pr_report_runs(state, 1, mem, err);
	fclose(mem);
	json_t *runs = rc == 0 ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (rc != 0)
		return 2;
	int found = 0;
	size_t i;
	json_t *r;
	json_array_foreach(runs, i, r)
		found |= json_integer_value(json_object_get(r, "run")) == run;
	json_decref(runs);
	return found;
}

int cmd_report(const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"format", required_argument, NULL, OPT_RFORMAT},
		{"run", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *state = ".";
	int json = 0, c;
	long run = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE_DIR: state = optarg; break;
		case OPT_RFORMAT:
			if (strcmp(optarg, "json") != 0)
				return cli_usage_error(cmd, "unknown --format '%s' (expected json)", optarg);
			json = 1;
			break;
		case 'r': {
			char *end;
			run = strtol(optarg, &end, 10);
			if (*end || run < 1)
				return cli_usage_error(cmd, "'%s' is not a run number", optarg);
			break;
		}
		case 'h':
			fputs(cmd_report_usage, stdout);
			return 0;
		default:
			return cli_bad_option(cmd, argv, opts, c);
		}
	}
	const char *arg = optind < argc ? argv[optind] : NULL;
	if (optind + 1 < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
	int needs = !strcmp(cmd, "why") || !strcmp(cmd, "lineage");
	if (needs && !arg)
		return cli_usage_error(cmd, "%s", strcmp(cmd, "why") == 0 ? "give a TASK" : "give an output PATH or a TASK");
	if (!needs && arg && strcmp(cmd, "runs") != 0) {
		char *end;
		run = strtol(arg, &end, 10);
		if (*end || run < 1)
			return cli_usage_error(cmd, "'%s' is not a run number", arg);
	} else if (!needs && arg) {
		return cli_usage_error(cmd, "unexpected argument '%s'", arg);
	}
	char *err = NULL;
	int rc;
	if (!strcmp(cmd, "runs"))
		rc = pr_report_runs(state, json, stdout, &err);
	else if (!strcmp(cmd, "show"))
		rc = pr_report_show(state, run, json, stdout, &err);
	else if (!strcmp(cmd, "why"))
		rc = pr_report_why_format(state, arg, run, json, stdout, &err);
	else if (!strcmp(cmd, "lineage"))
		rc = pr_report_lineage(state, arg, json, stdout, &err);
	else if (run && (rc = run_exists(state, run, &err)) != 1) {
		if (rc == 0) {
			fprintf(stderr, "pipec cancel: no run %ld in %s\n", run, state);
			return EXIT_USAGE;
		}
	} else {
		rc = pr_cancel(state, run, &err);
	}
	if (rc) {
		fprintf(stderr, "pipec: %s\n", err ? err : "failed");
		free(err);
		return EXIT_USAGE;
	}
	return 0;
}

