#!/usr/bin/env python3
"""Grading speed: rnn-grader against the cost of isolated runs and of Jupyter kernels, in one run.

    python benchmarks/bench_grading.py            # the full run (5 to 7 minutes on 2 cores)
    python benchmarks/bench_grading.py --quick    # a smoke run on 20 submissions

Contenders, all on the same generated class of submissions (see benchmarks/README.md):
  ours  `rnn-grader grade FOLDER --jobs 1` and `--jobs 2`, the real CLI in a subprocess, wall time;
        on the whole class and on its notebooks alone.
  (a)   one `python -c "import numpy"` per submission, serially: the floor of running each
        submission in a fresh interpreter.
  (b)   each notebook executed by a Jupyter kernel with nbclient, serially (what nbgrader and otter pay
        per notebook); plus the kernel's own floor, a notebook whose one cell imports numpy.
  (c)   nbgrader's `autograde` in its own virtual environment, when one is there (--setup-nbgrader makes it);
        otherwise the number measured earlier on this kind of machine, labelled as such.
Also `rnn-grader --help` and, as its baseline, `python -c pass`.

Prints a table and writes benchmarks/results.json. Needs nothing beyond the project for ours and (a);
(b) needs `pip install -e '.[bench]'` and is skipped, saying so, without it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
RESULTS_FILE = ROOT / "benchmarks" / "results.json"
BIN = Path(sys.executable).parent
EXERCISE = "rnn-bptt"

NOTEBOOK_SOURCES = [
    CORPUS / "correct" / "notebook_homework.ipynb",
    CORPUS / "correct" / "notebook_shapes_in_code.ipynb",
    CORPUS / "wrong" / "notebook_redefined_truncated.ipynb",
]
PYTHON_SOURCES = sorted((CORPUS / "correct").glob("*.py")) + sorted((CORPUS / "wrong").glob("*.py"))

NBGRADER_VENV = Path("/tmp/bench-nbgrader-venv")
# nbgrader 0.9.6 `autograde`, 20 homework notebooks, serial, on this kind of machine (shared/MEASURED.md).
NBGRADER_MEASURED_EARLIER = 1.67
INSTALL_HINT = "pip install -e '.[bench]'"

TARGETS = {
    "submission_vs_isolated": ("ours per submission / (a) per submission", "<=", 1.5),
    "notebook_speedup_vs_kernel": ("(b) per notebook / ours per notebook", ">=", 20.0),
    "help_ms": ("rnn-grader --help, ms", "<", 150.0),
}


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    notebooks: int = 150
    python_files: int = 50
    runs: int = 3
    kernel_notebooks: int = 30
    kernel_floor_runs: int = 5
    nbgrader_notebooks: int = 21
    startup_runs: int = 10


QUICK = Plan(notebooks=15, python_files=5, runs=3, kernel_notebooks=6, kernel_floor_runs=2,
             nbgrader_notebooks=3, startup_runs=5)


@dataclass(frozen=True)
class Klass:
    """The generated submissions: the whole class, and a folder with its notebooks only."""

    everything: Path
    notebooks_only: Path
    notebooks: list[Path]
    size: int


# ----------------------------------------------------------------------------------- submissions


def _prepend_comment(source: str | list[str], comment: str) -> str:
    text = source if isinstance(source, str) else "".join(source)
    return f"{comment}\n{text}"


def notebook_variant(source: Path, index: int) -> dict:
    """One student's notebook: the corpus notebook with a title cell and a comment of its own."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["source"] = _prepend_comment(cell["source"], f"# student {index:03d}")
            break
    title = {"cell_type": "markdown", "metadata": {}, "source": f"# RNN homework, student {index:03d}"}
    nb["cells"].insert(0, title)
    return nb


def python_variant(source: Path, index: int) -> str:
    return _prepend_comment(source.read_text(encoding="utf-8"), f"# student {index:03d}")


