"""What every written part reads from one write-up, built once per question: the parsed math, the
student's headings, their notation, and (where the exercise gives an unrolled model) the value checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from grader.judge.written import notation as notations
from grader.judge.written.checks import Finding, derivative_findings, evaluator
from grader.judge.written.einstein import with_implicit_sums
from grader.judge.written.evaluate import NotEvaluable
from grader.judge.written.macros import expand, macros
from grader.judge.written.normalize import steps_in_prose
from grader.judge.written.parsing import Reading, Sym, Unreadable, read_writeup
from grader.judge.written.sections import Sections, sections
from grader.judge.written.symbols import key
from grader.judge.written.unroll import Unrolled, index_variable, step_offset
from grader.judge.written.verdict import unreadable_note

PARTS = ("equations", "chain", "gradient")
ATTEMPT_WORDS = {
    "equations": ("tanh", "softmax"),
    "chain": ("depend", "chain", "→", "->", "\\to ", "rightarrow"),
    "gradient": ("gradient", "derivative", "∂", "\\partial", "backprop", "d/d", "dl/d"),
}


@dataclass
class Context:
    text: str  # the write-up as written
    reading: Reading
    sections: Sections
    notation: notations.Notation
    names: dict[str, str]  # symbol key -> the exercise's quantity name, in this write-up's notation
    sizes: dict[str, int] = field(default_factory=dict)  # the handout's sizes (V in `\\sum_{j=1}^{V}`)
    previous: dict[str, str] = field(default_factory=dict)  # h_prev -> h_t: a quantity one step back
    unrolled: Unrolled | None = None
    derivatives: list[Finding] = field(default_factory=list)
    memo: dict[tuple, Any] = field(default_factory=dict)  # what the parts work out of the same text, once

    def part_of(self, line: int, text: str) -> str:
        """The part a line belongs to: its heading's, else what it writes (∂ or Σ: gradient; arrows: chain)."""
        part = self.sections.part_at(line)
        if part is not None:
            return part
        if "\\partial" in text or "\\sum" in text or "\\prod" in text:
            return "gradient"
        if any(arrow in text for arrow in ("\\to", "->", "rightarrow")):
            return "chain"
        return "equations"

    def name(self, symbol: Sym) -> str | None:
        return name_in(symbol, self.notation, self.previous)

    def prose(self, part: str | None = None) -> str:
        """The write-up (or one part's lines) as what reads the prose around the math sees it: the write-up's own
        macros expanded line by line, steps written as superscripts made subscripts (`steps_in_prose`)."""
        key = ("prose", part)
        if key not in self.memo:
            text = self.section_text(part) if part is not None else self.text
            defined = macros(self.text)
            if defined:
                text = "\n".join(expand(line, defined).replace("\n", " ") for line in text.split("\n"))
            self.memo[key] = steps_in_prose(text)
        return self.memo[key]

    def section_text(self, part: str) -> str:
        """The lines under this part's own headings (empty when it has none)."""
        lines = self.text.split("\n")
        return "\n".join(line for number, line in enumerate(lines, 1) if self.sections.part_at(number) == part)

    def slips(self, part: str) -> list[Finding]:
        """Local derivatives equal to a known slip, charged to the part they are under (derivatives written
        among the model's equations are the gradient's work)."""
        found = []
        for finding in self.derivatives:
            under = self.part_of(finding.line, finding.source)
            if finding.outcome not in ("right", "differs") and (under if under != "equations" else "gradient") == part:
                found.append(finding)
        return found

    def differing(self, part: str) -> list[Finding]:
        """Derivatives under this part whose value was worked out and is neither right nor a known slip."""
        return [f for f in self.derivatives if f.outcome == "differs" and self.part_of(f.line, f.source) == part]

    def unreadable(self, part: str) -> list[Unreadable]:
        return [row for row in self.reading.unreadable if self.part_of(row.line, row.text or row.source) == part]

    def note(self, part: str) -> str:
        return unreadable_note(self.unreadable(part), self.reading.truncated and part == "gradient")

    def attempted(self, part: str) -> bool:
        """Anything that may be this part: its heading, math charged to it, or words that speak of it (a part
        the reader did not find may be written in a way it does not know: a person looks)."""
        if self.sections.has(part) or self.unreadable(part):
            return True
        if any(self.part_of(row.line, row.text) == part for row in self.reading.rows):
            return True
        return any(word in self.text.lower() for word in ATTEMPT_WORDS.get(part, ()))


_RECENT: dict[tuple, Context] = {}  # the parts of one write-up share one reading of it
RECENT_KEPT = 4


