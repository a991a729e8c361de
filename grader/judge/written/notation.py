"""Which symbol plays which part in one write-up: read from the student's own equations, not from a list.

`s_t = \\tanh(U x_t + W s_{t-1})` makes s the state, W the recurrent weight, U the input weight and x the
input; `o_t = \\text{softmax}(V s_t)` makes o the prediction and V the output weight. What the write-up does
not say keeps the exercise's spellings (`symbols:` in the exercise file).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from grader.judge.written.parsing import (
    Add,
    Apply,
    BigOp,
    Frac,
    Func,
    Index,
    Mul,
    Neg,
    Partial,
    Reading,
    Sym,
    parse_math,
    walk,
)
from grader.judge.written.symbols import base_key, key

ACTIVATIONS = ("tanh", "sigma", "sigmoid", "relu")


@dataclass
class Notation:
    """Symbols by role: `steps` (a base letter, `h`, with a time index) and `fixed` (a whole key, `W_H`)."""

    steps: dict[str, str] = field(default_factory=dict)  # base key -> per-step quantity (h -> h_t)
    fixed: dict[str, str] = field(default_factory=dict)  # whole key -> quantity (W_H -> W_H, L -> L)
    derivatives: set[str] = field(default_factory=set)  # base keys the student defines as derivatives (J in J_{t,k})

    def quantity(self, symbol: Any) -> tuple[str, Any] | None:
        """(quantity, its time index tree) for `h_{t-1}`; (quantity, None) for a weight or `L`."""
        if not isinstance(symbol, Sym):
            return None
        whole = self.fixed.get(key(symbol))
        if whole is not None:
            return whole, None
        if symbol.sub is not None and len(symbol.sub) == 1:
            found = self.steps.get(base_key(symbol))
            if found is not None:
                return found, symbol.sub[0]
        return None


def from_exercise(symbols: dict[str, list[str]], per_step: set[str], previous: dict[str, str]) -> Notation:
    """The exercise's spellings: `h_{t-1}` names the per-step `h_t` one step back (`previous`). Read once per
    exercise (each spelling is parsed), a fresh copy for every write-up."""
    spellings = tuple((quantity, tuple(written)) for quantity, written in symbols.items())
    read = _exercise_notation(spellings, frozenset(per_step), tuple(previous.items()))
    return Notation(dict(read.steps), dict(read.fixed))


@functools.lru_cache(maxsize=16)
def _exercise_notation(
    symbols: tuple[tuple[str, tuple[str, ...]], ...],
    per_step: frozenset[str],
    previous_items: tuple[tuple[str, str], ...],
) -> Notation:
    """`from_exercise`'s reading, with its arguments in a form a cache can key on."""
    notation, previous = Notation(), dict(previous_items)
    for quantity, spellings in symbols:
        for spelling in [quantity, *spellings]:
            try:
                tree = parse_math(spelling)
            except ValueError:
                continue
            if not isinstance(tree, Sym):
                continue
            target = previous.get(quantity, quantity)
            if target in per_step and tree.sub is not None:
                notation.steps.setdefault(base_key(tree), target)
            elif target not in per_step:
                notation.fixed.setdefault(key(tree), target)
    return notation


def infer(reading: Reading, notation: Notation, roles: dict[str, str]) -> Notation:
    """The exercise's notation, overridden by what this write-up's own equations show.

    `roles` names the model's quantities: state, preactivation, input, prediction, logits, recurrent,
    input_weight, output_weight, step_loss, loss, target."""
    found = Notation(dict(notation.steps), dict(notation.fixed))
    statements = [
        (_as_symbol(row.rel.parts[i]), row.rel.parts[i + 1])
        for row in reading.rows
        for i, op in enumerate(row.rel.ops)
        if op == "=" and _as_symbol(row.rel.parts[i]) is not None
    ]
    _aliases(statements, found)
    _own_derivatives(statements, found)
    defined: dict[str, Any] = {}
    for lhs, rhs in statements:
        defined.setdefault(key(lhs), rhs)
    for lhs, rhs in statements:
        argument = _activated(rhs)
        if argument is None or lhs.sub is None:
            continue
        named = _as_symbol(argument)
        if named is not None and key(named) in defined:
            _assign(found.steps, base_key(named), roles["preactivation"])
            argument = defined[key(named)]
        if _recurrence(argument, lhs, found, roles):
            _assign_state(found, base_key(lhs), statements, roles["state"])
            _outputs(statements, lhs, found, roles)
            break
    _losses(statements, found, roles)
    _targets_of_errors(reading, found, roles)
    predicted_elsewhere = any(v == roles["prediction"] for k, v in found.steps.items() if k != "y")
    if found.steps.get("y") in (None, roles["prediction"]) and (predicted_elsewhere or _hatted_y(reading)):
        found.steps["y"] = roles["target"]  # ŷ_t (or o_t) is the prediction: y_t is the target
    return found


