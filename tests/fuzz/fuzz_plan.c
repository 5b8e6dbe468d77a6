/*
 * fuzz_plan.c - libFuzzer target for the runtime's plan loader and
 * validator (runtime/engine-plan.c: pe_load()).
 *
 * A plan is what `pipec run` trusts least after the .pipe file: it may be
 * hand-edited, cut short, or written by another version.  pe_load() must
 * either accept it, with its tasks read and linked and no cycle among
 * them, or refuse it with a message; never crash, hang or leak.  Nothing is
 * run: the input goes to pe_load() on a zeroed runner (no store, no
 * executor), and what the load made is freed by pe_unload(), as a run's
 * end frees it.
 *
 *   ./configure CC=clang --enable-fuzzing && make tests/fuzz/fuzz_plan
 *   tests/fuzz/fuzz_plan -max_len=65536 CORPUS/   (seeds: `pipec build`'s plans; .ci/run)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	runner R = {0};
	char *err = NULL;
	int rc = pe_load(&R, (const char *)data, size, &err);
	if (rc < 0 && (!err || !*err))
		abort(); /* a plan refused says why */
	if (rc == 0) {
		/* accepted: every wait names a task, and each task's pending count is its waits */
		for (uint32_t i = 0; i < R.n; i++) {
			if (!R.t[i].id || !R.t[i].stage || R.t[i].pending != R.t[i].nwaits)
				abort();
			for (uint32_t k = 0; k < R.t[i].nwaits; k++)
				if (R.t[i].waits[k] >= R.n)
					abort();
		}
	}
	free(err);
	pe_unload(&R);
	return 0;
}
