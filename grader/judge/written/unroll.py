"""A written formula's value over a whole sentence: the student's own definitions (a δ_t recursion,
`D_j = diag(1 - h_j^2)`, `∂L/∂h_t = …`) evaluated step by step on the reference's unrolled model.

So any equivalent form of a gradient earns its points (a double sum, a backward recursion, a product of
Jacobians) and a wrong one is told apart by its value. Anything the evaluator cannot give a value raises
`NotEvaluable`; nothing else escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from grader.judge.written.evaluate import FUNCTIONS, TRANSPOSE_MARKS, NotEvaluable, OutOfRange, entry
from grader.judge.written.notation import Notation
from grader.judge.written.parsing import (
    Add,
    Apply,
    BigOp,
    Dots,
    Frac,
    Func,
    Hadamard,
    Index,
    Mul,
    Neg,
    Num,
    Partial,
    Pow,
    Reading,
    Sym,
    parse_math,
    walk,
)
from grader.judge.written.symbols import base_key, kept_on, key

MAX_DEPTH = 100
MAX_STEPS_OF_WORK = 200_000  # evaluations of one formula: far beyond any derivation, short of a hang
MAX_REMEMBERED = 20_000  # values a convention's memo holds, past which a sum is no longer remembered


class _Zero:
    """A quantity past the last step (δ_{T+1}): nothing to add, whatever its shape."""


ZERO = _Zero()
Value = Any  # np.ndarray or ZERO


@dataclass(frozen=True)
class Definition:
    """`δ_t = …`: what is defined (a symbol, or ∂A/∂B), its index variable or fixed index, and the formula."""

    line: int
    lhs: Any
    rhs: Any


def definitions(reading: Reading) -> list[Definition]:
    """Every `A = B` of the write-up as a possible definition of A (`A = B = C` defines A twice)."""
    found = []
    for row in reading.rows:
        rel = row.rel
        if not rel.ops or rel.ops[0] != "=":
            continue
        lhs, transposed = _untransposed(rel.parts[0])
        lhs = entry_derivative(lhs) or lhs
        if not isinstance(lhs, (Sym, Frac)):
            continue
        parts = []
        for op, part in zip(rel.ops, rel.parts[1:]):
            if op != "=":
                break
            parts.append(part)
        computed = [part for part in parts if not _is_derivative(part)]  # `δ_t := ∂L/∂a_t = (1 - h_t^2) ⊙ …`:
        for part in computed or parts:  # what the write-up computes, not the name it gives it
            found.append(Definition(row.line, lhs, Pow(part, Sym("T")) if transposed else part))
    return found


DEFINED_BY = re.compile(  # how a row says what its left side is: `=`, `:=`, `\\triangleq`, an assignment's `←`
    r":=|\\(?:coloneqq|equiv|triangleq|doteq|leftarrow|gets)(?![A-Za-z])|\\stackrel\s*\{[^{}]*\}\s*\{=\}|<-|="
)


def unread_definitions(reading: Reading) -> dict[str, int]:
    """{defined key: line} of the rows that could not be read but begin `A = …` (`δ_t = (1 - h_t^2) ⊙ …` in a form
    the grammar does not know): there the write-up computes A, so A's name alone (`δ_t := ∂L/∂a_t`) does not say
    what it computed."""
    found: dict[str, int] = {}
    for row in (*reading.unreadable, *reading.unread_plain):
        lhs_text = DEFINED_BY.split(row.text or "", maxsplit=1)
        defined = _key_defined_by(lhs_text[0].strip()) if len(lhs_text) == 2 else None
        if defined is not None:
            found.setdefault(defined, row.line)
    return found


@lru_cache(maxsize=4096)
def _key_defined_by(lhs_text: str) -> str | None:
    """The key of what `lhs_text = …` defines, or None (a write-up's rows repeat the same few left sides)."""
    try:
        lhs = parse_math(lhs_text)
    except (ValueError, RecursionError):
        return None
    lhs = entry_derivative(lhs) or lhs
    return _defined_key(lhs) if isinstance(lhs, (Sym, Frac)) else None


def _unread(line: int) -> NotEvaluable:
    return NotEvaluable(f"what line {line} computes for it could not be read")


def _computed_first(candidates: list) -> list:
    """(definition, binding) pairs without those that only name a derivative (`δ_t := ∂L/∂a_t`) when the write-up
    also computes the thing: its own computation is judged, never replaced by the value of its name."""
    computed = [(d, b) for d, b in candidates if not _is_derivative(d.rhs)]
    return computed or candidates


def _is_derivative(tree: Any) -> bool:
    return isinstance(tree, Frac) and isinstance(tree.num, Partial) and isinstance(tree.den, Partial)


def entry_derivative(tree: Any) -> Sym | None:
    """`∂L/∂h_{t,i}` as a symbol indexed like an entry (step t, entry i), so it is defined and used as one."""
    if not (isinstance(tree, Frac) and isinstance(tree.num, Partial) and isinstance(tree.den, Partial)):
        return None
    top, bottom = tree.num.arg, tree.den.arg
    if not (isinstance(top, Sym) and isinstance(bottom, Sym) and bottom.sub is not None and len(bottom.sub) == 2):
        return None
    if top.sub is not None and len(top.sub) > 1:
        return None
    return Sym(f"∂{key(top)}/∂{base_key(bottom)}", bottom.sub, False)


def _untransposed(lhs: Any) -> tuple[Any, bool]:
    """`J_j^\\top = …` defines J_j as the transpose of what follows."""
    if isinstance(lhs, Pow) and isinstance(lhs.exp, Sym) and lhs.exp.base in TRANSPOSE_MARKS and lhs.exp.sub is None:
        return lhs.base, True
    return lhs, False


EXTRA_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigma'": lambda v: (1.0 / (1.0 + np.exp(-v))) * (1.0 - 1.0 / (1.0 + np.exp(-v))),
}


