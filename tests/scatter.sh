#!/bin/sh
# Run-time for (scatter): a list known only when a task has run is expanded
# into one task per element, element by element; the results are gathered;
# instances are cached by their element's content; an empty list, a failing
# element, a failed list and a resume after a kill.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
S="$TMP/state"
mkdir -p "$S"
P=tests/run/scatter.pipe
run() { "$PIPEC" run --state-dir "$S" -j4 --progress lines --format json "$@"; }
py() { python3 -c "import json,sys; r=json.load(open('$1')); $2"; }

run "$P" -p n=4 > "$TMP/a.json" 2> "$TMP/a.err"; rc=$?
[ $rc -eq 0 ] && py "$TMP/a.json" "assert r['result'] == 100, r; assert r['tasks']['succeeded'] == 10, r" \
	&& ok "4 shards: 4 prep and 4 score tasks made at run time, their scores gathered (100)" || fail "scatter: rc $rc $(cat "$TMP/a.json" "$TMP/a.err")"
grep -n '' "$TMP/a.err" | awk -F: '/running    score\[0\]$/ {s=$1} /succeeded  p\[3\]$/ {p=$1} END {exit !(s && p && s < p)}' \
	&& ok "element by element: score[0] starts before prep of the last shard ends" || fail "not pipelined: $(cat "$TMP/a.err")"
"$PIPEC" show --state-dir "$S" --format json > "$TMP/show.json"
py "$TMP/show.json" "ids = [t['id'] for t in r['tasks']]; assert all('p[%d]' % k in ids and 'score[%d]' % k in ids for k in range(4)), ids; assert [t['state'] for t in r['tasks'] if t['id'] == 'score[3]'] == ['succeeded']" \
	&& ok "pipec show lists the instances" || fail "show: $(cat "$TMP/show.json")"

run "$P" -p n=5 > "$TMP/b.json" 2> "$TMP/b.err"
py "$TMP/b.json" "assert r['result'] == 150, r; t = r['tasks']; assert t['cached'] == 8 and t['succeeded'] == 4, t" \
	&& ok "one more shard: the 8 instances of the same shards are cached, the new shard's 2 run" || fail "cache: $(cat "$TMP/b.json")"

run "$P" -p n=0 > "$TMP/c.json" 2> "$TMP/c.err"; rc=$?
[ $rc -eq 0 ] && py "$TMP/c.json" "assert r['result'] == 0, r" && ok "an empty list gathers to [] and the run goes on" || fail "empty: $(cat "$TMP/c.json" "$TMP/c.err")"

run "$P" -p n=3 -p bad=2 > "$TMP/d.json" 2> "$TMP/d.err"; rc=$?
[ $rc -eq 1 ] && grep -q '^failed     score\[1\]: stage .score. (tests/run/scatter.pipe:[0-9]*:[0-9]*) exited with status 2' "$TMP/d.err" \
	&& grep -q '^\(succeeded\|cached\) *score\[2\]$' "$TMP/d.err" \
	&& grep -q '^skipped    score\[\*\]: 1 of its 3 instances did not succeed$' "$TMP/d.err" \
	&& grep -q '^skipped    total' "$TMP/d.err" \
	&& ok "a failing element fails its instance only; what gathers is skipped" || fail "bad element: rc $rc $(cat "$TMP/d.err")"

# a compile-time for and a run-time for over the same stage, their lists joined with +
run tests/run/scatter-mixed.pipe > "$TMP/m.json" 2> "$TMP/m.err"; rc=$?
[ $rc -eq 0 ] && py "$TMP/m.json" "assert r['result'] == 14, r" && grep -q '^succeeded  double\[\*0\]$' "$TMP/m.err" \
	&& ok "instances are named apart from compile-time tasks of the same name (double[*0]); fixed + gathered lists add up (14)" \
	|| fail "mixed: rc $rc $(cat "$TMP/m.json" "$TMP/m.err")"

# a run-time for inside a run-time for: each group's members are known only when its task ran
run tests/run/scatter-nested.pipe -p n=3 > "$TMP/n.json" 2> "$TMP/n.err"; rc=$?
[ $rc -eq 0 ] && py "$TMP/n.json" "assert r['result'] == [1, 3, 6], r" && grep -q '^succeeded  weigh\[2\]\[2\]$' "$TMP/n.err" \
	&& ok "a run-time for inside a run-time for: groups of 1, 2 and 3 members totalled [1, 3, 6]" || fail "nested: rc $rc $(cat "$TMP/n.json" "$TMP/n.err")"
