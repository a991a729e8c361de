"""Results that exercise every status, and text that every format must escape (shared by the tests)."""

from __future__ import annotations

from grader.results import GradingResults, QuestionResult, SubmissionResult

STAFF_MARKER = "STAFF-ONLY-7f3a"
"""Appears in every staff_log and must appear in no report."""

TRICKY_FEEDBACK = (
    'grad_W_H returned shape (7, 15); expected (7, 7): "∂L/∂W_H" is H×H, not H×T <check> & retry,\n'
    "second line: a_t = W_H h_{t-1} + W_x x_t"
)
CONTROL_FEEDBACK = "loss() raised ValueError: x < 0 & y > 1; printed \x1b[31mred\x1b[0m and \x00"
TRICKY_STUDENT = "o'brien, \"bo\" <&> ∂×"
FORMULA_STUDENT = "=HYPERLINK(\"x\")"
REJECT_REASON = 'not a notebook: "hw.ipynb" <broken> & unreadable\nJSON error at line 3'


def question(qid: str, score: float, max_score: float, status: str, **extra) -> QuestionResult:
    return QuestionResult(
        id=qid, score=score, max_score=max_score, status=status,
        staff_log=f"Traceback {STAFF_MARKER} {qid}", **extra,
    )


def graded_questions() -> list[QuestionResult]:
    """One question per status; diagnosis on the failed one."""
    return [
        question("shapes.a_t", 1.0, 1.0, "passed", feedback="All shapes right."),
        question("grad_W_H", 0.0, 6.0, "failed", feedback=TRICKY_FEEDBACK,
                 diagnosis="missing-tanh-derivative"),
        question("loss", 0.0, 3.0, "error", feedback=CONTROL_FEEDBACK),
        question("forward", 1.5, 4.0, "timeout", feedback="forward() ran past 5 s on case 2."),
        question("bptt.b_h", 0.0, 2.0, "missing"),
    ]


def graded(student: str = TRICKY_STUDENT, questions: list[QuestionResult] | None = None) -> SubmissionResult:
    qs = graded_questions() if questions is None else questions
    return SubmissionResult(
        path=f"submissions/{student}.ipynb", student=student, status="graded",
        score=sum(q.score for q in qs), max_score=sum(q.max_score for q in qs), questions=qs,
        notes=["cell 4 raised NameError"],
    )


def rejected(student: str = FORMULA_STUDENT) -> SubmissionResult:
    return SubmissionResult(
        path=f"submissions/{student}.txt", student=student, status="rejected",
        score=0.0, max_score=16.0, reason=REJECT_REASON,
    )


def run(*submissions: SubmissionResult) -> GradingResults:
    return GradingResults(exercise="rnn-bptt", submissions=list(submissions))