class Unrolled:
    """Evaluates formulas on one unrolled model (`reference`'s `unrolled_model`) in a write-up's notation."""

    def __init__(
        self,
        model: dict,
        notation: Notation,
        found: list[Definition],
        steps: tuple[str, ...],
        sizes: dict[str, int] | None = None,
        unread: dict[str, int] | None = None,
    ) -> None:
        self.model, self.notation, self.steps = model, notation, steps
        self.unread = unread or {}  # what rows the grader could not read define (`unread_definitions`)
        self.sizes = sizes or {}  # the sizes the model was built at (`V` in `\\sum_{m=1}^{V}`)
        self.count = int(model["steps"])
        self.defined: dict[str, list[Definition]] = {}
        for definition in reversed(found):  # the last written first: the most explicit form
            self.defined.setdefault(_defined_key(definition.lhs), []).append(definition)
        self.memo: dict[tuple, Any] = {}  # a value, or why there is none
        self.spent = 0  # evaluations of the formula in hand
        self.descending = True  # ∏_{j=k+1}^{t} J_j as J_t ⋯ J_{k+1}
        self.shift = 0  # 1 when the write-up numbers steps from 0 (h_{-1} the state before the first)

    def quantity(self, symbol: Any) -> tuple[str, Any] | None:
        """`notation.quantity`, kept on the node with the notation it was found in (a formula's value at every
        entry asks for the same few symbols' thousands of times; a write-up's notation does not change while it is
        judged, and a node another write-up shares is asked again in that one's). Kept on the node, it goes with
        it: the nodes made while evaluating leave nothing behind."""
        known = getattr(symbol, "__dict__", {}).get("_quantity")
        if known is not None and known[0] is self.notation:
            return known[1]
        found = self.notation.quantity(symbol)
        if hasattr(symbol, "__dict__"):
            object.__setattr__(symbol, "_quantity", (self.notation, found))
        return found

    # ------------------------------------------------------------ entry point

    def value(self, tree: Any, bound: dict[str, int] | None = None) -> np.ndarray:
        self.spent = 0
        with np.errstate(all="ignore"):
            result = self._value(tree, dict(bound or {}), 0)
        if result is ZERO:
            raise NotEvaluable("it is zero everywhere")
        if not np.all(np.isfinite(result)):
            raise NotEvaluable("its value is not finite")
        return np.asarray(result, dtype=np.float64)

    # ------------------------------------------------------------ indices

    def index(self, tree: Any, bound: dict[str, int]) -> int:
        if isinstance(tree, Num):
            return int(tree.value)
        if isinstance(tree, Sym) and tree.sub is None:
            if tree.base in bound:
                return bound[tree.base]
            if tree.base in self.steps:
                return self.count
            if tree.base in self.sizes:
                return self.sizes[tree.base]
        if isinstance(tree, Add):
            return sum(self.index(term, bound) for term in tree.terms)
        if isinstance(tree, Neg):
            return -self.index(tree.arg, bound)
        raise NotEvaluable("an index it uses has no value")

    # ------------------------------------------------------------ values

    def _value(self, tree: Any, bound: dict[str, int], depth: int) -> Value:
        if depth > MAX_DEPTH:
            raise NotEvaluable("its definitions go round in circles")
        self.spent += 1
        if self.spent > MAX_STEPS_OF_WORK:
            raise NotEvaluable("it takes too long to evaluate")
        depth += 1
        if isinstance(tree, Num):
            return ZERO if tree.value == 0 else np.asarray(tree.value)  # `δ_{T+1} = 0`: a zero of any size
        if isinstance(tree, Sym):
            return self._symbol(tree, bound, depth)
        if isinstance(tree, Neg):
            inner = self._value(tree.arg, bound, depth)
            return inner if inner is ZERO else -inner
        if isinstance(tree, Add):
            return _add([self._value(term, bound, depth) for term in tree.terms])
        if isinstance(tree, Mul):
            return self._product(kept_on(tree, "_grouped", _grouped), bound, depth)
        if isinstance(tree, Hadamard):
            return _hadamard([self._value(f, bound, depth) for f in tree.factors])
        if isinstance(tree, Apply):
            return _apply(tree.func, self._value(tree.arg, bound, depth))
        if isinstance(tree, Frac):
            return self._fraction(tree, bound, depth)
        if isinstance(tree, Pow):
            return self._power(tree, bound, depth)
        if isinstance(tree, BigOp):
            return self._big(tree, bound, depth)
        if isinstance(tree, Index):
            return self._entry(tree, bound, depth)
        raise NotEvaluable(f"{type(tree).__name__.lower()} has no value here")

    def _symbol(self, symbol: Sym, bound: dict[str, int], depth: int) -> Value:
        """The model's own quantities from the model (the write-up's forward equations are judged elsewhere);
        anything else from the write-up's definitions."""
        if symbol.sub is None and symbol.base in bound:
            return np.asarray(float(bound[symbol.base]))
        if symbol.sub is not None and len(symbol.sub) == 2:
            return self._entry_of(symbol, bound, depth)
        element = self._weight_entry(symbol, bound)
        if element is not None:
            return element
        target = self._target_entry(symbol, bound)
        if target is not None:
            return target
        found = self.quantity(symbol)
        if found is not None:
            quantity, index = found
            return self._fixed(quantity) if index is None else self._step(quantity, self.index(index, bound))
        own = self._own_definition(symbol, bound, depth)
        if own is None and symbol.sub is not None and len(symbol.sub) == 1:
            own = self._vector_of_entries(symbol, bound, depth)
        if own is None:
            raise NotEvaluable(f"it uses {key(symbol)}, which it does not define")
        return own

    def _vector_of_entries(self, symbol: Sym, bound: dict[str, int], depth: int) -> Value | None:
        """`δ_k` where the write-up defines only its entries `δ_{k,p}`: the column of those entries."""
        definitions = self.defined.get(base_key(symbol) + "@entry")
        if not definitions or symbol.sub is None:
            return None
        step = self.index(symbol.sub[0], bound)
        entries = []
        for number in range(1, MAX_ENTRIES + 1):
            try:
                value = self._entry_definition(symbol, definitions, step, number, depth)
            except OutOfRange:
                break
            if value is not ZERO and np.size(value) != 1:
                raise NotEvaluable(f"an entry of {key(symbol)} is not a number")
            entries.append(value)
        if not entries or any(value is ZERO for value in entries):
            return ZERO if entries and all(value is ZERO for value in entries) else None
        return np.asarray([float(value) for value in entries]).reshape(-1, 1)

    # ------------------------------------------------------------ entries (index notation)

    def _entry_of(self, symbol: Sym, bound: dict[str, int], depth: int) -> Value:
        """`h_{t,i}`: entry i of h_t; `r_{t,i}` as the write-up defines it entry by entry; `\\iverson_{c,y_t}`."""
        assert symbol.sub is not None
        if symbol.base == "\\iverson":
            return np.asarray(float(self.position(symbol.sub[0], bound) == self.position(symbol.sub[1], bound)))
        step, entry = self.index(symbol.sub[0], bound), self.position(symbol.sub[1], bound)
        definitions = self.defined.get(_defined_key(symbol))
        vector_symbol = _vector_of(symbol)
        if definitions and self.quantity(vector_symbol) is None:
            return self._entry_definition(symbol, definitions, step, entry, depth)
        vector = self._value(vector_symbol, bound, depth)
        return _element(vector, (entry,))

    def _entry_definition(self, symbol: Sym, definitions: list[Definition], step: int, entry: int, depth: int):
        memo_key = (_defined_key(symbol), step, entry)
        if memo_key in self.memo:
            known = self.memo[memo_key]
            if isinstance(known, NotEvaluable):
                raise known
            return known
        if step + self.shift > self.count:
            return ZERO
        self.memo[memo_key] = NotEvaluable("its definitions go round in circles")
        problem: NotEvaluable = NotEvaluable(f"it uses {key(symbol)}, which it does not define")
        ordered = sorted(definitions, key=_generality)  # `g_{t,t} = …` before `g_{t,k-1} = …`
        for definition, _ in _computed_first([(d, None) for d in ordered]):
            binding = self._entry_binding(definition.lhs, step, entry)
            if binding is None:
                continue
            try:
                self.memo[memo_key] = self._value(definition.rhs, binding, depth)
                return self.memo[memo_key]
            except NotEvaluable as exc:
                problem = exc
        self.memo[memo_key] = problem
        raise problem

    def _entry_binding(self, lhs: Sym, step: int, entry: int) -> dict[str, int] | None:
        binding: dict[str, int] = {}
        for sub, value in zip(lhs.sub or (), (step, entry)):
            variable = index_variable(sub)
            if variable is None:
                if self._fixed_index(sub) != value:
                    return None
                continue
            wanted = value - step_offset(sub, variable)
            if binding.setdefault(variable, wanted) != wanted:
                return None  # `g_{t,t}` defines only the entries where both indices agree
        return binding

    def position(self, tree: Any, bound: dict[str, int]) -> int:
        """An entry's number, from 1: an index, or the target word (`y_t` as one-hot)."""
        found = self.quantity(tree) if isinstance(tree, Sym) else None
        if found is not None and found[0] == self.model.get("target", "y") and found[1] is not None:
            onehot = self._step(found[0], self.index(found[1], bound))
            if onehot is not ZERO:
                return int(np.argmax(onehot)) + 1
        return self.index(tree, bound)

    def _weight_entry(self, symbol: Sym, bound: dict[str, int]) -> Value | None:
        """`W_{ij}`: an entry of a weight the write-up names by its letter alone."""
        if symbol.sub is None or len(symbol.sub) != 1 or not isinstance(symbol.sub[0], Sym):
            return None
        letters = symbol.sub[0].base
        if len(letters) != 2 or not letters.isalpha() or symbol.sub[0].sub is not None:
            return None
        quantity = self.notation.fixed.get(base_key(symbol))
        if quantity is None:
            return None
        positions = tuple(self.position(_letter(letter), bound) for letter in letters)
        return _element(self._fixed(quantity), positions)

    def _fixed(self, quantity: str) -> np.ndarray:
        if quantity not in self.model["arrays"]:
            raise NotEvaluable(f"{quantity} has no value here")
        return self.model["arrays"][quantity]

    def _step(self, quantity: str, step: int) -> Value:
        step += self.shift
        values = self.model["per_step"].get(quantity)
        if values is None:
            raise NotEvaluable(f"{quantity} has no value here")
        if step > self.count:
            return ZERO
        if step < 0 or values[step] is None:
            raise NotEvaluable(f"{quantity} has no value at step {step}")
        return values[step]

    def _target_entry(self, symbol: Sym, bound: dict[str, int]) -> Value | None:
        """`e_{y_t}`, `1_{y_t}`: the one-hot target of step t."""
        if symbol.sub is None or len(symbol.sub) != 1 or not isinstance(symbol.sub[0], Sym):
            return None
        inner = symbol.sub[0]
        found = self.quantity(inner)
        if found and found[0] == self.model.get("target", "y") and found[1] is not None:
            return self._step(found[0], self.index(found[1], bound))
        return None

    # ------------------------------------------------------------ the write-up's own definitions

    def _own_definition(self, lhs: Any, bound: dict[str, int], depth: int) -> Value | None:
        """The value of what the write-up defines (`δ_t`, `∂L/∂h_t`, `∂h_t/∂h_k`) at these indices; None if it
        defines none."""
        candidates = self.defined.get(_defined_key(lhs))
        if not candidates:
            return None
        indices = tuple(self.index(expr, bound) for expr in _index_exprs(lhs))
        memo_key = (_defined_key(lhs), indices)
        if memo_key in self.memo:
            known = self.memo[memo_key]
            if isinstance(known, NotEvaluable):
                raise known
            return known
        self.memo[memo_key] = NotEvaluable("its definitions go round in circles")  # until this one is known
        try:
            result = self._first_value(candidates, indices, bound, depth)
        except NotEvaluable as exc:
            self.memo[memo_key] = exc
            raise
        if result is None:
            del self.memo[memo_key]
        else:
            self.memo[memo_key] = result
        return result

    def _first_value(
        self, candidates: list[Definition], indices: tuple[int, ...], bound: dict[str, int], depth: int
    ) -> Value | None:
        """The first definition that gives a value: one for exactly these steps (`δ_{T+1} = 0`) before the
        general ones (`δ_t = …`)."""
        bindings = [(d, self._binding(d.lhs, indices, bound)) for d in candidates]
        exact = [(d, b) for d, b in bindings if b is not None and not _has_variable(d.lhs, self.steps)]
        general = [(d, b) for d, b in bindings if b is not None and _has_variable(d.lhs, self.steps)]
        problem: NotEvaluable | None = None
        tried = _computed_first(exact + general)
        named_only = tried and all(_is_derivative(d.rhs) for d, _ in tried)
        unread = self.unread.get(_defined_key(candidates[0].lhs)) if named_only else None
        if unread is not None:
            raise _unread(unread)
        for definition, binding in tried:
            try:
                return self._value(definition.rhs, binding, depth)
            except NotEvaluable as exc:
                problem = problem or exc
        if indices and indices[0] + self.shift > self.count:
            return ZERO  # δ_{T+1}: past the last step, with no value of its own
        if problem is not None:
            raise problem
        return None

    def _fixed_index(self, index: Any) -> int | None:
        try:
            return self.index(index, {})
        except NotEvaluable:
            return None

    def _binding(self, lhs: Any, indices: tuple[int, ...], bound: dict[str, int]) -> dict[str, int] | None:
        """The definition's index variables at these steps; None if it is for other steps (`δ_2 = …` is an
        example, not a definition)."""
        exprs = _index_exprs(lhs)
        if len(exprs) != len(indices):
            return None
        binding = dict(bound)
        for expr, value in zip(exprs, indices):
            variable = index_variable(expr, self.steps)
            if variable is None:
                if not _symbolic(expr) or self._fixed_index(expr) != value:
                    return None
                continue
            binding[variable] = value - step_offset(expr, variable)
        return binding

    # ------------------------------------------------------------ derivatives

    def _fraction(self, tree: Frac, bound: dict[str, int], depth: int) -> Value:
        if not (isinstance(tree.num, Partial) and isinstance(tree.den, Partial)):
            numerator, denominator = self._value(tree.num, bound, depth), self._value(tree.den, bound, depth)
            if numerator is ZERO:
                return ZERO
            if denominator is ZERO or np.size(denominator) != 1:
                raise NotEvaluable("it divides by a matrix")
            return numerator / denominator
        by_entry = entry_derivative(tree)
        if by_entry is not None:  # `∂L/∂h_{t,i}`: one entry of ∂L/∂h_t
            if self.defined.get(_defined_key(by_entry)):
                return self._entry_of(by_entry, bound, depth)
            den = tree.den.arg
            vector = self._known_derivative(tree.num.arg, Sym(den.base, den.sub[:1], den.hat), bound)
            return _element(vector, (self.position(den.sub[1], bound),))
        own = self._own_definition(tree, bound, depth)
        if own is not None:
            return own
        unread = self.unread.get(_defined_key(tree))
        if unread is not None:  # `∂L/∂h_t = …` on a row it could not read: what the student computed is unknown
            raise _unread(unread)
        return self._known_derivative(tree.num.arg, tree.den.arg, bound)

    def model_derivative(self, top: Any, bottom: Any, bound: dict[str, int]) -> np.ndarray:
        """∂top/∂bottom on the model itself, whatever the write-up defines."""
        value = self._known_derivative(top, bottom, bound)
        if value is ZERO:
            raise NotEvaluable("it is zero everywhere")
        return np.asarray(value, dtype=np.float64)

    def _known_derivative(self, top: Any, bottom: Any, bound: dict[str, int]) -> Value:
        upper, lower = self.quantity(top), self.quantity(bottom)
        if upper is None or lower is None:
            raise NotEvaluable("it uses a derivative it does not work out")
        step = self.index(upper[1], bound) if upper[1] is not None else None
        below = self.index(lower[1], bound) if lower[1] is not None else None
        if step is None and below is not None:
            step, below = below, None  # ∂L/∂h_t: the total loss, at h_t's step
            return self._derivative((upper[0], lower[0]), step)
        if step is None:
            raise NotEvaluable("it uses a derivative it does not work out")
        name = lower[0]
        if below == step and upper[0] == lower[0]:  # ∂h_k/∂h_k: the identity
            value = self._step(upper[0], step)
            return ZERO if value is ZERO else np.eye(np.size(value))
        if below is not None and below < step - 1 and upper[0] == lower[0]:
            return self._across(upper[0], step, below)
        if below is not None and below == step - 1:
            name = self.model.get("previous", {}).get(lower[0], lower[0])
        elif below is not None and below != step:
            raise NotEvaluable("it uses a derivative across several steps without working it out")
        return self._derivative((upper[0], name), step)

    def _across(self, quantity: str, step: int, below: int) -> Value:
        """∂h_t/∂h_k for k < t: the one-step Jacobians ∂h_j/∂h_{j-1} multiplied from j = t down to k + 1."""
        if step - below > self.count + 2:
            raise NotEvaluable("a derivative across more steps than the sentence has")
        previous = self.model.get("previous", {}).get(quantity, quantity)
        result: Value = self._derivative((quantity, previous), step)
        for j in range(step - 1, below, -1):
            result = _multiply(result, self._derivative((quantity, previous), j))
        return result

    def _derivative(self, pair: tuple[str, str], step: int) -> Value:
        step += self.shift
        values = self.model["derivatives"].get("/".join(pair))
        if values is None:
            raise NotEvaluable("it uses a derivative it does not work out")
        if step > self.count:
            return ZERO
        if step < 0 or values[step] is None:
            raise NotEvaluable("it uses a derivative at a step that does not exist")
        return values[step]

    # ------------------------------------------------------------ operators

    def _product(self, factors: tuple[Any, ...], bound: dict[str, int], depth: int) -> Value:
        """The product of a Mul's factors, grouped (`_grouped`)."""
        values: list[Value] = []
        for factor, binding in reversed(self._written_out(factors, bound)):  # a function applies to what follows
            if isinstance(factor, Func):
                if not values:
                    raise NotEvaluable(f"{factor.name} has nothing to apply to")
                values[-1] = _apply(factor.name, values[-1])
                continue
            values.append(self._value(factor, binding, depth))
        result = values[-1]
        for value in reversed(values[:-1]):
            result = _multiply(result, value)
        return result

    def _written_out(self, factors: tuple[Any, ...], bound: dict[str, int]) -> list[tuple[Any, dict[str, int]]]:
        """(factor, its index values) in order, `D_k W^T D_{k+1} W^T ⋯ W^T D_t` written out in full: the unit
        between the last two stepped factors before `⋯`, repeated up to the last one after it."""
        dots = [i for i, factor in enumerate(factors) if isinstance(factor, Dots)]
        if not dots:
            return [(factor, bound) for factor in factors]
        before, after = factors[: dots[0]], factors[dots[0] + 1 :]
        stepped = [(i, found) for i, f in enumerate(before) if (found := self._stepped(f, bound)) is not None]
        if not stepped:
            raise NotEvaluable("'…' has no value here")
        if len(stepped) == 1 or stepped[-2][1][0] != stepped[-1][1][0]:
            # `J_{k+1}^T ⋯ J_t^T`: one factor, repeated in the direction the check assumes
            (start, (name, variable, offset, first)), stop = stepped[-1], len(before)
            other, step = name, -1 if self.descending else 1
        else:
            (start, (name, variable, offset, first)), (stop, (other, _, _, second)) = stepped[-2], stepped[-1]
            step = second - first
        ends = [(i, found) for i, f in enumerate(after) if (found := self._stepped(f, bound)) and found[0] == name]
        if name != other or step not in (1, -1) or not ends:
            raise NotEvaluable("'…' has no value here")
        end, (_, _, _, last) = ends[-1]
        if abs(last - first) > self.count + 2:
            raise NotEvaluable("'…' over more steps than the sentence has")
        if (last - first) * step < 0:  # `J_t ⋯ J_{k+1}` with k = t: no factor at all, the identity
            kept = [(factor, bound) for factor in (*before[:start], *after[end + stop - start :])]
            return kept or [(Num(1.0), bound)]
        written = [(factor, bound) for factor in before[:start]]
        for value in range(first, last, step):
            written += [(factor, {**bound, variable: value - offset}) for factor in before[start:stop]]
        return written + [(factor, bound) for factor in after[end:]]

    def _stepped(self, factor: Any, bound: dict[str, int]) -> tuple[str, str, int, int] | None:
        """(symbol, index variable, offset, step) of the first symbol in a factor indexed by a variable (`D_{k+1}`)."""
        for node in walk(factor):
            if isinstance(node, Sym) and node.sub is not None and len(node.sub) == 1:
                variable = index_variable(node.sub[0])
                if variable is not None and variable in bound:
                    try:
                        return (
                            base_key(node),
                            variable,
                            step_offset(node.sub[0], variable),
                            self.index(node.sub[0], bound),
                        )
                    except NotEvaluable:
                        return None
        return None

    def _power(self, tree: Pow, bound: dict[str, int], depth: int) -> Value:
        base = self._value(tree.base, bound, depth)
        if base is ZERO:
            return ZERO
        if isinstance(tree.exp, Sym) and tree.exp.base in TRANSPOSE_MARKS and tree.exp.sub is None:
            return base.T
        exponent = self._value(tree.exp, bound, depth)
        if exponent is ZERO or np.size(exponent) != 1:
            raise NotEvaluable("it raises something to a matrix power")
        return base ** float(exponent)

    def _big(self, tree: BigOp, bound: dict[str, int], depth: int) -> Value:
        """A sum or product, remembered by the values of the indices it reads: an entry-by-entry formula sums
        `\\sum_v W_{vi} …` again for every j of (i, j) otherwise. What it reads through a definition is the
        definition's, remembered by that definition's own indices (`_own_definition`); its value is kept with the
        node, which so stays alive (its id names no other). A failure is not remembered, nor anything once the
        memo holds MAX_REMEMBERED values. A sum found here is not worked out again, so its work counts once
        against MAX_STEPS_OF_WORK: a formula that only repeats the same sums is evaluated, not refused as too long."""
        names = kept_on(tree, "_index_names", _index_names)
        memo_key = ("Σ", id(tree), *sorted(item for item in bound.items() if item[0] in names or len(item[0]) > 1))
        known = self.memo.get(memo_key)
        if known is not None and known[0] is tree:
            return known[1]
        value = self._big_value(tree, bound, depth)
        if len(self.memo) < MAX_REMEMBERED:
            self.memo[memo_key] = (tree, value)
        return value

    def _big_value(self, tree: BigOp, bound: dict[str, int], depth: int) -> Value:
        if tree.var is None:
            raise NotEvaluable("a sum or product without its index")
        entries = tree.op == "sum" and kept_on(tree, "_over_entries", _over_entries)
        if entries and tree.low is None and tree.high is None:
            return self._entry_sum(tree, bound, depth)
        low = self.index(tree.low, bound) if tree.low is not None else 1 - self.shift  # `\sum_t`: every step
        high = self.index(tree.high, bound) if tree.high is not None else self.count
        if high - low > (MAX_ENTRIES if entries else self.count + 2):  # `\sum_{m=1}^{V}` runs over entries
            raise NotEvaluable("a sum or product over more steps than the sentence has")
        steps = list(range(low, high + 1))
        values = [self._value(tree.body, {**bound, tree.var: step}, depth) for step in steps]
        if tree.op == "sum":
            return _add(values) if values else ZERO
        if not values:
            return np.asarray(1.0)
        ordered = list(reversed(values)) if self.descending else values
        result = ordered[0]
        for value in ordered[1:]:
            result = _multiply(result, value)
        return result

    def _entry_sum(self, tree: BigOp, bound: dict[str, int], depth: int) -> Value:
        """`\\sum_m (W_H)_{mi} r_{t+1,m}`: over every entry the body reaches."""
        terms = []
        for number in range(1, MAX_ENTRIES + 1):
            try:
                terms.append(self._value(tree.body, {**bound, str(tree.var): number}, depth))
            except OutOfRange:
                break
        return _add(terms) if terms else ZERO

    def _entry(self, tree: Index, bound: dict[str, int], depth: int) -> Value:
        parts = _index_parts(tree.index)
        if parts is not None:  # `(W_H)_{ij}`, `z_t[k]`
            base = self._value(tree.base, bound, depth)
            return base if base is ZERO else _element(base, tuple(self.position(p, bound) for p in parts))
        base, index = self._value(tree.base, bound, depth), self._value(tree.index, bound, depth)
        if base is ZERO:
            return ZERO
        if index is ZERO:
            return ZERO
        onehot = index.ndim == 2 and index.shape[1] == 1 and np.isclose(index.sum(), 1) and np.isclose(index.max(), 1)
        if onehot and index.shape == base.shape:
            return np.asarray((base * index).sum())  # ŷ_t[y_t] with y_t one-hot
        if index.size > 1:
            return _multiply(base, index)  # `diag(1 - h_t^2)[W_y^T e_t + …]`: brackets that only group
        raise NotEvaluable("it picks an entry the grader cannot tell")


