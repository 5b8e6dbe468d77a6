#!/bin/sh
# GPU placement against simulated nodes (--resources): 2 nodes x 4 GPUs and a
# mixed workload of pairs, single devices, shares of a device and CPU tasks.
# The event log in the store is replayed to show that reservations never
# exceed a node's or a device's capacity, and that shares do share devices;
# each task's CUDA_VISIBLE_DEVICES is the devices its event names.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
S="$TMP/state"
mkdir -p "$S"
"$PIPEC" run -j 32 --quiet --format json --state-dir "$S" --resources tests/gpu/nodes.yaml tests/gpu/mixed.pipe > "$TMP/out.json"; rc=$?
[ $rc -eq 0 ] && grep -q '"succeeded":32' "$TMP/out.json" && ok "the mixed GPU workload runs on 2 simulated nodes of 4 GPUs" \
	|| fail "mixed workload: rc $rc $(cat "$TMP/out.json")"

cat > "$TMP/replay.py" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
GiB = 1 << 30
cap = {"cpu": 16, "memory": 64 * GiB, "gpu_memory": 40 * GiB}
node = {}      # node -> [cpu, memory]
dev = {}       # uuid -> {"share": s, "memory": m, "whole": n, "tasks": set}
held = {}      # task -> placement
shared_at_once = 0
problems = []
for task, frm, to, detail in db.execute("SELECT task, from_state, to_state, detail FROM events ORDER BY seq"):
    if to == "running":
        p = json.loads(detail)
        held[task] = p
        n = node.setdefault(p["node"], [0.0, 0.0])
        n[0] += p["cpu"]; n[1] += p["memory"]
        if n[0] > cap["cpu"] + 1e-9 or n[1] > cap["memory"]:
            problems.append("node %s over capacity at %s: %s" % (p["node"], task, n))
        for g in p["gpus"]:
            d = dev.setdefault(g["uuid"], {"share": 0.0, "memory": 0.0, "whole": 0, "tasks": set()})
            d["share"] += g["share"]; d["memory"] += g["memory"]; d["tasks"].add(task)
            d["whole"] += g["share"] >= 1
            if d["share"] > 1 + 1e-9 or d["memory"] > cap["gpu_memory"] or (d["whole"] and len(d["tasks"]) > 1):
                problems.append("device %s over capacity at %s: %s" % (g["uuid"], task, d))
            if len(d["tasks"]) > 1:
                shared_at_once = max(shared_at_once, len(d["tasks"]))
    elif frm == "running":
        p = held.pop(task)
        n = node[p["node"]]
        n[0] -= p["cpu"]; n[1] -= p["memory"]
        for g in p["gpus"]:
            d = dev[g["uuid"]]
            d["share"] -= g["share"]; d["memory"] -= g["memory"]; d["tasks"].discard(task)
            d["whole"] -= g["share"] >= 1
print(json.dumps({"problems": problems, "shared": shared_at_once, "devices": len(dev), "nodes": len(node)}))
PY
python3 "$TMP/replay.py" "$S/.pipec/state.db" > "$TMP/replay.json"
python3 -c "import json; r = json.load(open('$TMP/replay.json')); assert not r['problems'], r['problems']" \
	&& ok "replaying the event log: no node's cores or memory and no device's share or memory is ever over capacity" \
	|| fail "capacity: $(cat "$TMP/replay.json")"
python3 -c "import json; r = json.load(open('$TMP/replay.json')); assert r['shared'] >= 2, r" \
	&& ok "fractional tasks share a device (up to $(python3 -c "import json; print(json.load(open('$TMP/replay.json'))['shared'])") at once)" \
	|| fail "no device was shared: $(cat "$TMP/replay.json")"
python3 -c "import json; r = json.load(open('$TMP/replay.json')); assert r['nodes'] == 2 and r['devices'] == 8, r" \
	&& ok "both nodes and all 8 devices are used" || fail "spread: $(cat "$TMP/replay.json")"

# each task saw exactly the devices its running event names, by UUID, on its node
python3 - "$S/.pipec/state.db" > "$TMP/env.txt" <<'PY' && ok "CUDA_VISIBLE_DEVICES is the placed devices' UUIDs (empty for CPU tasks), PIPEC_NODE the node" || fail "devices seen: $(cat "$TMP/env.txt")"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
bad = 0
for task, place, value in db.execute(
        "SELECT t.id, t.placement, a.value FROM tasks t JOIN artifacts a ON a.run = t.run AND a.task = t.id"):
    p = json.loads(place)
    seen = json.loads(value)
    uuids = ",".join(g["uuid"] for g in p["gpus"])
    want = ("[%s] %s" if task.startswith("crunch") else "%s %s") % (uuids, p["node"])
    want_n = {"pair": 2, "single": 1, "share": 1, "crunch": 0}[task.split("[")[0]]
    if seen != want or len(p["gpus"]) != want_n or len(set(g["uuid"] for g in p["gpus"])) != want_n:
        print(task, repr(seen), repr(want)); bad += 1
