#!/usr/bin/env python3
"""Whole-process wall time of several commands, alternating, over several repetitions.

    reps.py --reps N [--log FILE] \\
        --side NAME [--setup 'untimed shell command'] --cmd 'timed shell command' \\
        --side NAME2 ...

Each repetition runs every side in turn: its setup (not timed), then its command, timed from
spawn to exit (bash -c, stdout/stderr appended to the log), with the CPU time (user + system)
the command and its children used. A command exiting non-zero stops the benchmark. Prints
JSON: {side: {"times": [...], "median": s, "cpu": [...], "cpu_median": s}}.
"""
import json
import resource
import statistics
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    reps, log, sides = 3, "/dev/null", []
    i = 0
    while i < len(args):
        a, v = args[i], args[i + 1]
        if a == "--reps":
            reps = int(v)
        elif a == "--log":
            log = v
        elif a == "--side":
            sides.append({"name": v, "setup": None, "cmd": None, "times": [], "cpu": []})
        elif a in ("--setup", "--cmd"):
            sides[-1][a[2:]] = v
        else:
            raise SystemExit(f"reps.py: unknown argument {a}")
        i += 2
    with open(log, "a") as out:
        for rep in range(reps):
            for s in sides:
                if s["setup"]:
                    subprocess.run(["bash", "-c", s["setup"]], check=True, stdout=out, stderr=out)
                out.write(f"--- rep {rep} {s['name']}: {s['cmd']}\n")
                out.flush()
                u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                r = subprocess.run(["bash", "-c", s["cmd"]], stdout=out, stderr=out)
                dt = time.perf_counter() - t0
                u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                s["cpu"].append(u1.ru_utime + u1.ru_stime - u0.ru_utime - u0.ru_stime)
                if r.returncode != 0:
                    raise SystemExit(f"reps.py: {s['name']} exited {r.returncode}: {s['cmd']} (log: {log})")
                s["times"].append(dt)
    print(json.dumps({s["name"]: {"times": s["times"], "median": statistics.median(s["times"]), "cpu": s["cpu"],
                                  "cpu_median": statistics.median(s["cpu"])} for s in sides}, indent=2))


if __name__ == "__main__":
    main()
