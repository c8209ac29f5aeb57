#!/usr/bin/env python3
"""Times a command the way scripts/bench.sh reports it.

    measure.py RUNS SECONDS CMD [ARG...]

Runs CMD at least RUNS times, and until the runs have taken SECONDS in all,
with stdout on /dev/null, and prints one line:

    BEST_WALL_S MAX_RSS_KIB MEDIAN_WALL_S MIN_WALL_S MAX_WALL_S RUNS

Wall time is taken around posix_spawn + wait4 of the command itself; peak RSS is the
largest ru_maxrss from wait4(2) over all runs. Wrapping the command in /usr/bin/time, as
the script once did, added that program's own exec and start-up, 1-2 ms, to every run.
The time floor is hyperfine's rule (3 s by default there): five runs of a 20 ms command
sample 0.1 s of a shared VM, whose noise moved their best by a quarter between runs
minutes apart, while each run of a 6 s command averages that noise out.
Exits 1, printing nothing, when a run fails.
"""
import os
import statistics
import sys
import time


def main() -> int:
    runs, seconds, cmd = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1)]
    results = []
    spent = 0.0
    while len(results) < runs or spent < seconds:
        start = time.perf_counter()
        pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            print(f"measure.py: {cmd[0]} failed ({status:#x})", file=sys.stderr)
            return 1
        results.append((wall, usage.ru_maxrss))
        spent += wall
    walls = [w for w, _ in results]
    rss = max(r for _, r in results)
    print(
        f"{min(walls):.5f} {rss} {statistics.median(walls):.5f} {min(walls):.5f}"
        f" {max(walls):.5f} {len(results)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
