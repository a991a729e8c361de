"""What a written part's check returns: passed (verified right), failed (a named mistake, with its line),
review (the grader cannot verify it: a person will), missing (no attempt at all); and the feedback lines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser's regexes are compiled when a write-up is read, not when a verdict is made
    from grader.judge.written.parsing import Unreadable

MAX_QUOTED = 4


@dataclass(frozen=True)
class WrittenVerdict:
    """A written question's verdict: fraction of its points, status, feedback, and a named mistake."""

    fraction: float
    status: str  # passed, failed, review, missing
    feedback: str
    diagnosis: str | None = None


def quoted(line: int, source: str) -> str:
    """A student's line as they wrote it (LaTeX kept, never escaped)."""
    return f"line {line}: “{source}”"


def passed(message: str, note: str = "") -> WrittenVerdict:
    return WrittenVerdict(1.0, "passed", _join(message, note))


def failed(fraction: float, problems: list[str], diagnosis: str, note: str = "") -> WrittenVerdict:
    return WrittenVerdict(fraction, "failed", _join(*problems, note), diagnosis)


def review(reason: str, lines: Iterable[tuple[int, str]], note: str = "") -> WrittenVerdict:
    """The grader could not verify this part: it says why, quotes what it read, and leaves it to a person."""
    quotes = [quoted(line, source) for line, source in dict.fromkeys(lines)]
    shown = "; ".join(quotes[:MAX_QUOTED]) + (
        f"; and {len(quotes) - MAX_QUOTED} more" if len(quotes) > MAX_QUOTED else ""
    )
    read = f" What was read: {shown}." if quotes else ""
    return WrittenVerdict(0.0, "review", _join(f"Awaits review by a person: {reason}.{read}", note))


def missing(message: str) -> WrittenVerdict:
    return WrittenVerdict(0.0, "missing", message)


def unreadable_note(rows: Iterable[Unreadable], truncated: bool = False) -> str:
    """The rows that could not be read, each named once with its line (they cost nothing by themselves)."""
    rows = list(rows)
    if not rows and not truncated:
        return ""
    text = ""
    if rows:
        quotes = [quoted(row.line, row.source) for row in rows[:MAX_QUOTED]]
        rest = [str(row.line) for row in rows[MAX_QUOTED:]]
        text = "Math the grader could not read: " + "; ".join(quotes)
        if rest:
            text += f"; and lines {', '.join(rest)}"
        text += "."
    if truncated:
        text += " Only the first rows of math were read."
    return text.strip()


def _join(*parts: str) -> str:
    return " ".join(part.strip() for part in parts if part and part.strip())