def build_context(question: Any, writeup: str, handout: dict[str, int], resolve: Callable[[str], Any]) -> Context:
    steps = (getattr(question, "steps", "T"), *getattr(question, "step_aliases", ("n",)))
    symbols = tuple(sorted((name, tuple(spellings)) for name, spellings in question.symbols.items()))
    roles, sizes = tuple(sorted(question.roles.items())), tuple(sorted(handout.items()))
    key: tuple = (writeup, roles, symbols, question.unrolled, sizes, steps, resolve)
    if key not in _RECENT:
        if len(_RECENT) >= RECENT_KEPT:
            _RECENT.pop(next(iter(_RECENT)))
        _RECENT[key] = _build(question, writeup, handout, resolve, steps)
    return _RECENT[key]


def _build(question: Any, writeup: str, handout: dict[str, int], resolve: Callable[[str], Any], steps) -> Context:
    reading = with_implicit_sums(read_writeup(writeup))
    roles = question.roles
    previous = {roles["previous"]: roles["state"]} if "previous" in roles and "state" in roles else {}
    model = _model(resolve, question.unrolled, tuple(sorted(handout.items()))) if question.unrolled else None
    per_step = set(model["per_step"]) if model else _per_step_guess(question)
    notation = notations.from_exercise(question.symbols, per_step, previous)
    if question.roles:
        notation = notations.infer(reading, notation, question.roles)
    names = _names(reading, notation, previous)
    context = Context(writeup, reading, sections(writeup), notation, names, dict(handout), previous)
    if model is not None:
        context.unrolled = evaluator(model, notation, reading, steps, dict(handout))
        context.derivatives = derivative_findings(context.unrolled, reading)
    return context


@lru_cache(maxsize=8)
def _model(resolve: Callable[[str], Any], path: str, sizes: tuple[tuple[str, int], ...]) -> dict:
    return resolve(path)(**dict(sizes))


def _per_step_guess(question: Any) -> set[str]:
    return {name for name, spellings in question.symbols.items() if any("_t" in s or "_{t" in s for s in spellings)}


def _names(reading: Reading, notation: notations.Notation, previous: dict[str, str]) -> dict[str, str]:
    """Every symbol the write-up uses, by the exercise's quantity names (`s_{t-1}` -> h_prev)."""
    names: dict[str, str] = {}
    seen: set[Sym] = set()
    for row in reading.rows:
        for node in _symbols(row.rel):
            if node in seen:  # a write-up names the same few symbols over and over
                continue
            seen.add(node)
            name = name_in(node, notation, previous)
            if name is not None:
                names[key(node)] = name
            elif node.sub is not None and len(node.sub) == 2:  # `h_{t-1,j}`: an entry of h_{t-1}
                vector = Sym(node.base, node.sub[:1], node.hat)
                name = name_in(vector, notation, previous)
                if name is not None:
                    names[key(vector)] = name
            if name is None and _entry_indices(node):  # `W_{ij}`: an entry of the weight `W`
                whole = Sym(node.base, None, node.hat)
                name = name_in(whole, notation, previous)
                if name is not None:
                    names[key(whole)] = name
    return names


def _entry_indices(symbol: Sym) -> bool:
    """`W_{ij}`, `W_{i,j}`: a subscript of plain letters naming an entry, not a step."""
    sub = symbol.sub or ()
    plain = all(isinstance(part, Sym) and part.sub is None and part.base.islower() for part in sub)
    return plain and (len(sub) == 2 or (len(sub) == 1 and len(sub[0].base) == 2))


def name_in(symbol: Sym, notation: notations.Notation, previous: dict[str, str]) -> str | None:
    """The exercise's name for one symbol in this notation: `s_t` -> h_t, `s_{t-1}` -> h_prev."""
    found = notation.quantity(symbol)
    if found is None:
        return None
    quantity, index = found
    if index is None or _offset(index) == 0:
        return quantity
    back = {state: name for name, state in previous.items()}
    return back.get(quantity) if _offset(index) == -1 else None


def _offset(index: Any) -> int | None:
    variable = index_variable(index)
    if variable is None:
        return None
    try:
        return step_offset(index, variable)
    except NotEvaluable:
        return None


def _symbols(tree: Any):
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Sym):
            yield node
            stack.extend(node.sub or ())  # `c_t` in `\\hat y_{t,c_t}`
            continue
        if isinstance(node, tuple):
            stack.extend(node)
        elif hasattr(node, "__dataclass_fields__"):
            stack.extend(getattr(node, f) for f in node.__dataclass_fields__)
