"""Reading a submission's source for what it imports: the grader's own packages, to flag for review, and
the plotting libraries the sandbox should have loaded before it starts the students' code.

The sandbox refuses imports of the grader's packages at run time too, but code can take that guard
apart; the source cannot hide what it asks for.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from grader.runner.student import DISPLAY_ONLY_MODULES
from grader.submission import Submission

PROTECTED_PACKAGES = ("grader", "reference", "exercises")
IMPORT_CALLS = {"__import__", "import_module", "find_spec", "spec_from_file_location"}


def flagged_imports(submission: Submission) -> list[str]:
    """One note per protected package the submission's code names in an import."""
    found: dict[str, str] = {}
    for label, source in _sources(submission):
        if not any(package in source for package in PROTECTED_PACKAGES):
            continue  # an import names its module in the source: nothing to parse
        for name, line in _imported_names(source):
            top = name.split(".")[0]
            if top in PROTECTED_PACKAGES and top not in found:
                found[top] = f"{label}, line {line}"
    return [
        f"Flagged for review: the code imports {name!r}, the grader's own code ({where})."
        for name, where in found.items()
    ]


MAX_PRELOADED = 4
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def display_imports(submissions: Iterable[Submission]) -> list[str]:
    """The installed plotting and display modules the submissions import (`matplotlib.pyplot`), for the sandbox
    to import once before it forks: each submission would otherwise pay for the import itself (about a second
    for matplotlib, font cache included)."""
    found: set[str] = set()
    for submission in submissions:
        for _, source in _sources(submission):
            if any(top in source for top in DISPLAY_ONLY_MODULES):
                found |= {name for name, _ in _imported_names(source) if name.split(".")[0] in DISPLAY_ONLY_MODULES}
    wanted = sorted(name for name in found if _MODULE_NAME.fullmatch(name) and _installed(name.split(".")[0]))
    return wanted[:MAX_PRELOADED]


def _installed(top: str) -> bool:
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _sources(submission: Submission) -> Iterator[tuple[str, str]]:
    paths = dict((name, path) for path, name in submission.files)
    for unit in submission.units:
        if unit.kind == "cells":
            for number, cell in enumerate(unit.cells, start=1):
                yield f"{unit.label}, cell {number}", cell
        elif unit.path in paths:
            yield unit.label, _read(paths[unit.path])


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""


def _imported_names(source: str) -> Iterator[tuple[str, int]]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module, node.lineno
        elif isinstance(node, ast.Call) and _called_name(node.func) in IMPORT_CALLS:
            yield from (
                (arg.value, node.lineno)
                for arg in node.args[:1]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""
