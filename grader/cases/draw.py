"""Test cases: the named arrays each question is called with, drawn as the exercise declares them.

Public cases come from the exercise's public seed; hidden ones from the instructor's secret,
so a student who never sees the secret cannot know them. Nothing here knows a homework: sizes
are the exercise's dimensions, arrays its inputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from exercises.bank import resolve
from exercises.expressions import evaluate, is_expression, size
from exercises.models import (
    BernoulliInput,
    DerivedInput,
    Exercise,
    IntegersInput,
    NormalInput,
    NumericQuestion,
    OneHotInput,
    Size,
    UniformInput,
)

MAX_REDRAWS = 1000


class CaseError(Exception):
    """An exercise whose cases cannot be drawn (constraints that hidden ranges never satisfy)."""


class InputError(CaseError):
    """One input could not be drawn or built; `field` names it in the exercise file."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field


@dataclass(frozen=True)
class Case:
    """One drawn case: named arrays, the dimensions they were drawn in, and whether students may see it."""

    label: str
    sizes: dict[str, int]
    arrays: dict[str, np.ndarray]
    hidden: bool
    written: tuple[str, ...] = ()  # sizes the exercise writes as expressions ("4*H"), named as written

    def describe(self) -> str:
        sizes = ", ".join(f"{name}={value}" for name, value in self.sizes.items())
        spelled = "; ".join(f"{text}={evaluate(text, self.sizes)}" for text in self.written)
        return f"{self.label} ({sizes}{'; ' + spelled if spelled else ''})"


def written_sizes(exercise: Exercise) -> tuple[str, ...]:
    """The expressions the exercise's input shapes use ("4*H"), each once, as written."""
    entries = [entry for spec in exercise.inputs.values() for entry in getattr(spec, "shape", [])]
    return tuple(dict.fromkeys(str(entry).replace(" ", "") for entry in entries if is_expression(entry)))


