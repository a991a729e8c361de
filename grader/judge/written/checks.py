"""What a write-up states, checked by value on the reference's unrolled model: the gradient it arrives at,
and each local derivative it writes out (`∂L_t/∂z_t = ŷ_t - y_t`, `∂h_t/∂h_{t-1} = diag(1 - h_t^2) W_H`).

A value equal to the reference's is verified; a value equal to what a known slip gives is that slip; any
other value, or none, is left unverified (never a mistake by itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.judge.written.evaluate import NotEvaluable
from grader.judge.written.notation import Notation
from grader.judge.written.parsing import Frac, Func, Index, Mul, Partial, Reading, Row, Sym
from grader.judge.written.unroll import (
    Unrolled,
    definitions,
    index_variable,
    step_offset,
    time_index,
    unread_definitions,
)

PROBE_STEP = 2  # a step with one before it and one after it, where local derivatives are compared


@dataclass(frozen=True)
class Finding:
    line: int
    source: str
    outcome: str  # "right", a diagnosis, "differs" (a value, neither right nor a known slip), or "unverified"
    reason: str = ""


def close(got: np.ndarray, want: np.ndarray, *, transposed_too: bool = False) -> bool:
    want = np.asarray(want, dtype=np.float64)
    if got.size != want.size:
        return False
    if got.shape == want.shape and np.allclose(got, want, rtol=RTOL, atol=ATOL):
        return True
    if got.shape != want.shape and got.size == want.size and (got.ndim < 2 or want.ndim < 2 or 1 in got.shape):
        return np.allclose(got.reshape(want.shape), want, rtol=RTOL, atol=ATOL)
    return transposed_too and got.T.shape == want.shape and np.allclose(got.T, want, rtol=RTOL, atol=ATOL)


RTOL, ATOL = 1e-6, 1e-9


def evaluator(
    model: dict, notation: Notation, reading: Reading, steps: tuple[str, ...], sizes: dict[str, int] | None = None
) -> Unrolled:
    return Unrolled(model, notation, definitions(reading), steps, sizes or {}, unread_definitions(reading))


def gradient_findings(unrolled: Unrolled, reading: Reading, loss: str, weight: str) -> list[Finding]:
    """Each `∂L/∂W_H = …` the write-up states, judged by its value against the reference and known slips."""
    findings = []
    for row in reading.rows:
        rel = row.rel
        starts = [i for i, part in enumerate(rel.parts) if _differentiates(unrolled.notation, part, loss, weight)]
        if not starts:  # `dW_H = dL/dW_H = …` names it after something else
            continue
        entries = _entries_of(unrolled.notation, rel.parts[starts[0]], loss, weight) or ()
        for op, part in zip(rel.ops[starts[0] :], rel.parts[starts[0] + 1 :]):
            if op != "=":
                break
            if not _differentiates(unrolled.notation, part, loss, weight):
                findings.append(_judge_gradient(unrolled, row, part, entries))
    return findings


def _differentiates(notation: Notation, tree: Any, loss: str, weight: str) -> bool:
    return _entries_of(notation, tree, loss, weight) is not None


def _entries_of(notation: Notation, tree: Any, loss: str, weight: str) -> tuple[str, ...] | None:
    """For `∂L/∂W_H`: () (the whole matrix); for `∂L/∂(W_H)_{ij}`: the entry indices ('i', 'j'); else None."""
    if not (isinstance(tree, Frac) and isinstance(tree.num, Partial) and isinstance(tree.den, Partial)):
        return None
    if notation.quantity(tree.num.arg) != (loss, None):
        return None
    bottom = tree.den.arg
    entries: tuple[str, ...] | None = ()
    if isinstance(bottom, Index):
        entries, bottom = _letters(bottom.index), bottom.base
    elif isinstance(bottom, Sym) and bottom.sub is not None and notation.quantity(bottom) is None:
        entries, bottom = _letters(bottom.sub[-1]), Sym(bottom.base, bottom.sub[:-1] or None, bottom.hat)
    if entries is None or notation.quantity(bottom) != (weight, None):
        return None
    return entries


def _letters(index: Any) -> tuple[str, ...] | None:
    """`ij`, `(i, j)`, `pq`: two entry indices."""
    if isinstance(index, tuple) and len(index) == 2 and all(isinstance(p, Sym) and p.sub is None for p in index):
        return (index[0].base, index[1].base)
    if isinstance(index, Sym) and index.sub is None and len(index.base) == 2 and index.base.isalpha():
        return (index.base[0], index.base[1])
    return None


CONVENTIONS = ((0, True), (0, False), (1, True), (1, False))  # steps counted from 1 or from 0; a product either way


def _judge_gradient(unrolled: Unrolled, row: Row, formula: Any, entries: tuple[str, ...] = ()) -> Finding:
    """Right under any of the conventions, tried one at a time until one gives the gradient; else the first known
    slip any of them gives; else unverified: why it could not be evaluated, if it never could, or that its value is
    neither. An entry-by-entry formula stops at its first entry when that entry is unlike the gradient's and every
    slip's (it cannot be either then), and is evaluated whole only if whether it has a value decides what is said
    (so an error other than NotEvaluable further on, a grader error before, is then not met)."""
    model = unrolled.model
    knowns = [np.asarray(model["answer"], dtype=np.float64)]
    knowns += [np.asarray(wrong, dtype=np.float64) for wrong in model["mistakes"].values()]
    # Per convention: its value, the message of why it has none, or None when it stopped at an unlike first entry.
    outcomes: list[np.ndarray | str | None] = []
    try:
        for convention in CONVENTIONS:
            outcomes.append(_evaluated(unrolled, formula, entries, convention, knowns))
            if isinstance(outcomes[-1], np.ndarray) and close(outcomes[-1], model["answer"]):
                return Finding(row.line, row.source, "right")
        values = [outcome for outcome in outcomes if isinstance(outcome, np.ndarray)]
        for diagnosis, wrong in model["mistakes"].items():
            if any(close(value, wrong) for value in values):
                return Finding(row.line, row.source, diagnosis)
        for number, convention in enumerate(CONVENTIONS):
            if values:
                break
            if outcomes[number] is None:
                outcome = outcomes[number] = _evaluated(unrolled, formula, entries, convention, None)
                values = [outcome] if isinstance(outcome, np.ndarray) else []
    finally:
        unrolled.shift, unrolled.descending, unrolled.memo = 0, True, {}
    if not values:
        problem = next((outcome for outcome in outcomes if isinstance(outcome, str) and outcome), "")
        return Finding(row.line, row.source, "unverified", problem)
    return Finding(row.line, row.source, "unverified", "its value is not the gradient, nor a known slip's")


def _evaluated(
    unrolled: Unrolled,
    formula: Any,
    entries: tuple[str, ...],
    convention: tuple[int, bool],
    knowns: list[np.ndarray] | None,
) -> np.ndarray | str | None:
    """The formula's value under one convention, or why it has none (NotEvaluable's message); None when, entry by
    entry, its first entry is unlike the first of every one of `knowns` (the gradient's and the known slips')."""
    unrolled.shift, unrolled.descending = convention
    unrolled.memo = {}
    try:
        return _entrywise(unrolled, formula, entries, knowns) if entries else unrolled.value(formula)
    except NotEvaluable as exc:
        return str(exc)


def _entrywise(
    unrolled: Unrolled, formula: Any, entries: tuple[str, ...], knowns: list[np.ndarray] | None = None
) -> np.ndarray | None:
    """`∂L/∂(W_H)_{ij} = Σ_t r_{t,i} h_{t-1,j}`: the formula at every (i, j), as a matrix; None as soon as its first
    entry is unlike the first entry of every one of `knowns` (a matrix of the same size), given any."""
    rows, columns = unrolled.model["answer"].shape
    matrix: list[list[float]] = []
    for i in range(1, rows + 1):
        matrix.append([])
        for j in range(1, columns + 1):
            entry = _number(unrolled.value(formula, {entries[0]: i, entries[1]: j}))
            if knowns is not None and i == j == 1 and not _may_be_one_of(entry, knowns, rows * columns):
                return None
            matrix[-1].append(entry)
    return np.array(matrix)


def _may_be_one_of(first: float, knowns: list[np.ndarray], size: int) -> bool:
    """Whether a matrix of `size` entries whose first entry is `first` could be `close` to one of `knowns`."""
    return any(
        known.size == size and abs(first - known.flat[0]) <= ATOL + RTOL * abs(known.flat[0]) for known in knowns
    )


def _number(value: np.ndarray) -> float:
    if value.size != 1:
        raise NotEvaluable("one entry of it is not a number")
    return float(value.reshape(()))


def derivative_findings(unrolled: Unrolled, reading: Reading) -> list[Finding]:
    """Each local derivative written out (`∂z_t/∂h_t = W_y`), at one step, and each derivative across steps
    (`∂h_t/∂h_k = ∏_{j=k+1}^{t} …`), against the reference's: right, a known slip, or a value that differs."""
    findings = []
    for row in reading.rows:
        rel = row.rel
        if not rel.ops:
            continue
        slope = _activation_slope(unrolled, rel.parts[0])
        if slope is not None:  # `tanh'(a_t) = …`: the write-up's own derivative of the activation
            parts = [part for op, part in zip(rel.ops, rel.parts[1:]) if op == "="]
            findings += [_judge_slope(unrolled, row, part, slope) for part in parts]
            continue
        pair = _local_pair(unrolled, rel.parts[0])
        across = None if pair is not None else _across_steps(unrolled, rel.parts[0])
        if pair is None and across is None:
            continue
        for op, part in zip(rel.ops, rel.parts[1:]):
            if op == "=" and not isinstance(part, Frac):
                if pair is not None:
                    findings.append(_judge_derivative(unrolled, row, rel.parts[0], part, pair))
                elif across is not None:
                    findings.append(_judge_across(unrolled, row, rel.parts[0], part, across))
    return [f for f in findings if f.outcome != "unverified"]


