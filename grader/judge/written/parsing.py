"""Reading the math of a write-up: math segments found in Markdown/LaTeX, parsed by a lark grammar.

Pure and exercise-independent: the text is data, never code. `read_writeup(text)` finds the math
(`$…$`, `$$…$$`, `\\[…\\]`, `\\(…\\)`, equation/align environments, and plain lines holding an arrow),
splits it into rows (`\\\\`), and parses each row with `grammar.py` into the small tree below. A row
that cannot be parsed is kept as an `Unreadable` with its line number, never an exception.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.judge.written.macros import expand, macros
from grader.judge.written.normalize import normalize, split_statements

NEWLINE = re.compile("\n")
MAX_ROW_CHARS = 2000  # a longer row is named as unreadable rather than parsed
MAX_ROWS = 300  # math segments beyond this many are not parsed (the feedback says so); the write-up corpus: at most 102
MAX_STATEMENTS = 50  # statements read in one row of math
RELEVANT_MARKS = (
    "=",
    "\\partial",
    "∂",
    "\\rightarrow",
    "\\to",
    "→",
    "->",
    "\\sum",
    "\\prod",
    "\\longrightarrow",
    "\\leftarrow",
    "\\longleftarrow",
    "←",
    "\\gets",
    "<-",
)


# ---------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Sym:
    """A letter or word with its decorations: `W_{hh}`, `\\hat{y}_t`, `h_{t-1}`."""

    base: str
    sub: tuple[Any, ...] | None = None  # subscript parts (trees), `y_{t,i}` has two
    hat: bool = False


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Add:
    terms: tuple[Any, ...]


@dataclass(frozen=True)
class Neg:
    arg: Any


@dataclass(frozen=True)
class Mul:
    factors: tuple[Any, ...]  # in the order written; a function name applies to what follows it


@dataclass(frozen=True)
class Hadamard:
    """`a ⊙ B c`: products taken entry by entry (⊙, ∘), each side a matrix product."""

    factors: tuple[Any, ...]


@dataclass(frozen=True)
class Func:
    """A function name (`\\tanh`, `\\text{softmax}`, `\\log`), applied to the factor that follows."""

    name: str


@dataclass(frozen=True)
class Apply:
    func: str
    arg: Any


@dataclass(frozen=True)
class Frac:
    num: Any
    den: Any


@dataclass(frozen=True)
class Partial:
    arg: Any


@dataclass(frozen=True)
class BigOp:
    """`\\sum_{k=1}^{t} body` or `\\prod`: the index, its bounds (trees or None) and the body."""

    op: str
    var: str | None
    low: Any
    high: Any
    body: Any


@dataclass(frozen=True)
class Pow:
    base: Any
    exp: Any


@dataclass(frozen=True)
class Index:
    base: Any
    index: Any


@dataclass(frozen=True)
class Dots:
    pass


@dataclass(frozen=True)
class Rel:
    """A row: expressions joined by relations (`=`) or arrows (`->`), in the order written."""

    parts: tuple[Any, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line of the write-up the row starts on
    source: str  # the row as written, for feedback
    rel: Rel
    text: str = ""  # the statement as read (normalised), whole


@dataclass(frozen=True)
class Unreadable:
    line: int
    source: str
    reason: str
    text: str = ""  # the statement as read (normalised), whole


@dataclass(frozen=True)
class Reading:
    """Everything the math of a write-up says: parsed rows, and rows that could not be read."""

    rows: tuple[Row, ...]
    unreadable: tuple[Unreadable, ...]
    truncated: bool = False
    unread_plain: tuple[Unreadable, ...] = ()  # plain lines that looked like math and were not (prose, mostly)


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


FUNCTION_COMMANDS = {"tanh", "log", "ln", "exp", "sigma", "sin", "cos", "max", "diag", "softmax", "operatorname"}
FUNCTION_WORDS = {"tanh", "log", "ln", "exp", "softmax", "sigmoid", "diag", "relu", "sigma", "onehot"}


# ---------------------------------------------------------------- parsing one row


class MathSyntaxError(ValueError):
    """A row of math the grammar cannot read."""


@lru_cache(maxsize=1)
def _parser() -> Any:
    from grader.judge.written.grammar import GRAMMAR

    return _saved_parser(GRAMMAR) or built_parser(GRAMMAR)


LARK_OPTIONS = {"parser": "lalr", "maybe_placeholders": True}
TABLES_MODULE = Path(__file__).with_name("grammar_tables.py")


def built_parser(grammar: str) -> Any:
    from lark import Lark

    return Lark(grammar, **LARK_OPTIONS)


def _saved_parser(grammar: str) -> Any:
    """The parser from the tables kept with the code (`grammar_tables.py`) when they are this grammar's, with these
    options, made by the installed lark: about 8 ms to load (their module compiled), against 0.1 s to build. Else
    (no such module, a damaged one, other tables, a lark that cannot read them) None: built again."""
    import lark

    try:
        from grader.judge.written import grammar_tables as kept

        if (kept.GRAMMAR_SHA256, kept.LARK_VERSION) != (_digest(grammar), lark.__version__):
            return None
        return lark.Lark._load_from_dict(kept.TABLES["data"], kept.TABLES["memo"])
    except Exception:  # noqa: BLE001 - whatever is wrong with the kept tables, the grammar is there to build from
        return None


def tables_source(grammar: str) -> str:
    """The text of `grammar_tables.py` for `grammar`: its LALR tables as lark serializes them, a Python literal."""
    import lark

    data, memo = built_parser(grammar).memo_serialize([lark.lexer.TerminalDef, lark.grammar.Rule])
    return (
        f'"""The derivation grammar\'s LALR tables, as lark serializes them: loaded instead of built (parsing.py).\n\n'
        f"Made by `python -c 'from grader.judge.written.parsing import write_tables; write_tables()'`;\n"
        f"tables of another grammar or lark version are not used (tests/grader/test_written_forms.py says when to\n"
        f'remake them)."""\n\n'
        f"GRAMMAR_SHA256 = {_digest(grammar)!r}\n"
        f"LARK_VERSION = {lark.__version__!r}\n"
        f"TABLES = {{'data': {data!r}, 'memo': {memo!r}}}\n"
    )