MAX_ENTRIES = 1_000


def _element(value: Value, positions: tuple[int, ...]) -> Value:
    return ZERO if value is ZERO else entry(value, list(positions))


def _index_parts(index: Any) -> tuple[Any, ...] | None:
    """The entry indices of `_{ij}`, `_{i,j}`, `[k]` when they are plain letters; None otherwise."""
    if isinstance(index, tuple) and all(isinstance(p, Sym) and p.sub is None for p in index):
        return index
    if isinstance(index, Sym) and index.sub is None and index.base.isalpha() and index.base.islower():
        return tuple(_letter(letter) for letter in index.base) if len(index.base) == 2 else (index,)
    return None


@lru_cache(maxsize=128)
def _letter(letter: str) -> Sym:
    """The symbol of one index letter (`i` of `W_{ij}`), one object for every entry: its key is kept on it."""
    return Sym(letter)


def _index_names(tree: Any) -> frozenset[str]:
    """Every name a tree may read an index by: each symbol's, and each letter of it (`W_{mi}` reads m and i)."""
    names: set[str] = set()
    for node in walk(tree):
        if isinstance(node, Sym):
            names.add(node.base)
            names.update(node.base)
    return frozenset(names)


def _over_entries(tree: BigOp) -> bool:
    """Does the sum run over entries (`_entry_variable`)? Kept on its node."""
    return _entry_variable(str(tree.var), tree.body)