sys.exit(1 if bad else 0)
PY

# pipec show lists each task's node and devices
"$PIPEC" show --format json --state-dir "$S" > "$TMP/show.json"
python3 -c "
import json; r = json.load(open('$TMP/show.json'))
t = {x['id']: x for x in r['tasks']}
assert len(t['pair[0]']['devices']) == 2 and t['pair[0]']['node'].startswith('box-'), t['pair[0]']
assert t['crunch[0]']['devices'] == [], t['crunch[0]']
" && ok "pipec show --format json: each task's node and devices" || fail "show devices: $(head -c 400 "$TMP/show.json")"
"$PIPEC" show --state-dir "$S" > "$TMP/show.txt"
grep -q '^pair\[0\] .* succeeded .* on box-[12], GPU [0-3],[0-3]$' "$TMP/show.txt" && grep -q '^share\[0\] .* on box-[12], GPU [0-3]$' "$TMP/show.txt" \
	&& ok "pipec show: where each task ran, by node and GPU index" || fail "show text: $(head -5 "$TMP/show.txt")"

# the live view says where each running task is
if command -v script > /dev/null; then
	V="$TMP/view-state"
	mkdir -p "$V"
	TERM=xterm script -qec "'$PIPEC' run -j 8 --state-dir '$V' --resources tests/gpu/nodes.yaml tests/gpu/mixed.pipe" /dev/null > "$TMP/view.out" 2>&1
	grep -aq 's  share\[[0-9]*\] on box-[12], GPU [0-3] (0.25 of it)' "$TMP/view.out" && grep -aq 's  pair\[[0-9]*\] on box-[12], GPU [0-3],[0-3]' "$TMP/view.out" \
		&& ok "the live view shows each running task's node, GPUs and share" || fail "live view: $(tail -c 600 "$TMP/view.out")"
else
	ok "live view: not tried (no script(1))"
fi

# what no node can hold is an error at once, with what is there
cat > "$TMP/big.pipe" <<'PIPE'
stage eight() -> (out: File) {
  resources: { gpu: 8 }
  run: "touch ${out}"
}
stage h100() -> (out: File) {
  resources: { gpu: 1, gpu_type: "H100" }
  run: "touch ${out}"
}
stage fits() -> (out: File) {
  resources: { gpu: 4, gpu_type: "a100" }
  run: "touch ${out}"
}
pipeline main() {
  let _ = eight()
  let _ = h100()
  let _ = fits()
}
PIPE
"$PIPEC" run --progress lines --state-dir "$S" --resources tests/gpu/nodes.yaml "$TMP/big.pipe" > /dev/null 2> "$TMP/big.err"; rc=$?
[ $rc -eq 1 ] && grep -q "^error      eight: stage 'eight' (.*big.pipe:14:11) asks for 8 GPU, and no node of the resources file has more than 4 such devices (there: A100 40.0 GiB)$" "$TMP/big.err" \
	&& grep -q "^error      h100: .* asks for 1 GPU of type H100, and no node of the resources file has such a device (there: A100 40.0 GiB)$" "$TMP/big.err" \
	&& grep -q "^running    fits on box-1, GPU 0,1,2,3$" "$TMP/big.err" \
	&& ok "a GPU request no node can hold is an error at once, naming what there is; a type matches in any case" || fail "never fits: $(cat "$TMP/big.err")"

# a pair of devices is chosen among devices that reach each other (peer groups)
cat > "$TMP/peers.yaml" <<'YAML'
nodes:
  - name: dgx
    cpu: 8
    memory: 32GiB
    gpus:
      - { type: A100, memory: 40GiB, count: 2, peers: left }
      - { type: A100, memory: 40GiB, count: 2, peers: right }
YAML
cat > "$TMP/peers.pipe" <<'PIPE'
stage one() -> (out: File) {
  resources: { gpu: 1 }
  priority: 10
  run: "sleep 0.5; touch ${out}"
}
stage two() -> (out: File) {
  resources: { gpu: 2 }
  run: "echo $CUDA_VISIBLE_DEVICES > ${out}"
}
pipeline main() {
  let _ = one()
  let _ = two()
}
PIPE
P="$TMP/peers-state"
mkdir -p "$P"
"$PIPEC" run -j 4 --progress lines --state-dir "$P" --resources "$TMP/peers.yaml" "$TMP/peers.pipe" > /dev/null 2> "$TMP/peers.err"; rc=$?
[ $rc -eq 0 ] && grep -q '^running    one on dgx, GPU 0$' "$TMP/peers.err" && grep -q '^running    two on dgx, GPU 2,3$' "$TMP/peers.err" \
	&& ok "with device 0 taken, a pair goes to the two devices that reach each other (2,3), not to 1 and 2" \
	|| fail "peers: rc $rc $(cat "$TMP/peers.err")"

