"""Read Task 1 shape answers out of a free-form Markdown/LaTeX write-up.

Students write shapes the way they would on paper. Two kinds of statement are read:

- explicit: ``W_H = 7 \\times 7``, ``a_t : \\boxed{7 \\times 1}``, ``W_y \\in \\mathbb{R}^{10 \\times 7}``,
  ``the shape of h_t is 7 by 1``, a table row ``| a_t | 7 × 1 |``;
- inferred: an equation ``y_t = \\text{Softmax}(W_y h_t)`` followed by a line made only of shapes,
  ``(10 \\times 1) \\quad (10 \\times 7) (7 \\times 1)``, one shape per variable of the equation.

Explicit statements win over inferred ones; among explicit ones a boxed answer wins, then the last.
The text returned for a symbol is its answer as written, to be read by `grader.read.shapes.parse_shape`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from grader.read.remembered import SHORT_TEXT, remembered_when_short
from grader.read.shapes import ShapeParseError, parse_shape

__all__ = ["normalise_symbol", "shapes_from_text"]

# ---------------------------------------------------------------------------------------------
# Symbols: how one is spelled, and which listed symbol a spelling means

_BRACED = r"\{(?:[^{}]|\{[^{}]*\})*\}"
_WRAPPER_NAMES = "mathbf|boldsymbol|bm|mathrm|mathit|mathsf|mathcal|vec|textbf|textit|textrm|text|operatorname"
_ACCENT_MARKS = {
    "widehat": "\u0302",
    "hat": "\u0302",
    "overline": "\u0304",
    "bar": "\u0304",
    "widetilde": "\u0303",
    "tilde": "\u0303",
    "dot": "\u0307",
}
_ARGUMENT = r"(?:\{\s*(?P<braced>[^{}]*?)\s*\}|(?P<bare>\\?[A-Za-z]))"
_WRAPPER = re.compile(rf"\\(?:{_WRAPPER_NAMES})(?![A-Za-z])\s*{_ARGUMENT}")
_ACCENT = re.compile(rf"\\(?P<name>{'|'.join(_ACCENT_MARKS)})(?![A-Za-z])\s*{_ARGUMENT}")

# One symbol as written: W_H, W_{H}, \mathbf{h}_t, \hat y_t, ŷ_t, h_{t-1}, W_y^T, \text{Softmax}, \tanh.
_SYMBOL = (
    rf"(?:\\(?:{_WRAPPER_NAMES}|{'|'.join(_ACCENT_MARKS)})(?![A-Za-z])\s*(?:{_BRACED}|\\?[A-Za-z])"
    rf"|\\[A-Za-z]+|[^\W\d_][^\W_]*)"
    rf"(?:[_^](?:{_BRACED}|\\[A-Za-z]+|[^\W_]+|[*']))*"
)
_SYMBOL_RE = re.compile(_SYMBOL)


@remembered_when_short(SHORT_TEXT)
def normalise_symbol(spelling: str) -> str:
    """Canonical spelling of a symbol: W_{H} -> W_H, \\mathbf{h}_t -> h_t, \\hat y_t -> ŷ_t (a write-up names the
    same few symbols hundreds of times)."""
    text, previous = unicodedata.normalize("NFC", spelling), None
    while text != previous:  # wrappers and accents nest: \mathbf{\hat{y}}
        previous = text
        text = _WRAPPER.sub(_argument, text)
        text = _ACCENT.sub(lambda match: _argument(match) + _ACCENT_MARKS[match["name"]], text)
    return unicodedata.normalize("NFC", re.sub(r"[{}\s$]", "", text))


def _argument(match: re.Match[str]) -> str:
    return match["braced"] if match["braced"] is not None else match["bare"]


@dataclass(frozen=True)
class _SymbolTable:
    """Normalised spellings of the listed symbols, exactly and case-folded."""

    exact: dict[str, str]
    folded: dict[str, frozenset[str]]

    @classmethod
    def build(cls, symbols: Mapping[str, Sequence[str]]) -> _SymbolTable:
        spellings = [
            (normalise_symbol(spelling), symbol)
            for symbol, aliases in symbols.items()
            for spelling in (symbol, *aliases)
        ]
        folded: dict[str, set[str]] = {}
        for spelling, symbol in spellings:
            folded.setdefault(spelling.casefold(), set()).add(symbol)
        return cls(dict(spellings), {key: frozenset(ids) for key, ids in folded.items()})

    def resolve(self, spelling: str) -> str | None:
        """The listed symbol a spelling means; case is ignored only when that is unambiguous."""
        key = normalise_symbol(spelling)
        if key in self.exact:
            return self.exact[key]
        candidates = self.folded.get(key.casefold(), frozenset())
        return next(iter(candidates)) if len(candidates) == 1 else None


# ---------------------------------------------------------------------------------------------
# The document as rows in reading order: text lines, and the rows of each display-math block

# A block ends before the next opening of its kind, so an unclosed \[ is not a scan to the end of the text.
_DISPLAY = re.compile(
    r"\$\$(?P<dollars>.+?)\$\$|\\\[(?P<brackets>(?:(?!\\\[).)+?)\\\]"
    r"|\\begin\{(?P<env>(?:equation|align|alignat|gather|multline|eqnarray|flalign|displaymath|math)\*?)\}"
    r"(?P<body>(?:(?!\\begin\{(?P=env)\}).)*?)\\end\{(?P=env)\}",
    re.S,
)
_ENVIRONMENT_MARKUP = re.compile(
    r"\\begin\{[^}]*\}(?:\{[^}]*\})?|\\end\{[^}]*\}"
    r"|\\(?:label|tag)\*?\{[^}]*\}|\\(?:nonumber|notag)(?![A-Za-z])"
)
_ROW_BREAK = re.compile(r"\\\\(?:\[[^\]]*\])?")
_LATEX_DOCUMENT = re.compile(r"\\documentclass|\\begin\{document\}|\\(?:sub)*section\*?\{")
_LATEX_COMMENT = re.compile(r"(?<!\\)%.*$", re.M)


def _rows(text: str) -> list[str]:
    if _LATEX_DOCUMENT.search(text):  # only then is % a comment, not a percentage
        text = _LATEX_COMMENT.sub("", text)
    rows, position = [], 0
    for block in _DISPLAY.finditer(text):
        rows += _text_rows(text[position : block.start()])
        rows += _math_rows(block["dollars"] or block["brackets"] or block["body"] or "")
        position = block.end()
    return rows + _text_rows(text[position:])


def _text_rows(chunk: str) -> list[str]:
    return [line.strip() for line in chunk.splitlines() if line.strip()]


def _math_rows(body: str) -> list[str]:
    rows = _ROW_BREAK.split(_ENVIRONMENT_MARKUP.sub(" ", body))
    return [row.strip() for row in rows if row.strip()]


# ---------------------------------------------------------------------------------------------
# Cleaning a row, and cutting it into table cells and clauses

_EMPHASIS = re.compile(r"(?<![\w*\\])(\*\*?|__)(?=\S)(.{1,200}?)(?<=\S)\1(?![\w*])")
_INLINE_MATH = re.compile(r"(?<!\\)\$|\\\(|\\\)|`")
_TABLE_RULES = re.compile(r"\\(?:hline|toprule|midrule|bottomrule)(?![A-Za-z])|\\cline\s*\{[^}]*\}")
_TRAILING_ROW_BREAK = re.compile(r"\\\\\s*$")
_TEXT_MARKUP = re.compile(r"\\(?:text|textbf|textit|textrm)\s*\{([^{}]*)\}")
_BULLET = re.compile(r"^\s*(?:[-*+•>]+|\d+[.)]|#+)\s+")
_ALIGNMENT_AT_RELATION = re.compile(r"&\s*(?=:?=|:|\\in(?![A-Za-z])|\\coloneqq|\\colon)|(?<=[=:])\s*&")
_CLAUSE_BREAK = re.compile(
    r"\\text\s*\{\s*(?:and|so|hence|thus|where|,|;)\s*\}|\\q?quad(?![A-Za-z])|\\\\"
    r"|\\(?:Rightarrow|rightarrow|Longrightarrow|longrightarrow|implies|iff|to|therefore|because)(?![A-Za-z])"
    r"|\b(?:and|since|because|where|so|hence|thus|therefore|as|but|which|whereas|while)\b"
    r"|[→⇒∴;\n]|\.(?=\s|$)"
)


def _clean(text: str) -> str:
    """Drop Markdown emphasis, inline-math delimiters, code ticks, bullets, \\text{} and table rules."""
    text = _EMPHASIS.sub(r"\2", text)
    text = _TEXT_MARKUP.sub(r" \1 ", _INLINE_MATH.sub(" ", text))
    text = _TRAILING_ROW_BREAK.sub(" ", _TABLE_RULES.sub(" ", text))
    return _BULLET.sub("", text).strip()


def _cells(row: str) -> list[str]:
    """A Markdown (| a | b |) or LaTeX (a & b) table row's cells; any other row is one cell."""
    row = _ALIGNMENT_AT_RELATION.sub("", row).strip()
    if row.startswith("|") and row.endswith("|") and len(row) > 1:
        return [_clean(cell) for cell in re.split(r"(?<!\\)\|", row[1:-1])]
    return [_clean(cell) for cell in re.split(r"(?<!\\)&", row)]


