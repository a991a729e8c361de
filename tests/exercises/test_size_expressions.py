"""Sizes written as expressions ("4*H"): an LSTM step whose gates are one 4H-wide block (lstm_step/).

What is proved: such an exercise loads, validates and grades; its arrays have the sizes the expressions give;
a range bound may read an earlier dimension; and students see the sizes as written (`4*H`, never a number
standing for it) in their handout and in feedback.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from exercises.bank import load_exercise_file
from exercises.expressions import ExpressionError, size, written
from grader.cases.draw import build_cases
from grader.cli import main

LSTM = Path(__file__).parent / "lstm_step"
EXERCISE = LSTM / "lstm.yaml"


@pytest.mark.parametrize(
    ("entry", "sizes", "value"),
    [
        (3, {}, 3),  # a number is itself
        ("H", {"H": 5}, 5),  # a name is its dimension
        ("4*H", {"H": 5}, 20),  # an expression is its value
        ("2 * H + D", {"H": 2, "D": 3}, 7),
    ],
)
def test_a_size_is_a_number_a_name_or_an_expression(entry, sizes, value):
    assert size(entry, sizes) == value


@pytest.mark.parametrize("entry", ["H / 2", "H - 9", "H > 1"])  # not whole, negative, a condition
def test_a_size_must_be_a_whole_number(entry):
    with pytest.raises(ExpressionError, match="whole number"):
        size(entry, {"H": 3})


def test_shapes_are_written_as_the_exercise_writes_them():
    assert written(["N", "4 * H"]) == "(N, 4*H)" and written(["4*H"]) == "(4*H,)"


def test_every_case_draws_the_sizes_the_expressions_give_and_ranges_read_earlier_dimensions():
    exercise = load_exercise_file(EXERCISE.resolve())
    for case in build_cases(exercise, secret="s", include_hidden=True):
        N, H, D = case.sizes["N"], case.sizes["H"], case.sizes["D"]
        assert case.arrays["Wx"].shape == (D, 4 * H) and case.arrays["b"].shape == (4 * H,)
        assert D <= 2 * H + 1  # D's range is [1, "2*H + 1"]


def test_feedback_names_the_size_as_written():
    exercise = load_exercise_file(EXERCISE.resolve())
    case = build_cases(exercise, include_hidden=False)[0]
    assert case.describe() == "public case 1 (N=4, H=3, D=5; 4*H=12)"


def test_it_validates():
    result = CliRunner().invoke(main, ["validate", str(EXERCISE)])
    assert result.exit_code == 0, result.output
    assert "dprev-c-without-forget-gate" in result.output and result.output.rstrip().endswith("ok")


def test_the_handout_shows_4H_as_written(tmp_path):
    result = CliRunner().invoke(main, ["template", str(EXERCISE), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    handout = (tmp_path / "lstm-step.py").read_text()
    assert "Wx: (D, 4*H)" in handout and "b: (4*H,)" in handout and "12" not in handout
    notebook = json.loads((tmp_path / "lstm-step.ipynb").read_text())
    assert any("Wh: (H, 4*H)" in "".join(cell["source"]) for cell in notebook["cells"])


def test_it_grades_and_feedback_shows_4H(tmp_path):
    out = tmp_path / "results.json"
    result = CliRunner().invoke(
        main,
        ["grade", str(LSTM / "submissions"), "--exercise", str(EXERCISE), "--format", "json", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    by_name = {s["student"]: s for s in json.loads(out.read_text())["submissions"]}
    assert np.isclose(by_name["right"]["score"], 9)
    backward = next(q for q in by_name["db_keepdims"]["questions"] if q["id"] == "lstm_step_backward")
    assert "4*H=12" in backward["feedback"] and "(1, 12)" in backward["feedback"]


def test_the_students_kit_shows_4H_as_written(tmp_path):
    kit = tmp_path / "kit"
    export = CliRunner().invoke(main, ["export", "student", str(EXERCISE), "-o", str(kit)])
    assert export.exit_code == 0, export.output
    check = CliRunner().invoke(main, ["check", str(LSTM / "submissions" / "db_keepdims.py"), "--kit", str(kit)])
    assert "4*H=12" in check.output, check.output
