#!/bin/sh
# pipec build and pipec graph: the plan of the quick start, determinism, the
# content hash under permuted declarations, parameters (-p), the run-time
# pieces, and the graph formats.  JSON is read with python3.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
cd "$top_srcdir" || exit 2
py() { python3 -c "import json,sys; p=json.load(open('$1')); $2"; }
q=examples/quickstart.pipe

expect_rc 0 "build the quick start" "$PIPEC" build $q -o "$TMP/a.json"
"$PIPEC" build $q > "$TMP/b.json"
cmp -s "$TMP/a.json" "$TMP/b.json" && ok "the same source gives the same bytes" || fail "two builds differ"
py "$TMP/a.json" "
assert p['pipec_plan'] == 1
ids = [t['id'] for t in p['tasks']]
assert ids == ['c', 's'], ids
t = {t['id']: t for t in p['tasks']}
assert t['s']['deps'] == ['c'], t['s']['deps']
assert t['c']['command'][0].startswith('seq 100 |'), t['c']['command']
assert t['c']['inputs']['n'] == {'type': 'Int', 'value': 100}
assert t['s']['outputs'] == {'words': {'type': 'Int', 'base': 'Int'}, 'lines': {'type': 'Int', 'base': 'Int'}}
assert t['c']['outputs'] == {'out': {'type': 'Corpus', 'base': 'File', 'files': 'file'}}
assert t['s']['resources'] == {'cpu': 1, 'memory': 67108864}
assert p['result'] == {'words': {'ref': 's', 'output': 'words'}, 'lines': {'ref': 's', 'output': 'lines'}}
assert p['hash'].startswith('blake2b-256:')
" && ok "the plan has the tasks, edges, inputs, outputs and resources" || fail "quick start plan content"

"$PIPEC" build $q -p n=7 > "$TMP/n7.json"
py "$TMP/n7.json" "assert p['tasks'][0]['command'][0].startswith('seq 7 |'); assert p['params']['n']['value'] == 7" \
	&& ok "-p n=7 reaches the command" || fail "-p n=7"
cmp -s "$TMP/a.json" "$TMP/n7.json" && fail "parameters do not change the plan" || ok "parameters change the plan and its hash"

# permuting the declarations changes only the locations
mkdir -p "$TMP/perm"
python3 - "$q" "$TMP/perm/quickstart.pipe" <<'PY'
import sys
parts = open(sys.argv[1]).read().rstrip('\n').split('\n\n')
open(sys.argv[2], 'w').write('\n\n'.join([parts[0]] + parts[1:][::-1]) + '\n')
PY
cmp -s $q "$TMP/perm/quickstart.pipe" && fail "the permutation did nothing"
"$PIPEC" build "$TMP/perm/quickstart.pipe" > "$TMP/perm.json"
[ "$(grep '"hash"' "$TMP/a.json")" = "$(grep '"hash"' "$TMP/perm.json")" ] && ok "permuted declarations keep the content hash" \
	|| fail "the hash changed with the order of declarations"
grep -v '"line"\|"column"\|"file"' "$TMP/a.json" > "$TMP/a.noloc"
grep -v '"line"\|"column"\|"file"' "$TMP/perm.json" > "$TMP/perm.noloc"
cmp -s "$TMP/a.noloc" "$TMP/perm.noloc" && ok "and differ only in source locations" || fail "permuted plans differ beyond locations"

