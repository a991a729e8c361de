"""The exercise bank: shipped files validate, errors name the file, field and line, answers are computed."""

from __future__ import annotations

import pytest
import yaml

from exercises.bank import ExerciseError, exercise_files, load_exercise, load_exercise_file, resolve
from exercises.models import BackwardQuestion, Exercise, FunctionQuestion, ShapeQuestion
from grader.judge.exercise_check import check_exercise_runs, load_checked_exercise
from grader.judge.expected import Expected


@pytest.mark.parametrize("exercise_id", list(exercise_files()))
def test_every_shipped_exercise_validates_and_runs(exercise_id):
    exercise = load_exercise(exercise_id)
    check_exercise_runs(exercise)  # every reference and mistake runs once and returns the declared form
    for question in exercise.questions:
        if isinstance(question, (FunctionQuestion, BackwardQuestion)):
            assert callable(resolve(exercise, question.reference))


def test_default_assignment_matches_the_contract():
    exercise = load_exercise("rnn-bptt")
    ids = [q.id for q in exercise.questions]
    assert set(ids) >= {"shapes.W_H", "shapes.h_t", "shapes.W_x", "shapes.x_t", "shapes.a_t", "shapes.z_t",
                        "shapes.W_y", "shapes.y_t", "shapes.E", "rnn_step", "rnn_forward", "rnn_loss",
                        "grad_W_H", "grad_W_x", "grad_W_y", "grad_E"}
    points = {q.id: q.points for q in exercise.questions if not q.id.startswith("derivation.")}
    # grad_W_H is the heart of the homework and carries the most points.
    assert points["grad_W_H"] == max(points.values()) and list(points.values()).count(points["grad_W_H"]) == 1
    cases = exercise.public.cases
    assert any(c["H"] == 1 for c in cases) and any(c["T"] == 1 for c in cases) and any(c["V"] == 2 for c in cases)
    assert any(len({c["T"], c["V"], c["D"], c["H"]}) == 4 for c in cases)