SLOPE_SLIPS = {  # what a slip in the derivative of tanh gives, from h = tanh(a)
    "tanh-derivative-of-wrong-quantity": lambda h, a: 1 - a**2,
    "sigmoid-derivative-for-tanh": lambda h, a: h * (1 - h),
}


def _activation_slope(unrolled: Unrolled, lhs: Any) -> str | None:
    """The index variable of `tanh'(a_t)` (the derivative of the activation at a pre-activation), else None."""
    if not (isinstance(lhs, Mul) and len(lhs.factors) == 2 and isinstance(lhs.factors[0], Func)):
        return None
    if lhs.factors[0].name not in ("tanh'", "\\tanh'"):
        return None
    found = unrolled.notation.quantity(lhs.factors[1])
    activation = unrolled.model.get("activation", {})
    if found is None or found[1] is None or found[0] != activation.get("preactivation"):
        return None
    return index_variable(found[1])


def _judge_slope(unrolled: Unrolled, row: Row, formula: Any, variable: str) -> Finding:
    unrolled.memo = {}
    try:
        got = unrolled.value(formula, {variable: PROBE_STEP})
    except NotEvaluable as exc:
        return Finding(row.line, row.source, "unverified", str(exc))
    activation = unrolled.model["activation"]
    h, a = (np.asarray(unrolled.model["per_step"][activation[role]][PROBE_STEP]) for role in ("state", "preactivation"))
    if close(got, 1 - h**2) or close(got, np.diagflat(1 - h**2)):
        return Finding(row.line, row.source, "right")
    for diagnosis, slip in SLOPE_SLIPS.items():
        if close(got, slip(h, a)) or close(got, np.diagflat(slip(h, a))):
            return Finding(row.line, row.source, diagnosis)
    return Finding(row.line, row.source, "differs", "its value is not the derivative of tanh, nor a known slip's")


