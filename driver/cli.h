/*
 * cli.h - what the files of the `pipec` driver share.
 *
 * The driver is one command table (main.c) and one file per command
 * (cmd-*.c).  A command is a function `int cmd_NAME(name, argc, argv)`:
 * ARGV[0] is the command's name, the rest its arguments; it returns the exit
 * status every command shares:
 *
 *   0  ok            1  the input has errors (or is not formatted)
 *   2  usage error, or a file that cannot be read or written
 *
 * The helpers here parse the options several commands take (--color,
 * --stdlib) and report usage errors the same way everywhere.
 */
#ifndef PIPEC_DRIVER_CLI_H
#define PIPEC_DRIVER_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "pipec-compiler.h"

#define EXIT_ERRORS 1
#define EXIT_USAGE 2

/* One command of the table in main.c. */
typedef struct cli_command {
	const char *name;     /* as typed: "check" */
	const char *synopsis; /* its line in `pipec --help` ("check FILE..."), or NULL when an
				 earlier command's line names it too ("runs, show [RUN]") */
	const char *summary;  /* the rest of that line */
	const char *usage;    /* what `pipec NAME --help` prints; NULL: the main help */
	int (*run)(const char *name, int argc, char **argv); /* the command; ARGV[0] is NAME */
} cli_command;

/* ---- main.c ---- */

/* The command called NAME in the table, or NULL. */
const cli_command *main_command(const char *name);
/* Writes `pipec --help` (the command list drawn from the table) to OUT. */
void main_print_usage(FILE *out);

/* ---- cli.c ---- */

/*
 * Reports a usage error of command CMD (NULL: pipec itself) on standard
 * error, in two lines: "pipec CMD: " FMT with ARG, then "Try 'pipec CMD
 * --help'.".  Returns EXIT_USAGE.
 */
int cli_usage_error(const char *cmd, const char *fmt, const char *arg);
/*
 * Reports the option getopt_long() just refused (it returned C: '?', or ':'
 * for a missing argument when the short options begin with ':') as a usage
 * error of CMD: an unknown option, one that needs an argument, or one given
 * an argument it does not take.  ARGV and OPTS are what getopt_long() was
 * given.  Returns EXIT_USAGE.
 */
int cli_bad_option(const char *cmd, char **argv, const struct option *opts, int c);
/* Whether diagnostics are coloured for --color WHEN ("auto", "always" or "never"). */
int cli_want_color(const char *when);
/* --color WHEN (optarg) into *COLOR; 0, or EXIT_USAGE after saying WHEN is not one. */
int cli_take_color(const char *cmd, const char **color);
/* --stdlib DIR (optarg, borrowed) into STDLIB (32 at most); 0, or EXIT_USAGE after saying DIR is not one. */
int cli_add_stdlib(const char *cmd, char **stdlib, size_t *n);
/*
 * Sets CTX's standard library search path: the NEXTRA --stdlib directories,
 * then PIPEC_PATH, then <exe>/stdlib (a build tree),
 * <exe>/../share/pipec/stdlib (a relocated install), the configured install
 * directory, and the source tree's; a directory reached twice is searched once.
 */
void cli_set_stdlib(pc_ctx *ctx, char **extra, size_t nextra);
/*
 * Checks --state-dir PATH for command CMD: a directory is fine; a missing
 * one is made, with its missing parents (mkdir -p, mode 0777 less the
 * umask), when CREATE is set.  Returns 0, or EXIT_USAGE after a one-line
 * error (PATH is not a directory, cannot be made, or is missing).
 */
int cli_state_dir(const char *cmd, const char *path, int create);
/* Whether PATH is a directory (following links). */
int cli_is_dir(const char *path);

/*
 * Checks, without reading it and without blocking, that PATH is a regular
 * file of at most MAX bytes, before a library reads it by its path (a
 * resources file, a pipec.yaml).  Returns NULL, or why not (static text,
 * for "cannot read 'PATH': WHY").
 */
const char *cli_unreadable(const char *path, size_t max);
/* Why PATH, which a library just failed to read (with errno set), cannot be read (static text). */
const char *cli_read_why(const char *path, size_t max);
/*
 * Loads profile PROFILE of the pipec.yaml PATH into CTX.  Returns 0 (its
 * mistakes, if any, are diagnostics in CTX), or EXIT_USAGE after a line
 * saying PATH cannot be read (followed by HINT) or is empty.
 */
int cli_use_profile(pc_ctx *ctx, const char *path, const char *profile, const char *hint);

/* ---- files.c ---- */

/*
 * Writes LEN bytes of DATA to PATH as a user expects (files.c says how: a
 * link's target, a regular file replaced atomically keeping its mode, a
 * device or FIFO written in place).  Returns 0, or -1 with errno set.
 */
int files_write(const char *path, const char *data, size_t len);

/* ---- the commands (cmd-*.c): their usage texts and functions ---- */

extern const char cmd_check_usage[], cmd_fmt_usage[], cmd_build_usage[], cmd_graph_usage[], cmd_run_usage[],
	cmd_resume_usage[], cmd_report_usage[];
int cmd_check(const char *name, int argc, char **argv);
int cmd_fmt(const char *name, int argc, char **argv);
int cmd_build(const char *name, int argc, char **argv);
int cmd_graph(const char *name, int argc, char **argv);
int cmd_run(const char *name, int argc, char **argv);
int cmd_resume(const char *name, int argc, char **argv);
int cmd_report(const char *name, int argc, char **argv); /* runs, show, why, lineage, cancel */

/*
 * Parses build's or graph's command line (CMD, ARGC, ARGV), checks FILE and
 * lowers its pipeline.  For build (GRAPH_FORMAT NULL) the plan goes to -o
 * PLAN or standard output; for graph *GRAPH_FORMAT gets --format (left as
 * the caller set it when not given) and *PLAN the plan's JSON (a new string;
 * NULL when there is none, e.g. after --help).  Returns the exit status.
 */
int build_compile(const char *cmd, int argc, char **argv, const char **graph_format, char **plan);

#endif