def _clauses(cell: str) -> list[str]:
    pieces = _CLAUSE_BREAK.split(cell)
    return [part.strip() for piece in pieces for part in _split_top_level_commas(piece) if part.strip()]


def _split_top_level_commas(text: str) -> list[str]:
    """Split at commas outside brackets, so "(7, 1)" stays whole."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += (char in "([{") - (char in ")]}")
        if char == "," and depth <= 0:
            parts.append(text[start:index])
            start = index + 1
    return parts + [text[start:]]


# ---------------------------------------------------------------------------------------------
# Explicit statements: SYMBOL = SHAPE, SYMBOL : SHAPE, SYMBOL \in R^{...}, the shape of SYMBOL is SHAPE

_RELATION = re.compile(
    r":=|\\coloneqq|(?<![<>!=\\])=(?!=)|:|\\in(?![A-Za-z])|∈|\\colon(?![A-Za-z])"
    r"|\b(?:is|are|has|have)\b"
    r"(?:\s+(?:of|the|a|an|shape|size|dimensions?|dimensionality|order|equal\s+to)\b)*"
    r"\s*[:=]?",
    re.I,
)
_SHAPE_OF_SUFFIX = re.compile(r"(?:\.shape|'s\s+(?:shape|size|dimensions?)|\s+(?:shape|size|dimensions?))\s*$", re.I)
_SHAPE_FUNCTION = re.compile(
    rf"(?:\\(?:operatorname|text|mathrm)\s*\{{\s*)?\\?(?:dim|shape|size)\s*\}}?"
    rf"\s*\(\s*(?P<symbol>{_SYMBOL})\s*\)$",
    re.I,
)
_LONGEST_SUBJECT = 200
_TRAILING_SYMBOL = re.compile(rf"(?P<symbol>{_SYMBOL})$")
_PROSE_MARKUP = re.compile(r"\\(?:text|textbf|textit|mathrm)\s*\{[^{}]*\}")
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ARTICLE = re.compile(r"^(?:a|an|the)\s+", re.I)
_KIND_WORD = re.compile(r"\s*(?:\\text\s*\{\s*)?(?:(?:column|row)\s+)?(?:matrix|vector|array|tensor)\s*\}?$", re.I)
_TRAILING_REMARK = re.compile(r"\s*\([^()]*\)$")
_WORDY_REMARK = re.compile(r"\s*\([^()]*[A-Za-z]{2,}[^()]*\)$")
_EQUALS = re.compile(r"(?<![<>!:=\\])=(?!=)")
_SYMBOLIC_SHAPE = re.compile(r"\s*(?:[A-Za-z]|\d+)(?:\s*(?:\\times|\\cdot|[×xX,*]|by)\s*(?:[A-Za-z]|\d+))+\s*")
_SHAPE_NOTATION = re.compile(r"\\mathbb\s*\{?\s*R\s*\}?\s*\^|ℝ\s*\^|\\R\s*\^|\\left|\\right|[{}()\[\]]")


def _explicit_statement(clause: str, table: _SymbolTable) -> tuple[str, str] | None:
    """(symbol, answer) when the clause states a listed symbol's shape and nothing else."""
    clause = _unbox_statement(clause)
    relations = list(_RELATION.finditer(clause))
    for relation in relations:
        if relation.start() > _LONGEST_SUBJECT:  # every later subject is longer still
            break
        symbol = _subject(clause[: relation.start()], table)
        if not symbol:
            continue
        answer = _answer_core(clause[relation.end() :])
        if answer:
            return symbol, answer
    return _defined_then_shaped(clause, relations, table)


