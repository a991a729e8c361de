"""The default terminal report: one block per submission, then a summary line.

    alice  17/20  graded
      shapes.a_t  1/1  passed
      grad_W_H    0/6  failed   missing-tanh-derivative
          grad_W_H returned shape (7, 15); expected (7, 7)
    bob     0/20  rejected: not a notebook or a Python file
    carol   12/20  graded, awaiting review: derivation.gradient
      derivation.gradient  0/3  review
          Could not verify line 12: \\sum_k \\delta_k h_{k-1}^\\top
    mistakes in this class:
      grad_W_H: missing-tanh-derivative 1
    2 graded, 1 rejected, mean score 14.5/20 (72.5%), 1 part awaiting review

A part awaiting review scores 0 until a person reviews it (`rnn-grader review`); a reviewed part says
"reviewed" after its status, and its feedback starts with the instructor's score and comment.

Plain text, columns aligned across the whole run. Text that students control (names, values quoted
in feedback) is shown on one line with control characters replaced, so it cannot move the cursor
or recolour the terminal.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import NamedTuple

from grader.results import (
    UNDIAGNOSED,
    GradingResults,
    QuestionResult,
    SubmissionResult,
    awaiting_review,
    class_counts,
)

_SHOW_FEEDBACK = {"failed", "error", "timeout", "missing", "review"}
_STATUS_WIDTH = len("timeout")
_INDENT = "  "
_FEEDBACK_INDENT = "      "


class _Widths(NamedTuple):
    """Column widths shared by every submission of the run; scores line up on their "/"."""

    student: int
    score: tuple[int, int]
    question: int
    question_score: tuple[int, int]


def render(results: GradingResults) -> str:
    """The readable table of a run, ending with a summary line."""
    return "".join(stream(results))


def stream(results: GradingResults) -> Iterator[str]:
    """The same text in pieces, one submission at a time (the columns are measured first)."""
    widths = _widths(results)
    for sub in results.submissions:
        yield "".join(line + "\n" for line in _submission_lines(sub, widths))
    for line in _class_mistakes(results):
        yield line + "\n"
    yield _summary(results) + "\n"


def _class_mistakes(results: GradingResults) -> list[str]:
    """Per question, the known mistakes the class made and how many made each, then how many answers were
    wrong with no known mistake (what the catalogue lacks)."""
    counts, unexplained, _ = class_counts(results)
    if not (counts or unexplained) or len(results.submissions) < 2:
        return []
    lines = ["mistakes in this class:"]
    for question_id in _question_order(results, {*counts, *unexplained}):
        known = ", ".join(f"{_clean(diagnosis)} {count}" for diagnosis, count in counts.get(question_id, {}).items())
        unknown = f"{UNDIAGNOSED} {unexplained[question_id]}" if question_id in unexplained else ""
        lines.append(f"{_INDENT}{_clean(question_id)}: {'; '.join(part for part in (known, unknown) if part)}")
    return lines


def _question_order(results: GradingResults, wanted: set[str]) -> list[str]:
    """The ids in `wanted`, in the order questions first appear in the run."""
    seen = dict.fromkeys(q.id for s in results.submissions for q in s.questions)
    return [question_id for question_id in seen if question_id in wanted]


def _widths(results: GradingResults) -> _Widths:
    """The widest name, question id and score on each side of the "/", in one pass over the run."""
    student = question = 0
    scores = question_scores = (0, 0)
    for sub in results.submissions:
        student = max(student, len(_clean(sub.student)))
        scores = _wider(scores, sub)
        for q in sub.questions:
            question = max(question, len(_clean(q.id)))
            question_scores = _wider(question_scores, q)
    return _Widths(student=student, score=scores, question=question, question_score=question_scores)


def _wider(widths: tuple[int, int], item: SubmissionResult | QuestionResult) -> tuple[int, int]:
    """Widths of the score and of the max score, widened to fit `item`'s."""
    return max(widths[0], len(_num(item.score))), max(widths[1], len(_num(item.max_score)))


def _submission_lines(sub: SubmissionResult, widths: _Widths) -> list[str]:
    score = _fraction(sub.score, sub.max_score, widths.score)
    head = f"{_clean(sub.student):<{widths.student}}  {score}  {_status(sub)}"
    lines = [head.rstrip()]
    for q in sub.questions:
        lines.extend(_question_lines(q, widths))
    return lines


def _question_lines(q: QuestionResult, widths: _Widths) -> list[str]:
    cells = [f"{_clean(q.id):<{widths.question}}", _fraction(q.score, q.max_score, widths.question_score)]
    cells.append(f"{q.status:<{_STATUS_WIDTH}}")
    if q.reviewed:
        cells.append("reviewed")
    if q.diagnosis:
        cells.append(_clean(q.diagnosis))
    lines = [(_INDENT + "  ".join(cells)).rstrip()]
    feedback = _first_line(q.feedback)
    if q.status in _SHOW_FEEDBACK and feedback:
        lines.append(_FEEDBACK_INDENT + feedback)
    if q.grader_error:
        lines.append(_FEEDBACK_INDENT + "grader error: " + _clean(q.grader_error))
    return lines


def _status(sub: SubmissionResult) -> str:
    """`graded` (and the parts awaiting review), or `rejected: <first line of the reason>`."""
    pending = awaiting_review(sub)
    if pending:
        return f"{sub.status}, awaiting review: {_clean(', '.join(pending))}"
    reason = _first_line(sub.reason or "")
    return sub.status if sub.status == "graded" or not reason else f"{sub.status}: {reason}"


def _summary(results: GradingResults) -> str:
    """Counts of graded and rejected submissions, the mean score of the graded ones, the parts awaiting review."""
    submissions = graded = pending = 0
    scores: float = 0  # summed in the run's order from 0, as sum() does
    maxima: float = 0
    for sub in results.submissions:
        submissions += 1
        if sub.status == "graded":
            graded += 1
            pending += len(awaiting_review(sub))
            scores += sub.score
            maxima += sub.max_score
    line = f"{graded} graded, {submissions - graded} rejected"
    to_review = f", {pending} part{'s' if pending != 1 else ''} awaiting review" if pending else ""
    if not graded:
        return line + ", no mean score"
    mean, mean_max = scores / graded, maxima / graded
    percent = f" ({100 * mean / mean_max:.1f}%)" if mean_max else ""
    return f"{line}, mean score {_fraction(mean, mean_max)}{percent}{to_review}"


def _fraction(score: float, max_score: float, widths: tuple[int, int] = (0, 0)) -> str:
    """`score/max_score`, padded to `widths` on each side of the "/"."""
    return f"{_num(score):>{widths[0]}}/{_num(max_score):<{widths[1]}}"


def _num(value: float) -> str:
    """A score without float dust or a needless `.0`: 17, 0.5, 2.33."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _first_line(text: str) -> str:
    """The first non-blank line of `text`, cleaned for the terminal."""
    for line in text.splitlines():
        if line.strip():
            return _clean(line.strip())
    return ""


def _clean(text: str) -> str:
    """`text` on one line, each control character (escape, newline, tab, …) or undecodable
    byte (a lone surrogate) shown as `?`."""
    return "".join("?" if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text)
