"""The dependency chain: which quantities the loss depends on through the weight, in order, and the
recursion through the previous hidden state. Read from arrows (`L_t → ŷ_t → z_t → h_t`, each element
possibly an equation) and from products of partial derivatives (`∂L_t/∂ŷ_t · ∂ŷ_t/∂z_t …`)."""

from __future__ import annotations

import re
from typing import Any

from grader.judge.written.equations import mentions
from grader.judge.written.parsing import Frac, MathSyntaxError, Mul, Partial, Reading, Sym, parse_math
from grader.judge.written.symbols import key, name_of, spellings
from grader.judge.written.context import Context
from grader.judge.written.verdict import WrittenVerdict, failed, missing, passed, quoted, review

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


ARROW = re.compile(r"\\(?:long)?rightarrow|\\to(?![A-Za-z])|->|\\longrightarrow|\\Rightarrow|\\mapsto")
SYMBOL = re.compile(r"(?:\\hat\s*\{?\s*)?\\?[A-Za-z]+\}?(?:\s*_\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|[A-Za-z0-9]))?")
LATER = re.compile(r"\b(?:L|J|\\ell|\\mathcal\s*\{?L\}?)_\{?t\}?[^.]{0,80}?\bdepend", re.IGNORECASE)
NEGATION = re.compile(r"\b(not|only|never|no)\b|n't", re.IGNORECASE)


def token_chains(context: Context) -> list[list[str]]:
    """The quantities of every row written with arrows, in order, read token by token (branches and
    braces included), whether or not the row parsed."""
    texts = [row.text for row in context.reading.rows] + [row.text for row in context.reading.unreadable]
    chains = []
    for text in texts:
        if not ARROW.search(text):
            continue
        order = []
        for token in SYMBOL.findall(ARROW.sub(" ", text)):
            name = _token_name(token.strip(), context.names)
            if name is not None and (not order or order[-1] != name):
                order.append(name)
        if len(order) >= 2:
            chains.append(order)
    return chains


def _token_name(token: str, names: dict[str, str]) -> str | None:
    try:
        tree = parse_math(token)
    except MathSyntaxError:
        return None
    return names.get(key(tree)) if isinstance(tree, Sym) else None


def later_states(text: str, question: Any, context: Context) -> tuple[int, str] | None:
    """A sentence saying L_t depends on hidden states after step t (`… through h_1, …, h_T`)."""
    bases = [base for base, quantity in context.notation.steps.items() if quantity == question.recurrent]
    if not bases:
        return None
    later = re.compile(
        r"(?<![A-Za-z])(?:" + "|".join(re.escape(b) for b in bases) + r")\s*_\s*(?:\{\s*(?:T|n|N|t\s*\+\s*1)\s*\}|T\b|n\b)"
    )
    for match in LATER.finditer(text):
        sentence_end = text.find(".", match.end())
        sentence = text[match.start() : sentence_end if sentence_end > 0 else len(text)]
        flat = sentence.replace("\\mathbf", "").replace("\\boldsymbol", "").replace("\\bm", "").replace(" ", "")
        flat = re.sub(r"\{([A-Za-z])\}", r"\1", flat)
        if later.search(flat) and not NEGATION.search(sentence):
            line = text.count("\n", 0, match.start()) + 1
            return line, " ".join(sentence.split())[:100]
    return None


def judge_chain(question: Any, context: Context) -> WrittenVerdict:
    names = context.names or spellings(question.symbols)
    reading = context.reading
    wanted = list(question.chain)
    note = context.note("chain")
    mistakes = [f for f in context.derivatives if f.outcome != "right" and context.part_of(f.line, f.source) == "chain"]
    if mistakes:
        first = mistakes[0]
        return failed(0.5, [f"{quoted(first.line, first.source)}: {_derivative_slip(first.outcome)}."], first.outcome, note)
    claim = later_states(context.text, question, context)
    if claim is not None:
        problem = (
            f"{quoted(*claim)}: L_t depends only on the hidden states up to step t; later states come after it "
            "and cannot affect it"
        )
        return failed(0.5, [problem + "."], "later-states-in-chain", note)
    candidates = [(order, set()) for order in token_chains(context)]
    candidates += [(order, used) for order, used in arrow_chains(reading, names)]
    candidates += [(order, set()) for order in product_chains(reading, names)]
    candidates += [(list(reversed(order)), used) for order, used in candidates]
    relevant = [c for c in candidates if sum(name in wanted for name in c[0]) >= 2]
    recursion = recursion_shown(reading, question, names, arrow_chains(reading, names)) or any(
        question.previous in order for order, _ in relevant
    )
    best = max((_links(order, wanted, used) for order, used in relevant), key=sum) if relevant else []
    if best and all(best) and recursion:
        return passed("The dependency chain is right, including the recursion through earlier steps.", note)
    if not relevant and not context.attempted("chain"):
        return missing("No dependency chain was found in your write-up.")
    gaps = [
        f"from {_shown(first, question)} to {_shown(second, question)}"
        for (first, second), ok in zip(zip(wanted, wanted[1:]), best)
        if not ok
    ]
    reasons = []
    if not relevant:
        reasons.append("it did not find a chain it could read (arrows such as L_t \\rightarrow … or a product of derivatives)")
    elif gaps:
        reasons.append("it could not follow the chain " + ", ".join(gaps))
    if not recursion:
        reasons.append(f"it did not see the chain go back through {_shown(question.previous, question)}")
    lines = [(row.line, row.source) for row in reading.rows if context.part_of(row.line, row.text) == "chain"]
    return review("; ".join(reasons), lines, note)


def _derivative_slip(diagnosis: str) -> str:
    return DERIVATIVE_SLIPS.get(diagnosis, "this derivative is not right")


DERIVATIVE_SLIPS = {
    "tanh-derivative-at-wrong-step": "the one-step Jacobian takes the tanh derivative at the wrong step "
    "(it belongs to the state the derivative is taken of)",
    "missing-tanh-derivative": "the one-step Jacobian leaves out the derivative of tanh",
    "tanh-derivative-of-wrong-quantity": "the derivative of tanh is written in terms of the wrong quantity",
    "sign-flipped": "the sign of this derivative is flipped",
}


def _shown(quantity: str, question: Any) -> str:
    return (question.symbols.get(quantity) or [quantity])[0]
