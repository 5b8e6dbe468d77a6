#!/bin/sh
# Hostile input to the driver (issue 12): files pipec writes keep what they
# are (a device, a link, a mode) and leave nothing behind; files it reads
# must be regular and bounded (a FIFO would hang it, /dev/zero fill the
# memory); a run that is not there cannot be cancelled.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
good=$top_srcdir/examples/quickstart.pipe
# errors_are FILE LINE: FILE (a command's standard error) is exactly LINE
errors_are() { [ "$(cat "$1")" = "$2" ]; }

# ---- writing: build -o, fmt -w --------------------------------------------------
W="$TMP/w"; mkdir -p "$W"

# a device is written in place, never replaced (as root, -o /dev/null made the
# system's /dev/null a 0600 regular file); a private node stands in for /dev/null
if mknod "$W/null" c 1 3 2>/dev/null && echo probe > "$W/null" 2>/dev/null; then
	"$PIPEC" build "$good" -o "$W/null"; rc=$?
	[ "$rc" -eq 0 ] && [ -c "$W/null" ] && ok "build -o a character device: still one (exit $rc)" \
		|| fail "build -o a character device: exit $rc, now $(stat -c %F "$W/null")"
	rm -f "$W/null"
else
	rm -f "$W/null"
	"$PIPEC" build "$good" -o /dev/null; rc=$?
	[ "$rc" -eq 0 ] && [ -c /dev/null ] && ok "build -o /dev/null: still a character device" || fail "build -o /dev/null: exit $rc"
fi

# a FIFO is written in place too: a reader gets the plan, the FIFO stays
mkfifo "$W/fifo.json"
cat "$W/fifo.json" > "$W/from-fifo" &
reader=$!
timeout 20 "$PIPEC" build "$good" -o "$W/fifo.json"; rc=$?
[ "$rc" -eq 0 ] && [ -p "$W/fifo.json" ] || kill $reader 2>/dev/null # else it waits for a writer for ever
wait $reader
"$PIPEC" build "$good" > "$W/expected.json"
[ "$rc" -eq 0 ] && [ -p "$W/fifo.json" ] && cmp -s "$W/from-fifo" "$W/expected.json" \
	&& ok "build -o a FIFO: the reader gets the plan, the FIFO stays" || fail "build -o a FIFO: exit $rc"
rm -f "$W/fifo.json" "$W/from-fifo"

