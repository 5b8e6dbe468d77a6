#!/bin/sh
# Crash and resume: the runtime is killed with SIGKILL at random moments of a
# 50-task run, 21 times, each time followed by `pipec resume`.  Then: the run
# completes; no task that committed ran again (from the store's events and
# from a ledger every task appends to); the store passes integrity_check; no
# task process is left behind.  The tasks append to a ledger outside their
# attempt directories, which the sandbox forbids, so these runs use
# --no-sandbox; tests/sandbox.sh resumes a sandboxed run.  At the end, a
# sandboxed run of short tasks is killed 5 times (run and resumes) and
# resumed to the end, and one is killed, cancelled and run anew: no cgroup
# of the state directory and no process of the run is left either way.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$TMP" || exit 2
S="$TMP/state"; mkdir -p "$S"
L="$TMP/ledger"; : > "$L"
python3 - "$L" > crash.pipe <<'PY'
import sys
print('stage work(name: String, ledger: String, prev: File?) -> File {')
print('  run: "echo $PIPEC_TASK >> ${ledger}; sleep 0.5; echo ${name} > ${out}"')
print('}')
print('pipeline main() -> List[File] {')
for i in range(50):
    prev = 't%d' % (i - 5) if i >= 5 else 'none'
    print('  let t%d = work("t%d", "%s", %s)' % (i, i, sys.argv[1], prev))
print('  return [%s]' % ', '.join('t%d' % i for i in range(45, 50)))
print('}')
PY
rnd() { od -An -N2 -tu2 /dev/urandom | awk '{ printf "%.2f", 0.05 + ($1 % 45) / 100 }'; }
"$PIPEC" run --no-sandbox --quiet -j 2 --state-dir "$S" crash.pipe > /dev/null 2>&1 &
pid=$!
sleep "$(rnd)"; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
kills=1
for i in $(seq 20); do
	"$PIPEC" resume 1 --no-sandbox --quiet -j 2 --state-dir "$S" > /dev/null 2>&1 &
	pid=$!
	sleep "$(rnd)"; kill -9 $pid 2>/dev/null && kills=$((kills + 1)); wait $pid 2>/dev/null
done
[ "$kills" -ge 20 ] && ok "the runtime was killed $kills times mid-run" || fail "only $kills kills landed mid-run"
"$PIPEC" resume 1 --no-sandbox --quiet -j 2 --state-dir "$S" --format json > final.json 2> final.err; rc=$?
[ $rc -eq 0 ] && python3 -c "
import json; r = json.load(open('final.json'))
assert r['status'] == 'succeeded', r
assert len(r['result']) == 5, r
" && ok "the run completes after $kills kills" || fail "final resume: $rc $(cat final.json final.err)"
python3 - "$S/.pipec/state.db" "$L" <<'PY' && ok "no task that committed ran again (store and ledger agree)" || fail "a committed task ran again"
import collections, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ran = collections.Counter(l.strip() for l in open(sys.argv[2]) if l.strip())
for (task,) in db.execute("SELECT id FROM tasks WHERE run = 1"):
    evs = [r[0] for r in db.execute("SELECT to_state FROM events WHERE run = 1 AND task = ? ORDER BY seq", (task,))]
    assert evs.count("succeeded") == 1, (task, evs)
    assert "running" not in evs[evs.index("succeeded"):], (task, evs)
    assert 1 <= ran[task] <= evs.count("running"), (task, ran[task], evs)
assert sum(ran.values()) >= 50
PY
python3 -c "
import sqlite3, sys; db = sqlite3.connect('$S/.pipec/state.db')
assert db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'" && ok "PRAGMA integrity_check is ok" || fail "integrity_check"
sleep 0.3
left=$(procs_under "$S")
if [ -n "$left" ]; then fail "task processes were left behind: $(ps -o pid,args -p $(echo $left | tr ' ' ,))"; else ok "no task process is left behind"; fi
# a task that ends while the runtime is down says its exit status in .exit,
# and the resumed run takes it without running the task again; a task that
# ends under a live runtime says it on its socket and leaves no .exit
A="$TMP/adopt"; mkdir -p "$A"
AL="$TMP/adopt-ledger"; : > "$AL"
cat > adopt.pipe <<EOF
stage slow(ledger: String) -> File {
  run: "echo ran >> \${ledger}; sleep 1.5; echo done > \${out}"
}
stage quick(x: File) -> File {
  run: "cat \${x} > \${out}"
}
pipeline main() -> File {
  return quick(slow("$AL"))
}
EOF
"$PIPEC" run --no-sandbox --quiet --state-dir "$A" adopt.pipe > /dev/null 2>&1 &
pid=$!
sleep 0.6
kill -9 $pid; wait $pid 2>/dev/null
sleep 1.6
[ -s "$A"/.pipec/work/1/slow@1/.exit ] && [ "$(cat "$A"/.pipec/work/1/slow@1/.exit)" = 0 ] \
	&& ok "a task that ends while the runtime is down leaves its exit status in .exit" \
	|| fail "no .exit: $(ls -a "$A"/.pipec/work/1/slow@1/)"
