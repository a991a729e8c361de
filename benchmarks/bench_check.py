#!/usr/bin/env python3
"""A student's loop: one self-check of one .py file, from the command line, timed whole.

    python benchmarks/bench_check.py            # median of 10 each, interleaved, about 15 s
    python benchmarks/bench_check.py --runs 20

Three commands, run in turn (round-robin, so a busy moment of the machine falls on all three alike), each
timed from its start to its exit, interpreter start-up and imports included:

- `python -c "import numpy"`: the baseline, what any numpy program pays before it does anything;
- `rnn-grader check FILE --exercise rnn-bptt`, the installed command;
- `python kit/check.py FILE`, with a student kit exported into a temporary folder.

FILE is a correct `.py` answer (`tests/corpus/correct/student02_vectorised.py`). Bytecode is written as a
student's machine writes it (`PYTHONDONTWRITEBYTECODE` is removed), and each command runs once before timing,
so what is timed is the loop after a first check. The median wall time, and as a multiple of the baseline's; the median CPU time of the command's
processes (user + system, all of them: the sandbox's too), which a busy machine disturbs less.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "tests" / "corpus" / "correct" / "student02_vectorised.py"
TARGET_SECONDS = 0.25


def commands(kit: Path) -> dict[str, list[str]]:
    grader = shutil.which("rnn-grader", path=str(Path(sys.executable).parent)) or "rnn-grader"
    return {
        'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
        "rnn-grader check FILE": [grader, "check", str(WORK), "--exercise", "rnn-bptt"],
        "python kit/check.py FILE": [sys.executable, str(kit / "check.py"), str(WORK)],
    }


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + system) of the command's whole process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: a question does not pass (the write-up is not given)
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def measure(runs: int) -> dict[str, list[tuple[float, float]]]:
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="bench-check-") as folder:
        kit = Path(folder) / "kit"
        subprocess.run(
            [sys.executable, "-m", "grader", "export", "student", "rnn-bptt", "-o", str(kit)],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        chosen = commands(kit)
        for command in chosen.values():  # bytecode written, caches made: the loop after a first check
            timed(command, env, Path(folder))
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in chosen}
        for _ in range(runs):
            for name, command in chosen.items():
                times[name].append(timed(command, env, Path(folder)))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each command (median reported)")
    runs = parser.parse_args().runs
    times = measure(runs)
    baseline = statistics.median(wall for wall, _ in next(iter(times.values())))
    print(f"median of {runs}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end")
    for name, values in times.items():
        walls = [wall for wall, _ in values]
        median = statistics.median(walls)
        target = "" if name.startswith("python -c") else f"   target {TARGET_SECONDS} s: {_verdict(median)}"
        print(
            f"  {name:<26} {median:6.3f} s  {median / baseline:4.1f}x baseline  "
            f"cpu {statistics.median(cpu for _, cpu in values):.3f} s  (wall min {min(walls):.3f}){target}"
        )


def _verdict(seconds: float) -> str:
    return "met" if seconds <= TARGET_SECONDS else "NOT met"


if __name__ == "__main__":
    main()
