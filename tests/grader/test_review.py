"""The review workflow end to end: a class graded into a gradebook with parts the grader could not verify,
`rnn-grader review` listing them, scores recorded from a CSV and on a pseudo-terminal, the history kept,
regrades keeping a review unless the answer changed, and every output format carrying the reviewed
scores while still marking the parts that await review. Real gradebooks, the real CLI in subprocesses."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import shutil
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.progress import batch_summary
from grader.record.gradebook import Gradebook
from grader.record.reviewed import GradedRow, Review, with_reviews
from grader.report.feedback import render_check
from grader.results import GradingResults, QuestionResult, SubmissionResult

ROOT = Path(__file__).parents[2]
CORPUS = ROOT / "tests/corpus"
ASSIGNMENT = "RNN homework (1234)"
# bea's gradient is reviewed in most tests; dee's chain stays pending; cal's grad_W_x is a regrade request.
REVIEWED = ("bea", "derivation.gradient")
PENDING = ("dee", "derivation.chain")
# A backward recursion instead of the double sum: a form students write that the reader may not verify.
RECURSION = r"""
## Task 2

$$a_t = W_H h_{t-1} + W_x x_t$$
$$h_t = \tanh(a_t)$$
$$z_t = W_y h_t$$
$$\hat{y}_t = \text{softmax}(z_t)$$
$$L_t = -\log \hat{y}_t[y_t]$$

L_t → ŷ_t → z_t → h_t → W_H, and h_t depends on W_H again through h_{t-1}.