"$PIPEC" resume --no-sandbox --quiet --state-dir "$A" --format json > adopt.json 2> adopt.err; rc=$?
[ $rc -eq 0 ] && [ "$(wc -l < "$AL")" -eq 1 ] && python3 -c "
import json; r = json.load(open('adopt.json'))
assert r['status'] == 'succeeded' and open(r['result']).read() == 'done\\n', r
" && ok "the resumed run takes that status: the task ran once" || fail "adopt: $rc $(cat adopt.json adopt.err "$AL")"
[ ! -e "$A"/.pipec/work/1/quick@1/.exit ] && ok "a task that ends under a live runtime leaves no .exit" \
	|| fail "quick left a .exit"
# a store that cannot be written mid-run (here: a file size limit): the run
# stops with status 2 and says why; what was committed is intact and a
# resume finishes the run
F="$TMP/full"; mkdir -p "$F"
python3 - > many.pipe <<'PY'
print('stage w(n: Int) -> File {\n  run: "echo ${n} > ${out}"\n}')
print('pipeline main() -> List[File] {')
print('  return [' + ', '.join('w(%d)' % i for i in range(300)) + ']')
print('}')
PY
(trap '' XFSZ; ulimit -f 800; exec "$PIPEC" run --quiet -j2 --no-sandbox --state-dir "$F" many.pipe > full.out 2> full.err); rc=$?
[ $rc -eq 2 ] && grep -q "cannot be written" full.err && [ "$(wc -l < full.err)" -eq 1 ] \
	&& ok "a store that cannot be written stops the run: exit 2, one line saying so" || fail "full store: rc $rc $(cat full.err)"
python3 -c "
import sqlite3; db = sqlite3.connect('$F/.pipec/state.db')
assert db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'" \
	&& "$PIPEC" resume --quiet -j2 --no-sandbox --state-dir "$F" --format json > full.json 2>&1 \
	&& python3 -c "
import json; r = json.load(open('full.json')); assert r['status'] == 'succeeded' and len(r['result']) == 300, r" \
	&& ok "what it committed is intact, and resume finishes the run" || fail "after a full store: $(tail -c 300 full.json)"
# a state directory on a network filesystem is refused, by name (statfs
# says NFS under nfs-export/: a preloaded stand-in, tests/store/fake-statfs.c)
if [ -n "${FAKE_STATFS:-}" ] && [ -e "$FAKE_STATFS" ]; then
	mkdir -p "$TMP/nfs-export"
	LD_PRELOAD="$FAKE_STATFS" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		"$PIPEC" run --quiet --state-dir "$TMP/nfs-export" "$top_srcdir/examples/quickstart.pipe" > nfs.out 2> nfs.err; rc=$?
	[ $rc -eq 2 ] && grep -q "is on a network filesystem (NFS)" nfs.err && [ ! -e "$TMP/nfs-export/.pipec/state.db" ] \
		&& ok "a state directory on NFS is refused, with no database made there" || fail "nfs: rc $rc $(cat nfs.err)"
else
	fail "the stand-in statfs was not built (FAKE_STATFS)"
fi
# the runtime killed after a commit's tasks were let go, before its fsync
# (tests/store/kill-at-sync.c kills it 0.1 s into its writer's 2nd WAL sync,
# the commit that starts the second task): the task runs on and, the
# runtime gone, leaves its exit status in .exit; its start's frames are in
# the WAL, so the resumed run finds it running and takes its end from .exit
# rather than running it again
if [ -n "${KILL_AT_SYNC:-}" ] && [ -e "$KILL_AT_SYNC" ]; then
	K="$TMP/ks-state"; mkdir -p "$K"
	KL="$TMP/ks-ledger"; : > "$KL"
	cat > "$TMP/ks.pipe" <<EOF
