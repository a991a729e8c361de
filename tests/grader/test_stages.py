"""The stages import one way: cases and read first, then run, judge, record, and report and export last.

Read from the source (every import, at the top of a module or inside a function), not from what happens to be
loaded. A stage imports earlier stages and results.py, the model they share, and nothing later: no later stage,
no tool, no top-level module. The tools (selfcheck, authoring) and the top-level modules that tie the stages
together (launch, cli, pipeline, progress) may import anything; results.py imports no stage.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GRADER = Path(__file__).parents[2] / "grader"
STAGES = {"cases": 0, "read": 0, "run": 1, "judge": 2, "record": 3, "report": 4, "export": 4}  # lower ranks first
TOOLS = {"selfcheck", "authoring"}
TOP_LEVEL = {"launch", "cli", "pipeline", "progress", "__main__", "__init__"}
SHARED = {"results"}
MODULES = sorted(GRADER.rglob("*.py"))


def part_of(path: Path) -> str:
    """The package under grader/ a module belongs to (`run`), or a top-level module's name (`cli`)."""
    relative = path.relative_to(GRADER)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_parts(path: Path, grader: Path = GRADER) -> set[str]:
    """The parts of grader/ a module imports, wherever in it the import is."""
    package = path.relative_to(grader.parent).parent.parts
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(package[: len(package) - node.level + 1])
            names.append(f"{base}.{node.module}" if node.module else base)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [f"{node.module}.{alias.name}" for alias in node.names] if node.module == "grader" else [node.module]
    return {name.split(".")[1] for name in names if name.startswith("grader.")}


def allowed_imports(part: str) -> set[str] | None:
    """What a part of grader/ may import besides itself; None: anything."""
    if part in STAGES:
        return {stage for stage, rank in STAGES.items() if rank < STAGES[part]} | SHARED
    if part in SHARED:
        return set()
    return None


def test_every_module_is_a_stage_a_tool_or_top_level():
    known = set(STAGES) | TOOLS | TOP_LEVEL | SHARED
    assert {part_of(path) for path in MODULES} <= known


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(GRADER)))
def test_stages_import_one_way(path):
    part = part_of(path)
    allowed = allowed_imports(part)
    if allowed is None:
        return
    imported = imported_parts(path) - {part}
    assert imported <= allowed, f"{path.relative_to(GRADER)} imports {sorted(imported - allowed)}"


def test_the_import_reader_sees_every_form(tmp_path):
    module = tmp_path / "grader/judge/example.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "import grader.read.units\n"
        "from grader import cases\n"
        "from grader.run.protocol import Limits\n"
        "from ..record import merge\n"  # relative, one package up
        "from . import compare\n"  # relative, its own package
        "def later():\n"
        "    from grader.report import FORMATS\n"  # inside a function, as the command line imports
    )
    assert imported_parts(module, tmp_path / "grader") == {"read", "cases", "run", "record", "judge", "report"}
