#!/bin/sh
# A run of the same plan as the latest run, which succeeded with every task
# cached or cacheable, repeats it: one row in the store, every task cached,
# the same result; show, runs, why, lineage and resume read it.  Not when an
# output's file is gone, a File input's content changed, a stage is not
# cached, or the latest run of the plan failed.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
S="$TMP/state"
mkdir -p "$S"
run() { "$PIPEC" run --state-dir "$S" --progress lines --format json "$@"; }
py() { python3 -c "import json,sys; r=json.load(open('$1')); $2"; }
sql() { python3 -c "import sqlite3,sys; print(sqlite3.connect('$S/.pipec/state.db').execute(sys.argv[1]).fetchall())" "$1"; }

run examples/quickstart.pipe -p n=100 > "$TMP/a.json" 2> "$TMP/a.err"
rows=$(sql "SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM events), (SELECT count(*) FROM artifacts)")
run examples/quickstart.pipe -p n=100 > "$TMP/b.json" 2> "$TMP/b.err"; rc=$?
[ $rc -eq 0 ] && py "$TMP/b.json" "assert r['run'] == 2 and r['status'] == 'succeeded', r; assert r['result'] == {'words': 200, 'lines': 100}, r; t = r['tasks']; assert t['cached'] == 2 and t['succeeded'] == 0 and t['skipped'] == 0, t" \
	&& grep -q '^pipec: run 2 repeats run 1: the same plan' "$TMP/b.err" \
	&& grep -q '^cached     c$' "$TMP/b.err" && grep -q '^cached     s$' "$TMP/b.err" \
	&& ok "the same plan again: run 2 repeats run 1, both tasks cached, the same result" \
	|| fail "repeat: rc $rc $(cat "$TMP/b.json" "$TMP/b.err")"
[ "$(sql "SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM events), (SELECT count(*) FROM artifacts)")" = "$rows" ] \
	&& [ "$(sql "SELECT status, replay_of FROM runs WHERE id = 2")" = "[('succeeded', 1)]" ] \
	&& ok "the repeat is one row of runs (replay_of 1): no task, event or artifact rows" \
	|| fail "store: $rows / $(sql "SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM events), (SELECT count(*) FROM artifacts)") $(sql "SELECT * FROM runs WHERE id = 2")"

"$PIPEC" show 2 --state-dir "$S" --format json > "$TMP/show.json"
py "$TMP/show.json" "assert r['run'] == 2 and r['status'] == 'succeeded'; assert [(t['id'], t['state'], t['attempts']) for t in r['tasks']] == [('c', 'cached', 0), ('s', 'cached', 0)], r" \
	&& ok "pipec show 2: its tasks, cached" || fail "show 2: $(cat "$TMP/show.json")"
"$PIPEC" runs --state-dir "$S" --format json > "$TMP/runs.json"
py "$TMP/runs.json" "assert [(x['run'], x['status'], x['tasks']) for x in r] == [(1, 'succeeded', 2), (2, 'succeeded', 2)], r" \
	&& ok "pipec runs: run 2 has 2 tasks" || fail "runs: $(cat "$TMP/runs.json")"
"$PIPEC" why s --state-dir "$S" > "$TMP/why.txt"
grep -q '^s (run 2) did not run: its result was in the cache' "$TMP/why.txt" && ok "pipec why s: cached in run 2" \
	|| fail "why: $(cat "$TMP/why.txt")"
"$PIPEC" lineage s --state-dir "$S" --format json > "$TMP/lin.json"
py "$TMP/lin.json" "assert r['run'] == 2 and r['params']['n']['value'] == 100, r; up = {t['task']: t for t in r['upstream']}; assert up['c']['made_in_run'] == 1 and 'seq 100' in up['c']['command'], up" \
	&& ok "pipec lineage s: run 2, c's command as run 1 ran it" || fail "lineage: $(cat "$TMP/lin.json")"
"$PIPEC" resume 2 --state-dir "$S" --format json > "$TMP/res.json" 2> "$TMP/res.err"; rc=$?
[ $rc -eq 0 ] && py "$TMP/res.json" "assert r['run'] == 2 and r['tasks']['cached'] == 2 and r['result'] == {'words': 200, 'lines': 100}, r" \
	&& [ "$(sql "SELECT count(*) FROM tasks WHERE run = 2")" = "[(0,)]" ] \
	&& ok "pipec resume 2: nothing to do, its summary" || fail "resume 2: rc $rc $(cat "$TMP/res.json" "$TMP/res.err")"

