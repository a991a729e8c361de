"""Where a submission's time goes: the grading pipeline's stages timed one by one, per submission.

    python benchmarks/bench_stages.py            # the 200-submission class of bench_grading.py, 3 rounds
    python benchmarks/bench_stages.py --runs 5 --jobs 2

Runs the library's own steps in this process, in order, on the same class: loading and checking the
exercise, reading the submissions (notebooks converted), drawing the cases and the expected answers,
running the code in the sandbox, judging, and writing the JSON report. Each stage's median over the
rounds is printed in milliseconds per submission, beside the whole command's wall time measured in the
same round (which adds the interpreter's start and the imports), and the peak memory of the grader and
of its sandbox processes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_grading import ROOT, Plan, median, write_class

sys.path.insert(0, str(ROOT))

STAGES = ["exercise", "read", "cases", "sandbox", "judge", "report"]
RESULTS_FILE = ROOT / "benchmarks" / "stages.json"


def one_round(folder: Path, jobs: int) -> dict[str, float]:
    """Seconds spent in each stage for one grading of `folder`."""
    from grader import grading
    from grader.exercise_check import load_checked_exercise
    from grader.report import native_json
    from grader.submission import discover

    spent: dict[str, float] = {}

    def timed(stage: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        value = work()
        spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - started
        return value

    exercise = timed("exercise", lambda: load_checked_exercise("rnn-bptt", "bench"))
    options = grading.GradingOptions(jobs=jobs, secret="bench")
    batch = grading._Batch(exercise, options, grading._context(exercise, options), [folder])
    submissions = timed("read", lambda: discover([folder]))
    timed("cases", lambda: [batch.setting(s) for s in submissions])
    runs = timed("sandbox", lambda: list(grading.run_submissions(dict(enumerate(submissions)), batch)))
    by_key = {int(run.key): run for run in runs}
    results = timed("judge", lambda: [grading.judge_submission(s, by_key.get(i), batch)
                                      for i, s in enumerate(submissions)])
    timed("report", lambda: native_json.render(grading.GradingResults(exercise=exercise.id, submissions=results)))
    return spent


def whole_command(folder: Path, jobs: int, output: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "grade", str(folder), "--jobs", str(jobs), "--secret", "bench",
                    "--format", "json", "-o", str(output)], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as temporary:
        klass = write_class(Path(temporary), Plan())
        rounds, walls = [], []
        for _ in range(args.runs):
            rounds.append(one_round(klass.everything, args.jobs))
            walls.append(whole_command(klass.everything, args.jobs, Path(temporary) / "out.json"))
    per = {stage: 1000 * median([r.get(stage, 0.0) for r in rounds]) / klass.size for stage in STAGES}
    report = {"submissions": klass.size, "jobs": args.jobs, "runs": args.runs, "ms_per_submission": per,
              "stages_total_ms": sum(per.values()), "whole_command_ms": 1000 * median(walls) / klass.size,
              "peak_rss_mb_grader": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "peak_rss_mb_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    print(f"{klass.size} submissions, --jobs {args.jobs}, medians of {args.runs} rounds (ms per submission)")
    for stage in STAGES:
        print(f"  {stage:<9} {per[stage]:7.2f}")
    print(f"  {'stages':<9} {report['stages_total_ms']:7.2f}   whole command: {report['whole_command_ms']:.2f}")
    print(f"  peak memory: grader {report['peak_rss_mb_grader']:.0f} MB, "
          f"largest sandbox process {report['peak_rss_mb_children']:.0f} MB")
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
