/*
 * parser.y - the grammar of the .pipe language (LANGUAGE.md sections 1-8).
 *
 * A pure, reentrant LALR(1) parser with no conflicts (%expect 0).  Actions
 * only build nodes through ast.c; the lexer (lexer.re) has already turned
 * newlines into NEWLINE separators where a statement can end, so the grammar
 * sees explicit separators everywhere.
 *
 * Syntax errors are reported by yyreport_syntax_error below, which names
 * what was expected, after what, in which declaration, and what was found
 * ("expected ':' after directive name 'run' in stage 'fetch', found string").
 * It reads the parser's state stack to know the context: the marker
 * nonterminals (stage_open, params_open, ...) exist only so that the stack
 * says which bracket we are in.
 *
 * Recovery is at four levels, each an `error` production whose action asks
 * the lexer to skip to the next place parsing can resume (pc_lex_recover):
 * top-level declarations, statements and directives, fields and entries,
 * and comma-separated items in ( ) and [ ].  An ERROR node stands where the
 * input was malformed; later phases skip it.
 */

%code requires {
#include "parse.h"
#define PC_YYLTYPE pc_loc
#define PC_YYLTYPE_IS_DECLARED 1
}

%code provides {
int pc_yylex(PC_YYSTYPE *val, PC_YYLTYPE *loc, pc_parser *P);
int pc_yyparse(pc_parser *P);
}

%code {
#include <stdlib.h>
#include <string.h>

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                   \
	do {                                                          \
		if (N) {                                              \
			(Cur).start = YYRHSLOC(Rhs, 1).start;         \
			(Cur).end = YYRHSLOC(Rhs, N).end;             \
		} else {                                              \
			(Cur).start = (Cur).end = YYRHSLOC(Rhs, 0).end; \
		}                                                     \
	} while (0)

#define CTX (P->ctx)
#define SP(l) pc_span_of(P, (l))
#define NODE(kind, l) pc_ast_new(CTX, PC_AST_##kind, SP(l))
#define MAKE(kind, l, a, b, c) pc_ast_make(CTX, PC_AST_##kind, SP(l), (a), (b), (c))

static pc_ast *named(pc_parser *P, pc_ast *n, const char *name, pc_loc nl)
{
	n->name = name;
	n->name_off = nl.start;
	return n;
}

static pc_ast *with_list(pc_parser *P, pc_ast *n, pc_ast_list *l)
{
	pc_ast_set_list(P->ctx, n, l);
	return n;
}

static pc_ast_list list1(pc_parser *P, pc_ast *item)
{
	pc_ast_list l = {0};
	pc_ast_list_push(P->ctx, &l, item);
	return l;
}

static pc_ast_list push(pc_parser *P, pc_ast_list l, pc_ast *item)
{
	pc_ast_list_push(P->ctx, &l, item);
	return l;
}

static int multiline(pc_parser *P, pc_loc open, pc_loc close)
{
	return pc_source_line(P->src, open.start) != pc_source_line(P->src, close.start);
}

static pc_ast *ml(pc_parser *P, pc_ast *n, pc_loc open, pc_loc close)
{
	if (multiline(P, open, close))
		n->flags |= PC_AF_MULTILINE;
	return n;
}

static const char *join_dotted(pc_parser *P, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *tmp = pc_xmalloc(na + nb + 2);
	memcpy(tmp, a, na);
	tmp[na] = '.';
	memcpy(tmp + na + 1, b, nb + 1);
	const char *s = pc_intern(P->ctx->names, tmp, na + nb + 1);
	free(tmp);
	return s;
}

static pc_ast *binary(pc_parser *P, pc_op op, pc_ast *a, pc_ast *b, pc_loc l)
{
	pc_ast *n = pc_ast_make(P->ctx, PC_AST_BINARY, SP(l), a, b, NULL);
	n->op = (uint16_t)op;
	return n;
}

/* a < b < c: the left operand, if itself an unparenthesized comparison,
 * grows into a chain. */
static pc_ast *compare(pc_parser *P, pc_op op, pc_ast *a, pc_ast *b, pc_loc l)
{
	pc_ast *step = pc_ast_make(P->ctx, PC_AST_CMP_STEP, b->span, b, NULL, NULL);
	step->op = (uint16_t)op;
	if (a->kind == PC_AST_COMPARE) {
		pc_ast_list lst = a->list;
		pc_ast_list_push(P->ctx, &lst, step);
		pc_ast_set_list(P->ctx, a, &lst);
		a->span = SP(l);
		return a;
	}
	pc_ast *n = pc_ast_make(P->ctx, PC_AST_COMPARE, SP(l), a, NULL, NULL);
	pc_ast_list lst = list1(P, step);
	return with_list(P, n, &lst);
}

static pc_ast *error_node(pc_parser *P, pc_loc l, int mode, int *yychar, PC_YYSTYPE *yylval);
static void pc_yyerror(pc_loc *loc, pc_parser *P, const char *msg);
static pc_ast *import_file(pc_parser *P, pc_ast *str, pc_loc l);
}

