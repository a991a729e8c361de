"""Gradescope results.json: the fields and values the autograder specification defines."""

from __future__ import annotations

import json

import pytest
from report_cases import REJECT_REASON, TRICKY_FEEDBACK, graded, rejected, run

from grader.report import gradescope

# Keys the specification lists (gradescope/autograder_samples docs/specs.md, "Output format").
TOP_LEVEL_KEYS = {
    "score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
    "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard",
}
TEST_KEYS = {
    "score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
    "tags", "visibility", "extra_data",
}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def parsed(sub=None) -> dict:
    sub = sub or graded()
    return json.loads(gradescope.render_submission(sub, run(sub)))


@pytest.mark.parametrize("sub", [graded(), rejected()], ids=["graded", "rejected"])
def test_only_specified_keys_and_values(sub):
    document = parsed(sub)
    assert set(document) <= TOP_LEVEL_KEYS
    assert document["output_format"] in FORMATS and document["stdout_visibility"] in VISIBILITIES
    for test in document["tests"]:
        assert set(test) <= TEST_KEYS
        assert test["status"] in {"passed", "failed"}
        assert test["output_format"] in FORMATS and test["name_format"] in FORMATS
        assert all(isinstance(tag, str) for tag in test.get("tags", []))


def test_graded_score_and_one_test_per_question():
    document = parsed()
    assert document["score"] == 2.5
    assert [t["name"] for t in document["tests"]] == ["shapes.a_t", "grad_W_H", "loss", "forward", "bptt.b_h"]
    assert [t["number"] for t in document["tests"]] == ["1", "2", "3", "4", "5"]
    assert sum(t["score"] for t in document["tests"]) == document["score"]
    assert [t["max_score"] for t in document["tests"]] == [1.0, 6.0, 3.0, 4.0, 2.0]


@pytest.mark.parametrize(
    ("qid", "status"),
    [
        ("shapes.a_t", "passed"),  # full marks
        ("grad_W_H", "failed"),  # points lost to a wrong answer
        ("loss", "failed"),  # student code raised: a fail, not a grader problem
        ("forward", "failed"),  # a timeout fails even with partial points (1.5/4)
        ("bptt.b_h", "failed"),  # no answer fails although nothing ran
    ],
)
def test_status_mapping(qid, status):
    assert next(t for t in parsed()["tests"] if t["name"] == qid)["status"] == status


def test_feedback_and_diagnosis_reach_the_student():
    test = next(t for t in parsed()["tests"] if t["name"] == "grad_W_H")
    assert test["output"].startswith(TRICKY_FEEDBACK)  # quotes, <, &, ∂, × and the newline intact
    assert "missing-tanh-derivative" in test["output"]
    assert test["tags"] == ["missing-tanh-derivative"]


def test_text_formats_so_angle_brackets_are_not_html():
    # The top-level output defaults to simple_format (HTML); feedback holds "<check>".
    document = parsed()
    assert document["output_format"] == document["test_output_format"] == "text"


def test_missing_answer_gets_an_explanation():
    test = next(t for t in parsed()["tests"] if t["name"] == "bptt.b_h")
    assert test["output"]  # the question had no feedback of its own


def test_rejected_gets_zero_and_the_reason():
    document = parsed(rejected())
    assert document["score"] == 0
    assert REJECT_REASON in document["output"]
    assert [t["status"] for t in document["tests"]] == ["failed"]
    assert "score" not in document["tests"][0]  # informational check: adds no points


def test_render_one_submission_matches_render_submission(one_graded):
    sub = one_graded.submissions[0]
    assert gradescope.render(one_graded) == gradescope.render_submission(sub, one_graded)


@pytest.mark.parametrize("count", [0, 2])
def test_render_refuses_other_than_one(count):
    with pytest.raises(ValueError, match="one submission"):
        gradescope.render(run(*[graded(f"s{i}") for i in range(count)]))
