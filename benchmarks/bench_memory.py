#!/usr/bin/env python3
"""Memory that does not grow with the class: the peak resident memory of every process of a grading, beside its time.

    python benchmarks/bench_memory.py                        # 1,000 and 10,000 submissions (10 minutes or more)
    python benchmarks/bench_memory.py --quick                # 1,000 only
    python benchmarks/bench_memory.py --baseline 2d9b3e1     # also that commit's grader, on the same classes

Each class is light `.py` submissions cycling `tests/corpus/correct/*.py` and `wrong/*.py`, each made distinct by its
student number. Each grading is the real command, `rnn-grader grade FOLDER --exercise rnn-bptt --jobs 2 --secret
bench --format json -o FILE`, in a subprocess, timed whole and checked to have reported every submission. Peaks:
- the grader's own, and the largest of all its descendants, from the kernel (`ru_maxrss` of RUSAGE_SELF and of
  RUSAGE_CHILDREN, read as the grader exits: the children's figure is the largest single process among the warm
  process, the supervisors and the students, all of them reaped by their parents);
- per role, from `/proc/PID/status` (VmHWM, the process's own peak) polled every 0.1 s over the grader's process
  tree: the warm process (the grader's child), the supervisors (its children), the students (theirs); a student
  living less than a poll may be missed there, never in the kernel's figure.
Writes benchmarks/memory.json (or --output).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench_grading import EXERCISE, PYTHON_SOURCES, ROOT, machine, progress, python_variant

RESULTS_FILE = ROOT / "benchmarks" / "memory.json"
SIZES = (1000, 10000)
QUICK_SIZES = (1000,)
LIMIT_MB = 250.0
POLL_SECONDS = 0.1
ROLES = ("warm process", "supervisor", "student")  # by depth below the grader: 1, 2, 3 and deeper
PROBE = (  # the grader's command line, reporting its own and its descendants' peaks as it exits
    "import atexit, resource, sys\n"
    "sys.path.insert(0, sys.argv.pop(1))\n"
    "def report():\n"
    "    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "    print(f'PEAK {own} {children}', file=sys.stderr)\n"
    "atexit.register(report)\n"
    "from grader.cli import main\n"
    "sys.argv[0] = 'rnn-grader'\n"
    "main()\n"
)


@dataclass
class Measured:
    """One grading of one class: its time and the peaks, in MB."""

    grader: str
    submissions: int
    seconds: float
    grader_mb: float
    descendants_mb: float  # the largest single descendant, from the kernel
    polled_mb: dict[str, float] = field(default_factory=dict)  # per role, from /proc
    processes_seen: dict[str, int] = field(default_factory=dict)

    @property
    def every_process_mb(self) -> float:
        return max(self.grader_mb, self.descendants_mb, *self.polled_mb.values())


def write_class(folder: Path, size: int) -> Path:
    """`size` light .py submissions, cycling the corpus, each distinct by its student number."""
    folder.mkdir(parents=True)
    for number in range(size):
        source = PYTHON_SOURCES[number % len(PYTHON_SOURCES)]
        (folder / f"s{number:05d}_{source.name}").write_text(python_variant(source, number), encoding="utf-8")
    return folder


class TreePoller:
    """Polls /proc for the peak (VmHWM) of each process below `root`, by its depth in the tree."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peaks: dict[int, tuple[int, float]] = {}  # pid: (depth, peak MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreePoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            for pid, depth in _descendants(self.root).items():
                peak = _peak_mb(pid)
                if peak is not None:
                    self.peaks[pid] = (depth, max(peak, self.peaks.get(pid, (depth, 0.0))[1]))

    def by_role(self) -> tuple[dict[str, float], dict[str, int]]:
        """The largest peak seen per role, and how many processes of each role were seen."""
        peaks: dict[str, float] = {}
        seen: dict[str, int] = {}
        for depth, peak in self.peaks.values():
            role = ROLES[min(depth, len(ROLES)) - 1]
            peaks[role] = max(peaks.get(role, 0.0), peak)
            seen[role] = seen.get(role, 0) + 1
        return peaks, seen