def _as_symbol(tree: Any) -> Any:
    """A left-hand side as a symbol: `a_t[i]` is entry i of a_t, written `a_{t,i}`."""
    if isinstance(tree, Sym):
        return tree
    if isinstance(tree, Index) and isinstance(tree.base, Sym) and tree.base.sub is not None and len(tree.base.sub) == 1:
        if isinstance(tree.index, Sym) and tree.index.sub is None:
            return Sym(tree.base.base, (*tree.base.sub, tree.index), tree.base.hat)
    return None


def _aliases(statements: list[tuple[Sym, Any]], found: Notation) -> None:
    """`W = W_H`, `U := W_x`, `s_t = h_t`: the student says which of their symbols is which."""
    for lhs, rhs in statements:
        if not isinstance(rhs, Sym):
            continue
        for mine, known in ((lhs, rhs), (rhs, lhs)):
            if found.quantity(mine) is not None:
                continue
            quantity = found.quantity(known)
            if quantity is None:
                continue
            if quantity[1] is None:
                found.fixed[key(mine)] = quantity[0]
            elif mine.sub is not None:
                found.steps[base_key(mine)] = quantity[0]
            break


def _own_derivatives(statements: list[tuple[Sym, Any]], found: Notation) -> None:
    """`J_j := ∂h_j/∂h_{j-1}`: J is the student's own name for a derivative, whatever the exercise spells so (J_t)."""
    own = {
        base_key(lhs)
        for lhs, rhs in statements
        if lhs.sub is not None and isinstance(rhs, Frac) and isinstance(rhs.num, Partial)
    }
    for written in [k for k in found.fixed if k.split("_", 1)[0] in own]:
        del found.fixed[written]
    for base in own:
        found.steps.pop(base, None)
    found.derivatives.update(own)


def _assign_state(found: Notation, written: str, statements: list[tuple[Sym, Any]], state: str) -> None:
    """The letter whose own previous step feeds its activation is the state, even where the exercise spells it
    otherwise (Ng's `a^{⟨t⟩}`), unless the write-up also uses the exercise's own state letter (`a_t = \\tanh(W_H
    a_{t-1} + …)` beside `h_t = \\tanh(a_t)` or `z_t = W_y h_t`: then one of the two is a mistake, which `_assign`
    leaves to find)."""
    own = {base for base, quantity in found.steps.items() if quantity == state and base != written}
    used = {base_key(node) for pair in statements for node in walk(pair) if isinstance(node, Sym) and node.sub}
    if own & used:
        _assign(found.steps, written, state)
    else:
        found.steps[written] = state


def _assign(table: dict[str, str], written: str, quantity: str) -> None:
    """`written` plays `quantity` in this write-up, unless the exercise already spells another quantity so
    (then what the student wrote is read as that one, and a swap is a mistake to find, not a notation)."""
    if table.get(written, quantity) == quantity:
        table[written] = quantity


def _activated(tree: Any) -> Any:
    """The argument of `tanh(…)` (also `\\tanh(…)` written as a function name before a group)."""
    if isinstance(tree, Apply) and tree.func in ACTIVATIONS:
        return tree.arg
    if isinstance(tree, Mul) and len(tree.factors) == 2 and isinstance(tree.factors[0], Func):
        if tree.factors[0].name in ACTIVATIONS:
            return tree.factors[1]
    return None


