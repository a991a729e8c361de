"""The spreadsheet gradebook: parses back, numeric grade cells, a diagnosis beside each question's score."""

from __future__ import annotations

import csv
import io

import pytest
from report_cases import FORMULA_STUDENT, TRICKY_STUDENT, graded, graded_questions, question, run

from grader.report import csv_gradebook

QUESTION_IDS = ["shapes.a_t", "grad_W_H", "loss", "forward", "bptt.b_h"]


def rows(results) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_gradebook.render(results))))


def score_cells(row: list[str]) -> list[str]:
    """The question score cells of a row (every other cell after the fixed three)."""
    return row[3::2]


def diagnosis_cells(row: list[str]) -> list[str]:
    return row[4::2]


def test_header_has_each_diagnosis_right_after_its_score(results):
    header = rows(results)[0]
    assert header[:3] == ["student", "score", "max_score"]
    assert header[3:] == [cell for qid in QUESTION_IDS for cell in (qid, f"{qid} diagnosis")]


def test_one_row_per_submission(results):
    assert len(rows(results)) == 1 + len(results.submissions)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # graded: the name with comma and quotes round-trips; partial credit kept; missing is 0
        (1, [TRICKY_STUDENT, "2.5", "16", "1", "", "0", "missing-tanh-derivative", "0", "", "1.5", "", "0", ""]),
        # rejected: total 0, no question graded (empty = no grade); a formula-like name is defused
        (2, ["'" + FORMULA_STUDENT, "0", "16"] + [""] * 10),
    ],
)
def test_row_values(results, row, expected):
    assert rows(results)[row] == expected


def test_every_grade_cell_is_numeric_or_empty(results):
    # the score columns stay importable as grades: Moodle aborts on a non-numeric grade
    for row in rows(results)[1:]:
        for cell in row[1:3] + score_cells(row):
            assert cell == "" or float(cell) >= 0


def test_diagnosis_cells_hold_only_diagnoses(results):
    known = {q.diagnosis for q in graded_questions() if q.diagnosis}
    for row in rows(results)[1:]:
        assert set(diagnosis_cells(row)) <= known | {""}


def test_a_spreadsheet_can_count_each_diagnosis():
    mistake = {"diagnosis": "transposed"}
    subs = [graded(name, [question("grad_W_H", 0.0, 6.0, "failed", **mistake if name != "cy" else {})])
            for name in ("ann", "ben", "cy")]
    header, *body = rows(run(*subs))
    column = header.index("grad_W_H diagnosis")
    assert [row[column] for row in body] == ["transposed", "transposed", ""]


def test_a_formula_like_diagnosis_is_defused():
    sub = graded("ann", [question("q", 0.0, 1.0, "failed", diagnosis="=cmd|' /C calc'!A0")])
    assert rows(run(sub))[1][4] == "'=cmd|' /C calc'!A0"


def test_question_columns_are_union_in_first_seen_order():
    extra = graded_questions()[:2] + [question("bptt.b_y", 1.0, 1.0, "passed")]
    header, first, second = rows(run(graded("ann", graded_questions()[:2]), graded("ben", extra)))
    assert score_cells(header) == ["shapes.a_t", "grad_W_H", "bptt.b_y"]
    assert score_cells(first) == ["1", "0", ""]  # ann's result does not list bptt.b_y: no grade
    assert diagnosis_cells(first) == ["", "missing-tanh-derivative", ""]
    assert score_cells(second) == ["1", "0", "1"]


def test_no_float_dust_or_exponent():
    qs = [question("q", 1 / 3, 1.0, "failed"), question("r", 0.00001, 1.0, "failed")]
    assert rows(run(graded("ann", qs)))[1] == ["ann", "0.333343", "2", "0.333333", "", "0.00001", ""]


def test_empty_run_has_only_the_header():
    assert csv_gradebook.render(run()) == "student,score,max_score\n"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_safe_text_defuses_formula_starts(text):
    assert csv_gradebook.safe_text(text) == "'" + text


def test_safe_text_replaces_undecodable_bytes():
    assert csv_gradebook.safe_text("b\udcffo") == "b\ufffdo"
