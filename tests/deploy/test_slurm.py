"""deploy/slurm/grade-class.sh on a real one-node Slurm cluster, submitted as an instructor would: its job array
grades the class in shards, its merge job joins them, and the merged gradebook says what one unsharded
`rnn-grader grade` of the class says, in every output format. When a task fails, Slurm cancels the merge job
(without `--kill-on-invalid-dep` it would wait forever). The cluster: tests/deploy/slurm_cluster.py.

What may differ, and is set aside: in the native JSON the run's `isolation` (a gradebook keeps no isolation
level) and each submission's `cpu_s` and `wall_s` (measured, so never the same twice); in the HTML class page
the same isolation level in its subtitle and its slowest-submissions table but for its number of rows (its seconds
decide which submissions it lists, and in which order). Everything else, paths included, is compared byte for byte."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from needs import ROOT, VENV_BIN, require
from slurm_cluster import installed, running_cluster

from grader.report import FORMATS

SCRIPT = ROOT / "deploy/slurm/grade-class.sh"
CORPUS = ROOT / "tests/corpus"
SHARDS = 4  # the script's default, left as an instructor would
EXERCISE = "rnn-bptt"
ASSIGNMENT = "RNN homework (1234)"
MERGE_JOB_OUTPUTS = {"csv": "grades.csv", "json": "results.json", "html": "report"}  # what the merge job writes
MEASURED = ("cpu_s", "wall_s")
JOBS_SECONDS = 900  # a bound on the wait for the jobs, should the cluster never run them


def make_workspace(folder: Path) -> Path:
    """The instructor's folder: the class in `submissions/`, the secret, a roster and the script beside them.
    The names put students in each of the 4 shards (jo and kim in the 1st)."""
    class_folder = folder / "submissions"
    class_folder.mkdir(parents=True)
    files = {
        "ann.py": "correct/student01_loops.py", "cy.py": "correct/student02_vectorised.py",
        "bo.py": "wrong/missing_tanh_derivative.py", "jo.py": "wrong/truncated_bptt.py",
        "kim.py": "wrong/syntax_error.py", "alice.py": "wrong/mean_loss.py",
        "nb_student.ipynb": "correct/notebook_homework.ipynb",
    }  # fmt: skip
    for name, source in files.items():
        shutil.copy(CORPUS / source, class_folder / name)
    shutil.copy(ROOT / "tests/examples/student_answer_rnn_bptt.md", class_folder / "alice.md")
    for name in ("folder_submission", "markdown_answers"):
        shutil.copytree(CORPUS / "correct" / name, class_folder / name)
    names = sorted({entry.stem if entry.is_file() else entry.name for entry in class_folder.iterdir()})
    (folder / "roster.csv").write_text("submission,student\n" + "".join(f"{name},id-{name}\n" for name in names))
    (folder / "secret").write_text("the course's secret\n")
    shutil.copy(SCRIPT, folder / SCRIPT.name)
    return folder


def submit(cluster, workspace: Path) -> tuple[str, str]:
    """`bash grade-class.sh` on the login node, with the variables its header asks for: (array id, merge id)."""
    environment = cluster.environment | {
        "SECRET_FILE": str(workspace / "secret"),
        "GRADER": str(VENV_BIN / "rnn-grader"),
    }
    printed = cluster.run("bash", SCRIPT.name, cwd=workspace, env=environment)
    found = re.search(r"job array (\d+) \(1-(\d+)\); merge: job (\d+) after", printed)
    assert found and found[2] == str(SHARDS), printed
    return found[1], found[3]


def job_logs(workspace: Path) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()}" for log in sorted(workspace.glob("*.log")))


def output_name(fmt: str) -> str:
    return fmt if FORMATS[fmt].output != "text" else f"{fmt}.txt"


def format_options(fmt: str, workspace: Path) -> list[str]:
    options = []
    if "roster" in FORMATS[fmt].reads:
        options += ["--roster", str(workspace / "roster.csv")]
    if "assignment" in FORMATS[fmt].reads:
        options += ["--assignment", ASSIGNMENT]
    return options


def grader(workspace: Path, *arguments: str) -> None:
    done = subprocess.run([str(VENV_BIN / "rnn-grader"), *arguments], cwd=workspace, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def unsharded(workspace: Path, fmt: str) -> Path:
    out = workspace / "unsharded" / output_name(fmt)
    out.parent.mkdir(exist_ok=True)
    grader(workspace, "grade", "submissions", "--exercise", EXERCISE, "--jobs", "2", "--secret-file", "secret",
           "--format", fmt, "-o", str(out), *format_options(fmt, workspace))  # fmt: skip
    return out


def merged(workspace: Path, fmt: str) -> Path:
    """The merge job's own output where it writes this format; else `rnn-grader merge` of the cluster's gradebooks."""
    if fmt in MERGE_JOB_OUTPUTS:
        return workspace / "grading" / MERGE_JOB_OUTPUTS[fmt]
    out = workspace / "merged" / output_name(fmt)
    out.parent.mkdir(exist_ok=True)
    books = sorted(str(book) for book in (workspace / "grading").glob("gradebook-*.sqlite"))
    grader(workspace, "merge", *books, "--class", "submissions", "--format", fmt, "-o", str(out),
           *format_options(fmt, workspace))  # fmt: skip
    return out


def comparable(fmt: str, output: Path) -> dict[str, object]:
    """Every file of an output by its relative path, with what legitimately differs set aside."""
    files = sorted(path for path in output.rglob("*") if path.is_file()) if output.is_dir() else [output]
    contents: dict[str, object] = {}
    for path in files:
        key = path.relative_to(output).as_posix() if output.is_dir() else "."
        contents[key] = path.read_bytes()
    if fmt == "json":
        contents["."] = without_measurements(json.loads(contents["."]))
    if fmt == "html":
        contents["index.html"] = without_timings(contents["index.html"].decode())
    return contents


def without_measurements(document: dict) -> dict:
    document.pop("isolation", None)
    for submission in document["submissions"]:
        for key in MEASURED:
            submission.pop(key, None)
    return document


def without_timings(page: str) -> str:
    page = re.sub(r", student code ran under [\w+-]+</p>", "</p>", page)
    table = re.search(r'<table id="slowest-table">.*?</table>', page, re.DOTALL)
    assert table, "the class page's slowest-submissions table"
    rows = table[0].count('<a href="students/')  # which students, and in which order, the timings decide
    return page.replace(table[0], f"(the {rows} slowest submissions)")


@pytest.fixture(scope="module")
def cluster():
    """One cluster for this file's tests; afterwards, none of its processes is left."""
    require(os.geteuid() == 0, "root (the cluster's daemons run as root)")
    require(installed(), "Slurm and munge (Debian's slurm-wlm and munge)")
    # A short folder: munged's socket path must fit in a socket address (108 bytes).
    with tempfile.TemporaryDirectory(prefix="slurm-") as folder:
        with running_cluster(Path(folder)) as running:
            yield running
        assert running.processes() == []  # the daemons and every job's processes are gone


