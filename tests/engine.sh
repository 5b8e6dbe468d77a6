#!/bin/sh
# The engine's correctness, end to end (the runtime re-founding's bugs, each
# a check that failed before its fix): a failure skipping a long chain
# without recursion, each sandboxed task seeing its own inputs, checkpoints
# kept by what made them, out-of-memory pauses bounded.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$top_srcdir" || exit 2

# a chain of N tasks whose first fails: 1 failed, N-1 skipped, exit 1 (the
# skips once rippled down as recursion and overflowed the stack at 10k)
chain() {
	python3 - "$1" > "$TMP/chain$1.pipe" <<'PY'
import sys
n = int(sys.argv[1])
print('stage first() -> Int { run: "exit 3" }')
print('stage step(x: Int) -> Int { run: "echo ${x} > ${out}" }')
print('pipeline main() -> Int {\n  let t0 = first()')
for i in range(1, n):
    print('  let t%d = step(t%d)' % (i, i - 1))
print('  return t%d\n}' % (n - 1))
PY
	mkdir -p "$TMP/chain$1"
	"$PIPEC" run --quiet --no-sandbox --state-dir "$TMP/chain$1" "$TMP/chain$1.pipe" > "$TMP/chain$1.out" 2> "$TMP/chain$1.err"; rc=$?
	want="pipec: run 1 failed: 0 succeeded, 0 cached, 1 failed, 0 error, $(($1 - 1)) skipped, 0 cancelled"
	[ $rc -eq 1 ] && grep -qxF "$want" "$TMP/chain$1.err" \
		&& ok "a chain of $1 tasks whose first fails: 1 failed, $(($1 - 1)) skipped, exit 1" \
		|| fail "chain of $1: exit $rc, $(tail -3 "$TMP/chain$1.err")"
}
chain 10000
chain 100000

# three tasks reading /tmp/in1/f, /tmp/in2/f, /tmp/in3/f, prepared together:
# each sees its own (the paths kept visible were one shared buffer)
IN=$(mktemp -d /tmp/pipec-in.XXXXXX)
for k in 1 2 3; do mkdir -p "$IN/in$k" && echo "$k" > "$IN/in$k/f"; done
# each under a folder of its own directly under /tmp, as a user's would be
mkdir -p "$IN-1" "$IN-2" "$IN-3"
for k in 1 2 3; do cp "$IN/in$k/f" "$IN-$k/f"; done
for j in 1 2; do
	S="$TMP/three$j"; mkdir -p "$S"
	out=$("$PIPEC" run --quiet -j$j --state-dir "$S" -p a="$IN-1/f" -p b="$IN-2/f" -p c="$IN-3/f" tests/engine/three-inputs.pipe 2>&1 | tail -1)
	[ "$out" = '["1","2","3"]' ] && ok "three sandboxed tasks with inputs in three folders under /tmp each see their own (-j$j)" \
		|| fail "three inputs (-j$j): $out"
done
rm -rf "$IN" "$IN-1" "$IN-2" "$IN-3"

# checkpoints belong to the task's inputs and command: n=2 after n=1 gives 2
S="$TMP/ckpt"; mkdir -p "$S"
a=$("$PIPEC" run --quiet --no-sandbox --state-dir "$S" -p n=1 tests/engine/checkpoint-key.pipe 2>/dev/null | tail -1)
b=$("$PIPEC" run --quiet --no-sandbox --state-dir "$S" -p n=2 tests/engine/checkpoint-key.pipe 2>/dev/null | tail -1)
c=$("$PIPEC" run --quiet --no-sandbox --state-dir "$S" -p n=1 tests/engine/checkpoint-key.pipe 2>/dev/null | tail -1)
[ "$a" = 1 ] && [ "$b" = 2 ] && [ "$c" = 1 ] \
	&& ok "a checkpoint is offered only to a task with the same inputs (n=1: 1, n=2: 2, n=1 again: 1, from its checkpoint)" \
	|| fail "checkpoint key: n=1 gave $a, n=2 gave $b, n=1 again gave $c"

