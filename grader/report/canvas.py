"""A Canvas gradebook import file: one assignment column, one row per roster student.

    Student,ID,SIS User ID,SIS Login ID,Section,RNN homework (12345)
    Points Possible,,,,,16
    "Doe, Jane",4021,s123,jdoe,Section 1,12.5

Canvas's rules, as its importer (`GradebookImporter` in instructure/canvas-lms) applies them and
its guide "How do I import grades in the Gradebook?" describes them:
- The header starts with the student columns: `Student` first and `ID` second (the importer refuses
  the file otherwise), then `SIS User ID` and `SIS Login ID`, and `Section` last; every column after
  them is an assignment. A header naming "Current Score", "Final Grade", "Override Score" and the
  like anywhere in it is not an assignment, so an assignment name containing one is refused here.
- A student is found by `ID` (the Canvas user id; read as an integer, so it must be digits or
  empty), else by `SIS User ID`, else `SIS Login ID`, else by name; one found by none is shown to
  the instructor to match by hand. Only the roster fills the id columns, never a file name.
- The assignment column is titled "Assignment Name (assignment id)": a title ending in " (digits)"
  names that existing assignment; any other title matches an assignment of that exact name, or
  creates a new one.
- A row whose first cell contains "Points Possible", right after the header, gives the points in
  the assignment column (blank cells elsewhere); Canvas uses it when it creates the assignment.
  A student name containing "Points Possible" would be read as that row, so it is altered.
- An empty grade cell changes nothing (roster students without a submission); a rejected
  submission gets 0, as in the spreadsheet gradebook.
- A submission with parts awaiting review (the grader could not verify them) gets an empty cell too:
  the import carries one number per student and no comment, and its provisional score (those parts
  at 0) must not reach students as a grade. The remarks on stderr name each such student and part;
  once they are reviewed (`rnn-grader review`), the file made from the gradebook carries the score.

A roster (`read_canvas_roster`) is a CSV keyed by submission name — the file or folder name a
submission was found under (`alice` for `alice.ipynb` or `alice/`), or the student id a grading
roster gave it. Each row's key is its `submission` cell, else its `SIS Login ID`, else its
`SIS User ID`, else its `ID`: Canvas's own gradebook export works as it is when submissions are
named by login, and a `submission` column added to it covers any other naming. The project's
`submission,student` roster works too (the `student` value then fills `Student`).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from grader.report import FormatError
from grader.report.csv_gradebook import csv_line, plain_number, safe_text
from grader.results import GradingResults, SubmissionResult, awaiting_review

STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
KEY_COLUMNS = ("submission", "SIS Login ID", "SIS User ID", "ID")
POINTS_POSSIBLE = "Points Possible"
# The importer drops any header matching one of these (unanchored), so such a name is no assignment.
RESERVED_FRAGMENTS = (
    "Current Score",
    "Current Points",
    "Current Grade",
    "Final Score",
    "Final Points",
    "Final Grade",
    "Override Score",
    "Override Grade",
    "Override Status",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NOT_A_STUDENT = re.compile(r"^\s*(Muted|Manual Posting.*)?\s*$", re.IGNORECASE)

Roster = dict[str, dict[str, str]]


class RosterError(ValueError):
    """A roster file that cannot be used; the message names the file and, where it helps, the line."""


def render(results: GradingResults, roster: Roster, assignment: str, *, points_possible: bool = True) -> str:
    """The import file: header, Points Possible row, roster students in order, then unmatched submissions."""
    return "".join(stream(results, roster, assignment, points_possible=points_possible))


def stream(results: GradingResults, roster: Roster, assignment: str, *, points_possible: bool = True) -> Iterator[str]:
    """The same text in pieces; of each submission only its score cell is kept until its row is written."""
    check_assignment(assignment)
    matched: dict[str, str] = {}
    unmatched: list[tuple[str, str]] = []
    for key, sub in _matches(results, roster):
        if key is None:
            unmatched.append((sub.student, _score_cell(sub)))
        else:
            matched[key] = _score_cell(sub)
    yield csv_line([*STUDENT_COLUMNS, assignment])
    maximum = _points_possible(results)
    if points_possible and maximum is not None:
        yield csv_line([POINTS_POSSIBLE, "", "", "", "", maximum])
    for key, row in roster.items():
        yield csv_line(_student_row(row, matched.get(key, "")))
    for student, cell in unmatched:
        yield csv_line(_student_row({"Student": student}, cell))


def check(roster: Roster, assignment: str | None) -> None:
    """Before grading: the assignment column must be given, and be one Canvas imports."""
    if not assignment:
        raise FormatError('--format canvas needs --assignment "Name (id)": the gradebook column to fill')
    try:
        check_assignment(assignment)
    except ValueError as exc:
        raise FormatError(f"--assignment: {exc}") from None


def remarks(results: GradingResults, roster: Roster, assignment: str | None) -> list[str]:
    """For stderr: roster students who handed nothing in, and submissions Canvas will ask about."""
    lines = [f"no submission: {line}" for line in describe(missing_students(results, roster))]
    lines += [f"not in the roster: {sub.path}" for sub in unmatched_submissions(results, roster)]
    return lines + [
        f"awaiting review, left blank: {_printable(sub.student)} ({_printable(', '.join(awaiting_review(sub)))})"
        for sub in results.submissions
        if awaiting_review(sub)
    ]


def _printable(text: str) -> str:
    return "".join("?" if unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch for ch in text)


def missing_students(results: GradingResults, roster: Roster) -> list[dict[str, str]]:
    """The roster rows no submission matched, in roster order: students who handed nothing in."""
    matched = {key for key, _ in _matches(results, roster) if key is not None}
    return [row for key, row in roster.items() if key not in matched]


def unmatched_submissions(results: GradingResults, roster: Roster) -> list[SubmissionResult]:
    """Submissions no roster row claims (or whose row an earlier submission took): Canvas asks about them."""
    return match_submissions(results, roster)[1]


def match_submissions(
    results: GradingResults, roster: Roster
) -> tuple[dict[str, SubmissionResult], list[SubmissionResult]]:
    """({roster key: its submission}, submissions without a row); a row takes the first submission."""
    matched: dict[str, SubmissionResult] = {}
    unmatched: list[SubmissionResult] = []
    for key, sub in _matches(results, roster):
        if key is None:
            unmatched.append(sub)
        else:
            matched[key] = sub
    return matched, unmatched


def _matches(results: GradingResults, roster: Roster) -> Iterator[tuple[str | None, SubmissionResult]]:
    """(roster key, submission) for each submission in turn, the key None for a submission without a row;
    a row takes the first submission."""
    by_student: dict[str, str] = {}
    for row_key, student in student_ids(roster).items():
        by_student.setdefault(student, row_key)
    taken: set[str] = set()
    for sub in results.submissions:
        key = _roster_key(sub, roster, by_student)
        if key is None or key in taken:
            yield None, sub
        else:
            taken.add(key)
            yield key, sub


def _roster_key(sub: SubmissionResult, roster: Roster, by_student: dict[str, str]) -> str | None:
    """The roster key of a submission: its student name, its path's name, or its student id.

    A file's stem counts only where grading named the submission by its whole file name (alice.py
    beside alice.md) and the suffix is one grading reads: a folder `alice.smith` must never fall
    back to the roster row `alice`.
    """
    from grader.read.submission import READ_SUFFIXES

    path = Path(sub.path)
    by_file_name = sub.student == path.name and path.suffix in READ_SUFFIXES
    candidates = [sub.student, path.name] + ([path.stem] if by_file_name else [])
    for candidate in candidates:
        if candidate in roster:
            return candidate
    return by_student.get(sub.student)


def _student_row(row: dict[str, str], score_cell: str) -> list[str]:
    """One student's cells: who (ids only from the roster) and the score, empty without a submission."""
    cells = [
        _name_cell(row.get("Student", "")),
        _id_cell(row.get("ID", "")),
        _identifier_cell(row.get("SIS User ID", "")),
        _identifier_cell(row.get("SIS Login ID", "")),
        safe_text(row.get("Section", "")),
    ]
    return [*cells, score_cell]