@pytest.mark.slow
def test_merged_shards_from_the_cluster_equal_an_unsharded_run_in_every_format(cluster, tmp_path):
    workspace = make_workspace(tmp_path / "course")
    array_id, merge_id = submit(cluster, workspace)
    records = cluster.wait_for_jobs([array_id, merge_id], JOBS_SECONDS)
    logs = job_logs(workspace)
    tasks = records[array_id]
    assert sorted(int(task["ArrayTaskId"]) for task in tasks) == list(range(1, SHARDS + 1)), logs
    for record in tasks + records[merge_id]:
        assert (record["JobState"], record["ExitCode"]) == ("COMPLETED", "0:0"), f"{record}\n{logs}{cluster.logs()}"
    graded = [int(n) for n in re.findall(rf"graded (\d+) submission\(s\) \(shard \d/{SHARDS}\)", logs)]
    assert len(graded) == SHARDS and min(graded) >= 1, logs  # every task graded its own share
    assert sum(graded) == len(list((workspace / "submissions").iterdir())), logs
    for fmt in FORMATS:
        assert comparable(fmt, merged(workspace, fmt)) == comparable(fmt, unsharded(workspace, fmt)), fmt


@pytest.mark.slow
def test_a_failed_shard_cancels_the_merge_job(cluster, tmp_path):
    workspace = make_workspace(tmp_path / "course")
    shutil.rmtree(workspace / "submissions")  # the instructor's slip: no class where CLASS says
    array_id, merge_id = submit(cluster, workspace)
    records = cluster.wait_for_jobs([array_id, merge_id], JOBS_SECONDS)
    assert {task["JobState"] for task in records[array_id]} == {"FAILED"}
    assert [merge["JobState"] for merge in records[merge_id]] == ["CANCELLED"]
    assert not (workspace / "grading/results.json").exists()
