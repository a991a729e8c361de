"""Reading a submission's source for imports of the grader's own packages, to flag for review.

The sandbox refuses such imports at run time too, but code can take that guard apart; the
source cannot hide what it asks for.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from grader.submission import Submission

PROTECTED_PACKAGES = ("grader", "reference", "exercises")
IMPORT_CALLS = {"__import__", "import_module", "find_spec", "spec_from_file_location"}


def flagged_imports(submission: Submission) -> list[str]:
    """One note per protected package the submission's code names in an import."""
    found: dict[str, str] = {}
    for label, source in _sources(submission):
        for name, line in _imported_names(source):
            top = name.split(".")[0]
            if top in PROTECTED_PACKAGES and top not in found:
                found[top] = f"{label}, line {line}"
    return [
        f"Flagged for review: the code imports {name!r}, the grader's own code ({where})."
        for name, where in found.items()
    ]


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
