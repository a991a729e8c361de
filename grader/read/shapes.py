"""Read one shape answer, as a student writes it, into a tuple of ints.

Accepted: "7x1", "7 × 1", "7 by 1", "7*1", "7 \\cdot 1", "(7, 1)", "[7, 1]", "(7,)", "7",
a tuple or list of ints (or of digit strings, or numpy ints), and LaTeX such as "7 \\times 1",
"\\boxed{7 \\times 1}", "$$ (7 \\times 1) $$", "\\mathbb{R}^{7 \\times 1}", "\\left( 7, 1 \\right)".
Sizes must be positive whole numbers: letters ("H x 1") are never resolved.
"""

from __future__ import annotations

import math
import numbers
import re
import reprlib

from grader.read.remembered import SHORT_TEXT, remembered_when_short

__all__ = ["ShapeParseError", "describe", "parse_shape"]


class ShapeParseError(ValueError):
    """An answer that cannot be read as a shape of positive whole numbers."""


_MATH_DELIMITERS = re.compile(r"\$|\\\[|\\\]|\\\(|\\\)")
_SIZING = re.compile(r"\\(?:left|right|[Bb]igg?[lr]?|displaystyle|textstyle)(?![A-Za-z])")
_SPACING = re.compile(r"\\(?:q?quad(?![A-Za-z])|[,;:! ])|~")
_WRAPPERS = re.compile(r"\\(?:boxed|fbox|text|textrm|textbf|mathrm|mathbf)(?![A-Za-z])")
_REAL_SPACE = re.compile(r"(?:\\mathbb\s*\{\s*R\s*\}|\\mathbb\s*R|\\R(?![A-Za-z])|ℝ|\bR)\s*\^")
_LEAD_WORDS = re.compile(r"^\s*(?:the\s+)?(?:shape|size|dims?|dimensions?)\b\s*(?:is\b|of\b|[:=])?", re.I)

_TOKEN = re.compile(
    r"\s*(?:(?P<num>[+-]?\d+(?:\.\d+)?)"
    r"|(?P<sep>\\times(?![A-Za-z])|\\cdot(?![A-Za-z])|by(?![A-Za-z])|[x×X*·,✕⨯])"
    r"|(?P<open>[(\[])|(?P<close>[)\]]))"
)
_PAIRS = {"(": ")", "[": "]"}


def parse_shape(answer: object) -> tuple[int, ...]:
    """Return the shape an answer states, e.g. "7 \\times 1" -> (7, 1); raise ShapeParseError."""
    if isinstance(answer, str):
        return _parse_text(answer)
    if hasattr(answer, "tolist"):  # numpy arrays and numpy scalars
        answer = answer.tolist()
    if isinstance(answer, (list, tuple)):
        return _checked(tuple(_dimension(item, answer) for item in answer), answer)
    return _checked((_dimension(answer, answer),), answer)


def describe(shape: tuple[int, ...]) -> str:
    """Render a shape the way feedback shows it: (7, 1) -> "7×1"."""
    if not shape:
        return "a scalar (no dimensions)"
    return "×".join(str(size) for size in shape)


@remembered_when_short(SHORT_TEXT)
def _parse_text(text: str) -> tuple[int, ...]:
    """An answer's shape (a class writes the same few, "7x1", over and over)."""
    core = _strip_notation(text)
    if not core.strip():
        raise _error(text, "the answer is empty; write a shape such as 7x1")
    tokens = _tokenize(core, text)
    return _checked(_sizes(_unbracket(tokens, text), text), text)


def _strip_notation(text: str) -> str:
    """Drop math delimiters, \\boxed, \\mathbb{R}^, \\left/\\right and a leading "shape"."""
    core = _MATH_DELIMITERS.sub(" ", text)
    core = _SIZING.sub(" ", core)
    core = _SPACING.sub(" ", core)
    core = _REAL_SPACE.sub(" ", core)
    core = _WRAPPERS.sub(" ", core)
    core = _LEAD_WORDS.sub(" ", core)
    return core.replace("{", " ").replace("}", " ").strip().rstrip(".;").strip()


def _tokenize(core: str, text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(core.rstrip()):
        match = _TOKEN.match(core, position)
        if match is None:
            raise _unreadable(core[position:], text)
        kind = match.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unreadable(rest: str, text: str) -> ShapeParseError:
    if re.search(r"[^\W\d_]", rest):
        return _error(text, "sizes must be numbers, not letters")
    return _error(text)


def _unbracket(tokens: list[tuple[str, str]], text: str) -> list[tuple[str, str]]:
    """Remove matching outer brackets; any bracket left inside is an error."""
    while len(tokens) >= 2 and tokens[0][0] == "open" and tokens[-1] == ("close", _PAIRS[tokens[0][1]]):
        tokens = tokens[1:-1]
    if any(kind in ("open", "close") for kind, _ in tokens):
        raise _error(text)
    return tokens


def _sizes(tokens: list[tuple[str, str]], text: str) -> tuple[int, ...]:
    """Read "N (sep N)*" with an optional trailing comma, as in "(7,)"."""
    if tokens and tokens[-1] == ("sep", ",") and len(tokens) > 1:
        tokens = tokens[:-1]
    numbers_at = tokens[0::2]
    separators_at = tokens[1::2]
    if not tokens or len(tokens) % 2 == 0:
        raise _error(text)
    if any(kind != "num" for kind, _ in numbers_at) or any(kind != "sep" for kind, _ in separators_at):
        raise _error(text)
    return tuple(_whole(value, text) for _, value in numbers_at)


def _whole(value: str, text: str) -> int:
    number = float(value)
    if not number.is_integer():
        raise _error(text, f"{value} is not a whole number")
    return int(number)


def _dimension(item: object, answer: object) -> int:
    if item is None:
        raise _error(answer, "no answer was given")
    if isinstance(item, bool):
        raise _error(answer, "sizes must be whole numbers, not True/False")
    if isinstance(item, numbers.Integral):
        return int(item)
    if isinstance(item, numbers.Real) and float(item).is_integer():
        return int(math.trunc(item))
    if isinstance(item, str) and re.fullmatch(r"\s*[+-]?\d{1,100}\s*", item):  # int() refuses 4300 digits
        return int(item.strip())  # int() keeps some spaces that \s matches, such as \x1f
    raise _error(answer, "sizes must be whole numbers")


def _checked(shape: tuple[int, ...], answer: object) -> tuple[int, ...]:
    if not shape:
        raise _error(answer, "the answer is empty; write a shape such as 7x1")
    if any(size <= 0 for size in shape):
        raise _error(answer, "every size must be a positive whole number")
    return shape


def _error(answer: object, reason: str = "") -> ShapeParseError:
    shown = f"'{_one_line(answer)}'" if isinstance(answer, str) else reprlib.repr(answer)  # nesting cut short
    message = f"could not read {shown} as a shape"
    return ShapeParseError(f"{message}: {reason}" if reason else message)


def _one_line(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
