#!/usr/bin/env python3
"""A student's loop: one self-check of one .py file, from the command line, timed whole.

    python benchmarks/bench_check.py                         # median of 10 each, interleaved
    python benchmarks/bench_check.py --against /tmp/before   # also another version's source tree, same rounds

Commands run in turn (round-robin, so a busy moment of the machine falls on all of them alike), each timed
from its start to its exit, interpreter start-up and imports included:

- `python -c "import numpy"`: the baseline, what any numpy program pays before it does anything;
- `rnn-grader check FILE --exercise rnn-bptt`, the installed command;
- `python kit/check.py FILE`, with a student kit exported into a temporary folder;
- with `--against DIR` (a checkout of another commit, `git worktree add DIR COMMIT`), the same two commands
  run from that tree (`PYTHONPATH=DIR`), its kit exported by that version; its command as `python -m grader`,
  since the installed script calls this version's entry point.

FILE is a correct `.py` answer (`tests/corpus/correct/student02_vectorised.py`), or the one `--work` names.
Bytecode is written as a student's machine writes it (`PYTHONDONTWRITEBYTECODE` is removed), and each command
runs once before timing, so what is timed is the loop after a first check. Reported: the median wall time, and
as a multiple of the baseline's; the median CPU time of the command's processes (user + system, all of them: the
sandbox's too), which a busy machine disturbs less.
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
BASELINE = 'python -c "import numpy"'

Command = tuple[list[str], dict[str, str]]  # argv, and what it adds to the environment


def commands(folder: Path, against: Path | None, work: Path) -> dict[str, Command]:
    """Every command to time; kits are exported into `folder` first."""
    grader = shutil.which("rnn-grader", path=str(Path(sys.executable).parent)) or "rnn-grader"
    chosen: dict[str, Command] = {BASELINE: ([sys.executable, "-c", "import numpy"], {})}
    versions = {"": {}} | ({f"{against.name}: ": {"PYTHONPATH": str(against)}} if against else {})
    for label, env in versions.items():
        kit = folder / f"kit{len(chosen)}" / "kit"
        export = [sys.executable, "-m", "grader", "export", "student", "rnn-bptt", "-o", str(kit)]
        subprocess.run(export, check=True, cwd=folder, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
        # another version runs as `python -m grader`: the installed command's script calls this version's entry
        launcher = [grader] if not env else [sys.executable, "-m", "grader"]
        name = "rnn-grader" if not env else "python -m grader"
        chosen[f"{label}{name} check FILE"] = ([*launcher, "check", str(work), "--exercise", "rnn-bptt"], env)
        chosen[f"{label}python kit/check.py FILE"] = ([sys.executable, str(kit / "check.py"), str(work)], env)
    return chosen


def timed(command: Command, cwd: Path) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + system) of the command's whole process tree."""
    argv, extra = command
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"} | extra
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: a question does not pass (the write-up is not given)
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def measure(runs: int, against: Path | None, work: Path) -> dict[str, list[tuple[float, float]]]:
    with tempfile.TemporaryDirectory(prefix="bench-check-") as name:
        folder = Path(name)
        chosen = commands(folder, against, work)
        for command in chosen.values():  # bytecode written: the loop after a first check
            timed(command, folder)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in chosen}
        for _ in range(runs):
            for label, command in chosen.items():
                times[label].append(timed(command, folder))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each command (median reported)")
    parser.add_argument("--against", type=Path, help="the source tree of another version, timed in the same rounds")
    parser.add_argument("--work", type=Path, default=WORK, help="the work checked (default: a correct .py file)")
    arguments = parser.parse_args()
    against = arguments.against.resolve() if arguments.against else None
    times = measure(arguments.runs, against, arguments.work.resolve())
    baseline = statistics.median(wall for wall, _ in times[BASELINE])
    print(f"median of {arguments.runs}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end")
    for label, values in times.items():
        walls = [wall for wall, _ in values]
        median = statistics.median(walls)
        target = "" if label == BASELINE else f"   target {TARGET_SECONDS} s: {_verdict(median)}"
        print(
            f"  {label:<36} {median:6.3f} s  {median / baseline:4.1f}x baseline  "
            f"cpu {statistics.median(cpu for _, cpu in values):.3f} s  (wall min {min(walls):.3f}){target}"
        )


def _verdict(seconds: float) -> str:
    return "met" if seconds <= TARGET_SECONDS else "NOT met"


if __name__ == "__main__":
    main()
