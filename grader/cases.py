"""Test cases: the arrays each function is called with, generated from sizes and a seed.

Public cases come from the exercise's public seed; hidden ones from the instructor's secret,
so a student who never sees the secret cannot know them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from exercises.models import Exercise, NumericQuestion, Sizes


@dataclass(frozen=True)
class Case:
    """One generated case: named arrays, their sizes, and whether students may see it."""

    label: str
    sizes: Sizes
    arrays: dict[str, np.ndarray]
    hidden: bool

    def describe(self) -> str:
        s = self.sizes
        return f"{self.label} (T={s.T}, V={s.V}, D={s.D}, H={s.H})"


def make_arrays(sizes: Sizes, rng: np.random.Generator, biases: bool = False) -> dict[str, np.ndarray]:
    """Inputs that expose mistakes: non-zero h0, a repeated word, non-symmetric weights, unsaturated tanh."""
    T, V, D, H = sizes.T, sizes.V, sizes.D, sizes.H
    tokens = rng.integers(0, V, size=T)
    if T >= 2:
        tokens[rng.integers(1, T)] = tokens[0]
    arrays = {
        "tokens": tokens.astype(np.int64),
        "targets": rng.integers(0, V, size=T).astype(np.int64),
        "E": rng.normal(0.0, 1.0, size=(D, V)),
        "W_x": rng.normal(0.0, 1.0 / np.sqrt(D), size=(H, D)),
        "W_H": rng.normal(0.0, 0.9 / np.sqrt(H), size=(H, H)),
        "W_y": rng.normal(0.0, 1.5 / np.sqrt(H), size=(V, H)),
        "h0": rng.normal(0.0, 0.5, size=(H, 1)),
        "h_prev": rng.normal(0.0, 0.5, size=(H, 1)),
    }
    arrays["x_t"] = arrays["E"][:, [int(tokens[0])]].copy()
    if biases:
        arrays["b_h"] = rng.normal(0.0, 0.3, size=(H, 1))
        arrays["b_y"] = rng.normal(0.0, 0.3, size=(V, 1))
    return arrays


def public_cases(exercise: Exercise) -> list[Case]:
    return [
        Case(f"public case {n}", sizes, make_arrays(sizes, _rng(exercise.public.seed, n), exercise.biases), False)
        for n, sizes in enumerate(exercise.public.sizes, start=1)
    ]


def hidden_cases(exercise: Exercise, secret: str | None) -> list[Case]:
    seed = _secret_seed(secret or exercise.hidden.default_secret, exercise.id)
    cases = []
    for n in range(1, exercise.hidden.count + 1):
        rng = _rng(seed, n)
        sizes = _draw_sizes(exercise, rng)
        cases.append(Case(f"hidden case {n}", sizes, make_arrays(sizes, rng, exercise.biases), True))
    return cases


def build_cases(exercise: Exercise, *, secret: str | None = None, include_hidden: bool = True) -> list[Case]:
    """Public cases, then (for `grade`) hidden ones."""
    cases = public_cases(exercise)
    return cases + hidden_cases(exercise, secret) if include_hidden else cases


def numeric_case(sizes: Sizes, seed: int, biases: bool) -> Case:
    """The single fixed case of a numeric question, with two decimals so it can be worked by hand."""
    arrays = {name: np.round(a, 2) if a.dtype.kind == "f" else a
              for name, a in make_arrays(sizes, _rng(seed, 0), biases).items()}
    return Case("the handout's case", sizes, arrays, False)


def describe_numeric_case(question: NumericQuestion, biases: bool) -> str:
    """The inputs of a numeric question's case, printed for students to work from."""
    case = numeric_case(question.case, question.seed, biases)
    lines = []
    for name in question.args:
        text = np.array2string(case.arrays[name], precision=2, floatmode="fixed")
        lines.append(f"  {name} =\n    " + text.replace("\n", "\n    "))
    return "\n".join(lines)


def _draw_sizes(exercise: Exercise, rng: np.random.Generator) -> Sizes:
    ranges = exercise.hidden.ranges
    draw = lambda bounds: int(rng.integers(bounds[0], bounds[1] + 1))  # noqa: E731
    return Sizes(T=draw(ranges.T), V=draw(ranges.V), D=draw(ranges.D), H=draw(ranges.H))


def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def _secret_seed(secret: str, exercise_id: str) -> int:
    digest = hashlib.sha256(f"{exercise_id}\0{secret}".encode()).digest()
    return int.from_bytes(digest[:8], "little")
