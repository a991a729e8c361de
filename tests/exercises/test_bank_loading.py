"""Exercise files are read by libyaml where PyYAML has it: the same data as Python's own reader gives, and a
file that does not parse gets the message Python's reader gives (the load errors are written from it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from exercises.bank import ExerciseError, _parsed

HERE = Path(__file__).parent
FILES = sorted((HERE.parents[1] / "exercises" / "bank").glob("*.yaml")) + sorted(HERE.rglob("*.yaml"))


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml: Python's reader is used")
@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_an_exercise_file_reads_as_pythons_yaml_reader_reads_it(path):
    text = path.read_text(encoding="utf-8")
    try:
        expected = yaml.safe_load(text)
    except yaml.YAMLError:
        with pytest.raises(ExerciseError, match="not valid YAML"):
            _parsed(path, text)
        return
    assert _parsed(path, text) == expected


def test_a_file_that_does_not_parse_gets_pythons_message_with_its_line(tmp_path):
    text = "id: x\ndimensions:\n  T: {range: [1, 3]\nquestions: []\n"  # a brace left open on line 3
    with pytest.raises(ExerciseError) as raised:
        _parsed(tmp_path / "x.yaml", text)
    assert "line 3" in str(raised.value) and "check its brackets" in str(raised.value)
