/*
 * cmd-fmt.c - pipec fmt: print, check or rewrite .pipe files in the
 * canonical layout.
 *
 * Each FILE is parsed on its own (imports are not followed) and printed
 * back by the compiler's formatter, comments kept.  A file with syntax
 * errors is reported and left alone.  --check compares the layout with the
 * file as read and names the files that differ; -w rewrites those files
 * only, through files_write(): atomically, keeping the file's mode, and
 * through a symbolic link to the file it names.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum { OPT_CHECK = 256, OPT_COLOR };

const char cmd_fmt_usage[] =
	"usage: pipec fmt [--check | -w] FILE...\n"
	"\n"
	"Print each FILE (\"-\" reads standard input) in the canonical layout, comments\n"
	"kept. A file with syntax errors is reported and left alone.\n"
	"\n"
	"options:\n"
	"  --check           print nothing but the names of files that are not in the\n"
	"                    canonical layout; exit 1 if there are any\n"
	"  -w, --write       rewrite the files in place (atomically) instead of printing\n"
	"  --color WHEN      colour for diagnostics: auto, always or never\n"
	"  -h, --help        show this help\n"
	"\n"
	"exit status: 0 ok, 1 syntax errors or (with --check) unformatted files,\n"
	"2 usage or I/O error.\n";

int cmd_fmt(const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
		{"check", no_argument, NULL, OPT_CHECK},
		{"write", no_argument, NULL, 'w'},
		{"color", required_argument, NULL, OPT_COLOR},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	int check = 0, write = 0, c;
	const char *color = "auto";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hw", opts, NULL)) != -1) {
		switch (c) {
		case OPT_CHECK:
			check = 1;
			break;
		case 'w':
			write = 1;
			break;
		case OPT_COLOR:
			if (cli_take_color(name, &color))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(cmd_fmt_usage, stdout);
			return 0;
		default:
			return cli_bad_option(name, argv, opts, c);
		}
	}
	if (check && write)
		return cli_usage_error(name, "%s", "--check and --write exclude each other");
	if (optind >= argc)
		return cli_usage_error(name, "%s", "give at least one FILE");

	int rc = 0;
	for (int i = optind; i < argc; i++) {
		if (write && strcmp(argv[i], "-") == 0)
			return cli_usage_error(name, "%s", "--write needs files, not standard input");
		/* read here, not by the parser: --check and -w compare with the text as read */
		char *text;
		size_t textlen;
		const char *why;
		if (pc_read_file(argv[i], PC_MAX_SOURCE, &text, &textlen, &why) != 0) {
			fprintf(stderr, "pipec: cannot read '%s': %s\n", argv[i], why);
			rc = EXIT_USAGE;
			continue;
		}
		pc_ctx *ctx = pc_ctx_new();
		pc_ast *m = pc_parse_buffer(ctx, strcmp(argv[i], "-") == 0 ? "<stdin>" : argv[i], text, textlen);
		if (pc_error_count(ctx)) {
			pc_diag_render(ctx, stderr, PC_FORMAT_HUMAN, cli_want_color(color));
			fprintf(stderr, "pipec: '%s' has errors; not formatted\n", argv[i]);
			pc_ctx_free(ctx);
			free(text);
			if (rc == 0)
				rc = EXIT_ERRORS;
			continue;
		}
		size_t len;
		char *out = pc_format(ctx, m, &len);
		if (check || write) {
			int same = textlen == len && memcmp(text, out, len) == 0;
			if (check && !same) {
				printf("%s\n", argv[i]);
				if (rc == 0)
					rc = EXIT_ERRORS;
			} else if (write && !same && files_write(argv[i], out, len) != 0) {
				fprintf(stderr, "pipec: cannot write '%s': %s\n", argv[i], strerror(errno));
				rc = EXIT_USAGE;
			}
		} else if (fwrite(out, 1, len, stdout) != len) {
			fprintf(stderr, "pipec: cannot write output: %s\n", strerror(errno));
			rc = EXIT_USAGE;
		}
		free(out);
		free(text);
		pc_ctx_free(ctx);
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "pipec: cannot write output: %s\n", strerror(errno));
		rc = EXIT_USAGE;
	}
	return rc;
}
