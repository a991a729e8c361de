"""What an export carries: this package's own source, and an instructor's exercise with the files it uses.

Both are read as files and never imported. An exercise from the bank travels inside the package; an
exercise given as a path travels as its YAML plus every file beside it that grading reads:
- the `file.py` of each `file.py:name` callable path anywhere in the YAML (references, mistakes,
  shapes, derived inputs),
- each `imports.provided` entry (a file or a folder of course modules),
- and, transitively, the modules beside those Python files that they import (the grader imports a
  reference file with its own folder on `sys.path`, so `import helpers` beside it works).
Files keep their places relative to one another, under the deepest folder that holds them all.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml

# Same as exercises.models.CALLABLE_PATH, restricted to the file form ("file.py:name").
FILE_CALLABLE = re.compile(r"^([\w./\-]+\.py):[A-Za-z_]\w*$")
SKIPPED_NAMES = {"__pycache__", ".git", ".DS_Store", ".ipynb_checkpoints"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")
EXERCISE_SUFFIXES = (".yaml", ".yml")


class ExportError(Exception):
    """An export that cannot be made; the message says why in one line."""


def is_exercise_path(exercise: str) -> bool:
    """True when `exercise` names a YAML file (as `load_exercise` decides), False for a bank id."""
    return Path(exercise).suffix in EXERCISE_SUFFIXES


@dataclass(frozen=True)
class ExerciseFiles:
    """An instructor's exercise: the files to copy, each with its path relative to `root`."""

    root: Path
    yaml_file: Path  # relative to root
    files: tuple[Path, ...]  # relative to root, the YAML included, sorted


def exercise_files(yaml_path: Path) -> ExerciseFiles:
    """The YAML of an instructor's exercise and every file beside it that grading reads."""
    yaml_path = yaml_path.resolve()
    if not yaml_path.is_file():
        raise ExportError(f"no such exercise file: {yaml_path}")
    folder = yaml_path.parent
    try:
        data = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ExportError(f"{yaml_path}: cannot read exercise file: {exc}") from None
    found: set[Path] = {yaml_path}
    python_files: list[Path] = []
    for relative in sorted(_file_references(data)):
        path = (folder / relative).resolve()
        if not path.is_file():
            raise ExportError(f"{yaml_path}: {relative} is named but there is no such file beside the exercise")
        python_files.append(path)
    imports = data.get("imports") if isinstance(data, dict) else None
    provided = (imports.get("provided") if isinstance(imports, dict) else None) or []
    for entry in provided:
        path = (folder / str(entry)).resolve()
        if path.is_dir():
            found.update(_tree(path))
            python_files.extend(p for p in _tree(path) if p.suffix == ".py")
        elif path.is_file():
            found.add(path)
            python_files.append(path)
        else:
            raise ExportError(f"{yaml_path}: imports.provided names {entry}, which is not beside the exercise")
    found.update(_with_local_imports(python_files))
    root = Path(os.path.commonpath([str(path.parent) for path in found]))
    return ExerciseFiles(
        root=root, yaml_file=yaml_path.relative_to(root), files=tuple(sorted(path.relative_to(root) for path in found))
    )


def _file_references(node: object) -> set[str]:
    """Every `file.py` of a `file.py:name` string anywhere in the parsed YAML."""
    if isinstance(node, str):
        match = FILE_CALLABLE.match(node.strip())
        return {match.group(1)} if match else set()
    if isinstance(node, dict):
        return set().union(*(_file_references(value) for value in node.values()), set())
    if isinstance(node, list):
        return set().union(*(_file_references(value) for value in node), set())
    return set()


def _with_local_imports(python_files: list[Path]) -> set[Path]:
    """The files and, transitively, the modules beside each that it imports (a .py or a package folder)."""
    seen: set[Path] = set()
    pending = list(python_files)
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imported_names(path):
            module = path.parent / f"{name}.py"
            package = path.parent / name
            if module.is_file():
                pending.append(module.resolve())
            elif (package / "__init__.py").is_file():
                for file in _tree(package.resolve()):
                    if file.suffix == ".py":
                        pending.append(file)
                    else:
                        seen.add(file)
    return seen


def _imported_names(path: Path) -> set[str]:
    """Top-level module names a Python file imports (relative imports: the modules they name)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return set()  # the exercise's own load reports it, naming the field
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module:
                names.add(node.module.split(".")[0])
            if node.level:
                names.update(alias.name for alias in node.names)
    return names


def _tree(folder: Path) -> list[Path]:
    """Every file under `folder`, without caches, bytecode or version-control folders."""
    return sorted(path for path in folder.rglob("*") if path.is_file() and not _skipped(path.relative_to(folder)))


def _skipped(relative: Path) -> bool:
    return any(part in SKIPPED_NAMES for part in relative.parts) or relative.suffix in SKIPPED_SUFFIXES


# ------------------------------------------------------------------------------------ the package


def project_files(project_root: Path) -> list[Path]:
    """The files pip needs to build and install this project from `project_root`, relative to it.

    pyproject.toml, the readme and license files it names, and the top-level packages setuptools
    finds (`[tool.setuptools.packages.find] include`), without caches or build leftovers. Tests,
    benchmarks and examples stay out.
    """
    project_root = project_root.resolve()
    pyproject_path = project_root / "pyproject.toml"
    if not pyproject_path.is_file():
        raise ExportError(
            f"{project_root} is not the rnn-grader project (no pyproject.toml): give the folder "
            "of a checkout of the project"
        )
    try:
        pyproject = tomllib.loads(pyproject_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ExportError(f"{pyproject_path}: cannot read it: {exc}") from None
    files = {Path("pyproject.toml")}
    for name in _metadata_files(pyproject) + ["setup.py", "setup.cfg", "MANIFEST.in"]:
        if (project_root / name).is_file():
            files.add(Path(name))
    packages = _package_folders(project_root, pyproject)
    if not packages:
        raise ExportError(f"{project_root}: no package folder found to bundle")
    for package in packages:
        files.update(
            path.relative_to(project_root)
            for path in _tree(project_root / package)
            if not any(part.endswith(".egg-info") for part in path.parts)
        )
    return sorted(files)


def _metadata_files(pyproject: dict) -> list[str]:
    project = pyproject.get("project", {})
    names: list[str] = []
    readme = project.get("readme")
    if isinstance(readme, str):
        names.append(readme)
    elif isinstance(readme, dict) and isinstance(readme.get("file"), str):
        names.append(readme["file"])
    license_ = project.get("license")
    if isinstance(license_, dict) and isinstance(license_.get("file"), str):
        names.append(license_["file"])
    names.extend(str(name) for name in project.get("license-files", []) if "*" not in str(name))
    return names + ["LICENSE", "LICENSE.txt", "LICENSE.md"]


def _package_folders(project_root: Path, pyproject: dict) -> list[str]:
    candidates = sorted(
        path.name for path in project_root.iterdir() if path.is_dir() and (path / "__init__.py").is_file()
    )
    find = pyproject.get("tool", {}).get("setuptools", {}).get("packages", {})
    include = find.get("find", {}).get("include") if isinstance(find, dict) else None
    if isinstance(find, list):  # packages = ["grader", "grader.report", ...]
        return sorted({name.split(".")[0] for name in find} & set(candidates))
    if include:
        return [name for name in candidates if any(fnmatch.fnmatchcase(name, pattern) for pattern in include)]
    return [name for name in candidates if not name.startswith(("test", "."))]
