#!/bin/sh
# No input crashes or hangs the compiler.  tests/robust (robust.c) feeds
# every truncated prefix and 200 random mutations of every example, stdlib
# module and test input through `pipec check`'s code path in-process (and
# round-trips each clean one through the formatter); then every prefix and
# 50 mutations of each example and stdlib module go to the real binary,
# `pipec check FILE`.  Any exit but 0 or 1 (a crash, a sanitizer report, a
# hang) fails.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
: "${ROBUST:=$(pwd)/tests/robust}"
keep=$(pwd)/robust-failures
cd "$top_srcdir" || exit 2
inputs=$(ls examples/*.pipe examples/lib/*.pipe stdlib/*.pipe tests/golden/*.pipe tests/lang/*.pipe tests/fmt/*.pipe)
if "$ROBUST" -o "$TMP" $inputs; then ok "prefixes and mutations: status 0 or 1, formatter round-trips"
else fail "robust found failures (inputs kept in $keep)"; mkdir -p "$keep"; cp "$TMP"/robust-fail-* "$keep"/; fi

# the binary itself: every prefix and 50 mutations of each example and module
if "$ROBUST" -m 50 -o "$TMP" -x "$PIPEC" examples/*.pipe examples/lib/*.pipe stdlib/*.pipe; then
	ok "pipec check exits 0 or 1 on every prefix and mutation of the examples"
else
	fail "pipec check failed on some inputs (kept in $keep)"; mkdir -p "$keep"; cp "$TMP"/robust-fail-* "$keep"/
fi
# pipec build on every input: a plan, an error, or a refusal; never a crash
bad=0
for f in examples/*.pipe tests/golden/*.pipe tests/lang/*.pipe tests/fmt/*.pipe tests/build/*.pipe; do
	"$PIPEC" build "$f" -o "$TMP/plan.json" >/dev/null 2>&1
	rc=$?
	[ "$rc" -le 2 ] || { bad=$((bad + 1)); echo "pipec build $f: exit $rc"; }
done
[ "$bad" -eq 0 ] && ok "pipec build exits 0, 1 or 2 on every input" || fail "pipec build crashed on $bad inputs"
finish
