"""Accepted forms and named mistakes, one comparison at a time."""

from __future__ import annotations

import numpy as np
import pytest

from exercises.models import Tolerance
from grader.judge.compare import compare
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
