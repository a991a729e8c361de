"""The spreadsheet gradebook: one row per submission; per question, its score and its diagnosis.

    student,score,max_score,shapes.a_t,shapes.a_t diagnosis,grad_W_H,grad_W_H diagnosis,...

This file is for reading, sorting and counting in a spreadsheet (`=COUNTIF(E:E,"transposed")`).
To import grades into Canvas, use `--format canvas` (`grader/report/canvas.py`), which is shaped
for Canvas's importer; this file is not:
- Each `<question id> diagnosis` column, right after that question's score, holds the stable id of
  the recognised mistake (`missing-tanh-derivative`, `transposed`, …) or is empty. It is text, so
  Canvas would turn it into an assignment of its own and Moodle would refuse it as a grade: to
  import this file into Moodle anyway, map only `score` and the question score columns.
- Every other column after `student` is a number or empty, as before, so those columns still
  import as grades. A rejected submission has a total of 0 and every question cell empty.
- Empty means "no grade": used where a question was not graded (a rejected submission, or a
  question a submission's result does not list); a question graded as missing gets 0.
- Question columns are the union of question ids in first-seen order, which is the exercise's order.
- When any part awaits review (0 points until a person reviews it), a last column `awaiting review`
  lists, per submission, the ids of those questions separated by spaces (empty for the others).
- A text cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is prefixed
  with an apostrophe, since student names come from file names students chose.
- Rows end in "\\n": the caller writes text, and "\\r\\n" would become "\\r\\r\\n" under newline
  translation; spreadsheets and importers accept either ending.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from grader.results import GradingResults, SubmissionResult, awaiting_review

_FIXED_COLUMNS = ["student", "score", "max_score"]
AWAITING_REVIEW_COLUMN = "awaiting review"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DIAGNOSIS_SUFFIX = " diagnosis"


def render(results: GradingResults) -> str:
    """The gradebook of a run: a header, then one row per submission."""
    return "".join(stream(results))


def stream(results: GradingResults) -> Iterator[str]:
    """The same text in pieces: the header, then each submission's row."""
    question_ids = _question_ids(results)
    reviews = any(awaiting_review(sub) for sub in results.submissions)
    yield csv_line(_FIXED_COLUMNS + _question_headers(question_ids) + ([AWAITING_REVIEW_COLUMN] if reviews else []))
    for sub in results.submissions:
        yield csv_line(_row(sub, question_ids) + ([safe_text(" ".join(awaiting_review(sub)))] if reviews else []))


def csv_line(cells: list[str]) -> str:
    """One row of CSV text, ending in "\\n"."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _question_ids(results: GradingResults) -> list[str]:
    """Every question id of the run, in the order first seen."""
    seen: dict[str, None] = {}
    for sub in results.submissions:
        seen.update((q.id, None) for q in sub.questions)
    return list(seen)


def _question_headers(question_ids: list[str]) -> list[str]:
    """Two columns per question: its score, then its diagnosis."""
    return [cell for qid in question_ids for cell in (safe_text(qid), safe_text(qid + DIAGNOSIS_SUFFIX))]


def _row(sub: SubmissionResult, question_ids: list[str]) -> list[str]:
    """A submission's cells: name, total, maximum, then score and diagnosis of each question."""
    graded = sub.status == "graded"
    questions = {q.id: q for q in sub.questions} if graded else {}
    total = plain_number(sub.score) if graded else "0"
    cells = [safe_text(sub.student), total, plain_number(sub.max_score)]
    for qid in question_ids:
        question = questions.get(qid)
        cells.append(plain_number(question.score) if question else "")
        cells.append(safe_text(question.diagnosis or "") if question else "")
    return cells


def plain_number(value: float) -> str:
    """A plain decimal (no exponent, no float dust, no needless `.0`): 17, 0.5, 0.333333."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def safe_text(text: str) -> str:
    """Text as a spreadsheet shows it, never as a formula; undecodable bytes as U+FFFD."""
    text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return "'" + text if text.startswith(_FORMULA_START) else text
