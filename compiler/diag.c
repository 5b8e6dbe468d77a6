/*
 * diag.c - collecting diagnostics and rendering them.
 *
 * Phases call pc_diag_emit() where they find a problem; nothing is printed
 * then.  The driver calls pc_diag_render() once at the end, in one of four
 * formats:
 *
 *   human   file:line:col: error[E0201]: message
 *              12 |   let s = count(raw)
 *                 |                 ^^^ label
 *           note: ...
 *           (colour only when asked: the driver decides from isatty and
 *           NO_COLOR)
 *   json    one object per line: severity, code, file, line, column,
 *           end_line, end_column, message (+ notes, related)
 *   sarif   one SARIF 2.1.0 log with a rule per code that occurs
 *   github  ::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::msg
 *
 * Lines and columns are 1-based; columns count characters (UTF-8 code
 * points) and end_column is exclusive, as in SARIF with columnKind
 * "unicodeCodePoints".  Diagnostics are rendered sorted by file and
 * position, so the output does not depend on the order phases ran in.
 */
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *code;
	const char *text;
} descriptions[] = {
	{"E0101", "unexpected character"},
	{"E0102", "invalid UTF-8"},
	{"E0103", "NUL byte in source"},
	{"E0104", "unterminated string"},
	{"E0105", "unterminated text block"},
	{"E0106", "unknown escape sequence"},
	{"E0107", "number literal out of range"},
	{"E0108", "Duration or Size literal out of range"},
	{"E0109", "unknown unit or suffix on a number"},
	{"E0110", "malformed number"},
	{"E0111", "fractional Duration or Size literal"},
	{"E0201", "syntax error"},
	{"E0202", "nesting too deep"},
	{"E0203", "too many errors"},
	{"E0301", "type mismatch"},
	{"E0302", "unknown name"},
	{"E0303", "unknown or ill-defined type"},
	{"E0304", "declared twice"},
	{"E0305", "module not found"},
	{"E0306", "import cycle"},
	{"E0307", "name used before its let"},
	{"E0308", "name bound twice"},
	{"E0309", "too many or misplaced arguments"},
	{"E0310", "unknown named argument"},
	{"E0311", "argument given twice"},
	{"E0312", "missing argument"},
	{"E0313", "unknown directive"},
	{"E0314", "stage without run"},
	{"E0315", "duplicate field, member, parameter or directive"},
	{"E0316", "value without a text form interpolated"},
	{"E0317", "not a value, or not callable"},
	{"E0318", "unknown field or member"},
	{"E0320", "operator does not apply"},
	{"E0321", "return does not match the outputs"},
	{"E0322", "bad mock"},
	{"E0323", "statement not allowed here"},
	{"E0324", "wrong type arguments"},
	{"E0325", "optional value used as if present"},
	{"E0326", "resource the runtime does not enforce yet"},
	{"W0301", "unused value"},
	{"E0401", "constraint refuted at a call"},
	{"E0402", "constraint not provable (--strict)"},
	{"E0403", "default breaks its own constraint"},
	{"E0404", "requirement that can never hold"},
	{"E0501", "stage that no node of the profile can hold"},
	{"E0601", "arithmetic overflow while building the plan"},
	{"E0602", "division by zero while building the plan"},
	{"E0603", "directive not known when the plan is built"},
	{"E0604", "pipelines calling each other too deeply"},
	{"E0605", "range too large to expand"},
	{"E0606", "conversion that fails with the values of this build"},
	{"E0502", "malformed YAML"},
	{"E0503", "unknown key in pipec.yaml"},
	{"E0504", "bad value in pipec.yaml"},
	{"E0505", "profile or resources file not found"},
};

const char *pc_diag_describe(const char *code)
{
	for (size_t i = 0; i < sizeof descriptions / sizeof descriptions[0]; i++)
		if (strcmp(descriptions[i].code, code) == 0)
			return descriptions[i].text;
	return "diagnostic";
}

static char *vformat(pc_ctx *ctx, const char *fmt, va_list ap)
{
	pc_buf b = {0};
	pc_buf_vprintf(&b, fmt, ap);
	char *s = pc_arena_strndup(ctx->arena, b.data ? b.data : "", b.len);
	pc_buf_free(&b);
	return s;
}

