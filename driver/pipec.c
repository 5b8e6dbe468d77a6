/*
 * pipec.c - the `pipec` command: a thin driver over the compiler library.
 *
 * It parses the command line, calls the library through its public header
 * only, renders the collected diagnostics once at the end, and maps the
 * outcome to the exit status every command shares:
 *
 *   0  ok            1  the input has errors (or is not formatted)
 *   2  usage error, or a file that cannot be read or written
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "pipec-compiler.h"
#include "pipec-runtime.h"

static const char *g_output;       /* build -o */
static const char *g_graph_format; /* graph --format */

#define EXIT_ERRORS 1
#define EXIT_USAGE 2

static const char main_usage[] =
	"usage: pipec <command> [options] [arguments]\n"
	"\n"
	"pipec compiles and runs typed workflow pipelines written in .pipe files.\n"
	"\n"
	"commands:\n"
	"  check FILE...     parse FILE(s) and report every error found\n"
	"  build FILE        compile FILE's pipeline to a plan (JSON) for the runtime\n"
	"  graph FILE        print the pipeline's task graph (dot or mermaid)\n"
	"  run FILE|PLAN     build and run a pipeline here, each task in a sandbox, or run a built plan\n"
	"  resume [RUN]      resume a run whose runtime died, where it left off\n"
	"  runs, show [RUN]  the runs in the store; the tasks of one\n"
	"  why TASK          why a task ran rather than being taken from the cache\n"
	"  lineage PATH|TASK what made an output, and what it fed\n"
	"  cancel [RUN]      stop a run\n"
	"  fmt FILE...       print FILE(s) in the canonical layout (or check, or rewrite)\n"
	"  help [COMMAND]    show this help, or a command's\n"
	"\n"
	"options:\n"
	"  -h, --help        show this help\n"
	"  -V, --version     print the version and exit\n"
	"  --list-keywords   print the language's reserved words, one per line\n"
	"\n"
	"exit status: 0 ok, 1 errors in the input, 2 usage or I/O error.\n"
	"See pipec(1) and docs/language.md.\n";

static const char check_usage[] =
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

static const char fmt_usage[] =
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

static const char build_usage[] =
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

static const char graph_usage[] =
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

static const char run_usage[] =
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
	"  --state-dir DIR   where .pipec/ lives (default: the current directory)\n"
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

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
	fprintf(stderr, "pipec: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n%s", usage);
	return EXIT_USAGE;
}

static int want_color(const char *when)
{
	if (strcmp(when, "always") == 0)
		return 1;
	if (strcmp(when, "never") == 0)
		return 0;
	const char *nc = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	return isatty(STDERR_FILENO) && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
}

static int parse_color(const char *s)
{
	return strcmp(s, "auto") == 0 || strcmp(s, "always") == 0 || strcmp(s, "never") == 0;
}

enum { OPT_FORMAT = 256, OPT_COLOR, OPT_DUMP, OPT_CHECK, OPT_LIST_KEYWORDS, OPT_STDLIB, OPT_STRICT, OPT_PROFILE, OPT_CONFIG };

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

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The standard library search path: --stdlib DIRs, then PIPEC_PATH, then
 * <exe>/stdlib (a build tree), <exe>/../share/pipec/stdlib (a relocated
 * install), the configured install directory, and the source tree's.
 */
/* --color WHEN (optarg) into *COLOR; 0, or EXIT_USAGE after saying WHEN is not one. */
static int take_color(const char *usage, const char **color)
{
	if (!parse_color(optarg))
		return usage_error(usage, "unknown --color '%s' (expected auto, always or never)", optarg);
	*color = optarg;
	return 0;
}

/* --stdlib DIR (optarg) into STDLIB (32 at most); 0, or EXIT_USAGE after saying DIR is not one. */
static int add_stdlib(const char *usage, char **stdlib, size_t *n)
{
	if (!is_dir(optarg))
		return usage_error(usage, "--stdlib '%s' is not a directory", optarg);
	if (*n < 32)
		stdlib[(*n)++] = optarg;
	return 0;
}