def _score_cell(sub: SubmissionResult) -> str:
    """A submission's grade: empty while parts await review, 0 when it was rejected."""
    if awaiting_review(sub):
        return ""
    return plain_number(sub.score) if sub.status == "graded" else "0"


def _name_cell(name: str) -> str:
    """A name that is neither a formula nor read by Canvas as the Points Possible row."""
    return safe_text(name).replace(POINTS_POSSIBLE, POINTS_POSSIBLE.replace(" ", "\u00a0"))


def _id_cell(value: str) -> str:
    """The Canvas user id, which Canvas reads as an integer: digits or nothing."""
    value = value.strip()
    return value if value.isdigit() and value.isascii() else ""


def _identifier_cell(value: str) -> str:
    """An SIS id exactly as Canvas matches it; one that would run as a formula is defused (and won't match)."""
    return safe_text(value.strip())


def _points_possible(results: GradingResults) -> str | None:
    """The assignment's points: the largest maximum among graded submissions (any, if none is graded)."""
    graded = [sub.max_score for sub in results.submissions if sub.status == "graded"]
    maxima = graded or [sub.max_score for sub in results.submissions]
    return plain_number(max(maxima)) if maxima else None


def check_assignment(assignment: str) -> None:
    """Refuse a title Canvas would not read as an assignment column."""
    title = assignment.strip()
    if not title:
        raise ValueError("the Canvas assignment needs a name, e.g. 'RNN homework (12345)'")
    if title in STUDENT_COLUMNS or any(fragment in title for fragment in RESERVED_FRAGMENTS):
        raise ValueError(f"Canvas does not import a column titled {assignment!r} as an assignment")
    if title.startswith(_FORMULA_START) or any(ch in title for ch in "\r\n"):
        raise ValueError(f"the Canvas assignment name {assignment!r} cannot start a formula or span lines")


