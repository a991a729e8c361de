"""What several formatters share: default per-status messages, the one-submission guard, and how a part
awaiting review is announced."""

from __future__ import annotations

from grader.results import GradingResults, SubmissionResult

DEFAULT_MESSAGE = {
    "failed": "Some points were lost on this question.",
    "error": "Your code raised an error while answering this question.",
    "timeout": "Your code ran past the time limit on this question.",
    "missing": "Your submission does not answer this question.",
}
AWAITING_REVIEW = (
    "Awaiting review by an instructor: the grader could not verify this part, so it scores 0 until a person reads it."
)
DEFAULT_MESSAGE["review"] = AWAITING_REVIEW


def with_review_note(status: str, text: str) -> str:
    """`text`, after the sentence saying the part awaits review when it does."""
    if status != "review" or text.startswith(AWAITING_REVIEW):
        return text
    return "\n\n".join(part for part in (AWAITING_REVIEW, text) if part)


def only_submission(results: GradingResults, format_name: str) -> SubmissionResult:
    """The run's one submission; formats that describe one submission refuse a class."""
    if len(results.submissions) != 1:
        raise ValueError(
            f"the {format_name} format describes one submission, but this run has "
            f"{len(results.submissions)}; write one file per student instead"
        )
    return results.submissions[0]
