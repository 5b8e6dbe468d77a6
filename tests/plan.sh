#!/bin/sh
# The plan reader (issue 12): a plan is validated whole before anything runs —
# types, ranges, unique ids, waits that name tasks of the plan and form no
# cycle — and a broken one is refused with the path of the offending field
# (exit 2, no run recorded). Each case damages a real plan in one way.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2

"$PIPEC" build examples/quickstart.pipe -p n=3 -o "$TMP/plan.json" || { echo "cannot build the plan"; exit 2; }

# damaged NAME MESSAGE PYTHON: the plan changed by PYTHON (on p, the plan; t,
# its tasks) is refused with exit 2 and exactly "pipec: the plan is invalid: MESSAGE",
# and the store records no run
n=0
damaged() {
	name=$1 want=$2 code=$3
	n=$((n + 1))
	python3 -c "
import json, sys
p = json.load(open(sys.argv[1])); t = p['tasks']
$code
json.dump(p, open(sys.argv[2], 'w'))
" "$TMP/plan.json" "$TMP/bad$n.json" || { fail "$name: the damage did not apply"; return; }
	S="$TMP/state$n"; mkdir -p "$S"
	timeout 20 "$PIPEC" run --quiet --state-dir "$S" "$TMP/bad$n.json" > /dev/null 2> "$TMP/bad$n.err"; rc=$?
	runs=$("$PIPEC" runs --state-dir "$S" 2>/dev/null | grep -c '^ *[0-9]')
	if [ "$rc" -eq 2 ] && [ "$(cat "$TMP/bad$n.err")" = "pipec: the plan is invalid: $want" ] && [ "$runs" -eq 0 ]; then
		ok "$name: exit 2, '$want'"
	else
		fail "$name: exit $rc, runs $runs, said: $(cat "$TMP/bad$n.err")"
	fi
}

# the top level
damaged "tasks null" "tasks: null is not a list" "p['tasks'] = None"
damaged "tasks a string" 'tasks: "abc" is not a list' "p['tasks'] = 'abc'"
damaged "no tasks" "tasks: missing" "del p['tasks']"
damaged "a task not an object" "tasks[1]: 42 is not an object" "t[1] = 42"
damaged "scatters not an object" "scatters: [] is not an object" "p['scatters'] = []"
damaged "a scatter without its list" "scatters.s1.over: missing" "p['scatters'] = {'s1': {}}"

# ids
damaged "an id missing" "tasks[0].id: missing" "del t[0]['id']"
damaged "an empty id" 'tasks[1].id: "" is empty' "t[1]['id'] = ''"
damaged "an id not a string" "tasks[1].id: 7 is not a string" "t[1]['id'] = 7"
damaged "ids not unique" 'tasks[1].id: "c" is not unique (tasks[0] has it)' "t[1]['id'] = 'c'; t[1]['deps'] = []; t[1]['inputs'] = {}; t[1]['command'] = ['true']"
damaged "a stage missing" "tasks[1].stage: missing" "del t[1]['stage']"

# ranges
damaged "negative cpu" "tasks[1].resources.cpu: -5 is negative" "t[1]['resources']['cpu'] = -5"
damaged "cpu a string" 'tasks[1].resources.cpu: "2" is not a number' "t[1]['resources']['cpu'] = '2'"
damaged "negative memory" "tasks[1].resources.memory: -1 is negative" "t[1]['resources']['memory'] = -1"
damaged "gpu_type a number" "tasks[1].resources.gpu_type: 3 is not a string" "t[1]['resources']['gpu_type'] = 3"
damaged "negative attempts" "tasks[0].retry.attempts: -1 is negative" "t[0]['retry']['attempts'] = -1"
damaged "attempts not an integer" "tasks[0].retry.attempts: 1.5 is not an integer" "t[0]['retry']['attempts'] = 1.5"
damaged "negative backoff" "tasks[0].retry.backoff_ns: -3 is negative" "t[0]['retry']['backoff_ns'] = -3"
damaged "a zero timeout" "tasks[0].timeout_ns: 0 is not positive" "t[0]['timeout_ns'] = 0"
damaged "a timeout string" 'tasks[0].timeout_ns: "1s" is not an integer' "t[0]['timeout_ns'] = '1s'"
damaged "cache not a boolean" "tasks[0].cache: 1 is not a boolean" "t[0]['cache'] = 1"
damaged "priority not an integer" 'tasks[0].priority: "high" is not an integer' "t[0]['priority'] = 'high'"
damaged "an env value not a string" "tasks[0].env.X: 1 is not a string" "t[0]['env'] = {'X': 1}"
damaged "pids zero" "tasks[0].sandbox.pids: 0 is not positive" "t[0]['sandbox']['pids'] = 0"
damaged "network not a boolean" 'tasks[0].sandbox.network: "yes" is not a boolean' "t[0]['sandbox']['network'] = 'yes'"