def read_canvas_roster(path: str | Path) -> Roster:
    """A roster keyed by submission name, from a Canvas gradebook export or a `submission,...` CSV."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        if not any(column in header for column in KEY_COLUMNS):
            raise RosterError(f"{path}: a Canvas roster needs one of the columns {', '.join(KEY_COLUMNS)}")
        return _roster_rows(path, reader)


def _roster_rows(path: str | Path, reader: csv.DictReader) -> Roster:
    roster: Roster = {}
    for raw in reader:
        values = {name: (value or "").strip() for name, value in raw.items() if isinstance(name, str)}
        if _is_not_a_student(values):
            continue
        where = f"{path}, line {reader.line_num}"
        key = next((values[column] for column in KEY_COLUMNS if values.get(column)), "")
        if not key:
            raise RosterError(f"{where}: no {', '.join(KEY_COLUMNS)} to match a submission by")
        if key in roster:
            raise RosterError(f"{where}: {key!r} names two roster rows")
        roster[key] = _roster_row(values, where)
    return roster


def _is_not_a_student(values: dict[str, str]) -> bool:
    """Canvas export rows that describe assignments (Points Possible, Muted, Manual Posting) or nothing."""
    if POINTS_POSSIBLE in values.get("Student", ""):
        return True
    return all(_NOT_A_STUDENT.match(value) for value in values.values())


def _roster_row(values: dict[str, str], where: str) -> dict[str, str]:
    """The student columns of a roster line (and its grading id, `student`), checked for Canvas."""
    row = {column: values.get(column, "") for column in STUDENT_COLUMNS}
    row["student"] = values.get("student", "")
    row["Student"] = row["Student"] or row["student"]
    if row["ID"] and not (row["ID"].isdigit() and row["ID"].isascii()):
        raise RosterError(f"{where}: ID {row['ID']!r} is not a Canvas user id (digits only)")
    for column in ("SIS User ID", "SIS Login ID"):
        if row[column].startswith(_FORMULA_START):
            raise RosterError(f"{where}: {column} {row[column]!r} would run as a spreadsheet formula")
    return row


def student_ids(roster: Roster) -> dict[str, str]:
    """{submission name: student id} for grading (`GradingOptions.roster`): `student`, else SIS ids, else ID."""
    return {key: _student_id(key, row) for key, row in roster.items()}


def _student_id(key: str, row: dict[str, str]) -> str:
    for column in ("student", "SIS Login ID", "SIS User ID", "ID"):
        if row.get(column):
            return row[column]
    return key


def describe(rows: Iterable[dict[str, str]]) -> list[str]:
    """One line per roster row, for stderr: name and ids Canvas knows the student by, control characters as ?."""
    lines = []
    for row in rows:
        ids = ", ".join(f"{column} {row[column]}" for column in STUDENT_COLUMNS[1:4] if row.get(column))
        line = f"{row.get('Student') or '(no name)'}" + (f" ({ids})" if ids else "")
        lines.append("".join("?" if unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch for ch in line))
    return lines
