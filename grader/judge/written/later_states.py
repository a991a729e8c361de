"""A chain's claim that L_t depends on states after step t (`… through h_1, …, h_T`), in words, in an arrow row's
branches or along its arrows, in the write-up's own name for the loss."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from grader.judge.written.context import Context
from grader.judge.written.links import (
    ARROW,
    BACK_ARROW,
    LATER_STATE,
    NEGATION,
    arrow_rows,
    as_dependencies,
    flat,
    graph,
    later_states_pattern,
    reaches,
    state_names,
)
from grader.judge.written.parsing import branches_in_one_row

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
NOT_ONLY = re.compile(r"(?:\bnot|n['’]t)\s+(?:only|just)\b", re.IGNORECASE)  # `doesn't only …, also …`: both said
ALSO = re.compile(r"\b(?:also|as well|too)\b", re.IGNORECASE)
MATH_END = re.compile(r"\$|\\\]|\\\)|\n\s*\n")  # where the math of a chain's row ends
ARROW_GROUP = re.compile(  # `→ \\{W_H, h_{t-1}\\}`, `← (W_H, h_{t-1})`: the branches an arrow leads to
    rf"(?:{ARROW.pattern}|{BACK_ARROW.pattern})(?:\s|\\[,;:! ]|\\(?:left|[bB]igg?l?))*"
    r"(?:\\\{((?:[^{}]|\{[^{}]*\})*)\\\}|\(([^()]*)\))"
)
STATE_AHEAD = re.compile(r"^\s*([A-Za-z])\s*_\s*\{\s*t\s*\+\s*1\s*\}\s*=\s*\\?tanh(?!.*t\s*\+\s*1)")


@dataclass(frozen=True)
class LossPatterns:
    """Where a write-up speaks of the step's loss (`L_t`, or its own name for it, `E_t`)."""

    symbol: re.Pattern  # the loss at step t
    claim: re.Pattern  # `L_t … depends`: a claim about what it depends on
    as_function: re.Pattern  # `L_t(h_1, …, h_T)`
    first: re.Pattern  # an arrow row starting from it: what follows is what L_t depends on
    line: re.Pattern  # a line that starts with one of its names (the rest of the line, whatever it holds)


@lru_cache(maxsize=64)
def loss_patterns(own: tuple[str, ...] = ()) -> LossPatterns:
    names = "|".join((*LOSS_NAMES, *(re.escape(name) for name in own)))
    at_t = rf"(?<![A-Za-z\\])(?:{names})_(?:t\b|\{{\s*t\s*\}})"  # `L_t`, `L_{t}`; never `L_{t+1}`
    arrow = f"(?:{ARROW.pattern}|{BACK_ARROW.pattern})"
    return LossPatterns(
        symbol=re.compile(at_t),
        claim=re.compile(at_t + r"[^.]{0,80}?\b" + VERBS),
        as_function=re.compile(at_t + r"\s*(?:\\left)?\s*\(((?:[^()]|\([^()]*\)){1,160})\)"),
        first=re.compile(r"^\s*" + at_t + r"\s*(?:\\;|\\,|\\quad|\s)*" + arrow),
        line=re.compile(rf"^[^\S\n]*\$*[^\S\n]*(?:{names})[^\n]*", re.M),
    )


def later_state_claim(context: Context, question: Any, rank: dict[str, float]) -> tuple[int, str] | None:
    """(line, what it says) of a claim that L_t depends on a state after step t, in words or in arrows."""
    ahead = _numbered_ahead(context, question, rank)
    later = later_states_pattern(question, context, next_step=not ahead)
    if later is None:
        return None
    text = context.prose()
    return _in_words(text, question, context, later) or _in_arrows(context, question, rank, later)


def _numbered_ahead(context: Context, question: Any, rank: dict[str, float]) -> bool:
    """`h_{t+1} = \\tanh(a_t)`, or a chain `… z_t → h_{t+1} → a_t`: the write-up numbers its states one ahead, so
    `h_{t+1}` is the state of step t, not a later one."""
    for row in context.reading.rows:
        ahead = STATE_AHEAD.match(flat(row.text))
        if ahead and context.notation.steps.get(ahead.group(1)) == question.recurrent:
            return True
    next_state = later_states_pattern(question, context)
    preactivation = question.roles.get("preactivation")
    if next_state is None or preactivation is None:
        return False
    return any(
        (LATER_STATE, preactivation) in as_dependencies(links, rank) for _, _, links in arrow_rows(context, next_state)
    )


