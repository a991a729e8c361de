"""Exercises other than the default, graded end to end with the real sandbox, and validated.

The GRU step (tests/exercises/gru_step/) is an instructor's exercise written only as data, with its
own reference file beside it; nothing in the package knows it. cs231n-rnn is shipped: CS231n's
rnn_layers.py as students submit it (relative imports of the course's layers, caches of every kind).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

from exercises.bank import exercise_files
from grader.judge.exercise_check import load_checked_exercise
from grader.pipeline import GradingOptions, grade
from grader.run.protocol import Limits
from grader.authoring.validate import render_validation, validate
from manifests import check_submission

TESTS = Path(__file__).parents[1]
GRU = TESTS / "exercises" / "gru_step"
OPTIONS = GradingOptions(limits=Limits(timeout=3.0), jobs=2, secret="exercises-as-data")
CORPORA = {  # exercise (id or file) -> folder of submissions with a manifest.yaml
    str(GRU / "gru.yaml"): GRU / "submissions",
    "cs231n-rnn": TESTS / "corpus" / "cs231n",
}


def _graded(exercise: str, folder: Path):
    manifest = yaml.safe_load((folder / "manifest.yaml").read_text())
    results = grade([folder / key for key in sorted(manifest)], load_checked_exercise(exercise), OPTIONS)
    return manifest, {str(Path(s.path).relative_to(folder)): s for s in results.submissions}


@pytest.fixture(scope="module", params=sorted(CORPORA))
def graded(request):
    return _graded(request.param, CORPORA[request.param])


def test_every_corpus_submission_gets_its_manifest_verdicts(graded):
    manifest, results = graded
    assert set(results) == set(manifest)
    failures = []
    for key in sorted(manifest):
        try:
            check_submission(manifest[key], results[key])
        except AssertionError as exc:
            failures.append(f"{key}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("exercise", [*exercise_files(), str(GRU / "gru.yaml")])
def test_every_exercise_validates(exercise):
    validation = validate(load_checked_exercise(exercise))
    assert validation.ok, render_validation(validation)
    # Every listed mistake is caught by a public case, so a student's self-check sees it too.
    assert all(check.public_catching for check in validation.mistakes), render_validation(validation)


def test_an_import_the_grader_does_not_provide_is_named_with_its_line_on_each_question(tmp_path):
    correct = (TESTS / "corpus" / "correct" / "student01_loops.py").read_text()
    (tmp_path / "torchy.py").write_text("import numpy as np\nimport torch\n" + correct)
    [result] = grade([tmp_path / "torchy.py"], load_checked_exercise("rnn-bptt"), OPTIONS).submissions
    for question in result.questions:  # code and shapes alike: the import stopped the whole file
        if question.id.startswith("derivation."):  # written questions read no code: there is no write-up
            assert question.status == "missing"
            continue
        assert question.status == "error"
        assert question.feedback.startswith("torchy.py, line 2: `import torch` stopped your code")
        assert "numpy" in question.feedback


def test_course_modules_are_provided_and_imported_as_students_write_them(tmp_path):
    correct = sorted((TESTS / "corpus" / "cs231n" / "correct").glob("*.py"))
    relative = next(p for p in correct if "from .layers import" in p.read_text())
    absolute = next(p for p in correct if "from cs231n.layers import" in p.read_text())
    results = grade([relative, absolute], load_checked_exercise("cs231n-rnn"), OPTIONS).submissions
    assert all(s.score == s.max_score for s in results), [(s.student, s.questions) for s in results]


def _gru_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "course"
    shutil.copytree(GRU, folder, ignore=shutil.ignore_patterns("submissions", "__pycache__", "test_*"))
    return folder / "gru.yaml"


@pytest.mark.skipif(os.geteuid() != 0, reason="reading other folders is refused by the uid and mount levels")
def test_student_code_cannot_read_or_import_the_instructors_reference(tmp_path):
    # an instructor's course folder that anyone may read (pytest's own tmp folder is private to root)
    course = Path(tempfile.mkdtemp(prefix="course-", dir="/tmp"))
    course.chmod(0o755)
    try:
        _steal_from(course, tmp_path)
    finally:
        shutil.rmtree(course)


def _steal_from(course: Path, tmp_path: Path) -> None:
    exercise = _gru_copy(course)
    for path in exercise.parent.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    exercise.parent.chmod(0o755)
    reference = exercise.parent / "gru_reference.py"
    correct = (GRU / "submissions/correct/dict_cache_slices.py").read_text()
    thief = tmp_path / "class" / "thief.py"
    thief.parent.mkdir()
    thief.write_text(correct + f"""

