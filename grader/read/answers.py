"""Answer files (YAML, JSON, TOML): a mapping of answers, at the top level or under `shapes:`.

The YAML and TOML parsers load with the first such file (a student's check of a .py file needs neither)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

ANSWER_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
MAX_NESTING = 32  # a matrix of answers under `shapes:` is three deep
# What PyYAML's constructors raise, instead of a YAMLError, on an empty or malformed explicit tag:
# `!!timestamp x` (AttributeError), `!!bool x` (KeyError), `!!int` (IndexError).
_YAML_TAG_ERRORS = (AttributeError, KeyError, IndexError)


class AnswerFileError(ValueError):
    """An answers file that cannot be parsed into a mapping."""


def parse_answer_file(text: str, suffix: str) -> dict[str, Any]:
    """Answers keyed by name; keys under a `shapes:` (or `answers:`) section are merged in."""
    data = _parse(text, suffix)
    if not isinstance(data, dict):
        raise AnswerFileError("expected a mapping of answers (name: value)")
    if _nesting(data) > MAX_NESTING:
        raise AnswerFileError(f"answers nested more than {MAX_NESTING} levels deep")
    answers: dict[str, Any] = {}
    for key, value in data.items():
        if str(key).lower() in ("shapes", "answers") and isinstance(value, dict):
            answers.update({str(k): v for k, v in value.items()})
        else:
            answers[str(key)] = value
    return answers


def _parse(text: str, suffix: str) -> Any:
    parse: Callable[[str], Any] = json.loads
    errors: tuple[type[Exception], ...] = (ValueError, RecursionError)
    if suffix == ".toml":
        import tomllib

        parse = tomllib.loads
    elif suffix != ".json":
        import yaml

        parse, errors = lambda text: yaml.load(text, Loader=_answer_loader()), (*errors, yaml.YAMLError)
    try:
        return parse(text)
    except _YAML_TAG_ERRORS:
        raise AnswerFileError("cannot parse YAML: a value does not fit its tag (such as !!int)") from None
    except errors as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise AnswerFileError(f"cannot parse {suffix[1:].upper()}: {first_line[:200]}") from None


@cache
def _answer_loader() -> type:
    """Safe YAML without aliases: answers never need one, and one makes `&a [*a]` or a billion laughs. Nesting
    is refused as soon as it goes too deep: PyYAML's time grows with the square of the depth (`{{{{…`)."""
    import yaml

    class AnswerLoader(yaml.SafeLoader):
        _depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in answers", mark)
            if self._depth > MAX_NESTING:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_NESTING} levels deep", mark)
            self._depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    return AnswerLoader


def _nesting(value: Any, depth: int = 0) -> int:
    """How deep lists and mappings nest, counted no further than just past MAX_NESTING."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    if depth > MAX_NESTING or not children:
        return depth
    return max(_nesting(child, depth + 1) for child in children)