%define api.pure full
%define api.prefix {pc_yy}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {pc_parser *P}

%union {
	int64_t i;
	double f;
	const char *s;
	pc_strval str;
	pc_ast *n;
	pc_ast_list l;
}

%token <s> IDENT "identifier"
%token <i> INT "integer" DURATION "duration" SIZE "size"
%token <f> FLOAT "float"
%token <str> STR_TEXT "string text"
%token STR_BEGIN "string" STR_END "end of string"
%token TEXT_BEGIN "text block" TEXT_END "end of text block"
%token INTERP_BEGIN "'${'" INTERP_END "'}' of an interpolation"
%token NEWLINE "newline"
%token KW_IMPORT "'import'" KW_AS "'as'" KW_TYPE "'type'" KW_RECORD "'record'"
%token KW_ENUM "'enum'" KW_STAGE "'stage'" KW_PIPELINE "'pipeline'" KW_TEST "'test'"
%token KW_LET "'let'" KW_RETURN "'return'" KW_IF "'if'" KW_ELSE "'else'"
%token KW_FOR "'for'" KW_IN "'in'" KW_WHERE "'where'" KW_REQUIRE "'require'"
%token KW_TRY "'try'" KW_AFTER "'after'" KW_MOCK "'mock'" KW_EXPECT "'expect'"
%token KW_TRUE "'true'" KW_FALSE "'false'" KW_NONE "'none'"
%token ARROW "'->'" DOTDOT "'..'" EQ "'=='" NE "'!='" LE "'<='" GE "'>='"
%token ANDAND "'&&'" OROR "'||'"

%type <n> decl import_decl type_decl record_decl enum_decl stage_decl pipeline_decl test_decl
%type <n> field_decl member param output outputs directive stmt type expr postfix primary
%type <n> string str_body if_expr else_part for_expr block arg elem entry opt_default opt_where
%type <n> opt_msg mock_stmt stage_body stage_head pipeline_head mock_head
%type <l> decl_list field_list fields member_list members param_list params out_list
%type <l> dir_list directives stmt_list stmts type_list arg_list args elem_list elems
%type <l> entry_list entries ident_list mock_params str_parts
%type <s> dotted_name

%precedence TRY_PREC
%left KW_AFTER
%left OROR
%left ANDAND
%left EQ NE '<' '>' LE GE
%nonassoc DOTDOT
%left '+' '-'
%left '*' '/' '%'
%precedence UNARY
%precedence NO_ELSE
%precedence KW_ELSE

%%

module:
	opt_seps {
		P->module = NODE(MODULE, @$);
	}
	| opt_seps decl_list opt_seps {
		P->module = with_list(P, NODE(MODULE, @$), &$2);
	}
	;

sep: NEWLINE | ';' ;
seps: sep | seps sep ;
opt_seps: %empty | seps ;
csep: ',' | NEWLINE ;
opt_csep: %empty | csep ;
opt_comma: %empty | ',' ;

decl_list:
	decl { $$ = list1(P, $1); }
	| decl_list seps decl { $$ = push(P, $1, $3); }
	;

decl:
	import_decl
	| type_decl
	| record_decl
	| enum_decl
	| stage_decl
	| pipeline_decl
	| test_decl
	| error { $$ = error_node(P, @$, PC_SYNC_TOP, &yychar, &yylval); if ($$->op) yyerrok; }
	;

/* ---- imports and types --------------------------------------------------- */

