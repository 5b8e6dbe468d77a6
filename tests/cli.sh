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

# usage errors: two lines on standard error (the problem, then where help is), nothing on standard
# output, exit 2 -- never the whole help text.  Each case: the arguments | the first line.
while IFS='|' read -r args want; do
	cmd=${args%% *}
	case "$cmd" in -*|frob*|help|"") hint="Try 'pipec --help'." ;; *) hint="Try 'pipec $cmd --help'." ;; esac
	# shellcheck disable=SC2086
	"$PIPEC" $args > "$TMP/u.out" 2> "$TMP/u.err" < /dev/null; rc=$?
	if [ "$rc" -eq 2 ] && [ ! -s "$TMP/u.out" ] && [ "$(cat "$TMP/u.err")" = "$(printf '%s\n%s' "$want" "$hint")" ]; then
		ok "usage error: pipec $args"
	else
		fail "usage error: pipec $args: exit $rc, stderr: $(head -3 "$TMP/u.err")"
	fi
done <<'CASES'
|pipec: a command is needed
frobnicate|pipec: no command 'frobnicate'
--frob|pipec: unknown option '--frob'
help frob|pipec: no command 'frob'
check|pipec check: give at least one FILE
check --bogus examples/quickstart.pipe|pipec check: unknown option '--bogus'
check --format|pipec check: option '--format' needs an argument
check --format xml examples/quickstart.pipe|pipec check: unknown --format 'xml' (expected human, json, sarif or github)
check --color sometimes examples/quickstart.pipe|pipec check: unknown --color 'sometimes' (expected auto, always or never)
check --strict=yes examples/quickstart.pipe|pipec check: option '--strict' takes no argument
fmt -wx examples/quickstart.pipe|pipec fmt: unknown option '-x'
fmt --check -w examples/quickstart.pipe|pipec fmt: --check and --write exclude each other
build|pipec build: give one FILE
build examples/quickstart.pipe -o|pipec build: option '-o' needs an argument
graph examples/quickstart.pipe --format png|pipec graph: unknown --format 'png' (expected dot or mermaid)
graph -o x.json examples/quickstart.pipe|pipec graph: unknown option '-o'
run --frob examples/quickstart.pipe|pipec run: unknown option '--frob'
run -j|pipec run: option '-j' needs an argument
run -j 0 examples/quickstart.pipe|pipec run: -j '0': give a number of tasks from 1 to 4096
run --progress sometimes examples/quickstart.pipe|pipec run: unknown --progress 'sometimes' (expected auto, live or lines)
run --st x examples/quickstart.pipe|pipec run: option '--st' is ambiguous: give more of its name
run|pipec run: give one FILE.pipe or PLAN
resume 0|pipec resume: '0' is not a run number
show --run|pipec show: option '--run' needs an argument
show 1 2|pipec show: unexpected argument '2'
why|pipec why: give a TASK
lineage|pipec lineage: give an output PATH or a TASK
cancel --format xml|pipec cancel: unknown --format 'xml' (expected json)
CASES

# --state-dir: made (with its parents, mode 0777 less the umask) when missing; a file is a one-line error
(umask 027 && "$PIPEC" run --no-sandbox --quiet --state-dir "$TMP/sd/a/b" $good > /dev/null 2>&1); rc=$?
[ "$rc" -eq 0 ] && [ -d "$TMP/sd/a/b/.pipec" ] && ok "run makes a missing --state-dir" || fail "missing --state-dir: exit $rc"
[ "$(stat -c %a "$TMP/sd/a" "$TMP/sd/a/b" 2>&1 | tr '\n' ' ')" = "750 750 " ] && ok "--state-dir made with 0777 less the umask" \
	|| fail "--state-dir modes: $(stat -c %a "$TMP/sd/a" "$TMP/sd/a/b" 2>&1 | tr '\n' ' ')"
mkdir -p "$TMP/sd" && : > "$TMP/sd/file"
"$PIPEC" run --state-dir "$TMP/sd/file" $good > "$TMP/u.out" 2> "$TMP/u.err"; rc=$?
[ "$rc" -eq 2 ] && [ "$(cat "$TMP/u.err")" = "pipec run: --state-dir '$TMP/sd/file' is not a directory" ] \
	&& ok "a --state-dir that is a file: one line" || fail "--state-dir file: exit $rc: $(cat "$TMP/u.err")"
"$PIPEC" resume --state-dir "$TMP/sd/none" > /dev/null 2> "$TMP/u.err"; rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l < "$TMP/u.err")" -eq 1 ] && [ ! -e "$TMP/sd/none" ] \
	&& ok "resume in a missing --state-dir: one line, nothing made" || fail "resume missing --state-dir: exit $rc: $(cat "$TMP/u.err")"
finish
