#!/usr/bin/env python3
"""Where our own CPU goes in a class, this tree against an earlier commit, in the same run.

    python benchmarks/bench_parts.py --baseline COMMIT             # the 200 .py files of bench_targets, 5 rounds
    python benchmarks/bench_parts.py --baseline COMMIT --runs 3 --class notebooks

Each round grades the class with `--jobs 2` by both versions in turn (which goes first alternates; COMMIT checked
out with `git worktree`), each in a cpuacct cgroup of its own, the grader's process started with its chosen
functions wrapped to count their thread CPU (`time.thread_time`; each is called a few times a submission, so the
counting costs little). Reported per submission, medians over the rounds: the grader's process (its own CPU, from
the kernel) and in it judging (parsing the returned values included, counted apart too: an item's are parsed when
judging first asks for them), reading the values back, preparing a job's folder, waiting for jobs to end and
removing their folders; the rest of our processes together (the warm processes and the supervisors: every process of
the command less the grader's and the students'); the students' own CPU. One round varies by 10 to 20 % on this
machine: compare the versions of one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import bench_own_cpu
import bench_targets
import bench_versions
from bench_grading import ROOT, machine, median, progress

# (module, attribute path): the functions whose thread CPU is counted, where the tree has them
PARTS = {
    "judging": ("grader.pipeline", "judge_submission"),
    "parsing the values (in judging: each item's when first asked for)": ("grader.run.client", "parse_records"),
    "reading values back": ("grader.run.client", "SandboxPool._read_result"),
    "preparing a job": ("grader.run.client", "SandboxPool._prepare"),
    "waiting for jobs to end": ("grader.run.client", "SandboxPool._wait_for_done"),
    "removing folders (each job's, the batch's)": ("grader.run.client", "remove_folder"),
}

# Run as `python -c PROBE TREE OUT rnn-grader-arguments...`: the grader of TREE, its parts counted into OUT.
PROBE = """
import atexit, importlib, json, resource, sys, time
tree, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, tree)
from grader import cli
cli.prepare_the_process()  # as the command does, before numpy and pydantic load (one maths thread: none spins)
parts, spent = json.loads(sys.argv[3]), {}

def counted(name, function):
    def wrapper(*args, **kwargs):
        began = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.thread_time() - began
    return wrapper

for name, (module_name, path) in parts.items():
    owner = importlib.import_module(module_name)
    *outer, last = path.split(".")
    for attribute in outer:
        owner = getattr(owner, attribute)
    if hasattr(owner, last):
        setattr(owner, last, counted(name, getattr(owner, last)))

def written():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(out, "w") as handle:
        json.dump({"process_cpu_s": usage.ru_utime + usage.ru_stime, "parts_s": spent}, handle)

atexit.register(written)
sys.argv = ["rnn-grader", *sys.argv[4:]]
cli.run()
"""


def counting_command(tree: Path, folder: Path, output: Path, parts_file: Path) -> list[str]:
    """The grading of `folder` by the grader of `tree`, its parts' thread CPU written to `parts_file`."""
    arguments = ["grade", str(folder), "--exercise", "rnn-bptt", "--jobs", "2", "--secret", "bench",
                 "--format", "json", "-o", str(output)]
    return [sys.executable, "-c", PROBE, str(tree), str(parts_file), json.dumps(PARTS), *arguments]


def graded(tree: Path, folder: Path, work: Path, expected: int) -> dict[str, float]:
    """One grading: every process's CPU, the students', the grader's process's and its parts', in seconds."""
    output, parts_file = work / "out.json", work / "parts.json"
    command = counting_command(tree, folder, output, parts_file)
    group = bench_targets._new_cgroup()
    if group is None:
        raise SystemExit("a cpuacct cgroup (v1, as root) is needed to count every process of a run")
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment,
                   preexec_fn=lambda: (group / "cgroup.procs").write_text("0"))
    submissions = json.loads(output.read_text(encoding="utf-8"))["submissions"]
    if len(submissions) != expected:
        raise RuntimeError(f"{tree} graded {len(submissions)} submissions in {folder}, expected {expected}")
    counted = json.loads(parts_file.read_text(encoding="utf-8"))
    every, students = bench_targets._cgroup_cpu(group), sum(s.get("cpu_s", 0.0) for s in submissions)
    process = counted["process_cpu_s"]
    return {"grader's process": process, **{name: counted["parts_s"].get(name, 0.0) for name in PARTS},
            "warm processes and supervisors": every - students - process, "students": students}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="the earlier commit")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--class", dest="name", choices=list(bench_own_cpu.CLASSES), default="py")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "parts.json")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"current": [], "baseline": []}
    with tempfile.TemporaryDirectory(prefix="bench-parts-") as temporary:
        work = Path(temporary)
        with bench_versions.checked_out(args.baseline, work / "baseline") as baseline:
            size = bench_targets.write_folder(work / args.name, bench_own_cpu.CLASSES[args.name])
            for number in range(1, args.runs + 1):
                versions = (("current", ROOT), ("baseline", baseline))
                for version, tree in versions if number % 2 else versions[::-1]:  # neither always first
                    runs[version].append(graded(tree, work / args.name, work, size))
                    progress(f"round {number} {version}: {runs[version][-1]}")
    medians = {version: {part: 1000 * median([r[part] for r in rounds]) / size for part in rounds[0]}
               for version, rounds in runs.items()}
    paired = {part: median([now[part] / then[part] for now, then in zip(runs["current"], runs["baseline"])
                            if then[part]]) for part in runs["current"][0]}
    print(f"{args.name} ({size} submissions, --jobs 2): ms per submission, medians of {args.runs} rounds, and the")
    print("  median of each round's ratio (the two versions ran one after the other: steadier when the machine drifts)")
    print(f"  {'':<42} {'current':>8} {'baseline':>9} {'ratio':>6} {'by round':>9}")
    for part, now in medians["current"].items():
        then = medians["baseline"][part]
        print(f"  {part:<42} {now:8.2f} {then:9.2f} {now / then if then else float('nan'):6.2f} {paired[part]:9.2f}")
    results = {"baseline": args.baseline, "class": args.name, "submissions": size, "machine": machine(),
               "runs": runs, "ms_per_submission": medians, "paired_median": paired}
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
