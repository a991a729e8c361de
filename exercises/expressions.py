"""Expressions over an exercise's dimensions: scales ("0.9 / sqrt(H)"), bounds ("V"), constraints.

Evaluated by simpleeval (no attribute access, no imports, only the names and functions below).
"""

from __future__ import annotations

import math
from typing import Any

from simpleeval import InvalidExpression, SimpleEval

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
        return SimpleEval(names=dict(dimensions), functions=FUNCTIONS).eval(expression)
    except (InvalidExpression, SyntaxError, TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        raise ExpressionError(f"{expression!r}: {_message(exc)}") from None


def check_expression(expression: str, sizes: dict[str, int]) -> Any:
    """Its value at `sizes` (the handout's): unknown names, bad syntax and a failing value show at load time."""
    return evaluate(expression, sizes)


def _message(exc: Exception) -> str:
    text = str(exc).split(" for expression")[0]
    return text or type(exc).__name__