def write_tables() -> None:
    from grader.judge.written.grammar import GRAMMAR

    TABLES_MODULE.write_text(tables_source(GRAMMAR), encoding="utf-8")


def _digest(grammar: str) -> str:
    """What the tables depend on besides lark's version: the grammar and the options it is built with."""
    return hashlib.sha256(f"{grammar}\0{sorted(LARK_OPTIONS.items())!r}".encode()).hexdigest()


def parse_rows(text: str) -> list[Rel]:
    """One math block (`a = b \\\\ c = d`) as its rows; MathSyntaxError when it cannot be read."""
    from lark.exceptions import LarkError

    try:
        tree = _parser().parse(text)
    except LarkError as exc:
        raise MathSyntaxError(_short(exc)) from None
    except RecursionError:
        raise MathSyntaxError("nested too deeply") from None
    return _rows(tree)


def parse_math(text: str) -> Any:
    """One expression (an alias in an exercise file, a test): the first part of the first row."""
    rows = parse_rows(text)
    if not rows or not rows[0].parts:
        raise MathSyntaxError("no expression")
    return rows[0].parts[0]


def _short(exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    column = getattr(exc, "column", None)
    if isinstance(column, int) and column > 0:
        return f"cannot read it from column {column} on"
    return first[:120]


def _rows(tree: Any) -> list[Rel]:
    rows: list[Rel] = []
    for child in tree.children:
        if getattr(child, "data", None) != "row" or child.children[0] is None:
            continue
        rel = _build(child.children[0])
        if rows and _continues(child.children[0]):  # `& + \dots + x` continues the row above
            last = rows[-1]
            rows[-1] = Rel(last.parts[:-1] + (Add((last.parts[-1], rel.parts[0])),), last.ops)
        else:
            rows.append(rel)
    return rows


def _continues(relation: Any) -> bool:
    first = relation.children[0]
    while getattr(first, "data", None) == "sum":
        first = first.children[0]
    return (
        getattr(first, "data", None) == "first_term" and first.children[0] is not None and len(relation.children) == 1
    )


def _build(node: Any) -> Any:
    """The lark tree as the frozen tree above."""
    from lark import Token

    if isinstance(node, Token):
        return _token(node)
    build = _BUILDERS.get(node.data)
    if build is None:
        raise MathSyntaxError(f"unexpected {node.data}")
    return build(node.children)


def _token(token: Any) -> Any:
    kind, text = token.type, str(token)
    if kind in ("SUB_CHAR", "SUP_CHAR", "SUB_CMD", "SUP_CMD"):
        inner = text[1:].strip()
        return _command(inner[1:]) if inner.startswith("\\") else _word(inner)
    raise MathSyntaxError(f"unexpected {text!r}")


def _word(text: str) -> Any:
    if text.isdecimal():  # not isdigit: a circled digit (`①`) is a digit no float() reads
        return Num(float(text))
    if text.lower() in FUNCTION_WORDS and len(text) > 1:
        return Func(text.lower())
    return Sym(text)


def _command(name: str) -> Any:
    if name in FUNCTION_COMMANDS:
        return Func(name)
    return Sym("\\" + name)


def _relation(children: list[Any]) -> Rel:
    parts = tuple(_build(c) for c in children[0::2])
    ops = tuple("=" if c.type == "REL" else "->" for c in children[1::2])
    return Rel(parts, ops)


def _sum(children: list[Any]) -> Any:
    terms = [_build(children[0])]
    for op, term in zip(children[1::2], children[2::2]):
        built = _build(term)
        terms.append(built if str(op) == "+" else Neg(built))
    return Add(tuple(terms))


def _first_term(children: list[Any]) -> Any:
    sign, term = children
    built = _build(term)
    return Neg(built) if sign is not None and str(sign) != "+" else built


ELEMENTWISE = ("⊙", "\\odot", "\\circ", "∘")


def _term(children: list[Any]) -> Any:
    groups: list[list[Any]] = [[]]
    dividing = False
    for child in children:
        if getattr(child, "type", None) == "MULOP":
            if str(child) in ELEMENTWISE:
                groups.append([])
            dividing = str(child) == "/"
            continue
        built = _build(child)
        if dividing and groups[-1]:  # `a b / c`: the product so far over what follows
            numerator = groups[-1][0] if len(groups[-1]) == 1 else Mul(tuple(groups[-1]))
            groups[-1] = [Frac(numerator, built)]
        else:
            groups[-1].append(built)
        dividing = False
    products = [group[0] if len(group) == 1 else Mul(tuple(group)) for group in groups if group]
    return products[0] if len(products) == 1 else Hadamard(tuple(products))


def _prime(children: list[Any]) -> Any:
    """`\\tanh'` is the derivative of tanh; `h'` a transpose."""
    inner = _build(children[0])
    if isinstance(inner, Func):
        return Func(inner.name + "'")
    if isinstance(inner, Sym) and inner.sub is None and len(inner.base) == 1 and inner.base.islower():
        return Sym(inner.base + "'")  # `m'`: another index
    return Pow(inner, Sym("T"))


def _bigop(children: list[Any]) -> BigOp:
    op = "sum" if str(children[0]) in ("\\sum", "∑") else "prod"
    low, high = (_limit(node) for node in children[1].children)
    var, low_tree = None, None
    if low is not None and len(low.parts) == 2 and isinstance(low.parts[0], Sym):
        var, low_tree = low.parts[0].base, low.parts[1]
    elif low is not None:
        var = _name(low.parts[0])
    high_tree = high.parts[0] if high is not None and high.parts else None
    sign, body = children[2], _build(children[3])
    return BigOp(op, var, low_tree, high_tree, Neg(body) if sign is not None and str(sign) != "+" else body)


def _limit(node: Any) -> Rel | None:
    if node is None:
        return None
    last = node.children[-1]
    if getattr(last, "data", None) == "relation":
        return _relation(last.children)
    return Rel((_token(last),), ())


def _name(tree: Any) -> str | None:
    return tree.base if isinstance(tree, Sym) else None


def _sub(children: list[Any]) -> Any:
    base = _build(children[0])
    part = children[-1]
    if getattr(part, "data", None) == "subscript":
        parts = tuple(_plain(_relation(r.children)) for r in part.children)
    else:
        parts = (_build(part),)
    if isinstance(base, Sym) and base.sub is None:
        return Sym(base.base, parts, base.hat)
    return Index(base, parts[0] if len(parts) == 1 else parts)


def _plain(rel: Rel) -> Any:
    return rel.parts[0] if len(rel.parts) == 1 else rel


def _sup(children: list[Any]) -> Any:
    return Pow(_build(children[0]), _build(children[-1]))


def _hat(children: list[Any]) -> Any:
    return _hatted(_build(children[-1]))


def _hatted(inner: Any) -> Any:
    """`\\hat y_t[k]` puts the hat on y, not on the entry."""
    if isinstance(inner, Sym):
        return Sym(inner.base, inner.sub, True)
    if isinstance(inner, Index):
        return Index(_hatted(inner.base), inner.index)
    return inner


def _text(children: list[Any]) -> Any:
    name = "".join(str(piece) for piece in children[1].children)
    if name.lower() in FUNCTION_WORDS or name.lower() in FUNCTION_COMMANDS:
        return Func(name.lower())
    return Sym(name) if name else Num(1.0)


_BUILDERS: dict[str, Any] = {
    "relation": _relation,
    "sum": _sum,
    "first_term": _first_term,
    "term": _term,
    "bigop": _bigop,
    "sub": _sub,
    "sup": _sup,
    "index": lambda c: Index(_build(c[0]), _build(c[1])),
    "prime": _prime,
    "word": lambda c: _word(str(c[0])),
    "number": lambda c: Num(float(str(c[0]))),
    "command": lambda c: _command(str(c[0])[1:]),
    "text": _text,
    "hat": _hat,
    "style": lambda c: _build(c[-1]),
    "frac": lambda c: Frac(_build(c[1]), _build(c[2])),
    "partial": lambda c: Partial(_build(c[-1])),
    "group": lambda c: _build(c[0]),
    "bracket": lambda c: _build(c[0]),
    "style_number": lambda c: Num(float(str(c[1]))),
    "dots": lambda c: Dots(),
}


# ---------------------------------------------------------------- finding the math in a write-up

MATH_ENVIRONMENTS = (
    *("equation", "equation*", "align", "align*", "aligned", "gather", "gather*", "multline", "multline*"),
    *("eqnarray", "eqnarray*", "flalign", "flalign*", "displaymath", "math", "alignat", "alignat*"),
)
_COLUMNS = re.compile(r"\s*\{\s*\d+\s*\}")  # `\begin{alignat}{2}`: the number of column pairs


@dataclass(frozen=True)
class Segment:
    line: int
    text: str
    offset: int = 0  # where the math starts in the write-up
    plain: bool = False  # a line of plain text read as math (parse failures there are prose, not reported)


class _Lines:
    """Line numbers of increasing offsets, counted once (a 1 MB write-up is read in linear time)."""

    def __init__(self, text: str) -> None:
        self.text, self.offset, self.line = text, 0, 1

    def at(self, offset: int) -> int:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def math_segments(text: str) -> list[Segment]:
    """The math of a Markdown/LaTeX text, in order, with the line each piece starts on."""
    segments: list[Segment] = []
    prose: list[tuple[int, str]] = []
    lines = _Lines(text)
    position, length = 0, len(text)
    unclosed: set[str] = set()  # closers already missing from the rest of the text: never searched again
    marks = _Marks(text)
    while position < length:
        start = marks.next_math(position)
        prose.append((position, text[position:start]))
        if start >= length:
            break
        opener, closer = _delimiters(text, start)
        end = _closing(text, opener, closer, start + len(opener), unclosed)
        if end < 0:
            prose.append((start, text[start : start + len(opener)]))
            position = start + len(opener)
            continue
        inner = start + len(opener)
        segments.append(Segment(lines.at(inner), text[inner:end], offset=inner))
        position = end + len(closer)
    segments = _joined(text, segments) + _plain_lines(text, prose)
    return sorted(segments, key=lambda segment: segment.line)


_ASIDE = re.compile(r"^\s*(\([^()$]*\))?\s*$")


def _joined(text: str, segments: list[Segment]) -> list[Segment]:
    """`$a_t = W_H h_{t-1}$ (7×7 · 7×1) $+ W_x x_t$`: one statement split by a remark, made whole again."""
    joined: list[Segment] = []
    for segment in segments:
        previous = joined[-1] if joined else None
        if previous is not None and segment.text.lstrip().startswith(("+", "-", "\\cdot")) and "=" in previous.text:
            between = text[previous.offset + len(previous.text) : segment.offset]
            if _ASIDE.match(between.strip("$")):
                joined[-1] = Segment(previous.line, previous.text + " " + segment.text, previous.offset)
                continue
        joined.append(segment)
    return joined


def _closing(text: str, opener: str, closer: str, inner: int, unclosed: set[str]) -> int:
    """Where the math opened at `inner` ends; -1 when it does not (`$` must close on its own line)."""
    if opener == "$":
        line_end = text.find("\n", inner)
        return text.find("$", inner, line_end if line_end >= 0 else len(text))
    if closer in unclosed:
        return -1
    end = text.find(closer, inner)
    if end < 0:
        unclosed.add(closer)
    return end


class _Marks:
    """The next `$` or `\\` from a position, each searched for once per stretch of text (linear overall)."""

    def __init__(self, text: str) -> None:
        self.text, self.dollar, self.backslash = text, -1, -1

    def _after(self, char: str, known: int, position: int) -> int:
        if known >= position or known == len(self.text):
            return known
        found = self.text.find(char, position)
        return found if found >= 0 else len(self.text)

    def next_math(self, position: int) -> int:
        text = self.text
        while position < len(text):
            self.dollar = self._after("$", self.dollar, position)
            self.backslash = self._after("\\", self.backslash, position)
            start = min(self.dollar, self.backslash)
            if start >= len(text):
                break
            if text[start] == "$" and (start == 0 or text[start - 1] != "\\"):
                return start
            if text[start] == "\\" and _delimiters(text, start)[0] and not text.startswith("\\\\", start - 1):
                return start  # `\\[2pt]` is a line break, not `\[`
            position = start + 1
        return len(text)


def _delimiters(text: str, start: int) -> tuple[str, str]:
    if text.startswith("$$", start):
        return "$$", "$$"
    if text.startswith("$", start):
        return "$", "$"
    if text.startswith("\\[", start):
        return "\\[", "\\]"
    if text.startswith("\\(", start):
        return "\\(", "\\)"
    for environment in MATH_ENVIRONMENTS:
        opener = "\\begin{" + environment + "}"
        if text.startswith(opener, start):
            columns = _COLUMNS.match(text, start + len(opener)) if environment.startswith("alignat") else None
            return opener + (columns.group(0) if columns else ""), "\\end{" + environment + "}"
    return "", ""


ARROWS_IN_PROSE = ("→", "->", "\\rightarrow", "⟶", "\\to ", "⇒", "←", "<-", "\\leftarrow", "\\gets")
_PLAIN_LHS = re.compile(r"^[\w\\{}^_()\[\]',/∂ŷ.|+:-]{1,32}$")
_PLAIN_MARKUP = re.compile(r"^\s*(?:[-*+>#]+|\d+[.)]|=>|⇒|∴)\s+|\*\*|`")


def _plain_lines(text: str, prose: list[tuple[int, str]]) -> list[Segment]:
    """Plain lines written as math without dollars: `L_t -> yhat_t -> z_t`, `dL/dW_H = sum_t delta_t h_{t-1}^T`."""
    found = []
    lines = _Lines(text)
    starts = [0] + [newline.end() for newline in NEWLINE.finditer(text)]
    for offset, piece in prose:
        if "=" not in piece and not any(arrow in piece for arrow in ARROWS_IN_PROSE):
            continue
        line = lines.at(offset)
        for number, content in enumerate(piece.split("\n")):
            whole = _whole_line(text, starts, line + number) if any(a in content for a in ARROWS_IN_PROSE) else ""
            if "$" in whole:
                content = whole.replace("$", " ")  # `$L_t$ → $ŷ_t$ → …`
            plain = _PLAIN_MARKUP.sub(" ", content).strip()
            pieces = [plain] if _looks_like_math(plain) else re.split(r"(?<=[,;:])\s+", plain)[1:]
            for piece in pieces:  # `I write dX for dL/dX, e_t = ŷ_t - onehot(y_t):` defines e_t
                if _looks_like_math(piece):
                    found.append(Segment(line + number, _cut_comment(piece), plain=True))
    return found


def _whole_line(text: str, starts: list[int], line: int) -> str:
    """Line `line` (from 1) of the write-up, whole."""
    start = starts[line - 1]
    end = starts[line] - 1 if line < len(starts) else len(text)
    return text[start:end]


def _looks_like_math(line: str) -> bool:
    arrows = sum(line.count(arrow) for arrow in ARROWS_IN_PROSE)
    if arrows and len(line.split()) <= 4 * arrows + 6:
        return True
    lhs, equals, _ = line.partition("=")
    return bool(equals) and bool(_PLAIN_LHS.match(lhs.strip().replace(" ", ""))) and len(lhs.split()) <= 3


_PARENTHESES = re.compile(r"\s\(([^()]*)\)")
_TRAILING_WORDS = re.compile(
    r"\s(?=(?!(?:tanh|softmax|sigmoid|diag|onehot|relu|prod|sum|exp|log)\b)[a-z]{4,}\b(?![_(^{]))"
)
_LEAD_WORDS = re.compile(
    r"^(?:(?:let|where|so|then|and|with|define|set|hence|thus|i\.e\.|now|finally)\b[\s,:]*|[A-Za-z]+(?: [a-z]+)?:\s+)",
    re.I,
)
_NEXT_CHAIN = re.compile(r",\s*(?:and\s+)?(?:also\s+)?(?=[^\s,]+\s*(?:→|->|\\to\b|\\rightarrow|←|<-))")


def _unless_words(match: re.Match[str]) -> str:
    """A parenthesis holding words (two or more, one of three letters at least) is a remark, not math."""
    found = re.findall(r"[A-Za-z]{2,}", match.group(1))
    return " " if len(found) >= 2 and any(len(word) >= 3 for word in found) else match.group(0)


_CONTINUES = ("=", "+", "-", "*", "/", "\\cdot", "\\odot")


def _columns(line: str) -> list[str]:
    """A line cut where three or more spaces stand, except around an operator: `a_t    = W_H h_{t-1}` is
    one statement with its `=` aligned in a column, `z_t = W_y h_t     ŷ_t = softmax(z_t)` two."""
    pieces: list[str] = []
    for piece in re.split(r"\s{3,}", line):
        arrow = piece.startswith(("->", "=>")) or (bool(pieces) and pieces[-1].endswith("<-"))
        if pieces and not arrow and (piece.startswith(_CONTINUES) or pieces[-1].endswith(_CONTINUES)):
            pieces[-1] += " " + piece
        else:
            pieces.append(piece)
    return pieces


def _cut_comment(line: str) -> str:
    """`delta_t = ...      (* = elementwise here)`: the math, without remarks in words around it."""
    first, *rest = _columns(line)  # `z_t = W_y h_t ,   ŷ_t = softmax(z_t)`: two statements
    line = " \\qquad ".join([first, *(piece for piece in rest if "=" in piece and _looks_like_math(piece))])
    line = _NEXT_CHAIN.sub(lambda _: " \\qquad ", line)  # `L_t → … → W_H, and also a_t → h_{t-1} → …`: two chains
    line = _PARENTHESES.sub(_unless_words, line)  # `(total, all losses)`, `(= dL_t/dz_t for softmax+CE)`
    line = _TRAILING_WORDS.split(line, maxsplit=1)[0]  # `h_t = tanh(…) depends on W_H in two ways`
    return _LEAD_WORDS.sub("", line.strip()).strip().rstrip(".,;:")


def is_relevant(source: str) -> bool:
    """Math that can state an equation, a chain or a gradient; shapes and sizes alone are not read."""
    return any(mark in source for mark in RELEVANT_MARKS)


@lru_cache(maxsize=4096)
def _parse_piece(source: str) -> Rel | str:
    """One statement's tree, or why it cannot be read."""
    if len(source) > MAX_ROW_CHARS:
        return f"it is {len(source):,} characters long; at most {MAX_ROW_CHARS:,} are read"
    try:
        rows = parse_rows(source)
    except MathSyntaxError as exc:
        return str(exc)
    return rows[0] if len(rows) == 1 else "it holds several statements the grader could not tell apart"


_BRANCHES = re.compile(
    r"(?:\\(?:long)?(?:right|left)arrow|\\to|->|\\gets)(?:\s|\\[;,:! ])*"  # an arrow, then cases
    r"\\begin\{cases\}(?:(?!\\(?:begin|end)\{cases\}).)*?\\end\{cases\}",  # with no cases inside
    re.S,
)
_ROW_BREAK = re.compile(r"\\\\(?:\s*\[[^\]\n]{0,12}\])?")  # `\\`, `\\[2pt]`


def branches_in_one_row(text: str) -> str:
    """`a_t → \\begin{cases} W_H \\\\ h_{t-1} → … \\end{cases}`: the branches of a chain, one row that branches, not
    rows of their own (each would lose the link from a_t). The text keeps its length, so offsets hold."""
    for _ in range(3):  # cases within cases, the innermost first
        if "cases" not in text:
            break
        text = _BRANCHES.sub(_as_a_group, text)
    return text


def _as_a_group(branches: re.Match) -> str:
    """`→ \\begin{cases} A \\\\ B \\end{cases}` as `→ \\{ A, B \\}`, which a chain's row reads as its branches."""
    text = _ROW_BREAK.sub(lambda row_break: ", " + " " * (len(row_break.group(0)) - 2), branches.group(0))
    return text.replace("\\begin{cases}", "\\{" + " " * 11).replace("\\end{cases}", "\\}" + " " * 9)


def _rows_of(segment: Segment) -> list[tuple[int, str]]:
    """(offset in the segment, text) of each row (`\\\\`-separated), a row continuing the one above joined to it."""
    rows: list[tuple[int, str]] = []
    offset = 0
    for piece in branches_in_one_row(segment.text).split("\\\\"):
        stripped = piece.strip().lstrip("&").strip()
        if rows and stripped[:1] in "+-" and stripped and "=" not in stripped:
            rows[-1] = (rows[-1][0], rows[-1][1] + " " + stripped)
        elif stripped:
            rows.append((offset + len(piece) - len(piece.lstrip()), piece))
        offset += len(piece) + 2
    return rows


@lru_cache(maxsize=8)
def read_writeup(text: str) -> Reading:
    """Every statement in the math of a write-up, parsed; unreadable rows named. Never raises on any text."""
    rows: list[Row] = []
    unreadable: list[Unreadable] = []
    unread_plain: list[Unreadable] = []
    newlines = [newline.start() for newline in NEWLINE.finditer(text)]
    defined = macros(text)
    segments = [s for s in math_segments(text) if s.text.strip() and is_relevant(expand(s.text, defined))]
    for segment in segments[:MAX_ROWS]:
        for offset, row_text in _rows_of(segment):
            if not is_relevant(row_text):
                continue
            line = segment.line if segment.plain else bisect.bisect_left(newlines, segment.offset + offset) + 1
            shown = _shown(row_text)
            if len(row_text) > MAX_ROW_CHARS:
                if not segment.plain:
                    reason = f"it is {len(row_text):,} characters long; at most {MAX_ROW_CHARS:,} are read"
                    unreadable.append(Unreadable(line, shown, reason, ""))
                continue
            for piece in split_statements(normalize(expand(row_text, defined)))[:MAX_STATEMENTS]:
                parsed = _parse_piece(piece)
                if isinstance(parsed, Rel):
                    rows.append(Row(line, shown, parsed, piece))
                elif not segment.plain:
                    unreadable.append(Unreadable(line, shown, parsed, piece))
                else:
                    unread_plain.append(Unreadable(line, shown, parsed, piece))
    truncated = len(segments) > MAX_ROWS
    return Reading(tuple(rows), tuple(_once(unreadable)), truncated, tuple(unread_plain))


def _once(unreadable: list[Unreadable]) -> list[Unreadable]:
    seen: set[tuple[int, str]] = set()
    kept = []
    for row in unreadable:
        if (row.line, row.source) not in seen:
            seen.add((row.line, row.source))
            kept.append(row)
    return kept


def _shown(source: str) -> str:
    flat = " ".join(source.split())
    return flat if len(flat) <= 80 else flat[:77] + "..."
