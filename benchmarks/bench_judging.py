#!/usr/bin/env python3
"""The grader's judging alone: CPU to judge the corpus's write-ups and .py files, against another version.

    python benchmarks/bench_judging.py                          # this tree, 3 rounds
    python benchmarks/bench_judging.py --against /tmp/before    # and another version's tree, alternating rounds

Each round grades two folders in a fresh process per version (`PYTHONPATH` set to the version's tree): every
write-up of `tests/corpus/writeups/` with the real answer of `tests/examples/` (144 write-ups), and every `.py` file
of `tests/corpus/correct/` and `wrong/`. What is counted is the thread CPU spent in the pipeline's
`judge_submission` (expected answers, comparisons, diagnoses, the written reader), in the second grading of
each folder in that process: what a process computes once for a class (the grammar's tables, compiled patterns,
what the references remember) is left out as it is in a class, while the caches of what was read (each write-up's
reading and its parsed pieces of math) are emptied in between, as every write-up of a class is a new text. The
students' code runs in the sandbox as usual and is not counted.
Reported: the median over the rounds of the total per folder, per submission, and this tree's over the other's
median of paired rounds (the versions alternate, so a slow spell of the machine falls on both).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"

MEASURE = r"""
import json, sys, time
from pathlib import Path
import grader.pipeline as pipeline
from grader.judge.exercise_check import load_checked_exercise

spent = []
judge = pipeline.judge_submission

def timed_judge(*args, **kwargs):
    started = time.thread_time()
    try:
        return judge(*args, **kwargs)
    finally:
        spent.append(time.thread_time() - started)

pipeline.judge_submission = timed_judge


def forget_readings():
    from grader.judge.written import context, links, parsing
    for cached in (parsing.read_writeup, parsing._parse_piece, links.token_tree):
        cached.cache_clear()
    context._RECENT.clear()

exercise = load_checked_exercise("rnn-bptt", "bench")
totals = {}
for name in sys.argv[1:]:
    options = pipeline.GradingOptions(secret="bench", jobs=2)
    pipeline.grade([Path(name)], exercise, options)  # once: what a class computes once
    forget_readings()
    spent.clear()
    pipeline.grade([Path(name)], exercise, options)
    totals[Path(name).name] = (sum(spent), len(spent))
print(json.dumps(totals))
"""


def folders(work: Path) -> list[Path]:
    writeups = sorted((CORPUS / "writeups").rglob("*.md")) + [ROOT / "tests/examples/student_answer_rnn_bptt.md"]
    python = sorted((CORPUS / "correct").glob("*.py")) + sorted((CORPUS / "wrong").glob("*.py"))
    made = []
    for name, files in (("writeups", writeups), ("py", python)):
        folder = work / name
        folder.mkdir()
        for number, path in enumerate(files):
            shutil.copy(path, folder / f"s{number:03d}{path.suffix}")
        made.append(folder)
    return made


def judged(tree: Path, chosen: list[Path]) -> dict[str, tuple[float, int]]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)
    done = subprocess.run([sys.executable, "-c", MEASURE, *map(str, chosen)], env=env, cwd=tree,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--against", type=Path, help="another version's source tree (git worktree add DIR COMMIT)")
    args = parser.parse_args()
    versions = {"this tree": ROOT} | ({f"{args.against.name}": args.against.resolve()} if args.against else {})
    rounds: dict[str, list[dict]] = {name: [] for name in versions}
    with tempfile.TemporaryDirectory(prefix="bench-judging-") as name:
        chosen = folders(Path(name))
        for number in range(args.runs):
            order = list(versions.items())
            for version, tree in order if number % 2 == 0 else order[::-1]:
                rounds[version].append(judged(tree, chosen))
    for folder in ("writeups", "py"):
        print(f"{folder}:")
        for version, results in rounds.items():
            totals = [result[folder][0] for result in results]
            count = results[0][folder][1]
            print(f"  {version:<12} {statistics.median(totals):7.3f} s CPU for {count} submissions, "
                  f"{1000 * statistics.median(totals) / count:6.1f} ms each (rounds: "
                  + ", ".join(f"{t:.2f}" for t in totals) + ")")
        if len(versions) == 2:
            mine, other = (rounds[name] for name in versions)
            paired = [a[folder][0] / b[folder][0] for a, b in zip(mine, other)]
            print(f"  this tree / other: {statistics.median(paired):.2f} (paired rounds: "
                  + ", ".join(f"{r:.2f}" for r in paired) + ")")


if __name__ == "__main__":
    main()
