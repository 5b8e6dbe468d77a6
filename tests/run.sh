#!/bin/sh
# pipec run: the quick start's result, the cache, re-running what changed,
# retries, missing outputs, timeouts, the environment, try/else and if at run
# time, the lock and a damaged store.  The store is read with python3's sqlite3.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
py() { python3 -c "import json,sys; r=json.loads(open('$1').read()); $2"; }
S="$TMP/state"
mkdir -p "$S"
run() { "$PIPEC" run --quiet --state-dir "$S" --format json "$@"; }

run examples/quickstart.pipe -p n=100 > "$TMP/q1.json"; rc=$?
[ $rc -eq 0 ] && py "$TMP/q1.json" "assert r['result'] == {'words': 200, 'lines': 100}, r; assert r['status'] == 'succeeded'; assert r['tasks']['succeeded'] == 2" \
	&& ok "quickstart n=100 gives {words: 200, lines: 100}" || fail "quickstart: $rc $(cat "$TMP/q1.json")"
head -c 200 "$TMP/q1.json" | grep -q '^{"run":[0-9]*,"status":"succeeded","result":' && ok "--format json: run, status, result, tasks" || fail "json shape"
run examples/quickstart.pipe -p n=100 > "$TMP/q2.json"
py "$TMP/q2.json" "t = r['tasks']; assert t['cached'] == 2 and t['succeeded'] == 0, t; assert r['result'] == {'words': 200, 'lines': 100}" \
	&& ok "the second run: 2 cached, 0 run" || fail "second run: $(cat "$TMP/q2.json")"
[ -z "$(ls -A "$S/.pipec/work/2" 2>/dev/null)" ] && ok "a run whose tasks were all cached leaves no attempt directories" \
	|| fail "work/2: $(ls -A "$S/.pipec/work/2")"
# work/ and work/RUN/ are top directories where the filesystem has the flag (ext4), so its attempts spread
if lsattr -d "$TMP" > /dev/null 2>&1; then
	lsattr -d "$S/.pipec/work" "$S/.pipec/work/1" 2>&1 | awk '{ if ($1 !~ /T/) bad = 1 } END { exit bad }' \
		&& ok "work/ and a run's directory are marked top directories (chattr +T)" \
		|| fail "no top-directory flag: $(lsattr -d "$S/.pipec/work" "$S/.pipec/work/1" 2>&1)"
else
	ok "top directories: not tried (this filesystem has no file attributes)"
fi

# editing one stage's command re-runs it and what is downstream, nothing else
cp examples/quickstart.pipe "$TMP/q.pipe"
run "$TMP/q.pipe" > /dev/null
sed 's/wc -l < ${c} > ${lines}/wc -l < ${c} > ${lines}  # counted again/' "$TMP/q.pipe" > "$TMP/q2.pipe" && mv "$TMP/q2.pipe" "$TMP/q.pipe"
run "$TMP/q.pipe" > "$TMP/edit.json"
py "$TMP/edit.json" "t = r['tasks']; assert t['cached'] == 1 and t['succeeded'] == 1, t" \
	&& ok "editing count's command re-runs count only" || fail "edit count: $(cat "$TMP/edit.json")"
sed 's/word \/. > ${out}/word  \/'"'"' > ${out}/' "$TMP/q.pipe" > "$TMP/q2.pipe" && mv "$TMP/q2.pipe" "$TMP/q.pipe"
grep -q "word  /" "$TMP/q.pipe" || fail "the edit of fetch did not apply"
run "$TMP/q.pipe" > "$TMP/edit2.json"
py "$TMP/edit2.json" "t = r['tasks']; assert t['cached'] == 0 and t['succeeded'] == 2, t" \
	&& ok "editing fetch's command re-runs fetch and count" || fail "edit fetch: $(cat "$TMP/edit2.json")"
run examples/quickstart.pipe -p n=7 > "$TMP/n7.json"
py "$TMP/n7.json" "assert r['result'] == {'words': 14, 'lines': 7}; assert r['tasks']['succeeded'] == 2" \
	&& ok "another parameter runs again" || fail "n=7"