def _entry_variable(variable: str, body: Any) -> bool:
    """Is `variable` an entry index in the body (`h_{t,m}`, `(W_H)_{mi}`), not a step?"""
    for node in walk(body):
        if isinstance(node, Sym) and node.sub is not None and len(node.sub) == 2:
            if any(isinstance(p, Sym) and p.base == variable for p in node.sub[1:]):
                return True
        if isinstance(node, Index):
            parts = _index_parts(node.index)
            if parts and any(p.base == variable for p in parts):
                return True
        if isinstance(node, Sym) and node.sub is not None and len(node.sub) == 1 and isinstance(node.sub[0], Sym):
            if len(node.sub[0].base) == 2 and variable in node.sub[0].base and node.base[0].isupper():
                return True
    return False


def _index_exprs(lhs: Any) -> tuple[Any, ...]:
    """The step indices a defined thing is written with: `δ_t` (t), `∂L/∂h_t` (t), `∂h_t/∂h_k` (t and k)."""
    if isinstance(lhs, Sym):
        return (lhs.sub[0],) if lhs.sub is not None and len(lhs.sub) == 1 else ()
    if isinstance(lhs, Frac) and isinstance(lhs.num, Partial) and isinstance(lhs.den, Partial):
        top, bottom = time_index(lhs.num.arg), time_index(lhs.den.arg)
        if top is not None and bottom is not None and index_variable(top) != index_variable(bottom):
            return (top, bottom) if index_variable(top) and index_variable(bottom) else (top,)
        return tuple(expr for expr in (top if top is not None else bottom,) if expr is not None)
    return ()


