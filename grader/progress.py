"""A progress bar for long batches, and the end-of-batch lines naming what went wrong.

    grading ━━━━━━━━━━━━━━━━━━━━━╺━━━━━━━━━━━━━━━━━━  37/120 1.4/s 0:59 left 2 rejected, 1 timeout

`Progress` is fed one `SubmissionResult` at a time (pass `progress.on_result` as `grade()`'s
`on_result`). It draws only on a terminal: when its stream is not a tty, when `TERM` is `dumb`, when
the `CI` environment variable is set (to anything but "", "0" or "false"), or when `rich` is not
installed, it prints nothing at all, so logs and pipes stay clean. `rich` is imported only then.

Failures counted as they come: rejected submissions, and questions whose status is `timeout` or
`error`; beside them, the parts the grader could not verify (`review`), which await a person.
The total is known only if the caller counted submissions first; without it the bar shows
`37/?` and no time left, and ends at `n/n`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Self, TextIO

if TYPE_CHECKING:  # loaded with the first result: a lone submission's job is handed over without it
    from grader.results import GradingResults, SubmissionResult

_CI_OFF = ("", "0", "false")
_REASON_CHARS = 120


class Progress:
    """A context manager that shows done/total, rate, time left and failures so far on a terminal."""

    def __init__(self, total: int | None, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = sys.stderr if stream is None else stream
        self.done = self.rejected = self.timeouts = self.errors = self.to_review = 0
        self._bar = None
        self._task = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Draw the bar, if this stream is a terminal worth drawing on."""
        if self._bar is None and shows_on(self.stream):
            self._bar = _rich_progress(self.stream)
            if self._bar is not None:
                self._bar.start()
                self._task = self._bar.add_task("grading", total=self.total, failures=self.failures_text())

    def on_result(self, result: SubmissionResult) -> None:
        """Count one finished submission and redraw."""
        from grader.results import awaiting_review

        self.done += 1
        if result.status == "rejected":
            self.rejected += 1
        self.timeouts += sum(q.status == "timeout" for q in result.questions)
        self.errors += sum(q.status == "error" for q in result.questions)
        self.to_review += len(awaiting_review(result))
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, failures=self.failures_text())

    __call__ = on_result

    def stop(self) -> None:
        """Leave the final bar on screen (at n/n when the total was unknown) and stop redrawing."""
        if self._bar is None:
            return
        if self.total is None:
            self._bar.update(self._task, total=self.done)
        self._bar.refresh()
        self._bar.stop()
        self._bar = None

    def failures_text(self) -> str:
        """`no failures`, or e.g. `2 rejected, 1 timeout, 3 errors, 2 to review`."""
        parts = [
            _count(self.rejected, "rejected", "rejected"),
            _count(self.timeouts, "timeout", "timeouts"),
            _count(self.errors, "error", "errors"),
            _count(self.to_review, "to review", "to review"),
        ]
        return ", ".join(part for part in parts if part) or "no failures"


def shows_on(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a bar belongs on this stream: a terminal, not dumb, and not in CI."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if env.get("CI", "").strip().lower() not in _CI_OFF:
        return False
    if env.get("TERM", "") in ("dumb", "unknown"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _rich_progress(stream: TextIO):
    """A rich Progress drawing on `stream`, or None when rich is not installed."""
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
        from rich.progress import Progress as RichProgress
    except ImportError:
        return None
    rate, left = _time_columns()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        rate,
        left,
        TextColumn("{task.fields[failures]}", markup=False),
    )
    console = Console(file=stream)
    return RichProgress(
        *columns,
        console=console,
        speed_estimate_period=120.0,
        redirect_stdout=False,
        redirect_stderr=stream is sys.stderr,
    )


def _time_columns():
    """Rate (`1.4/s`, or `12/min` when slower than one a second) and time left (blank if unknown)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            return Text(rate_text(task.finished_speed or task.speed), style="progress.data.speed")

    class LeftColumn(ProgressColumn):
        def render(self, task) -> Text:
            seconds = task.time_remaining
            text = "" if seconds is None or task.total is None or task.finished else f"{_clock(seconds)} left"
            return Text(text, style="progress.remaining")

    return RateColumn(), LeftColumn()


def rate_text(per_second: float | None) -> str:
    """Submissions per second, or per minute when fewer than one a second; `-/s` before any."""
    if not per_second:
        return "-/s"
    return f"{per_second:.1f}/s" if per_second >= 1 else f"{per_second * 60:.1f}/min"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _count(n: int, one: str, many: str) -> str:
    return "" if n == 0 else f"{n} {one if n == 1 else many}"


def batch_summary(results: GradingResults) -> list[str]:
    """End-of-batch lines naming rejected and timed-out submissions (name and path), and the parts awaiting
    review; none if all went well. One pass over the run, keeping only the lines."""
    from grader.results import awaiting_review

    rejected: list[str] = []
    timed_out: list[str] = []
    pending: list[str] = []
    parts = 0
    for sub in results.submissions:
        if sub.status == "rejected":
            rejected.append(f"  {_who(sub)}: {_first_line(sub.reason or 'no reason given')}")
        timeouts = [q.id for q in sub.questions if q.status == "timeout"]
        if timeouts:
            timed_out.append(f"  {_who(sub)}: {_printable(', '.join(timeouts))}")
        to_review = awaiting_review(sub)
        if to_review:
            parts += len(to_review)
            pending.append(f"  {_who(sub)}: {_printable(', '.join(to_review))}")
    lines = [f"{len(rejected)} rejected:", *rejected] if rejected else []
    lines += [f"{len(timed_out)} timed out:", *timed_out] if timed_out else []
    return lines + ([_review_heading(parts), *pending] if pending else [])


def _review_heading(parts: int) -> str:
    return f"{parts} part(s) await review, 0 points until a person scores them (`rnn-grader review GRADEBOOK`):"


def _who(sub: SubmissionResult) -> str:
    return f"{_printable(sub.student)} ({_printable(sub.path)})"


def _printable(text: str) -> str:
    """grader.results' `printable`, loaded when first needed."""
    from grader.results import printable

    return printable(text)


def _first_line(text: str) -> str:
    line = _printable(text.strip().splitlines()[0] if text.strip() else "")
    return line if len(line) <= _REASON_CHARS else line[: _REASON_CHARS - 1] + "…"