# the store: every transition an event; state = the last event
python3 - "$S/.pipec/state.db" <<'PY' && ok "the store has the runs, the events and the artifacts" || fail "store contents"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
run = db.execute("SELECT min(id) FROM runs").fetchone()[0]
evs = [r[0] for r in db.execute("SELECT to_state FROM events WHERE run=? AND task='c' ORDER BY seq", (run,))]
assert evs == ["pending", "ready", "running", "succeeded"], evs
state = db.execute("SELECT state FROM tasks WHERE run=? AND id='s'", (run,)).fetchone()[0]
assert state == "succeeded", state
arts = db.execute("SELECT output, value FROM artifacts WHERE run=? AND task='s' ORDER BY output", (run,)).fetchall()
assert arts == [("lines", "100"), ("words", "200")], arts
PY

# a plan built beforehand
"$PIPEC" build examples/quickstart.pipe -p n=3 -o "$TMP/plan.json"
run "$TMP/plan.json" > "$TMP/p.json" && py "$TMP/p.json" "assert r['result'] == {'words': 6, 'lines': 3}" \
	&& ok "pipec run PLAN runs a built plan" || fail "run PLAN: $(cat "$TMP/p.json")"
# the same plan written otherwise: on one line, "tasks" first, a string holding "tasks": [
python3 -c "
import json; p = json.load(open('$TMP/plan.json'))
p['params']['note'] = {'type': 'String', 'value': '\"tasks\": [ {'}
q = {'tasks': p.pop('tasks')}; q.update(p)
open('$TMP/plan2.json', 'w').write(json.dumps(q, separators=(',', ':')))
"
S2="$TMP/state-plan2"; mkdir -p "$S2"
"$PIPEC" run --quiet --state-dir "$S2" --format json "$TMP/plan2.json" > "$TMP/p2.json" && py "$TMP/p2.json" "assert r['result'] == {'words': 6, 'lines': 3}" \
	&& ok "a plan on one line, its keys in another order, runs the same" || fail "plan2: $(cat "$TMP/p2.json")"
printf '{"pipec_plan": 1, "tasks": [{"id": "a", "stage": "s", "command": ["true"]}, 42]}' > "$TMP/bad-plan.json"
"$PIPEC" run --quiet --state-dir "$S2" "$TMP/bad-plan.json" > /dev/null 2> "$TMP/bad-plan.err"; rc=$?
[ $rc -eq 2 ] && grep -q 'the plan is invalid: tasks\[1\]: 42 is not an object' "$TMP/bad-plan.err" && ok "a task of a plan that is not an object: exit 2, said" || fail "bad plan: rc $rc $(cat "$TMP/bad-plan.err")"

# retries, missing outputs, timeouts
run tests/run/retry.pipe > "$TMP/r.json"; rc=$?
[ $rc -eq 0 ] && py "$TMP/r.json" "assert r['result'] == 2, r" && ok "a retry succeeds on attempt 2 (PIPEC_ATTEMPT)" || fail "retry: $rc $(cat "$TMP/r.json")"
"$PIPEC" show --format json --state-dir "$S" > "$TMP/r-show.json"
py "$TMP/r-show.json" "t = [x for x in r['tasks'] if x['id'] == 'flaky'][0]; assert t['attempts'] == 2 and t['exit_codes'] == [3, 0], t; h = t['attempt_history']; assert [a['attempt'] for a in h] == [1, 2] and all(a['finished'] >= a['started'] for a in h), h" \
	&& ok "pipec show --format json: each attempt's exit code and times" || fail "show attempts: $(cat "$TMP/r-show.json")"
"$PIPEC" run --state-dir "$S" tests/run/no-output.pipe > /dev/null 2> "$TMP/no.err"; rc=$?
[ $rc -eq 1 ] && grep -q "stage 'lazy' (tests/run/no-output.pipe:3:34): output 'out' (File) was not written" "$TMP/no.err" \
	&& ok "exit 0 without the output fails, naming the stage and the output" || fail "no output: $rc $(cat "$TMP/no.err")"
run tests/run/no-output.pipe > "$TMP/no2.json"
py "$TMP/no2.json" "assert r['tasks']['failed'] == 1 and r['tasks']['cached'] == 0" && ok "and is never cached" || fail "no output cached"
"$PIPEC" run --state-dir "$S" tests/run/timeout.pipe > /dev/null 2> "$TMP/to.err"; rc=$?
[ $rc -eq 1 ] && grep -q "ran past its timeout" "$TMP/to.err" && ok "a timeout fails the task" || fail "timeout: $rc $(cat "$TMP/to.err")"