def _has_variable(lhs: Any, steps: tuple[str, ...]) -> bool:
    return any(index_variable(expr, steps) is not None for expr in _index_exprs(lhs))


def _symbolic(index: Any) -> bool:
    """An index that names the number of steps (`T`, `T+1`, `n`), not a number picked for an example."""
    if isinstance(index, Sym):
        return True
    if isinstance(index, Add):
        return any(_symbolic(term) for term in index.terms)
    return False


def _grouped(product: Mul) -> tuple[Any, ...]:
    """A product's factors, a bracketed sum after a factor read as a factor of its own (`_bracket_group`)."""
    return tuple(part for factor in product.factors for part in _bracket_group(factor))


def _bracket_group(factor: Any) -> tuple[Any, ...]:
    """`diag(1 - h_t^2)[W_y^T e_t + W_H^T δ_{t+1}]`: square brackets around a sum group a factor, not an index."""
    if isinstance(factor, Index) and isinstance(factor.index, (Add, Mul, Hadamard, Neg)):
        return (factor.base, factor.index)
    return (factor,)


def _generality(definition: Definition) -> int:
    """How many index variables a definition's left side has: the fewer, the more particular the case."""
    subs = definition.lhs.sub if isinstance(definition.lhs, Sym) else None
    return len({index_variable(sub) for sub in subs or ()} - {None})


