/*
 * engine-view.c - what a run shows: one line per transition, or, on a
 * terminal, a live view redrawn in place (running tasks and their elapsed
 * times, counts by state) with a line only for failures and retries.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void pe_view_erase(runner *R)
{
	if (R->live && R->drawn) {
		fprintf(R->log, "\033[%dA\033[J", R->drawn);
		R->drawn = 0;
	}
}

/*
 * Redraws the view: a bar of the tasks that ended, the count in each state,
 * and the running tasks with how long each has run (the longest first, at
 * most eight).  At most ten times a second.
 */
void pe_view_draw(runner *R)
{
	double now = pe_now(R);
	if (!R->live || now - R->drawn_at < 0.1)
		return;
	int count[S__COUNT] = {0};
	for (uint32_t i = 0; i < R->n; i++)
		count[R->t[i].st]++;
	int ended = 0;
	for (int s = 0; s < S__COUNT; s++)
		if (pe_terminal((tstate)s))
			ended += count[s];
	enum { WIDTH = 30, SHOWN = 8 };
	int fill = R->n ? (int)((long)ended * WIDTH / R->n) : WIDTH;
	char bar[WIDTH + 1];
	for (int k = 0; k < WIDTH; k++)
		bar[k] = k < fill ? '#' : '.';
	bar[WIDTH] = 0;
	pe_view_erase(R);
	int lines = 0;
	fprintf(R->log, "[%s] %d/%u  %.1fs\033[K\n", bar, ended, R->n, now - R->began);
	lines++;
	int col = 0;
	for (int s = 0; s < S__COUNT; s++)
		if (count[s] || s == S_RUNNING || s == S_SUCCEEDED || s == S_FAILED)
			col += fprintf(R->log, "%s%s %d", col ? "  " : "", pe_state_names[s], count[s]);
	fprintf(R->log, "\033[K\n");
	lines++;
	/* the running tasks, longest-running first */
	uint32_t pick[SHOWN];
	int npick = 0;
	for (uint32_t j = 0; j < R->nactive; j++) {
		uint32_t i = R->active[j];
		if (R->t[i].st != S_RUNNING)
			continue;
		if (npick == SHOWN && R->t[i].started >= R->t[pick[SHOWN - 1]].started)
			continue; /* not among the eight longest so far */
		int k = npick < SHOWN ? npick++ : SHOWN - 1;
		while (k > 0 && R->t[pick[k - 1]].started > R->t[i].started) {
			pick[k] = pick[k - 1];
			k--;
		}
		pick[k] = i;
	}
	for (int k = 0; k < npick; k++) {
		double e = now - R->t[pick[k]].started;
		char on[256] = ""; /* where it runs, when there is a choice */
		if (pe_placed(R, pick[k]))
			pe_place_text(R, pick[k], on, sizeof on);
		fprintf(R->log, "  %6.1fs  %.100s%s\033[K\n", e, R->t[pick[k]].id, on);
		lines++;
	}
	if (count[S_RUNNING] > npick) {
		fprintf(R->log, "  ... and %d more running\033[K\n", count[S_RUNNING] - npick);
		lines++;
	}
	fflush(R->log);
	R->drawn = lines;
	R->drawn_at = now;
}
