/*
 * robust.c - no input crashes or hangs the compiler.
 *
 * For each file named on the command line: every truncated prefix, and
 * MUTATIONS random byte mutations (flip, insert, delete, duplicate a span;
 * fixed seed, so failures reproduce), go through what `pipec check` does
 * (parse, then render the diagnostics in all four formats) in this process;
 * the status must be 0 or 1, and ASan/UBSan (in the sanitizer build) must
 * stay quiet.  Each input that parses without errors must also format to
 * text that parses to the same tree and formats to itself.  tests/robust.sh
 * runs this, and the real binary on a sample of the same inputs.
 *
 * With -x PIPEC the inputs go to the real binary instead: each is written to
 * a file and `PIPEC check FILE` runs in a child process with a 10 s alarm;
 * anything but exit 0 or 1 (a signal, a sanitizer report, a hang) fails.
 *
 * usage: robust [-m MUTATIONS] [-o FAILDIR] [-x PIPEC] FILE...
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipec-compiler.h"

static const char *faildir = ".";
static const char *exec_path; /* -x: run this pipec binary */
static int failures;

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

static void save(const char *why, const char *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/robust-fail-%d.pipe", faildir, failures);
	write_file(path, data, len);
	fprintf(stderr, "FAIL: %s (input saved as %s)\n", why, path);
	failures++;
}

/* What `pipec check` does with one file; returns its exit status. */
static int check(const char *data, size_t len)
{
	pc_ctx *ctx = pc_ctx_new();
	pc_ast *m = pc_parse_buffer(ctx, "input.pipe", data, len);
	FILE *null = fopen("/dev/null", "w");
	for (int f = PC_FORMAT_HUMAN; f <= PC_FORMAT_GITHUB; f++)
		pc_diag_render(ctx, null, (pc_diag_format)f, f == PC_FORMAT_HUMAN);
	fclose(null);
	int rc = pc_error_count(ctx) ? 1 : 0;
	if (rc == 0 && m) {
		size_t n1, n2, d1, d2;
		char *once = pc_format(ctx, m, &n1);
		char *dump1 = pc_ast_dump(m, &d1);
		pc_ctx *c2 = pc_ctx_new();
		pc_ast *m2 = pc_parse_buffer(c2, "formatted.pipe", once, n1);
		char *dump2 = pc_ast_dump(m2, &d2);
		char *twice = pc_error_count(c2) ? NULL : pc_format(c2, m2, &n2);
		if (pc_error_count(c2))
			save("the formatted text does not parse", data, len);
		else if (d1 != d2 || memcmp(dump1, dump2, d1) != 0) {
			char path[4096];
			snprintf(path, sizeof path, "%s/robust-fail-%d.formatted", faildir, failures);
			write_file(path, once, n1);
			save("the formatted text parses to a different tree", data, len);
		}
		else if (n1 != n2 || memcmp(once, twice, n1) != 0)
			save("formatting is not idempotent", data, len);
		free(once);
		free(twice);
		free(dump1);
		free(dump2);
		pc_ctx_free(c2);
	}
	pc_ctx_free(ctx);
	return rc;
}

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (unsigned)(rng % n) : 0;
}

/* `pipec check` as a child process on DATA; returns its exit status, or -1. */
static int check_exec(const char *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/robust-input-%d.pipe", faildir, (int)getpid());
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		alarm(10);
		execl(exec_path, "pipec", "check", path, (char *)NULL);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void run(const char *data, size_t len, long *count)
{
	int rc = exec_path ? check_exec(data, len) : check(data, len);
	if (rc != 0 && rc != 1)
		save("unexpected status", data, len);
	(*count)++;
}

int main(int argc, char **argv)
{
	int mutations = 200, c;
	while ((c = getopt(argc, argv, "m:o:x:")) != -1) {
		if (c == 'm')
			mutations = atoi(optarg);
		else if (c == 'x')
			exec_path = optarg;
		else if (c == 'o')
			faildir = optarg;
		else
			return 2;
	}
	if (!exec_path)
		alarm(900); /* a hang is a failure too */
	long count = 0;
	static const char *tokens[] = {"{", "}", "(", ")", "[", "]", "\"", "\"\"\"", "${", "\n",
				       "#", "\\", ",", ":", "->", "let", "stage", "\xff", "\0", "1e",
				       "99999999999999999999", "..", "else", "if"};
	for (int i = optind; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f) {
			perror(argv[i]);
			return 2;
		}
		char *buf = malloc(1 << 20);
		size_t len = fread(buf, 1, (1 << 20) - 1, f);
		fclose(f);
		for (size_t n = 0; n <= len; n++)
			run(buf, n, &count);
		char *m = malloc(len + 64);
		for (int k = 0; k < mutations; k++) {
			size_t n = len;
			memcpy(m, buf, len);
			int edits = 1 + (int)rnd(3);
			for (int e = 0; e < edits && n > 0; e++) {
				size_t at = rnd((unsigned)n);
				switch (rnd(4)) {
				case 0: /* flip a byte */
					m[at] = (char)rnd(256);
					break;
				case 1: { /* insert a token */
					const char *t = tokens[rnd(sizeof tokens / sizeof tokens[0])];
					size_t tl = strlen(t) ? strlen(t) : 1;
					if (n + tl >= len + 64)
						break;
					memmove(m + at + tl, m + at, n - at);
					memcpy(m + at, t, tl);
					n += tl;
					break;
				}
				case 2: { /* delete a span */
					size_t dl = 1 + rnd(8);
					if (at + dl > n)
						dl = n - at;
					memmove(m + at, m + at + dl, n - at - dl);
					n -= dl;
					break;
				}
				default: /* swap two bytes */
					{
						size_t b = rnd((unsigned)n);
						char t = m[at];
						m[at] = m[b];
						m[b] = t;
					}
				}
			}
			run(m, n, &count);
		}
		free(m);
		free(buf);
	}
	printf("robust: %ld inputs, %d failures\n", count, failures);
	return failures ? 1 : 0;
}
