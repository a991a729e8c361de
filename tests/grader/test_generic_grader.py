"""The grader knows no homework: no code in grader/ names an array of a shipped exercise.

Docstrings and comments may use the RNN as an example; code may not. Names are read with the
tokenizer: identifiers and string constants (not docstrings). Two ordinary words are left out: the shape parser's
lexer has `tokens` of its own, and reports have `scores`.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

from exercises.bank import exercise_files, load_exercise

GRADER = Path(__file__).parents[2] / "grader"
ARRAY_NAMES = {name for exercise_id in exercise_files() for name in load_exercise(exercise_id).inputs
               if len(name) >= 2} - {"tokens", "scores"}


def _docstring_lines(source: str) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                lines |= set(range(first.lineno, first.end_lineno + 1))
    return lines


def _names_in_code(path: Path) -> set[str]:
    source = path.read_text(encoding="utf-8")
    skip = _docstring_lines(source)
    found = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.start[0] in skip:
            continue
        if token.type == tokenize.NAME:
            found.add(token.string)
        elif token.type == tokenize.STRING:
            found.add(token.string.strip("\"'rbfu"))
    return found


def test_the_shipped_exercises_have_array_names_to_look_for():
    assert {"W_H", "h0", "x_t", "Wx", "prev_h"} <= ARRAY_NAMES


@pytest.mark.parametrize("path", sorted(GRADER.rglob("*.py")), ids=lambda p: str(p.relative_to(GRADER)))
def test_no_grader_module_names_a_homeworks_arrays(path):
    assert not _names_in_code(path) & ARRAY_NAMES
