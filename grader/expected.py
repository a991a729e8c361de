"""Expected answers, computed from the reference callables an exercise names, once per case."""

from __future__ import annotations

from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from exercises.bank import resolve_callable
from exercises.models import Exercise, FunctionQuestion, NumericQuestion
from grader.cases import Case, numeric_case


class KnownMistake(NamedTuple):
    diagnosis: str
    hint: str
    value: Any


GENERIC_HINTS = {
    "transposed": "Your answer is the transpose of the expected one: rows and columns are swapped. "
    "Check the order of the factors (for an outer product, which vector is the column).",
    "sign-flipped": "Your answer has the right size but the opposite sign: check the sign of the "
    "loss's derivative, and whether you add or subtract.",
}


class Expected:
    """Reference answers and known wrong answers for an exercise's questions, cached by case."""

    def __init__(self, exercise: Exercise) -> None:
        self.exercise = exercise
        self._answers: dict[tuple[str, str], Any] = {}
        self._mistakes: dict[tuple[str, str], list[KnownMistake]] = {}

    @cached_property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        sizes = self.exercise.sizes
        table = resolve_callable(self.exercise.shapes_reference)(sizes.T, sizes.V, sizes.D, sizes.H)
        return {symbol: tuple(int(n) for n in shape) for symbol, shape in table.items()}

    def answer(self, question: FunctionQuestion | NumericQuestion, case: Case) -> Any:
        key = (question.id, case.label)
        if key not in self._answers:
            self._answers[key] = _as_plain(resolve_callable(question.reference)(*_args(question, case)))
        return self._answers[key]

    def numeric_answer(self, question: NumericQuestion) -> Any:
        return self.answer(question, numeric_case(question.case, question.seed, self.exercise.biases))

    def mistakes(self, question: FunctionQuestion, case: Case) -> list[KnownMistake]:
        """Generic slips (transposed, sign) and the question's listed mistakes, on this case."""
        key = (question.id, case.label)
        if key not in self._mistakes:
            self._mistakes[key] = self._compute_mistakes(question, case)
        return self._mistakes[key]

    def _compute_mistakes(self, question: FunctionQuestion, case: Case) -> list[KnownMistake]:
        right = self.answer(question, case)
        known = [KnownMistake(d, GENERIC_HINTS[d], _transform(right, f)) for d, f in _GENERIC.items()]
        listed = resolve_callable(question.mistakes) if question.mistakes else []
        args = _args(question, case)
        known += [KnownMistake(m.diagnosis, m.hint, _as_plain(m.compute(*args))) for m in listed]
        return known


def _args(question: FunctionQuestion | NumericQuestion, case: Case) -> list[np.ndarray]:
    return [case.arrays[name].copy() for name in question.args]


def _as_plain(value: Any) -> Any:
    """Reference output as float arrays (tuples stay tuples) so comparisons see one form."""
    if isinstance(value, (tuple, list)):
        return tuple(_as_plain(part) for part in value)
    return np.asarray(value, dtype=np.float64)


def _transform(value: Any, change) -> Any:
    if isinstance(value, tuple):
        return tuple(_transform(part, change) for part in value)
    return change(value)


def _transposed(array: np.ndarray) -> np.ndarray:
    """Matrices swap rows and columns; a scalar has no transpose, so nothing can match it."""
    return array.T if array.ndim == 2 else np.full(array.shape, np.nan)


_GENERIC = {"transposed": _transposed, "sign-flipped": np.negative}
