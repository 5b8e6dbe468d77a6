/*
 * main.c - the `pipec` command: its table of commands and the dispatch.
 *
 * pipec is a thin driver over the compiler and runtime libraries, which it
 * calls through their public headers only.  The commands are written once,
 * in the table below, in the order `pipec --help` lists them; the same
 * table finds a command to run, the text `pipec help NAME` and `pipec NAME
 * --help` print, and the list in `pipec --help`.  Each command lives in a
 * file of its own (cmd-*.c); the options several of them share are parsed
 * by cli.c.
 *
 * Before a command runs, `-h` or `--help` anywhere among its arguments
 * (before a `--`) prints its usage instead.  `help` is the exception: its
 * argument is a command's name.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static int cmd_help(const char *name, int argc, char **argv);

static const cli_command commands[] = {
	{"check", "check FILE...", "parse FILE(s) and report every error found", cmd_check_usage, cmd_check},
	{"build", "build FILE", "compile FILE's pipeline to a plan (JSON) for the runtime", cmd_build_usage, cmd_build},
	{"graph", "graph FILE", "print the pipeline's task graph (dot or mermaid)", cmd_graph_usage, cmd_graph},
	{"run", "run FILE|PLAN", "build and run a pipeline here, each task in a sandbox, or run a built plan",
	 cmd_run_usage, cmd_run},
	{"resume", "resume [RUN]", "resume a run whose runtime died, where it left off", cmd_resume_usage, cmd_resume},
	{"runs", "runs, show [RUN]", "the runs in the store; the tasks of one", cmd_report_usage, cmd_report},
	{"show", NULL, NULL, cmd_report_usage, cmd_report},
	{"why", "why TASK", "why a task ran rather than being taken from the cache", cmd_report_usage, cmd_report},
	{"lineage", "lineage PATH|TASK", "what made an output, and what it fed", cmd_report_usage, cmd_report},
	{"cancel", "cancel [RUN]", "stop a run", cmd_report_usage, cmd_report},
	{"fmt", "fmt FILE...", "print FILE(s) in the canonical layout (or check, or rewrite)", cmd_fmt_usage, cmd_fmt},
	{"help", "help [COMMAND]", "show this help, or a command's", NULL, cmd_help},
};

const cli_command *main_command(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void main_print_usage(FILE *out)
{
	fputs("usage: pipec <command> [options] [arguments]\n"
	      "\n"
	      "pipec compiles and runs typed workflow pipelines written in .pipe files.\n"
	      "\n"
	      "commands:\n",
	      out);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].synopsis)
			fprintf(out, "  %-17s %s\n", commands[i].synopsis, commands[i].summary);
	fputs("\n"
	      "options:\n"
	      "  -h, --help        show this help\n"
	      "  -V, --version     print the version and exit\n"
	      "  --list-keywords   print the language's reserved words, one per line\n"
	      "\n"
	      "exit status: 0 ok, 1 errors in the input, 2 usage or I/O error.\n"
	      "See pipec(1) and docs/language.md.\n",
	      out);
}

/* pipec help [COMMAND]: the main help, or COMMAND's. */
static int cmd_help(const char *name, int argc, char **argv)
{
	(void)name;
	const cli_command *c = argc > 1 ? main_command(argv[1]) : NULL;
	if (argc > 1 && !c)
		return cli_usage_error(NULL, "no command '%s'", argv[1]);
	if (c && c->usage)
		fputs(c->usage, stdout);
	else
		main_print_usage(stdout);
	return 0;
}

/* Whether -h or --help comes among ARGV's arguments before any "--". */
static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(NULL, "%s", "a command is needed");
	const char *name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
		main_print_usage(stdout);
		return 0;
	}
	if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
		printf("pipec %s\n", pc_version());
		return 0;
	}
	if (strcmp(name, "--list-keywords") == 0) {
		size_t n;
		const char *const *k = pc_keywords(&n);
		for (size_t i = 0; i < n; i++)
			printf("%s\n", k[i]);
		return 0;
	}
	const cli_command *c = main_command(name);
	if (c && c->usage && wants_help(argc - 1, argv + 1)) { /* not help's: its argument is a name */
		fputs(c->usage, stdout);
		return 0;
	}
	if (c)
		return c->run(name, argc - 1, argv + 1);
	if (name[0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", name);
	return cli_usage_error(NULL, "no command '%s'", name);
}
