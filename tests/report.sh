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
finish
