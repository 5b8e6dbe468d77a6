#!/bin/sh
# The local sandbox, each protection a check: a connect to a listener on the
# host's 127.0.0.1 fails (and works with sandbox: { network: true }); a
# write outside the attempt's directory does not persist; inputs are
# read-only; host variables are not visible; no capabilities, a pid
# namespace of its own; the memory limit is enforced and reported as out of
# memory; the pids limit holds; a timeout kills everything the task started;
# a sandboxed run killed mid-way resumes; many tasks prepared together, with
# inputs in folders of their own under /tmp, each see theirs and the work
# tree, and none fails to start.  Where this host cannot give a
# protection, the run says so once (shown by running as an unprivileged
# user, who has no cgroups here), and the check looks for that instead.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
S="$TMP/state"
mkdir -p "$S"
field() { python3 -c "import json,sys; r = json.load(open('$1')); print(r['result']['$2'])"; }

# a listener on the host's loopback
python3 -c "
import os, socket, sys, threading
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
port = s.getsockname()[1]
def serve(l):
    while True:
        c, _ = l.accept(); c.close()
try:  # a host socket in /run, as docker.sock or an agent's would be
    u = socket.socket(socket.AF_UNIX); u.bind('/run/pipec-sandbox-probe-%d.sock' % port); u.listen()
    threading.Thread(target=serve, args=(u,), daemon=True).start()
except OSError:
    pass
print(port); sys.stdout.flush()
serve(s)
" > "$TMP/port" &
LISTENER=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$TMP/port" ] && break; sleep 0.1; done
PORT=$(cat "$TMP/port")
trap 'kill $LISTENER 2>/dev/null; rm -rf "$TMP" "/run/pipec-sandbox-probe-$PORT.sock"' EXIT

# a System V shared memory segment of the host's, which the tasks must not see
SHM=$(ipcmk -M 4096 2>/dev/null | grep -o '[0-9][0-9]*$')
trap 'kill $LISTENER 2>/dev/null; [ -n "$SHM" ] && ipcrm -m "$SHM"; rm -rf "$TMP" "/run/pipec-sandbox-probe-$PORT.sock"' EXIT
KUBECONFIG=/root/.kube/config SSH_AUTH_SOCK=/tmp/ssh-agent.sock AWS_SECRET_ACCESS_KEY=secret \
	"$PIPEC" run --state-dir "$S" --format json -p port="$PORT" tests/sandbox/probe.pipe > "$TMP/probe.json" 2> "$TMP/probe.err"; rc=$?
[ $rc -eq 0 ] && ok "the probe pipeline runs in the sandbox" || fail "probe: rc $rc $(cat "$TMP/probe.err")"
partial=$(grep 'the sandbox here is partial' "$TMP/probe.err")
field "$TMP/probe.json" look > "$TMP/look"
# protection PATTERN-in-the-partial-message DESCRIPTION CONDITION...
protection() {
	missing=$1; what=$2; shift 2
	if [ -n "$partial" ] && echo "$partial" | grep -q "$missing"; then
		ok "$what: this host cannot, and the run says so: $missing"
	elif "$@"; then
		ok "$what"
	else
		fail "$what: $(cat "$TMP/look")"
	fi
}
protection "no network namespace" "a connect to a listener on the host's 127.0.0.1 fails" grep -q '^connect: no' "$TMP/look"
[ "$(field "$TMP/probe.json" online)" = "connect: yes" ] && ok "sandbox: { network: true } reaches it" || fail "network: true: $(cat "$TMP/probe.json")"
protection "private /tmp" "a write to /tmp does not persist on the host" sh -c "grep -q '^tmp: written' '$TMP/look' && [ ! -e /tmp/pipec-sandbox-probe-$PORT ]"
protection "read-only root" "a write beside the attempt's directory is refused" sh -c "grep -q '^up: refused' '$TMP/look' && [ -z \"\$(find '$S/.pipec/work' -name 'outside-*')\" ]"
protection "read-only root" "a write to /etc is refused" grep -q '^etc: refused' "$TMP/look"
protection "no namespaces" "a write to the host's sysctls (/proc/sys) is refused" grep -q '^sysctl: refused' "$TMP/look"
if [ -S "/run/pipec-sandbox-probe-$PORT.sock" ]; then
	protection "read-only root" "a host socket in /run (as docker.sock) cannot be reached" grep -q '^unix: no' "$TMP/look"
