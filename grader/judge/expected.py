"""Expected answers, computed from the reference callables an exercise names, once per case."""

from __future__ import annotations

from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from exercises.bank import resolve
from exercises.models import BackwardQuestion, Exercise, FunctionQuestion, NumericQuestion
from grader.cases.draw import Case, numeric_case
from grader.judge.compare import Candidates, prepared
from grader.judge.diagnoses import answer_changes, generic_hint


class KnownMistake(NamedTuple):
    diagnosis: str
    hint: str
    value: Any
    outputs: tuple[str, ...] = ()  # the outputs it is recognised in (all when empty)


class Expected:
    """Reference answers and known wrong answers for an exercise's questions, cached by case."""

    def __init__(self, exercise: Exercise) -> None:
        self.exercise = exercise
        self._answers: dict[tuple[str, str], Any] = {}
        self._mistakes: dict[tuple[str, str], list[KnownMistake]] = {}
        self._tables: dict[tuple[str, str], MistakeTable] = {}

    def resolve(self, path: str) -> Any:
        """A callable the exercise names (a kit replays what the reference answered instead)."""
        return resolve(self.exercise, path)

    @cached_property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        if self.exercise.shapes is None:  # the model requires it of an exercise with shape questions
            raise ValueError(f"{self.exercise.id}: no `shapes` callable, so it has no shapes table")
        table = resolve(self.exercise, self.exercise.shapes)(**self.exercise.handout)
        return {symbol: tuple(int(n) for n in shape) for symbol, shape in table.items()}

    def answer(self, question: FunctionQuestion | BackwardQuestion | NumericQuestion, case: Case) -> Any:
        """The reference's answer, as float arrays (a tuple when there are several outputs; no cache)."""
        key = (question.id, case.label)
        if key not in self._answers:
            self._answers[key] = _as_plain(compared_part(question, self.raw_answer(question, case)))
        return self._answers[key]

    def raw_answer(self, question: FunctionQuestion | BackwardQuestion | NumericQuestion, case: Case) -> Any:
        """What the reference returns, as it returns it (a forward's cache included)."""
        if isinstance(question, BackwardQuestion):
            return self._call(question.reference, question, case, self._reference_cache(question, case))
        return self._call(question.reference, question, case)

    def compute_ahead(self, cases: list[Case]) -> None:
        """Every answer judging will ask of the references on `cases`, computed now: while a lone submission's
        code runs rather than after it. A reference that fails here fails again where its question is judged,
        and is reported there."""
        for question in self.exercise.questions:
            try:
                if isinstance(question, (FunctionQuestion, BackwardQuestion)):
                    for case in cases:
                        self.answer(question, case)
                elif isinstance(question, NumericQuestion):
                    self.numeric_answer(question)
            except Exception:  # noqa: BLE001 - judging calls it again and says what failed
                continue

    def numeric_answer(self, question: NumericQuestion) -> Any:
        return self.answer(question, numeric_case(self.exercise, question))

    def mistakes(self, question: FunctionQuestion | BackwardQuestion, case: Case) -> list[KnownMistake]:
        """Generic slips (transposed, sign) and the question's listed mistakes, on this case."""
        key = (question.id, case.label)
        if key not in self._mistakes:
            self._mistakes[key] = self._compute_mistakes(question, case)
        return self._mistakes[key]

    def mistake_table(self, question: FunctionQuestion | BackwardQuestion, case: Case) -> MistakeTable:
        """The mistakes on this case, with each output's values prepared once for matching many answers."""
        key = (question.id, case.label)
        if key not in self._tables:
            known = self.mistakes(question, case)
            usable, values = _per_output(known, output_count(question))
            self._tables[key] = MistakeTable(known, usable, [prepared(each) for each in values])
        return self._tables[key]

    def listed_mistakes(self, question: FunctionQuestion | BackwardQuestion) -> list[Any]:
        return list(resolve(self.exercise, question.mistakes)) if question.mistakes else []

    def mistake_value(self, question: FunctionQuestion | BackwardQuestion, mistake: Any, case: Case) -> Any:
        """What one listed mistake returns on a case, in the compared form."""
        cache = self._reference_cache(question, case) if isinstance(question, BackwardQuestion) else None
        return _as_plain(compared_part(question, _call_with(mistake.compute, question, case, cache)))

    def _compute_mistakes(self, question: FunctionQuestion | BackwardQuestion, case: Case) -> list[KnownMistake]:
        right = self.answer(question, case)
        known = [KnownMistake(d, generic_hint(d), _transform(right, f)) for d, f in answer_changes().items()]
        return known + self.listed_known(question, case)

    def listed_known(self, question: FunctionQuestion | BackwardQuestion, case: Case) -> list[KnownMistake]:
        """The question's listed mistakes, with their answers on this case."""
        return [
            KnownMistake(m.diagnosis, m.hint, self.mistake_value(question, m, case), named_outputs(m))
            for m in self.listed_mistakes(question)
        ]

    def _reference_cache(self, question: BackwardQuestion, case: Case) -> Any:
        forward = self.exercise.forward_of(question)
        assert forward.cache is not None  # forward_of gives only a forward with a cache
        result = self._call(forward.reference, forward, case)
        return result[forward.outputs.index(forward.cache)]

    def _call(self, path: str, question: Any, case: Case, cache: Any = None) -> Any:
        return _call_with(resolve(self.exercise, path), question, case, cache)


