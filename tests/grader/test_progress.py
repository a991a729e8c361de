"""The progress bar: drawn on a real terminal, silent on a pipe or in CI; the end-of-batch summary."""

from __future__ import annotations

import fcntl
import io
import os
import re
import struct
import subprocess
import sys
import termios
import textwrap
from pathlib import Path

import pytest

from grader.progress import Progress, batch_summary, rate_text, shows_on
from grader.results import printable
from grader.results import GradingResults, QuestionResult, SubmissionResult

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")

FEED = textwrap.dedent("""
    import sys, time
    from grader.progress import Progress
    from grader.results import QuestionResult, SubmissionResult

    def sub(name, status="graded", question_status="passed"):
        q = QuestionResult(id="q", score=0, max_score=1, status=question_status)
        return SubmissionResult(path=f"subs/{name}.py", student=name, status=status, score=0, max_score=1,
                                questions=[] if status == "rejected" else [q])

    total = None if sys.argv[1] == "none" else int(sys.argv[1])
    with Progress(total) as bar:
        for result in (sub("ann"), sub("ben", "rejected"), sub("cy", question_status="timeout")):
            time.sleep(0.15)
            bar.on_result(result)
        time.sleep(0.15)
""")


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "FORCE_COLOR", "TTY_COMPATIBLE")}
    env.update({"TERM": "xterm-256color", "PYTHONPATH": str(ROOT), **extra})
    return env


def run_on_pty(total: str, **env: str) -> str:
    """Run FEED with its stderr on a pseudo-terminal; everything the terminal received, escapes removed."""
    return on_pty([sys.executable, "-c", FEED, total], timeout=30, **env)


def on_pty(command: list[str], timeout: float, **env: str) -> str:
    """Run `command` with its stderr on a pseudo-terminal; what the terminal received, escapes removed."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                            env=child_env(**env), cwd=ROOT)
    os.close(slave)
    received = b""
    try:
        while chunk := _read(master):
            received += chunk
    finally:
        os.close(master)
    assert proc.wait(timeout=timeout) == 0
    return ANSI.sub("", received.decode("utf-8", "replace"))


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the child closed the terminal
        return b""


@pytest.fixture
def needs_rich():
    pytest.importorskip("rich")


def test_bar_is_drawn_on_a_terminal(needs_rich):
    screen = run_on_pty("3")
    assert "3/3" in screen
    assert "grading" in screen
    assert "1 rejected, 1 timeout" in screen
    assert re.search(r"\d+\.\d/s", screen)  # the rate


def test_unknown_total_counts_up_then_ends_complete(needs_rich):
    screen = run_on_pty("none")
    assert "1/?" in screen and "3/3" in screen


def test_nothing_on_a_terminal_in_ci(needs_rich):
    assert run_on_pty("3", CI="1") == ""


def test_nothing_on_a_dumb_terminal(needs_rich):
    assert run_on_pty("3", TERM="dumb") == ""


def test_nothing_when_stderr_is_a_pipe():
    proc = subprocess.run([sys.executable, "-c", FEED, "3"], capture_output=True, env=child_env(), cwd=ROOT,
                          timeout=30, check=True)
    assert proc.stderr == b"" and proc.stdout == b""


@pytest.mark.parametrize(("value", "shows"), [("1", False), ("true", False), ("", True), ("0", True),
                                              ("false", True)])
def test_ci_variable(value, shows):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert shows_on(Tty(), {"CI": value, "TERM": "xterm"}) is shows
    assert shows_on(Tty(), {"TERM": "xterm"}) is True
    assert shows_on(io.StringIO(), {"TERM": "xterm"}) is False


def sub(name: str, status: str = "graded", *question_statuses: str, reason: str | None = None) -> SubmissionResult:
    questions = [QuestionResult(id=f"q{i}", score=0, max_score=1, status=s) for i, s in enumerate(question_statuses)]
    return SubmissionResult(path=f"subs/{name}.py", student=name, status=status, score=0,
                            max_score=len(questions), questions=questions, reason=reason)


def test_counts_failures_without_a_terminal():
    bar = Progress(4, stream=io.StringIO())
    with bar:
        for result in (sub("a", "graded", "passed"), sub("b", "rejected", reason="empty"),
                       sub("c", "graded", "timeout", "error", "error"), sub("d", "graded", "timeout")):
            bar(result)
    assert (bar.done, bar.rejected, bar.timeouts, bar.errors) == (4, 1, 2, 2)
    assert bar.failures_text() == "1 rejected, 2 timeouts, 2 errors"
    assert bar.stream.getvalue() == ""


def test_no_failures_text():
    assert Progress(None, stream=io.StringIO()).failures_text() == "no failures"


@pytest.mark.parametrize(("speed", "text"), [(None, "-/s"), (0.0, "-/s"), (2.0, "2.0/s"), (0.25, "15.0/min")])
def test_rate_text(speed, text):
    assert rate_text(speed) == text


def test_batch_summary_names_rejected_and_timed_out_submissions():
    results = GradingResults(exercise="rnn-bptt", submissions=[
        sub("ann", "graded", "passed"),
        sub("ben", "rejected", reason="not a notebook: JSON error\nat line 3"),
        sub("cy", "graded", "timeout", "passed", "timeout"),
    ])
    assert batch_summary(results) == [
        "1 rejected:",
        "  ben (subs/ben.py): not a notebook: JSON error",
        "1 timed out:",
        "  cy (subs/cy.py): q0, q2",
    ]


def test_batch_summary_is_empty_when_all_went_well():
    assert batch_summary(GradingResults(exercise="x", submissions=[sub("ann", "graded", "passed", "error")])) == []


def test_batch_summary_cannot_drive_the_terminal():
    evil = sub("x\x1b]0;pwned\x07", "rejected", reason="r" * 300 + "\x1b[2J")
    line = batch_summary(GradingResults(exercise="x", submissions=[evil]))[1]
    assert "\x1b" not in line and "\x07" not in line
    assert line.endswith("…") and len(line) < 200
    assert printable("a\u202eb\tc") == "a?b?c"


def _run_cli_on_pty(args: list[str], **env: str) -> str:
    """The real `rnn-grader` with its stderr on a pseudo-terminal."""
    return on_pty([sys.executable, "-c", "from grader.cli import main; main()", *args], timeout=120, **env)


@pytest.fixture(scope="module")
def class_of_200(tmp_path_factory) -> Path:
    """200 students who handed in answer files (graded without running code, so the batch is quick)."""
    folder = tmp_path_factory.mktemp("class200")
    for n in range(200):
        (folder / f"s{n:03d}.json").write_text('{"shapes": {"W_H": "7x7", "h_t": "1x7"}}')
    return folder


def test_a_batch_of_200_on_a_terminal_shows_the_bar(class_of_200):
    screen = _run_cli_on_pty(["grade", str(class_of_200), "--exercise", "rnn-bptt", "--secret", "s", "-o",
                              str(class_of_200.parent / "out.txt")])
    assert "200/200" in screen, screen[-2000:]


def test_the_same_batch_in_ci_prints_no_bar(class_of_200):
    screen = _run_cli_on_pty(["grade", str(class_of_200), "--exercise", "rnn-bptt", "--secret", "s", "-o",
                              str(class_of_200.parent / "out-ci.txt")], CI="true")
    assert "200/200" not in screen and "graded 200 submission(s)" in screen
