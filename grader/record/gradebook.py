"""The gradebook: every result written as soon as it exists, one transaction per submission.

SQLite from the standard library. Rows are never updated or deleted: a regrade adds a row, so
history is kept, and the newest row for (exercise, path) is the current grade. `--resume` reuses
a stored result when the submission's fingerprint (its files, the exercise, the secret) is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

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
"""


class GradebookError(Exception):
    """A gradebook file that cannot be opened or is not a gradebook."""


class Gradebook:
    """A SQLite file of grading results. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.executescript(SCHEMA)
            path.chmod(0o600)  # grades and feedback of the whole class
        except sqlite3.DatabaseError as exc:
            raise GradebookError(f"{path}: not a usable gradebook ({exc})") from None

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()

    def record(self, exercise: str, fingerprint: str, result: SubmissionResult) -> None:
        """Store one result in its own transaction: after a crash it is either all there or absent."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO grades (exercise, path, student, fingerprint, score, max_score, result_json, graded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    exercise,
                    result.path,
                    result.student,
                    fingerprint,
                    result.score,
                    result.max_score,
                    result.model_dump_json(),
                    time.time(),
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
        """Every submission's current grade (its newest row), for reports; the exercise may be left out
        when the gradebook holds only one."""
        known = [row[0] for row in self._db.execute("SELECT DISTINCT exercise FROM grades ORDER BY exercise")]
        if exercise is None and len(known) != 1:
            raise GradebookError(
                f"the gradebook holds {len(known)} exercises ({', '.join(known) or 'none'}): name one with --exercise"
            )
        exercise = exercise or known[0]
        rows = self._db.execute(
            "SELECT result_json FROM grades AS g WHERE exercise = ? AND id = "
            "(SELECT MAX(id) FROM grades WHERE exercise = g.exercise AND path = g.path) ORDER BY id",
            (exercise,),
        )
        return GradingResults(exercise=exercise, submissions=[SubmissionResult.model_validate_json(r[0]) for r in rows])

    def history(self, exercise: str, path: str) -> list[tuple[float, float]]:
        """(score, graded_at) of every grade a submission has had, oldest first."""
        rows = self._db.execute(
            "SELECT score, graded_at FROM grades WHERE exercise = ? AND path = ? ORDER BY id", (exercise, path)
        )
        return [(row[0], row[1]) for row in rows]


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