def _defined_then_shaped(clause: str, relations: list[re.Match[str]], table: _SymbolTable) -> tuple[str, str] | None:
    """`z_t = W_y h_t : \\boxed{10 \\times 1}`: a definition whose last relation (of `relations`, the clause's)
    states the shape."""
    if len(relations) < 2 or clause[relations[0].start() : relations[0].end()].strip() != "=":
        return None
    symbol = _subject(clause[: relations[0].start()], table)
    if not symbol:
        return None
    answer = _answer_core(clause[relations[-1].end() :])
    return (symbol, answer) if answer else None


def _subject(left: str, table: _SymbolTable) -> str | None:
    """The listed symbol a left-hand side ends with, after nothing but prose ("the shape of")."""
    if len(left) > _LONGEST_SUBJECT:  # a subject is a few words; this also bounds the regex work
        return None
    left = _SHAPE_OF_SUFFIX.sub("", left.rstrip())
    match = _SHAPE_FUNCTION.search(left)
    if match is None:  # "W_H (hidden to hidden) = ..." names W_H
        left = _WORDY_REMARK.sub("", left)
        match = _TRAILING_SYMBOL.search(left)
    if match is None or not _is_prose(left[: match.start()]):
        return None
    return table.resolve(match["symbol"])


def _is_prose(text: str) -> bool:
    """Words only: no maths (a derivative's \\partial, another subscripted symbol, an operator)."""
    return not re.search(r"[\\=_^+{}]", _PROSE_MARKUP.sub(" ", text))