# a File is keyed by its content wherever its type puts it (a distinct type,
# a record's field, a list of records, a map's values): edit it and every
# task that takes it runs again; leave it and every one is cached
S="$TMP/cf"; mkdir -p "$S"; F="$TMP/cf-reads.fq"
printf 'a\nb\n' > "$F"
cf() { "$PIPEC" run --no-sandbox --progress lines --state-dir "$S" -p f="$F" -p "s={\"name\":\"a\",\"reads\":\"$F\"}" \
	-p "ss=[{\"name\":\"a\",\"reads\":\"$F\"}]" -p "m={\"a\":\"$F\"}" tests/engine/cache-files.pipe 2>&1; }
cf > "$TMP/cf1" && cf > "$TMP/cf2"
printf 'a\nb\nc\n' > "$F"
cf > "$TMP/cf3"
[ "$(grep -c '^cached ' "$TMP/cf2")" = 4 ] && [ "$(grep -c '^succeeded ' "$TMP/cf3")" = 4 ] && grep -qx '\[3,3,1,2\]' "$TMP/cf3" \
	&& ok "a File in a distinct type, a record, a list of records and a map is keyed by its content: all four re-run when it changes" \
	|| fail "cache by content: $(cat "$TMP/cf2" "$TMP/cf3")"

# a Float made at run time reads as 0.1 in the next command and the result
S="$TMP/fl"; mkdir -p "$S"
out=$("$PIPEC" run --quiet --no-sandbox --state-dir "$S" tests/engine/floats.pipe 2>/dev/null)
lin=$("$PIPEC" lineage say --state-dir "$S" 2>&1)
[ "$out" = '{"said":"0.1","x":0.1}' ] && echo "$lin" | grep -qx '    inputs: {"x":0.1}' && echo "$lin" | grep -q 'echo 0.1 >' \
	&& ok "a Float made at run time is written 0.1 in a command, the result and lineage" || fail "floats: $out $lin"

# a List[File] output's directory exists before the command writes into it
for mode in --no-sandbox ""; do
	S="$TMP/lo$mode"; mkdir -p "$S"
	out=$("$PIPEC" run --quiet $mode --state-dir "$S" tests/engine/list-out.pipe 2>&1 | tail -1)
	[ "$out" = 2 ] && ok "a List[File] output's directory is there for the command to write into (${mode:-sandbox})" || fail "list out ${mode:-sandbox}: $out"
done

# resume after the runtime was killed while `slow` ran (and went on to finish
# on its own), with `other` ready and waiting: `slow` is accepted from what it
# left, its dependent runs at once, `other` sees its input in the sandbox, the
# resume ends; the accepted result is cached for the next run
IN=$(mktemp -d /tmp/pipec-rin.XXXXXX); echo data > "$IN/f"
for mode in --no-sandbox ""; do
	S="$TMP/res$mode"; mkdir -p "$S"
	killed_after 0.6 "$PIPEC" run -j1 $mode --state-dir "$S" -p f="$IN/f" tests/engine/resume.pipe
	sleep 1.6 # slow ends meanwhile, its runtime gone
	out=$(timeout 30 "$PIPEC" resume -j1 $mode --quiet --state-dir "$S" 2>"$TMP/res.err"); rc=$?
	again=$(timeout 30 "$PIPEC" run -j1 $mode --state-dir "$S" -p f="$IN/f" tests/engine/resume.pipe 2>&1)
	why=$("$PIPEC" why s --state-dir "$S" 2>&1)
	[ $rc -eq 0 ] && [ "$out" = '{"a":"next-data","b":"data"}' ] \
		&& ok "resume after a kill: the finished task accepted, its dependent run, the waiting one sees its input, exit 0 (${mode:-sandbox})" \
		|| fail "resume (${mode:-sandbox}): exit $rc, $out $(cat "$TMP/res.err")"
	echo "$again" | grep -q '^pipec: run [0-9]* \(succeeded\|repeats\)' && ! echo "$again" | grep -q '^succeeded' \
		&& ! echo "$why" | grep -q 'did not succeed' \
		&& ok "the results of a resumed run, the accepted one's too, are cached for the next run (${mode:-sandbox})" \
		|| fail "cached after resume (${mode:-sandbox}): $again / $why"