# the environment: clean, with the run's variables and the stage's env
SECRET_TOKEN=do-not-leak KUBECONFIG=/nope run tests/run/env.pipe > "$TMP/env.json"
py "$TMP/env.json" "
env = dict(l.split('=', 1) for l in r['result'].split('\n') if '=' in l)
assert 'SECRET_TOKEN' not in env and 'KUBECONFIG' not in env, env
assert env['GREETING'] == 'hello' and env['PIPEC_ATTEMPT'] == '1' and env['PIPEC_TASK'] == 'show', env
assert env['PIPEC_RUN_ID'] == str(r['run'])
assert env['HOME'].startswith('$S') and env['TMPDIR'].startswith(env['HOME'].rsplit('/', 1)[0]), env
" && ok "tasks see a clean environment: PIPEC_*, HOME and TMPDIR in the attempt, the stage's env" || fail "env: $(cat "$TMP/env.json")"
# without the sandbox (a spare shell started ahead runs the task): the same environment
SN="$TMP/state-nosb"; mkdir -p "$SN"
SECRET_TOKEN=do-not-leak KUBECONFIG=/nope "$PIPEC" run --quiet --no-sandbox --state-dir "$SN" --format json tests/run/env.pipe > "$TMP/env2.json"
py "$TMP/env2.json" "
env = dict(l.split('=', 1) for l in r['result'].split('\n') if '=' in l)
assert sorted(env) == ['CUDA_VISIBLE_DEVICES', 'GREETING', 'HOME', 'PATH', 'PIPEC_ATTEMPT', 'PIPEC_RUN_ID', 'PIPEC_TASK', 'PWD', 'TMPDIR'], env
assert env['GREETING'] == 'hello' and env['PIPEC_TASK'] == 'show' and env['PWD'] == env['HOME'].rsplit('/', 1)[0], env
" && ok "without the sandbox: the same clean environment, in the attempt's directory" || fail "env without the sandbox: $(cat "$TMP/env2.json")"
# a standing shell killed while idle: the next task starts all the same
rm -rf "$SN/.pipec"
"$PIPEC" run --quiet --no-sandbox -j2 --state-dir "$SN" --format json tests/run/shells.pipe > "$TMP/spares.json" 2> "$TMP/spares.err"; rc=$?
[ $rc -eq 0 ] && py "$TMP/spares.json" "assert r['result'] == 4 and r['tasks']['succeeded'] == 4, r" \
	&& ok "a standing shell killed while idle: the next task still runs" || fail "spares: rc $rc $(cat "$TMP/spares.json" "$TMP/spares.err")"
# many short runs without the sandbox: each ends as it should (a standing
# shell's last word, come after the loop looked, once ended such a run
# with the signal that carries it)
bad=
for i in $(seq 60); do
	rm -rf "$SN/.pipec"
	"$PIPEC" run --no-sandbox --quiet --state-dir "$SN" tests/run/three.pipe > /dev/null 2>&1 || bad="$bad $?"
done
[ -z "$bad" ] && ok "60 short runs without the sandbox: each succeeds" || fail "short runs ended with:$bad"
# pipec show gives a running task's pid, whose process group holds what its command runs, in both modes
for mode in --no-sandbox --sandbox; do
	[ $mode = --sandbox ] && mode=
	rm -rf "$SN/.pipec"
	"$PIPEC" run --quiet $mode --state-dir "$SN" tests/run/long.pipe > /dev/null 2>&1 &
	bg=$!
	sleep 0.7
	pid=$("$PIPEC" show --state-dir "$SN" --format json | python3 -c "import json,sys; print([t['pid'] for t in json.load(sys.stdin)['tasks'] if t['state'] == 'running'][0])" 2>/dev/null)
	[ -n "$pid" ] && [ -n "$(pgrep -g "$pid" -x sleep)" ] && ok "pipec show: the running task's pid, its process group running its command (${mode:---sandbox})" \
		|| fail "show pid ${mode}: '$pid' $("$PIPEC" show --state-dir "$SN" --format json)"
	"$PIPEC" cancel --state-dir "$SN" > /dev/null 2>&1
	wait $bg
