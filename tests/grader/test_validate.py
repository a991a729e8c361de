"""`rnn-grader validate`: an exercise that tests itself fails where its reference or catalogue is wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from grader.cli import main

GRU = Path(__file__).parents[1] / "exercises" / "gru_step"

# Appended to a copy of the GRU reference: a catalogue whose "mistake" is the reference itself, and a
# backward that is not the derivative of the forward (b's gradient doubled).
BROKEN = '''

IMPOSSIBLE = [Mistake("not-a-mistake", "Same as the reference.", gru_step_backward)]


def doubled_db_backward(dnext_h, cache):
    dx, dprev_h, dWx, dWh, db = gru_step_backward(dnext_h, cache)
    return dx, dprev_h, dWx, dWh, 2 * db
'''


def _copy(tmp_path: Path, change) -> Path:
    shutil.copy(GRU / "gru_reference.py", tmp_path / "gru_reference.py")
    with open(tmp_path / "gru_reference.py", "a") as handle:
        handle.write(BROKEN)
    data = yaml.safe_load((GRU / "gru.yaml").read_text())
    change({q["id"]: q for q in data["questions"]})
    (tmp_path / "gru.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp_path / "gru.yaml"


def test_a_sound_exercise_validates_with_exit_0_and_a_row_per_mistake():
    result = CliRunner().invoke(main, ["validate", str(GRU / "gru.yaml")])
    assert result.exit_code == 0, result.output
    assert "the reference earns full marks" in result.output
    assert "missing-sigmoid-derivative" in result.output and result.output.rstrip().endswith("ok")


def test_a_mistake_no_case_can_tell_from_the_reference_fails(tmp_path):
    path = _copy(tmp_path, lambda q: q["gru_step_backward"].update(mistakes="gru_reference.py:IMPOSSIBLE"))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert "not-a-mistake" in result.output and "no case tells it from the reference" in result.output


def test_a_reference_backward_that_is_not_the_forwards_derivative_fails(tmp_path):
    path = _copy(tmp_path, lambda q: q["gru_step_backward"].update(reference="gru_reference.py:doubled_db_backward",
                                                                   mistakes=None))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert "does NOT earn full marks" in result.output and "gru_step_backward" in result.output


def test_a_broken_exercise_stops_grade_before_any_student_with_one_line_and_exit_2(tmp_path):
    data = yaml.safe_load((GRU / "gru.yaml").read_text())
    data["questions"][-1]["reference"] = "gru_reference.py:gru_step_backwards"  # misspelt
    shutil.copy(GRU / "gru_reference.py", tmp_path / "gru_reference.py")
    (tmp_path / "gru.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "results.json"
    result = CliRunner().invoke(main, ["grade", str(GRU / "submissions" / "correct"), "--exercise",
                                       str(tmp_path / "gru.yaml"), "--format", "json", "-o", str(out)])
    assert result.exit_code == 2 and not out.exists()
    message = result.output.strip()
    assert "\n" not in message and "Traceback" not in message
    assert str(tmp_path / "gru.yaml") in message and "questions.4.reference" in message
    assert "gru_step_backwards" in message


def test_a_mistake_only_hidden_cases_catch_is_a_warning_not_a_failure(tmp_path):
    # reset-before-product equals the reference when H = 1: with only H = 1 public cases, self-check misses it
    path = _copy(tmp_path, lambda questions: None)
    data = yaml.safe_load(path.read_text())
    data["public"]["cases"] = [{"N": 3, "D": 2, "H": 1}, {"N": 2, "D": 4, "H": 1}]
    data["handout"] = {"N": 3, "D": 2, "H": 1}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "reset-before-product" in line)
    assert "only hidden cases catch it" in row
