"""The terminal table: aligned, first feedback line where points were lost, a summary."""

from __future__ import annotations

import pytest
from report_cases import FORMULA_STUDENT, TRICKY_FEEDBACK, TRICKY_STUDENT, graded, question, run

from grader.report import table


def lines(results) -> list[str]:
    return table.render(results).splitlines()


def test_layout(results):
    out = lines(results)
    assert out[0].startswith(TRICKY_STUDENT) and out[0].endswith("2.5/16  graded")
    assert out[1] == "  shapes.a_t    1/1  passed"
    assert out[2] == "  grad_W_H      0/6  failed   missing-tanh-derivative"
    assert out[3] == "      " + TRICKY_FEEDBACK.splitlines()[0]
    assert out[-1] == "1 graded, 1 rejected, mean score 2.5/16 (15.6%)"


@pytest.mark.parametrize(
    ("qid", "feedback_shown"),
    [
        ("shapes.a_t", False),  # passed: no feedback line
        ("grad_W_H", True),  # failed: first line of feedback
        ("loss", True),  # error
        ("forward", True),  # timeout
        ("bptt.b_h", False),  # missing without feedback: nothing to show, no empty line
    ],
)
def test_feedback_line_only_where_points_were_lost(results, qid, feedback_shown):
    out = lines(results)
    index = next(i for i, line in enumerate(out) if line.startswith(f"  {qid} "))
    assert out[index + 1].startswith("      ") == feedback_shown


def test_only_first_line_of_feedback(results):
    assert "second line" not in table.render(results)


def test_rejected_shows_reason(results):
    line = next(line for line in lines(results) if line.startswith(FORMULA_STUDENT))
    assert line.endswith('0/16  rejected: not a notebook: "hw.ipynb" <broken> & unreadable')


def test_control_characters_cannot_reach_the_terminal(results):
    text = table.render(results)
    assert "\x1b" not in text and "\x00" not in text
    assert "printed ?[31mred?[0m" in text


def test_columns_align_across_submissions():
    out = lines(run(graded("ann"), graded("bartholomew", [question("q", 10.0, 10.0, "passed")])))
    out = out[:out.index("mistakes in this class:")] + out[-1:]  # the class's mistakes are not rows
    heads = [line for line in out if not line.startswith(" ")][:-1]
    assert len({line.index("graded") for line in heads}) == 1
    rows = [line for line in out if line.startswith("  ") and not line.startswith("      ")]
    assert len({line.index("/") for line in rows}) == 1  # question scores right-aligned on "/"


@pytest.mark.parametrize(
    ("submissions", "summary"),
    [
        ([], "0 graded, 0 rejected, no mean score"),  # empty run
        ([graded("a", [question("q", 1.0, 2.0, "failed")]),
          graded("b", [question("q", 2.0, 2.0, "passed")])],
         "2 graded, 0 rejected, mean score 1.5/2 (75.0%)"),  # mean over graded submissions
    ],
)
def test_summary(submissions, summary):
    assert lines(run(*submissions))[-1] == summary


def test_the_class_mistakes_are_counted_per_question():
    out = lines(run(graded("ann"), graded("bob"), graded("cy", [question("grad_W_H", 0, 6, "failed",
                                                                          diagnosis="truncated-bptt")])))
    block = out[out.index("mistakes in this class:") + 1:-1]
    assert block == ["  grad_W_H: missing-tanh-derivative 2, truncated-bptt 1"]


def test_a_grader_error_is_shown_to_the_instructor_in_one_line():
    failing = question("grad_W_H", 0, 6, "error", feedback="Grader error", grader_error="KeyError: 'W_HH'")
    text = table.render(run(graded("ann", [failing])))
    assert "      grader error: KeyError: 'W_HH'" in text.splitlines()


def test_wrong_answers_no_known_mistake_explains_are_counted_beside_the_diagnoses():
    unexplained = question("grad_W_H", 0, 6, "failed", feedback="Passed 0 of 3 cases.")
    raised = question("grad_W_H", 0, 6, "error", feedback="raised ValueError")  # an error is not a wrong answer
    out = lines(run(graded("ann"), graded("bob", [unexplained]), graded("cy", [unexplained]), graded("di", [raised])))
    block = out[out.index("mistakes in this class:") + 1:-1]
    assert block == ["  grad_W_H: missing-tanh-derivative 1; wrong, no known mistake 2"]
