#!/usr/bin/env python3
"""Times commands round-robin, so that the noise of a shared machine falls on all of them
alike (hyperfine times one command's runs back to back). Usage:

  interleave.py RESULTS CASE RUNS WARMUP [--settle] [--prepare NAME=CMD]... NAME=CMD...

Each round runs every command once, in a rotating order, after its prepare command (not
timed). With --settle, each timed command first waits (up to 5 s) for the machine to go
idle: a burst of 100 containers leaves seconds of deferred kernel work (network namespace
teardown, RCU callbacks) that would otherwise be charged to whichever runtime comes next. Appends "CASE NAME MEDIAN_MS" lines to RESULTS, or "CASE NAME FAILED" when a
command exits non-zero (unless INTERLEAVE_IGNORE_STATUS is set). Commands are split like a
shell would split them, never run by one.
"""
import os
import shlex
import statistics
import sys
import time


def spawn(argv):
    pid = os.posix_spawnp(argv[0], argv, os.environ,
                          file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                                        (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)])
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]  # total, idle + iowait


def settle(limit=5.0, quiet=0.05):
    """Returns once a 100 ms window saw less than `quiet` of the CPUs busy, or after `limit` s."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        t0, i0 = cpu_times()
        time.sleep(0.1)
        t1, i1 = cpu_times()
        if t1 > t0 and 1 - (i1 - i0) / (t1 - t0) < quiet:
            return


def main():
    results, case, runs, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    commands, prepare = [], {}
    args = sys.argv[5:]
    quiet_start = False
    i = 0
    while i < len(args):
        if args[i] == "--settle":
            quiet_start = True
            i += 1
            continue
        if args[i] == "--prepare":
            name, cmd = args[i + 1].split("=", 1)
            prepare[name] = shlex.split(cmd)
            i += 2
            continue
        name, cmd = args[i].split("=", 1)
        commands.append((name, shlex.split(cmd)))
        i += 1
    times = {name: [] for name, _ in commands}
    failed = set()
    for r in range(warmup + runs):
        k = r % len(commands)
        for name, argv in commands[k:] + commands[:k]:
            if name in failed:
                continue
            if name in prepare:
                spawn(prepare[name])
            if quiet_start:
                settle()
            t0 = time.perf_counter_ns()
            rc = spawn(argv)
            t1 = time.perf_counter_ns()
            if rc != 0 and not os.environ.get("INTERLEAVE_IGNORE_STATUS"):
                failed.add(name)
            elif r >= warmup:
                times[name].append((t1 - t0) / 1e6)
    with open(results, "a") as out:
        for name, _ in commands:
            if name in failed or not times[name]:
                out.write(f"{case} {name} FAILED\n")
            else:
                out.write(f"{case} {name} {statistics.median(times[name])}\n")


if __name__ == "__main__":
    main()
