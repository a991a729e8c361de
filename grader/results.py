"""The results model: what grading produces and every report format reads.

Field names follow the native JSON result of the interface specification; formatters
take a `GradingResults` and nothing else.
"""

from __future__ import annotations

import unicodedata
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

GRADER_VERSION = "0.1.0"
SCORE_DECIMALS = 4  # scores are kept exact and rounded to this many decimals once, where they are shown

# "review": an answer the grader cannot verify (unreadable or unrecognised); it scores 0 until a person reviews it.
QuestionStatus = Literal["passed", "failed", "error", "timeout", "missing", "review"]
SubmissionStatus = Literal["graded", "rejected"]


class InstructorReview(BaseModel):
    """A person's score for a question, which replaced the grader's verdict (kept here)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    grader_score: float = Field(ge=0)
    grader_status: QuestionStatus
    comment: str = ""
    reviewed_at: str = Field(description="When, in ISO 8601 (UTC).")


class OutputResult(BaseModel):
    """One output of a function returning several: its share of the question's points and its verdict."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str
    score: float = Field(ge=0, description="Exact: its share times the fraction of cases it is right on.")
    max_score: float = Field(ge=0)
    status: Literal["passed", "failed"]
    diagnosis: str | None = None


class QuestionResult(BaseModel):
    """One question's verdict for one submission."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str
    score: float = Field(ge=0, description="Exact, never rounded: formats show `shown(score)`.")
    max_score: float = Field(ge=0)
    status: QuestionStatus
    feedback: str = ""
    diagnosis: str | None = Field(default=None, description="Stable id of a recognised mistake.")
    grader_error: str | None = Field(
        default=None, description="When the grader itself failed: the error in one line, for instructors."
    )
    staff_log: str | None = Field(
        default=None, description="Grader-side detail (a grader error's traceback); never shown to students."
    )
    reviewed: InstructorReview | None = Field(default=None, description="An instructor's review, when applied.")
    outputs: list[OutputResult] = Field(
        default_factory=list, description="Per output, for a function returning several compared values."
    )

    @model_validator(mode="after")
    def _score_within_max(self) -> QuestionResult:
        if self.score > self.max_score + 1e-9:
            raise ValueError(f"score {self.score} above max_score {self.max_score}")
        return self


class SubmissionResult(BaseModel):
    """One student's submission: its questions, or the reason it was rejected."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    path: str
    student: str
    score: float = Field(ge=0)
    max_score: float = Field(ge=0)
    status: SubmissionStatus
    reason: str | None = Field(default=None, description="Why a submission was rejected.")
    questions: list[QuestionResult] = Field(default_factory=list)
    notes: list[str] = Field(
        default_factory=list, description="Submission-wide remarks: cells that raised, flagged imports."
    )
    output: str = Field(default="", description="What the student's code printed, cut at a cap.")
    seconds: float | None = Field(default=None, description="Wall time of running the student's code, in seconds.")
    cpu_s: float | None = Field(
        default=None, description="CPU seconds (user + system) of the student's processes, from the kernel."
    )
    wall_s: float | None = Field(default=None, description="Wall seconds the student's processes ran.")


class GradingResults(BaseModel):
    """A grading run: one exercise, any number of submissions."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    exercise: str
    grader_version: str = GRADER_VERSION
    submissions: list[SubmissionResult] = Field(default_factory=list)
    isolation: str = Field(default="", description="Isolation level student code ran under ('' if none ran).")


def total(questions: list[QuestionResult]) -> tuple[float, float]:
    """(score, max_score) summed over the questions' exact scores, then rounded once."""
    return shown(sum(q.score for q in questions)), shown(sum(q.max_score for q in questions))


def shown(score: float) -> float:
    """A score as every format writes it: rounded once, from its exact value (thirds added first, then rounded)."""
    return round(score, SCORE_DECIMALS) + 0.0  # + 0.0: never -0.0


def awaiting_review(submission: SubmissionResult) -> list[str]:
    """The ids of a submission's questions that await a person's review."""
    return [question.id for question in submission.questions if question.status == "review"]


def printable(text: str) -> str:
    """A result's text (a student name, a path, feedback) safe to print on a terminal: control and format
    characters (escapes, bidi) become `?`."""
    return "".join("?" if unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch for ch in text)


UNDIAGNOSED = "wrong, no known mistake"  # how every format names answers no known mistake explains


def undiagnosed(question: QuestionResult) -> bool:
    """A wrong answer the catalogue of mistakes does not explain: failed with no diagnosis, or with an
    output wrong and undiagnosed."""
    if question.status != "failed" or question.reviewed is not None:
        return False
    return question.diagnosis is None or any(o.status == "failed" and o.diagnosis is None for o in question.outputs)


def diagnoses_of(question: QuestionResult) -> list[str]:
    """The question's diagnosis and those of its wrong outputs, each once."""
    found = [question.diagnosis, *(o.diagnosis for o in question.outputs if o.status == "failed")]
    return list(dict.fromkeys(d for d in found if d))


class ClassCounts(NamedTuple):
    """What a class's results add up to, for every format's summary."""

    diagnoses: dict[str, dict[str, int]]  # per question, how many submissions hit each diagnosis, most common first
    undiagnosed: dict[str, int]  # per question, how many got it wrong in a way no known mistake explains
    parts_awaiting_review: int  # over every submission


def class_counts(results: GradingResults) -> ClassCounts:
    """The class's counts, in one pass over its submissions (a class kept on disk is read once more for each)."""
    counts: dict[str, dict[str, int]] = {}
    unexplained: dict[str, int] = {}
    pending = 0
    for submission in results.submissions:
        pending += len(awaiting_review(submission))
        for question in submission.questions:
            for diagnosis in diagnoses_of(question):
                per_question = counts.setdefault(question.id, {})
                per_question[diagnosis] = per_question.get(diagnosis, 0) + 1
            if undiagnosed(question):
                unexplained[question.id] = unexplained.get(question.id, 0) + 1
    ordered = {qid: dict(sorted(found.items(), key=lambda item: (-item[1], item[0]))) for qid, found in counts.items()}
    return ClassCounts(ordered, unexplained, pending)
