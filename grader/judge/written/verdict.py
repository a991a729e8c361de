"""What a written part's check returns, and the feedback on rows that could not be read."""

from __future__ import annotations

from dataclasses import dataclass

from grader.judge.written.parsing import Reading

MAX_NAMED_UNREADABLE = 2


@dataclass(frozen=True)
class WrittenVerdict:
    """A written question's verdict: fraction of its points, status, feedback, and a named mistake."""

    fraction: float
    status: str  # passed, failed, missing
    feedback: str
    diagnosis: str | None = None


def unreadable_note(reading: Reading) -> str:
    """One sentence naming the rows that could not be read (they cost nothing by themselves)."""
    if not reading.unreadable and not reading.truncated:
        return ""
    named = [f"line {row.line} ({row.source!r}: {row.reason})" for row in reading.unreadable[:MAX_NAMED_UNREADABLE]]
    more = len(reading.unreadable) - len(named)
    text = "Could not read " + "; ".join(named) if named else ""
    if more > 0:
        text += f"; and {more} more row(s)"
    if reading.truncated:
        text += ("; " if text else "") + "only the first rows of math were read"
    return text + ": write that math in plain LaTeX if it matters here."