def _answer_core(right: str) -> str | None:
    """The shape a right-hand side states, trimmed of "a ... matrix" and remarks; else None."""
    core = _trimmed(right)
    candidates = (core, _trimmed(_TRAILING_REMARK.sub("", core)), *_chain_parts(core))
    return next((candidate for candidate in candidates if candidate and _states_shape(candidate)), None)


def _trimmed(text: str) -> str:
    text = _ARTICLE.sub("", text.strip().rstrip(".,;:").strip())
    return _KIND_WORD.sub("", text).strip()


def _chain_parts(core: str) -> list[str]:
    """H \\times H = 7 \\times 7: the parts of a chain of shapes, the last first."""
    parts = _EQUALS.split(core)
    if len(parts) < 2 or not all(_SYMBOLIC_SHAPE.fullmatch(_SHAPE_NOTATION.sub(" ", part)) for part in parts):
        return []
    return [part.strip() for part in reversed(parts)]


def _states_shape(core: str) -> bool:
    """Two or more sizes; one size only as (7,) or R^7, since a bare "y_t = 1" is a value."""
    try:
        shape = parse_shape(core)
    except ShapeParseError:
        return False
    return len(shape) > 1 or bool(re.search(r",\s*[)\]]|\^", core))


def _unbox_statement(clause: str) -> str:
    """\\boxed{h_t = 7 \\times 1} -> h_t = 7 \\times 1; a boxed shape on its own stays boxed."""
    box = _BOX.search(clause)
    if box is None:
        return clause
    end = _closing_brace(clause, box.end())
    if end < 0 or not _RELATION.search(clause[box.end() : end]):
        return clause
    return clause[: box.start()] + clause[box.end() : end] + clause[end + 1 :]


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    for index in range(start, len(text)):
        depth += (text[index] == "{") - (text[index] == "}")
        if depth == 0:
            return index
    return -1


