"""A write-up's own LaTeX macros (`\\newcommand{\\pd}[2]{\\frac{\\partial #1}{\\partial #2}}`,
`\\DeclareMathOperator{\\diag}{diag}`), found in its text and expanded in its math before it is read."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DEFINITION = re.compile(
    r"\\(?:(?:re|provide)?newcommand\*?|DeclareMathOperator\*?)\s*\{?\s*\\([A-Za-z]+)\s*\}?\s*(?:\[(\d)\])?\s*(?=\{)"
    r"|\\def\s*\\([A-Za-z]+)\s*(?=\{)"
)
MAX_MACROS = 50
MAX_TRIED = 200  # definitions looked at (one whose brace never closes counts too)
MAX_BODY = 2000  # characters a macro's body may have
MAX_EXPANSIONS = 200  # uses of macros expanded in one row: a macro that uses itself cannot run away
MAX_EXPANDED = 4000  # characters a row may grow to


@dataclass(frozen=True)
class Macro:
    arguments: int
    body: str


_ACTIVATION_NAMED = re.compile(  # `\\varphi = \\tanh`: a general activation, the homework's tanh put in for it
    r"\\(varphi|phi|sigma|psi)\s*(?:\(\s*\\cdot\s*\))?\s*=\s*\\tanh(?![A-Za-z(])"
)


_OTHER_ACTIVATION = r"sigmoid|logistic|relu"
_SUPPOSED = re.compile(r"\b(?:if|were|would|whether|had|instead)\b[^.?!\n]{0,16}$", re.IGNORECASE)  # `if $\\sigma = …`


def macros(text: str) -> dict[str, Macro]:
    """Every macro the text defines, by name (without its backslash), and the activation it names tanh."""
    found = {name: Macro(0, "\\tanh") for name in _activations_named_tanh(text)}
    if "command" not in text and "\\def" not in text and "DeclareMathOperator" not in text:
        return found
    for tried, match in enumerate(_DEFINITION.finditer(text)):
        if tried >= MAX_TRIED:
            break
        body = _group(text, match.end(), MAX_BODY)
        if body is None:
            continue
        name = match.group(1) or match.group(3)
        if match.group(0).startswith("\\DeclareMathOperator"):
            body = "\\operatorname{" + body + "}"
        found[name] = Macro(int(match.group(2) or 0), body)
        if len(found) >= MAX_MACROS:
            break
    return found


def _activations_named_tanh(text: str) -> set[str]:
    """`\\varphi = \\tanh`, said outright: not supposed (`if \\sigma = \\tanh`), not beside another activation
    (`\\sigma` the logistic sigmoid), and the letter not defined otherwise (`\\varphi(x) = 1/(1+e^{-x})`). Else
    which activation the write-up means is for a person to read."""
    named = set()
    for match in _ACTIVATION_NAMED.finditer(text):
        name = match.group(1)
        if _SUPPOSED.search(text[max(0, match.start() - 40) : match.start()]):
            continue
        beside = rf"\\{name}\b[^.\n]{{0,40}}(?:{_OTHER_ACTIVATION})|(?:{_OTHER_ACTIVATION})[^.\n]{{0,40}}\\{name}\b"
        otherwise = rf"\\{name}\s*(?:\(\s*\w+\s*\))?\s*=(?!\s*\\tanh)"
        if not re.search(beside, text, re.IGNORECASE) and not re.search(otherwise, text):
            named.add(name)
    return named


def expand(row: str, defined: dict[str, Macro]) -> str:
    """The row with each use of a defined macro replaced by its body, arguments put in."""
    if not defined or "\\" not in row:
        return row
    use = re.compile(r"\\(" + "|".join(sorted(map(re.escape, defined), key=len, reverse=True)) + r")(?![A-Za-z])")
    for _ in range(MAX_EXPANSIONS):
        match = use.search(row)
        if match is None:
            break
        macro = defined[match.group(1)]
        arguments, end = _arguments(row, match.end(), macro.arguments)
        if arguments is None:
            break
        body = macro.body
        for number, argument in enumerate(arguments, 1):
            body = body.replace(f"#{number}", argument)
        row = row[: match.start()] + " " + body + " " + row[end:]
        if len(row) > MAX_EXPANDED:
            break
    return row


def _arguments(text: str, start: int, count: int) -> tuple[list[str] | None, int]:
    arguments, position = [], start
    for _ in range(count):
        while position < len(text) and text[position] == " ":
            position += 1
        group = _group(text, position)
        if group is None:
            if position < len(text) and text[position] not in "{}":
                arguments.append(text[position])  # `\pd L W`: one token as an argument
                position += 1
                continue
            return None, start
        arguments.append(group)
        position += len(group) + 2
    return arguments, position


def _group(text: str, start: int, longest: int = MAX_EXPANDED) -> str | None:
    """The inside of the brace group opening at `start` (at most `longest` characters), or None."""
    if start >= len(text) or text[start] != "{":
        return None
    depth = 0
    for index in range(start, min(len(text), start + longest + 2)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start + 1 : index]
    return None
