"""The model's equations: each stated equation's right-hand side evaluated on random matrices of the
handout's sizes and compared with the reference's value; a wrong one is tried with one slip undone
(a weight replaced by another, two weights swapped, a term added or dropped, the activation restored)
to name the slip without giving the answer away."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from grader.judge.written.context import Context
from grader.judge.written.evaluate import NotEvaluable, evaluate
from grader.judge.written.parsing import Add, Apply, BigOp, Dots, Func, Index, Mul, Neg, Num, Reading, Sym, walk
from grader.judge.written.symbols import key, name_of, spellings
from grader.judge.written.verdict import WrittenVerdict, failed, missing, passed, quoted, review

DRAWS = 3
STEP_COUNTS = ("T", "n", "N", "\\tau", "T_x")
SEED = 20261126


@dataclass(frozen=True)
class Statement:
    line: int
    source: str
    lhs: Any
    rhs: Any
    quantity: str | None = None  # what it states, when read from another statement (not from `lhs`)
    later: bool = False  # a later form of an equality that continues (`A = B = C`'s `A = C`)


@dataclass(frozen=True)
class Outcome:
    """Why an equation is not the model's: a named slip (`diagnosis`), or a problem a person looks at."""

    problem: str
    diagnosis: str | None = None
    evaluated: bool = True  # its value was worked out (and differs); False: it could not be


def statements(reading: Reading) -> list[Statement]:
    """Every `lhs = rhs` of the write-up, chains included (`L_t = … → ŷ_t = …` states two), and each later form of
    an equality that continues (`L_t = -\\sum_k y_{t,k} \\log ŷ_{t,k} = -\\log ŷ_t[y_t]` states L_t twice)."""
    found = []
    for row in reading.rows:
        rel = row.rel
        start = None
        for index, op in enumerate(rel.ops):
            if op != "=":
                start = None
                continue
            found.append(Statement(row.line, row.source, rel.parts[index], rel.parts[index + 1]))
            if start is not None:
                found.append(Statement(row.line, row.source, rel.parts[start], rel.parts[index + 1], later=True))
            else:
                start = index
    return found