pc_diag *pc_diag_emit(pc_ctx *ctx, pc_severity sev, const char *code, pc_span span,
		      const char *fmt, ...)
{
	if (ctx->ndiags == ctx->capdiags) {
		ctx->capdiags = ctx->capdiags ? ctx->capdiags * 2 : 16;
		ctx->diags = pc_xrealloc(ctx->diags, ctx->capdiags * sizeof *ctx->diags);
	}
	pc_diag *d = &ctx->diags[ctx->ndiags++];
	memset(d, 0, sizeof *d);
	d->sev = sev;
	d->code = code;
	d->span = span;
	va_list ap;
	va_start(ap, fmt);
	d->message = vformat(ctx, fmt, ap);
	va_end(ap);
	if (sev == PC_SEV_ERROR)
		ctx->nerrors++;
	return d;
}

void pc_diag_label(pc_ctx *ctx, pc_diag *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	d->label = vformat(ctx, fmt, ap);
	va_end(ap);
}

void pc_diag_note(pc_ctx *ctx, pc_diag *d, const char *fmt, ...)
{
	const char **notes = pc_arena_alloc(ctx->arena, (d->nnotes + 1) * sizeof *notes);
	if (d->nnotes)
		memcpy(notes, d->notes, d->nnotes * sizeof *notes);
	va_list ap;
	va_start(ap, fmt);
	notes[d->nnotes++] = vformat(ctx, fmt, ap);
	va_end(ap);
	d->notes = notes;
}

void pc_diag_secondary(pc_ctx *ctx, pc_diag *d, pc_span span, const char *fmt, ...)
{
	pc_label *l = pc_arena_alloc(ctx->arena, (d->nsecondary + 1) * sizeof *l);
	if (d->nsecondary)
		memcpy(l, d->secondary, d->nsecondary * sizeof *l);
	va_list ap;
	va_start(ap, fmt);
	l[d->nsecondary].span = span;
	l[d->nsecondary].text = vformat(ctx, fmt, ap);
	va_end(ap);
	d->nsecondary++;
	d->secondary = l;
}

/* ---- positions ---------------------------------------------------------- */

typedef struct pos {
	uint32_t line, col, end_line, end_col; /* end_col exclusive */
} pos;

static pos span_pos(const pc_ctx *ctx, pc_span sp)
{
	const pc_source *s = ctx->files[sp.file];
	pos p;
	pc_source_linecol(s, sp.start, &p.line, &p.col);
	if (sp.end > sp.start)
		pc_source_linecol(s, sp.end, &p.end_line, &p.end_col);
	else /* an empty span (end of file) is shown as one character */
		p.end_line = p.line, p.end_col = p.col + 1;
	return p;
}

static const char *sev_name(pc_severity s)
{
	return s == PC_SEV_ERROR ? "error" : s == PC_SEV_WARNING ? "warning" : "note";
}

static int cmp_diag(const void *x, const void *y)
{
	const pc_diag *a = *(pc_diag *const *)x, *b = *(pc_diag *const *)y;
	if (a->span.file != b->span.file)
		return a->span.file < b->span.file ? -1 : 1;
	if (a->span.start != b->span.start)
		return a->span.start < b->span.start ? -1 : 1;
	return a < b ? -1 : a > b; /* stable: emission order */
}

static const pc_diag **sorted(const pc_ctx *ctx)
{
	const pc_diag **v = pc_xmalloc((ctx->ndiags + 1) * sizeof *v);
	for (size_t i = 0; i < ctx->ndiags; i++)
		v[i] = &ctx->diags[i];
	qsort(v, ctx->ndiags, sizeof *v, cmp_diag);
	return v;
}

/* ---- human -------------------------------------------------------------- */

#define RED "\033[1;31m"
#define YELLOW "\033[1;33m"
#define CYAN "\033[1;36m"
#define BLUE "\033[1;34m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

/* Appends line LINE (1-based) of S with a gutter, and the underline of
 * [start, end) below it. */
