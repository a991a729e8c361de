"""Credit per output, graded in the real sandbox on a backward returning six gradients (per_output/six.yaml):
each output earns its share on the cases where it is right, and feedback names every output as right or wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from exercises.bank import ExerciseError
from grader.judge.exercise_check import load_checked_exercise
from grader.pipeline import GradingOptions, grade
from grader.report import gradescope
from grader.results import GradingResults, QuestionResult, SubmissionResult, total
from grader.run.protocol import Limits

SIX = Path(__file__).parent / "per_output"
OPTIONS = GradingOptions(limits=Limits(timeout=5.0), jobs=2, secret="per-output-tests")
OUTPUTS = ["dx", "dh", "dWx", "dWh", "db", "ds"]

FORWARD = """
import numpy as np

def scaled_forward(x, h, Wx, Wh, b, s):
    a = x @ Wx + h @ Wh + b
    t = np.tanh(a)
    return s * t, (x, h, Wx, Wh, s, t, a)
"""
BACKWARD = """
def scaled_backward(dout, cache):
    x, h, Wx, Wh, s, t, a = cache
    da = dout * s * (1 - t**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h.T @ da, {db}, (dout * {scaled}).sum(axis=0)
"""


def submission(folder: Path, name: str, db: str = "da.sum(axis=0)", scaled: str = "t") -> Path:
    path = folder / f"{name}.py"
    path.write_text(FORWARD + BACKWARD.format(db=db, scaled=scaled))
    return path


def backward_of(path: Path, exercise: Path = SIX / "six.yaml") -> QuestionResult:
    results = grade([path], load_checked_exercise(str(exercise)), OPTIONS)
    return next(q for q in results.submissions[0].questions if q.id == "scaled_backward")


def weighted_exercise(folder: Path, weights: dict) -> Path:
    """six.yaml with `weights` on its backward, beside a copy of its reference."""
    data = yaml.safe_load((SIX / "six.yaml").read_text())
    data["questions"][1]["weights"] = weights
    shutil.copy(SIX / "six_reference.py", folder)
    path = folder / "six-weighted.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_reference_earns_full_marks_and_every_mistake_is_named():
    from grader.authoring.validate import render_validation, validate

    validation = validate(load_checked_exercise(str(SIX / "six.yaml")))
    assert validation.ok, render_validation(validation)


def test_one_wrong_output_of_six_keeps_the_points_of_the_five(tmp_path):
    question = backward_of(submission(tmp_path, "ds_wrong", scaled="a"))
    assert question.status == "failed"
    assert question.score == pytest.approx(5.0)  # 6 points in equal shares: five outputs of six right
    assert question.diagnosis == "scale-times-preactivation"  # a listed mistake naming the output it affects
    assert "Right on every case: dx, dh, dWx, dWh, db." in question.feedback
    assert "Wrong: ds on 6 of 6 cases (scale-times-preactivation)." in question.feedback
    assert "what s scales in the forward" in question.feedback  # its hint
    assert [(o.name, o.status, o.score) for o in question.outputs] == [
        *((name, "passed", pytest.approx(1.0)) for name in OUTPUTS[:5]),
        ("ds", "failed", 0.0),
    ]


def test_each_wrong_output_has_its_own_diagnosis(tmp_path):
    question = backward_of(submission(tmp_path, "two_wrong", db="da.sum(axis=0) + 0.1", scaled="2 * t"))
    assert question.score == pytest.approx(4.0)
    assert "Right on every case: dx, dh, dWx, dWh." in question.feedback
    assert "Wrong: db on 6 of 6 cases; ds on 6 of 6 cases (scaled-by-constant)." in question.feedback
    assert {o.name: o.diagnosis for o in question.outputs if o.status == "failed"} == {
        "db": None,  # wrong in a way no known mistake explains: counted as such in the class summary
        "ds": "scaled-by-constant",
    }


def test_a_mistake_in_every_output_names_them_all(tmp_path):
    path = tmp_path / "no_derivative.py"
    path.write_text(FORWARD + BACKWARD.format(db="da.sum(axis=0)", scaled="t").replace(" * (1 - t**2)", ""))
    question = backward_of(path)
    assert question.diagnosis == "missing-tanh-derivative"
    assert question.score == pytest.approx(1.0)  # only ds, which does not go through tanh's derivative, is right
    assert "Right on every case: ds." in question.feedback


def test_declared_weights_set_each_outputs_share(tmp_path):
    exercise = weighted_exercise(tmp_path, {"dx": 1, "dh": 1, "dWx": 1, "dWh": 1, "db": 1, "ds": 5})
    question = backward_of(submission(tmp_path, "ds_wrong", scaled="a"), exercise)
    assert question.max_score == 6
    assert question.score == pytest.approx(3.0)  # ds carries half the weight
    assert [o.max_score for o in question.outputs] == pytest.approx([0.6] * 5 + [3.0])


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"dx": 1, "dh": 1, "dWx": 1, "dWh": 1, "db": 1}, "missing ['ds']"),  # every output is named
        ({"dx": 1, "dh": 1, "dWx": 1, "dWh": 1, "db": 1, "ds": 1, "dz": 1}, "unknown ['dz']"),  # only those
        ({"dx": 1, "dh": 1, "dWx": 1, "dWh": 1, "db": 1, "ds": 0}, "a weight must be above 0"),
    ],
)
def test_weights_are_validated(tmp_path, weights, message):
    with pytest.raises(ExerciseError) as error:
        load_checked_exercise(str(weighted_exercise(tmp_path, weights)))
    assert "questions.1.weights" in str(error.value) and message in str(error.value)  # the field, then why


def test_totals_are_summed_from_exact_shares_and_rounded_once():
    thirds = [QuestionResult(id=f"q{n}", score=2 / 3, max_score=1.0, status="failed") for n in range(24)]
    score, max_score = total(thirds)
    assert (score, max_score) == (16.0, 24.0)  # rounded per question first, 24 x 0.6667 made 16.0008
    sub = SubmissionResult(path="a.py", student="a", score=score, max_score=max_score, status="graded",
                           questions=thirds)
    document = json.loads(gradescope.render(GradingResults(exercise="six-outputs", submissions=[sub])))
    assert document["score"] == 16.0
    assert document["output"].startswith("Exercise six-outputs: 16/24 points.")
    assert {test["score"] for test in document["tests"]} == {0.6667}  # each shown rounded once
