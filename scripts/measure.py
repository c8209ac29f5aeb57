#!/usr/bin/env python3
"""Times a command the way scripts/bench.sh reports it.

    measure.py RUNS CMD [ARG...]

Runs CMD RUNS times with stdout on /dev/null and prints one line:

    BEST_WALL_S RSS_KIB_OF_BEST MEDIAN_WALL_S MIN_WALL_S MAX_WALL_S

Wall time is taken around posix_spawn + wait4 of the command itself; peak RSS is the
child's own ru_maxrss from wait4(2). Wrapping the command in /usr/bin/time, as the script
once did, added that program's own exec and start-up, 1-2 ms, to every run.
Exits 1, printing nothing, when a run fails.
"""
import os
import statistics
import sys
import time


def main() -> int:
    runs, cmd = int(sys.argv[1]), sys.argv[2:]
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1)]
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            print(f"measure.py: {cmd[0]} failed ({status:#x})", file=sys.stderr)
            return 1
        results.append((wall, usage.ru_maxrss))
    best = min(results)
    walls = [w for w, _ in results]
    print(f"{best[0]:.5f} {best[1]} {statistics.median(walls):.5f} {min(walls):.5f} {max(walls):.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
