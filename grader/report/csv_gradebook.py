"""A CSV gradebook: one row per submission, one column per question.

    student,score,max_score,shapes.a_t,grad_W_H,...

Shaped for the grade imports of Canvas- and Moodle-like gradebooks:
- No `status` (or any text) column. Canvas turns every column it does not recognise into a new
  assignment, and Moodle aborts an import on a non-numeric grade in a mapped column ("badgrade");
  every column after `student` is therefore a number or empty. A rejected submission is visible
  by its total of 0 with every question cell empty.
- Empty means "no grade": Moodle reads "" (or "-") as no grade, Canvas leaves the cell ungraded.
  It is used where a question was not graded (a rejected submission, or a question a submission's
  result does not list); a question graded as missing gets 0.
- Question columns are the union of question ids in first-seen order, which is the exercise's order.
- A student cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is prefixed
  with an apostrophe, since student names come from file names students chose.
- Rows end in "\\n": the caller writes text, and "\\r\\n" would become "\\r\\r\\n" under newline
  translation; both importers accept either ending.
"""

from __future__ import annotations

import csv
import io

from grader.results import GradingResults, SubmissionResult

_FIXED_COLUMNS = ["student", "score", "max_score"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render(results: GradingResults) -> str:
    """The gradebook of a run: a header, then one row per submission."""
    question_ids = _question_ids(results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_FIXED_COLUMNS + question_ids)
    writer.writerows(_row(sub, question_ids) for sub in results.submissions)
    return buffer.getvalue()


def _question_ids(results: GradingResults) -> list[str]:
    """Every question id of the run, in the order first seen."""
    seen: dict[str, None] = {}
    for sub in results.submissions:
        seen.update((q.id, None) for q in sub.questions)
    return list(seen)


def _row(sub: SubmissionResult, question_ids: list[str]) -> list[str]:
    graded = sub.status == "graded"
    scores = {q.id: _num(q.score) for q in sub.questions} if graded else {}
    total = _num(sub.score) if graded else "0"
    cells = [_student_cell(sub.student), total, _num(sub.max_score)]
    return cells + [scores.get(qid, "") for qid in question_ids]


def _num(value: float) -> str:
    """A plain decimal (no exponent, no float dust, no needless `.0`): 17, 0.5, 0.333333."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _student_cell(student: str) -> str:
    """The name as a spreadsheet shows it, never as a formula; undecodable bytes as U+FFFD."""
    text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in student)
    return "'" + text if text.startswith(_FORMULA_START) else text
