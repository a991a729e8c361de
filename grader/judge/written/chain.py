"""The dependency chain: which quantities the loss depends on through the weight, in order, and the
recursion through the previous hidden state, judged from what the write-up links (`links.py`: arrows, products of
partial derivatives, sentences) and what it claims of later states (`later_states.py`)."""

from __future__ import annotations

import re
from typing import Any

from grader.judge.written.context import Context
from grader.judge.written.later_states import later_state_claim
from grader.judge.written.links import (
    ARROW,
    BACK_ARROW,
    SYMBOL,
    arrow_chains,
    graph,
    model_rank,
    oriented,
    partial_pair,
    product_chains,
    prose_chains,
    reaches,
    token_edges,
    token_name,
    token_tree,
)
from grader.judge.written.parsing import Reading, Sym, walk
from grader.judge.written.symbols import key, name_of, spellings
from grader.judge.written.verdict import WrittenVerdict, failed, missing, passed, quoted, review

LINKS_SHARE = 0.6
RECURSION_SHARE = 0.4


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


def judge_chain(question: Any, context: Context) -> WrittenVerdict:
    names = context.names or spellings(question.symbols)
    reading = context.reading
    rank = model_rank(question)
    said = token_edges(context, rank)
    arrows = arrow_chains(reading, names)
    orders = [order for order, _ in arrows] + product_chains(reading, names)
    orders = [oriented(order, rank) for order in orders + prose_chains(context, question)]
    in_chains = {name for pair in said for name in pair} | {name for order in orders for name in order}
    kept = (question.chain[0], question.chain[-1], question.recurrent)
    wanted = [q for q in question.chain if q in in_chains or q in kept]  # ŷ_t → h_t where z_t is never named
    note = context.note("chain")
    mistakes = context.slips("chain")
    if mistakes:
        first = mistakes[0]
        return failed(
            0.5, [f"{quoted(first.line, first.source)}: {_derivative_slip(first.outcome)}."], first.outcome, note
        )
    claim = later_state_claim(context, question, rank)
    if claim is not None:
        problem = (
            f"{quoted(*claim)}: L_t depends only on the hidden states up to step t; later states come after it "
            "and cannot affect it"
        )
        return failed(0.5, [problem + "."], "later-states-in-chain", note)
    edges = said + [pair for order in orders for pair in zip(order, order[1:])]
    relevant = bool({name for pair in edges for name in pair} & set(wanted[:-1]))
    graphs = [graph([list(pair) for pair in edges]), graph([[b, a] for a, b in edges])]
    links = [
        [reaches(adjacent, first, second, set(wanted) - {first, second}) for first, second in zip(wanted, wanted[1:])]
        for adjacent in graphs
    ]
    best = max(links, key=sum) if relevant else []
    recursion = any(reaches(adjacent, question.recurrent, question.previous, set()) for adjacent in graphs)
    recursion = recursion or recursion_shown(reading, question, names, arrows)
    recursion = recursion or _recursion_in_prose(context, question) or _recursion_by_value(context, question)
    differing = context.differing("chain")
    if best and all(best) and recursion and differing:
        lines = [(finding.line, finding.source) for finding in differing]
        return review("the chain is right, but a derivative written with it has another value", lines, note)
    if best and all(best) and recursion:
        return passed("The dependency chain is right, including the recursion through earlier steps.", note)
    if not relevant and not context.attempted("chain"):
        return missing("No dependency chain was found in your write-up.")
    with_arrows = [
        (row.line, row.source) for row in reading.rows if ARROW.search(row.text) or BACK_ARROW.search(row.text)
    ]
    if best and all(best) and with_arrows and not _mentions_previous(context, question):
        line, source = with_arrows[0]
        stops = f"{quoted(line, source)}: the chain stops at {_shown(question.recurrent, question)}"
        problem = f"{stops}: it does not show how the loss reaches the weight through the earlier hidden states."
        return failed(LINKS_SHARE, [problem], "truncated-bptt", note)
    gaps = [
        f"from {_shown(first, question)} to {_shown(second, question)}"
        for (first, second), ok in zip(zip(wanted, wanted[1:]), best)
        if not ok
    ]
    reasons = []
    if not relevant:
        reasons.append(
            "it did not find a chain it could read (arrows such as L_t \\rightarrow … or a product of derivatives)"
        )
    elif gaps:
        reasons.append("it could not follow the chain " + ", ".join(gaps))
    if not recursion:
        reasons.append(f"it did not see the chain go back through {_shown(question.previous, question)}")
    lines = [(row.line, row.source) for row in reading.rows if context.part_of(row.line, row.text) == "chain"]
    return review("; ".join(reasons), lines, note)


EARLIER_IN_WORDS = re.compile(r"\b(previous|earlier|recursive|recursively|through time|back in time)\b", re.I)


def _mentions_previous(context: Context, question: Any) -> bool:
    """Anywhere in the write-up, math or prose: the state one step back, at an earlier step k or j, or words
    saying so (then a person decides)."""
    if EARLIER_IN_WORDS.search(context.text):
        return True
    for token in SYMBOL.findall(_without_model_equations(context)):
        tree = token_tree(token.strip())
        found = context.notation.quantity(tree) if isinstance(tree, Sym) else None
        if found and found[0] == question.recurrent and found[1] is not None and key(found[1]) != "t":
            return True
    return False


def _without_model_equations(context: Context) -> str:
    """The write-up less the lines that only state the model (`a_t = W_H h_{t-1} + …` names h_{t-1} as the
    model does, which says nothing of how the loss reaches the weight)."""
    model_lines = {
        row.line
        for row in context.reading.rows
        if row.rel.ops == ("=",) and (context.notation.quantity(row.rel.parts[0]) or ("", None))[1] is not None
    }
    lines = context.prose().split("\n")
    return "\n".join(line for number, line in enumerate(lines, 1) if number not in model_lines)


def _recursion_in_prose(context: Context, question: Any) -> bool:
    """The chain's own section names the state one step back (`… and through $h_{t-1}$ …`)."""
    section = context.prose("chain")
    for token in SYMBOL.findall(section):
        if token_name(token.strip(), context) == question.previous:
            return True
    return False


def _recursion_by_value(context: Context, question: Any) -> bool:
    """A gradient verified by its value has gone through every earlier state."""
    if context.unrolled is None:
        return False
    from grader.judge.written.checks import gradient_findings

    roles = question.roles
    if "loss" not in roles or "recurrent" not in roles:
        return False
    findings = gradient_findings(context.unrolled, context.reading, roles["loss"], roles["recurrent"])
    return any(f.outcome == "right" for f in findings)


def _derivative_slip(diagnosis: str) -> str:
    return DERIVATIVE_SLIPS.get(diagnosis, "this derivative is not right")


DERIVATIVE_SLIPS = {
    "tanh-derivative-at-wrong-step": "the one-step Jacobian takes the tanh derivative at the wrong step "
    "(it belongs to the state the derivative is taken of)",
    "missing-tanh-derivative": "the one-step Jacobian leaves out the derivative of tanh",
    "tanh-derivative-of-wrong-quantity": "the derivative of tanh is written in terms of the wrong quantity",
    "sign-flipped": "the sign of this derivative is flipped",
    "jacobian-product-off-by-one": "the product of one-step Jacobians runs over one step too many or too few",
    "sigmoid-derivative-for-tanh": "the derivative of tanh is written as the sigmoid's, h(1 - h)",
}


def _shown(quantity: str, question: Any) -> str:
    return (question.symbols.get(quantity) or [quantity])[0]