def write_class(folder: Path, plan: Plan) -> Klass:
    """Write plan.notebooks notebooks (cycling NOTEBOOK_SOURCES) and plan.python_files .py files."""
    everything, notebooks_only = folder / "class", folder / "class-notebooks"
    everything.mkdir(parents=True)
    notebooks_only.mkdir()
    notebooks = []
    for index in range(plan.notebooks):
        source = NOTEBOOK_SOURCES[index % len(NOTEBOOK_SOURCES)]
        name = f"s{index:03d}_{source.name}"
        text = json.dumps(notebook_variant(source, index), indent=1)
        (everything / name).write_text(text, encoding="utf-8")
        (notebooks_only / name).write_text(text, encoding="utf-8")
        notebooks.append(notebooks_only / name)
    for offset in range(plan.python_files):
        index = plan.notebooks + offset
        source = PYTHON_SOURCES[offset % len(PYTHON_SOURCES)]
        (everything / f"s{index:03d}_{source.name}").write_text(python_variant(source, index), encoding="utf-8")
    return Klass(everything, notebooks_only, notebooks, plan.notebooks + plan.python_files)


# ----------------------------------------------------------------------------------- timing helpers


def run_timed(command: list[str], **kwargs) -> float:
    """Wall time of one subprocess; raises with its stderr when it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def executable(name: str) -> str:
    """The console script installed beside this interpreter (not a version-manager shim)."""
    beside = BIN / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not installed: run `pip install -e .` first")
    return found


# ----------------------------------------------------------------------------------- ours and (a)


def grade_command(folder: Path, jobs: int, output: Path, *extra: str) -> list[str]:
    return [executable("rnn-grader"), "grade", str(folder), "--exercise", EXERCISE, "--jobs", str(jobs),
            "--format", "json", "-o", str(output), *extra]


def time_grading(folder: Path, jobs: int, output: Path, expected: int, *extra: str) -> float:
    """Wall time of one grading, checked to have reported all `expected` submissions."""
    elapsed = run_timed(grade_command(folder, jobs, output, *extra))
    graded = len(json.loads(output.read_text(encoding="utf-8"))["submissions"])
    if graded != expected:
        raise RuntimeError(f"rnn-grader reported {graded} submissions in {folder}, expected {expected}")
    return elapsed


def time_isolated_starts(count: int) -> float:
    """(a): one fresh `python -c "import numpy"` per submission, serially; the total."""
    return sum(run_timed([sys.executable, "-c", "import numpy"]) for _ in range(count))


def summarise_grades(output: Path) -> dict:
    """What the grader concluded: so a fast run is also seen to be a real one."""
    submissions = json.loads(output.read_text(encoding="utf-8"))["submissions"]
    full = sum(1 for s in submissions if s["status"] == "graded" and s["score"] >= s["max_score"])
    return {"submissions": len(submissions), "status": dict(Counter(s["status"] for s in submissions)),
            "full_marks": full, "mean_score": round(statistics.fmean(s["score"] for s in submissions), 3),
            "max_score": submissions[0]["max_score"] if submissions else None}


def rounds_contenders(klass: Klass, workdir: Path) -> dict[str, Callable[[], float]]:
    notebook_count = len(klass.notebooks)
    return {
        "ours_jobs1": lambda: time_grading(klass.everything, 1, workdir / "ours1.json", klass.size),
        "ours_jobs2": lambda: time_grading(klass.everything, 2, workdir / "ours2.json", klass.size),
        "ours_notebooks_jobs1": lambda: time_grading(klass.notebooks_only, 1, workdir / "nb1.json", notebook_count),
        "ours_notebooks_jobs2": lambda: time_grading(klass.notebooks_only, 2, workdir / "nb2.json", notebook_count),
        "isolated_numpy": lambda: time_isolated_starts(klass.size),
    }


def measure_rounds(contenders: dict[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """Every contender once per round, rounds one after another: load on the machine hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_number in range(1, runs + 1):
        for name, measure in contenders.items():
            times[name].append(measure())
            progress(f"  round {round_number}/{runs}  {name:<22} {times[name][-1]:7.2f} s")
    return times