# parameters
out=$("$PIPEC" build $q -p n=abc 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "n: 'abc' is not an Int" && ok "a mistyped parameter exits 2, naming it" || fail "-p n=abc: $rc $out"
out=$("$PIPEC" build $q -p x=1 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "no parameter 'x' (its parameters: n: Int)" && ok "an unknown parameter exits 2" || fail "-p x=1: $rc $out"
out=$("$PIPEC" build $q -p n 2>&1); rc=$?
[ $rc -eq 2 ] && ok "-p without = exits 2" || fail "-p n: $rc"
out=$("$PIPEC" build $q -p n=20000 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "E0401.*n is 20000 in this build" && ok "a value breaking a stage's where is an error of this build" \
	|| fail "-p n=20000: $rc $out"
printf 'stage s(t: Duration, m: Size, l: List[Int], r: Bool) -> File { run: "echo ${t} ${m} ${l} ${r} > ${out}" }\npipeline main(t: Duration where t <= 1h, m: Size, l: List[Int], r: Bool = false) -> File { return s(t, m, l, r) }\n' > "$TMP/typed.pipe"
"$PIPEC" build "$TMP/typed.pipe" -p t=30m -p m=4GiB -p 'l=[1, 2]' -p r=true > "$TMP/typed.json" \
	&& py "$TMP/typed.json" "c = p['tasks'][0]['command'][0]; assert c == 'echo 1800 4294967296 1 2 true > ', c" \
	&& ok "Duration, Size, List and Bool parameters parse by their types" || fail "typed parameters"
out=$("$PIPEC" build "$TMP/typed.pipe" -p t=2h -p m=1GiB -p l=[] 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "t: 2h breaks\|t: 7200 breaks" && ok "a parameter breaking the pipeline's where exits 2" || fail "-p t=2h: $rc $out"
out=$("$PIPEC" build "$TMP/typed.pipe" -p t=1m 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "needs -p m=VALUE" && ok "a missing parameter exits 2, naming it" || fail "missing -p: $rc $out"
expect_rc 2 "an unknown pipeline" "$PIPEC" build $q --pipeline nope
expect_rc 1 "a program with errors is not built" "$PIPEC" build tests/golden/E0301-type-mismatch.pipe

# run-time pieces
"$PIPEC" build tests/build/pieces.pipe > "$TMP/pieces.json" || fail "pieces.pipe does not build"
py "$TMP/pieces.json" "
t = {t['id']: t for t in p['tasks']}
assert t['score[*]']['scatter'] == ['scatter-1'] and t['score[*]']['deps'] == ['parts'], 'scatter over a run-time list'
assert t['score[*]']['inputs']['f']['value'] == {'item': 'scatter-1'}
assert 'fit[0]' in t and 'fit[1]' in t, 'a compile-time for is unrolled'
assert t['fit-2']['fallback_of'] == ['fit'], 'try/else is an error edge'
assert t['fit-3']['inputs']['k']['value'] == 8, 'a compile-time if lowers only the branch taken'
assert 'fit-4' not in [x for x in t if t[x]['inputs'].get('k', {}).get('value') == 1 and x == 'fit-3']
assert set(t['notify']['after']) >= {'score[*]'}, 'after is a control edge'
w = t['notify-2']['when'][0]
assert w['is'] is True and w['expr']['op'] == '>', 'a run-time condition guards its branch'
assert t['counted']['checks'][0]['constraint'] == '1 <= k <= 64', 'an undecided where becomes a run-time check'
assert p['result']['gather'] == 'scatter-1'
assert t['fit[0]']['retry'] == {'attempts': 2, 'backoff_ns': 10000000000} and t['fit[0]']['timeout_ns'] == 1800000000000
assert t['fit[0]']['command'][0] == \"echo 1 'a b' > \", 'interpolated values are shell-quoted'
" && ok "scatter, unrolled for, try/else, if, after, run-time checks, retry and timeout are in the plan" || fail "run-time pieces"

# where files are: "files" follows the resolved type (issue 11: a distinct
# File, a record field, lists, maps, optionals), absent where there are none
mkdir -p "$TMP/in/d"; : > "$TMP/in/x"
"$PIPEC" build tests/build/files.pipe -p a="$TMP/in/x" -p "r={\"left\": \"$TMP/in/x\", \"right\": \"$TMP/in/d\", \"label\": \"c\"}" \
	-p "l=[\"$TMP/in/x\"]" -p "m={\"k\": \"$TMP/in/d\"}" -p "ls=[{\"name\": \"a\", \"reads\": \"$TMP/in/x\", \"n\": 1}]" \
	-p n=1 -p o=none -p d="$TMP/in/d" > "$TMP/files.json" || fail "files.pipe does not build"
py "$TMP/files.json" "
want = {'a': 'file', 'd': 'dir', 'l': {'list': 'file'}, 'm': {'map': 'dir'},
        'ls': {'list': {'record': {'reads': 'file'}}}, 'o': {'optional': 'file'},
        'r': {'record': {'left': 'file', 'right': 'dir'}}}
for where in (p['params'], p['tasks'][0]['inputs']):
    got = {k: v['files'] for k, v in where.items() if 'files' in v}
    assert got == want, got
    assert 'files' not in where['n'], where['n']
o = p['tasks'][0]['outputs']
assert o['x']['files'] == 'file' and o['y']['files'] == {'list': {'record': {'reads': 'file'}}}, o
assert 'files' not in o['z'], o['z']
" && ok "\"files\" gives where files are by the resolved type, at any depth" || fail "files shapes"
py "$TMP/a.json" "assert p['tasks'][1]['inputs']['c']['files'] == 'file'; assert 'files' not in p['tasks'][0]['inputs']['n']" \
	&& ok "a distinct File input has files, an Int none" || fail "quick start files"

# a record that holds itself: its shape refers back ({"cycle": N}); one
# without files, however it nests, has none, and quickly
cat > "$TMP/rec.pipe" <<'EOF'
record Tree {
  f: File
  kids: List[Tree]
}
record Bad {
  a: Bad?
  b: Bad?
  n: Int
}
stage s(t: Tree, b: Bad) -> Int { run: "true" }
pipeline main(t: Tree, b: Bad) -> Int { return s(t, b) }
EOF
(cd "$TMP/in" && timeout 20 "$PIPEC" build "$TMP/rec.pipe" -p 't={"f": "x", "kids": [{"f": "x", "kids": []}]}' \
	-p 'b={"a": null, "b": null, "n": 1}') > "$TMP/rec.json" || fail "a recursive record does not build"
T="$TMP/in" py "$TMP/rec.json" "
import os
i = p['tasks'][0]['inputs']
assert i['t']['files'] == {'record': {'f': 'file', 'kids': {'list': {'cycle': 1}}}}, i['t']
assert 'files' not in i['b'], i['b']
x = os.path.realpath(os.environ['T']) + '/x'
assert i['t']['value'] == {'f': x, 'kids': [{'f': x, 'kids': []}]}, i['t']['value']
" && ok "a record holding itself has a {\"cycle\": 1} shape and its nested paths are resolved" || fail "recursive record files"

# records nested 100 deep, with a value as deep: the plan is still JSON and
# says where the file is (the writer's nesting is not bounded at 128)
python3 - "$TMP/deep.pipe" "$TMP/deep.value" "$TMP/in/x" <<'PY'
import sys
n = 100
decls = ["record R%d {\n  a: R%d\n}\n" % (i, i + 1) for i in range(1, n)] + ["record R%d {\n  f: File\n}\n" % n]
open(sys.argv[1], "w").write("\n".join(decls) + 'stage s(r: R1) -> Int { run: "true" }\npipeline main(r: R1) -> Int { return s(r) }\n')
v = '{"f": "%s"}' % sys.argv[3]
for i in range(n - 1):
    v = '{"a": %s}' % v
open(sys.argv[2], "w").write(v)
PY
"$PIPEC" build "$TMP/deep.pipe" -p "r=$(cat "$TMP/deep.value")" > "$TMP/deep.json" && py "$TMP/deep.json" "
f = p['params']['r']['files']
for i in range(99):
    f = f['record']['a']
assert f == {'record': {'f': 'file'}}, f
" && ok "records nested 100 deep give valid JSON and their files" || fail "deep records: $(head -c 300 "$TMP/deep.json")"

# File and Dir parameters: a relative path is resolved against the caller's
# directory (the task runs in its own), at any depth; a missing one is an
# error naming the parameter and the path, before anything runs
files=$(pwd)/tests/build/files.pipe
(cd "$TMP/in" && "$PIPEC" build "$files" -p a=x -p 'r={"left": "./x", "right": "d/", "label": "c"}' -p "l=[\"x\", \"$TMP/in/x\"]" \
	-p 'm={"k": "d"}' -p 'ls=[{"name": "a", "reads": "x", "n": 1}]' -p n=1 -p o=x -p d=.) > "$TMP/rel.json" || fail "relative paths do not build"
T="$TMP/in" py "$TMP/rel.json" "
import os
t = os.path.realpath(os.environ['T'])
v = {k: x['value'] for k, x in p['tasks'][0]['inputs'].items()}
assert v['a'] == t + '/x' and v['o'] == t + '/x' and v['d'] == t, v
assert v['r'] == {'left': t + '/x', 'right': t + '/d', 'label': 'c'}, v['r']
assert v['l'] == [t + '/x', os.environ['T'] + '/x'] and v['m'] == {'k': t + '/d'}, v
assert v['ls'] == [{'name': 'a', 'reads': t + '/x', 'n': 1}], v['ls']
assert p['params']['a']['value'] == t + '/x'
" && ok "relative File and Dir parameters are made absolute, in records, lists and maps too" || fail "relative paths"
(cd "$TMP/in" && "$PIPEC" build "$files" -p a=nope -p 'r={"left": "x", "right": "d", "label": "c"}' -p 'l=[]' \
	-p 'm={}' -p 'ls=[]' -p n=1 -p o=none -p d=.) > /dev/null 2> "$TMP/rel.err"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$TMP/rel.err")" -eq 1 ] && grep -q "^pipec: -p a: no such file: nope ($(cd "$TMP/in" && pwd -P)/nope)" "$TMP/rel.err" \
	&& ok "a missing File parameter exits 2 with one line naming it and its path" || fail "missing file: $rc $(cat "$TMP/rel.err")"
(cd "$TMP/in" && "$PIPEC" build "$files" -p a=x -p 'r={"left": "x", "right": "d", "label": "c"}' -p 'l=[]' \
	-p 'm={}' -p 'ls=[{"name": "a", "reads": "x", "n": 1}, {"name": "b", "reads": "gone.fq", "n": 2}]' -p n=1 -p o=none -p d=.) > /dev/null 2> "$TMP/rel.err"; rc=$?
[ $rc -eq 2 ] && grep -q "^pipec: -p ls: ls\[1\].reads: no such file: gone.fq" "$TMP/rel.err" \
	&& ok "a missing file deep in a parameter is named by where it is" || fail "missing nested file: $rc $(cat "$TMP/rel.err")"
(cd "$TMP/in" && "$PIPEC" build "$files" -p a=d -p 'r={"left": "x", "right": "x", "label": "c"}' -p 'l=[]' \
	-p 'm={}' -p 'ls=[]' -p n=1 -p o=none -p d=.) > /dev/null 2> "$TMP/rel.err"; rc=$?
[ $rc -eq 2 ] && grep -q "^pipec: -p a: not a regular file: d" "$TMP/rel.err" \
	&& ok "a directory given for a File exits 2" || fail "dir for file: $rc $(cat "$TMP/rel.err")"
(cd "$TMP/in" && "$PIPEC" build "$files" -p a=x -p 'r={"left": "x", "right": "x", "label": "c"}' -p 'l=[]' \
	-p 'm={}' -p 'ls=[]' -p n=1 -p o=none -p d=.) > /dev/null 2> "$TMP/rel.err"; rc=$?
[ $rc -eq 2 ] && grep -q "^pipec: -p r: r.right: not a directory: x" "$TMP/rel.err" \
	&& ok "a file given for a Dir exits 2" || fail "file for dir: $rc $(cat "$TMP/rel.err")"
printf 'a\nb\n' > "$TMP/in/two.txt"
lines=$(pwd)/tests/run/lines.pipe
mkdir -p "$TMP/st"; (cd "$TMP/in" && "$PIPEC" run --quiet --format json --state-dir "$TMP/st" -p data=two.txt "$lines") > "$TMP/lines.json" 2>&1
grep -q '"result":2' "$TMP/lines.json" && ok "a task reads a relative File parameter given from another directory" || fail "relative run: $(cat "$TMP/lines.json")"
mkfifo "$TMP/in/fifo"
for bad in /dev/zero "$TMP/in/fifo"; do
	out=$(cd "$TMP/in" && timeout 10 "$PIPEC" build "$files" -p a="$bad" -p 'r={"left": "x", "right": "d", "label": "c"}' -p 'l=[]' \
		-p 'm={}' -p 'ls=[]' -p n=1 -p o=none -p d=. 2>&1); rc=$?
	[ $rc -eq 2 ] && [ "$out" = "pipec: -p a: not a regular file: $bad" ] && ok "-p a=$bad is refused at once (issue 12)" || fail "-p a=$bad: $rc $out"
done
out=$("$PIPEC" build $q -p n= 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$out" = "pipec: -p n: '' is not an Int, such as 42" ] && ok "-p n= (an empty value) exits 2 with one line" || fail "-p n=: $rc $out"
printf 'stage st(s: String, f: Float?) -> String { run: "echo ${s} > ${out}" }\npipeline main(s: String, f: Float?) -> String { return st(s, f) }\n' > "$TMP/empty.pipe"
"$PIPEC" build "$TMP/empty.pipe" -p s= -p f=none > "$TMP/empty.json" && py "$TMP/empty.json" "assert p['params']['s']['value'] == ''" \
	&& ok "-p s= is the empty String" || fail "-p s="
out=$("$PIPEC" build "$TMP/empty.pipe" -p s= -p f= 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$out" = "pipec: -p f: '' is not a Float, such as 0.5" ] && ok "-p f= for a Float? exits 2" || fail "-p f= (Float?): $rc $out"

# Floats are written as the shortest text that reads back to the same double
# (issue 11): 0.1, not 0.10000000000000001; in plan values they stay JSON reals
printf 'stage e(x: Float) -> String { run: "echo ${x} > ${out}" }\npipeline main(x: Float = 0.1) -> String { return e(x) }\n' > "$TMP/float.pipe"
for pair in '0.1|echo 0.1 > |0.1' '1e300|echo 1e+300 > |1e+300' '-0.0|echo -0 > |-0.0' '3.0|echo 3 > |3.0' \
	'0.30000000000000004|echo 0.30000000000000004 > |0.30000000000000004' '123456.789|echo 123456.789 > |123456.789'; do
	x=${pair%%|*}; rest=${pair#*|}; cmd=${rest%|*}; js=${rest#*|}
	"$PIPEC" build "$TMP/float.pipe" -p x="$x" > "$TMP/float.json" || { fail "float $x does not build"; continue; }
	c=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tasks'][0]['command'][0])" "$TMP/float.json")
	v=$(grep -o '"x": {"type":"Float","value":[^}]*}' "$TMP/float.json" | sed 's/.*"value"://; s/}$//')
	[ "$c" = "$cmd" ] && [ "$v" = "$js" ] && ok "Float $x: command '$cmd', plan value $js" || fail "Float $x: command '$c', plan value '$v'"
done
"$PIPEC" build "$TMP/float.pipe" | grep -q '"command":\["echo 0.1 > "' && ok "the default 0.1 interpolates as 0.1" || fail "default 0.1"

# graph
"$PIPEC" graph examples/ml-train.pipe > "$TMP/g.dot" || fail "graph failed"
grep -q '^digraph pipeline {' "$TMP/g.dot" && grep -q 'label="scored\\nevaluate\\ncpu: 1, memory: 512MiB"' "$TMP/g.dot" \
	&& ok "dot: nodes labelled with stage and resources" || fail "dot nodes"
grep -q 'style=dashed, label="after"' "$TMP/g.dot" && grep -q 'style=dotted, color=red, label="else"' "$TMP/g.dot" \
	&& grep -Eq '^  t[0-9]+ -> t[0-9]+;$' "$TMP/g.dot" && ok "dot: data, control and error edges" || fail "dot edges"
"$PIPEC" graph --format mermaid $q > "$TMP/g.mmd"
[ "$(head -1 "$TMP/g.mmd")" = "flowchart LR" ] && grep -q 't0 --> t1' "$TMP/g.mmd" && ok "mermaid" || fail "mermaid: $(cat "$TMP/g.mmd")"
expect_rc 2 "graph --format svg" "$PIPEC" graph --format svg $q
finish