stage step(i: Int) -> Int {
  run: "echo \${i} >> $KL; sleep 0.5; echo \${i} > \${out}"
}
pipeline main() -> List[Int] {
  return [step(1), step(2), step(3), step(4)]
}
EOF
	LD_PRELOAD="$KILL_AT_SYNC" PIPEC_TEST_KILL_AT_WAL_SYNC=2 ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		"$PIPEC" run --no-sandbox --quiet -j1 --state-dir "$K" "$TMP/ks.pipe" > ks.out 2> ks.err; rc=$?
	sleep 0.8 # the second task ends meanwhile
	before=$(tr '\n' ' ' < "$KL")
	"$PIPEC" resume --no-sandbox --quiet -j1 --state-dir "$K" --format json > ks.json 2> ks.err2; rc2=$?
	[ $rc -eq 137 ] && [ "$before" = "1 2 " ] && [ $rc2 -eq 0 ] \
		&& python3 -c "import json; r = json.load(open('ks.json')); assert r['result'] == [1, 2, 3, 4], r" \
		&& [ "$(tr '\n' ' ' < "$KL")" = "1 2 3 4 " ] \
		&& ok "killed between a commit's write to the WAL and its fsync: the task it let go is found running and taken from .exit, not run again" \
		|| fail "kill at sync: rc $rc/$rc2, ledger before: $before after: $(tr '\n' ' ' < "$KL") $(cat ks.err ks.err2 ks.json)"
	# killed before the commit that starts the second task wrote anything:
	# that task never starts (its go-ahead waits for the frames)
	K2="$TMP/kw-state"; mkdir -p "$K2"
	: > "$KL"
	LD_PRELOAD="$KILL_AT_SYNC" PIPEC_TEST_KILL_AT_WAL_WRITE=2 ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		"$PIPEC" run --no-sandbox --quiet -j1 --state-dir "$K2" "$TMP/ks.pipe" > kw.out 2> kw.err; rc=$?
	sleep 0.8
	before=$(tr '\n' ' ' < "$KL")
	"$PIPEC" resume --no-sandbox --quiet -j1 --state-dir "$K2" --format json > kw.json 2> kw.err2; rc2=$?
	[ $rc -eq 137 ] && [ "$before" = "1 " ] && [ $rc2 -eq 0 ] \
		&& python3 -c "import json; r = json.load(open('kw.json')); assert r['result'] == [1, 2, 3, 4], r" \
		&& [ "$(grep -c . "$KL")" -ge 4 ] && [ "$(sort "$KL" | uniq -d | tr -d '1\n')" = "" ] \
		&& ok "killed before a commit wrote its frames: the task it would have let go never started" \
		|| fail "kill at write: rc $rc/$rc2, ledger before: $before after: $(tr '\n' ' ' < "$KL") $(cat kw.err kw.err2 kw.json)"
	# killed when a WAL started again after a checkpoint has its header
	# synced, before the commit's frames are written (150 quick tasks fill
	# the WAL past SQLite's checkpoint): the task that commit starts must not
	# have started; every task in the ledger has its start in the store
	K3="$TMP/kh-state"; mkdir -p "$K3"
	: > "$KL"
	python3 -c "
print('stage step(i: Int) -> Int {\n  run: \"echo \${i} >> $KL; echo \${i} > \${out}\"\n}')
print('pipeline main() -> List[Int] {\n  return [' + ', '.join('step(%d)' % i for i in range(150)) + ']\n}')" > "$TMP/kh.pipe"
	LD_PRELOAD="$KILL_AT_SYNC" PIPEC_TEST_KILL_AT_WAL_HEADER=1 ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		"$PIPEC" run --no-sandbox --quiet -j1 --state-dir "$K3" "$TMP/kh.pipe" > kh.out 2> kh.err; rc=$?
	python3 - "$K3/.pipec/state.db" "$KL" > kh.check 2>&1 <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ran = {int(l) for l in open(sys.argv[2]) if l.strip()}
# step(0) is task "step", step(i) for i > 0 is "step-(i+1)"
started = {int(t.split('-')[-1]) - 1 if '-' in t else 0 for (t,) in db.execute("SELECT DISTINCT task FROM events WHERE to_state = 'running'")}
assert ran and ran <= started, ("ran without a start in the store", sorted(ran - started))
print(len(ran), "ran")
PY
	checked=$?
	[ $rc -eq 137 ] && [ $checked -eq 0 ] && ok "killed at a restarted WAL's header sync: every task that ran has its start in the store ($(cat kh.check))" \
		|| fail "kill at header: rc $rc $(cat kh.check kh.err)"
else
	fail "the stand-in fdatasync was not built (KILL_AT_SYNC)"