class MistakeTable(NamedTuple):
    """A case's known mistakes, and per output the values of those that give every output, prepared for
    `equal_to_each`."""

    known: list[KnownMistake]
    usable: list[int]  # the positions in `known` of the mistakes with a value for every output
    per_output: list[Candidates]


def output_count(question: Any) -> int:
    """How many outputs are judged one by one: each compared output, or the whole answer as one."""
    return max(1, len(question.compared_outputs))


def _per_output(known: list[KnownMistake], count: int) -> tuple[list[int], list[list[Any]]]:
    """The positions of the mistakes whose value has `count` outputs (every mistake when there is one output),
    and per output those mistakes' values for it."""
    values = [mistake.value if count > 1 else (mistake.value,) for mistake in known]
    usable = [n for n, value in enumerate(values) if count == 1 or isinstance(value, tuple) and len(value) == count]
    return usable, [[values[n][index] for n in usable] for index in range(count)]


def named_outputs(mistake: Any) -> tuple[str, ...]:
    """The outputs a listed mistake says it affects (its optional `outputs`); empty: any."""
    return tuple(getattr(mistake, "outputs", ()) or ())


def call_args(question: Any, case: Case) -> list[np.ndarray]:
    """The arrays a question passes (a backward: its upstream gradients), fresh copies."""
    names = question.upstream if isinstance(question, BackwardQuestion) else question.args
    return [case.arrays[name].copy() for name in names]


def _call_with(function: Any, question: Any, case: Case, cache: Any = None) -> Any:
    args = call_args(question, case)
    return function(*args, cache) if isinstance(question, BackwardQuestion) else function(*args)


def compared_part(question: Any, value: Any) -> Any:
    """A forward's outputs without its cache (which is never compared); anything else as it is."""
    if isinstance(question, FunctionQuestion) and question.cache is not None:
        index = question.outputs.index(question.cache)
        kept = [part for n, part in enumerate(value) if n != index]
        return kept[0] if len(kept) == 1 else tuple(kept)
    return value


def _as_plain(value: Any) -> Any:
    """Reference output as float arrays (tuples stay tuples) so comparisons see one form."""
    if isinstance(value, (tuple, list)):
        return tuple(_as_plain(part) for part in value)
    return np.asarray(value, dtype=np.float64)


def _transform(value: Any, change) -> Any:
    if isinstance(value, tuple):
        return tuple(_transform(part, change) for part in value)
    return change(value)