def _in_arrows(context: Context, question: Any, rank: dict[str, float], later: re.Pattern) -> tuple[int, str] | None:
    """A row of arrows along which L_t depends on a state after step t (`W_H → h_t → h_{t+1} → L_t`,
    `L_t ← h_{t+1} ← h_t`), read as "depends on" whichever way it is written."""
    loss = question.chain[0]
    for line, source, links in arrow_rows(context, later):
        if not any(LATER_STATE in pair for pair in links) or not any(loss in pair for pair in links):
            continue
        if reaches(graph([list(pair) for pair in as_dependencies(links, rank)]), loss, LATER_STATE, set()):
            return line, source
    return None


def _in_words(text: str, question: Any, context: Context, later: re.Pattern) -> tuple[int, str] | None:
    """A claim that L_t depends on hidden states after step t: in symbols, listed in an arrow row from L_t, among
    a chain's branches, or in a sentence (`… through h_1, …, h_T`)."""
    step_loss = question.roles.get("step_loss")
    loss = loss_patterns(tuple(sorted(b for b, q in context.notation.steps.items() if q == step_loss and b.isalpha())))
    return (
        _as_arguments(text, loss, later)
        or _listed(text, loss, state_names(question, context))
        or _later_state_in_a_branch(text, loss, later)
        or _in_sentences(TEXT_COMMAND.sub(lambda match: " " + match.group(1) + " ", text), loss, later)
    )


def _as_arguments(text: str, loss: LossPatterns, later: re.Pattern) -> tuple[int, str] | None:
    """`L_t = L_t(h_t, h_{t+1}, \\dots, h_T)`: said in symbols."""
    for match in loss.as_function.finditer(text):
        if later.search(flat(match.group(1))):
            return _line_of(text, match.start()), " ".join(match.group(0).split())[:100]
    return None


def _listed(text: str, loss: LossPatterns, names: str) -> tuple[int, str] | None:
    """`L_t ← … ← h_t, h_{t+1}, …`: an arrow row from L_t listing the state at t with the next one."""
    listed = re.compile(
        rf"(?<![A-Za-z])(?:{names})\s*_\s*\{{?\s*t\s*\}}?\s*,(?:\\[,;:]|\s)*(?:{names})\s*_\s*\{{\s*t\s*\+\s*1\s*\}}"
    )
    for match in loss.line.finditer(text):
        chain = match.group(0).replace("$", " ").strip()
        if loss.first.match(chain) and listed.search(flat(chain)):
            return _line_of(text, match.start()), " ".join(chain.split())[:100]
    return None


def _in_sentences(text: str, loss: LossPatterns, later: re.Pattern) -> tuple[int, str] | None:
    """`So L_t depends on W_H through h_1, …, h_T`, unless denied before the state is named."""
    for match in _each_match(loss.claim, loss.symbol, text):
        before = re.split(r"[,.;:]", text[max(0, match.start() - 80) : match.start()])[-1]
        if OBJECT_BEFORE.search(before) and not RELATIVE_CLAUSE.match(text, match.start()):
            continue  # `h_t reaches L_t, …`: in this clause L_t is what is reached, not what depends
        clause = text[match.start() : match.end() + 200]  # the claim about L_t itself, not the next one
        sentence = re.split(CLAUSE_END, clause, maxsplit=1)[0]
        said = flat(NOT_ONLY.sub(" ", sentence) if ALSO.search(sentence) else sentence)
        state = later.search(said)
        if state is not None and not NEGATION.search(said[: state.start()]):
            return _line_of(text, match.start()), " ".join(sentence.split())[:100]
    return None


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _later_state_in_a_branch(text: str, loss: LossPatterns, later: re.Pattern) -> tuple[int, str] | None:
    """A chain from L_t whose branches (`→ \\{W_H, h_{t-1}, h_{t+1}\\}`, or cases) hold a state after step t."""
    text = branches_in_one_row(text)
    for match in loss.line.finditer(text):
        opening = re.match(r"[^\S\n]*(?:\$+|\\\[|\\\()?", text[match.start() :])
        end = MATH_END.search(text, match.start() + len(opening.group(0) if opening else ""))
        block = text[match.start() : end.start() if end else len(text)]  # the chain's math, not the prose after
        if not loss.first.match(block.replace("$", " ").strip()):
            continue
        for group in ARROW_GROUP.finditer(block):
            if later.search(flat(group.group(1) or group.group(2) or "")):
                return _line_of(text, match.start()), " ".join(block.split())[:100]
    return None


def _each_match(pattern: re.Pattern, start: re.Pattern, text: str) -> Iterator[re.Match]:
    """`pattern` matched from every place `start` finds, overlaps included: `L_t → … → W_H. So L_t depends on …`
    holds two claims, and the first one's match would swallow the second's subject."""
    for place in start.finditer(text):
        match = pattern.match(text, place.start())
        if match is not None:
            yield match
