"""Expressions over an exercise's dimensions: sizes ("4*H"), scales ("0.9 / sqrt(H)"), bounds ("V"), constraints.

Evaluated by simpleeval (no attribute access, no imports, only the names and functions below).
"""

from __future__ import annotations

import difflib
import math
import warnings
from typing import Any

from simpleeval import AssignmentAttempted, InvalidExpression, NameNotDefined, SimpleEval

MAX_LENGTH = 200


class ExpressionError(ValueError):
    """An expression that is not valid over the exercise's dimensions."""


def _distinct(*values: Any) -> bool:
    return len(set(values)) == len(values)


FUNCTIONS = {
    "sqrt": math.sqrt,
    "log": math.log,
    "exp": math.exp,
    "min": min,
    "max": max,
    "abs": abs,
    "distinct": _distinct,
}


def evaluate(expression: float | str, dimensions: dict[str, int]) -> Any:
    """The value of a number or an expression, with each dimension name standing for its size."""
    if not isinstance(expression, str):
        return expression
    if len(expression) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    try:
        with warnings.catch_warnings():  # simpleeval warns of an assignment and goes on: here it is an error
            warnings.simplefilter("error", AssignmentAttempted)
            return SimpleEval(names=dict(dimensions), functions=FUNCTIONS).eval(expression)
    except AssignmentAttempted:
        raise ExpressionError(f"{expression!r} assigns; compare with == ({expression.replace('=', '==', 1)})") from None
    except NameNotDefined as exc:
        raise ExpressionError(f"{expression!r}: {_unknown_name(exc.name, dimensions)}") from None
    except (InvalidExpression, SyntaxError, TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        raise ExpressionError(f"{expression!r}: {_message(exc)}") from None


def size(entry: int | str, dimensions: dict[str, int]) -> int:
    """One axis of a shape: a number, a dimension's name, or an expression over dimensions ("4*H")."""
    value = evaluate(entry, dimensions)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        raise ExpressionError(f"{entry!r} gives {value!r} at {_sizes(dimensions)}; a size is a whole number >= 0")
    return int(value)


def written(shape: list[int | str] | tuple[int | str, ...]) -> str:
    """A shape as the exercise writes it: (N, 4*H)."""
    return "(" + ", ".join(str(entry).replace(" ", "") for entry in shape) + ("," if len(shape) == 1 else "") + ")"


def is_expression(entry: int | str) -> bool:
    """An entry that is neither a number nor a single dimension name ("4*H", "H + 1")."""
    return isinstance(entry, str) and not entry.strip().isidentifier()


def closest(word: str, allowed: list[str] | tuple[str, ...]) -> str:
    """'; did you mean X?' for the allowed word nearest a misspelt one, or ''."""
    match = difflib.get_close_matches(word, list(allowed), n=1, cutoff=0.6)
    if not match:  # then regardless of case: d for D
        by_lower = {name.lower(): name for name in reversed(list(allowed))}
        match = [by_lower[m] for m in difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)]
    return f"; did you mean {match[0]!r}?" if match else ""


def _unknown_name(name: str, dimensions: dict[str, int]) -> str:
    known = ", ".join(dimensions) or "none"
    return f"{name!r} is not a dimension (dimensions: {known}){closest(name, list(dimensions))}"


def _sizes(dimensions: dict[str, int]) -> str:
    return ", ".join(f"{name}={value}" for name, value in dimensions.items())


def check_expression(expression: str, sizes: dict[str, int]) -> Any:
    """Its value at `sizes` (the handout's): unknown names, bad syntax and a failing value show at load time."""
    return evaluate(expression, sizes)


def _message(exc: Exception) -> str:
    if isinstance(exc, SyntaxError):
        return "not a valid expression (a product needs its *, as in 4*H)"
    text = str(exc).split(" for expression")[0]
    return text or type(exc).__name__
