/*
 * source.c - the compilation context, loaded sources and their line index.
 *
 * A source is copied into the arena with a NUL after its last byte (the
 * lexer's sentinel; the text may also hold NULs of its own, which the lexer
 * reports).  Its line index is built once, in one memchr pass, so turning a
 * byte offset into a line is a binary search and into a column a count of
 * the UTF-8 characters between the line start and the offset.
 *
 * Every file pipec reads whole (a .pipe file, an imported module, a plan,
 * a resources file) goes through pc_read_file(), which refuses what is not
 * a regular file without waiting on it (a FIFO would block every command,
 * /dev/zero would fill the memory) and stops at a bound: PC_MAX_SOURCE
 * (64 MiB) for a .pipe file, far beyond any real program.
 */
#include "sema-internal.h"

#include "lower.h"
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

pc_ctx *pc_ctx_new(void)
{
	pc_ctx *ctx = pc_xcalloc(1, sizeof *ctx);
	ctx->arena = pc_arena_new();
	ctx->names = pc_interner_new(ctx->arena);
	ctx->max_errors = 100;
	return ctx;
}

void pc_ctx_free(pc_ctx *ctx)
{
	if (!ctx)
		return;
	pc_sema_free(ctx->sema);
	if (ctx->profile) {
		pc_profile_free(ctx->profile);
		free(ctx->profile);
	}
	for (size_t i = 0; i < ctx->nstdlib_dirs; i++)
		free(ctx->stdlib_dirs[i]);
	free(ctx->stdlib_dirs);
	for (uint32_t i = 0; i < ctx->nfiles; i++)
		free(ctx->files[i]->comments);
	free(ctx->files);
	free(ctx->diags);
	pc_interner_free(ctx->names);
	pc_arena_free(ctx->arena);
	free(ctx);
}

size_t pc_error_count(const pc_ctx *ctx)
{
	return ctx->nerrors;
}

size_t pc_diag_count(const pc_ctx *ctx)
{
	return ctx->ndiags;
}

