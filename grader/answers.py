"""Answer files (YAML, JSON, TOML): a mapping of answers, at the top level or under `shapes:`."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import yaml

ANSWER_SUFFIXES = (".yaml", ".yml", ".json", ".toml")


class AnswerFileError(ValueError):
    """An answers file that cannot be parsed into a mapping."""


def parse_answer_file(text: str, suffix: str) -> dict[str, Any]:
    """Answers keyed by name; keys under a `shapes:` (or `answers:`) section are merged in."""
    data = _parse(text, suffix)
    if not isinstance(data, dict):
        raise AnswerFileError("expected a mapping of answers (name: value)")
    answers: dict[str, Any] = {}
    for key, value in data.items():
        if str(key).lower() in ("shapes", "answers") and isinstance(value, dict):
            answers.update({str(k): v for k, v in value.items()})
        else:
            answers[str(key)] = value
    return answers


def _parse(text: str, suffix: str) -> Any:
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix == ".toml":
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError, RecursionError) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise AnswerFileError(f"cannot parse {suffix[1:].upper()}: {first_line[:200]}") from None
