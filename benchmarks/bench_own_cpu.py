#!/usr/bin/env python3
"""Our own CPU per submission against an earlier commit, measured in the same run.

    python benchmarks/bench_own_cpu.py --baseline COMMIT            # 5 rounds of each class
    python benchmarks/bench_own_cpu.py --baseline COMMIT --runs 3 --classes py notebooks

The classes are bench_targets.py's (150 notebooks, 200 .py files, 1,000 mixed), and on request a class of one (a
.py file, or a notebook that plots) or 150 .py files of the cs231n-rnn exercise (`cs231n`: its backward questions
check the student's gradients against their own forward, so most of what a job returns is probes).
In each round, each class is graded with `--jobs 2` by this tree and by COMMIT (checked out with `git worktree`,
run with this interpreter and its own packages first on the path), one after the other (which goes first
alternates), each in a cpuacct cgroup of its own. Reported per class, medians over the rounds: the wall time, the
CPU of every process of the command per submission, the students' own CPU (the sum of the `cpu_s` each version
wrote) and ours (the difference), and this tree's over the baseline's; then, round by round, this tree's wall time
and own CPU over the baseline's in the same round (median, lowest and highest), which a drifting machine disturbs
less. One round's ratio varies by 10 to 20 % here: a change of a few per cent needs a dozen rounds to show.
The machine's speed drifts (other work shares it): only the ratios of one run are comparable.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_targets
import bench_versions
from bench_grading import ROOT, machine, median, progress

CLASSES = {
    "notebooks": {"notebook": 150},
    "py": {"py": 200},
    "mixed": bench_targets.mixed_counts(1000),
    "one": {"py": 1},  # a class of one, as a Gradescope or CI job grades it: start-up is all there is
    "one-notebook": {"notebook": 1},  # and one that plots: the plotting warm process's start too
    "cs231n": {"cs231n": 150},  # tests/corpus/cs231n's files, graded as cs231n-rnn
}
EXERCISES = {"cs231n": "cs231n-rnn"}  # the exercise of a class, where it is not rnn-bptt
DEFAULT_CLASSES = ["notebooks", "py", "mixed"]
RESULTS_FILE = ROOT / "benchmarks" / "own_cpu.json"


def graded(tree: Path, folder: Path, output: Path, expected: int, exercise: str = "rnn-bptt") -> dict[str, float]:
    """One grading by the grader in `tree`: wall seconds, CPU of every process, the students' CPU."""
    command = bench_versions.grade_command(tree, folder, 2, output, exercise)
    group = bench_targets._new_cgroup()
    if group is None:
        raise SystemExit("a cpuacct cgroup (v1, as root) is needed to count every process of a run")
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   preexec_fn=lambda: (group / "cgroup.procs").write_text("0"))
    wall = time.perf_counter() - started
    submissions = json.loads(output.read_text(encoding="utf-8"))["submissions"]
    if len(submissions) != expected:
        raise RuntimeError(f"{tree} graded {len(submissions)} submissions in {folder}, expected {expected}")
    return {"wall_s": wall, "cpu_s": bench_targets._cgroup_cpu(group),
            "students_cpu_s": sum(s.get("cpu_s", 0.0) for s in submissions)}


def summary(runs: list[dict[str, float]], size: int) -> dict[str, float]:
    cpu, students = median([r["cpu_s"] for r in runs]), median([r["students_cpu_s"] for r in runs])
    ours = median([r["cpu_s"] - r["students_cpu_s"] for r in runs])
    return {"wall_s": median([r["wall_s"] for r in runs]), "all_cpu_ms": 1000 * cpu / size,
            "students_cpu_ms": 1000 * students / size, "own_cpu_ms": 1000 * ours / size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="the earlier commit")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--classes", nargs="+", choices=list(CLASSES), default=DEFAULT_CLASSES)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args()
    results: dict = {"baseline": args.baseline, "runs": args.runs, "machine": machine(), "classes": {}}
    with tempfile.TemporaryDirectory(prefix="bench-own-cpu-") as temporary:
        workdir = Path(temporary)
        with bench_versions.checked_out(args.baseline, workdir / "baseline") as baseline:
            for name in args.classes:
                folder = workdir / name
                size = bench_targets.write_folder(folder, CLASSES[name])
                runs: dict[str, list[dict[str, float]]] = {"current": [], "baseline": []}
                for round_number in range(1, args.runs + 1):
                    versions = (("current", ROOT), ("baseline", baseline))
                    for version, tree in versions if round_number % 2 else versions[::-1]:  # neither always first
                        exercise = EXERCISES.get(name, "rnn-bptt")
                        runs[version].append(graded(tree, folder, workdir / "out.json", size, exercise))
                        progress(f"{name} round {round_number} {version}: {runs[version][-1]}")
                results["classes"][name] = {"submissions": size, "runs": runs} | report(name, runs, size)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def report(name: str, runs: dict[str, list[dict[str, float]]], size: int) -> dict:
    current, earlier = summary(runs["current"], size), summary(runs["baseline"], size)
    ratios = {key: current[key] / earlier[key] for key in current if earlier[key]}
    paired = paired_ratios(runs, size)
    print(f"{name} ({size} submissions, --jobs 2, medians of {len(runs['current'])} rounds)")
    for version, values in (("current", current), ("baseline", earlier), ("current / baseline", ratios)):
        unit = "" if version.startswith("current /") else " ms"
        print(f"  {version:<20} wall {values['wall_s']:6.2f}{'' if unit == '' else ' s'}   all CPU "
              f"{values['all_cpu_ms']:6.2f}{unit}   students {values['students_cpu_ms']:6.2f}{unit}   "
              f"ours {values['own_cpu_ms']:6.2f}{unit}", flush=True)
    print("  round by round       " + "   ".join(
        f"{key} {median(values):.2f} ({min(values):.2f} to {max(values):.2f})" for key, values in paired.items()))
    return {"current": current, "baseline": earlier, "current_over_baseline": ratios,
            "paired_median": {key: median(values) for key, values in paired.items()}}


def paired_ratios(runs: dict[str, list[dict[str, float]]], size: int) -> dict[str, list[float]]:
    """Each round's current over its baseline: the two ran one after the other, so a slower spell of the machine
    falls on both (the median of these is steadier than the ratio of the medians when the machine drifts)."""
    pairs = [(summary([now], size), summary([then], size)) for now, then in zip(runs["current"], runs["baseline"])]
    return {key: [now[key] / then[key] for now, then in pairs if then[key]] for key in ("wall_s", "own_cpu_ms")}


if __name__ == "__main__":
    sys.exit(main())
