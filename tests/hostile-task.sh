#!/bin/sh
# Hostile tasks: what a task leaves behind is read by the runtime with the
# host's rights, so each attack here is a .pipe in tests/hostile/ with its
# expected verdict as data in its header:
#   # attack: what it tries
#   # setup:  a shell command run first ($TMP, $SECRET)
#   # params: pipec run's -p options ($TMP, $SECRET)
#   # modes:  no-sandbox (only) -- default: without the sandbox, in it, and
#             without it on a "kernel" with no openat2 (walk: LD_PRELOAD of
#             $NO_OPENAT2, tests/hostile/no-openat2.c, where it was built)
#   # expect: succeeded | failed   (the run's end; never a crash or a hang)
#   # says:   a text the run's stderr holds (any number of lines)
# Every run must end within its time (a hang fails), without a signal (a
# crash fails), and the secret -- a file outside the state directory, and a
# marker in the runtime's own environment -- must appear nowhere: not in the
# result, the messages, nor the store.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
MARK="pipec-secret-$$-$(date +%s)"
mkdir -p "$TMP/secret"
SECRET="$TMP/secret/key"
echo "$MARK" > "$SECRET"
export PIPEC_HOSTILE_MARK="$MARK"
LIMIT=${HOSTILE_LIMIT:-30}

header() { sed -n "s/^# $1: //p" "$2"; }

# verdict CASE MODE: runs tests/hostile/CASE.pipe (MODE: sandbox or no-sandbox) and checks its header's verdict
verdict() {
	p=$1; mode=$2; name="$(basename "$p" .pipe) ($mode)"
	S="$TMP/state-$(basename "$p" .pipe)-$mode"
	rm -rf "$S"; mkdir -p "$S"
	setup=$(header setup "$p"); [ -n "$setup" ] && eval "$setup"
	params=$(eval "echo $(header params "$p")")
	flag=; [ "$mode" != sandbox ] && flag=--no-sandbox
	# (a sanitized pipec: the preload comes before ASan's runtime, which it is told to allow)
	pre=; [ "$mode" = walk ] && pre="LD_PRELOAD=$NO_OPENAT2 NO_OPENAT2_SEEN=$TMP/walked ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0"
	# shellcheck disable=SC2086
	env $pre timeout -s KILL $LIMIT "$PIPEC" run --state-dir "$S" $flag --format json $params "$p" > "$TMP/out" 2> "$TMP/err"; rc=$?
	want=$(header expect "$p")
	if [ $rc -eq 137 ]; then fail "$name: still running after ${LIMIT}s (a hang)"; return; fi
	if [ $rc -gt 128 ]; then fail "$name: the runtime died of signal $((rc - 128))"; return; fi
	status=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['status'])" "$TMP/out" 2>/dev/null)
	wantrc=1; [ "$want" = succeeded ] && wantrc=0
	if [ "$status" = "$want" ] && [ $rc -eq $wantrc ]; then
		ok "$name: $want"
	else
		fail "$name: $status (exit $rc), wanted $want: $(tail -3 "$TMP/err")"
		return
	fi
	header says "$p" | while IFS= read -r says; do
		grep -qF -- "$says" "$TMP/err" || echo "$says"
	done > "$TMP/unsaid"
	if [ -s "$TMP/unsaid" ]; then
		fail "$name: does not say '$(cat "$TMP/unsaid")': $(tail -3 "$TMP/err")"
	elif [ -n "$(header says "$p")" ]; then
		ok "$name: says why"
	fi
	if cat "$TMP/out" "$TMP/err" "$S"/.pipec/state.db* 2>/dev/null | grep -qaF "$MARK"; then
		fail "$name: the secret reached the result, the messages or the store"
	else
		ok "$name: the secret is nowhere"
	fi
}

