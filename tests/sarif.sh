#!/bin/sh
# pipec check --format sarif: a SARIF 2.1.0 log, valid against the schema in
# ../shared/schemas/ (skipped, exit 77, when the schema or python3-jsonschema
# is missing), with one result per diagnostic.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
schema="$top_srcdir/../shared/schemas/sarif-schema-2.1.0.json"
py=python3
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import jsonschema' 2>/dev/null; then py=$p; break; fi
done
"$PIPEC" check --format sarif examples/quickstart.pipe > "$TMP/clean.sarif"; rc=$?
[ "$rc" -eq 0 ] && ok "sarif on a clean file exits 0" || fail "sarif clean exit $rc"
"$PIPEC" check --format sarif tests/golden/E0201-multiple.pipe tests/golden/E0106-unknown-escape.pipe \
	tests/golden/E0201-unclosed-paren.pipe tests/golden/E0301-type-mismatch.pipe \
	tests/golden/E0401-constraint-refuted.pipe tests/golden/W0301-unused-value.pipe > "$TMP/out.sarif"; rc=$?
[ "$rc" -eq 1 ] && ok "sarif with errors exits 1" || fail "sarif exit $rc"
want=$("$PIPEC" check --format json tests/golden/E0201-multiple.pipe tests/golden/E0106-unknown-escape.pipe \
	tests/golden/E0201-unclosed-paren.pipe tests/golden/E0301-type-mismatch.pipe \
	tests/golden/E0401-constraint-refuted.pipe tests/golden/W0301-unused-value.pipe | wc -l)
n=$(grep -c '"ruleId"' "$TMP/out.sarif")
[ "$n" -eq "$want" ] && [ "$n" -gt 10 ] && ok "one SARIF result per diagnostic ($n)" || fail "$n SARIF results, wanted $want"
grep -q '"level": "warning"' "$TMP/out.sarif" && ok "warnings are SARIF warnings" || fail "no SARIF warning level"
grep -q '"columnKind": "unicodeCodePoints"' "$TMP/out.sarif" && ok "columns are code points" || fail "columnKind"
grep -q '"relatedLocations"' "$TMP/out.sarif" && ok "secondary spans are related locations" || fail "relatedLocations"
if [ ! -f "$schema" ]; then
	echo "# SKIP: no SARIF schema at $schema"
	finish; exit 77
fi
"$py" "$top_srcdir/tests/sarif-validate.py" "$schema" "$TMP/out.sarif"; rc=$?
if [ "$rc" -eq 77 ]; then echo "# SKIP: $py has no jsonschema (apt-get install python3-jsonschema)"; finish; exit 77; fi
[ "$rc" -eq 0 ] && ok "SARIF with errors validates against the 2.1.0 schema" || fail "SARIF does not validate"
"$py" "$top_srcdir/tests/sarif-validate.py" "$schema" "$TMP/clean.sarif" && ok "empty SARIF log validates" || fail "empty SARIF log does not validate"
# and the validator does reject a broken log, so the check can fail
sed 's/"version": "2.1.0"/"version": "9"/' "$TMP/out.sarif" > "$TMP/broken.sarif"
"$py" "$top_srcdir/tests/sarif-validate.py" "$schema" "$TMP/broken.sarif" 2>/dev/null && fail "validator accepted a broken log" || ok "validator rejects a broken log"
finish
