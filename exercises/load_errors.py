"""What is wrong with an exercise file, said to its author: one line per problem, naming the field and its line.

pydantic's own wording names its internals (`_input_kind()`, union tags); here each kind of error is said in
the file's terms, with what the field allows and the nearest allowed word to a misspelt one.
"""

from __future__ import annotations

import re
import typing
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from exercises import models
from exercises.expressions import closest

MAX_SHOWN = 5
INPUT_DRAWS: dict[str, type[BaseModel]] = {
    "normal": models.NormalInput,
    "uniform": models.UniformInput,
    "integers": models.IntegersInput,
    "onehot": models.OneHotInput,
    "bernoulli": models.BernoulliInput,
    "derived": models.DerivedInput,
}
QUESTION_KINDS: dict[str, type[BaseModel]] = {
    "shape": models.ShapeQuestion,
    "function": models.FunctionQuestion,
    "backward": models.BackwardQuestion,
    "numeric": models.NumericQuestion,
    "equations": models.EquationsQuestion,
    "chain": models.ChainQuestion,
    "gradient": models.GradientQuestion,
}
TAGGED: dict[str, dict[str, type[BaseModel]]] = {
    "inputs": INPUT_DRAWS,
    "questions": QUESTION_KINDS,
}  # the unions, keyed on `draw:` and `kind:`


def problems(exc: ValidationError, text: str) -> list[str]:
    """'field (line N): problem' for each error, in the order of the file."""
    found = [_problem(error, text) for error in exc.errors()]
    found.sort(key=lambda item: (item[0] is None, item[0] or 0))
    return [_with_line(field, line, message) for line, field, message in found[:MAX_SHOWN]]


def yaml_problem(exc: yaml.YAMLError, text: str) -> str:
    """A YAML syntax error as 'field (line N): problem', the field being the key on the line it stopped at."""
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)  # where the construct began
    line = mark.line + 1 if mark is not None else None
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    context = getattr(exc, "context", None)
    key = _key_near(text, line)
    hint = "check its brackets, quotes, colons and indentation"
    return _with_line(key or "the file", line, f"not valid YAML: {problem}{f' {context}' if context else ''} ({hint})")


def line_of(location: list[str], text: str) -> int | None:
    """The line of the deepest key of `location` that can be found in the YAML text (where its key is written)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in location:
        found = _child(node, part)
        if found is None:
            break
        written_at, node = found
        line = written_at.start_mark.line + 1
    return line


def _child(node: Any, key: str) -> tuple[Any, Any] | None:
    """(the node that names it, its value): a mapping's key, or a sequence's item itself."""
    if isinstance(node, yaml.MappingNode):
        return next(((k, value) for k, value in node.value if k.value == key), None)
    if isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
        return node.value[int(key)], node.value[int(key)]
    return None


def _with_line(field: str, line: int | None, message: str) -> str:
    return f"{field}{f' (line {line})' if line else ''}: {message}"


def _problem(error: Any, text: str) -> tuple[int | None, str, str]:
    location = _location(error["loc"])
    kind = error["type"]
    if kind == "value_error" and isinstance(error.get("ctx", {}).get("error"), models.FieldError):
        field_error = error["ctx"]["error"]  # raised by a model's own check: its field is relative to the model
        path = [*location, *field_error.field.split(".")]
        return line_of(path, text), ".".join(path), field_error.problem
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _tag_problem(location, error, text)
    if kind == "extra_forbidden":
        allowed = _fields_at(error["loc"][:-1])
        hint = f" (allowed here: {', '.join(allowed)}){closest(location[-1], allowed)}" if allowed else ""
        return line_of(location, text), ".".join(location), f"unknown field {location[-1]!r}{hint}"
    if kind == "missing":
        parent = ".".join(location[:-1]) or "the file"
        return line_of(location[:-1], text), parent, f"{location[-1]!r} is missing{_description(error['loc'])}"
    message = error["msg"].removeprefix("Value error, ")
    return line_of(location, text), ".".join(location) or "the file", f"{message}{_description(error['loc'])}"


def _tag_problem(location: list[str], error: Any, text: str) -> tuple[int | None, str, str]:
    section = location[0] if location else ""
    choices = list(TAGGED.get(section, QUESTION_KINDS))
    key = "draw" if section == "inputs" else "kind"
    tag = str(error.get("ctx", {}).get("tag", ""))
    allowed = ", ".join(choices) + (" (derived: takes the place of draw:)" if key == "draw" else "")
    field = ".".join([*location, key])
    line = line_of([*location, key], text) or line_of(location, text)
    if error["type"] == "union_tag_not_found" or not tag:
        return line, field, f"missing {key}: (allowed: {allowed})"
    return line, field, f"unknown {key} {tag!r} (allowed: {allowed}){closest(tag, choices)}"


def _location(loc: tuple[Any, ...]) -> list[str]:
    """The field's path in the file: pydantic's union tags and validator names left out."""
    parts = [str(part) for part in loc if not str(part).startswith("function-")]
    if len(parts) > 2 and parts[0] in TAGGED and parts[2] in TAGGED[parts[0]]:
        del parts[2]
    return parts


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The fields the model at `loc` accepts."""
    model = _model_at(loc)
    return list(model.model_fields) if model else []


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = models.Exercise
    previous = ""
    for part in loc:
        name = str(part)
        if previous in TAGGED and name in TAGGED[previous]:
            model = TAGGED[previous][name]
        elif model is not None and name in model.model_fields:
            model = _inner_model(model.model_fields[name].annotation)
            previous = name if name in TAGGED else ""
            continue
        previous = previous if name not in TAGGED.get(previous, {}) else ""
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The one model inside dict[..., M], list[M], M | None; None for a union of several."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    found = {inner for arg in typing.get_args(annotation) if (inner := _inner_model(arg)) is not None}
    return found.pop() if len(found) == 1 else None


def _description(loc: tuple[Any, ...]) -> str:
    """' (what the field is)' from the model's own description of it, as a hint."""
    model = _model_at(loc[:-1])
    field = model.model_fields.get(str(loc[-1])) if model else None
    return f" ({str(loc[-1])}: {field.description})" if field is not None and field.description else ""


_KEY = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w.\-]*)\s*:")


def _key_near(text: str, line: int | None) -> str:
    """The key written on `line`, or on the nearest line above it that has one."""
    lines = text.splitlines()
    for number in range(min(line or 0, len(lines)) - 1, -1, -1):
        match = _KEY.match(lines[number])
        if match:
            return match.group(1)
    return ""