done
# a syntax error in a command is reported at the command's own line, with the sandbox or without
for mode in --no-sandbox --sandbox; do
	[ $mode = --sandbox ] && mode=
	rm -rf "$SN/.pipec"
	"$PIPEC" run $mode --progress lines --state-dir "$SN" tests/run/syntax.pipe > /dev/null 2> "$TMP/syntax.err"; rc=$?
	[ $rc -eq 1 ] && grep -q "^failed     broken: stage 'broken' (tests/run/syntax.pipe:[0-9]*:[0-9]*) exited with status 2; stderr: sh: 2: eval: Syntax error: \"then\" unexpected$" "$TMP/syntax.err" \
		&& ok "a syntax error on a command's second line is said to be on line 2 (${mode:---sandbox})" || fail "syntax ${mode}: rc $rc $(cat "$TMP/syntax.err")"
done
# without the sandbox, a command that kills its own shell: killed by that signal, nothing of it left running
rm -rf "$SN/.pipec"
"$PIPEC" run --no-sandbox --progress lines --state-dir "$SN" tests/run/selfkill.pipe > /dev/null 2> "$TMP/selfkill.err"; rc=$?
sleep 0.2
[ $rc -eq 1 ] && grep -q "^failed     selfkill: .* was killed by signal 15" "$TMP/selfkill.err" && [ -z "$(procs_under "$SN/.pipec")" ] \
	&& ok "a task that kills its own shell: killed by signal 15, nothing left running" || fail "selfkill: rc $rc $(cat "$TMP/selfkill.err") left: $(procs_under "$SN/.pipec")"
# a file the runtime was given open (fd 7 here) is not the tasks', with the sandbox or without
for mode in --no-sandbox --sandbox; do
	[ $mode = --sandbox ] && mode=
	rm -rf "$SN/.pipec"
	( exec 7> "$TMP/seven"; "$PIPEC" run --quiet $mode -j2 --state-dir "$SN" --format json tests/run/fds.pipe > "$TMP/fds.json" )
	py "$TMP/fds.json" "assert [x.split() for x in r['result']] == [['0', '1', '2', '3', '4']] * 3, r" \
		&& ok "tasks ${mode:-in the sandbox} inherit only fds 0-3 (not the runtime's fd 7)" || fail "fds ${mode}: $(cat "$TMP/fds.json")"
done

# run-time pieces
run tests/run/pieces.pipe > "$TMP/pieces.json"; rc=$?
[ $rc -eq 0 ] && py "$TMP/pieces.json" "
assert r['result'] == {'safe': 5, 'big': 7}, r
t = r['tasks']; assert t['failed'] == 1 and t['skipped'] >= 2, t
" && ok "try/else runs the fallback and the run succeeds; an if at run time skips the branch not taken" \
	|| fail "pieces: $rc $(cat "$TMP/pieces.json")"

# one runtime per state directory; a stale lock is taken over
"$PIPEC" run --quiet --state-dir "$S" tests/run/long.pipe > /dev/null 2>&1 &
bg=$!
sleep 0.5
"$PIPEC" run --quiet --state-dir "$S" examples/quickstart.pipe > /dev/null 2> "$TMP/lock.err"; rc=$?
kill $bg 2>/dev/null; wait $bg 2>/dev/null
[ $rc -eq 2 ] && grep -q "in use by pipec (pid" "$TMP/lock.err" && ok "a second runtime on the same state directory is refused" \
	|| fail "lock: $rc $(cat "$TMP/lock.err")"
echo 999999 > "$S/.pipec/lock"
run examples/quickstart.pipe > /dev/null && ok "a lock whose process is gone is taken over" || fail "stale lock"

# a damaged store is refused and kept
D="$TMP/damaged"; mkdir -p "$D/.pipec"
head -c 4096 /dev/urandom > "$D/.pipec/state.db"
cp "$D/.pipec/state.db" "$TMP/damaged.copy"
"$PIPEC" run --quiet --state-dir "$D" examples/quickstart.pipe > /dev/null 2> "$TMP/d.err"; rc=$?
[ $rc -eq 2 ] && grep -q "state.db" "$TMP/d.err" && cmp -s "$D/.pipec/state.db" "$TMP/damaged.copy" \
	&& ok "a damaged store is refused with its name, and left as it was" || fail "damaged: $rc $(cat "$TMP/d.err")"