dotted_name:
	IDENT { $$ = $1; }
	| dotted_name '.' IDENT { $$ = join_dotted(P, $1, $3); }
	;

import_decl:
	KW_IMPORT dotted_name {
		$$ = named(P, NODE(IMPORT, @$), $2, @2);
	}
	| KW_IMPORT dotted_name KW_AS IDENT {
		$$ = named(P, NODE(IMPORT, @$), $2, @2);
		$$->a = named(P, NODE(NAME, @4), $4, @4);
	}
	| KW_IMPORT string {
		$$ = import_file(P, $2, @$);
	}
	| KW_IMPORT string KW_AS IDENT {
		$$ = import_file(P, $2, @$);
		$$->a = named(P, NODE(NAME, @4), $4, @4);
	}
	;

type_decl:
	KW_TYPE IDENT '=' type { $$ = named(P, MAKE(TYPE_DECL, @$, $4, NULL, NULL), $2, @2); }
	;

type:
	dotted_name { $$ = named(P, NODE(TYPE, @$), $1, @1); }
	| dotted_name '[' type_list ']' {
		$$ = with_list(P, named(P, NODE(TYPE, @$), $1, @1), &$3);
	}
	| type '?' {
		$$ = $1;
		$$->flags |= PC_AF_OPTIONAL;
		$$->span = SP(@$);
	}
	;

type_list:
	type { $$ = list1(P, $1); }
	| type_list ',' type { $$ = push(P, $1, $3); }
	;

record_decl:
	KW_RECORD IDENT brace_open fields '}' {
		$$ = ml(P, with_list(P, named(P, NODE(RECORD_DECL, @$), $2, @2), &$4), @3, @5);
	}
	;

fields:
	%empty { $$ = (pc_ast_list){0}; }
	| field_list opt_csep { $$ = $1; }
	;

field_list:
	field_decl { $$ = list1(P, $1); }
	| field_list csep field_decl { $$ = push(P, $1, $3); }
	;

field_decl:
	IDENT ':' type { $$ = named(P, MAKE(FIELD_DECL, @$, $3, NULL, NULL), $1, @1); }
	| error { $$ = error_node(P, @$, PC_SYNC_FIELD, &yychar, &yylval); if ($$->op) yyerrok; }
	;

enum_decl:
	KW_ENUM IDENT brace_open members '}' {
		$$ = ml(P, with_list(P, named(P, NODE(ENUM_DECL, @$), $2, @2), &$4), @3, @5);
	}
	;

members:
	%empty { $$ = (pc_ast_list){0}; }
	| member_list opt_csep { $$ = $1; }
	;

member_list:
	member { $$ = list1(P, $1); }
	| member_list csep member { $$ = push(P, $1, $3); }
	;

member:
	IDENT { $$ = named(P, NODE(ENUM_MEMBER, @$), $1, @1); }
	| error { $$ = error_node(P, @$, PC_SYNC_FIELD, &yychar, &yylval); if ($$->op) yyerrok; }
	;

brace_open: '{' ;

/* ---- stages and pipelines ------------------------------------------------ */

stage_decl:
	stage_head outputs stage_body {
		$$ = $1;
		pc_ast_set_children(CTX, $$, NULL, $2, $3);
		$$->span = SP(@$);
	}
	;

/* The header is reduced at its ')', so that an error after it recovers at
 * the declaration, not inside the finished parameter list. */
stage_head:
	KW_STAGE IDENT params_open params ')' {
		$$ = ml(P, with_list(P, named(P, NODE(STAGE, @$), $2, @2), &$4), @3, @5);
	}
	;

stage_body:
	stage_open directives '}' {
		$$ = ml(P, with_list(P, NODE(BODY, @$), &$2), @1, @3);
	}
	;

stage_open: '{' ;

pipeline_decl:
	pipeline_head outputs block {
		$$ = $1;
		pc_ast_set_children(CTX, $$, NULL, $2, $3);
		$$->span = SP(@$);
	}
	;

pipeline_head:
	KW_PIPELINE IDENT params_open params ')' {
		$$ = ml(P, with_list(P, named(P, NODE(PIPELINE, @$), $2, @2), &$4), @3, @5);
	}
	;

test_decl:
	KW_TEST string block { $$ = MAKE(TEST, @$, $2, NULL, $3); }
	;

