"""Validated exercises kept between runs: a student's check reads the same exercise at every edit, and validating
it (pydantic building a validator for each of its models, then running them) cost about a fifth of the check.

An exercise is kept pickled beside the file it was read from, in its `__pycache__` folder, as Python keeps the
bytecode of a module beside its source: `exercises/bank/__pycache__/rnn-bptt.<digest>.pickle`, or in a kit's
folder. A pickle runs code when it is read, and there it is exactly as safe as the code that reads it: whoever
can write the bank or a kit can already change the grader's modules (or, for an exercise file, the references it
names), and the sandbox hides those folders from student code. The digest covers the text, this package's source
and pydantic's and Python's versions, so an edit or an upgrade is validated again. Nothing is written when Python
is told not to write bytecode (`PYTHONDONTWRITEBYTECODE`). A file is read only if it is a regular file (not a link
or a pipe) of this user's or root's that nobody else may write, under a size cap; anything else is validated as
if nothing were kept.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pydantic

from exercises.models import Exercise

FOLDER = "__pycache__"
SUFFIX = ".pickle"
MAX_BYTES = 16 << 20


def kept_exercise(source: Path, text: bytes, validate: Callable[[], Exercise]) -> Exercise:
    """The exercise `validate` makes from `text`, what `source` holds: read back from beside `source` when it was
    kept there, else validated and kept there. One that cannot be read back is validated again and replaced."""
    try:
        path = source.parent / FOLDER / f"{source.stem}.{_digest(text)}{SUFFIX}"
    except OSError:  # this package's source cannot be read (a zip import): nothing is kept
        return validate()
    kept = _read_own(path)
    if kept is not None:
        try:
            exercise = pickle.loads(kept)
        except Exception:  # noqa: BLE001 - cut short, or of a class that changed: validated again below
            exercise = None
        if isinstance(exercise, Exercise):
            return exercise
    exercise = validate()
    if not sys.dont_write_bytecode:
        _keep(path, source, exercise)
    return exercise


def _digest(text: bytes) -> str:
    made_by = hashlib.sha256(f"{sys.version}\0{pydantic.VERSION}\0".encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):  # the models, their validators, the loaders
        made_by.update(module.read_bytes())
    return hashlib.sha256(made_by.digest() + text).hexdigest()


def _read_own(path: Path) -> bytes | None:
    """The file's bytes if it is a regular file (not a link, not a pipe) of this user's or root's that no one else
    may write, and not larger than MAX_BYTES."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid not in (os.geteuid(), 0) or info.st_mode & 0o022:
            return None
        return file.read(MAX_BYTES + 1) if info.st_size <= MAX_BYTES else None


def _keep(path: Path, source: Path, exercise: Exercise) -> None:
    """Written whole under another name, then renamed (a reader sees the old file, the new one, or none), readable
    by whom the source is; the source's earlier versions, and what a process stopped while writing left, are
    removed."""
    stem = source.stem
    try:
        path.parent.mkdir(exist_ok=True)
        descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f"{stem}.", suffix=".partial")
    except OSError:
        return  # a folder this user may not write (an installation's): the next run validates again
    try:
        os.fchmod(descriptor, stat.S_IMODE(source.stat().st_mode) & 0o644)
        with os.fdopen(descriptor, "wb") as file:
            pickle.dump(exercise, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)
    except Exception:  # noqa: BLE001 - something in it pickle cannot write, a full disk: kept nowhere
        Path(partial).unlink(missing_ok=True)
        return
    ours = re.compile(re.escape(f"{stem}.") + r"([0-9a-f]{64}" + re.escape(SUFFIX) + r"|\w+\.partial)")
    for earlier in path.parent.iterdir():
        if earlier != path and ours.fullmatch(earlier.name):
            earlier.unlink(missing_ok=True)