$$\delta_t = W_y^\top(\hat y_t - e_{y_t}) + W_H^\top(\delta_{t+1} \odot (1 - h_{t+1}^2))$$
$$\frac{\partial L}{\partial W_H} = \sum_t \mathrm{diag}(1-h_t^2)\,\delta_t\, h_{t-1}^\top$$
"""


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args], capture_output=True, text=True, timeout=300, **kwargs
    )


def make_class(folder: Path) -> Path:
    """ann: code only; bea: code and a write-up; cal: a known mistake in code; dee: a write-up only."""
    folder.mkdir(parents=True)
    shutil.copy(CORPUS / "correct/student01_loops.py", folder / "ann.py")
    (folder / "bea").mkdir()
    shutil.copy(CORPUS / "correct/student02_vectorised.py", folder / "bea/rnn.py")
    (folder / "bea/derivation.md").write_text(RECURSION, encoding="utf-8")
    shutil.copy(ROOT / "examples/submissions/forgot_tanh_derivative.py", folder / "cal.py")
    shutil.copy(CORPUS / "writeups/correct/inline_lowercase.md", folder / "dee.md")
    return folder


def in_review(book_path: Path, student: str, question: str) -> None:
    """Make sure the part awaits review. A reader that cannot verify it already said so; otherwise the grade
    is recorded again, through the gradebook's own API, as a reader that could not verify it would make it
    (same files, same fingerprint: a regrade)."""
    with Gradebook(book_path) as book:
        exercise = book.exercise()
        [row] = book.current_rows(exercise, student)
        if next(q for q in row.result.questions if q.id == question).status == "review":
            return
        questions = [
            q.model_copy(update={"status": "review", "score": 0.0, "diagnosis": None, "feedback": unverified(q.id)})
            if q.id == question
            else q
            for q in row.result.questions
        ]
        score = round(sum(q.score for q in questions), 6)
        result = row.result.model_copy(update={"questions": questions, "score": score})
        book.record(exercise, row.fingerprint, result, row.answer)


def unverified(question: str) -> str:
    return f"The grader could not verify {question}.\nLine 16 was not recognised: \\delta_t = W_y^\\top(...)"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, Path]:
    """(class folder, gradebook) graded once for the module; tests work on copies of the gradebook."""
    root = tmp_path_factory.mktemp("review")
    folder = make_class(root / "class")
    book = root / "grades.sqlite"
    done = cli("grade", str(folder), "--gradebook", str(book), "--jobs", "2", "--format", "json")
    assert done.returncode == 0, done.stderr
    for student, question in (REVIEWED, PENDING):
        in_review(book, student, question)
    return folder, book


@pytest.fixture
def book(graded, tmp_path) -> Path:
    copy = tmp_path / "grades.sqlite"
    shutil.copy(graded[1], copy)
    return copy


def write_scores(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["student", "question", "score", "comment"], *rows])
    return path


def current(book: Path) -> dict[str, SubmissionResult]:
    with Gradebook(book) as gradebook:
        return {sub.student: sub for sub in gradebook.current().submissions}


def question(sub: SubmissionResult, qid: str) -> QuestionResult:
    return next(q for q in sub.questions if q.id == qid)


def pending(book: Path) -> list[tuple[str, str]]:
    """(student, question) of every part awaiting review, in the order `review` asks about them. Besides the
    two put in review here, a reader may send others (it cannot verify every form), so counts are read."""
    return [(sub.student, q.id) for sub in current(book).values() for q in sub.questions if q.status == "review"]


def reviews(book: Path) -> list[Review]:
    with Gradebook(book) as gradebook:
        return gradebook.reviews(gradebook.exercise())


# ---------------------------------------------------------------- listing and recording


def test_the_list_names_each_part_with_the_lines_the_grader_could_not_verify(book):
    listed = cli("review", str(book), stdin=subprocess.DEVNULL)
    assert listed.returncode == 0, listed.stderr  # not a terminal, no --scores: the list only
    parts = pending(book)
    assert f"{len(parts)} part(s) of {len({s for s, _ in parts})} submission(s) await review" in listed.stdout
    blocks = {tuple(block.splitlines()[0].split("  ")[:2]): block for block in listed.stdout.split("\n\n")[1:]}
    for student, qid in (REVIEWED, PENDING):
        part = question(current(book)[student], qid)
        block = blocks[(student, qid)]
        assert f"0/{part.max_score:g}" in block.splitlines()[0]  # its points
        # the grader's reading in full, with the student's lines it could not verify
        assert block.splitlines()[1:] == ["    " + line for line in part.feedback.splitlines()]
    assert reviews(book) == []  # listing records nothing


def test_scores_from_a_csv_are_recorded_with_their_history(book, tmp_path):
    before = time.time()
    first = write_scores(tmp_path / "scores.csv", [
        [*REVIEWED, "2.5", "Right recursion; the base case is missing"],
        ["cal", "grad_W_x", "1", "regrade request: the structure is right"],  # any question, not only review
        [*PENDING, "", "not yet"],  # a blank score skips the row
    ])  # fmt: skip
    done = cli("review", str(book), "--scores", str(first))
    assert done.returncode == 0, done.stderr
    left = len(pending(book))
    assert f"2 review(s) recorded (1 row(s) without a score skipped); {left} part(s) still await review" in done.stdout
    assert REVIEWED not in pending(book) and PENDING in pending(book)
    grades = current(book)
    gradient = question(grades["bea"], "derivation.gradient")
    assert (gradient.score, gradient.status) == (2.5, "failed")  # less than full marks fails
    assert gradient.feedback.startswith("Reviewed by an instructor: 2.5/3. Right recursion; the base case is missing")
    assert gradient.reviewed is not None and gradient.reviewed.grader_status == "review"
    assert question(grades["cal"], "grad_W_x").score == 1
    assert question(grades["dee"], "derivation.chain").status == "review"

    # A second look: the history keeps both, each with the score it replaced and when.
    second = write_scores(tmp_path / "again.csv", [[*REVIEWED, "3", "full marks after all"]])
    assert cli("review", str(book), "--scores", str(second)).returncode == 0
    history = [r for r in reviews(book) if (r.student, r.question) == REVIEWED]
    assert [(r.previous_score, r.score, r.comment) for r in history] == [
        (0.0, 2.5, "Right recursion; the base case is missing"),
        (2.5, 3.0, "full marks after all"),
    ]
    assert all(before <= r.reviewed_at <= time.time() for r in history)
    gradient = question(current(book)["bea"], "derivation.gradient")
    assert (gradient.score, gradient.status, gradient.diagnosis) == (3.0, "passed", None)  # full marks pass
    shown = cli("review", str(book), "--history").stdout.splitlines()
    assert len(shown) == 3 and "bea  derivation.gradient  2.5 -> 3/3" in shown[2] and "full marks" in shown[2]


# Each row is wrong in one way; the file as a whole is refused with a line per bad row, and nothing is recorded.
BAD_ROWS = [
    (["zed", "rnn_step", "1", ""], "unknown student 'zed'"),
    (["bea", "no_such_question", "1", ""], "unknown question 'no_such_question'"),
    (["bea", "derivation.gradient", "4", ""], "score 4 is outside 0..3"),
    (["bea", "derivation.gradient", "-1", ""], "score -1 is outside 0..3"),
    (["bea", "derivation.gradient", "two", ""], "score 'two' is not a number"),
    (["bea", "derivation.gradient", "nan", ""], "score nan is outside 0..3"),
]


def test_a_scores_file_with_bad_rows_records_nothing(book, tmp_path):
    good = [*PENDING, "1", "fine"]
    scores = write_scores(tmp_path / "scores.csv", [good, *(row for row, _ in BAD_ROWS)])
    refused = cli("review", str(book), "--scores", str(scores))
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 + len(BAD_ROWS)  # a heading, then one line per bad row, with its line number
    for number, (_, message) in enumerate(BAD_ROWS, start=3):
        assert f"line {number}: " in lines[number - 2] and message in lines[number - 2]
    assert reviews(book) == []  # not even the good row


def test_a_part_scored_twice_in_one_file_is_refused(book, tmp_path):
    scores = write_scores(tmp_path / "scores.csv", [[*REVIEWED, "1", ""], [*REVIEWED, "2", ""]])
    refused = cli("review", str(book), "--scores", str(scores))
    assert refused.returncode == 2 and "line 3:" in refused.stderr and "first on line 2" in refused.stderr
    assert reviews(book) == []


def test_a_scores_file_without_the_columns_is_refused(book, tmp_path):
    (tmp_path / "scores.csv").write_text("name,points\nbea,1\n")
    refused = cli("review", str(book), "--scores", str(tmp_path / "scores.csv"))
    assert refused.returncode == 2 and "no student, question, score column" in refused.stderr


class Terminal:
    """A command on a pseudo-terminal: read what it prints, type answers when asked."""

    def __init__(self, args: list[str]) -> None:
        self.master, replica = pty.openpty()
        self.process = subprocess.Popen(args, stdin=replica, stdout=replica, stderr=replica, close_fds=True)
        os.close(replica)
        self.printed = ""

    def expect(self, text: str, limit: float = 60.0) -> None:
        """Wait until `text` is printed; what comes after it is kept for the next wait."""
        deadline = time.monotonic() + limit
        while text not in self.printed:
            ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
            chunk = self._read() if ready else b""
            if not chunk:
                raise AssertionError(f"{text!r} never printed; the terminal shows:\n{self.printed}")
            self.printed += chunk.decode(errors="replace")
        self.printed = self.printed.split(text, 1)[1]

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self) -> str:
        while chunk := self._read():
            self.printed += chunk.decode(errors="replace")
        os.close(self.master)
        assert self.process.wait(timeout=60) == 0
        return self.printed

    def _read(self) -> bytes:
        try:
            return os.read(self.master, 4096)
        except OSError:  # EIO: the command closed the terminal
            return b""


def test_interactive_review_on_a_terminal_records_each_answer_as_it_is_entered(book):
    parts = pending(book)
    (first, first_id), (second, second_id) = parts[:2]
    first_part = question(current(book)[first], first_id)
    top = f"{first_part.max_score:g}"
    terminal = Terminal([sys.executable, "-m", "grader", "review", str(book)])
    terminal.expect(f"[1/{len(parts)}] {first}  {first_id}  0/{top}")
    terminal.expect(first_part.feedback.splitlines()[0])  # the grader's reading, the lines it could not verify
    terminal.expect(f"score (0..{top}, blank to skip): ")
    terminal.type("three\n")  # asked again until it is a score
    terminal.expect("'three' is not a number")
    terminal.expect(f"score (0..{top}, blank to skip): ")
    terminal.type("7\n")
    terminal.expect(f"7 is outside 0..{top}")
    terminal.expect(f"score (0..{top}, blank to skip): ")
    terminal.type("1.5\n")
    terminal.expect("comment: ")
    terminal.type("Sound recursion, base case missing\n")
    terminal.expect(f"recorded: {first}  {first_id}  0 -> 1.5/{top}")
    # Recorded at once: the gradebook holds it while the command still waits for the next part.
    assert [(r.student, r.question, r.score) for r in reviews(book)] == [(first, first_id, 1.5)]
    terminal.expect(f"[2/{len(parts)}] {second}  {second_id}")
    for _ in parts[1:]:
        terminal.expect("blank to skip): ")
        terminal.type("\n")  # skipped
    terminal.expect(f"{len(parts) - 1} part(s) still await review")
    terminal.finish()
    assert len(reviews(book)) == 1
    assert question(current(book)[first], first_id).feedback.startswith(
        "Reviewed by an instructor: 1.5/" + top + ". Sound recursion, base case missing"
    )
    assert pending(book) == parts[1:]


def test_ctrl_d_stops_an_interactive_review_keeping_what_was_entered(book):
    first, first_id = pending(book)[0]
    terminal = Terminal([sys.executable, "-m", "grader", "review", str(book)])
    terminal.expect("blank to skip): ")
    terminal.type("1\n")
    terminal.expect("comment: ")
    terminal.type("\n")
    terminal.expect("blank to skip): ")
    terminal.type("\x04")  # end of input at the second part
    terminal.expect("stopped")
    terminal.finish()
    assert [(r.student, r.question, r.score, r.comment) for r in reviews(book)] == [(first, first_id, 1.0, "")]


# ---------------------------------------------------------------- regrades


def test_a_regrade_keeps_reviews_unless_the_answer_changed(graded, book, tmp_path):
    folder = tmp_path / "class"
    shutil.copytree(graded[0], folder)
    scores = write_scores(tmp_path / "scores.csv", [[*REVIEWED, "2", "ok"], ["cal", "grad_W_x", "1", "regrade"]])
    assert cli("review", str(book), "--scores", str(scores)).returncode == 0
    # The same files graded again (from a copy of the class, so under other paths, and another time limit):
    regrade = cli("grade", str(folder), "--gradebook", str(book), "--timeout", "7", "--format", "json")
    assert regrade.returncode == 0, regrade.stderr
    printed = {sub["student"]: sub for sub in json.loads(regrade.stdout)["submissions"]}
    assert next(q for q in printed["cal"]["questions"] if q["id"] == "grad_W_x")["score"] == 1  # grade's output too
    with Gradebook(book) as gradebook:
        newest = {row.student: row for row in gradebook.current_rows(gradebook.exercise())}  # the regrade's rows
        shown = {sub.path: sub for sub in gradebook.current().submissions}
    assert question(shown[newest["cal"].path], "grad_W_x").score == 1
    assert question(shown[newest["bea"].path], "derivation.gradient").score == 2
    # bea is now in the gradebook under two paths: a score from a CSV goes to the newest grade
    again = write_scores(tmp_path / "again.csv", [["bea", "rnn_step", "1", "regrade: copied code"]])
    assert cli("review", str(book), "--scores", str(again)).returncode == 0
    assert reviews(book)[-1].path == newest["bea"].path

    # cal changes the file: the override no longer applies, the grader's verdict stands, and it says so.
    (folder / "cal.py").write_text((folder / "cal.py").read_text() + "\n# resubmitted\n")
    regrade = cli("grade", str(folder / "cal.py"), "--gradebook", str(book), "--format", "json")
    assert regrade.returncode == 0, regrade.stderr
    part = next(q for q in json.loads(regrade.stdout)["submissions"][0]["questions"] if q["id"] == "grad_W_x")
    assert (part["score"], part["status"], "reviewed" in part) == (0, "failed", False)
    assert "no longer applies: the submission has changed since" in part["feedback"]


def test_a_part_in_review_whose_answer_changed_awaits_review_again():
    review = Review("dee", "derivation.chain", 2.0, 2.0, 0.0, "", 1.7e9, "dee.md", 1, "old", "old-files")
    part = QuestionResult(id="derivation.chain", score=0, max_score=2, status="review", feedback="unreadable")
    result = SubmissionResult(path="dee.md", student="dee", score=0, max_score=2, status="graded", questions=[part])
    same = with_reviews(GradedRow(2, "dee.md", "dee", "new", "old-files", result), [review])  # same files
    changed = with_reviews(GradedRow(3, "dee.md", "dee", "new", "new-files", result), [review])
    assert (same.score, same.questions[0].status) == (2.0, "passed")
    assert (changed.score, changed.questions[0].status) == (0.0, "review")
    assert changed.questions[0].feedback.endswith("This part awaits review again.")


def test_a_gradebook_from_before_reviews_gains_the_answer_column(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the schema of earlier versions
        db.execute(
            "CREATE TABLE grades (id INTEGER PRIMARY KEY AUTOINCREMENT, exercise TEXT NOT NULL, path TEXT NOT NULL,"
            " student TEXT NOT NULL, fingerprint TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL,"
            " result_json TEXT NOT NULL, graded_at REAL NOT NULL)"
        )
    with Gradebook(path) as book:
        assert book.current_rows("rnn-bptt") == []
    with sqlite3.connect(path) as db:
        assert "answer" in {row[1] for row in db.execute("PRAGMA table_info(grades)")}


# ---------------------------------------------------------------- every output


@pytest.fixture
def reviewed(book, tmp_path) -> Path:
    """bea's gradient reviewed to 2.5 of 3; dee's chain still awaits review."""
    scores = write_scores(tmp_path / "scores.csv", [[*REVIEWED, "2.5", "Right recursion; base case missing"]])
    assert cli("review", str(book), "--scores", str(scores)).returncode == 0
    return book


def merged(book: Path, fmt: str, out: Path, *extra: str) -> subprocess.CompletedProcess:
    done = cli("merge", str(book), "--format", fmt, "-o", str(out), *extra)
    assert done.returncode == 0, done.stderr
    return done


def check_table(book: Path, out: Path) -> None:
    merged(book, "table", out)
    lines = out.read_text().splitlines()
    assert any(line.split()[:3] == ["derivation.gradient", "2.5/3", "failed"] and "reviewed" in line for line in lines)
    assert any(line.startswith("dee ") and "graded, awaiting review: " in line and "derivation.chain" in line
               for line in lines)
    assert any(line.split()[:3] == ["derivation.chain", "0/2", "review"] for line in lines)
    left = len(pending(book))
    assert lines[-1].endswith(f", {left} part{'s' if left > 1 else ''} awaiting review")


def check_json(book: Path, out: Path) -> None:
    merged(book, "json", out)
    document = json.loads(out.read_text())
    subs = {sub["student"]: sub for sub in document["submissions"]}
    part = next(q for q in subs["bea"]["questions"] if q["id"] == "derivation.gradient")
    assert (part["score"], part["status"], part["reviewed"]["grader_status"]) == (2.5, "failed", "review")
    assert subs["bea"]["score"] == sum(q["score"] for q in subs["bea"]["questions"])
    assert "derivation.chain" in subs["dee"]["awaiting_review"]
    assert "derivation.gradient" not in subs["bea"].get("awaiting_review", [])
    assert document["parts_awaiting_review"] == len(pending(book))


def check_csv(book: Path, out: Path) -> None:
    merged(book, "csv", out)
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO(out.read_text()))}
    assert rows["bea"]["derivation.gradient"] == "2.5"
    assert "derivation.chain" in rows["dee"]["awaiting review"].split()
    assert "derivation.gradient" not in rows["bea"]["awaiting review"].split()
    assert rows["ann"]["awaiting review"] == ""  # code only: nothing to review


def check_canvas(book: Path, out: Path) -> None:
    roster = out.parent / "roster.csv"
    roster.write_text("submission,student\nann.py,ann\nbea,bea\ncal.py,cal\ndee.md,dee\n")
    done = merged(book, "canvas", out, "--roster", str(roster), "--assignment", ASSIGNMENT)
    rows = {row["Student"]: row[ASSIGNMENT] for row in csv.DictReader(io.StringIO(out.read_text()))}
    assert float(rows["bea"]) == current(book)["bea"].score  # the reviewed total
    assert rows["dee"] == ""  # left blank: no provisional grade reaches Canvas
    assert "awaiting review, left blank: dee (" in done.stderr and "derivation.chain" in done.stderr


def check_gradescope(book: Path, out: Path) -> None:
    merged(book, "gradescope", out)
    bea = json.loads((out / "bea.json").read_text())
    test = next(t for t in bea["tests"] if t["name"] == "derivation.gradient")
    assert (test["score"], test["status"]) == (2.5, "failed") and "base case missing" in test["output"]
    dee = json.loads((out / "dee.json").read_text())
    test = next(t for t in dee["tests"] if t["name"] == "derivation.chain")
    assert (test["score"], test["status"], test["tags"]) == (0, "failed", ["awaiting-review"])
    assert test["output"].startswith("Awaiting review by an instructor")
    assert "Awaiting review by an instructor: " in dee["output"] and "derivation.chain" in dee["output"]


def check_junit(book: Path, out: Path) -> None:
    merged(book, "junit", out)
    root = ET.parse(out).getroot()
    case = root.find("testsuite[@name='bea']/testcase[@name='derivation.gradient']")
    assert "2.5/3" in case.find("failure").get("message")
    chain = root.find("testsuite[@name='dee']/testcase[@name='derivation.chain']")
    assert chain.find("skipped").get("message").startswith("Awaiting review by an instructor")
    assert root.get("skipped") == str(len(pending(book)))
    listed = root.find("testsuite[@name='dee']/properties/property[@name='awaiting_review']").get("value")
    assert "derivation.chain" in listed.split(", ")


def check_github_classroom(book: Path, out: Path) -> None:
    merged(book, "github-classroom", out)
    bea = json.loads((out / "bea.json").read_text())
    assert next(t for t in bea["tests"] if t["name"] == "derivation.gradient")["score"] == 2.5
    dee = json.loads((out / "dee.json").read_text())
    test = next(t for t in dee["tests"] if t["name"] == "derivation.chain")
    assert (test["status"], test["score"], dee["status"]) == ("fail", 0, "fail")
    assert test["message"].startswith("Awaiting review by an instructor")


def check_html(book: Path, out: Path) -> None:
    done = cli("report", str(book), "-o", str(out))  # the report command; merge --format html is the same writer
    assert done.returncode == 0, done.stderr
    index = (out / "index.html").read_text()
    assert f'id="awaiting-review"><b>{len(pending(book))}</b><span>parts awaiting review' in index
    assert '<tr class="awaiting-review"><td><a href="students/dee.html">dee</a>' in index
    bea = (out / "students/bea.html").read_text()
    assert "2.5/3" in bea and "Reviewed by an instructor: 2.5/3. Right recursion; base case missing" in bea
    dee = (out / "students/dee.html").read_text()
    assert 'id="awaiting-review"' in dee and "derivation.chain" in dee.split('id="awaiting-review"')[1].split("</p>")[0]


@pytest.mark.parametrize(
    "check",
    [check_table, check_json, check_csv, check_canvas, check_gradescope, check_junit, check_github_classroom,
     check_html],
    ids=lambda check: check.__name__.removeprefix("check_"),
)  # fmt: skip
def test_every_output_from_a_gradebook_carries_reviewed_scores_and_marks_pending_parts(reviewed, tmp_path, check):
    check(reviewed, tmp_path / "out")


# ---------------------------------------------------------------- the student's and the batch's view


def test_check_says_a_part_in_review_is_not_verified_here_and_does_not_pass():
    part = QuestionResult(id="derivation.gradient", score=0, max_score=3, status="review", feedback="Line 4 unread.")
    passed = QuestionResult(id="rnn_step", score=2, max_score=2, status="passed")
    sub = SubmissionResult(path="me.md", student="me", score=2, max_score=5, status="graded", questions=[passed, part])
    text = render_check(GradingResults(exercise="rnn-bptt", submissions=[sub]))
    assert "REVIEW   derivation.gradient 0/3" in text
    assert "Not verified here: a person will read it when your work is graded." in text
    assert text.endswith("Not verified here (a person will read them): derivation.gradient.")


def test_the_batch_summary_lists_parts_awaiting_review(graded):
    with Gradebook(graded[1]) as gradebook:
        lines = batch_summary(gradebook.current())
    assert lines[0].startswith(f"{len(pending(graded[1]))} part(s) await review")
    assert any(line.startswith("  dee (") and line.endswith("derivation.chain") for line in lines)
