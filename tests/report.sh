#!/bin/sh
# The read commands (runs, show, why, lineage) on real stores: a damaged
# store is refused as `pipec run` refuses it (exit 2, the same message),
# never read as empty or partial; lineage matches paths exactly.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
reads() { for c in runs show "why c" "lineage c"; do echo "$c"; done; }

# A store with a few real runs, copied and then damaged in each way
B="$TMP/base"; mkdir -p "$B"
for n in 1 2 3 4 5 6; do "$PIPEC" run --quiet --state-dir "$B" examples/quickstart.pipe -p n=$n > /dev/null 2>&1; done
[ "$("$PIPEC" runs --state-dir "$B" --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 6 ] \
	&& ok "a store with 6 runs to damage" || fail "the base store: $("$PIPEC" runs --state-dir "$B" 2>&1)"
size=$(stat -c %s "$B/.pipec/state.db")
damage() { # damage KIND DIR: DIR becomes a copy of the base store, damaged
	rm -rf "$2"; cp -a "$B" "$2"; db="$2/.pipec/state.db"
	case $1 in
	empty) : > "$db" ;;
	truncated) truncate -s $((size / 2)) "$db" ;;
	flipped) python3 -c "
f = open('$db', 'r+b'); f.seek($size // 2); b = f.read(4096); f.seek($size // 2); f.write(bytes(x ^ 0xff for x in b))" ;;
	directory) rm "$db"; mkdir "$db" ;;
	esac
}
for kind in truncated flipped directory; do
	D="$TMP/$kind"; damage $kind "$D"
	cp -a "$D" "$D.before"
	"$PIPEC" run --quiet --state-dir "$D" examples/quickstart.pipe > /dev/null 2> "$TMP/run.err"; rc=$?
	[ $rc -eq 2 ] && [ -s "$TMP/run.err" ] && ok "$kind store: pipec run refuses it (exit 2)" || fail "$kind: run rc $rc $(cat "$TMP/run.err")"
	for c in runs show "why c" "lineage c" "runs --format json" "show 1 --format json" "lineage $B/.pipec/work/1/c@1/out"; do
		"$PIPEC" $c --state-dir "$D" > "$TMP/out" 2> "$TMP/err"; rc=$?
		[ $rc -eq 2 ] && [ ! -s "$TMP/out" ] && cmp -s "$TMP/err" "$TMP/run.err" \
			&& ok "$kind store: pipec $c exits 2 with run's message, prints nothing" \
			|| fail "$kind store: pipec $c: exit $rc, stdout '$(head -c 200 "$TMP/out")', stderr '$(cat "$TMP/err")', run said '$(cat "$TMP/run.err")'"
	done
	diff -r "$D" "$D.before" > /dev/null && ok "$kind store: left as it was" || fail "$kind store: changed"
done

# A store truncated to 0 bytes is not an empty store for the read commands
D="$TMP/empty"; damage empty "$D"
for c in runs show "why c" "lineage c"; do
	"$PIPEC" $c --state-dir "$D" > "$TMP/out" 2> "$TMP/err"; rc=$?
	[ $rc -eq 2 ] && [ ! -s "$TMP/out" ] && grep -q "^pipec: the store $D/.pipec/state.db is damaged (it is empty" "$TMP/err" \
		&& ok "store of 0 bytes: pipec $c exits 2 saying it is damaged" \
		|| fail "empty store: pipec $c: exit $rc, '$(head -c 200 "$TMP/out")' '$(cat "$TMP/err")'"
done
[ ! -s "$D/.pipec/state.db" ] && ok "store of 0 bytes: left as it was" || fail "empty store: written"
"$PIPEC" runs --state-dir "$TMP/none" > /dev/null 2> "$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "^pipec: no store at $TMP/none/.pipec/state.db (nothing has run there)$" "$TMP/err" \
	&& ok "no store at all: still 'nothing has run there'" || fail "no store: $rc $(cat "$TMP/err")"