def _descendants(root: int) -> dict[int, int]:
    """{pid: depth below root} of every living descendant of `root`, by role: a warm process's spare (its child in
    a session of its own, grader/run/zygote.py) is a warm process too, at depth 1."""
    children: dict[int, list[int]] = {}
    leads_session: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
            children.setdefault(int(fields[1]), []).append(int(entry))
            if int(fields[3]) == int(entry):
                leads_session.add(int(entry))
    depths: dict[int, int] = {}
    frontier = [(root, 0)]
    while frontier:
        pid, depth = frontier.pop()
        for child in children.get(pid, []):
            depths[child] = 1 if depth == 1 and child in leads_session else depth + 1
            frontier.append((child, depths[child]))
    return depths


def _peak_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def grade(grader: Path, label: str, folder: Path, size: int, jobs: int, workdir: Path) -> Measured:
    """One grading of `folder` by the grader in `grader` (a source tree), timed, with every process's peak."""
    output = workdir / f"{label}-{size}.json"
    command = [sys.executable, "-c", PROBE, str(grader), "grade", str(folder), "--exercise", EXERCISE,
               "--jobs", str(jobs), "--secret", "bench", "--format", "json", "-o", str(output)]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                               cwd=workdir)
    with TreePoller(process.pid) as poller:
        _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{label}: rnn-grader exited {process.returncode}:\n{stderr[-2000:]}")
    graded = len(json.loads(output.read_text(encoding="utf-8"))["submissions"])
    if graded != size:
        raise RuntimeError(f"{label}: rnn-grader reported {graded} submissions, expected {size}")
    output.unlink()
    own, children = (int(value) / 1024 for value in _peak_line(stderr).split()[1:])
    polled, seen = poller.by_role()
    return Measured(label, size, round(seconds, 1), round(own, 1), round(children, 1),
                    {role: round(mb, 1) for role, mb in polled.items()}, seen)


def _peak_line(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if line.startswith("PEAK "))


def exported(commit: str, folder: Path) -> Path:
    """The grader's source tree at `commit`, written into `folder` (nothing in the working tree changes)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "grader", "exercises", "reference"],
                             capture_output=True, check=True)
    folder.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def table(measured: list[Measured]) -> str:
    lines = ["| grader | submissions | wall | grader peak | warm process | supervisors | students | every process |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for m in measured:
        polled = [f"{m.polled_mb.get(role, float('nan')):.0f} MB" for role in ROLES]
        lines.append(f"| {m.grader} | {m.submissions:,} | {m.seconds:.0f} s | {m.grader_mb:.0f} MB | "
                     f"{' | '.join(polled)} | {m.every_process_mb:.0f} MB |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 1,000-submission class")
    parser.add_argument("--sizes", type=int, nargs="+", help="class sizes (default: 1000 10000)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--baseline", metavar="COMMIT", help="also grade each class with this commit's grader")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args()
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    about = machine()  # the load average as the runs start
    measured: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        workdir = Path(scratch)
        graders = [("this tree", ROOT)]
        if args.baseline:
            graders.append((args.baseline, exported(args.baseline, workdir / "baseline")))
        for size in sizes:
            folder = write_class(workdir / f"class-{size}", size)
            for label, grader in graders:
                progress(f"grading {size:,} submissions with {label} ...")
                measured.append(grade(grader, label.replace(" ", "-"), folder, size, args.jobs, workdir))
                progress(table(measured[-1:]).splitlines()[-1])
    print(table(measured))
    ours = [m for m in measured if m.grader == "this-tree"]
    flat = all(m.every_process_mb <= LIMIT_MB for m in ours)
    print(f"every process at most {LIMIT_MB:.0f} MB with this tree: {'met' if flat else 'MISSED'}")
    report = {"when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "machine": about,
              "jobs": args.jobs, "limit_mb": LIMIT_MB, "runs": [asdict(m) | {"every_process_mb": m.every_process_mb}
                                                                 for m in measured]}
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    progress(f"wrote {args.output}")


if __name__ == "__main__":
    main()
