"""The exercise bank: shipped files validate, errors name the file and field, answers are computed."""

from __future__ import annotations


import pytest
import yaml

from exercises.bank import ExerciseError, exercise_files, load_exercise, load_exercise_file, resolve_callable
from exercises.models import Exercise, FunctionQuestion, ShapeQuestion
from grader.expected import Expected


@pytest.mark.parametrize("exercise_id", list(exercise_files()))
def test_every_shipped_exercise_validates_and_resolves(exercise_id):
    exercise = load_exercise(exercise_id)
    # Every dotted path names something real, so grading cannot fail on a typo later.
    for question in exercise.questions:
        if isinstance(question, FunctionQuestion):
            assert callable(resolve_callable(question.reference))
            if question.mistakes:
                assert isinstance(resolve_callable(question.mistakes), list)
    assert callable(resolve_callable(exercise.shapes_reference))


def test_default_assignment_matches_the_contract():
    exercise = load_exercise("rnn-bptt")
    ids = [q.id for q in exercise.questions]
    assert set(ids) >= {"shapes.W_H", "shapes.h_t", "shapes.W_x", "shapes.x_t", "shapes.a_t", "shapes.z_t",
                        "shapes.W_y", "shapes.y_t", "shapes.E", "rnn_step", "rnn_forward", "rnn_loss",
                        "grad_W_H", "grad_W_x", "grad_W_y", "grad_E"}
    points = {q.id: q.points for q in exercise.questions}
    # grad_W_H is the heart of the homework and carries the most points.
    assert points["grad_W_H"] == max(points.values()) and list(points.values()).count(points["grad_W_H"]) == 1
    sizes = [s for s in exercise.public.sizes]
    assert any(s.H == 1 for s in sizes) and any(s.T == 1 for s in sizes) and any(s.V == 2 for s in sizes)
    assert any(len({s.T, s.V, s.D, s.H}) == 4 for s in sizes)


def test_shape_answers_come_from_the_reference_for_the_sizes_in_force(tmp_path):
    data = yaml.safe_load(exercise_files()["rnn-bptt"].read_text())
    data["sizes"] = {"T": 3, "V": 4, "D": 6, "H": 2}
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(data))
    shapes = Expected(load_exercise_file(path)).shapes
    # Another variant, other answers: nothing is typed into the exercise file.
    assert shapes["W_x"] == (2, 6) and shapes["E"] == (6, 4) and shapes["y_t"] == (4, 1)


def test_dump_validate_round_trip():
    exercise = load_exercise("rnn-bptt")
    again = Exercise.model_validate(exercise.model_dump())
    assert again == exercise


@pytest.mark.parametrize(
    "change, words",
    [
        # an unknown question kind names the discriminator
        (lambda d: d["questions"][0].update(kind="essay"), ["questions.0", "essay"]),
        # a misspelt field is refused, not ignored
        (lambda d: d["questions"][0].update(pointz=3), ["pointz"]),
        # two questions with one id would make results ambiguous
        (lambda d: d["questions"].append(dict(d["questions"][0])), ["duplicate question id"]),
        # a reference that is not a dotted path
        (lambda d: d["questions"][-1].update(reference="grad_W_H"), ["reference"]),
        # a size range that cannot be drawn from
        (lambda d: d["hidden"]["ranges"].update(T=[5, 2]), ["T range"]),
    ],
)
def test_invalid_exercise_files_are_rejected_naming_file_and_field(tmp_path, change, words):
    data = yaml.safe_load(exercise_files()["rnn-bptt"].read_text())
    change(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ExerciseError) as error:
        load_exercise_file(path)
    message = str(error.value)
    assert str(path) in message
    for word in words:
        assert word in message


def test_unknown_exercise_id_lists_the_known_ones():
    with pytest.raises(ExerciseError, match="rnn-bptt"):
        load_exercise("no-such-exercise")


def test_shape_questions_name_symbols_the_reference_knows():
    exercise = load_exercise("rnn-bptt")
    shapes = Expected(exercise).shapes
    assert all(q.symbol in shapes for q in exercise.questions if isinstance(q, ShapeQuestion))