else
	ok "host sockets in /run: not tried (/run is not writable here)"
fi
protection "read-only root" "an input is read-only" sh -c "[ '$(field "$TMP/probe.json" input)' = 'input: refused' ]"
grep -q '^env: kube=\[\] ssh=\[\] aws=\[\]$' "$TMP/look" && ok "host variables (KUBECONFIG, SSH_AUTH_SOCK, AWS_SECRET_ACCESS_KEY) are not visible" || fail "env: $(cat "$TMP/look")"
protection "no namespaces" "no capabilities" grep -q '^caps: 0000000000000000$' "$TMP/look"
protection "pid namespace" "a pid namespace of its own: the task sees only its own processes" awk '/^processes:/ {exit !($2 < 10)}' "$TMP/look"
protection "no namespaces" "its own hostname (uts namespace)" grep -q '^hostname: pipec$' "$TMP/look"
if [ -n "$SHM" ]; then
	protection "no namespaces" "the host's shared memory segments are not visible (ipc namespace)" grep -q '^ipc: 0$' "$TMP/look"
else
	ok "host IPC: not tried (ipcmk could not make a segment here)"
fi
protection "no namespaces" "/dev holds only the basic devices" grep -q '^dev: fd full null random shm stderr stdin stdout tty urandom zero$' "$TMP/look"

# each task's /tmp, /run and /dev/shm are its own (the run's tasks start from one mount template)
"$PIPEC" run --quiet --state-dir "$S" --format json -j1 tests/sandbox/scratch.pipe > "$TMP/scratch.json" 2> "$TMP/scratch.err"
scratch=$(python3 -c "import json; r = json.load(open('$TMP/scratch.json')); print('|'.join(x.strip().replace(chr(10), ',') for x in r['result']))" 2>/dev/null)
protection "read-only root" "what a task writes to /tmp, /run and /dev/shm the next task does not see; /dev takes no files, /dev/null is writable" \
	[ "$scratch" = "/tmp: written,/run: written,/dev/shm: written,/dev: refused,/dev/null: written|/tmp: unseen,/run: unseen,/dev/shm: unseen,/dev: unseen" ]
[ -e /tmp/pipec-scratch ] && fail "a task's /tmp file is on the host" && rm -f /tmp/pipec-scratch

# the tmpfs are bounded (without a memory limit /tmp 1 GiB, /run and /dev/shm 64 MiB; with one, /tmp and
# /dev/shm that much): 100 MiB written into /dev/shm fails with ENOSPC and leaves 64 MiB.  A root runtime's
# tasks run as an unprivileged uid: /etc/shadow and /root are refused by their permissions.
"$PIPEC" run --quiet --state-dir "$S" --format json tests/sandbox/bounds.pipe > "$TMP/bounds.json" 2> "$TMP/bounds.err"
python3 -c "import json; r = json.load(open('$TMP/bounds.json')); print('|'.join(x.strip().replace(chr(10), ',') for x in r['result']))" > "$TMP/bounds" 2>&1
protection "read-only root" "100 MiB into /dev/shm fails short at 64 MiB; /tmp is 1 GiB, /run and /dev/shm 64 MiB" \
	grep -q '^dd: failed,shm file: 64 MiB,/tmp: 1024 MiB,/run: 64 MiB,/dev/shm: 64 MiB|' "$TMP/bounds"
