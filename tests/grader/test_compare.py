"""Accepted forms and named mistakes, one comparison at a time."""

from __future__ import annotations

import numpy as np
import pytest

from exercises.models import Tolerance
from grader.judge.compare import compare, within_each
from grader.run.protocol import TooBig, Unsupported

TOL = Tolerance(rtol=1e-4, atol=1e-8)
RNG = np.random.default_rng(3)
COLUMN = RNG.normal(size=(4, 1))
MATRIX = RNG.normal(size=(4, 3))
SQUARE = RNG.normal(size=(3, 3))


@pytest.mark.parametrize(
    "got, expected",
    [
        (COLUMN, COLUMN),  # the exact form
        (COLUMN.ravel(), COLUMN),  # a 1-D vector for a column
        (COLUMN.astype(np.float32), COLUMN),  # float32 within tolerance
        ([c for c in MATRIX.T], MATRIX),  # a list of 1-D columns
        ([c.reshape(-1, 1) for c in MATRIX.T], MATRIX),  # a list of column vectors
        ([list(map(np.asarray, row)) for row in MATRIX], MATRIX),  # nested Python lists, row by row
        (np.asarray(2.5), np.asarray(2.5)),  # a 0-d array for a scalar
        (np.asarray([2.5]), np.asarray(2.5)),  # a one-element array for a scalar
        (np.asarray([[2.5]]), np.asarray(2.5)),  # even 1×1
        ([MATRIX, [c for c in COLUMN.T]], (MATRIX, COLUMN.T)),  # a pair, second part as a list
        ([c for c in SQUARE.T], SQUARE),  # square: a list of 1-D arrays is still a list of columns
        ([c.reshape(-1, 1) for c in SQUARE.T], SQUARE),  # and so is a list of column vectors
        ([[float(v) for v in row] for row in SQUARE], SQUARE),  # while nested lists of numbers are rows
    ],
)
def test_equivalent_forms_are_accepted(got, expected):
    assert compare(got, expected, TOL).ok


@pytest.mark.parametrize(
    "got, expected, words",
    [
        (MATRIX.T, MATRIX, "returned shape (3, 4); expected (4, 3)"),  # transposed is not equivalent
        (COLUMN.T, COLUMN, "returned shape (1, 4)"),  # a row for a column is transposed too
        (MATRIX * 1.01, MATRIX, "wrong values"),  # 1% off is not rounding
        (np.zeros_like(MATRIX), MATRIX, "only zeros"),
        (MATRIX * np.nan, MATRIX, "NaN"),
        (None, MATRIX, "None"),
        (Unsupported("Tensor"), MATRIX, "Tensor"),
        (TooBig((10**9,)), MATRIX, "far larger"),
        ("7x1", COLUMN, "text"),
        (MATRIX, (MATRIX, COLUMN), "expected 2 values"),  # one array where a pair is due
        ([MATRIX], (MATRIX, COLUMN), "returned 1 value;"),
        ([1, "a"], MATRIX, "not all numbers"),
    ],
)
def test_wrong_answers_are_refused_with_a_reason(got, expected, words):
    outcome = compare(got, expected, TOL)
    assert not outcome.ok and words in outcome.problem


def test_messages_never_contain_expected_values():
    outcome = compare(MATRIX + 1.0, MATRIX, TOL)
    # The problem says only that values are wrong; the detail (public cases only) gives the error,
    # where it is and how many entries are off, but no entry of the answer.
    assert outcome.problem == "returned the right shape but wrong values"
    for value in MATRIX.ravel():
        assert f"{value:.3g}" not in outcome.problem + outcome.detail


def _variants(expected: np.ndarray, rng: np.random.Generator) -> list:
    """Answers near and far from `expected`: exact, within and just past the tolerance, float32, integers, NaN,
    infinity, zeros, another shape, a list of columns, None."""
    allowed = TOL.atol + TOL.rtol * float(np.abs(expected).max(initial=0.0))
    nudged = expected.copy()
    if nudged.size:
        nudged.flat[rng.integers(nudged.size)] += allowed * rng.choice([0.5, 0.999, 1.001, 2.0])
    poisoned = expected.copy()
    if poisoned.size:
        poisoned.flat[0] = rng.choice([np.nan, np.inf, -np.inf])
    columns = [c for c in expected.T] if expected.ndim == 2 else expected
    return [
        expected.copy(),
        nudged,
        expected.astype(np.float32),
        np.rint(expected).astype(int),
        poisoned,
        np.zeros_like(expected),
        expected.reshape(-1),
        columns,
        None,
        expected.astype(np.float16),
        expected > 0,
        np.abs(np.rint(expected)).astype(np.uint8),
    ]


@pytest.mark.parametrize("seed", range(200))
def test_a_judgement_in_bulk_is_the_judgement_one_by_one(seed):
    """`within_each` says of each pair what comparing it on its own says, except that it may say False for a form it
    leaves to `compare` (a list of columns): then the caller compares that pair on its own."""
    rng = np.random.default_rng(seed)
    shapes = [(4, 1), (3, 5), (), (0, 3), (1,), (6, 6)]
    pairs = []
    for _ in range(rng.integers(1, 6)):
        expected = rng.normal(scale=10.0 ** rng.integers(-3, 4), size=shapes[rng.integers(len(shapes))])
        if rng.random() < 0.1 and expected.size:  # an expected value that is not finite
            expected.flat[0] = rng.choice([np.nan, np.inf, -np.inf])
        with np.errstate(invalid="ignore", over="ignore"):  # the variants cast NaN and infinity to integers
            variant = _variants(expected, rng)[rng.choice([0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])]
        pairs.append((variant, expected))
    one_by_one = [compare(got, expected, TOL).ok for got, expected in pairs]
    in_bulk = within_each(pairs, TOL)
    assert len(in_bulk) == len(pairs)
    for (got, want), bulk, alone in zip(pairs, in_bulk, one_by_one):
        if bulk:
            assert alone
        elif isinstance(got, np.ndarray) and got.shape == want.shape:
            assert not alone  # an array of the right shape: the bulk verdict is the verdict


@pytest.mark.parametrize("where", [0, 5])
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_a_non_finite_answer_is_wrong_in_bulk_as_one_by_one_whatever_is_expected(where, value):
    """A value that is not finite is wrong, even against an expected value that is not finite either."""
    expected = np.arange(12.0).reshape(4, 3)
    expected.flat[5] = np.inf
    got = expected.copy()
    got.flat[5] = 0.0
    got.flat[where] = value
    assert not compare(got, expected, TOL).ok
    assert within_each([(got, expected)], TOL) == [False]


def test_many_right_answers_are_right_in_bulk_and_one_wrong_entry_is_not():
    rng = np.random.default_rng(0)
    expected = [rng.normal(size=(5, 3)) for _ in range(12)]
    pairs = [(want.astype(np.float32), want) for want in expected]
    assert within_each(pairs, TOL) == [True] * 12
    allowed = TOL.atol + TOL.rtol * float(np.abs(expected[7]).max())
    pairs[7] = (expected[7].copy(), expected[7])
    pairs[7][0][2, 1] += 0.999 * allowed  # within the tolerance of that case's own scale
    assert within_each(pairs, TOL) == [True] * 12 and compare(*pairs[7], TOL).ok
    pairs[7][0][2, 1] += 0.002 * allowed  # just past it
    assert within_each(pairs, TOL) == [True] * 7 + [False] + [True] * 4 and not compare(*pairs[7], TOL).ok
