/*
 * lexer.re - the re2c lexer (LANGUAGE.md section 2).
 *
 * The whole file is in memory with a NUL after it; re2c's end-of-input rule
 * ($, re2c:eof) tells the real end from a NUL inside the text, which is
 * reported.  No globals: all state is in pc_lexer.
 *
 * The lexer keeps a stack of open frames:
 *
 *   PAREN ( )   BRACKET [ ]   newlines inside are ignored
 *   BRACE { }   newlines are separators (the separator rule below)
 *   STRING "..." and TEXT """...""": characters are string text, decoded
 *   INTERP ${ } inside a string: ordinary tokens until the matching }
 *
 * The separator rule.  A newline in a BRACE frame or at top level becomes a
 * NEWLINE token unless the previous token cannot end a statement (a binary
 * operator, ',', '=', ':', '->', an opening bracket, most keywords), the
 * previous token was already a separator, or the next token is 'else' (so
 * that "}\nelse {" reads as one if).  The grammar then sees explicit
 * separators only.
 *
 * Strings come to the parser as STR_BEGIN, then STR_TEXT pieces (escapes
 * decoded) and INTERP_BEGIN expr INTERP_END for each ${...}, then STR_END.
 * A text block is the same with TEXT_BEGIN/TEXT_END; its common indentation
 * (the fewest leading blanks of its non-blank content lines) is measured
 * once when it opens and removed from each line as it is read; the first
 * newline after the opening quotes and a last line of only blanks before
 * the closing quotes are dropped.
 *
 * On bad input the lexer reports a diagnostic and carries on with something
 * sensible (skips the character, ends the string, uses 0 for the number);
 * the parser never sees an error token.  Error recovery (pc_lex_recover)
 * skips tokens using the same frame stack, so it never stops inside a
 * bracket it should have skipped.
 */
#include "parse.h"
#include "parser.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { FR_PAREN, FR_BRACKET, FR_BRACE, FR_INTERP, FR_STRING, FR_TEXT };

struct frame {
	uint8_t kind;
	uint8_t at_bol;  /* TEXT: at a line start, indentation not yet removed */
	uint8_t line_ws; /* TEXT: the current line so far holds only blanks */
	uint32_t open;   /* offset of the opening delimiter */
	uint32_t indent; /* TEXT: blanks to remove from each line */
};

struct pc_lexer {
	pc_parser *P;
	pc_ctx *ctx;
	pc_source *src;
	const unsigned char *base; /* source text */
	const unsigned char *cur;  /* next byte to read */
	const unsigned char *lim;  /* the NUL after the text */
	const unsigned char *tok;  /* start of the token being read */
	const unsigned char *mark; /* re2c backtracking */
	struct frame frames[PC_MAX_NESTING + 2];
	int depth;                 /* frames in use */
	int last;                  /* kind of the last token produced (0: none yet) */
	int garbage;               /* inside a run of unexpected characters */
	int aborted;               /* stopped: nesting too deep or too many errors */
	int eof_reported;          /* a text block ran to the end: "found end of file" is noise */
	pc_loc prev, cur_loc;      /* the token before the lookahead, and the lookahead */
	int prev_kind, cur_kind;
	int la_depth;              /* frames before the lookahead was read */
	struct queued {            /* tokens made or read by recovery, handed out next */
		int kind, depth;   /* token, frames before it */
		PC_YYSTYPE val;
		pc_loc loc;
	} queue[4];
	int nqueue;
	pc_buf text;               /* string text being decoded */
	size_t line_text_start;    /* TEXT: text.len where the current line began */
};

#define OFF(p) ((uint32_t)((p) - lx->base))

static int reporting(pc_lexer *lx)
{
	return pc_parse_reporting(lx->P);
}