def _vector_of(symbol: Sym) -> Sym:
    """`h_t` for the entry `h_{t,i}`, kept on the entry's symbol (and so, with it, its own key)."""
    return kept_on(symbol, "_vector", lambda entry: Sym(entry.base, (entry.sub or ())[:1], entry.hat))


def _defined_key(lhs: Any) -> str:
    """What a definition defines, without its index: `δ` for δ_t and δ_{T+1}; `∂L/∂h` for ∂L/∂h_t. Kept on the
    node (a symbol, a derivative), as a symbol's key is."""
    if isinstance(lhs, Sym):
        return kept_on(lhs, "_defined_key", _symbol_defined_key)
    if isinstance(lhs, Frac):
        return kept_on(lhs, "_defined_key", _fraction_defined_key)
    return repr(lhs)


def _fraction_defined_key(lhs: Frac) -> str:
    if isinstance(lhs.num, Partial) and isinstance(lhs.den, Partial):
        return "∂" + _defined_key(lhs.num.arg) + "/∂" + _defined_key(lhs.den.arg) + _shift(lhs)
    return repr(lhs)


def _symbol_defined_key(lhs: Sym) -> str:
    """`D_j` by step, `r_{t,i}` by entry, apart from a plain `D` (a size, say)."""
    if lhs.sub is not None and len(lhs.sub) in (1, 2):
        return base_key(lhs) + ("@step" if len(lhs.sub) == 1 else "@entry")
    return key(lhs)


