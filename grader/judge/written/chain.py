"""The dependency chain: which quantities the loss depends on through the weight, in order, and the
recursion through the previous hidden state. Read from arrows (`L_t → ŷ_t → z_t → h_t`, each element
possibly an equation) and from products of partial derivatives (`∂L_t/∂ŷ_t · ∂ŷ_t/∂z_t …`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from grader.judge.written.context import Context
from grader.judge.written.equations import mentions
from grader.judge.written.normalize import steps_in_prose
from grader.judge.written.parsing import (
    Frac,
    MathSyntaxError,
    Mul,
    Partial,
    Reading,
    Row,
    Sym,
    Unreadable,
    branches_in_one_row,
    parse_math,
    walk,
)
from grader.judge.written.symbols import key, name_of, spellings
from grader.judge.written.verdict import WrittenVerdict, failed, missing, passed, quoted, review

LINKS_SHARE = 0.6
RECURSION_SHARE = 0.4


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


BACK_ARROW = re.compile(r"\\(?:long)?leftarrow|\\gets(?![A-Za-z])|<-")
ARROW = re.compile(r"\\(?:long)?rightarrow|\\to(?![A-Za-z])|->|\\longrightarrow|\\Rightarrow|\\mapsto")
SYMBOL = re.compile(r"(?:\\hat\s*\{?\s*)?\\?[A-Za-z]+\}?(?:\s*_\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|[A-Za-z0-9]))?")
LOSS_NAMES = (r"L", r"J", r"\\ell", r"\\mathcal\s*\{?L\}?")  # the step's loss, besides the write-up's own name
VERBS = (  # what a claim about L_t says of it
    r"(?:[Dd]epend|reach|is (?:affected|influenced|computed from)|is a function of|involves|uses|needs|requires|sees"
    r"|contain)"
)
OBJECT_BEFORE = re.compile(r"\b(?:affect|influenc|feed|into|reach|enter)\w*[^.]{0,60}$", re.I)  # `h_t reaches L_t, …`
RELATIVE_CLAUSE = re.compile(r"\S+?\$?\s*,?\s*(?:which|that)\b")  # `feeds into L_t, which depends on …`
TEXT_COMMAND = re.compile(r"\\(?:text|mathrm|textrm|mbox)\s*\{([^{}]*)\}")
CLAUSE_END = re.compile(  # where the claim about L_t stops: a new sentence, clause, subject or aside
    r"[.?!;(]\s?|:\s*\n|\n\s*\n|,\s*and\b|\b(?:while|whereas|but|total|overall)\b"
)


@dataclass(frozen=True)
class LossPatterns:
    """Where a write-up speaks of the step's loss (`L_t`, or its own name for it, `E_t`)."""

    symbol: re.Pattern  # the loss at step t
    claim: re.Pattern  # `L_t … depends`: a claim about what it depends on
    as_function: re.Pattern  # `L_t(h_1, …, h_T)`
    first: re.Pattern  # an arrow row starting from it: what follows is what L_t depends on
    line: re.Pattern  # a line that starts with it


@lru_cache(maxsize=64)
def loss_patterns(own: tuple[str, ...] = ()) -> LossPatterns:
    names = "|".join((*LOSS_NAMES, *(re.escape(name) for name in own)))
    at_t = rf"(?<![A-Za-z\\])(?:{names})_(?:t\b|\{{\s*t\s*\}})"  # `L_t`, `L_{t}`; never `L_{t+1}`
    arrow = r"(?:\\(?:long)?(?:left|right)arrow|\\to|\\gets|<-|->)"
    return LossPatterns(
        symbol=re.compile(at_t),
        claim=re.compile(at_t + r"[^.]{0,80}?\b" + VERBS),
        as_function=re.compile(at_t + r"\s*(?:\\left)?\s*\(((?:[^()]|\([^()]*\)){1,160})\)"),
        first=re.compile(r"^\s*" + at_t + r"\s*(?:\\;|\\,|\\quad|\s)*" + arrow),
        line=re.compile(rf"^[^\S\n]*\$*[^\S\n]*(?:{names})[^\n]*", re.M),
    )


NEGATION = re.compile(r"\b(not|only|never|no)\b|n't", re.IGNORECASE)


def token_edges(context: Context, rank: dict[str, float] | None = None) -> list[tuple[str, str]]:
    """Every "depends on" that a row written with arrows states, read element by element, parsed or not.

    `A → B` makes A depend on B (rows of `←` are read by the reversed graph); an element that is an equation
    (`z_t = W_y h_t`) makes its left side depend on what its right side names; an element naming several
    (`(W_H, h_{t-1})`, cases) branches. With the model's `rank`, a row written the way values flow is turned
    around (`_as_dependencies`)."""
    edges: list[tuple[str, str]] = []
    for _, _, row in _arrow_rows(context):
        edges += _as_dependencies(row, rank) if rank else row
    return edges


