#!/bin/sh
# The sandbox escape table: each tests/escape/NAME.pipe is one attempt a
# hostile task makes (read /etc/shadow, list /root, write outside its
# directory, reach the network, see the host's processes, fill /tmp or
# /dev/shm past its size, mount, ...), and its first comment lines are the
# verdict expected, as data:
#     # expect: fail            the run fails (the attempt was refused)
#     # expect: result TEXT     the run succeeds and its result is TEXT
#     # needs: root             checked only where pipec runs as root
#     # absent: PATH            PATH is not on the host after the run
# Where the host cannot give the sandbox (no namespaces), the attempts are
# not checked and the test is skipped.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir/tests/escape" || exit 2
S="$TMP/state"
mkdir -p "$S"
for f in *.pipe; do
	name=${f%.pipe}
	expect=$(sed -n 's/^# expect: //p' "$f" | head -1)
	absent=$(sed -n 's/^# absent: //p' "$f")
	if grep -q '^# needs: root' "$f" && [ "$(id -u)" != 0 ]; then
		ok "$name: skipped (needs root)"
		continue
	fi
	"$PIPEC" run --quiet --format json --state-dir "$S" "$f" > "$TMP/$name.json" 2> "$TMP/$name.err"; rc=$?
	if grep -q 'no namespaces' "$TMP/$name.err"; then
		echo "# the sandbox is not available here: $(cat "$TMP/$name.err")"
		exit 77
	fi
	got=$(python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
res = r.get('result')
print(r['status'] + ' ' + (res.strip() if isinstance(res, str) else json.dumps(res)))" "$TMP/$name.json" 2>/dev/null)
	case $expect in
	fail) want="failed null" ;;
	"result "*) want="succeeded ${expect#result }" ;;
	*) fail "$name: no '# expect:' line"; continue ;;
	esac
	if [ "$got" = "$want" ]; then ok "$name: $expect"; else fail "$name: got '$got' (exit $rc), wanted '$want': $(head -c 300 "$TMP/$name.err")"; fi
	for p in $absent; do
		if [ -e "$p" ]; then fail "$name: $p is on the host"; rm -rf "$p"; else ok "$name: $p is not on the host"; fi
	done
done
finish
