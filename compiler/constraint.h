/*
 * constraint.h - intervals and three-valued truth for value constraints
 * (constraint.c).  Used by the checker at call sites and by lowering for
 * the run-time checks it records in the plan.
 */
#ifndef PIPEC_CONSTRAINT_H
#define PIPEC_CONSTRAINT_H

#include "sema.h"

typedef enum pc_truth { PC_FALSE, PC_TRUE, PC_UNKNOWN } pc_truth;

enum { PC_AV_TOP, PC_AV_NUM, PC_AV_BOOL, PC_AV_STR };

/* What is known at compile time about a value. */
typedef struct pc_absval {
	uint8_t kind;       /* PC_AV_* */
	uint8_t tk;         /* PC_AV_NUM: PC_T_INT, PC_T_FLOAT, PC_T_SIZE or PC_T_DURATION */
	long double lo, hi; /* PC_AV_NUM: inclusive bounds, possibly infinite */
	int b;              /* PC_AV_BOOL */
	const char *s;      /* PC_AV_STR: the constant (not NUL-safe: slen) */
	uint32_t slen;
} pc_absval;

/* What a name is known to be (NULL: nothing). */
typedef const pc_absval *(*pc_av_lookup)(void *ud, const char *name);
/* Records a narrower value for a name. */
typedef void (*pc_av_narrow)(void *ud, const char *name, pc_absval v);

pc_absval pc_av_top(void);
pc_absval pc_av_num(pc_type_kind tk, long double lo, long double hi);
/* The abstract value of expression E. */
pc_absval pc_av_eval(const pc_ast *e, pc_av_lookup lookup, void *ud);
/* Whether Bool expression E holds for every value, for none, or neither. */
pc_truth pc_av_truth(const pc_ast *e, pc_av_lookup lookup, void *ud);
/* Narrows the names E compares with constants, assuming E holds. */
void pc_av_assume(const pc_ast *e, pc_av_lookup lookup, pc_av_narrow set, void *ud);
/* "20000", "between 1 and 50", "at least 4GiB" */
void pc_av_describe(pc_buf *b, const pc_absval *v);
void pc_av_print_value(pc_buf *b, int tk, long double v);

#endif
