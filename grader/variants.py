"""Per-student variants: one student's exercise, with handout sizes and case seeds drawn from their id.

The draw uses the exercise's public variant seed and the student id, not the instructor's secret,
so a student can recompute their own variant for `check --student` and `template`, while an answer
copied from another student carries the other student's sizes. Hidden cases stay the secret's.
"""

from __future__ import annotations

import hashlib

import numpy as np

from exercises.expressions import evaluate
from exercises.models import Exercise, NumericQuestion

MAX_REDRAWS = 1000


def for_student(exercise: Exercise, student: str | None) -> Exercise:
    """The exercise as `student` receives it; the exercise itself when it has no variants or no student."""
    if exercise.variants is None or student is None:
        return exercise
    rng = np.random.default_rng(_seed(exercise, student))
    handout = _draw_handout(exercise, rng)
    seed_of = lambda seed: int(rng.integers(0, 2**62)) ^ seed  # noqa: E731
    public = exercise.public.model_copy(update={
        "seed": seed_of(exercise.public.seed),
        "cases": [handout if case == exercise.handout else case for case in exercise.public.cases],
    })
    questions = [_numeric_for(q, exercise.handout, handout, seed_of) if isinstance(q, NumericQuestion) else q
                 for q in exercise.questions]
    variant = exercise.model_copy(update={"handout": handout, "public": public, "questions": questions})
    variant._source = exercise._source
    return variant


def _draw_handout(exercise: Exercise, rng: np.random.Generator) -> dict[str, int]:
    ranges = exercise.variants.dimensions
    for _ in range(MAX_REDRAWS):
        sizes = {name: int(rng.integers(ranges[name][0], ranges[name][1] + 1)) if name in ranges else value
                 for name, value in exercise.handout.items()}
        if all(evaluate(constraint, sizes) for constraint in exercise.constraints):
            return sizes
    return dict(exercise.handout)


def _numeric_for(question: NumericQuestion, old: dict[str, int], new: dict[str, int], seed_of) -> NumericQuestion:
    case = new if question.case == old else question.case
    return question.model_copy(update={"case": case, "seed": seed_of(question.seed)})


def _seed(exercise: Exercise, student: str) -> int:
    text = f"{exercise.id}\0{exercise.variants.seed}\0{student}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
