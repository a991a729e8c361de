"""The runner result that GitHub Classroom's grading reporter reads, for one submission.

Shape and field meanings follow the real runners and reporter (classroom-resources/
autograding-io-grader and autograding-command-grader `src/main.js`; autograding-grading-reporter
`src/main.js`, `src/console-results.js`, `src/notify-classroom.js`, `src/helpers/test-helpers.js`):

    {"version": 1, "status": "pass"|"fail"|"error", "max_score": 20,
     "tests": [{"name", "status": "pass"|"fail"|"error", "score", "message",
                "test_code", "filename", "line_no"}]}

- The reporter fails the workflow on a top-level "fail" or "error"; "error" is kept for a submission
  that could not be graded, as the runners use it for a run that did not happen.
- The points GitHub Classroom records are the sum of `tests[].score` over `max_score`, so each
  question carries its own (partial) score. The reporter's console line instead scales
  `max_score` by the fraction of tests with status "pass"; that is the reporter's arithmetic.
- `line_no` must be 0: the reporter prints " - line N" for any other value (null included).
- The reporter prints `message` for "error" tests and `test_code` when non-empty; feedback goes
  in `message`, and `test_code` stays empty.
- `tests` is never empty (the reporter divides by its length); a rejected submission gets one test.
- A part awaiting review (the grader could not verify it) is "fail" with 0 points, since the runners know
  only pass, fail and error ("error" is a run that did not happen); its `message` starts by saying it
  awaits an instructor. A reviewed part is "pass" or "fail" by the instructor's score.
A workflow step passes this text, base64-encoded, as the `<ID>_RESULTS` variable of the reporter.
"""

from __future__ import annotations

import json

from grader.report.common import DEFAULT_MESSAGE, only_submission, with_review_note
from grader.results import GradingResults, QuestionResult, SubmissionResult, shown

RUNNER_RESULT_VERSION = 1
_STATUS = {
    "passed": "pass",
    "failed": "fail",
    "missing": "fail",
    "error": "error",
    "timeout": "error",
    "review": "fail",
}


def render(results: GradingResults) -> str:
    """The runner result of a run that graded exactly one submission (one repository per job)."""
    return render_submission(only_submission(results, "github-classroom"), results)


def render_submission(sub: SubmissionResult, results: GradingResults) -> str:
    """The runner result of one submission of `results` (same signature as gradescope's)."""
    document = {
        "version": RUNNER_RESULT_VERSION,
        "status": _overall_status(sub),
        "max_score": shown(sub.max_score),
        "tests": _tests(sub),
    }
    return json.dumps(document, indent=2) + "\n"


def _overall_status(sub: SubmissionResult) -> str:
    if sub.status != "graded":
        return "error"
    return "pass" if all(q.status == "passed" for q in sub.questions) else "fail"


def _tests(sub: SubmissionResult) -> list[dict]:
    if sub.status != "graded":
        reason = sub.reason or "The submission could not be graded."
        return [_test("submission", "error", 0.0, reason)]
    return [_test(q.id, _STATUS[q.status], shown(q.score), _message(q)) for q in sub.questions]


def _test(name: str, status: str, score: float, message: str | None) -> dict:
    return {
        "name": name,
        "status": status,
        "score": score,
        "message": message,
        "test_code": "",
        "filename": "",
        "line_no": 0,
    }


def _message(q: QuestionResult) -> str | None:
    """Feedback and diagnosis of a question; None for a pass without feedback, as the runners write."""
    parts = [q.feedback.strip(), f"Likely mistake: {q.diagnosis}" if q.diagnosis else ""]
    text = with_review_note(q.status, "\n".join(part for part in parts if part))
    if text:
        return text
    return DEFAULT_MESSAGE.get(q.status)
