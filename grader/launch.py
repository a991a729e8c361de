"""The installed command's entry point, light on purpose (the standard library, grader.selfcheck.server,
grader.read.flags, grader.run.boot).

A student's check goes first to the server the last check started (grader/selfcheck/server.py). If none takes it,
and it is the check of a file with code, the sandbox's interpreter starts here, before the command line's own
modules (click, then the grader's: numpy, pydantic, the exercise) are imported, so that the two start-ups overlap
from the command's first moment (a check waits for both). Everything else is grader.cli's; what both need (how a
write that found no room ends a command) is here, where the lighter of them finds it.
"""

from __future__ import annotations

import atexit
import errno
import os
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import NoReturn

OUTPUT_LOST = 120  # any command's exit code when a write found no room, as Python's own when it cannot flush
CHECK_SETTINGS = ("auto", True)  # isolation and own work: how the check command starts its sandbox (cli.py)


def run(args: list[str] | None = None) -> NoReturn:
    arguments = sys.argv[1:] if args is None else list(args)
    if arguments[:1] == ["check"]:
        from grader.selfcheck import server

        code = server.served(arguments)
        if code is not None:
            sys.exit(code)
        server.start_later()
    _start_for_a_check(arguments)
    from grader.cli import run as command_line
    from grader.run.boot import stop_unused_early

    try:
        command_line(arguments)
    finally:  # where the interpreter carries on after the command (`python -i`, IPython's `%run`)
        stop_unused_early()


def _start_for_a_check(arguments: list[str]) -> None:
    """`check FILE ...`, as students and a kit's check.py give it: the sandbox started as the check command would
    start it (`sandbox_for`), which then keeps it; stopped at exit if the command never got there (a usage error,
    `--help`). Any other order of the arguments leaves the start to the command."""
    if len(arguments) < 2 or arguments[0] != "check" or arguments[1].startswith("-"):
        return
    if not os.path.exists(arguments[1]):  # the command refuses it
        return
    from grader.run.boot import stop_unused_early

    atexit.register(stop_unused_early)  # the command ends without unwinding (grader.cli.run)
    _start((arguments[1],), *CHECK_SETTINGS)


@contextmanager
def sandbox_for(paths: tuple[str, ...], isolation: str = "auto", own_work: bool = False) -> Iterator[None]:
    """The sandbox's interpreter started now (unless the entry point started it with these settings), while the
    command imports and reads the exercise (a class of one, or a student's check, waits for both); stopped on
    leaving if nothing used it."""
    from grader.run.boot import started_early, stop_unused_early

    try:
        if started_early() and _started_with[-1:] != [(isolation, own_work)]:
            stop_unused_early()  # started for other settings (own work decides whether fonts are shared)
        if not started_early():
            _start(paths, isolation, own_work)
        yield
    finally:
        stop_unused_early()


def _start(paths: tuple[str, ...], isolation: str, own_work: bool) -> None:
    """Not for files without code (a write-up's check): the sandbox would only take a core from the judging. For
    one file, it also imports the plotting modules the file imports (the pool then makes it the warm process of
    the jobs that plot)."""
    from pathlib import Path

    from grader.read import CODE_SUFFIXES
    from grader.read.flags import display_imports_of_file
    from grader.run.boot import kept_fonts, ram_for_jobs, start_early

    files = [Path(path) for path in paths if _is_file(Path(path))]
    if len(files) == len(paths) and all(file.suffix.lower() not in CODE_SUFFIXES for file in files):
        return
    plotting = display_imports_of_file(files[0]) if len(paths) == len(files) == 1 else []
    _started_with[:] = [(isolation, own_work)]
    class_of_files = not own_work and len(files) != 1  # a check is one submission: one kind of warm process
    fonts = kept_fonts(isolation, own_work) if plotting else None
    start_early(plotting, fonts, spare=class_of_files, in_ram=ram_for_jobs(isolation, own_work))


def start_for_checks() -> None:
    """The sandbox's interpreter started as a check starts it, for checks still to come (grader.selfcheck.server),
    unless one waits already."""
    from grader.run.boot import kept_fonts, start_early, started_early

    if not started_early():
        _started_with[:] = [CHECK_SETTINGS]
        start_early([], kept_fonts(*CHECK_SETTINGS))  # matplotlib's font list, for a check that plots


_started_with: list[tuple[str, bool]] = []  # the settings of the last start


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # unreadable, or a name too long: the command says so in its own words later
        return False


def nowhere_to_write(error: OSError) -> bool:
    """A write that found no room (a full disk or quota, a failing device; opening a file names it, writing one
    does not): the machine's doing, said in one line, with Python's exit code for output it could not write. What
    was written, the terminal's or a report's, may be incomplete."""
    return error.filename is None and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO)
