"""Grades with an instructor's reviews applied: pure functions over a gradebook's rows.

A review is a person's score (and comment) for one question of one student's submission: a part
the grader could not verify (status `review`), or any other question (a regrade request). It is
bound to the answer it was made on. A regrade of the same files keeps it applied, whatever the
grader now says; once the submission's files change, it no longer applies: the part is what the
grader makes of the new answer (`review` again, when it still cannot verify it), and its feedback
says that an earlier review was set aside.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from grader.results import InstructorReview, QuestionResult, SubmissionResult, total

FULL_MARKS_SLACK = 1e-9


@dataclass(frozen=True)
class GradedRow:
    """One stored grade: the grader's own result and what it was made from."""

    id: int
    path: str
    student: str
    fingerprint: str  # the files and the grading context
    answer: str | None  # the files only (None in gradebooks older than reviews)
    result: SubmissionResult


@dataclass(frozen=True)
class Review:
    """One recorded review, as the gradebook keeps it (rows are never changed, so this is history too)."""

    student: str
    question: str
    score: float
    max_score: float
    previous_score: float  # the part's score just before this review (the grader's, or an earlier review's)
    comment: str
    reviewed_at: float  # seconds since the epoch
    path: str  # the submission reviewed, and the grade it was shown:
    grade_id: int
    fingerprint: str
    answer: str | None


@dataclass(frozen=True)
class Scoring:
    """An instructor's score (and comment) for one part of one student's work, before it is recorded."""

    student: str
    question: str
    score: float
    comment: str = ""
    path: str | None = None  # which of the student's submissions; None: the newest graded


def scoring_problem(scoring: Scoring, submission: SubmissionResult | None) -> str | None:
    """Why `scoring` cannot be recorded against the submission it is for (None when it can)."""
    who = f"student {scoring.student!r}"
    if submission is None:
        return f"unknown student {scoring.student!r}: the gradebook holds no submission of theirs"
    if submission.status != "graded":
        return f"{who}: the submission was rejected, so it has no questions to score"
    question = next((q for q in submission.questions if q.id == scoring.question), None)
    if question is None:
        known = ", ".join(q.id for q in submission.questions)
        return f"{who}: unknown question {scoring.question!r} (questions: {known})"
    if not (math.isfinite(scoring.score) and 0 <= scoring.score <= question.max_score):
        return f"{who}, {scoring.question}: score {scoring.score:g} is outside 0..{question.max_score:g}"
    return None


def when(seconds: float) -> str:
    """A review's time in ISO 8601, UTC, to the second."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def with_reviews(row: GradedRow, reviews: Iterable[Review]) -> SubmissionResult:
    """The row's result with its student's reviews applied (`reviews` oldest first, any questions)."""
    result = row.result
    by_question: dict[str, list[Review]] = {}
    for review in reviews:
        if review.student == result.student:
            by_question.setdefault(review.question, []).insert(0, review)  # newest first
    if result.status != "graded" or not by_question:
        return result
    questions = [_question(question, row, by_question.get(question.id, [])) for question in result.questions]
    score, max_score = total(questions)
    return result.model_copy(update={"questions": questions, "score": score, "max_score": max_score})


def _question(question: QuestionResult, row: GradedRow, newest_first: list[Review]) -> QuestionResult:
    """A question with the review made on this very answer applied, else a note on one that no longer applies."""
    applies = next((review for review in newest_first if same_answer(review, row)), None)
    if applies is not None:
        return apply_review(question, applies)
    return _set_aside(question, newest_first[0]) if newest_first else question


def same_answer(review: Review, row: GradedRow) -> bool:
    """Whether a review was made on the files this row graded (another run of the same files counts)."""
    return review.fingerprint == row.fingerprint or (row.answer is not None and row.answer == review.answer)


def apply_review(question: QuestionResult, review: Review) -> QuestionResult:
    """The instructor's score replaces the grader's: full marks pass, anything less fails."""
    score = min(review.score, question.max_score)
    passed = score >= question.max_score - FULL_MARKS_SLACK
    note = f"Reviewed by an instructor: {score:g}/{question.max_score:g}." + (
        f" {review.comment}" if review.comment else ""
    )
    return question.model_copy(
        update={
            "score": score,
            "status": "passed" if passed else "failed",
            "feedback": "\n\n".join(part for part in (note, question.feedback.strip()) if part),
            "diagnosis": None if passed else question.diagnosis,
            "reviewed": InstructorReview(
                grader_score=question.score,
                grader_status=question.status,
                comment=review.comment,
                reviewed_at=when(review.reviewed_at),
            ),
        }
    )


def _set_aside(question: QuestionResult, review: Review) -> QuestionResult:
    note = (
        f"An instructor's review of an earlier version of this submission ({review.score:g}/{review.max_score:g}, "
        f"{when(review.reviewed_at)}) no longer applies: the submission has changed since."
    )
    if question.status == "review":
        note += " This part awaits review again."
    return question.model_copy(update={"feedback": "\n\n".join(p for p in (question.feedback.strip(), note) if p)})