expect_rc 2 "a state directory that is a file (a missing one is made: tests/cli.sh)" "$PIPEC" run --state-dir "$TMP/damaged.copy" examples/quickstart.pipe

# runs, show, why, lineage, cancel
W="$TMP/w"; mkdir -p "$W"; cp examples/quickstart.pipe "$W/q.pipe"
"$PIPEC" run --quiet --state-dir "$W" "$W/q.pipe" > /dev/null 2>&1
sed 's/wc -l < ${c} > ${lines}/wc -l < ${c} > ${lines}  # again/' "$W/q.pipe" > "$W/q2.pipe" && mv "$W/q2.pipe" "$W/q.pipe"
"$PIPEC" run --quiet --state-dir "$W" "$W/q.pipe" > /dev/null 2>&1
"$PIPEC" runs --state-dir "$W" --format json > "$TMP/runs.json"
py "$TMP/runs.json" "assert [x['run'] for x in r] == [1, 2] and all(x['status'] == 'succeeded' for x in r)" \
	&& ok "pipec runs lists the runs" || fail "runs: $(cat "$TMP/runs.json")"
"$PIPEC" show 2 --state-dir "$W" --format json > "$TMP/show.json"
py "$TMP/show.json" "
t = {x['id']: x for x in r['tasks']}
assert t['c']['state'] == 'cached' and t['s']['state'] == 'succeeded' and t['s']['exit_code'] == 0, t
assert t['s']['attempts'] == 1 and t['s']['finished'] >= t['s']['started'] and t['s']['devices'] == []
" && ok "pipec show: state, attempts, exit codes, times, devices" || fail "show: $(cat "$TMP/show.json")"
"$PIPEC" why s --state-dir "$W" > "$TMP/why.txt"
grep -q "ran rather than being cached; compared with run 1" "$TMP/why.txt" && grep -q "its command changed" "$TMP/why.txt" \
	&& ok "pipec why names the part of the key that changed" || fail "why: $(cat "$TMP/why.txt")"
"$PIPEC" why c --state-dir "$W" | grep -q "did not run: its result was in the cache" && ok "pipec why on a cached task" || fail "why c"
out=$(ls -d "$W"/.pipec/work/1/c@1/out)
"$PIPEC" lineage "$out" --state-dir "$W" --format json > "$TMP/lin.json"
py "$TMP/lin.json" "
assert r['task'] == 'c' and r['run'] == 1 and r['output'] == 'out', r
assert r['upstream'][0]['command'].startswith('seq 100'), r
assert [d['task'] for d in r['downstream']] == ['s'], r
assert r['params']['n']['value'] == 100
" && ok "pipec lineage: what made a file and what it fed" || fail "lineage: $(cat "$TMP/lin.json")"
expect_rc 2 "lineage of something unknown" "$PIPEC" lineage /nonexistent --state-dir "$W"
"$PIPEC" lineage s --state-dir "$W" > "$TMP/lin.txt" 2>&1
head -1 "$TMP/lin.txt" | grep -q "^task s, run [0-9][0-9]*$" && grep -q "^made by:" "$TMP/lin.txt" && grep -q "^  c (stage fetch, " "$TMP/lin.txt" \
	&& ok "pipec lineage TASK, as text: what made it" || fail "lineage text: $(cat "$TMP/lin.txt")"
"$PIPEC" lineage "$out" --state-dir "$W" 2>&1 | head -1 | grep -q "^output out of task c, run 1$" \
	&& ok "pipec lineage PATH, as text, names the output" || fail "lineage path text: $("$PIPEC" lineage "$out" --state-dir "$W" 2>&1 | head -3)"
"$PIPEC" run --quiet --state-dir "$W" tests/run/long.pipe > /dev/null 2>&1 &
bg=$!
sleep 0.5
"$PIPEC" cancel --state-dir "$W"; wait $bg; rc=$?
[ $rc -eq 1 ] && "$PIPEC" show --state-dir "$W" --format json | py /dev/stdin "assert r['status'] == 'cancelled', r" \
	&& ok "pipec cancel stops the run and records it as cancelled" || fail "cancel: rc $rc"