static pc_diag *lex_error(pc_lexer *lx, const char *code, uint32_t start, uint32_t end,
			  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static pc_diag *lex_error(pc_lexer *lx, const char *code, uint32_t start, uint32_t end,
			  const char *fmt, ...)
{
	if (!reporting(lx))
		return NULL;
	pc_buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	pc_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	pc_span sp = {lx->P->file, start, end};
	pc_diag *d = pc_diag_emit(lx->ctx, PC_SEV_ERROR, code, sp, "%s", b.data);
	pc_buf_free(&b);
	return d;
}

pc_lexer *pc_lex_new(pc_parser *P)
{
	pc_lexer *lx = pc_xcalloc(1, sizeof *lx);
	lx->P = P;
	lx->ctx = P->ctx;
	lx->src = P->src;
	lx->base = (const unsigned char *)P->src->text;
	lx->cur = lx->base;
	lx->lim = lx->base + P->src->len;
	/* a UTF-8 byte order mark some editors write is not part of the program */
	if (P->src->len >= 3 && memcmp(lx->base, "\xEF\xBB\xBF", 3) == 0)
		lx->cur += 3;
	return lx;
}

void pc_lex_free(pc_lexer *lx)
{
	if (!lx)
		return;
	pc_buf_free(&lx->text);
	free(lx);
}

pc_loc pc_lex_prev(const pc_lexer *lx) { return lx->prev; }
int pc_lex_prev_kind(const pc_lexer *lx) { return lx->prev_kind; }
pc_loc pc_lex_cur(const pc_lexer *lx) { return lx->cur_loc; }
int pc_lex_aborted(const pc_lexer *lx) { return lx->aborted; }
int pc_lex_eof_reported(const pc_lexer *lx) { return lx->eof_reported; }

int pc_lex_open_bracket(const pc_lexer *lx, int braces, uint32_t *off, char *ch)
{
	if (!lx->depth)
		return 0;
	const struct frame *f = &lx->frames[lx->depth - 1];
	if (f->kind != FR_PAREN && f->kind != FR_BRACKET && !(braces && f->kind == FR_BRACE))
		return 0;
	*off = f->open;
	*ch = f->kind == FR_PAREN ? '(' : f->kind == FR_BRACKET ? '[' : '{';
	return 1;
}

/* ---- frames -------------------------------------------------------------- */

static struct frame *top(pc_lexer *lx)
{
	return lx->depth ? &lx->frames[lx->depth - 1] : NULL;
}

static int push_frame(pc_lexer *lx, int kind, uint32_t open)
{
	if (lx->depth >= PC_MAX_NESTING) {
		lex_error(lx, "E0202", open, open + 1,
			  "brackets and strings nested too deeply (more than %d levels)",
			  PC_MAX_NESTING);
		lx->aborted = 1;
		return -1;
	}
	struct frame *f = &lx->frames[lx->depth++];
	memset(f, 0, sizeof *f);
	f->kind = (uint8_t)kind;
	f->open = open;
	return 0;
}

/* ---- the separator rule -------------------------------------------------- */

/* Whether a statement may end after a token of kind K. */
static int can_end(int k)
{
	switch (k) {
	case 0: case NEWLINE: case ';': case '{': case '(': case '[': case ',': case '=':
	case ':': case ARROW: case '+': case '-': case '*': case '/': case '%': case '<':
	case '>': case EQ: case NE: case LE: case GE: case ANDAND: case OROR: case DOTDOT:
	case '.': case '!': case INTERP_BEGIN:
		return 0;
	case KW_RETURN: case KW_TRUE: case KW_FALSE: case KW_NONE:
		return 1;
	default:
		for (size_t i = 0; i < pc_keyword_count; i++)
			if (pc_keyword_table[i].token == k)
				return 0;
		return 1;
	}
}

/* Whether the next token after P (skipping blanks, newlines, comments) is 'else'. */
static int next_is_else(const unsigned char *p, const unsigned char *lim)
{
	for (;;) {
		while (p < lim && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		if (p < lim && *p == '#') {
			while (p < lim && *p != '\n')
				p++;
			continue;
		}
		break;
	}
	if (lim - p < 4 || memcmp(p, "else", 4) != 0)
		return 0;
	if (lim - p == 4)
		return 1;
	unsigned char c = p[4];
	return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
}

/*
 * Keywords other than the value words (true, false, none) and return read as
 * names where only a name fits: after '.', before ':' (a field, key, output
 * or named argument), and alone between separators in a { } list (an enum
 * member), and alone in an interpolation.  So `enum Split { train, test }`,
 * `r.type` and "${test}" work.
 */
static int keyword_as_name(pc_lexer *lx, int kw)
{
	if (kw == KW_TRUE || kw == KW_FALSE || kw == KW_NONE || kw == KW_RETURN)
		return 0;
	if (lx->last == '.')
		return 1;
	const unsigned char *p = lx->cur;
	while (p < lx->lim && (*p == ' ' || *p == '\t'))
		p++;
	unsigned char next = p < lx->lim ? *p : 0;
	if (next == ':' || (lx->last == INTERP_BEGIN && next == '}'))
		return 1;
	int prev_sep = lx->last == '{' || lx->last == ',' || lx->last == NEWLINE || lx->last == ';';
	return prev_sep && (next == ',' || next == '}' || next == '\n' || next == '\r' || next == '#');
}

/* ---- text blocks --------------------------------------------------------- */

static int is_triple(const unsigned char *p, const unsigned char *lim)
{
	return lim - p >= 3 && p[0] == '"' && p[1] == '"' && p[2] == '"';
}

/* Skips an interpolation ${...} starting at *pp (at the '$'). */
static void skip_interp(const unsigned char **pp, const unsigned char *lim)
{
	const unsigned char *p = *pp + 2;
	int depth = 1;
	while (p < lim) {
		unsigned char c = *p;
		if (c == '{') {
			depth++;
		} else if (c == '}') {
			if (--depth == 0) {
				p++;
				break;
			}
		} else if (c == '"') {
			p++;
			while (p < lim && *p != '"' && *p != '\n')
				p += (*p == '\\' && p + 1 < lim) ? 2 : 1;
		}
		if (p < lim)
			p++;
	}
	*pp = p;
}

/* Scans to the end of the line at *pp; returns 1 if the closing """ is on it. */
static int scan_text_line(const unsigned char **pp, const unsigned char *lim)
{
	const unsigned char *p = *pp;
	int closed = 0;
	while (p < lim && *p != '\n') {
		if (*p == '\\' && p + 1 < lim && p[1] != '\n') {
			p += 2;
		} else if (is_triple(p, lim)) {
			closed = 1;
			break;
		} else if (*p == '$' && p + 1 < lim && p[1] == '{') {
			skip_interp(&p, lim);
		} else {
			p++;
		}
	}
	if (p < lim && *p == '\n')
		p++;
	*pp = p;
	return closed;
}

/* The common indentation of the content lines from P to the closing """. */
static uint32_t text_indent(const unsigned char *p, const unsigned char *lim)
{
	uint32_t min = UINT32_MAX;
	while (p < lim) {
		uint32_t ws = 0;
		while (p < lim && (*p == ' ' || *p == '\t'))
			p++, ws++;
		if (p >= lim || is_triple(p, lim))
			break;
		if (*p == '\n' || (*p == '\r' && p + 1 < lim && p[1] == '\n')) {
			p += *p == '\r' ? 2 : 1;
			continue;
		}
		if (ws < min)
			min = ws;
		if (scan_text_line(&p, lim))
			break;
	}
	return min == UINT32_MAX ? 0 : min;
}

/* ---- strings ------------------------------------------------------------- */

static int text_token(pc_lexer *lx, PC_YYSTYPE *val, pc_loc *loc, const unsigned char *start)
{
	val->str.p = pc_arena_strndup(lx->ctx->arena, lx->text.data, lx->text.len);
	val->str.n = (uint32_t)lx->text.len;
	loc->start = OFF(start);
	loc->end = OFF(lx->cur);
	lx->text.len = 0;
	lx->line_text_start = 0;
	return STR_TEXT;
}

/* The next piece of a string or text block (the top frame). */
static int lex_string(pc_lexer *lx, PC_YYSTYPE *val, pc_loc *loc)
{
	struct frame *f = top(lx);
	int text = f->kind == FR_TEXT;
	const unsigned char *start = lx->cur;
	lx->text.len = 0;
	lx->line_text_start = 0;
	for (;;) {
		if (text && f->at_bol) {
			uint32_t n = 0;
			while (n < f->indent && lx->cur < lx->lim && (*lx->cur == ' ' || *lx->cur == '\t'))
				lx->cur++, n++;
			f->at_bol = 0;
			f->line_ws = 1;
			lx->line_text_start = lx->text.len;
		}
		const unsigned char *p = lx->cur;
		unsigned char c = *p;
		if (p >= lx->lim || (!text && c == '\n')) {
			if (text && f->line_ws)
				lx->text.len = lx->line_text_start;
			if (lx->text.len)
				return text_token(lx, val, loc, start);
			if (text) {
				lex_error(lx, "E0105", f->open, f->open + 3,
					  "unterminated text block: no closing \"\"\" before the end of the file");
				lx->eof_reported = 1;
			}
			else
				lex_error(lx, "E0104", f->open, OFF(p),
					  "unterminated string: a \"...\" string ends on its own line");
			lx->depth--;
			loc->start = loc->end = OFF(p);
			return text ? TEXT_END : STR_END;
		}
		if (c == '\n') { /* text blocks only */
			pc_buf_addc(&lx->text, '\n');
			lx->cur++;
			f->at_bol = 1;
			continue;
		}
		if (c == '\r' && p + 1 < lx->lim && p[1] == '\n') {
			lx->cur++;
			continue;
		}
		if (c == '"' && (!text || is_triple(p, lx->lim))) {
			if (text && f->line_ws)
				lx->text.len = lx->line_text_start;
			if (lx->text.len)
				return text_token(lx, val, loc, start);
			lx->depth--;
			lx->cur += text ? 3 : 1;
			loc->start = OFF(p);
			loc->end = OFF(lx->cur);
			return text ? TEXT_END : STR_END;
		}
		if (c == '$' && p + 1 < lx->lim && p[1] == '{') {
			if (lx->text.len)
				return text_token(lx, val, loc, start);
			if (push_frame(lx, FR_INTERP, OFF(p)) < 0)
				return 0;
			lx->cur += 2;
			loc->start = OFF(p);
			loc->end = OFF(lx->cur);
			return INTERP_BEGIN;
		}
		if (text && c != ' ' && c != '\t')
			f->line_ws = 0;
		if (c == '\\') {
			unsigned char e = p + 1 < lx->lim ? p[1] : 0;
			char out = 0;
			switch (e) {
			case 'n': out = '\n'; break;
			case 't': out = '\t'; break;
			case 'r': out = '\r'; break;
			case '"': out = '"'; break;
			case '\\': out = '\\'; break;
			case '$': out = '$'; break;
			}
			if (out) {
				pc_buf_addc(&lx->text, out);
				lx->cur += 2;
				continue;
			}
			if (e == '\n' || p + 1 >= lx->lim) {
				pc_buf_addc(&lx->text, '\\');
				lx->cur++;
				continue;
			}
			uint32_t cp;
			int n = pc_utf8_len(p + 1, lx->lim, &cp);
			pc_diag *d = lex_error(lx, "E0106", OFF(p), OFF(p + 1 + (n ? n : 1)),
					       "unknown escape sequence '\\%.*s'", n ? n : 1,
					       n ? (const char *)p + 1 : "?");
			if (d)
				pc_diag_note(lx->ctx, d,
					     "the escapes are \\n \\t \\r \\\" \\\\ and \\$; write \\\\ for a backslash");
			pc_buf_addc(&lx->text, '\\');
			lx->cur++;
			continue;
		}
		if (c == 0) {
			lex_error(lx, "E0103", OFF(p), OFF(p) + 1, "NUL byte in a string");
			lx->cur++;
			continue;
		}
		if (c < 0x80) {
			pc_buf_addc(&lx->text, (char)c);
			lx->cur++;
			continue;
		}
		int n = pc_utf8_len(p, lx->lim, NULL);
		if (!n) {
			lex_error(lx, "E0102", OFF(p), OFF(p) + 1, "invalid UTF-8 byte 0x%02X in a string", c);
			pc_buf_adds(&lx->text, "\xEF\xBF\xBD"); /* U+FFFD */
			lx->cur++;
			continue;
		}
		pc_buf_add(&lx->text, p, (size_t)n);
		lx->cur += n;
	}
}

static void begin_text_block(pc_lexer *lx, uint32_t open)
{
	const unsigned char *q = lx->cur;
	while (q < lx->lim && (*q == ' ' || *q == '\t' || *q == '\r'))
		q++;
	int own_line = q < lx->lim && *q == '\n';
	uint32_t indent = 0;
	if (own_line) {
		indent = text_indent(q + 1, lx->lim);
	} else {
		/* text on the opening line is kept as written and not measured */
		const unsigned char *p = lx->cur;
		if (!scan_text_line(&p, lx->lim))
			indent = text_indent(p, lx->lim);
	}
	if (push_frame(lx, FR_TEXT, open) < 0)
		return;
	struct frame *f = top(lx);
	f->indent = indent;
	if (own_line) {
		lx->cur = q + 1;
		f->at_bol = 1;
	}
}

/* ---- comments ------------------------------------------------------------ */

static void comment(pc_lexer *lx, const unsigned char *s, const unsigned char *e)
{
	pc_source *src = lx->src;
	if (src->ncomments == src->capcomments) {
		src->capcomments = src->capcomments ? src->capcomments * 2 : 16;
		src->comments = pc_xrealloc(src->comments, src->capcomments * sizeof *src->comments);
	}
	if (e > s && e[-1] == '\r')
		e--;
	src->comments[src->ncomments++] = (pc_comment){OFF(s), OFF(e)};
	for (const unsigned char *p = s; p < e;) {
		if (*p == 0) {
			lex_error(lx, "E0103", OFF(p), OFF(p) + 1, "NUL byte in a comment");
			p++;
			continue;
		}
		int n = pc_utf8_len(p, e, NULL);
		if (!n) {
			lex_error(lx, "E0102", OFF(p), OFF(p) + 1, "invalid UTF-8 byte 0x%02X in a comment", *p);
			n = 1;
		}
		p += n;
	}
}

/* ---- numbers ------------------------------------------------------------- */

/* Digits (with '_') from S to E as an unsigned value; 0 ok, -1 overflow. */
static int digits(const unsigned char *s, const unsigned char *e, uint64_t *out)
{
	uint64_t v = 0;
	for (; s < e; s++) {
		if (*s == '_')
			continue;
		unsigned d = *s - '0';
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static const unsigned char *digits_end(const unsigned char *s, const unsigned char *e)
{
	while (s < e && ((*s >= '0' && *s <= '9') || *s == '_'))
		s++;
	return s;
}

static const struct unit {
	const char *name;
	int64_t factor;
	int size; /* 1: Size, 0: Duration */
} units[] = {
	{"ns", 1, 0}, {"us", 1000, 0}, {"ms", 1000000, 0}, {"s", 1000000000LL, 0},
	{"m", 60000000000LL, 0}, {"h", 3600000000000LL, 0}, {"d", 86400000000000LL, 0},
	{"B", 1, 1}, {"KB", 1000, 1}, {"MB", 1000000, 1}, {"GB", 1000000000LL, 1},
	{"TB", 1000000000000LL, 1}, {"PB", 1000000000000000LL, 1}, {"KiB", 1LL << 10, 1},
	{"MiB", 1LL << 20, 1}, {"GiB", 1LL << 30, 1}, {"TiB", 1LL << 40, 1}, {"PiB", 1LL << 50, 1},
};

int64_t pc_size_unit(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (units[i].size && strlen(units[i].name) == n && memcmp(units[i].name, name, n) == 0)
			return units[i].factor;
	return 0;
}

/* The unit that ends the token (its trailing letters). */
static const struct unit *unit_of(pc_lexer *lx)
{
	const unsigned char *u = lx->cur;
	while (u > lx->tok && ((u[-1] >= 'A' && u[-1] <= 'Z') || (u[-1] >= 'a' && u[-1] <= 'z')))
		u--;
	size_t n = (size_t)(lx->cur - u);
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
			return &units[i];
	PC_UNREACHABLE();
}

/* Where the suffix after the number's digits, fraction and exponent begins. */
static const unsigned char *number_suffix(pc_lexer *lx)
{
	const unsigned char *u = digits_end(lx->tok, lx->cur);
	if (u + 1 < lx->cur && *u == '.' && u[1] >= '0' && u[1] <= '9')
		u = digits_end(u + 1, lx->cur);
	if (u < lx->cur && (*u == 'e' || *u == 'E')) {
		const unsigned char *e = u + 1;
		if (e < lx->cur && (*e == '+' || *e == '-'))
			e++;
		if (e < lx->cur && *e >= '0' && *e <= '9')
			u = digits_end(e, lx->cur);
	}
	return u;
}

static int unit_literal(pc_lexer *lx, PC_YYSTYPE *val)
{
	const struct unit *un = unit_of(lx);
	const unsigned char *u = lx->cur - strlen(un->name);
	uint64_t v;
	val->i = 0;
	if (digits(lx->tok, u, &v) < 0 || v > (uint64_t)(INT64_MAX / un->factor)) {
		pc_diag *d = lex_error(lx, "E0108", OFF(lx->tok), OFF(lx->cur),
				       "%s literal out of range", un->size ? "Size" : "Duration");
		if (d)
			pc_diag_note(lx->ctx, d, "the largest %s is %s", un->size ? "Size" : "Duration",
				     un->size ? "8191PiB" : "106751d");
	} else {
		val->i = (int64_t)v * un->factor;
	}
	return un->size ? SIZE : DURATION;
}

static double float_value(pc_lexer *lx)
{
	size_t n = (size_t)(lx->cur - lx->tok);
	char *tmp = pc_xmalloc(n + 1), *q = tmp;
	for (const unsigned char *p = lx->tok; p < lx->cur; p++)
		if (*p != '_')
			*q++ = (char)*p;
	*q = 0;
	double v = strtod(tmp, NULL);
	free(tmp);
	if (isinf(v)) {
		lex_error(lx, "E0107", OFF(lx->tok), OFF(lx->cur),
			  "float literal out of range (larger than 1.8e308)");
		v = 0;
	}
	return v;
}

/* ---- unexpected input ---------------------------------------------------- */

static void unexpected(pc_lexer *lx)
{
	const unsigned char *p = lx->tok;
	int was = lx->garbage;
	lx->garbage = 1;
	uint32_t cp;
	int n = pc_utf8_len(p, lx->lim, &cp);
	if (!n) {
		lx->cur = p + 1;
		lex_error(lx, "E0102", OFF(p), OFF(p) + 1, "invalid UTF-8 byte 0x%02X", *p);
		return;
	}
	lx->cur = p + n;
	if (was)
		return; /* one report per run of stray characters */
	pc_diag *d;
	if (*p == '\'') {
		d = lex_error(lx, "E0101", OFF(p), OFF(p) + 1, "unexpected character '''");
		if (d)
			pc_diag_note(lx->ctx, d, "strings are written in double quotes: \"...\"");
	} else if (*p == '$') {
		d = lex_error(lx, "E0101", OFF(p), OFF(p) + 1, "unexpected character '$'");
		if (d)
			pc_diag_note(lx->ctx, d, "${...} interpolates only inside a string");
	} else if (cp < 0x20 || cp == 0x7f) {
		lex_error(lx, "E0101", OFF(p), OFF(p) + 1, "unexpected control character U+%04X", cp);
	} else if (cp < 0x80) {
		lex_error(lx, "E0101", OFF(p), OFF(p) + 1, "unexpected character '%c'", (char)cp);
	} else {
		d = lex_error(lx, "E0101", OFF(p), OFF(p) + (uint32_t)n,
			      "unexpected character '%.*s' (U+%04X)", n, (const char *)p, cp);
		if (d)
			pc_diag_note(lx->ctx, d,
				     "names are ASCII; other characters may appear in strings and comments");
	}
}

/* ---- the token loop ------------------------------------------------------ */

static int lex_token(pc_lexer *lx, PC_YYSTYPE *val, pc_loc *loc);

static int produce(pc_lexer *lx, int kind, pc_loc *loc)
{
	if (!loc->end && !loc->start) {
		loc->start = OFF(lx->tok);
		loc->end = OFF(lx->cur);
	}
	lx->last = kind;
	lx->garbage = 0;
	return kind;
}

static int lex_token(pc_lexer *lx, PC_YYSTYPE *val, pc_loc *loc)
{
	*loc = (pc_loc){0, 0};
	if (lx->aborted) {
		loc->start = loc->end = OFF(lx->lim);
		return 0;
	}
	struct frame *f = top(lx);
	if (f && (f->kind == FR_STRING || f->kind == FR_TEXT)) {
		int k = lex_string(lx, val, loc);
		lx->last = k;
		return k;
	}
	for (;;) {
		lx->tok = lx->cur;
		/*!re2c
		re2c:define:YYCTYPE = "unsigned char";
		re2c:define:YYCURSOR = "lx->cur";
		re2c:define:YYMARKER = "lx->mark";
		re2c:define:YYLIMIT = "lx->lim";
		re2c:yyfill:enable = 0;
		re2c:eof = 0;

		dec = [0-9] ("_"? [0-9])*;
		exp = [eE] [+-]? [0-9]+;
		float = dec "." [0-9]+ exp? | dec exp;
		dunit = "ns" | "us" | "ms" | "s" | "m" | "h" | "d";
		sunit = "B" | "KB" | "MB" | "GB" | "TB" | "PB" | "KiB" | "MiB" | "GiB" | "TiB" | "PiB";
		ident = [A-Za-z_][A-Za-z0-9_]*;

		$ {
			f = top(lx);
			if (f && f->kind == FR_INTERP) {
				lx->depth--;
				loc->start = loc->end = OFF(lx->cur);
				return produce(lx, INTERP_END, loc);
			}
			loc->start = loc->end = OFF(lx->lim);
			return produce(lx, 0, loc);
		}
		"\x00" {
			lex_error(lx, "E0103", OFF(lx->tok), OFF(lx->cur), "NUL byte in source");
			continue;
		}
		[ \t\r\f\v]+ { continue; }
		"#" [^\n]* { comment(lx, lx->tok, lx->cur); continue; }
		"\n" {
			f = top(lx);
			if (f && (f->kind == FR_PAREN || f->kind == FR_BRACKET))
				continue;
			if (f && f->kind == FR_INTERP) {
				if (lx->depth >= 2 && lx->frames[lx->depth - 2].kind == FR_STRING) {
					/* a "..." string ends at its line: close the ${ first */
					lx->cur = lx->tok;
					lx->depth--;
					loc->start = loc->end = OFF(lx->tok);
					return produce(lx, INTERP_END, loc);
				}
				continue;
			}
			if (!can_end(lx->last) || next_is_else(lx->cur, lx->lim))
				continue;
			return produce(lx, NEWLINE, loc);
		}
		ident {
			size_t n = (size_t)(lx->cur - lx->tok);
			int kw = pc_keyword_lookup((const char *)lx->tok, n);
			if (kw && !keyword_as_name(lx, kw))
				return produce(lx, kw, loc);
			val->s = pc_intern(lx->ctx->names, (const char *)lx->tok, n);
			return produce(lx, IDENT, loc);
		}
		dec dunit | dec sunit { return produce(lx, unit_literal(lx, val), loc); }
		float (dunit | sunit) {
			pc_diag *d = lex_error(lx, "E0111", OFF(lx->tok), OFF(lx->cur),
					       "a Duration or Size literal takes a whole number");
			if (d)
				pc_diag_note(lx->ctx, d, "use a smaller unit: 90m, not 1.5h; 1536MiB, not 1.5GiB");
			val->i = 0;
			return produce(lx, unit_of(lx)->size ? SIZE : DURATION, loc);
		}
		dec {
			uint64_t v;
			val->i = 0;
			if (digits(lx->tok, lx->cur, &v) < 0 || v > (uint64_t)INT64_MAX)
				lex_error(lx, "E0107", OFF(lx->tok), OFF(lx->cur),
					  "integer literal out of range (the largest Int is 9223372036854775807)");
			else
				val->i = (int64_t)v;
			return produce(lx, INT, loc);
		}
		float { val->f = float_value(lx); return produce(lx, FLOAT, loc); }
		(dec | float) [A-Za-z][A-Za-z0-9_]* {
			const unsigned char *u = number_suffix(lx);
			pc_diag *d = lex_error(lx, "E0109", OFF(lx->tok), OFF(lx->cur),
					       "unknown unit '%.*s' on a number", (int)(lx->cur - u), (const char *)u);
			if (d)
				pc_diag_note(lx->ctx, d,
					     "Durations take ns us ms s m h d; Sizes take B KB MB GB TB PB KiB MiB GiB TiB PiB");
			val->i = 0;
			return produce(lx, INT, loc);
		}
		[0-9] [0-9_]* | dec "." [0-9] [0-9_]* {
			lex_error(lx, "E0110", OFF(lx->tok), OFF(lx->cur),
				  "malformed number '%.*s': '_' goes only between digits",
				  (int)(lx->cur - lx->tok), (const char *)lx->tok);
			val->i = 0;
			return produce(lx, INT, loc);
		}
		"\"\"\"" {
			begin_text_block(lx, OFF(lx->tok));
			if (lx->aborted)
				goto stop;
			return produce(lx, TEXT_BEGIN, loc);
		}
		"\"" {
			if (push_frame(lx, FR_STRING, OFF(lx->tok)) < 0)
				goto stop;
			return produce(lx, STR_BEGIN, loc);
		}
		"->" { return produce(lx, ARROW, loc); }
		".." { return produce(lx, DOTDOT, loc); }
		"==" { return produce(lx, EQ, loc); }
		"!=" { return produce(lx, NE, loc); }
		"<=" { return produce(lx, LE, loc); }
		">=" { return produce(lx, GE, loc); }
		"&&" { return produce(lx, ANDAND, loc); }
		"||" { return produce(lx, OROR, loc); }
		"(" {
			if (push_frame(lx, FR_PAREN, OFF(lx->tok)) < 0)
				goto stop;
			return produce(lx, '(', loc);
		}
		"[" {
			if (push_frame(lx, FR_BRACKET, OFF(lx->tok)) < 0)
				goto stop;
			return produce(lx, '[', loc);
		}
		"{" {
			if (push_frame(lx, FR_BRACE, OFF(lx->tok)) < 0)
				goto stop;
			return produce(lx, '{', loc);
		}
		")" {
			f = top(lx);
			if (f && f->kind == FR_PAREN)
				lx->depth--;
			return produce(lx, ')', loc);
		}
		"]" {
			f = top(lx);
			if (f && f->kind == FR_BRACKET)
				lx->depth--;
			return produce(lx, ']', loc);
		}
		"}" {
			f = top(lx);
			if (f && f->kind == FR_INTERP) {
				lx->depth--;
				return produce(lx, INTERP_END, loc);
			}
			if (f && f->kind == FR_BRACE)
				lx->depth--;
			return produce(lx, '}', loc);
		}
		[=:,;.+\-*/%<>!?] { return produce(lx, *lx->tok, loc); }
		* { unexpected(lx); continue; }
		*/
	}
stop:
	loc->start = loc->end = OFF(lx->lim);
	return 0;
}

/* ---- the parser's interface ---------------------------------------------- */

static int is_decl_keyword(int k)
{
	return k == KW_STAGE || k == KW_PIPELINE || k == KW_RECORD || k == KW_ENUM ||
	       k == KW_TYPE || k == KW_TEST || k == KW_IMPORT;
}

static const char *decl_word(int k)
{
	for (size_t i = 0; i < pc_keyword_count; i++)
		if (pc_keyword_table[i].token == k)
			return pc_keyword_table[i].text;
	return "declaration";
}

int pc_lex_next(pc_lexer *lx, PC_YYSTYPE *val, pc_loc *loc)
{
	int kind;
	int depth_before;
	if (lx->nqueue) {
		struct queued q = lx->queue[0];
		memmove(lx->queue, lx->queue + 1, (size_t)--lx->nqueue * sizeof q);
		kind = q.kind;
		*val = q.val;
		*loc = q.loc;
		depth_before = q.depth;
	} else {
		depth_before = lx->depth;
		kind = lex_token(lx, val, loc);
	}
	lx->la_depth = depth_before;
	if (depth_before == 0 && is_decl_keyword(kind)) {
		lx->P->decl_kind = decl_word(kind);
		lx->P->decl_name = NULL;
	} else if (kind == IDENT && is_decl_keyword(lx->cur_kind) && lx->cur_kind != KW_IMPORT) {
		lx->P->decl_name = val->s;
	}
	lx->prev = lx->cur_loc;
	lx->prev_kind = lx->cur_kind;
	lx->cur_loc = *loc;
	lx->cur_kind = kind;
	return kind;
}

int pc_yylex(PC_YYSTYPE *val, PC_YYLTYPE *loc, pc_parser *P)
{
	return pc_lex_next(P->lex, val, loc);
}

static int is_sync(pc_sync sync, int k, int sep_only)
{
	switch (sync) {
	case PC_SYNC_TOP:
		return k == NEWLINE || k == ';' || (!sep_only && k == 0);
	case PC_SYNC_STMT:
		return k == NEWLINE || k == ';' || (!sep_only && (k == '}' || k == 0));
	case PC_SYNC_FIELD:
		return k == NEWLINE || k == ',' || (!sep_only && (k == '}' || k == 0));
	case PC_SYNC_PAREN:
		return k == ',' || (!sep_only && (k == ')' || k == 0));
	case PC_SYNC_BRACKET:
		return k == ',' || (!sep_only && (k == ']' || k == 0));
	}
	return 0;
}

static void enqueue(pc_lexer *lx, int kind, const PC_YYSTYPE *val, pc_loc loc, int depth)
{
	PC_ASSERT(lx->nqueue < 4);
	struct queued *q = &lx->queue[lx->nqueue++];
	q->kind = kind;
	if (val)
		q->val = *val;
	else
		memset(&q->val, 0, sizeof q->val);
	q->loc = loc;
	q->depth = depth;
}

/* Keywords that only begin a statement or a declaration. */
static int starts_statement(int k)
{
	return k == KW_LET || k == KW_RETURN || k == KW_REQUIRE || k == KW_EXPECT ||
	       k == KW_MOCK || is_decl_keyword(k);
}

/* Whether only blanks precede offset OFF on its line. */
static int first_on_line(const pc_lexer *lx, uint32_t off)
{
	while (off > 0 && (lx->base[off - 1] == ' ' || lx->base[off - 1] == '\t'))
		off--;
	return off == 0 || lx->base[off - 1] == '\n';
}

int pc_lex_recover(pc_lexer *lx, pc_sync sync, int la, PC_YYSTYPE *la_val)
{
	if (la == -2)
		return 0;
	int want = sync == PC_SYNC_PAREN ? FR_PAREN : sync == PC_SYNC_BRACKET ? FR_BRACKET : FR_BRACE;
	int target = 0;
	if (sync != PC_SYNC_TOP)
		for (int i = lx->la_depth - 1; i >= 0; i--)
			if (lx->frames[i].kind == want) {
				target = i + 1;
				break;
			}

	/*
	 * An unclosed ( or [: newlines inside are ignored, so the error shows
	 * only where a line begins with a statement keyword.  Close the bracket
	 * there and let the statement parse.
	 */
	int only_brackets = lx->la_depth == lx->depth && lx->depth > target;
	for (int i = target; i < lx->depth; i++)
		if (lx->frames[i].kind != FR_PAREN && lx->frames[i].kind != FR_BRACKET)
			only_brackets = 0;
	int closing = sync == PC_SYNC_PAREN || sync == PC_SYNC_BRACKET;
	if ((closing ? target > 0 && lx->la_depth == lx->depth : only_brackets) &&
	    starts_statement(la) && first_on_line(lx, lx->cur_loc.start)) {
		pc_loc at = {lx->cur_loc.start, lx->cur_loc.start};
		if (closing) {
			lx->depth = target - 1;
			enqueue(lx, want == FR_PAREN ? ')' : ']', NULL, at, target);
		} else {
			lx->depth = target;
		}
		struct frame *f = top(lx);
		if (!f || f->kind == FR_BRACE)
			enqueue(lx, NEWLINE, NULL, at, lx->depth);
		enqueue(lx, la, la_val, lx->cur_loc, lx->depth);
		lx->la_depth = lx->depth;
		lx->P->last_recover = 0;
		return 1;
	}

	uint32_t at = lx->cur_loc.start + 1;
	if (is_sync(sync, la, 0)) {
		if (lx->P->last_recover == at)
			return la == 0 ? 2 : 1; /* recovered here before: drop it to move on */
		lx->P->last_recover = at;
		return 0;
	}
	for (;;) {
		int before = lx->depth;
		PC_YYSTYPE v;
		pc_loc l;
		int t = lex_token(lx, &v, &l);
		if (t == 0 || lx->depth < target ||
		    (before == target && lx->depth == target && is_sync(sync, t, 1))) {
			enqueue(lx, t, &v, l, before);
			break;
		}
	}
	lx->P->last_recover = 0;
	return 1;
}
