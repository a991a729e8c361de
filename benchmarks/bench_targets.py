#!/usr/bin/env python3
"""A class's speed targets in one run: notebooks against nbgrader, `.py` files against a fresh interpreter,
1,000 mixed submissions with `--jobs 2`, the grader's peak memory, and where a submission's time goes.

    python benchmarks/bench_targets.py --setup-nbgrader   # once: nbgrader into /tmp/bench-nbgrader-venv (3 min)
    python benchmarks/bench_targets.py                    # the full run, about 10 minutes on 2 cores
    python benchmarks/bench_targets.py --quick            # a smoke run, about a minute

Every contender grades the same generated submissions (benchmarks/README.md says which):
  notebooks   `rnn-grader grade` on the notebooks, `--jobs 1` and `--jobs 2`, against nbgrader's `autograde`
              of the same notebooks (one run, in its own virtual environment, its start-up included);
  .py files   `rnn-grader grade` on the `.py` files, against one `python -c "import numpy"` per file, serially;
  mixed       `rnn-grader grade --jobs 2` on 1,000 submissions: notebooks, `.py` files, write-ups and hostile code.
Ours and the interpreter starts are timed in interleaved rounds (median of --runs); each grading run is the real
command in a subprocess, its whole wall time, checked to have reported every submission. With `--jobs 2` each
class is also measured against its floor: the limit is the students' own CPU (the sum of every submission's
`cpu_s`) over the 2 jobs, and our own CPU is every process of the command's (a cpuacct cgroup around it) less
the students'; each class is graded at half its size too, which splits our own CPU into a class's start and a cost
per submission. Then one more grading of the mixed class runs in this process, stage by stage, for the breakdown:
the grader's own stages timed here, the sandbox's from the marks its supervisor records for every submission.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import bench_grading
import bench_memory
from bench_grading import (
    CORPUS,
    EXERCISE,
    NBGRADER_VENV,
    NOTEBOOK_SOURCES,
    PYTHON_SOURCES,
    ROOT,
    machine,
    measure_rounds,
    median,
    nbgrader_unavailable,
    notebook_variant,
    progress,
    python_variant,
    run_timed,
    setup_nbgrader_venv,
    time_nbgrader,
)

sys.path.insert(0, str(ROOT))

RESULTS_FILE = ROOT / "benchmarks" / "targets.json"

WRITEUP_SOURCES = sorted((CORPUS / "writeups").rglob("*.md")) + [
    ROOT / "tests" / "examples" / "student_answer_rnn_bptt.md"
]
HOSTILE_SOURCES = sorted((CORPUS / "hostile").glob("*.py"))
CS231N_SOURCES = sorted((CORPUS / "cs231n" / "correct").glob("*.py")) + sorted((CORPUS / "cs231n" / "wrong").glob("*.py"))
TARGETS = {
    "notebooks_vs_nbgrader": (">=", 100.0, "nbgrader per notebook / ours per notebook"),
    "py_vs_numpy_start": ("<=", 0.2, "ours per .py file / one python -c 'import numpy'"),
    "mixed_seconds": ("<", 30.0, "the mixed class, --jobs 2, whole command (s)"),
}
CLASSES = {"notebooks": "notebooks_j2", "py": "python_j2", "mixed": "mixed_j2"}  # measured against their floor
# The same classes at half their size: ours grows by the cost of a submission, and the rest is a class's start.
HALVES = {label: f"{name}_half" for label, name in CLASSES.items()}
FLOOR_TARGETS = {
    "wall_over_limit": ("<=", 1.15, "wall / limit (the students' CPU over 2 jobs)"),
    "own_cpu_ms": ("<=", 10.0, "our own CPU per submission (ms), all processes"),
}
# Where a submission's time goes, in pipeline order: (stage, what it covers).
STAGES = [
    ("read", "grader: find the files, read them, convert notebooks"),
    ("prepare", "grader: the job's folder, its files and request (done ahead, while the previous job runs)"),
    ("hand-over", "a supervisor takes the job and reads its request"),
    ("fork", "the supervisor forks the student process"),
    ("confine", "uid, mount namespace, private /tmp, /var/tmp, /dev/shm, rlimits"),
    ("load", "the student's code imported or its cells run"),
    ("calls", "the student's functions called on every case, results written"),
    ("exit", "the student process ends"),
    ("clean-up", "every process of the job killed and reaped, scratch swept, outcome written"),
    ("notice", "grader: its scheduler sees the job end"),
    ("collect", "grader: reads and checks the returned values (the next job already started)"),
    ("judge", "grader: expected answers (computed once a class), comparisons, diagnoses, write-ups"),
    ("report", "grader: the JSON report"),
]


@dataclass(frozen=True)
class Plan:
    notebooks: int = 150
    python_files: int = 200
    mixed: int = 1000
    runs: int = 3


QUICK = Plan(notebooks=12, python_files=20, mixed=60, runs=2)


def mixed_counts(total: int) -> dict[str, int]:
    """A class as it comes: mostly code, many write-ups, a few hostile submissions."""
    hostile = max(2, total // 50)
    writeups = total * 18 // 100
    notebooks = total * 4 // 10
    return {
        "notebook": notebooks,
        "py": total - notebooks - writeups - hostile,
        "writeup": writeups,
        "hostile": hostile,
    }


def write_folder(folder: Path, counts: dict[str, int]) -> int:
    """Submissions of each kind, cycling the corpus, each made distinct by its student number."""
    folder.mkdir(parents=True)
    number = 0
    for kind, count in counts.items():
        for index in range(count):
            number += 1
            name, text = _submission(kind, index, number)
            (folder / f"s{number:04d}_{name}").write_text(text, encoding="utf-8")
    return number


def _submission(kind: str, index: int, number: int) -> tuple[str, str]:
    if kind == "notebook":
        source = NOTEBOOK_SOURCES[index % len(NOTEBOOK_SOURCES)]
        return source.name, json.dumps(notebook_variant(source, number), indent=1)
    if kind == "writeup":
        source = WRITEUP_SOURCES[index % len(WRITEUP_SOURCES)]
        return source.name, f"<!-- student {number:04d} -->\n" + source.read_text(encoding="utf-8")
    sources = {"hostile": HOSTILE_SOURCES, "cs231n": CS231N_SOURCES}.get(kind, PYTHON_SOURCES)
    source = sources[index % len(sources)]
    return source.name, python_variant(source, number)


# ----------------------------------------------------------------------------------- timing


SECRET = ("--secret", "bench")  # the hidden cases as a course would grade them, without the warning


def grade_command(folder: Path, jobs: int, output: Path) -> list[str]:
    return bench_grading.grade_command(folder, jobs, output, *SECRET)


def time_grading(folder: Path, jobs: int, output: Path, expected: int) -> float:
    return bench_grading.time_grading(folder, jobs, output, expected, *SECRET)


CGROUP_CPU = Path("/sys/fs/cgroup/cpuacct")  # cgroup v1: counts every process of a run, waited for or not


@dataclass
class FloorRun:
    """One grading of a class against its floor: the wall time, the CPU of every process of the command (from a
    cpuacct cgroup around it), and the students' own CPU and wall time (the sum of each submission's `cpu_s` and
    `wall_s` in the JSON it wrote)."""

    wall_s: float
    tree_cpu_s: float | None  # None where no cpuacct cgroup can be made (not root, or cgroup v2 only)
    students_cpu_s: float
    students_wall_s: float
    submissions: int


def graded_against_the_floor(folder: Path, jobs: int, output: Path, expected: int) -> FloorRun:
    """`rnn-grader grade` on `folder`, in a cgroup of its own where one can be made."""
    command = grade_command(folder, jobs, output)
    group = _new_cgroup()
    started = time.perf_counter()
    done = subprocess.run(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: (group / "cgroup.procs").write_text("0")) if group else None,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    tree_cpu = _cgroup_cpu(group) if group else None
    submissions = json.loads(output.read_text(encoding="utf-8"))["submissions"]
    if len(submissions) != expected:
        raise RuntimeError(f"rnn-grader reported {len(submissions)} submissions in {folder}, expected {expected}")
    students_cpu = sum(s.get("cpu_s", 0.0) for s in submissions)
    students_wall = sum(s.get("wall_s", 0.0) for s in submissions)
    return FloorRun(wall, tree_cpu, students_cpu, students_wall, len(submissions))


def _new_cgroup() -> Path | None:
    try:
        group = CGROUP_CPU / f"rnn-grader-bench-{os.getpid()}-{time.monotonic_ns()}"
        group.mkdir()
        return group
    except OSError:
        return None


def _cgroup_cpu(group: Path) -> float:
    """The CPU seconds every process of the group used, once the last of them has ended; the group is removed."""
    for _ in range(200):  # the warm process may take a moment to go after the grader's exit
        if not (group / "cgroup.procs").read_text().strip():
            break
        time.sleep(0.05)
    used = int((group / "cpuacct.usage").read_text()) / 1e9
    try:
        group.rmdir()
    except OSError:
        pass
    return used


def numpy_starts(count: int) -> float:
    return sum(run_timed([sys.executable, "-c", "import numpy"]) for _ in range(count))


def peak_memory(folder: Path, jobs: int, output: Path) -> dict[str, float]:
    """The grader's peak resident memory while grading `folder`, and its largest warm process's (polled from
    /proc: a spare warm process is not the grader's child, so the kernel's count of reaped children misses it),
    in MB."""
    probe = (
        "import atexit, resource, sys\n"
        "def report():\n"
        "    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "    print(f'PEAK {own} {children}', file=sys.stderr)\n"
        "atexit.register(report)\n"
        "from grader.cli import main\n"
        "sys.argv[0] = 'rnn-grader'\n"
        "main()\n"
    )
    command = [sys.executable, "-c", probe, *grade_command(folder, jobs, output)[1:]]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    with bench_memory.TreePoller(process.pid) as poller:
        _, errors = process.communicate()
    line = next(line for line in errors.splitlines() if line.startswith("PEAK "))
    own = int(line.split()[1]) / 1024
    return {"grader_mb": own, "warm_process_mb": poller.by_role()[0].get("warm process", 0.0)}


# ----------------------------------------------------------------------------------- the breakdown


def breakdown(folder: Path, jobs: int) -> dict:
    """One grading of `folder` in this process: milliseconds per submission in each stage."""
    from grader import pipeline as grading
    from grader.judge.exercise_check import load_checked_exercise
    from grader.read.submission import discover
    from grader.report import native_json
    from grader.results import GradingResults

    spent: dict[str, float] = {}

    def timed(stage: str, work: Callable[[], object]) -> object:
        started = time.perf_counter()
        value = work()
        spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - started
        return value

    started = time.perf_counter()
    exercise = load_checked_exercise(EXERCISE, "bench")
    options = grading.GradingOptions(jobs=jobs, secret="bench")
    batch = grading._Batch(exercise, options, grading._context(exercise, options), [folder])
    submissions = timed("read", lambda: discover([folder]))
    assert isinstance(submissions, list)
    for submission in submissions:
        batch.setting(submission)
    with_code = {i: s for i, s in enumerate(submissions) if s.units and s.rejected is None}
    runs = {int(run.key): run for run in grading.run_submissions(with_code, batch)}
    results = timed(
        "judge", lambda: [grading.judge_submission(s, runs.get(i), batch) for i, s in enumerate(submissions)]
    )
    timed("report", lambda: native_json.render(GradingResults(exercise=exercise.id, submissions=results)))
    wall = time.perf_counter() - started
    sandbox = _sandbox_stages(list(runs.values()))
    count = len(submissions)
    per = {stage: 1000 * spent.get(stage, 0.0) / count for stage in ("read", "judge", "report")}
    per |= {stage: 1000 * total / count for stage, total in sandbox["totals"].items()}
    return {
        "submissions": count,
        "with_code": len(with_code),
        "jobs": jobs,
        "wall_s": wall,
        "ms_per_submission": {stage: per.get(stage, 0.0) for stage, _ in STAGES},
        "ms_per_run_median": sandbox["medians"],
        "student_cpu_s_total": sandbox.get("cpu_total", 0.0),
        "student_cpu_ms_median": sandbox["cpu"],
        "student_peak_mb_max": sandbox["peak"],
    }


def _sandbox_stages(runs: list) -> dict:
    """Totals and medians of the sandbox's stages over the runs, from each run's timings."""
    names = [stage for stage, _ in STAGES]
    totals: dict[str, float] = {}
    values: dict[str, list[float]] = {}
    for run in runs:
        for stage, seconds in run.timings.items():
            if stage in names:
                totals[stage] = totals.get(stage, 0.0) + seconds
                values.setdefault(stage, []).append(seconds)
    medians = {stage: 1000 * statistics.median(v) for stage, v in values.items()}
    cpu = [run.timings["student-cpu"] for run in runs if "student-cpu" in run.timings]
    peak = [run.timings["student-peak-mb"] for run in runs if "student-peak-mb" in run.timings]
    return {
        "totals": totals,
        "medians": medians,
        "cpu": 1000 * statistics.median(cpu) if cpu else None,
        "cpu_total": sum(cpu),
        "peak": max(peak) if peak else None,
    }


# ----------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on small classes")
    parser.add_argument("--runs", type=int, help="rounds of each timed contender (default 3)")
    parser.add_argument("--nbgrader-venv", type=Path, default=NBGRADER_VENV)
    parser.add_argument("--setup-nbgrader", action="store_true", help="make --nbgrader-venv when it is missing")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    return parser.parse_args()


def measure(plan: Plan, args: argparse.Namespace, work: Path) -> dict:
    notebooks, python, mixed = work / "notebooks", work / "python", work / "mixed"
    write_folder(notebooks, {"notebook": plan.notebooks})
    write_folder(python, {"py": plan.python_files})
    counts = mixed_counts(plan.mixed)
    write_folder(mixed, counts)
    halves = {"notebooks": plan.notebooks // 2, "py": plan.python_files // 2, "mixed": plan.mixed // 2}
    write_folder(work / "notebooks_half", {"notebook": halves["notebooks"]})
    write_folder(work / "python_half", {"py": halves["py"]})
    write_folder(work / "mixed_half", mixed_counts(halves["mixed"]))
    progress(f"classes in {work}: {plan.notebooks} notebooks, {plan.python_files} .py files, mixed {counts}")
    floors: dict[str, list[FloorRun]] = {name: [] for name in [*CLASSES.values(), *HALVES.values()]}

    def against_the_floor(name: str, folder: Path, expected: int, output: str) -> Callable[[], float]:
        def measure_once() -> float:
            floors[name].append(graded_against_the_floor(folder, 2, work / output, expected))
            return floors[name][-1].wall_s

        return measure_once

    contenders = {
        "notebooks_j1": lambda: time_grading(notebooks, 1, work / "nb1.json", plan.notebooks),
        "notebooks_j2": against_the_floor("notebooks_j2", notebooks, plan.notebooks, "nb2.json"),
        "python_j1": lambda: time_grading(python, 1, work / "py1.json", plan.python_files),
        "python_j2": against_the_floor("python_j2", python, plan.python_files, "py2.json"),
        "numpy_starts": lambda: numpy_starts(plan.python_files),
        "mixed_j2": against_the_floor("mixed_j2", mixed, plan.mixed, "mixed2.json"),
        **{
            HALVES[label]: against_the_floor(HALVES[label], work / f"{folder}_half", halves[label], f"{label}_half.json")
            for label, folder in (("notebooks", "notebooks"), ("py", "python"), ("mixed", "mixed"))
        },
    }
    times = measure_rounds(contenders, plan.runs)
    progress("peak memory (mixed class, --jobs 2):")
    memory = peak_memory(mixed, 2, work / "memory.json")
    progress("breakdown by stage (mixed class, --jobs 2, in this process):")
    stages = breakdown(mixed, 2)
    if args.setup_nbgrader and nbgrader_unavailable(args.nbgrader_venv):
        progress(f"setting up {args.nbgrader_venv} (pip install nbgrader numpy)...")
        setup_nbgrader_venv(args.nbgrader_venv)
    nbgrader = measure_nbgrader(sorted(notebooks.iterdir()), work, args.nbgrader_venv)
    return {
        "times_s": times,
        "floors": {name: [asdict(run) for run in runs] for name, runs in floors.items()},
        "memory": memory,
        "stages": stages,
        "nbgrader": nbgrader,
        "mixed_counts": counts,
        "mixed_grades": grade_summary(work / "mixed2.json"),
    }


def measure_nbgrader(notebooks: list[Path], work: Path, venv: Path) -> dict:
    reason = nbgrader_unavailable(venv)
    if reason:
        progress(f"nbgrader not measured: {reason}")
        return {"measured": False, "why_not": reason}
    progress(f"nbgrader autograde on the same {len(notebooks)} notebooks (one run)...")
    total = time_nbgrader(venv, work / "nbgrader-course", notebooks)
    progress(f"  {total:.1f} s")
    return {"measured": True, "notebooks": len(notebooks), "total_s": total, "per_notebook_s": total / len(notebooks)}


def grade_summary(output: Path) -> dict:
    submissions = json.loads(output.read_text(encoding="utf-8"))["submissions"]
    statuses: dict[str, int] = {}
    for submission in submissions:
        statuses[submission["status"]] = statuses.get(submission["status"], 0) + 1
    return {
        "submissions": len(submissions),
        "status": statuses,
        "mean_score": round(statistics.fmean(s["score"] for s in submissions), 2),
    }


def results_of(plan: Plan, measured: dict) -> dict:
    times = measured["times_s"]
    per = {
        "notebook_j1_ms": 1000 * median(times["notebooks_j1"]) / plan.notebooks,
        "notebook_j2_ms": 1000 * median(times["notebooks_j2"]) / plan.notebooks,
        "py_j1_ms": 1000 * median(times["python_j1"]) / plan.python_files,
        "py_j2_ms": 1000 * median(times["python_j2"]) / plan.python_files,
        "numpy_start_ms": 1000 * median(times["numpy_starts"]) / plan.python_files,
        "mixed_j2_s": median(times["mixed_j2"]),
    }
    ratios = {
        "py_vs_numpy_start_j1": per["py_j1_ms"] / per["numpy_start_ms"],
        "py_vs_numpy_start": per["py_j2_ms"] / per["numpy_start_ms"],
        "mixed_seconds": per["mixed_j2_s"],
    }
    nbgrader = measured["nbgrader"]
    if nbgrader["measured"]:
        ratios["notebooks_vs_nbgrader_j1"] = 1000 * nbgrader["per_notebook_s"] / per["notebook_j1_ms"]
        ratios["notebooks_vs_nbgrader"] = 1000 * nbgrader["per_notebook_s"] / per["notebook_j2_ms"]
    verdicts = {key: _verdict(ratios.get(key), op, bound) for key, (op, bound, _) in TARGETS.items()}
    if plan.mixed != Plan().mixed:  # a smaller class says nothing of the 1,000-submission target
        verdicts["mixed_seconds"] = f"not measured ({plan.mixed} submissions, not 1,000)"
    floors = {label: floor_of(measured["floors"][name]) for label, name in CLASSES.items()}
    for label, floor in floors.items():
        floor.update(start_and_each(measured["floors"][CLASSES[label]], measured["floors"][HALVES[label]]))
    for label, floor in floors.items():
        for key, (op, bound, _) in FLOOR_TARGETS.items():
            verdicts[f"{label}_{key}"] = _verdict(floor.get(key), op, bound)
    return {"per_item": per, "ratios": ratios, "against_the_floor": floors, "targets": verdicts}


def _verdict(value: float | None, op: str, bound: float) -> str:
    checks = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b}
    return "not measured" if value is None else "met" if checks[op](value, bound) else "MISSED"


def floor_of(runs: list[dict]) -> dict:
    """A class against its floor, from the round with the median wall time (of two, the faster): the limit (the
    students' CPU over the 2 jobs), the wall time, their ratio, and our own CPU per submission (every process's CPU
    less the students')."""
    run = sorted(runs, key=lambda r: r["wall_s"])[(len(runs) - 1) // 2]
    limit = run["students_cpu_s"] / 2
    own = None if run["tree_cpu_s"] is None else (run["tree_cpu_s"] - run["students_cpu_s"]) / run["submissions"]
    return {
        "submissions": run["submissions"],
        "limit_s": limit,
        "wall_s": run["wall_s"],
        "wall_over_limit": run["wall_s"] / limit if limit else None,
        "students_cpu_ms": 1000 * run["students_cpu_s"] / run["submissions"],
        "students_wall_over_jobs_s": run["students_wall_s"] / 2,
        "all_cpu_ms": None if run["tree_cpu_s"] is None else 1000 * run["tree_cpu_s"] / run["submissions"],
        "own_cpu_ms": None if own is None else 1000 * own,
    }


def start_and_each(whole: list[dict], half: list[dict]) -> dict:
    """Our own CPU split into a class's start and the cost of each submission, from the class and its half (the
    median of each's rounds): each submission is the slope between them, the start what is left of the whole."""
    if not whole or not half or any(run["tree_cpu_s"] is None for run in [*whole, *half]):
        return {"start_ms": None, "each_ms": None}
    own_whole = statistics.median(run["tree_cpu_s"] - run["students_cpu_s"] for run in whole)
    own_half = statistics.median(run["tree_cpu_s"] - run["students_cpu_s"] for run in half)
    count, half_count = whole[0]["submissions"], half[0]["submissions"]
    if count == half_count:  # a class of one: no slope to take
        return {"start_ms": None, "each_ms": None}
    each = (own_whole - own_half) / (count - half_count)
    return {"start_ms": 1000 * (own_whole - count * each), "each_ms": 1000 * each}


def report(plan: Plan, measured: dict, results: dict) -> str:
    per, ratios, nbgrader = results["per_item"], results["ratios"], measured["nbgrader"]
    lines = [
        f"{plan.notebooks} notebooks:  --jobs 1 {per['notebook_j1_ms']:.1f} ms, "
        f"--jobs 2 {per['notebook_j2_ms']:.1f} ms per notebook",
        f"{plan.python_files} .py files: --jobs 1 {per['py_j1_ms']:.1f} ms, --jobs 2 {per['py_j2_ms']:.1f} ms "
        f"per file; python -c 'import numpy' {per['numpy_start_ms']:.1f} ms",
        f"{plan.mixed} mixed {measured['mixed_counts']}, --jobs 2: {per['mixed_j2_s']:.2f} s",
    ]
    if nbgrader["measured"]:
        lines.append(
            f"nbgrader autograde, the same {nbgrader['notebooks']} notebooks: "
            f"{1000 * nbgrader['per_notebook_s']:.0f} ms per notebook"
        )
    lines.append("")
    for key, (op, bound, label) in TARGETS.items():
        value = ratios.get(key)
        shown = f"{value:.3g}" if value is not None else "-"
        lines.append(f"  {label:<56} {shown:>8}   target {op} {bound:g}: {results['targets'][key]}")
    for key in ("notebooks_vs_nbgrader_j1", "py_vs_numpy_start_j1"):
        if key in ratios:
            lines.append(f"  {key + ' (with --jobs 1)':<56} {ratios[key]:>8.3g}")
    lines += ["", "against the floor, --jobs 2 (the round of median wall time):"] + floor_lines(results)
    memory = measured["memory"]
    lines.append(
        f"\npeak memory: grader {memory['grader_mb']:.0f} MB, warm process {memory['warm_process_mb']:.0f} MB, "
        f"largest student process {measured['stages']['student_peak_mb_max'] or 0:.0f} MB"
    )
    stages = measured["stages"]
    lines.append(
        f"\nwhere a submission's time goes (mixed class, --jobs {stages['jobs']}, one grading in this process, "
        f"{stages['wall_s']:.1f} s): ms per submission, summed over the class / by the number of submissions"
    )
    for stage, what in STAGES:
        median_run = stages["ms_per_run_median"].get(stage)
        extra = f"  (median per run {median_run:.2f})" if median_run is not None else ""
        lines.append(f"  {stage:<10} {stages['ms_per_submission'][stage]:7.2f}{extra}  {what}")
    lines.append(
        f"  student CPU time per run, median: {stages['student_cpu_ms_median'] or 0:.1f} ms; "
        f"over the class: {stages.get('student_cpu_s_total', 0):.1f} s (the students' own code and our "
        "calls of it, on 2 cores at most)"
    )
    return "\n".join(lines)


def floor_lines(results: dict) -> list[str]:
    lines = [
        f"  {'class':<10} {'limit':>8} {'wall':>8} {'wall/limit':>10} {'students CPU':>13} {'our CPU':>10}"
        f" {'all CPU':>10}   targets"
    ]
    for label, floor in results["against_the_floor"].items():
        own, every = floor["own_cpu_ms"], floor["all_cpu_ms"]
        verdicts = ", ".join(f"{key} {results['targets'][f'{label}_{key}']}" for key in FLOOR_TARGETS)
        lines.append(
            f"  {label:<10} {floor['limit_s']:7.2f}s {floor['wall_s']:7.2f}s {floor['wall_over_limit'] or 0:10.2f}"
            f" {floor['students_cpu_ms']:10.1f} ms {'-' if own is None else f'{own:7.1f} ms':>10}"
            f" {'-' if every is None else f'{every:7.1f} ms':>10}   {verdicts}"
        )
    lines.append(
        "  (per submission: the students' CPU is the sum of their cpu_s; ours is every process of the command, from a"
        " cpuacct cgroup, less theirs)"
    )
    lines.append("  our own CPU as a class's start and a cost per submission (from the class and its half, medians):")
    for label, floor in results["against_the_floor"].items():
        if floor.get("each_ms") is not None:
            lines.append(f"  {label:<10} start {floor['start_ms']:6.0f} ms, then {floor['each_ms']:5.1f} ms a submission")
    return lines


def main() -> None:
    args = parse_args()
    # Installed packages carry their compiled bytecode; a checkout run with this set recompiles every module at
    # every start (about 0.1 s here), which no installed grader pays.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    plan = QUICK if args.quick else Plan()
    if args.runs:
        plan = Plan(**{**asdict(plan), "runs": args.runs})
    info = machine()
    with tempfile.TemporaryDirectory(prefix="rnn-grader-targets-") as tmp:
        measured = measure(plan, args, Path(tmp))
    results = results_of(plan, measured)
    info["load_average_at_end"] = os.getloadavg()
    text = report(plan, measured, results)
    print(text)
    command = " ".join(["python", "benchmarks/bench_targets.py", *sys.argv[1:]])
    payload = {
        "command": command,
        "when": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": info,
        "plan": asdict(plan),
        **measured,
        **results,
        "bench_process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    args.output.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
