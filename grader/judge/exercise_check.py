"""An exercise checks itself when it is loaded, before any student is graded.

Every callable it names is resolved, the cases are drawn, and every reference and listed mistake
runs once on the first public case and must return what the question declares. A problem is one
`ExerciseError` naming the file and the field.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from exercises.bank import ExerciseError, exercise_folder, load_exercise, resolve, source_of, where_in
from exercises.models import (
    BackwardQuestion,
    DerivedInput,
    Exercise,
    FunctionQuestion,
    NumericQuestion,
    ShapeQuestion,
    WrittenQuestion,
)
from grader.cases.draw import Case, CaseError, InputError, build_cases, numeric_case
from grader.cases.variants import corner_variants, for_student
from grader.judge.expected import Expected, call_args
from grader.judge.numerical_gradient import float_inputs


def load_checked_exercise(id_or_path: str, secret: str | None = None) -> Exercise:
    """An exercise by id or path, loaded and checked (with the hidden cases `secret` draws)."""
    exercise = load_exercise(id_or_path)
    check_exercise_runs(exercise, secret)
    return exercise


def check_exercise_runs(exercise: Exercise, secret: str | None = None) -> None:
    """Raise ExerciseError (file: field: problem) for the first thing that would fail while grading:
    on the cases of `secret`, and for the variants at the corners of the variant ranges."""
    _check_one(exercise, secret)
    for variant in _at(
        exercise,
        "variants",
        lambda: corner_variants(exercise) or [for_student(exercise, "a")] if exercise.variants else [],
    ):
        _check_one(variant, secret)


def _check_one(exercise: Exercise, secret: str | None) -> None:
    _at(exercise, "shapes", lambda: _check_shapes(exercise))
    for number, entry in enumerate(exercise.imports.provided):
        if not (exercise_folder(exercise) / entry).exists():
            raise ExerciseError(
                f"{source_of(exercise)}: {where_in(exercise, f'imports.provided.{number}')}: "
                f"no {entry} beside the exercise"
            )
    for name, spec in exercise.inputs.items():
        if isinstance(spec, DerivedInput):

            def resolve_derived(spec: DerivedInput = spec) -> Any:
                return resolve(exercise, spec.derived)

            _at(exercise, f"inputs.{name}.derived", resolve_derived)
    cases = _at(exercise, "inputs", lambda: build_cases(exercise, secret=secret, include_hidden=True))
    expected = Expected(exercise)
    for number, question in enumerate(exercise.questions):
        if isinstance(question, (FunctionQuestion, BackwardQuestion)):
            _check_code_question(exercise, number, question, cases[0], expected)
        elif isinstance(question, NumericQuestion):

            def numeric_answer(question: NumericQuestion = question) -> Any:
                return expected.answer(question, numeric_case(exercise, question))

            _at(exercise, f"questions.{number}.reference", numeric_answer)
        elif isinstance(question, WrittenQuestion):
            _check_written(exercise, number, question)


def _check_written(exercise: Exercise, number: int, question: WrittenQuestion) -> None:
    """A written question's callables resolve (they run when graded; the parser is an optional extra)."""
    for field in ("reference", "model_answer"):
        path = getattr(question, field, None)
        if path:

            def resolved(path: str = path) -> Any:
                return resolve(exercise, path)

            _at(exercise, f"questions.{number}.{field}", resolved)


