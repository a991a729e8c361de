"""Nothing lost: results recorded one transaction at a time, `--resume` after a kill -9, history kept."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


from grader.record.gradebook import Gradebook, fingerprint
from grader.results import QuestionResult, SubmissionResult

CORPUS = Path(__file__).parents[1] / "corpus"
CLASS_SIZE = 8


def slow_class(folder: Path) -> Path:
    """A class of correct submissions, each taking a moment to load, so a batch can be killed half-way."""
    folder.mkdir()
    source = (CORPUS / "correct/student01_loops.py").read_text()
    for n in range(CLASS_SIZE):
        (folder / f"s{n:02d}.py").write_text(f"import time\ntime.sleep(0.4)\n{source}")
    return folder


def grade_command(folder: Path, book: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "grader", "grade", str(folder), "--gradebook", str(book), "--timeout", "5",
            "--format", "json", *extra]


def rows(book: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(book) as db:
        return db.execute("SELECT id, path FROM grades ORDER BY id").fetchall()


def wait_for_rows(book: Path, count: int, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if book.exists():
            try:
                if len(rows(book)) >= count:
                    return
            except sqlite3.OperationalError:  # the table may not exist yet
                pass
        time.sleep(0.05)
    raise AssertionError("the batch recorded nothing in time")


def test_resume_after_kill_9_loses_and_duplicates_nothing(tmp_path):
    folder, book = slow_class(tmp_path / "class"), tmp_path / "gradebook.sqlite"
    batch = subprocess.Popen(grade_command(folder, book), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_rows(book, 3)
    os.kill(batch.pid, signal.SIGKILL)
    batch.wait()
    before = rows(book)
    assert 3 <= len(before) < CLASS_SIZE  # killed with work left to do

    resumed = subprocess.run(grade_command(folder, book, "--resume"), capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    after = rows(book)
    # Every submission recorded exactly once; what was finished before the kill was not graded again.
    assert sorted(path for _, path in after) == sorted(str(p) for p in folder.iterdir())
    assert after[: len(before)] == before
    report = json.loads(resumed.stdout)
    assert len(report["submissions"]) == CLASS_SIZE
    # code only: full marks on everything but the written derivation.* questions, which are missing
    assert all(s["score"] == sum(q["max_score"] for q in s["questions"] if not q["id"].startswith("derivation."))
               for s in report["submissions"])


def test_regrades_keep_history_and_resume_regrades_what_changed(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(CORPUS / "correct/student02_vectorised.py", folder / "ann.py")
    shutil.copy(CORPUS / "wrong/mean_loss.py", folder / "bo.py")
    book = tmp_path / "book.sqlite"
    for _ in range(2):  # two plain regrades: two rows each, nothing overwritten
        assert subprocess.run(grade_command(folder, book), capture_output=True).returncode == 0
    assert len(rows(book)) == 4
    shutil.copy(CORPUS / "correct/student01_loops.py", folder / "bo.py")  # bo resubmits a fixed version
    resumed = subprocess.run(grade_command(folder, book, "--resume"), capture_output=True, text=True)
    assert [path for _, path in rows(book)[4:]] == [str(folder / "bo.py")]  # only the changed one regraded
    with Gradebook(book) as gradebook:
        scores = [score for score, _ in gradebook.history("rnn-bptt", str(folder / "bo.py"))]
    assert scores[0] == scores[1] < scores[2]  # history shows the fix
    assert json.loads(resumed.stdout)["submissions"][1]["score"] == scores[2]


def test_fingerprint_follows_content_and_context(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    first = fingerprint([(path, "a.py")], "ctx")
    assert fingerprint([(path, "a.py")], "ctx") == first
    assert fingerprint([(path, "a.py")], "other secret") != first
    path.write_text("x = 2\n")
    assert fingerprint([(path, "a.py")], "ctx") != first


def test_a_file_that_is_not_a_gradebook_is_a_usage_error(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    (tmp_path / "a.md").write_text("$$W_H = 7 \\times 7$$")
    done = subprocess.run(grade_command(tmp_path / "a.md", junk), capture_output=True, text=True)
    assert done.returncode == 2 and "not a usable gradebook" in done.stderr and "Traceback" not in done.stderr


def test_stored_results_round_trip_and_grader_errors_are_retried(tmp_path):
    result = SubmissionResult(path="p", student="s", score=1.0, max_score=2.0, status="graded")
    failed = result.model_copy(update={"path": "q", "questions": [QuestionResult(
        id="a", score=0, max_score=1, status="error", feedback="Grader error", staff_log="Traceback ...")]})
    with Gradebook(tmp_path / "b.sqlite") as book:
        book.record("ex", "fp", result)
        book.record("ex", "fp", failed)
        assert book.stored("ex", "p", "fp") == result
        assert book.stored("ex", "p", "another") is None
        assert book.stored("ex", "q", "fp") is None  # --resume grades it again


def test_the_current_grades_are_the_newest_row_of_each_submission(tmp_path):
    from grader.record.gradebook import Gradebook
    from grader.results import SubmissionResult

    def result(path, score):
        return SubmissionResult(path=path, student=path, score=score, max_score=10, status="graded")

    with Gradebook(tmp_path / "g.sqlite") as book:
        book.record("ex", "f1", result("a.py", 3))
        book.record("ex", "f2", result("b.py", 5))
        book.record("ex", "f3", result("a.py", 7))  # a regrade: the newest row counts
        current = book.current()
    assert current.exercise == "ex"
    assert {s.path: s.score for s in current.submissions} == {"a.py": 7, "b.py": 5}
