"""The Canvas import file, read back the way Canvas's GradebookImporter reads it, and the Canvas roster."""

from __future__ import annotations

import csv
import io
import re

import pytest
from report_cases import FORMULA_STUDENT, TRICKY_STUDENT, graded, rejected, run

from grader.report import canvas
from grader.results import SubmissionResult

ASSIGNMENT = "RNN homework (12345)"
HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
# Canvas reads "Title (digits)" as the id of an existing assignment (Assignment.title_and_id).
TITLE_AND_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z")


def canvas_row(name: str, canvas_id: str = "", sis_user: str = "", login: str = "", section: str = "") -> dict:
    return {"Student": name, "ID": canvas_id, "SIS User ID": sis_user, "SIS Login ID": login,
            "Section": section, "student": ""}


ROSTER = {
    "jdoe": canvas_row("Doe, Jane", "4021", "s100", "jdoe", "Section 1"),
    "bsmith": canvas_row("Smith, Bo", "4022", "s101", "bsmith", "Section 1"),
    "cwu": canvas_row("Wu, Cy", "4023", "s102", "cwu", "Section 2"),
}


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def render(results, roster=ROSTER, assignment=ASSIGNMENT, **options) -> list[list[str]]:
    return rows(canvas.render(results, roster, assignment, **options))


def class_results():
    """jdoe graded 2.5/16, bsmith rejected, cwu handed nothing in, one file no roster row names."""
    return run(graded("jdoe"), rejected("bsmith"), graded("stray"))


# --- the header and the Points Possible row -------------------------------------------------------

def test_header_is_the_student_columns_then_the_assignment():
    assert render(class_results())[0] == HEADER


def test_header_passes_canvas_header_check():
    header = render(class_results())[0]
    # GradebookImporter#row_has_student_headers? and #update_column_count: Student, ID, then SIS
    # User ID and SIS Login ID together, and the last student column must be Section.
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1]
    assert re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
    assert "Section" in header[4]
    title, assignment_id = TITLE_AND_ID.match(header[5]).groups()
    assert (title, assignment_id) == ("RNN homework", "12345")


def test_points_possible_row_follows_the_header():
    pp_row = render(class_results())[1]
    assert "Points Possible" in pp_row[0]
    assert pp_row[1:5] == ["", "", "", ""]
    assert pp_row[5] == "16"


def test_points_possible_row_can_be_left_out():
    assert not any("Points Possible" in row[0] for row in render(class_results(), points_possible=False))


def test_no_points_possible_row_without_any_submission():
    table = render(run())
    assert table[0] == HEADER
    assert [row[0] for row in table[1:]] == ["Doe, Jane", "Smith, Bo", "Wu, Cy"]  # every cell empty
    assert all(row[5] == "" for row in table[1:])


def test_every_row_has_the_header_width_and_parses_with_commas():
    table = render(class_results())
    assert {len(row) for row in table} == {len(HEADER)}
    # GradebookImporter#identify_delimiter: ';' only if the first three lines split into equal
    # counts with it, and more fields than with ','
    first_lines = canvas.render(class_results(), ROSTER, ASSIGNMENT).splitlines()[:3]
    counts = {sep: {len(next(csv.reader([line], delimiter=sep))) for line in first_lines} for sep in ";,"}
    assert counts[","] == {len(HEADER)}
    assert len(counts[";"]) > 1 or max(counts[";"]) <= len(HEADER)


# --- student rows ---------------------------------------------------------------------------------

def student_rows(table: list[list[str]]) -> list[list[str]]:
    return [row for row in table[1:] if "Points Possible" not in row[0]]


def test_roster_students_in_roster_order_with_their_scores():
    body = student_rows(render(class_results()))
    assert body[:3] == [
        ["Doe, Jane", "4021", "s100", "jdoe", "Section 1", "2.5"],
        ["Smith, Bo", "4022", "s101", "bsmith", "Section 1", "0"],  # rejected: 0
        ["Wu, Cy", "4023", "s102", "cwu", "Section 2", ""],  # no submission: empty, Canvas changes nothing
    ]


