#!/usr/bin/env python3
"""Runtime benchmark: `pipec run -j2` on the workloads of ../shared/bench/
(wide 10k, fan 10k, chain 1k, diamond 100x100) beside ninja and make, cold
(state removed first) and as a no-op re-run (everything cached), printing
wall time, per-task overhead and peak RSS.

The peers' workloads come from ../shared/bench/gen_workloads.py (skipped if
it is not there); pipec's from gen_pipe.py beside this file.  pipec is
measured twice: with its sandbox (the default: namespaces, read-only root,
cgroups) and with --no-sandbox.  snakemake is measured too when it is
installed (`apt-get install snakemake`; one run each, it is slow).

usage: bench/run.py [--pipec PATH] [--runs N] [--dir DIR] [--only SHAPE[,SHAPE]] [--no-snakemake]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys

from measure import peak_rss_mib, timed

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "bench", "gen_workloads.py")
WORKLOADS = [("wide", "10000"), ("fan", "10000"), ("chain", "1000"), ("diamond-layers", "100x100")]


def cleaned(cwd, clean):
    for c in clean:
        p = os.path.join(cwd, c)
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.unlink(p)


def measure(name, cmd, cwd, clean, runs, ntasks):
    colds = []
    for _ in range(runs):
        cleaned(cwd, clean)
        colds.append(timed(cmd, cwd))
    noop = statistics.median(timed(cmd, cwd) for _ in range(runs))
    cold = statistics.median(colds)
    cleaned(cwd, clean)
    rss = peak_rss_mib(cmd, cwd)  # of a cold run: every task runs and is recorded
    engine = cmd[0].split("/")[-1] + (" (no sandbox)" if "--no-sandbox" in cmd else "")
    print("%-26s %-20s %9.3f %9.0f %9.3f %9.1f" % (name, engine, cold, cold * 1e6 / ntasks, noop, rss), flush=True)
    return cold, noop


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipec", default=os.path.join(HERE, "..", "pipec"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/pipec-bench-run")
    ap.add_argument("--only", default="")
    ap.add_argument("--no-snakemake", action="store_true")
    a = ap.parse_args()
    pipec = os.path.abspath(a.pipec)
    os.makedirs(a.dir, exist_ok=True)
    print("%-26s %-20s %9s %9s %9s %9s" % ("workload", "engine", "cold s", "us/task", "no-op s", "cold MiB"))
    for shape, size in WORKLOADS:
        if a.only and shape not in a.only.split(","):
            continue
        d = os.path.join(a.dir, "%s-%s" % (shape, size))
        os.makedirs(d, exist_ok=True)
        src = os.path.join(d, "pipeline.pipe")
        if not os.path.exists(src):
            subprocess.run([sys.executable, os.path.join(HERE, "gen_pipe.py"), shape, size, "-o", src], check=True)
        with open(src) as f:
            ntasks = int(f.readline().split("(")[1].split()[0])
        label = "%s %s" % (shape, size)
        sc, sn = measure(label, [pipec, "run", "--quiet", "-j2", "pipeline.pipe"], d, [".pipec"], a.runs, ntasks)
        pc, pn = measure(label, [pipec, "run", "--quiet", "--no-sandbox", "-j2", "pipeline.pipe"], d, [".pipec"], a.runs,
                         ntasks)
        if os.path.exists(SHARED) and shutil.which("ninja"):
            snake = shutil.which("snakemake") and not a.no_snakemake
            peers = os.path.join(d, "peers")
            engines = "make,ninja" + (",snakemake" if snake else "")
            if not os.path.exists(os.path.join(peers, "workload.json")) or \
                    (snake and not os.path.exists(os.path.join(peers, "snakemake"))):
                subprocess.run([sys.executable, SHARED, shape, size, "-o", peers, "--engines", engines, "--force",
                                "--snakemake-recursion-limit", "20000"], check=True, stdout=subprocess.DEVNULL)
            nc, nn = measure(label, ["ninja", "-j2"], os.path.join(peers, "ninja"), ["out", ".ninja_log"], a.runs, ntasks)
            measure(label, ["make", "-j2"], os.path.join(peers, "make"), ["out"], a.runs, ntasks)
            if snake:
                measure(label, ["snakemake", "--cores", "2", "--quiet"], os.path.join(peers, "snakemake"),
                        ["out", ".snakemake"], 1, ntasks)
            # the targets: wide and fan, both ways; chain (dispatch latency) without the
            # sandbox; the no-op run of wide; none for diamond
            plain_t, sand_t, noop_t = {"wide": ("target <= 1.2x", "target <= 2x", "target <= 0.2 s"),
                                       "fan": ("target <= 1.2x", "target <= 2x", "no target"),
                                       "chain": ("target <= 1.2x", "no target", "no target")}.get(
                                           shape, ("no target", "no target", "no target"))
            print("%-26s pipec / ninja, cold: %.2fx without the sandbox (%s), %.2fx with it (%s);"
                  " no-op %.3f s (%s)" % (label, pc / nc, plain_t, sc / nc, sand_t, pn, noop_t), flush=True)


if __name__ == "__main__":
    main()