# an output's file gone: an ordinary run, which runs the task that made it again
out=$(sql "SELECT path FROM artifacts WHERE run = 1 AND task = 'c'" | sed "s/^\[('//; s/',)\]$//")
[ -f "$out" ] && rm "$out"
run examples/quickstart.pipe -p n=100 > "$TMP/c.json" 2> "$TMP/c.err"
py "$TMP/c.json" "t = r['tasks']; assert r['run'] == 3 and t['succeeded'] == 1 and t['cached'] == 1, r; assert r['result'] == {'words': 200, 'lines': 100}" \
	&& ! grep -q 'repeats' "$TMP/c.err" && grep -q '^succeeded  c$' "$TMP/c.err" \
	&& ok "a file the run would take from the cache is gone: c runs again, s is cached" || fail "gone: $(cat "$TMP/c.json" "$TMP/c.err")"
run examples/quickstart.pipe -p n=100 > "$TMP/d.json" 2> "$TMP/d.err"
grep -q '^pipec: run 4 repeats run 3:' "$TMP/d.err" && ok "and the run after repeats that one (run 3)" || fail "after: $(cat "$TMP/d.err")"

# the cache's result for a task changed since (another plan ran it again): an ordinary run
cat > "$TMP/shared.pipe" <<'EOF'
stage base() -> File {
  run: "echo base > ${out}"
}
stage plus(b: File, n: Int) -> Int {
  run: "echo $(( $(wc -c < ${b}) + ${n} )) > ${out}"
}
pipeline main(n: Int) -> Int {
  return plus(base(), n)
}
EOF
run "$TMP/shared.pipe" -p n=1 > "$TMP/h1.json" 2> /dev/null
first=$(py "$TMP/h1.json" "print(r['run'])")
base=$(sql "SELECT path FROM artifacts WHERE run = $first AND path LIKE '%base%'" | sed "s/^\[('//; s/',)\]$//")
mv "$base" "$TMP/kept"
run "$TMP/shared.pipe" -p n=2 > "$TMP/h2.json" 2> /dev/null
mv "$TMP/kept" "$base"
run "$TMP/shared.pipe" -p n=1 > "$TMP/h3.json" 2> "$TMP/h3.err"
py "$TMP/h2.json" "assert r['tasks']['succeeded'] == 2, r" && py "$TMP/h3.json" "assert r['result'] == 6 and r['tasks']['cached'] == 2, r" \
	&& ! grep -q repeats "$TMP/h3.err" \
	&& ok "a task's result in the cache was made again by another plan since: no repeat, both cached" \
	|| fail "cache changed: $base $(cat "$TMP/h2.json" "$TMP/h3.json" "$TMP/h3.err")"

# a File input by path: its content, not its path, decides
cat > "$TMP/lines.pipe" <<'EOF'
stage count(f: File) -> Int {
  run: "wc -l < ${f} > ${out}"
}
pipeline main(f: File) -> Int {
  return count(f)
}
EOF
printf 'a\nb\n' > "$TMP/in.txt"
run "$TMP/lines.pipe" -p f="$TMP/in.txt" > "$TMP/f1.json" 2> /dev/null
printf 'a\nb\nc\n' > "$TMP/in.txt"
run "$TMP/lines.pipe" -p f="$TMP/in.txt" > "$TMP/f2.json" 2> "$TMP/f2.err"
printf 'a\nb\n' > "$TMP/in.txt"
run "$TMP/lines.pipe" -p f="$TMP/in.txt" > "$TMP/f3.json" 2> "$TMP/f3.err"
run "$TMP/lines.pipe" -p f="$TMP/in.txt" > "$TMP/f4.json" 2> "$TMP/f4.err"
py "$TMP/f1.json" "assert r['result'] == 2, r" && py "$TMP/f2.json" "assert r['result'] == 3 and r['tasks']['succeeded'] == 1, r" \
	&& py "$TMP/f3.json" "assert r['result'] == 2 and r['tasks']['cached'] == 1, r" && ! grep -q repeats "$TMP/f2.err" "$TMP/f3.err" \
	&& grep -q repeats "$TMP/f4.err" \
	&& ok "a File input's content changed (3 lines, then 2 again): counted again, then cached; the same content again repeats" \
	|| fail "file input: $(cat "$TMP/f1.json" "$TMP/f2.json" "$TMP/f2.err" "$TMP/f3.json" "$TMP/f3.err" "$TMP/f4.err")"

