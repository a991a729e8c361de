"""Load errors that teach: a corpus of broken exercise files (tests/exercises/broken/), each one realistic slip.

Each file, loaded and checked as `validate` and `grade` do, must give one line naming the file, the field and
its line, with what is wrong and a hint (the fragments of manifest.yaml): no internal names, no library warning.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from exercises.bank import ExerciseError
from grader.judge.exercise_check import load_checked_exercise

BROKEN = Path(__file__).parent / "broken"
MANIFEST = yaml.safe_load((BROKEN / "manifest.yaml").read_text(encoding="utf-8"))
INTERNAL = ("_input_kind", "Input tag", "union_tag", "Value error", "function-after", "Traceback", "pydantic")


def test_the_corpus_is_large_and_each_file_is_in_the_manifest():
    files = {path.name for path in BROKEN.glob("*.yaml")} - {"manifest.yaml"}
    assert len(files) >= 30 and files == set(MANIFEST)


def _error(path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a raw library warning printed before the error fails the test
        with pytest.raises(ExerciseError) as raised:
            load_checked_exercise(str(path))
    return str(raised.value)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_broken_file_gives_one_line_with_file_field_line_and_hint(name):
    expected, path = MANIFEST[name], BROKEN / name
    message = _error(path)
    assert "\n" not in message, message
    assert message.startswith(f"{path}: {expected['field']} (line {expected['line']}): "), message
    for fragment in expected["says"]:
        assert fragment in message, message
    assert not any(word in message for word in INTERNAL), message


def test_the_cause_is_reported_before_its_consequence(tmp_path):
    """A forward's dropped output is the error, not the backward's upstream count that follows from it."""
    message = _error(BROKEN / "forward_output_dropped.yaml")
    assert "questions.0.outputs" in message and "upstream" not in message


def test_several_problems_are_listed_in_the_order_of_the_file(tmp_path):
    text = (BROKEN / "draw_misspelt.yaml").read_text(encoding="utf-8")
    (tmp_path / "two.yaml").write_text(text.replace("id: lstm-step\n", "") + "id: LSTM step\n", encoding="utf-8")
    lines = _error(tmp_path / "two.yaml").splitlines()
    assert len(lines) == 2
    assert "inputs.prev_h.draw" in lines[0] and lines[1].startswith(f"{tmp_path / 'two.yaml'}: id (line ")
