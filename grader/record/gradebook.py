"""The gradebook: every result written as soon as it exists, one transaction per submission.

SQLite from the standard library. Rows are never updated or deleted: a regrade adds a row, so
history is kept, and the newest row for (exercise, path) is the current grade. `--resume` reuses
a stored result when the submission's fingerprint (its files, the exercise, the secret) is unchanged.

Instructors' reviews (`rnn-grader review`) are rows of their own, never changed either: the grader's
result stays as it was, and current grades are read with the latest review of each part applied
(grader/record/reviewed.py). Each grade also keeps `answer`, a fingerprint of the files alone, so a
review survives a regrade of the same files under other settings.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from grader.record import GradebookError
from grader.record.reviewed import GradedRow, Review, Scoring, scoring_problem, with_reviews
from grader.record.stored import StoredResults
from grader.results import GradingResults, SubmissionResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS grades (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    exercise TEXT NOT NULL,
    path TEXT NOT NULL,
    student TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    result_json TEXT NOT NULL,
    graded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS grades_by_submission ON grades (exercise, path, id);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    exercise TEXT NOT NULL,
    student TEXT NOT NULL,
    question TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    previous_score REAL NOT NULL,
    comment TEXT NOT NULL,
    reviewed_at REAL NOT NULL,
    path TEXT NOT NULL,
    grade_id INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    answer TEXT
);
CREATE INDEX IF NOT EXISTS reviews_by_student ON reviews (exercise, student, id);
"""
_ROW = "id, path, student, fingerprint, answer, result_json"
_REVIEW = (
    "student, question, score, max_score, previous_score, comment, reviewed_at, path, grade_id, fingerprint, answer"
)