# to a pipe (standard output not seekable: the plan is hashed first, then
# written): the same plan, and nothing leaked (256 KiB were, under LeakSanitizer)
{ ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1" "$PIPEC" build "$good" 2> "$W/pipe.err"; echo $? > "$W/pipe.rc"; } | cat > "$W/from-pipe"
rc=$(cat "$W/pipe.rc")
[ "$rc" -eq 0 ] && cmp -s "$W/from-pipe" "$W/expected.json" && [ ! -s "$W/pipe.err" ] \
	&& ok "build | cat: the plan, nothing leaked" || fail "build | cat: exit $rc: $(head -3 "$W/pipe.err")"
rm -f "$W/from-pipe" "$W/pipe.err" "$W/pipe.rc"

# through a symbolic link: the link stays, its target gets the plan, with its mode
echo old > "$W/real.json"; chmod 0640 "$W/real.json"
ln -s real.json "$W/link.json"
"$PIPEC" build "$good" -o "$W/link.json"; rc=$?
[ "$rc" -eq 0 ] && [ -L "$W/link.json" ] && [ "$(readlink "$W/link.json")" = real.json ] \
	&& cmp -s "$W/real.json" "$W/expected.json" && ok "build -o a link: the link stays, its target has the plan" \
	|| fail "build -o a link: exit $rc, $(ls -l "$W/link.json")"
[ "$(stat -c %a "$W/real.json")" = 640 ] && ok "build -o keeps the file's mode (0640)" || fail "mode now $(stat -c %a "$W/real.json")"
# a link to a file not there yet makes the file (0666 less the umask), the link stays
ln -s new.json "$W/dangling.json"
(umask 022 && "$PIPEC" build "$good" -o "$W/dangling.json"); rc=$?
[ "$rc" -eq 0 ] && [ -L "$W/dangling.json" ] && cmp -s "$W/new.json" "$W/expected.json" \
	&& [ "$(stat -c %a "$W/new.json")" = 644 ] && ok "build -o a dangling link makes its target (0644 under umask 022)" \
	|| fail "build -o a dangling link: exit $rc"
ln -s loop-b "$W/loop-a"; ln -s loop-a "$W/loop-b"
"$PIPEC" build "$good" -o "$W/loop-a" 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: cannot write '$W/loop-a': Too many levels of symbolic links" \
	&& ok "build -o a link loop: one line, exit 2" || fail "build -o a link loop: exit $rc: $(cat "$TMP/err")"
mkdir "$W/dir"
"$PIPEC" build "$good" -o "$W/dir" 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && [ -d "$W/dir" ] && errors_are "$TMP/err" "pipec: cannot write '$W/dir': Is a directory" \
	&& ok "build -o a directory: refused" || fail "build -o a directory: exit $rc: $(cat "$TMP/err")"

# fmt -w through a link: the link stays, the real file is formatted, its mode kept
printf 'stage  s( )->Int{run:"echo 1"}\n' > "$W/real.pipe"; chmod 0640 "$W/real.pipe"
ln -s real.pipe "$W/linked.pipe"
"$PIPEC" fmt -w "$W/linked.pipe"; rc=$?
[ "$rc" -eq 0 ] && [ -L "$W/linked.pipe" ] && "$PIPEC" fmt --check "$W/real.pipe" > /dev/null \
	&& ok "fmt -w a link: the link stays, its target is formatted" || fail "fmt -w a link: exit $rc, $(ls -l "$W/linked.pipe")"
[ "$(stat -c %a "$W/real.pipe")" = 640 ] && ok "fmt -w keeps the file's mode (0640)" || fail "fmt -w mode now $(stat -c %a "$W/real.pipe")"

# nothing left behind: no temporary file beside any of them
left=$(cd "$W" && ls -A | tr '\n' ' ')
[ "$left" = "dangling.json dir expected.json link.json linked.pipe loop-a loop-b new.json real.json real.pipe " ] \
	&& ok "no temporary files left" || fail "left in the directory: $left"

# ---- reading: .pipe files, plans, resources files, pipec.yaml ---------------------
R="$TMP/r"; mkdir -p "$R"
mkfifo "$R/fifo.pipe" "$R/plan.json" "$R/nodes.yaml" "$R/pipec.yaml"
for cmd in check build graph fmt run; do
	timeout 20 "$PIPEC" $cmd "$R/fifo.pipe" > /dev/null 2> "$TMP/err"; rc=$?
	[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: cannot read '$R/fifo.pipe': not a regular file (a FIFO)" \
		&& ok "$cmd of a FIFO: refused at once, naming it" || fail "$cmd of a FIFO: exit $rc: $(cat "$TMP/err")"
done
timeout 20 "$PIPEC" run --state-dir "$R" /dev/zero > /dev/null 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: cannot read '/dev/zero': not a regular file (a character device)" \
	&& ok "run /dev/zero: refused, naming it" || fail "run /dev/zero: exit $rc: $(head -c 300 "$TMP/err")"
timeout 20 "$PIPEC" run --state-dir "$R" "$R/plan.json" > /dev/null 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: cannot read '$R/plan.json': not a regular file (a FIFO)" \
	&& ok "run of a FIFO plan: refused" || fail "run of a FIFO plan: exit $rc: $(cat "$TMP/err")"
timeout 20 "$PIPEC" check "$R" > /dev/null 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: cannot read '$R': Is a directory" \
	&& ok "check of a directory: refused" || fail "check of a directory: exit $rc: $(cat "$TMP/err")"

# bounded: a .pipe file over 64 MiB (sparse here), and as much on standard input
truncate -s 65M "$R/big.pipe"
timeout 20 "$PIPEC" check "$R/big.pipe" 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: cannot read '$R/big.pipe': larger than 64 MiB" \
	&& ok "a .pipe file over 64 MiB: refused" || fail "big .pipe: exit $rc: $(cat "$TMP/err")"
head -c 70000000 /dev/zero | timeout 20 "$PIPEC" check - 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: cannot read '-': larger than 64 MiB" \
	&& ok "over 64 MiB on standard input: refused" || fail "big stdin: exit $rc: $(cat "$TMP/err")"
rm -f "$R/big.pipe"

# --resources: not regular, or empty, is one line (--resources /dev/null said nothing)
for res in /dev/null "$R/nodes.yaml"; do
	kind="a character device"; [ -p "$res" ] && kind="a FIFO"
	timeout 20 "$PIPEC" run --state-dir "$R" --resources "$res" "$good" > /dev/null 2> "$TMP/err"; rc=$?
	[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: cannot read the resources file '$res': not a regular file ($kind)" \
		&& ok "--resources $res: refused with a message" || fail "--resources $res: exit $rc: $(cat "$TMP/err")"
done
printf '# nothing but a comment\n' > "$R/empty.yaml"
"$PIPEC" run --state-dir "$R" --resources "$R/empty.yaml" "$good" > /dev/null 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: the resources file '$R/empty.yaml' is empty: it needs nodes: [...]" \
	&& ok "an empty resources file: one line" || fail "empty resources: exit $rc: $(cat "$TMP/err")"
# pipec.yaml (--profile): a FIFO is refused, an empty one said to be (check exited 0 and ignored the profile)
timeout 20 "$PIPEC" check --profile p --config "$R/pipec.yaml" "$good" 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: cannot read '$R/pipec.yaml': not a regular file (a FIFO)" \
	&& ok "check --config a FIFO: refused" || fail "--config FIFO: exit $rc: $(cat "$TMP/err")"
"$PIPEC" check --profile p --config "$R/empty.yaml" "$good" 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: '$R/empty.yaml' is empty: it needs profiles: { NAME: {...} }" \
	&& ok "check --config an empty file: one line, exit 2" || fail "--config empty: exit $rc: $(cat "$TMP/err")"
timeout 20 "$PIPEC" build --profile p --config "$R/pipec.yaml" "$good" > /dev/null 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec: cannot read '$R/pipec.yaml': not a regular file (a FIFO)" \
	&& ok "build --config a FIFO: refused" || fail "build --config FIFO: exit $rc: $(cat "$TMP/err")"

# ---- cancel: a run the store does not have ------------------------------------
S="$TMP/s"
"$PIPEC" run --no-sandbox --quiet --state-dir "$S" "$good" > /dev/null 2>&1
"$PIPEC" cancel 999 --state-dir "$S" 2> "$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && errors_are "$TMP/err" "pipec cancel: no run 999 in $S" \
	&& ok "cancel of a run that is not there: exit 2, named" || fail "cancel 999: exit $rc: $(cat "$TMP/err")"
finish