LATER_STATE = "a state after step t"  # a node of `_arrow_rows` for what `_later_states_pattern` finds


def _arrow_rows(context: Context, later: re.Pattern | None = None) -> Iterator[tuple[int, str, list[tuple[str, str]]]]:
    """(line, source, its links in the order written) of every row written with arrows; with `later`, an element
    naming a state after step t is the node LATER_STATE."""
    rows: list[Row | Unreadable] = [*context.reading.rows, *context.reading.unreadable]
    for source_row in rows:
        text = source_row.text
        if not (ARROW.search(text) or BACK_ARROW.search(text)):
            continue
        previous: list[str] = []
        row: list[tuple[str, str]] = []
        for element in re.split(ARROW.pattern + "|" + BACK_ARROW.pattern, text):
            names = _names_in(element, context)
            if later is not None and later.search(_flat(element)):
                names.append(LATER_STATE)
            if not names:
                continue
            heads = names[:1] if "=" in element else names
            if "=" in element:
                row += [(names[0], other) for other in names[1:] if other != names[0]]
            row += [(before, head) for before in previous for head in heads if before != head]
            previous = heads[-1:] if "=" not in element else heads
        yield source_row.line, source_row.source, row


STATE_AHEAD = re.compile(r"^\s*([A-Za-z])\s*_\s*\{\s*t\s*\+\s*1\s*\}\s*=\s*\\?tanh(?!.*t\s*\+\s*1)")


def _states_defined_ahead(context: Context, question: Any) -> bool:
    """`h_{t+1} = \\tanh(a_t)`: the write-up numbers its states one ahead, so `h_{t+1}` is no later state."""
    for row in context.reading.rows:
        ahead = STATE_AHEAD.match(_flat(row.text))
        if ahead and context.notation.steps.get(ahead.group(1)) == question.recurrent:
            return True
    return False


def _later_state_in_arrows(context: Context, question: Any, rank: dict[str, float]) -> tuple[int, str] | None:
    """A row of arrows along which L_t depends on a state after step t (`W_H → h_t → h_{t+1} → L_t`,
    `L_t ← h_{t+1} ← h_t`), read as "depends on" whichever way it is written."""
    later = _later_states_pattern(question, context)
    if later is None:
        return None
    loss, preactivation = question.chain[0], question.roles.get("preactivation")
    for line, source, row in _arrow_rows(context, later):
        if not any(LATER_STATE in pair for pair in row) or not any(loss in pair for pair in row):
            continue
        links = _as_dependencies(row, rank)
        if (LATER_STATE, preactivation) in links:  # `… z_t → h_{t+1} → a_t`: states numbered one ahead
            continue
        if _reaches(_graph([list(pair) for pair in links]), loss, LATER_STATE, set()):
            return line, source
    return None


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


def _as_dependencies(pairs: list[tuple[str, str]], rank: dict[str, float]) -> list[tuple[str, str]]:
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


def _oriented(order: list[str], rank: dict[str, float]) -> list[str]:
    """A chain in the order written, read as "depends on" (`_as_dependencies`)."""
    pairs = list(zip(order, order[1:]))
    return order[::-1] if pairs and _as_dependencies(pairs, rank) != pairs else order


def _names_in(element: str, context: Context) -> list[str]:
    found: list[str] = []
    for token in SYMBOL.findall(_plain_braces(element)):
        name = _token_name(token.strip(), context)
        if name is not None and name not in found:
            found.append(name)
    return found


def _token_name(token: str, context: Context) -> str | None:
    tree = _token_tree(token)
    return context.name(tree) if isinstance(tree, Sym) else None


@lru_cache(maxsize=4096)
def _token_tree(token: str) -> Any:
    try:
        return parse_math(token)
    except MathSyntaxError:
        return None


def _plain_braces(text: str) -> str:
    """`\\hat{ {y}}_t` (bold stripped) as `\\hat y_t`, so each symbol is one token."""
    for _ in range(3):
        text = re.sub(r"\{\s*(\\?[A-Za-z]+)\s*\}", r" \1", text)
    return text


DEPENDS = re.compile(r"depend|function of|computed from|comes from|feeds into", re.IGNORECASE)
CONTAINS = re.compile(r"contain|\benters?\b|\bentering\b", re.IGNORECASE)  # `a_t contains W_H`, `W_H enters a_k`
HELD = re.compile(r"\b(?:constant|fixed|held|treat\w*)\b", re.IGNORECASE)  # `h_{t-1} is held fixed`: no link


