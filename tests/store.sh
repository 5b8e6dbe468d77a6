#!/bin/sh
# The store and the processes it names, damaged or hijacked (issue 12).
#
# Pid reuse: a task's stored pid, or the lock's, that now names an unrelated
# process (or pid 1) is never adopted nor signalled: the store keeps each
# attempt's process start time (/proc/PID/stat field 22) beside its pid
# (pid_start) and the lock the runtime's own, and a process whose start
# time does not match is gone (the attempt is LOST and tried again).
# Damage to the store: an index corruption quick_check misses is found by
# integrity_check; a state.db truncated to 0 bytes where work/ shows runs is
# refused; a WAL deleted under a live run is found lost (the dead runtime's
# lock names a run the store does not have).  Each exits 2, files untouched.
# A hang is killed with SIGKILL, never SIGTERM: a runtime that cancels
# would signal the process it wrongly adopted (pid 1: kill(-1) is everyone).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$TMP" || exit 2
cat > c.pipe <<PIPE
stage quick(i: Int) -> Int { run: "echo \${i} > \${out}" }
stage nap(i: Int) -> Int { run: "test -e $TMP/flag && sleep 30; echo \${i} > \${out}" }
stage last(x: Int) -> Int { run: "echo \${x} > \${out}" }
pipeline main() -> Int { return last(nap(quick(1))) }
PIPE
py() { python3 -c "import json,sys; r = json.load(open(sys.argv[1])); $2" "$1"; }
states() { "$PIPEC" show --state-dir "$1" --format json > "$TMP/show.json" 2>/dev/null &&
	py "$TMP/show.json" "print(r['status'], *sorted(t['stage'] + '=' + t['state'] for t in r['tasks']))"; }
sql() { python3 - "$1/.pipec/state.db" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute(sys.argv[2]):
    print(*row)
db.commit()
PY
}
alive() { kill -0 "$1" 2>/dev/null; }
# an unrelated process, the leader of its own process group (as a task's shell is)
unrelated() { setsid sleep 300 > /dev/null 2>&1 & echo $!; }

# ---- a run killed while nap runs; nap's process killed too ----------------------
S="$TMP/killed"; mkdir -p "$S"; touch "$TMP/flag"
"$PIPEC" run --no-sandbox --quiet --state-dir "$S" c.pipe > /dev/null 2>&1 &
bg=$!
for i in $(seq 150); do [ "$(states "$S")" = "running last=pending nap=running quick=succeeded" ] && break; sleep 0.1; done
kill -9 $bg; wait $bg 2>/dev/null
nap=$(sql "$S" "SELECT pid FROM tasks WHERE stage = 'nap'")
[ -n "$nap" ] && [ "$nap" -gt 1 ] && kill -9 "-$nap"; sleep 0.2
rm -f "$TMP/flag"
for d in cancel lock one; do cp -a "$S" "$TMP/$d"; done

# resume: nap's stored pid names an unrelated process now
U=$(unrelated)
sql "$S" "UPDATE tasks SET pid = $U WHERE stage = 'nap'"; sql "$S" "UPDATE attempts SET pid = $U WHERE task LIKE '%nap%'"
timeout -s KILL 20 "$PIPEC" resume --no-sandbox --state-dir "$S" > "$TMP/out" 2> "$TMP/err"; rc=$?
[ $rc -eq 0 ] && [ "$(states "$S")" = "succeeded last=succeeded nap=succeeded quick=succeeded" ] \
	&& ok "resume: a stored pid reused by an unrelated process is not adopted (nap lost, run again)" \
	|| fail "resume with a reused pid: exit $rc $(states "$S") $(cat "$TMP/err")"
alive "$U" && ok "resume: the unrelated process is left alone" || fail "resume killed the unrelated process"
kill -9 "$U" 2>/dev/null

# resume: pid 1 in the store
S1="$TMP/one"
sql "$S1" "UPDATE tasks SET pid = 1 WHERE stage = 'nap'"; sql "$S1" "UPDATE attempts SET pid = 1 WHERE task LIKE '%nap%'"
timeout -s KILL 20 "$PIPEC" resume --no-sandbox --quiet --state-dir "$S1" > /dev/null 2> "$TMP/err"; rc=$?
[ $rc -eq 0 ] && [ "$(states "$S1")" = "succeeded last=succeeded nap=succeeded quick=succeeded" ] \
	&& ok "resume: pid 1 in the store is never adopted" || fail "resume with pid 1: exit $rc $(cat "$TMP/err")"

# cancel: nap's stored pid names an unrelated process
C="$TMP/cancel"; U=$(unrelated)
sql "$C" "UPDATE tasks SET pid = $U WHERE stage = 'nap'"
"$PIPEC" cancel --state-dir "$C" > /dev/null 2> "$TMP/err"; rc=$?
sleep 0.2
[ $rc -eq 0 ] && [ "$(states "$C")" = "cancelled last=cancelled nap=cancelled quick=succeeded" ] \
	&& ok "cancel with a reused task pid: the run is recorded cancelled" || fail "cancel: exit $rc $(states "$C") $(cat "$TMP/err")"
