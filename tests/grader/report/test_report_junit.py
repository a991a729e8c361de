"""JUnit XML: well-formed, counts right, and the elements GitLab and GitHub reporters read."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from report_cases import REJECT_REASON, TRICKY_FEEDBACK, TRICKY_STUDENT, graded, run

from grader.report import junit


def parse(results) -> ET.Element:
    return ET.fromstring(junit.render(results).encode("utf-8"))


def case(root: ET.Element, suite: int, name: str) -> ET.Element:
    return next(c for c in root.findall("testsuite")[suite] if c.get("name") == name)


def test_declaration_and_root(results):
    text = junit.render(results)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text)  # parses as str too
    assert root.tag == "testsuites" and root.get("name") == "rnn-bptt"


def test_one_suite_per_submission_one_case_per_question(results):
    graded_suite, rejected_suite = parse(results).findall("testsuite")
    assert graded_suite.get("name") == TRICKY_STUDENT  # quotes, <, &, ∂, × round-trip
    names = [c.get("name") for c in graded_suite.findall("testcase")]
    assert names == ["shapes.a_t", "grad_W_H", "loss", "forward", "bptt.b_h"]
    assert {c.get("classname") for c in graded_suite.findall("testcase")} == {TRICKY_STUDENT}
    assert [c.get("name") for c in rejected_suite.findall("testcase")] == ["submission"]


@pytest.mark.parametrize(
    ("qid", "element"),
    [
        ("shapes.a_t", None),  # passed: a bare testcase is a pass to every reader
        ("grad_W_H", "failure"),  # lost points are a failure
        ("bptt.b_h", "failure"),  # a missing answer loses points: failure
        ("loss", "error"),  # student code raised: error
        ("forward", "error"),  # timeout: error
    ],
)
def test_status_becomes_element(results, qid, element):
    children = [child.tag for child in case(parse(results), 0, qid)]
    assert children == ([element] if element else [])


@pytest.mark.parametrize(
    ("where", "tests", "failures", "errors"),
    [
        ("root", 6, 2, 3),  # totals across suites: 5 questions + 1 rejected case
        (0, 5, 2, 2),  # graded suite: failed+missing are failures, error+timeout are errors
        (1, 1, 0, 1),  # rejected suite: one errored case
    ],
)
def test_counts(results, where, tests, failures, errors):
    root = parse(results)
    element = root if where == "root" else root.findall("testsuite")[where]
    counts = [element.get(key) for key in ("tests", "failures", "errors", "skipped")]
    assert counts == [str(tests), str(failures), str(errors), "0"]
    assert element.get("time") == "0"


def test_failure_text_carries_full_feedback_and_message_its_first_line(results):
    failure = case(parse(results), 0, "grad_W_H").find("failure")
    assert failure.text.startswith(TRICKY_FEEDBACK)  # GitLab shows the element text
    assert "missing-tanh-derivative" in failure.text and "0/6" in failure.text
    assert failure.get("message") == TRICKY_FEEDBACK.splitlines()[0]  # GitHub actions annotate with it
    assert failure.get("type") == "failed"


def test_control_characters_are_written_visibly(results):
    error = case(parse(results), 0, "loss").find("error")
    assert "\\x1b[31mred" in error.text and "\\x00" in error.text


def test_rejected_case_has_error_with_reason(results):
    error = case(parse(results), 1, "submission").find("error")
    assert error.text == REJECT_REASON
    assert error.get("message") == REJECT_REASON.splitlines()[0]


def test_suite_properties(results):
    properties = parse(results).find("testsuite/properties")
    values = {p.get("name"): p.get("value") for p in properties}
    assert values == {"path": results.submissions[0].path, "score": "2.5", "max_score": "16.0", "status": "graded"}


def test_no_submissions_is_still_valid():
    root = parse(run())
    assert (root.get("tests"), root.findall("testsuite")) == ("0", [])


def test_case_keys_unique_across_students():
    # GitLab keys cases by classname + name and drops duplicates: two students must not collide.
    root = parse(run(graded("ann"), graded("ben")))
    keys = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert len(keys) == len(set(keys)) == 10