uint32_t pc_ctx_add_source(pc_ctx *ctx, const char *path, const char *data, size_t len)
{
	pc_source *s = pc_arena_alloc(ctx->arena, sizeof *s);
	s->path = pc_arena_strndup(ctx->arena, path, strlen(path));
	s->text = pc_arena_alloc(ctx->arena, len + 1);
	memcpy(s->text, data, len);
	s->len = (uint32_t)len;

	uint32_t n = 1;
	for (const char *p = s->text, *end = s->text + len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		n++;
	s->lines = pc_arena_alloc(ctx->arena, n * sizeof *s->lines);
	s->nlines = n;
	n = 0;
	s->lines[n++] = 0;
	for (const char *p = s->text, *end = s->text + len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		s->lines[n++] = (uint32_t)(p - s->text + 1);

	if (ctx->nfiles == ctx->capfiles) {
		ctx->capfiles = ctx->capfiles ? ctx->capfiles * 2 : 8;
		ctx->files = pc_xrealloc(ctx->files, ctx->capfiles * sizeof *ctx->files);
	}
	ctx->files[ctx->nfiles] = s;
	return ctx->nfiles++;
}

uint32_t pc_source_line(const pc_source *s, uint32_t off)
{
	uint32_t lo = 0, hi = s->nlines; /* find the last line start <= off */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo + 1;
}

uint32_t pc_source_line_start(const pc_source *s, uint32_t line)
{
	uint32_t off = s->lines[line - 1];
	/* a byte order mark takes no column */
	if (line == 1 && s->len >= 3 && memcmp(s->text, "\xEF\xBB\xBF", 3) == 0)
		off = 3;
	return off;
}

void pc_source_linecol(const pc_source *s, uint32_t off, uint32_t *line, uint32_t *col)
{
	if (off > s->len)
		off = s->len;
	uint32_t l = pc_source_line(s, off);
	uint32_t c = 1;
	for (uint32_t i = pc_source_line_start(s, l); i < off; i++)
		if (((unsigned char)s->text[i] & 0xc0) != 0x80)
			c++;
	*line = l;
	*col = c;
}

/* What a file is, for "not a regular file (a FIFO)". */
static const char *file_kind(mode_t m)
{
	return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
	       : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

static int read_failed(int fd, int close_it, pc_buf *b, int e, const char *why, const char **whyp)
{
	if (close_it)
		close(fd);
	pc_buf_free(b);
	if (whyp)
		*whyp = why ? why : strerror(e);
	errno = e;
	return -1;
}

int pc_read_file(const char *path, size_t max, char **data, size_t *len, const char **why)
{
	/* static: one message at a time, read before the next call */
	static char msg[96];
	pc_buf b = {0};
	int is_stdin = strcmp(path, "-") == 0;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return read_failed(fd, 0, &b, errno, NULL, why);
	struct stat st;
	if (fstat(fd, &st) != 0)
		return read_failed(fd, !is_stdin, &b, errno, NULL, why);
	if (!is_stdin && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return read_failed(fd, 1, &b, EISDIR, NULL, why);
		snprintf(msg, sizeof msg, "not a regular file (%s)", file_kind(st.st_mode));
		return read_failed(fd, 1, &b, EINVAL, msg, why);
	}
	snprintf(msg, sizeof msg, "larger than %zu MiB", max >> 20);
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max)
		return read_failed(fd, !is_stdin, &b, EFBIG, msg, why);
	if (!is_stdin && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
		return read_failed(fd, 1, &b, errno, NULL, why);
	if (!data) { /* only checked */
		if (!is_stdin)
			close(fd);
		return 0;
	}
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return read_failed(fd, !is_stdin, &b, errno, NULL, why);
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) /* it grew, or it is a pipe */
			return read_failed(fd, !is_stdin, &b, EFBIG, msg, why);
		pc_buf_add(&b, tmp, (size_t)n);
	}
	if (!is_stdin)
		close(fd);
	pc_buf_add(&b, "", 1); /* the NUL after the last byte */
	*data = pc_buf_steal(&b, len);
	*len -= 1;
	return 0;
}

pc_ast *pc_parse_file(pc_ctx *ctx, const char *path)
{
	size_t len = 0;
	char *data;
	if (pc_read_file(path, PC_MAX_SOURCE, &data, &len, NULL) != 0)
		return NULL;
	pc_ast *m = pc_parse_buffer(ctx, strcmp(path, "-") == 0 ? "<stdin>" : path, data, len);
	free(data);
	return m;
}

pc_ast *pc_parse_buffer(pc_ctx *ctx, const char *name, const char *data, size_t len)
{
	if (len > (size_t)UINT32_MAX - 16) /* what a span can address */
		len = (size_t)UINT32_MAX - 16;
	uint32_t file = pc_ctx_add_source(ctx, name, data, len);
	return pc_parse_source(ctx, file);
}

const char *pc_version(void)
{
	return PACKAGE_VERSION;
}

void pc_set_stdlib_dirs(pc_ctx *ctx, const char *const *dirs, size_t n)
{
	for (size_t i = 0; i < ctx->nstdlib_dirs; i++)
		free(ctx->stdlib_dirs[i]);
	ctx->stdlib_dirs = pc_xrealloc(ctx->stdlib_dirs, (n + 1) * sizeof *ctx->stdlib_dirs);
	for (size_t i = 0; i < n; i++)
		ctx->stdlib_dirs[i] = pc_xstrdup(dirs[i]);
	ctx->nstdlib_dirs = n;
}

int pc_check_file(pc_ctx *ctx, const char *path)
{
	if (!ctx->sema) {
		ctx->sema = pc_sema_new(ctx);
		for (size_t i = 0; i < ctx->nstdlib_dirs; i++)
			pc_sema_add_stdlib(ctx->sema, ctx->stdlib_dirs[i]);
	}
	/* phases stop at errors: a module set that did not parse or load cleanly
	 * is not type-checked (its errors would mostly be echoes) */
	size_t errors = ctx->nerrors, first = ctx->sema->nmodules;
	if (!pc_sema_load(ctx->sema, path))
		return -1;
	if (ctx->nerrors > errors)
		for (size_t i = first; i < ctx->sema->nmodules; i++)
			ctx->sema->modules[i]->checked = 1;
	pc_sema_check(ctx->sema);
	return 0;
}

void pc_set_strict(pc_ctx *ctx, int strict)
{
	ctx->strict = strict;
}

int pc_use_profile(pc_ctx *ctx, const char *path, const char *name)
{
	pc_profile *p = pc_xcalloc(1, sizeof *p);
	int rc = pc_profile_load(ctx, path, name, p);
	if (rc != 0) {
		int e = errno;
		pc_profile_free(p);
		free(p);
		errno = e;
		return rc;
	}
	ctx->profile = p;
	return 0;
}

int pc_build_plan(pc_ctx *ctx, const char *file, const char *pipeline, const char *const *params,
		  size_t nparams, FILE *out, char **err)
{
	pc_buf e = {0};
	int rc = pc_lower(ctx, file, pipeline, params, nparams, out, &e);
	*err = e.len ? pc_buf_steal(&e, NULL) : NULL;
	pc_buf_free(&e);
	return rc;
}
