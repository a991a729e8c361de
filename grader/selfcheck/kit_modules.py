"""The grader's own modules that a self-check imports, and no others: the code a student kit carries.

A check starts from the kit's entry points and the sandbox's warm process, and from the modules its path
imports inside functions (the command line imports lazily, so that `--help` answers at once); every module
those import at their top level comes along, found by reading their import lines. The gradebook's merge,
the exporters, the report formats and their templates are not among them.
tests/grader/test_kit.py checks a .py, a notebook and a write-up with a kit, through its three entry points,
and compares what they imported with this list.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("grader", "exercises")
ENTRY_MODULES = (
    "grader.launch",  # check.py (and the command line it starts)
    "grader.selfcheck.server",  # the checks after the first, served (started by name, in a process of its own)
    "grader.cli",
    "grader.selfcheck.as_pytest",  # test_kit.py, under pytest
    "grader.selfcheck.notebook",  # rnn_check.py, in a notebook
    "grader.run.zygote",  # the sandbox's warm process, which the client starts by name
)
# Imported inside functions on a check's path: by the check command, the pipeline (a kit's loader, the shapes a
# write-up states) and the written judge (its parser, only when a write-up is judged).
LAZY_MODULES = (
    "grader.pipeline",
    "grader.progress",
    "grader.record",
    "grader.read.writeup",
    "grader.report.feedback",
    "grader.selfcheck.kit",
    "grader.judge.written.chain",
    "grader.judge.written.equations",
    "grader.judge.written.gradient",
    "grader.judge.written.context",
    "grader.judge.written.grammar",
    "grader.judge.written.grammar_tables",
)


def checker_modules(root: Path) -> list[str]:
    """The dotted names of the modules under `root` (the folder holding `grader/`) that a check imports."""
    seen: set[str] = set()
    waiting = [*ENTRY_MODULES, *LAZY_MODULES]
    while waiting:
        name = waiting.pop()
        if name not in seen:
            seen.add(name)
            waiting += _packages_above(name) + _imported_at_top(root, name)
    return sorted(seen)


def module_file(root: Path, name: str) -> Path:
    """The file of a module or package (a package's `__init__.py`; `exercises.bank` is a module beside the
    `exercises/bank/` folder of exercise files, as Python finds it)."""
    path = root.joinpath(*name.split("."))
    return path / "__init__.py" if (path / "__init__.py").is_file() else path.with_suffix(".py")


def _packages_above(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def _imported_at_top(root: Path, name: str) -> list[str]:
    """Our modules that `name` imports when it is imported (not those under `if TYPE_CHECKING:` or in functions)."""
    tree = ast.parse(module_file(root, name).read_text(encoding="utf-8"))
    statements = [s for node in tree.body for s in ([node, *node.body] if isinstance(node, ast.Try) else [node])]
    named: list[str] = []
    for statement in statements:
        if isinstance(statement, ast.Import):
            named += [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
            named += [statement.module, *(f"{statement.module}.{alias.name}" for alias in statement.names)]
    return [n for n in named if n.split(".")[0] in PACKAGES and module_file(root, n).is_file()]