for p in tests/hostile/*.pipe; do
	modes=$(header modes "$p"); [ -z "$modes" ] && modes="no-sandbox sandbox walk"
	for m in $modes; do
		case $m in
		sandbox | no-sandbox) verdict "$p" "$m" ;;
		walk) [ -f "${NO_OPENAT2:-}" ] && verdict "$p" "$m" ;;
		esac
	done
done
if [ -f "${NO_OPENAT2:-}" ]; then
	[ -e "$TMP/walked" ] && ok "walk: openat2 answered ENOSYS, and outputs were read by the O_NOFOLLOW walk" \
		|| fail "walk: $NO_OPENAT2 never refused an openat2: the walk was not tested"
fi

# A File parameter that is a FIFO by the time its plan runs: its task fails, nothing waits for a writer.
S="$TMP/state-fifo-param"; mkdir -p "$S"
echo x > "$TMP/param"
"$PIPEC" build -p f="$TMP/param" tests/hostile/fifo-param.pipe -o "$TMP/fifo-param.json" 2> "$TMP/err" || fail "fifo-param: build: $(cat "$TMP/err")"
rm -f "$TMP/param"; mkfifo "$TMP/param"
timeout -s KILL $LIMIT "$PIPEC" run --state-dir "$S" "$TMP/fifo-param.json" > /dev/null 2> "$TMP/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "input 'f': .*param is a FIFO, not a regular file or a directory" "$TMP/err"; then
	ok "fifo-param: a File input that is a FIFO fails its task"
else
	fail "fifo-param: exit $rc (137: a hang): $(tail -2 "$TMP/err")"
fi

# A plan whose output is named ../../../secret: refused (by the plan's checks, or when read), never read.
"$PIPEC" build -p secret="$SECRET" tests/hostile/link-secret.pipe -o "$TMP/evil.json" 2> "$TMP/err" || fail "evil plan: build: $(cat "$TMP/err")"
python3 - "$TMP/evil.json" "$SECRET" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
name = "../../../../../../../../../../../.." + sys.argv[2]
t = p["tasks"][0]
t["command"] = ["true"]
t["outputs"] = {name: t["outputs"]["report"]}
p["result"] = {"ref": t["id"], "output": name}
json.dump(p, open(sys.argv[1], "w"))
PY
S="$TMP/state-evil"; mkdir -p "$S"
timeout -s KILL $LIMIT "$PIPEC" run --state-dir "$S" --no-sandbox "$TMP/evil.json" > "$TMP/out" 2> "$TMP/err"; rc=$?
if [ $rc -ne 0 ] && [ $rc -lt 128 ] && ! cat "$TMP/out" "$TMP/err" "$S"/.pipec/state.db* 2>/dev/null | grep -qaF "$MARK"; then
	ok "evil plan: an output named ../../secret is refused (exit $rc), the secret nowhere"
else
	fail "evil plan: exit $rc: $(cat "$TMP/out") $(tail -2 "$TMP/err")"
fi

# SIGTERM while a 64 GiB output is hashed: the run is cancelled within seconds, not after the hash.
S="$TMP/state-huge"; mkdir -p "$S"
"$PIPEC" run --state-dir "$S" --no-sandbox --format json tests/hostile/huge-output.pipe > "$TMP/out" 2> "$TMP/err" &
pid=$!
for _ in $(seq 100); do [ -e "$S/.pipec/work/1/t@1/out" ] && break; sleep 0.1; done
sleep 1
kill -TERM $pid
( sleep 15; kill -KILL $pid 2>/dev/null ) &
watchdog=$!
start=$(date +%s); wait $pid; rc=$?; took=$(($(date +%s) - start))
kill $watchdog 2>/dev/null; wait $watchdog 2>/dev/null
if [ $rc -eq 1 ] && grep -q '"status": *"cancelled"' "$TMP/out" && [ $took -le 10 ]; then
	ok "huge-output: SIGTERM while it is hashed cancels the run in ${took}s"
else
	fail "huge-output: exit $rc after ${took}s (137: still hashing after 15s): $(cat "$TMP/out") $(tail -2 "$TMP/err")"
fi
finish
