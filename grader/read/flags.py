"""Reading a submission's source for what it imports: the grader's own packages, to flag for review, and
the plotting libraries the sandbox should have loaded before it starts the students' code.

The sandbox refuses imports of the grader's packages at run time too, but code can take that guard
apart; the source cannot hide what it asks for.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from grader.read import MAX_FILE_BYTES

if TYPE_CHECKING:  # light to import: the command line reads a file's plotting imports before anything else
    from grader.read.submission import Submission


PROTECTED_PACKAGES = ("grader", "reference", "exercises")
IMPORT_CALLS = {"__import__", "import_module", "find_spec", "spec_from_file_location"}


def flagged_imports(submission: Submission) -> list[str]:
    """One note per protected package the submission's code names in an import."""
    found: dict[str, str] = {}
    for label, source in _sources(submission):
        if not _may_import(source, PROTECTED_PACKAGES):
            continue
        for name, line in _imported_names(source):
            top = name.split(".")[0]
            if top in PROTECTED_PACKAGES and top not in found:
                found[top] = f"{label}, line {line}"
    return [
        f"Flagged for review: the code imports {name!r}, the grader's own code ({where})."
        for name, where in found.items()
    ]


# What the sandbox may load once for a class, by the package a submission imports: a fixed list, so nothing a
# student writes chooses what the warm process (root, before it is confined) imports.
PRELOADABLE = {
    "matplotlib": "matplotlib.pyplot",
    "seaborn": "seaborn",
    "IPython": "IPython.display",
}


def plotting_packages(submission: Submission) -> set[str]:
    """The plotting packages (PRELOADABLE's keys) a submission's code imports."""
    tops: set[str] = set()
    for _, source in _sources(submission):
        if _may_import(source, tuple(PRELOADABLE)):
            tops |= {name.split(".")[0] for name, _ in _imported_names(source)} & PRELOADABLE.keys()
    return tops


def most_used(each: Iterable[set[str]]) -> list[str]:
    """The installed modules to load for these submissions' plotting packages (one set each), most used first, for
    the sandbox to import once before it forks: each submission would otherwise pay for the import itself (about
    half a second for matplotlib)."""
    uses: Counter[str] = Counter()
    for tops in each:
        uses.update(tops)
    return [PRELOADABLE[top] for top, _ in uses.most_common() if _installed(top)]


def display_imports_of_file(path: Path) -> list[str]:
    """The plotting modules one file (a `.py` file, or a notebook's code cells) imports, read before anything else
    is loaded: the sandbox's warm process can start importing them at once. Only ever modules of PRELOADABLE."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return []
    except OSError:
        return []
    sources = _notebook_code(_read(path)) if path.suffix.lower() == ".ipynb" else [_read(path)]
    tops = {name.split(".")[0] for source in sources for name, _ in _imported_names(source)}
    return [module for top, module in PRELOADABLE.items() if top in tops and _installed(top)]


def _notebook_code(text: str) -> list[str]:
    """A notebook's code cells, from its JSON (nothing when it is not one)."""
    try:
        cells = json.loads(text).get("cells", [])
        sources = [cell.get("source", "") for cell in cells if cell.get("cell_type") == "code"]
    except (ValueError, AttributeError):
        return []
    return ["".join(source) if isinstance(source, list) else str(source) for source in sources]


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


def _may_import(source: str, packages: tuple[str, ...]) -> bool:
    """Whether the source could import one of `packages`: an import statement naming it, or a call that imports by
    name. Only then is it parsed (parsing costs a millisecond or more a file, and most files name none of them).
    Names are read as Python reads them, in NFKC form (`ｇｒａｄｅｒ` is `grader`)."""
    text = source if source.isascii() else unicodedata.normalize("NFKC", source)
    if not any(word in text for word in (*packages, *IMPORT_CALLS)):  # plain searches first: most files name none
        return False
    joined = _CONTINUED.sub(" ", text)  # a statement continued on the next line
    return bool(_import_pattern(packages).search(joined) or _IMPORT_CALL.search(joined))


_CONTINUED = re.compile(r"\\(?:\r\n|\r|\n)")
_IMPORT_CALL = re.compile(r"\b(?:" + "|".join(sorted(IMPORT_CALLS)) + r")\b")


@functools.lru_cache(maxsize=4)
def _import_pattern(packages: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(re.escape(name) for name in packages)
    return re.compile(rf"\bimport\s[^\n#]*\b(?:{names})\b|\bfrom\s+(?:{names})\b")


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
