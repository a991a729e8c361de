"""`check("grad_W_H")` in a notebook: the functions defined in the kernel right now, on a kit's public cases.

The student's own kernel calls the student's own functions (this is self-check on their machine, not
grading); the values are handed to the same judge, in the same raw form the sandbox produces, so the
verdict and feedback are those of `rnn-grader check`. The written answers (Markdown cells, a shapes
table) are read from the notebook as last saved, since a kernel never sees Markdown cells.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.judge.questions import Evidence, judge_question
from grader.pipeline import build_items, gather_evidence
from grader.read.submission import read_submission
from grader.report.feedback import render_question
from grader.results import QuestionResult
from grader.run.client import parse_records
from grader.run.protocol import ItemResult, Limits, record_bytes
from grader.run.student import RawEncoder, decode_arguments, fetch
from grader.selfcheck.kit import Kit, load_kit

NOTEBOOK = "your notebook"
# Where a kernel learns which notebook it runs: Jupyter Server's session (ipykernel copies it), VS Code's.
NOTEBOOK_NAMES = ("__session__", "__vsc_ipynb_file__")
SESSION_VARIABLE = "JPY_SESSION_NAME"


@dataclass(frozen=True)
class Checked:
    """What `check()` returns: its results, shown by Jupyter as one short line (the report is printed)."""

    results: list[QuestionResult]
    notebook: Path | None

    @property
    def passed(self) -> bool:
        return all(result.status == "passed" for result in self.results)

    def __repr__(self) -> str:
        passing = sum(result.status == "passed" for result in self.results)
        return f"<check: {passing} of {len(self.results)} passing>"


def notebook_check(
    kit_folder: Path, namespace: dict[str, Any], question_id: str | None = None, notebook: str | Path | None = None
) -> Checked:
    """`check()` as a student calls it: the report printed once, and a value whose repr is one line."""
    found = Path(notebook) if notebook is not None else find_notebook(namespace, Path.cwd())
    results = check_in_notebook(kit_folder, namespace, question_id, echo=False, notebook=found)
    print("\n".join(_report(results, found)))
    return Checked(results, found)


def check_in_notebook(
    kit_folder: Path,
    namespace: dict[str, Any],
    question_id: str | None = None,
    echo: bool = True,
    notebook: Path | None = None,
) -> list[QuestionResult]:
    """Judge one question (or every one) on the kit's public cases, with the functions in `namespace` and the
    written answers of `notebook` (a saved .ipynb; none: written questions are missing)."""
    kit = load_kit(kit_folder)
    questions = [q for q in kit.exercise.questions if question_id in (None, q.id)]
    if not questions:
        known = ", ".join(q.id for q in kit.exercise.questions)
        raise ValueError(f"no question {question_id!r} in {kit.exercise.id} (questions: {known})")
    evidence = _written_evidence(kit, notebook)
    evidence.items = _items(kit, namespace)
    results = [judge_question(q, evidence, kit.cases, kit.expected) for q in questions]
    if echo:
        print("\n".join(line for result in results for line in render_question(result)))
    return results


def find_notebook(namespace: dict[str, Any], folder: Path) -> Path | None:
    """The notebook this kernel runs: as Jupyter or VS Code name it, else the one notebook in `folder` that
    imports the kit's check (the last saved of several)."""
    named = [namespace.get(name) for name in NOTEBOOK_NAMES] + [os.environ.get(SESSION_VARIABLE)]
    for name in named:
        if not (isinstance(name, str) and name.endswith(".ipynb")):
            continue
        for path in (folder / name, folder / Path(name).name):  # absolute, or relative to the server's root
            if path.is_file():
                return path
    notebooks = sorted(folder.glob("*.ipynb"), key=lambda path: path.stat().st_mtime, reverse=True)
    checking = [path for path in notebooks if "rnn_check" in path.read_text(encoding="utf-8", errors="replace")]
    return next(iter(checking or notebooks), None)


def _written_evidence(kit: Kit, notebook: Path | None) -> Evidence:
    """The saved notebook's Markdown cells and answers, gathered as `check` gathers them from the file."""
    if notebook is None or not notebook.is_file():
        return Evidence()
    submission = read_submission(notebook, notebook.name)
    if submission.rejected is not None:
        return Evidence()
    return gather_evidence(submission, None, kit.exercise, Limits())


def _report(results: list[QuestionResult], notebook: Path | None) -> list[str]:
    lines = [line for result in results for line in render_question(result)]
    if notebook is None:
        source = "no notebook found in this folder"
    else:
        source = f"the saved {notebook.name}" if notebook.is_file() else f"no file {notebook}"
    return [*lines, f"(code: the functions defined in this kernel; written answers: {source})"]


def _items(kit: Kit, namespace: dict[str, Any]) -> dict[str, ItemResult]:
    encoder = RawEncoder(max_elements=50_000_000)
    fetched = {}
    items = build_items(kit.exercise, kit.cases)
    decode_arguments(items)  # as the sandbox's warm process does: each call gets a fresh copy
    for item in items:
        returned = [record_bytes(*raw) for raw in fetch(item, [namespace], {NOTEBOOK}, encoder)]
        records = parse_records(b"".join(returned), encoder.max_elements)
        fetched[item.id] = ItemResult("done", records=records)
    return fetched
