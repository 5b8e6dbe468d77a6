#!/bin/sh
# pipec cancel of a run whose runtime is gone (killed with SIGKILL mid-run):
# the run and each task that had not ended are recorded cancelled, each
# through a legal transition of the state table (runtime/state.h), and
# what the run left running is killed; tasks that ended keep their state.
# A run that already ended is never rewritten: cancel says so and exits 2,
# and does not signal the runtime of another run that is going on.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$TMP" || exit 2
cat > c.pipe <<'PIPE'
stage quick(i: Int) -> Int { run: "echo ${i} > ${out}" }
stage nap(i: Int) -> Int { run: "sleep 30; echo ${i} > ${out}" }
stage last(x: Int) -> Int { run: "echo ${x} > ${out}" }
pipeline main() -> Int { return last(nap(quick(1))) }
PIPE
py() { python3 -c "import json,sys; r = json.load(open(sys.argv[1])); $2" "$1"; }
# states STATE: each task's "stage=state", by stage
states() { "$PIPEC" show --state-dir "$1" --format json > "$TMP/show.json" 2>/dev/null &&
	py "$TMP/show.json" "print(r['status'], *sorted(t['stage'] + '=' + t['state'] for t in r['tasks']))"; }
# dump STATE: the store's runs, tasks and events, to compare before and after
dump() { python3 - "$1/.pipec/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for t in ("runs", "tasks", "events", "attempts"):
    for row in db.execute("SELECT * FROM %s ORDER BY rowid" % t):
        print(t, row)
PY
}

# ---- a run whose runtime was killed: cancel records it ------------------------
S="$TMP/killed"; mkdir -p "$S"
"$PIPEC" run --no-sandbox --quiet --state-dir "$S" c.pipe > /dev/null 2>&1 &
bg=$!
for i in $(seq 150); do [ "$(states "$S")" = "running last=pending nap=running quick=succeeded" ] && break; sleep 0.1; done
kill -9 $bg; wait $bg 2>/dev/null
got=$(states "$S")
[ "$got" = "running last=pending nap=running quick=succeeded" ] && ok "killed mid-run: quick succeeded, nap running, last pending" \
	|| fail "the killed run: $got"
cp -a "$S" "$TMP/paused"
"$PIPEC" cancel --state-dir "$S" > "$TMP/out" 2> "$TMP/err"; rc=$?
[ $rc -eq 0 ] && [ ! -s "$TMP/err" ] && ok "cancel of the run whose runtime is gone: exit 0, nothing said" \
	|| fail "cancel: exit $rc: $(cat "$TMP/err")"
got=$(states "$S")
[ "$got" = "cancelled last=cancelled nap=cancelled quick=succeeded" ] \
	&& ok "the run and its unfinished tasks are recorded cancelled; quick keeps succeeded" || fail "after cancel: $got"
sleep 0.2
[ -z "$(procs_under "$S/.pipec")" ] && ok "the task the run left running is killed" || fail "cancel left a task running"
python3 - "$S/.pipec/state.db" <<'PY' && ok "each task's events chain: each cancelled event is from the state before it" || fail "events"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for (task,) in db.execute("SELECT id FROM tasks"):
    evs = list(db.execute("SELECT from_state, to_state FROM events WHERE task = ? ORDER BY seq", (task,)))
    for (f0, t0), (f1, t1) in zip(evs, evs[1:]):
        assert f1 == t0, (task, evs)
    assert [e for e in evs if e[1] == "cancelled"] in ([], [evs[-1]]), (task, evs)
PY
"$PIPEC" cancel --state-dir "$S" > /dev/null 2> "$TMP/err"; rc=$?
[ $rc -eq 2 ] && [ "$(cat "$TMP/err")" = "pipec: no run is going on" ] \
	&& ok "cancel again: no run is going on (exit 2)" || fail "cancel again: exit $rc: $(cat "$TMP/err")"

# ---- a paused task (out of memory after a checkpoint) is cancelled too ----------
P="$TMP/paused"
python3 - "$P/.pipec/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO events(run, task, attempt, from_state, to_state, at) SELECT run, id, attempts, 'running', 'paused', 0 FROM tasks WHERE stage = 'nap'")
db.execute("UPDATE tasks SET state = 'paused' WHERE stage = 'nap'")
db.commit()
PY
"$PIPEC" cancel 1 --state-dir "$P" > /dev/null 2> "$TMP/err"; rc=$?
got=$(states "$P")
[ $rc -eq 0 ] && [ "$got" = "cancelled last=cancelled nap=cancelled quick=succeeded" ] \
	&& ok "cancel 1: a paused task is cancelled with the rest" || fail "paused: exit $rc, $got $(cat "$TMP/err")"

# ---- a run that already ended is left as it is ----------------------------------
D="$TMP/done"; mkdir -p "$D"
"$PIPEC" run --no-sandbox --quiet --state-dir "$D" "$top_srcdir/tests/run/three.pipe" > /dev/null 2>&1 \
	&& ok "a run that succeeds" || fail "the run to cancel afterwards failed"
dump "$D" > "$TMP/before"
"$PIPEC" cancel 1 --state-dir "$D" > "$TMP/out" 2> "$TMP/err"; rc=$?
[ $rc -eq 2 ] && [ ! -s "$TMP/out" ] && [ "$(cat "$TMP/err")" = "pipec: run 1 already ended (succeeded)" ] \
	&& ok "cancel of a run that succeeded: says it already ended, exit 2" || fail "cancel 1: exit $rc: $(cat "$TMP/err")"
dump "$D" > "$TMP/after"
cmp -s "$TMP/before" "$TMP/after" && ok "cancel of a finished run changes nothing in the store" \
	|| fail "the finished run was rewritten: $(diff "$TMP/before" "$TMP/after" | head -5)"
# the same while another run's runtime owns the directory: that run goes on
"$PIPEC" run --no-sandbox --quiet --state-dir "$D" c.pipe > /dev/null 2>&1 &
bg=$!
for i in $(seq 150); do [ "$(states "$D")" = "running last=pending nap=running quick=succeeded" ] && break; sleep 0.1; done
"$PIPEC" cancel 1 --state-dir "$D" > /dev/null 2> "$TMP/err"; rc=$?
sleep 0.3
[ $rc -eq 2 ] && kill -0 $bg 2>/dev/null && [ "$(states "$D")" = "running last=pending nap=running quick=succeeded" ] \
	&& ok "cancel 1 while run 2 goes on: refused, run 2 is not signalled" || fail "cancel 1 during run 2: exit $rc, $(states "$D") $(cat "$TMP/err")"
"$PIPEC" cancel 2 --state-dir "$D" > /dev/null 2>&1
wait $bg; rc=$?
[ $rc -eq 1 ] && [ "$(states "$D" | cut -d' ' -f1)" = cancelled ] && ok "cancel 2 then stops run 2 (exit 1, cancelled)" \
	|| fail "cancel 2: run exit $rc, $(states "$D")"
finish
