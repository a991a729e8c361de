"""The whole corpus graded end to end, as one class batch with hostile code beside honest work.

tests/corpus/manifest.yaml says what the grader must conclude for each submission; this test
grades them all with the real sandbox and checks every line of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from exercises.bank import load_exercise
from exercises.models import FunctionQuestion
from grader.cases.draw import build_cases
from grader.judge.expected import Expected
from grader.pipeline import GradingOptions, grade
from grader.run.protocol import Limits
from manifests import check_submission

CORPUS = Path(__file__).parents[1] / "corpus"
MANIFEST = yaml.safe_load((CORPUS / "manifest.yaml").read_text())
OPTIONS = GradingOptions(limits=Limits(timeout=2.0, memory_mb=1024), jobs=2, secret="corpus-test-secret")


@pytest.fixture(scope="module")
def batch():
    """Every corpus submission, graded in ONE batch: correct, wrong and hostile together."""
    results = grade([CORPUS / "correct", CORPUS / "wrong", CORPUS / "hostile"], load_exercise("rnn-bptt"), OPTIONS)
    return {str(Path(s.path).relative_to(CORPUS)): s for s in results.submissions}


def test_manifest_covers_the_whole_corpus(batch):
    assert set(batch) == set(MANIFEST)


@pytest.mark.parametrize("key", sorted(MANIFEST))
def test_verdicts_match_the_manifest(batch, key):
    check_submission(MANIFEST[key], batch[key])


def test_hostile_neighbours_do_not_change_anyone_elses_result(batch):
    alone = grade([CORPUS / "correct"], load_exercise("rnn-bptt"), OPTIONS)
    for submission in alone.submissions:
        key = str(Path(submission.path).relative_to(CORPUS))
        # Printed output is left out: a demo printing unseeded random numbers differs run to run; and so do the
        # times the code took, which depend on what else the machine was doing.
        assert batch[key].model_dump(exclude={"output", "seconds", "cpu_s", "wall_s"}) == submission.model_dump(
            exclude={"output", "seconds", "cpu_s", "wall_s"}), key


def test_judging_in_bulk_gives_every_verdict_and_word_of_judging_case_by_case(monkeypatch):
    """Right answers are judged a question at a time in one numpy comparison (`within_each`), and only the cases it
    does not find right one by one: with it turned off, so that every case is compared on its own, the correct and
    wrong corpus gets the same results, word for word."""
    import grader.judge.questions as questions

    real, in_bulk = questions.within_each, []

    def counted(pairs, tolerance):
        in_bulk.append(real(pairs, tolerance))
        return in_bulk[-1]

    monkeypatch.setattr(questions, "within_each", counted)
    bulk = grade([CORPUS / "correct", CORPUS / "wrong"], load_exercise("rnn-bptt"), OPTIONS)
    assert sum(bool(verdicts) and all(verdicts) for verdicts in in_bulk) > 50  # found right on every case
    assert sum(any(verdicts) and not all(verdicts) for verdicts in in_bulk) > 5  # right on some cases only
    monkeypatch.setattr(questions, "within_each", lambda pairs, tolerance: [False] * len(pairs))
    each = grade([CORPUS / "correct", CORPUS / "wrong"], load_exercise("rnn-bptt"), OPTIONS)
    assert len(each.submissions) == len(bulk.submissions) > 30
    for one, other in zip(bulk.submissions, each.submissions):
        kept = {"output", "seconds", "cpu_s", "wall_s"}
        assert one.model_dump(exclude=kept) == other.model_dump(exclude=kept), one.path


def test_nothing_was_unpickled_or_forged(batch):
    # The pickle payload writes this file into the working directory of whatever unpickles it;
    # the grader's (this process's) working directory must not have it.
    assert not (Path.cwd() / "pickle_payload_ran.txt").exists()
    assert not Path("/autograder/results/results.json").exists()


# Attacks the weakest level must still contain (it has no separate uid, so tampering and
# fork loops are the stronger levels' job; see grader/run/isolation.py).
RLIMITS_LEVEL_ATTACKS = ["hostile/infinite_loop_grad_W_H.py", "hostile/infinite_loop_import.py",
                         "hostile/setsid_orphan.py", "hostile/os_exit_in_function.py",
                         "hostile/sigterm_ignored_loop.py", "hostile/print_200mb.py",
                         "hostile/memory_bomb_numpy.py", "hostile/never_ending_thread.py",
                         "hostile/environ_leak.py", "correct/student02_vectorised.py"]


def test_the_rlimits_level_still_contains_hangs_crashes_and_escapes():
    options = GradingOptions(limits=Limits(timeout=2.0), jobs=2, secret="corpus-test-secret", isolation="rlimits")
    results = grade([CORPUS / key for key in RLIMITS_LEVEL_ATTACKS], load_exercise("rnn-bptt"), options)
    assert results.isolation == "rlimits"
    for submission in results.submissions:
        key = str(Path(submission.path).relative_to(CORPUS))
        check_submission(MANIFEST[key], submission)


def test_flagged_imports_of_the_grader_are_reported(batch):
    notes = " ".join(batch["hostile/import_grader.py"].notes)
    assert "Flagged for review" in notes and ("reference" in notes or "grader" in notes)


def test_hidden_expected_values_never_appear_in_feedback(batch):
    """Failing hidden cases say what is wrong, but no number derived from the expected answer."""
    exercise = load_exercise("rnn-bptt")
    expected = Expected(exercise)
    hidden = [case for case in build_cases(exercise, secret=OPTIONS.secret) if case.hidden]
    functions = [q for q in exercise.questions if isinstance(q, FunctionQuestion)]
    answers = [expected.answer(q, case) for q in functions for case in hidden]
    parts = [part for answer in answers for part in (answer if isinstance(answer, tuple) else (answer,))]
    secrets = {f"{float(v):.3g}" for part in parts for v in np.ravel(part) if abs(v) > 1e-3}
    for submission in batch.values():
        for question in submission.questions:
            for sentence in question.feedback.split("hidden case")[1:]:
                assert "largest error" not in sentence and "index" not in sentence
                assert not [number for number in secrets if f" {number} " in f" {sentence} "]


def test_a_mistake_shared_by_several_questions_is_traced_to_the_first(batch):
    questions = {q.id: q for q in batch["wrong/missing_tanh_derivative.py"].questions}
    # grad_W_x comes first in report order: the later questions point to it, and it points nowhere.
    assert "shows in grad_W_x" in questions["grad_E"].feedback
    assert "shows in grad_W_x" in questions["grad_W_H"].feedback
    assert "shows in" not in questions["grad_W_x"].feedback