def _table_pairs(cells: list[str], table: _SymbolTable) -> Iterator[tuple[str, str]]:
    """| a_t | 7 × 1 |: a symbol's cell, then the first shape in the cells up to the next symbol."""
    symbols = [_cell_symbol(cell, table) for cell in cells]
    starts = [index for index, symbol in enumerate(symbols) if symbol] + [len(cells)]
    for start, end in itertools.pairwise(starts):
        symbol = symbols[start]
        assert symbol is not None  # every start but the last (len(cells)) indexes a listed symbol
        answer = _shape_in_cells([cell for cell in cells[start + 1 : end] if cell])
        if answer:
            yield symbol, answer


def _cell_symbol(cell: str, table: _SymbolTable) -> str | None:
    cell = re.sub(r"^shapes\.", "", cell)
    return table.resolve(cell) if _SYMBOL_RE.fullmatch(cell) else None


def _shape_in_cells(cells: list[str]) -> str | None:
    """The first cell holding a shape; or sizes in columns of their own, as in | W_H | 7 | 7 |."""
    answer = next((core for core in map(_answer_core, cells) if core), None)
    if answer is None and len(cells) > 1 and all(cell.isdigit() for cell in cells):
        answer = " × ".join(cells)
    return answer


# ---------------------------------------------------------------------------------------------
# Inferred statements: an equation, then a line with one shape per variable

_SHAPE_NUMBER = r"\d+"
_ANY_SEPARATOR = r"(?:\\times(?![A-Za-z])|\\cdot(?![A-Za-z])|[×✕⨯·*xX,]|by)"
_BARE_SEPARATOR = r"(?:\\times(?![A-Za-z])|[×✕⨯xX]|by)"
_SHAPE_ITEM = re.compile(
    rf"[(\[]\s*{_SHAPE_NUMBER}(?:\s*{_ANY_SEPARATOR}\s*{_SHAPE_NUMBER})+\s*[)\]]"
    rf"|(?<![\w.]){_SHAPE_NUMBER}(?:\s*{_BARE_SEPARATOR}\s*{_SHAPE_NUMBER})+(?![\w.])"
)
# What may sit between the shapes of a shape line: operators, brackets, spacing, function names.
_SHAPE_LINE_FILLER = re.compile(
    r"\\(?:left|right|boxed|fbox|q?quad|cdot|times|to|rightarrow|Rightarrow|implies|tanh|sigma|exp|log"
    r"|text|mathrm|operatorname|displaystyle)(?![A-Za-z])|\\[,;:! ]|\\mathbb\s*\{?\s*R\s*\}?\s*\^|ℝ\s*\^"
    r"|(?i:softmax|tanh|sigmoid|sigma|relu)|[\s+\-=(){}\[\]&,;.:|~·×→⇒]"
)
_FUNCTION_WORDS = frozenset(
    {"softmax", "tanh", "sigmoid", "sigma", "σ", "relu", "log", "ln", "exp", "max", "min", "sum", "diag"}
)


def _inferred_statements(rows: list[str], table: _SymbolTable) -> Iterator[tuple[int, str, str]]:
    """(row index, symbol, answer) for each listed variable of an equation annotated with shapes."""
    shape_lines = [_shape_line(row) for row in rows]
    for index, row in enumerate(rows):
        # a line of shapes is what annotates an equation, never an equation itself
        if shape_lines[index] is not None:
            continue
        sides = _equation_variables(row, table)
        if sides is None:
            continue
        for shapes in _following_shape_lines(shape_lines, index + 1):
            aligned = _align(sides, shapes)
            if aligned:
                yield from ((index, symbol, answer) for symbol, answer in aligned)
                break


