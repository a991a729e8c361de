"""The GitHub Classroom runner result, checked the way the grading reporter reads it."""

from __future__ import annotations

import base64
import json

import pytest
from report_cases import REJECT_REASON, TRICKY_FEEDBACK, graded, question, rejected, run

from grader.report import github_classroom


def parsed(sub=None) -> dict:
    sub = sub or graded()
    return json.loads(github_classroom.render_submission(sub, run(sub)))


def reporter_points(text: str) -> tuple[float, float]:
    """What the reporter's NotifyClassroom records: base64 in the env, sum of test scores, max_score."""
    results = json.loads(base64.b64decode(base64.b64encode(text.encode("utf-8"))).decode("utf-8"))
    return sum(t["score"] for t in results["tests"]), results["max_score"]


@pytest.mark.parametrize(
    ("sub", "status"),
    [
        (graded(), "fail"),  # any lost point fails the run; the reporter then fails the job
        (graded("ann", [question("q", 1.0, 1.0, "passed")]), "pass"),  # everything passed
        (rejected(), "error"),  # not graded at all: the runners' "error"
    ],
    ids=["graded-with-losses", "all-passed", "rejected"],
)
def test_top_level(sub, status):
    document = parsed(sub)
    assert document["version"] == 1
    assert document["status"] == status
    assert document["max_score"] == sub.max_score
    assert document["tests"]  # the reporter divides by len(tests)


@pytest.mark.parametrize(
    ("qid", "status", "score"),
    [
        ("shapes.a_t", "pass", 1.0),  # passed
        ("grad_W_H", "fail", 0.0),  # wrong answer
        ("bptt.b_h", "fail", 0.0),  # missing answer
        ("loss", "error", 0.0),  # raised: the reporter prints the message of "error" tests
        ("forward", "error", 1.5),  # timeout keeps its partial points
    ],
)
def test_test_status_and_score(qid, status, score):
    test = next(t for t in parsed()["tests"] if t["name"] == qid)
    assert (test["status"], test["score"]) == (status, score)


def test_fields_the_reporter_reads():
    for test in parsed()["tests"] + parsed(rejected())["tests"]:
        assert {"name", "status", "score", "message", "test_code", "line_no"} <= set(test)
        assert test["line_no"] == 0  # anything else prints " - line N"
        assert test["test_code"] == ""  # printed as "Test code:" when non-empty


def test_message_carries_feedback_and_diagnosis():
    test = next(t for t in parsed()["tests"] if t["name"] == "grad_W_H")
    assert test["message"].startswith(TRICKY_FEEDBACK)
    assert "missing-tanh-derivative" in test["message"]


def test_missing_answer_has_a_message():
    assert next(t for t in parsed()["tests"] if t["name"] == "bptt.b_h")["message"]


def test_recorded_points_keep_partial_credit():
    sub = graded()
    assert reporter_points(github_classroom.render_submission(sub, run(sub))) == (2.5, 16.0)


def test_rejected_carries_reason_and_zero_points():
    (test,) = parsed(rejected())["tests"]
    assert (test["status"], test["score"], test["message"]) == ("error", 0.0, REJECT_REASON)


@pytest.mark.parametrize("count", [0, 2])
def test_render_refuses_other_than_one(count):
    with pytest.raises(ValueError, match="one submission"):
        github_classroom.render(run(*[graded(f"s{i}") for i in range(count)]))


def test_render_one(one_graded):
    assert json.loads(github_classroom.render(one_graded))["status"] == "fail"
