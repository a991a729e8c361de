"""Report formats: pure functions from a `GradingResults` to text, one module per format.

`FORMATS` maps each `--format` name to its renderer. The formats in `PER_SUBMISSION_FORMATS`
describe one submission, as the platform runs it; `render_each` gives one text per student for
writing `<student>.json` files.
"""

from __future__ import annotations

from collections.abc import Callable

from grader.report import csv_gradebook, github_classroom, gradescope, junit, native_json, table
from grader.results import GradingResults

Renderer = Callable[[GradingResults], str]

FORMATS: dict[str, Renderer] = {
    "table": table.render,
    "json": native_json.render,
    "gradescope": gradescope.render,
    "junit": junit.render,
    "csv": csv_gradebook.render,
    "github-classroom": github_classroom.render,
}

PER_SUBMISSION_FORMATS = {"gradescope", "github-classroom"}


def render_each(fmt: str, results: GradingResults) -> dict[str, str]:
    """Each submission rendered on its own in format `fmt`, keyed by student.

    Two submissions of the same student name get keys `name`, `name-2`, `name-3`, … in order.
    Keys are student names, not checked file names: a caller writing files must still make them safe.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    texts: dict[str, str] = {}
    for sub in results.submissions:
        alone = results.model_copy(update={"submissions": [sub]})
        texts[_unique_key(sub.student, texts)] = FORMATS[fmt](alone)
    return texts


def _unique_key(student: str, taken: dict[str, str]) -> str:
    key, n = student, 1
    while key in taken:
        n += 1
        key = f"{student}-{n}"
    return key