protection "read-only root" "with a memory limit of 32 MiB, /tmp, /run and /dev/shm hold 32 MiB" grep -q '|32 32 32|' "$TMP/bounds"
if [ "$(id -u)" = 0 ] && [ -z "$partial" ]; then
	grep -q '|uid: 2147418112,shadow: refused,root: refused$' "$TMP/bounds" \
		&& ok "a root runtime's task runs as uid 2147418112 and cannot read /etc/shadow or list /root" \
		|| fail "host files: $(cat "$TMP/bounds" "$TMP/bounds.err")"
fi

# a state directory and an input below a 0700 directory outside /tmp (as /root is): the task reaches them
# (a tmpfs covers that directory, they are put back under it) and sees nothing else in it
if [ "$(id -u)" = 0 ] && [ -z "$partial" ] && [ -d /var/tmp ]; then
	V=$(mktemp -d /var/tmp/pipec-sandbox.XXXXXX)
	mkdir -p "$V/st" "$V/data"; printf 'a\nb\n' > "$V/data/in.txt"; echo secret > "$V/other"
	"$PIPEC" run --quiet --format json --state-dir "$V/st" -p data="$V/data/in.txt" tests/run/lines.pipe > "$TMP/v.json" 2>&1
	grep -q '"result":2' "$TMP/v.json" && ok "a state directory and an input below a 0700 directory are reached" \
		|| fail "0700 parent: $(cat "$TMP/v.json")"
	cat > "$V/st/peek.pipe" <<PIPE
stage peek() -> String {
  run: "ls $V > \${out} 2>&1; cat $V/other >> \${out} 2>&1 || echo refused >> \${out}"
}
pipeline main() -> String {
  return peek()
}
PIPE
	"$PIPEC" run --quiet --format json --state-dir "$V/st" "$V/st/peek.pipe" > "$TMP/peek.json" 2> "$TMP/peek.err"
	python3 -c "import json; r = json.load(open('$TMP/peek.json')); assert r['result'].split(chr(10))[0] == 'st' and 'secret' not in r['result'] and 'refused' in r['result'], r" \
		&& ok "what else is in that 0700 directory the task does not see" || fail "0700 peek: $(cat "$TMP/peek.json" "$TMP/peek.err")"
	rm -rf "$V"
fi

# without the sandbox the same write persists: the checks above can fail
cat > "$TMP/plain.pipe" <<PIPE
stage w() -> (out: File) {
  run: "echo x > $TMP/written-outside && touch \${out}"
}
pipeline main() -> File {
  return w().out
}
PIPE
"$PIPEC" run --quiet --state-dir "$S" "$TMP/plain.pipe" > /dev/null 2>&1
[ ! -e "$TMP/written-outside" ] && ok "in the sandbox a write to the state directory's parent does not persist" || fail "wrote outside"
mkdir -p "$TMP/plain"
"$PIPEC" run --quiet --no-sandbox --state-dir "$TMP/plain" "$TMP/plain.pipe" > /dev/null 2>&1
[ -e "$TMP/written-outside" ] && ok "with --no-sandbox it can" || fail "--no-sandbox did not write"

# what the private /tmp and /dev would hide stays readable when a task needs it:
# a File parameter elsewhere under /tmp, and a state directory under /dev/shm
D=$(mktemp -d /tmp/pipec-sandbox-data.XXXXXX)
mkdir -p "$D/sub"; printf 'a\nb\nc\n' > "$D/sub/in.txt"
# ($D is 0700, as mktemp -d makes it: a task's unprivileged uid reaches its inputs below it all the same)
"$PIPEC" run --quiet --format json --state-dir "$S" -p data="$D/sub/in.txt" tests/run/lines.pipe > "$TMP/lines.json" 2>&1
grep -q '"result":3' "$TMP/lines.json" && ok "a File parameter under /tmp, outside the state directory, is readable in the sandbox" || fail "tmp input: $(cat "$TMP/lines.json")"
rm -rf "$D"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	M=$(mktemp -d /dev/shm/pipec-test.XXXXXX)
	"$PIPEC" run --quiet --format json --state-dir "$M" -p n=5 examples/quickstart.pipe > "$TMP/shm.json" 2>&1
	grep -q '"result":{"lines":5,"words":10}' "$TMP/shm.json" && ok "a state directory under /dev/shm: tasks read their inputs there" || fail "shm: $(cat "$TMP/shm.json")"
	rm -rf "$M"
