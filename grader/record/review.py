"""The instructor's side of `rnn-grader review`: what awaits a person, and scores read from a CSV.

A part awaits review when the grader could not verify it (question status `review`); it scores 0
until a person scores it. The listing gives, per part, the student, the question, its points and
the grader's feedback in full (its reading, and the student's lines it could not verify). Scores
come from a terminal (the command line asks, part by part) or from a CSV with the columns
`student,question,score,comment`, for any question (a regrade request too; a student graded from
several paths is scored on the newest submission). A CSV is recorded
whole or not at all: every row that names an unknown student or question, or a score outside
0..points, is reported on a line of its own.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from grader.record.reviewed import Review, Scoring, scoring_problem, when
from grader.results import GradingResults, QuestionResult, SubmissionResult, printable

SCORE_COLUMNS = ("student", "question", "score", "comment")
_INDENT = "    "


class ScoresError(ValueError):
    """A scores file that cannot be recorded; the message has one line per problem."""


@dataclass(frozen=True)
class PendingPart:
    """One question of one submission that awaits a person's review."""

    submission: SubmissionResult
    question: QuestionResult


@dataclass(frozen=True)
class ScoresFile:
    """The scores of a CSV, checked against the gradebook; rows without a score are skipped."""

    scorings: list[Scoring]
    skipped: int


def pending_parts(results: GradingResults) -> list[PendingPart]:
    """Every part awaiting review, submission by submission in the gradebook's order."""
    return [
        PendingPart(submission, question)
        for submission in results.submissions
        for question in submission.questions
        if question.status == "review"
    ]


def describe_part(part: PendingPart) -> list[str]:
    """Who, which question and its points, then the grader's feedback in full, indented."""
    sub, question = part.submission, part.question
    head = f"{printable(sub.student)}  {printable(question.id)}  {question.score:g}/{question.max_score:g}"
    lines = [f"{head}  ({printable(sub.path)})"]
    feedback = question.feedback.strip() or "The grader gave no reason."
    return lines + [_INDENT + printable(line) if line.strip() else "" for line in feedback.splitlines()]


def render_pending(results: GradingResults) -> str:
    """The list of the parts awaiting review, or a line saying there are none."""
    parts = pending_parts(results)
    if not parts:
        return f"Nothing awaits review in the grades of {results.exercise}."
    students = len({id(part.submission) for part in parts})
    blocks = ["\n".join(describe_part(part)) for part in parts]
    head = f"{len(parts)} part(s) of {students} submission(s) await review ({results.exercise}):"
    return "\n\n".join([head, *blocks])


def read_score(text: str, max_score: float) -> float:
    """A score typed or written by an instructor, within 0..max_score; ValueError saying why not."""
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number") from None
    if not (math.isfinite(value) and 0 <= value <= max_score):
        raise ValueError(f"{value:g} is outside 0..{max_score:g}")
    return value


def read_scores(path: Path, results: GradingResults) -> ScoresFile:
    """A CSV's scores, each checked against the current grades; ScoresError listing every bad row."""
    newest = {submission.student: submission for submission in results.submissions}  # oldest grade first
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _checked_rows(path, csv.DictReader(handle), newest)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ScoresError(f"{path}: cannot be read ({exc})") from None


def _checked_rows(path: Path, reader: csv.DictReader, newest: dict[str, SubmissionResult]) -> ScoresFile:
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    absent = [column for column in SCORE_COLUMNS[:3] if column not in reader.fieldnames]
    if absent:
        raise ScoresError(f"{path}: no {', '.join(absent)} column (the columns are {','.join(SCORE_COLUMNS)})")
    scorings: list[Scoring] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    skipped = 0
    for row in reader:
        cells = {name: (value or "").strip() for name, value in row.items() if isinstance(name, str)}
        where = f"{path}, line {reader.line_num}"
        if not cells.get("score"):
            skipped += 1
            continue
        problem, scoring = _checked_row(cells, newest, seen, reader.line_num)
        if problem:
            problems.append(f"{where}: {problem}")
        elif scoring is not None:
            scorings.append(scoring)
    if problems:
        raise ScoresError("\n".join(problems))
    return ScoresFile(scorings, skipped)


def _checked_row(
    cells: dict[str, str], newest: dict[str, SubmissionResult], seen: dict[tuple[str, str], int], line: int
) -> tuple[str | None, Scoring | None]:
    """(problem, None) or (None, the row's scoring)."""
    student, question = cells.get("student", ""), cells.get("question", "")
    try:
        score = float(cells["score"])
    except ValueError:
        return f"score {cells['score']!r} is not a number", None
    scoring = Scoring(student, question, score, cells.get("comment", ""))
    problem = scoring_problem(scoring, newest.get(student))
    if problem is None and (student, question) in seen:
        problem = f"student {student!r}, {question}: scored again (first on line {seen[(student, question)]})"
    seen.setdefault((student, question), line)
    return (problem, None) if problem else (None, scoring)


def render_review(review: Review) -> str:
    """One recorded review on one line: who, which part, the score before and after."""
    return (
        f"{printable(review.student)}  {printable(review.question)}  "
        f"{review.previous_score:g} -> {review.score:g}/{review.max_score:g}"
    )


def render_history(reviews: list[Review]) -> str:
    """Every review recorded, oldest first: when, who, which part, before and after, the comment."""
    if not reviews:
        return "No review has been recorded."
    lines = []
    for review in reviews:
        comment = f"  {printable(review.comment)}" if review.comment else ""
        lines.append(f"{when(review.reviewed_at)}  {render_review(review)}  ({printable(review.path)}){comment}")
    return "\n".join(lines)
