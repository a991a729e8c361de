"""The exercise bank: find exercise files, validate them, resolve the callables they name.

What only a broken file needs (the messages of `exercises.load_errors`) is imported when a file is broken.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from exercises.expressions import closest
from exercises.kept import kept_exercise
from exercises.models import Exercise

BANK_DIR = Path(__file__).parent / "bank"


class ExerciseError(Exception):
    """An exercise id that is unknown, or an exercise file that does not validate."""


def exercise_files() -> dict[str, Path]:
    """Bank exercise ids mapped to their files."""
    return {path.stem: path for path in sorted(BANK_DIR.glob("*.yaml"))}


def load_exercise(id_or_path: str) -> Exercise:
    """An exercise from the bank by id, or from a YAML file an instructor wrote."""
    path = Path(id_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ExerciseError(f"no such exercise file: {id_or_path}")
        return load_exercise_file(path.resolve())
    files = exercise_files()
    if id_or_path not in files:
        known = ", ".join(files) or "none"
        raise ExerciseError(f"unknown exercise {id_or_path!r} (known: {known}; or give the path of a .yaml file)")
    return load_exercise_file(files[id_or_path])


@lru_cache(maxsize=32)
def load_exercise_file(path: Path) -> Exercise:
    """Parse and validate one exercise file (kept validated beside it, `exercises.kept`); each problem is a line
    naming the file, the field and its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExerciseError(f"{path}: cannot read exercise file: {exc}") from None
    exercise = kept_exercise(path, text.encode(), lambda: _validated(path, text))
    exercise._source = path
    return exercise


def forget_loaded_files() -> None:
    """Exercise files are read again at their next load, as a new process reads them (a process that serves
    command after command: grader.selfcheck.server)."""
    load_exercise_file.cache_clear()


def _validated(path: Path, text: str) -> Exercise:
    data = _parsed(path, text)
    if not isinstance(data, dict):
        raise ExerciseError(f"{path}: the file (line 1): an exercise is a YAML mapping (id:, title:, dimensions: …)")
    try:
        return Exercise.model_validate(data)
    except ValidationError as exc:
        from exercises import load_errors

        raise ExerciseError("\n".join(f"{path}: {line}" for line in load_errors.problems(exc, text))) from None


def _parsed(path: Path, text: str) -> Any:
    """The YAML's data, read by libyaml where PyYAML has it (the same data, ten times faster); a file that does
    not parse is read again in Python, whose messages the load errors are written from."""
    import yaml

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        from exercises import load_errors

        raise ExerciseError(f"{path}: {load_errors.yaml_problem(exc, text)}") from None


def resolve_callable(path: str, folder: Path | None = None) -> Any:
    """'package.module:name', or 'file.py:name' relative to `folder`, -> the object it names."""
    module_name, _, attribute = path.partition(":")
    try:
        module = (
            _file_module(folder, module_name) if module_name.endswith(".py") else importlib.import_module(module_name)
        )
    except FileNotFoundError:
        wanted = Path(module_name)
        beside = [str(wanted.parent / p.name) for p in (folder / wanted.parent).glob("*.py")] if folder else []
        raise ExerciseError(
            f"cannot resolve {path!r}: no file {module_name} beside the exercise{closest(module_name, sorted(beside))}"
        ) from None
    except ExerciseError:
        raise
    except Exception as exc:  # noqa: BLE001 - an instructor's file may fail in any way while importing
        raise ExerciseError(f"cannot resolve {path!r}: {type(exc).__name__}: {exc}") from None
    if not hasattr(module, attribute):
        names = [name for name in vars(module) if not name.startswith("_")]
        raise ExerciseError(f"cannot resolve {path!r}: {module_name} has no {attribute!r}{closest(attribute, names)}")
    return getattr(module, attribute)


def source_of(exercise: Exercise) -> str:
    """The exercise's file, for messages ('<id>' when it was not read from a file)."""
    return str(exercise._source) if exercise._source else f"<{exercise.id}>"


def where_in(exercise: Exercise, field: str) -> str:
    """'field (line N)' for a dotted field of the exercise's file, or the field alone."""
    from exercises import load_errors

    try:
        text = exercise._source.read_text(encoding="utf-8") if exercise._source else ""
        line = load_errors.line_of(field.split("."), text) if text else None
    except OSError:
        line = None
    return f"{field} (line {line})" if line else field


def exercise_folder(exercise: Exercise) -> Path:
    """The folder of the exercise's file: file references and provided modules are relative to it."""
    return exercise._source.parent if exercise._source else BANK_DIR


def resolve(exercise: Exercise, path: str) -> Any:
    """What a callable path of `exercise` names (a callable, or a list of mistakes), file references taken
    relative to its file."""
    return resolve_callable(path, exercise_folder(exercise))


@lru_cache(maxsize=64)
def _file_module(folder: Path | None, relative: str) -> ModuleType:
    """An instructor's reference file, imported in the grader's process under a name of its own."""
    if folder is None:
        raise ExerciseError(f"{relative}: a file reference needs an exercise loaded from a file")
    path = (folder / relative).resolve()
    if not path.is_file():
        raise FileNotFoundError(path)
    import hashlib

    name = f"_exercise_reference_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ExerciseError(f"{relative}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    sys.path.insert(0, str(path.parent))  # so that it can import a helper file beside it
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path.remove(str(path.parent))
    return module
