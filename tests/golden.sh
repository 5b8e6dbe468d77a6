#!/bin/sh
# Golden diagnostics: for each tests/golden/NAME.pipe, `pipec check` must
# print exactly NAME.err (human format) and NAME.json (--format json), and
# exit 1 (0 for a warning).  A first line "# checked with --OPTIONS" adds
# options; "# built [with ARGS]" runs `pipec build` instead.  Regenerate after an intended change with
#     PIPEC_UPDATE_GOLDEN=1 make check TESTS=tests/golden.sh
# and read the diff before committing it.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir/tests/golden" || exit 2
out=$TMP
for f in *.pipe; do
	name=${f%.pipe}
	# standard library directories differ between machines: not part of the expectation
	norm='s#looked for /[^"]*#looked for <the standard library directories>#'
	# a first line "# checked with --OPTION..." adds those options
	opt=$(sed -n '1s/^# checked with \(--.*\)$/\1/p' "$f")
	if head -1 "$f" | grep -q '^# built'; then
		# an error of pipec build: "# built [with ARGS]"; human form only
		opt=$(sed -n '1s/^# built with \(.*\)$/\1/p' "$f")
		"$PIPEC" build $opt --color never "$f" 2>&1 >/dev/null | sed "$norm" >"$out/$name.err"
		echo "(pipec build prints diagnostics in the human form only)" >"$out/$name.json"
		"$PIPEC" build $opt "$f" >/dev/null 2>&1; rc=$?
	else
		"$PIPEC" check $opt --color never "$f" 2>&1 >/dev/null | sed "$norm" >"$out/$name.err"
		"$PIPEC" check $opt --format json "$f" 2>/dev/null | sed "$norm" >"$out/$name.json"
		"$PIPEC" check $opt "$f" >/dev/null 2>&1; rc=$?
	fi
	if [ "${PIPEC_UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$out/$name.err" "$name.err"; cp "$out/$name.json" "$name.json"
	fi
	code=${name%%-*}
	case $code in W*) want=0 sev=warning ;; *) want=1 sev=error ;; esac
	[ "$rc" -eq "$want" ] && ok "$name exits $want" || fail "$name exits $rc, wanted $want"
	if grep -q "$sev\[$code\]" "$out/$name.err"; then ok "$name reports $code"; else fail "$name does not report $code"; fi
	for kind in err json; do
		if [ ! -f "$name.$kind" ]; then
			fail "$name.$kind is missing (PIPEC_UPDATE_GOLDEN=1 writes it)"
		elif diff -u "$name.$kind" "$out/$name.$kind"; then
			ok "$name.$kind matches"
		else
			fail "$name.$kind differs"
		fi
	done
done
# every code the compiler can emit has a golden test
for code in $(sed -n 's/.*{"\([EW]0[0-9]*\)", ".*/\1/p' "$top_srcdir/compiler/diag.c"); do
	if ls "$code"-*.pipe >/dev/null 2>&1; then ok "$code has a golden test"; else fail "$code has no golden test"; fi
done
finish
