"""Checking a graded batch against a corpus manifest (format: the header of tests/corpus/manifest.yaml).

Written questions (`derivation.*`) are `missing` for submissions without a derivation unless the entry says
`written: full`; tests/grader/test_derivation.py checks the write-up corpus (tests/corpus/writeups/)."""

from __future__ import annotations

from typing import Any


WRITTEN_PREFIX = "derivation."


def check_submission(expected: dict[str, Any], result) -> None:
    """One submission's result against its manifest entry; an AssertionError says which question and why."""
    if expected.get("submission_status") == "rejected":
        assert result.status == "rejected" and result.reason
        assert expected.get("reason_contains", "") in result.reason, result.reason
        return
    assert result.status == "graded", result.reason
    questions = {q.id: q for q in result.questions}
    listed = expected.get("questions", {})
    for question_id, outcome in listed.items():
        check_outcome(questions[question_id], outcome)
    others = "full" if expected.get("expect") == "full" else expected.get("others", "full")
    written = expected.get("written", "missing")  # the derivation.* questions: a write-up's, absent from code
    for question_id, question in questions.items():
        if question_id not in listed:
            wanted = written if question_id.startswith(WRITTEN_PREFIX) else others
            assert question.status == ("passed" if wanted == "full" else "missing"), (question_id, question.feedback)


def check_outcome(question, outcome: dict[str, Any]) -> None:
    allowed = outcome["status"] if isinstance(outcome["status"], list) else [outcome["status"]]
    assert question.status in allowed, (question.id, question.status, question.feedback)
    assert question.score < question.max_score, question.id
    if "diagnosis" in outcome:
        assert question.diagnosis == outcome["diagnosis"], (question.id, question.diagnosis, question.feedback)