# a stage that is not cached runs each time (its ledger outside the sandbox)
cat > "$TMP/nocache.pipe" <<EOF
stage stamp() -> Int {
  cache: false
  run: "echo x >> $TMP/ledger; wc -l < $TMP/ledger > \${out}"
}
pipeline main() -> Int {
  return stamp()
}
EOF
run --no-sandbox "$TMP/nocache.pipe" > "$TMP/n1.json" 2> /dev/null
run --no-sandbox "$TMP/nocache.pipe" > "$TMP/n2.json" 2> "$TMP/n2.err"
py "$TMP/n2.json" "assert r['result'] == 2 and r['tasks']['succeeded'] == 1, r" && ! grep -q repeats "$TMP/n2.err" \
	&& ok "a stage with cache: false runs again: no repeat" || fail "cache false: $(cat "$TMP/n1.json" "$TMP/n2.json" "$TMP/n2.err")"

# the latest run of the plan failed: the next one is an ordinary run
cat > "$TMP/flag.pipe" <<EOF
stage ok() -> Int {
  run: "echo 1 > \${out}"
}
stage flagged() -> Int {
  run: "test -f $TMP/flag && echo 2 > \${out}"
}
pipeline main() -> Int {
  let a = ok()
  let b = flagged()
  return a + b
}
EOF
run --no-sandbox "$TMP/flag.pipe" > "$TMP/g1.json" 2> /dev/null; rc1=$?
touch "$TMP/flag"
run --no-sandbox "$TMP/flag.pipe" > "$TMP/g2.json" 2> "$TMP/g2.err"; rc2=$?
run --no-sandbox "$TMP/flag.pipe" > "$TMP/g3.json" 2> "$TMP/g3.err"
[ $rc1 -eq 1 ] && [ $rc2 -eq 0 ] && py "$TMP/g2.json" "assert r['result'] == 3 and r['tasks'] == dict(r['tasks'], succeeded=1, cached=1), r" \
	&& ! grep -q repeats "$TMP/g2.err" && grep -q repeats "$TMP/g3.err" \
	&& ok "after a failed run of the plan: the failed task runs, the other is cached; then the run repeats" \
	|| fail "failed then: $rc1 $rc2 $(cat "$TMP/g2.json" "$TMP/g2.err" "$TMP/g3.err")"

# a run-time for: the repeat has its instances
run tests/run/scatter.pipe -p n=3 > "$TMP/s1.json" 2> /dev/null
run tests/run/scatter.pipe -p n=3 > "$TMP/s2.json" 2> "$TMP/s2.err"
run_id=$(py "$TMP/s2.json" "print(r['run'])")
"$PIPEC" show "$run_id" --state-dir "$S" --format json > "$TMP/s-show.json"
"$PIPEC" lineage 'score[2]' --state-dir "$S" --format json > "$TMP/s-lin.json"
py "$TMP/s2.json" "assert r['result'] == 60 and r['tasks']['cached'] == 8 and r['tasks']['succeeded'] == 0, r" && grep -q repeats "$TMP/s2.err" \
	&& py "$TMP/s-show.json" "st = {t['id']: t['state'] for t in r['tasks']}; assert st['score[2]'] == 'cached' and st['p[0]'] == 'cached', st" \
	&& py "$TMP/s-lin.json" "assert r['run'] == $run_id, r; assert 'p[2]' in [t['task'] for t in r['upstream']], r" \
	&& ok "a run-time for repeated: 8 cached, its instances in show and lineage" \
	|| fail "scatter: $(cat "$TMP/s2.json" "$TMP/s2.err" "$TMP/s-show.json" "$TMP/s-lin.json")"

python3 -c "import sqlite3; assert sqlite3.connect('$S/.pipec/state.db').execute('PRAGMA integrity_check').fetchone()[0] == 'ok'" \
	&& ok "integrity_check ok" || fail "integrity"
finish