def _terms(tree: Any) -> list[Any]:
    return list(tree.terms) if isinstance(tree, Add) else [tree]


def _weight_and_vector(term: Any) -> tuple[Any, Sym] | None:
    """`W s_{t-1}`, or entry by entry `\\sum_j W_{ij} s_{t-1,j}` (`(W)_{ij}` too): the weight and the vector."""
    if isinstance(term, BigOp) and term.op == "sum":
        return _entries_of_product(term.body)
    if isinstance(term, Mul) and len(term.factors) == 2:
        weight, vector = term.factors
        if isinstance(weight, Sym) and isinstance(vector, Sym):
            return weight, vector
    return None


def _entries_of_product(body: Any) -> tuple[Any, Sym] | None:
    if not (isinstance(body, Mul) and len(body.factors) == 2):
        return None
    weight, vector = body.factors
    if isinstance(weight, Index) and isinstance(weight.base, Sym):
        weight = weight.base
    elif isinstance(weight, Sym) and weight.sub is not None:
        weight = Sym(weight.base, None, weight.hat)
    else:
        return None
    if isinstance(vector, Index) and isinstance(vector.base, Sym) and vector.base.sub is not None:
        return weight, vector.base  # `h_{t-1}[j]`
    if not (isinstance(vector, Sym) and vector.sub is not None and len(vector.sub) == 2):
        return None
    return weight, step_of(vector)


def step_of(symbol: Sym) -> Sym:
    """`h_{t,i}` -> `h_t`: the vector an entry belongs to."""
    return Sym(symbol.base, symbol.sub[:1], symbol.hat) if symbol.sub is not None and len(symbol.sub) == 2 else symbol


def _recurrence(argument: Any, state: Sym, found: Notation, roles: dict[str, str]) -> bool:
    """`W s_{t-1} + U x_t` (any order, a bias allowed): names the recurrent and input weights and the input."""
    pairs = [p for p in (_weight_and_vector(term) for term in _terms(argument)) if p is not None]
    state = step_of(state)
    recurrent = [p for p in pairs if p[1].base == state.base and p[1].sub is not None and key(p[1]) != key(state)]
    inputs = [p for p in pairs if p[1].base != state.base]
    if len(recurrent) != 1 or len(inputs) != 1:
        return False
    _assign(found.fixed, key(recurrent[0][0]), roles["recurrent"])
    _assign(found.fixed, key(inputs[0][0]), roles["input_weight"])
    _assign(found.steps, base_key(inputs[0][1]), roles["input"])
    return True


def _outputs(statements: list[tuple[Sym, Any]], state: Sym, found: Notation, roles: dict[str, str]) -> None:
    """`z_t = V s_t` and `ŷ_t = softmax(z_t)` (or `softmax(V s_t)`): the output weight, logits, prediction."""
    logits: dict[str, Any] = {}
    for lhs, rhs in statements:
        pair = _weight_and_vector(rhs)
        if pair and pair[1].base == state.base and lhs.sub is not None and key(pair[1]) == key(step_of(state)):
            _assign(found.fixed, key(pair[0]), roles["output_weight"])
            _assign(found.steps, base_key(lhs), roles["logits"])
            logits[key(lhs)] = lhs
    for lhs, rhs in statements:
        argument = rhs.arg if isinstance(rhs, Apply) and rhs.func == "softmax" else None
        if isinstance(rhs, Mul) and len(rhs.factors) == 2 and rhs.factors[0] == Func("softmax"):
            argument = rhs.factors[1]
        if argument is None or lhs.sub is None:
            continue
        pair = _weight_and_vector(argument)
        if pair and pair[1].base == state.base:
            _assign(found.fixed, key(pair[0]), roles["output_weight"])
        if (isinstance(argument, Sym) and key(argument) in logits) or pair:
            _assign(found.steps, base_key(lhs), roles["prediction"])
        if isinstance(argument, Sym) and key(argument) in logits and base_key(argument) != base_key(lhs):
            found.steps[base_key(argument)] = roles["logits"]  # `y_t = W_hy h_t, p_t = softmax(y_t)`: y is theirs


