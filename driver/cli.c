/*
 * cli.c - what the driver's commands share: usage errors, colour, and the
 * standard library search path.
 *
 * Every command parses its options with getopt_long (opterr off, so the
 * messages are ours) and hands the options several commands take to the
 * helpers here, which check the value and, when it is wrong, say so the
 * same way for every command: through cli_usage_error(), one line that
 * names the command and the problem and one that points to its --help
 * (never the whole help text, which would bury the line that matters).  The standard
 * library path is assembled once per compilation context from --stdlib,
 * PIPEC_PATH and the places an installed or built pipec keeps its library.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "pipec%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'pipec%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
	return EXIT_USAGE;
}

/* The long option of OPTS that ARG ("--name" or "--name=value", maybe abbreviated) names with value VAL, or NULL. */
static const struct option *long_option(const struct option *opts, const char *arg, int val)
{
	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	arg += 2;
	size_t n = strcspn(arg, "=");
	for (; opts->name; opts++)
		if (opts->val == val && strncmp(opts->name, arg, n) == 0)
			return opts;
	return NULL;
}

int cli_bad_option(const char *cmd, char **argv, const struct option *opts, int c)
{
	/* getopt leaves the element it was reading at argv[optind - 1], except
	 * inside a cluster of short options (-wx), where optopt names the letter */
	const char *arg = argv[optind - 1];
	const struct option *o = long_option(opts, arg, optopt);
	char name[64];
	if (o)
		snprintf(name, sizeof name, "--%s", o->name);
	else if (optopt)
		snprintf(name, sizeof name, "-%c", optopt);
	else
		snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
	if (c == ':')
		return cli_usage_error(cmd, "option '%s' needs an argument", name);
	if (!o && !optopt) { /* an abbreviation of several long options? */
		size_t n = strlen(name + 2), matches = 0;
		for (const struct option *p = opts; p->name; p++)
			matches += strncmp(p->name, name + 2, n) == 0;
		if (matches > 1)
			return cli_usage_error(cmd, "option '%s' is ambiguous: give more of its name", name);
	}
	if (o)
		return cli_usage_error(cmd, "option '%s' takes no argument", name);
	return cli_usage_error(cmd, "unknown option '%s'", name);
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

/* mkdir -p PATH, each directory made with mode 0777 less the umask; 0, or -1 with errno. */
static int make_dirs(const char *path)
{
	char *p = strdup(path);
	if (!p)
		return -1;
	int rc = 0;
	for (char *s = p + 1; rc == 0 && *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (rc == 0 && mkdir(p, 0777) != 0 && !(errno == EEXIST && cli_is_dir(p)))
		rc = -1;
	int e = errno;
	free(p);
	errno = e;
	return rc;
}

int cli_state_dir(const char *cmd, const char *path, int create)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		fprintf(stderr, "pipec %s: --state-dir '%s' is not a directory\n", cmd, path);
		return EXIT_USAGE;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "pipec %s: cannot use --state-dir '%s': %s\n", cmd, path, strerror(errno));
		return EXIT_USAGE;
	}
	if (!create) {
		fprintf(stderr, "pipec %s: no directory '%s' (nothing has run there)\n", cmd, path);
		return EXIT_USAGE;
	}
	if (make_dirs(path) != 0) {
		fprintf(stderr, "pipec %s: cannot create --state-dir '%s': %s\n", cmd, path, strerror(errno));
		return EXIT_USAGE;
	}
	return 0;
}

const char *cli_unreadable(const char *path, size_t max)
{
	const char *why;
	return pc_read_file(path, max, NULL, NULL, &why) == 0 ? NULL : why;
}

const char *cli_read_why(const char *path, size_t max)
{
	static char msg[64];
	int e = errno;
	const char *why = cli_unreadable(path, max);
	if (!why && e == EFBIG) { /* standard input, which may be a pipe, ran past MAX */
		snprintf(msg, sizeof msg, "larger than %zu MiB", max >> 20);
		why = msg;
	}
	return why ? why : strerror(e);
}

int cli_use_profile(pc_ctx *ctx, const char *path, const char *profile, const char *hint)
{
	size_t errors = pc_error_count(ctx);
	const char *why = cli_unreadable(path, PC_MAX_SOURCE);
	int rc = why ? -2 : pc_use_profile(ctx, path, profile);
	if (rc == -2) {
		fprintf(stderr, "pipec: cannot read '%s': %s%s\n", path, why ? why : strerror(errno), hint);
		return EXIT_USAGE;
	}
	if (rc != 0 && pc_error_count(ctx) == errors) { /* nothing in it, not even a mistake */
		fprintf(stderr, "pipec: '%s' is empty: it needs profiles: { NAME: {...} }\n", path);
		return EXIT_USAGE;
	}
	return 0;
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
