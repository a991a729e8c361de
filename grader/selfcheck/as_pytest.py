"""Self-check under pytest: one test per question, failing with the same feedback as `rnn-grader check`.

A student puts this file next to their work and runs `pytest`:

    # test_my_homework.py
    from grader.selfcheck import question_tests
    test_question = question_tests(__file__, exercise="rnn-bptt")
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from exercises.bank import load_exercise
from grader.pipeline import GradingOptions, grade
from grader.report.feedback import render_question
from grader.results import SubmissionResult
from grader.run.protocol import Limits
from grader.selfcheck.kit import load_kit


@lru_cache(maxsize=8)
def _checked(folder: str, exercise_id: str, kit: str | None = None) -> SubmissionResult:
    options = GradingOptions(limits=Limits(timeout=10.0), public_only=True, single=True, kit=Path(kit) if kit else None)
    exercise = load_kit(Path(kit)).exercise if kit else load_exercise(exercise_id)
    return grade([Path(folder)], exercise, options).submissions[0]


def question_tests(anchor: str, exercise: str = "rnn-bptt"):
    """A parametrized test checking, on the public cases, the work in the folder holding `anchor`."""
    return _tests(str(Path(anchor).resolve().parent), exercise, None)


def kit_tests(kit: Path):
    """The same from a student kit: the work is the folder that holds the kit's folder."""
    return _tests(str(kit.resolve().parent), "", str(kit.resolve()))


def _tests(folder: str, exercise: str, kit: str | None):
    ids = [q.id for q in (load_kit(Path(kit)).exercise if kit else load_exercise(exercise)).questions]

    @pytest.mark.parametrize("question_id", ids)
    def test_question(question_id: str) -> None:
        submission = _checked(folder, exercise, kit)
        if submission.status == "rejected":
            pytest.fail(f"your work could not be checked: {submission.reason}", pytrace=False)
        question = next(q for q in submission.questions if q.id == question_id)
        if question.status != "passed":  # a review part does not pass either, as with `rnn-grader check`
            pytest.fail("\n".join(render_question(question)), pytrace=False)

    return test_question
