"""Gradescope's `results.json` for one submission, per the autograder specification
(gradescope-autograders.readthedocs.io/en/latest/specs/, docs/specs.md of gradescope/autograder_samples).

Choices the specification drives:
- One test per question with `score`, `max_score`, and an explicit `status` ("passed"/"failed"):
  without it Gradescope decides from score == max_score, which would call an error or a timeout on a
  0-point question "passed".
- Every output and name format is set to "text". The top-level output otherwise defaults to
  "simple_format", which renders HTML, and feedback contains `<`, `&` and quoted student values.
- `stdout_visibility` is "hidden": stdout of the run is for staff.
- A rejected submission gets `score` 0 (required when no test carries a score), an explanatory
  top-level output, and one informational failed test without score, as the specification allows.
- `diagnosis` goes in the test's `tags` (a stable id staff can count) and, readable, in its output.
- A part awaiting review (the grader could not verify it) is a "failed" test (the only other status
  Gradescope knows) with 0 points, the tag `awaiting-review`, and an output that starts by saying it
  awaits an instructor; the top-level output names such parts. A reviewed part is passed or failed
  by the instructor's score, and its output starts with their score and comment.
"""

from __future__ import annotations

import json

from grader.report.common import DEFAULT_MESSAGE, only_submission, with_review_note
from grader.results import GradingResults, QuestionResult, SubmissionResult, awaiting_review, shown

_TEXT = "text"
AWAITING_REVIEW_TAG = "awaiting-review"


def render(results: GradingResults) -> str:
    """The results.json of a run that graded exactly one submission."""
    return render_submission(only_submission(results, "gradescope"), results)


def render_submission(sub: SubmissionResult, results: GradingResults) -> str:
    """The results.json of one submission of `results`."""
    document = {
        "score": shown(sub.score) if sub.status == "graded" else 0.0,
        "output": _summary(sub, results),
        "output_format": _TEXT,
        "test_output_format": _TEXT,
        "test_name_format": _TEXT,
        "stdout_visibility": "hidden",
        "tests": _tests(sub),
    }
    return json.dumps(document, indent=2) + "\n"


def _tests(sub: SubmissionResult) -> list[dict]:
    if sub.status != "graded":
        return [_rejection_test(sub)]
    return [_test(q, number) for number, q in enumerate(sub.questions, start=1)]


def _test(q: QuestionResult, number: int) -> dict:
    return {
        "name": q.id,
        "name_format": _TEXT,
        "number": str(number),
        "score": shown(q.score),
        "max_score": shown(q.max_score),
        "status": "passed" if q.status == "passed" else "failed",
        "output": _test_output(q),
        "output_format": _TEXT,
        "tags": _tags(q),
    }


def _tags(q: QuestionResult) -> list[str]:
    tags = [q.diagnosis] if q.diagnosis else []
    return tags + ([AWAITING_REVIEW_TAG] if q.status == "review" else [])


def _test_output(q: QuestionResult) -> str:
    """The student-facing feedback, with a default sentence when the grader gave none."""
    parts = [with_review_note(q.status, q.feedback.strip() or DEFAULT_MESSAGE.get(q.status, ""))]
    if q.diagnosis:
        parts.append(f"Likely mistake: {q.diagnosis}")
    return "\n\n".join(part for part in parts if part)


def _rejection_test(sub: SubmissionResult) -> dict:
    return {
        "name": "Submission could be read",
        "name_format": _TEXT,
        "status": "failed",
        "output": sub.reason or "The submission could not be graded.",
        "output_format": _TEXT,
    }


def _summary(sub: SubmissionResult, results: GradingResults) -> str:
    """The top-level output: exercise, total, and the submission-wide notes or the rejection."""
    if sub.status != "graded":
        reason = sub.reason or "no reason was recorded"
        return (
            f"Exercise {results.exercise}: your submission could not be graded ({reason}). "
            "Check that you uploaded the right file, then submit again."
        )
    lines = [f"Exercise {results.exercise}: {shown(sub.score):g}/{shown(sub.max_score):g} points."]
    pending = awaiting_review(sub)
    if pending:
        lines.append(
            f"Awaiting review by an instructor: {', '.join(pending)} (the grader could not verify them; "
            "they score 0 until a person reads them)."
        )
    lines.extend(sub.notes)
    return "\n".join(lines)