ACROSS_PROBE = (4, 2)  # ∂h_4/∂h_2: two one-step Jacobians


def _across_steps(unrolled: Unrolled, lhs: Any) -> tuple[str, str] | None:
    """(top variable, bottom variable) of `∂h_t/∂h_k`: one quantity, at two steps named by two variables."""
    if not (isinstance(lhs, Frac) and isinstance(lhs.num, Partial) and isinstance(lhs.den, Partial)):
        return None
    top, bottom = unrolled.notation.quantity(lhs.num.arg), unrolled.notation.quantity(lhs.den.arg)
    if top is None or bottom is None or top[0] != bottom[0] or top[1] is None or bottom[1] is None:
        return None
    upper, lower = index_variable(top[1]), index_variable(bottom[1])
    if upper is None or lower is None or upper == lower:
        return None
    return upper, lower


def _judge_across(unrolled: Unrolled, row: Row, lhs: Any, formula: Any, variables: tuple[str, str]) -> Finding:
    """The formula at t = 4, k = 2 against ∂h_4/∂h_2, and against a product one factor too long or short."""
    (upper, lower), (step, below) = variables, ACROSS_PROBE
    want = {}
    try:
        for name, k in (("right", below), ("jacobian-product-off-by-one", below - 1), ("short", below + 1)):
            want[name] = unrolled.model_derivative(lhs.num.arg, lhs.den.arg, {upper: step, lower: k})
        unrolled.memo = {}
        got = unrolled.value(formula, {upper: step, lower: below})
    except NotEvaluable as exc:
        return Finding(row.line, row.source, "unverified", str(exc))
    if close(got, want["right"], transposed_too=True):
        return Finding(row.line, row.source, "right")
    if close(got, want["jacobian-product-off-by-one"]) or close(got, want["short"]):
        return Finding(row.line, row.source, "jacobian-product-off-by-one")
    return Finding(row.line, row.source, "differs", "its value is not the derivative, nor a known slip's")


