/*
 * lower-internal.h - what the files of the lowering share.  lower.h is the
 * lowering's interface to the rest of the compiler; this header is not.
 *
 *   lower.c        evaluation of the entry pipeline: expressions, statements,
 *                  calls that become tasks, control flow that becomes the
 *                  plan's run-time pieces
 *   lower-value.c  values (pc_lv_*): constants, task references, run-time
 *                  expressions, and their text forms in commands
 *   lower-param.c  the pipeline's -p parameters (pc_param_*): parsed by
 *                  their types, File and Dir paths resolved and checked
 *   lower-plan.c   writing the plan (pc_plan_*): sorted keys, two spaces,
 *                  its content hash, and where files are ("files")
 *
 * A value (lval) lives in the compilation arena; the JSON of run-time
 * expressions it holds is owned by the lowerer's pool, released once at
 * the end.
 */
#ifndef PIPEC_LOWER_INTERNAL_H
#define PIPEC_LOWER_INTERNAL_H

#include "lower.h"

enum { LV_INT, LV_FLOAT, LV_BOOL, LV_STR, LV_NONE, LV_LIST, LV_REC, LV_ENUM, LV_REF, LV_RT };
enum { U_INT, U_SIZE, U_DURATION };

typedef struct lval lval;
struct lval {
	uint8_t kind;     /* LV_* */
	uint8_t unit;     /* LV_INT: U_* */
	int64_t i;
	double f;
	const char *s;    /* LV_STR (s, n), LV_ENUM member */
	uint32_t n;
	lval **items;     /* LV_LIST, LV_REC */
	const char **keys;/* LV_REC */
	uint32_t count;
	json_t *rt;       /* LV_RT: a run-time expression; owned by the lowerer's pool */
	const char *out;  /* LV_REF: the output (NULL: all named outputs); s is the task id */
};

typedef struct env {
	struct env *parent;
	pc_map names; /* interned name -> lval */
} env;

/* One task of the plan, kept as C data until the plan is written. */
typedef struct task {
	const char *id, *stage, *module;
	const pc_ast *call;     /* where it was called (loc) */
	const pc_sig *sig;      /* inputs and outputs: names and types */
	lval **inputs;          /* one per parameter */
	json_t *command;        /* array of text and pieces */
	lval *resources;        /* a record, or NULL */
	int64_t attempts, backoff_ns, priority;
	lval *timeout, *image, *env; /* NULL: not given */
	int cache, checkpoint, network;
	int64_t pids;          /* sandbox: most processes at once (0: the default) */
	const char **deps;      /* interned ids */
	uint32_t ndeps;
	json_t *after, *when, *fallback, *scatter, *checks; /* arrays, or NULL */
} task;

typedef struct lowerer {
	pc_ctx *ctx;
	pc_sema *S;
	pc_module *mod;     /* module of the code being lowered */
	env *e;
	task *tasks;        /* malloc()ed */
	uint32_t ntasks, captasks;
	json_t *checks;     /* plan-level run-time checks (require) */
	json_t *pool;       /* every run-time expression made, for release */
	pc_map ids;         /* interned task id -> (void *)1 */
	const char *prefix; /* "" or "sub." */
	const char *suffix; /* "" or "[3]" */
	const char *let_name; /* the let a call is bound to, for its id */
	json_t *when;       /* array of run-time conditions on new tasks, or NULL */
	json_t *fallback;   /* array of ids new tasks are the fallback of, or NULL */
	json_t *after;      /* array of ids new tasks wait for, or NULL */
	json_t *scatter;    /* array of scatter ids new tasks belong to, or NULL */
	json_t *scatter_over; /* array of the lists those scatters expand, or NULL */
	json_t *created;    /* ids of tasks created while capturing, or NULL */
	json_t *scatters;   /* scatter id -> {"over": the list it expands}, or NULL */
	int nscatter;
	int failed;
	int depth;
} lowerer;

#define ERR(L, code, span, ...) ((L)->failed = 1, pc_diag_emit((L)->ctx, PC_SEV_ERROR, code, span, __VA_ARGS__))


/* ---- lower-value.c: values ---------------------------------------------------- */

/* A new value of KIND (LV_*), zeroed, in the arena. */
lval *pc_lv_new(lowerer *L, int kind);
/* An Int; UNIT (U_*) says whether it counts bytes (Size) or ns (Duration). */
lval *pc_lv_int(lowerer *L, int64_t i, int unit);
lval *pc_lv_float(lowerer *L, double f);
lval *pc_lv_bool(lowerer *L, int b);
/* A String of N bytes at S (copied into the arena). */
lval *pc_lv_str(lowerer *L, const char *s, size_t n);
/* A run-time expression; consumes J (the lowerer's pool keeps it until the end). */
lval *pc_lv_rt(lowerer *L, json_t *j);
/* A list of N items, to be filled in. */
lval *pc_lv_list(lowerer *L, uint32_t n);
/* The enum member MEMBER (interned). */
lval *pc_lv_enum(lowerer *L, const char *member);
/* Whether V is known at build time (no task reference or run-time part inside). */
int pc_lv_is_const(const lval *v);
/* The JSON of V: constants as JSON, run-time expressions as they are.  New reference. */
json_t *pc_lv_json(const lval *v);
/* V as an operand of a run-time expression ({"const": ...} for a constant).  New reference. */
json_t *pc_lv_operand(const lval *v);
/* The run-time expression {"op": OP, "args": [A, B]} (B may be NULL). */
lval *pc_lv_rt_op(lowerer *L, const char *op, const lval *a, const lval *b);
/* Appends V's text form, as interpolated into a command (a constant scalar). */
void pc_lv_text(pc_buf *b, const lval *v);
/* Appends the N bytes at S quoted for /bin/sh, unless they need no quotes. */
void pc_lv_shell_quote(pc_buf *b, const char *s, size_t n);

/* ---- lower-param.c: parameters ------------------------------------------------- */

/*
 * Reads the NPARAMS "name=value" strings in PARAMS into VALS (one slot per
 * parameter of SIG, which stay NULL where not given), each parsed by its
 * parameter's type, File and Dir paths made absolute and checked.  Returns
 * 0; 2 with the reason in ERR (one line naming the parameter).
 */
int pc_param_read(lowerer *L, const pc_sig *sig, const char *pipeline, const char *const *params,
		  size_t nparams, lval **vals, pc_buf *err);

/* ---- lower-plan.c: the plan ---------------------------------------------------- */

/*
 * Writes the plan of pipeline PIPELINE (of FILE, with signature SIG) to OUT:
 * its PARAMS (one value per parameter), its RESULT, and the tasks, checks
 * and scatters L collected; the content hash is patched in where OUT can
 * seek, else computed in a first pass.  Returns 0; 2 with the reason in
 * ERR when writing failed.
 */
int pc_plan_write(lowerer *L, const char *file, const char *pipeline, const pc_sig *sig, lval **params,
		  lval *result, FILE *out, pc_buf *err);

#endif
