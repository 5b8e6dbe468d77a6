#!/usr/bin/env python3
"""Front-end benchmark: `pipec check` on generated pipelines of 1k, 10k and
100k tasks in the four shapes of ../shared/bench/, one `let` per task.

Prints, per workload: tasks, file size, wall time (median of RUNS runs after
one warm-up; the whole process: start, read, lex, parse, exit) and peak RSS
of the pipec process, then checks the target that 100k tasks parse in under
0.5 s.

usage: bench/parse.py [--pipec PATH] [--runs N] [--dir DIR]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = [
    ("chain", "1000"), ("chain", "10000"), ("chain", "100000"),
    ("fan", "1000"), ("fan", "10000"), ("fan", "100000"),
    ("diamond-layers", "10x100"), ("diamond-layers", "100x100"), ("diamond-layers", "100x1000"),
    ("wide", "1000"), ("wide", "10000"), ("wide", "100000"),
]


def run_once(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.decode()[:500]))
    return wall


def peak_rss_kib(cmd):
    """Peak RSS of one run of CMD, measured in a fresh helper process."""
    code = ("import resource,subprocess,sys;"
            "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code] + cmd, capture_output=True, text=True)
    return int(out.stdout.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipec", default=os.path.join(HERE, "..", "pipec"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default="/tmp/pipec-bench")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    print("%-16s %9s %9s %12s %10s %9s" % ("workload", "tasks", "bytes", "wall ms", "us/task", "peak MiB"))
    worst_100k = 0.0
    for shape, size in WORKLOADS:
        path = os.path.join(a.dir, "%s-%s.pipe" % (shape, size))
        if not os.path.exists(path):
            subprocess.run([sys.executable, os.path.join(HERE, "gen_pipe.py"), shape, size, "-o", path], check=True)
        with open(path) as f:
            first = f.readline()
        ntasks = int(first.split("(")[1].split()[0])
        cmd = [a.pipec, "check", path]
        run_once(cmd)  # warm-up
        walls = [run_once(cmd) for _ in range(a.runs)]
        med = statistics.median(walls)
        rss = peak_rss_kib(cmd) / 1024.0
        if ntasks >= 100000:
            worst_100k = max(worst_100k, med)
        print("%-16s %9d %9d %12.1f %10.2f %9.1f" % ("%s %s" % (shape, size), ntasks, os.path.getsize(path),
                                                   med * 1000, med * 1e6 / ntasks, rss))
    verdict = "ok" if worst_100k < 0.5 else "MISSED"
    print("target: 100k tasks parse in under 0.5 s: slowest 100k workload %.3f s: %s" % (worst_100k, verdict))


if __name__ == "__main__":
    main()