def _equation_variables(row: str, table: _SymbolTable) -> tuple[list, list] | None:
    """The variables (as symbol ids, None when not listed) on each side of an equation row."""
    sides = _EQUALS.split(_clean(row).replace("&", " "), maxsplit=1)
    if len(sides) != 2:
        return None
    if _answer_core(sides[1]):  # "W_H = 7 x 7" states a shape; it is not an equation to annotate
        return None
    left, right = (_variables(side, table) for side in sides)
    return (left, right) if left and right else None


def _variables(expression: str, table: _SymbolTable) -> list[str | None]:
    found = []
    for token in _SYMBOL_RE.findall(expression):
        symbol = table.resolve(token)
        if symbol is not None or _is_variable(token):
            found.append(symbol)
    return found


def _is_variable(token: str) -> bool:
    """h_{t-1} is a variable; \\tanh, \\frac, \\text{Softmax} are not."""
    base = re.split(r"[_^]", normalise_symbol(token), maxsplit=1)[0]
    return not base.startswith("\\") and base.casefold() not in _FUNCTION_WORDS


def _following_shape_lines(shape_lines: list[list[str] | None], start: int) -> Iterator[list[str]]:
    for shapes in shape_lines[start:]:
        if shapes is None:
            return
        yield shapes


def _shape_line(row: str) -> list[str] | None:
    """The shapes of a row made only of shapes: (7 \\times 7)(7 \\times 1) + (7 \\times 15)(15 \\times 1)."""
    row = _clean(row)
    shapes = _SHAPE_ITEM.findall(row)
    if not shapes or _SHAPE_LINE_FILLER.sub("", _SHAPE_ITEM.sub(" ", row)):
        return None
    return [shape.strip() for shape in shapes]


def _align(sides: tuple[list, list], shapes: list[str]) -> list[tuple[str, str]]:
    """Shapes for the whole equation, or else for its right-hand side; [] when neither fits."""
    left, right = sides
    for variables in (left + right, right):
        if len(variables) == len(shapes):
            return [(symbol, shape) for symbol, shape in zip(variables, shapes) if symbol is not None]
    return []


# ---------------------------------------------------------------------------------------------
# Putting it together


class _Answer(NamedTuple):
    symbol: str
    text: str
    explicit: bool
    boxed: bool
    order: tuple[int, int]

    def rank(self) -> tuple[bool, bool, tuple[int, int]]:
        return (self.explicit, self.boxed, self.order)


def shapes_from_text(text: str, symbols: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Map each listed symbol whose shape the write-up states to that answer, as written.

    `symbols` maps a symbol id ("y_t") to its accepted spellings (["\\hat{y}_t", "ŷ_t"]).
    """
    table = _SymbolTable.build(symbols)
    rows = _rows(unicodedata.normalize("NFC", text))
    answers = [*_explicit_answers(rows, table), *_inferred_answers(rows, table)]
    best: dict[str, _Answer] = {}
    for answer in answers:
        if answer.symbol not in best or answer.rank() >= best[answer.symbol].rank():
            best[answer.symbol] = answer
    return {symbol: best[symbol].text for symbol in symbols if symbol in best}


def _explicit_answers(rows: list[str], table: _SymbolTable) -> Iterator[_Answer]:
    for row_index, row in enumerate(rows):
        cells = _cells(row)
        for symbol, answer in _table_pairs(cells, table):
            yield _Answer(symbol, answer, True, _is_boxed(answer), (row_index, 0))
        clauses = [clause for cell in cells for clause in _clauses(cell)]
        for clause_index, clause in enumerate(clauses, start=1):
            found = _explicit_statement(clause, table)
            if found:
                yield _Answer(*found, True, _is_boxed(clause), (row_index, clause_index))


def _inferred_answers(rows: list[str], table: _SymbolTable) -> Iterator[_Answer]:
    for row_index, symbol, answer in _inferred_statements(rows, table):
        yield _Answer(symbol, answer, False, False, (row_index, 0))


def _is_boxed(text: str) -> bool:
    return _BOX.search(text) is not None
