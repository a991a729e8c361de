"""Jupyter notebooks without a kernel: code cells as plain Python, Markdown cells as text."""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

# Cell magics whose body is Python and can simply run; any other cell magic's body is not Python.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
_ASSIGNED_SHELL_OR_MAGIC = re.compile(r"^(\s*)([A-Za-z_][\w\.\[\], ]*?)\s*=\s*[!%]")
_HELP_LINE = re.compile(r"^\s*(\?\??[\w\.]+|[\w\.\(\)]+\?\??)\s*$")
_LINE_BREAK = re.compile(r"\r\n?|\n")  # Python's own


class NotebookError(ValueError):
    """A file that is not a readable notebook."""


def read_notebook(text: str) -> tuple[list[str], list[str]]:
    """(code cells made plain Python, Markdown cell sources), in notebook order."""
    code, markdown = [], []
    for cell in _cells(text):
        source = cell.get("source", "")
        source = "".join(map(str, source)) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "code":
            code.append(plain_python(source))
        elif cell.get("cell_type") == "markdown":
            markdown.append(source)
    return code, markdown


def _cells(text: str) -> list[Any]:
    """The cells of a notebook in format 4 (what every Jupyter since 2015 writes) as its JSON holds them; any
    other format, or what is not a notebook, as nbformat reads it (converted to 4, or the reason it cannot be).
    nbformat's own reading of a format 4 file only wraps the same dicts after checking them against the schema,
    whose verdict a grader ignores (a student's stray metadata is no reason to refuse their work): half a
    millisecond a notebook, and 80 ms to import it."""
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth: nbformat says which
        notebook = None
    if isinstance(notebook, dict) and notebook.get("nbformat") == 4 and isinstance(notebook.get("cells"), list):
        return [cell for cell in notebook["cells"] if isinstance(cell, dict)]
    return _read_by_nbformat(text).get("cells", [])


def _read_by_nbformat(text: str) -> Any:
    import nbformat  # slow to import: only for notebooks of other formats, or broken ones

    try:
        with warnings.catch_warnings():  # "cell is missing an id" and the like: the student's file, not ours to fix
            warnings.simplefilter("ignore")
            return nbformat.convert(nbformat.reader.reads(text), 4)
    except Exception as exc:  # nbformat raises several unrelated types for broken files
        raise NotebookError(f"not a valid notebook: {_one_line(exc)}") from None


def plain_python(source: str) -> str:
    """IPython syntax made harmless: magics and shell lines become `pass`, help lines too."""
    lines = _LINE_BREAK.split(source)  # not splitlines(): "\u2028" or "\x0c" inside a string is no line break
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%"):
        if first[2:].split()[0:1] and first[2:].split()[0] not in PYTHON_CELL_MAGICS:
            return ""
        lines = lines[lines.index(next(line for line in lines if line.strip())) + 1 :]
    return "\n".join(_plain_line(line) for line in lines)


def _plain_line(line: str) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith(("%", "!")) or _HELP_LINE.match(line):
        return f"{indent}pass"
    assigned = _ASSIGNED_SHELL_OR_MAGIC.match(line)
    if assigned:
        return f"{assigned.group(1)}{assigned.group(2)} = None"
    return line


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