run tests/run/scatter-nested.pipe -p n=4 > "$TMP/n4.json" 2> "$TMP/n4.err"; rc=$?
[ $rc -eq 0 ] && py "$TMP/n4.json" "assert r['result'] == [1, 3, 6, 10], r; assert r['tasks']['cached'] >= 9, r" \
	&& ok "one more group: [1, 3, 6, 10], the weighing of members already seen cached" || fail "nested n=4: rc $rc $(cat "$TMP/n4.json")"

# the list's task fails: the tasks inside the for are skipped
sed 's/mkdir ${shards}/exit 3; mkdir ${shards}/' "$P" > "$TMP/nolist.pipe"
"$PIPEC" run --state-dir "$S" --progress lines "$TMP/nolist.pipe" > /dev/null 2> "$TMP/e.err"; rc=$?
[ $rc -eq 1 ] && grep -q '^skipped    p\[\*\]: the list its for goes over did not come$' "$TMP/e.err" \
	&& ok "when the list's task fails, the for's tasks are skipped" || fail "no list: rc $rc $(cat "$TMP/e.err")"

# killed mid-way, resumed: the instances are in the plan the store keeps
R="$TMP/resume"
mkdir -p "$R"
sed 's/sleep 0\.\$(cat/sleep 1.$(cat/' "$P" > "$TMP/slow.pipe"
killed_after 2 "$PIPEC" run --quiet -j 2 --state-dir "$R" -p n=6 "$TMP/slow.pipe"
"$PIPEC" resume --quiet --format json --state-dir "$R" > "$TMP/r.json" 2> "$TMP/r.err"; rc=$?
[ $rc -eq 0 ] && py "$TMP/r.json" "assert r['result'] == 210, r" \
	&& python3 -c "
import sqlite3; db = sqlite3.connect('$R/.pipec/state.db')
done = db.execute(\"SELECT COUNT(*) FROM tasks WHERE id LIKE 'p[%' AND id != 'p[*]' AND state = 'succeeded'\").fetchone()[0]
assert done == 6, done
" && ok "killed during the for and resumed: the run completes (210) with all 6 instances" || fail "resume: rc $rc $(cat "$TMP/r.json" "$TMP/r.err")"

# the same with a run-time for inside a run-time for
N="$TMP/resume-nested"
mkdir -p "$N"
sed 's/run: "cat ${m} > ${w}"/run: "sleep 0.5; cat ${m} > ${w}"/' tests/run/scatter-nested.pipe > "$TMP/nested-slow.pipe"
killed_after 1.2 "$PIPEC" run --quiet -j 2 --state-dir "$N" -p n=4 "$TMP/nested-slow.pipe"
"$PIPEC" resume --quiet --format json --state-dir "$N" > "$TMP/rn.json" 2> "$TMP/rn.err"; rc=$?
[ $rc -eq 0 ] && py "$TMP/rn.json" "assert r['result'] == [1, 3, 6, 10], r" \
	&& ok "killed inside a nested run-time for and resumed: [1, 3, 6, 10]" || fail "nested resume: rc $rc $(cat "$TMP/rn.json" "$TMP/rn.err")"

# a File given as a parameter counts by its content, not its path
printf 'a\nb\n' > "$TMP/d1"
"$PIPEC" run --quiet --state-dir "$S" --format json -p data="$TMP/d1" tests/run/lines.pipe > /dev/null
touch "$TMP/d1"
"$PIPEC" run --quiet --state-dir "$S" --format json -p data="$TMP/d1" tests/run/lines.pipe > "$TMP/p2.json"
printf 'a\nb\nc\n' > "$TMP/d1"
"$PIPEC" run --quiet --state-dir "$S" --format json -p data="$TMP/d1" tests/run/lines.pipe > "$TMP/p3.json"
py "$TMP/p2.json" "assert r['tasks']['cached'] == 1, r" && py "$TMP/p3.json" "assert r['tasks']['succeeded'] == 1 and r['result'] == 3, r" \
	&& ok "a File parameter is keyed by its content: touched is cached, changed bytes re-run" || fail "file param: $(cat "$TMP/p2.json" "$TMP/p3.json")"
finish