def draw_arrays(exercise: Exercise, sizes: dict[str, int], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every input of the exercise, in declared order (a derived input reads earlier ones)."""
    arrays: dict[str, np.ndarray] = {}
    for name, spec in exercise.inputs.items():
        field = f"inputs.{name}" + (".derived" if isinstance(spec, DerivedInput) else "")
        try:
            if isinstance(spec, DerivedInput):
                arrays[name] = np.array(resolve(exercise, spec.derived)(*(arrays[arg].copy() for arg in spec.args)))
            else:
                arrays[name] = _draw(spec, sizes, rng)
        except Exception as exc:  # noqa: BLE001 - an instructor's callable or distribution may fail in any way
            raise InputError(field, f"{type(exc).__name__}: {exc} (sizes {sizes})") from None
    return arrays


def _draw(spec, sizes: dict[str, int], rng: np.random.Generator) -> np.ndarray:
    shape = tuple(size(entry, sizes) for entry in spec.shape)
    value = lambda field: evaluate(getattr(spec, field), sizes)  # noqa: E731
    if isinstance(spec, NormalInput):
        array = np.asarray(rng.normal(value("mean"), value("scale"), size=shape))
    elif isinstance(spec, UniformInput):
        array = np.asarray(rng.uniform(value("low"), value("high"), size=shape))
    elif isinstance(spec, IntegersInput):
        array = _integers(rng, int(value("low")), int(value("high")), shape, spec.repeat)
    elif isinstance(spec, OneHotInput):
        array = _one_hot(rng, shape)
    else:
        array = _bernoulli(rng, spec, shape)
    return array.astype(spec.dtype or _default_dtype(spec))


def _default_dtype(spec) -> str:
    if isinstance(spec, IntegersInput):
        return "int64"
    return "bool" if isinstance(spec, BernoulliInput) else "float64"


def _integers(rng: np.random.Generator, low: int, high: int, shape: tuple[int, ...], repeat: bool) -> np.ndarray:
    """Whole numbers; with `repeat`, a later entry equals the first (a word that occurs twice)."""
    array = np.asarray(rng.integers(low, high, size=shape))
    if repeat and array.size >= 2:
        flat = array.reshape(-1)
        flat[rng.integers(1, array.size)] = flat[0]
    return array


def _one_hot(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    if not shape:
        return np.ones(())
    hot = rng.integers(0, shape[-1], size=shape[:-1])
    return (np.arange(shape[-1]) == hot[..., None]).astype(np.float64)


def _bernoulli(rng: np.random.Generator, spec: BernoulliInput, shape: tuple[int, ...]) -> np.ndarray:
    """True with probability p, with at least one True and one False when there is room for both."""
    array = np.asarray(rng.random(size=shape) < spec.p)
    if array.size >= 2 and (array.all() or not array.any()):
        flat = array.reshape(-1)
        flat[0], flat[-1] = True, False
    return array


def public_cases(exercise: Exercise) -> list[Case]:
    written = written_sizes(exercise)
    return [
        Case(f"public case {n}", sizes, draw_arrays(exercise, sizes, _rng(exercise.public.seed, n)), False, written)
        for n, sizes in enumerate(exercise.public.cases, start=1)
    ]


def hidden_cases(exercise: Exercise, secret: str | None) -> list[Case]:
    seed = _secret_seed(secret or exercise.hidden.default_secret, exercise.id)
    cases = []
    for n in range(1, exercise.hidden.count + 1):
        rng = _rng(seed, n)
        sizes = draw_sizes(exercise, rng)
        cases.append(Case(f"hidden case {n}", sizes, draw_arrays(exercise, sizes, rng), True, written_sizes(exercise)))
    return cases


def build_cases(exercise: Exercise, *, secret: str | None = None, include_hidden: bool = True) -> list[Case]:
    """Public cases, then (for `grade`) hidden ones."""
    cases = public_cases(exercise)
    return cases + hidden_cases(exercise, secret) if include_hidden else cases


def numeric_case(exercise: Exercise, question: NumericQuestion) -> Case:
    """The single fixed case of a numeric question, rounded so that it can be worked by hand."""
    arrays = draw_arrays(exercise, question.case, _rng(question.seed, 0))
    if question.decimals is not None:
        arrays = {name: np.round(a, question.decimals) if a.dtype.kind == "f" else a for name, a in arrays.items()}
    return Case("the handout's case", dict(question.case), arrays, False)


def describe_numeric_case(exercise: Exercise, question: NumericQuestion) -> str:
    """The inputs of a numeric question's case, printed for students to work from."""
    case = numeric_case(exercise, question)
    lines = []
    for name in question.args:
        text = np.array2string(case.arrays[name], precision=question.decimals or 8, floatmode="fixed")
        lines.append(f"  {name} =\n    " + text.replace("\n", "\n    "))
    return "\n".join(lines)


def draw_sizes(
    exercise: Exercise,
    rng: np.random.Generator,
    ranges: Mapping[str, tuple[Size, Size]] | None = None,
    fixed: dict[str, int] | None = None,
) -> dict[str, int]:
    """Dimensions drawn from `ranges` (the hidden ones by default) in declared order, the others taken from
    `fixed`, redrawn until the constraints hold."""
    ranges = ranges if ranges is not None else {name: dim.range for name, dim in exercise.dimensions.items()}
    fixed = fixed if fixed is not None else {}  # needed only for dimensions `ranges` leaves out
    for _ in range(MAX_REDRAWS):
        sizes: dict[str, int] = {}
        for name in exercise.dimensions:  # in declared order: a bound may read the sizes drawn before it
            if name in ranges:
                low, high = (size(bound, sizes) for bound in ranges[name])
                sizes[name] = int(rng.integers(low, high + 1))
            else:
                sizes[name] = fixed[name]
        if all(evaluate(constraint, sizes) for constraint in exercise.constraints):
            return sizes
    raise CaseError(f"{exercise.id}: no sizes within {ranges} satisfy {exercise.constraints} after {MAX_REDRAWS} draws")


def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def _secret_seed(secret: str, exercise_id: str) -> int:
    digest = hashlib.sha256(f"{exercise_id}\0{secret}".encode()).digest()
    return int.from_bytes(digest[:8], "little")
