"""Evaluating a parsed expression on numpy arrays: matrix products, tanh, softmax, log, transposes.

Used to compare a student's right-hand side with the reference's on random matrices of the
handout's sizes. Any expression that cannot be evaluated raises `NotEvaluable` with a reason a
student understands; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.judge.written.parsing import Add, Apply, Frac, Func, Hadamard, Index, Mul, Neg, Num, Pow, Sym
from grader.judge.written.symbols import key


class NotEvaluable(ValueError):
    """An expression that has no value: an unknown symbol, sizes that do not fit, a derivative."""


def _softmax(value: np.ndarray) -> np.ndarray:
    shifted = np.exp(value - value.max(axis=0, keepdims=True))
    return shifted / shifted.sum(axis=0, keepdims=True)


def _diag(value: np.ndarray) -> np.ndarray:
    return np.diagflat(value) if value.ndim == 2 and 1 in value.shape else value


FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "softmax": _softmax,
    "log": np.log,
    "ln": np.log,
    "exp": np.exp,
    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "sigma": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "diag": _diag,
    "tanh'": lambda v: 1.0 - np.tanh(v) ** 2,
}
TRANSPOSE_MARKS = {"T", "\\top", "\\intercal", "\\mathsf", "t"}


def evaluate(tree: Any, env: dict[str, np.ndarray], names: dict[str, str]) -> np.ndarray:
    """The value of `tree` with symbols looked up as `names[key] -> env[name]`."""
    with np.errstate(all="ignore"):
        value = _value(tree, env, names)
    return np.asarray(value, dtype=np.float64)


def _value(tree: Any, env: dict[str, np.ndarray], names: dict[str, str]) -> np.ndarray:
    if isinstance(tree, Num):
        return np.asarray(tree.value)
    if isinstance(tree, Sym):
        name = names.get(key(tree))
        if name is None or name not in env:
            raise NotEvaluable(f"it uses {_written(tree)}, which is not a quantity of the model")
        return env[name]
    if isinstance(tree, Neg):
        return -_value(tree.arg, env, names)
    if isinstance(tree, Add):
        return _add([_value(term, env, names) for term in tree.terms])
    if isinstance(tree, Mul):
        return _product(tree.factors, env, names)
    if isinstance(tree, Hadamard):
        return _entrywise([_value(factor, env, names) for factor in tree.factors])
    if isinstance(tree, Apply):
        return _apply(tree.func, _value(tree.arg, env, names))
    if isinstance(tree, Frac):
        return _divide(_value(tree.num, env, names), _value(tree.den, env, names))
    if isinstance(tree, Pow):
        return _power(tree, env, names)
    if isinstance(tree, Index):
        return _index(_value(tree.base, env, names), _value(tree.index, env, names))
    raise NotEvaluable(f"{_kind(tree)} has no value to compare")


def _kind(tree: Any) -> str:
    return {"Partial": "a derivative", "BigOp": "a sum", "Dots": "'…'", "Func": "a function without argument"}.get(
        type(tree).__name__, "part of it"
    )


def _written(tree: Sym) -> str:
    return ("\\hat{" + tree.base + "}" if tree.hat else tree.base) + (
        "_" + ",".join(key(part) for part in tree.sub) if tree.sub else ""
    )


def _add(values: list[np.ndarray]) -> np.ndarray:
    total = values[0]
    for value in values[1:]:
        if total.shape != value.shape and total.size != 1 and value.size != 1:
            raise NotEvaluable(f"it adds a {_size(total)} and a {_size(value)}, which cannot be added")
        total = total + value
    return total


def _size(value: np.ndarray) -> str:
    return "×".join(map(str, value.shape)) if value.ndim else "number"


def _product(factors: tuple[Any, ...], env: dict[str, np.ndarray], names: dict[str, str]) -> np.ndarray:
    values: list[np.ndarray] = []
    for factor in reversed(factors):  # a function applies to what follows it: read right to left
        if isinstance(factor, Func):
            if not values:
                raise NotEvaluable(f"{factor.name} has nothing to apply to")
            values[-1] = _apply(factor.name, values[-1])
            continue
        values.append(_value(factor, env, names))
    result = values[-1]
    for value in reversed(values[:-1]):
        result = _multiply(result, value)
    return result


def _multiply(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if left.size == 1 or right.size == 1:
        return left * right
    if left.ndim == 2 and right.ndim == 2 and left.shape[1] == right.shape[0]:
        return left @ right
    if left.shape == right.shape and left.ndim == 2 and left.shape[1] == 1:  # y_t log ŷ_t: an inner product
        return np.asarray((left * right).sum())
    raise NotEvaluable(f"it multiplies a {_size(left)} by a {_size(right)}, whose sizes do not fit")


def _entrywise(values: list[np.ndarray]) -> np.ndarray:
    result = values[0]
    for value in values[1:]:
        if result.shape != value.shape and result.size != 1 and value.size != 1:
            raise NotEvaluable(f"it multiplies entry by entry a {_size(result)} and a {_size(value)}")
        result = result * value
    return result


def _apply(name: str, value: np.ndarray) -> np.ndarray:
    function = FUNCTIONS.get(name)
    if function is None:
        raise NotEvaluable(f"{name} is not a function of the model")
    return np.asarray(function(value))


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    if den.size != 1:
        raise NotEvaluable("it divides by a matrix")
    return num / den


def _power(tree: Pow, env: dict[str, np.ndarray], names: dict[str, str]) -> np.ndarray:
    base = _value(tree.base, env, names)
    if isinstance(tree.exp, Sym) and tree.exp.base in TRANSPOSE_MARKS:
        return base.T
    exponent = _value(tree.exp, env, names)
    if exponent.size != 1:
        raise NotEvaluable("it raises something to a matrix power")
    return base ** float(exponent)


def _index(base: np.ndarray, index: np.ndarray) -> np.ndarray:
    if index.shape == base.shape and index.ndim == 2 and index.shape[1] == 1:  # ŷ_t[y_t], y_t one-hot
        return np.asarray((base * index).sum())
    raise NotEvaluable("it picks an entry that is not the target's")
