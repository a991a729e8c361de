"""The cs231n-lstm corpus graded end to end: the real command line, the real sandbox, every verdict checked.

tests/corpus/cs231n-lstm/ holds students' rnn_layers.py files as they hand them in: `from .layers import *`,
the LSTM functions, and in most of them the vanilla RNN's functions too (done or left as stubs) and the
course's `sigmoid` at the bottom. manifest.yaml says what the grader must conclude for each (its header has
the format, that of tests/corpus/cs231n/manifest.yaml) and which files also hold the RNN functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from manifests import check_submission
from reference import cs231n_lstm_mistakes

CORPUS = Path(__file__).parents[1] / "corpus" / "cs231n-lstm"
MANIFEST = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))
LSTM_QUESTIONS = {"lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"}


def as_result(entry: dict) -> SimpleNamespace:
    """A submission of the native JSON, with the attributes `check_submission` reads."""
    questions = [SimpleNamespace(**{"diagnosis": None, **q}) for q in entry.get("questions", [])]
    return SimpleNamespace(status=entry["status"], reason=entry.get("reason"), questions=questions)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    """The whole corpus as one class (each file one student), through `rnn-grader grade --format json`."""
    output = tmp_path_factory.mktemp("cs231n-lstm") / "results.json"
    files = [str(CORPUS / key) for key in sorted(MANIFEST)]
    args = ["grade", *files, "--exercise", "cs231n-lstm", "--format", "json", "-o", str(output), "--jobs", "2",
            "--secret", "cs231n-lstm-corpus", "--timeout", "3"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads(output.read_text(encoding="utf-8"))
    return {str(Path(s["path"]).relative_to(CORPUS)): s for s in document["submissions"]}


def test_the_manifest_lists_every_file_of_the_corpus(graded):
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.py")}
    assert set(MANIFEST) == files == set(graded)


@pytest.mark.parametrize("key", sorted(MANIFEST))
def test_verdicts_match_the_manifest(graded, key):
    check_submission(MANIFEST[key], as_result(graded[key]))


@pytest.mark.parametrize("key", [k for k, e in MANIFEST.items() if any(
    "wrong_outputs" in outcome for outcome in e.get("questions", {}).values())])
def test_only_the_wrong_outputs_lose_their_share(graded, key):
    questions = {q["id"]: q for q in graded[key]["questions"]}
    for question_id, outcome in MANIFEST[key]["questions"].items():
        if "wrong_outputs" in outcome:
            outputs = questions[question_id]["outputs"]
            assert {o["name"] for o in outputs if o["status"] == "failed"} == set(outcome["wrong_outputs"])
            assert all(o["score"] == o["max_score"] for o in outputs if o["name"] not in outcome["wrong_outputs"])


def test_files_holding_the_rnn_functions_are_graded_on_the_lstm_alone(graded):
    holding = [key for key, entry in MANIFEST.items() if entry.get("rnn_functions") == "included"]
    # The corpus has both kinds, so the verdicts above cover both.
    assert holding and len(holding) < len(MANIFEST)
    for key in holding:
        if graded[key]["status"] == "graded":
            assert {q["id"] for q in graded[key]["questions"]} == LSTM_QUESTIONS, key


def test_every_catalogue_mistake_a_student_made_is_named_and_the_manifest_names_no_other():
    named = {o["diagnosis"] for e in MANIFEST.values() for o in e.get("questions", {}).values() if "diagnosis" in o}
    catalogue = {m.diagnosis for listed in cs231n_lstm_mistakes.MISTAKES.values() for m in listed}
    assert named and named <= catalogue | {"transposed", "sign-flipped", "scaled-by-constant", "hard-coded-sizes"}
