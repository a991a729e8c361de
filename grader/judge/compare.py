"""Comparing one raw student value with one expected value: forms first, then shape, then numbers.

Pure functions. Messages say what came back and what was expected in shape, never expected values.
How far off a value may be is decided here only: `tolerance_for` a question, `allowed_error` at a scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from exercises.models import CodeQuestion, Exercise, NumericQuestion, Tolerance
from grader.run.protocol import TooBig, Unsupported


def tolerance_for(question: CodeQuestion | NumericQuestion, exercise: Exercise) -> Tolerance:
    """The question's own tolerance, else its exercise's."""
    return question.tolerance or exercise.tolerance


def allowed_error(tolerance: Tolerance, scale: float) -> float:
    """The largest error accepted in an entry, where the expected values reach `scale` in magnitude."""
    return tolerance.atol + tolerance.rtol * scale


_NOT_NUMBERS = "returned something other than an array of numbers"


@dataclass(frozen=True)
class Comparison:
    ok: bool
    problem: str = ""  # one sentence for the student when not ok: what came back, in shape, never expected values
    detail: str = ""  # how far off and where: shown for public cases only
    kind: str = ""  # the problem in words the student's code cannot choose and without sizes, for hidden cases

    @property
    def hidden_problem(self) -> str:
        """What a hidden case says of it: no size, shape or text that came from the student's code."""
        return self.kind or self.problem


def compare(got: Any, expected: Any, tolerance: Tolerance, labels: list[str] | None = None) -> Comparison:
    """Does `got` equal `expected` in one of the accepted forms, within tolerance?"""
    if isinstance(expected, tuple):
        return _compare_parts(got, expected, tolerance, labels or [])
    array, problem = as_array(got, np.shape(expected))
    if array is None:
        return Comparison(False, problem, kind=_NOT_NUMBERS if got is not None else "")
    return _compare_arrays(array, np.asarray(expected, dtype=np.float64), tolerance)


def _compare_parts(got: Any, expected: tuple, tolerance: Tolerance, labels: list[str]) -> Comparison:
    names = output_names(labels, len(expected))
    results = compare_each(got, expected, tolerance, names)
    if answer_count_problem(got, names):
        return results[0]
    failing = [(name, result) for name, result in zip(names, results) if not result.ok]
    if not failing:
        return Comparison(True)
    name, result = failing[0]
    return Comparison(False, f"{name}: {result.problem}", result.detail, result.kind and f"{name}: {result.kind}")


def output_names(labels: list[str], count: int) -> list[str]:
    """The outputs' names as the exercise gives them, else `value 1`, `value 2` …"""
    return labels if len(labels) == count else [f"value {n + 1}" for n in range(count)]


def compare_each(got: Any, expected: tuple, tolerance: Tolerance, labels: list[str]) -> list[Comparison]:
    """Each output of a several-output answer against its own expected value. An answer that is not a
    sequence of as many values fails every output with the same problem."""
    names = output_names(labels, len(expected))
    problem = answer_count_problem(got, names)
    if problem:
        kind = f"did not return its {len(names)} values ({', '.join(names)})"
        return [Comparison(False, problem, kind=kind)] * len(expected)
    return [compare(part, want, tolerance) for part, want in zip(got, expected)]


def answer_count_problem(got: Any, names: list[str]) -> str:
    """Why `got` is not a sequence of one value per name, or ""."""
    wanted = f"{len(names)} values ({', '.join(names)})"
    if not isinstance(got, list):
        return f"returned {_kind(got)}; expected {wanted}"
    if len(got) != len(names):
        count = f"{len(got)} value" + ("" if len(got) == 1 else "s")
        return f"returned {count}; expected {wanted}"
    return ""


def as_array(got: Any, shape: tuple[int, ...]) -> tuple[np.ndarray | None, str]:
    """The student's value as a float array in one of the accepted forms, or why it is not one."""
    if got is None:
        return None, "returned None (is a `return` statement missing?)"
    if isinstance(got, (Unsupported, TooBig, str, dict)):
        return None, f"returned {_kind(got)}, not an array of numbers"
    array = _from_sequence(got, shape) if isinstance(got, list) else got
    if array is None:
        return None, "returned a list whose items are not all numbers or arrays of one size"
    if array.dtype.kind not in "biuf":
        return None, f"returned an array of {array.dtype.name}, not numbers"
    return _fit(array.astype(np.float64), shape), ""


def _from_sequence(items: list[Any], shape: tuple[int, ...]) -> np.ndarray | None:
    """A list of arrays is a list of columns (the assignment's form); a nested list of numbers is rows."""
    if items and all(isinstance(item, np.ndarray) and item.ndim >= 1 for item in items):
        columns = _columns(items)
        if columns is not None and (columns.shape == shape or len(shape) != 2):
            return columns
    try:
        return np.array(_plain(items), dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _columns(items: list[np.ndarray]) -> np.ndarray | None:
    try:
        return np.column_stack([np.ravel(item) for item in items])
    except ValueError:
        return None


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, (np.ndarray, int, float)) and not isinstance(value, bool):
        return value
    raise TypeError("not numeric")


