"""Report formats: one module per format, and `FORMATS`, the registry the command line is built from.

A format's module makes it from a `GradingResults` and the options its entry names (by keyword):
- "text": `render(results, **options) -> str`, on stdout or into -o FILE; a module may also define
  `stream(results, **options)`, the same text in pieces as it is made, so a class of thousands is written
  without being held whole in memory (its `render` joins them);
- "per-submission": `render` describes one submission, as the platform runs it, and refuses a batch; a
  class goes into -o FOLDER, one `<student><suffix>` file each (`render_each`);
- "folder": `write(results, folder, **options) -> str` writes into -o FOLDER and says what it wrote.
It may also define `check(**options)`, raising `FormatError` for options it cannot use (before any
grading), and `remarks(results, **options) -> list[str]`, lines for stderr once its output is written.
Modules are imported when used, so listing the formats loads none of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pathlib import Path

    from grader.results import GradingResults

Output = Literal["text", "per-submission", "folder"]


class FormatError(Exception):
    """A format that cannot be made as asked: an option it needs is missing or unusable, or a library."""


@dataclass(frozen=True)
class FormatOptions:
    """What a format may read besides the results; each reads those its entry names."""

    roster: dict[str, dict[str, str]] = field(default_factory=dict)  # --roster's rows, by submission name
    assignment: str | None = None  # --assignment: the gradebook column to fill


@dataclass(frozen=True)
class Format:
    """One `--format`: the module that makes it, what it writes, and which `FormatOptions` it reads.

    A format that reads "roster" lists the roster's students without a submission itself."""

    module: str  # dotted name
    output: Output = "text"
    suffix: str = ""  # of each file a per-submission format writes for a class
    reads: tuple[str, ...] = ()

    def render(self, results: GradingResults, options: FormatOptions | None = None) -> str:
        return self._module().render(results, **self._options(options))

    def stream(self, results: GradingResults, options: FormatOptions | None = None) -> Iterator[str]:
        """The text of `render`, in pieces as they are made (whole, from a format without `stream`)."""
        module = self._module()
        if hasattr(module, "stream"):
            return module.stream(results, **self._options(options))
        return iter([module.render(results, **self._options(options))])

    def write(self, results: GradingResults, folder: Path, options: FormatOptions | None = None) -> str:
        return self._module().write(results, folder, **self._options(options))

    def check(self, options: FormatOptions) -> None:
        """Raise FormatError for options this format cannot use (before any grading)."""
        check = getattr(self._module(), "check", None)
        if check is not None:
            check(**self._options(options))

    def remarks(self, results: GradingResults, options: FormatOptions | None = None) -> list[str]:
        remarks = getattr(self._module(), "remarks", None)
        return list(remarks(results, **self._options(options))) if remarks is not None else []

    def _module(self) -> ModuleType:
        return importlib.import_module(self.module)

    def _options(self, options: FormatOptions | None) -> dict[str, Any]:
        return {name: getattr(options or FormatOptions(), name) for name in self.reads}


FORMATS: dict[str, Format] = {
    "table": Format("grader.report.table"),
    "json": Format("grader.report.native_json"),
    "gradescope": Format("grader.report.gradescope", "per-submission", ".json"),
    "junit": Format("grader.report.junit"),
    "csv": Format("grader.report.csv_gradebook"),
    "github-classroom": Format("grader.report.github_classroom", "per-submission", ".json"),
    "html": Format("grader.report.html", "folder"),
    "canvas": Format("grader.report.canvas", reads=("roster", "assignment")),
}


def render_each(fmt: str, results: GradingResults) -> dict[str, str]:
    """Each submission rendered on its own in format `fmt`, keyed by student.

    Two submissions of the same student name get keys `name`, `name-2`, `name-3`, … in order.
    Keys are student names, not checked file names: a caller writing files must still make them safe.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    return dict(each_rendered(fmt, results))


def each_rendered(fmt: str, results: GradingResults) -> Iterator[tuple[str, str]]:
    """`render_each`'s (key, text) pairs one at a time, so a class's files are written one by one."""
    taken: set[str] = set()
    for sub in results.submissions:
        alone = results.model_copy(update={"submissions": [sub]})
        key = _unique_key(sub.student, taken)
        taken.add(key)
        yield key, FORMATS[fmt].render(alone)


def ending_in_newline(pieces: Iterable[str], *, only_one: bool) -> Iterator[str]:
    """The text of `pieces` ending in exactly one line break with `only_one` (as it is echoed), else in the
    line breaks it ends with, one if none (as it is written to a file); the pieces pass on as they come."""
    held = ""  # line breaks at the end of what came so far
    for piece in pieces:
        body = piece.rstrip("\n")
        if body:
            yield held + body
            held = piece[len(body) :]
        else:
            held += piece
    yield "\n" if only_one or not held else held


def _unique_key(student: str, taken: set[str]) -> str:
    key, n = student, 1
    while key in taken:
        n += 1
        key = f"{student}-{n}"
    return key