fi
# a checkpointing stage killed mid-way (the machine dies: runtime and task)
# resumes from its newest checkpoint
C="$TMP/cp-state"; mkdir -p "$C"
CL="$TMP/cp-ledger"; : > "$CL"
"$PIPEC" run --no-sandbox --quiet --state-dir "$C" -p "ledger=$CL" "$top_srcdir/tests/run/checkpoint.pipe" > /dev/null 2>&1 &
pid=$!
sleep 1
kill -9 $pid; wait $pid 2>/dev/null
kill -9 $(procs_under "$C") 2>/dev/null
sleep 0.3
"$PIPEC" resume --no-sandbox --quiet --state-dir "$C" --format json > cp.json 2> cp.err; rc=$?
[ $rc -eq 0 ] && python3 -c "
import json; assert json.load(open('cp.json'))['result'] == 8
steps = [l.split() for l in open('$CL')]
first = [int(s[3]) for s in steps if s[1] == '1']
second = [int(s[3]) for s in steps if s[1] == '2']
assert first and second, steps
assert second[0] > 1 and second[0] <= first[-1] + 1, ('attempt 2 started over', steps)
assert sorted(set(first + second)) == list(range(1, 9)), steps
" && ok "a checkpointing stage killed mid-way resumes from its newest checkpoint" || fail "checkpoint: $rc $(cat cp.json cp.err "$CL")"
python3 -c "
import sqlite3; db = sqlite3.connect('$C/.pipec/state.db')
rows = db.execute(\"SELECT attempt, path FROM checkpoints WHERE task = 'train' ORDER BY at\").fetchall()
key = db.execute(\"SELECT cache_key FROM tasks WHERE id = 'train'\").fetchone()[0]
assert key and rows and rows[-1][1].endswith('/checkpoints/%s/step' % key), (key, rows)
" && ok "the newest checkpoint is recorded in the store, kept under the task's key" || fail "checkpoints table"
# a sandboxed run of many short tasks killed mid-way a few times, each
# resume killed too, then resumed to the end: no cgroup of the state
# directory (pipec-TAG-*: those of attempts started ahead are known to no
# one after a SIGKILL) and no process of the run (a task, a shell started
# ahead, a namespace holder) is left
X="$TMP/sbx-state"; XC="$TMP/sbx-cwd"; mkdir -p "$X" "$XC"
python3 - > "$XC/short.pipe" <<'PY'
n = 120
print('stage s(i: Int) -> (out: Int) {\n  run: "sleep 0.1; echo ${i} > ${out}"\n}')
print('pipeline main() -> List[Int] {')
for k in range(n):
    print('  let t%d = s(%d)' % (k, k))
print('  return [%s]\n}' % ', '.join('t%d.out' % k for k in range(n)))
PY
(cd "$XC" && killed_after 0.6 "$PIPEC" run --quiet -j 2 --state-dir "$X" short.pipe)
for d in 0.4 0.5 0.3 0.6; do
	(cd "$XC" && killed_after "$d" "$PIPEC" resume --quiet -j 2 --state-dir "$X")
done
(cd "$XC" && "$PIPEC" resume --quiet -j 2 --state-dir "$X" --format json > "$TMP/sbx.json" 2> "$TMP/sbx.err"); rc=$?
sleep 0.3
xleft=$(cgroups_left "$X")
xprocs="$(procs_under "$X") $(procs_under "$XC")"
[ $rc -eq 0 ] && python3 -c "
import json; r = json.load(open('$TMP/sbx.json'))
assert r['status'] == 'succeeded' and r['result'] == list(range(120)), r
" && ok "a sandboxed run killed mid-way 5 times resumes to the end" || fail "sandboxed kills: rc $rc $(tail -c 400 "$TMP/sbx.json") $(tail -3 "$TMP/sbx.err")"
[ -z "$xleft" ] && ok "... leaving no cgroup of its state directory" || fail "cgroups left after 5 kills and resumes: $xleft"
[ -z "$(echo $xprocs)" ] && ok "... and no process of the run" || fail "processes left: $(ps -o pid,ppid,args -p $(echo $xprocs | tr ' ' ,))"
# a run killed and left for a new run (never resumed, or cancelled): what it
# had started ahead is known to no one; the next run of the state directory
# removes it
sed 's/sleep 0.1;/sleep 0.11;/' "$XC/short.pipe" > "$XC/short2.pipe"
(cd "$XC" && killed_after 0.8 "$PIPEC" run --quiet -j 2 --state-dir "$X" short2.pipe)
(cd "$XC" && "$PIPEC" cancel --state-dir "$X" > /dev/null 2>&1)
sleep 0.3
(cd "$XC" && "$PIPEC" run --quiet -j 2 --state-dir "$X" short2.pipe > /dev/null 2> "$TMP/sbx2.err"); rc=$?
sleep 0.3
xleft=$(cgroups_left "$X")
xprocs="$(procs_under "$X") $(procs_under "$XC")"
[ $rc -eq 0 ] && [ -z "$xleft" ] && [ -z "$(echo $xprocs)" ] \
	&& ok "a sandboxed run killed, cancelled and run anew: no cgroup and no process of the killed run is left" \
	|| fail "killed, cancelled, run anew: rc $rc, cgroups left: $xleft, processes left: $xprocs $(tail -2 "$TMP/sbx2.err")"
finish
