"""Evaluating a parsed expression on numpy arrays: matrix products, tanh, softmax, log, transposes.

Used to compare a student's right-hand side with the reference's on random matrices of the
handout's sizes. Any expression that cannot be evaluated raises `NotEvaluable` with a reason a
student understands; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.judge.written.parsing import Add, Apply, BigOp, Frac, Func, Hadamard, Index, Mul, Neg, Num, Pow, Sym
from grader.judge.written.symbols import base_key, key


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
    "onehot": lambda v: v,  # `onehot(y_t)`: the target, already one-hot here
    "tanh'": lambda v: 1.0 - np.tanh(v) ** 2,
}
TRANSPOSE_MARKS = {"T", "\\top", "\\intercal", "\\mathsf", "t"}


class OutOfRange(NotEvaluable):
    """An entry past the end of a vector: where a sum without limits stops."""


MAX_TERMS = 1_000


def evaluate(
    tree: Any, env: dict[str, np.ndarray], names: dict[str, str], bound: dict[str, int] | None = None
) -> np.ndarray:
    """The value of `tree` with symbols looked up as `names[key] -> env[name]`; `bound` gives index
    variables (`k` in `ŷ_{t,k}`) their values, counting entries from 1 as students do."""
    with np.errstate(all="ignore"):
        value = _value(tree, env, names, bound or {})
    return np.asarray(value, dtype=np.float64)


def _value(tree: Any, env: dict[str, np.ndarray], names: dict[str, str], bound: dict[str, int]) -> np.ndarray:
    if isinstance(tree, Num):
        return np.asarray(tree.value)
    if isinstance(tree, Sym):
        return _symbol(tree, env, names, bound)
    if isinstance(tree, Neg):
        return -_value(tree.arg, env, names, bound)
    if isinstance(tree, Add):
        return _add([_value(term, env, names, bound) for term in tree.terms])
    if isinstance(tree, Mul):
        return _product(tree.factors, env, names, bound)
    if isinstance(tree, Hadamard):
        return _entrywise([_value(factor, env, names, bound) for factor in tree.factors])
    if isinstance(tree, Apply):
        return _apply(tree.func, _value(tree.arg, env, names, bound))
    if isinstance(tree, Frac):
        return _divide(_value(tree.num, env, names, bound), _value(tree.den, env, names, bound))
    if isinstance(tree, Pow):
        return _power(tree, env, names, bound)
    if isinstance(tree, Index):
        return _indexed(tree, env, names, bound)
    if isinstance(tree, BigOp) and tree.op == "sum":
        return _sum(tree, env, names, bound)
    raise NotEvaluable(f"{_kind(tree)} has no value to compare")


def _symbol(tree: Sym, env: dict[str, np.ndarray], names: dict[str, str], bound: dict[str, int]) -> np.ndarray:
    name = names.get(key(tree))
    if name is not None and name in env:
        return env[name]
    if tree.sub is None and tree.base in bound:  # an index, or a size (`V` in a sum's limit)
        return np.asarray(float(bound[tree.base]))
    whole = names.get(base_key(tree))
    if tree.sub is not None and whole in env and env[whole].ndim == 2 and min(env[whole].shape) > 1:
        return _indexed(Index(Sym(tree.base, None, tree.hat), tree.sub), env, names, bound)  # `W_{ij}`
    if tree.sub is not None and len(tree.sub) >= 2:  # ŷ_{t,k}: entry k of ŷ_t
        vector = _symbol(Sym(tree.base, tree.sub[:1], tree.hat), env, names, bound)
        return entry(vector, [_position(part, env, names, bound) for part in tree.sub[1:]])
    raise NotEvaluable(f"it uses {_written(tree)}, which is not a quantity of the model")


def _position(tree: Any, env: dict[str, np.ndarray], names: dict[str, str], bound: dict[str, int]) -> int:
    """An entry's number, from 1: `k`, `k+1`, or the target word `y_t` (a one-hot vector)."""
    value = _value(tree, env, names, bound)
    if value.size > 1 and value.ndim == 2 and value.shape[1] == 1 and np.isclose(value.sum(), 1.0):
        return int(np.argmax(value)) + 1
    if value.size != 1:
        raise NotEvaluable("an index it uses is not a number")
    return int(round(float(value)))