else
	ok "state directory under /dev/shm: not tried (no writable /dev/shm)"
fi

# many short tasks prepared together, each keeping an input in a folder of its
# own under /tmp and reading, through the kept work tree, what the task before
# it wrote: every one sees both, and none fails to start (the work tree's path
# was once a buffer the loop rewrote for the next task while a spawner's child
# read it: "cannot put back the attempt's directories", or the tree silently
# missing); a kept path that cannot be put back is named in the message
SIB=$(mktemp -d /tmp/pipec-sib.XXXXXX)
python3 - "$SIB" 40 <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for k in range(n):
    os.makedirs("%s-%d" % (d, k), exist_ok=True)
    open("%s-%d/f" % (d, k), "w").write("%d\n" % k)
body = ['stage copy(f: File) -> File {\n  run: "cat ${f} > ${out}"\n}\n',
        'stage show(g: File) -> String {\n  run: "cat ${g} > ${out}"\n}\n',
        'pipeline main(%s) -> List[String] {\n' % ", ".join("f%d: File" % k for k in range(n)),
        '  return [%s]\n}\n' % ", ".join("show(copy(f%d))" % k for k in range(n))]
open(d + "/many.pipe", "w").write("".join(body))
PY
W="$TMP/siblings"; mkdir -p "$W"
params=""
for k in $(seq 0 39); do params="$params -p f$k=$SIB-$k/f"; done
# shellcheck disable=SC2086
"$PIPEC" run --quiet -j2 --format json --state-dir "$W" $params "$SIB/many.pipe" > "$TMP/sib.json" 2> "$TMP/sib.err"; rc=$?
[ $rc -eq 0 ] && python3 -c "
import json, sqlite3
r = json.load(open('$TMP/sib.json'))['result']
assert r == [str(k) for k in range(40)], r
db = sqlite3.connect('$W/.pipec/state.db')
bad = db.execute(\"SELECT task, detail FROM events WHERE detail LIKE '%sandbox:%'\").fetchall()
assert not bad, bad
" && ok "40 sandboxed tasks (-j2), inputs in 40 folders under /tmp and upstream outputs in the work tree: each sees its own, none fails to start" \
	|| fail "siblings: rc $rc $(tail -3 "$TMP/sib.err") $(head -c 600 "$TMP/sib.json")"
rm -rf "$SIB" "$SIB"-*

# memory, pids and timeouts
"$PIPEC" run --progress lines --format json --state-dir "$S" tests/sandbox/limits.pipe > "$TMP/limits.json" 2> "$TMP/limits.err"; rc=$?
sleep 0.2
if [ -n "$partial" ] && echo "$partial" | grep -q "memory limits by rlimit"; then
	grep -q "failed     hog: " "$TMP/limits.err" && ok "memory limited by rlimit, as the run said" || fail "memory (rlimit): $(cat "$TMP/limits.err")"
else
	grep -q "^failed     hog: stage 'hog' (tests/sandbox/limits.pipe:[0-9]*:[0-9]*) ran out of memory: its limit is 64.0 MiB (resources: memory)$" "$TMP/limits.err" \
		&& ok "the memory limit is enforced and reported as out of memory" || fail "memory: $(cat "$TMP/limits.err")"
fi
n=$(python3 -c "import json; print(json.load(open('$TMP/limits.json'))['result'])")
if [ -n "$partial" ] && echo "$partial" | grep -q "pids limits by rlimit"; then
	ok "pids limited by rlimit only, as the run said ($n forks got through)"
else
	[ "$n" -gt 0 ] && [ "$n" -lt 16 ] && ok "the pids limit (16) holds: $n of 60 forks got through" || fail "pids: $n forks, $(cat "$TMP/limits.err")"
fi
grep -q "^failed     runaway: .* ran past its timeout$" "$TMP/limits.err" && ! ps -eo args | grep -q '^sleep 314[12]$' \
	&& ok "a timeout kills the task and everything it started" || fail "timeout: $(ps -eo args | grep 'sleep 314')"
[ $rc -eq 1 ] || fail "limits run: rc $rc"

# out of memory after a checkpoint: paused, and on from the checkpoint (not a retry)
G="$TMP/grow"
mkdir -p "$G"
"$PIPEC" run --progress lines --format json --state-dir "$G" tests/sandbox/grow.pipe > "$TMP/grow.json" 2> "$TMP/grow.err"; rc=$?
if [ -n "$partial" ] && echo "$partial" | grep -q "memory limits by rlimit"; then
	ok "paused on out of memory: not tried (memory limited by rlimit here, as the run said)"
else
	[ $rc -eq 0 ] && grep -q "^paused     grow: stage 'grow' (tests/sandbox/grow.pipe:[0-9]*:[0-9]*) ran out of memory: its limit is 64.0 MiB (resources: memory); it goes on from its checkpoint$" "$TMP/grow.err" \
		&& python3 -c "import json; r = json.load(open('$TMP/grow.json')); assert r['result'] == 'from 3 to 5', r" \
		&& python3 -c "
import sqlite3; db = sqlite3.connect('$G/.pipec/state.db')
ev = [(a, f, t) for a, f, t in db.execute(\"SELECT attempt, from_state, to_state FROM events WHERE task = 'grow' ORDER BY seq\")]
assert (1, 'running', 'paused') in ev and (1, 'paused', 'ready') in ev and (2, 'running', 'succeeded') in ev, ev
" && ok "out of memory after a checkpoint: paused, then on from the checkpoint (from 3 to 5)" || fail "paused: rc $rc $(cat "$TMP/grow.err" "$TMP/grow.json")"
fi

# a sandboxed run whose runtime is killed resumes: its running tasks are adopted or retried
R="$TMP/resume"
mkdir -p "$R"
cat > "$TMP/slow.pipe" <<'PIPE'
stage slow(i: Int) -> (out: Int) {
  run: "sleep 1; echo ${i} > ${out}"
}
pipeline main() -> List[Int] {
  return [slow(1).out, slow(2).out, slow(3).out]
}
PIPE
"$PIPEC" run --quiet -j 2 --state-dir "$R" "$TMP/slow.pipe" > /dev/null 2>&1 &
sleep 0.5
kill -9 $!
wait $! 2>/dev/null
"$PIPEC" resume --quiet --format json --state-dir "$R" > "$TMP/resume.json" 2> "$TMP/resume.err"; rc=$?
[ $rc -eq 0 ] && grep -q '"result":\[1,2,3\]' "$TMP/resume.json" && ok "a sandboxed run killed mid-way resumes and completes" \
	|| fail "resume: rc $rc $(cat "$TMP/resume.json" "$TMP/resume.err")"
# ... leaving no cgroup of what the runtime that died had started or started ahead
rleft=$(cgroups_left "$R")
[ -z "$rleft" ] && ok "after the resume no cgroup of the run is left" || fail "cgroups left after the resume: $rleft"

# a sandboxed run cancelled while tasks run and others wait, started ahead,
# for a place: every task ends succeeded or cancelled, no task process and
# no attempt's cgroup is left behind
C="$TMP/cancel"
mkdir -p "$C/.pipec"
python3 - "$C/many.pipe" <<'PY'
import sys
n = 30
body = ['stage s(i: Int) -> (out: Int) {\n  run: "sleep 0.3; echo pipec-cancel-probe ${i} > /dev/null; echo ${i} > ${out}"\n}\n',
        'pipeline main() -> List[Int] {\n']
body += ['  let t%d = s(%d)\n' % (k, k) for k in range(n)]
body += ['  return [' + ', '.join('t%d.out' % k for k in range(n)) + ']\n}\n']
open(sys.argv[1], 'w').write(''.join(body))
PY
"$PIPEC" run -j 2 --progress lines --format json --state-dir "$C" "$C/many.pipe" > "$C/out.json" 2> "$C/err" &
cpid=$!
sleep 1.2
kill -INT $cpid
wait $cpid; rc=$?
sleep 0.3
left=$(cgroups_left "$C")
[ $rc -eq 1 ] && grep -q '"status": *"cancelled"' "$C/out.json" && [ -z "$left" ] \
	&& ! pgrep -f 'sleep 0.3; echo pipec-cancel-probe' > /dev/null \
	&& python3 -c "
import sqlite3; db = sqlite3.connect('$C/.pipec/state.db')
st = dict(db.execute('SELECT state, count(*) FROM tasks GROUP BY state').fetchall())
assert set(st) <= {'succeeded', 'cancelled'} and st.get('cancelled', 0) > 0 and sum(st.values()) == 30, st
" && ok "a cancelled sandboxed run: every task succeeded or cancelled, no process or cgroup left" \
	|| fail "cancel: rc $rc, cgroups left: $left $(cat "$C/out.json" "$C/err" | tail -5)"

# a checkpointing stage in the sandbox, killed with its runtime, resumes from its checkpoint
K="$TMP/ckpt"
mkdir -p "$K"
# killed once it has written a checkpoint (however loaded the machine), not after a fixed time
"$PIPEC" run --quiet --state-dir "$K" tests/sandbox/checkpoint.pipe > /dev/null 2>&1 &
kpid=$!
for _ in $(seq 150); do
	ls "$K"/.pipec/checkpoints/*/step > /dev/null 2>&1 && break
	sleep 0.1
done
kill -9 $kpid 2>/dev/null
wait $kpid 2>/dev/null
pkill -9 -f sandbox-checkpoint-probe
sleep 0.3
"$PIPEC" resume --quiet --format json --state-dir "$K" > "$TMP/ck.json" 2> "$TMP/ck.err"; rc=$?
[ $rc -eq 0 ] && python3 -c "
import json; r = json.load(open('$TMP/ck.json'))['result'].split()
assert r[0] == 'from' and 0 < int(r[1]) < 10 and r[3] == '10', r
" && ok "a checkpointing stage killed mid-way in the sandbox resumes from its newest checkpoint" || fail "sandbox checkpoint: rc $rc $(cat "$TMP/ck.json" "$TMP/ck.err")"
# ... and the cgroup of the attempt that died with its runtime is gone with the rest
kleft=$(cgroups_left "$K")
[ -z "$kleft" ] && ok "no cgroup is left of the attempt that died with its runtime" || fail "cgroups left after resume: $kleft"

# where the host cannot give a protection, the run says which, once: an
# unprivileged user may not create cgroups here
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	U="$TMP/user"
	mkdir -p "$U"
	chmod 777 "$U"
	cp examples/quickstart.pipe "$U/q.pipe"
	chmod 755 "$TMP"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PIPEC" run --state-dir "$U" --progress lines -p n=10 "$U/q.pipe" > "$U/out" 2> "$U/err"; rc=$?
	[ $rc -eq 0 ] && [ "$(grep -c 'the sandbox here is partial' "$U/err")" = 1 ] && grep -q 'memory limits by rlimit only (cannot create a cgroup' "$U/err" \
		&& grep -q '"lines":10' "$U/out" \
		&& ok "a partial sandbox is said once, naming what is missing, and the run goes on" || fail "partial: rc $rc $(cat "$U/err")"
else
	ok "partial sandbox: not tried (needs root to become an unprivileged user)"
fi
finish