def gru_step_forward(x, prev_h, Wx, Wh, b):
    import importlib.util
    spec = importlib.util.spec_from_file_location("stolen", {str(reference)!r})
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.gru_step_forward(x, prev_h, Wx, Wh, b)
""")
    [result] = grade([thief.parent], load_checked_exercise(str(exercise)), OPTIONS).submissions
    forward = next(q for q in result.questions if q.id == "gru_step_forward")
    assert forward.status == "error" and "FileNotFoundError" in forward.feedback, forward.feedback


def test_a_backward_of_zeros_after_a_forward_of_zeros_earns_nothing(tmp_path):
    stub = tmp_path / "stub.py"
    stub.write_text("import numpy as np\n\ndef gru_step_forward(x, prev_h, Wx, Wh, b):\n"
                    "    return np.zeros_like(prev_h), (x, prev_h, Wx, Wh, b)\n\n"
                    "def gru_step_backward(dnext_h, cache):\n    x, prev_h, Wx, Wh, b = cache\n"
                    "    return tuple(np.zeros_like(a) for a in (x, prev_h, Wx, Wh, b))\n")
    [result] = grade([stub], load_checked_exercise(str(GRU / "gru.yaml")), OPTIONS).submissions
    backward = next(q for q in result.questions if q.id == "gru_step_backward")
    # zeros are "the derivative" of a forward that never moves: that proves nothing and earns nothing
    assert backward.score == 0 and backward.diagnosis == "wrong-forward"


def test_an_allowed_librarys_own_imports_are_its_business(tmp_path):
    pytest.importorskip("matplotlib")
    correct = (TESTS / "corpus" / "correct" / "student01_loops.py").read_text()
    (tmp_path / "plots.py").write_text("import matplotlib.pyplot as plt\n" + correct)
    [result] = grade([tmp_path / "plots.py"], load_checked_exercise("rnn-bptt"), OPTIONS).submissions
    graded = [q for q in result.questions if not q.id.startswith("derivation.")]  # code only: no write-up
    assert all(q.status == "passed" for q in graded), [q.feedback for q in graded if q.status != "passed"]


def test_a_wrong_number_is_not_called_a_scaled_answer(tmp_path):
    source = (TESTS / "corpus" / "correct" / "student02_vectorised.py").read_text()
    (tmp_path / "loss_off.py").write_text(source + "\n\n_right_loss = rnn_loss\n\ndef rnn_loss(*args):\n"
                                          "    return _right_loss(*args) + 0.1\n")
    [result] = grade([tmp_path / "loss_off.py"], load_checked_exercise("rnn-bptt"), OPTIONS).submissions
    loss = next(q for q in result.questions if q.id == "rnn_loss")
    assert loss.status == "failed" and loss.diagnosis is None


def test_a_python2_notebook_is_rejected_saying_so(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import numpy as np"),
                      nbformat.v4.new_code_cell("def rnn_step(x_t, h_prev, W_x, W_H):\n    print 'step'\n")]
    nbformat.write(notebook, str(tmp_path / "old.ipynb"))
    [result] = grade([tmp_path / "old.ipynb"], load_checked_exercise("rnn-bptt"), OPTIONS).submissions
    assert result.status == "rejected" and "old.ipynb, cell 2 is Python 2 code" in result.reason