def mentions(tree: Any, names: dict[str, str]) -> set[str]:
    """The quantities a tree names anywhere."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Sym):
            name = names.get(key(node))
            if name is None and node.sub is not None and len(node.sub) >= 2:  # ŷ_{t,y_t}: an entry of ŷ_t
                name = names.get(key(Sym(node.base, node.sub[:1], node.hat)))
            if name:
                found.add(name)
            continue
        if isinstance(node, tuple):
            stack.extend(node)
        elif hasattr(node, "__dataclass_fields__"):
            stack.extend(getattr(node, field) for field in node.__dataclass_fields__)
    return found


def draw_environments(given: dict[str, tuple[int, ...]], onehot: list[str], reference: Callable[..., Any]):
    """DRAWS environments: the given arrays drawn at random, and every quantity the reference computes. The same
    for every write-up of a class (the draws are seeded): drawn once, their arrays read-only."""
    return list(_drawn(tuple(given.items()), tuple(onehot), reference))


@lru_cache(maxsize=8)
def _drawn(
    given: tuple[tuple[str, tuple[int, ...]], ...], onehot: tuple[str, ...], reference: Callable[..., Any]
) -> tuple[dict[str, np.ndarray], ...]:
    generator = np.random.default_rng(SEED)
    environments = []
    for _ in range(DRAWS):
        env = {}
        for name, shape in given:
            if name in onehot:
                value = np.zeros(shape)
                value[generator.integers(shape[0]), 0] = 1.0
            else:
                value = generator.normal(scale=0.7, size=shape)
            env[name] = value
        env.update({name: np.array(value, dtype=np.float64) for name, value in reference(**env).items()})
        for value in env.values():
            value.flags.writeable = False
        environments.append(env)
    return tuple(environments)


def agrees(
    tree: Any, quantity: str, environments: list[dict[str, np.ndarray]], names: dict[str, str], bound=None
) -> bool:
    for env in environments:
        value = evaluate(tree, env, names, bound)
        want = env[quantity]
        if value.size != want.size or not np.allclose(value.reshape(want.shape), want, rtol=1e-6, atol=1e-9):
            return False
    return True


def judge_equations(
    question: Any, context: Context, given: dict[str, tuple[int, ...]], reference: Callable[..., Any]
) -> WrittenVerdict:
    environments = draw_environments(given, question.onehot, reference)
    sizes = context.sizes
    names = _theirs(spellings(question.symbols), context)
    wanted = list(question.equations)
    right: dict[str, Statement] = {}
    wrong: dict[str, tuple[Statement, str, str]] = {}
    unverified: dict[str, list[tuple[Statement, str]]] = {}
    stated = statements(context.reading)
    for statement in [*stated, *_step_losses(stated, question.roles, names, sizes.get("T", 0))]:
        quantity = statement.quantity or name_of(statement.lhs, names)
        entry = _entry_of(statement.lhs, names)
        if entry is not None and entry in wanted:  # `ŷ_{t,k} = …`: checked entry by entry
            local = _theirs(spellings(question.symbols, question.local_symbols.get(entry)), context)
            _sort(statement, entry, _entrywise(statement, entry, environments, local, sizes), right, wrong, unverified)
            continue
        if quantity is None or quantity not in wanted:
            continue
        local = _local_names(question, quantity, context)
        used = mentions(statement.rhs, local)
        if not used or quantity in used:  # `h_t = 7 × 1` is a shape, `h_t = h_t` says nothing
            continue
        outcome = _check(question, quantity, statement, environments, local, sizes)
        _sort(statement, quantity, outcome, right, wrong, unverified)
    for quantity in [q for q in wrong if q in right or q in _covered(wanted, right, {}, names)]:
        statement, problem, _ = wrong.pop(quantity)  # stated right elsewhere too: a person decides which counts
        unverified.setdefault(quantity, []).append((statement, "it is stated both right and wrong"))
    contradicted = {q for q, found in unverified.items() if any(not _abbreviated(st.rhs) for st, _ in found)}
    covered = _covered(wanted, right, wrong, names) - contradicted
    return _verdict(question, context, wanted, covered, wrong, unverified)


def _sort(statement: Statement, quantity: str, outcome: Outcome | None, right: dict, wrong: dict, unverified: dict):
    """Where one statement's outcome goes: right, wrong (a named slip), or doubted (a person looks). A later form of
    an equality (`A = B = C`'s `A = C`) is never charged as a slip, and doubted only when its value was worked out:
    its middle may be prose the reader took for math (`h_t = \\tanh(a_t) \\text{ so } a_t = …`)."""
    if outcome is None:
        right.setdefault(quantity, statement)
    elif statement.later:
        if outcome.evaluated:
            unverified.setdefault(quantity, []).append((statement, outcome.problem))
    elif outcome.diagnosis is None:
        unverified.setdefault(quantity, []).append((statement, outcome.problem))
    else:
        wrong.setdefault(quantity, (statement, outcome.problem, outcome.diagnosis))


def _step_losses(
    stated: list[Statement], roles: dict[str, str], names: dict[str, str], steps: int
) -> Iterator[Statement]:
    """`L = -\\sum_t \\log ŷ_t[y_t]` (or `\\sum_t L_t = …`) states the step's loss: the body of the sum."""
    loss, step_loss = roles.get("loss"), roles.get("step_loss")
    if loss is None or step_loss is None:
        return
    for statement in stated:
        lhs, rhs = statement.lhs, statement.rhs
        whole = name_of(lhs, names) == loss or (
            isinstance(lhs, BigOp) and lhs.op == "sum" and name_of(lhs.body, names) == step_loss
        )
        sign = isinstance(rhs, Neg)
        total = rhs.arg if sign else rhs
        if whole and isinstance(total, BigOp) and total.op == "sum" and _over_every_step(total, steps):
            body = Neg(total.body) if sign else total.body
            yield replace(statement, rhs=body, quantity=step_loss)


def _over_every_step(total: BigOp, steps: int) -> bool:
    """`\\sum_t`, `\\sum_{t=1}^{T}`, `\\sum_{t=0}^{T-1}`, `\\sum_{k=1}^{5}`: a sum over every step whose body is that
    step's (`\\sum_{t=2}^{T}`, `\\sum_{k=1}^{T} L_t` and `\\sum_i` are not the loss of each step)."""
    variable = total.var
    if variable is None or not any(isinstance(n, Sym) and n.sub and Sym(variable) in n.sub for n in walk(total.body)):
        return False
    low, high = _bound(total.low), _bound(total.high)
    if low is None and high is None:
        return True
    return (low, high) in ((1, "T"), (1, steps), (0, "T-1"), (0, steps - 1))


def _bound(tree: Any) -> Any:
    """A sum's bound as 1, 5, "T" or "T-1" (T, n, N, τ for the number of steps); "?" for anything else."""
    if tree is None:
        return None
    if isinstance(tree, Num):
        return int(tree.value) if tree.value == int(tree.value) else "?"
    if isinstance(tree, Sym) and key(tree) in STEP_COUNTS:
        return "T"
    if isinstance(tree, Add) and len(tree.terms) == 2 and _bound(tree.terms[0]) == "T":
        last = tree.terms[1]
        return "T-1" if isinstance(last, Neg) and isinstance(last.arg, Num) and last.arg.value == 1 else "?"
    return "?"


def _local_names(question: Any, quantity: str, context: Context) -> dict[str, str]:
    """The names in one quantity's equation: the exercise's local spellings over the student's own (y_t is the
    target in the loss), unless the student's y are the logits."""
    local = _theirs(spellings(question.symbols, question.local_symbols.get(quantity)), context)
    if quantity in question.local_symbols:
        logits = question.roles.get("logits")
        kept = spellings({}, question.local_symbols[quantity]).items()
        local.update({k: v for k, v in kept if logits is None or context.names.get(k) != logits})
    return local


def _theirs(exercise_spellings: dict[str, str], context: Context) -> dict[str, str]:
    """The exercise's spellings under the write-up's own names, less those of a letter the student defines as a
    derivative (`J_{t,k} := ∂h_t/∂h_k` is not an entry of the loss the exercise may spell `J_t`)."""
    own = context.notation.derivatives
    kept = {k: v for k, v in exercise_spellings.items() if k.split("_", 1)[0] not in own} if own else exercise_spellings
    return {**kept, **context.names}


def _abbreviated(tree: Any) -> bool:
    """`a_t = W_H h_{t-1} + \\dots`: a reminder, not a claim to check."""
    return any(isinstance(node, Dots) for node in walk(tree))


def _entrywise(statement: Statement, quantity: str, environments, names: dict[str, str], sizes) -> Outcome | None:
    """None when every entry agrees; else why it could not be verified."""
    lhs = statement.lhs
    index = lhs.index if isinstance(lhs, Index) else lhs.sub[1]
    if not (isinstance(index, Sym) and index.sub is None):
        return Outcome("its entries are named in a way the grader does not follow", evaluated=False)
    try:
        for env in environments:
            want = env[quantity].reshape(-1)
            got = [evaluate(statement.rhs, env, names, {**sizes, index.base: k + 1}) for k in range(want.size)]
            if not np.allclose(np.asarray(got, dtype=float).reshape(-1), want, rtol=1e-6, atol=1e-9):
                return Outcome("its entries are not the model's")
    except (NotEvaluable, ValueError) as exc:
        return Outcome(str(exc) or "its entries could not be computed", evaluated=False)
    return None


def _entry_of(lhs: Any, names: dict[str, str]) -> str | None:
    """The quantity `ŷ_t[k]`, `ŷ_{t,k}` or `(ŷ_t)_k` is an entry of."""
    if isinstance(lhs, Index):
        return name_of(lhs.base, names)
    if isinstance(lhs, Sym) and lhs.sub is not None and len(lhs.sub) >= 2:
        return name_of(Sym(lhs.base, lhs.sub[:1], lhs.hat), names)
    return None


def _check(question: Any, quantity: str, statement: Statement, environments, names, sizes) -> Outcome | None:
    """None when the equation is right; else the slip that repairs it, or why it is not the model's."""
    try:
        if agrees(statement.rhs, quantity, environments, names, sizes):
            return None
        outcome = Outcome("its value is not the model's")
    except NotEvaluable as exc:
        outcome = Outcome(str(exc), evaluated=False)
    shown = _label(quantity, question)
    for candidate, message, diagnosis in _repairs(question, quantity, statement.rhs, names, sizes):
        try:
            fixed = candidate(environments)
        except NotEvaluable:
            continue
        if fixed:
            return Outcome(f"{quoted(statement.line, statement.source)}: {shown} {message}", diagnosis)
    return outcome


def _label(quantity: str, question: Any) -> str:
    """How the handout writes a quantity: the first of its spellings."""
    return (question.symbols.get(quantity) or [quantity])[0]


def _repairs(
    question: Any, quantity: str, rhs: Any, names: dict[str, str], sizes: dict[str, int]
) -> Iterator[tuple[Any, str, str]]:
    """(test, what the slip is, diagnosis) for every one-slip repair of the right-hand side."""
    used = mentions(rhs, names)
    weights = [w for w in question.weights]
    for first in weights:
        for second in weights:
            if first < second and {first, second} <= used:
                swap = {first: second, second: first}
                yield (
                    _renamed(rhs, quantity, names, swap, sizes),
                    f"has {first} and {second} swapped",
                    "swapped-weights",
                )
    for wrong in weights:
        for right in weights:
            if wrong != right and wrong in used:
                yield (
                    _renamed(rhs, quantity, names, {wrong: right}, sizes),
                    f"is computed with {right}, not {wrong}",
                    "wrong-weight-matrix",
                )
    for variant in _dropped_terms(rhs):
        yield _holds(variant, quantity, names, sizes), "has a term too many", "extra-term"
    for variant in _added_terms(rhs, question, names):
        yield _holds(variant, quantity, names, sizes), "is missing a term", "missing-term"
    for function in ("tanh", "softmax"):
        yield _holds(Apply(function, rhs), quantity, names, sizes), "is missing its activation function", "missing-tanh"
    vectors = sorted(q for q in used if q not in weights and q in question.given or q in question.equations)
    for first in vectors:
        for second in vectors:
            if first < second:
                swap = {first: second, second: first}
                message = f"has {_label(first, question)} and {_label(second, question)} the wrong way round"
                yield _renamed(rhs, quantity, names, swap, sizes), message, "swapped-arguments"
    for variant in _activation_widened(rhs):
        yield (
            _holds(variant, quantity, names, sizes),
            "applies its activation to only part of the sum",
            "activation-on-part",
        )


def _activation_widened(rhs: Any) -> Iterator[Any]:
    """`tanh(W_H h_{t-1}) + W_x x_t` with the whole sum inside the activation."""
    if not isinstance(rhs, Add):
        return
    for index, term in enumerate(rhs.terms):
        rest = rhs.terms[:index] + rhs.terms[index + 1 :]
        if isinstance(term, Apply):
            yield Apply(term.func, Add((term.arg, *rest)))
        elif isinstance(term, Mul) and len(term.factors) == 2 and isinstance(term.factors[0], Func):
            yield Mul((term.factors[0], Add((term.factors[1], *rest))))


def _holds(tree: Any, quantity: str, names: dict[str, str], sizes: dict[str, int]):
    return lambda environments: agrees(tree, quantity, environments, names, sizes)


def _renamed(tree: Any, quantity: str, names: dict[str, str], mapping: dict[str, str], sizes: dict[str, int]):
    """The right-hand side read with one quantity standing for another (the expected values unchanged)."""

    def test(environments):
        swapped = [{**env, **{a: env[b] for a, b in mapping.items()}} for env in environments]
        return agrees(tree, quantity, swapped, names, sizes)

    return test


def _sites(tree: Any) -> Iterator[tuple[Any, Callable[[Any], Any]]]:
    """Every place a term may be added or dropped: (the subtree, how to put a replacement back)."""
    yield tree, _itself
    if isinstance(tree, Mul):
        for index, factor in enumerate(tree.factors):
            if index and isinstance(tree.factors[index - 1], Func):
                for inner, put in _sites(factor):
                    yield inner, _in_factor(tree, index, put)
    if isinstance(tree, Apply):
        for inner, put in _sites(tree.arg):
            yield inner, _in_argument(tree, put)


def _itself(new: Any) -> Any:
    return new


def _in_factor(tree: Mul, index: int, put: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda new: Mul(tree.factors[:index] + (put(new),) + tree.factors[index + 1 :])


def _in_argument(tree: Apply, put: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda new: replace(tree, arg=put(new))


def _dropped_terms(tree: Any) -> Iterator[Any]:
    for site, put in _sites(tree):
        if isinstance(site, Add) and len(site.terms) > 1:
            for index in range(len(site.terms)):
                rest = site.terms[:index] + site.terms[index + 1 :]
                yield put(rest[0] if len(rest) == 1 else Add(rest))


def _added_terms(tree: Any, question: Any, names: dict[str, str]) -> Iterator[Any]:
    vectors = [name for name, shape in question.given.items() if name not in question.weights]
    spelled = {
        name: Sym(name.split("_")[0], (Sym("_".join(name.split("_")[1:])),) if "_" in name else None)
        for name in question.given
    }
    for site, put in _sites(tree):
        for weight in question.weights:
            for vector in vectors:
                term = Mul((spelled[weight], spelled[vector]))
                terms = site.terms if isinstance(site, Add) else (site,)
                yield put(Add(terms + (term,)))


def _covered(wanted: list[str], right: dict[str, Statement], wrong: dict, names: dict[str, str]) -> set[str]:
    """Quantities stated right, and those a right equation states inline (`h_t = tanh(W_H h_{t-1} + W_x x_t)`
    states a_t): a quantity stated wrongly anywhere is not covered."""
    covered = set(right)
    for quantity, statement in right.items():
        used = mentions(statement.rhs, names)
        earlier = wanted[: wanted.index(quantity)]
        for previous in reversed(earlier):
            if previous in used or previous in wrong:
                break
            covered.add(previous)
    return covered - set(wrong)


def _verdict(question: Any, context: Context, wanted: list[str], covered: set[str], wrong: dict, unverified: dict):
    note = context.note("equations")
    if wrong:
        problems = [f"{len(covered)} of {len(wanted)} equations are right."]
        problems += [problem + "." for _, problem, _ in wrong.values()]
        diagnosis = next(iter(wrong.values()))[2]
        return failed(len(covered) / len(wanted), problems, diagnosis, note)
    if len(covered) == len(wanted):
        return passed("The model's equations are right.", note)
    if not covered and not unverified and not context.attempted("equations"):
        return missing("No equations of the model were found in your write-up.")
    open_ = [q for q in wanted if q not in covered]
    lines = [(s.line, s.source) for q in open_ for s, _ in unverified.get(q, [])]
    reasons = [f"{_label(q, question)} ({unverified[q][0][1]})" for q in open_ if q in unverified]
    unseen = [_label(q, question) for q in open_ if q not in unverified]
    parts = []
    if reasons:
        parts.append("could not verify " + ", ".join(reasons))
    if unseen:
        parts.append("did not find an equation it could read for " + ", ".join(unseen))
    return review("; ".join(parts), lines, note)
