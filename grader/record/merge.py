"""Shard gradebooks joined into one result (`rnn-grader merge`).

Each shard of `grade --shard K/N --gradebook G` leaves a gradebook holding its students' current grades.
A submission is known by its student's entry in the class (`submission_key`, as sharding knows a student),
not by its path as typed: graded from `./subs/alice.py` on one machine and `/scratch/subs/alice.py` on
another, it is one submission (the first gradebook's path is kept, and a warning says so). Joining checks
that no submission was graded twice with different results (identical duplicates, as when a shard is re-run,
are fine; a run's wall time and printed output are not compared), and, given the class (the submission paths
`grade` was given, found again without reading anything but names and files), lists its submissions that no
shard graded and puts the rest in the order an unsharded run gives. Without the class, submissions are
ordered by path, which is that order for a folder of them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from grader.read.submission import Submission
from grader.record.gradebook import Gradebook, GradebookError
from grader.record.shard import submission_key
from grader.record.stored import StoredResults
from grader.results import GradingResults, SubmissionResult

# Two runs of the same code may differ in these without being two grades: the times of the run, what the
# student's code printed (a demo printing random numbers), and the path it was given by; the first gradebook's
# are kept.
_IGNORED_ON_COMPARE = {"seconds", "cpu_s", "wall_s", "output", "path"}


class MergeError(Exception):
    """Gradebooks that cannot be joined; the message says which students and where."""


@dataclass
class Merged:
    """The joined result, its submissions kept on disk (`store`): use as a context manager, which removes them."""

    results: GradingResults
    store: StoredResults
    missing: list[Submission] = field(default_factory=list)  # in the class, graded by no shard
    outside: list[SubmissionResult] = field(default_factory=list)  # graded, but not in the class given
    warnings: list[str] = field(default_factory=list)  # one submission graded from different paths

    def __enter__(self) -> Merged:
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()


@dataclass
class _Graded:
    """A submission's first result, as much of it as joining needs in memory: the result itself is in the store."""

    place: int
    path: str
    source: Path


def merge(gradebooks: Sequence[Path], exercise: str | None = None, klass: list[Submission] | None = None) -> Merged:
    """One result from shard gradebooks; `klass` (from `discover`) for the order and the missing ones. Results are
    read a submission at a time and kept on disk, so a class of thousands is joined in flat memory."""
    exercise = _exercise(gradebooks, exercise)
    store = StoredResults(exercise)
    try:
        return _merged(store, gradebooks, exercise, klass)
    except BaseException:
        store.close()
        raise


def _merged(store: StoredResults, gradebooks: Sequence[Path], exercise: str, klass: list[Submission] | None) -> Merged:
    graded: dict[str, _Graded] = {}
    conflicts: list[str] = []
    warnings: list[str] = []
    for path in gradebooks:
        for result in _current(path, exercise):
            conflicts += _add(store, graded, result, path, warnings)
    if conflicts:
        raise MergeError(
            f"{len(conflicts)} submission(s) graded twice with different results:\n" + "\n".join(conflicts)
        )
    order = {submission_key(submission.path): index for index, submission in enumerate(klass or [])}
    ordered = sorted(graded.items(), key=lambda item: (item[0] not in order, order.get(item[0], 0), Path(item[1].path)))
    store.arrange([kept.place for _, kept in ordered])
    if klass is None:
        return Merged(store.results(), store, warnings=warnings)
    missing = [submission for submission in klass if submission_key(submission.path) not in graded]
    outside = [store.kept(kept.place) for key, kept in ordered if key not in order]
    return Merged(store.results(), store, missing, outside, warnings)


def _add(
    store: StoredResults, graded: dict[str, _Graded], new: SubmissionResult, source: Path, warnings: list[str]
) -> list[str]:
    """Keep one shard's result; a description of the conflict when another shard graded it otherwise."""
    key = submission_key(new.path)
    if key not in graded:
        graded[key] = _Graded(len(graded), new.path, source)
        store.add(graded[key].place, new)
        return []
    first = graded[key]
    old = store.kept(first.place)
    if old.path != new.path:
        warnings.append(
            f"{new.student} graded from two paths: {old.path} in {first.source} and "
            f"{new.path} in {source} (kept {old.path})"
        )
    if _same(old, new):
        return []
    return [f"  {new.student} ({new.path}): {_verdict(old, first.source)} but {_verdict(new, source)}"]


def _same(one: SubmissionResult, other: SubmissionResult) -> bool:
    return one.model_dump(exclude=_IGNORED_ON_COMPARE) == other.model_dump(exclude=_IGNORED_ON_COMPARE)


def _verdict(result: SubmissionResult, source: Path) -> str:
    return f"{result.score:g}/{result.max_score:g} {result.status} in {source}"


def _current(path: Path, exercise: str) -> Iterator[SubmissionResult]:
    """A gradebook's current grades of the exercise, one at a time; none from one holding none (a shard without
    students)."""
    if exercise not in exercises_in(path):
        return
    try:
        with Gradebook(path) as book:
            yield from book.current_grades(exercise)
    except GradebookError as exc:
        raise MergeError(str(exc)) from None


def _exercise(gradebooks: Sequence[Path], wanted: str | None) -> str:
    """The exercise to merge: the one named, else the only one the gradebooks hold together."""
    held = sorted({name for path in gradebooks for name in exercises_in(path)})
    if wanted is not None:
        if wanted not in held:
            raise MergeError(f"no gradebook holds grades of {wanted} (they hold: {', '.join(held) or 'nothing'})")
        return wanted
    if len(held) != 1:
        raise MergeError(
            f"the gradebooks hold {len(held)} exercises ({', '.join(held) or 'none'}): name one with --exercise"
        )
    return held[0]


def exercises_in(path: Path) -> list[str]:
    """The exercises a gradebook holds grades of (none for an empty shard's), read without changing it."""
    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as db:
            tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'grades'").fetchall()
            if not tables:
                return []
            return [row[0] for row in db.execute("SELECT DISTINCT exercise FROM grades")]
    except sqlite3.DatabaseError as exc:
        raise MergeError(f"{path}: not a usable gradebook ({exc})") from None