alive "$U" && ok "cancel does not kill an unrelated process that reused a task's pid" || fail "cancel SIGKILLed an unrelated process"
kill -9 "$U" 2>/dev/null

# cancel: a stale lock (its runtime was killed) whose pid an unrelated process has now
L="$TMP/lock"; U=$(unrelated)
grep -q '^[0-9][0-9]* [0-9][0-9]* 1$' "$L/.pipec/lock" && ok "the lock records the runtime's pid, its start time and its run" \
	|| fail "the lock: $(cat "$L/.pipec/lock")"
echo "$U 1" > "$L/.pipec/lock"
"$PIPEC" cancel --state-dir "$L" > /dev/null 2> "$TMP/err"; rc=$?
sleep 0.2
alive "$U" && ok "cancel does not signal the unrelated process a stale lock's pid is now" || fail "cancel signalled the lock's pid $U"
[ $rc -eq 0 ] && [ "$(states "$L")" = "cancelled last=cancelled nap=cancelled quick=succeeded" ] \
	&& ok "cancel with a stale lock: the run is recorded cancelled" || fail "cancel with a stale lock: exit $rc $(states "$L") $(cat "$TMP/err")"
# a lock with a pid alone (an older pipec's) that names a live process: not signalled, not taken over
cp -a "$S1" "$TMP/old"; echo "$U" > "$TMP/old/.pipec/lock"
"$PIPEC" cancel --state-dir "$TMP/old" > /dev/null 2> "$TMP/err"; rc=$?
sleep 0.2
alive "$U" && [ $rc -eq 2 ] && grep -q "in use by pipec (pid $U)" "$TMP/err" \
	&& ok "a pid-only lock naming a live process: not signalled, cancel says who holds it (exit 2)" \
	|| fail "pid-only lock: exit $rc $(cat "$TMP/err")"
kill -9 "$U" 2>/dev/null

# ---- damage to the store that quick_check misses, or that leaves no store -----
D="$TMP/done"; mkdir -p "$D"
"$PIPEC" run --no-sandbox --quiet --state-dir "$D" "$top_srcdir/tests/run/three.pipe" > /dev/null 2>&1 || fail "a first run"
cp -a "$D" "$TMP/trunc"
python3 "$top_srcdir/tests/store/flip-index.py" "$D/.pipec/state.db"
"$PIPEC" run --no-sandbox --quiet --state-dir "$D" "$top_srcdir/tests/run/three.pipe" > /dev/null 2> "$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "is damaged (integrity_check failed)" "$TMP/err" \
	&& ok "an index damaged the way quick_check misses: run refuses the store (exit 2)" || fail "damaged index: exit $rc: $(cat "$TMP/err")"
[ "$(sql "$D" "SELECT count(*) FROM runs")" = 1 ] && ok "... and wrote no run on top" || fail "a run was written on the damaged store"

T="$TMP/trunc"
rm -f "$T/.pipec/state.db-wal" "$T/.pipec/state.db-shm"; : > "$T/.pipec/state.db"
"$PIPEC" run --no-sandbox --quiet --state-dir "$T" "$top_srcdir/tests/run/three.pipe" > /dev/null 2> "$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "is empty, but .* shows it held runs: it was truncated" "$TMP/err" \
	&& ok "a store truncated to 0 bytes is refused, not taken as a new one (exit 2)" || fail "truncated store: exit $rc: $(cat "$TMP/err")"
[ ! -s "$T/.pipec/state.db" ] && ok "... and left as it is" || fail "the truncated store was written"

# the WAL deleted under a live run, then the runtime killed: what it recorded is lost, and said so
W="$TMP/wal"; mkdir -p "$W"; touch "$TMP/flag"
"$PIPEC" run --no-sandbox --quiet --state-dir "$W" c.pipe > /dev/null 2>&1 &
bg=$!
for i in $(seq 150); do [ "$(states "$W")" = "running last=pending nap=running quick=succeeded" ] && break; sleep 0.1; done
rm -f "$W/.pipec/state.db-wal"
kill -9 $bg; wait $bg 2>/dev/null
pkill_nap() { for p in $(procs_under "$W/.pipec"); do kill -9 "$p" 2>/dev/null; done; }
pkill_nap; rm -f "$TMP/flag"
"$PIPEC" resume --no-sandbox --quiet --state-dir "$W" > /dev/null 2> "$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "has no record of run 1, which the runtime that stopped .* was running: its write-ahead log (state.db-wal) was lost" "$TMP/err" \
	&& ok "the WAL deleted under a live run: resume says what was lost (exit 2)" || fail "lost WAL, resume: exit $rc: $(cat "$TMP/err")"
"$PIPEC" run --no-sandbox --quiet --state-dir "$W" c.pipe > /dev/null 2> "$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "was lost" "$TMP/err" \
	&& ok "... and so does a new run, every time (exit 2)" || fail "lost WAL, run: exit $rc: $(cat "$TMP/err")"

finish
