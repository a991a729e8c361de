"""Exercises other than the default, graded end to end with the real sandbox, and validated.

The GRU step (tests/exercises/gru_step/) is an instructor's exercise written only as data, with its
own reference file beside it; nothing in the package knows it. cs231n-rnn is shipped: CS231n's
rnn_layers.py as students submit it (relative imports of the course's layers, caches of every kind).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from exercises.bank import exercise_files
from grader.exercise_check import load_checked_exercise
from grader.grading import GradingOptions, grade
from grader.runner.protocol import Limits
from grader.validate import render_validation, validate
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


def test_an_import_the_grader_does_not_provide_is_named_once_with_its_line(tmp_path):
    correct = (TESTS / "corpus" / "correct" / "student01_loops.py").read_text()
    (tmp_path / "torchy.py").write_text("import numpy as np\nimport torch\n" + correct)
    [result] = grade([tmp_path / "torchy.py"], load_checked_exercise("rnn-bptt"), OPTIONS).submissions
    for question in result.questions:  # code and shapes alike: the import stopped the whole file
        assert question.status == "error"
        assert question.feedback.startswith("torchy.py, line 2: `import torch` stopped your code")
        assert "numpy" in question.feedback


def test_course_modules_are_provided_and_imported_as_students_write_them(tmp_path):
    correct = sorted((TESTS / "corpus" / "cs231n" / "correct").glob("*.py"))
    relative = next(p for p in correct if "from .layers import" in p.read_text())
    absolute = next(p for p in correct if "from cs231n.layers import" in p.read_text())
    results = grade([relative, absolute], load_checked_exercise("cs231n-rnn"), OPTIONS).submissions
    assert all(s.score == s.max_score for s in results), [(s.student, s.questions) for s in results]