# waits
damaged "a dep that is not there" 'tasks[1].deps[0]: "zz" is not a task of the plan' "t[1]['deps'] = ['zz']"
damaged "after not a list" 'tasks[1].after: "c" is not a list' "t[1]['after'] = 'c'"
damaged "a cycle of two" "tasks[0]: the tasks wait for each other in a cycle: c -> s -> c" "t[0]['deps'] = ['s']"
damaged "a task that waits for itself" "tasks[1]: the tasks wait for each other in a cycle: s -> s" "t[1]['after'] = ['s']"
damaged "a scatter the plan does not have" 'tasks[1].scatter[0]: "s9" is not a run-time for of the plan (scatters)' "t[1]['scatter'] = ['s9']"

# outputs and the command
damaged "an output that leaves the directory" 'tasks[0].outputs: "../../secret" is not a file name' "t[0]['outputs'] = {'../../secret': t[0]['outputs']['out']}"
damaged "a command part naming no output" 'tasks[0].command[1].output: "nope" is not an output of the task' "t[0]['command'][1] = {'output': 'nope'}"
damaged "a command part of no known form" 'tasks[0].command[1]: {"x":1} is not a command part' "t[0]['command'][1] = {'x': 1}"
damaged "a command that is a string" 'tasks[0].command: "ls" is not a list' "t[0]['command'] = 'ls'"
damaged "the version" "pipec_plan: 2 is not 1 (the plan's version this pipec reads)" "p['pipec_plan'] = 2"

# a cycle in a long chain is found without recursion, and a long valid chain runs
python3 -c "
import json, sys
n = 100000
ts = [{'id': 't%d' % i, 'stage': 's', 'command': ['true'], 'deps': ['t%d' % (i - 1)] if i else ['t%d' % (n - 1)]} for i in range(n)]
json.dump({'pipec_plan': 1, 'tasks': ts}, open(sys.argv[1], 'w'))
" "$TMP/ring.json"
mkdir -p "$TMP/ring"
timeout 60 "$PIPEC" run --quiet --state-dir "$TMP/ring" "$TMP/ring.json" > /dev/null 2> "$TMP/ring.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q '^pipec: the plan is invalid: tasks\[0\]: the tasks wait for each other in a cycle: t0 -> t99999 -> t99998 -> ' "$TMP/ring.err" \
	&& ok "a cycle through 100,000 tasks: exit 2, said" || fail "ring: exit $rc: $(head -c 300 "$TMP/ring.err")"

# the plan undamaged still runs, and so does a hand-written one with only what a task needs
S="$TMP/good"; mkdir -p "$S"
"$PIPEC" run --quiet --state-dir "$S" --format json "$TMP/plan.json" > "$TMP/good.json"; rc=$?
[ "$rc" -eq 0 ] && python3 -c "import json,sys; r = json.load(open(sys.argv[1])); assert r['result'] == {'words': 6, 'lines': 3}, r" "$TMP/good.json" \
	&& ok "the plan undamaged runs" || fail "good plan: exit $rc $(cat "$TMP/good.json")"
printf '{"pipec_plan": 1, "tasks": [{"id": "a", "stage": "s", "command": ["true"]}, {"id": "b", "stage": "s", "command": ["true"], "deps": ["a"]}]}' > "$TMP/small.json"
expect_rc 0 "a plan with only ids, stages and commands runs" "$PIPEC" run --quiet --state-dir "$S" "$TMP/small.json"

# the plan is read in one place: no other file of the engine looks a plan key up by its name
# (a task's JSON, t->j, or the plan's top level, R->plan; expressions are walked as trees)
looks=$(grep -nE 'json_object_get\([^,()]*(->j|\.j|R->plan),' runtime/engine-*.c | grep -v '^runtime/engine-plan\.c:')
[ -z "$looks" ] && ok "only engine-plan.c reads the plan's keys" || fail "plan keys read outside engine-plan.c: $looks"

finish
