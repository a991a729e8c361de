"""The CSV gradebook: parses back, numeric grade cells, one column per question."""

from __future__ import annotations

import csv
import io

import pytest
from report_cases import FORMULA_STUDENT, TRICKY_STUDENT, graded, graded_questions, question, run

from grader.report import csv_gradebook


def rows(results) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_gradebook.render(results))))


def test_header(results):
    header = rows(results)[0]
    assert header == ["student", "score", "max_score", "shapes.a_t", "grad_W_H", "loss", "forward", "bptt.b_h"]


def test_one_row_per_submission(results):
    assert len(rows(results)) == 1 + len(results.submissions)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # graded: the name with comma and quotes round-trips; partial credit kept; missing is 0
        (1, [TRICKY_STUDENT, "2.5", "16", "1", "0", "0", "1.5", "0"]),
        # rejected: total 0, no question graded (empty = no grade); a formula-like name is defused
        (2, ["'" + FORMULA_STUDENT, "0", "16", "", "", "", "", ""]),
    ],
)
def test_row_values(results, row, expected):
    assert rows(results)[row] == expected


def test_every_grade_cell_is_numeric_or_empty(results):
    # Canvas makes new assignments of unknown columns; Moodle aborts on a non-numeric grade.
    for row in rows(results)[1:]:
        for cell in row[1:]:
            assert cell == "" or float(cell) >= 0


def test_question_columns_are_union_in_first_seen_order():
    extra = graded_questions()[:2] + [question("bptt.b_y", 1.0, 1.0, "passed")]
    header, first, second = rows(run(graded("ann", graded_questions()[:2]), graded("ben", extra)))
    assert header[3:] == ["shapes.a_t", "grad_W_H", "bptt.b_y"]
    assert first[3:] == ["1", "0", ""]  # ann's result does not list bptt.b_y: no grade
    assert second[3:] == ["1", "0", "1"]


def test_no_float_dust_or_exponent():
    qs = [question("q", 1 / 3, 1.0, "failed"), question("r", 0.00001, 1.0, "failed")]
    assert rows(run(graded("ann", qs)))[1] == ["ann", "0.333343", "2", "0.333333", "0.00001"]


def test_empty_run_has_only_the_header():
    assert csv_gradebook.render(run()) == "student,score,max_score\n"