static void snippet(pc_buf *b, const pc_source *s, uint32_t start, uint32_t end, char mark,
		    const char *label, int color, const char *mcolor)
{
	uint32_t line = pc_source_line(s, start);
	uint32_t ls = pc_source_line_start(s, line);
	uint32_t le = line < s->nlines ? s->lines[line] - 1 : s->len;
	if (le > ls && s->text[le - 1] == '\r')
		le--;
	if (end > le)
		end = le;
	char num[16];
	snprintf(num, sizeof num, "%u", line);
	int w = (int)strlen(num) < 4 ? 4 : (int)strlen(num);
	pc_buf_printf(b, "%s%*s |%s ", color ? BLUE : "", w + 1, num, color ? RESET : "");
	/* the line, tabs and control bytes as spaces so the carets line up */
	for (uint32_t i = ls; i < le; i++) {
		unsigned char c = (unsigned char)s->text[i];
		pc_buf_addc(b, (c < 0x20 || c == 0x7f) ? ' ' : (char)c);
	}
	pc_buf_printf(b, "\n%s%*s |%s ", color ? BLUE : "", w + 1, "", color ? RESET : "");
	uint32_t pad = 0, width = 0;
	for (uint32_t i = ls; i < start && i < le; i++)
		if (((unsigned char)s->text[i] & 0xc0) != 0x80)
			pad++;
	for (uint32_t i = start; i < end; i++)
		if (((unsigned char)s->text[i] & 0xc0) != 0x80)
			width++;
	if (width == 0)
		width = 1;
	for (uint32_t i = 0; i < pad; i++)
		pc_buf_addc(b, ' ');
	if (color)
		pc_buf_adds(b, mcolor);
	for (uint32_t i = 0; i < width; i++)
		pc_buf_addc(b, mark);
	if (label && *label)
		pc_buf_printf(b, " %s", label);
	if (color)
		pc_buf_adds(b, RESET);
	pc_buf_addc(b, '\n');
}

static void render_human(const pc_ctx *ctx, pc_buf *b, const pc_diag *d, int color)
{
	const pc_source *s = ctx->files[d->span.file];
	pos p = span_pos(ctx, d->span);
	const char *sc = d->sev == PC_SEV_ERROR ? RED : d->sev == PC_SEV_WARNING ? YELLOW : CYAN;
	pc_buf_printf(b, "%s%s:%u:%u:%s %s%s[%s]%s: %s%s%s\n", color ? BOLD : "", s->path, p.line,
		      p.col, color ? RESET : "", color ? sc : "", sev_name(d->sev), d->code,
		      color ? RESET : "", color ? BOLD : "", d->message, color ? RESET : "");
	snippet(b, s, d->span.start, d->span.end, '^', d->label, color, sc);
	for (uint32_t i = 0; i < d->nsecondary; i++) {
		const pc_label *l = &d->secondary[i];
		const pc_source *ls = ctx->files[l->span.file];
		pos lp = span_pos(ctx, l->span);
		pc_buf_printf(b, "  --> %s:%u:%u\n", ls->path, lp.line, lp.col);
		snippet(b, ls, l->span.start, l->span.end, '-', l->text, color, CYAN);
	}
	for (uint32_t i = 0; i < d->nnotes; i++)
		pc_buf_printf(b, "%snote:%s %s\n", color ? CYAN : "", color ? RESET : "",
			      d->notes[i]);
}

/* ---- json ---------------------------------------------------------------- */

static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	/* json_string refuses invalid UTF-8; messages quote source text */
	return j ? j : json_string("(message not valid UTF-8)");
}

