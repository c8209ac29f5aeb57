#!/usr/bin/env python3
"""Fails when a cost input's work grows faster than its size (issue #20; benches/README.md, "Cost").

    cost-growth.py BINARY

For each input of `gen-cost.py` it runs BINARY (`[explain] -q --mesh istio -c
benches/all-features.yaml FILE`) on the input at n and at 4n items, best of three, and compares CPU time (user + system).
Linear work grows about 4 times; quadratic work 16 times. A ratio above 8, a run over 120 s or
a failed run fails. CPU time, not wall time: the other core may be busy.
"""
import os
import resource
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "benches", "all-features.yaml")
# (what gen-cost.py writes, n, the subcommand, and what it exercises). n is chosen so that a run at n takes
# about 0.05 s or more: shorter ones measure start-up.
# A case may run a subcommand instead of the filter.
CASES = [
    ("list", 2000, [], "a block List: each item's source name and line"),
    ("json-list", 5000, [], "a one-line JSON List: the parser, the patch of each item"),
    ("json-list", 5000, ["explain"], "explain on it: each change's place"),
    ("ring", 1000, [], "workloads that all call each other: authorization and NetworkPolicies"),
]
RATIO = 8.0
LIMIT = 120


def cpu(binary, sub, path):
    """Best-of-three CPU seconds of one run, or why there is none (a string)."""
    best = None
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            subprocess.run(
                [binary, *sub, "-q", "--mesh", "istio", "-c", CONFIG, path],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=True,
                timeout=LIMIT,
            )
        except subprocess.TimeoutExpired:
            return f"over {LIMIT} s"
        except subprocess.CalledProcessError as e:
            return f"exit status {e.returncode}"
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = spent if best is None else min(best, spent)
    return best


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    failed = []
    print(f"| input | n | CPU at n | CPU at 4n | ratio (linear 4, quadratic 16; fails above {RATIO:g}) |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="gunj-mesh-cost-") as tmp:
        for what, n, sub, why in CASES:
            name = " ".join([*sub, what])
            times = []
            for size in (n, 4 * n):
                path = os.path.join(tmp, f"{what}-{size}.yaml")
                subprocess.run(
                    [sys.executable, os.path.join(REPO, "scripts", "gen-cost.py"), what, str(size), path],
                    check=True,
                )
                times.append(cpu(binary, sub, path))
            small, large = times
            if isinstance(small, str) or isinstance(large, str):
                shown = [t if isinstance(t, str) else f"{t:.3f} s" for t in times]
                print(f"| `{name}` | {n} | {shown[0]} | {shown[1]} | — |")
                failed.append(f"{name} ({why}): a run ended with {shown[1] if isinstance(large, str) else shown[0]}")
                continue
            ratio = large / max(small, 1e-3)
            print(f"| `{name}` | {n} | {small:.3f} s | {large:.3f} s | {ratio:.1f} |")
            if ratio > RATIO:
                failed.append(f"{name} ({why}): {ratio:.1f} times the CPU for 4 times the input")
    for f in failed:
        print(f"error: cost grows faster than the input: {f}", file=sys.stderr)
    sys.exit(1 if failed else 0)


main()