def test_a_submission_without_roster_row_comes_last_with_no_ids():
    body = student_rows(render(class_results()))
    assert body[3:] == [["stray", "", "", "", "", "2.5"]]


def test_every_score_cell_is_a_number_or_empty():
    for row in student_rows(render(class_results())):
        assert row[5] == "" or float(row[5]) >= 0


def test_id_cells_are_canvas_user_ids_or_empty():
    # Canvas reads ID with to_i: "12abc" would find user 12
    roster = {"x": canvas_row("X", "12abc", login="x"), "y": canvas_row("Y", "٣", login="y")}
    body = student_rows(render(run(graded("x"), graded("y")), roster))
    assert [row[1] for row in body] == ["", ""]
    for row in student_rows(render(class_results())):
        assert row[1] == "" or row[1].isdigit()


def test_without_roster_every_submission_is_a_row_by_name():
    body = student_rows(render(class_results(), {}))
    assert [row[0] for row in body] == ["jdoe", "bsmith", "stray"]
    assert all(row[1:5] == ["", "", "", ""] for row in body)


# --- injection --------------------------------------------------------------------------------------

def test_formula_like_names_and_sections_are_defused():
    roster = {"m": canvas_row("=HYPERLINK(\"x\")", "7", section="@SUM(A1)")}
    body = student_rows(render(run(graded("m"), rejected()), roster))
    assert body[0][0] == "'=HYPERLINK(\"x\")" and body[0][4] == "'@SUM(A1)"
    assert body[1][0] == "'" + FORMULA_STUDENT


def test_formula_like_sis_ids_are_defused_even_if_given():
    roster = {"m": canvas_row("M", sis_user="=1+1", login="-2")}
    row = student_rows(render(run(graded("m")), roster))[0]
    assert row[2:4] == ["'=1+1", "'-2"]


def test_tricky_name_round_trips():
    body = student_rows(render(run(graded()), {}))
    assert body[0][0] == TRICKY_STUDENT


def test_a_name_canvas_would_read_as_the_points_possible_row_is_altered():
    table = render(run(graded("Points Possible")), {})
    assert [row[0] for row in table if "Points Possible" in row[0]] == ["Points Possible"]  # only the real one
    assert student_rows(table)[0][0] == "Points\u00a0Possible"


@pytest.mark.parametrize("name", ["", "  ", "Final Grade", "HW (Current Score)", "Section", "=cmd", "a\nb"])
def test_assignment_names_canvas_would_not_import_are_refused(name):
    with pytest.raises(ValueError):
        canvas.render(class_results(), ROSTER, name)


def test_assignment_name_without_id_is_kept_as_written():
    assert render(class_results(), assignment="RNN homework")[0][5] == "RNN homework"


# --- matching submissions to roster rows ------------------------------------------------------------

def test_missing_students_lists_roster_rows_without_submission():
    assert canvas.missing_students(class_results(), ROSTER) == [ROSTER["cwu"]]
    assert canvas.describe(canvas.missing_students(class_results(), ROSTER)) == [
        "Wu, Cy (ID 4023, SIS User ID s102, SIS Login ID cwu)"]


def test_unmatched_submissions():
    assert [sub.student for sub in canvas.unmatched_submissions(class_results(), ROSTER)] == ["stray"]


def test_describe_hides_control_characters():
    assert canvas.describe([canvas_row("Eve\x1b[2J\u202e")]) == ["Eve?[2J?"]


def test_matches_by_student_id_given_at_grading():
    # the CLI may grade with student_ids(roster): the result then carries the id, not the file name
    roster = {"alice": canvas_row("Alice A", "9", login="aa1")}
    assert canvas.student_ids(roster) == {"alice": "aa1"}
    sub = graded("aa1").model_copy(update={"path": "subs/alice.ipynb"})
    assert student_rows(render(run(sub), roster)) == [["Alice A", "9", "", "aa1", "", "2.5"]]