def measure_startup(runs: int) -> dict[str, list[float]]:
    contenders = {
        "help": lambda: run_timed([executable("rnn-grader"), "--help"]),
        "python_pass": lambda: run_timed([sys.executable, "-c", "pass"]),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, measure in contenders.items():
            times[name].append(measure())
    return times


# ----------------------------------------------------------------------------------- (b) Jupyter kernel


def kernel_unavailable() -> str | None:
    """Why (b) cannot run here, or None when nbclient, ipykernel and a python3 kernel are there."""
    try:
        import ipykernel  # noqa: F401
        import nbclient  # noqa: F401
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError as exc:
        return f"{exc.name} is not installed"
    try:
        KernelSpecManager().get_kernel_spec("python3")
    except Exception as exc:  # noqa: BLE001 - any failure to find the kernel means (b) is skipped
        return f"no python3 kernel: {exc}"
    return None


def execute_with_kernel(nb, workdir: Path) -> None:
    from nbclient import NotebookClient

    client = NotebookClient(nb, kernel_name="python3", timeout=30, allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute(stderr=subprocess.DEVNULL)  # the kernel's own start-up warnings; cell output is kept


def time_kernel_notebook(path: Path, workdir: Path) -> float:
    import nbformat

    started = time.perf_counter()
    with warnings.catch_warnings():  # the corpus notebooks are nbformat 4.4, without cell ids
        warnings.simplefilter("ignore")
        nb = nbformat.read(path, as_version=4)
    execute_with_kernel(nb, workdir)
    return time.perf_counter() - started


def time_kernel_floor(workdir: Path) -> float:
    """A kernel's start, one cell that imports numpy, and its shutdown: the least a kernel run costs."""
    from nbformat.v4 import new_code_cell, new_notebook

    started = time.perf_counter()
    execute_with_kernel(new_notebook(cells=[new_code_cell("import numpy as np")]), workdir)
    return time.perf_counter() - started


def measure_kernel(klass: Klass, plan: Plan, workdir: Path) -> dict[str, list[float]]:
    workdir.mkdir(exist_ok=True)
    notebooks = klass.notebooks[:plan.kernel_notebooks]
    per_notebook = []
    for number, path in enumerate(notebooks, 1):
        per_notebook.append(time_kernel_notebook(path, workdir))
        progress(f"  kernel {number}/{len(notebooks)}  {path.name:<44} {per_notebook[-1]:6.2f} s")
    floor = [time_kernel_floor(workdir) for _ in range(plan.kernel_floor_runs)]
    progress(f"  kernel floor (import numpy only): {', '.join(f'{t:.2f}' for t in floor)} s")
    return {"kernel_per_notebook": per_notebook, "kernel_floor": floor}


# ----------------------------------------------------------------------------------- (c) nbgrader


def setup_nbgrader_venv(venv: Path) -> None:
    """Make a separate virtual environment with nbgrader (and numpy, for the kernel it starts)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "nbgrader", "numpy"], check=True)


def nbgrader_unavailable(venv: Path) -> str | None:
    if not (venv / "bin" / "nbgrader").exists():
        return (f"no nbgrader in {venv}: run this script with --setup-nbgrader to make one "
                f"(python -m venv {venv} && {venv}/bin/pip install nbgrader numpy)")
    return None


def nbgrader_env(venv: Path) -> dict[str, str]:
    """The venv first on PATH: nbgrader runs `alembic` from PATH when it creates its database."""
    return {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "VIRTUAL_ENV": str(venv)}


def build_course(course: Path, notebooks: list[Path]) -> None:
    """An nbgrader course: the assignment `ps1` is the homework notebook; each student submits one notebook."""
    (course / "source" / "ps1").mkdir(parents=True)
    shutil.copy(NOTEBOOK_SOURCES[0], course / "source" / "ps1" / "homework.ipynb")
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "bench"\n')
    for index, path in enumerate(notebooks):
        folder = course / "submitted" / f"student{index:03d}" / "ps1"
        folder.mkdir(parents=True)
        shutil.copy(path, folder / "homework.ipynb")


def time_nbgrader(venv: Path, course: Path, notebooks: list[Path]) -> float:
    """Total wall time of one `nbgrader autograde` over every submitted notebook (setup untimed)."""
    build_course(course, notebooks)
    nbgrader, env = str(venv / "bin" / "nbgrader"), nbgrader_env(venv)
    run_timed([nbgrader, "generate_assignment", "ps1", "--create"], cwd=course, env=env)
    elapsed = run_timed([nbgrader, "autograde", "ps1", "--create"], cwd=course, env=env)
    graded = list((course / "autograded").glob("*/ps1/homework.ipynb"))
    if len(graded) != len(notebooks):
        raise RuntimeError(f"nbgrader autograded {len(graded)} of {len(notebooks)} notebooks")
    return elapsed


def measure_nbgrader(klass: Klass, plan: Plan, workdir: Path, venv: Path) -> dict:
    reason = nbgrader_unavailable(venv)
    if reason:
        return {"measured_in_this_run": False, "why_not": reason,
                "per_notebook_s": NBGRADER_MEASURED_EARLIER,
                "source": "shared/MEASURED.md (nbgrader 0.9.6, 20 notebooks, serial), measured earlier"}
    notebooks = klass.notebooks[:plan.nbgrader_notebooks]
    try:
        total = time_nbgrader(venv, workdir / "nbgrader-course", notebooks)
    except (RuntimeError, OSError) as exc:
        return {"measured_in_this_run": False, "why_not": f"nbgrader failed: {exc}"[:500],
                "per_notebook_s": NBGRADER_MEASURED_EARLIER, "source": "shared/MEASURED.md, measured earlier"}
    progress(f"  nbgrader autograde, {len(notebooks)} notebooks: {total:.2f} s")
    return {"measured_in_this_run": True, "notebooks": len(notebooks), "total_s": total,
            "per_notebook_s": total / len(notebooks), "version": nbgrader_version(venv)}


def nbgrader_version(venv: Path) -> str:
    done = subprocess.run([str(venv / "bin" / "python"), "-c", "import nbgrader; print(nbgrader.__version__)"],
                          capture_output=True, text=True)
    return done.stdout.strip()


# ----------------------------------------------------------------------------------- the report


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "")
    return {"cpus": os.cpu_count(), "cpu": model, "platform": platform.platform(),
            "python": platform.python_version(), "numpy": _version("numpy"), "nbclient": _version("nbclient"),
            "ipykernel": _version("ipykernel"), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
            "load_average_at_start": os.getloadavg(), "revision": revision()}


def revision() -> str:
    """The commit measured, marked dirty when the grader's code differs from it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "grader", "reference", "exercises")
    return f"{commit}{' (with uncommitted changes to the grader)' if dirty else ''}"


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def ratios(per: dict[str, float]) -> dict[str, float]:
    out = {
        "submission_vs_isolated": per["ours_jobs1"] / per["isolated_numpy"],
        "submission_vs_isolated_jobs2": per["ours_jobs2"] / per["isolated_numpy"],
        "help_ms": per["help"] * 1000,
        "help_minus_python_pass_ms": (per["help"] - per["python_pass"]) * 1000,
    }
    if "kernel_per_notebook" in per:
        out["notebook_speedup_vs_kernel"] = per["kernel_per_notebook"] / per["ours_notebooks_jobs1"]
        out["notebook_speedup_vs_kernel_jobs2"] = per["kernel_per_notebook"] / per["ours_notebooks_jobs2"]
        out["notebook_speedup_vs_kernel_mean"] = per["kernel_per_notebook_mean"] / per["ours_notebooks_jobs1"]
        out["notebook_speedup_vs_kernel_floor"] = per["kernel_floor"] / per["ours_notebooks_jobs1"]
    if "nbgrader" in per:
        out["notebook_speedup_vs_nbgrader"] = per["nbgrader"] / per["ours_notebooks_jobs1"]
    return out


def verdicts(ratio: dict[str, float]) -> dict[str, str]:
    checks = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b}
    return {key: ("met" if checks[op](ratio[key], bound) else "MISSED") if key in ratio else "not measured"
            for key, (_, op, bound) in TARGETS.items()}


def per_item(times: dict[str, list[float]], klass: Klass, nbgrader: dict) -> dict[str, float]:
    """Seconds per submission (or notebook, or start) from the medians."""
    notebooks = len(klass.notebooks)
    per = {"ours_jobs1": median(times["ours_jobs1"]) / klass.size,
           "ours_jobs2": median(times["ours_jobs2"]) / klass.size,
           "ours_notebooks_jobs1": median(times["ours_notebooks_jobs1"]) / notebooks,
           "ours_notebooks_jobs2": median(times["ours_notebooks_jobs2"]) / notebooks,
           "isolated_numpy": median(times["isolated_numpy"]) / klass.size,
           "help": median(times["help"]), "python_pass": median(times["python_pass"])}
    if "kernel_per_notebook" in times:
        per["kernel_per_notebook"] = median(times["kernel_per_notebook"])
        per["kernel_per_notebook_mean"] = statistics.fmean(times["kernel_per_notebook"])
        per["kernel_floor"] = median(times["kernel_floor"])
    per["nbgrader"] = nbgrader["per_notebook_s"]
    return per


Row = tuple[str, "list[float] | None", float, str]  # label, wall times of whole runs, seconds per item, unit


def table_rows(times: dict[str, list[float]], per: dict[str, float], klass: Klass, nbgrader: dict) -> list[Row]:
    n, nb = klass.size, len(klass.notebooks)
    rows: list[Row] = [
        (f"ours  rnn-grader grade, {n} submissions, --jobs 1", times["ours_jobs1"], per["ours_jobs1"], "submission"),
        (f"ours  rnn-grader grade, {n} submissions, --jobs 2", times["ours_jobs2"], per["ours_jobs2"], "submission"),
        (f"ours  rnn-grader grade, {nb} notebooks, --jobs 1", times["ours_notebooks_jobs1"],
         per["ours_notebooks_jobs1"], "notebook"),
        (f"ours  rnn-grader grade, {nb} notebooks, --jobs 2", times["ours_notebooks_jobs2"],
         per["ours_notebooks_jobs2"], "notebook"),
        (f"(a)   python -c 'import numpy' x {n}, serial", times["isolated_numpy"], per["isolated_numpy"],
         "submission"),
    ]
    if "kernel_per_notebook" in times:
        rows.append((f"(b)   nbclient kernel per notebook ({len(times['kernel_per_notebook'])} notebooks)",
                     None, per["kernel_per_notebook"], "notebook (median)"))
        rows.append(("(b)   the same, mean per notebook", None, per["kernel_per_notebook_mean"], "notebook (mean)"))
        rows.append(("(b')  kernel floor: one cell `import numpy`", None, per["kernel_floor"], "notebook (median)"))
    if nbgrader["measured_in_this_run"]:
        rows.append((f"(c)   nbgrader {nbgrader['version']} autograde, {nbgrader['notebooks']} notebooks",
                     [nbgrader["total_s"]], per["nbgrader"], "notebook"))
    else:
        rows.append(("(c)   nbgrader autograde: MEASURED EARLIER, not this run", None, per["nbgrader"], "notebook"))
    rows.append(("rnn-grader --help", times["help"], per["help"], "start (median)"))
    rows.append(("python -c pass", times["python_pass"], per["python_pass"], "start (median)"))
    return rows


def table(rows: list[Row]) -> str:
    lines = [f"{'contender':<58} {'median wall':>11} {'runs':>4} {'per item':>10}  per", "-" * 100]
    for label, walls, each, unit in rows:
        wall = f"{median(walls):9.2f} s" if walls else f"{'':>11}"
        count = str(len(walls)) if walls else ""
        lines.append(f"{label:<58} {wall} {count:>4} {each * 1000:8.1f} ms  {unit}")
    return "\n".join(lines)


def ratio_lines(ratio: dict[str, float], verdict: dict[str, str]) -> str:
    labels = {
        "submission_vs_isolated": "ours --jobs 1 per submission / (a) per submission",
        "submission_vs_isolated_jobs2": "ours --jobs 2 per submission / (a) per submission",
        "notebook_speedup_vs_kernel": "(b) per notebook / ours --jobs 1 per notebook",
        "notebook_speedup_vs_kernel_jobs2": "(b) per notebook / ours --jobs 2 per notebook",
        "notebook_speedup_vs_kernel_mean": "(b) mean per notebook / ours --jobs 1 per notebook",
        "notebook_speedup_vs_kernel_floor": "(b') kernel floor / ours --jobs 1 per notebook",
        "notebook_speedup_vs_nbgrader": "(c) nbgrader per notebook / ours --jobs 1 per notebook",
        "help_ms": "rnn-grader --help (ms)",
        "help_minus_python_pass_ms": "rnn-grader --help minus python -c pass (ms)",
    }
    lines = []
    for key, label in labels.items():
        if key in ratio:
            target = TARGETS.get(key)
            note = f"   target {target[1]} {target[2]:g}: {verdict[key]}" if target else ""
            lines.append(f"{label:<58} {ratio[key]:10.2f}{note}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on 20 submissions")
    parser.add_argument("--runs", type=int, help="rounds for ours and (a) (default 3)")
    parser.add_argument("--nbgrader-venv", type=Path, default=NBGRADER_VENV,
                        help=f"virtual environment with nbgrader for (c) (default {NBGRADER_VENV})")
    parser.add_argument("--setup-nbgrader", action="store_true",
                        help="create --nbgrader-venv with pip install nbgrader numpy when it is missing")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="where to write the results JSON")
    return parser.parse_args()


