#!/bin/sh
# No input crashes or hangs the compiler.  tests/robust (robust.c) feeds
# every truncated prefix and 200 random mutations of every example, stdlib
# module and test input through `pipec check`'s code path in-process (and
# round-trips each clean one through the formatter); then the real binary
# gets a sample of the same prefixes.  Any exit but 0 or 1 fails.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
: "${ROBUST:=$(pwd)/tests/robust}"
keep=$(pwd)/robust-failures
cd "$top_srcdir" || exit 2
inputs=$(ls examples/*.pipe examples/lib/*.pipe stdlib/*.pipe tests/golden/*.pipe tests/lang/*.pipe tests/fmt/*.pipe)
if "$ROBUST" -o "$TMP" $inputs; then ok "prefixes and mutations: status 0 or 1, formatter round-trips"
else fail "robust found failures (inputs kept in $keep)"; mkdir -p "$keep"; cp "$TMP"/robust-fail-* "$keep"/; fi

# the binary itself, on every 23rd prefix of each example
for f in examples/*.pipe stdlib/*.pipe; do
	size=$(wc -c < "$f")
	n=0; bad=0
	while [ "$n" -le "$size" ]; do
		head -c "$n" "$f" > "$TMP/prefix.pipe"
		"$PIPEC" check "$TMP/prefix.pipe" >/dev/null 2>&1
		rc=$?
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then bad=$((bad + 1)); mkdir -p "$keep"; cp "$TMP/prefix.pipe" "$keep/$(basename "$f")-$n"; fi
		n=$((n + 23))
	done
	[ "$bad" -eq 0 ] && ok "pipec check on prefixes of $f" || fail "pipec check exited badly on $bad prefixes of $f"
done
finish
