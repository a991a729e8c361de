"""The exercise bank: find exercise files, validate them, resolve the callables they name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

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
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return load_exercise_file(path)
    files = exercise_files()
    if id_or_path not in files:
        known = ", ".join(files) or "none"
        raise ExerciseError(f"unknown exercise {id_or_path!r} (known: {known})")
    return load_exercise_file(files[id_or_path])


@lru_cache(maxsize=32)
def load_exercise_file(path: Path) -> Exercise:
    """Parse and validate one exercise file; errors name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ExerciseError(f"{path}: cannot read exercise file: {exc}") from None
    try:
        return Exercise.model_validate(data)
    except ValidationError as exc:
        raise ExerciseError(f"{path}: invalid exercise: {_first_errors(exc)}") from None


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(part) for part in error["loc"])
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def resolve_callable(dotted: str) -> Callable[..., Any]:
    """'package.module:name' -> the object it names."""
    module_name, _, attribute = dotted.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ExerciseError(f"cannot resolve {dotted!r}: {exc}") from None