def command_line() -> str:
    return " ".join(["python", "benchmarks/bench_grading.py", *sys.argv[1:]])


def run(plan: Plan, args: argparse.Namespace, workdir: Path) -> tuple[dict, Klass]:
    klass = write_class(workdir, plan)
    progress(f"{klass.size} submissions ({len(klass.notebooks)} notebooks) in {klass.everything}")
    info = machine()
    progress("ours and (a), interleaved rounds:")
    times = measure_rounds(rounds_contenders(klass, workdir), plan.runs)
    grades = summarise_grades(workdir / "ours1.json")
    progress("rnn-grader --help and python -c pass:")
    times |= measure_startup(plan.startup_runs)
    skipped = {}
    reason = kernel_unavailable()
    if reason:
        skipped["kernel"] = f"(b) skipped: {reason}; install with: {INSTALL_HINT}"
        progress(skipped["kernel"])
    else:
        progress("(b) Jupyter kernel via nbclient:")
        times |= measure_kernel(klass, plan, workdir / "kernel-cwd")
    if args.setup_nbgrader and nbgrader_unavailable(args.nbgrader_venv):
        progress(f"setting up {args.nbgrader_venv} (pip install nbgrader numpy)...")
        setup_nbgrader_venv(args.nbgrader_venv)
    progress("(c) nbgrader autograde:")
    nbgrader = measure_nbgrader(klass, plan, workdir, args.nbgrader_venv)
    if not nbgrader["measured_in_this_run"]:
        progress(f"  not measured in this run: {nbgrader['why_not']}")
    per = per_item(times, klass, nbgrader)
    ratio = ratios(per)
    info["load_average_at_end"] = os.getloadavg()
    results = {"command": command_line(), "when": datetime.datetime.now().isoformat(timespec="seconds"),
               "machine": info, "quick": args.quick, "plan": asdict(plan), "submissions": klass.size, "notebooks": len(klass.notebooks),
               "grades_of_ours_jobs1": grades, "times_s": times,
               "medians_s": {k: median(v) for k, v in times.items()}, "per_item_s": per, "nbgrader": nbgrader,
               "ratios": ratio, "targets": verdicts(ratio), "skipped": skipped}
    return results, klass


def main() -> None:
    args = parse_args()
    plan = QUICK if args.quick else Plan()
    if args.runs:
        plan = Plan(**{**asdict(plan), "runs": args.runs})
    with tempfile.TemporaryDirectory(prefix="rnn-grader-bench-") as tmp:
        results, klass = run(plan, args, Path(tmp))
    print()
    print(table(table_rows(results["times_s"], results["per_item_s"], klass, results["nbgrader"])))
    print()
    print(ratio_lines(results["ratios"], results["targets"]))
    for message in results["skipped"].values():
        print(message)
    print(f"\nOPENBLAS_CORETYPE={results['machine']['OPENBLAS_CORETYPE']}, {results['machine']['cpus']} cpus; "
          f"grades of ours --jobs 1: {results['grades_of_ours_jobs1']}")
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