def entry(value: np.ndarray, positions: list[int]) -> np.ndarray:
    """Entries numbered from 1, as students number them; OutOfRange past the end. An entry is numpy's scalar, as
    arithmetic on entries gives: a formula evaluated entry by entry builds no array for each."""
    if any(p < 1 for p in positions):
        raise NotEvaluable("it uses an entry numbered below 1")
    try:
        if len(positions) == 1 and value.ndim == 2 and value.shape[1] == 1:
            return value[positions[0] - 1, 0]
        if len(positions) == 2 and value.ndim == 2:
            return value[positions[0] - 1, positions[1] - 1]
    except IndexError:
        raise OutOfRange("an entry past the end") from None
    raise NotEvaluable("it picks entries the grader cannot tell")


def _indexed(tree: Index, env: dict[str, np.ndarray], names: dict[str, str], bound: dict[str, int]) -> np.ndarray:
    """`ŷ_t[y_t]`, `z_t[k]`, `(W_H)_{ij}`."""
    base = _value(tree.base, env, names, bound)
    parts = tree.index if isinstance(tree.index, tuple) else (tree.index,)
    if len(parts) == 1 and isinstance(parts[0], Sym) and parts[0].sub is None and len(parts[0].base) == 2:
        parts = (Sym(parts[0].base[0]), Sym(parts[0].base[1]))  # `_{ij}`: two indices
    return entry(base, [_position(part, env, names, bound) for part in parts])


def _sum(tree: BigOp, env: dict[str, np.ndarray], names: dict[str, str], bound: dict[str, int]) -> np.ndarray:
    """`\\sum_{j=1}^{7}` or `\\sum_j` (over every entry the body can reach)."""
    if tree.var is None:
        raise NotEvaluable("a sum without its index")
    low = _position(tree.low, env, names, bound) if tree.low is not None else 1
    high = _position(tree.high, env, names, bound) if tree.high is not None else low + MAX_TERMS
    if high - low > MAX_TERMS:
        raise NotEvaluable("a sum over more entries than the model has")
    total: np.ndarray | None = None
    for step in range(low, high + 1):
        try:
            term = _value(tree.body, env, names, {**bound, tree.var: step})
        except OutOfRange:
            if tree.high is None:
                break
            raise
        total = term if total is None else total + term
    if total is None:
        raise NotEvaluable("an empty sum")
    return total


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


def _product(
    factors: tuple[Any, ...], env: dict[str, np.ndarray], names: dict[str, str], bound: dict[str, int]
) -> np.ndarray:
    for index, factor in enumerate(factors):  # `\mathbf{1}^\top v`: the sum of v's entries
        if isinstance(factor, Pow) and factor.base == Num(1.0) and isinstance(factor.exp, Sym):
            if factor.exp.base in TRANSPOSE_MARKS and index + 1 < len(factors):
                result = np.asarray(_product(factors[index + 1 :], env, names, bound).sum())
                for before in reversed(factors[:index]):
                    if isinstance(before, Func):
                        result = _apply(before.name, result)
                    else:
                        result = _multiply(_value(before, env, names, bound), result)
                return result
    values: list[np.ndarray] = []
    for factor in reversed(factors):  # a function applies to what follows it: read right to left
        if isinstance(factor, Func):
            if not values:
                raise NotEvaluable(f"{factor.name} has nothing to apply to")
            values[-1] = _apply(factor.name, values[-1])
            continue
        values.append(_value(factor, env, names, bound))
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


def _power(tree: Pow, env: dict[str, np.ndarray], names: dict[str, str], bound: dict[str, int]) -> np.ndarray:
    if tree.base == Sym("e") and names.get("e") is None:  # e^{z_{t,k}}
        return np.exp(_value(tree.exp, env, names, bound))
    base = _value(tree.base, env, names, bound)
    if isinstance(tree.exp, Sym) and tree.exp.base in TRANSPOSE_MARKS and tree.exp.sub is None:
        return base.T
    exponent = _value(tree.exp, env, names, bound)
    if exponent.size != 1:
        raise NotEvaluable("it raises something to a matrix power")
    return base ** float(exponent)