def _shift(lhs: Frac) -> str:
    """∂h_t/∂h_{t-1} and ∂h_t/∂h_t are different derivatives: the steps between numerator and denominator."""
    top, bottom = time_index(lhs.num.arg), time_index(lhs.den.arg)
    if top is None or bottom is None:
        return ""
    variable = index_variable(top) or index_variable(bottom)
    if variable is None:
        return ""
    try:
        return f"@{step_offset(top, variable) - step_offset(bottom, variable)}"
    except NotEvaluable:
        return "@?"


def step_offset(index: Any, variable: str) -> int:
    if isinstance(index, Sym) and index.base == variable:
        return 0
    if isinstance(index, Add) and len(index.terms) == 2 and isinstance(index.terms[0], Sym):
        second = index.terms[1]
        if isinstance(second, Num):
            return int(second.value)
        if isinstance(second, Neg) and isinstance(second.arg, Num):
            return -int(second.arg.value)
    raise NotEvaluable("an index it uses has no value")


def time_index(lhs: Any) -> Any:
    if isinstance(lhs, Sym):
        return lhs.sub[0] if lhs.sub is not None and len(lhs.sub) == 1 else None
    if isinstance(lhs, Frac) and isinstance(lhs.num, Partial):
        found = time_index(lhs.num.arg)
        if found is None and isinstance(lhs.den, Partial):
            return time_index(lhs.den.arg)
        return found
    return None


