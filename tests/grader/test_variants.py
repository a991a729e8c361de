"""Per-student variants: sizes and seeds drawn from the student's id, handouts in those sizes, and grading
against each student's own variant (so an answer copied from another student fails)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml
from click.testing import CliRunner

from exercises.bank import exercise_files, load_exercise_file
from grader.cli import main
from grader.pipeline import GradingOptions, grade
from grader.cases.variants import for_student
from reference.rnn import shapes

VARIANTS = {"seed": 11, "dimensions": {"D": [8, 16], "H": [3, 9]}}


@pytest.fixture
def exercise_file(tmp_path) -> Path:
    data = yaml.safe_load(exercise_files()["rnn-bptt"].read_text())
    data["variants"] = VARIANTS
    path = tmp_path / "rnn-variants.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _answers(sizes: dict[str, int]) -> str:
    """A correct answers file for these sizes, from the reference."""
    return json.dumps({"shapes": {s: "x".join(map(str, shape)) for s, shape in shapes(**sizes).items()}})


def test_two_students_get_different_sizes_drawn_within_the_ranges(exercise_file):
    exercise = load_exercise_file(exercise_file)
    alice, bob = for_student(exercise, "alice"), for_student(exercise, "bob")
    assert alice.handout != bob.handout
    for variant in (alice, bob):
        assert 8 <= variant.handout["D"] <= 16 and 3 <= variant.handout["H"] <= 9
        assert {k: v for k, v in variant.handout.items() if k not in "DH"} == {"T": 5, "V": 10}
        # the handout's public case follows the student's sizes, the others stay as written
        assert variant.public.cases[0] == variant.handout and variant.public.cases[1:] == exercise.public.cases[1:]
    assert for_student(exercise, "alice") == alice  # the same student always gets the same variant


def test_an_answer_copied_from_another_student_fails_and_each_is_graded_against_their_own(exercise_file, tmp_path):
    exercise = load_exercise_file(exercise_file)
    alice_sizes = for_student(exercise, "alice").handout
    for student in ("alice", "bob"):  # bob hands in alice's answers
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "answers.json").write_text(_answers(alice_sizes))
    results = {s.student: s for s in grade([tmp_path / "class"], exercise, GradingOptions()).submissions}
    alice_shapes = [q for q in results["alice"].questions if q.id.startswith("shapes.")]
    bob_shapes = {q.id: q for q in results["bob"].questions if q.id.startswith("shapes.")}
    assert all(q.status == "passed" for q in alice_shapes)
    # W_x is H x D: bob's own sizes differ from alice's, so her answer is wrong for him
    assert bob_shapes["shapes.W_x"].status == "failed"


def test_template_writes_the_students_sizes_and_stubs_only(exercise_file, tmp_path):
    exercise = load_exercise_file(exercise_file)
    sizes = for_student(exercise, "alice").handout
    result = CliRunner().invoke(main, ["template", str(exercise_file), "--student", "alice", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    py = next(tmp_path.glob("*.py")).read_text()
    assert f"D = {sizes['D']}, H = {sizes['H']}" in py and "def grad_W_H(tokens, targets" in py
    assert "raise NotImplementedError" in py and "np.tanh" not in py  # stubs, never the model solution
    notebook = nbformat.read(str(next(tmp_path.glob("*.ipynb"))), as_version=4)
    assert any("def rnn_forward" in cell.source for cell in notebook.cells)
    compile(py, "handout.py", "exec")


def test_a_variant_exercise_needs_the_students_id_to_check_or_write_a_handout(exercise_file, tmp_path):
    (tmp_path / "work.py").write_text("x = 1\n")
    for command in (["check", str(tmp_path / "work.py")], ["template"]):
        args = command + ([str(exercise_file)] if command == ["template"] else ["--exercise", str(exercise_file)])
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and "--student" in result.output