def _local_pair(unrolled: Unrolled, lhs: Any) -> str | None:
    if not (isinstance(lhs, Frac) and isinstance(lhs.num, Partial) and isinstance(lhs.den, Partial)):
        return None
    notation, model = unrolled.notation, unrolled.model
    top, bottom = notation.quantity(lhs.num.arg), notation.quantity(lhs.den.arg)
    if top is None or bottom is None or top[1] is None or bottom[1] is None:
        return None
    try:
        shift = unrolled.index(top[1], {"t": 10, "k": 10, "j": 10, "s": 10, "i": 10}) - unrolled.index(
            bottom[1], {"t": 10, "k": 10, "j": 10, "s": 10, "i": 10}
        )
    except NotEvaluable:
        return None
    below = model.get("previous", {}).get(bottom[0], bottom[0]) if shift == 1 else bottom[0]
    pair = f"{top[0]}/{below}"
    return pair if shift in (0, 1) and pair in model["derivatives"] else None


def _judge_derivative(unrolled: Unrolled, row: Row, lhs: Any, formula: Any, pair: str) -> Finding:
    index = time_index(lhs)
    variable = index_variable(index)
    if variable is None:
        return Finding(row.line, row.source, "unverified")
    unrolled.memo = {}
    try:  # `∂h_{t-1}/∂h_{t-2} = …` at t - 1 = PROBE_STEP
        got = unrolled.value(formula, {variable: PROBE_STEP - step_offset(index, variable)})
    except NotEvaluable as exc:
        return Finding(row.line, row.source, "unverified", str(exc))
    want = unrolled.model["derivatives"][pair][PROBE_STEP]
    if close(got, want, transposed_too=True) or _diagonal_as_vector(got, want):
        return Finding(row.line, row.source, "right")
    for diagnosis, values in unrolled.model.get("derivative_mistakes", {}).get(pair, {}).items():
        if close(got, values[PROBE_STEP], transposed_too=True) or _diagonal_as_vector(got, values[PROBE_STEP]):
            return Finding(row.line, row.source, diagnosis)
    return Finding(row.line, row.source, "differs", "its value is not the derivative, nor a known slip's")


def _diagonal_as_vector(got: np.ndarray, want: np.ndarray) -> bool:
    """`∂h_t/∂a_t = 1 - h_t^2`: a diagonal Jacobian written as its diagonal."""
    want = np.asarray(want)
    if want.ndim != 2 or want.shape[0] != want.shape[1] or not np.allclose(want, np.diag(np.diag(want))):
        return False
    return got.size == want.shape[0] and np.allclose(got.reshape(-1), np.diag(want), rtol=1e-6, atol=1e-9)