params_open: '(' ;

params:
	%empty { $$ = (pc_ast_list){0}; }
	| param_list opt_comma { $$ = $1; }
	;

param_list:
	param { $$ = list1(P, $1); }
	| param_list ',' param { $$ = push(P, $1, $3); }
	;

param:
	IDENT ':' type opt_default opt_where {
		$$ = named(P, MAKE(PARAM, @$, $3, $4, $5), $1, @1);
	}
	| error { $$ = error_node(P, @$, PC_SYNC_PAREN, &yychar, &yylval); if ($$->op) yyerrok; }
	;

opt_default: %empty { $$ = NULL; } | '=' expr { $$ = $2; } ;
opt_where: %empty { $$ = NULL; } | KW_WHERE expr { $$ = $2; } ;

outputs:
	%empty { $$ = NULL; }
	| ARROW type { $$ = MAKE(OUTPUTS, @$, $2, NULL, NULL); }
	| ARROW '(' out_list opt_comma ')' {
		$$ = ml(P, with_list(P, NODE(OUTPUTS, @$), &$3), @2, @5);
		$$->flags |= PC_AF_NAMED;
	}
	;

out_list:
	output { $$ = list1(P, $1); }
	| out_list ',' output { $$ = push(P, $1, $3); }
	;

output:
	IDENT ':' type { $$ = named(P, MAKE(OUTPUT, @$, $3, NULL, NULL), $1, @1); }
	;

directives:
	opt_seps { $$ = (pc_ast_list){0}; }
	| opt_seps dir_list opt_seps { $$ = $2; }
	;

dir_list:
	directive { $$ = list1(P, $1); }
	| dir_list seps directive { $$ = push(P, $1, $3); }
	;

directive:
	IDENT ':' expr { $$ = named(P, MAKE(DIRECTIVE, @$, $3, NULL, NULL), $1, @1); }
	| error { $$ = error_node(P, @$, PC_SYNC_STMT, &yychar, &yylval); if ($$->op) yyerrok; }
	;

/* ---- statements ---------------------------------------------------------- */

block:
	block_open stmts '}' {
		$$ = ml(P, with_list(P, NODE(BODY, @$), &$2), @1, @3);
	}
	;

block_open: '{' ;

stmts:
	opt_seps { $$ = (pc_ast_list){0}; }
	| opt_seps stmt_list opt_seps { $$ = $2; }
	;

stmt_list:
	stmt { $$ = list1(P, $1); }
	| stmt_list seps stmt { $$ = push(P, $1, $3); }
	;

stmt:
	KW_LET IDENT '=' expr { $$ = named(P, MAKE(LET, @$, $4, NULL, NULL), $2, @2); }
	| KW_REQUIRE expr opt_msg { $$ = MAKE(REQUIRE, @$, $2, $3, NULL); }
	| KW_EXPECT expr opt_msg { $$ = MAKE(EXPECT, @$, $2, $3, NULL); }
	| KW_RETURN { $$ = NODE(RETURN, @$); }
	| KW_RETURN expr { $$ = MAKE(RETURN, @$, $2, NULL, NULL); }
	| mock_stmt
	| expr { $$ = MAKE(EXPR_STMT, @$, $1, NULL, NULL); }
	| error { $$ = error_node(P, @$, PC_SYNC_STMT, &yychar, &yylval); if ($$->op) yyerrok; }
	;

opt_msg: %empty { $$ = NULL; } | ',' expr { $$ = $2; } ;

mock_stmt:
	KW_MOCK dotted_name stage_body {
		$$ = MAKE(MOCK, @$, named(P, NODE(NAME, @2), $2, @2), NULL, $3);
	}
	| mock_head stage_body {
		$$ = $1;
		pc_ast_set_children(CTX, $$, $$->a, NULL, $2);
		$$->span = SP(@$);
	}
	;

mock_head:
	KW_MOCK dotted_name params_open mock_params ')' {
		$$ = MAKE(MOCK, @$, named(P, NODE(NAME, @2), $2, @2), NULL, NULL);
		$$ = with_list(P, $$, &$4);
	}
	;

mock_params:
	%empty { $$ = (pc_ast_list){0}; }
	| ident_list opt_comma { $$ = $1; }
	;

