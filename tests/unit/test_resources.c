/* Placing tasks on nodes and GPUs (runtime/resources-place.c): best fit, shares, types, peers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#define GIB (1024.0 * 1024 * 1024)

static pr_nodes ns;

static void teardown(void)
{
	pr_nodes_free(&ns);
}

TestSuite(resources, .fini = teardown);

static void nodes(const char *json)
{
	char *err = NULL;
	cr_assert_eq(pr_nodes_from_json(&ns, json, &err), 0, "%s", err ? err : "");
}

/* Places R now and reserves it; returns the place (node -1 when it does not fit). */
static pr_place take(pr_request r)
{
	pr_place p;
	if (pr_place_now(&ns, &r, &p) < 0)
		return (pr_place){.node = -1};
	pr_take(&ns, &r, &p, 1);
	return p;
}

static const char *one_node =
	"[{\"name\": \"n\", \"cpu\": 8, \"memory\": 68719476736, \"gpus\": ["
	"{\"type\": \"A100\", \"memory\": 42949672960}, {\"type\": \"A100\", \"memory\": 85899345920},"
	"{\"type\": \"A100\", \"memory\": 42949672960}]}]";

Test(resources, whole_device_is_the_smallest_that_holds_it)
{
	nodes(one_node);
	pr_place p = take((pr_request){.gpu = 1, .gpu_memory = 50 * GIB});
	cr_assert_eq(p.ngpus, 1);
	cr_assert_eq(p.gpu[0], 1, "only the 80 GiB device holds 50 GiB");
	p = take((pr_request){.gpu = 1});
	cr_assert_eq(p.gpu[0], 0, "best fit among the equal 40 GiB ones: the first");
}

Test(resources, shares_pack_onto_one_device_and_a_whole_request_avoids_it)
{
	nodes(one_node);
	pr_request half = {.gpu = 0.5, .gpu_memory = 10 * GIB};
	pr_place a = take(half), b = take(half), c = take(half);
	cr_assert_eq(a.gpu[0], b.gpu[0], "two halves share a device");
	cr_assert_neq(c.gpu[0], a.gpu[0], "a third half does not fit there (shares stay within 1)");
	pr_place w = take((pr_request){.gpu = 1});
	cr_assert_neq(w.gpu[0], a.gpu[0], "a whole device is never one that is shared");
	cr_assert_neq(w.gpu[0], c.gpu[0]);
	cr_assert_eq(take((pr_request){.gpu = 1}).node, -1, "no wholly free device is left");
}

Test(resources, shares_stay_within_the_device_memory)
{
	nodes(one_node); /* 40, 80 and 40 GiB */
	pr_request r = {.gpu = 0.25, .gpu_memory = 30 * GIB};
	int want[] = {0, 2, 1, 1};
	for (int k = 0; k < 4; k++) {
		pr_place p = take(r);
		cr_assert_eq(p.node, 0);
		cr_assert_eq(p.gpu[0], want[k], "share %d: the device with the least free memory that holds 30 GiB", k);
	}
	cr_assert_eq(take(r).node, -1, "20 GiB left on each: no fifth 30 GiB share, though the shares would allow it");
}

Test(resources, giving_back_frees_everything)
{
	nodes(one_node);
	pr_request r = {.cpu = 2, .memory = 4 * GIB, .gpu = 0.5, .gpu_memory = 8 * GIB};
	pr_place p = take(r);
	cr_assert_eq(ns.v[0].used_cpu, 2);
	pr_take(&ns, &r, &p, -1);
	cr_assert_eq(ns.v[0].used_cpu, 0);
	cr_assert_eq(ns.v[0].used_memory, 0);
	for (int g = 0; g < ns.v[0].ngpus; g++) {
		cr_assert_eq(ns.v[0].gpus[g].share, 0);
		cr_assert_eq(ns.v[0].gpus[g].used_memory, 0);
	}
}

Test(resources, types_match_whole_words_of_the_name_in_any_case)
{
	nodes("[{\"name\": \"n\", \"cpu\": 4, \"memory\": 1e10, \"gpus\": ["
	      "{\"type\": \"NVIDIA A100-SXM4-80GB\", \"memory\": 8e10}, {\"type\": \"NVIDIA A10\", \"memory\": 2.4e10}]}]");
	pr_place p = take((pr_request){.gpu = 1, .gpu_type = "a100"});
	cr_assert_eq(p.gpu[0], 0);
	p = take((pr_request){.gpu = 1, .gpu_type = "A10"});
	cr_assert_eq(p.gpu[0], 1, "A10 is not an A100");
	char why[512];
	pr_request h = {.gpu = 1, .gpu_type = "H100"};
	cr_assert_eq(pr_never_fits(&ns, &h, why, sizeof why), 1);
	cr_assert(strstr(why, "1 GPU of type H100, and no node of the resources file has such a device"), "%s", why);
}

Test(resources, a_pair_goes_to_devices_that_reach_each_other)
{
	nodes("[{\"name\": \"n\", \"cpu\": 4, \"memory\": 1e10, \"gpus\": ["
	      "{\"type\": \"A100\", \"memory\": 4e10, \"peers\": \"a\"}, {\"type\": \"A100\", \"memory\": 4e10, \"peers\": \"a\"},"
	      "{\"type\": \"A100\", \"memory\": 4e10, \"peers\": \"b\"}, {\"type\": \"A100\", \"memory\": 4e10, \"peers\": \"b\"}]}]");
	cr_assert_eq(take((pr_request){.gpu = 1}).gpu[0], 0);
	pr_place p = take((pr_request){.gpu = 2});
	cr_assert_eq(p.ngpus, 2);
	cr_assert_eq(p.gpu[0], 2);
	cr_assert_eq(p.gpu[1], 3, "not 1 and 2, which do not reach each other");
}

Test(resources, cores_and_memory_pick_a_node_with_room)
{
	nodes("[{\"name\": \"small\", \"cpu\": 2, \"memory\": 4e9, \"gpus\": []},"
	      " {\"name\": \"big\", \"cpu\": 16, \"memory\": 6.4e10, \"gpus\": []}]");
	cr_assert_eq(take((pr_request){.cpu = 4}).node, 1, "only the big node has 4 cores");
	cr_assert_eq(take((pr_request){.cpu = 2}).node, 0, "the first node with room");
	cr_assert_eq(take((pr_request){.cpu = 1}).node, 1);
	char why[512];
	pr_request r = {.cpu = 32};
	cr_assert_eq(pr_never_fits(&ns, &r, why, sizeof why), 1);
	cr_assert(strstr(why, "32 cpu, and no node of the resources file has more than 16 cores"), "%s", why);
}