# lineage matches a path exactly, not as a LIKE pattern
for what in '%' '%/%' '_%'; do
	"$PIPEC" lineage "$what" --state-dir "$B" > "$TMP/out" 2> "$TMP/err"; rc=$?
	[ $rc -eq 2 ] && [ ! -s "$TMP/out" ] && grep -q "is neither an output nor a task the store knows" "$TMP/err" \
		&& ok "lineage '$what': no such output or task (exit 2)" || fail "lineage '$what': exit $rc $(head -3 "$TMP/out") $(cat "$TMP/err")"
done
"$PIPEC" lineage '' --state-dir "$B" > "$TMP/out" 2> "$TMP/err"; rc=$?
[ $rc -eq 2 ] && [ ! -s "$TMP/out" ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q "^pipec: lineage needs an output's path or a task's id, not ''" "$TMP/err" \
	&& ok "lineage '': a usage error (exit 2)" || fail "lineage '': exit $rc $(head -3 "$TMP/out") $(cat "$TMP/err")"
W=$(cd "$B/.pipec/work/1" && pwd -P)
"$PIPEC" lineage "$W/c@1" --state-dir "$B" 2> /dev/null | head -1 | grep -q "^output out of task c, run 1$" \
	&& ok "lineage of the directory an output is in: that output" || fail "lineage dir: $("$PIPEC" lineage "$W/c@1" --state-dir "$B" 2>&1 | head -2)"
"$PIPEC" lineage "$W/c@" --state-dir "$B" > /dev/null 2>&1 && fail "lineage of a path's prefix that is no directory answered" \
	|| ok "lineage of a mere prefix of an output's path: nothing"
# why: two long values that differ late show where they differ, on each side
R="$TMP/why"; mkdir -p "$R"
cat > "$R/w.pipe" <<'PIPE'
stage keep(s: String) -> String { run: "echo ${s} > ${out}" }
pipeline main(s: String = "x") -> String { return keep(s) }
PIPE
long=$(python3 -c "print('a' * 300)")
"$PIPEC" run --quiet --state-dir "$R" "$R/w.pipe" -p s="${long}one" > /dev/null 2>&1
"$PIPEC" run --quiet --state-dir "$R" "$R/w.pipe" -p s="${long}two" > /dev/null 2>&1
id=$("$PIPEC" show --state-dir "$R" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['tasks'][0]['id'])")
"$PIPEC" why "$id" --state-dir "$R" > "$TMP/why.txt" 2>&1
python3 - "$TMP/why.txt" <<'PY' && ok "why: long values that differ late show the difference on each side" || fail "why cut: $(cat "$TMP/why.txt")"
import sys
line = [l for l in open(sys.argv[1]) if "input 's' changed: " in l][0]
a, b = line.split("input 's' changed: ", 1)[1].rstrip("\n").split(" -> ")
assert a != b and "one" in a and "two" in b, (a, b)
assert a.startswith('...aaa') and b.startswith('...aaa') and len(a) < 220, (a, b)
PY
"$PIPEC" why "$id" --state-dir "$R" --format json > "$TMP/why.json" 2> "$TMP/why.err"
python3 - "$TMP/why.json" "$id" "$long" <<'PY' && ok "why --format json: one object, the task, run, ran, each changed part before/after" || fail "why json: $(cat "$TMP/why.json" "$TMP/why.err")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["task"] == sys.argv[2] and r["run"] == 2 and r["ran"] is True and r["cached"] is False, r
assert r["compared_with"] == 1 and r["reason"] == "changed", r
c = [x for x in r["changed"] if x["part"] == "input"]
assert c == [{"part": "input", "input": "s", "before": sys.argv[3] + "one", "after": sys.argv[3] + "two"}], r["changed"]
PY
"$PIPEC" run --quiet --state-dir "$R" "$R/w.pipe" -p s="${long}two" > /dev/null 2>&1
"$PIPEC" why "$id" --state-dir "$R" --format json | python3 -c "
import json, sys; r = json.load(sys.stdin); assert r['cached'] is True and r['ran'] is False and r['reason'] == 'cached' and r['changed'] == [], r" \
	&& ok "why --format json on a cached task" || fail "why json cached: $("$PIPEC" why "$id" --state-dir "$R" --format json 2>&1)"

# lineage of a run-time for: its instances, with their commands, not the template
F="$TMP/for"; mkdir -p "$F"
"$PIPEC" run --quiet --state-dir "$F" tests/run/scatter.pipe -p n=3 > /dev/null 2>&1
"$PIPEC" lineage total --state-dir "$F" --format json > "$TMP/lt.json"
python3 - "$TMP/lt.json" <<'PY' && ok "lineage total: the for's instances p[0..2], score[0..2] with their commands" || fail "lineage for: $(cat "$TMP/lt.json")"
import json, sys
r = json.load(open(sys.argv[1]))
up = {u["task"]: u for u in r["upstream"]}
assert not [t for t in up if "*" in t], list(up)
for k in range(3):
    assert up["p[%d]" % k]["command"].startswith("sleep 0.") and up["p[%d]" % k]["instance_of"] == "p[*]", up
    assert up["score[%d]" % k]["command"].startswith("echo $((") and up["score[%d]" % k]["instance_of"] == "score[*]", up
PY
"$PIPEC" lineage total --state-dir "$F" > "$TMP/lt.txt"
grep -q "^  score\[2\] (stage score, succeeded)$" "$TMP/lt.txt" && ! grep -q '\[\*\]' "$TMP/lt.txt" && ! grep -q '^    command: $' "$TMP/lt.txt" \
	&& ok "lineage total, as text: instances, no template, no empty command" || fail "lineage for text: $(cat "$TMP/lt.txt")"
"$PIPEC" lineage 'p[1]' --state-dir "$F" --format json | python3 -c "
import json, sys; r = json.load(sys.stdin); assert [d['task'] for d in r['downstream']] == ['score[1]', 'total'], r['downstream']" \
	&& ok "lineage p[1]: it fed score[1] and, through it, total" || fail "lineage p[1]: $("$PIPEC" lineage 'p[1]' --state-dir "$F" 2>&1)"

# lineage of a file inside a List[File] output, and inside a Dir output
shard=$(cd "$F/.pipec/work/1/parts@1/shards" && pwd -P)/s2
"$PIPEC" lineage "$shard" --state-dir "$F" --format json | python3 -c "
import json, sys; r = json.load(sys.stdin); assert r['task'] == 'parts' and r['output'] == 'shards' and r['file'] == sys.argv[1], r" "$shard" \
	&& ok "lineage of a file of a List[File] output: the task that made the list" || fail "lineage list file: $("$PIPEC" lineage "$shard" --state-dir "$F" 2>&1)"
cat > "$TMP/dir.pipe" <<'PIPE'
stage tree() -> (d: Dir) { run: "mkdir -p ${d}/sub; echo 1 > ${d}/a; echo 2 > ${d}/sub/b" }
stage use(d: Dir) -> String { run: "cat ${d}/sub/b > ${out}" }
pipeline main() -> String { return use(tree().d) }
PIPE
G="$TMP/dir"; mkdir -p "$G"
"$PIPEC" run --quiet --state-dir "$G" "$TMP/dir.pipe" > /dev/null 2>&1
inner=$(find "$G/.pipec/work" -path '*/d/sub/b' | head -1)
"$PIPEC" lineage "$inner" --state-dir "$G" > "$TMP/ld.txt" 2>&1
head -1 "$TMP/ld.txt" | grep -q "^file .*/d/sub/b, in output d of task [^ ]*, run 1$" && grep -q "^  .* (stage tree, succeeded)$" "$TMP/ld.txt" \
	&& grep -A1 "^fed:" "$TMP/ld.txt" | grep -q "(stage use, succeeded)" \
	&& ok "lineage of a file deep in a Dir output: the task that made the Dir, and what it fed" || fail "lineage dir file ($inner): $(cat "$TMP/ld.txt")"
finish