static json_t *json_of(const pc_ctx *ctx, const pc_diag *d)
{
	const pc_source *s = ctx->files[d->span.file];
	pos p = span_pos(ctx, d->span);
	json_t *o = json_object();
	json_object_set_new(o, "severity", json_string(sev_name(d->sev)));
	json_object_set_new(o, "code", json_string(d->code));
	json_object_set_new(o, "file", jstr(s->path));
	json_object_set_new(o, "line", json_integer(p.line));
	json_object_set_new(o, "column", json_integer(p.col));
	json_object_set_new(o, "end_line", json_integer(p.end_line));
	json_object_set_new(o, "end_column", json_integer(p.end_col));
	json_object_set_new(o, "message", jstr(d->message));
	if (d->nnotes) {
		json_t *a = json_array();
		for (uint32_t i = 0; i < d->nnotes; i++)
			json_array_append_new(a, jstr(d->notes[i]));
		json_object_set_new(o, "notes", a);
	}
	if (d->nsecondary) {
		json_t *a = json_array();
		for (uint32_t i = 0; i < d->nsecondary; i++) {
			pos lp = span_pos(ctx, d->secondary[i].span);
			json_t *r = json_object();
			json_object_set_new(r, "file", jstr(ctx->files[d->secondary[i].span.file]->path));
			json_object_set_new(r, "line", json_integer(lp.line));
			json_object_set_new(r, "column", json_integer(lp.col));
			json_object_set_new(r, "message", jstr(d->secondary[i].text));
			json_array_append_new(a, r);
		}
		json_object_set_new(o, "related", a);
	}
	return o;
}

/* ---- sarif --------------------------------------------------------------- */

/* A path as a SARIF artifact URI: relative references stay relative, with
 * bytes outside the unreserved set and '/' percent-encoded. */
static json_t *uri_of(const char *path)
{
	pc_buf b = {0};
	if (path[0] == '/')
		pc_buf_adds(&b, "file://");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~/", *p))
			pc_buf_addc(&b, (char)*p);
		else
			pc_buf_printf(&b, "%%%02X", *p);
	}
	json_t *j = json_string(b.data ? b.data : "");
	pc_buf_free(&b);
	return j;
}

static json_t *sarif_region(const pc_ctx *ctx, pc_span sp)
{
	pos p = span_pos(ctx, sp);
	json_t *loc = json_object();
	json_t *phys = json_object();
	json_t *art = json_object();
	json_object_set_new(art, "uri", uri_of(ctx->files[sp.file]->path));
	json_object_set_new(phys, "artifactLocation", art);
	json_t *reg = json_object();
	json_object_set_new(reg, "startLine", json_integer(p.line));
	json_object_set_new(reg, "startColumn", json_integer(p.col));
	json_object_set_new(reg, "endLine", json_integer(p.end_line));
	json_object_set_new(reg, "endColumn", json_integer(p.end_col));
	json_object_set_new(phys, "region", reg);
	json_object_set_new(loc, "physicalLocation", phys);
	return loc;
}

