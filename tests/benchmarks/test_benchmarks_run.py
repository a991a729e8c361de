"""The benchmarks reach into the grader (its pipeline's stages, the written reader's caches): each runs here on a
class of three, so a change inside the grader that breaks one is seen with the tests, not at the next measurement."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
CORPUS = Path(__file__).resolve().parents[1] / "corpus"
sys.path.insert(0, str(BENCHMARKS))

import bench_fork  # noqa: E402
import bench_judging  # noqa: E402
import bench_own_cpu  # noqa: E402
import bench_parts  # noqa: E402
import bench_targets  # noqa: E402
import bench_versions  # noqa: E402


@pytest.fixture
def small_class(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(CORPUS / "correct" / "student01_loops.py", folder / "a.py")
    shutil.copy(CORPUS / "wrong" / "missing_tanh_derivative.py", folder / "b.py")
    shutil.copy(Path(__file__).parents[1] / "examples" / "student_answer_rnn_bptt.md", folder / "c.md")
    return folder


def test_the_targets_breakdown_times_every_stage_of_a_class(small_class):
    stages = bench_targets.breakdown(small_class, 2)
    assert stages["submissions"] == 3 and stages["with_code"] == 2
    assert all(stages["ms_per_submission"][stage] > 0 for stage in ("read", "judge", "hand-over", "collect"))


def test_every_part_bench_parts_counts_is_still_in_the_grader(small_class, tmp_path):
    """bench_parts wraps the grader's functions by name: each must still exist, run and be counted."""
    parts_file = tmp_path / "parts.json"
    command = bench_parts.counting_command(BENCHMARKS.parent, small_class, tmp_path / "out.json", parts_file)
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    counted = json.loads(parts_file.read_text())
    assert set(counted["parts_s"]) == set(bench_parts.PARTS) and all(counted["parts_s"].values())
    assert counted["process_cpu_s"] >= sum(counted["parts_s"].values())


def test_the_kernels_charges_are_measured_for_a_bare_interpreter():
    charges = bench_fork.measured("")
    assert set(charges) == {"fork_parent_ms", "fork_child_ms", "page_copied_us", "wake_up_us"}
    assert all(value > 0 for value in charges.values())


def test_the_judging_benchmark_times_a_tree_against_itself(small_class):
    totals = bench_judging.judged(BENCHMARKS.parent, [small_class])
    spent, count = totals["class"]
    assert count == 3 and spent > 0


def test_a_students_check_is_timed_as_installed_from_a_wheel(tmp_path):
    """bench_check times each version installed as a student installs it (a wheel, no editable import hook)."""
    import subprocess

    import bench_check

    python = bench_check.installed(BENCHMARKS.parent, tmp_path / "venv")
    where = subprocess.run([str(python), "-c", "import grader, sys; print(grader.__file__); print(sys.path)"],
                           cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(tmp_path / "venv")) and "__editable__" not in where
    assert not (BENCHMARKS.parent / "build").exists()  # built from a copy: the checkout is left as it was
    work = CORPUS / "correct" / "student02_vectorised.py"
    check = subprocess.run([str(python.parent / "rnn-grader"), "check", str(work)], capture_output=True, text=True)
    assert check.returncode == 1 and re.search(r"PASS\s+rnn_step", check.stdout), check.stdout + check.stderr


def test_the_cs231n_class_of_bench_own_cpu_is_graded_as_its_exercise(tmp_path):
    """A class of another exercise: its files come from that exercise's corpus, right and wrong ones, and its
    grading names it."""
    folder, output = tmp_path / "cs231n", tmp_path / "out.json"
    size = len(bench_targets.CS231N_SOURCES) + 1  # every file once, and the first again: the wrong ones included
    assert bench_targets.write_folder(folder, {"cs231n": size}) == size
    corpus = {path.name for path in (CORPUS / "cs231n").glob("*/*.py")}
    assert all(path.name.split("_", 1)[1] in corpus for path in folder.iterdir())
    command = bench_versions.grade_command(BENCHMARKS.parent, folder, 2, output, bench_own_cpu.EXERCISES["cs231n"])
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    graded = json.loads(output.read_text())
    assert graded["exercise"] == "cs231n-rnn" and len(graded["submissions"]) == size
    scores = [s["score"] == s["max_score"] for s in graded["submissions"] if s["status"] == "graded"]
    assert any(scores) and not all(scores)  # some full marks, some not
