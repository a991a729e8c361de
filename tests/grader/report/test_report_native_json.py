"""The native JSON: the interface specification's fields, exact values, nothing staff-only."""

from __future__ import annotations

import json

import pytest
from report_cases import REJECT_REASON, TRICKY_FEEDBACK, TRICKY_STUDENT, graded, question, run

from grader.report import native_json

SUBMISSION_KEYS = ["path", "student", "score", "max_score", "status", "questions"]
QUESTION_KEYS = ["id", "score", "max_score", "status", "feedback"]


def test_top_level_fields(results):
    document = json.loads(native_json.render(results))
    # the spec's keys, then the class's mistakes: per question, how many submissions hit each diagnosis
    assert list(document) == ["exercise", "grader_version", "submissions", "diagnoses"]
    assert document["diagnoses"] == {"grad_W_H": {"missing-tanh-derivative": 1}}
    assert document["exercise"] == "rnn-bptt"
    assert document["grader_version"] == results.grader_version
    assert len(document["submissions"]) == 2


@pytest.mark.parametrize(
    ("index", "keys"),
    [
        (0, SUBMISSION_KEYS + ["notes"]),  # a graded submission has no `reason`; its notes follow the questions
        (1, SUBMISSION_KEYS[:5] + ["reason", "questions"]),  # a rejected one keeps its reason
    ],
)
def test_submission_keys(results, index, keys):
    assert list(json.loads(native_json.render(results))["submissions"][index]) == keys


@pytest.mark.parametrize(
    ("qid", "keys"),
    [
        ("shapes.a_t", QUESTION_KEYS),  # no diagnosis: the key is left out, as in the spec's example
        ("grad_W_H", QUESTION_KEYS + ["diagnosis"]),  # a recognised mistake names its stable id
        ("bptt.b_h", QUESTION_KEYS),  # a missing answer still has (empty) feedback
    ],
)
def test_question_keys(results, qid, keys):
    questions = json.loads(native_json.render(results))["submissions"][0]["questions"]
    assert list(next(q for q in questions if q["id"] == qid)) == keys


def test_values_survive_escaping(results):
    graded, rejected = json.loads(native_json.render(results))["submissions"]
    assert graded["student"] == TRICKY_STUDENT
    assert graded["path"] == results.submissions[0].path
    assert (graded["score"], graded["max_score"], graded["status"]) == (2.5, 16.0, "graded")
    by_id = {q["id"]: q for q in graded["questions"]}
    assert by_id["grad_W_H"]["feedback"] == TRICKY_FEEDBACK
    assert by_id["grad_W_H"]["diagnosis"] == "missing-tanh-derivative"
    assert [q["status"] for q in graded["questions"]] == ["passed", "failed", "error", "timeout", "missing"]
    assert (rejected["status"], rejected["reason"], rejected["questions"]) == ("rejected", REJECT_REASON, [])


def test_indented_two_spaces(results):
    assert native_json.render(results).splitlines()[1].startswith('  "exercise"')


def test_a_grader_error_reaches_the_instructor_as_one_line(results):
    failing = question("grad_W_H", 0, 6, "error", feedback="Grader error", grader_error="KeyError: 'W_HH'")
    document = json.loads(native_json.render(run(graded("ann", [failing]))))
    assert document["submissions"][0]["questions"][0]["grader_error"] == "KeyError: 'W_HH'"


def test_wrong_answers_no_known_mistake_explains_are_counted_per_question():
    from grader.results import OutputResult

    partly = question("grad", 3.0, 6.0, "failed", diagnosis="transposed", outputs=[
        OutputResult(name="dx", score=3.0, max_score=3.0, status="passed"),
        OutputResult(name="dW", score=0.0, max_score=3.0, status="failed"),  # wrong, and no mistake explains it
    ])
    explained = question("grad", 3.0, 6.0, "failed", diagnosis="transposed")
    document = json.loads(native_json.render(run(graded("a", [partly]), graded("b", [explained]), graded())))
    assert document["diagnoses"]["grad"] == {"transposed": 2}
    assert document["undiagnosed"] == {"grad": 1}
    outputs = document["submissions"][0]["questions"][0]["outputs"]
    assert outputs == [
        {"name": "dx", "score": 3.0, "max_score": 3.0, "status": "passed"},
        {"name": "dW", "score": 0.0, "max_score": 3.0, "status": "failed"},
    ]