static json_t *render_sarif(const pc_ctx *ctx, const pc_diag **v)
{
	json_t *log = json_object();
	json_object_set_new(log, "$schema", json_string("https://json.schemastore.org/sarif-2.1.0.json"));
	json_object_set_new(log, "version", json_string("2.1.0"));
	json_t *run = json_object();
	json_t *driver = json_object();
	json_object_set_new(driver, "name", json_string("pipec"));
	json_object_set_new(driver, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(driver, "informationUri", json_string("https://example.invalid/pipec/docs/diagnostics.md"));
	json_t *rules = json_array();
	const char **seen = pc_xmalloc((ctx->ndiags + 1) * sizeof *seen);
	size_t nseen = 0;
	json_t *results = json_array();
	for (size_t i = 0; i < ctx->ndiags; i++) {
		const pc_diag *d = v[i];
		size_t r = 0;
		while (r < nseen && strcmp(seen[r], d->code) != 0)
			r++;
		if (r == nseen) {
			seen[nseen++] = d->code;
			json_t *rule = json_object();
			json_object_set_new(rule, "id", json_string(d->code));
			json_t *sd = json_object();
			json_object_set_new(sd, "text", json_string(pc_diag_describe(d->code)));
			json_object_set_new(rule, "shortDescription", sd);
			json_array_append_new(rules, rule);
		}
		json_t *res = json_object();
		json_object_set_new(res, "ruleId", json_string(d->code));
		json_object_set_new(res, "ruleIndex", json_integer((json_int_t)r));
		json_object_set_new(res, "level", json_string(d->sev == PC_SEV_NOTE ? "note" : sev_name(d->sev)));
		pc_buf text = {0};
		pc_buf_adds(&text, d->message);
		for (uint32_t k = 0; k < d->nnotes; k++)
			pc_buf_printf(&text, "\nnote: %s", d->notes[k]);
		json_t *msg = json_object();
		json_object_set_new(msg, "text", jstr(text.data));
		pc_buf_free(&text);
		json_object_set_new(res, "message", msg);
		json_t *locs = json_array();
		json_array_append_new(locs, sarif_region(ctx, d->span));
		json_object_set_new(res, "locations", locs);
		if (d->nsecondary) {
			json_t *rel = json_array();
			for (uint32_t k = 0; k < d->nsecondary; k++) {
				json_t *l = sarif_region(ctx, d->secondary[k].span);
				json_object_set_new(l, "id", json_integer(k));
				json_t *m = json_object();
				json_object_set_new(m, "text", jstr(d->secondary[k].text));
				json_object_set_new(l, "message", m);
				json_array_append_new(rel, l);
			}
			json_object_set_new(res, "relatedLocations", rel);
		}
		json_array_append_new(results, res);
	}
	free(seen);
	json_object_set_new(driver, "rules", rules);
	json_t *tool = json_object();
	json_object_set_new(tool, "driver", driver);
	json_object_set_new(run, "tool", tool);
	json_object_set_new(run, "columnKind", json_string("unicodeCodePoints"));
	json_object_set_new(run, "results", results);
	json_t *runs = json_array();
	json_array_append_new(runs, run);
	json_object_set_new(log, "runs", runs);
	return log;
}

/* ---- github -------------------------------------------------------------- */

static void gh_escape(pc_buf *b, const char *s, int property)
{
	for (; *s; s++) {
		switch (*s) {
		case '%': pc_buf_adds(b, "%25"); break;
		case '\r': pc_buf_adds(b, "%0D"); break;
		case '\n': pc_buf_adds(b, "%0A"); break;
		case ':': property ? pc_buf_adds(b, "%3A") : pc_buf_addc(b, ':'); break;
		case ',': property ? pc_buf_adds(b, "%2C") : pc_buf_addc(b, ','); break;
		default: pc_buf_addc(b, *s);
		}
	}
}

static void render_github(const pc_ctx *ctx, pc_buf *b, const pc_diag *d)
{
	pos p = span_pos(ctx, d->span);
	const char *cmd = d->sev == PC_SEV_ERROR ? "error" : d->sev == PC_SEV_WARNING ? "warning" : "notice";
	pc_buf_printf(b, "::%s file=", cmd);
	gh_escape(b, ctx->files[d->span.file]->path, 1);
	pc_buf_printf(b, ",line=%u,col=%u,endLine=%u,endColumn=%u,title=", p.line, p.col,
		      p.end_line, p.end_col);
	gh_escape(b, d->code, 1);
	pc_buf_adds(b, "::");
	gh_escape(b, d->message, 0);
	for (uint32_t i = 0; i < d->nnotes; i++) {
		pc_buf_adds(b, "%0Anote: ");
		gh_escape(b, d->notes[i], 0);
	}
	pc_buf_addc(b, '\n');
}

int pc_diag_render(const pc_ctx *ctx, FILE *out, pc_diag_format format, int color)
{
	const pc_diag **v = sorted(ctx);
	pc_buf b = {0};
	if (format == PC_FORMAT_SARIF) {
		json_t *log = render_sarif(ctx, v);
		char *s = json_dumps(log, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		pc_buf_adds(&b, s);
		pc_buf_addc(&b, '\n');
		free(s);
		json_decref(log);
	} else {
		for (size_t i = 0; i < ctx->ndiags; i++) {
			if (format == PC_FORMAT_HUMAN) {
				render_human(ctx, &b, v[i], color);
			} else if (format == PC_FORMAT_JSON) {
				json_t *o = json_of(ctx, v[i]);
				char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
				pc_buf_adds(&b, s);
				pc_buf_addc(&b, '\n');
				free(s);
				json_decref(o);
			} else {
				render_github(ctx, &b, v[i]);
			}
		}
	}
	free(v);
	int rc = 0;
	if (b.len && fwrite(b.data, 1, b.len, out) != b.len)
		rc = -1;
	if (fflush(out) != 0)
		rc = -1;
	pc_buf_free(&b);
	return rc;
}
