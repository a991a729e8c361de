"""What depends on what, as a write-up says it: arrows (`L_t → ŷ_t → z_t`, either way round, parsed or not),
products of partial derivatives and sentences (`L_t depends on ŷ_t`, `a_t contains W_H`), read as links between the
model's quantities and turned into "depends on" by the model's own order."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from grader.judge.written.context import Context
from grader.judge.written.equations import mentions
from grader.judge.written.parsing import (
    Frac,
    MathSyntaxError,
    Mul,
    Partial,
    Reading,
    Row,
    Sym,
    Unreadable,
    parse_math,
    walk,
)
from grader.judge.written.symbols import key, name_of

BACK_ARROW = re.compile(r"\\(?:long)?leftarrow|\\gets(?![A-Za-z])|<-")
ARROW = re.compile(r"\\(?:long)?rightarrow|\\to(?![A-Za-z])|->|\\Rightarrow|\\mapsto")
SYMBOL = re.compile(r"(?:\\hat\s*\{?\s*)?\\?[A-Za-z]+\}?(?:\s*_\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|[A-Za-z0-9]))?")
NEGATION = re.compile(r"\b(not|only|never|no|cannot|independent)\b|n['’]t", re.IGNORECASE)
LATER_STATE = "a state after step t"  # a node of `arrow_rows` for what `later_states_pattern` finds
DEPENDS = re.compile(r"depend|function of|computed from|comes from|feeds into", re.IGNORECASE)
CONTAINS = re.compile(r"contain|\benters?\b|\bentering\b", re.IGNORECASE)  # `a_t contains W_H`, `W_H enters a_k`
HELD = re.compile(r"\b(?:constant|fixed|held|treat\w*)\b", re.IGNORECASE)  # `h_{t-1} is held fixed`: no link


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


def token_edges(context: Context, rank: dict[str, float]) -> list[tuple[str, str]]:
    """Every "depends on" that a row written with arrows states, read element by element, parsed or not.

    `A → B` makes A depend on B (rows of `←` are read by the reversed graph); an element that is an equation
    (`z_t = W_y h_t`) makes its left side depend on what its right side names; an element naming several
    (`(W_H, h_{t-1})`, cases) branches. With the model's `rank`, a row written the way values flow is turned
    around (`as_dependencies`)."""
    edges: list[tuple[str, str]] = []
    for _, _, links in arrow_rows(context):
        edges += as_dependencies(links, rank)
    return edges


def arrow_rows(context: Context, later: re.Pattern | None = None) -> Iterator[tuple[int, str, list[tuple[str, str]]]]:
    """(line, source, its links in the order written) of every row written with arrows; with `later`, an element
    naming a state after step t is the node LATER_STATE."""
    rows: list[Row | Unreadable] = [*context.reading.rows, *context.reading.unreadable]
    for source_row in rows:
        text = source_row.text
        if not (ARROW.search(text) or BACK_ARROW.search(text)):
            continue
        previous: list[str] = []
        links: list[tuple[str, str]] = []
        for element in re.split(ARROW.pattern + "|" + BACK_ARROW.pattern, text):
            names = names_in(element, context)
            if later is not None and later.search(flat(element)):
                names.append(LATER_STATE)
            if not names:
                continue
            heads = names[:1] if "=" in element else names
            if "=" in element:
                links += [(names[0], other) for other in names[1:] if other != names[0]]
            links += [(before, head) for before in previous for head in heads if before != head]
            previous = heads[-1:] if "=" not in element else heads
        yield source_row.line, source_row.source, links


def model_rank(question: Any) -> dict[str, float]:
    """How far each quantity of the chain is from the loss (L_t 0, ŷ_t 1, …, W_H last); a_t sits between h_t and
    W_H, and h_{t-1} beside W_H (both enter a_t)."""
    rank: dict[str, float] = {name: float(place) for place, name in enumerate(question.chain)}
    state, weight = rank.get(question.recurrent), rank.get(question.chain[-1])
    preactivation = question.roles.get("preactivation")
    if state is not None and weight is not None:
        if preactivation and preactivation not in rank:
            rank[preactivation] = (state + weight) / 2
        rank.setdefault(question.previous, weight)
    return rank


def as_dependencies(pairs: list[tuple[str, str]], rank: dict[str, float]) -> list[tuple[str, str]]:
    """One row's or sentence's links as "depends on": turned around when most of those between the model's
    quantities run away from the loss (`W_H → a_t`, `h_t → z_t → ŷ_t`: values flowing, not dependencies)."""
    flowing = depending = 0
    for first, second in pairs:
        if first in rank and second in rank and rank[first] != rank[second]:
            if rank[first] > rank[second]:
                flowing += 1
            else:
                depending += 1
    return [(second, first) for first, second in pairs] if flowing > depending else pairs


def oriented(order: list[str], rank: dict[str, float]) -> list[str]:
    """A chain in the order written, read as "depends on" (`as_dependencies`)."""
    pairs = list(zip(order, order[1:]))
    return order[::-1] if pairs and as_dependencies(pairs, rank) != pairs else order


def names_in(element: str, context: Context) -> list[str]:
    """The model's quantities a piece of text names, in order, each once (kept on the context: the rows of arrows
    are read three times, for the chain and for claims about later states)."""
    known = context.memo.get(("names", element))
    if known is None:
        known = []
        for token in SYMBOL.findall(_plain_braces(element)):
            name = token_name(token.strip(), context)
            if name is not None and name not in known:
                known.append(name)
        context.memo[("names", element)] = known
    return list(known)


def token_name(token: str, context: Context) -> str | None:
    tree = token_tree(token)
    return context.name(tree) if isinstance(tree, Sym) else None


@lru_cache(maxsize=4096)
def token_tree(token: str) -> Any:
    try:
        return parse_math(token)
    except MathSyntaxError:
        return None


def _plain_braces(text: str) -> str:
    """`\\hat{ {y}}_t` (bold stripped) as `\\hat y_t`, so each symbol is one token."""
    for _ in range(3):
        text = re.sub(r"\{\s*(\\?[A-Za-z]+)\s*\}", r" \1", text)
    return text


def prose_chains(context: Context, question: Any) -> list[list[str]]:
    """`$L_t$ depends on $\\hat y_t$, which depends on $z_t$ …`: a chain said in words, in the order written."""
    text = context.prose("chain") or context.prose()
    chains = []
    later = later_states_pattern(question, context)
    for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", text):
        depends = DEPENDS.search(sentence) is not None
        if len(sentence) > 600 or not (depends or _contains(sentence)):
            continue
        if later is not None and later.search(flat(sentence)):
            continue  # a claim about later states is `later_states`' to judge, never evidence for the chain
        order = names_in(sentence.replace("$", " "), context)
        chains.append(order if depends else _way_in(order, question.chain[-1]))
    return [order for order in chains if len(order) >= 2]


def _contains(sentence: str) -> bool:
    """`a_k contains W_H`, `W_H enters every a_k`: the weight's way in, said in words, unless the sentence holds
    something back (`h_t contains W_H only directly`, `h_{t-1} is treated as a constant`)."""
    return bool(CONTAINS.search(sentence)) and not NEGATION.search(sentence) and not HELD.search(sentence)


def _way_in(order: list[str], weight: str) -> list[str]:
    """Of a sentence's quantities, the weight and the one written next to it: such words say where the weight
    enters, never more (`h_{t-1} enters a_t as data` links nothing)."""
    if weight not in order:
        return []
    at = order.index(weight)
    return order[at - 1 : at + 1] if at else order[:2]


def graph(orders: list[list[str]]) -> dict[str, set[str]]:
    """What each quantity links to, from chains in order."""
    adjacent: dict[str, set[str]] = {}
    for order in orders:
        for first, second in zip(order, order[1:]):
            adjacent.setdefault(first, set()).add(second)
    return adjacent


def reaches(adjacent: dict[str, set[str]], start: str, goal: str, avoid: set[str]) -> bool:
    """A path from `start` to `goal` through quantities outside `avoid` (a_t may stand between h_t and W_H)."""
    seen, frontier = {start}, [start]
    while frontier:
        node = frontier.pop()
        for following in adjacent.get(node, ()):
            if following == goal:
                return True
            if following not in seen and following not in avoid:
                seen.add(following)
                frontier.append(following)
    return False


def state_names(question: Any, context: Context) -> str:
    """The write-up's letters for the state and the pre-activation (what precedes L_t at every step), as a regex."""
    earlier = {question.recurrent, question.roles.get("preactivation")}
    return "|".join(re.escape(b) for b, quantity in context.notation.steps.items() if quantity in earlier)


def later_states_pattern(question: Any, context: Context, next_step: bool = True) -> re.Pattern | None:
    """`h_{t+1}`, `h_T`, `a_n`: a state (or pre-activation) after step t; without `next_step`, only the last one
    (for a write-up that numbers its states one ahead, where `h_{t+1}` is the state of step t)."""
    names = state_names(question, context)
    if not names:
        return None
    steps = r"T|n|N|t\s*\+\s*1" if next_step else r"T|n|N"
    return re.compile(r"(?<![A-Za-z])(?:" + names + r")\s*_\s*(?:\{\s*(?:" + steps + r")\s*\}|T\b|n\b)")


def flat(text: str) -> str:
    return re.sub(r"\{\s*([A-Za-z])\s*\}", r"\1", re.sub(r"\\(mathbf|boldsymbol|bm)\s*", "", text))