[ -n "$(procs_under "$W/.pipec")" ] && fail "cancel left a task running" || ok "cancel leaves no task running"
# a task skipped because what it needs failed leaves no attempt directory,
# though its directory was made ahead while the failing task ran
cat > "$TMP/skip.pipe" <<'EOF'
stage bad() -> File {
  run: "sleep 0.3; exit 1"
}
stage use(x: File) -> File {
  run: "cat ${x} > ${out}"
}
pipeline main() -> File {
  return use(bad())
}
EOF
mkdir -p "$TMP/skip"
"$PIPEC" run --quiet --state-dir "$TMP/skip" --format json "$TMP/skip.pipe" > "$TMP/skip.json" 2>/dev/null
py "$TMP/skip.json" "t = r['tasks']; assert t['failed'] == 1 and t['skipped'] == 1, t" \
	&& [ "$(ls "$TMP/skip/.pipec/work/1")" = "bad@1" ] \
	&& ok "a skipped task leaves no attempt directory" || fail "skip: $(cat "$TMP/skip.json"; ls "$TMP/skip/.pipec/work/1")"
# Ctrl-C while tasks wait for a slot: the run ends at once, cancelled
cat > "$TMP/queue.pipe" <<'EOF'
stage nap(n: Int) -> File {
  run: "sleep 30; echo ${n} > ${out}"
}
pipeline main() -> List[File] {
  return [nap(1), nap(2), nap(3), nap(4)]
}
EOF
mkdir -p "$TMP/queue"
"$PIPEC" run --quiet -j1 --state-dir "$TMP/queue" "$TMP/queue.pipe" > /dev/null 2>&1 &
bg=$!
sleep 0.7
kill -INT $bg
for i in $(seq 100); do kill -0 $bg 2>/dev/null || break; sleep 0.1; done
if kill -0 $bg 2>/dev/null; then kill -9 $bg; wait $bg; rc=124; else wait $bg; rc=$?; fi
[ $rc -eq 1 ] && "$PIPEC" show --state-dir "$TMP/queue" --format json | py /dev/stdin "
assert r['status'] == 'cancelled', r
assert sorted(t['state'] for t in r['tasks']) == ['cancelled'] * 4, r['tasks']" \
	&& ok "Ctrl-C with tasks waiting for a slot ends the run, all cancelled" || fail "Ctrl-C with a queue: rc $rc"
expect_rc 2 "-p with a plan" "$PIPEC" run -p n=1 "$TMP/plan.json"

# progress: a line per transition off a terminal; on one (a pty from script(1))
# a view redrawn in place with the bar, the counts and the running tasks, and
# the failure still on a line of its own
P="$TMP/progress"
mkdir -p "$P"
"$PIPEC" run -j2 --state-dir "$P" tests/run/progress.pipe > /dev/null 2> "$TMP/lines.err"
grep -q '^running    a$' "$TMP/lines.err" && grep -q '^succeeded  b$' "$TMP/lines.err" && ! grep -q "$(printf '\033')" "$TMP/lines.err" \
	&& ok "off a terminal: one plain line per transition" || fail "lines: $(cat "$TMP/lines.err")"
grep -q "^failed     d: stage 'bad' (tests/run/progress.pipe:7:11) exited with status 3; stderr: disk full$" "$TMP/lines.err" \
	&& ok "a failure names the stage, its place, the status and the stderr tail" || fail "failure line: $(cat "$TMP/lines.err")"
if command -v script > /dev/null; then
	rm -rf "$P/.pipec"
	TERM=xterm script -qec "'$PIPEC' run -j2 --state-dir '$P' tests/run/progress.pipe" /dev/null > "$TMP/live.out" 2>&1
	tr -d '\r' < "$TMP/live.out" > "$TMP/live.txt"
	grep -q '^\[\.*\] 0/3 ' "$TMP/live.txt" && grep -q '\[#*\.*\] [12]/3 ' "$TMP/live.txt" \
		&& ok "live view: a bar of the tasks ended out of all" || fail "live bar: $(cat -v "$TMP/live.txt")"
	grep -q 'running 2  succeeded 0' "$TMP/live.txt" && grep -Eq '^ +0\.[0-9]s  a' "$TMP/live.txt" \
		&& ok "live view: the count in each state and the running tasks with their time" || fail "live counts: $(cat -v "$TMP/live.txt")"
	grep -q "$(printf '\033')\[[0-9]*A$(printf '\033')\[J" "$TMP/live.txt" && ! grep -q '^running    a' "$TMP/live.txt" \
		&& ok "live view: redrawn in place, no line per transition" || fail "live redraw: $(cat -v "$TMP/live.txt")"
	grep -q "failed     d: stage 'bad' (tests/run/progress.pipe:7:11) exited with status 3; stderr: disk full" "$TMP/live.txt" \
		&& grep -q 'pipec: run [0-9]* failed: 2 succeeded' "$TMP/live.txt" \
		&& ok "live view: the failure on its own line and the summary after the view" || fail "live failure: $(cat -v "$TMP/live.txt")"
	rm -rf "$P/.pipec"
	TERM=xterm script -qec "'$PIPEC' run -j2 --progress lines --state-dir '$P' tests/run/progress.pipe" /dev/null > "$TMP/forced.out" 2>&1
	grep -q '^running    a' "$TMP/forced.out" && ok "--progress lines on a terminal" || fail "--progress lines: $(cat -v "$TMP/forced.out")"
