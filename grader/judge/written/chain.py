"""The dependency chain: which quantities the loss depends on through the weight, in order, and the
recursion through the previous hidden state. Read from arrows (`L_t → ŷ_t → z_t → h_t`, each element
possibly an equation) and from products of partial derivatives (`∂L_t/∂ŷ_t · ∂ŷ_t/∂z_t …`)."""

from __future__ import annotations

from typing import Any

from grader.judge.written.equations import mentions
from grader.judge.written.parsing import Frac, Mul, Partial, Reading, Sym
from grader.judge.written.symbols import key, name_of, spellings
from grader.judge.written.verdict import WrittenVerdict, unreadable_note

LINKS_SHARE = 0.6
RECURSION_SHARE = 0.4


def walk(tree: Any):
    """Every node of a tree, parents first."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, tuple):
            stack.extend(reversed(node))
        elif hasattr(node, "__dataclass_fields__"):
            stack.extend(reversed([getattr(node, field) for field in node.__dataclass_fields__]))


def partial_pair(node: Any) -> tuple[Any, Any] | None:
    """(numerator, denominator) of ∂A/∂B, else None."""
    if isinstance(node, Frac) and isinstance(node.num, Partial) and isinstance(node.den, Partial):
        return node.num.arg, node.den.arg
    return None


def arrow_chains(reading: Reading, names: dict[str, str]) -> list[tuple[list[str], set[str]]]:
    """(quantities in order, what their equations' right-hand sides mention) for every arrow row."""
    chains = []
    for row in reading.rows:
        rel = row.rel
        if "->" not in rel.ops:
            continue
        groups: list[list[Any]] = [[rel.parts[0]]]
        for op, part in zip(rel.ops, rel.parts[1:]):
            if op == "->":
                groups.append([part])
            else:
                groups[-1].append(part)
        order = [name_of(group[0], names) or key(group[0]) for group in groups]
        used = set().union(*(mentions(tuple(group[1:]), names) for group in groups))
        chains.append((order, used))
    return chains


def product_chains(reading: Reading, names: dict[str, str]) -> list[list[str]]:
    """The quantities a product of partial derivatives runs through, in order."""
    chains = []
    for row in reading.rows:
        for node in walk(row.rel.parts):
            if not isinstance(node, Mul):
                continue
            pairs = [p for p in (partial_pair(f) for f in node.factors) if p is not None]
            if len(pairs) >= 2:
                order = [_name(pairs[0][0], names)] + [_name(den, names) for _, den in pairs]
                chains.append(order)
    return chains


def _name(tree: Any, names: dict[str, str]) -> str:
    return name_of(tree, names) or key(tree)


def recursion_shown(reading: Reading, question: Any, names: dict[str, str], arrows) -> bool:
    """Somewhere the write-up goes from h_t back to h_{t-1} (or to h_k for earlier k)."""
    previous, recurrent = question.previous, question.recurrent
    for order, used in arrows:
        if previous in order or previous in used:
            return True
    for row in reading.rows:
        for node in walk(row.rel.parts):
            pair = partial_pair(node)
            if pair and name_of(pair[0], names) == recurrent and _earlier_state(pair[1], names, question):
                return True
    return False


def _earlier_state(tree: Any, names: dict[str, str], question: Any) -> bool:
    if name_of(tree, names) == question.previous:
        return True
    recurrent = Sym(question.recurrent.split("_")[0])
    return isinstance(tree, Sym) and tree.base == recurrent.base and key(tree) != question.recurrent and bool(tree.sub)


def _links(order: list[str], wanted: list[str], used: set[str]) -> list[bool]:
    """For each consecutive pair of the wanted chain: present in this order?"""
    present = []
    for first, second in zip(wanted, wanted[1:]):
        if first in order and second in order:
            present.append(order.index(first) < order.index(second) and _adjacent(order, wanted, first, second))
        else:
            present.append(first in order and second in used and first == wanted[-2])
    return present


def _adjacent(order: list[str], wanted: list[str], first: str, second: str) -> bool:
    between = order[order.index(first) + 1 : order.index(second)]
    return not any(name in wanted for name in between)


def judge_chain(question: Any, reading: Reading) -> WrittenVerdict:
    names = spellings(question.symbols)
    arrows = arrow_chains(reading, names)
    candidates = [(order, used) for order, used in arrows]
    candidates += [(order, set()) for order in product_chains(reading, names)]
    candidates += [(list(reversed(order)), used) for order, used in arrows]
    wanted = list(question.chain)
    note = unreadable_note(reading)
    relevant = [c for c in candidates if sum(name in wanted for name in c[0]) >= 2]
    if not relevant:
        message = "No dependency chain was found (arrows such as L_t \\rightarrow … or a product of derivatives)."
        return WrittenVerdict(0.0, "missing", " ".join(filter(None, [message, note])))
    best = max((_links(order, wanted, used) for order, used in relevant), key=sum)
    recursion = recursion_shown(reading, question, names, arrows)
    fraction = LINKS_SHARE * sum(best) / len(best) + (RECURSION_SHARE if recursion else 0.0)
    parts, diagnosis = [], None
    for (first, second), ok in zip(zip(wanted, wanted[1:]), best):
        if not ok:
            parts.append(
                f"The chain does not go from {_shown(first, question)} to {_shown(second, question)}: "
                "a link is missing or out of order."
            )
            diagnosis = diagnosis or "missing-chain-factor"
    if not recursion:
        parts.append(
            f"The chain stops at {_shown(question.recurrent, question)}: it does not show how the loss "
            "depends on the weight through the earlier hidden states."
        )
        diagnosis = diagnosis or "truncated-bptt"
    if not parts:
        parts.append("The dependency chain is right, including the recursion through earlier steps.")
    parts.append(note)
    status = "passed" if fraction >= 1 - 1e-9 else "failed"
    return WrittenVerdict(min(1.0, fraction), status, " ".join(p for p in parts if p), diagnosis)


def _shown(quantity: str, question: Any) -> str:
    return (question.symbols.get(quantity) or [quantity])[0]