def _at(exercise: Exercise, field: str, check: Callable[[], Any]) -> Any:
    """Run one check; any failure becomes an ExerciseError naming the file and the field."""
    try:
        return check()
    except ExerciseError as exc:
        raise ExerciseError(f"{source_of(exercise)}: {where_in(exercise, field)}: {exc}") from None
    except InputError as exc:
        raise ExerciseError(f"{source_of(exercise)}: {where_in(exercise, exc.field)}: {_one_line(str(exc))}") from None
    except CaseError as exc:
        raise ExerciseError(f"{source_of(exercise)}: {where_in(exercise, 'dimensions')}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - an instructor's reference may fail in any way
        raise ExerciseError(
            f"{source_of(exercise)}: {where_in(exercise, field)}: {type(exc).__name__}: {_one_line(str(exc))}"
        ) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _check_shapes(exercise: Exercise) -> None:
    symbols = [q.symbol for q in exercise.questions if isinstance(q, ShapeQuestion)]
    if not symbols:
        return
    table = Expected(exercise).shapes
    unknown = [symbol for symbol in symbols if symbol not in table]
    if unknown:
        raise ExerciseError(f"{exercise.shapes} knows no symbol {unknown[0]!r} (it knows {', '.join(table)})")


def _check_code_question(
    exercise: Exercise, number: int, question: FunctionQuestion | BackwardQuestion, case: Case, expected: Expected
) -> None:
    where = f"questions.{number}"
    if isinstance(question, BackwardQuestion):
        _at(exercise, f"{where}.upstream", lambda: _check_upstream(exercise, question))
    raw = _at(
        exercise,
        f"{where}.reference",
        lambda: _explained(lambda: expected.raw_answer(question, case), question.reference, question),
    )
    _at(exercise, f"{where}.outputs", lambda: _check_count(question, raw, question.reference))
    if isinstance(question, BackwardQuestion) and question.gradient_check:
        _at(exercise, f"{where}.gradient_check", lambda: _check_gradient_count(exercise, question, raw, case))
    if question.mistakes is None:
        return
    mistakes = _at(exercise, f"{where}.mistakes", lambda: _mistake_list(expected, question))
    for entry, mistake in enumerate(mistakes):
        name = f"mistake {mistake.diagnosis!r} ({question.mistakes}, entry {entry})"

        def mistake_value(m: Any = mistake, name: str = name) -> Any:
            return _explained(lambda: expected.mistake_value(question, m, case), name, question, m.compute)

        value = _at(exercise, f"{where}.mistakes", mistake_value)

        def same_form(v: Any = value, name: str = name) -> None:
            _same_form(question, v, name)

        _at(exercise, f"{where}.mistakes", same_form)


def _check_upstream(exercise: Exercise, question: BackwardQuestion) -> None:
    """One upstream gradient per compared output of the forward (whose reference has run by now)."""
    forward = exercise.forward_of(question)
    if len(question.upstream) != len(forward.compared_outputs):
        raise ExerciseError(
            f"{len(question.upstream)} upstream gradient(s) {question.upstream} for the "
            f"{len(forward.compared_outputs)} output(s) of {forward.id} {forward.compared_outputs}: one per output"
        )


def _explained(call: Callable[[], Any], name: str, question: Any, function: Any = None) -> Any:
    """`call()`; a TypeError from calling with the wrong arguments shows the callable's signature against the
    question's call."""
    try:
        return call()
    except TypeError as exc:
        if "argument" not in str(exc):
            raise
        called = question.args if isinstance(question, FunctionQuestion) else [*question.upstream, "cache"]
        takes = f"; it takes {_signature(function)}" if function is not None else ""
        raise ExerciseError(
            f"{name} failed: TypeError: {_one_line(str(exc))}{takes}, "
            f"and {question.id} calls it as ({', '.join(called)})"
        ) from None


def _signature(function: Any) -> str:
    try:
        return str(inspect.signature(function))
    except (TypeError, ValueError):
        return "arguments that cannot be read"


def _check_count(question: FunctionQuestion | BackwardQuestion, raw: Any, path: str) -> None:
    """The reference returns as many values as `outputs` names (one value when it names one or none)."""
    declared = len(question.outputs)
    returned = len(raw) if isinstance(raw, (tuple, list)) else 1
    if declared >= 2 and (not isinstance(raw, (tuple, list)) or returned != declared):
        raise ExerciseError(
            f"{path} returns {returned} value(s), but outputs names {declared}: {question.outputs} "
            "(name every returned value in outputs, in order)"
        )
    if declared <= 1 and isinstance(raw, tuple):
        raise ExerciseError(f"{path} returns {returned} values; name each of them in outputs, in order")


def _check_gradient_count(exercise: Exercise, question: BackwardQuestion, raw: Any, case: Case) -> None:
    forward = exercise.forward_of(question)
    floats = len(float_inputs(call_args(forward, case)))
    returned = len(raw) if isinstance(raw, (tuple, list)) else 1
    if returned != floats:
        raise ExerciseError(
            f"a gradient check needs one gradient per float input of {forward.function} "
            f"({floats}), and {question.reference} returns {returned}"
        )


def _mistake_list(expected: Expected, question: FunctionQuestion | BackwardQuestion) -> list[Any]:
    mistakes = expected.listed_mistakes(question)
    for mistake in mistakes:
        if not all(hasattr(mistake, name) for name in ("diagnosis", "hint", "compute")):
            raise ExerciseError(
                f"{question.mistakes} holds {type(mistake).__name__}, not a mistake with diagnosis, hint and compute"
            )
    return mistakes


def _same_form(question: FunctionQuestion | BackwardQuestion, value: Any, name: str) -> None:
    want = max(len(question.compared_outputs), 1)
    got = len(value) if isinstance(value, tuple) else 1
    if got != want:
        raise ExerciseError(f"{name} returns {got} value(s); the reference returns {want} (the same form as it)")
