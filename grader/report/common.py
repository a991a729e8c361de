"""What several formatters share: default per-status messages and the one-submission guard."""

from __future__ import annotations

from grader.results import GradingResults, SubmissionResult

DEFAULT_MESSAGE = {
    "failed": "Some points were lost on this question.",
    "error": "Your code raised an error while answering this question.",
    "timeout": "Your code ran past the time limit on this question.",
    "missing": "Your submission does not answer this question.",
}


def only_submission(results: GradingResults, format_name: str) -> SubmissionResult:
    """The run's one submission; formats that describe one submission refuse a class."""
    if len(results.submissions) != 1:
        raise ValueError(
            f"the {format_name} format describes one submission, but this run has "
            f"{len(results.submissions)}; write one file per student instead"
        )
    return results.submissions[0]
