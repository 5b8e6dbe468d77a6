/*
 * cmd-check.c - pipec check: report every error in .pipe files.
 *
 * Each FILE (and every module it imports) goes through one compilation
 * context: parsed, its names resolved and its types checked, with the
 * stages' resources checked against a profile's nodes when --profile names
 * one.  Diagnostics are collected by the compiler, never printed where they
 * are found, and rendered once at the end in the format asked for (human on
 * standard error; json, sarif or github on standard output).  A file that
 * cannot be read is an I/O error (exit 2), which wins over errors in the
 * input (exit 1).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum { OPT_FORMAT = 256, OPT_COLOR, OPT_DUMP, OPT_STDLIB, OPT_STRICT, OPT_PROFILE, OPT_CONFIG };

const char cmd_check_usage[] =
	"usage: pipec check [options] FILE...\n"
	"\n"
	"Check each FILE (\"-\" reads standard input) and the modules it imports:\n"
	"syntax, names and types. Reports every error found, with its location, and\n"
	"prints nothing when the files are clean.\n"
	"\n"
	"options:\n"
	"  --format FORMAT   human (default, on standard error), json (one object per\n"
	"                    line), sarif (SARIF 2.1.0) or github (workflow commands);\n"
	"                    the machine formats go to standard output\n"
	"  --color WHEN      auto (default: when standard error is a terminal and\n"
	"                    NO_COLOR is unset), always or never\n"
	"  --stdlib DIR      search DIR for `import std.NAME` (NAME.pipe) before the\n"
	"                    directories in PIPEC_PATH and the installed library;\n"
	"                    may be given more than once\n"
	"  --strict          a value constraint that cannot be proven or refuted at\n"
	"                    compile time is an error (else it is checked at run time)\n"
	"  --profile NAME    check every stage's resources against the nodes of profile\n"
	"                    NAME of pipec.yaml (./pipec.yaml, else beside the first\n"
	"                    FILE, else --config FILE)\n"
	"  --config FILE     the pipec.yaml to read profiles from\n"
	"  --dump-ast        print each file's syntax tree (parse only; for debugging)\n"
	"  -h, --help        show this help\n"
	"\n"
	"environment: PIPEC_PATH, a colon-separated list of standard library directories.\n"
	"\n"
	"exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage or I/O error.\n";

int cmd_check(const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, OPT_FORMAT},
		{"color", required_argument, NULL, OPT_COLOR},
		{"dump-ast", no_argument, NULL, OPT_DUMP},
		{"stdlib", required_argument, NULL, OPT_STDLIB},
		{"strict", no_argument, NULL, OPT_STRICT},
		{"profile", required_argument, NULL, OPT_PROFILE},
		{"config", required_argument, NULL, OPT_CONFIG},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	int strict = 0;
	const char *profile = NULL, *config = NULL;
	char *stdlib[32];
	size_t nstdlib = 0;
	pc_diag_format format = PC_FORMAT_HUMAN;
	const char *color = "auto";
	int dump = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (strcmp(optarg, "human") == 0)
				format = PC_FORMAT_HUMAN;
			else if (strcmp(optarg, "json") == 0)
				format = PC_FORMAT_JSON;
			else if (strcmp(optarg, "sarif") == 0)
				format = PC_FORMAT_SARIF;
			else if (strcmp(optarg, "github") == 0)
				format = PC_FORMAT_GITHUB;
			else
				return cli_usage_error(name,
						   "unknown --format '%s' (expected human, json, sarif or github)",
						   optarg);
			break;
		case OPT_COLOR:
			if (cli_take_color(name, &color))
				return EXIT_USAGE;
			break;
		case OPT_DUMP:
			dump = 1;
			break;
		case OPT_STRICT:
			strict = 1;
			break;
		case OPT_PROFILE:
			profile = optarg;
			break;
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_STDLIB:
			if (cli_add_stdlib(name, stdlib, &nstdlib))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(cmd_check_usage, stdout);
			return 0;
		default:
			return cli_bad_option(name, argv, opts, c);
		}
	}
	if (optind >= argc)
		return cli_usage_error(name, "%s", "give at least one FILE");

	pc_ctx *ctx = pc_ctx_new();
	cli_set_stdlib(ctx, stdlib, nstdlib);
	pc_set_strict(ctx, strict);
	int io_error = 0;
	if (profile || config) {
		char found[4096];
		const char *cfg = config;
		if (!cfg) {
			/* ./pipec.yaml, else the one beside the first file */
			cfg = "pipec.yaml";
			if (access(cfg, R_OK) != 0 && optind < argc && strchr(argv[optind], '/')) {
				snprintf(found, sizeof found, "%.*s/pipec.yaml",
					 (int)(strrchr(argv[optind], '/') - argv[optind]), argv[optind]);
				cfg = found;
			}
		}
		if (!profile) {
			pc_ctx_free(ctx);
			return cli_usage_error(name, "%s", "--config needs --profile NAME");
		}
		if (cli_use_profile(ctx, cfg, profile, config ? "" : " (give the file with --config FILE)")) {
			pc_ctx_free(ctx);
			return EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (dump) {
			pc_ast *m = pc_parse_file(ctx, argv[i]);
			if (m) {
				size_t len;
				char *s = pc_ast_dump(m, &len);
				fwrite(s, 1, len, stdout);
				free(s);
				continue;
			}
		} else if (pc_check_file(ctx, argv[i]) == 0) {
			continue;
		}
		fprintf(stderr, "pipec: cannot read '%s': %s\n", argv[i], cli_read_why(argv[i], PC_MAX_SOURCE));
		io_error = 1;
	}
	FILE *out = format == PC_FORMAT_HUMAN ? stderr : stdout;
	int rc = 0;
	if (pc_diag_count(ctx) || format == PC_FORMAT_SARIF) {
		if (pc_diag_render(ctx, out, format, format == PC_FORMAT_HUMAN && cli_want_color(color)) < 0) {
			fprintf(stderr, "pipec: cannot write diagnostics: %s\n", strerror(errno));
			io_error = 1;
		}
	}
	size_t errors = pc_error_count(ctx);
	if (format == PC_FORMAT_HUMAN && errors)
		fprintf(stderr, "pipec: %zu error%s\n", errors, errors == 1 ? "" : "s");
	if (errors)
		rc = EXIT_ERRORS;
	if (io_error)
		rc = EXIT_USAGE;
	pc_ctx_free(ctx);
	return rc;
}
