"""How a written gradient is judged across the conventions (steps counted from 1 or from 0, a product taken either
way): the verdict is the same whether each convention is evaluated whole or, entry by entry, stopped at a first
entry that is neither the gradient's nor a known slip's. The formula's values come from a table here, so that each
path (right late, a slip, a value that is neither, never a value) is reached on purpose; the unroller that gives
real values is exercised by the write-ups of test_writeup.py and test_blind_writeups.py."""

from __future__ import annotations

import numpy as np
import pytest

from grader.judge.written.checks import CONVENTIONS, Finding, _judge_gradient
from grader.judge.written.evaluate import NotEvaluable
from grader.judge.written.parsing import Row

ANSWER = np.array([[1.0, 2.0], [3.0, 4.0]])
SLIP = ANSWER * 2
ELSE = ANSWER + 10


class Tabled:
    """An evaluator whose formula has, under each convention, a matrix of values or a failure at one entry."""

    def __init__(self, table: dict[tuple[int, bool], np.ndarray | tuple[int, int, str]], mistakes=None) -> None:
        self.model = {"answer": ANSWER, "mistakes": mistakes or {"the-slip": SLIP}}
        self.table, self.shift, self.descending, self.memo = table, 0, True, {}
        self.asked: list[tuple[tuple[int, bool], int, int]] = []

    def value(self, formula: object, bound: dict[str, int]) -> np.ndarray:
        convention, (i, j) = (self.shift, self.descending), (bound["i"], bound["j"])
        self.asked.append((convention, i, j))
        found = self.table[convention]
        if isinstance(found, tuple):  # (row, column, why): fails there, and is unlike anything before
            if (i, j) == found[:2]:
                raise NotEvaluable(found[2])
            return np.asarray(ELSE[i - 1, j - 1])
        return np.asarray(found[i - 1, j - 1])


def judged(table, mistakes=None) -> tuple[Finding, Tabled]:
    unrolled = Tabled(table, mistakes)
    row = Row(line=3, source="∂L/∂(W)_{ij} = …", rel=None)  # type: ignore[arg-type]
    return _judge_gradient(unrolled, row, formula=None, entries=("i", "j")), unrolled  # type: ignore[arg-type]


def entries_asked(unrolled: Tabled, convention: tuple[int, bool]) -> int:
    return sum(asked[0] == convention for asked in unrolled.asked)


def test_right_under_a_later_convention_after_stopping_at_the_first_entry_of_the_others():
    finding, unrolled = judged({CONVENTIONS[0]: ELSE, CONVENTIONS[1]: ELSE, CONVENTIONS[2]: ANSWER,
                                CONVENTIONS[3]: ELSE})
    assert finding.outcome == "right"
    assert [entries_asked(unrolled, c) for c in CONVENTIONS] == [1, 1, 4, 0]


def test_a_known_slip_under_any_convention_is_named():
    finding, _ = judged({CONVENTIONS[0]: ELSE, CONVENTIONS[1]: SLIP, CONVENTIONS[2]: ELSE, CONVENTIONS[3]: ELSE})
    assert finding.outcome == "the-slip"


def test_a_value_that_is_neither_is_said_to_be_so_after_one_whole_evaluation():
    finding, unrolled = judged(dict.fromkeys(CONVENTIONS, ELSE))
    assert (finding.outcome, finding.reason) == ("unverified", "its value is not the gradient, nor a known slip's")
    assert [entries_asked(unrolled, c) for c in CONVENTIONS] == [1 + 4, 1, 1, 1]


@pytest.mark.parametrize("evaluable", [None, 1, 3])
def test_why_it_has_no_value_is_said_only_when_no_convention_gives_one(evaluable):
    """Stopped at an unlike first entry, a convention may still fail further on: the verdict is told apart by
    evaluating the stopped ones whole, in order, until one has a value."""
    table = {c: (2, 1, f"it uses q_{n}, which it does not define") for n, c in enumerate(CONVENTIONS)}
    if evaluable is not None:
        table[CONVENTIONS[evaluable]] = ELSE
    finding, _ = judged(table)
    if evaluable is None:
        assert (finding.outcome, finding.reason) == ("unverified", "it uses q_0, which it does not define")
    else:
        assert (finding.outcome, finding.reason) == ("unverified", "its value is not the gradient, nor a known slip's")


def test_a_failure_at_the_first_entry_is_a_failure_not_a_stop():
    table = {c: (1, 1, f"fails at once under {n}") for n, c in enumerate(CONVENTIONS)}
    finding, unrolled = judged(table)
    assert (finding.outcome, finding.reason) == ("unverified", "fails at once under 0")
    assert [entries_asked(unrolled, c) for c in CONVENTIONS] == [1, 1, 1, 1]


def test_a_first_entry_within_the_tolerance_is_not_stopped_at():
    """The stop uses `close`'s own tolerance: a value off by less than it is still right."""
    nearly = ANSWER * (1 + 5e-7)
    finding, unrolled = judged({CONVENTIONS[0]: ELSE, CONVENTIONS[1]: nearly, CONVENTIONS[2]: ELSE,
                                CONVENTIONS[3]: ELSE})
    assert finding.outcome == "right" and entries_asked(unrolled, CONVENTIONS[1]) == 4


def test_a_slip_of_another_shape_is_still_found():
    """A slip written as a vector of the same entries (`close` reads it in the matrix's shape)."""
    finding, _ = judged(dict.fromkeys(CONVENTIONS, SLIP), mistakes={"flat-slip": SLIP.ravel()})
    assert finding.outcome == "flat-slip"


def test_the_evaluator_is_left_as_it_was_found_on_every_path():
    for table in (dict.fromkeys(CONVENTIONS, ANSWER), dict.fromkeys(CONVENTIONS, ELSE),
                  {c: (2, 2, "no") for c in CONVENTIONS}):
        _, unrolled = judged(table)
        assert (unrolled.shift, unrolled.descending, unrolled.memo) == (0, True, {})
