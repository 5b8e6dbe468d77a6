#!/bin/sh
# pipec fmt: the expected layout for tests/fmt/NAME.pipe is NAME.expected;
# on every input that parses, the output parses to the same tree and
# formatting it again changes nothing; --check and -w behave.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
for f in tests/fmt/*.pipe; do
	"$PIPEC" fmt "$f" > "$TMP/out.pipe" 2>"$TMP/err"
	if diff -u "${f%.pipe}.expected" "$TMP/out.pipe"; then ok "fmt $f gives the expected layout"
	else fail "fmt $f differs from ${f%.pipe}.expected"; fi
done
for f in examples/*.pipe examples/lib/*.pipe stdlib/*.pipe tests/lang/*.pipe tests/fmt/*.pipe; do
	"$PIPEC" fmt "$f" > "$TMP/once.pipe" 2>/dev/null || { fail "fmt $f failed"; continue; }
	"$PIPEC" fmt "$TMP/once.pipe" > "$TMP/twice.pipe" 2>/dev/null
	cmp -s "$TMP/once.pipe" "$TMP/twice.pipe" && ok "fmt is idempotent on $f" || fail "fmt is not idempotent on $f"
	"$PIPEC" check --dump-ast "$f" > "$TMP/a.dump" 2>/dev/null
	"$PIPEC" check --dump-ast "$TMP/once.pipe" > "$TMP/b.dump" 2>/dev/null
	cmp -s "$TMP/a.dump" "$TMP/b.dump" && ok "fmt keeps the tree of $f" || fail "fmt changes the tree of $f"
	n=$(grep -c '#' "$f"); m=$(grep -c '#' "$TMP/once.pipe")
	[ "$n" -le "$m" ] && ok "fmt keeps the comments of $f" || fail "fmt lost comments of $f ($n -> $m lines with #)"
done

# --check lists what is not formatted and exits 1; -w rewrites in place
cp tests/fmt/layout.pipe "$TMP/messy.pipe"
cp tests/fmt/layout.expected "$TMP/tidy.pipe"
out=$("$PIPEC" fmt --check "$TMP/messy.pipe" "$TMP/tidy.pipe"); rc=$?
[ "$rc" -eq 1 ] && [ "$out" = "$TMP/messy.pipe" ] && ok "fmt --check lists the unformatted file" \
	|| fail "fmt --check: exit $rc, printed '$out'"
expect_rc 0 "fmt --check on a formatted file" "$PIPEC" fmt --check "$TMP/tidy.pipe"
chmod 640 "$TMP/messy.pipe"
expect_rc 0 "fmt -w" "$PIPEC" fmt -w "$TMP/messy.pipe"
cmp -s "$TMP/messy.pipe" tests/fmt/layout.expected && ok "fmt -w wrote the canonical layout" || fail "fmt -w wrote something else"
[ "$(stat -c %a "$TMP/messy.pipe")" = 640 ] && ok "fmt -w keeps the file mode" || fail "fmt -w changed the mode"
ls "$TMP" | grep -q fmt- && fail "fmt -w left a temporary file" || ok "fmt -w leaves no temporary file"

# a file with syntax errors is reported and left untouched
printf 'stage s( {\n' > "$TMP/bad.pipe"
cp "$TMP/bad.pipe" "$TMP/bad.orig"
expect_rc 1 "fmt -w on a file with errors" "$PIPEC" fmt -w "$TMP/bad.pipe"
cmp -s "$TMP/bad.pipe" "$TMP/bad.orig" && ok "a file with errors is not rewritten" || fail "a file with errors was rewritten"
"$PIPEC" fmt "$TMP/bad.pipe" 2>&1 >/dev/null | grep -q 'bad.pipe:1:' && ok "fmt reports the error's location" || fail "fmt did not report the error location"

# standard input
out=$(printf 'pipeline p() -> Int { return 1+2 }\n' | "$PIPEC" fmt -)
[ "$out" = 'pipeline p() -> Int { return 1 + 2 }' ] && ok "fmt - reads standard input" || fail "fmt - printed '$out'"
expect_rc 2 "fmt --check with -w" "$PIPEC" fmt --check -w "$TMP/tidy.pipe"
finish
