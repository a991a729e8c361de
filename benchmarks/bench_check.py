#!/usr/bin/env python3
"""A student's loop: one self-check of one .py file, from the command line, timed whole.

    python benchmarks/bench_check.py                         # median of 10 each, interleaved
    python benchmarks/bench_check.py --against /tmp/before   # also another version's source tree, same rounds

Each version is installed as a student installs it: a wheel built from its source tree, in a virtual environment
of its own made for the run, whose dependencies are this interpreter's (a `.pth` line naming its site-packages, so
that they are the same versions for every version). A development checkout's editable install would add its
import hook to every interpreter start, the warm process's too (about 17 ms here); a student's has none.

Commands run in turn (round-robin, so a busy moment of the machine falls on all of them alike), each timed
from its start to its exit, interpreter start-up and imports included:

- `python -c "import numpy"`: the baseline, what any numpy program pays before it does anything;
- `rnn-grader check FILE --exercise rnn-bptt`, the installed command;
- `python kit/check.py FILE`, with a student kit exported into a temporary folder;
- with `--against DIR` (a checkout of another commit, `git worktree add DIR COMMIT`), the same two commands
  of that version, installed the same way, its kit exported by that version.

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
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "tests" / "corpus" / "correct" / "student02_vectorised.py"
TARGET_SECONDS = 0.25
BASELINE = 'python -c "import numpy"'

Command = list[str]


def commands(folder: Path, against: Path | None, work: Path) -> dict[str, Command]:
    """Every command to time; each version installed, and its kit exported, into `folder` first."""
    chosen: dict[str, Command] = {}
    versions = {"": ROOT} | ({f"{against.name}: ": against} if against else {})
    for number, (label, tree) in enumerate(versions.items()):
        python = installed(tree, folder / f"venv{number}")
        chosen.setdefault(BASELINE, [str(python), "-c", "import numpy"])
        kit = folder / f"kit{number}" / "kit"
        export = [str(python), "-m", "grader", "export", "student", "rnn-bptt", "-o", str(kit)]
        subprocess.run(export, check=True, cwd=folder, stdout=subprocess.DEVNULL)
        chosen[f"{label}rnn-grader check FILE"] = [
            str(python.parent / "rnn-grader"),
            "check",
            str(work),
            "--exercise",
            "rnn-bptt",
        ]
        chosen[f"{label}python kit/check.py FILE"] = [str(python), str(kit / "check.py"), str(work)]
    return chosen


def installed(tree: Path, venv: Path) -> Path:
    """The version in `tree`, built as a wheel and installed into a new virtual environment; its interpreter.
    The tree is copied first: building writes into the folder it builds from."""
    source = venv.with_name(venv.name + "-source")
    shutil.copytree(
        tree, source, ignore=shutil.ignore_patterns(".*", "__pycache__", "build", "*.egg-info", "tests", "docs")
    )
    wheels = venv.with_name(venv.name + "-wheel")
    quiet = {"check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)], **quiet)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], **quiet)
    python = venv / "bin" / "python"
    wheel = [str(path) for path in wheels.glob("*.whl")]
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", *wheel], **quiet
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = dict.fromkeys(sysconfig.get_paths()[kind] for kind in ("purelib", "platlib"))
    Path(site, "dependencies.pth").write_text("".join(f"{folder}\n" for folder in ours))
    return python


def timed(argv: Command, cwd: Path) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + system) of the command's whole process tree."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
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