def prose_chains(context: Context, question: Any) -> list[list[str]]:
    """`$L_t$ depends on $\\hat y_t$, which depends on $z_t$ …`: a chain said in words, in the order written."""
    text = steps_in_prose(context.section_text("chain") or context.text)
    chains = []
    later = _later_states_pattern(question, context)
    for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", text):
        if len(sentence) > 600 or not (DEPENDS.search(sentence) or _contains(sentence)):
            continue
        if later is not None and later.search(_flat(sentence)):
            continue  # a claim about later states is `later_states`' to judge, never evidence for the chain
        order = _names_in(sentence.replace("$", " "), context)
        if len(order) >= 2:
            chains.append(order)
    return chains


def _contains(sentence: str) -> bool:
    """`a_k contains W_H`, `W_H enters every a_k`: a link said in words, unless the sentence holds something back
    (`h_t contains W_H only directly`, `h_{t-1} is treated as a constant`)."""
    return bool(CONTAINS.search(sentence)) and not NEGATION.search(sentence) and not HELD.search(sentence)


def _graph(orders: list[list[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for order in orders:
        for first, second in zip(order, order[1:]):
            graph.setdefault(first, set()).add(second)
    return graph


def _reaches(graph: dict[str, set[str]], start: str, goal: str, avoid: set[str]) -> bool:
    """A path from `start` to `goal` through quantities outside `avoid` (a_t may stand between h_t and W_H)."""
    seen, frontier = {start}, [start]
    while frontier:
        node = frontier.pop()
        for following in graph.get(node, ()):
            if following == goal:
                return True
            if following not in seen and following not in avoid:
                seen.add(following)
                frontier.append(following)
    return False


def _state_names(question: Any, context: Context) -> str:
    """The write-up's letters for the state and the pre-activation (what precedes L_t at every step), as a regex."""
    earlier = {question.recurrent, question.roles.get("preactivation")}
    return "|".join(re.escape(b) for b, quantity in context.notation.steps.items() if quantity in earlier)


def _later_states_pattern(question: Any, context: Context) -> re.Pattern | None:
    """`h_{t+1}`, `h_T`, `a_n`: a state (or pre-activation) after step t."""
    names = _state_names(question, context)
    if not names:
        return None
    return re.compile(r"(?<![A-Za-z])(?:" + names + r")\s*_\s*(?:\{\s*(?:T|n|N|t\s*\+\s*1)\s*\}|T\b|n\b)")


def later_states(text: str, question: Any, context: Context) -> tuple[int, str] | None:
    """A sentence saying L_t depends on hidden states after step t (`… through h_1, …, h_T`)."""
    later = _later_states_pattern(question, context)
    if later is None:
        return None
    names = _state_names(question, context)
    step_loss = question.roles.get("step_loss")
    loss = loss_patterns(tuple(sorted(b for b, q in context.notation.steps.items() if q == step_loss and b.isalpha())))
    for match in loss.as_function.finditer(text):  # `L_t = L_t(h_t, h_{t+1}, \dots, h_T)`: said in symbols
        arguments = re.sub(r"\{\s*([A-Za-z])\s*\}", r"\1", re.sub(r"\\(mathbf|boldsymbol|bm)\s*", "", match.group(1)))
        if later.search(arguments):
            return text.count("\n", 0, match.start()) + 1, " ".join(match.group(0).split())[:100]
    listed = re.compile(  # `… ← h_t, h_{t+1}, …`: the state at t listed with the next one
        rf"(?<![A-Za-z])(?:{names})\s*_\s*\{{?\s*t\s*\}}?\s*,(?:\\[,;:]|\s)*(?:{names})\s*_\s*\{{\s*t\s*\+\s*1\s*\}}"
    )
    for match in loss.line.finditer(text):  # an arrow chain from L_t that lists later states
        chain = match.group(0).replace("$", " ").strip()
        if loss.first.match(chain) and listed.search(_flat(chain)):
            return text.count("\n", 0, match.start()) + 1, " ".join(chain.split())[:100]
    claim = _later_state_in_a_branch(text, loss, later)
    if claim is not None:
        return claim
    text = TEXT_COMMAND.sub(lambda match: " " + match.group(1) + " ", text)  # `\\text{so } L_t \\text{ reaches }`
    for match in _each_match(loss.claim, loss.symbol, text):
        before = re.split(r"[,.;:]", text[max(0, match.start() - 80) : match.start()])[-1]
        if OBJECT_BEFORE.search(before) and not RELATIVE_CLAUSE.match(text, match.start()):
            continue  # `h_t reaches L_t, …`: in this clause L_t is what is reached, not what depends
        clause = text[match.start() : match.end() + 200]  # the claim about L_t itself, not the next one
        sentence = re.split(CLAUSE_END, clause, maxsplit=1)[0]
        if later.search(_flat(sentence)) and not NEGATION.search(sentence):
            line = text.count("\n", 0, match.start()) + 1
            return line, " ".join(sentence.split())[:100]
    return None


DISPLAY_END = re.compile(r"\$\$|\\\]|\n\s*\n")
BRANCHES = re.compile(r"\\\{((?:[^{}]|\{[^{}]*\})*)\\\}|\(([^()]*)\)")  # `\\{W_H, h_{t-1}\\}`, `(W_H, h_{t-1})`


def _later_state_in_a_branch(text: str, loss: LossPatterns, later: re.Pattern) -> tuple[int, str] | None:
    """A chain from L_t whose branches (`→ \\{W_H, h_{t-1}, h_{t+1}\\}`, or cases) hold a state after step t."""
    text = branches_in_one_row(text)
    for match in loss.line.finditer(text):
        opening = re.match(r"[^\S\n]*\$*", text[match.start() :])
        end = DISPLAY_END.search(text, match.start() + len(opening.group(0) if opening else ""))
        block = text[match.start() : end.start() if end else len(text)]  # the chain's display, not the prose after
        if not loss.first.match(block.replace("$", " ").strip()):
            continue
        for group in BRANCHES.finditer(block):
            if later.search(_flat(group.group(1) or group.group(2) or "")):
                return text.count("\n", 0, match.start()) + 1, " ".join(block.split())[:100]
    return None


def _each_match(pattern: re.Pattern, start: re.Pattern, text: str) -> Iterator[re.Match]:
    """`pattern` matched from every place `start` finds, overlaps included: `L_t → … → W_H. So L_t depends on …`
    holds two claims, and the first one's match would swallow the second's subject."""
    for place in start.finditer(text):
        match = pattern.match(text, place.start())
        if match is not None:
            yield match


def _flat(text: str) -> str:
    return re.sub(r"\{\s*([A-Za-z])\s*\}", r"\1", re.sub(r"\\(mathbf|boldsymbol|bm)\s*", "", text))


def judge_chain(question: Any, context: Context) -> WrittenVerdict:
    names = context.names or spellings(question.symbols)
    reading = context.reading
    rank = model_rank(question)
    said = token_edges(context, rank)
    orders = [order for order, _ in arrow_chains(reading, names)] + product_chains(reading, names)
    orders = [_oriented(order, rank) for order in orders + prose_chains(context, question)]
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
    claim = None
    if not _states_defined_ahead(context, question):
        claim = later_states(steps_in_prose(context.text), question, context)
        claim = claim or _later_state_in_arrows(context, question, rank)
    if claim is not None:
        problem = (
            f"{quoted(*claim)}: L_t depends only on the hidden states up to step t; later states come after it "
            "and cannot affect it"
        )
        return failed(0.5, [problem + "."], "later-states-in-chain", note)
    edges = said + [pair for order in orders for pair in zip(order, order[1:])]
    relevant = bool({name for pair in edges for name in pair} & set(wanted[:-1]))
    graphs = [_graph([list(pair) for pair in edges]), _graph([[b, a] for a, b in edges])]
    links = [
        [_reaches(graph, first, second, set(wanted) - {first, second}) for first, second in zip(wanted, wanted[1:])]
        for graph in graphs
    ]
    best = max(links, key=sum) if relevant else []
    recursion = any(_reaches(graph, question.recurrent, question.previous, set()) for graph in graphs)
    recursion = recursion or recursion_shown(reading, question, names, arrow_chains(reading, names))
    recursion = recursion or _recursion_in_prose(context, question) or _recursion_by_value(context, question)
    differing = context.differing("chain")
    if best and all(best) and recursion and differing:
        lines = [(finding.line, finding.source) for finding in differing]
        return review("the chain is right, but a derivative written with it has another value", lines, note)
    if best and all(best) and recursion:
        return passed("The dependency chain is right, including the recursion through earlier steps.", note)
    if not relevant and not context.attempted("chain"):
        return missing("No dependency chain was found in your write-up.")
    arrow_rows = [
        (row.line, row.source) for row in reading.rows if ARROW.search(row.text) or BACK_ARROW.search(row.text)
    ]
    if best and all(best) and arrow_rows and not _mentions_previous(context, question):
        line, source = arrow_rows[0]
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
        tree = _token_tree(token.strip())
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
    lines = steps_in_prose(context.text).split("\n")
    return "\n".join(line for number, line in enumerate(lines, 1) if number not in model_lines)


def _recursion_in_prose(context: Context, question: Any) -> bool:
    """The chain's own section names the state one step back (`… and through $h_{t-1}$ …`)."""
    section = steps_in_prose(context.section_text("chain"))
    for token in SYMBOL.findall(section):
        if _token_name(token.strip(), context) == question.previous:
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
