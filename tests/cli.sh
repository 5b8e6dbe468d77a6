#!/bin/sh
# The pipec command line: help, version, exit statuses, formats, input.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
good=examples/quickstart.pipe
bad=tests/golden/E0201-directive-colon.pipe

expect_rc 0 "pipec --help" "$PIPEC" --help
"$PIPEC" --help | grep -q '^  check FILE' && ok "--help lists check" || fail "--help does not list check"
"$PIPEC" --help | grep -q '^  fmt FILE' && ok "--help lists fmt" || fail "--help does not list fmt"
for c in check fmt; do
	expect_rc 0 "pipec $c --help" "$PIPEC" $c --help
	"$PIPEC" $c --help | grep -q "^usage: pipec $c" && ok "$c --help shows its usage" || fail "$c --help"
	"$PIPEC" help $c | grep -q "^usage: pipec $c" && ok "help $c" || fail "help $c"
done
[ "$("$PIPEC" --version)" = "pipec 0.1.0" ] && ok "--version" || fail "--version printed '$("$PIPEC" --version)'"
expect_rc 2 "no command" "$PIPEC"
expect_rc 2 "unknown command" "$PIPEC" frobnicate
"$PIPEC" frobnicate 2>&1 | grep -q "no command 'frobnicate'" && ok "unknown command is named" || fail "unknown command message"
expect_rc 2 "unknown option" "$PIPEC" check --bogus $good
expect_rc 2 "check without files" "$PIPEC" check
expect_rc 2 "unknown format" "$PIPEC" check --format xml $good
"$PIPEC" check --format xml $good 2>&1 | grep -q "unknown --format 'xml'" && ok "bad --format is named" || fail "bad --format message"
expect_rc 2 "missing file" "$PIPEC" check does-not-exist.pipe
"$PIPEC" check does-not-exist.pipe 2>&1 | grep -q "cannot read 'does-not-exist.pipe': No such file" \
	&& ok "missing file is named with the reason" || fail "missing file message"
expect_rc 2 "a directory is not a file" "$PIPEC" check examples

expect_rc 0 "check a clean file" "$PIPEC" check $good
out=$("$PIPEC" check $good 2>&1); [ -z "$out" ] && ok "a clean check prints nothing" || fail "clean check printed: $out"
expect_rc 1 "check a file with an error" "$PIPEC" check $bad
expect_rc 1 "one bad file among good ones" "$PIPEC" check $good $bad $good
"$PIPEC" check $good $bad 2>&1 | grep -q '^pipec: 1 error$' && ok "the error count closes human output" || fail "error count line"
expect_rc 0 "check from standard input" sh -c "'$PIPEC' check - < $good"
printf 'stage s( {\n' | "$PIPEC" check - 2>&1 | grep -q '^<stdin>:1:' && ok "stdin errors are located in <stdin>" || fail "stdin location"

# colour: never by default off a terminal, on request, and not with NO_COLOR... on request wins
"$PIPEC" check $bad 2>&1 | grep -q "$(printf '\033')" && fail "colour off a terminal" || ok "no colour off a terminal"
"$PIPEC" check --color always $bad 2>&1 | grep -q "$(printf '\033\\[1;31m')error" && ok "--color always" || fail "--color always"
expect_rc 2 "bad --color" "$PIPEC" check --color sometimes $good

# json: one object per line with the documented fields
"$PIPEC" check --format json tests/golden/E0201-multiple.pipe > "$TMP/out.json"; rc=$?
[ "$rc" -eq 1 ] && ok "json exits 1 on errors" || fail "json exit $rc"
[ "$(wc -l < "$TMP/out.json")" -eq 2 ] && ok "json: one line per diagnostic" || fail "json line count"
grep -q '^{"severity":"error","code":"E0201","file":"tests/golden/E0201-multiple.pipe","line":2,"column":13,"end_line":2,"end_column":14,"message":"expected ' "$TMP/out.json" \
	&& ok "json fields in order" || fail "json fields: $(head -1 "$TMP/out.json")"

# github workflow commands
"$PIPEC" check --format github tests/golden/E0201-multiple.pipe > "$TMP/gh.txt"
if grep -Eq '^::error file=tests/golden/E0201-multiple\.pipe,line=[0-9]+,col=[0-9]+,endLine=[0-9]+,endColumn=[0-9]+,title=E0201::[^:]' "$TMP/gh.txt" \
	&& [ "$(grep -vc '^::error file=' "$TMP/gh.txt")" -eq 0 ]; then ok "github format is workflow commands"
else fail "github format: $(cat "$TMP/gh.txt")"; fi
printf 'stage s() -> File {\n  run: "a \\q, b: %%"\n}\n' > "$TMP/esc,a:b.pipe"
"$PIPEC" check --format github "$TMP/esc,a:b.pipe" | grep -q 'esc%2Ca%3Ab.pipe,line=2' && ok "github escapes ',' and ':' in properties" \
	|| fail "github property escaping: $("$PIPEC" check --format github "$TMP/esc,a:b.pipe")"
"$PIPEC" check --format github tests/golden/E0106-unknown-escape.pipe | grep -q '%0Anote: ' && ok "github puts notes on escaped new lines" || fail "github notes"
# profiles
expect_rc 2 "a missing pipec.yaml" "$PIPEC" check --profile laptop --config "$TMP/none.yaml" $good
"$PIPEC" check --profile laptop --config "$TMP/none.yaml" $good 2>&1 | grep -q "cannot read '$TMP/none.yaml'" \
	&& ok "the missing pipec.yaml is named" || fail "missing pipec.yaml message"
expect_rc 2 "--config without --profile" "$PIPEC" check --config tests/golden/profiles/pipec.yaml $good
expect_rc 0 "a stage that fits the profile" "$PIPEC" check --profile cluster --config tests/golden/profiles/pipec.yaml $good
(cd tests/golden/profiles && "$PIPEC" check --profile laptop ../E0501-infeasible.pipe >/dev/null 2>&1); rc=$?
[ "$rc" -eq 1 ] && ok "./pipec.yaml is found in the current directory" || fail "./pipec.yaml not used (exit $rc)"
finish
