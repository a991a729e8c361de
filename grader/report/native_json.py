"""The native JSON results (`--format json`), field for field as the interface specification shows.

The traceback of a grader error (`staff_log`) never leaves the process; its one-line summary
(`grader_error`) does, so an instructor sees why the grader failed; `diagnosis` and `reason`
appear only when they have a value, as in the specification's example. Beyond the specification's
keys, which scripts may rely on, it adds `isolation` (the level student code ran under),
`diagnoses` (per question, how many submissions hit each known mistake), `undiagnosed` (per question, how
many got it wrong in a way no known mistake explains: the mistakes the catalogue lacks), per question of a
function returning several values its `outputs` (each one's share of the points, status and diagnosis)
and, per submission, `notes` and the captured `output` when there are any. Scores are kept exact and
written rounded once (`shown`), so a total is never the sum of rounded thirds. Where parts await review (question status
`review`, 0 points until a person reviews them), each such submission lists their ids in
`awaiting_review` and the run counts them in `parts_awaiting_review`; a question an instructor
reviewed carries `reviewed` (the grader's own score and status, the comment, when).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from grader.results import (
    GradingResults,
    OutputResult,
    QuestionResult,
    SubmissionResult,
    awaiting_review,
    class_counts,
    shown,
)


def render(results: GradingResults) -> str:
    """The whole run as indented JSON: exercise, grader version, one entry per submission."""
    return "".join(stream(results))


def stream(results: GradingResults) -> Iterator[str]:
    """The same text in pieces, one submission at a time (the class's counts, written after the
    submissions, are made first)."""
    document: dict[str, Any] = {
        "exercise": results.exercise,
        "grader_version": results.grader_version,
        "submissions": [],
        **_after_submissions(results),
    }
    text = json.dumps(document, indent=2) + "\n"
    if not results.submissions:
        yield text
        return
    head, tail = text.split(_NO_SUBMISSIONS, 1)  # keys before it are JSON strings: the first is the key
    yield head + '"submissions": ['
    separator = "\n"
    for sub in results.submissions:
        yield separator + _indented(json.dumps(_submission(sub), indent=2), _SUBMISSION_INDENT)
        separator = ",\n"
    yield "\n  ]" + tail


_NO_SUBMISSIONS = '"submissions": []'
_SUBMISSION_INDENT = " " * 4  # json.dumps(indent=2) of the document indents a submission's lines by two levels


def _indented(text: str, prefix: str) -> str:
    """Every line of `text` after `prefix` (JSON text holds no line breaks but its own)."""
    return "\n".join(prefix + line for line in text.split("\n"))


def _after_submissions(results: GradingResults) -> dict[str, Any]:
    """The keys after the submissions, where they have a value: isolation, the class's mistakes, parts to review."""
    counts: dict[str, Any] = {}
    if results.isolation:
        counts["isolation"] = results.isolation
    diagnoses, unexplained, pending = class_counts(results)
    if diagnoses:
        counts["diagnoses"] = diagnoses
    if unexplained:
        counts["undiagnosed"] = unexplained
    if pending:
        counts["parts_awaiting_review"] = pending
    return counts


def _submission(sub: SubmissionResult) -> dict:
    entry: dict = {
        "path": sub.path,
        "student": sub.student,
        "score": shown(sub.score),
        "max_score": shown(sub.max_score),
        "status": sub.status,
    }
    if sub.reason is not None:
        entry["reason"] = sub.reason
    if sub.cpu_s is not None and sub.wall_s is not None:
        entry |= {"cpu_s": round(sub.cpu_s, 4), "wall_s": round(sub.wall_s, 4)}
    entry["questions"] = [_question(q) for q in sub.questions]
    if awaiting_review(sub):
        entry["awaiting_review"] = awaiting_review(sub)
    if sub.notes:
        entry["notes"] = sub.notes
    if sub.output:
        entry["output"] = sub.output
    return entry


def _question(q: QuestionResult) -> dict:
    entry: dict = {
        "id": q.id,
        "score": shown(q.score),
        "max_score": shown(q.max_score),
        "status": q.status,
        "feedback": q.feedback,
    }
    if q.diagnosis is not None:
        entry["diagnosis"] = q.diagnosis
    if q.grader_error:
        entry["grader_error"] = q.grader_error
    if q.reviewed is not None:
        entry["reviewed"] = q.reviewed.model_dump()
    if q.outputs:
        entry["outputs"] = [_output(output) for output in q.outputs]
    return entry


def _output(output: OutputResult) -> dict:
    entry: dict = {
        "name": output.name,
        "score": shown(output.score),
        "max_score": shown(output.max_score),
        "status": output.status,
    }
    if output.diagnosis is not None:
        entry["diagnosis"] = output.diagnosis
    return entry
