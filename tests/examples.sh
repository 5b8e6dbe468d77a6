#!/bin/sh
# Every example, stdlib module and LANGUAGE.md example checks clean and is in
# the canonical layout.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
for f in examples/*.pipe examples/lib/*.pipe stdlib/*.pipe tests/lang/*.pipe; do
	expect_rc 0 "pipec check $f" "$PIPEC" check "$f"
	out=$("$PIPEC" fmt --check "$f" 2>&1); rc=$?
	[ "$rc" -eq 0 ] && [ -z "$out" ] && ok "pipec fmt --check $f" || fail "pipec fmt --check $f: exit $rc: $out"
done
# The README's quick start checks this one; it must stay the LANGUAGE.md example.
grep -q 'stage fetch(n: Int where 1 <= n <= 10_000) -> Corpus' examples/quickstart.pipe \
	&& ok "quickstart is the LANGUAGE.md example" || fail "quickstart drifted from LANGUAGE.md"

# The code blocks of the design sketch itself, when it is beside the checkout.
lang="$top_srcdir/../shared/LANGUAGE.md"
if [ -f "$lang" ]; then
	# section 1's module and section 8's test, extracted as written
	awk '/^```/{inb=!inb; if(inb){n++; next}} inb{print > ("'"$TMP"'/block" n ".txt")}' "$lang"
	for b in "$TMP"/block*.txt; do
		if grep -q '^pipeline main(\|^test "count' "$b"; then
			cp "$b" "$TMP/block.pipe"
			if grep -q '^test "' "$b"; then cat examples/quickstart.pipe >> "$TMP/block.pipe"; fi
			expect_rc 0 "LANGUAGE.md block $(basename "$b") parses" "$PIPEC" check "$TMP/block.pipe"
		fi
	done
else
	echo "# ../shared/LANGUAGE.md not found: its blocks are checked through tests/lang only"
fi
finish
