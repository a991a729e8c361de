"""The exercise docs cannot drift: every YAML and Python snippet of exercises/FORMAT.md and README.md runs.

A snippet whose first line is `# file: NAME` is written to a folder under that name, and each such exercise is
validated with `rnn-grader validate` (the tutorial's exercise, its reference beside it, earns full marks and its
listed mistake is named). Other YAML snippets are checked against the models of the fields they show; other
Python snippets must compile. The tutorial's example of a load error is the error the grader gives.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from pydantic import TypeAdapter

from exercises.bank import ExerciseError, load_exercise_file
from exercises.models import Exercise, Question
from grader.cli import main

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "exercises" / "FORMAT.md", ROOT / "README.md"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
FILE_HEADER = re.compile(r"^# file: (\S+)\n")


def snippets(language: str) -> list[tuple[str, str]]:
    """(where, text) of every fenced block in `language`."""
    return [
        (f"{doc.name}:{doc.read_text()[: m.start()].count(chr(10)) + 1}", m.group(2))
        for doc in DOCS
        for m in FENCE.finditer(doc.read_text(encoding="utf-8"))
        if m.group(1) == language
    ]


def written_files(folder: Path) -> list[Path]:
    """Every `# file:` snippet written into `folder`; returns the exercise files among them."""
    exercises = []
    for _, text in snippets("yaml") + snippets("python"):
        header = FILE_HEADER.match(text)
        if header:
            (folder / header.group(1)).write_text(text, encoding="utf-8")
            exercises += [folder / header.group(1)] if header.group(1).endswith(".yaml") else []
    return exercises


def test_the_tutorial_exercise_validates(tmp_path):
    exercises = written_files(tmp_path)
    assert exercises, "FORMAT.md's tutorial has an exercise file"
    for path in exercises:
        result = CliRunner().invoke(main, ["validate", str(path)])
        assert result.exit_code == 0, result.output
        assert "named" in result.output and result.output.rstrip().endswith("ok")


def test_the_tutorial_imports_mistake_from_its_documented_place():
    reference = next(text for _, text in snippets("python") if FILE_HEADER.match(text))
    assert "from exercises import Mistake" in reference


@pytest.mark.parametrize(("where", "text"), [s for s in snippets("yaml") if not FILE_HEADER.match(s[1])])
def test_every_other_yaml_snippet_fits_the_models(where, text):
    data = yaml.safe_load(text)
    if isinstance(data, list):  # questions
        for question in data:
            TypeAdapter(Question).validate_python(_without_placeholders(question))
        return
    for field, value in data.items():
        if value == [...] or value == ["..."]:  # `questions: [...]`: shown further down
            continue
        TypeAdapter(Exercise.model_fields[field].annotation).validate_python(_without_placeholders(value))


def _without_placeholders(value: Any) -> Any:
    """`...` in a mapping stands for entries left out."""
    if isinstance(value, dict):
        return {k: _without_placeholders(v) for k, v in value.items() if k != "..."}
    return value


@pytest.mark.parametrize(("where", "text"), [s for s in snippets("python") if not FILE_HEADER.match(s[1])])
def test_every_other_python_snippet_compiles(where, text):
    compile(text, where, "exec")


def test_the_load_error_shown_is_the_one_given(tmp_path):
    exercise = written_files(tmp_path)[0]
    shown = next(text for _, text in snippets("text") if "unknown draw" in text).strip()
    broken_name, _, rest = shown.partition(": ")
    slipped = exercise.read_text().replace("draw: uniform", "draw: unifrom")
    (tmp_path / broken_name).write_text(slipped, encoding="utf-8")
    with pytest.raises(ExerciseError) as raised:
        load_exercise_file((tmp_path / broken_name).resolve())
    assert str(raised.value) == f"{(tmp_path / broken_name).resolve()}: {rest}"
