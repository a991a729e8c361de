"""A lone submission's expected answers are computed while the sandbox starts or its code runs, where a second core
can take them: once, before judging asks for them; a reference that fails there still fails where its question is
judged, as a grader error of that question alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import grader.pipeline
from exercises.bank import exercise_files, load_exercise_file, resolve
from grader.cases.draw import build_cases
from grader.judge.expected import Expected
from grader.pipeline import GradingOptions, grade
from grader.run.protocol import Limits

CORRECT = Path(__file__).parents[1] / "corpus" / "correct" / "student02_vectorised.py"
REFERENCES = """
from reference.solution import rnn_step as _rnn_step

calls = []


def rnn_step(*args):
    calls.append(args)
    return _rnn_step(*args)


def rnn_loss(*args):
    raise RuntimeError("this reference is broken")
"""


def _exercise(tmp_path):
    """The bank's exercise, with a reference that counts its calls and one that always fails."""
    data = yaml.safe_load(exercise_files()["rnn-bptt"].read_text())
    for question in data["questions"]:
        if question["id"] in ("rnn_step", "rnn_loss"):
            question["reference"] = f"references.py:{question['id']}"
    (tmp_path / "references.py").write_text(REFERENCES)
    (tmp_path / "exercise.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return load_exercise_file(tmp_path / "exercise.yaml")


def test_answers_computed_ahead_are_the_ones_judging_reads(tmp_path):
    exercise = _exercise(tmp_path)
    cases = build_cases(exercise, include_hidden=False)
    expected = Expected(exercise)
    calls = resolve(exercise, "references.py:calls")
    expected.compute_ahead(cases)  # the broken reference raises nothing here
    assert len(calls) == len(cases)
    step = exercise.question("rnn_step")
    assert all(expected.answer(step, case) is not None for case in cases)
    assert len(calls) == len(cases)  # read, not computed again


def test_a_reference_that_fails_ahead_is_a_grader_error_of_its_question_only(tmp_path, monkeypatch):
    monkeypatch.setattr(grader.pipeline, "_spare_core", lambda: True)  # computed ahead, whatever runs this
    exercise = _exercise(tmp_path)
    options = GradingOptions(limits=Limits(timeout=5.0), public_only=True, single=True)
    (submission,) = grade([CORRECT], exercise, options).submissions
    verdicts = {question.id: question for question in submission.questions}
    assert verdicts["rnn_loss"].status == "error" and "RuntimeError" in verdicts["rnn_loss"].grader_error
    assert all(verdicts[q].status == "passed" for q in ("rnn_step", "rnn_forward", "grad_W_H"))


def test_a_lone_submission_s_answers_are_computed_while_its_code_runs(tmp_path, monkeypatch):
    """Even those its code never asks for: a submission that answers nothing still has them computed, ahead."""
    monkeypatch.setattr(grader.pipeline, "_spare_core", lambda: True)  # computed ahead, whatever runs this
    exercise = _exercise(tmp_path)
    nothing = tmp_path / "nothing.py"
    nothing.write_text("x = 1\n")
    options = GradingOptions(limits=Limits(timeout=5.0), public_only=True, single=True)
    (submission,) = grade([nothing], exercise, options).submissions
    assert submission.questions[0].status == "missing"
    assert len(resolve(exercise, "references.py:calls")) == len(build_cases(exercise, include_hidden=False))


def test_on_one_core_nothing_is_computed_ahead(tmp_path, monkeypatch):
    monkeypatch.setattr(grader.pipeline, "_spare_core", lambda: False)
    exercise = _exercise(tmp_path)
    nothing = tmp_path / "nothing.py"
    nothing.write_text("x = 1\n")
    options = GradingOptions(limits=Limits(timeout=5.0), public_only=True, single=True)
    grade([nothing], exercise, options)
    assert resolve(exercise, "references.py:calls") == []


@pytest.mark.parametrize("class_size", [1, 2])
def test_the_last_run_releases_the_sandbox_before_it_is_judged(tmp_path, monkeypatch, class_size):
    """The warm processes stop while the last result is judged, not after: a student's check ends sooner."""
    from grader.run.client import SandboxPool

    events = []
    release, judge = SandboxPool.release, grader.pipeline.judge_submission
    monkeypatch.setattr(SandboxPool, "release", lambda pool: (events.append("released"), release(pool))[1])
    monkeypatch.setattr(grader.pipeline, "judge_submission",
                        lambda submission, run, *rest: (events.append(f"judged {bool(run)}"),
                                                        judge(submission, run, *rest))[1])
    for name in "ab"[:class_size]:
        (tmp_path / f"{name}.py").write_text(CORRECT.read_text())
    grade([tmp_path], load_exercise_file(exercise_files()["rnn-bptt"]),
          GradingOptions(limits=Limits(timeout=5), public_only=True, jobs=2))
    assert events == ["judged True"] * (class_size - 1) + ["released", "judged True"]
