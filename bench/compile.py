#!/usr/bin/env python3
"""Compiler benchmark: `pipec check` and `pipec build` on generated
pipelines of 1k, 10k and 100k tasks in the four shapes of ../shared/bench/,
one `let` per task.

Prints, per workload and command: tasks, file size, wall time (median of
RUNS runs after one warm-up; the whole process: start, read, parse, check,
lower, write the plan, exit) and peak RSS of the pipec process.  Then the
targets: 100k tasks parsed in under 0.5 s (`--parse-only` measures just
that: check of a file with no semantic work is dominated by parsing),
checked and lowered (`pipec build`) in under 1 s and 300 MiB, and time
growing linearly: the 100k / 10k ratio of each build under 12.

usage: bench/parse.py [--pipec PATH] [--runs N] [--dir DIR] [--commands check,build]
"""
import argparse
import os
import statistics
import subprocess
import sys

from measure import peak_rss_mib, timed

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = [
    ("chain", "1000"), ("chain", "10000"), ("chain", "100000"),
    ("fan", "1000"), ("fan", "10000"), ("fan", "100000"),
    ("diamond-layers", "10x100"), ("diamond-layers", "100x100"), ("diamond-layers", "100x1000"),
    ("wide", "1000"), ("wide", "10000"), ("wide", "100000"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipec", default=os.path.join(HERE, "..", "pipec"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default="/tmp/pipec-bench")
    ap.add_argument("--commands", default="check,build")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    print("%-26s %-6s %9s %9s %10s %9s %9s" % ("workload", "cmd", "tasks", "bytes", "wall ms", "us/task", "peak MiB"))
    worst = {}
    walls = {}
    for shape, size in WORKLOADS:
        path = os.path.join(a.dir, "%s-%s.pipe" % (shape, size))
        if not os.path.exists(path):
            subprocess.run([sys.executable, os.path.join(HERE, "gen_pipe.py"), shape, size, "-o", path], check=True)
        with open(path) as f:
            first = f.readline()
        ntasks = int(first.split("(")[1].split()[0])
        for command in a.commands.split(","):
            cmd = [a.pipec, command, path]
            if command == "build":
                cmd += ["-o", os.path.join(a.dir, "plan.json")]
            timed(cmd)  # warm-up
            med = statistics.median(timed(cmd) for _ in range(a.runs))
            rss = peak_rss_mib(cmd)
            walls[(shape, ntasks // 1000 * 1000 if ntasks > 1000 else ntasks, command)] = med
            if ntasks >= 100000:
                w = worst.setdefault(command, [0.0, 0.0])
                w[0] = max(w[0], med)
                w[1] = max(w[1], rss)
            print("%-26s %-6s %9d %9d %10.1f %9.2f %9.1f" % ("%s %s" % (shape, size), command, ntasks,
                  os.path.getsize(path), med * 1000, med * 1e6 / ntasks, rss))
    if "check" in worst:
        print("target: 100k tasks checked in under 0.5 s (parsing is most of it): slowest %.3f s: %s"
              % (worst["check"][0], "ok" if worst["check"][0] < 0.5 else "MISSED"))
    if "build" in worst:
        t, m = worst["build"]
        print("target: 100k tasks checked and lowered in under 1 s and 300 MiB: slowest %.3f s, largest %.0f MiB: %s"
              % (t, m, "ok" if t < 1.0 and m < 300 else "MISSED"))
        ratios = []
        for shape in dict.fromkeys(w[0] for w in WORKLOADS):
            k100 = walls.get((shape, 100000, "build"))
            k10 = walls.get((shape, 10000, "build"))
            if k100 and k10:
                ratios.append((shape, k100 / k10))
        for shape, r in ratios:
            print("linear growth: %s build 100k / 10k = %.1f (target < 12): %s" % (shape, r, "ok" if r < 12 else "MISSED"))


if __name__ == "__main__":
    main()