done
rm -rf "$IN"

# a run-time for's instances are recorded in their own form: the plan kept
# with the run is the plan it was given, byte for byte; a resume and lineage
# see the instances
S="$TMP/exp"; mkdir -p "$S"
"$PIPEC" build tests/run/scatter.pipe -p n=3 -o "$TMP/exp-plan.json" 2>/dev/null
"$PIPEC" run --quiet --no-sandbox --state-dir "$S" "$TMP/exp-plan.json" > "$TMP/exp.out" 2>&1
python3 - "$S/.pipec/state.db" "$TMP/exp-plan.json" <<'PY' && "$PIPEC" lineage 'score[2]' --state-dir "$S" | grep -q 'score\[2\]' \
	&& ok "the plan kept with a run is the one it was given; its run-time for's instances are recorded on their own (and lineage finds them)" \
	|| fail "expansions: $(cat "$TMP/exp.out")"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
plan, kept = db.execute("SELECT r.plan, p.plan FROM runs r JOIN plans p ON p.key = r.plan_key").fetchone()
assert plan is None, "the run's plan was rewritten"
assert kept == open(sys.argv[2]).read(), "the plan kept is not the plan given"
kinds = dict(db.execute("SELECT kind, count(*) FROM expansions GROUP BY kind").fetchall())
assert kinds.get("task", 0) >= 6 and kinds.get("group", 0) >= 2, kinds
PY

# renaming or moving the .pipe file keeps its results: a module's name is not
# part of a cache key (what a stage does is its command, image, env, outputs)
S="$TMP/mv"; mkdir -p "$S" "$TMP/mv-a" "$TMP/mv-b"
cp examples/quickstart.pipe "$TMP/mv-a/first.pipe"
cp examples/quickstart.pipe "$TMP/mv-b/second.pipe"
"$PIPEC" run --quiet --no-sandbox --state-dir "$S" "$TMP/mv-a/first.pipe" > /dev/null 2>&1
out=$("$PIPEC" run --no-sandbox --state-dir "$S" "$TMP/mv-b/second.pipe" 2>&1 | grep '^pipec: run')
echo "$out" | grep -q ': 0 succeeded, 2 cached,' && ok "a renamed and moved .pipe file takes its results from the cache" || fail "renamed: $out"

# a checkpointing task that runs out of memory in every attempt: paused a
# bounded number of times, then failed saying why (it once paused for ever)
S="$TMP/oom"; mkdir -p "$S"
if ! command -v python3 >/dev/null; then
	ok "out-of-memory pauses: not tried (no python3)"
else
	timeout 120 "$PIPEC" run --progress lines --state-dir "$S" tests/engine/oom-forever.pipe > "$TMP/oom.out" 2> "$TMP/oom.err"; rc=$?
	if grep -q "memory limits by rlimit" "$TMP/oom.err"; then
		ok "out-of-memory pauses: not tried (memory limited by rlimit here, as the run said)"
	else
		pauses=$(grep -c '^paused     hog: ' "$TMP/oom.err")
		[ $rc -eq 1 ] && [ "$pauses" -ge 1 ] && [ "$pauses" -le 8 ] \
			&& grep -q "^failed     hog: .*ran out of memory.*paused $pauses times going on from its checkpoint, and still ran out" "$TMP/oom.err" \
			&& ok "a task out of memory after every checkpoint is paused $pauses times, then fails saying why" \
			|| fail "oom forever: exit $rc, $pauses pauses: $(tail -3 "$TMP/oom.err")"
	fi
fi
finish
