"""Validated exercises kept between runs, for a student's check: it reads the same exercise at every edit, and
validating one (pydantic building a validator for each of its models, then running them) costs about a fifth of
the check. An exercise is kept pickled, under the digest of the text it was validated from and of what made it
(the models' source, pydantic's and Python's versions), so a changed file or an upgrade is validated again.

A pickle runs code when it is read: the folder must be one only this user may write (the caller's choice, see
`grader.run.boot.kept_folder`), and a file in it is read only if it is this user's, not a link, and written by
nobody else; anything else is validated as if nothing were kept.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pydantic

from exercises import models
from exercises.models import Exercise

SUFFIX = ".pickle"


def kept_exercise(folder: Path | None, text: bytes, validate: Callable[[], Exercise]) -> Exercise:
    """The exercise `validate` makes from `text`: read from `folder` when it was kept there, else validated and
    kept (when `folder` is given). A kept file that cannot be read back is validated again and replaced."""
    if folder is None:
        return validate()
    path = folder / f"{_digest(text)}{SUFFIX}"
    kept = _read_own(path)
    if kept is not None:
        try:
            exercise = pickle.loads(kept)
        except Exception:  # noqa: BLE001 - written by another version, or cut short: validated again below
            exercise = None
        if isinstance(exercise, Exercise):
            return exercise
    exercise = validate()
    _keep(path, exercise)
    return exercise


def _digest(text: bytes) -> str:
    made_by = f"{sys.version}\0{pydantic.VERSION}\0".encode() + Path(models.__file__).read_bytes()
    return hashlib.sha256(hashlib.sha256(made_by).digest() + text).hexdigest()


def _read_own(path: Path) -> bytes | None:
    """The file's bytes if it is a regular file (not a link) of this user's that no one else may write."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            return None
        return file.read()


def _keep(path: Path, exercise: Exercise) -> None:
    """Written whole under another name, then renamed: a reader sees the old file, the new one, or none."""
    try:
        descriptor, partial = tempfile.mkstemp(dir=path.parent, suffix=".partial")
    except OSError:
        return  # kept nowhere: the next check validates again
    try:
        with os.fdopen(descriptor, "wb") as file:
            pickle.dump(exercise, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)
    except Exception:  # noqa: BLE001 - something in it that pickle cannot write: kept nowhere
        Path(partial).unlink(missing_ok=True)