# this machine's GPUs, found by the runtime's own discovery (dlopen of NVML): here a
# stand-in NVML (tests/gpu/fake-nvml.c) describes an H100 alone in its group,
# two H100 that reach each other, and an A10
if [ -n "${FAKE_NVML_DIR:-}" ] && [ -e "$FAKE_NVML_DIR/libnvidia-ml.so.1" ]; then
	cat > "$TMP/local.pipe" <<'PIPE'
stage a10() -> (seen: String) {
  resources: { gpu: 1, gpu_type: "A10" }
  run: "echo $CUDA_VISIBLE_DEVICES > ${seen}; sleep 0.3"
}
stage pair() -> (seen: String) {
  resources: { gpu: 2, gpu_type: "H100", gpu_memory: 40GiB }
  run: "echo $CUDA_VISIBLE_DEVICES > ${seen}"
}
stage huge() -> (seen: String) {
  resources: { gpu: 1, gpu_memory: 100GiB }
  run: "echo > ${seen}"
}
stage bigger_a10() -> (seen: String) {
  resources: { gpu: 1, gpu_type: "A10", gpu_memory: 40GiB }
  run: "echo > ${seen}"
}
pipeline main() -> List[String] {
  let h = huge()
  let b = bigger_a10()
  return [a10().seen, pair().seen]
}
PIPE
	L="$TMP/local-state"
	mkdir -p "$L"
	LD_LIBRARY_PATH="$FAKE_NVML_DIR" PIPEC_FAKE_NVML="H100:80:right,H100:80:left,H100:80:left,A100-SXM4-80GB:80,A10:24" \
		"$PIPEC" run -j 4 --progress lines --format json --state-dir "$L" "$TMP/local.pipe" > "$TMP/local.json" 2> "$TMP/local.err"; rc=$?
	U=GPU-fa4e0000-0000-4000-8000-00000000000
	python3 -c "
import json; r = json.load(open('$TMP/local.json'))
assert r['result'] == ['${U}4', '${U}1,${U}2'], r
" && grep -q "^error      b: stage 'bigger_a10' (.*) asks for 1 GPU of type A10 with 40.0 GiB, and this machine has no such device" "$TMP/local.err" \
		&& grep -q "^error      h: stage 'huge' (.*) asks for 1 GPU with 100.0 GiB, and this machine has no such device (there: NVIDIA H100 80.0 GiB, NVIDIA A100-SXM4-80GB 80.0 GiB, NVIDIA A10 24.0 GiB)$" "$TMP/local.err" \
		&& ok "this machine's GPUs through NVML (dlopen): the A10 task gets the A10 (not the A100), the H100 pair the two that reach each other, by UUID; 100 GiB never fits" \
		|| fail "local GPUs: rc $rc $(cat "$TMP/local.json" "$TMP/local.err")"
else
	fail "the stand-in NVML was not built (FAKE_NVML_DIR)"
fi

# killed mid-way and resumed without --resources: the run's nodes are kept with it
K="$TMP/kill-state"
mkdir -p "$K"
killed_after 0.6 "$PIPEC" run -j 32 --quiet --state-dir "$K" --resources tests/gpu/nodes.yaml tests/gpu/mixed.pipe
"$PIPEC" resume --quiet --format json --state-dir "$K" > "$TMP/kill.json" 2> "$TMP/kill.err"; rc=$?
python3 "$TMP/replay.py" "$K/.pipec/state.db" > "$TMP/kill-replay.json"
[ $rc -eq 0 ] && grep -q '"status":"succeeded"' "$TMP/kill.json" \
	&& python3 -c "import json; r = json.load(open('$TMP/kill-replay.json')); assert r['nodes'] == 2, r" \
	&& ok "killed and resumed without --resources: it goes on on the same simulated nodes" || fail "gpu resume: rc $rc $(cat "$TMP/kill.json" "$TMP/kill.err" "$TMP/kill-replay.json")"

# a bad resources file is located, and the run does not start (exit 2)
printf 'nodes:\n  - name: a\n    cpu: many\n' > "$TMP/bad.yaml"
"$PIPEC" run --state-dir "$S" --resources "$TMP/bad.yaml" tests/gpu/mixed.pipe > /dev/null 2> "$TMP/bad.err"; rc=$?
[ $rc -eq 2 ] && grep -q "bad.yaml:3:10: error\[E0504\]: cpu must be a number, not many" "$TMP/bad.err" \
	&& ok "a bad resources file: located error, exit 2" || fail "bad resources: rc $rc $(cat "$TMP/bad.err")"
finish