ident_list:
	IDENT { $$ = list1(P, named(P, NODE(NAME, @1), $1, @1)); }
	| ident_list ',' IDENT { $$ = push(P, $1, named(P, NODE(NAME, @3), $3, @3)); }
	;

/* ---- expressions --------------------------------------------------------- */

expr:
	KW_TRY expr KW_ELSE expr %prec TRY_PREC { $$ = MAKE(TRY, @$, $2, $4, NULL); }
	| expr KW_AFTER expr { $$ = MAKE(AFTER, @$, $1, $3, NULL); }
	| expr OROR expr { $$ = binary(P, PC_OP_OR, $1, $3, @$); }
	| expr ANDAND expr { $$ = binary(P, PC_OP_AND, $1, $3, @$); }
	| expr EQ expr { $$ = compare(P, PC_OP_EQ, $1, $3, @$); }
	| expr NE expr { $$ = compare(P, PC_OP_NE, $1, $3, @$); }
	| expr '<' expr { $$ = compare(P, PC_OP_LT, $1, $3, @$); }
	| expr '>' expr { $$ = compare(P, PC_OP_GT, $1, $3, @$); }
	| expr LE expr { $$ = compare(P, PC_OP_LE, $1, $3, @$); }
	| expr GE expr { $$ = compare(P, PC_OP_GE, $1, $3, @$); }
	| expr DOTDOT expr { $$ = MAKE(RANGE, @$, $1, $3, NULL); }
	| expr '+' expr { $$ = binary(P, PC_OP_ADD, $1, $3, @$); }
	| expr '-' expr { $$ = binary(P, PC_OP_SUB, $1, $3, @$); }
	| expr '*' expr { $$ = binary(P, PC_OP_MUL, $1, $3, @$); }
	| expr '/' expr { $$ = binary(P, PC_OP_DIV, $1, $3, @$); }
	| expr '%' expr { $$ = binary(P, PC_OP_MOD, $1, $3, @$); }
	| '-' expr %prec UNARY { $$ = MAKE(UNARY, @$, $2, NULL, NULL); $$->op = PC_OP_NEG; }
	| '!' expr %prec UNARY { $$ = MAKE(UNARY, @$, $2, NULL, NULL); $$->op = PC_OP_NOT; }
	| postfix
	;

postfix:
	primary
	| postfix '.' IDENT { $$ = named(P, MAKE(FIELD, @$, $1, NULL, NULL), $3, @3); }
	| postfix call_open args ')' {
		$$ = ml(P, with_list(P, MAKE(CALL, @$, $1, NULL, NULL), &$3), @2, @4);
	}
	;

call_open: '(' ;

args:
	%empty { $$ = (pc_ast_list){0}; }
	| arg_list opt_comma { $$ = $1; }
	;

arg_list:
	arg { $$ = list1(P, $1); }
	| arg_list ',' arg { $$ = push(P, $1, $3); }
	;

arg:
	expr { $$ = MAKE(ARG, @$, $1, NULL, NULL); }
	| IDENT ':' expr { $$ = named(P, MAKE(ARG, @$, $3, NULL, NULL), $1, @1); }
	| error { $$ = error_node(P, @$, PC_SYNC_PAREN, &yychar, &yylval); if ($$->op) yyerrok; }
	;

primary:
	IDENT { $$ = named(P, NODE(NAME, @$), $1, @1); }
	| INT { $$ = NODE(INT, @$); $$->v.i = $1; }
	| FLOAT { $$ = NODE(FLOAT, @$); $$->v.f = $1; }
	| DURATION { $$ = NODE(DURATION, @$); $$->v.i = $1; }
	| SIZE { $$ = NODE(SIZE, @$); $$->v.i = $1; }
	| KW_TRUE { $$ = NODE(BOOL, @$); $$->v.i = 1; }
	| KW_FALSE { $$ = NODE(BOOL, @$); $$->v.i = 0; }
	| KW_NONE { $$ = NODE(NONE, @$); }
	| string
	| paren_open expr ')' { $$ = MAKE(PAREN, @$, $2, NULL, NULL); }
	| list_open elems ']' { $$ = ml(P, with_list(P, NODE(LIST, @$), &$2), @1, @3); }
	| record_open entries '}' { $$ = ml(P, with_list(P, NODE(RECORD, @$), &$2), @1, @3); }
	| if_expr
	| for_expr
	;

