"""Numeric questions end to end: a number or matrix from an answers file or a code variable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exercises.bank import load_exercise
from exercises.models import NumericQuestion
from grader.cases.draw import numeric_case
from grader.pipeline import GradingOptions, grade
from grader.run.protocol import Limits
from reference import solution

EXERCISE = load_exercise("rnn-by-hand")
OPTIONS = GradingOptions(limits=Limits(timeout=2.0))


def reference_values() -> dict[str, np.ndarray]:
    """What a careful student computes by hand, from the printed case (independent of the grader's cache)."""
    question = next(q for q in EXERCISE.questions if isinstance(q, NumericQuestion))
    args = [numeric_case(EXERCISE, question).arrays[name] for name in question.args]
    return {"loss_value": np.asarray(solution.rnn_loss(*args)), "dW_y_value": solution.grad_W_y(*args)}


def grade_one(path: Path):
    [result] = grade([path], EXERCISE, OPTIONS).submissions
    return {q.id: q for q in result.questions}


def test_rounded_hand_answers_in_an_answers_file_pass(tmp_path):
    values = reference_values()
    answers = {"shapes": {"W_H": "2x2", "W_y": "3 x 2", "y_t": "3x1"},
               "loss_value": f"{float(values['loss_value']):.4g}",  # a numeric string, 4 significant digits
               "dW_y_value": np.round(values["dW_y_value"], 4).tolist()}
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(answers))
    questions = grade_one(path)
    assert all(q.status == "passed" for q in questions.values()), {k: q.feedback for k, q in questions.items()}


def test_code_variables_answer_too_and_wrong_values_fail(tmp_path):
    values = reference_values()
    path = tmp_path / "hand.py"
    path.write_text(f"import numpy as np\nloss_value = {float(values['loss_value']) * 1.1!r}\n"
                    f"dW_y_value = np.array({values['dW_y_value'].T.tolist()!r})\n")
    questions = grade_one(path)
    # 10% off is not rounding; the transposed matrix is a shape mistake, named as such.
    assert questions["loss_value"].status == "failed" and "in your code" in questions["loss_value"].feedback
    assert questions["dW_y_value"].status == "failed" and "shape" in questions["dW_y_value"].feedback
    assert questions["shapes.W_H"].status == "missing"


@pytest.mark.parametrize("raw", ["two point three", "[1, 2"])
def test_unreadable_numbers_fail_with_a_message(tmp_path, raw):
    path = tmp_path / "hand.yaml"
    path.write_text(f"loss_value: {raw!r}\n")
    question = grade_one(path)["loss_value"]
    assert question.status == "failed" and question.feedback


def test_code_may_read_data_files_beside_it(tmp_path):
    """A folder submission whose code opens its own data file: every file is in the sandbox with it."""
    values = reference_values()
    folder = tmp_path / "ann"
    folder.mkdir()
    (folder / "loss.txt").write_text(f"{float(values['loss_value'])!r}\n")
    (folder / "hand.py").write_text("from pathlib import Path\n"
                                    "loss_value = float(Path(__file__).with_name('loss.txt').read_text())\n"
                                    "dW_y_value = float(open('missing.txt').read())\n")
    questions = grade_one(tmp_path)  # a class of one folder
    assert questions["loss_value"].status == "passed", questions["loss_value"].feedback
    assert "missing.txt" in questions["dW_y_value"].feedback and "rnn-grader" not in questions["dW_y_value"].feedback


def test_entries_off_are_counted_with_the_questions_own_tolerance(tmp_path):
    """dW_y_value allows rtol 5e-3: entries rounded within it are not "off", only the one truly wrong is."""
    want = reference_values()["dW_y_value"]
    scale = float(np.abs(want).max())
    given = want + 1e-3 * scale  # every entry off by 1e-3 of the scale: within 5e-3, beyond the default 1e-4
    given[0, 0] += scale  # and one entry plainly wrong
    path = tmp_path / "hand.json"
    path.write_text(json.dumps({"dW_y_value": given.tolist()}))
    question = grade_one(path)["dW_y_value"]
    assert question.status == "failed" and f"1 of {want.size} entries are off" in question.feedback, question.feedback