static void set_stdlib(pc_ctx *ctx, char **extra, size_t nextra)
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
		if (is_dir(tmp))
			dirs[n++] = strdup(tmp);
		snprintf(tmp, sizeof tmp, "%s/../share/pipec/stdlib", exe);
		if (is_dir(tmp))
			dirs[n++] = strdup(tmp);
	}
	if (is_dir(PIPEC_STDLIB_DIR))
		dirs[n++] = strdup(PIPEC_STDLIB_DIR);
	if (is_dir(PIPEC_SOURCE_STDLIB))
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

static int cmd_check(int argc, char **argv)
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
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
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
				return usage_error(check_usage,
						   "unknown --format '%s' (expected human, json, sarif or github)",
						   optarg);
			break;
		case OPT_COLOR:
			if (take_color(check_usage, &color))
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
			if (add_stdlib(check_usage, stdlib, &nstdlib))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(check_usage, stdout);
			return 0;
		default:
			return usage_error(check_usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error(check_usage, "%s", "check needs at least one FILE");

	pc_ctx *ctx = pc_ctx_new();
	set_stdlib(ctx, stdlib, nstdlib);
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
			return usage_error(check_usage, "%s", "--config needs --profile NAME");
		}
		if (pc_use_profile(ctx, cfg, profile) == -2) {
			fprintf(stderr, "pipec: cannot read '%s': %s%s\n", cfg, strerror(errno),
				config ? "" : " (give the file with --config FILE)");
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
		fprintf(stderr, "pipec: cannot read '%s': %s\n", argv[i], strerror(errno));
		io_error = 1;
	}
	FILE *out = format == PC_FORMAT_HUMAN ? stderr : stdout;
	int rc = 0;
	if (pc_diag_count(ctx) || format == PC_FORMAT_SARIF) {
		if (pc_diag_render(ctx, out, format, format == PC_FORMAT_HUMAN && want_color(color)) < 0) {
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

/* Replaces PATH's contents with DATA through a temporary file and rename. */
static int write_atomically(const char *path, const char *data, size_t len)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + 16);
	if (!tmp)
		return -1;
	snprintf(tmp, n + 16, "%s.fmt-XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	struct stat st;
	if (stat(path, &st) == 0)
		fchmod(fd, st.st_mode & 07777);
	FILE *f = fdopen(fd, "wb");
	int ok = f && fwrite(data, 1, len, f) == len;
	ok = f && fflush(f) == 0 && ok;
	ok = f && fsync(fileno(f)) == 0 && ok;
	if (f)
		ok = fclose(f) == 0 && ok;
	else
		close(fd);
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	free(tmp);
	return 0;
}

static int cmd_fmt(int argc, char **argv)
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
	while ((c = getopt_long(argc, argv, "hw", opts, NULL)) != -1) {
		switch (c) {
		case OPT_CHECK:
			check = 1;
			break;
		case 'w':
			write = 1;
			break;
		case OPT_COLOR:
			if (take_color(fmt_usage, &color))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(fmt_usage, stdout);
			return 0;
		default:
			return usage_error(fmt_usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (check && write)
		return usage_error(fmt_usage, "%s", "--check and --write exclude each other");
	if (optind >= argc)
		return usage_error(fmt_usage, "%s", "fmt needs at least one FILE");

	int rc = 0;
	for (int i = optind; i < argc; i++) {
		if (write && strcmp(argv[i], "-") == 0)
			return usage_error(fmt_usage, "%s", "--write needs files, not standard input");
		pc_ctx *ctx = pc_ctx_new();
		pc_ast *m = pc_parse_file(ctx, argv[i]);
		if (!m) {
			fprintf(stderr, "pipec: cannot read '%s': %s\n", argv[i], strerror(errno));
			pc_ctx_free(ctx);
			rc = EXIT_USAGE;
			continue;
		}
		if (pc_error_count(ctx)) {
			pc_diag_render(ctx, stderr, PC_FORMAT_HUMAN, want_color(color));
			fprintf(stderr, "pipec: '%s' has errors; not formatted\n", argv[i]);
			pc_ctx_free(ctx);
			if (rc == 0)
				rc = EXIT_ERRORS;
			continue;
		}
		size_t len;
		char *out = pc_format(ctx, m, &len);
		if (check || write) {
			/* compare with the file as read */
			FILE *f = fopen(argv[i], "rb");
			int same = 0;
			if (f) {
				char *buf = malloc(len + 2);
				size_t got = buf ? fread(buf, 1, len + 1, f) : 0;
				same = buf && got == len && memcmp(buf, out, len) == 0;
				free(buf);
				fclose(f);
			}
			if (check && !same) {
				printf("%s\n", argv[i]);
				if (rc == 0)
					rc = EXIT_ERRORS;
			} else if (write && !same && write_atomically(argv[i], out, len) < 0) {
				fprintf(stderr, "pipec: cannot write '%s': %s\n", argv[i], strerror(errno));
				rc = EXIT_USAGE;
			}
		} else if (fwrite(out, 1, len, stdout) != len) {
			fprintf(stderr, "pipec: cannot write output: %s\n", strerror(errno));
			rc = EXIT_USAGE;
		}
		free(out);
		pc_ctx_free(ctx);
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "pipec: cannot write output: %s\n", strerror(errno));
		rc = EXIT_USAGE;
	}
	return rc;
}

/* ---- build and graph ------------------------------------------------------ */

enum { OPT_PIPELINE = 400, OPT_GFORMAT };

/*
 * Checks FILE and lowers PIPELINE with the -p parameters.  Returns the exit
 * status; *PLAN gets the plan's JSON on success.
 */
static int compile_plan(int argc, char **argv, const char *usage, int graph, char **plan)
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
	int strict = 0, c;
	*plan = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hp:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (nparams < 256)
				params[nparams++] = optarg;
			break;
		case 'o':
			if (graph)
				return usage_error(usage, "unknown option '%s'", "-o");
			g_output = optarg;
			break;
		case OPT_PIPELINE: pipeline = optarg; break;
		case OPT_GFORMAT:
			if (!graph)
				return usage_error(usage, "unknown option '%s'", "--format");
			if (strcmp(optarg, "dot") != 0 && strcmp(optarg, "mermaid") != 0)
				return usage_error(usage, "unknown --format '%s' (expected dot or mermaid)", optarg);
			g_graph_format = optarg;
			break;
		case OPT_STRICT: strict = 1; break;
		case OPT_PROFILE: profile = optarg; break;
		case OPT_CONFIG: config = optarg; break;
		case OPT_STDLIB:
			if (add_stdlib(usage, stdlib, &nstdlib))
				return EXIT_USAGE;
			break;
		case OPT_COLOR:
			if (take_color(usage, &color))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return usage_error(usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage_error(usage, "%s", "give exactly one FILE");
	const char *file = argv[optind];
	pc_ctx *ctx = pc_ctx_new();
	set_stdlib(ctx, stdlib, nstdlib);
	pc_set_strict(ctx, strict);
	if (profile && pc_use_profile(ctx, config ? config : "pipec.yaml", profile) == -2) {
		fprintf(stderr, "pipec: cannot read '%s': %s\n", config ? config : "pipec.yaml", strerror(errno));
		pc_ctx_free(ctx);
		return EXIT_USAGE;
	}
	if (pc_check_file(ctx, file) != 0) {
		fprintf(stderr, "pipec: cannot read '%s': %s\n", file, strerror(errno));
		pc_ctx_free(ctx);
		return EXIT_USAGE;
	}
	int rc = EXIT_ERRORS;
	if (!pc_error_count(ctx)) {
		char *err = NULL, *mem = NULL, tmp[4096] = "";
		size_t memlen = 0;
		FILE *out = stdout;
		if (graph) {
			out = open_memstream(&mem, &memlen);
		} else if (g_output && strcmp(g_output, "-") != 0) {
			/* a temporary file beside the plan, renamed over it when complete */
			snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", g_output);
			int fd = mkstemp(tmp);
			out = fd >= 0 ? fdopen(fd, "w") : NULL;
			if (!out) {
				fprintf(stderr, "pipec: cannot write '%s': %s\n", g_output, strerror(errno));
				pc_ctx_free(ctx);
				return EXIT_USAGE;
			}
		}
		rc = out ? pc_build_plan(ctx, file, pipeline, params, nparams, out, &err) : EXIT_USAGE;
		if (err) {
			fprintf(stderr, "pipec: %s\n", err);
			free(err);
		}
		if (graph) {
			if (out)
				fclose(out);
			if (rc == 0)
				*plan = mem;
			else
				free(mem);
		} else if (*tmp) {
			int ok = rc == 0 && fflush(out) == 0 && fsync(fileno(out)) == 0;
			ok = fclose(out) == 0 && ok;
			if (ok && rename(tmp, g_output) != 0) {
				fprintf(stderr, "pipec: cannot write '%s': %s\n", g_output, strerror(errno));
				ok = 0;
				rc = EXIT_USAGE;
			}
			if (!ok)
				unlink(tmp);
		}
	}
	if (pc_diag_count(ctx))
		pc_diag_render(ctx, stderr, PC_FORMAT_HUMAN, want_color(color));
	if (pc_error_count(ctx)) {
		size_t n = pc_error_count(ctx);
		fprintf(stderr, "pipec: %zu error%s\n", n, n == 1 ? "" : "s");
		rc = EXIT_ERRORS;
	}
	pc_ctx_free(ctx);
	return rc;
}

static int cmd_build(int argc, char **argv)
{
	char *unused;
	g_output = NULL;
	return compile_plan(argc, argv, build_usage, 0, &unused);
}

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

static int cmd_graph(int argc, char **argv)
{
	char *text;
	g_graph_format = "dot";
	int rc = compile_plan(argc, argv, graph_usage, 1, &text);
	if (rc != 0 || !text)
		return rc;
	json_error_t jerr;
	json_t *plan = json_loads(text, 0, &jerr);
	free(text);
	if (!plan)
		return EXIT_USAGE;
	int dot = strcmp(g_graph_format, "dot") == 0;
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

/* ---- run -------------------------------------------------------------------- */

enum { OPT_STATE_DIR = 500, OPT_RFORMAT, OPT_QUIET, OPT_PROGRESS, OPT_RESOURCES, OPT_NO_SANDBOX };

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
 * with its argument (USAGE follows the message).
 */
static int run_flag(run_flags *f, int c, const char *usage)
{
	char *end;
	switch (c) {
	case 'j':
		f->jobs = strtol(optarg, &end, 10);
		if (*end || f->jobs < 1 || f->jobs > 4096)
			return usage_error(usage, "-j '%s': give a number of tasks from 1 to 4096", optarg), -1;
		return 1;
	case OPT_STATE_DIR: f->state = optarg; return 1;
	case OPT_RFORMAT:
		if (strcmp(optarg, "json") != 0)
			return usage_error(usage, "unknown --format '%s' (expected json)", optarg), -1;
		f->json = 1;
		return 1;
	case OPT_QUIET: f->quiet = 1; return 1;
	case OPT_RESOURCES: f->resources = optarg; return 1;
	case OPT_NO_SANDBOX: f->no_sandbox = 1; return 1;
	case OPT_PROGRESS:
		if ((f->live = parse_progress(optarg)) < 0)
			return usage_error(usage, "unknown --progress '%s' (expected auto, live or lines)", optarg), -1;
		return 1;
	default: return 0;
	}
}

/* Reads --resources FILE into F->nodes; 0, or EXIT_USAGE after saying what is wrong with it. */
static int load_resources(run_flags *f)
{
	if (!f->resources)
		return 0;
	pc_ctx *ctx = pc_ctx_new();
	int rc = pc_resources_json(ctx, f->resources, &f->nodes);
	if (rc == -2)
		fprintf(stderr, "pipec: cannot read the resources file '%s': %s\n", f->resources, strerror(errno));
	if (pc_diag_count(ctx))
		pc_diag_render(ctx, stderr, PC_FORMAT_HUMAN, want_color("auto"));
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

static const char resume_usage[] =
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

static int cmd_resume(int argc, char **argv)
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
	while ((c = getopt_long(argc, argv, "hj:", opts, NULL)) != -1) {
		if ((taken = run_flag(&f, c, resume_usage)) < 0)
			return EXIT_USAGE;
		if (taken)
			continue;
		if (c == 'h') {
			fputs(resume_usage, stdout);
			return 0;
		}
		return usage_error(resume_usage, "unknown option '%s'", argv[optind - 1]);
	}
	if (optind < argc) {
		char *end;
		run = strtol(argv[optind], &end, 10);
		if (*end || run < 1 || optind + 1 < argc)
			return usage_error(resume_usage, "'%s' is not a run number", argv[optind]);
	}
	if (!is_dir(f.state))
		return usage_error(resume_usage, "--state-dir '%s' is not a directory", f.state);
	if (load_resources(&f))
		return EXIT_USAGE;
	pr_options opt = run_flags_options(&f);
	pr_summary sum = {0};
	char *err = NULL;
	int rc = pr_resume(run, &opt, &sum, &err);
	free(f.nodes);
	if (rc == 2) {
		if (err) /* without one the runtime has said what went wrong */
			fprintf(stderr, "pipec: %s\n", err);
		free(err);
		free(sum.result);
		return EXIT_USAGE;
	}
	print_summary(&sum, f.json);
	pr_summary_free(&sum);
	return rc;
}

static const char report_usage[] =
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

static int cmd_report(const char *cmd, int argc, char **argv)
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
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE_DIR: state = optarg; break;
		case OPT_RFORMAT:
			if (strcmp(optarg, "json") != 0)
				return usage_error(report_usage, "unknown --format '%s' (expected json)", optarg);
			json = 1;
			break;
		case 'r': {
			char *end;
			run = strtol(optarg, &end, 10);
			if (*end || run < 1)
				return usage_error(report_usage, "'%s' is not a run number", optarg);
			break;
		}
		case 'h':
			fputs(report_usage, stdout);
			return 0;
		default:
			return usage_error(report_usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	const char *arg = optind < argc ? argv[optind] : NULL;
	if (optind + 1 < argc)
		return usage_error(report_usage, "unexpected argument '%s'", argv[optind + 1]);
	int needs = !strcmp(cmd, "why") || !strcmp(cmd, "lineage");
	if (needs && !arg)
		return usage_error(report_usage, "%s needs an argument", cmd);
	if (!needs && arg && strcmp(cmd, "runs") != 0) {
		char *end;
		run = strtol(arg, &end, 10);
		if (*end || run < 1)
			return usage_error(report_usage, "'%s' is not a run number", arg);
	} else if (!needs && arg) {
		return usage_error(report_usage, "unexpected argument '%s'", arg);
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
	else
		rc = pr_cancel(state, run, &err);
	if (rc) {
		fprintf(stderr, "pipec: %s\n", err ? err : "failed");
		free(err);
		return EXIT_USAGE;
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
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
	while ((c = getopt_long(argc, argv, "hp:j:", opts, NULL)) != -1) {
		if ((taken = run_flag(&f, c, run_usage)) < 0)
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
			if (add_stdlib(run_usage, stdlib, &nstdlib))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return 0;
		default:
			return usage_error(run_usage, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage_error(run_usage, "%s", "give exactly one FILE.pipe or PLAN");
	const char *file = argv[optind];
	if (!is_dir(f.state))
		return usage_error(run_usage, "--state-dir '%s' is not a directory", f.state);
	char *plan = NULL;
	size_t len = 0;
	size_t flen = strlen(file);
	if (flen > 5 && strcmp(file + flen - 5, ".pipe") == 0) {
		pc_ctx *ctx = pc_ctx_new();
		set_stdlib(ctx, stdlib, nstdlib);
		if (pc_check_file(ctx, file) != 0) {
			fprintf(stderr, "pipec: cannot read '%s': %s\n", file, strerror(errno));
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
			pc_diag_render(ctx, stderr, PC_FORMAT_HUMAN, want_color("auto"));
		pc_ctx_free(ctx);
		if (rc != 0) {
			free(plan);
			return rc;
		}
	} else {
		if (nparams)
			return usage_error(run_usage, "%s", "-p applies to a FILE.pipe; a plan has its parameters");
		FILE *f = fopen(file, "rb");
		if (!f) {
			fprintf(stderr, "pipec: cannot read '%s': %s\n", file, strerror(errno));
			return EXIT_USAGE;
		}
		FILE *mem = open_memstream(&plan, &len);
		char buf[65536];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, f)) > 0)
			fwrite(buf, 1, n, mem);
		fclose(f);
		fclose(mem);
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
	if (rc == 2) {
		if (err) /* without one the runtime has said what went wrong */
			fprintf(stderr, "pipec: %s\n", err);
		free(err);
		free(sum.result);
		return EXIT_USAGE;
	}
	print_summary(&sum, f.json);
	pr_summary_free(&sum);
	return rc;
}

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

static int help(const char *cmd)
{
	if (!cmd) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (strcmp(cmd, "check") == 0)
		fputs(check_usage, stdout);
	else if (strcmp(cmd, "fmt") == 0)
		fputs(fmt_usage, stdout);
	else if (strcmp(cmd, "build") == 0)
		fputs(build_usage, stdout);
	else if (strcmp(cmd, "graph") == 0)
		fputs(graph_usage, stdout);
	else if (strcmp(cmd, "run") == 0)
		fputs(run_usage, stdout);
	else if (strcmp(cmd, "resume") == 0)
		fputs(resume_usage, stdout);
	else if (!strcmp(cmd, "runs") || !strcmp(cmd, "show") || !strcmp(cmd, "why") || !strcmp(cmd, "lineage") ||
		 !strcmp(cmd, "cancel"))
		fputs(report_usage, stdout);
	else if (strcmp(cmd, "help") == 0)
		fputs(main_usage, stdout);
	else
		return usage_error(main_usage, "no command '%s'", cmd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error(main_usage, "%s", "a command is needed");
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
		return help(NULL);
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("pipec %s\n", pc_version());
		return 0;
	}
	if (strcmp(cmd, "--list-keywords") == 0) {
		size_t n;
		const char *const *k = pc_keywords(&n);
		for (size_t i = 0; i < n; i++)
			printf("%s\n", k[i]);
		return 0;
	}
	if (strcmp(cmd, "help") == 0)
		return help(argc > 2 ? argv[2] : NULL);
	if (strcmp(cmd, "check") == 0)
		return wants_help(argc - 1, argv + 1) ? help(cmd) : cmd_check(argc - 1, argv + 1);
	if (strcmp(cmd, "fmt") == 0)
		return wants_help(argc - 1, argv + 1) ? help(cmd) : cmd_fmt(argc - 1, argv + 1);
	if (strcmp(cmd, "build") == 0)
		return wants_help(argc - 1, argv + 1) ? help(cmd) : cmd_build(argc - 1, argv + 1);
	if (strcmp(cmd, "graph") == 0)
		return wants_help(argc - 1, argv + 1) ? help(cmd) : cmd_graph(argc - 1, argv + 1);
	if (strcmp(cmd, "run") == 0)
		return wants_help(argc - 1, argv + 1) ? help(cmd) : cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "resume") == 0)
		return wants_help(argc - 1, argv + 1) ? help(cmd) : cmd_resume(argc - 1, argv + 1);
	if (!strcmp(cmd, "runs") || !strcmp(cmd, "show") || !strcmp(cmd, "why") || !strcmp(cmd, "lineage") ||
	    !strcmp(cmd, "cancel"))
		return wants_help(argc - 1, argv + 1) ? help(cmd) : cmd_report(cmd, argc - 1, argv + 1);
	if (cmd[0] == '-')
		return usage_error(main_usage, "unknown option '%s'", cmd);
	return usage_error(main_usage, "no command '%s'", cmd);
}
