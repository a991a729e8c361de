"""`check("grad_W_H")` in a notebook: the functions defined in the kernel right now, on a kit's public cases.

The student's own kernel calls the student's own functions (this is self-check on their machine, not
grading); the values are handed to the same judge, in the same raw form the sandbox produces, so the
verdict and feedback are those of `rnn-grader check`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.judge.questions import Evidence, judge_question
from grader.pipeline import build_items
from grader.report.feedback import render_question
from grader.results import QuestionResult
from grader.run.client import parse_record
from grader.run.protocol import ItemResult
from grader.run.student import RawEncoder, decode_arguments, fetch
from grader.selfcheck.kit import load_kit

NOTEBOOK = "your notebook"


def check_in_notebook(
    kit_folder: Path, namespace: dict[str, Any], question_id: str | None = None, echo: bool = True
) -> list[QuestionResult]:
    """Judge one question (or every one) on the kit's public cases, with the functions in `namespace`."""
    kit = load_kit(kit_folder)
    questions = [q for q in kit.exercise.questions if question_id in (None, q.id)]
    if not questions:
        known = ", ".join(q.id for q in kit.exercise.questions)
        raise ValueError(f"no question {question_id!r} in {kit.exercise.id} (questions: {known})")
    evidence = Evidence(items=_items(kit, namespace), timeout=0.0)
    results = [judge_question(q, evidence, kit.cases, kit.expected) for q in questions]
    if echo:
        print("\n".join(line for result in results for line in render_question(result)))
    return results


def _items(kit, namespace: dict[str, Any]) -> dict[str, ItemResult]:
    encoder = RawEncoder(max_elements=50_000_000)
    fetched = {}
    items = build_items(kit.exercise, kit.cases)
    decode_arguments(items)  # as the sandbox's warm process does: each call gets a fresh copy
    for item in items:
        records = [
            parse_record(json.dumps(raw).encode(), encoder.max_elements)
            for raw in fetch(item, [namespace], {NOTEBOOK}, encoder)
        ]
        fetched[item.id] = ItemResult("done", records=records)
    return fetched
