"""Is this version of the grader as fast as an earlier one? Both grade the same class, interleaved.

    python benchmarks/bench_versions.py                      # against the baseline below, 3 rounds
    python benchmarks/bench_versions.py --baseline REV --runs 5

The earlier version is checked out with `git worktree` into a temporary folder and run from there
with this interpreter (its own `grader` package first on the path); the class is the one
bench_grading.py writes (150 notebooks and 50 .py files from tests/corpus). Each round times the
current and the earlier version with --jobs 1 and --jobs 2, so load on the machine falls on both alike.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench_grading import ROOT, Plan, machine, median, progress, run_timed, write_class

BASELINE = "562bc12"  # the last commit before exercises became data (dimensions, inputs, validate)
# The version's command as installed: its `run` where it has one (which skips the interpreter's teardown), else `main`
BOOT = ("import sys; root = sys.argv.pop(1); sys.path.insert(0, root); import grader; "
        "assert grader.__file__.startswith(root), grader.__file__; "
        "from grader import cli; sys.argv[0] = 'rnn-grader'; getattr(cli, 'run', cli.main)()")
RESULTS_FILE = ROOT / "benchmarks" / "versions.json"


def grade_command(source: Path, folder: Path, jobs: int, output: Path, exercise: str = "rnn-bptt") -> list[str]:
    return [sys.executable, "-c", BOOT, str(source), "grade", str(folder), "--exercise", exercise,
            "--jobs", str(jobs), "--secret", "bench", "--format", "json", "-o", str(output)]


def timed(source: Path, folder: Path, jobs: int, output: Path, expected: int) -> float:
    elapsed = run_timed(grade_command(source, folder, jobs, output))
    graded = len(json.loads(output.read_text(encoding="utf-8"))["submissions"])
    if graded != expected:
        raise RuntimeError(f"{source} graded {graded} submissions, expected {expected}")
    return elapsed


@contextmanager
def checked_out(commit: str, folder: Path) -> Iterator[Path]:
    """`commit`'s tree in `folder` (a git worktree, removed after)."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), commit],
                   check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False)


def measure(baseline: Path, folder: Path, size: int, runs: int, workdir: Path) -> dict[str, list[float]]:
    contenders = {f"{name}_jobs{jobs}": (source, jobs)
                  for jobs in (1, 2) for name, source in (("current", ROOT), ("baseline", baseline))}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_number in range(1, runs + 1):
        for name, (source, jobs) in contenders.items():
            times[name].append(timed(source, folder, jobs, workdir / f"{name}.json", size))
            progress(f"round {round_number}: {name} {times[name][-1]:.2f} s")
    return times


def report(times: dict[str, list[float]], size: int, baseline: str) -> dict:
    medians = {name: median(values) for name, values in times.items()}
    ratios = {f"jobs{jobs}": medians[f"current_jobs{jobs}"] / medians[f"baseline_jobs{jobs}"] for jobs in (1, 2)}
    print(f"{size} submissions (150 notebooks, 50 .py), medians of {len(next(iter(times.values())))} runs")
    for name, value in medians.items():
        print(f"  {name:<16} {value:7.2f} s   {1000 * value / size:6.1f} ms / submission")
    for jobs, ratio in ratios.items():
        print(f"  current / baseline ({jobs}): {ratio:.2f}")
    return {"baseline": baseline, "submissions": size, "times_s": times, "median_s": medians,
            "current_over_baseline": ratios, "machine": machine()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="the earlier commit")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-versions-") as temporary:
        workdir = Path(temporary)
        with checked_out(args.baseline, workdir / "baseline") as baseline:
            klass = write_class(workdir, Plan())
            times = measure(baseline, klass.everything, klass.size, args.runs, workdir)
    args.output.write_text(json.dumps(report(times, klass.size, args.baseline), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