else
	fail "script(1) (bsdutils) is needed to test the live view"
fi
expect_rc 2 "--progress with an unknown value" "$PIPEC" run --progress sometimes examples/quickstart.pipe
# the scheduler's order after priority: the longest path to the end first
C="$TMP/critical"
mkdir -p "$C"
"$PIPEC" run -j1 --progress lines --state-dir "$C" tests/run/critical.pipe > "$TMP/critical.out" 2> "$TMP/critical.err"
[ "$(grep '^running' "$TMP/critical.err" | awk '{print $2}' | tr '\n' ' ')" = "a b lone c " ] \
	&& grep -q '"lone":0' "$TMP/critical.out" && grep -q '"last":1' "$TMP/critical.out" \
	&& ok "with one slot the long chain starts before the lone task listed first" || fail "critical path order: $(cat "$TMP/critical.err")"
# resources: cpu and memory are reserved while a task runs; what can never fit is an error at once
X="$TMP/resources"
mkdir -p "$X"
"$PIPEC" run -j4 --progress lines --state-dir "$X" tests/run/whole-machine.pipe -p cores="$(getconf _NPROCESSORS_ONLN)" > "$TMP/whole.out" 2> "$TMP/whole.err"
grep -n '' "$TMP/whole.err" | awk -F: '/running    b$/ {rb=$1} /succeeded  a$/ {sa=$1} END {exit !(rb && sa && rb > sa)}' \
	&& [ "$(cat "$TMP/whole.out")" = 3 ] \
	&& ok "two tasks that each ask for every core run one after the other under -j4" || fail "cpu reservation: $(cat "$TMP/whole.err")"
"$PIPEC" run -j4 --progress lines --state-dir "$X" tests/run/never-fits.pipe > "$TMP/never.out" 2> "$TMP/never.err"; rc=$?
[ $rc -eq 1 ] && grep -q "^error      huge: stage 'huge' (tests/run/never-fits.pipe:16:15) asks for 100000 cpu, and this machine has [0-9]* cores$" "$TMP/never.err" \
	&& grep -q "^error      hog: stage 'hog' (tests/run/never-fits.pipe:16:26) asks for 1000.0 TiB of memory, and this machine has [0-9.]* [KMGT]iB$" "$TMP/never.err" \
	&& { [ -e /dev/nvidiactl ] || grep -q "^error      card: stage 'card' .* asks for 1 GPU, and no GPU was found (.*)$" "$TMP/never.err"; } \
	&& grep -q '"d":5' "$TMP/never.out" \
	&& ok "a task no machine here can hold is an error at once, naming the stage and the shortfall" || fail "never fits: rc $rc $(cat "$TMP/never.err")"
# the ML-shaped example runs in the sandbox: prepare, a sweep of trainings with checkpoints, evaluate
X="$TMP/ml"
mkdir -p "$X"
"$PIPEC" run --quiet --format json --state-dir "$X" examples/ml-train.pipe > "$TMP/ml.json" 2> "$TMP/ml.err"; rc=$?
[ $rc -eq 0 ] && py "$TMP/ml.json" "import os; a = r['result']; assert a['accuracy'] >= 0.5, a; assert os.path.exists(a['model']), a" \
	&& ok "examples/ml-train.pipe runs: an accuracy and the kept model" || fail "ml-train: rc $rc $(cat "$TMP/ml.json" "$TMP/ml.err")"
finish
