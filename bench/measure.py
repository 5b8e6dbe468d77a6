"""Helpers the benchmarks share: one timed run of a command, and its peak RSS."""
import subprocess
import sys
import time


def timed(cmd, cwd=None):
    """Wall-clock seconds of one run of CMD in CWD; exits with its stderr if it fails."""
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit("%s failed (%d)%s: %s" % (" ".join(cmd), p.returncode,
                                            " in " + cwd if cwd else "", p.stderr.decode()[-500:]))
    return wall


def peak_rss_mib(cmd, cwd=None):
    """Peak RSS of one run of CMD in MiB, measured in a fresh helper process so that
    earlier runs do not count."""
    code = ("import resource,subprocess,sys;"
            "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code] + cmd, cwd=cwd, capture_output=True, text=True)
    return int(out.stdout.strip()) / 1024.0