def _fit(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Accept a 1-D vector for a column, and any single number for a scalar; nothing else changes shape."""
    if array.shape == shape:
        return array
    single = int(np.prod(shape)) == 1 and array.size == 1
    column = len(shape) == 2 and shape[1] == 1 and array.shape == (shape[0],)
    return array.reshape(shape) if single or column else array


def _compare_arrays(got: np.ndarray, expected: np.ndarray, tolerance: Tolerance) -> Comparison:
    if got.shape != expected.shape:
        problem = f"returned shape {_shape(got.shape)}; expected {_shape(expected.shape)}"
        return Comparison(False, problem, kind="returned an array of the wrong shape")
    if not np.isfinite(got).all():
        return Comparison(False, "returned values that are NaN or infinite")
    if got.size == 0:
        return Comparison(True)
    errors = np.abs(got - expected)
    scale = float(np.abs(expected).max())  # ndarray methods: numpy's np.max wrapper costs more than the work here
    worst = float(errors.max())
    allowed = allowed_error(tolerance, scale)
    if worst <= allowed:
        return Comparison(True)
    if not np.any(got):
        return Comparison(False, "returned only zeros (is something never added to, or never returned?)")
    return Comparison(False, "returned the right shape but wrong values", _value_detail(errors, worst, scale, allowed))


def within_each(pairs: list[tuple[Any, Any]], tolerance: Tolerance) -> list[bool]:
    """For each (got, expected) pair, whether `compare(got, expected, tolerance).ok` holds, in one numpy operation
    for them all: the verdicts of many answers for about the cost of one. False also for a pair whose value is
    anything but a numeric array of its expected shape, or whose expected value is not one array: `compare` that
    pair, which accepts the other forms and says what is wrong."""
    right = [False] * len(pairs)
    gots, wants, judged = [], [], []
    for index, (got, want) in enumerate(pairs):
        if not isinstance(want, np.ndarray) or type(got) is not np.ndarray:
            continue
        if got.shape != want.shape or got.dtype.kind not in "biuf":
            continue
        if not want.size:  # an empty array of the right shape is right
            right[index] = True
            continue
        gots.append(got.ravel())
        wants.append(want.ravel())
        judged.append(index)
    if not judged:
        return right
    expected = np.concatenate(wants)
    sizes = [len(want) for want in wants]
    starts = np.cumsum([0, *sizes[:-1]])
    scales = np.maximum.reduceat(np.abs(expected), starts)  # each pair's largest expected magnitude
    allowed = np.repeat(tolerance.atol + tolerance.rtol * scales, sizes)  # allowed_error, per pair
    got = np.concatenate(gots).astype(np.float64, copy=False)
    with np.errstate(invalid="ignore", over="ignore"):  # infinity less infinity: not finite, so wrong anyway
        entries_right = np.isfinite(got) & (np.abs(got - expected) <= allowed)
    for index, ok in zip(judged, np.logical_and.reduceat(entries_right, starts).tolist()):
        right[index] = ok
    return right


@dataclass(frozen=True)
class Candidates:
    """Values one answer is matched against at once (`equal_to_each`), prepared once for every answer: those of one
    shape stacked into rows, with each row's largest magnitude; those of several parts, compared one by one."""

    count: int
    several: list[tuple[int, Any]]  # (position, value) of the candidates with several parts
    by_shape: list[tuple[tuple[int, ...], list[int], np.ndarray, np.ndarray]]  # shape, positions, rows, their scales


def prepared(candidates: list[Any]) -> Candidates:
    several: list[tuple[int, Any]] = []
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for index, candidate in enumerate(candidates):
        if isinstance(candidate, tuple):
            several.append((index, candidate))
        else:
            by_shape.setdefault(np.shape(candidate), []).append(index)
    stacks = []
    for shape, indices in by_shape.items():
        rows = np.stack([np.asarray(candidates[n], dtype=np.float64) for n in indices]).reshape(len(indices), -1)
        stacks.append((shape, indices, rows, np.abs(rows).max(axis=1, initial=0.0)))
    return Candidates(len(candidates), several, stacks)


def equal_to_each(got: Any, candidates: list[Any] | Candidates, tolerance: Tolerance) -> list[bool]:
    """For each candidate, `compare(got, candidate, tolerance).ok`, in bulk: the student's value is converted once
    per shape, and the candidates of one shape are compared with it in one numpy operation, with no words for
    the student (the known mistakes a wrong answer is matched against; `prepared` once for many answers)."""
    table = candidates if isinstance(candidates, Candidates) else prepared(candidates)
    equal = [False] * table.count
    for index, candidate in table.several:
        equal[index] = compare(got, candidate, tolerance).ok
    for shape, indices, rows, scales in table.by_shape:
        array, _ = as_array(got, shape)
        if array is None or array.shape != shape or not np.isfinite(array).all():
            continue
        if array.size == 0:
            for n in indices:
                equal[n] = True
            continue
        worst = np.abs(rows - array.reshape(1, -1)).max(axis=1)
        allowed = tolerance.atol + tolerance.rtol * scales  # allowed_error, per candidate
        for n, ok in zip(indices, worst <= allowed):
            equal[n] = bool(ok)
    return equal


def _value_detail(errors: np.ndarray, worst: float, scale: float, allowed: float) -> str:
    """How far off, where, and how many entries (beyond the error allowed): numbers derived from the expected answer."""
    parts = [f"largest error {worst:.3g}"]
    if errors.ndim:
        parts[0] += f" at index {tuple(int(i) for i in np.unravel_index(np.argmax(errors), errors.shape))}"
        wrong = int(np.count_nonzero(errors > allowed))
        parts.append(f"{wrong} of {errors.size} entries are off")
    if scale > 0:
        parts.insert(1, f"{worst / scale:.2g} times the largest expected magnitude")
    return "; ".join(parts)


def _shape(shape: tuple[int, ...]) -> str:
    return "scalar" if shape == () else str(tuple(shape))


def _kind(value: Any) -> str:
    if isinstance(value, Unsupported):
        return f"a {value.type_name}"
    if isinstance(value, TooBig):
        return f"an array of shape {tuple(value.shape)}, far larger than expected"
    if isinstance(value, np.ndarray):
        return f"one array of shape {_shape(value.shape)}"
    return {str: "text", dict: "a dict", list: "a list", type(None): "None"}.get(type(value), type(value).__name__)