paren_open: '(' ;
list_open: '[' ;
record_open: '{' ;

elems:
	%empty { $$ = (pc_ast_list){0}; }
	| elem_list opt_comma { $$ = $1; }
	;

elem_list:
	elem { $$ = list1(P, $1); }
	| elem_list ',' elem { $$ = push(P, $1, $3); }
	;

elem:
	expr
	| error { $$ = error_node(P, @$, PC_SYNC_BRACKET, &yychar, &yylval); if ($$->op) yyerrok; }
	;

entries:
	%empty { $$ = (pc_ast_list){0}; }
	| entry_list opt_csep { $$ = $1; }
	;

entry_list:
	entry { $$ = list1(P, $1); }
	| entry_list csep entry { $$ = push(P, $1, $3); }
	;

entry:
	IDENT ':' expr { $$ = named(P, MAKE(ENTRY, @$, $3, NULL, NULL), $1, @1); }
	| string ':' expr {
		$$ = MAKE(ENTRY, @$, $3, $1, NULL);
		$$->flags |= PC_AF_STRKEY;
	}
	| error { $$ = error_node(P, @$, PC_SYNC_FIELD, &yychar, &yylval); if ($$->op) yyerrok; }
	;

if_expr:
	KW_IF expr block else_part { $$ = MAKE(IF, @$, $2, $3, $4); }
	;

else_part:
	%empty %prec NO_ELSE { $$ = NULL; }
	| KW_ELSE block { $$ = $2; }
	| KW_ELSE if_expr { $$ = $2; }
	;

for_expr:
	KW_FOR IDENT KW_IN expr block { $$ = named(P, MAKE(FOR, @$, $4, $5, NULL), $2, @2); }
	;

string:
	STR_BEGIN str_body STR_END { $$ = $2; $$->span = SP(@$); }
	| TEXT_BEGIN str_body TEXT_END { $$ = $2; $$->span = SP(@$); $$->flags |= PC_AF_TEXTBLOCK; }
	;

str_body:
	str_parts { $$ = with_list(P, NODE(STRING, @$), &$1); }
	;

str_parts:
	%empty { $$ = (pc_ast_list){0}; }
	| str_parts STR_TEXT {
		pc_ast *t = NODE(STR_TEXT, @2);
		t->name = $2.p;
		t->v.i = $2.n;
		$$ = push(P, $1, t);
	}
	| str_parts INTERP_BEGIN expr INTERP_END { $$ = push(P, $1, $3); }
	| str_parts INTERP_BEGIN error INTERP_END {
		yyerrok;
		$$ = push(P, $1, NODE(ERROR, @3));
	}
	;

%%

#include "parse-errors.inc"

static pc_ast *error_node(pc_parser *P, pc_loc l, int mode, int *yychar, PC_YYSTYPE *yylval)
{
	pc_ast *n = NODE(ERROR, l);
	int la = *yychar;
	if (la == PC_YYEMPTY)
		la = -2;
	int drop = pc_lex_recover(P->lex, (pc_sync)mode, la, yylval);
	if (drop == 2) {
		/* no progress possible (end of file): let Bison give up */
		n->op = 0;
		return n;
	}
	if (drop)
		*yychar = PC_YYEMPTY;
	n->op = 1; /* resume reporting errors */
	return n;
}

static pc_ast *import_file(pc_parser *P, pc_ast *str, pc_loc l)
{
	pc_ast *n = NODE(IMPORT, l);
	n->flags |= PC_AF_FILE;
	n->name_off = str->span.start;
	pc_buf b = {0};
	for (uint32_t i = 0; i < str->list.n; i++) {
		pc_ast *part = str->list.items[i];
		if (part->kind != PC_AST_STR_TEXT) {
			if (pc_parse_reporting(P))
				pc_diag_emit(P->ctx, PC_SEV_ERROR, "E0201", part->span,
					     "an import path cannot contain an interpolation");
			continue;
		}
		pc_buf_add(&b, part->name, (size_t)part->v.i);
	}
	n->name = pc_intern(P->ctx->names, b.data ? b.data : "", b.len);
	pc_buf_free(&b);
	return n;
}
