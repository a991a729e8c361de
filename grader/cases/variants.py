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
from grader.cases.draw import draw_sizes


def for_student(exercise: Exercise, student: str | None) -> Exercise:
    """The exercise as `student` receives it; the exercise itself when it has no variants or no student."""
    if exercise.variants is None or student is None:
        return exercise
    rng = np.random.default_rng(_seed(exercise.id, exercise.variants.seed, student))
    handout = draw_sizes(exercise, rng, ranges=dict(exercise.variants.dimensions), fixed=exercise.handout)
    return with_handout(exercise, handout, rng)


def with_handout(exercise: Exercise, handout: dict[str, int], rng: np.random.Generator) -> Exercise:
    """The exercise for other handout sizes: the public case that had the handout's sizes takes these,
    and the public and numeric seeds are drawn anew from `rng`."""
    seed_of = lambda seed: int(rng.integers(0, 2**62)) ^ seed  # noqa: E731
    public = exercise.public.model_copy(
        update={
            "seed": seed_of(exercise.public.seed),
            "cases": [handout if case == exercise.handout else case for case in exercise.public.cases],
        }
    )
    questions = [
        _numeric_for(q, exercise.handout, handout, seed_of) if isinstance(q, NumericQuestion) else q
        for q in exercise.questions
    ]
    variant = exercise.model_copy(update={"handout": handout, "public": public, "questions": questions})
    variant._source = exercise._source
    return variant


def corner_variants(exercise: Exercise) -> list[Exercise]:
    """The variants at the corners of the variant ranges (all low, all high) that satisfy the constraints:
    where a scale or a reference is most likely to fail, checked before any student is graded."""
    if exercise.variants is None:
        return []
    corners = [
        {**exercise.handout, **{name: bounds[end] for name, bounds in exercise.variants.dimensions.items()}}
        for end in (0, 1)
    ]
    valid = [c for c in corners if all(evaluate(rule, c) for rule in exercise.constraints)]
    return [with_handout(exercise, corner, np.random.default_rng(n)) for n, corner in enumerate(valid)]


def _numeric_for(question: NumericQuestion, old: dict[str, int], new: dict[str, int], seed_of) -> NumericQuestion:
    case = new if question.case == old else question.case
    return question.model_copy(update={"case": case, "seed": seed_of(question.seed)})


def _seed(exercise_id: str, variants_seed: int, student: str) -> int:
    text = f"{exercise_id}\0{variants_seed}\0{student}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
