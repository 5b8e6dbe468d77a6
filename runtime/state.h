/*
 * state.h - a task's states and the one table of legal transitions
 * (engine-state.c has the table and the diagram).  The engine applies
 * transitions (pe_transition()); whatever else records one — `pipec
 * cancel` of a run whose runtime is gone — checks it here first.
 */
#ifndef PIPEC_STATE_H
#define PIPEC_STATE_H

typedef enum {
	S_PENDING, S_READY, S_RUNNING, S_SUCCEEDED, S_FAILED, S_ERROR, S_CACHED, S_RETRYING, S_SKIPPED,
	S_CANCELLED, S_PAUSED, S__COUNT
} tstate;

/* The states' names, as the store and the reports write them. */
extern const char *const pe_state_names[S__COUNT];
/* The state named NAME, or -1. */
int pe_state_of(const char *name);
/* Whether FROM -> TO is a legal transition. */
int pe_state_legal(tstate from, tstate to);
/* Whether S is an end: succeeded, failed, error, cached, skipped, cancelled. */
int pe_terminal(tstate s);
/* Whether S is a good end: succeeded or cached. */
int pe_ok_state(tstate s);

#endif