def test_matches_by_folder_name():
    sub = SubmissionResult(path="subs/alice", student="Alice-renamed", status="graded", score=1, max_score=2)
    roster = {"alice": canvas_row("Alice A", "9")}
    assert student_rows(render(run(sub), roster))[0][5] == "1"


def test_a_dotted_folder_never_falls_back_to_its_stem():
    sub = SubmissionResult(path="subs/alice.smith", student="alice.smith", status="graded", score=1, max_score=2)
    roster = {"alice": canvas_row("Alice A", "9")}
    assert canvas.unmatched_submissions(run(sub), roster) == [sub]


def test_two_files_of_one_student_fill_the_row_once():
    # alice.py beside alice.md: grading names them by file; the first takes the row, Canvas asks about the other
    first = SubmissionResult(path="subs/alice.md", student="alice.md", status="graded", score=1, max_score=2)
    second = SubmissionResult(path="subs/alice.py", student="alice.py", status="graded", score=2, max_score=2)
    roster = {"alice": canvas_row("Alice A", "9")}
    body = student_rows(render(run(first, second), roster))
    assert body == [["Alice A", "9", "", "", "", "1"], ["alice.py", "", "", "", "", "2"]]


# --- reading a roster -------------------------------------------------------------------------------

CANVAS_EXPORT = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,HW 1 (111),Current Score,Final Score\n"
    "    Points Possible,,,,,10,(read only),(read only)\n"
    ",,,,,Manual Posting,,\n"
    "\"Doe, Jane\",4021,s100,jdoe,Section 1,8,80,80\n"
    "\"Wu, Cy\",4023,s102,,Section 2,,,\n"
    "\"Student, Test\",4099,,,Section 1,,,\n"
)


def write(tmp_path, text: str):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_canvas_export_keyed_by_login_then_sis_id_then_id(tmp_path):
    roster = canvas.read_canvas_roster(write(tmp_path, CANVAS_EXPORT))
    assert list(roster) == ["jdoe", "s102", "4099"]
    assert roster["jdoe"] == {"Student": "Doe, Jane", "ID": "4021", "SIS User ID": "s100",
                              "SIS Login ID": "jdoe", "Section": "Section 1", "student": ""}


def test_submission_column_wins(tmp_path):
    text = "submission,Student,ID,SIS Login ID\njane_doe_hw,\"Doe, Jane\",4021,jdoe\n,\"Wu, Cy\",4023,cwu\n"
    roster = canvas.read_canvas_roster(write(tmp_path, text))
    assert list(roster) == ["jane_doe_hw", "cwu"]


def test_reads_the_submission_student_roster(tmp_path):
    roster = canvas.read_canvas_roster(write(tmp_path, "submission,student\nalice,s1234\n"))
    assert roster["alice"]["Student"] == "s1234" and roster["alice"]["student"] == "s1234"
    assert canvas.student_ids(roster) == {"alice": "s1234"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Student,Section\nJane,1\n", "needs one of the columns"),
        ("Student,SIS Login ID\nJane,jdoe\nJo,jdoe\n", "line 3: 'jdoe' names two roster rows"),
        ("Student,ID\nJane,40x\n", "line 2: ID '40x' is not a Canvas user id"),
        ("Student,SIS Login ID\nJane,=1+1\n", "would run as a spreadsheet formula"),
        ("Student,SIS Login ID,Section\nJane,,S1\n", "line 2: no submission"),
    ],
)
def test_roster_errors_name_file_and_line(tmp_path, text, message):
    with pytest.raises(canvas.RosterError, match=re.escape(message)):
        canvas.read_canvas_roster(write(tmp_path, text))


def test_round_trip_from_a_canvas_export(tmp_path):
    roster = canvas.read_canvas_roster(write(tmp_path, CANVAS_EXPORT))
    table = render(run(graded("jdoe")), roster, "HW 1 (111)")
    assert student_rows(table) == [
        ["Doe, Jane", "4021", "s100", "jdoe", "Section 1", "2.5"],
        ["Wu, Cy", "4023", "s102", "", "Section 2", ""],
        ["Student, Test", "4099", "", "", "Section 1", ""],
    ]
