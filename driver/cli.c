/*
 * cli.c - what the driver's commands share: usage errors, colour, and the
 * standard library search path.
 *
 * Every command parses its options with getopt_long (opterr off, so the
 * messages are ours) and hands the options several commands take to the
 * helpers here, which check the value and, when it is wrong, say so the
 * same way for every command: through cli_usage_error().  The standard
 * library path is assembled once per compilation context from --stdlib,
 * PIPEC_PATH and the places an installed or built pipec keeps its library.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, const char *arg)
{
	const cli_command *c = cmd ? main_command(cmd) : NULL;
	fprintf(stderr, "pipec: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n");
	if (c && c->usage)
		fputs(c->usage, stderr);
	else
		main_print_usage(stderr);
	return EXIT_USAGE;
}

int cli_want_color(const char *when)
{
	if (strcmp(when, "always") == 0)
		return 1;
	if (strcmp(when, "never") == 0)
		return 0;
	const char *nc = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	return isatty(STDERR_FILENO) && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
}

int cli_take_color(const char *cmd, const char **color)
{
	if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "always") != 0 && strcmp(optarg, "never") != 0)
		return cli_usage_error(cmd, "unknown --color '%s' (expected auto, always or never)", optarg);
	*color = optarg;
	return 0;
}

int cli_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cli_add_stdlib(const char *cmd, char **stdlib, size_t *n)
{
	if (!cli_is_dir(optarg))
		return cli_usage_error(cmd, "--stdlib '%s' is not a directory", optarg);
	if (*n < 32)
		stdlib[(*n)++] = optarg;
	return 0;
}

/* The directory of this executable, or NULL. */
static char *exe_dir(void)
{
	static char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	char *slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	return buf;
}

void cli_set_stdlib(pc_ctx *ctx, char **extra, size_t nextra)
{
	char *dirs[64];
	size_t n = 0;
	for (size_t i = 0; i < nextra && n < 32; i++)
		dirs[n++] = strdup(extra[i]);
	const char *env = getenv("PIPEC_PATH");
	if (env && *env) {
		char *copy = strdup(env), *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d && n < 48; d = strtok_r(NULL, ":", &save))
			dirs[n++] = strdup(d);
		free(copy);
	}
	const char *exe = exe_dir();
	char tmp[4200];
	if (exe) {
		snprintf(tmp, sizeof tmp, "%s/stdlib", exe);
		if (cli_is_dir(tmp))
			dirs[n++] = strdup(tmp);
		snprintf(tmp, sizeof tmp, "%s/../share/pipec/stdlib", exe);
		if (cli_is_dir(tmp))
			dirs[n++] = strdup(tmp);
	}
	if (cli_is_dir(PIPEC_STDLIB_DIR))
		dirs[n++] = strdup(PIPEC_STDLIB_DIR);
	if (cli_is_dir(PIPEC_SOURCE_STDLIB))
		dirs[n++] = strdup(PIPEC_SOURCE_STDLIB);
	/* the same directory reached twice is searched once */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char a[4096], b[4096];
		int dup = 0;
		for (size_t j = 0; j < k && !dup; j++)
			dup = realpath(dirs[i], a) && realpath(dirs[j], b) && strcmp(a, b) == 0;
		if (dup)
			free(dirs[i]);
		else
			dirs[k++] = dirs[i];
	}
	n = k;
	pc_set_stdlib_dirs(ctx, (const char *const *)dirs, n);
	for (size_t i = 0; i < n; i++)
		free(dirs[i]);
}