def _losses(statements: list[tuple[Sym, Any]], found: Notation, roles: dict[str, str]) -> None:
    """`E_t = -y_t^\\top \\log \\hat y_t` names the step loss (a per-step minus log of the prediction);
    `E = \\sum_t E_t` the loss (the step losses summed)."""
    if "step_loss" not in roles or "loss" not in roles:
        return
    prediction = {base for base, quantity in found.steps.items() if quantity == roles.get("prediction")}
    step_losses = set()
    for lhs, rhs in statements:
        if lhs.sub is not None and isinstance(rhs, Neg) and _logs_of(rhs, prediction | {"^y"}):
            _assign(found.steps, base_key(lhs), roles["step_loss"])
            step_losses.add(base_key(lhs))
            for target in _picked_entries(rhs, prediction | {"^y"}) + _weighting_logs(rhs, found):
                if "target" in roles and base_key(target) not in found.steps:
                    found.steps[base_key(target)] = roles["target"]  # `-\\log \\hat y_{t,c_t}`: c is the target
    for lhs, rhs in statements:
        terms = [rhs.body] if isinstance(rhs, BigOp) and rhs.op == "sum" else _terms(rhs)
        if all(isinstance(term, Sym) and term.sub is not None and base_key(term) in step_losses for term in terms):
            if base_key(lhs) not in step_losses:
                _assign(found.fixed, key(lhs), roles["loss"])


def _picked_entries(tree: Any, prediction: set[str]) -> list[Sym]:
    """The per-step symbols that pick an entry of the prediction: `c_t` in `\\hat y_{t,c_t}` or `\\hat y_t[c_t]`."""
    picked = []
    for node in walk(tree):
        if isinstance(node, Sym) and node.sub is not None and len(node.sub) == 2 and base_key(node) in prediction:
            picked.append(node.sub[1])
        elif isinstance(node, Index) and isinstance(node.base, Sym) and base_key(node.base) in prediction:
            picked.append(node.index)
    return [p for p in picked if isinstance(p, Sym) and p.sub is not None and len(p.sub) == 1]


def _targets_of_errors(reading: Reading, found: Notation, roles: dict[str, str]) -> None:
    """`\\hat y_t - t_t`, `ŷ_s - Y_s`: what the prediction is compared with is the one-hot target."""
    if "target" not in roles or "prediction" not in roles:
        return
    prediction = {base for base, quantity in found.steps.items() if quantity == roles["prediction"]} | {"^y"}
    marks = ["hat", "ŷ", *(base + "_" for base in prediction if base.isalpha())]
    for row in reading.rows:
        if "-" not in row.text or not any(mark in row.text for mark in marks):
            continue
        for node in walk(row.rel):
            if not (isinstance(node, Add) and len(node.terms) == 2 and isinstance(node.terms[1], Neg)):
                continue
            first, second = node.terms[0], node.terms[1].arg
            if _per_step(first) and base_key(first) in prediction and _per_step(second):
                found.steps.setdefault(base_key(second), roles["target"])


def _per_step(tree: Any) -> bool:
    return isinstance(tree, Sym) and tree.sub is not None and len(tree.sub) == 1


def _weighting_logs(tree: Any, found: Notation) -> list[Sym]:
    """`-e_t^\\top \\log \\hat y_t`: a per-step vector of the write-up's own that weighs the logarithms (the one-hot
    target)."""
    return [
        node
        for node in walk(tree)
        if isinstance(node, Sym) and node.sub is not None and len(node.sub) == 1 and found.quantity(node) is None
    ]


def _logs_of(tree: Any, prediction: set[str]) -> bool:
    """A logarithm and the prediction both in `tree`."""
    nodes = list(walk(tree))
    names = [n.name if isinstance(n, Func) else n.func for n in nodes if isinstance(n, Func | Apply)]
    logged = "log" in names or "ln" in names
    return logged and any(isinstance(n, Sym) and n.sub is not None and base_key(n) in prediction for n in nodes)


def _hatted_y(reading: Reading) -> bool:
    return any("\\hat{y}" in row.text or "\\hat y" in row.text for row in reading.rows)
