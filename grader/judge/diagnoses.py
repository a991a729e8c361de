"""The diagnoses recognised in any exercise, in one table: each one's id, the hint a student reads and, for a
slip that is a change of the right answer, that change.

Which of them, or of a question's listed mistakes, names a failing question is decided in
`grader/judge/questions.py`, in the order written there. A generic diagnosis is never traced to an earlier
question: one transposed matrix says nothing about another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Generic:
    """A mistake recognised in any exercise."""

    hint: str  # may name {function}, {forward} or {shown}, filled in where the diagnosis is made
    change: Callable[[np.ndarray], np.ndarray] | None = None  # the right answer made wrong this way, if it is one


def _transposed(array: np.ndarray) -> np.ndarray:
    """Matrices swap rows and columns; a scalar has no transpose, so nothing can match it."""
    return array.T if array.ndim == 2 else np.full(array.shape, np.nan)


GENERIC: dict[str, Generic] = {
    "transposed": Generic(
        "Your answer is the transpose of the expected one: rows and columns are swapped. "
        "Check the order of the factors (for an outer product, which vector is the column).",
        _transposed,
    ),
    "sign-flipped": Generic(
        "Your answer has the right size but the opposite sign: check the sign of the "
        "loss's derivative, and whether you add or subtract.",
        np.negative,
    ),
    "scaled-by-constant": Generic(
        "Your answer is the expected one times a constant factor{shown}: look for a factor added or dropped "
        "(a 2, a 1/N, a mean)."
    ),
    "hard-coded-sizes": Generic(
        "Your function is right at the handout's sizes and wrong at every other size: a size seems to "
        "be written as a number; read sizes from the arguments instead (their .shape, len(...))."
    ),
    "wrong-forward": Generic(
        "{forward} is wrong on the cases where {function} fails, and its cache feeds {function}: fix {forward} first."
    ),
}


def generic_hint(diagnosis: str, **names: str) -> str:
    """The hint of a generic diagnosis, with the names it mentions filled in."""
    return GENERIC[diagnosis].hint.format(**names)


def answer_changes() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The generic slips that are a change of the right answer, by diagnosis, in the order they are tried."""
    return {diagnosis: generic.change for diagnosis, generic in GENERIC.items() if generic.change is not None}