def _variant(tmp_path, change, name="variant.yaml"):
    data = yaml.safe_load(exercise_files()["rnn-bptt"].read_text())
    change(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_shape_answers_come_from_the_reference_for_the_sizes_in_force(tmp_path):
    path = _variant(tmp_path, lambda d: d.update(handout={"T": 3, "V": 4, "D": 6, "H": 2}))
    shapes = Expected(load_exercise_file(path)).shapes
    # Another variant, other answers: nothing is typed into the exercise file.
    assert shapes["W_x"] == (2, 6) and shapes["E"] == (6, 4) and shapes["y_t"] == (4, 1)


def test_dump_validate_round_trip():
    exercise = load_exercise("rnn-bptt")
    again = Exercise.model_validate(exercise.model_dump())
    assert again.model_dump() == exercise.model_dump()


def _set_question(field, value, index=-1):
    return lambda d: d["questions"][index].update({field: value})


@pytest.mark.parametrize(
    "change, words",
    [
        # an unknown question kind names the discriminator
        (lambda d: d["questions"][0].update(kind="essay"), ["questions.0", "essay"]),
        # a misspelt field is refused, not ignored, and its line is given
        (lambda d: d["questions"][0].update(pointz=3), ["pointz", "line"]),
        # two questions with one id would make results ambiguous
        (lambda d: d["questions"].append(dict(d["questions"][0])), ["duplicate question id"]),
        # a reference that is not a callable path
        (_set_question("reference", "grad_W_H"), ["reference"]),
        # a hidden range that cannot be drawn from
        (lambda d: d["dimensions"]["T"].update(range=[5, 2]), ["dimensions.T", "range"]),
        # an argument that names no declared input (was a raw KeyError while grading)
        (_set_question("args", ["tokens", "targets", "E", "W_x", "W_HH", "W_y", "h0"]),
         ["questions.", "args", "'W_HH' is not a declared input"]),
        # an input shaped in a dimension that does not exist
        (lambda d: d["inputs"]["E"].update(shape=["D", "K"]), ["inputs.E.shape", "'K'"]),
        # an expression naming an unknown dimension
        (lambda d: d["inputs"]["W_x"].update(scale="1 / sqrt(Q)"), ["inputs.W_x.scale", "Q"]),
        # a public case that breaks a constraint
        (lambda d: d.update(constraints=["T >= 2"]), ["public.cases.1", "T >= 2"]),
        # a public case missing a dimension
        (lambda d: d["public"]["cases"][0].pop("H"), ["public.cases.0", "no size for H"]),
        # a derived input reading a later input
        (lambda d: d["inputs"]["x_t"].update(args=["tokens", "Z"]), ["inputs.x_t.args", "'Z'"]),
    ],
)
def test_invalid_exercise_files_are_rejected_naming_file_and_field(tmp_path, change, words):
    path = _variant(tmp_path, change, "broken.yaml")
    with pytest.raises(ExerciseError) as error:
        load_exercise_file(path)
    message = str(error.value)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    "change, words",
    [
        # a misspelt reference callable (was: every student 0 with "Grader error", exit 0)
        (_set_question("reference", "reference.solution:grad_W_HH"), ["questions.", ".reference (line", "grad_W_HH"]),
        # a misspelt module
        (_set_question("reference", "reference.solutions:grad_W_H"), [".reference", "reference.solutions"]),
        # a mistakes list that does not exist
        (_set_question("mistakes", "reference.mistakes:GRAD_W_HH"), [".mistakes", "GRAD_W_HH"]),
        # outputs that do not match what the reference returns
        (lambda d: d["questions"][-1].update(outputs=["a", "b"]), [".outputs", "returns 1 value", "names 2"]),
        # a shape question about a symbol the shapes callable does not know
        (lambda d: d["questions"][0].update(symbol="W_Q"), ["shapes", "'W_Q'"]),
        # a derived input whose callable is misspelt
        (lambda d: d["inputs"]["x_t"].update(derived="reference.rnn_inputs:first_inptu"), ["inputs.x_t.derived"]),
        # a reference file beside the exercise that is not there
        (_set_question("reference", "my_reference.py:grad_W_H"), [".reference", "my_reference.py"]),
        # constraints that hidden ranges can never satisfy
        (lambda d: d.update(constraints=["T < 100"]) or d["dimensions"]["T"].update(range=[100, 101]),
         ["dimensions", "T < 100"]),
    ],
)
def test_mistakes_that_only_running_shows_are_caught_when_loading(tmp_path, change, words):
    path = _variant(tmp_path, change, "broken.yaml")
    with pytest.raises(ExerciseError) as error:
        load_checked_exercise(str(path))
    message = str(error.value)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message, message


def test_a_reference_file_beside_the_exercise_is_found_without_pythonpath(tmp_path):
    (tmp_path / "my_helpers.py").write_text("def double(x):\n    return 2 * x\n")
    (tmp_path / "my_reference.py").write_text(
        "from my_helpers import double\nfrom reference import solution\n\n"
        "def grad_W_H(*args):\n    return double(solution.grad_W_H(*args)) / 2\n")
    path = _variant(tmp_path, _set_question("reference", "my_reference.py:grad_W_H"))
    exercise = load_checked_exercise(str(path))
    assert resolve(exercise, exercise.questions[-1].reference).__module__.endswith("my_reference")


def test_unknown_exercise_id_lists_the_known_ones():
    with pytest.raises(ExerciseError, match="rnn-bptt"):
        load_exercise("no-such-exercise")


def test_a_missing_exercise_path_says_no_such_file():
    with pytest.raises(ExerciseError, match="no such exercise file"):
        load_exercise("nowhere/my-variant.yaml")


def test_shape_questions_name_symbols_the_reference_knows():
    exercise = load_exercise("rnn-bptt")
    shapes = Expected(exercise).shapes
    assert all(q.symbol in shapes for q in exercise.questions if isinstance(q, ShapeQuestion))


def test_default_assignment_grades_the_written_derivation():
    exercise = load_exercise("rnn-bptt")
    written = {q.id: q for q in exercise.questions if q.id.startswith("derivation.")}
    # Task 2, written: the three parts of the contract, each its own kind, points set by the exercise
    assert {q.id: q.kind for q in written.values()} == {
        "derivation.equations": "equations", "derivation.chain": "chain", "derivation.gradient": "gradient"}
    assert sum(q.points for q in written.values()) == 7 and exercise.max_score == 37
    # every written question names a model write-up, which `validate` grades
    assert all(q.model_answer for q in written.values())