class Gradebook:
    """A SQLite file of grading results. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.executescript(SCHEMA)
            self._add_answer_column()
            path.chmod(0o600)  # grades and feedback of the whole class
        except sqlite3.DatabaseError as exc:
            raise GradebookError(f"{path}: not a usable gradebook ({exc})") from None

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()

    def _add_answer_column(self) -> None:
        """Gradebooks written before reviews lack `answer`; another process may be adding it too."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(grades)")}
        if "answer" in columns:
            return
        try:
            self._db.execute("ALTER TABLE grades ADD COLUMN answer TEXT")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise

    def record(self, exercise: str, fingerprint: str, result: SubmissionResult, answer: str | None = None) -> None:
        """Store one result in its own transaction: after a crash it is either all there or absent.
        `answer` is the fingerprint of the submission's files alone (`answer_fingerprint`)."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO grades (exercise, path, student, fingerprint, score, max_score, result_json, graded_at,"
                " answer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    exercise,
                    result.path,
                    result.student,
                    fingerprint,
                    result.score,
                    result.max_score,
                    result.model_dump_json(),
                    time.time(),
                    answer,
                ),
            )

    def stored(self, exercise: str, path: str, fingerprint: str) -> SubmissionResult | None:
        """The current result for a submission, if it was graded with this very fingerprint and no grader error."""
        row = self._db.execute(
            "SELECT fingerprint, result_json FROM grades WHERE exercise = ? AND path = ? ORDER BY id DESC LIMIT 1",
            (exercise, path),
        ).fetchone()
        if row is None or row[0] != fingerprint:
            return None
        result = SubmissionResult.model_validate_json(row[1])
        if any(question.staff_log for question in result.questions):
            return None  # a grader error is worth another try
        return result

    def current(self, exercise: str | None = None) -> GradingResults:
        """Every submission's current grade (its newest row, with the reviews that apply to it), for reports;
        the exercise may be left out when the gradebook holds only one."""
        exercise = self.exercise(exercise)
        return GradingResults(exercise=exercise, submissions=list(self.current_grades(exercise)))

    def current_stored(self, exercise: str | None = None) -> StoredResults:
        """`current`, copied to a temporary file a submission at a time: a large class's reports are made from
        there without holding it in memory. The caller closes it."""
        exercise = self.exercise(exercise)
        store = StoredResults(exercise)
        try:
            for place, result in enumerate(self.current_grades(exercise)):
                store.add(place, result)
        except BaseException:
            store.close()
            raise
        return store

    def current_grades(self, exercise: str) -> Iterator[SubmissionResult]:
        """`current`'s submissions one at a time, read as they are asked for (the gradebook stays open meanwhile)."""
        reviews: dict[str, list[Review]] = {}
        for review in self.reviews(exercise):
            reviews.setdefault(review.student, []).append(review)
        for row in self._current_rows(exercise):
            yield with_reviews(row, reviews.get(row.student, []))

    def exercise(self, wanted: str | None = None) -> str:
        """The exercise named, else the only one the gradebook holds."""
        known = [row[0] for row in self._db.execute("SELECT DISTINCT exercise FROM grades ORDER BY exercise")]
        if wanted is not None and wanted not in known:
            raise GradebookError(f"the gradebook holds no grades of {wanted} (it holds: {', '.join(known) or 'none'})")
        if wanted is None and len(known) != 1:
            raise GradebookError(
                f"the gradebook holds {len(known)} exercises ({', '.join(known) or 'none'}): name one with --exercise"
            )
        return wanted or known[0]

    def current_rows(self, exercise: str, student: str | None = None) -> list[GradedRow]:
        """The newest stored grade of each submission (of one student, given one), as the grader made it."""
        return list(self._current_rows(exercise, student))

    def _current_rows(self, exercise: str, student: str | None = None) -> Iterator[GradedRow]:
        where = "" if student is None else " AND student = ?"
        rows = self._db.execute(
            f"SELECT {_ROW} FROM grades AS g WHERE exercise = ?{where} AND id = "
            "(SELECT MAX(id) FROM grades WHERE exercise = g.exercise AND path = g.path) ORDER BY id",
            (exercise,) if student is None else (exercise, student),
        )
        return (_graded_row(row) for row in rows)

    def reviewed(self, exercise: str, result: SubmissionResult) -> SubmissionResult:
        """A result just recorded (or reused) for its submission, with the reviews that apply to it."""
        row = self._db.execute(
            f"SELECT {_ROW} FROM grades WHERE exercise = ? AND path = ? ORDER BY id DESC LIMIT 1",
            (exercise, result.path),
        ).fetchone()
        if row is None:
            return result
        return with_reviews(replace(_graded_row(row), result=result), self.reviews(exercise, result.student))

    def reviews(self, exercise: str, student: str | None = None) -> list[Review]:
        """Every review recorded (of one student, given one), oldest first: the reviews' history."""
        where = "" if student is None else " AND student = ?"
        rows = self._db.execute(
            f"SELECT {_REVIEW} FROM reviews WHERE exercise = ?{where} ORDER BY id",
            (exercise,) if student is None else (exercise, student),
        )
        return [Review(*row) for row in rows]

    def add_reviews(self, exercise: str, scorings: list[Scoring]) -> list[Review]:
        """Record instructors' scores, all or none (one transaction); each is bound to the grade it was shown."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            return [self._add_review(exercise, scoring) for scoring in scorings]

    def _add_review(self, exercise: str, scoring: Scoring) -> Review:
        rows = [row for row in self.current_rows(exercise, scoring.student) if scoring.path in (None, row.path)]
        row = rows[-1] if rows else None  # the newest
        shown = with_reviews(row, self.reviews(exercise, scoring.student)) if row else None
        problem = scoring_problem(scoring, shown)
        if problem is not None or row is None or shown is None:
            raise GradebookError(problem or f"no submission of {scoring.student!r}")
        question = next(q for q in shown.questions if q.id == scoring.question)
        review = Review(
            student=scoring.student,
            question=scoring.question,
            score=scoring.score,
            max_score=question.max_score,
            previous_score=question.score,
            comment=scoring.comment,
            reviewed_at=time.time(),
            path=row.path,
            grade_id=row.id,
            fingerprint=row.fingerprint,
            answer=row.answer,
        )
        self._db.execute(
            f"INSERT INTO reviews (exercise, {_REVIEW}) VALUES (?, {', '.join('?' * len(_review_values(review)))})",
            (exercise, *_review_values(review)),
        )
        return review

    def history(self, exercise: str, path: str) -> list[tuple[float, float]]:
        """(score, graded_at) of every grade a submission has had, oldest first."""
        rows = self._db.execute(
            "SELECT score, graded_at FROM grades WHERE exercise = ? AND path = ? ORDER BY id", (exercise, path)
        )
        return [(row[0], row[1]) for row in rows]


def _graded_row(row: tuple) -> GradedRow:
    row_id, path, student, digest, answer, result_json = row
    return GradedRow(row_id, path, student, digest, answer, SubmissionResult.model_validate_json(result_json))


def _review_values(review: Review) -> tuple:
    """A review's values in the order of the `reviews` table's columns after `exercise`."""
    return tuple(getattr(review, name.strip()) for name in _REVIEW.split(","))


def answer_fingerprint(files: list[tuple[Path, str]]) -> str:
    """The submission's files alone (names and bytes): what a review was made on."""
    return fingerprint(files, "")


def fingerprint(files: list[tuple[Path, str]], context: str) -> str:
    """What a result depends on: every file's name and bytes, and the grading context."""
    digest = hashlib.sha256(context.encode())
    for source, name in sorted(files, key=lambda pair: pair[1]):
        digest.update(b"\0" + name.encode() + b"\0")
        try:
            digest.update(source.read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
    return digest.hexdigest()


def grading_context(exercise_json: str, secret: str | None, settings: dict) -> str:
    return json.dumps({"exercise": exercise_json, "secret": secret, "settings": settings}, sort_keys=True)