def index_variable(index: Any, steps: tuple[str, ...] = ()) -> str | None:
    """The index variable of `t`, `t+1`, `k-1`; None for a fixed index (`T+1`, `5`, `0`, or `n` when `steps`
    names it the number of steps)."""
    if isinstance(index, Sym) and index.sub is None and index.base.islower() and len(index.base) == 1:
        return None if index.base in steps else index.base
    if isinstance(index, Add) and index.terms and isinstance(index.terms[0], Sym):
        return index_variable(index.terms[0], steps)
    return None


def _add(values: list[Value]) -> Value:
    kept = [v for v in values if v is not ZERO]
    if not kept:
        return ZERO
    total = kept[0]
    for value in kept[1:]:
        if total.shape != value.shape and total.size != 1 and value.size != 1:
            raise NotEvaluable("it adds things whose sizes differ")
        total = total + value
    return total


def _multiply(left: Value, right: Value) -> Value:
    if left is ZERO or right is ZERO:
        return ZERO
    if left.size == 1 or right.size == 1:
        return left * right
    if left.ndim == 2 and right.ndim == 2 and left.shape[1] == right.shape[0]:
        return left @ right
    if left.shape == right.shape:  # two columns side by side: entry by entry, as `(1 - h_t^2) δ_t` means
        return left * right
    raise NotEvaluable("it multiplies things whose sizes do not fit")


def _hadamard(values: list[Value]) -> Value:
    if any(value is ZERO for value in values):
        return ZERO
    result = values[0]
    for value in values[1:]:
        if result.shape == value.shape or result.size == 1 or value.size == 1:
            result = result * value
        elif result.ndim == 2 and result.shape[0] == result.shape[1] and value.shape == (result.shape[0], 1):
            result = np.diag(result).reshape(-1, 1) * value  # diag(v) ⊙ u, read as v ⊙ u
        else:
            raise NotEvaluable("it multiplies entry by entry things whose sizes differ")
    return result


def _apply(name: str, value: Value) -> Value:
    if value is ZERO:
        raise NotEvaluable(f"{name} of a quantity past the last step")
    function = FUNCTIONS.get(name) or EXTRA_FUNCTIONS.get(name)
    if function is None:
        raise NotEvaluable(f"{name} is not a function of the model")
    return np.asarray(function(value))
