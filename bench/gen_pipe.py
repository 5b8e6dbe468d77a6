#!/usr/bin/env python3
"""Write the bench workloads of ../shared/bench/ as .pipe pipelines.

One `let` per task, in the same shapes as shared/bench/gen_workloads.py:

  chain N             t{i} depends on t{i-1}
  fan N               src -> t0..t{N-1} -> sink   (N + 2 tasks)
  diamond-layers LxW  l{k}_{j} depends on l{k-1}_{j} and l{k-1}_{(j+1) mod W}
  wide N              N independent tasks

Every task runs `echo NAME > ${out}` through one stage, so what is measured
is the engine's own overhead.

usage: gen_pipe.py SHAPE SIZE [-o FILE]      (default: standard output)
"""
import argparse
import re
import sys

HEADER = """# bench workload: {shape} {size} ({tasks} tasks), written by bench/gen_pipe.py
stage task(name: String, deps: List[File] = []) -> File {{
  run: "echo ${{name}} > ${{out}}"
}}

pipeline main() -> List[File] {{
"""


def tasks(shape, size):
    """Yields (name, [deps]) in topological order; returns the targets."""
    if shape == "diamond-layers":
        m = re.fullmatch(r"(\d+)[xX](\d+)", size)
        if not m:
            sys.exit("diamond-layers takes LxW")
        layers, width = int(m.group(1)), int(m.group(2))
        out = []
        for k in range(layers):
            for j in range(width):
                deps = [] if k == 0 else ["l%d_%d" % (k - 1, j), "l%d_%d" % (k - 1, (j + 1) % width)]
                out.append(("l%d_%d" % (k, j), deps))
        return out, ["l%d_%d" % (layers - 1, j) for j in range(width)]
    n = int(size)
    if shape == "chain":
        return [("t%d" % i, [] if i == 0 else ["t%d" % (i - 1)]) for i in range(n)], ["t%d" % (n - 1)]
    if shape == "fan":
        mid = [("t%d" % i, ["src"]) for i in range(n)]
        return [("src", [])] + mid + [("sink", ["t%d" % i for i in range(n)])], ["sink"]
    if shape == "wide":
        return [("t%d" % i, []) for i in range(n)], ["t%d" % i for i in range(n)]
    sys.exit("unknown shape %r (chain, fan, diamond-layers, wide)" % shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shape")
    ap.add_argument("size")
    ap.add_argument("-o", "--output")
    a = ap.parse_args()
    ts, targets = tasks(a.shape, a.size)
    lines = [HEADER.format(shape=a.shape, size=a.size, tasks=len(ts))]
    for name, deps in ts:
        if deps:
            lines.append('  let %s = task("%s", [%s])\n' % (name, name, ", ".join(deps)))
        else:
            lines.append('  let %s = task("%s")\n' % (name, name))
    lines.append("  return [%s]\n}\n" % ", ".join(targets))
    text = "".join(lines)
    if a.output:
        open(a.output, "w").write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
